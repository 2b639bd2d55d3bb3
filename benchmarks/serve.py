"""Run the app exactly as `python app.py APP FLAGS` does, with benchmark-only instruments:

    python -m benchmarks.serve [--yield-every S] [--stats-file PATH] [--report-modules] -- APP FLAGS

--yield-every S     sets components.chat.YIELD_EVERY (0 = one streamed update per token)
--stats-file PATH   counts the batches the manager's Batcher runs ({"batches", "items"}) and the
                    garbage collector's runs and seconds per generation, rewritten every 0.2 s
--report-modules    prints one JSON line with the heavy libraries imported when the page first answers
--profile PATH      samples every thread's Python stack every 2 ms into PATH (a diagnostic, not
                    used by benchmarks.run: it costs the server some CPU)

Nothing in models/ or components/ is edited: the instruments wrap them from outside.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.request

HEAVY = ("torch", "transformers", "diffusers", "open_clip", "timm", "safetensors")


def count_batches(path: str) -> None:
    """Counts batches and their items, and the garbage collector's runs and time, into PATH."""
    import gc

    from models.batching import Batcher

    counts = {"batches": 0, "items": 0, "gc_runs": [0, 0, 0], "gc_seconds": [0.0, 0.0, 0.0]}
    lock = threading.Lock()
    execute = Batcher._execute
    gc_start: list[float] = [0.0]

    def on_gc(phase: str, info: dict) -> None:
        if phase == "start":
            gc_start[0] = time.perf_counter()
        else:
            generation = info.get("generation", 0)
            counts["gc_runs"][generation] += 1
            counts["gc_seconds"][generation] += time.perf_counter() - gc_start[0]
    gc.callbacks.append(on_gc)

    def counted(self, run_batch, batch):  # noqa: ANN001
        with lock:
            counts["batches"] += 1
            counts["items"] += len(batch)
        return execute(self, run_batch, batch)

    Batcher._execute = counted

    def write() -> None:
        last = None
        while True:
            with lock:
                now = json.loads(json.dumps(counts))
            if now != last:
                tmp = path + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(now, f)
                os.replace(tmp, path)
                last = now
            time.sleep(0.2)

    threading.Thread(target=write, name="batch-stats", daemon=True).start()


def sample_stacks(path: str, interval: float = 0.002) -> None:
    """A sampling profiler of every thread (sys._current_frames every `interval` s): counts of
    collapsed stacks ("file:function;file:function;..." outermost first) and of leaf frames,
    keyed by the thread's native id, rewritten to PATH every second. Stacks whose leaf is a
    wait (locks, selectors, queues, sleeps) are counted apart as idle."""
    import collections
    import traceback

    me = threading.get_ident()
    stacks: collections.Counter[str] = collections.Counter()
    idle_words = ("wait", "select", "sleep", "_worker", "get", "acquire", "accept", "readinto", "recv", "poll")

    def sample() -> None:
        last_write = time.monotonic()
        natives = {}
        while True:
            for ident, frame in sys._current_frames().items():
                if ident == me:
                    continue
                summary = traceback.extract_stack(frame, limit=40)
                if not summary:
                    continue
                leaf = summary[-1]
                idle = any(w in leaf.name for w in idle_words)
                if ident not in natives:
                    natives.update({t.ident: t.native_id for t in threading.enumerate()})
                key = ";".join(f"{os.path.basename(f.filename)}:{f.name}" for f in summary[-14:])
                stacks[("IDLE " if idle else "") + f"[{natives.get(ident)}] " + key] += 1
            if time.monotonic() - last_write > 1.0:
                tmp = path + ".tmp"
                with open(tmp, "w") as f:
                    json.dump(dict(stacks.most_common(400)), f)
                os.replace(tmp, path)
                last_write = time.monotonic()
            time.sleep(interval)

    threading.Thread(target=sample, name="stack-sampler", daemon=True).start()


def report_modules(port: int) -> None:
    def watch() -> None:
        url = f"http://127.0.0.1:{port}/"
        for _ in range(3000):  # at most ~5 minutes
            try:
                with urllib.request.urlopen(url, timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            time.sleep(0.1)
        print("MODULES " + json.dumps({m: m in sys.modules for m in HEAVY}), flush=True)

    threading.Thread(target=watch, name="module-report", daemon=True).start()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.serve")
    parser.add_argument("--yield-every", type=float, default=None)
    parser.add_argument("--stats-file", default=None)
    parser.add_argument("--report-modules", action="store_true")
    parser.add_argument("--profile", default=None, metavar="PATH", help="sample every thread's stack into PATH")
    parser.add_argument("app_args", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    app_args = args.app_args[1:] if args.app_args[:1] == ["--"] else args.app_args
    if args.yield_every is not None:
        import components.chat as text_generation

        text_generation.YIELD_EVERY = args.yield_every
    if args.stats_file:
        count_batches(args.stats_file)
    if args.profile:
        sample_stacks(args.profile)

    import app

    if args.report_modules:
        report_modules(app.parse_args(app_args).port)
    return app.main(app_args)


if __name__ == "__main__":
    sys.exit(main())
