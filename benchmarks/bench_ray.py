"""18. Ray Serve backend (`--backend ray`, models/cluster.py): what sending a model call to a Ray Serve
replica costs against calling the same ModelManager in this process, and what a second replica buys
(issue "Beyond one machine").

Everything runs in this one process: the in-process baseline is `models.manager.ModelManager(catalog,
device="cpu")` (as shipped: its batcher on, max batch 16), the Ray backend is
`models.cluster.ClusterManager(catalog, serving=..., device="cpu", local_cpus=4)` on a local Ray instance
it starts (`.start()`; its processes are this process's children) and stops (`.close()`), on the same
catalog. Both are called as the components call them; no Gradio, no HTTP. Each model is loaded on both
before anything is timed. Each cluster's start is timed, from `.start()` until its first model is loaded
on a replica.

1. Per-request overhead (one call at a time). Catalog: the tests' tiny sentiment model, bert-4x256
   (benchmarks/models.py, random weights) and the tests' tiny chat GPT-2; serving `parse_serving(None)`:
   one replica per family (text and generation), 0.25 CPU each. Ray gives a replica that reserves a
   fraction of a CPU OMP_NUM_THREADS=1 (checked here by a Ray task with the same 0.25 CPU; the table says
   what it found), so the in-process calls run with torch at the same count (`common.torch_threads(1)`)
   and the two sides differ by the path, not the threads.
   - Sentiment: `manager.predict("sentiment", model, TEXT)`, Ray against in-process, interleaved
     (common.interleaved, 3 warm-up rounds, order rotated, 0.02 s pause), 20 rounds (8 with --quick):
     median and p90 of each and their differences. The results are checked alike (labels, and scores
     within 1e-5). For the tiny model three more variants in the same rounds split the overhead: a Ray
     actor's method that returns None (Ray's own round trip), a Serve deployment's method that returns None
     (a bare Serve handle call, as the manager makes, without multiplexing; the deployment, 0.25 CPU like a
     replica, is made in the same cluster for this and deleted after), and `ClusterManager.get` of the
     loaded model (the app's multiplexed call to its replica, which does no model work).
   - Chat: `manager.stream("text-generation", model, [{"role": "user", "content": "hi"}], max_new_tokens=32,
     seed=1, temperature=0, do_sample=False)` read to its end: the time from the call to its first update
     (the first non-empty piece of the reply), and the whole stream; the greedy texts are checked equal.
     (A stream can be stopped, so while it runs its replica posts to the Board every 0.1 s, not 0.5 s.)
   - CPU per call, tiny sentiment: 40 calls in a row on each path, the CPU seconds of this process and of
     each Ray process (psutil), the idle rate of Ray's processes (measured before, 3 s with no request)
     taken off. And that idle rate itself: what a cluster with no request costs (the replicas' Board
     posts every 0.5 s, Serve's controller, the raylet and GCS).
2. Throughput. Catalog: distilbert-6x768 only (the default sentiment model's size: 6 layers, dim 768),
   so one family (text) is deployed. 16 client threads call `manager.predict("sentiment", ...)` one call
   after another (bench_throughput's 97 sentences) for 5 s (3 s with --quick); only answers before the
   deadline count. Variants: in-process with torch at 1 thread (`common.torch_threads(1)`; its batcher
   takes the 16 callers' requests as they pile up: the table gives its mean batch, every answer over the
   batches run), and Ray with `serving: {text: {replicas: N, threads: 1, max_ongoing_requests: 16}}` for
   N = 1 and 2 (each replica's own batcher, torch at 1 thread). One fresh
   local Ray per replica count: the 1-replica cluster is started, measured against in-process, closed,
   then the 2-replica one (so each Ray figure has its own in-process baseline from the same minutes, and
   2 vs 1 replicas compares figures taken a minute or two apart). 3 interleaved rounds of each pair (1
   with --quick), after a 2 s warm-up burst of 32 callers on each cluster (more than one replica takes, so
   Serve spills over to the second replica and it loads the model too; the table says how many replicas
   held it) and 1 s in-process. Also: p50 and p99 latency, the CPU per request of this process and of
   Ray's processes, and how many requests each replica was running when sampled (the Board, once a
   second).
   This machine has 2 cores: two one-thread replicas can at best use both, and this process (the 16
   callers, Ray's handle and router) and Ray's own processes take their CPU from the same 2 cores: x2 of
   1 replica is the ceiling here, not a figure to expect; replicas on cores or GPUs of their own would
   not compete with the front end for them.

Goal (issue "Beyond one machine"): the Ray backend adds under 10 ms per request at the median, for
sentiment and for a chat's first token. The throughput figures have no goal: they are reported."""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from typing import Any, Callable, Iterator

from . import common, models
from .bench_chat import plus
from .context import Context, row

TEXT = "I really love this film, the ending was wonderful."  # the request benchmark's sentence
MESSAGES = [{"role": "user", "content": "hi"}]
CHAT = dict(max_new_tokens=32, seed=1, temperature=0.0, do_sample=False)  # greedy
GOAL_MS = 10.0      # added per request at the median (issue "Beyond one machine")
CLIENTS = 16        # client threads in the throughput measure
LOCAL_CPUS = 4      # the local Ray instance's CPUs (replicas reserve 0.25 each)
CPU_CALLS = 40      # calls per path for CPU per call


def throughput_serving(replicas: int) -> dict[str, Any]:
    return {"text": {"replicas": replicas, "threads": 1, "max_ongoing_requests": CLIENTS}}


# -- a local cluster, and what its processes cost ----------------------------------------------------------

@contextlib.contextmanager
def cluster(catalog: Any, serving: Any, warm: list[tuple[str, str]]) -> Iterator[tuple[Any, float, list[str]]]:
    """A ClusterManager on a fresh local Ray instance, `warm` models loaded on it; closed (Ray stopped) after.
    Yields the manager, the seconds from .start() until the models were loaded, and the failed starts.

    A start that fails is tried once more with a fresh manager: a local Ray instance started in a process
    that had stopped one before failed to start once in about 30 starts while this was written (a
    RuntimeError in ray.init, which the manager words as "cannot be reached"), and another start's
    dashboard aborted (Ray carried on without it)."""
    from models.cluster import ClusterManager, parse_serving
    from models.errors import ClusterUnavailable

    failures: list[str] = []
    while True:
        manager = ClusterManager(catalog, serving=parse_serving(serving), device="cpu", local_cpus=LOCAL_CPUS)
        started = time.perf_counter()
        manager.start()
        try:
            for task, model in warm:
                manager.get(task, model)
            break
        except ClusterUnavailable as e:
            manager.close()
            with contextlib.suppress(Exception):
                import ray

                ray.shutdown()  # whatever a failed ray.init left
            if failures:
                raise
            failures.append(str(e))
            print(f"  (the local Ray instance did not start: {e} Once more…)", flush=True)
            time.sleep(2.0)
    try:
        yield manager, time.perf_counter() - started, failures
    finally:
        manager.close()


def ray_processes() -> list[Any]:
    """Ray's processes: the local instance's, all started under this one (not the other benchmarks'
    servers a full run keeps alive, which are children too)."""
    import psutil

    out = []
    for p in psutil.Process().children(recursive=True):
        with contextlib.suppress(psutil.Error):
            if any("ray" in part for part in p.cmdline()[:3]):  # ray::..., .../ray/.../raylet, .../ray/..._monitor.py
                out.append(p)
    return out


def cpu_by_process(processes: list[Any]) -> dict[int, tuple[str, float]]:
    """Each Ray process's name (its title: `raylet`, `gcs_server`, `ray::ServeReplica:text:text`, ...; a
    Python helper's script) and CPU seconds so far."""
    import psutil

    out = {}
    for p in processes:
        try:
            t = p.cpu_times()
            title = p.cmdline()[:1]
        except psutil.Error:
            continue
        name = os.path.basename(title[0]).split(".")[0] if title and title[0] else "?"
        if name.startswith("python"):  # Ray's Python helpers (log monitor, dashboard): the script's name
            with contextlib.suppress(psutil.Error, StopIteration):
                name = os.path.basename(next(a for a in p.cmdline()[1:] if not a.startswith("-"))).split(".")[0]
        out[p.pid] = (name, t.user + t.system)
    return out


def groups(by_process: dict[int, tuple[str, float]]) -> dict[str, float]:
    """CPU seconds of this process, the Serve replicas, and Ray's other processes."""
    import psutil

    me = psutil.Process().cpu_times()
    out = {"this process": me.user + me.system, "replicas": 0.0, "other Ray": 0.0}
    for name, seconds in by_process.values():
        out["replicas" if "ServeReplica" in name else "other Ray"] += seconds
    return out


def cpu_by_group(processes: list[Any]) -> dict[str, float]:
    return groups(cpu_by_process(processes))


def cpu_delta(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {k: after[k] - before[k] for k in before}


def idle_rates(seconds: float = 3.0) -> tuple[dict[str, float], dict[str, float]]:
    """CPU seconds per second with no request running: of each group, and of each Ray process by name."""
    processes = ray_processes()
    before, before_each = cpu_by_group(processes), cpu_by_process(processes)
    time.sleep(seconds)
    after_each = cpu_by_process(processes)
    rates = {k: v / seconds for k, v in cpu_delta(before, groups(after_each)).items()}
    each: dict[str, float] = {}
    for pid, (name, used) in after_each.items():
        each[name] = each.get(name, 0.0) + (used - before_each.get(pid, (name, used))[1]) / seconds
    return rates, dict(sorted(each.items(), key=lambda item: -item[1]))


def replica_threads() -> tuple[int, str | None]:
    """torch's threads, and OMP_NUM_THREADS, in a Ray worker that reserves what a replica reserves (0.25 CPU)."""
    import ray

    @ray.remote(num_cpus=0.25)
    def probe() -> tuple[int, str | None]:
        import os

        import torch

        return torch.get_num_threads(), os.environ.get("OMP_NUM_THREADS")

    return ray.get(probe.remote(), timeout=120)


# -- 1. per-request overhead ---------------------------------------------------------------------------------

@contextlib.contextmanager
def echoes() -> Iterator[tuple[Callable[[], Any], Callable[[], Any]]]:
    """Two bare calls into the running cluster, each to a method that returns None: a Ray actor's, and a
    Serve deployment's (0.25 CPU, like a replica; deleted after)."""
    import ray
    from ray import serve

    @ray.remote(num_cpus=0)
    class EchoActor:
        def echo(self) -> None:
            return None

    @serve.deployment(name="bench-echo", ray_actor_options={"num_cpus": 0.25})
    class Echo:
        def echo(self) -> None:
            return None

    actor = EchoActor.remote()
    handle = serve.run(Echo.bind(), name="bench-echo", route_prefix=None)
    try:
        yield (lambda: ray.get(actor.echo.remote(), timeout=60)), (lambda: handle.echo.remote().result())
    finally:
        with contextlib.suppress(Exception):
            serve.delete("bench-echo")
        with contextlib.suppress(Exception):
            ray.kill(actor)


def same_scores(a: Any, b: Any) -> bool:
    la, lb = a.get("labels", []), b.get("labels", [])
    return len(la) == len(lb) and all(x["label"] == y["label"] and abs(x["score"] - y["score"]) <= 1e-5
                                      for x, y in zip(la, lb))


def stream_call(manager: Any, model: str) -> dict[str, Any]:
    start = time.perf_counter()
    first, updates, last = None, 0, None
    for last in manager.stream("text-generation", model, MESSAGES, **CHAT):
        updates += 1
        if first is None and last.get("text"):
            first = time.perf_counter() - start
    return {"first": first, "seconds": time.perf_counter() - start, "updates": updates,
            "text": last["text"] if last else None, "new_tokens": last.get("new_tokens") if last else None}


def overhead_rows(label: str, times: dict[str, list[float]], what: str, n: int) -> tuple[list[dict[str, Any]], dict]:
    med = {k: common.ms(common.median(v)) for k, v in times.items()}
    p90 = {k: common.ms(common.percentile(v, 90)) for k, v in times.items()}
    added, added_p90 = med["ray"] - med["in-process"], p90["ray"] - p90["in-process"]
    rows = [
        row(f"{label}: {what}, Ray vs in-process, median of {n} (ms)", common.fmt(med["ray"], "ms"),
            common.fmt(med["in-process"], "ms") + " in-process", plus(med["ray"], med["in-process"]),
            goal=f"< +{GOAL_MS:.0f} ms", verdict="met" if added < GOAL_MS else "MISSED",
            ray_ms=med["ray"], in_process_ms=med["in-process"], added_ms=added, n=n),
        row("  p90 (ms)", common.fmt(p90["ray"], "ms"), common.fmt(p90["in-process"], "ms"),
            plus(p90["ray"], p90["in-process"]), ray_p90_ms=p90["ray"], in_process_p90_ms=p90["in-process"],
            added_p90_ms=added_p90),
    ]
    return rows, {"median_ms": med, "p90_ms": p90, "added_ms": added, "added_p90_ms": added_p90}


def cpu_per_call(fn: Callable[[], Any], idle: dict[str, float], calls: int = CPU_CALLS) -> dict[str, float]:
    """CPU ms per call of each group over `calls` calls in a row, each group's idle rate taken off."""
    processes = ray_processes()
    before, start = cpu_by_group(processes), time.perf_counter()
    for _ in range(calls):
        fn()
    wall = time.perf_counter() - start
    used = cpu_delta(before, cpu_by_group(processes))
    return {k: max(0.0, (v - idle[k] * wall)) * 1000 / calls for k, v in used.items()}


def overhead(ctx: Context) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from models import ModelManager, parse_catalog

    n = 8 if ctx.quick else 20
    tiny, chat = common.tiny("sentiment"), common.tiny("chat-gpt2")
    sentiment = [("tiny sentiment", tiny), ("bert-4x256", models.bert())]
    catalog = parse_catalog({"sentiment": [{"id": path, "label": label} for label, path in sentiment],
                             "text-generation": [{"id": chat, "label": "tiny chat gpt2"}]})
    local = ModelManager(catalog, device="cpu")
    rows: list[dict[str, Any]] = []
    raw: dict[str, Any] = {"n": n, "models": {"sentiment": sentiment, "chat": chat}, "chat_params": CHAT}
    warm = [("sentiment", path) for _, path in sentiment] + [("text-generation", chat)]
    print("  (starting a local Ray instance, serving parse_serving(None)…)", flush=True)
    try:
        with cluster(catalog, None, warm) as (cm, ready, failed), common.torch_threads(1):
            threads, omp = replica_threads()
            idle, idle_each = idle_rates()
            raw.update(ready_seconds=ready, failed_starts=failed, replica_threads=threads, omp_num_threads=omp,
                       in_process_threads=1, load_average=common.load_average(), idle_cpu_per_second=idle,
                       idle_cpu_per_second_each=idle_each)
            for task, path in warm:
                local.get(task, path)
            # -- sentiment -------------------------------------------------------------------------------
            for label, path in sentiment:
                same = same_scores(local.predict("sentiment", path, TEXT), cm.predict("sentiment", path, TEXT))
                variants: dict[str, Callable[[], Any]] = {
                    "in-process": common.timed(lambda p=path: local.predict("sentiment", p, TEXT)),
                    "ray": common.timed(lambda p=path: cm.predict("sentiment", p, TEXT)),
                }
                with contextlib.ExitStack() as stack:
                    if path == tiny:  # what the overhead is made of: Ray's call, Serve's, the app's multiplexed one
                        actor_call, serve_call = stack.enter_context(echoes())
                        variants["ray actor"] = common.timed(actor_call)
                        variants["serve handle"] = common.timed(serve_call)
                        variants["get (loaded)"] = common.timed(lambda p=path: cm.get("sentiment", p))
                    times = common.interleaved(n, variants, warmup=3, settle=0.02)
                got, summary = overhead_rows(f"sentiment {label}", times, "manager.predict", n)
                got[0]["measure"] += f" (same results: {'yes' if same else 'NO'})"
                rows += got
                summary["same_results"] = same
                if path == tiny:
                    parts = {k: common.ms(common.median(times[k])) for k in ("ray actor", "serve handle",
                                                                             "get (loaded)")}
                    summary["parts_median_ms"] = parts
                    rows.append(row("  of it: a Ray actor call / a bare Serve handle call / ClusterManager.get of "
                                    "the loaded model (multiplexed, no model work), each returning None, medians (ms)",
                                    f"{common.fmt(parts['ray actor'])} / {common.fmt(parts['serve handle'])} / "
                                    f"{common.fmt(parts['get (loaded)'], 'ms')}", "-", "-",
                                    parts_median_ms=parts))
                summary["ms"] = {k: [common.ms(x) for x in v] for k, v in times.items()}
                raw[f"sentiment {label}"] = summary
            # -- chat: first update ------------------------------------------------------------------------
            runs = common.interleaved(n, {"in-process": lambda: stream_call(local, chat),
                                          "ray": lambda: stream_call(cm, chat)}, warmup=2, settle=0.02)
            texts = {r["text"] for v in runs.values() for r in v}
            first = {k: [r["first"] for r in v] for k, v in runs.items()}
            got, summary = overhead_rows("chat tiny chat gpt2", first, "first update of manager.stream", n)
            rows += got
            whole = {k: common.ms(common.median([r["seconds"] for r in v])) for k, v in runs.items()}
            updates = common.median([r["updates"] for r in runs["ray"]])
            tokens = common.median([r["new_tokens"] for r in runs["ray"]])
            rows.append(row(f"  whole stream, {tokens:.0f} new tokens, {updates:.0f} updates, greedy (ms; same text: "
                            f"{'yes' if len(texts) == 1 else 'NO'})", common.fmt(whole["ray"], "ms"),
                            common.fmt(whole["in-process"], "ms"), plus(whole["ray"], whole["in-process"]),
                            ray_ms=whole["ray"], in_process_ms=whole["in-process"], updates=updates, tokens=tokens))
            summary.update(whole_median_ms=whole, same_text=len(texts) == 1, updates=updates, runs=runs)
            raw["chat"] = summary
            # -- CPU per call, and the idle cluster's ------------------------------------------------------
            cpu = {"ray": cpu_per_call(lambda: cm.predict("sentiment", tiny, TEXT), idle),
                   "in-process": cpu_per_call(lambda: local.predict("sentiment", tiny, TEXT), idle)}
            raw["cpu_ms_per_call"] = cpu
            rows.append(row(f"  CPU per call, tiny sentiment, {CPU_CALLS} in a row: this process; replica; Ray's other "
                            "processes (ms, idle rate taken off)",
                            f"{common.fmt(cpu['ray']['this process'])}; {common.fmt(cpu['ray']['replicas'])}; "
                            f"{common.fmt(cpu['ray']['other Ray'], 'ms')}",
                            f"{common.fmt(cpu['in-process']['this process'], 'ms')} in-process",
                            plus(sum(cpu['ray'].values()), cpu['in-process']['this process'])))
            rows.append(row("Ray idle, no request: CPU % of one core, this process / the 2 replicas (text, "
                            f"generation) / Ray's other processes (a replica's torch threads {threads}, "
                            f"OMP_NUM_THREADS={omp}; cluster ready in {ready:.0f} s"
                            + (f" after {len(failed)} failed start" if failed else "") + ")",
                            " / ".join(f"{idle[k] * 100:.1f}" for k in ("this process", "replicas", "other Ray"))
                            + " %",
                            "-", "-", idle_percent={k: v * 100 for k, v in idle.items()}, ready_seconds=ready))
            busiest = [(name, rate) for name, rate in idle_each.items() if "ServeReplica" not in name][:4]
            rows.append(row("  the busiest of Ray's other processes when idle (% of one core)",
                            ", ".join(f"{name} {rate * 100:.1f}" for name, rate in busiest) or "-", "-", "-",
                            idle_percent_each={name: rate * 100 for name, rate in idle_each.items()}))
    finally:
        local.unload_all()
    return rows, raw


# -- 2. throughput --------------------------------------------------------------------------------------------

def burst(call: Callable[[str], Any], seconds: float, texts: list[str], clients: int = CLIENTS,
          sample: Callable[[], Any] | None = None, batcher: Any = None) -> dict[str, Any]:
    """`clients` threads call until the deadline; only answers that arrive before it count. With `batcher`
    (the in-process manager's), also the mean batch: every answer, late ones too, over the batches run."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    answered = [0] * clients
    errors: list[str] = []
    state: dict[str, float] = {}
    ready = threading.Barrier(clients + 1, action=lambda: state.update(deadline=time.perf_counter() + seconds))

    def client(i: int) -> None:
        ready.wait(timeout=120)
        k = 0
        while True:
            t0 = time.perf_counter()
            if t0 >= state["deadline"]:
                break
            try:
                call(texts[(i * 7 + k) % len(texts)])
            except Exception as e:  # noqa: BLE001 - counted; the table reports errors
                errors.append(f"{type(e).__name__}: {e}"[:200])
                time.sleep(0.05)
            else:
                answered[i] += 1
                t1 = time.perf_counter()
                if t1 <= state["deadline"]:
                    latencies[i].append(t1 - t0)
            k += 1

    processes = ray_processes()
    threads = [threading.Thread(target=client, args=(i,), name=f"client-{i}", daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    before, batches = cpu_by_group(processes), batcher.batches_run if batcher is not None else 0
    ready.wait(timeout=120)
    samples = []
    if sample is not None:
        while time.perf_counter() < state["deadline"] - 1.0:
            time.sleep(1.0)
            with contextlib.suppress(Exception):
                samples.append(sample())
    for t in threads:
        t.join(timeout=seconds + 120)
    used = cpu_delta(before, cpu_by_group(processes))
    batches = batcher.batches_run - batches if batcher is not None else 0
    done = [x for per in latencies for x in per]
    count = max(1, len(done))
    return {"rps": len(done) / seconds, "completed": len(done), "errors": len(errors), "error_examples": errors[:3],
            "p50_ms": common.ms(common.percentile(done, 50)), "p99_ms": common.ms(common.percentile(done, 99)),
            "cpu_ms_per_request": {k: v * 1000 / count for k, v in used.items()}, "samples": samples,
            "mean_batch": sum(answered) / batches if batches else None,
            "load_average": common.load_average()}


def running_per_replica(manager: Any) -> list[int]:
    return [r["running"] for r in manager.replicas() if r["deployment"] == "text"]


def throughput(ctx: Context) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    from models import ModelManager, parse_catalog

    rounds, seconds = (1, 3.0) if ctx.quick else (3, 5.0)
    texts = common.sentences(97, seed=3)
    label, path = "distilbert-6x768", models.distilbert()
    catalog = parse_catalog({"sentiment": [{"id": path, "label": label}]})
    local = ModelManager(catalog, device="cpu")
    local.get("sentiment", path)
    phases: dict[int, dict[str, Any]] = {}
    try:
        for replicas in (1, 2):
            print(f"  (starting a local Ray instance, {replicas} replica(s) of text, 1 thread each…)", flush=True)
            with cluster(catalog, throughput_serving(replicas), [("sentiment", path)]) as (cm, ready, failed), \
                    common.torch_threads(1):
                def on_ray(text: str) -> Any:
                    return cm.predict("sentiment", path, text)

                def in_process(text: str) -> Any:
                    return local.predict("sentiment", path, text)

                holding = 0
                for _ in range(3):  # until every replica holds the model (Serve spills over past a full one)
                    burst(on_ray, 2.0, texts, clients=2 * CLIENTS)
                    time.sleep(0.6)  # a Board post
                    entry = cm.entry("sentiment", path)
                    holding = len(entry["replicas"]) if entry else 0
                    if holding >= replicas:
                        break
                burst(in_process, 1.0, texts)
                results = common.interleaved(rounds, {
                    "in-process": lambda: burst(in_process, seconds, texts, batcher=local.batcher),
                    "ray": lambda: burst(on_ray, seconds, texts, sample=lambda: running_per_replica(cm)),
                }, warmup=0, settle=0.3)
                phases[replicas] = {"ready_seconds": ready, "failed_starts": failed, "holding": holding,
                                    "rounds": results}
    finally:
        local.unload_all()
    med: dict[tuple[int, str], dict[str, Any]] = {}
    for replicas, phase in phases.items():
        for variant, res in phase["rounds"].items():
            med[replicas, variant] = {
                "rps": common.median([r["rps"] for r in res]), "p50_ms": common.median([r["p50_ms"] for r in res]),
                "p99_ms": common.median([r["p99_ms"] for r in res]), "errors": sum(r["errors"] for r in res),
                "mean_batch": common.median([r["mean_batch"] for r in res]),
                "cpu": {k: common.median([r["cpu_ms_per_request"][k] for r in res])
                        for k in ("this process", "replicas", "other Ray")}}
        samples = [s for r in phase["rounds"]["ray"] for s in r["samples"] if s]
        phase["running_median"] = [common.median([s[i] for s in samples if len(s) > i])
                                   for i in range(max((len(s) for s in samples), default=0))]
        phase["median"] = {v: med[replicas, v] for v in ("in-process", "ray")}
    rows = []
    what = f"sentiment {label}, {CLIENTS} client threads, {seconds:.0f} s"
    for replicas in (1, 2):
        ray, local_m = med[replicas, "ray"], med[replicas, "in-process"]
        gain = common.ratio(ray["rps"], local_m["rps"])
        rows.append(row(f"{what}: requests/s, Ray {replicas} replica{'s' if replicas > 1 else ''} x 1 thread vs "
                        f"in-process, torch 1 thread", common.fmt(ray["rps"], "req/s"),
                        common.fmt(local_m["rps"], "req/s") + " in-process", f"x{gain:.2f}",
                        rps=ray["rps"], rps_in_process=local_m["rps"], ratio=gain, replicas=replicas))
        rows.append(row("  p50 / p99 latency (ms); CPU ms per request: this process, replicas, Ray's other processes "
                        "(in-process: this process; its mean batch)",
                        f"{common.fmt(ray['p50_ms'])} / {common.fmt(ray['p99_ms'])} ms; "
                        f"{common.fmt(ray['cpu']['this process'])}, {common.fmt(ray['cpu']['replicas'])}, "
                        f"{common.fmt(ray['cpu']['other Ray'])}",
                        f"{common.fmt(local_m['p50_ms'])} / {common.fmt(local_m['p99_ms'])} ms; "
                        f"{common.fmt(local_m['cpu']['this process'])}; mean batch {common.fmt(local_m['mean_batch'])}",
                        "-"))
        phase = phases[replicas]
        rows.append(row("  replicas holding the model; requests running per replica when sampled (median); "
                        "errors; cluster ready in", f"{phase['holding']}; "
                        f"{' / '.join(common.fmt(x) for x in phase['running_median']) or '-'}; {ray['errors']}; "
                        f"{phase['ready_seconds']:.0f} s"
                        + (f" after {len(phase['failed_starts'])} failed start" if phase["failed_starts"] else ""),
                        f"errors {local_m['errors']}", "-"))
    r1, r2 = med[1, "ray"]["rps"], med[2, "ray"]["rps"]
    l1, l2 = med[1, "in-process"]["rps"], med[2, "in-process"]["rps"]
    scaled = common.ratio(common.ratio(r2, l2), common.ratio(r1, l1))
    rows.append(row(f"{what}: 2 replicas vs 1 replica, requests/s (each against its own in-process: "
                    f"x{scaled:.2f}; the two in-process figures x{l2 / l1:.2f} apart)",
                    common.fmt(r2, "req/s"), common.fmt(r1, "req/s") + " 1 replica", f"x{r2 / r1:.2f}",
                    ratio=r2 / r1, ratio_each_against_in_process=scaled, in_process_drift=l2 / l1))
    raw = {"model": [label, path], "clients": CLIENTS, "seconds": seconds, "rounds": rounds,
           "serving": {n: throughput_serving(n) for n in (1, 2)},
           "phases": {str(k): v for k, v in phases.items()}}
    return rows, raw


def run(ctx: Context) -> dict[str, Any]:
    serve_log = logging.getLogger("ray.serve")
    level = serve_log.level
    serve_log.setLevel(logging.WARNING)  # Serve's INFO lines (apps ready, routers started) between the rows
    try:
        rows, raw = overhead(ctx)
        got, raw["throughput"] = throughput(ctx)
    finally:
        serve_log.setLevel(level)
    return {"rows": rows + got, "raw": raw}
