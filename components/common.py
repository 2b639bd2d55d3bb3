"""What every tab shares: settings, the handlers' context, the model picker, errors as one sentence,
queue settings, ZeroGPU. (What a person sees around a run is in running.py.)"""
from __future__ import annotations

import functools
import inspect
import logging
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import gradio as gr

from models import Catalog, ModelManager, PlaygroundError
from models.messages import render, say

from .inputs import raise_refused
from .turns import Turns
from .words import word

log = logging.getLogger("playground")

UNEXPECTED = say("common.unexpected")  # what an error nobody foresaw is told as (its traceback goes to the log)


@dataclass
class Settings:
    """How the UI behaves; built by app.py from its flags."""

    allow_custom_models: bool = True
    concurrency_limit: int = 2        # unbatched model calls running at once (batched endpoints: event_options)
    hosted: bool = False
    examples_dir: str = "assets"
    zero_gpu: bool = False            # Hugging Face ZeroGPU: model calls run inside spaces.GPU
    gpu_device: str = "cuda"          # where ZeroGPU calls move their models
    mcp_server: bool = True           # every public endpoint also an MCP tool (app.py --no-mcp turns it off)
    api_keys: tuple[str, ...] = ()    # --api-key: the /v1 API (components/openai_api.py) needs one of them
    login_required: bool = False      # --auth: the page asks for a login; /v1 then needs an API key
    allow_training: bool = True       # the Fine-tune tab and /fine_tune (off when hosted, unless --allow-training)
    data_dir: str = "~/.cache/model-playground"  # --data-dir: fine-tuned models (fine-tuned/<name>)
    training_seconds: float = 3600.0  # the longest a fine-tuning may run; then it stops and keeps what it learned


@dataclass
class StopSignals:
    """Stop flags per browser session (or API client) and task, so Stop ends only that user's runs: all of
    them (a comparison's sides are several runs at once)."""

    _events: dict[tuple[str, str], list[threading.Event]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def start(self, session: str, task: str) -> threading.Event:
        with self._lock:
            event = threading.Event()
            self._events.setdefault((session, task), []).append(event)
            return event

    def stop(self, session: str, task: str) -> bool:
        with self._lock:
            events = list(self._events.get((session, task), []))
        for event in events:
            event.set()
        return bool(events)

    def finish(self, session: str, task: str, event: threading.Event) -> None:
        with self._lock:
            events = self._events.get((session, task), [])
            if event in events:
                events.remove(event)
            if not events:
                self._events.pop((session, task), None)

    def running(self) -> int:
        with self._lock:
            return sum(len(events) for events in self._events.values())


@dataclass
class Context:
    """The dependencies each tab's handlers receive (no module globals)."""

    catalog: Catalog
    manager: ModelManager
    settings: Settings
    stops: StopSignals = field(default_factory=StopSignals)
    availability: Any = None  # models/availability.py: the Hub and the cache, as checked at startup
    turns: Turns | None = None  # the line generations wait in, the page's and the /v1 API's (turns.py)
    endpoints: dict[str, Any] = field(default_factory=dict)  # every tab's endpoint, by name (compare.py)
    training_line: Any = None  # one fine-tuning at a time (fine_tune.py TrainingLine)

    def __post_init__(self) -> None:
        if self.turns is None:
            self.turns = Turns(getattr(self.manager, "concurrent_calls", None) or self.settings.concurrency_limit)


def session_of(request: gr.Request | None) -> str:
    return (getattr(request, "session_hash", None) or "no-session") if request is not None else "no-session"


def base_url_of(request: gr.Request | None) -> str:
    """The app's address as the visitor reached it (behind a proxy too), ending with a slash."""
    headers = getattr(request, "headers", None) or {}
    host = headers.get("x-forwarded-host") or headers.get("host") or "127.0.0.1:7860"
    scheme = headers.get("x-forwarded-proto") or ("https" if host.endswith(".hf.space") else "http")
    return f"{scheme}://{host}/"


def sentence_of(error: BaseException, language: str | None = None) -> str:
    """One plain sentence for the user, whatever was raised, starting with a capital unless it starts
    with a model id; unexpected errors are logged with their traceback and told as UNEXPECTED. A sentence
    written with a key (models/messages.py) comes in `language` (components/language.py language_of)."""
    if isinstance(error, gr.Error):
        text = str(error.message)
    elif isinstance(error, PlaygroundError):
        text = render(error.args[0], language) if error.args else str(error)
    else:
        log.exception("unexpected error in a handler", exc_info=error)
        text = UNEXPECTED.render(language)
    first = text.split(" ", 1)[0]
    if first.isalpha() and first.islower():  # "width must be…"; never a model id ("openai-community/gpt2 …")
        text = text[:1].upper() + text[1:]
    return text


def to_user_error(error: BaseException, language: str | None = None) -> gr.Error:
    """The error as gr.Error with its one sentence, for an API client."""
    return gr.Error(sentence_of(error, language), print_exception=False)


LANGUAGE_REQUEST = "_request_for_its_language"


def with_request(wrapper: Callable, fn: Callable) -> Callable[[tuple, dict[str, Any]], tuple[tuple, str]]:
    """Have Gradio hand a wrapper of fn (made with functools.wraps) the request, for the reader's language:
    fn's own gr.Request parameter if it has one, else one more positional parameter that only the wrapper
    sees (Gradio fills special parameters in by position, components/language.py says why the request).
    Returns take(args, kwargs) -> (args for fn, the language)."""
    from .language import language_of

    hints = gr.utils.get_type_hints(fn)
    signature = inspect.signature(fn)
    params = list(signature.parameters.values())
    own = any(hints.get(p.name) in (gr.Request, Optional[gr.Request]) for p in params
              if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD))  # Gradio fills in only those
    if not own:
        at = next((i for i, p in enumerate(params) if p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)),
                  len(params))
        extra = inspect.Parameter(LANGUAGE_REQUEST, inspect.Parameter.POSITIONAL_OR_KEYWORD, default=None,
                                  annotation=gr.Request)
        wrapper.__signature__ = signature.replace(parameters=[*params[:at], extra, *params[at:]])
        wrapper.__annotations__ = {**getattr(fn, "__annotations__", {}), LANGUAGE_REQUEST: gr.Request}

    def take(args: tuple, kwargs: dict[str, Any]) -> tuple[tuple, str]:
        request = next((a for a in args if isinstance(a, gr.Request)), None)
        if request is None:
            request = next((v for v in kwargs.values() if isinstance(v, gr.Request)), None)
        if not own:
            args = tuple(a for a in args if not isinstance(a, gr.Request))
            kwargs.pop(LANGUAGE_REQUEST, None)
        return args, language_of(request)
    return take


def plain_errors(fn: Callable) -> Callable:
    """Wrap a handler (function or generator) so every failure reaches the user as gr.Error, in the
    reader's language (a value a control's check refused, components/inputs.py Refused, among them)."""
    if inspect.isgeneratorfunction(fn):
        @functools.wraps(fn)
        def gen_wrapper(*args: Any, **kwargs: Any) -> Any:
            args, language = take(args, kwargs)
            try:
                raise_refused(args, kwargs)
                yield from fn(*args, **kwargs)
            except Exception as e:  # noqa: BLE001
                raise to_user_error(e, language) from None
        take = with_request(gen_wrapper, fn)
        return gen_wrapper

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        args, language = take(args, kwargs)
        try:
            raise_refused(args, kwargs)
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            raise to_user_error(e, language) from None
    take = with_request(wrapper, fn)
    return wrapper


def model_picker(ctx: Context, task: str) -> gr.Dropdown:
    """The catalog's models for a task; free text too when custom models are allowed. Their marks
    (ready, a download, not available) come with the page's load (running.fit_on_pick)."""
    specs = ctx.catalog.models(task)
    choices = [(spec.name, spec.model_id) for spec in specs]
    custom = ctx.settings.allow_custom_models
    info = word("model.info.custom" if custom else "model.info")
    # allow_custom_value even when hosted: the manager then refuses a typed id with its own sentence,
    # instead of Gradio's "not in the list of choices: [...]" that lists every id
    return gr.Dropdown(choices=choices, value=ctx.catalog.default(task), label=word("model"), info=info,
                       allow_custom_value=True, filterable=True)


def event_options(ctx: Context, *, batched: bool = False) -> dict[str, Any]:
    """Queue settings. Unbatched model calls (and loads) share one pool of concurrency_limit
    workers. Batched endpoints share another, of twice max_batch_size, so requests that arrive
    together meet in the manager's batcher: it runs one batch at a time, for all models, on its
    own thread, and a full batch can gather while one runs. On Ray Serve (models/cluster.py) one pool of
    what the replicas take together: they queue, batch and spread the calls themselves."""
    calls = getattr(ctx.manager, "concurrent_calls", None)  # --backend ray: the replicas queue and batch
    if calls:
        return {"concurrency_id": "cluster", "concurrency_limit": calls}
    batcher = ctx.manager.batcher
    if batched and batcher is not None:
        return {"concurrency_id": "device-batched", "concurrency_limit": 2 * batcher.max_batch_size}
    return {"concurrency_id": "device", "concurrency_limit": ctx.settings.concurrency_limit}



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
