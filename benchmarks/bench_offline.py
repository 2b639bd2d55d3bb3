"""10. Offline: what a click costs when the server cannot reach the Hugging Face Hub, with the
availability check (models/availability.py, hooked into ModelManager._load) against a manager without it.

1. A second click on a Hub id that is not in the cache: the app has remembered the first click's
   failed reach and fails at once; the baseline retries the Hub (huggingface_hub's five retries,
   1+2+4+8+8 s of waits) on every click.
2. A load of a model that is in the cache (the tiny sentiment model, copied into a temporary
   Hugging Face cache as models--own--tiny-sentiment/snapshots/<commit>, refs/main): the app, its
   check having found the Hub out of reach, loads with the Hub switched off; the baseline retries each
   request transformers makes (two listings of the repo, four optional tokenizer files the snapshot
   lacks) before it falls back to the cache.

The Hub is made unreachable without any network: huggingface_hub.constants.ENDPOINT and the file
URL template made from it point at a 127.0.0.1 port nobody listens on (every connection is refused at
once; huggingface_hub may be imported already, so setting HF_ENDPOINT would come too late),
HF_HUB_OFFLINE is switched off (benchmarks/common.py turns it on for the other benchmarks) and
HF_HUB_CACHE is a temporary folder; all are put back afterwards. huggingface_hub's retry waits are real (counted too, and
shown), so a baseline run takes 25 s (row 1) or over 2 minutes (row 2): row 2's baseline runs once,
row 1's three times (once with --quick). Imports are warmed up first by a load from a local folder.
"""
from __future__ import annotations

import contextlib
import logging
import os
import shutil
import socket
import time
import types
from pathlib import Path
from typing import Any, Callable, Iterator

from . import common
from .context import Context, row

COMMIT = "0123456789abcdef0123456789abcdef01234567"


@contextlib.contextmanager
def hub_out_of_reach(cache: Path, waits: list[float]) -> Iterator[None]:
    """The Hub at a closed local port, the HF cache at `cache`, retry waits slept and recorded."""
    from huggingface_hub import constants
    from huggingface_hub.utils import _http

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    counting = types.SimpleNamespace(**{n: getattr(time, n) for n in dir(time) if not n.startswith("_")})
    counting.sleep = sleep
    saved = (constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE, constants.HF_HUB_OFFLINE, constants.HF_HUB_CACHE,
             _http.time, os.environ.get("HF_HUB_OFFLINE"), os.environ.get("TRANSFORMERS_OFFLINE"))
    loggers = {name: logging.getLogger(name).level for name in ("huggingface_hub", "transformers", "playground")}
    constants.ENDPOINT = f"http://127.0.0.1:{port}"
    # File URLs come from this template, built from HF_ENDPOINT at import: without it they go to huggingface.co.
    constants.HUGGINGFACE_CO_URL_TEMPLATE = constants.ENDPOINT + "/{repo_id}/resolve/{revision}/{filename}"
    constants.HF_HUB_OFFLINE, constants.HF_HUB_CACHE = False, str(cache)
    _http.time = counting
    os.environ["HF_HUB_OFFLINE"] = os.environ["TRANSFORMERS_OFFLINE"] = "0"
    for name in loggers:  # every retry and every failed load logs a warning
        logging.getLogger(name).setLevel(logging.ERROR)
    try:
        yield
    finally:
        (constants.ENDPOINT, constants.HUGGINGFACE_CO_URL_TEMPLATE, constants.HF_HUB_OFFLINE, constants.HF_HUB_CACHE,
         _http.time) = saved[:5]
        for key, value in zip(("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"), saved[5:]):
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        for name, level in loggers.items():
            logging.getLogger(name).setLevel(level)


def seconds_to_fail(fn: Callable[[], Any]) -> float:
    from models.errors import ModelNotFound

    start = time.perf_counter()
    try:
        fn()
    except ModelNotFound:
        return time.perf_counter() - start
    raise AssertionError("the load did not fail with ModelNotFound")


def run(ctx: Context) -> dict[str, Any]:
    from models.availability import Availability
    from models.catalog import parse_catalog
    from models.manager import ModelManager

    tiny = common.tiny("sentiment")
    cache = ctx.workdir / "offline-hub-cache"
    snapshot = cache / "models--own--tiny-sentiment" / "snapshots" / COMMIT
    shutil.copytree(tiny, snapshot, ignore=shutil.ignore_patterns(".complete", "heldout.json"))
    (snapshot.parent.parent / "refs").mkdir()
    (snapshot.parent.parent / "refs" / "main").write_text(COMMIT)
    catalog = parse_catalog({"sentiment": ["own/tiny-sentiment", "own/remote", tiny]})
    ModelManager(catalog, device="cpu").get("sentiment", tiny)  # imports, outside every timing

    n_app, n_base = (5, 1) if ctx.quick else (15, 3)
    waits: list[float] = []
    with hub_out_of_reach(cache, waits):
        # 1. Second click on an uncached id.
        availability = Availability(catalog)  # not checked: the first click finds out, as the test does
        app = ModelManager(catalog, device="cpu", availability=availability)
        first = seconds_to_fail(lambda: app.get("sentiment", "own/remote"))
        app_clicks = [seconds_to_fail(lambda: app.get("sentiment", "own/remote")) for _ in range(n_app)]
        waits.clear()
        base_clicks = [seconds_to_fail(lambda: ModelManager(catalog, device="cpu").get("sentiment", "own/remote"))
                       for _ in range(n_base)]
        click_waits = sum(waits) / n_base
        # 2. Load of a cached model; the app's availability is checked as at startup (one refused request).
        checked = Availability(catalog)
        checked.check()
        assert checked.offline() and checked.of("sentiment", "own/tiny-sentiment").ready()
        app_loads = [common.timed(lambda: ModelManager(catalog, device="cpu", availability=checked)
                                  .get("sentiment", "own/tiny-sentiment"))() for _ in range(n_app)]
        waits.clear()
        base_load = common.timed(lambda: ModelManager(catalog, device="cpu").get("sentiment", "own/tiny-sentiment"))()
        load_waits = list(waits)

    app_ms, base_s = common.median(app_clicks) * 1000, common.median(base_clicks)
    load_ms, load_base = common.median(app_loads) * 1000, base_load
    runs = f"{n_base} run{'s' if n_base > 1 else ''}"
    rows = [
        row("second click on an uncached Hub id, Hub out of reach", f"{app_ms:.2f} ms",
            f"{base_s:.1f} s ({click_waits:.0f} s of retry waits; {runs})", f"-{base_s:.1f} s a click",
            app_ms=app_ms, baseline_s=base_clicks, app_s=app_clicks, baseline_retry_wait_s=click_waits),
        row("  the app's first click, before any check (1 run)", f"{first:.1f} s", f"{base_s:.1f} s",
            "the same (app.py checks at startup)", app_first_click_s=first),
        row("load of a cached model (tiny sentiment), Hub out of reach", f"{load_ms:.0f} ms",
            f"{load_base:.1f} s (1 run: {len(load_waits)} retries, {sum(load_waits):.0f} s of waits)",
            f"-{load_base:.1f} s", app_s=app_loads, baseline_s=load_base, baseline_retries=len(load_waits),
            baseline_retry_wait_s=sum(load_waits)),
    ]
    return {"rows": rows}
