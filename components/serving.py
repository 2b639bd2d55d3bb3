"""What the app changes in how Gradio 6 serves: two costs on every API call, and one race.

1. Each call that sends no `session_hash` (a plain REST call, as in Gradio's own curl examples) gets
   a new SessionState that renders the config of every block of the app up front: 159 blocks here,
   about 7 ms of CPU and 260 KB kept per call, up to 10,000 sessions (2.6 GB). The configs are only
   read for a session's deep links, so `lighter_sessions()` renders each one when first read, and
   `SESSION_CAPACITY` bounds how many sessions are kept.
2. After each event the queue rebuilds a pandas summary of the last 10,000 events, read only by
   Gradio's /monitoring page (off here): `quieter_analytics()` has it rebuilt every 1,000 events.
3. Gradio saves each image a handler returns to <cache>/<hash of its bytes>/image.webp by rewriting
   the file in place. Two requests that return the same picture (the same seed and prompt) write
   the same file, and a client downloading it while the other request rewrites it gets a short or
   empty body (seen in the load test). `atomic_image_cache()` writes it through a temporary file
   renamed into place, as Gradio already does for the files it copies, and leaves an existing one
   alone: its name is its content's hash.

4. With --auth, the login page that Gradio serves to anyone embeds `window.gradio_api_info`: every
   endpoint, its parameters and the model choices, while /gradio_api/info itself is refused.
   `private_login_page()` embeds an empty one in a page whose config says the login is required
   (the login form never reads it: Gradio's client skips the API description until logged in);
   the page served after the login keeps the full one.
5. A control's label is a word the browser translates (components/words.py, an I18nData): the API's
   description (/gradio_api/info, "Use via API") would show it as a translation key; `english_api_labels()`
   gives it its English text there.

Each is applied only where Gradio's code is the one it was written for; with any other Gradio
(or one that lacks something a patch needs) the app keeps Gradio's own behaviour, and
`patch_gradio()` logs one warning per patch lost, saying what the app loses.
"""
from __future__ import annotations

import functools
import hashlib
import inspect
import logging
import os
import tempfile
from pathlib import Path
from typing import Any, Callable

SESSION_CAPACITY = 1000  # sessions kept in memory (Gradio's default: 10,000)
ANALYTICS_EVERY = "1000"  # events between two rebuilds of Gradio's monitoring summary (Gradio's: 1)

# The sources of the Gradio 6.31 code these patches were written for: SessionState.__init__,
# save_pil_to_cache, and the handler of the main page (`main` in App.create_app).
_KNOWN_SESSION_INIT = "1b2ea21dc42c"
_KNOWN_SAVE_PIL = "ea8f5a3ffa03"
_KNOWN_MAIN_PAGE = "f84106a39294"

log = logging.getLogger("playground")  # components/common.py's


def quieter_analytics() -> None:
    """Must run before the demo's queue is created (Queue.__init__ reads the variable)."""
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", ANALYTICS_EVERY)


_PENDING = object()  # a config not rendered yet


class _ConfigsOnDemand(dict):
    """SessionState.config_values whose entries are rendered when first read, not all at creation.

    Every block's key is there from the start (so order, `in` and len are Gradio's), holding
    _PENDING until read. An entry rendered later equals the one Gradio would have rendered at
    creation and kept up to date: SessionState re-renders a block's entry whenever it replaces it."""

    def __init__(self, blocks_config: Any, ids: list[int]) -> None:
        super().__init__(dict.fromkeys(ids, _PENDING))
        self._blocks_config = blocks_config

    def __getitem__(self, key: Any) -> Any:
        value = dict.__getitem__(self, key)
        if value is _PENDING:
            value = self._blocks_config.config_for_block(key, [], self._blocks_config.blocks[key])
            dict.__setitem__(self, key, value)
        return value

    def get(self, key: Any, default: Any = None) -> Any:
        return self[key] if key in self else default

    def _render_all(self) -> None:
        for key, value in list(dict.items(self)):
            if value is _PENDING:
                self[key]

    def values(self):  # noqa: ANN201
        self._render_all()
        return dict.values(self)

    def items(self):  # noqa: ANN201
        self._render_all()
        return dict.items(self)


def _session_init(self: Any, blocks: Any) -> None:
    """Gradio 6.31's SessionState.__init__, with the configs rendered on demand."""
    from copy import copy

    self.blocks_config = copy(blocks.default_config)
    self.config_values = _ConfigsOnDemand(self.blocks_config,
                                          [k for k in self.blocks_config.blocks if k in blocks.blocks])
    self.state_data = {}
    self._state_ttl = {}
    self.is_closed = False
    self.STATE_TTL_WHEN_CLOSED = 1 if os.getenv("GRADIO_IS_E2E_TEST", None) else 3600


def source_digest(function: Any) -> str:
    """A digest of the source of Gradio's own version of a function (or code object), replaced here or not."""
    function = getattr(function, "__wrapped_gradio__", function)
    return hashlib.sha256(inspect.getsource(function).encode()).hexdigest()[:12]


def _replace(owner: Any, name: str, make_replacement: Callable[[], Callable[..., Any]], known_digest: str,
             guarded: Any = None) -> bool:
    """owner.name = make_replacement(), only where Gradio's own owner.name (or `guarded`, the Gradio
    code the replacement relies on, when that is not owner.name itself) has the source it was written
    for; True when replaced (now or before), False on an unknown Gradio (left as it is)."""
    original = getattr(owner, name)
    if getattr(original, "__wrapped_gradio__", None) is not None:
        return True
    if source_digest(original if guarded is None else guarded) != known_digest:
        return False
    replacement = make_replacement()
    replacement.__wrapped_gradio__ = original  # type: ignore[attr-defined]
    setattr(owner, name, replacement)
    return True


def _false_when_missing(patch: Callable[[], bool]) -> Callable[[], bool]:
    """A patch that returns False, not raises, on a Gradio that lacks a module, a name or the
    source of something it needs."""
    @functools.wraps(patch)
    def applied() -> bool:
        try:
            return patch()
        except (ImportError, AttributeError, OSError, TypeError):
            return False
    return applied


@_false_when_missing
def lighter_sessions() -> bool:
    """Render session configs on demand; True when applied (or already), False on an unknown Gradio."""
    from gradio.state_holder import SessionState

    return _replace(SessionState, "__init__", lambda: _session_init, _KNOWN_SESSION_INIT)


def _save_pil_to_cache(img: Any, cache_dir: str, name: str = "image", format: str = "webp") -> str:
    """Gradio 6.31's save_pil_to_cache, written atomically and once per content."""
    from gradio.processing_utils import encode_pil_to_bytes, hash_bytes

    data = encode_pil_to_bytes(img, format)
    folder = Path(cache_dir) / hash_bytes(data)
    folder.mkdir(exist_ok=True, parents=True)
    path = (folder / f"{name}.{format}").resolve()
    if path.exists():
        try:  # Gradio's delete_cache ages files by ctime: a file handed out again must look new
            os.utime(path)
        except OSError:
            pass
        return str(path)
    fd, staging = tempfile.mkstemp(dir=folder, prefix=f".{name}.")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(staging, 0o644)
        os.replace(staging, path)
    except BaseException:
        Path(staging).unlink(missing_ok=True)
        raise
    return str(path)


@_false_when_missing
def atomic_image_cache() -> bool:
    """Save returned images atomically; True when applied (or already), False on an unknown Gradio."""
    from gradio import processing_utils

    def traced() -> Callable[..., Any]:  # Gradio 6.31 times the save as a profiling phase: so does this one
        return processing_utils.traced_sync("postprocess_save_pil_to_cache")(_save_pil_to_cache)

    return _replace(processing_utils, "save_pil_to_cache", traced, _KNOWN_SAVE_PIL)


def _login_page_without_api(*args: Any, **kwargs: Any) -> Any:
    """Gradio's templates.TemplateResponse, with no API description in a page served before the login."""
    context = kwargs.get("context")
    config = context.get("config") if isinstance(context, dict) else None
    if isinstance(config, dict) and config.get("auth_required"):
        # empty, not null: the page's client would fetch the info instead (refused: a console error)
        kwargs["context"] = {**context, "gradio_api_info": {"named_endpoints": {}, "unnamed_endpoints": {}}}
    return _login_page_without_api.__wrapped_gradio__(*args, **kwargs)  # type: ignore[attr-defined]


def _main_page_handler() -> Any:
    """The code of Gradio's handler of the main page (and of /gradio_api/runs), nested in App.create_app."""
    from gradio.routes import App

    return next((c for c in App.create_app.__code__.co_consts if inspect.iscode(c) and c.co_name == "main"), None)


@_false_when_missing
def private_login_page() -> bool:
    """Leave the API description out of the login page; True when applied (or already), False on an
    unknown Gradio."""
    from gradio import routes

    handler = _main_page_handler()
    if handler is None:
        return False
    return _replace(routes.templates, "TemplateResponse", lambda: _login_page_without_api, _KNOWN_MAIN_PAGE,
                    guarded=handler)


# Each patch, and what the app loses where it cannot be applied.
def _validate_inputs() -> Callable[..., Any]:
    from gradio.blocks import Blocks

    original = Blocks.validate_inputs

    def validate_inputs(self: Any, block_fn: Any, inputs: list[Any]) -> Any:
        # A public endpoint called with fewer values than it has inputs (a raw HTTP client written before a
        # parameter was added last): the missing trailing ones take their control's starting value, as
        # gradio_client fills in what a keyword call leaves out. The page's own events keep Gradio's check.
        if getattr(block_fn, "api_visibility", "public") == "public" and getattr(block_fn, "api_name", None) \
                and isinstance(inputs, list) and len(inputs) < len(block_fn.inputs):
            for block in block_fn.inputs[len(inputs):]:
                value = getattr(block, "value", None)
                inputs.append(None if callable(value) else value)
        return original(self, block_fn, inputs)

    return validate_inputs


_KNOWN_VALIDATE_INPUTS = "a03995ce616e"


@_false_when_missing
def trailing_defaults() -> bool:
    """Raw API calls may leave out parameters added last; True when applied, False on an unknown Gradio."""
    from gradio.blocks import Blocks

    return _replace(Blocks, "validate_inputs", _validate_inputs, _KNOWN_VALIDATE_INPUTS)


def _get_api_info() -> Callable[..., Any]:
    from gradio.blocks import Blocks

    from .words import english

    original = Blocks.get_api_info

    def english_labels(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: english(v) if k == "label" else english_labels(v) for k, v in value.items()}
        if isinstance(value, list):
            return [english_labels(v) for v in value]
        return value

    def get_api_info(self: Any, *args: Any, **kwargs: Any) -> Any:
        # A control's label is a word the browser translates (components/words.py); what a program reads about
        # the API ("Use via API", gradio_client's view_api) names each parameter by its English label.
        return english_labels(original(self, *args, **kwargs))

    return get_api_info


_KNOWN_GET_API_INFO = "537deb56e57a"


@_false_when_missing
def english_api_labels() -> bool:
    """The API's description names parameters in English; True when applied, False on an unknown Gradio."""
    from gradio.blocks import Blocks

    return _replace(Blocks, "get_api_info", _get_api_info, _KNOWN_GET_API_INFO)


GRADIO_PATCHES: list[tuple[Callable[[], bool], str]] = [
    (english_api_labels, "the API's description (\"Use via API\", view_api) shows a translated control's label as "
                         "a translation key instead of its English text"),
    (trailing_defaults, "a raw HTTP call that leaves out parameters added last (logprobs and top_logprobs on "
                        "/chat) is refused instead of taking their defaults"),
    (lighter_sessions, "each API session keeps ~260 KB more memory (session configs rendered up front)"),
    (atomic_image_cache, "two requests returning the same image can race on Gradio's image cache "
                         "(a download may get an empty file)"),
    (private_login_page, "with --auth, the login page tells anyone every API endpoint, its parameters "
                         "and the model choices"),
]


def patch_gradio() -> list[str]:
    """Apply every patch above (before the demo's queue is created); logs one warning for each one
    this Gradio cannot take, and returns what is lost (empty when all applied)."""
    import gradio

    quieter_analytics()
    lost = [loss for patch, loss in GRADIO_PATCHES if not patch()]
    for loss in lost:
        log.warning("Gradio %s is not the version these patches were written for: %s",
                    getattr(gradio, "__version__", "?"), loss)
    return lost
