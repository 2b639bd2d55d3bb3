"""Run the playground's benchmarks, print one table, write benchmarks/results/latest.json.

    python -m benchmarks.run                    # everything, about 8 minutes on 2 CPU cores
    python -m benchmarks.run --quick            # fewer runs and rounds, under 2 minutes
    (offline adds 4 minutes, 3 with --quick: its baselines wait out huggingface_hub's retries;
    explain adds 2.5 minutes, 1 with --quick)
    python -m benchmarks.run --only startup throughput
    python -m benchmarks.run --only chat        # the chat API paths against direct: about 1.5 minutes
    python -m benchmarks.run --only compare     # /compare of two models against one after another
    python -m benchmarks.run --only explain     # an explanation (fast, Integrated Gradients) against a prediction
    python -m benchmarks.run --only training    # fine-tuning through Job against the Trainer called directly
    python -m benchmarks.run --only ray         # the Ray Serve backend against in-process: overhead, replicas

Every figure is a median of runs that alternate with their baseline (order rotated each round),
so a busy moment on a shared machine lands on both. Nothing here asserts a timing: the table
shows each measure, its baseline, the difference or ratio, and the issue's goal where it has one.
Models are tiny test models (tests/builders, cached in tests/.cache), bench-sized random models
(benchmarks/models.py, cached in benchmarks/.cache) and ../shared/models/efficientnet_lite0
when present. No network: every request goes to 127.0.0.1.
"""
from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
import traceback
from typing import Any

BENCHMARKS = {
    "startup": "benchmarks.bench_startup",
    "request": "benchmarks.bench_request",
    "throughput": "benchmarks.bench_throughput",
    "streaming": "benchmarks.bench_streaming",
    "chat": "benchmarks.bench_chat",
    "compare": "benchmarks.bench_compare",
    "switching": "benchmarks.bench_switching",
    "clip": "benchmarks.bench_clip",
    "diffusion": "benchmarks.bench_diffusion",
    "fastpaths": "benchmarks.bench_fastpaths",
    "image_format": "benchmarks.bench_image_format",
    "offline": "benchmarks.bench_offline",
    "explain": "benchmarks.bench_explain",
    "training": "benchmarks.bench_training",
    "ray": "benchmarks.bench_ray",
}

COLUMNS = [("measure", "measure"), ("app", "app"), ("baseline", "baseline"), ("compare", "app vs baseline"),
           ("goal", "goal"), ("verdict", "met?")]


def table(results: dict[str, Any]) -> str:
    lines = []
    widths = {key: len(title) for key, title in COLUMNS}
    body = []
    for name, result in results.items():
        rows = result.get("rows") or [{"measure": f"{name}: failed", "app": result.get("error", "?").splitlines()[-1]}]
        for r in rows:
            cells = {key: str(r.get(key, "") or "") for key, _ in COLUMNS}
            cells["measure"] = f"[{name}] {cells['measure']}" if not cells["measure"].startswith("  ") else cells["measure"]
            body.append(cells)
            for key in widths:
                widths[key] = max(widths[key], len(cells[key]))
    header = "| " + " | ".join(title.ljust(widths[key]) for key, title in COLUMNS) + " |"
    lines.append(header)
    lines.append("|" + "|".join("-" * (widths[key] + 2) for key, _ in COLUMNS) + "|")
    for cells in body:
        lines.append("| " + " | ".join(cells[key].ljust(widths[key]) for key, _ in COLUMNS) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and shorter rounds (under 2 minutes)")
    parser.add_argument("--only", nargs="+", metavar="NAME", choices=list(BENCHMARKS),
                        help=f"run only these: {', '.join(BENCHMARKS)}")
    parser.add_argument("--default-spin", action="store_true",
                        help="leave libgomp's default spin-wait (the benchmarks use GOMP_SPINCOUNT=1000)")
    parser.add_argument("--out", default=None, help="where to write the JSON (default benchmarks/results/latest.json)")
    args = parser.parse_args(argv)
    if args.default_spin:
        os.environ["BENCH_DEFAULT_SPIN"] = "1"
    from . import common  # sets the environment before anything imports torch
    from .context import Context

    names = args.only or list(BENCHMARKS)
    info = common.machine()
    print(f"Machine: {info['nproc']} CPUs ({info['cpu_model']}), GPU: {info['gpu']}; Python {info['python']}; "
          + ", ".join(f"{k} {v}" for k, v in info["versions"].items()))
    print(f"Load average at start: {info['load_average']}; mode: {'quick' if args.quick else 'full'}; "
          f"GOMP_SPINCOUNT={os.environ.get('GOMP_SPINCOUNT', 'default')}", flush=True)
    ctx = Context(quick=args.quick)
    results: dict[str, Any] = {}
    started = time.perf_counter()
    try:
        for name in names:
            print(f"\n== {name} (load average {common.load_average()})", flush=True)
            t = time.perf_counter()
            load_before = common.load_average()
            try:
                result = importlib.import_module(BENCHMARKS[name]).run(ctx)
            except Exception as e:  # noqa: BLE001 - one failure must not lose the others' results
                result = {"rows": [], "error": "".join(traceback.format_exception(e))}
                print(result["error"], file=sys.stderr, flush=True)
            result.update(seconds=round(time.perf_counter() - t, 1), load_average_before=load_before,
                          load_average_after=common.load_average(),
                          server_rss_mb={n: round(s.rss_mb(), 1) for n, s in ctx.servers.items()})
            results[name] = result
            for r in result["rows"]:
                print(f"  {r['measure']}: {r['app']} | {r['baseline']} | {r['compare']}"
                      + (f" | goal {r['goal']}: {r['verdict']}" if r.get("goal") else ""), flush=True)
            print(f"  ({result['seconds']} s, load average {result['load_average_after']})", flush=True)
    finally:
        ctx.close()
    total = time.perf_counter() - started
    info["load_average_end"] = common.load_average()
    print("\n" + table(results))
    print(f"\nTotal {total:.0f} s; load average at start {info['load_average']}, at end {info['load_average_end']} "
          f"(1, 5, 15 min; {info['nproc']} CPUs).")
    out = args.out or str(common.RESULTS / "latest.json")
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"machine": info, "mode": "quick" if args.quick else "full", "total_seconds": round(total, 1),
                   "gomp_spincount": os.environ.get("GOMP_SPINCOUNT", "default"), "benchmarks": results},
                  f, indent=1, default=str)
    print(f"Wrote {out}")
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
