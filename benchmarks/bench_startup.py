"""1. Startup: `python app.py --config <tiny models>` until the page answers HTTP 200, against a bare
Gradio app with the same number of tabs; and whether torch was imported before the page answered."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import Any

from . import common
from .context import Context, row

HEAVY = ("torch", "transformers", "diffusers", "open_clip", "timm")

IMPORT_CHECK = """
import json, sys
import app, components
from models import ModelManager, load_catalog
from components import Settings, build_demo
catalog = load_catalog(sys.argv[1])
demo = build_demo(catalog, ModelManager(catalog), Settings())
print(json.dumps({m: m in sys.modules for m in %r}))
""" % (HEAVY,)


def tiny_catalog() -> dict[str, Any]:
    return {
        "text-generation": [{"id": common.tiny("chat-gpt2"), "label": "tiny chat"},
                            {"id": common.tiny("gpt2"), "label": "tiny gpt2"}],
        "sentiment": [{"id": common.tiny("sentiment")}],
        "ner": [{"id": common.tiny("ner")}],
        "question-answering": [{"id": common.tiny("qa")}],
        "image-classification": [{"id": common.tiny("vit")}],
        "clip": [{"id": common.tiny("clip")}],
        "text-to-image": [{"id": common.tiny("diffusion")}],
    }


def time_to_200(cmd: list[str], port: int) -> float:
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=common.ROOT, env=common.bench_env(), stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        common.wait_http_200(f"http://127.0.0.1:{port}/", 120, proc, interval=0.02)
        return time.perf_counter() - start
    finally:
        common.stop_process(proc)


def time_to_exit(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=common.ROOT, env=common.bench_env(), stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL, timeout=120, check=True)
    return time.perf_counter() - start


def run(ctx: Context) -> dict[str, Any]:
    config = common.write_catalog(tiny_catalog(), ctx.workdir)
    n = 3 if ctx.quick else 5
    py = sys.executable

    def app() -> float:
        port = common.free_port()
        return time_to_200([py, "app.py", "--config", str(config), "--port", str(port)], port)

    def bare() -> float:
        port = common.free_port()
        return time_to_200([py, "benchmarks/bare_app.py", "--port", str(port)], port)

    variants = {"app": app, "bare": bare}
    if not ctx.quick:
        variants["import_gradio"] = lambda: time_to_exit([py, "-c", "import gradio"])
    times = common.interleaved(n, variants, warmup=0)

    # Was torch imported? (a) importing app and components and building the whole UI;
    check = subprocess.run([py, "-c", IMPORT_CHECK, str(config)], cwd=common.ROOT, env=common.bench_env(),
                           capture_output=True, text=True, timeout=120)
    built = json.loads(check.stdout.strip().splitlines()[-1]) if check.returncode == 0 else {"error": check.stderr[-500:]}
    # (b) inside the running server, at the moment its page first answers.
    served = served_modules(ctx, config)

    app_s, bare_s = common.median(times["app"]), common.median(times["bare"])
    rows = [
        row("startup to HTTP 200 (s), 8 tabs", common.fmt(app_s, "s"), common.fmt(bare_s, "s") + " bare Gradio",
            f"+{common.fmt(app_s - bare_s, 's')} (x{common.ratio(app_s, bare_s):.2f})",
            app_s=app_s, bare_s=bare_s, runs=n),
    ]
    if "import_gradio" in times:
        rows.append(row("  of which `import gradio` alone (s)", common.fmt(common.median(times["import_gradio"]), "s"),
                        import_gradio_s=common.median(times["import_gradio"])))
    torch_before = bool(built.get("torch")) or bool(served.get("torch"))
    rows.append(row("torch imported before the page answered", "yes" if torch_before else "no",
                    goal="no", verdict="MISSED" if torch_before else "met",
                    after_build_demo=built, when_page_answered=served))
    return {"rows": rows, "raw": {"times": times, "after_build_demo": built, "when_page_answered": served}}


def served_modules(ctx: Context, config: Any) -> dict[str, Any]:
    port = common.free_port()
    log = ctx.workdir / f"modules-{port}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks.serve", "--report-modules", "--", "--config",
                                 str(config), "--port", str(port)], cwd=common.ROOT, env=common.bench_env(),
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        common.wait_http_200(f"http://127.0.0.1:{port}/", 120, proc, interval=0.02)
        for _ in range(100):
            for line in log.read_text(errors="replace").splitlines():
                if line.startswith("MODULES "):
                    return json.loads(line[len("MODULES "):])
            time.sleep(0.1)
        return {"error": "no MODULES line"}
    finally:
        common.stop_process(proc)
