"""Models served by Ray Serve (`app.py --backend ray`): the front end's manager, and the replicas it calls.

The front end (the Gradio app) keeps no model. `ClusterManager` has the manager's interface, so the
components call it as they call `ModelManager`, and it sends each call to a Serve application named after
the task's family (`Task.family`: text, generation, vision, clip, diffusion). Each replica of a deployment
holds an in-process `ModelManager` (the same adapters, checks and batching), and `@serve.multiplexed`
routes a request to a replica that already holds its model, loading it there first if none does, under a
least-recently-used cap per replica.

What a request cannot carry goes through the `Board`, one small named actor: each replica posts what it
holds and how many requests it runs (the Models tab), reads the Stop flags of the requests it runs (so
Stop ends a generation or a diffusion exactly as in-process: the reply or the images so far), and reads
unload orders (unload reaches every replica). Ray is imported only here, and only with `--backend ray`.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import socket
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from .base import ModelSpec
from .catalog import Catalog
from .errors import ClusterUnavailable, InvalidInput, PlaygroundError
from .messages import Message, say
from .loading import check_model_id
from .progress import LoadProgress
from .tasks import TASKS, canonical_task, task as declared

ROOT = Path(__file__).resolve().parent.parent  # the project: what a replica imports `models` from
NAMESPACE = "playground"
BOARD = "playground-board"
FAMILIES = tuple(dict.fromkeys(declared(key).deployment for key in TASKS))
# One GPU shared by every family when the cluster has GPUs and the catalog says nothing: the small
# classifiers a tenth each, generation and diffusion the most (README's sizing table).
GPU_SHARES = {"text": 0.1, "vision": 0.1, "clip": 0.2, "generation": 0.3, "diffusion": 0.3}
SYNC_SECONDS = 0.5        # how often an idle replica posts to the Board (and reads unload orders)
SYNC_SECONDS_BUSY = 0.1   # while it runs a request that can be stopped
REPLICA_SILENT_SECONDS = 5.0  # a replica not heard of for this long is gone from the Models tab
RECONNECT_SECONDS = 5.0   # an unreachable cluster is tried again by the first call after this long
CONNECT_SECONDS = 120.0   # a call waits this long for the cluster to start (local: Ray and the deployments)
UNLOAD_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class Serving:
    """How one family is served: replicas (min, max; max > min autoscales on ongoing requests), the GPUs
    and CPUs each replica reserves, the models each keeps loaded, and the requests one replica takes at
    once (batched requests meet there, in the replica's own batcher)."""

    min_replicas: int = 1
    max_replicas: int = 1
    gpus: float | None = None   # None: the family's share of one GPU when the cluster has one, else 0
    cpus: float = 0.25
    models_per_replica: int = 3
    max_ongoing_requests: int = 32
    max_batch_size: int = 16
    target_ongoing_requests: float = 4.0
    threads: int | None = None  # torch's threads per replica (None: torch's default, the machine's cores)

    def options(self, cluster_gpus: float, family: str) -> dict[str, Any]:
        """The Serve deployment's options for these settings."""
        gpus = self.gpus if self.gpus is not None else (GPU_SHARES.get(family, 0.1) if cluster_gpus else 0.0)
        options: dict[str, Any] = {"name": family, "max_ongoing_requests": self.max_ongoing_requests,
                                   "ray_actor_options": {"num_cpus": self.cpus, "num_gpus": gpus}}
        if self.max_replicas > self.min_replicas:
            options["autoscaling_config"] = {"min_replicas": self.min_replicas, "max_replicas": self.max_replicas,
                                             "target_ongoing_requests": self.target_ongoing_requests}
        else:
            options["num_replicas"] = self.min_replicas
        return options


SERVING_KEYS = {"replicas", "gpus", "cpus", "models_per_replica", "max_ongoing_requests", "max_batch_size",
                "target_ongoing_requests", "threads"}


def parse_replicas(value: Any, where: str) -> tuple[int, int]:
    """`2`, `"1-4"` or `[1, 4]` -> (min, max); min may be 0 (scale to zero), max at least 1."""
    try:
        if isinstance(value, (list, tuple)) and len(value) == 2:
            low, high = int(value[0]), int(value[1])
        elif isinstance(value, str) and "-" in value:
            low, high = (int(part) for part in value.split("-", 1))
        else:
            low = high = int(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"{where}: replicas is a number or a range such as 1-4, not {value!r}.") from None
    if low < 0 or high < max(low, 1):
        raise InvalidInput(f"{where}: replicas go from at least 0 to at least 1 (and no fewer than the "
                           f"minimum), not {value!r}.")
    return low, high


def parse_serving(data: Any, *, replicas: str | None = None, models_per_replica: int | None = None,
                  max_batch_size: int | None = None, source: str = "the catalog") -> dict[str, Serving]:
    """Each family's Serving, from the catalog file's `serving:` section ({family or task: {replicas,
    gpus, cpus, models_per_replica, max_ongoing_requests, max_batch_size, target_ongoing_requests}}) over
    the flags' defaults (--ray-replicas, --max-loaded-models, --max-batch-size)."""
    base = Serving()
    if replicas is not None:
        low, high = parse_replicas(replicas, "--ray-replicas")
        base = replace(base, min_replicas=low, max_replicas=high)
    if models_per_replica is not None:
        base = replace(base, models_per_replica=max(1, int(models_per_replica)))
    if max_batch_size is not None:
        base = replace(base, max_batch_size=max(1, int(max_batch_size)))
    result = {family: base for family in FAMILIES}
    if data in (None, {}):
        return result
    if not isinstance(data, Mapping):
        raise InvalidInput(f"In {source}, serving: maps families ({', '.join(FAMILIES)}) to their settings.")
    for name, settings in data.items():
        family = str(name) if str(name) in FAMILIES else None
        if family is None:
            try:
                family = declared(canonical_task(str(name))).deployment
            except PlaygroundError:
                raise InvalidInput(f"In {source}, serving: {name} is neither a family ({', '.join(FAMILIES)}) "
                                   "nor a task.") from None
        where = f"In {source}, serving: {name}"
        if not isinstance(settings, Mapping):
            raise InvalidInput(f"{where} needs settings such as replicas: 1-2.")
        unknown = sorted(set(settings) - SERVING_KEYS)
        if unknown:
            raise InvalidInput(f"{where} has no setting {unknown[0]!r}; it takes {', '.join(sorted(SERVING_KEYS))}.")
        serving = result[family]
        if "replicas" in settings:
            low, high = parse_replicas(settings["replicas"], where)
            serving = replace(serving, min_replicas=low, max_replicas=high)
        try:
            for key, kind in (("gpus", float), ("cpus", float), ("models_per_replica", int),
                              ("max_ongoing_requests", int), ("max_batch_size", int),
                              ("target_ongoing_requests", float), ("threads", int)):
                if key in settings:
                    value = kind(settings[key])
                    if value < 0 or (kind is int and value < 1):
                        raise ValueError
                    serving = replace(serving, **{key: value})
        except (TypeError, ValueError):
            raise InvalidInput(f"{where}: {key} must be a positive number, not {settings[key]!r}.") from None
        result[family] = serving
    return result


def split_address(address: str) -> tuple[str, int] | None:
    """(host, port) of a cluster address to probe before Ray is asked (Ray waits a long time on a dead
    one), or None for `auto` (found by Ray itself)."""
    if address in ("auto", "local"):
        return None
    rest = address.split("://", 1)[-1]
    host, _, port = rest.rpartition(":")
    try:
        return (host or "127.0.0.1", int(port))
    except ValueError:
        raise InvalidInput(f"--ray-address {address!r} is not auto, local, host:port or ray://host:port.") from None


def reachable(host: str, port: int, seconds: float = 2.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=seconds):
            return True
    except OSError:
        return False


# -- the Board ---------------------------------------------------------------------------------------------

class Board:
    """What the replicas post and read (a Ray actor, named BOARD in NAMESPACE, one per cluster): their
    models and running requests, the Stop flags, and the unload orders in the order given."""

    def __init__(self) -> None:
        self.replicas: dict[str, dict[str, Any]] = {}
        self.stopped: dict[str, float] = {}
        self.orders: list[tuple[str, str | None]] = []
        self.deployed: dict[str, Any] = {}

    def sync(self, info: dict[str, Any], watching: list[str], seen: int) -> tuple[list[str], list[Any], int]:
        """A replica posts its state; it gets the Stop flags among the requests it runs, and the orders
        given since it last read (none the first time: what it loads afterwards was not ordered away)."""
        now = time.time()
        self.replicas[info["replica"]] = {**info, "seen": now}
        for key, when in list(self.stopped.items()):
            if now - when > 600:
                del self.stopped[key]
        for name, replica in list(self.replicas.items()):  # gone for ten minutes: autoscaled away, redeployed
            if now - replica["seen"] > 600:
                del self.replicas[name]
        stopped = [key for key in watching if key in self.stopped]
        orders = self.orders[seen:] if 0 <= seen <= len(self.orders) else []
        return stopped, orders, len(self.orders)

    def stop(self, key: str) -> None:
        self.stopped[key] = time.time()

    def order(self, task: str, model: str | None) -> None:
        self.orders.append((task, model))

    def live(self) -> list[dict[str, Any]]:
        now = time.time()
        return [info for info in self.replicas.values() if now - info["seen"] < REPLICA_SILENT_SECONDS]

    def deployment_config(self, family: str) -> Any:
        return self.deployed.get(family)

    def set_deployment_config(self, family: str, config: Any) -> None:
        self.deployed[family] = config


def board() -> Any:
    """The cluster's Board, made by whoever asks first (a front end, or a replica deployed by the operator)."""
    import ray

    return ray.remote(Board).options(name=BOARD, namespace=NAMESPACE, get_if_exists=True, lifetime="detached",
                                     num_cpus=0, max_restarts=-1).remote()  # a Board lost comes back (empty)


# -- a replica ---------------------------------------------------------------------------------------------

class Replica:
    """One replica of a family's deployment: an in-process ModelManager behind Serve.

    Every request names its model as the multiplexed model id ("task\\x1fmodel"), so Serve sends it to a
    replica that holds that model; `call` runs a pipeline method (or a function of models/) there, and
    `stream` a generation (its updates) or a run with progress (its steps, then its result)."""

    def __init__(self, family: str, catalog: Catalog, options: dict[str, Any]) -> None:
        import ray
        from ray import serve

        from .manager import ModelManager

        self.family = family
        if options.get("threads"):
            import torch

            torch.set_num_threads(int(options["threads"]))
        self.manager = ModelManager(catalog, device=options.get("device", "auto"), dtype=options.get("dtype"),
                                    max_loaded=options["models_per_replica"], allow_custom=True,
                                    allow_pickle=options.get("allow_pickle", False),
                                    max_batch_size=options.get("max_batch_size", 16))
        self.name = serve.get_replica_context().replica_id.unique_id
        self.node = ray.util.get_node_ip_address()
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=options.get("max_ongoing_requests", 32) + 2,
                                                          thread_name_prefix="request")
        self.stops: dict[str, threading.Event] = {}
        self.running = 0
        self.lock = threading.Lock()
        self.posting = threading.Lock()
        self.seen = -1  # the unload orders read so far (-1: none yet; those before this replica do not apply)
        self.board = board()

        async def load(key: str) -> _Held:
            task, model = key.split("\x1f", 1)
            await self._in_thread(self.manager.get, task, model)
            with contextlib.suppress(Exception):  # the Models tab (and a side's figures) see it at once
                await self._in_thread(self._post)
            return _Held(self.manager, task, model)

        # decorated here, not on the class: the cap per replica is a setting
        self.model = serve.multiplexed(max_num_models_per_replica=options["models_per_replica"])(load)
        threading.Thread(target=self._sync, name="board", daemon=True).start()

    async def _in_thread(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.pool, lambda: fn(*args, **kwargs))

    def _sync(self) -> None:
        while True:
            try:
                watching = self._post()
            except Exception:  # noqa: BLE001 - the Board restarting: post again in a moment
                time.sleep(1.0)
                continue
            time.sleep(SYNC_SECONDS_BUSY if watching else SYNC_SECONDS)

    def _post(self) -> bool:
        """Post this replica's state to the Board, set the Stop flags it has for the requests running here,
        and carry out the unload orders given since the last post; whether a request here can be stopped."""
        import ray

        with self.posting:
            with self.lock:
                watching, running = list(self.stops), self.running
            info = {"replica": self.name, "deployment": self.family, "node": self.node, "pid": os.getpid(),
                    "device": self.manager.device_if_known(), "running": running, "models": self.manager.loaded()}
            stopped, orders, upto = ray.get(self.board.sync.remote(info, watching, self.seen), timeout=10)
            with self.lock:
                events = [self.stops[key] for key in stopped if key in self.stops]
            for event in events:
                event.set()
            if self.seen < 0 or self.seen > upto:
                self.seen = upto  # the orders before this replica was made (or before the Board came back) are not for it
            for task, model in orders:  # one at a time: a failing one is not taken for done with the rest
                self.seen += 1
                with contextlib.suppress(Exception):
                    if model is None:
                        self.manager.unload_all()
                    else:
                        self.manager.unload(task, model)
        return bool(watching)

    @contextlib.contextmanager
    def _request(self, stop_key: str | None) -> Iterator[threading.Event | None]:
        event = threading.Event() if stop_key else None
        with self.lock:
            self.running += 1
            if stop_key:
                self.stops[stop_key] = event
        try:
            yield event
        finally:
            with self.lock:
                self.running -= 1
                if stop_key:
                    self.stops.pop(stop_key, None)

    async def _model(self) -> tuple[str, str]:
        from ray import serve

        key = serve.get_multiplexed_model_id()
        await self.model(key)
        task, model = key.split("\x1f", 1)
        return task, model

    async def call(self, fn: Any, args: tuple, kwargs: dict[str, Any], stop_key: str | None = None) -> Any:
        """fn on the model (ModelManager.run), or "predict" through the replica's batcher; the result and
        this replica's name."""
        task, model = await self._model()
        with self._request(stop_key) as stop:
            if stop is not None:
                kwargs = {**kwargs, "stop": stop}
            if fn == "predict" and not stop_key:
                value = await self._in_thread(self.manager.predict, task, model, *args, **kwargs)
            elif fn == "load":  # loaded again here if an unload order took it off behind the multiplexer's back
                await self._in_thread(self.manager.get, task, model)
                with contextlib.suppress(Exception):
                    await self._in_thread(self._post)
                value = None
            else:
                value = await self._in_thread(self.manager.run, task, model, fn, *args, **kwargs)
        return value, self.name

    async def stream(self, fn: Any, args: tuple, kwargs: dict[str, Any], stop_key: str | None = None) -> Any:
        """A generation's updates (fn "stream"), or a run's ("progress", step, total) steps then
        ("result", value): whatever the front end reads as it comes. A cancelled request (the visitor
        left) stops its work at the next step."""
        task, model = await self._model()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue = asyncio.Queue()

        def put(item: Any) -> None:
            loop.call_soon_threadsafe(queue.put_nowait, item)

        with self._request(stop_key or uuid.uuid4().hex) as stop:
            def work() -> None:
                try:
                    if fn == "stream":
                        for update in self.manager.stream(task, model, *args, stop=stop, **kwargs):
                            put(("update", update))
                    else:
                        value = self.manager.run(task, model, fn, *args, stop=stop,
                                                 progress=lambda step, total: put(("progress", step, total)),
                                                 **kwargs)
                        put(("result", value))
                    put(("end",))
                except BaseException as e:  # noqa: BLE001 - raised in the front end's call
                    put(("error", e))

            self.pool.submit(work)
            try:
                while True:
                    item = await queue.get()
                    if item[0] == "end":
                        return
                    if item[0] == "error":
                        raise item[1]
                    yield (*item, self.name)
            finally:
                stop.set()  # ended, failed, or cancelled: a generation still running stops at its next token


class _Held:
    """What the multiplexer keeps per model: Serve calls __del__ when its cap evicts the model."""

    def __init__(self, manager: Any, task: str, model: str) -> None:
        self.manager, self.task, self.model, self.done = manager, task, model, False

    def __del__(self) -> None:  # Serve calls it on eviction, and Python again when the object goes
        if not self.done:
            self.done = True
            with contextlib.suppress(Exception):
                self.manager.unload(self.task, self.model)


# -- the front end's manager ---------------------------------------------------------------------------------

class ClusterManager:
    """The manager's interface (models/manager.py), served by Ray Serve deployments.

    address: "local" starts Ray on this machine (usage statistics and the dashboard off, token
    authentication on: Ray 2.60's own default) and stops it with the app; "auto", "host:port" or "ray://host:10001" joins a running cluster, whose deployments
    outlive the app (a front end started again finds its models loaded). The connection is made in the
    background: the page is served at once, calls wait for it, and an unreachable cluster is one sentence,
    tried again by the first call five seconds later."""

    def __init__(self, catalog: Catalog, *, address: str = "local", serving: dict[str, Serving] | None = None,
                 device: str = "auto", dtype: str | None = None, allow_custom: bool = True,
                 allow_pickle: bool = False, local_cpus: int | None = None) -> None:
        split_address(address)  # a malformed address is told at startup
        self.catalog = catalog
        self.address = address
        self.serving = serving or parse_serving(None)
        self.device_preference = device
        self.dtype_name = dtype
        self.allow_custom = allow_custom
        self.allow_pickle = allow_pickle
        self.local_cpus = local_cpus
        self.batcher = None  # requests meet in each replica's own batcher
        self.availability = None
        self._handles: dict[str, Any] = {}
        self._board: Any = None
        self._connected = threading.Event()
        self._connecting = threading.Lock()
        self._failure: str | None = None
        self._tried_at = 0.0
        self._loading: dict[tuple[str, str], LoadProgress] = {}
        self._lock = threading.Lock()
        self._started_ray = False
        self._keeper: threading.Thread | None = None
        self._closed = threading.Event()

    @property
    def failure(self) -> str | None:
        """Why the cluster cannot be reached now, or None."""
        return self._failure

    @property
    def concurrent_calls(self) -> int:
        """Model calls the front end sends at once (Gradio's queue, the chat's turns): what the replicas take
        together, at most 32 (Gradio's threads are 40)."""
        return min(32, sum(s.max_replicas * s.max_ongoing_requests for s in self.serving.values()))

    @property
    def max_loaded(self) -> int:
        """Models kept loaded per replica of a family (what /compare checks before running sides at once)."""
        return min(s.models_per_replica for s in self.serving.values())

    # -- connecting ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect and deploy in the background; the page does not wait. The thread stays until close():
        Ray's local processes are told to end when the thread that started them ends (Linux's parent-death
        signal follows the thread), so a local instance is started by it and it lives as long as the app."""
        with self._lock:
            if self._keeper is not None:
                return
            self._keeper = threading.Thread(target=self._keep, name="ray", daemon=True)
        self._keeper.start()

    def _keep(self) -> None:
        with contextlib.suppress(PlaygroundError):
            self.connect()
        self._closed.wait()

    def connect(self) -> None:
        """Join (or start) the cluster and make sure every family's deployment runs; raises
        ClusterUnavailable with the sentence when the cluster cannot be reached."""
        with self._connecting:
            if self._connected.is_set():
                return
            self._tried_at = time.monotonic()
            try:
                self._connect()
            except PlaygroundError as e:
                said = e.args[0] if e.args else None
                self._failure = said if isinstance(said, Message) else str(e)  # a Message keeps its languages
                raise
            except Exception as e:  # noqa: BLE001 - Ray's own errors become the sentence
                self._failure = say("cluster.unreachable_because", address=self.address, error=type(e).__name__)
                self._disconnect()
                raise ClusterUnavailable(self._failure) from e
            self._failure = None
            self._connected.set()

    def _connect(self) -> None:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        import ray
        from ray import serve

        target = split_address(self.address)
        if target is not None and not reachable(*target):
            raise ClusterUnavailable(say("cluster.unreachable", address=self.address))
        if not ray.is_initialized():
            if self.address == "local":
                ray.init(address="local", num_cpus=self.local_cpus or max(os.cpu_count() or 1, 4),
                         include_dashboard=False, _node_ip_address="127.0.0.1", namespace=NAMESPACE,
                         log_to_driver=False, runtime_env={"env_vars": {"PYTHONPATH": str(ROOT),
                                                                        "RAY_USAGE_STATS_ENABLED": "0"}})
                self._started_ray = True
            else:
                ray.init(address=self.address, namespace=NAMESPACE, log_to_driver=False,
                         runtime_env={"working_dir": str(ROOT), "excludes": [
                             ".venv", ".git", "tests", "benchmarks", "assets", "*.pyc", "__pycache__"]})
        self._board = board()
        serve.start(proxy_location="Disabled")
        cluster_gpus = ray.cluster_resources().get("GPU", 0.0)
        status = serve.status().applications
        targets = []
        for family in self._families():
            serving = self.serving[family]
            options = serving.options(cluster_gpus, family)
            replica_options = {"models_per_replica": serving.models_per_replica, "device": self.device_preference,
                               "dtype": self.dtype_name, "allow_pickle": self.allow_pickle,
                               "max_batch_size": serving.max_batch_size,
                               "max_ongoing_requests": serving.max_ongoing_requests, "threads": serving.threads}
            config = repr((options, replica_options, sorted((t, [s.model_id for s in specs])
                                                            for t, specs in self.catalog.entries.items())))
            running = family in status and status[family].status == "RUNNING"
            deployed = ray.get(self._board.deployment_config.remote(family)) if running else None
            if running and deployed in (config, OPERATOR):
                continue  # deployed as asked by an earlier front end, or by the operator: its replicas keep their models
            deployment = serve.deployment(Replica).options(**options)
            targets.append((family, config, serve.RunTarget(deployment.bind(family, self.catalog, replica_options),
                                                            name=family, route_prefix=None)))
        if targets:
            serve.run_many([t for _, _, t in targets])
            for family, config, _ in targets:
                ray.get(self._board.set_deployment_config.remote(family, config))
        self._handles = {family: serve.get_app_handle(family) for family in self._families()}

    def _families(self) -> list[str]:
        return list(dict.fromkeys(declared(t).deployment for t in self.catalog.tasks()))

    def _disconnect(self) -> None:
        self._connected.clear()
        self._handles = {}
        self._board = None
        if not self._started_ray:
            with contextlib.suppress(Exception):
                import ray

                ray.shutdown()

    def _ready(self) -> None:
        """Wait for the first connection; when the cluster was unreachable, try again (at most every 5 s)."""
        if self._connected.is_set():
            return
        self.start()
        deadline = time.monotonic() + CONNECT_SECONDS
        while self._failure is None and not self._connected.is_set() and time.monotonic() < deadline:
            self._connected.wait(0.1)  # the first connection, made by the keeper thread
        if self._connected.is_set():
            return
        if self._failure is None:
            raise ClusterUnavailable(say("cluster.starting", address=self.address))
        if time.monotonic() - self._tried_at < RECONNECT_SECONDS or (self.address == "local" and not self._started_ray):
            raise ClusterUnavailable(self._failure)
        if not self._connecting.acquire(blocking=False):  # another call is connecting: no line of them
            raise ClusterUnavailable(self._failure)
        self._connecting.release()
        self.connect()  # a cluster joined, not started here: any thread may join it again

    def close(self) -> None:
        """Stop the local Ray instance this app started (a cluster it joined keeps running)."""
        if not self._started_ray:
            return
        import ray
        from ray import serve

        with contextlib.suppress(Exception):
            serve.shutdown()
        with contextlib.suppress(Exception):
            ray.shutdown()
        self._started_ray = False
        self._connected.clear()
        self._closed.set()

    # -- resolving -------------------------------------------------------------------------------------
    def spec(self, task: str, model_id: str | None = None) -> ModelSpec:
        from .manager import ModelManager

        return ModelManager.spec(self, task, model_id)  # type: ignore[arg-type] - reads catalog and allow_custom

    def is_loaded(self, task: str, model_id: str | None = None) -> bool:
        spec = self.spec(task, model_id)
        return self.entry(spec.task, spec.model_id) is not None

    # -- calling ---------------------------------------------------------------------------------------
    def _handle(self, spec: ModelSpec, stream: bool = False) -> Any:
        self._ready()
        handle = self._handles.get(declared(spec.task).deployment)
        if handle is None:  # disconnected meanwhile (another call found the cluster gone)
            raise ClusterUnavailable(self._failure or say("cluster.unreachable", address=self.address))
        return handle.options(multiplexed_model_id=f"{spec.task}\x1f{spec.model_id}", stream=stream)

    def _remote(self, spec: ModelSpec, fn: Any, args: tuple, kwargs: dict[str, Any],
                stop: threading.Event | None = None) -> Any:
        """One call to a replica, tried again once (on another replica) when its replica dies under it."""
        for attempt in (0, 1):
            with self._watched(stop) as stop_key, _cluster_errors(self, lambda: attempt == 0) as again:
                value, _ = self._handle(spec).call.remote(fn, args, kwargs, stop_key).result()
                return value
            if not again:
                break
        raise AssertionError("unreachable: the second failure raised its sentence")

    def _events(self, spec: ModelSpec, fn: str, args: tuple, kwargs: dict[str, Any],
                stop: threading.Event | None = None) -> Iterator[tuple]:
        """A replica's stream, tried again once when its replica dies before the first item (after it, the
        visitor has seen part of an answer: the failure is told instead)."""
        for attempt in (0, 1):
            got, finished, response = False, False, None
            with self._watched(stop) as stop_key:
                try:
                    with _cluster_errors(self, lambda: attempt == 0 and not got) as again:
                        response = self._handle(spec, stream=True).stream.remote(fn, args, kwargs, stop_key)
                        for item in response:
                            got = True
                            yield item
                        finished = True
                        return
                finally:
                    if response is not None and not finished:
                        with contextlib.suppress(Exception):
                            response.cancel()  # the consumer left early (a closed tab): the replica stops
            if not again:
                return

    @contextlib.contextmanager
    def _watched(self, stop: threading.Event | None) -> Iterator[str | None]:
        """A Stop flag's key on the Board, posted there when the visitor's flag is set."""
        if stop is None:
            yield None
            return
        key, done = uuid.uuid4().hex, threading.Event()

        def watch() -> None:
            while not done.is_set():
                if stop.wait(0.05):
                    with contextlib.suppress(Exception):
                        self._board.stop.remote(key)
                    return

        threading.Thread(target=watch, name="stop watch", daemon=True).start()
        try:
            yield key
        finally:
            done.set()

    def get(self, task: str, model_id: str | None = None, on_loading: Callable[[ModelSpec], None] | None = None) -> None:
        """Load (task, model) on a replica of its family, if none holds it."""
        spec = self.spec(task, model_id)
        key = (spec.task, spec.model_id)
        with self._lock:
            progress = self._loading.setdefault(key, LoadProgress(label=spec.name))
        try:
            if on_loading is not None and self.entry(*key) is None:
                on_loading(spec)
            progress.report(say("load.on_replica"))
            self._remote(spec, "load", (), {})
        finally:
            with self._lock:
                if self._loading.get(key) is progress:
                    del self._loading[key]

    def preload(self, tasks: list[str]) -> list[None]:
        return [self.get(canonical_task(t)) for t in tasks]

    def run(self, task: str, model_id: str | None, fn: str | Callable[..., Any], *args: Any,
            stop: threading.Event | None = None, progress: Callable[[int, int], Any] | None = None,
            **kwargs: Any) -> Any:
        """ModelManager.run on a replica; `stop` reaches it through the Board, `progress` comes back as the
        replica's stream."""
        spec = self.spec(task, model_id)
        args = _portable(args, self.address)
        kwargs = _portable(kwargs, self.address)
        if progress is None:
            return self._remote(spec, fn, args, kwargs, stop)
        for item in self._events(spec, fn, args, kwargs, stop):
            if item[0] == "progress":
                progress(item[1], item[2])
            elif item[0] == "result":
                return item[1]
        raise ClusterUnavailable(say("cluster.no_answer"))

    def call(self, task: str, model_id: str | None, fn: Callable[[Any], Any]) -> Any:
        raise InvalidInput("A call on the Ray backend names a pipeline method or a function of models/; "
                           "use manager.run.")

    def predict(self, task: str, model_id: str | None, inputs: Any, **params: Any) -> Any:
        spec = self.spec(task, model_id)
        return self._remote(spec, "predict", (_portable(inputs, self.address),), params)

    def stream(self, task: str, model_id: str | None, inputs: Any, stop: threading.Event | None = None,
               **params: Any) -> Iterator[Any]:
        spec = self.spec(task, model_id)
        for item in self._events(spec, "stream", (inputs,), params, stop):
            yield item[1]

    # -- what is loaded, where -------------------------------------------------------------------------
    def replicas(self) -> list[dict[str, Any]]:
        """Every live replica: its name, deployment, node, device, requests running and models."""
        if not self._connected.is_set() or self._board is None:
            return []
        import ray

        try:
            return sorted(ray.get(self._board.live.remote(), timeout=5), key=lambda r: (r["deployment"], r["replica"]))
        except Exception:  # noqa: BLE001 - the cluster went away: nothing is known to be loaded
            return []

    def deployments(self) -> list[dict[str, Any]]:
        """Each family's application as `serve.status()` says: its status and replicas per state."""
        if not self._connected.is_set():
            return []
        from ray import serve

        try:
            applications = serve.status().applications
        except Exception:  # noqa: BLE001
            return []
        rows = []
        for name, app in sorted(applications.items()):
            for deployment_name, deployment in app.deployments.items():
                rows.append({"application": name, "deployment": deployment_name, "status": str(deployment.status.value),
                             "replicas": {str(k.value if hasattr(k, "value") else k): v
                                          for k, v in deployment.replica_states.items()}})
        return rows

    def loaded(self) -> list[dict[str, Any]]:
        """One row per model and replica that holds it, with the replica's name and node."""
        rows = []
        for replica in self.replicas():
            for model in replica["models"]:
                rows.append({**model, "replica": replica["replica"], "node": replica["node"],
                             "deployment": replica["deployment"]})
        return rows

    def entry(self, task: str, model_id: str) -> dict[str, Any] | None:
        rows = [r for r in self.loaded() if r["task"] == canonical_task(task) and r["model"] == model_id]
        if not rows:
            return None
        return {**rows[0], "replicas": [r["replica"] for r in rows]}

    def loading(self, task: str, model_id: str | None = None) -> dict[str, Any] | None:
        spec = self.spec(task, model_id)
        with self._lock:
            progress = self._loading.get((spec.task, spec.model_id))
        return None if progress is None else progress.snapshot()

    def peek(self, task: str, model_id: str) -> None:
        return None  # the pipeline lives on a replica

    def unload(self, task: str, model_id: str) -> bool:
        """Unload the model on every replica that holds it; False when none did."""
        key = (canonical_task(task), check_model_id(model_id))
        if self.entry(*key) is None:
            return False
        self._order(key[0], key[1], lambda: self.entry(*key) is None)
        return True

    def unload_all(self) -> int:
        count = len(self.loaded())
        if count:
            self._order("", None, lambda: not self.loaded())
        return count

    def _order(self, task: str, model: str | None, done: Callable[[], bool]) -> None:
        import ray

        ray.get(self._board.order.remote(task, model))
        deadline = time.monotonic() + UNLOAD_WAIT_SECONDS
        while time.monotonic() < deadline and not done():
            time.sleep(0.1)

    def placed_on(self, device: str) -> contextlib.AbstractContextManager:
        return contextlib.nullcontext()

    def device_if_known(self) -> str | None:
        return None  # each replica has its own: the Models tab lists them

    def memory(self) -> dict[str, Any]:
        return {}


@contextlib.contextmanager
def _cluster_errors(manager: ClusterManager, retry: Callable[[], bool]) -> Iterator[list[bool]]:
    """A replica's PlaygroundError raised as itself; a replica that died: the caller tries once more when
    retry() says so (the block ends quietly with True in the list it was given), else one sentence; a
    cluster gone: one sentence, and a later call connects again."""
    from ray import exceptions as ray_errors

    died = (ray_errors.RayActorError, ray_errors.ActorUnavailableError)
    again: list[bool] = []
    try:
        yield again
    except BaseException as e:
        cause = e.cause if isinstance(e, ray_errors.RayTaskError) and e.cause is not None else e
        if isinstance(cause, died):
            if retry():
                again.append(True)
                return
            raise ClusterUnavailable(say("cluster.replica_stopped")) from None
        if isinstance(cause, (ConnectionError, ray_errors.RaySystemError, ray_errors.GetTimeoutError)):
            manager._failure = say("cluster.stopped_answering", address=manager.address)
            manager._tried_at = time.monotonic()
            manager._disconnect()
            raise ClusterUnavailable(manager._failure) from None
        if cause is not e:
            raise cause from None  # the replica's own error (a sentence), without Ray's wrapping
        raise


def _portable(value: Any, address: str) -> Any:
    """Uploaded files as their bytes when the replicas may be on other machines (Gradio's upload folder
    is on this one); the adapters read bytes as they read paths. Local: the paths as they are."""
    if address == "local":
        return value
    uploads = Path(os.environ.get("GRADIO_TEMP_DIR") or Path(tempfile.gettempdir()) / "gradio").resolve()
    if isinstance(value, str) and len(value) < 4096:
        with contextlib.suppress(OSError, ValueError):
            path = Path(value).resolve()
            if path.is_file() and uploads in path.parents:
                return path.read_bytes()
        return value
    if isinstance(value, (list, tuple)):
        return type(value)(_portable(v, address) for v in value)
    if isinstance(value, dict):
        return {k: _portable(v, address) for k, v in value.items()}
    return value


# -- deployed by the operator (a KubeRay RayService, `serve run`) -------------------------------------------

OPERATOR = "deployed by the operator"


def family_app(args: dict[str, Any]) -> Any:
    """A Serve application builder: `serve run models.cluster:family_app family=text config=catalog.yaml`, or a
    RayService's serveConfigV2 (`import_path: models.cluster:family_app`, `args: {family, config}`). The
    front end finds it running and uses it as it is (it deploys only the families nobody deployed)."""
    import ray
    from ray import serve

    from .catalog import load_catalog

    family = str(args["family"])
    if family not in FAMILIES:
        raise InvalidInput(f"family is one of {', '.join(FAMILIES)}, not {family!r}.")
    catalog = load_catalog(args.get("config"))
    serving = parse_serving(catalog.serving, source=catalog.source)[family]
    options = serving.options(ray.cluster_resources().get("GPU", 0.0) if ray.is_initialized() else 0.0, family)
    ray.get(board().set_deployment_config.remote(family, OPERATOR))
    return serve.deployment(Replica).options(**options).bind(
        family, catalog, {"models_per_replica": serving.models_per_replica, "device": args.get("device", "auto"),
                          "max_batch_size": serving.max_batch_size,
                          "max_ongoing_requests": serving.max_ongoing_requests, "threads": serving.threads})
