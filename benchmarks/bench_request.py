"""2. Per-request overhead: one sentiment and one image classification call through the public API
(plain HTTP on Gradio's REST API, and gradio_client for reference) against the same transformers
model called directly in one process (tokenizer or image processor + forward under inference_mode).

The server, the direct baseline and gradio_client each run in their own process; this one only
sends plain HTTP, so none of them shares a GIL or torch threads with another."""
from __future__ import annotations

from typing import Any

from . import common, models
from .context import Context, row

TEXT = "I really love this film, the ending was wonderful."
GOAL_MS = 15.0  # per-request overhead over the direct call, sentiment on a tiny model (issue "Performance")


def run(ctx: Context) -> dict[str, Any]:
    server = ctx.server("main")
    n = 10 if ctx.quick else 20
    rest = common.Rest(server.url)
    cases = [("sentiment", "tiny sentiment", common.tiny("sentiment"))]
    if not ctx.quick:
        cases.append(("sentiment", "bert-4x256", models.bert()))
    if not ctx.quick:
        cases.append(("image", "tiny vit", common.tiny("vit")))
    if common.efficientnet():
        cases.append(("image", "efficientnet_lite0", common.efficientnet()))
    rows, raw = [], {}
    for kind, label, path in cases:
        workers = []
        try:
            client = None
            if kind == "sentiment":
                direct = common.Worker("direct_sentiment", ctx.workdir, path=path, texts=[TEXT])
                if not ctx.quick:
                    client = common.Worker("client_call", ctx.workdir, url=server.url, api_name="/sentiment",
                                           kwargs={"text": TEXT, "model": path})
                workers += [direct, client]
                session = f"bench-request-{label}"
                variants = {"rest": common.timed(lambda p=path: rest.call("sentiment", [TEXT, p])),
                            "rest_session": common.timed(lambda p=path: rest.call("sentiment", [TEXT, p],
                                                                                    session_hash=session))}
            else:
                direct = common.Worker("direct_image", ctx.workdir, path=path)
                if not ctx.quick:
                    client = common.Worker("client_call", ctx.workdir, url=server.url, api_name="/classify_image",
                                           kwargs={"model": path, "top_k": 5}, files={"image": str(common.CAT_JPG)})
                workers += [direct, client]
                uploaded = rest.upload(common.CAT_JPG)
                variants = {
                    "rest": common.timed(lambda p=path: rest.call("classify_image", [rest.upload(common.CAT_JPG), p, 5])),
                    "rest_uploaded_once": common.timed(lambda p=path: rest.call("classify_image", [uploaded, p, 5])),
                }
            if client is not None:  # for reference (full runs only): a Python program's usual client
                variants["gradio_client"] = client.seconds()
            variants["direct"] = direct.seconds()
            times = common.interleaved(n, variants, warmup=2, settle=0.02)
        finally:
            for w in workers:
                if w is not None:
                    w.close()
        med = {k: common.ms(common.median(v)) for k, v in times.items()}
        raw[label] = {"ms": {k: [common.ms(x) for x in v] for k, v in times.items()}, "median_ms": med,
                      "min_ms": {k: common.ms(min(v)) for k, v in times.items()}}
        d = med["direct"]
        what = "sentiment" if kind == "sentiment" else "classify_image"
        for name in [k for k in variants if k != "direct"]:
            title = {"rest": "REST (upload + call)" if kind == "image" else "REST",
                     "rest_uploaded_once": "REST, file uploaded once",
                     "rest_session": "REST reusing a session_hash",
                     "gradio_client": "gradio_client"}[name]
            added = med[name] - d
            goal = kind == "sentiment" and label == "tiny sentiment" and name == "rest"  # the goal
            rows.append(row(f"/{what} {label}: {title} (ms)", common.fmt(med[name], "ms"),
                            common.fmt(d, "ms") + " direct",
                            f"{'+' if added >= 0 else ''}{common.fmt(added, 'ms')} (x{med[name] / d:.1f})",
                            goal=f"< +{GOAL_MS:.0f} ms" if goal else "",
                            verdict=("met" if added < GOAL_MS else "MISSED") if goal else "",
                            app_ms=med[name], direct_ms=d, added_ms=added, n=n))
    rest.close()
    if not ctx.quick:
        rows.append(session_state_row(ctx, raw))
    return {"rows": rows, "raw": raw}


def session_state_row(ctx: Context, raw: dict[str, Any]) -> dict[str, Any]:
    """What each API call that sends no session_hash costs Gradio for its new SessionState: as
    shipped (components/serving.py renders block configs on demand) against Gradio's own, which
    renders the config of every block of the app up front."""
    from .bench_startup import tiny_catalog

    config = common.write_catalog(tiny_catalog(), ctx.workdir)
    worker = common.Worker("session_state", ctx.workdir, config=str(config))
    try:
        blocks = worker(which="app")["blocks"]
        times = common.interleaved(30, {"shipped": worker.seconds(which="app"),
                                        "gradio": worker.seconds(which="app", eager=True)}, warmup=2)
    finally:
        worker.close()
    shipped_ms, gradio_ms = common.ms(common.median(times["shipped"])), common.ms(common.median(times["gradio"]))
    raw["session_state"] = {"ms": {k: [common.ms(x) for x in v] for k, v in times.items()}, "blocks": blocks}
    return row(f"SessionState per call without session_hash, {blocks} blocks: configs on demand vs Gradio's "
               f"(every block rendered) (ms)", common.fmt(shipped_ms, "ms"), common.fmt(gradio_ms, "ms") + " Gradio's",
               f"x{gradio_ms / shipped_ms:.0f} less", shipped_ms=shipped_ms, gradio_ms=gradio_ms, blocks=blocks)
