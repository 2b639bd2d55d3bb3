"""9. Image format: what delivering PNG (lossless, with the generation parameters written in) costs
against Gradio's default WebP at quality 80, per image: bytes, encoding time (Gradio's own
encode_pil_to_bytes, as it saves a gallery image) and the error WebP leaves (mean and maximum
absolute difference per channel, in 1/255), on a 512 px photo (assets/images/astronaut.jpg cropped)
and on a 64 px image of the tiny test pipeline (noisy, as random weights draw)."""
from __future__ import annotations

from typing import Any

from . import common
from .context import Context, row

PARAMETERS = ("a watercolor painting of a lighthouse at dawn\nSteps: 2, Sampler: EulerDiscreteScheduler, "
              "CFG scale: 0, Seed: 7, Size: 512x512, Model: SD-Turbo (1-4 steps, 512px)")


def images() -> dict[str, Any]:
    import torch
    from diffusers import AutoPipelineForText2Image
    from PIL import Image

    with Image.open(common.ROOT / "assets" / "images" / "astronaut.jpg") as photo:
        photo = photo.convert("RGB")
    side = min(photo.size)
    photo = photo.crop((0, 0, side, side)).resize((512, 512), Image.LANCZOS)
    pipe = AutoPipelineForText2Image.from_pretrained(common.tiny("diffusion"), use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    tiny = pipe(prompt="a lighthouse", num_inference_steps=2, guidance_scale=0.0, width=64, height=64,
                generator=torch.Generator("cpu").manual_seed(7)).images[0]
    return {"512 px photo": photo, "tiny pipeline 64 px": tiny}


def run(ctx: Context) -> dict[str, Any]:
    import io

    import numpy as np
    from gradio.processing_utils import encode_pil_to_bytes
    from PIL import Image

    n = 5 if ctx.quick else 15
    rows, raw = [], {}
    for name, image in images().items():
        image.info["parameters"] = PARAMETERS
        variants = {fmt: common.timed(lambda f=fmt: encode_pil_to_bytes(image, f)) for fmt in ("png", "webp")}
        times = common.interleaved(n, variants, warmup=1)
        data = {fmt: encode_pil_to_bytes(image, fmt) for fmt in ("png", "webp")}
        original = np.asarray(image, dtype=int)
        errors = {}
        for fmt, blob in data.items():
            with Image.open(io.BytesIO(blob)) as back:
                diff = np.abs(np.asarray(back.convert("RGB"), dtype=int) - original)
                errors[fmt] = (float(diff.mean()), int(diff.max()))
                if fmt == "png":
                    assert back.text.get("parameters") == PARAMETERS
        ms = {fmt: common.ms(common.median(t)) for fmt, t in times.items()}
        size = {fmt: len(blob) for fmt, blob in data.items()}
        rows.append(row(f"{name}: PNG with parameters, bytes", f"{size['png']:,} B", f"{size['webp']:,} B WebP q80",
                        f"x{size['png'] / size['webp']:.1f}", png_bytes=size["png"], webp_bytes=size["webp"]))
        rows.append(row("  encoding time (ms)", common.fmt(ms["png"], "ms"), common.fmt(ms["webp"], "ms") + " WebP",
                        ("+" if ms["png"] >= ms["webp"] else "-") + common.fmt(abs(ms["png"] - ms["webp"]), "ms"),
                        png_ms=ms["png"], webp_ms=ms["webp"]))
        rows.append(row("  error (mean / max, of 255)", f"{errors['png'][0]:.1f} / {errors['png'][1]}",
                        f"{errors['webp'][0]:.1f} / {errors['webp'][1]} WebP", "lossless" if errors["png"][1] == 0 else "LOSSY",
                        png_error=errors["png"], webp_error=errors["webp"]))
        raw[name] = {"seconds": times, "bytes": size, "errors": errors}
    return {"rows": rows, "raw": raw}
