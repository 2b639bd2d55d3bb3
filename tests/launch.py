"""Launch the real app in-process on a free port, for the API and browser tests.

    app = launch_app(catalog_data)      # url, demo, manager
    ...
    app.close()

It launches as app.py does (app.start: the shared options, the /v1 API, the login); `allow_custom=False` is --hosted,
`auth` is --auth, `api_keys` is --api-key.

Also a small fault injection that the streaming tests need: `slow_down(pipeline, seconds)` makes
every forward pass of a loaded model take at least that long, so a generation lasts long enough
to be watched, stopped or cancelled in the middle (the tiny GPT-2s make 250 tokens in 0.3 s);
`slow_load(adapter, model_id, seconds)` makes a load last long enough to watch it.
`tokenizer_paused` holds a tokenizer call open between setting its padding and truncation and
encoding, where a concurrent call with other settings would rewrite them.

And for the robustness tests: `call_raw` / `upload_raw` post raw JSON to an endpoint (NaN, lone
surrogates: what gradio_client cannot send), and `assert_plain_sentence` checks an error message.

Shared by several test modules: `tiny_catalog` (a catalog in the YAML shape on the tiny models),
`running_app` (launch_app as a context manager, for module fixtures), `slow_chat_copy` (a copy of
the tiny chat model to slow down), and `generate_threads` / `wait_until` for the streaming tests.
"""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

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
            try:
                self.manager.unload_all()
            finally:
                if hasattr(self.manager, "close"):
                    self.manager.close()  # --backend ray: the local Ray instance stops with the app


def launch_app(catalog_data: dict, *, max_loaded: int = 10, max_batch_size: int = 16,
               settings: Any = None, timeout: float = 30.0, allow_custom: bool | None = None,
               auth: list[tuple[str, str]] | None = None, api_keys: Iterable[str] | None = None,
               backend: str = "in-process", serving: dict | None = None) -> LaunchedApp:
    """Build the app exactly as app.py does, from a catalog in the YAML shape, and serve it on
    127.0.0.1 at a free port; returns once the page answers HTTP 200.

    allow_custom=False is hosted mode (only catalog models; the default follows settings);
    auth is app.py's --auth, as (user, password) pairs; api_keys its --api-key (default: the settings').
    backend="ray" serves the models from Ray Serve on a local Ray instance (app.py --backend ray), each
    family as `serving` says (the catalog file's serving: section), stopped when the app is closed.
    """
    from app import start
    from components import Settings, build_demo
    from models import Availability, ModelManager, parse_catalog

    catalog = parse_catalog(catalog_data, source="tests")
    # fine-tuned models go to a folder of this app's own (never the user's cache)
    settings = settings or Settings(examples_dir=str(ASSETS), data_dir=tempfile.mkdtemp(prefix="playground-data-"))
    if allow_custom is None:
        allow_custom = settings.allow_custom_models
    settings.allow_custom_models = allow_custom
    if api_keys is not None:
        settings.api_keys = tuple(api_keys)
    availability = Availability(catalog)
    if backend == "ray":
        from models.cluster import ClusterManager, parse_serving

        manager: Any = ClusterManager(catalog, serving=parse_serving(serving, max_batch_size=max_batch_size),
                                      allow_custom=allow_custom, local_cpus=4)
        manager.start()
    else:
        manager = ModelManager(catalog, max_loaded=max_loaded, max_batch_size=max_batch_size,
                               allow_custom=allow_custom, availability=availability)
    demo = build_demo(catalog, manager, settings, availability)
    availability.check()  # tests run with HF_HUB_OFFLINE=1: no request, the folders' states at once
    port = free_port()
    start(demo, settings, auth, server_name="127.0.0.1", server_port=port, quiet=True)
    url = f"http://127.0.0.1:{port}/"
    wait_http_200(url, timeout)
    return LaunchedApp(url=url, demo=demo, manager=manager)


@contextlib.contextmanager
def running_app(catalog_data: dict, **options: Any) -> Iterator[LaunchedApp]:
    """launch_app(catalog_data, **options) for the block; closed after it, whatever happens."""
    launched = launch_app(catalog_data, **options)
    try:
        yield launched
    finally:
        launched.close()


# (task, tiny model's name in tests/conftest.py BUILDERS, label): every task on the tiny models.
TINY_CATALOG = (
    ("text-generation", "chat-gpt2", "tiny chat"),
    ("text-generation", "gpt2", "tiny gpt2"),
    ("sentiment", "sentiment", "tiny sentiment"),
    ("ner", "ner", "tiny ner"),
    ("question-answering", "qa", "tiny qa"),
    ("fill-mask", "fill-mask", "tiny fill-mask"),
    ("zero-shot-classification", "nli", "tiny nli"),
    ("image-classification", "vit", "tiny vit"),
    ("clip", "clip", "tiny clip"),
    ("text-to-image", "diffusion", "tiny diffusion"),
)


def tiny_catalog(models: Any, tasks: Iterable[str] | None = None) -> dict:
    """The YAML shape of a catalog whose tasks point at the tiny models: `models` maps a tiny model's
    name to its folder (the tiny_models fixture, or a dict of its folders); `tasks` keeps only those
    tasks (default: every task). Only the models of the tasks kept are looked up."""
    wanted = None if tasks is None else set(tasks)
    data: dict[str, list[dict[str, str]]] = {}
    for task, name, label in TINY_CATALOG:
        if tasks is None and isinstance(models, dict) and name not in models:
            continue  # a dict of some folders, for every task: the tasks of the others are left out
        if wanted is None or task in wanted:
            data.setdefault(task, []).append({"id": models[name], "label": label})
    return data


def slow_chat_copy(tiny_models: Any, tmp_path_factory: Any) -> str:
    """A copy of the tiny chat model in a folder of its own: another model id, loaded apart from the
    original, so it can be slowed down (slow_down) while the original stays fast."""
    slow = tmp_path_factory.mktemp("slow") / "slow-chat"
    shutil.copytree(tiny_models["chat-gpt2"], slow)
    return str(slow)


def wait_http_200(url: str, timeout: float = 30.0, proc: Any = None, interval: float = 0.05) -> float:
    """Poll url until it answers 200; returns the seconds waited. With proc (a subprocess.Popen),
    fails as soon as that process exits. Also used by the benchmarks."""
    start = time.perf_counter()
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return time.perf_counter() - start
        except OSError:
            pass
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"the server exited with {proc.returncode} before answering {url}")
        if time.perf_counter() - start > timeout:
            raise TimeoutError(f"{url} did not answer 200 within {timeout:.0f} s")
        time.sleep(interval)


def slow_down(pipeline: Any, seconds: float) -> Any:
    """Make each forward pass of a loaded pipeline's model sleep first; returns the hook handle
    (handle.remove() undoes it). The hook lives on the loaded weights: a reload drops it."""
    def pause(module: Any, args: Any) -> None:
        time.sleep(seconds)
    return pipeline.model.register_forward_pre_hook(pause)


def slowed(pipeline: Any, seconds: float) -> None:
    """slow_down as a function of the pipeline alone, for a model on a Ray Serve replica
    (manager.run(task, model, slowed, seconds)); a reload undoes it."""
    slow_down(pipeline, seconds)


@contextlib.contextmanager
def slow_load(adapter: type, model_id: str, seconds: float) -> Iterator[None]:
    """While open, loading `model_id` with the adapter class takes `seconds` longer: it says it is
    "reading the weights" (as a load of real weights from disk does), then sleeps, then loads."""
    original = adapter._load

    def slowed(self: Any, device: str, dtype: Any) -> Any:
        if self.spec.model_id == model_id:
            self.report("reading the weights")
            time.sleep(seconds)
        return original(self, device, dtype)

    adapter._load = slowed
    try:
        yield
    finally:
        adapter._load = original


@contextlib.contextmanager
def tokenizer_paused(tokenizer: Any, thread_name: str, seconds: float = 0.5) -> Iterator[threading.Event]:
    """While open, the first call of `tokenizer` in the thread named `thread_name` that truncates
    or pads to a max_length sleeps `seconds` after setting that on the tokenizer and before it
    encodes; the event yielded is set when the pause begins."""
    original = tokenizer.set_truncation_and_padding
    paused = threading.Event()

    def set_then_pause(*args: Any, **kwargs: Any) -> Any:
        result = original(*args, **kwargs)
        max_length = kwargs.get("max_length", args[2] if len(args) > 2 else None)
        if threading.current_thread().name == thread_name and max_length is not None and not paused.is_set():
            paused.set()
            time.sleep(seconds)
        return result

    tokenizer.set_truncation_and_padding = set_then_pause
    try:
        yield paused
    finally:
        del tokenizer.set_truncation_and_padding


def generate_threads() -> list[threading.Thread]:
    """The app's generation threads (named "generate") still running."""
    return [t for t in threading.enumerate() if t.name == "generate" and t.is_alive()]


def wait_until(condition: Callable[[], Any], timeout: float, interval: float = 0.05) -> bool:
    """Poll condition() every `interval` seconds until it is true or `timeout` seconds have passed;
    returns whether it became true (it is asked once more at the end)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


# -- calling the HTTP API without gradio_client ---------------------------------------------------
# gradio_client cannot send what JSON from another program can: NaN, Infinity, lone surrogates
# ("\ud800"), or a list where a number belongs. These helpers post such payloads as raw JSON.

def upload_raw(url: str, path: str | Path, timeout: float = 30.0) -> dict:
    """Upload a file as the browser does; returns the FileData dict an endpoint takes."""
    import httpx

    with open(path, "rb") as f:
        response = httpx.post(url + "gradio_api/upload", files={"files": (Path(path).name, f)}, timeout=timeout)
    response.raise_for_status()
    return {"path": response.json()[0], "meta": {"_type": "gradio.FileData"}}


def call_raw(url: str, api_name: str, data: list, timeout: float = 60.0) -> tuple[str, Any]:
    """POST /gradio_api/call/<api_name> with `data` as raw JSON (json.dumps: NaN stays NaN, a lone
    surrogate is escaped), then read its event stream: ("complete", outputs) or ("error", message)."""
    import json

    import httpx

    body = json.dumps({"data": data})  # allow_nan and ensure_ascii: what httpx's encoder refuses
    with httpx.Client(timeout=timeout) as http:
        response = http.post(f"{url}gradio_api/call/{api_name.lstrip('/')}", content=body,
                             headers={"content-type": "application/json"})
        response.raise_for_status()
        event_id = response.json()["event_id"]
        kind, payload = None, None
        with http.stream("GET", f"{url}gradio_api/call/{api_name.lstrip('/')}/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event:"):
                    kind = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and kind in ("complete", "error"):
                    payload = json.loads(line.split(":", 1)[1])
                    break
    if kind == "error":
        return "error", (payload or {}).get("error") if isinstance(payload, dict) else payload
    return kind or "none", payload


# Gradio's own refusals, which come before the app's handlers see a value: acceptable as they are.
GRADIO_MESSAGES = (
    re.compile(r"^Value .+ is (less|greater) than (minimum|maximum) value .+\.$"),
    re.compile(r"^Invalid file type\. Please upload a file that is one of these formats: \[.*\]$"),
    re.compile(r"^Value: .+ is not in the list of choices: \[.*\]$"),  # a dropdown without custom values
)


def assert_plain_sentence(message: Any) -> None:
    """One plain sentence that says what to change: one line, short, no traceback, no repr of an
    exception, no path inside Gradio's temporary folder."""
    assert isinstance(message, str) and message, f"no message: {message!r}"
    assert message == message.strip(), repr(message)
    assert "\n" not in message and "\r" not in message, f"more than one line: {message!r}"
    assert len(message) < 300, f"too long to be one sentence ({len(message)} characters): {message[:200]!r}…"
    assert "Traceback" not in message and "Error(" not in message, f"a traceback or repr leaked: {message!r}"
    assert not re.search(r"\b\w+(Error|Exception)\b:", message), f"an exception name leaked: {message!r}"
    assert "upstream Gradio app has raised an exception" not in message, f"Gradio's catch-all: {message!r}"
    for temp in gradio_temp_dirs():
        assert temp not in message, f"a Gradio temp path leaked: {message!r}"
    if not any(p.match(message) for p in GRADIO_MESSAGES):
        assert message[-1] in ".!?", f"not a sentence: {message!r}"


def gradio_temp_dirs() -> list[str]:
    import tempfile

    dirs = [str(Path(tempfile.gettempdir()) / "gradio")]
    if os.environ.get("GRADIO_TEMP_DIR"):
        dirs.append(os.environ["GRADIO_TEMP_DIR"])
    return dirs
