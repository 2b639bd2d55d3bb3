"""Text-to-image tab: a live progress bar per step, a per-user Stop, seeds shown in captions."""
from __future__ import annotations

import re
from typing import Any

import gradio as gr

from models.fitting import FALLBACK_SIDE
from models.messages import ENGLISH, say

from .common import Context, session_of
from .language import language_of
from .task_tab import task_tab
from .words import text, word

TASK = "text-to-image"
EXAMPLES = [
    "a watercolor painting of a lighthouse at dawn",
    "a cozy reading nook with a cat, warm light, photograph",
    "an astronaut riding a horse on the moon, digital art",
]
SCHEDULERS = ["default", "euler", "euler_a", "dpm++", "ddim", "lcm"]


def caption(seed: int, index: int, p: dict[str, Any], language: str = ENGLISH) -> str:
    return say("diffusion.caption", seed=seed, number=index + 1, steps=p["steps"], guidance=p["guidance_scale"],
               width=p["width"], height=p["height"]).render(language)


def done_note(result: dict[str, Any], notice: str, language: str = ENGLISH) -> str:
    """The line under the images: seed, steps run, time, and what the person should know about the run."""
    p = result["parameters"]
    parts = [say("diffusion.done", seed=result["seed"], steps_run=result["steps_run"], steps=p["steps"],
                 seconds=result["seconds"])]
    if result["stopped"]:
        parts.append(say("diffusion.stopped_early"))
    if result["prompt_truncated"]:
        parts.append(say("diffusion.prompt_cut"))
    return "".join(part.render(language) for part in parts) + (f"\n\n⚠ {notice}" if notice else "")


def gpu_seconds(steps: Any = None, width: Any = None, height: Any = None, num_images: Any = 1, **_: Any) -> float:
    """What a ZeroGPU call may take: a cautious half second per step of a 1024x1024 image."""
    pixels = float(width or 1024) * float(height or 1024) / 1024**2
    return 20 + 0.5 * float(steps or 30) * float(num_images or 1) * pixels


# Chinese characters (the CJK unified ideographs and their extension A): a prompt with them gets a notice when
# the model reads English only (models/diffusion.py reads_chinese).
CHINESE_CHARACTERS = re.compile("[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def build(ctx: Context) -> None:
    def text_to_image(prompt: str, negative_prompt: str = "", steps: int | None = None,
                      guidance_scale: float | None = None, width: int | None = None, height: int | None = None,
                      num_images: int = 1, seed: int | None = None, model: str | None = None,
                      scheduler: str = "default",
                      request: gr.Request = None, progress: gr.Progress = gr.Progress()) -> tuple[list[Any], str]:
        session, language = session_of(request), language_of(request)
        notice = ""
        if CHINESE_CHARACTERS.search(prompt or "") and not ctx.manager.run(TASK, model, "reads_chinese"):
            notice = say("diffusion.english_only", model=ctx.manager.spec(TASK, model).name).render(language)
            gr.Warning(notice)
        stop_event = ctx.stops.start(session, TASK)
        try:
            estimate = ctx.manager.run(TASK, model, "estimate_seconds", steps=steps, width=width, height=height,
                                       num_images=num_images)
            if estimate and estimate > 10:
                gr.Info(say("diffusion.estimate", seconds=estimate).render(language))
            result = ctx.manager.run(  # loaded again if evicted under the call
                TASK, model, "predict", prompt, negative_prompt=negative_prompt, steps=steps,
                guidance_scale=guidance_scale, width=width, height=height, num_images=num_images, seed=seed,
                scheduler=None if scheduler in (None, "", "default") else scheduler,
                progress=lambda step, total: progress((step, total), desc=text("t2i.denoising", language),
                                                      unit=text("t2i.steps", language)), stop=stop_event)
        finally:
            ctx.stops.finish(session, TASK, stop_event)
        images = [(img, caption(result["seed"], i, result["parameters"], language))
                  for i, img in enumerate(result["images"])]
        return images, done_note(result, notice, language)

    schedulers: list[Any] = []

    def scheduler_control() -> list[Any]:
        # Custom values pass on to the model, whose refusal names the choices in a plain sentence.
        schedulers.append(gr.Dropdown(SCHEDULERS, value="default", label=word("t2i.scheduler"), allow_custom_value=True,
                                      info=word("t2i.scheduler.info")))
        return schedulers

    def model_schedulers(spec: Any, language: str) -> dict[Any, Any]:
        """The schedulers the picked model can run: its own list when it is loaded, else every named one
        (never loading it, nor touching its place among the models kept loaded)."""
        pipeline = ctx.manager.peek(spec.task, spec.model_id)
        choices = pipeline.defaults()["schedulers"] if pipeline is not None else SCHEDULERS
        return {schedulers[0]: gr.update(choices=choices, value="default")}

    model_schedulers.outputs = schedulers  # type: ignore[attr-defined]

    # PNG, lossless, with how each image was made in its `parameters` text (Gradio's default is WebP at
    # quality 80: a mean error of 2.8/255 on a photo, and the text would be lost).
    tab = task_tab(
        ctx, TASK, intro=text(f"intro.{TASK}"),
        inputs=lambda: [gr.Textbox(label=word("t2i.prompt"), lines=3, placeholder=word("t2i.prompt.placeholder")),
                        gr.Textbox(label=word("t2i.negative"), placeholder=word("t2i.negative.placeholder"))],
        outputs=lambda: [gr.Gallery(label=word("t2i.images"), columns=2, height="auto", object_fit="contain", format="png"),
                         gr.Markdown()],
        fn=text_to_image, run_label=word("t2i.run"), examples=EXAMPLES, stop=True, model_last=True,
        # where size and steps start when the model's files cannot be read before its download
        values={"width": FALLBACK_SIDE, "height": FALLBACK_SIDE, "steps": 25, "guidance_scale": 7.5},
        extra=scheduler_control, fit_extra=model_schedulers, gpu_seconds=gpu_seconds)

    def stop_text_to_image(request: gr.Request) -> None:
        """Stop this client's running text-to-image at the next denoising step."""
        ctx.stops.stop(session_of(request), TASK)

    tab.stop.click(stop_text_to_image, None, None, queue=False, api_name="stop_text_to_image")
