"""5. Model switching: the first load of a model, a reload after eviction (page cache warm), and the
process's RSS across switches among three models under a cap of two (ModelManager(max_loaded=2)).

Runs in a fresh process (python -m benchmarks.bench_switching ...), so RSS starts clean. Models:
bert-4x256 (sentiment), gpt2-6x256 (text generation) and efficientnet_lite0 (image classification;
the tiny ViT when ../shared is absent). Cycling A, B, C, A, ... under a cap of two makes every
switch a load and an eviction. Each switch also runs one small request on the model, so its
activations are allocated too.

As shipped, an eviction on CPU frees the model by reference counting alone (no gc.collect()).
`--release collect` makes every eviction run gc.collect() too, as the app did before (patched
from outside), to show what the collection costs a switch and that memory comes back without it;
`--release trim` adds glibc's malloc_trim(0) after the release.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from . import common
from .context import Context, row

GOAL = 1.10  # RSS after 50 switches within 10% of RSS after 5


def evict_from_page_cache(folder: str) -> None:
    import os

    for path in Path(folder).rglob("*"):
        if path.is_file():
            try:
                fd = os.open(path, os.O_RDONLY)
            except OSError:
                continue
            try:
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            except OSError:
                pass
            finally:
                os.close(fd)


def child(switches: int, release: str) -> dict[str, Any]:
    import psutil

    from . import models

    me = psutil.Process()
    rss = lambda: me.memory_info().rss / 2**20  # noqa: E731
    rss_start = rss()
    start = time.perf_counter()
    import torch  # noqa: F401
    import transformers  # noqa: F401
    import_seconds = time.perf_counter() - start
    from models import ModelManager, parse_catalog

    import models.manager as manager_module

    if release == "collect":
        shipped_release = manager_module.release_memory
        manager_module.release_memory = lambda collect=True: shipped_release(collect=True)
    elif release == "trim":
        import ctypes

        libc = ctypes.CDLL("libc.so.6")
        shipped = manager_module.release_memory

        def release_and_trim(collect: bool = True) -> None:
            shipped(collect)
            libc.malloc_trim(0)
        manager_module.release_memory = release_and_trim

    image = common.efficientnet() or common.tiny("vit")
    entries = [("sentiment", models.bert(), "bert-4x256"), ("text-generation", models.gpt2(), "gpt2-6x256"),
               ("image-classification", image, "efficientnet_lite0" if common.efficientnet() else "tiny vit")]
    catalog = parse_catalog({task: [{"id": path, "label": label}] for task, path, label in entries})
    manager = ModelManager(catalog, device="cpu", max_loaded=2, max_batch_size=1)

    def use(task: str, path: str) -> None:
        pipeline = manager.get(task, path)
        if task == "sentiment":
            pipeline.predict("I love this film.")
        elif task == "text-generation":
            pipeline.predict("Once upon a time", max_new_tokens=8, do_sample=False, repetition_penalty=1.0)
        else:
            pipeline.predict(str(common.CAT_JPG), top_k=5)

    for _, path, _ in entries:
        evict_from_page_cache(path)
    rss_imported = rss()
    first: dict[str, float] = {}
    for task, path, label in entries:  # first loads: files just dropped from the page cache
        t = time.perf_counter()
        manager.get(task, path)
        first[label] = time.perf_counter() - t
        use(task, path)
    reloads: dict[str, list[float]] = {label: [] for _, _, label in entries}
    rss_after: list[float] = []
    loads_before = manager.load_count
    for i in range(switches):
        task, path, label = entries[i % 3]  # A, B, C loaded; A evicted: asking for A again is a switch
        t = time.perf_counter()
        manager.get(task, path)
        reloads[label].append(time.perf_counter() - t)
        use(task, path)
        rss_after.append(rss())
    import gc

    gc_seconds = []
    for _ in range(3):  # what release_memory's gc.collect() costs in this process, once per eviction
        t = time.perf_counter()
        gc.collect()
        gc_seconds.append(time.perf_counter() - t)
    return {"import_seconds": import_seconds, "gc_collect_seconds": sorted(gc_seconds)[1],
            "rss_start_mb": rss_start, "rss_after_imports_mb": rss_imported,
            "first_load_seconds": first, "reload_seconds": reloads, "rss_after_switch_mb": rss_after,
            "loads_during_switches": manager.load_count - loads_before, "release": release,
            "switches": switches}


def run(ctx: Context) -> dict[str, Any]:
    switches = 12 if ctx.quick else 50
    variants = ["shipped"] if ctx.quick else ["shipped", "collect"]
    out: dict[str, Any] = {}
    for release in variants:
        cmd = [sys.executable, "-m", "benchmarks.bench_switching", "--child", "--switches", str(switches),
               "--release", release]
        proc = subprocess.run(cmd, cwd=common.ROOT, env=common.bench_env(), capture_output=True, text=True,
                              timeout=600)
        lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
        if proc.returncode != 0 or not lines:
            raise RuntimeError(f"switching child failed ({proc.returncode}): {proc.stderr[-2000:]}")
        out[release] = json.loads(lines[-1][len("RESULT "):])
    rows = []
    r = out["shipped"]
    for label, first in r["first_load_seconds"].items():
        again = common.median(r["reload_seconds"][label])
        rows.append(row(f"load {label}: first (page cache dropped, code imported) vs reload after eviction (s)",
                        common.fmt(first, "s") + " first", common.fmt(again, "s") + " reload",
                        f"x{first / again:.1f}" if again else "-", first_s=first, reload_s=again))
    rows.append(row("  one gc.collect() in this process, which each eviction cost before (s)",
                    common.fmt(r["gc_collect_seconds"], "s"),
                    gc_collect_seconds=r["gc_collect_seconds"]))
    rows.append(row("  import torch + transformers, once per process (s)", common.fmt(r["import_seconds"], "s"),
                    import_seconds=r["import_seconds"]))
    for name, res in out.items():
        series = res["rss_after_switch_mb"]
        at5, last = series[4], series[-1]
        growth = last / at5
        title = {"shipped": "as shipped", "collect": "gc.collect() at each eviction, as before",
                 "trim": "with malloc_trim(0)"}[name]
        rows.append(row(f"RSS after 5 vs {len(series)} switches, cap 2 of 3 models ({title})",
                        f"{common.fmt(last, 'MB')} after {len(series)}", f"{common.fmt(at5, 'MB')} after 5",
                        f"x{growth:.3f}", goal=f"<= x{GOAL:.2f}" if name == "shipped" else "",
                        verdict=("met" if growth <= GOAL else "MISSED") if name == "shipped" else "",
                        rss5_mb=at5, rss_last_mb=last, ratio=growth, peak_mb=max(series)))
    if "collect" in out:
        slow = out["collect"]
        shipped_reload = common.median([x for v in r["reload_seconds"].values() for x in v])
        slow_reload = common.median([x for v in slow["reload_seconds"].values() for x in v])
        rows.append(row("switch (load + evict), median of all models: as shipped vs with gc.collect() (s)",
                        common.fmt(shipped_reload, "s") + " shipped", common.fmt(slow_reload, "s") + " with gc",
                        f"-{common.fmt(slow_reload - shipped_reload, 's')}", shipped_s=shipped_reload,
                        collect_s=slow_reload))
    return {"rows": rows, "raw": out}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", action="store_true")
    parser.add_argument("--switches", type=int, default=50)
    parser.add_argument("--release", choices=["shipped", "collect", "trim"], default="shipped")
    args = parser.parse_args()
    print("RESULT " + json.dumps(child(args.switches, args.release)), flush=True)


if __name__ == "__main__":
    main()
