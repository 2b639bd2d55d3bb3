"""What the CPU fast paths buy, measured on the models directly (one process per model):

- batching at the model: 16 inputs in one forward pass against one at a time (the ceiling of what
  the manager's batcher can gain, before any server cost), and for images the share of a batch
  spent decoding and preprocessing, which runs on one thread;
- torch.inference_mode (what the adapters use) against torch.no_grad and against no guard at all;
- libgomp's default spin-wait against the short spin every benchmark process runs with (see
  common.py): how much a shared 2-core machine costs a single caller with the default.
"""
from __future__ import annotations

from typing import Any

from . import common, models
from .context import Context, row


def run(ctx: Context) -> dict[str, Any]:
    n = 8 if ctx.quick else 12
    texts = common.sentences(16, seed=5)
    cases = [("bert-4x256", "direct_sentiment", {"path": models.bert(), "texts": texts})]
    if common.efficientnet() and not ctx.quick:
        cases.append(("efficientnet_lite0", "direct_image", {"path": common.efficientnet()}))
    rows, raw = [], {}
    for label, kind, args in cases:
        worker = common.Worker(kind, ctx.workdir, **args)
        workers = [worker]
        try:
            variants = {
                "b1_inference_mode": worker.seconds(batch=1, mode="inference_mode"),
                "b1_no_grad": worker.seconds(batch=1, mode="no_grad"),
                "b1_grad": worker.seconds(batch=1, mode="grad"),
                "b16_inference_mode": worker.seconds(batch=16, mode="inference_mode"),
            }
            if kind == "direct_image":
                variants["b16_preprocess"] = worker.seconds(batch=16, mode="preprocess")
            if kind == "direct_image" and not ctx.quick:
                spin = common.Worker(kind, ctx.workdir, env={"GOMP_SPINCOUNT": None}, **args)
                workers.append(spin)
                variants["b1_default_spin"] = spin.seconds(batch=1, mode="inference_mode")
            times = common.interleaved(n, variants, warmup=2, settle=0.02)
        finally:
            for w in workers:
                w.close()
        med = {k: common.median(v) for k, v in times.items()}
        raw[label] = {"seconds": times, "median_s": med, "load_average": common.load_average()}
        one, sixteen = med["b1_inference_mode"], med["b16_inference_mode"]
        rows.append(row(f"{label}: per input, batch of 16 vs one at a time (ms)",
                        common.fmt(common.ms(sixteen / 16), "ms") + " batched",
                        common.fmt(common.ms(one), "ms") + " alone", f"x{one / (sixteen / 16):.1f} inputs/s",
                        batched_per_input_ms=common.ms(sixteen / 16), single_ms=common.ms(one)))
        rows.append(row(f"{label}: batch 1 under inference_mode vs no_grad vs no guard (ms)",
                        common.fmt(common.ms(one), "ms") + " inference_mode",
                        f"{common.fmt(common.ms(med['b1_no_grad']), 'ms')} no_grad, "
                        f"{common.fmt(common.ms(med['b1_grad']), 'ms')} no guard",
                        f"x{med['b1_no_grad'] / one:.2f}, x{med['b1_grad'] / one:.2f}",
                        inference_mode_ms=common.ms(one), no_grad_ms=common.ms(med["b1_no_grad"]),
                        grad_ms=common.ms(med["b1_grad"])))
        if "b16_preprocess" in med:
            pre = med["b16_preprocess"]
            rows.append(row(f"{label}: batch of 16, decoding + image processor (serial, one thread) vs whole batch (ms)",
                            common.fmt(common.ms(pre), "ms") + " preprocessing",
                            common.fmt(common.ms(sixteen), "ms") + " whole batch", f"{pre / sixteen:.0%} of it",
                            preprocess_ms=common.ms(pre), batch_ms=common.ms(sixteen)))
        if "b1_default_spin" in med:
            rows.append(row(f"{label}: batch 1, libgomp short spin (benchmarks) vs default spin (ms)",
                            common.fmt(common.ms(one), "ms") + " short", common.fmt(common.ms(med["b1_default_spin"]), "ms")
                            + " default", f"x{med['b1_default_spin'] / one:.2f}",
                            short_spin_ms=common.ms(one), default_spin_ms=common.ms(med["b1_default_spin"])))
    return {"rows": rows, "raw": raw}
