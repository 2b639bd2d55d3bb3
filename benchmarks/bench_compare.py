"""12. Compare: what `/compare` of two models costs against calling the task's own endpoint for one model
then the other, and how soon each side of a chat comparison shows its first token against a single
`/chat` stream of that model.

Every call is plain HTTP on Gradio's REST API (common.Rest: POST /gradio_api/call/<api>, then its SSE
stream read to `complete`, on one keep-alive connection, no session_hash), as the request, streaming
and chat benchmarks' REST rows that carry issue "Performance"'s goals; one call at a time from here.
The server is a fresh `python -m benchmarks.serve` (app.main as shipped) serving only the six models
below with `--max-loaded-models 8`, so all stay loaded and /compare runs its sides at once (each timed
call is checked: no side says the sides ran one after another, every side says its model was loaded
before); each model is loaded by a warm-up call before anything is timed.

- Sentiment: /compare of bert-4x256 and distilbert-6x768 on one sentence, against /sentiment for
  bert-4x256 then /sentiment for distilbert-6x768 (same client, same sentence); the wall time of the
  whole, median and p90 of 20 rounds (6 with --quick), interleaved after 2 warm-up rounds. The sides'
  results are checked to equal the single endpoint's.
- Generate: the same for /generate (a streaming endpoint) with gpt2-6x256 and the tiny GPT-2, greedy
  (temperature 0), 64 new tokens, seed 1, the streaming benchmark's prompt: the whole call's wall time;
  the greedy texts are checked to equal the single endpoint's.
- Chat first token: /compare with task chat of gpt2-6x256 with a chat template (bench_chat's) and the
  tests' tiny chat GPT-2, on bench_chat's messages, greedy, 32 new tokens: the time from sending the
  request until the first streamed update in which that side's reply is not empty, against a single
  /chat stream's first non-empty reply for the same model and messages (20 rounds, 6 with --quick).

Goals (issue 15, "Compare models"):
- Comparing two models costs no more than running them one after another: the ratio of medians
  compare / sequential <= 1.0. The verdict says "met" at <= 1.00 and "within noise" up to 1.05, the
  few percent by which interleaved medians of the same calls move between runs on this shared 2-core
  VM (BENCHMARKS.md); above 1.05 it is MISSED. No allowance is made for the Gradio hop: /compare is
  one hop (one POST, one SSE stream) where the sequential baseline is two, so it should save one.
- Each side's first token within 1.2x + 30 ms of the single /chat stream's first token on the same
  model and messages (the form of the streaming benchmark's first-token goal, with the single stream
  as the baseline)."""
from __future__ import annotations

import json
import time
import urllib.request
from typing import Any, Callable

from . import common, models
from .bench_chat import LABEL as CHAT_LABEL, MESSAGES, chat_model, plus, rest_chat
from .bench_streaming import PROMPT
from .context import Context, row

TEXT = "I really love this film, the ending was wonderful."  # the request benchmark's sentence
GEN_TOKENS = 64
CHAT_TOKENS = 32
NOISE = 1.05  # a ratio up to this is "within noise" (see the docstring)


def parameters(url: str, api_name: str) -> list[tuple[str, Any]]:
    """An endpoint's parameters in order, each with its default, from GET /gradio_api/info: a REST call
    must send every one (Gradio fills none in), and /compare may gain optional ones."""
    with urllib.request.urlopen(url + "gradio_api/info", timeout=30) as response:
        info = json.loads(response.read())
    return [(p["parameter_name"], p.get("parameter_default")) for p in info["named_endpoints"][api_name]["parameters"]]


def compare_call(rest: common.Rest, params: list[tuple[str, Any]], task: str, pair: list[str],
                 inputs: dict[str, Any], *, keep_events: bool = False) -> tuple[common.Call, list[dict[str, Any]]]:
    """/compare(task, models, inputs; every other parameter its default): the call and its final sides;
    a side's error raises."""
    given = {"task": task, "models": pair, "inputs": inputs}
    call = rest.call("compare", [given.get(name, default) for name, default in params], keep_events=keep_events)
    sides = call.data[0]
    for side in sides:
        if side.get("error"):
            raise RuntimeError(f"/compare {task}: side {side.get('model')} failed: {side['error']}")
    return call, sides


def side_figures(sides: list[dict[str, Any]]) -> dict[str, Any]:
    return {"side_seconds": [s["metrics"].get("latency_seconds") for s in sides],
            "server_first": [s["metrics"].get("first_update_seconds") for s in sides],
            "loaded_before": [s["metrics"].get("loaded_before") for s in sides],
            "one_by_one": any(s.get("note") for s in sides)}


def ratio_verdict(value: float | None) -> str:
    if value is None:
        return "-"
    return "met" if value <= 1.0 else "within noise" if value <= NOISE else "MISSED"


def whole_rows(title: str, n: int, runs: dict[str, list[dict[str, Any]]], pair: list[tuple[str, str]],
               endpoint: str, same: bool) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The rows of one compare-vs-sequential measure: medians, p90s, their ratios, and each side."""
    cmp_s = [r["seconds"] for r in runs["compare"]]
    seq_s = [r["seconds"] for r in runs["sequential"]]
    med = {"compare": common.ms(common.median(cmp_s)), "sequential": common.ms(common.median(seq_s))}
    p90 = {"compare": common.ms(common.percentile(cmp_s, 90)), "sequential": common.ms(common.percentile(seq_s, 90))}
    r_med, r_p90 = common.ratio(med["compare"], med["sequential"]), common.ratio(p90["compare"], p90["sequential"])
    at_once = not any(r["one_by_one"] for r in runs["compare"])
    loaded = all(all(r["loaded_before"]) for r in runs["compare"])
    (a, _), (b, _) = pair
    side_ms = [common.ms(common.median([r["side_seconds"][i] for r in runs["compare"]])) for i in range(2)]
    alone_ms = [common.ms(common.median([r["call_seconds"][i] for r in runs["sequential"]])) for i in range(2)]
    rows = [
        row(f"/compare {title}: wall time, median of {n} (ms)", common.fmt(med["compare"], "ms"),
            common.fmt(med["sequential"], "ms") + f" /{endpoint} A then B", f"x{r_med:.2f}",
            goal=f"<= x1.00 (x{NOISE:.2f} noise)", verdict=ratio_verdict(r_med),
            compare_median_ms=med["compare"], sequential_median_ms=med["sequential"], ratio=r_med, n=n),
        row("  p90 (ms)", common.fmt(p90["compare"], "ms"), common.fmt(p90["sequential"], "ms") + " sequential",
            f"x{r_p90:.2f}", compare_p90_ms=p90["compare"], sequential_p90_ms=p90["sequential"], ratio_p90=r_p90),
        row(f"  each side, A {a} / B {b}: its time inside /compare (server) vs one /{endpoint} call at the "
            f"client (ms; sides at once: {'yes' if at_once else 'NO'}; models loaded before: "
            f"{'yes' if loaded else 'NO'}; same results as /{endpoint}: {'yes' if same else 'NO'})",
            f"{common.fmt(side_ms[0])} / {common.fmt(side_ms[1], 'ms')}",
            f"{common.fmt(alone_ms[0])} / {common.fmt(alone_ms[1], 'ms')}", "-",
            side_ms=side_ms, alone_ms=alone_ms, at_once=at_once, loaded_before=loaded, same_results=same),
    ]
    return rows, {"median_ms": med, "p90_ms": p90, "ratio_median": r_med, "ratio_p90": r_p90,
                  "side_ms": side_ms, "alone_ms": alone_ms, "at_once": at_once, "loaded_before": loaded,
                  "same_results": same}


def run(ctx: Context) -> dict[str, Any]:
    n = 6 if ctx.quick else 20
    sentiment = [("bert-4x256", models.bert()), ("distilbert-6x768", models.distilbert())]
    generate = [("gpt2-6x256", models.gpt2()), ("tiny gpt2", common.tiny("gpt2"))]
    chat = [(CHAT_LABEL, chat_model()), ("tiny chat gpt2", common.tiny("chat-gpt2"))]
    catalog = {"sentiment": [{"id": path, "label": label} for label, path in sentiment],
               "text-generation": [{"id": path, "label": label} for label, path in generate + chat]}
    print("  (starting server compare…)", flush=True)
    server = common.start_server("compare", catalog, ctx.workdir, app_args=["--max-loaded-models", "8"])
    ctx.servers["compare"] = server  # closed with the others; its RSS in latest.json
    rest = common.Rest(server.url)
    params = parameters(server.url, "/compare")
    rows: list[dict[str, Any]] = []
    raw: dict[str, Any] = {"n": n, "server_ready_seconds": server.ready_seconds}
    try:
        # -- sentiment: whole call ----------------------------------------------------------------------------
        s_pair = [path for _, path in sentiment]

        def compare_sentiment() -> dict[str, Any]:
            call, sides = compare_call(rest, params, "sentiment", s_pair, {"text": TEXT})
            return {"seconds": call.seconds, "results": [s["result"] for s in sides], **side_figures(sides)}

        def sequential_sentiment() -> dict[str, Any]:
            start = time.perf_counter()
            calls = [rest.call("sentiment", [TEXT, path]) for path in s_pair]
            return {"seconds": time.perf_counter() - start, "call_seconds": [c.seconds for c in calls],
                    "results": [c.data[0] for c in calls]}

        for path in s_pair:  # load both models before anything is timed
            rest.call("sentiment", [TEXT, path])
        runs = common.interleaved(n, {"compare": compare_sentiment, "sequential": sequential_sentiment},
                                  warmup=2, settle=0.05)
        same = all(r["results"] == runs["sequential"][0]["results"] for r in runs["compare"] + runs["sequential"])
        got, summary = whole_rows(f"sentiment {sentiment[0][0]} + {sentiment[1][0]}, one sentence", n, runs,
                                  sentiment, "sentiment", same)
        rows += got
        raw["sentiment"] = {"runs": runs, "summary": summary, "text": TEXT}

        # -- generate: whole streamed call --------------------------------------------------------------------
        g_pair = [path for _, path in generate]
        g_inputs = {"prompt": PROMPT, "max_new_tokens": GEN_TOKENS, "temperature": 0.0, "top_p": 1.0, "top_k": 0,
                    "repetition_penalty": 1.0, "seed": 1}

        def compare_generate() -> dict[str, Any]:
            call, sides = compare_call(rest, params, "generate", g_pair, g_inputs)
            return {"seconds": call.seconds, "texts": [s["result"][0] for s in sides], **side_figures(sides)}

        def sequential_generate() -> dict[str, Any]:
            start = time.perf_counter()
            calls = [rest.call("generate", [PROMPT, path, GEN_TOKENS, 0.0, 1.0, 0, 1.0, 1]) for path in g_pair]
            return {"seconds": time.perf_counter() - start, "call_seconds": [c.seconds for c in calls],
                    "texts": [c.data[0] for c in calls]}

        for path in g_pair:
            rest.call("generate", [PROMPT, path, 4, 0.0, 1.0, 0, 1.0, 1])
        runs = common.interleaved(n, {"compare": compare_generate, "sequential": sequential_generate},
                                  warmup=2, settle=0.05)
        same = all(r["texts"] == runs["sequential"][0]["texts"] for r in runs["compare"] + runs["sequential"])
        got, summary = whole_rows(f"generate {generate[0][0]} + {generate[1][0]}, {GEN_TOKENS} tokens greedy", n,
                                  runs, generate, "generate", same)
        rows += got
        raw["generate"] = {"runs": runs, "summary": summary, "prompt": PROMPT, "max_new_tokens": GEN_TOKENS}

        # -- chat: each side's first token ------------------------------------------------------------------
        c_pair = [path for _, path in chat]
        c_inputs = {"messages": MESSAGES, "system_prompt": "", "max_new_tokens": CHAT_TOKENS, "temperature": 0.0,
                    "top_p": 1.0, "top_k": 0, "repetition_penalty": 1.0, "seed": 1}

        def replied(i: int) -> Callable[[Any], bool]:
            def check(data: Any) -> bool:
                side = data[0][i] if data and data[0] and len(data[0]) > i else None
                return bool(side and side.get("result") and side["result"][0])
            return check

        def compare_chat() -> dict[str, Any]:
            call, sides = compare_call(rest, params, "chat", c_pair, c_inputs, keep_events=True)
            return {"seconds": call.seconds, "first": [call.first(replied(i)) for i in range(2)],
                    "texts": [s["result"][0] for s in sides],
                    "updates": sum(1 for _, event, _ in call.events if event == "generating"), **side_figures(sides)}

        for path in c_pair:
            rest_chat(rest, path, 4)
        variants: dict[str, Callable[[], Any]] = {"compare": compare_chat}
        for i, path in enumerate(c_pair):
            variants[f"single_{'ab'[i]}"] = lambda p=path: rest_chat(rest, p, CHAT_TOKENS)
        runs = common.interleaved(n, variants, warmup=2, settle=0.05)
        first_cmp = [common.ms(common.median([r["first"][i] for r in runs["compare"]])) for i in range(2)]
        first_one = [common.ms(common.median([r["first"] for r in runs[f"single_{'ab'[i]}"]])) for i in range(2)]
        texts = [runs[f"single_{'ab'[i]}"][0]["text"] for i in range(2)]
        same = all(r["texts"] == texts for r in runs["compare"]) and \
            all(r["text"] == texts[i] for i in range(2) for r in runs[f"single_{'ab'[i]}"])
        at_once = not any(r["one_by_one"] for r in runs["compare"])
        chat_summary: dict[str, Any] = {"first_compare_ms": first_cmp, "first_single_ms": first_one, "same_text": same,
                                        "at_once": at_once,
                                        "server_first_ms": [common.ms(common.median([r["server_first"][i]
                                                                                     for r in runs["compare"]]))
                                                            for i in range(2)]}
        for i, (label, _) in enumerate(chat):
            limit = 1.2 * first_one[i] + 30
            chat_summary[f"limit_ms_{'ab'[i]}"] = limit
            rows.append(row(f"/compare chat {chat[0][0]} + {chat[1][0]}: side {'AB'[i]} ({label}) first token at "
                            f"the client (ms)", common.fmt(first_cmp[i], "ms"),
                            common.fmt(first_one[i], "ms") + " single /chat", plus(first_cmp[i], first_one[i]),
                            goal=f"<= {common.fmt(limit, 'ms')} (1.2x + 30)",
                            verdict="met" if first_cmp[i] <= limit else "MISSED",
                            compare_first_ms=first_cmp[i], single_first_ms=first_one[i], limit_ms=limit))
        cmp_ms = common.ms(common.median([r["seconds"] for r in runs["compare"]]))
        one_ms = [common.ms(common.median([r["seconds"] for r in runs[f"single_{'ab'[i]}"]])) for i in range(2)]
        rows.append(row(f"  whole /compare chat call vs single /chat A + B (ms; {CHAT_TOKENS} tokens; {len(MESSAGES)} "
                        f"messages; sides at once: {'yes' if at_once else 'NO'}; greedy text as single /chat: "
                        f"{'yes' if same else 'NO'})", common.fmt(cmp_ms, "ms"),
                        f"{common.fmt(one_ms[0])} + {common.fmt(one_ms[1], 'ms')}",
                        f"x{cmp_ms / (one_ms[0] + one_ms[1]):.2f}", compare_ms=cmp_ms, single_ms=one_ms))
        chat_summary.update(compare_ms=cmp_ms, single_ms=one_ms)
        raw["chat"] = {"runs": runs, "summary": chat_summary, "messages": MESSAGES, "max_new_tokens": CHAT_TOKENS}
    finally:
        rest.close()
    raw["models"] = {"sentiment": sentiment, "generate": generate, "chat": chat}
    return {"rows": rows, "raw": raw}
