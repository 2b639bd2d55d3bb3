"""Launch the real app in-process on a free port, for the API and browser tests.

    app = launch_app(catalog_data)      # url, demo, manager
    ...
    app.close()

Also a small fault injection that the streaming tests need: `slow_down(pipeline, seconds)` makes
every forward pass of a loaded model take at least that long, so a generation lasts long enough
to be watched, stopped or cancelled in the middle (the tiny GPT-2s make 250 tokens in 0.3 s).
"""
from __future__ import annotations

import os
import socket
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class LaunchedApp:
    url: str
    demo: Any
    manager: Any

    def close(self) -> None:
        try:
            self.demo.close()
        finally:
            self.manager.unload_all()


def launch_app(catalog_data: dict, *, max_loaded: int = 10, max_batch_size: int = 16,
               settings: Any = None, timeout: float = 30.0) -> LaunchedApp:
    """Build the app exactly as app.py does, from a catalog in the YAML shape, and serve it on
    127.0.0.1 at a free port; returns once the page answers HTTP 200."""
    from components import Settings, build_demo
    from models import ModelManager, parse_catalog

    catalog = parse_catalog(catalog_data, source="tests")
    manager = ModelManager(catalog, max_loaded=max_loaded, max_batch_size=max_batch_size)
    settings = settings or Settings(examples_dir=str(ASSETS))
    demo = build_demo(catalog, manager, settings)
    port = free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                max_file_size="20mb", allowed_paths=[os.path.abspath(settings.examples_dir)])
    url = f"http://127.0.0.1:{port}/"
    wait_http_200(url, timeout)
    return LaunchedApp(url=url, demo=demo, manager=manager)


def wait_http_200(url: str, timeout: float = 30.0) -> float:
    """Poll url until it answers 200; returns the seconds waited."""
    start = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")
        time.sleep(0.05)


def slow_down(pipeline: Any, seconds: float) -> Any:
    """Make each forward pass of a loaded pipeline's model sleep first; returns the hook handle
    (handle.remove() undoes it). The hook lives on the loaded weights: a reload drops it."""
    def pause(module: Any, args: Any) -> None:
        time.sleep(seconds)
    return pipeline.model.register_forward_pre_hook(pause)
