"""The common pipeline interface that every task adapter implements."""
from __future__ import annotations

import math
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, ClassVar, Iterable, Iterator

from .errors import InvalidInput, ModelUnloaded, about
from .messages import say

MAX_LABELS = 1000        # labels (or captions, or texts) per request
MAX_LABEL_CHARS = 200    # per label; CLIP reads 77 tokens, about 300 characters of English


@dataclass(frozen=True)
class ModelSpec:
    """Which model to run for which task: a Hub id or a local folder, and defaults."""

    task: str
    model_id: str
    label: str | None = None
    defaults: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    needs_gpu: bool = field(default=False, compare=False, hash=False)
    # A remote OpenAI-compatible server (its base URL, ending in /v1) that serves model_id for chat
    # (models/remote.py); the id and the endpoint together say which model it is. api_key_env names the
    # environment variable that holds its key: the key itself is never in the catalog.
    endpoint: str | None = None
    api_key_env: str | None = field(default=None, compare=False, hash=False)

    @property
    def name(self) -> str:
        return self.label or self.model_id


class Pipeline:
    """Load -> predict (or stream) -> unload, the same for every task.

    Loading is declared: a transformers task names its `auto_model` class, its `processor`, the
    `architectures` (class-name endings) it accepts and a `task_label` for the error sentence, and
    the base loads it (`_load`, which a task with other libraries replaces). Predicting follows
    transformers' pipelines: `predict_batch` checks the declared parameters, then runs
    `preprocess(inputs, **params)` (text to tensors, on the CPU), `_forward(batch)` (the only step
    on the device, under torch.inference_mode) and `postprocess(outputs, batch, **params)` (plain
    Python data); `predict(x)` is `predict_batch([x])[0]`. Generation adds `stream`.
    """

    task: ClassVar[str]
    auto_model: ClassVar[str | None] = None        # e.g. "AutoModelForSequenceClassification"
    processor_class: ClassVar[str] = "AutoTokenizer"
    architectures: ClassVar[tuple[str, ...]] = ()  # config.architectures must end with one of these
    model_types: ClassVar[tuple[str, ...]] = ()    # ...unless config.model_type is one of these
    task_label: ClassVar[str] = ""                 # "text classification": in "not a ... model"
    forward_rows: ClassVar[int] = 32               # rows (texts, windows, pairs) per forward pass

    def __init__(self, spec: ModelSpec, *, allow_pickle: bool = False) -> None:
        self.spec = spec
        self.allow_pickle = allow_pickle
        self.device: str | None = None
        self.dtype: Any = None
        self.progress: Any = None  # the manager's LoadProgress while loading (models/progress.py)
        self._tokenizer_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------
    def load(self, device: str, dtype: Any) -> None:
        self.device, self.dtype = device, dtype
        self._load(device, dtype)

    def report(self, phase: str) -> None:
        """Say what the load is doing now ("reading the weights"), for the page's status."""
        if self.progress is not None:
            self.progress.report(phase)

    def _load(self, device: str, dtype: Any) -> None:
        if self.auto_model is None:
            raise NotImplementedError(f"{type(self).__name__} declares no auto_model and loads nothing.")
        from .hf import load_transformers  # transformers is imported on the first load, not before

        load_transformers(self, self.auto_model, task_label=self.task_label or self.task,
                          suffixes=self.architectures, model_types=self.model_types, processor=self.processor_class)

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
        return self.predict_batch([inputs], **params)[0]

    def predict_batch(self, inputs: list[Any], **params: Any) -> list[Any]:
        """Several inputs in one forward pass: checked parameters -> preprocess -> _forward -> postprocess."""
        import torch

        params = self.declaration.check(params)
        batch = self.preprocess(inputs, **params)
        with torch.inference_mode():
            outputs = self._forward(batch)
        return self.postprocess(outputs, batch, **params)

    def preprocess(self, inputs: list[Any], **params: Any) -> dict[str, Any]:
        """Inputs checked and turned into CPU tensors (and whatever postprocess needs back)."""
        raise NotImplementedError(f"{type(self).__name__} implements predict_batch or preprocess.")

    def _forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The model on batch["model_inputs"] (on its device, forward_rows rows at a time): each tensor it
        returns ("logits", or "start_logits" and "end_logits"), in float32 on the CPU."""
        import torch

        model = self._require_loaded("model")[0]
        inputs = batch["model_inputs"]
        rows = next(iter(inputs.values())).shape[0]
        parts = [model(**self.on_device({k: v[i:i + self.forward_rows] for k, v in inputs.items()}))
                 for i in range(0, rows, self.forward_rows)]
        return {key: torch.cat([part[key].float().cpu() for part in parts])
                for key, value in parts[0].items() if isinstance(value, torch.Tensor)}

    def postprocess(self, outputs: Any, batch: dict[str, Any], **params: Any) -> list[Any]:
        raise NotImplementedError

    def on_device(self, tensors: dict[str, Any]) -> dict[str, Any]:
        """The tensors moved to the model's device (the one place that moves inputs)."""
        model = self._require_loaded("model")[0]
        # floating inputs (pixels) in the model's dtype too: half precision on a GPU
        return {k: v.to(model.device, model.dtype) if v.is_floating_point() else v.to(model.device)
                for k, v in tensors.items()}

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
            raise ModelUnloaded(say("model.unloaded", model=self.spec.name))
        return values


# -- parameter validation shared by every adapter ----------------------------------------------

def check_text(text: Any, what: str = "text", *, max_chars: int = 100_000) -> str:
    with about(what):
        return _check_text(text, what, max_chars)


def _check_text(text: Any, what: str, max_chars: int) -> str:
    if not isinstance(text, str):
        raise InvalidInput(say("text.not_a_string", what=what, kind=type(text).__name__))
    if not text.strip():
        raise InvalidInput(say("text.empty", what=what))
    if len(text) > max_chars:
        raise InvalidInput(say("text.too_long", what=what, length=len(text), limit=max_chars))
    return check_unicode(text, what)


def check_unicode(text: str, what: str = "text", what_zh: str | None = None) -> str:
    """Refuse lone surrogates ("\\ud800"), which JSON can carry but no tokenizer or UTF-8 output can. `what_zh`:
    what the Chinese sentence calls it, where models/messages.py WORDS_ZH has no word for `what`."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        words = {"what_zh": what_zh} if what_zh is not None else {}
        raise InvalidInput(say("text.not_unicode", what=what, position=e.start, **words)) from None
    return text


def check_number(value: Any, name: str, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False, integer: bool = False, param: str | None = None) -> float | int:
    """A finite number within [low, high] (or (low, high] when low_open). `name` is how the English sentence
    names it ("Max new tokens (max_new_tokens)"), `param` the API's name, which the Chinese one uses."""
    named = {"name": name, "name_zh": param or name}
    if isinstance(value, bool) or value is None or isinstance(value, str):
        try:
            value = float(value) if isinstance(value, str) and value.strip() else None
        except ValueError:
            value = None
        if value is None:
            raise InvalidInput(say("param.not_a_number", **named))
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidInput(say("param.not_finite", value=value, **named))
    if integer:
        if float(value) != int(value):
            raise InvalidInput(say("param.not_whole", value=value, **named))
        value = int(value)
    if (low is not None and (value <= low if low_open else value < low)) or (high is not None and value > high):
        shown = plain_number(value)
        if low is not None and high is not None:
            raise InvalidInput(say("param.between", low=plain_number(low), high=plain_number(high), value=shown,
                                   **named))
        if low is not None:
            raise InvalidInput(say("param.greater_than" if low_open else "param.at_least", low=plain_number(low),
                                   value=shown, **named))
        raise InvalidInput(say("param.at_most", high=plain_number(high), value=shown, **named))
    return value


def plain_number(value: float) -> str:
    """A number as a sentence shows it: 1,024 and 0.5 (the page's messages use it too)."""
    return f"{int(value):,}" if float(value).is_integer() and abs(value) < 1e18 else str(value)


def check_seed(seed: Any) -> int | None:
    """None means random; otherwise a 32-bit unsigned integer."""
    if seed is None or (isinstance(seed, str) and not seed.strip()):
        return None
    return int(check_number(seed, "Seed", low=0, high=2**32 - 1, integer=True, param="seed"))


def parse_texts(value: Any, what: str, *, split_commas: bool, dedupe: bool = True) -> list[str]:
    """Labels, captions or texts a visitor gives: a list of strings, or one string split on newlines
    (and commas); stripped, blanks dropped, repeats dropped after their first occurrence unless
    dedupe is False; at most MAX_LABELS of at most MAX_LABEL_CHARS characters."""
    with about(what + "s"):
        return _parse_texts(value, what, split_commas, dedupe)


def _parse_texts(value: Any, what: str, split_commas: bool, dedupe: bool) -> list[str]:
    if isinstance(value, str):
        pieces: Iterable[Any] = re.split(r"[,\n]" if split_commas else r"\n", value)
    elif isinstance(value, (list, tuple)):
        pieces = value
    elif value is None:
        pieces = []
    else:
        raise InvalidInput(say("text.list_type", what=what, kind=type(value).__name__))
    pieces = list(pieces)
    if len(pieces) > MAX_LABELS:
        raise InvalidInput(say("text.list_too_many", count=len(pieces), what=what, limit=MAX_LABELS))
    out: list[str] = []
    seen: set[str] = set()
    for piece in pieces:
        if not isinstance(piece, str):
            raise InvalidInput(say("text.list_item_type", what=what, kind=type(piece).__name__))
        piece = check_unicode(piece.strip(), what)
        if len(piece) > MAX_LABEL_CHARS:
            raise InvalidInput(say("text.list_item_too_long", what=what, piece=piece[:40], length=len(piece),
                                   limit=MAX_LABEL_CHARS))
        if piece and (piece not in seen or not dedupe):
            seen.add(piece)
            out.append(piece)
    if not out:
        raise InvalidInput(say("text.list_empty", what=what,
                               separator="commas or new lines" if split_commas else "new lines"))
    return out


ProgressCallback = Callable[[int, int], None]
