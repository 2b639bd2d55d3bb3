"""7. Diffusion: seconds per denoising step through the app's adapter (TextToImage.predict, with its
per-step callback, run lock and timing), through the API (/text_to_image, which adds a gr.Progress
update per step), and the bare diffusers pipeline call, on the tiny test pipeline (64 x 64).

Per step = (median time at the high step count - at the low one) / the step difference, which
leaves out what every run pays once (prompt encoding, VAE decode, HTTP, PNG encoding); that
fixed part is reported too."""
from __future__ import annotations

from typing import Any

from . import common
from .context import Context, row

PROMPT = "a watercolor painting of a lighthouse at dawn"
SIDE = 64


def run(ctx: Context) -> dict[str, Any]:
    n = 4 if ctx.quick else 6
    low, high = 2, 12
    model = common.tiny("diffusion")
    server = ctx.server("main")
    rest = common.Rest(server.url)
    # The adapter and the bare pipeline share one helper process (they run in turn, never together).
    local = common.Worker("diffusion_pair", ctx.workdir, path=model, prompt=PROMPT, width=SIDE, height=SIDE,
                          guidance_scale=0.0)
    try:
        variants = {}
        for steps in (low, high):
            variants[f"predict_{steps}"] = local.seconds(which="adapter", steps=steps)
            variants[f"api_{steps}"] = common.timed(
                lambda s=steps: rest.call("text_to_image", [PROMPT, "", s, 0.0, SIDE, SIDE, 1, 0, model, "default"]))
            variants[f"bare_{steps}"] = local.seconds(which="bare", steps=steps)
        times = common.interleaved(n, variants, warmup=1, settle=0.02)
    finally:
        local.close()
        rest.close()
    med = {k: common.median(v) for k, v in times.items()}
    per_step = {m: (med[f"{m}_{high}"] - med[f"{m}_{low}"]) / (high - low) for m in ("predict", "api", "bare")}
    fixed = {m: med[f"{m}_{low}"] - low * per_step[m] for m in per_step}
    b = per_step["bare"]
    rows = []
    for m, title in (("predict", "TextToImage.predict"), ("api", "API /text_to_image (REST)")):
        rows.append(row(f"diffusion tiny 64x64, {title}: per step (ms)", common.fmt(common.ms(per_step[m]), "ms"),
                        common.fmt(common.ms(b), "ms") + " bare diffusers",
                        f"+{common.fmt(common.ms(per_step[m] - b), 'ms')} (x{per_step[m] / b:.2f})",
                        per_step_ms=common.ms(per_step[m]), bare_per_step_ms=common.ms(b)))
        rows.append(row("  fixed cost per run (ms)", common.fmt(common.ms(fixed[m]), "ms"),
                        common.fmt(common.ms(fixed["bare"]), "ms") + " bare",
                        f"+{common.fmt(common.ms(fixed[m] - fixed['bare']), 'ms')}",
                        fixed_ms=common.ms(fixed[m]), bare_fixed_ms=common.ms(fixed["bare"])))
    return {"rows": rows, "raw": {"seconds": times, "median_s": med, "per_step_s": per_step, "fixed_s": fixed,
                                  "steps": [low, high], "side": SIDE}}
