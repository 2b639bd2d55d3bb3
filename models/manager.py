"""Loads models lazily, once, keeps the most recently used under a cap, and reports them."""
from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from .base import ModelSpec, Pipeline
from .availability import Availability, HubUnreachable, hub_switched_off
from .batching import Batcher
from .catalog import Catalog
from .devices import device_memory, pick_device, pick_dtype, release_memory
from .errors import InvalidInput, ModelLoadFailed, ModelNotAllowed, ModelUnloaded, OutOfMemory, PlaygroundError
from .loading import check_model_id, is_local, load_errors, shown
from .messages import say
from .progress import LoadProgress, repo_cache_folder
from .tasks import adapter_class, canonical_task

Key = tuple[str, str]

# A model evicted (another request's load went over the cap) or unloaded between get() and
# its use is loaded again, at most this many times, before the request gives up.
RETRIES_AFTER_UNLOAD = 3
# Loads waiting or running, all models together: a load goes on when the page that asked for it is
# closed (the next visitor gets the model), so a visitor clicking through typed ids must meet a limit.
MAX_PENDING_LOADS = 8


@dataclass
class _KeyLock:
    """One model's load lock, and how many requests hold or wait for it."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


@dataclass
class LoadedModel:
    pipeline: Pipeline
    load_seconds: float
    stats: dict[str, Any]
    loaded_at: float
    last_used: float = 0.0


class ModelManager:
    """The one way handlers reach a model: `manager.get(task, model_id)`.

    Ten requests arriving together for an unloaded model cause one load (a lock per model),
    and loads run one at a time (one lock for all): transformers' lazy imports are not safe
    when two threads first touch them together (seen here as "module 'transformers' has no
    attribute 'AutoConfig'", and as a GPT-2 that then computed garbage), and two loads at
    once would only share the disk and the cores. Requests for loaded models never wait.
    """

    def __init__(self, catalog: Catalog, *, device: str = "auto", max_loaded: int = 3,
                 allow_custom: bool = True, allow_pickle: bool = False, max_batch_size: int = 16,
                 dtype: str | None = None, availability: Availability | None = None) -> None:
        if int(max_loaded) < 1:
            raise InvalidInput("max_loaded must be at least 1.")
        self.catalog = catalog
        self.device_preference = device
        self.max_loaded = int(max_loaded)
        self.allow_custom = allow_custom
        self.allow_pickle = allow_pickle
        self.load_count = 0  # loads started, for tests
        self.batcher = Batcher(max_batch_size) if max_batch_size > 1 else None
        self.dtype_name = dtype  # e.g. "bfloat16": ZeroGPU loads half precision on CPU, runs on CUDA
        self._placement = threading.local()  # where get() puts a model during a ZeroGPU call
        self._device: str | None = None
        self._models: OrderedDict[Key, LoadedModel] = OrderedDict()
        self._key_locks: dict[Key, _KeyLock] = {}
        self._loading: dict[Key, LoadProgress] = {}  # loads waiting or running, for the page to show
        self._load_lock = threading.Lock()
        self._lock = threading.Lock()
        self.availability = availability  # when set, a Hub known out of reach fails a load at once
        if availability is not None:
            availability.import_lock = self._load_lock  # its open_clip import never meets a load's

    # -- resolving ---------------------------------------------------------------------------
    @property
    def device(self) -> str:
        if self._device is None:
            self._device = pick_device(self.device_preference)
        return self._device

    def spec(self, task: str, model_id: str | None = None) -> ModelSpec:
        spec = self.catalog.spec(task, check_model_id(model_id))
        if not self.allow_custom and self.catalog.find(spec.task, spec.model_id) is None:
            raise ModelNotAllowed(say("model.hosted_only", model=shown(spec.model_id)))
        return spec

    def is_loaded(self, task: str, model_id: str | None = None) -> bool:
        spec = self.spec(task, model_id)
        return (spec.task, spec.model_id) in self._models

    # -- loading -----------------------------------------------------------------------------
    def get(self, task: str, model_id: str | None = None,
            on_loading: Callable[[ModelSpec], None] | None = None) -> Pipeline:
        """The loaded pipeline for (task, model), loading it first if needed."""
        spec = self.spec(task, model_id)
        key = (spec.task, spec.model_id)
        # made outside the lock: for an open_clip tag, finding its repo imports open_clip
        fresh = None if key in self._models or key in self._loading else self._progress_for(spec)
        with self._lock:
            entry = self._models.get(key)
            if entry is not None:
                return self._placed(self._used(key, entry).pipeline)
            progress = self._loading.get(key)
            if progress is None:
                if len(self._loading) >= MAX_PENDING_LOADS:  # a load outlives the page that asked for it
                    raise ModelLoadFailed(say("model.server_busy"))
                progress = self._loading[key] = fresh or LoadProgress(label=spec.name)
            key_lock = self._key_locks.setdefault(key, _KeyLock())
            key_lock.users += 1
        try:
            with key_lock.lock:
                with self._lock:  # someone else may have loaded it while we waited
                    entry = self._models.get(key)
                    if entry is not None:
                        return self._placed(self._used(key, entry).pipeline)
                    # shown again if a failed load took it off (or the model was evicted meanwhile)
                    progress = self._loading.setdefault(key, progress)
                if on_loading is not None:
                    on_loading(spec)
                with self._load_lock:
                    progress.restart()
                    entry = self._load(spec, progress)
                with self._lock:
                    self._models[key] = entry
                    evicted = self._evict_over_cap(keep=key)
        finally:
            with self._lock:  # a lock per model ever asked for (typed ids too) would pile up
                key_lock.users -= 1
                if key_lock.users == 0 and self._key_locks.get(key) is key_lock:
                    del self._key_locks[key]
                if (key in self._models or key_lock.users == 0) and self._loading.get(key) is progress:
                    del self._loading[key]
        for old in evicted:
            old.pipeline.unload()
        if evicted:
            release_memory(collect=False)  # a request is waiting: no cycle collection on CPU
        return self._placed(entry.pipeline)

    @contextlib.contextmanager
    def placed_on(self, device: str) -> Iterator[None]:
        """Within this block (this thread), get() returns models moved to `device`.

        On ZeroGPU the main process must never touch CUDA: models load on CPU, and each
        GPU-wrapped request moves what it uses to CUDA inside its own GPU process.
        """
        previous = getattr(self._placement, "device", None)
        self._placement.device = device
        try:
            yield
        finally:
            self._placement.device = previous

    def _placed(self, pipeline: Pipeline) -> Pipeline:
        device = getattr(self._placement, "device", None)
        if device is not None and pipeline.device != device:
            pipeline.to(device)
        return pipeline

    def _used(self, key: Key, entry: LoadedModel) -> LoadedModel:
        self._models.move_to_end(key)
        entry.last_used = time.time()
        return entry

    def _progress_for(self, spec: ModelSpec) -> LoadProgress:
        repo = None if is_local(spec.model_id) else _hub_repo(spec)
        planned = None
        availability = self.availability
        if availability is not None and repo is not None:
            try:
                state = availability.of(spec.task, spec.model_id)
                planned = state.size_bytes if state.state == "download" else None
            except Exception:  # noqa: BLE001 - the size is a nicety; the load goes on without it
                planned = None
        return LoadProgress(label=spec.name, cache_folder=repo_cache_folder(repo), planned_bytes=planned)

    def loading(self, task: str, model_id: str | None = None) -> dict[str, Any] | None:
        """What the load of (task, model) is doing now (models/progress.py), or None when none is in flight."""
        spec = self.spec(task, model_id)
        with self._lock:
            progress = self._loading.get((spec.task, spec.model_id))
        return None if progress is None else progress.snapshot()

    def _load(self, spec: ModelSpec, progress: LoadProgress | None = None) -> LoadedModel:
        offline = self._hub_out_of_reach(spec)
        cls = adapter_class(spec.task) if not spec.endpoint else __import__("models.remote", fromlist=["RemoteChat"]).RemoteChat
        pipeline = cls(spec, allow_pickle=self.allow_pickle)
        pipeline.progress = progress
        self.load_count += 1
        start = time.perf_counter()
        try:
            with hub_switched_off() if offline else contextlib.nullcontext(), load_errors(spec.model_id):
                device = self.device
                dtype = pick_dtype(device) if self.dtype_name is None else _torch_dtype(self.dtype_name)
                pipeline.load(device, dtype)
        except PlaygroundError as e:
            pipeline.unload()
            release_memory()
            if isinstance(e, HubUnreachable) and self.availability is not None:
                self.availability.note_unreachable()  # the next click fails at once, not in 25 s
                raise HubUnreachable(self.availability.unavailable_message(spec.task, spec.model_id)) from e
            raise
        finally:
            pipeline.progress = None
        seconds = time.perf_counter() - start
        now = time.time()
        return LoadedModel(pipeline=pipeline, load_seconds=seconds, stats=pipeline.stats(), loaded_at=now,
                           last_used=now)

    def _hub_out_of_reach(self, spec: ModelSpec) -> bool:
        """True when a Hub model must load from the cache alone, the Hub being known out of reach; a
        model that is not in the cache fails here at once, with no network and no retries."""
        if self.availability is None or is_local(spec.model_id) or not self.availability.offline():
            return False
        if self.availability.of(spec.task, spec.model_id).state == "unavailable":
            raise HubUnreachable(self.availability.unavailable_message(spec.task, spec.model_id))
        return True  # cached, or a CLIP tag not resolved yet: the cache alone will say

    def _evict_over_cap(self, keep: Key) -> list[LoadedModel]:
        evicted = []
        while len(self._models) > self.max_loaded:
            oldest = next(k for k in self._models if k != keep)
            evicted.append(self._models.pop(oldest))
        return evicted

    def call(self, task: str, model_id: str | None, fn: Callable[[Pipeline], Any]) -> Any:
        """fn(pipeline) for the loaded model; when the model is unloaded under the call (evicted by
        another request's load, or /unload) before fn took hold of its weights, load it again and retry."""
        for attempt in range(RETRIES_AFTER_UNLOAD + 1):
            pipeline = self.get(task, model_id)
            try:
                with out_of_memory_as_sentence():
                    return fn(pipeline)
            except ModelUnloaded:
                if attempt == RETRIES_AFTER_UNLOAD:
                    raise
        raise AssertionError("unreachable")

    def run(self, task: str, model_id: str | None, fn: str | Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """fn on the loaded model, as call() runs it: `fn` names an attribute of the pipeline (a method is
        called with the arguments, a property read), or is a function of models/ that takes the pipeline
        first. Named, not a closure, so the call can travel to another process (models/cluster.py)."""
        def apply(pipeline: Pipeline) -> Any:
            if not isinstance(fn, str):
                return fn(pipeline, *args, **kwargs)
            value = getattr(pipeline, fn)
            return value(*args, **kwargs) if callable(value) else value
        return self.call(task, model_id, apply)

    def stream(self, task: str, model_id: str | None, inputs: Any, **params: Any) -> Iterator[Any]:
        """The pipeline's stream(...), retried like call() when the model is unloaded before the first update."""
        for attempt in range(RETRIES_AFTER_UNLOAD + 1):
            updates = self.get(task, model_id).stream(inputs, **params)
            try:
                with out_of_memory_as_sentence():
                    first = next(updates)
            except StopIteration:
                return
            except ModelUnloaded:
                if attempt == RETRIES_AFTER_UNLOAD:
                    raise
                continue
            yield first
            with out_of_memory_as_sentence():
                yield from updates
            return

    def predict(self, task: str, model_id: str | None, inputs: Any, **params: Any) -> Any:
        """One request; requests for the same model and parameters that arrive together share a
        forward pass (the adapter's predict_batch), padded to the longest of them."""
        def run(pipeline: Pipeline) -> Any:
            if self.batcher is None:
                return pipeline.predict(inputs, **params)
            key = (pipeline.spec.task, pipeline.spec.model_id, repr(sorted(params.items())))
            return self.batcher.run(key, lambda items: _freeing_on_oom(pipeline.predict_batch, items, **params), inputs)
        return self.call(task, model_id, run)

    def preload(self, tasks: list[str]) -> list[Pipeline]:
        return [self.get(canonical_task(t)) for t in tasks]

    # -- unloading and reporting ---------------------------------------------------------------
    def unload(self, task: str, model_id: str) -> bool:
        """Drop a loaded model and give its memory back; False when it was not loaded."""
        key = (canonical_task(task), check_model_id(model_id))
        with self._lock:
            entry = self._models.pop(key, None)
        if entry is None:
            return False
        entry.pipeline.unload()
        del entry
        release_memory()
        return True

    def unload_all(self) -> int:
        with self._lock:
            entries = list(self._models.values())
            self._models.clear()
        for entry in entries:
            entry.pipeline.unload()
        count = len(entries)
        entries.clear()
        release_memory()
        return count

    def loaded(self) -> list[dict[str, Any]]:
        """What is loaded, most recently used last, as plain data."""
        with self._lock:
            items = list(self._models.items())
        return [_describe(key, entry) for key, entry in items]

    def entry(self, task: str, model_id: str) -> dict[str, Any] | None:
        """One loaded model as loaded() describes it, or None when it is not loaded."""
        key = (canonical_task(task), model_id)
        with self._lock:
            entry = self._models.get(key)
        return None if entry is None else _describe(key, entry)

    def peek(self, task: str, model_id: str) -> Pipeline | None:
        """The loaded pipeline, or None: never loads, and leaves the order of use alone (for what the
        page shows, which must not keep a model from being unloaded)."""
        with self._lock:
            entry = self._models.get((canonical_task(task), model_id))
        return None if entry is None else entry.pipeline

    def device_if_known(self) -> str | None:
        """The device, once a load has picked it (asking earlier would import torch)."""
        return self._device

    def memory(self) -> dict[str, Any]:
        return device_memory()


def _describe(key: Key, entry: LoadedModel) -> dict[str, Any]:
    task, model_id = key
    return {
        "task": task,
        "model": model_id,
        "label": entry.pipeline.spec.name,
        "device": entry.pipeline.device,
        "dtype": str(entry.pipeline.dtype).replace("torch.", ""),
        "parameters": entry.stats["parameters"],
        "memory_mb": round(entry.stats["memory_bytes"] / 2**20, 1),
        "load_seconds": round(entry.load_seconds, 3),
        "loaded_at": entry.loaded_at,
        "last_used": entry.last_used,
    }


def _hub_repo(spec: ModelSpec) -> str | None:
    """The Hub repo a load may download (open_clip tags name theirs in open_clip's table, read only
    once open_clip is imported: importing it here, outside the load lock, could meet a load's imports)."""
    import sys

    from .download import hub_repo

    if spec.task == "clip" and ":" in spec.model_id and "open_clip" not in sys.modules:
        return None

    try:
        return hub_repo(spec.task, spec.model_id)
    except Exception:  # noqa: BLE001 - an unknown tag: the load itself will say what is wrong
        return None


def _torch_dtype(name: str) -> Any:
    import torch

    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise InvalidInput(say("device.unknown_dtype", dtype=name))
    return dtype


def is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, MemoryError) or type(error).__name__ == "OutOfMemoryError" or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower())


def _freeing_on_oom(run: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Free the cached memory before the batcher retries a failed batch one request at a time."""
    try:
        return run(*args, **kwargs)
    except Exception as e:
        if is_out_of_memory(e):
            release_memory()
        raise


@contextlib.contextmanager
def out_of_memory_as_sentence() -> Iterator[None]:
    """A request that runs out of (GPU) memory fails with a sentence, and the memory is given back."""
    try:
        yield
    except Exception as e:
        if not is_out_of_memory(e):
            raise
        release_memory()
        raise OutOfMemory(say("model.out_of_memory")) from None
