"""The common pipeline interface that every task adapter implements."""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterator

from .errors import InvalidInput, ModelUnloaded


@dataclass(frozen=True)
class ModelSpec:
    """Which model to run for which task: a Hub id or a local folder, and defaults."""

    task: str
    model_id: str
    label: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    needs_gpu: bool = field(default=False, compare=False, hash=False)

    @property
    def name(self) -> str:
        return self.label or self.model_id


class Pipeline:
    """Load -> predict (or stream) -> unload, the same for every task.

    Subclasses set `task`, implement `_load` (the only place that touches weights) and
    `predict`; generation adds `stream`. `predict` takes explicit keyword parameters,
    validates them before any compute and returns plain Python data.
    """

    task: ClassVar[str]

    def __init__(self, spec: ModelSpec, *, allow_pickle: bool = False) -> None:
        self.spec = spec
        self.allow_pickle = allow_pickle
        self.device: str | None = None
        self.dtype: Any = None
        self._tokenizer_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def load(self, device: str, dtype: Any) -> None:
        self.device, self.dtype = device, dtype
        self._load(device, dtype)

    def _load(self, device: str, dtype: Any) -> None:
        raise NotImplementedError

    def to(self, device: str) -> None:
        """Move the loaded weights to another device (ZeroGPU: to CUDA inside the GPU-wrapped call)."""
        if device == self.device:
            return
        for module in self.modules():
            module.to(device)
        self.device = device

    def unload(self) -> None:
        """Drop every reference to weights; in-flight calls keep their own until they end."""
        for name in self._weights():
            setattr(self, name, None)

    def _weights(self) -> list[str]:
        """Attribute names that hold weights, tokenizers or processors."""
        return ["model", "tokenizer", "processor"]

    def modules(self) -> list[Any]:
        """The torch modules this pipeline holds, for counting parameters and memory."""
        model = getattr(self, "model", None)
        return [model] if model is not None else []

    def stats(self) -> dict[str, Any]:
        params = mem = 0
        seen: set[int] = set()
        for module in self.modules():
            for tensor in list(module.parameters()) + list(module.buffers()):
                if id(tensor) in seen:
                    continue
                seen.add(id(tensor))
                mem += tensor.numel() * tensor.element_size()
            params += sum(p.numel() for p in module.parameters())
        return {"parameters": params, "memory_bytes": mem}

    @property
    def declaration(self) -> Any:
        """The task's declaration (models/tasks.py): its parameters with their defaults and limits."""
        from .tasks import task  # tasks.py imports this module

        return task(self.task)

    # -- inference -------------------------------------------------------------------------
    def predict(self, inputs: Any, **params: Any) -> Any:
        raise NotImplementedError

    def predict_batch(self, inputs: list[Any], **params: Any) -> list[Any]:
        """Several inputs in one forward pass; the default runs them one by one."""
        return [self.predict(x, **params) for x in inputs]

    def stream(self, inputs: Any, *, stop: threading.Event | None = None, **params: Any) -> Iterator[Any]:
        raise InvalidInput(f"The {self.task} task does not stream; call predict instead.")

    def tokenize(self, call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """call(*args, **kwargs) for a tokenizer (or one of its methods), one call at a time per model.

        A fast tokenizer keeps its padding and truncation settings on itself, and a call with
        other settings rewrites them before it encodes; two concurrent calls with different
        settings could encode with each other's (a window left untruncated, a prompt unpadded),
        or fail with "Already borrowed". Tokenizing takes microseconds, so the lock costs nothing.
        """
        with self._tokenizer_lock:
            return call(*args, **kwargs)

    def _require_loaded(self, *names: str) -> tuple[Any, ...]:
        """Local references to the weights, so a concurrent unload cannot pull them away mid-call."""
        values = tuple(getattr(self, n, None) for n in names)
        if any(v is None for v in values):
            raise ModelUnloaded(f"{self.spec.name} was unloaded; run the request again to reload it.")
        return values


# -- parameter validation shared by every adapter ----------------------------------------------

def check_text(text: Any, what: str = "text", *, max_chars: int = 100_000) -> str:
    if not isinstance(text, str):
        raise InvalidInput(f"The {what} must be a string, not {type(text).__name__}.")
    if not text.strip():
        raise InvalidInput(f"The {what} is empty; type some text.")
    if len(text) > max_chars:
        raise InvalidInput(f"The {what} is {len(text):,} characters long; the limit is {max_chars:,}.")
    return check_unicode(text, what)


def check_unicode(text: str, what: str = "text") -> str:
    """Refuse lone surrogates ("\\ud800"), which JSON can carry but no tokenizer or UTF-8 output can."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise InvalidInput(f"The {what} holds characters that are not valid Unicode (at position {e.start}); "
                           "remove them or send UTF-8 text.") from None
    return text


def check_number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, integer: bool = False) -> float | int:
    """A finite number within [low, high] (or (low, high] when low_open)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        try:
            value = float(value) if isinstance(value, str) and value.strip() else None
        except ValueError:
            value = None
        if value is None:
            raise InvalidInput(f"{name} must be a number.")
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(f"{name} must be a finite number, not {value!r}.")
    if integer:
        if float(value) != int(value):
            raise InvalidInput(f"{name} must be a whole number, not {value!r}.")
        value = int(value)
    bound = f"between {low} and {high}" if low is not None and high is not None else (
        f"at least {low}" if low is not None else f"at most {high}")
    if low is not None and (value <= low if low_open else value < low):
        raise InvalidInput(f"{name} must be {'greater than ' + str(low) if low_open and high is None else bound}, not {value}.")
    if high is not None and value > high:
        raise InvalidInput(f"{name} must be {bound}, not {value}.")
    return value


def check_seed(seed: Any) -> int | None:
    """None means random; otherwise a 32-bit unsigned integer."""
    if seed is None or (isinstance(seed, str) and not seed.strip()):
        return None
    return int(check_number(seed, "seed", low=0, high=2**32 - 1, integer=True))


ProgressCallback = Callable[[int, int], None]
