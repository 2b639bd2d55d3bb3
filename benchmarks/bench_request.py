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
            rows.append(row(f"/{what} {label}: {title} (ms)", common.fmt(med[name], "ms"),
                            common.fmt(d, "ms") + " direct",
                            f"{'+' if added >= 0 else ''}{common.fmt(added, 'ms')} (x{med[name] / d:.1f})",
                            app_ms=med[name], direct_ms=d, added_ms=added, n=n))
    rest.close()
    if not ctx.quick:
        rows.append(session_state_row(ctx, raw))
    return {"rows": rows, "raw": raw}


def session_state_row(ctx: Context, raw: dict[str, Any]) -> dict[str, Any]:
    """Where much of the gap between REST with and without a session_hash goes: Gradio builds a
    SessionState (the config of every block) for each call that sends none."""
    from .bench_startup import tiny_catalog

    config = common.write_catalog(tiny_catalog(), ctx.workdir)
    worker = common.Worker("session_state", ctx.workdir, config=str(config))
    try:
        blocks = {which: worker(which=which)["blocks"] for which in ("app", "bare")}
        times = common.interleaved(30, {"app": worker.seconds(which="app"), "bare": worker.seconds(which="bare")},
                                   warmup=2)
    finally:
        worker.close()
    app_ms, bare_ms = common.ms(common.median(times["app"])), common.ms(common.median(times["bare"]))
    raw["session_state"] = {"ms": {k: [common.ms(x) for x in v] for k, v in times.items()}, "blocks": blocks}
    return row(f"Gradio SessionState per call without session_hash: app ({blocks['app']} blocks) vs bare "
               f"8-tab app ({blocks['bare']} blocks) (ms)", common.fmt(app_ms, "ms"),
               common.fmt(bare_ms, "ms") + " bare", f"x{app_ms / bare_ms:.1f}", app_ms=app_ms, bare_ms=bare_ms,
               blocks=blocks)
