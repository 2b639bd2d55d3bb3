"""3. Throughput under concurrency: 32 clients (threads sending plain HTTP, each on its own
keep-alive connection, each sending its next request as soon as the last is answered) on the
sentiment and image endpoints for a bounded time, against a server with batching on
(ModelManager max_batch_size 16, the default) and one with batching off (--no-batching, i.e.
max_batch_size 1). Both servers run side by side; rounds alternate between them."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable

from . import common, models
from .context import Context, row

CLIENTS = 32
GOAL = 3.0  # batching's requests/s over no batching's, at 32 clients on CPU (issue "Performance")


def burst(server: common.Server, seconds: float, prepare: Callable[[common.Rest, int], Any],
          send: Callable[[common.Rest, Any, int, int], Any], clients: int = CLIENTS) -> dict[str, Any]:
    """`clients` threads send requests until the deadline; only answers that arrive before it count."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    errors = [0] * clients
    state: dict[str, float] = {}
    ready = threading.Barrier(clients + 1, action=lambda: state.update(start=time.perf_counter(),
                                                                        deadline=time.perf_counter() + seconds))

    def client(i: int) -> None:
        rest = common.Rest(server.url)
        try:
            payload = prepare(rest, i)
        except Exception:  # noqa: BLE001
            payload = None
            errors[i] += 1
        ready.wait(timeout=120)
        k = 0
        while payload is not None:
            t0 = time.perf_counter()
            if t0 >= state["deadline"]:
                break
            try:
                send(rest, payload, i, k)
            except Exception:  # noqa: BLE001 - counted; the benchmark reports errors
                errors[i] += 1
                time.sleep(0.05)
                continue
            finally:
                k += 1
            t1 = time.perf_counter()
            if t1 <= state["deadline"]:
                latencies[i].append(t1 - t0)
        rest.close()

    import psutil

    me = psutil.Process()
    batches0, cpu0, mine0 = server.batch_stats(), server.cpu_seconds(), sum(me.cpu_times()[:2])
    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait(timeout=120)
    for t in threads:
        t.join(timeout=seconds + 120)
    batches1, cpu1, mine1 = server.batch_stats(), server.cpu_seconds(), sum(me.cpu_times()[:2])
    done = [x for per in latencies for x in per]
    n_batches = batches1["batches"] - batches0["batches"]
    items = batches1["items"] - batches0["items"]
    return {"rps": len(done) / seconds, "completed": len(done), "errors": sum(errors),
            "p50_ms": common.ms(common.percentile(done, 50)), "p99_ms": common.ms(common.percentile(done, 99)),
            "mean_batch": items / n_batches if n_batches else None,
            "server_cpu_ms_per_request": (cpu1 - cpu0) * 1000 / max(1, len(done)),
            "client_cpu_ms_per_request": (mine1 - mine0) * 1000 / max(1, len(done)),
            "load_average": common.load_average()}


def run(ctx: Context) -> dict[str, Any]:
    rounds, seconds = (1, 3.0) if ctx.quick else (3, 4.0)
    texts = common.sentences(97, seed=3)
    image_model = common.efficientnet() or common.tiny("vit")
    image_label = "efficientnet_lite0" if common.efficientnet() else "tiny vit (efficientnet not found)"

    def sentiment(model: str, session: bool = False) -> tuple[Callable, Callable]:
        """Without a session_hash Gradio builds a new session state for every call; with one per
        client (what gradio_client does) it builds it once."""
        if session:
            return (lambda rest, i: f"bench-client-{i}-{time.monotonic_ns()}",
                    lambda rest, h, i, k: rest.call("sentiment", [texts[(i * 7 + k) % len(texts)], model],
                                                    session_hash=h))
        return (lambda rest, i: True,
                lambda rest, _, i, k: rest.call("sentiment", [texts[(i * 7 + k) % len(texts)], model]))

    image = (lambda rest, i: rest.upload(common.CAT_JPG),  # each client uploads once, then reuses the file
             lambda rest, fd, i, k: rest.call("classify_image", [fd, image_model, 5]))
    bert, on, off = models.bert(), "batching", "no batching"
    # name -> (title, {mode: (server, (prepare, send))}, [(mode a, mode b, what differs, goal applies)])
    endpoints: dict[str, Any] = {
        "sentiment": ("/sentiment bert-4x256", {on: ("main", sentiment(bert)), off: ("nobatch", sentiment(bert))},
                      [(on, off, "", True)]),
        "image": (f"/classify_image {image_label}", {on: ("main", image), off: ("nobatch", image)},
                  [(on, off, "", True)]),
    }
    if not ctx.quick:
        endpoints["sentiment"][1].update({f"{on}, sessions": ("main", sentiment(bert, True)),
                                          f"{off}, sessions": ("nobatch", sentiment(bert, True))})
        endpoints["sentiment"][2].append((f"{on}, sessions", f"{off}, sessions",
                                          ", clients reusing a session_hash", False))
        distil = models.distilbert()
        endpoints["sentiment_distilbert"] = (
            "/sentiment distilbert-6x768 (the default model's size)",
            {on: ("main", sentiment(distil)), off: ("nobatch", sentiment(distil))}, [(on, off, "", True)])
        tiny = common.tiny("sentiment")  # a model that costs almost nothing: the framework's own ceiling
        endpoints["sentiment_tiny"] = (
            "/sentiment tiny (framework ceiling), batching on",
            {"session per client": ("main", sentiment(tiny, True)), "no session": ("main", sentiment(tiny))},
            [("session per client", "no session", "", False)])
    rows, raw = [], {}
    for name, (title, modes, pairs) in endpoints.items():
        for server_name, (prepare, send) in modes.values():  # load the model and warm the servers up
            server = ctx.server(server_name)
            rest = common.Rest(server.url)
            send(rest, prepare(rest, 0), 0, 0)
            rest.close()
            if not ctx.quick:
                burst(server, 1.0, prepare, send)
        order = list(modes)
        results: dict[str, list[dict[str, Any]]] = {mode: [] for mode in order}
        for r in range(rounds):
            k = r % len(order)
            for mode in order[k:] + order[:k]:
                server_name, (prepare, send) = modes[mode]
                time.sleep(0.3)
                results[mode].append(burst(ctx.server(server_name), seconds, prepare, send))
        med = {mode: {key: common.median([x[key] for x in res if x[key] is not None])
                      for key in ("rps", "p50_ms", "p99_ms", "mean_batch", "server_cpu_ms_per_request",
                                  "client_cpu_ms_per_request")}
               for mode, res in results.items()}
        errors = {mode: sum(x["errors"] for x in res) for mode, res in results.items()}
        raw[name] = {"rounds": results, "median": med, "errors": errors, "seconds_per_round": seconds,
                     "clients": CLIENTS}
        for a, b, differs, has_goal in pairs:
            gain = common.ratio(med[a]["rps"], med[b]["rps"])
            rows.append(row(f"{title}{differs}, {CLIENTS} clients: requests/s", f"{common.fmt(med[a]['rps'], 'req/s')} {a}",
                            f"{common.fmt(med[b]['rps'], 'req/s')} {b}", f"x{gain:.2f}" if gain else "-",
                            goal=f">= x{GOAL:.0f}" if has_goal else "",
                            verdict=("met" if gain and gain >= GOAL else "MISSED") if has_goal else "",
                            rps=med[a]["rps"], rps_baseline=med[b]["rps"], ratio=gain,
                            errors={a: errors[a], b: errors[b]}))
            rows.append(row("  p50 / p99 latency (ms)",
                            f"{common.fmt(med[a]['p50_ms'])} / {common.fmt(med[a]['p99_ms'])} ms",
                            f"{common.fmt(med[b]['p50_ms'])} / {common.fmt(med[b]['p99_ms'])} ms"))
            rows.append(row("  mean batch; CPU ms per request: server, clients",
                            f"{common.fmt(med[a]['mean_batch']) if med[a]['mean_batch'] else 1}; "
                            f"{common.fmt(med[a]['server_cpu_ms_per_request'])}, "
                            f"{common.fmt(med[a]['client_cpu_ms_per_request'])} ms",
                            f"{common.fmt(med[b]['mean_batch']) if med[b]['mean_batch'] else 1}; "
                            f"{common.fmt(med[b]['server_cpu_ms_per_request'])}, "
                            f"{common.fmt(med[b]['client_cpu_ms_per_request'])} ms"))
            if errors[a] or errors[b]:
                rows.append(row("  errors (requests that failed)", str(errors[a]), str(errors[b])))
    return {"rows": rows, "raw": raw}
