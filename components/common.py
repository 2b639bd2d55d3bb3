"""What every tab shares: the model picker, the error mapping, loading with progress, settings."""
from __future__ import annotations

import functools
import inspect
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

import gradio as gr

from models import Catalog, ModelManager, PlaygroundError

log = logging.getLogger("playground")

UNEXPECTED = "Something went wrong on the server while running this request; try again, or pick another model."


@dataclass
class Settings:
    """How the UI behaves; built by app.py from its flags."""

    allow_custom_models: bool = True
    concurrency_limit: int = 2        # unbatched model calls running at once (batched endpoints: event_options)
    hosted: bool = False
    examples_dir: str = "assets"
    zero_gpu: bool = False            # Hugging Face ZeroGPU: model calls run inside spaces.GPU
    gpu_device: str = "cuda"          # where ZeroGPU calls move their models


@dataclass
class StopSignals:
    """One stop flag per browser session (or API client) and task, so Stop ends only that user's run."""

    _events: dict[tuple[str, str], threading.Event] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, session: str, task: str) -> threading.Event:
        with self._lock:
            event = threading.Event()
            self._events[(session, task)] = event
            return event

    def stop(self, session: str, task: str) -> bool:
        with self._lock:
            event = self._events.get((session, task))
        if event is None:
            return False
        event.set()
        return True

    def finish(self, session: str, task: str, event: threading.Event) -> None:
        with self._lock:
            if self._events.get((session, task)) is event:
                del self._events[(session, task)]

    def running(self) -> int:
        with self._lock:
            return len(self._events)


@dataclass
class Context:
    """The dependencies each tab's handlers receive (no module globals)."""

    catalog: Catalog
    manager: ModelManager
    settings: Settings
    stops: StopSignals = field(default_factory=StopSignals)


def session_of(request: gr.Request | None) -> str:
    return (getattr(request, "session_hash", None) or "no-session") if request is not None else "no-session"


def to_user_error(error: BaseException) -> gr.Error:
    """One plain sentence for the user, whatever was raised; unexpected errors are logged."""
    if isinstance(error, gr.Error):
        return error
    if isinstance(error, PlaygroundError):
        return gr.Error(str(error), print_exception=False)
    log.exception("unexpected error in a handler", exc_info=error)
    return gr.Error(UNEXPECTED, print_exception=False)


def plain_errors(fn: Callable) -> Callable:
    """Wrap a handler (function or generator) so every failure reaches the user as gr.Error."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                yield from fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001
                raise to_user_error(e) from None
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            raise to_user_error(e) from None
    return wrapper


def model_picker(ctx: Context, task: str) -> gr.Dropdown:
    """The catalog's models for a task; free text too when custom models are allowed."""
    specs = ctx.catalog.models(task)
    choices = [(spec.name, spec.model_id) for spec in specs]
    custom = ctx.settings.allow_custom_models
    info = "Pick a model" + (", or type a Hub id (owner/name) or a local folder." if custom else ".")
    # allow_custom_value even when hosted: the manager then refuses a typed id with its own sentence,
    # instead of Gradio's "not in the list of choices: [...]" that lists every id
    return gr.Dropdown(choices=choices, value=ctx.catalog.default(task), label="Model", info=info,
                       allow_custom_value=True, filterable=True)


def loader(ctx: Context, task: str) -> Callable:
    """A handler that loads the picked model with a visible "Loading <model>…" (instant when loaded)."""
    @plain_errors
    def load_model(model: str | None, progress: gr.Progress = gr.Progress()) -> str:
        spec = ctx.manager.spec(task, model)
        if not ctx.manager.is_loaded(task, spec.model_id):
            if spec.needs_gpu and ctx.manager.device == "cpu" and not ctx.settings.zero_gpu:
                gr.Warning(f"{spec.name} is meant for a GPU; on this CPU it will be slow.")
            progress(0.1, desc=f"Loading {spec.name}…")
        ctx.manager.get(task, spec.model_id)
        entry = next((m for m in ctx.manager.loaded() if m["task"] == task and m["model"] == spec.model_id), None)
        if entry is None:
            return f"**{spec.name}** is ready."
        return (f"**{spec.name}** on {entry['device']} ({entry['dtype']}, {entry['parameters']:,} parameters, "
                f"loaded in {entry['load_seconds']:.1f} s)")
    return load_model


def event_options(ctx: Context, *, batched: bool = False) -> dict[str, Any]:
    """Queue settings. Unbatched model calls (and loads) share one pool of concurrency_limit
    workers. Batched endpoints share another, of twice max_batch_size, so requests that arrive
    together meet in the manager's batcher: it runs one batch at a time, for all models, on its
    own thread, and a full batch can gather while one runs."""
    batcher = ctx.manager.batcher
    if batched and batcher is not None:
        return {"concurrency_id": "device-batched", "concurrency_limit": 2 * batcher.max_batch_size}
    return {"concurrency_id": "device", "concurrency_limit": ctx.settings.concurrency_limit}



def wire_run(ctx: Context, task: str, triggers: list[Any], *, model: gr.Dropdown, status: gr.Markdown,
             fn: Callable, inputs: list[Any], outputs: list[Any], api_name: str,
             gpu_seconds: int | Callable[..., float] = 20, **options: Any) -> Any:
    """The one way a tab runs a model: load it (with progress), then run the public endpoint.

    gpu_seconds: on ZeroGPU, how long the call may hold the GPU (a number, or a function of
    fn's arguments, so a long generation asks for more than a short one).
    """
    load = gr.on(triggers, loader(ctx, task), [model], [status], api_visibility="private", **event_options(ctx))
    return load.success(plain_errors(on_gpu(ctx, fn, gpu_seconds)), inputs, outputs, api_name=api_name,
                        **event_options(ctx, batched=options.pop("batched", False)), **options)


def on_gpu(ctx: Context, fn: Callable, seconds: int | Callable[..., float]) -> Callable:
    """On ZeroGPU, fn runs inside spaces.GPU with the models it gets moved to CUDA there;
    models load on CPU in the main process, which never initialises CUDA. Elsewhere: fn."""
    if not ctx.settings.zero_gpu:
        return fn
    import spaces  # only on ZeroGPU Spaces, where the package is installed

    device = ctx.settings.gpu_device
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def inside(*args: Any, **kwargs: Any) -> Any:
            with ctx.manager.placed_on(device):
                yield from fn(*args, **kwargs)
    else:
        @functools.wraps(fn)
        def inside(*args: Any, **kwargs: Any) -> Any:
            with ctx.manager.placed_on(device):
                return fn(*args, **kwargs)
    duration: Any = seconds
    if callable(seconds):
        signature = inspect.signature(fn)

        def computed(*args: Any, **kwargs: Any) -> int:
            bound = signature.bind_partial(*args, **kwargs)
            bound.apply_defaults()
            try:
                return int(min(300, max(10, seconds(**bound.arguments))))
            except (TypeError, ValueError):  # a bad value: the call itself will say what is wrong
                return 60
        duration = computed
    return spaces.GPU(duration=duration)(inside)
