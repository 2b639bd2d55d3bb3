"""Text-to-image on diffusers: seeded, interruptible, with progress and an honest time estimate.

One generation runs at a time per loaded model. A diffusers pipeline keeps each call's state
on itself (`_interrupt`, `_guidance_scale`, the scheduler's step index and history), so two
calls on one pipeline would corrupt each other; and one run already fills a CPU or a GPU, so
running two at once would not finish either sooner. A lock serialises runs (and every use of
the pipeline's tokenizer, whose padding and truncation settings live on it); a request waiting
for it can still be stopped. The scheduler a request asks for is swapped in under that lock,
so no other request ever runs with it.
"""
from __future__ import annotations

import inspect
import secrets
import threading
import statistics
import time
from collections import deque
from pathlib import Path
from typing import Any, Callable

import torch
from diffusers import AutoPipelineForText2Image

from .base import Pipeline, ProgressCallback, check_number, check_text, check_unicode
from .errors import InvalidInput, WrongModelKind, about
from .fitting import image_defaults, side_of
from .loading import is_local, resolve
from .messages import say

MAX_PROMPT_CHARS = 1000
SMALL_GPU_BYTES = 8 * 2**30  # below this much free memory, offload idle components to the CPU

# name -> diffusers class; each is built with from_config of the model's own scheduler config.
SCHEDULERS = {
    "euler": "EulerDiscreteScheduler",
    "euler_a": "EulerAncestralDiscreteScheduler",
    "dpm++": "DPMSolverMultistepScheduler",
    "ddim": "DDIMScheduler",
    "lcm": "LCMScheduler",
}

# Rough FLOPs of one denoiser forward pass: about 0.23 x parameters x latent pixels (SD 1.5's
# 860M-parameter UNet at 64 x 64 latents is about 0.8 TFLOP), and throughputs that a CPU core
# or a GPU sustains on it. Only used until the first run has been timed.
FLOPS_PER_PARAM_PIXEL = 0.23
CPU_FLOPS_PER_THREAD = 30e9
GPU_FLOPS = 30e12
MPS_FLOPS = 4e12
DECODE_FORWARDS = 1.5  # decoding one image with the VAE costs about this many denoiser passes
SECONDS_PER_MODULE = 40e-6  # Python and dispatch cost per module call, which dominates small models


class TextToImage(Pipeline):
    task = "text-to-image"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pipe: Any = None
        self.offloaded = False
        self._run_lock = threading.Lock()
        self._schedulers: dict[str, Any] = {}
        self._call_params: set[str] = set()
        # Seconds per unit of work (see _work) of the last runs; their median drives estimates.
        self._step_rates: deque[float] = deque(maxlen=5)
        self._decode_rates: deque[float] = deque(maxlen=5)
        self._defaults: dict[str, Any] = {}

    # -- loading ---------------------------------------------------------------------------------
    def _load(self, device: str, dtype: Any) -> None:
        path = resolve(self.spec.model_id, needs="model_index.json", allow_pickle=self.allow_pickle)
        self.report(say("load.weights"))
        try:
            pipe = AutoPipelineForText2Image.from_pretrained(
                path, dtype=dtype, use_safetensors=None if self.allow_pickle else True)
        except ValueError as e:
            if "AutoPipeline can't find a pipeline" in str(e):
                raise WrongModelKind(say("diffusion.not_text_to_image", model=self.spec.model_id)) from e
            raise
        if device != "cpu":
            self.report(say("load.moving", device=device))
        if device.startswith("cuda"):
            free, _ = torch.cuda.mem_get_info(torch.device(device))
            if free < SMALL_GPU_BYTES:
                # Keeps only the running component on the GPU: slower, but SD fits in ~3 GB.
                pipe.enable_model_cpu_offload(device=device)
                pipe.enable_attention_slicing()
                self.offloaded = True
            else:
                pipe.to(device)
        elif device != "cpu":
            pipe.to(device)
            if device == "mps":
                pipe.enable_attention_slicing()  # diffusers' advice for Apple GPUs
        pipe.set_progress_bar_config(disable=True)
        self.pipe = pipe
        self._schedulers = {"default": pipe.scheduler}
        self._call_params = set(inspect.signature(pipe.__call__).parameters)
        self._defaults = self._model_defaults(pipe)

    def _weights(self) -> list[str]:
        return ["pipe"]

    def modules(self) -> list[Any]:
        if self.pipe is None:
            return []
        return [m for m in self.pipe.components.values() if isinstance(m, torch.nn.Module)]

    def unload(self) -> None:
        super().unload()
        self._schedulers = {}

    # -- what the UI shows before a run ----------------------------------------------------------
    def _model_defaults(self, pipe: Any) -> dict[str, Any]:
        # The same numbers the page shows before a load, read there from the JSON files (models/fitting.py).
        defaults = image_defaults(native_side(pipe), type(pipe.scheduler).__name__, self.spec.defaults,
                                  self.declaration)
        defaults["schedulers"] = ["default"] + self._compatible_schedulers(pipe)
        return defaults

    def defaults(self) -> dict[str, Any]:
        """Size, steps, guidance and scheduler to start from, and the limits, for the UI."""
        self._require_loaded("pipe")
        return dict(self._defaults)

    def _compatible_schedulers(self, pipe: Any) -> list[str]:
        """All named schedulers for models trained with a beta schedule (SD 1.x/2.x, SDXL, their
        turbo and LCM variants); none for flow-matching models (SD3, Flux), which only run their own.
        diffusers' `compatibles` lists would leave out LCM, which LCM-LoRA uses on SD models."""
        base = self._schedulers.get("default", pipe.scheduler)
        return list(SCHEDULERS) if "beta_schedule" in base.config else []

    # -- generating ------------------------------------------------------------------------------
    def check_params(self, prompt: Any, *, negative_prompt: Any = "", steps: Any = None,
                     guidance_scale: Any = None, width: Any = None, height: Any = None, num_images: Any = 1,
                     seed: Any = None, scheduler: Any = None) -> dict[str, Any]:
        """Every parameter checked before any compute, like diffusers' check_inputs; None means the default."""
        d = self._defaults
        prompt = check_text(prompt, "prompt", max_chars=MAX_PROMPT_CHARS)
        if negative_prompt is None:
            negative_prompt = ""
        if not isinstance(negative_prompt, str):
            raise InvalidInput(say("text.not_a_string", what="negative prompt", kind=type(negative_prompt).__name__))
        if len(negative_prompt) > MAX_PROMPT_CHARS:
            raise InvalidInput(say("text.too_long", what="negative prompt", length=len(negative_prompt),
                                   limit=MAX_PROMPT_CHARS))
        check_unicode(negative_prompt, "negative prompt")
        p: dict[str, Any] = {"prompt": prompt, "negative_prompt": negative_prompt}
        # The declared limits (models/tasks.py) first, then this model's: None is the model's own value.
        declared = self.declaration.check({"steps": steps, "guidance_scale": guidance_scale, "width": width,
                                           "height": height, "num_images": num_images, "seed": seed})
        p["steps"] = d["steps"] if declared["steps"] is None else declared["steps"]
        p["guidance_scale"] = float(d["guidance_scale"] if declared["guidance_scale"] is None
                                    else declared["guidance_scale"])
        for name in ("width", "height"):
            with about(name):
                side = int(check_number(d[name] if declared[name] is None else declared[name], name.capitalize(),
                                        low=d["min_side"], high=d["max_side"], integer=True, param=name))
            if side % 8:
                raise InvalidInput(say("diffusion.not_multiple_of_8", name=name.capitalize(), name_zh=name,
                                       lower=side // 8 * 8, upper=side // 8 * 8 + 8, side=side), field=name)
            p[name] = side
        p["num_images"], p["seed"] = declared["num_images"], declared["seed"]
        name = d["scheduler"] if scheduler is None or scheduler == "" else scheduler
        name = str(name).strip().lower()
        if name not in d["schedulers"]:
            asked = repr(str(scheduler)) if len(str(scheduler)) <= 40 else repr(str(scheduler)[:40] + "…")
            raise InvalidInput(say("diffusion.unknown_scheduler", scheduler=asked,
                                   schedulers=", ".join(d["schedulers"])), field="scheduler")
        p["scheduler"] = name
        return p

    def predict(self, prompt: Any, *, negative_prompt: Any = "", steps: Any = None, guidance_scale: Any = None,
                width: Any = None, height: Any = None, num_images: Any = 1, seed: Any = None, scheduler: Any = None,
                progress: ProgressCallback | None = None, stop: threading.Event | None = None) -> dict[str, Any]:
        """Generate images: {"images", "seed", "seeds", "steps_run", "stopped", "seconds", "parameters", ...}.

        Image i starts from the noise of seed + i (mod 2**32), drawn by a CPU generator so that a
        seed gives the same picture on any device; seed None draws one, always returned.
        `progress(step, total)` is called after every step; setting `stop` ends the run at the
        next step (diffusers' interrupt), and the images are then decoded from the partly
        denoised latents. A stop set while waiting for another run returns no images.
        """
        # Our own references, schedulers first: unload() drops the pipe, then replaces the dict (never
        # empties it), so an empty dict here means the pipe below is gone too and _require_loaded says so.
        schedulers = self._schedulers
        pipe = self._require_loaded("pipe")[0]
        p = self.check_params(prompt, negative_prompt=negative_prompt, steps=steps, guidance_scale=guidance_scale,
                              width=width, height=height, num_images=num_images, seed=seed, scheduler=scheduler)
        if progress is not None and not callable(progress):
            raise InvalidInput("progress must be a function taking (step, total).")
        if stop is not None and not callable(getattr(stop, "is_set", None)):
            raise InvalidInput("stop must be a threading.Event.")
        if p["seed"] is None:
            p["seed"] = secrets.randbelow(2**32)
        seeds = [(p["seed"] + i) % 2**32 for i in range(p["num_images"])]
        result: dict[str, Any] = {"images": [], "seed": p["seed"], "seeds": seeds, "steps_run": 0, "stopped": False,
                                  "seconds": 0.0, "waited_seconds": 0.0, "nsfw": None, "prompt_truncated": None,
                                  "parameters": p}
        waited = time.perf_counter()
        if not self._acquire(stop):
            result.update(stopped=True, waited_seconds=time.perf_counter() - waited)
            return result
        try:
            result["waited_seconds"] = time.perf_counter() - waited
            # Under the run lock: the pipeline tokenizes with its own padding and truncation, which a
            # concurrent call with other settings would rewrite (a prompt left unpadded: another image).
            result["prompt_truncated"] = self._truncated(pipe, p["prompt"])
            pipe.scheduler = self._scheduler(schedulers, p["scheduler"])
            result.update(self._run(pipe, p, seeds, progress, stop))
        finally:
            self._run_lock.release()
        return result

    def _acquire(self, stop: threading.Event | None) -> bool:
        while not self._run_lock.acquire(timeout=0.1):
            if stop is not None and stop.is_set():
                return False
        if stop is not None and stop.is_set():
            self._run_lock.release()
            return False
        return True

    def _run(self, pipe: Any, p: dict[str, Any], seeds: list[int], progress: Callable[[int, int], None] | None,
             stop: threading.Event | None) -> dict[str, Any]:
        marks: list[float] = []
        state = {"total": p["steps"], "interrupted": False}

        def on_step_end(pipeline: Any, i: int, t: Any, tensors: dict[str, Any]) -> dict[str, Any]:
            marks.append(time.perf_counter())
            # Second-order schedulers (Heun) take more timesteps than steps: count timesteps.
            state["total"] = getattr(pipeline, "_num_timesteps", None) or p["steps"]
            if progress is not None:
                progress(i + 1, state["total"])
            if stop is not None and stop.is_set():
                pipeline._interrupt = True  # the denoising loop skips every later step
                state["interrupted"] = True
            return {}

        kwargs: dict[str, Any] = dict(
            prompt=p["prompt"], negative_prompt=p["negative_prompt"] or None, num_inference_steps=p["steps"],
            guidance_scale=p["guidance_scale"], width=p["width"], height=p["height"],
            num_images_per_prompt=p["num_images"],
            generator=[torch.Generator("cpu").manual_seed(s) for s in seeds],
            callback_on_step_end=on_step_end, callback_on_step_end_tensor_inputs=[],
        )
        kwargs = {k: v for k, v in kwargs.items() if k in self._call_params}
        start = time.perf_counter()
        with torch.inference_mode():
            out = pipe(**kwargs)
        seconds = time.perf_counter() - start
        if "callback_on_step_end" in kwargs:
            steps_run = round(len(marks) * p["steps"] / state["total"])
            stopped = state["interrupted"] and len(marks) < state["total"]
        else:
            steps_run, stopped = p["steps"], False
        self._record(p, start, marks, seconds)
        nsfw = getattr(out, "nsfw_content_detected", None)
        scheduler = p["scheduler"] if p["scheduler"] != "default" else type(pipe.scheduler).__name__
        for image, seed in zip(out.images, seeds):
            # Written into the PNG the browser and the API receive (PIL keeps text info as tEXt/iTXt chunks).
            image.info["parameters"] = generation_parameters(p, seed, scheduler, self.model_name, steps_run)
        return {"images": list(out.images), "steps_run": steps_run, "stopped": stopped,
                "seconds": seconds, "nsfw": list(nsfw) if nsfw is not None else None}

    @property
    def model_name(self) -> str:
        """The model as an image's parameters name it: its label, or its Hub id, or a folder's name
        (never a server path)."""
        if self.spec.label:
            return self.spec.label
        return Path(self.spec.model_id).name if is_local(self.spec.model_id) else self.spec.model_id

    @staticmethod
    def _scheduler(schedulers: dict[str, Any], name: str) -> Any:
        """The named scheduler, made once from the model's own scheduler config (called under the run lock)."""
        if name not in schedulers:
            import diffusers

            schedulers[name] = getattr(diffusers, SCHEDULERS[name]).from_config(schedulers["default"].config)
        return schedulers[name]

    @staticmethod
    def _truncated(pipe: Any, prompt: str) -> bool | None:
        tokenizer = getattr(pipe, "tokenizer", None)
        if tokenizer is None:
            return None
        limit = getattr(tokenizer, "model_max_length", None) or 77
        return len(tokenizer(prompt, truncation=False)["input_ids"]) > limit

    # -- time estimates --------------------------------------------------------------------------
    def _work(self, width: int, height: int, num_images: int, guidance_scale: float) -> tuple[float, float]:
        """(denoiser work of one step, decoder work of the run) in megapixels of latents."""
        scale = getattr(self.pipe, "vae_scale_factor", 8) or 8
        latent = (width / scale) * (height / scale) / 1e6
        guided = 2 if guidance_scale > 1 and "guidance_scale" in self._call_params else 1
        return latent * num_images * guided, latent * num_images

    def _record(self, p: dict[str, Any], start: float, marks: list[float], seconds: float) -> None:
        if not marks:
            return
        step_work, decode_work = self._work(p["width"], p["height"], p["num_images"], p["guidance_scale"])
        if len(marks) >= 2:
            per_step = (marks[-1] - marks[0]) / (len(marks) - 1)
        else:
            per_step = marks[0] - start  # also holds the prompt encoding: a slight overestimate
        rest = max(seconds - per_step * len(marks), 0.0)
        # A median of the last runs: the first run also pays one-off warm-up costs.
        self._step_rates.append(per_step / step_work)
        self._decode_rates.append(rest / decode_work)

    @property
    def estimate_is_measured(self) -> bool:
        return bool(self._step_rates)

    @property
    def reads_chinese(self) -> bool:
        """Whether a prompt in Chinese reaches the model as Chinese: some text encoder's tokenizer is not CLIP's
        (CLIP's byte-level BPE was trained on English captions: Stable Diffusion 1.x/2.x, SDXL and SD-Turbo
        read English; HunyuanDiT's BERT and T5 or Kolors' ChatGLM read Chinese)."""
        tokenizers = [m for name, m in (self.pipe.components.items() if self.pipe is not None else [])
                      if name.startswith("tokenizer") and m is not None]
        return any("CLIP" not in type(t).__name__ for t in tokenizers)

    def estimate_seconds(self, steps: Any = None, width: Any = None, height: Any = None, num_images: Any = 1,
                         guidance_scale: Any = None) -> float:
        """Seconds a run should take once it starts: timed from earlier runs, else a rough FLOPs figure."""
        pipe = self._require_loaded("pipe")[0]
        p = self.check_params("estimate", steps=steps, guidance_scale=guidance_scale, width=width, height=height,
                              num_images=num_images)
        step_work, decode_work = self._work(p["width"], p["height"], p["num_images"], p["guidance_scale"])
        if self._step_rates:
            return (p["steps"] * step_work * statistics.median(self._step_rates)
                    + decode_work * statistics.median(self._decode_rates))
        denoiser = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
        params = sum(t.numel() for t in denoiser.parameters()) if denoiser is not None else 860e6
        device = str(self.device or "cpu")
        if device.startswith("cuda"):
            flops = GPU_FLOPS / (3 if self.offloaded else 1)
        elif device == "mps":
            flops = MPS_FLOPS
        else:
            flops = CPU_FLOPS_PER_THREAD * max(torch.get_num_threads(), 1)
        per_mpixel = FLOPS_PER_PARAM_PIXEL * params * 1e6 / flops  # seconds per megapixel of latents
        calls = len(list(denoiser.modules())) * SECONDS_PER_MODULE if denoiser is not None else 0.0
        return (per_mpixel * (p["steps"] * step_work + DECODE_FORWARDS * decode_work)
                + calls * (p["steps"] + DECODE_FORWARDS))


def generation_parameters(p: dict[str, Any], seed: int, scheduler: str, model: str, steps_run: int) -> str:
    """How an image was made, in the `parameters` text that AUTOMATIC1111 writes into its PNGs
    (and tools that read them show): the prompt, then the negative prompt, then one settings line."""
    lines = [p["prompt"]]
    if p["negative_prompt"]:
        lines.append(f"Negative prompt: {p['negative_prompt']}")
    settings = [f"Steps: {p['steps']}", f"Sampler: {scheduler}", f"CFG scale: {p['guidance_scale']:g}",
                f"Seed: {seed}", f"Size: {p['width']}x{p['height']}", f"Model: {model}"]
    if steps_run < p["steps"]:
        settings.append(f"Stopped at step: {steps_run}")
    lines.append(", ".join(settings))
    return "\n".join(lines)


def native_side(pipe: Any) -> int:
    """The image side the model was trained at: the denoiser's sample size times the VAE's scale."""
    denoiser = getattr(pipe, "unet", None) or getattr(pipe, "transformer", None)
    sample = getattr(getattr(denoiser, "config", None), "sample_size", None)
    return side_of(sample, getattr(pipe, "vae_scale_factor", None))
