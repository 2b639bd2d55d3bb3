"""What every benchmark shares: statistics, the machine's description, the models, the servers,
and a plain-HTTP client of Gradio's REST API.

Nothing here asserts a timing: benchmarks measure and report, the reader judges.
"""
from __future__ import annotations

import contextlib
import hashlib
import http.client
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
os.environ.setdefault("TQDM_DISABLE", "1")  # transformers' "Loading weights" bars in every server log
# libgomp (torch's OpenMP) spins 300,000 times at each wait when a process has no more OpenMP
# threads than cores, and only 100 times when it has more (libgomp's GOMP_SPINCOUNT documentation),
# as the server soon does (one team per Gradio worker thread). On a 2-core machine shared with other
# jobs the long spin starves the partner thread and made a single caller's forward pass 3-14x slower
# (see BENCHMARKS.md), so every process here gets a short spin like the server's: baselines and app
# run under the same kind of policy. `python -m benchmarks.run --default-spin` leaves the default.
if os.environ.get("BENCH_DEFAULT_SPIN") != "1":
    os.environ.setdefault("GOMP_SPINCOUNT", "1000")

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "benchmarks"
RESULTS = BENCH / "results"
CACHE = Path(os.environ.get("PLAYGROUND_BENCH_CACHE", BENCH / ".cache"))  # bench-sized models, images
SHARED_MODELS = ROOT.parent / "shared" / "models"
ASSETS = ROOT / "assets"
CAT_JPG = ASSETS / "images" / "cat.jpg"

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.launch import free_port, wait_http_200  # noqa: E402 - after the path above


# -- statistics ------------------------------------------------------------------------------------

def median(values: list[float]) -> float | None:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (q in 0..100); None for no values."""
    values = sorted(v for v in values if v is not None)
    if not values:
        return None
    rank = max(1, min(len(values), int(-(-q * len(values) // 100))))  # ceil(q/100 * n)
    return values[rank - 1]


def ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return a / b


def interleaved(n: int, variants: dict[str, Callable[[], Any]], *, warmup: int = 1,
                settle: float = 0.0) -> dict[str, list[Any]]:
    """Run each variant n times, alternating them and rotating their order every round, so slow
    phases of a shared machine hit every variant alike. Returns each variant's results in order.

    settle: seconds to sleep before each run, so the work a process does after answering
    (a server's bookkeeping, spinning OpenMP threads) does not land on the next variant."""
    names = list(variants)
    for _ in range(warmup):
        for name in names:
            variants[name]()
    out: dict[str, list[Any]] = {name: [] for name in names}
    for i in range(n):
        k = i % len(names)
        for name in names[k:] + names[:k]:
            if settle:
                time.sleep(settle)
            out[name].append(variants[name]())
    return out


def timed(fn: Callable[[], Any]) -> Callable[[], float]:
    def run() -> float:
        start = time.perf_counter()
        fn()
        return time.perf_counter() - start
    return run


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


# -- the machine ---------------------------------------------------------------------------------------

def _run(cmd: list[str]) -> str:
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine() -> dict[str, Any]:
    import importlib.metadata as md

    def version(name: str) -> str:
        try:
            return md.version(name)
        except md.PackageNotFoundError:
            return "not installed"

    cpu = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    gpu = "none"
    if shutil.which("nvidia-smi"):
        gpu = _run(["nvidia-smi", "--query-gpu=name,memory.total", "--format=csv,noheader"]) or "none"
    return {
        "nproc": _run(["nproc"]) or str(os.cpu_count()),
        "cpu_model": cpu,
        "free_g": _run(["free", "-g"]),
        "gpu": gpu,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "versions": {n: version(n) for n in ("torch", "transformers", "gradio", "gradio_client", "diffusers",
                                              "open_clip_torch", "timm")},
        "load_average": load_average(),
    }


# -- models --------------------------------------------------------------------------------------------

def tiny(name: str) -> str:
    """A tiny test model (tests/builders), built into tests/.cache on first use, shared with the tests."""
    from tests.conftest import TinyModels  # the tests' own cache and naming

    return TinyModels()[name]


def efficientnet() -> str | None:
    folder = SHARED_MODELS / "efficientnet_lite0"
    return str(folder) if (folder / "model.safetensors").exists() else None


def cached_build(name: str, build: Callable[[Path], None]) -> str:
    """A folder built once by build(folder) and kept in CACHE; its name holds a digest of
    benchmarks/models.py, so editing a builder rebuilds it."""
    digest = hashlib.sha256((BENCH / "models.py").read_bytes()).hexdigest()[:8]
    folder = CACHE / f"{name}-{digest}"
    if not (folder / ".complete").exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        for old in CACHE.glob(f"{name}-*"):  # builds of an older models.py (CLIP's is 578 MB)
            if old.is_dir() and len(old.name) == len(folder.name):
                shutil.rmtree(old, ignore_errors=True)
        building = Path(tempfile.mkdtemp(prefix=f".{name}-building-", dir=CACHE))
        try:
            build(building)
            (building / ".complete").write_text("ok")
            try:
                building.rename(folder)
            except OSError:
                if not (folder / ".complete").exists():
                    raise
        finally:
            shutil.rmtree(building, ignore_errors=True)
    return str(folder)


def write_catalog(data: dict[str, Any], folder: Path) -> Path:
    import yaml

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"catalog-{uuid.uuid4().hex[:8]}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# -- servers ---------------------------------------------------------------------------------------------

# free_port() and wait_http_200(url, timeout, proc, interval) are the tests' (tests/launch.py).


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    env.update(GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
               HF_HUB_DISABLE_TELEMETRY="1", TQDM_DISABLE="1", PYTHONUNBUFFERED="1")
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def merged_env(extra: dict[str, str | None] | None) -> dict[str, str]:
    """bench_env() with `extra` applied; a None value removes the variable."""
    env = bench_env()
    for key, value in (extra or {}).items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return env


def stop_process(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """End a process this module started (its own session, so its group is only its children)."""
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=timeout)


@dataclass
class Server:
    """The app (python -m benchmarks.serve -- APP FLAGS) in its own process on a free port."""

    name: str
    url: str
    proc: subprocess.Popen
    log: Path
    stats_file: Path | None = None
    ready_seconds: float = 0.0

    def batch_stats(self) -> dict[str, int]:
        """{"batches", "items"} the server's Batcher ran so far (written by benchmarks/serve.py)."""
        empty = {"batches": 0, "items": 0, "gc_runs": [0, 0, 0], "gc_seconds": [0.0, 0.0, 0.0]}
        if self.stats_file is None:
            return empty
        time.sleep(0.25)  # the server rewrites the file every 0.2 s
        for _ in range(50):
            with contextlib.suppress(OSError, ValueError):
                return {**empty, **json.loads(self.stats_file.read_text())}
            time.sleep(0.02)
        return empty

    def cpu_seconds(self) -> float:
        import psutil

        try:
            t = psutil.Process(self.proc.pid).cpu_times()
            return t.user + t.system
        except psutil.Error:
            return float("nan")

    def rss_mb(self) -> float:
        import psutil

        try:
            return psutil.Process(self.proc.pid).memory_info().rss / 2**20
        except psutil.Error:
            return float("nan")

    def close(self) -> None:
        stop_process(self.proc)


def start_server(name: str, catalog: dict[str, Any], workdir: Path, *, app_args: list[str] = (),
                 yield_every: float | None = None, timeout: float = 120.0) -> Server:
    port = free_port()
    config = write_catalog(catalog, workdir)
    log = workdir / f"server-{name}-{port}.log"
    stats = workdir / f"server-{name}-{port}.stats.json"
    cmd = [sys.executable, "-m", "benchmarks.serve", "--stats-file", str(stats)]
    if yield_every is not None:
        cmd += ["--yield-every", str(yield_every)]
    cmd += ["--", "--config", str(config), "--port", str(port), "--device", "cpu", *app_args]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=bench_env(), stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    try:
        seconds = wait_http_200(url, timeout, proc, interval=0.02)
    except BaseException:
        stop_process(proc)
        raise RuntimeError(f"server {name} did not start; its log:\n{log.read_text()[-3000:]}") from None
    return Server(name=name, url=url, proc=proc, log=log, stats_file=stats, ready_seconds=seconds)


class Worker:
    """A benchmarks/worker.py process: one kind of call, set up once, run and timed on demand."""

    def __init__(self, kind: str, workdir: Path, *, env: dict[str, str | None] | None = None,
                 **args: Any) -> None:
        self.log = workdir / f"worker-{kind}-{uuid.uuid4().hex[:6]}.log"
        with open(self.log, "wb") as err:
            self.proc = subprocess.Popen([sys.executable, "-m", "benchmarks.worker", kind, json.dumps(args)],
                                         cwd=ROOT, env=merged_env(env), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                         stderr=err, text=True, bufsize=1, start_new_session=True)
        self._expect("READY")

    def _expect(self, prefix: str) -> str:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"worker exited ({self.proc.poll()}); its log:\n{self.log.read_text()[-3000:]}")
            if line.startswith(prefix):
                return line[len(prefix):].strip()

    def __call__(self, **params: Any) -> dict[str, Any]:
        self.proc.stdin.write(json.dumps(params) + "\n")
        self.proc.stdin.flush()
        result = json.loads(self._expect("RESULT "))
        if "error" in result:
            raise RuntimeError(f"worker call failed: {result['error']}")
        return result

    def seconds(self, **params: Any) -> Callable[[], float]:
        return lambda: self(**params)["seconds"]

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            stop_process(self.proc)


# -- Gradio's REST API over plain HTTP ---------------------------------------------------------------

class ApiError(RuntimeError):
    pass


@dataclass
class Call:
    """One API call: its final data and, for streams, when each update arrived."""

    data: Any
    seconds: float
    events: list[tuple[float, str, Any]] = field(default_factory=list)  # (seconds since start, event, data)

    def first(self, predicate: Callable[[Any], bool]) -> float | None:
        for t, event, data in self.events:
            if event in ("generating", "complete") and predicate(data):
                return t
        return None


class Rest:
    """POST /gradio_api/call/<api> {"data": [...]}, then GET .../<event_id> until "complete".

    One keep-alive HTTP connection per instance (use one per thread), as a program calling
    the API in a loop would."""

    def __init__(self, url: str, timeout: float = 120.0) -> None:
        m = re.match(r"http://([^:/]+):(\d+)", url)
        if not m:
            raise ValueError(url)
        self.host, self.port, self.timeout = m.group(1), int(m.group(2)), timeout
        self.conn: http.client.HTTPConnection | None = None

    def _request(self, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> http.client.HTTPResponse:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                return self.conn.getresponse()
            except (http.client.HTTPException, ConnectionError, OSError):
                self.close()  # a keep-alive connection the server closed: once more on a new one
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def upload(self, path: str | Path) -> dict[str, Any]:
        """Upload a file as gradio_client does; returns the FileData to put in "data"."""
        path = Path(path)
        boundary = uuid.uuid4().hex
        body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"{path.name}\"\r\n"
                f"Content-Type: application/octet-stream\r\n\r\n").encode() + path.read_bytes() + \
            f"\r\n--{boundary}--\r\n".encode()
        response = self._request("POST", "/gradio_api/upload", body,
                                 {"Content-Type": f"multipart/form-data; boundary={boundary}"})
        payload = response.read()
        if response.status != 200:
            raise ApiError(f"upload answered {response.status}: {payload[:200]!r}")
        server_path = json.loads(payload)[0]
        return {"path": server_path, "orig_name": path.name, "meta": {"_type": "gradio.FileData"}}

    def call(self, api_name: str, data: list[Any], *, keep_events: bool = False,
             session_hash: str | None = None) -> Call:
        """session_hash: reuse one server-side session (as gradio_client does); without it Gradio
        builds a fresh session state for every call."""
        start = time.perf_counter()
        api_name = api_name.lstrip("/")
        body: dict[str, Any] = {"data": data}
        if session_hash:
            body["session_hash"] = session_hash
        response = self._request("POST", f"/gradio_api/call/{api_name}", json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
        payload = response.read()
        if response.status != 200:
            raise ApiError(f"/{api_name} answered {response.status}: {payload[:300]!r}")
        event_id = json.loads(payload)["event_id"]
        response = self._request("GET", f"/gradio_api/call/{api_name}/{event_id}")
        if response.status != 200:
            raise ApiError(f"/{api_name} stream answered {response.status}: {response.read()[:300]!r}")
        events: list[tuple[float, str, Any]] = []
        event, result, done = None, None, False
        try:
            while True:
                line = response.readline()
                if not line:
                    break
                if time.perf_counter() - start > self.timeout:  # heartbeats keep a stuck stream alive
                    raise ApiError(f"/{api_name}: no complete event within {self.timeout:.0f} s")
                line = line.rstrip(b"\r\n")
                if line.startswith(b"event:"):
                    event = line[6:].strip().decode()
                elif line.startswith(b"data:"):
                    now = time.perf_counter() - start
                    raw = line[5:].strip()
                    if event in ("generating", "complete", "error"):
                        value = json.loads(raw) if raw and raw != b"null" else None
                        if keep_events or event != "generating":
                            events.append((now, event, value))
                        if event == "error":
                            raise ApiError(f"/{api_name} failed: {value}")
                        if event == "complete":
                            result, done = value, True
                            break
            response.read()  # the stream ends after "complete": drain it, keep the connection
        except BaseException:
            self.close()
            raise
        if not done:
            self.close()
            raise ApiError(f"/{api_name}: the stream ended without a complete event")
        return Call(data=result, seconds=time.perf_counter() - start, events=events)


# -- small helpers ---------------------------------------------------------------------------------------

def ms(seconds: float | None) -> float | None:
    return None if seconds is None else seconds * 1000.0


def fmt(value: Any, unit: str = "", digits: int | None = None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        if digits is None:
            digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2 if abs(value) >= 1 else 3
        text = f"{value:,.{digits}f}"
    else:
        text = str(value)
    return f"{text} {unit}".strip() if unit else text


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def sentences(n: int, seed: int = 0) -> list[str]:
    """Short English sentences like the sentiment examples, all a similar length."""
    import random

    from tests.builders.text import sentiment_sentences

    rng = random.Random(seed)
    return [text for text, _ in sentiment_sentences(rng, n)]


def run_threads(n: int, target: Callable[[int], None], *, name: str = "client") -> None:
    threads = [threading.Thread(target=target, args=(i,), name=f"{name}-{i}", daemon=True) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
