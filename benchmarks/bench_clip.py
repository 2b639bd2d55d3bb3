"""6. CLIP search: the first query on a 64-image set (every image encoded) against a repeat query
(embeddings cached), through the app's adapter (models/clip.py, loaded by its ModelManager), with
the tiny test CLIP and with open_clip's ViT-B-32 built with random weights (same compute as the
real one). Each round clears the caches first. A repeat reads and hashes each file's bytes (files
seen before are not decoded again); decoding and hashing the pixels, as repeats did before, is
measured beside it."""
from __future__ import annotations

import time
from typing import Any

from . import common, models
from .context import Context, row

GOAL = 10.0  # a repeat query at least 10x faster than the first


def run(ctx: Context) -> dict[str, Any]:
    from models import ModelManager, parse_catalog
    from models.clip import pixel_hash, read_file
    from models.images import open_image

    images = models.gallery()
    cases = [("tiny clip", common.tiny("clip"), 3 if ctx.quick else 5)]
    try:
        cases.append(("ViT-B-32 (random weights)", models.clip_vitb32(), 1 if ctx.quick else 3))
    except Exception as e:  # noqa: BLE001 - open_clip missing or the build failed: report it, go on
        cases.append(("ViT-B-32 (random weights)", None, f"not built: {type(e).__name__}: {e}"))
    catalog = parse_catalog({"clip": [{"id": path} for _, path, _ in cases if path]})
    manager = ModelManager(catalog, device="cpu", max_loaded=1, max_batch_size=1)
    rows, raw = [], {}
    for label, path, rounds in cases:
        if path is None:
            rows.append(row(f"CLIP search, 64 images, {label}", "-", "-", "-", goal=f">= x{GOAL:.0f}",
                            verdict="not measured", note=rounds))
            continue
        t = time.perf_counter()
        pipeline = manager.get("clip", path)
        load_s = time.perf_counter() - t
        pipeline.search("warm up", images[:2])
        runs: dict[str, list[float]] = {"first": [], "same_query": [], "new_query": [], "decode_hash": [],
                                        "file_hash": []}
        for r in range(rounds):
            pipeline.clear_caches()
            for key, fn in (("first", lambda: pipeline.search("a red picture", images, top_k=8)),
                            ("same_query", lambda: pipeline.search("a red picture", images, top_k=8)),
                            ("new_query", lambda: pipeline.search(f"something blue {r}", images, top_k=8)),
                            ("decode_hash", lambda: [pixel_hash(open_image(p)) for p in images]),
                            ("file_hash", lambda: [read_file(p)[0] for p in images])):
                t = time.perf_counter()
                fn()
                runs[key].append(time.perf_counter() - t)
        med = {k: common.median(v) for k, v in runs.items()}
        raw[label] = {"seconds": runs, "median_s": med, "load_seconds": load_s, "rounds": rounds,
                      "image_encodes": pipeline.image_encodes}
        speedup = med["first"] / med["same_query"]
        rows.append(row(f"CLIP search, 64 images, {label}: first vs repeat query (ms)",
                        common.fmt(common.ms(med["same_query"]), "ms") + " repeat",
                        common.fmt(common.ms(med["first"]), "ms") + " first", f"x{speedup:.1f} faster",
                        goal=f">= x{GOAL:.0f}", verdict="met" if speedup >= GOAL else "MISSED",
                        first_ms=common.ms(med["first"]), repeat_ms=common.ms(med["same_query"]), ratio=speedup))
        rows.append(row("  new query on cached images (ms)", common.fmt(common.ms(med["new_query"]), "ms"),
                        new_query_ms=common.ms(med["new_query"])))
        rows.append(row("  a repeat's key: hashing 64 files' bytes (now) vs decoding + hashing their pixels (before) (ms)",
                        common.fmt(common.ms(med["file_hash"]), "ms") + " file bytes",
                        common.fmt(common.ms(med["decode_hash"]), "ms") + " decode+hash",
                        decode_hash_ms=common.ms(med["decode_hash"]), file_hash_ms=common.ms(med["file_hash"])))
        manager.unload_all()
    return {"rows": rows, "raw": raw}
