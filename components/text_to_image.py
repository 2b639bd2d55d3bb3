"""Text-to-image tab: a live progress bar per step, a per-user Stop, seeds shown in captions."""
from __future__ import annotations

from typing import Any

import gradio as gr

from models.tasks import task

from .common import Context, loader, model_picker, plain_errors, session_of, wire_run
from .inputs import param_control

TASK = "text-to-image"
EXAMPLES = [
    "a watercolor painting of a lighthouse at dawn",
    "a cozy reading nook with a cat, warm light, photograph",
    "an astronaut riding a horse on the moon, digital art",
]
SCHEDULERS = ["default", "euler", "euler_a", "dpm++", "ddim", "lcm"]


def caption(seed: int, index: int, p: dict[str, Any]) -> str:
    return (f"seed {seed} (image {index + 1}) · {p['steps']} steps · guidance {p['guidance_scale']} · "
            f"{p['width']}x{p['height']}")


def gpu_seconds(steps: Any = None, width: Any = None, height: Any = None, num_images: Any = 1, **_: Any) -> float:
    """What a ZeroGPU call may take: a cautious half second per step of a 1024x1024 image."""
    pixels = float(width or 1024) * float(height or 1024) / 1024**2
    return 20 + 0.5 * float(steps or 30) * float(num_images or 1) * pixels


def build(ctx: Context) -> None:
    gr.Markdown("Turn a prompt into images. The seed is always shown, so a result can be made again; "
                "Stop ends your run at the next step.")
    with gr.Row():
        with gr.Column():
            model = model_picker(ctx, TASK)
            prompt = gr.Textbox(label="Prompt", lines=3, placeholder="Describe the picture…")
            negative_prompt = gr.Textbox(label="Negative prompt", placeholder="What to avoid (optional)")
            with gr.Row():
                run = gr.Button("Generate", variant="primary")
                stop = gr.Button("Stop", variant="stop")
            with gr.Accordion("Parameters", open=False):
                # The model decides steps, guidance and size (None in the declaration): these start
                # from SD-Turbo's and follow the model picked.
                param = task(TASK).param
                steps = param_control(param("steps"), value=2)
                guidance_scale = param_control(param("guidance_scale"), value=0.0)
                with gr.Row():
                    width = param_control(param("width"), value=512)  # the model narrows the range when picked
                    height = param_control(param("height"), value=512)
                num_images = param_control(param("num_images"))
                seed = param_control(param("seed"))
                # Custom values pass on to the model, whose refusal names the choices in a plain sentence.
                scheduler = gr.Dropdown(SCHEDULERS, value="default", label="Scheduler", allow_custom_value=True)
            gr.Examples(EXAMPLES, inputs=[prompt], label="Examples")
        with gr.Column():
            status = gr.Markdown()
            # PNG, lossless, with how each image was made in its `parameters` text (Gradio's default is WebP at
            # quality 80: a mean error of 2.8/255 on a photo, and the text would be lost).
            gallery = gr.Gallery(label="Images", columns=2, height="auto", object_fit="contain", format="png")
            info = gr.Markdown()

    def text_to_image(prompt: str, negative_prompt: str = "", steps: int | None = None,
                      guidance_scale: float | None = None, width: int | None = None, height: int | None = None,
                      num_images: int = 1, seed: int | None = None, model: str | None = None,
                      scheduler: str = "default",
                      request: gr.Request = None, progress: gr.Progress = gr.Progress()) -> tuple[list[Any], str]:
        def run(pipeline: Any) -> dict[str, Any]:
            estimate = pipeline.estimate_seconds(steps=steps, width=width, height=height, num_images=num_images)
            if estimate and estimate > 10:
                gr.Info(f"This will take about {estimate:.0f} s on {pipeline.device}.")
            return pipeline.predict(
                prompt, negative_prompt=negative_prompt, steps=steps, guidance_scale=guidance_scale, width=width,
                height=height, num_images=num_images, seed=seed,
                scheduler=None if scheduler in (None, "", "default") else scheduler,
                progress=lambda step, total: progress((step, total), desc="Denoising", unit="steps"),
                stop=stop_event)

        session = session_of(request)
        stop_event = ctx.stops.start(session, TASK)
        try:
            result = ctx.manager.call(TASK, model, run)  # loaded again if evicted under the call
        finally:
            ctx.stops.finish(session, TASK, stop_event)
        p = result["parameters"]
        images = [(img, caption(result["seed"], i, p)) for i, img in enumerate(result["images"])]
        note = (f"seed **{result['seed']}** · {result['steps_run']}/{p['steps']} steps · "
                f"{result['seconds']:.1f} s" + (" · stopped early" if result["stopped"] else "")
                + (" · the prompt is longer than the model reads; its end was left out"
                   if result["prompt_truncated"] else ""))
        return images, note

    @plain_errors
    def model_settings(model: str) -> tuple[Any, ...]:
        """Fit the sliders to the model just picked: its size limits, steps and guidance."""
        d = ctx.manager.get(TASK, model).defaults()
        side = dict(minimum=d["min_side"], maximum=d["max_side"])
        return (gr.update(value=d["steps"], maximum=d["max_steps"]), gr.update(value=d["guidance_scale"]),
                gr.update(value=d["width"], **side), gr.update(value=d["height"], **side),
                gr.update(choices=d["schedulers"], value="default"))

    model.input(loader(ctx, TASK), [model], [status], api_visibility="private").success(
        model_settings, [model], [steps, guidance_scale, width, height, scheduler], api_visibility="private")

    def stop_text_to_image(request: gr.Request) -> None:
        ctx.stops.stop(session_of(request), TASK)

    wire_run(ctx, TASK, [run.click, prompt.submit], model=model, status=status, fn=text_to_image,
             inputs=[prompt, negative_prompt, steps, guidance_scale, width, height, num_images, seed, model, scheduler],
             outputs=[gallery, info], api_name="text_to_image", gpu_seconds=gpu_seconds)
    stop.click(stop_text_to_image, None, None, queue=False, api_name="stop_text_to_image")
