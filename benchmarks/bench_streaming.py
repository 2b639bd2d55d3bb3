"""4. Streaming: time to first token and tokens/s of /generate through the API (the SSE REST call;
gradio_client's submit for reference) against model.generate with a TextIteratorStreamer in one
process, and against the app's own adapter (TextGeneration.stream) in one process without the
server, to split the cost between models/ and the server. Same random GPT-2 (6 layers, n_embd 256,
a word-level tokenizer, so the streamer emits one piece per token), same prompt and
max_new_tokens, plain sampling (temperature 1, no top-k or top-p).

Also the app with one streamed update per piece (YIELD_EVERY = 0, i.e. one per token here)
against the shipped throttle (at most one update every 0.05 s), on two fresh servers."""
from __future__ import annotations

import re
from typing import Any

from . import common, models
from .context import Context, row

PROMPT = "Tell me a story about a cat who lives in Paris."


def tokens_in(stats: str | None) -> int | None:
    match = re.search(r"(\d+) new tokens\b", stats or "")
    return int(match.group(1)) if match else None


def rest_generate(rest: common.Rest, model: str, max_new_tokens: int) -> dict[str, Any]:
    call = rest.call("generate", [PROMPT, model, max_new_tokens, 1.0, 1.0, 0, 1.0, 1], keep_events=True)
    first = call.first(lambda data: bool(data and data[0]))
    updates = sum(1 for _, event, _ in call.events if event == "generating")
    return {"seconds": call.seconds, "first": first, "updates": updates, "tokens": tokens_in(call.data[1])}


def run(ctx: Context) -> dict[str, Any]:
    n = 2 if ctx.quick else 6
    max_new_tokens = 128
    model = models.gpt2()
    # Two fresh servers that differ only in YIELD_EVERY: a server that has served the other
    # benchmarks holds more sessions and objects, and streams measurably slower.
    throttled = ctx.server("stream")
    per_token = None if ctx.quick else ctx.server("pertoken")
    rest_t = common.Rest(throttled.url)
    rest_p = common.Rest(per_token.url) if per_token else None
    direct = common.Worker("direct_generate", ctx.workdir, path=model, prompt=PROMPT, max_new_tokens=max_new_tokens)
    client = adapter = None
    if not ctx.quick:
        adapter = common.Worker("adapter_stream", ctx.workdir, path=model, prompt=PROMPT,
                                max_new_tokens=max_new_tokens)
        client = common.Worker("client_stream", ctx.workdir, url=throttled.url,
                               kwargs={"prompt": PROMPT, "model": model, "max_new_tokens": max_new_tokens,
                                       "temperature": 1.0, "top_p": 1.0, "top_k": 0, "repetition_penalty": 1.0,
                                       "seed": 1})
    try:
        variants: dict[str, Any] = {"api_throttled": lambda: rest_generate(rest_t, model, max_new_tokens)}
        if rest_p is not None:
            variants["api_per_token"] = lambda: rest_generate(rest_p, model, max_new_tokens)
        if client is not None:
            variants["gradio_client"] = client
        if adapter is not None:
            variants["adapter"] = adapter
        variants["direct"] = direct
        results = common.interleaved(n, variants, warmup=1, settle=0.05)
    finally:
        for closable in (direct, client, adapter, rest_t, rest_p):
            if closable is not None:
                closable.close()
    summary: dict[str, dict[str, Any]] = {}
    for name, runs in results.items():
        for r in runs:
            r.setdefault("tokens", tokens_in(r.get("stats")))
        tokens = common.median([r["tokens"] for r in runs if r.get("tokens")])
        total = common.median([r["seconds"] for r in runs])
        summary[name] = {"ttft_ms": common.ms(common.median([r["first"] for r in runs])), "seconds": total,
                         "tokens": tokens, "tokens_per_s": common.median([r["tokens"] / r["seconds"] for r in runs
                                                                         if r.get("tokens")]),
                         "updates": common.median([r["updates"] for r in runs])}
    d = summary["direct"]
    rows = []
    for name, title in (("api_throttled", "REST SSE (as shipped)"), ("gradio_client", "gradio_client"),
                        ("api_per_token", "REST SSE, one update per streamed piece"),
                        ("adapter", "TextGeneration.stream in-process, no server")):
        if name not in summary:
            continue
        s = summary[name]
        limit = 1.2 * d["ttft_ms"] + 30  # the goal: within 1.2x of the direct streamer, plus 30 ms
        goal = name == "api_throttled"
        rows.append(row(f"/generate gpt2-6x256 {title}: first token (ms)", common.fmt(s["ttft_ms"], "ms"),
                        common.fmt(d["ttft_ms"], "ms") + " direct",
                        f"+{common.fmt(s['ttft_ms'] - d['ttft_ms'], 'ms')}",
                        goal=f"<= {common.fmt(limit, 'ms')} (1.2x + 30)" if goal else "",
                        verdict=("met" if s["ttft_ms"] <= limit else "MISSED") if goal else "",
                        **{f"{name}_ttft_ms": s["ttft_ms"]}))
        rows.append(row(f"  tokens/s ({int(s['tokens'] or 0)} tokens; {s['updates']:.0f} updates vs "
                        f"{d['updates']:.0f} streamer pieces)",
                        common.fmt(s["tokens_per_s"], "tok/s"), common.fmt(d["tokens_per_s"], "tok/s") + " direct",
                        f"x{s['tokens_per_s'] / d['tokens_per_s']:.2f}",
                        **{f"{name}_tokens_per_s": s["tokens_per_s"]}))
    return {"rows": rows, "raw": {"runs": results, "summary": summary, "max_new_tokens": max_new_tokens,
                                  "prompt": PROMPT}}
