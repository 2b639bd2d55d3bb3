"""11. Chat: the OpenAI-compatible API and the chat endpoints against the model called directly.

Streamed: time to first token and tokens/s of POST /v1/chat/completions (the `openai` package,
stream=True, the first chunk whose delta has content) against model.generate with a
TextIteratorStreamer on apply_chat_template of the same messages, in a helper process (no server);
also /chat (REST SSE, and gradio_client's submit) on the same messages, and /generate (REST SSE) on
the last user message alone against the direct streamer on that one message, so the table compares
every API path to direct.

Whole: the wall time of one non-streamed /v1/chat/completions call (openai, stream=False) against
model.generate on the same input (apply_chat_template, generate, decode), median and p90.

The model is the streaming benchmark's gpt2-6x256 (random GPT-2, 6 layers, n_embd 256, a word-level
tokenizer: one streamed piece per token) with a plain-words chat template added (a copy of its
folder, same weights; /v1 refuses a model without a template); greedy (temperature 0), no end of
text (the config has none), so every call makes exactly max_tokens tokens. The server is a fresh
`python -m benchmarks.serve` (app.main as shipped: the /v1 routes mounted by app.launch_options)
serving only this model, preloaded. The direct calls and gradio_client run in helper processes
(benchmarks/worker.py's direct_chat and client_chat)."""
from __future__ import annotations

import re
import shutil
import time
from pathlib import Path
from typing import Any, Callable

from . import common, models
from .bench_streaming import PROMPT
from .context import Context, row

LABEL = "gpt2-6x256 chat"
# A template of plain words: the word-level tokenizer has no room for special tokens (a new id would be
# past the model's embeddings); its unknown words ("user:", ...) are <unk>, alike on every path.
CHAT_TEMPLATE = ("{% for message in messages %}{{ message['role'] }}: {{ message['content'] }}\n{% endfor %}"
                 "{% if add_generation_prompt %}assistant: {% endif %}")
SYSTEM = "You are a helpful assistant."
MESSAGES = [
    {"role": "system", "content": SYSTEM},
    {"role": "user", "content": "Where does the teacher live? What does she do?"},
    {"role": "assistant", "content": "The teacher works as a doctor in the city."},
    {"role": "user", "content": PROMPT},  # the streaming benchmark's prompt, last
]
SINGLE = [{"role": "user", "content": PROMPT}]  # what /generate makes of PROMPT for a chat model


def chat_model() -> str:
    """gpt2-6x256 (models.gpt2) with CHAT_TEMPLATE: a copy of its folder plus chat_template.jinja, kept in
    benchmarks/.cache; it follows the original (the digest of models.py is in both names) and this
    template (its digest is in the name)."""
    import hashlib

    source = Path(models.gpt2())
    tag = hashlib.sha256(CHAT_TEMPLATE.encode()).hexdigest()[:6]

    def build(folder: Path) -> None:
        for path in source.iterdir():
            if path.is_file() and path.name != ".complete":
                shutil.copy2(path, folder / path.name)
        (folder / "chat_template.jinja").write_text(CHAT_TEMPLATE, encoding="utf-8")
    return common.cached_build(f"chat{tag}-gpt2-6x256", build)


# -- the calls ----------------------------------------------------------------------------------------

def openai_stream(client: Any, model: str, max_tokens: int) -> dict[str, Any]:
    start = time.perf_counter()
    stream = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=max_tokens, temperature=0,
                                            stream=True, stream_options={"include_usage": True})
    first, updates, text, usage = None, 0, "", None
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            if first is None:
                first = time.perf_counter() - start
            updates += 1
            text += chunk.choices[0].delta.content
        if chunk.usage is not None:
            usage = chunk.usage
    return {"seconds": time.perf_counter() - start, "first": first, "updates": updates, "text": text,
            "tokens": usage.completion_tokens if usage else None,
            "prompt_tokens": usage.prompt_tokens if usage else None}


def openai_whole(client: Any, model: str, max_tokens: int) -> dict[str, Any]:
    start = time.perf_counter()
    answer = client.chat.completions.create(model=model, messages=MESSAGES, max_tokens=max_tokens, temperature=0)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "tokens": answer.usage.completion_tokens, "prompt_tokens": answer.usage.prompt_tokens,
            "text": answer.choices[0].message.content}


def rest_chat(rest: common.Rest, model: str, max_tokens: int) -> dict[str, Any]:
    # chat(messages, model, system_prompt, max_new_tokens, temperature, top_p, top_k, repetition_penalty, seed,
    #      logprobs, top_logprobs)
    call = rest.call("chat", [MESSAGES, model, "", max_tokens, 0.0, 1.0, 0, 1.0, 1, False, 0], keep_events=True)
    stats = call.data[1] or {}
    return {"seconds": call.seconds, "first": call.first(lambda data: bool(data and data[0])),
            "updates": sum(1 for _, event, _ in call.events if event == "generating"), "text": call.data[0],
            "tokens": stats.get("new_tokens"), "prompt_tokens": stats.get("prompt_tokens")}


def rest_generate(rest: common.Rest, model: str, max_tokens: int) -> dict[str, Any]:
    call = rest.call("generate", [PROMPT, model, max_tokens, 0.0, 1.0, 0, 1.0, 1], keep_events=True)
    tokens = re.search(r"(\d+) new tokens\b", call.data[1] or "")
    prompt = re.search(r"context ([\d,]+) of", call.data[1] or "")  # prompt + new tokens
    return {"seconds": call.seconds, "first": call.first(lambda data: bool(data and data[0])),
            "updates": sum(1 for _, event, _ in call.events if event == "generating"), "text": call.data[0],
            "tokens": int(tokens.group(1)) if tokens else None,
            "prompt_tokens": int(prompt.group(1).replace(",", "")) - int(tokens.group(1)) if tokens and prompt else None}


# -- the benchmark -------------------------------------------------------------------------------------------

def plus(a: float | None, b: float | None, unit: str = "ms") -> str:
    """a - b with its sign ("+12.3 ms", "-0.8 ms"), or "-" when one is missing."""
    if a is None or b is None:
        return "-"
    return ("+" if a >= b else "") + common.fmt(a - b, unit)


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"ttft_ms": common.ms(common.median([r.get("first") for r in runs])),
            "seconds": common.median([r["seconds"] for r in runs]),
            "tokens": common.median([r["tokens"] for r in runs if r.get("tokens")]),
            "prompt_tokens": common.median([r["prompt_tokens"] for r in runs if r.get("prompt_tokens")]),
            "tokens_per_s": common.median([r["tokens"] / r["seconds"] for r in runs if r.get("tokens")]),
            "updates": common.median([r.get("updates") for r in runs]),
            "median_ms": common.ms(common.median([r["seconds"] for r in runs])),
            "p90_ms": common.ms(common.percentile([r["seconds"] for r in runs], 90))}


def run(ctx: Context) -> dict[str, Any]:
    from openai import OpenAI

    n = 2 if ctx.quick else 5          # streamed rounds (each variant once a round), after one warm-up round
    n_whole = 4 if ctx.quick else 10   # non-streamed calls of each side, after one warm-up each
    max_tokens = 128                   # as the streaming benchmark
    model = chat_model()
    print("  (starting server chat…)", flush=True)
    server = common.start_server("chat", {"text-generation": [{"id": model, "label": LABEL}]}, ctx.workdir,
                                 app_args=["--preload", "text-generation"])
    ctx.servers["chat"] = server  # closed with the others; its RSS in latest.json
    api = OpenAI(base_url=server.url + "v1", api_key="unused", max_retries=0, timeout=120.0)
    listed = [m.id for m in api.models.list().data]
    if model not in listed:
        raise RuntimeError(f"GET /v1/models lists {listed}, not {model}")
    rest = common.Rest(server.url)
    direct = common.Worker("direct_chat", ctx.workdir, path=model, max_new_tokens=max_tokens)
    client = None
    if not ctx.quick:
        client = common.Worker("client_chat", ctx.workdir, url=server.url,
                               kwargs={"messages": MESSAGES, "model": model, "system_prompt": "",
                                       "max_new_tokens": max_tokens, "temperature": 0.0, "top_p": 1.0, "top_k": 0,
                                       "repetition_penalty": 1.0, "seed": 1})
    try:
        variants: dict[str, Callable[[], Any]] = {"v1_stream": lambda: openai_stream(api, model, max_tokens)}
        if not ctx.quick:
            variants["chat_rest"] = lambda: rest_chat(rest, model, max_tokens)
            variants["chat_client"] = client
            variants["generate_rest"] = lambda: rest_generate(rest, model, max_tokens)
            variants["direct_single"] = lambda: direct(messages=SINGLE)
        variants["direct"] = lambda: direct(messages=MESSAGES)
        streamed = common.interleaved(n, variants, warmup=1, settle=0.05)
        whole = common.interleaved(n_whole, {"v1_whole": lambda: openai_whole(api, model, max_tokens),
                                             "direct_whole": lambda: direct(messages=MESSAGES, stream=False)},
                                   warmup=1, settle=0.05)
    finally:
        for closable in (direct, client, rest):
            if closable is not None:
                closable.close()
        api.close()
    results = {**streamed, **whole}
    summary = {name: summarize(runs) for name, runs in results.items()}
    # greedy on the same ids: every path should write the direct text (whitespace aside)
    expected = {"direct": " ".join(results["direct"][0]["text"].split())}
    if "direct_single" in results:
        expected["direct_single"] = " ".join(results["direct_single"][0]["text"].split())
    baseline_of = {"v1_stream": "direct", "chat_rest": "direct", "chat_client": "direct", "generate_rest": "direct_single",
                   "v1_whole": "direct", "direct_whole": "direct"}
    same = {name: all(" ".join((r.get("text") or "").split()) == expected[baseline_of[name]] for r in runs)
            for name, runs in results.items() if name in baseline_of}
    rows = []
    for name, title in (("v1_stream", "/v1/chat/completions, openai stream=True (SSE)"),
                        ("chat_rest", "/chat REST SSE"), ("chat_client", "/chat gradio_client"),
                        ("generate_rest", "/generate REST SSE, the last user message alone")):
        if name not in summary:
            continue
        s, d = summary[name], summary[baseline_of[name]]
        what = "1 message" if name == "generate_rest" else f"{len(MESSAGES)} messages"
        rows.append(row(f"{LABEL} {title}: first token (ms)", common.fmt(s["ttft_ms"], "ms"),
                        common.fmt(d["ttft_ms"], "ms") + " direct", plus(s["ttft_ms"], d["ttft_ms"]),
                        **{f"{name}_ttft_ms": s["ttft_ms"], "direct_ttft_ms": d["ttft_ms"]}))
        rows.append(row(f"  tokens/s ({int(s['tokens'] or 0)} tokens, {what}, {int(s['prompt_tokens'] or 0)} vs "
                        f"{int(d['prompt_tokens'] or 0)} prompt tokens; {s['updates']:.0f} updates vs "
                        f"{d['updates']:.0f} streamer pieces; greedy text as direct: {'yes' if same[name] else 'NO'})",
                        common.fmt(s["tokens_per_s"], "tok/s"), common.fmt(d["tokens_per_s"], "tok/s") + " direct",
                        f"x{s['tokens_per_s'] / d['tokens_per_s']:.2f}",
                        **{f"{name}_tokens_per_s": s["tokens_per_s"], "direct_tokens_per_s": d["tokens_per_s"]}))
    w, d = summary["v1_whole"], summary["direct_whole"]
    rows.append(row(f"{LABEL} /v1/chat/completions not streamed (openai), {int(w['tokens'] or 0)} tokens: "
                    f"wall time, median of {n_whole} (ms)", common.fmt(w["median_ms"], "ms"),
                    common.fmt(d["median_ms"], "ms") + " model.generate", plus(w["median_ms"], d["median_ms"]),
                    v1_whole_median_ms=w["median_ms"], direct_whole_median_ms=d["median_ms"]))
    rows.append(row(f"  p90 (ms; greedy text as direct: {'yes' if same['v1_whole'] and same['direct_whole'] else 'NO'})",
                    common.fmt(w["p90_ms"], "ms"), common.fmt(d["p90_ms"], "ms") + " model.generate",
                    plus(w["p90_ms"], d["p90_ms"]),
                    v1_whole_p90_ms=w["p90_ms"], direct_whole_p90_ms=d["p90_ms"]))
    return {"rows": rows, "raw": {"runs": results, "summary": summary, "same_text_as_direct": same,
                                  "max_tokens": max_tokens, "messages": MESSAGES, "chat_template": CHAT_TEMPLATE,
                                  "model": model, "server_ready_seconds": server.ready_seconds}}
