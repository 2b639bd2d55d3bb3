"""Which catalog models this server can serve now: in a local folder, in the Hugging Face cache, after
a download, or not at all.

Without this, on a machine that cannot reach the Hub every click on an uncached model waited 23 s
(huggingface_hub retries) and failed, and the next click waited again; a cached model took 139 s to
load (the repo's file listings and the optional files a snapshot lacks, each asked for and retried;
BENCHMARKS.md "offline"). So the server checks once at
startup (one request with a short timeout, then the cache), says what it found in the log and the
page, remembers a failed reach for a while, and loads cached models with the Hub switched off.

huggingface_hub is imported on first use, not here: `import models` stays light.
"""
from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

from .catalog import Catalog, shown_endpoint
from .download import hub_repo, plan_files
from .errors import ModelNotFound
from .loading import is_local, shown
from .messages import Joined, Message, say
from .tasks import canonical_task

log = logging.getLogger("playground")

ADVICE = say("models.advice")  # the operator's way to models without the Hub

# The file that says a repo is in the cache, next to at least one .safetensors file: a snapshot with
# only its config (an interrupted download) is not ready. CLIP tags fetch only open_clip's weights.
KEY_FILE = {"text-to-image": "model_index.json", "clip": "open_clip_model.safetensors"}
_UNRESOLVED = object()  # a CLIP tag whose Hub repo is not known without importing open_clip


class HubUnreachable(ModelNotFound):
    """A Hub model that is not in the cache while the Hub cannot be reached: the manager remembers
    the failed reach, so that the next click fails at once instead of retrying for 25 s."""


def not_on_server(model_id: str) -> Message:
    """The visitor's sentence for a typed id: no `--download`, which fetches catalog models only."""
    return say("hub.not_on_server", model=shown(model_id))


# -- switching the Hub off for one load ------------------------------------------------------------
# What the libraries read at call time (transformers 5.25, diffusers 0.42, open_clip 3.3 on
# huggingface_hub 2.4): huggingface_hub.constants.HF_HUB_OFFLINE, through
# huggingface_hub.is_offline_mode(), which returns that module variable. transformers' cached_file and
# from_pretrained force local_files_only when it is true; huggingface_hub's HTTP client refuses every
# request (OfflineModeIsEnabled), and hf_hub_download then serves the cached file, which is how
# open_clip's downloads and diffusers' model_info (caught, then local_files_only) end offline. The env
# var is read once at import, so setting os.environ later does nothing. Seen here: a cached tiny
# model loaded through the manager makes 23 requests with the variable false, none with it true.
_off_lock = threading.Lock()
_off_depth = 0
_off_saved = False


@contextlib.contextmanager
def hub_switched_off() -> Iterator[None]:
    """No Hub request from any library in this process for the duration (loads run one at a time)."""
    global _off_depth, _off_saved
    from huggingface_hub import constants

    with _off_lock:
        if _off_depth == 0:
            _off_saved = constants.HF_HUB_OFFLINE
            constants.HF_HUB_OFFLINE = True
        _off_depth += 1
    try:
        yield
    finally:
        with _off_lock:
            _off_depth -= 1
            if _off_depth == 0:
                constants.HF_HUB_OFFLINE = _off_saved


def env_offline() -> bool:
    """HF_HUB_OFFLINE as the operator set it (not as hub_switched_off sets it for a load)."""
    from huggingface_hub import constants

    with _off_lock:
        return bool(_off_saved if _off_depth else constants.HF_HUB_OFFLINE)


# -- what one model's availability is ---------------------------------------------------------------

def human_size(size: int) -> str:
    return f"{size / 2**30:.1f} GB" if size >= 2**30 else f"{max(1, round(size / 2**20))} MB"


@dataclass(frozen=True)
class ModelAvailability:
    task: str
    model_id: str
    label: str
    state: str  # local | cached | download | unavailable | unknown (the check has not finished) | remote
    size_bytes: int | None = None  # on disk (local, cached) or to download, when known
    endpoint: str | None = None  # remote: the OpenAI-compatible server that serves it (models/remote.py)

    def ready(self) -> bool:
        return self.state in ("local", "cached")

    def mark(self) -> str:
        """A few words for the model picker, after the model's name."""
        if self.ready():
            return say("mark.ready_size", size=human_size(self.size_bytes)) if self.size_bytes else say("mark.ready")
        if self.state == "download":
            return say("mark.download_size", size=human_size(self.size_bytes)) if self.size_bytes else say("mark.download")
        if self.state == "remote":
            return say("mark.remote", server=shown_endpoint(self.endpoint))
        return say("mark.unavailable" if self.state == "unavailable" else "mark.checking")


@dataclass(frozen=True)
class _Disk:
    """What the disk says of a model: 'local' / 'cached' with its size, 'missing' (a folder that is
    not there), 'hub' (not cached; the Hub decides), or 'unknown' (a CLIP tag not resolved yet)."""

    kind: str
    size: int | None = None
    repo: str | None = None


def _folder_size(folder: Path) -> int:
    """Bytes of the files under a folder; a cache snapshot's symlinks are followed to their blobs."""
    total = 0
    for root, _, names in os.walk(folder):
        for name in names:
            with contextlib.suppress(OSError):
                total += os.stat(os.path.join(root, name)).st_size
    return total


def _cached_snapshot(task: str, repo: str) -> Path | None:
    """The cache's snapshot of `repo` (revision main) when it holds the key file and some weights."""
    from huggingface_hub import try_to_load_from_cache

    try:
        found = try_to_load_from_cache(repo, KEY_FILE.get(task, "config.json"))
    except Exception:  # noqa: BLE001 - an id the Hub's validator refuses is simply not cached
        return None
    if not isinstance(found, str):  # None, or the marker of a file known to be missing
        return None
    snapshot = Path(found).parent
    has_weights = any(name.endswith(".safetensors") for _, _, names in os.walk(snapshot) for name in names)
    return snapshot if has_weights else None


# -- the check ---------------------------------------------------------------------------------------

class Availability:
    """Reaches the Hub once, reads the cache once, and answers `of(task, model_id)` from then on.

    Thread-safe: `of()` is asked from request threads while `check()` runs on its own.
    """

    def __init__(self, catalog: Catalog, *, hub_timeout: float = 3.0, remember_seconds: float = 300.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.catalog = catalog
        self.hub_timeout = float(hub_timeout)
        self.remember_seconds = float(remember_seconds)
        self._clock = clock
        # Resolving a CLIP tag imports open_clip, which imports transformers: the manager hands its
        # load lock here, so that this import never meets a load's first touch of transformers
        # (the manager's docstring says what that does).
        self.import_lock: threading.Lock = threading.Lock()
        self._lock = threading.Lock()
        self._reach_lock = threading.Lock()
        self._known: bool | None = None  # the last reach's answer
        self._at = 0.0                   # when (clock), for remember_seconds
        self._wall = 0.0                 # when (time.time), for "checked HH:MM"
        self._disk: dict[tuple[str, str], _Disk] = {}
        self._planned: dict[tuple[str, str], int] = {}
        self._clip_repos: dict[str, str | None] = {}

    # -- the Hub --------------------------------------------------------------------------------
    def hub(self) -> bool | None:
        """Whether the Hub answered the last reach (False under HF_HUB_OFFLINE; None before any).
        A failed reach older than remember_seconds is asked again in the background (the page
        never waits for it): the answer changes once that request ends."""
        if env_offline():
            return False
        with self._lock:
            known = self._known
            expired = known is False and self._clock() - self._at >= self.remember_seconds
        if expired and self._reach_lock.acquire(blocking=False):
            def again() -> None:
                try:
                    self._reach()
                finally:
                    self._reach_lock.release()
            threading.Thread(target=again, name="availability-again", daemon=True).start()
        return known

    def offline(self) -> bool:
        """HF_HUB_OFFLINE, or a failed reach remembered; once remember_seconds have passed, the
        Hub is asked again here (one request, hub_timeout) rather than by a 25 s load."""
        if env_offline():
            return True
        with self._lock:
            expired = self._known is False and self._clock() - self._at >= self.remember_seconds
        if expired:
            with self._reach_lock:
                with self._lock:  # another thread may have asked while this one waited
                    expired = self._known is False and self._clock() - self._at >= self.remember_seconds
                if expired:
                    self._reach()
        with self._lock:
            return self._known is False

    def note_unreachable(self) -> None:
        """A load just failed for lack of the Hub: no load tries it again for remember_seconds."""
        self._remember(False)

    def _remember(self, known: bool) -> None:
        with self._lock:
            self._known, self._at, self._wall = known, self._clock(), time.time()

    def _reach(self) -> None:
        """One request to the Hub's API; an error or a 5xx answer means it cannot be reached.

        The standard library, not huggingface_hub's client: that one first fetches a registry of
        its own (with its own timeout) and is refused while a load has the Hub switched off.
        """
        if env_offline():
            return
        from huggingface_hub import constants

        request = urllib.request.Request(f"{constants.ENDPOINT}/api/models?limit=1")
        try:
            with urllib.request.urlopen(request, timeout=self.hub_timeout):
                ok = True
        except urllib.error.HTTPError as e:  # the Hub answered; a 5xx is a Hub that cannot serve
            ok = e.code < 500
        except Exception:  # noqa: BLE001 - refused, timed out, no DNS, a proxy's error: not reachable
            ok = False
        self._remember(ok)

    # -- the check ----------------------------------------------------------------------------------
    def check(self) -> None:
        """Reach the Hub, then read every catalog model's state from the disk; blocking.

        In three steps, each published as it ends: the Hub and the disk (about hub_timeout); CLIP
        tags, whose repos only open_clip knows (importing it takes seconds); with the Hub reachable,
        the size of each download, planned as `--download` plans it (hub_timeout each, 4 at a time).
        """
        self._reach()
        specs = [(task, spec.model_id) for task in self.catalog.tasks() for spec in self.catalog.models(task)
                 if not spec.endpoint]  # a remote model is on its server: nothing on the disk or the Hub to see
        disk = {key: self._look(*key, resolve=False) for key in specs}
        with self._lock:
            self._disk.update(disk)
        tags = [key for key, found in disk.items() if found.kind == "unknown"]
        if tags:
            with self.import_lock:
                resolved = {key: self._look(*key, resolve=True) for key in tags}
            with self._lock:
                self._disk.update(resolved)
        if self.hub():
            with self._lock:
                wanted = [(key, d.repo) for key, d in self._disk.items() if d.kind == "hub" and d.repo]
            with ThreadPoolExecutor(max_workers=4, thread_name_prefix="availability") as pool:
                sizes = pool.map(lambda item: self._planned_size(item[0][0], item[1]), wanted)
                planned = {key: size for (key, _), size in zip(wanted, sizes) if size}
            with self._lock:
                self._planned.update(planned)

    def start(self) -> threading.Thread:
        """check() on a daemon thread, then one line in the log (and the advice, if it is needed)."""
        def run() -> None:
            try:
                self.check()
            except Exception:  # noqa: BLE001 - the page must come up whatever the check met
                log.exception("The check of the catalog's models failed.")
            log.info("%s", self.summary())
            if self.hub() is False and any(s.state == "unavailable" for s in self.catalog_states()):
                log.warning("%s", self.advice())

        thread = threading.Thread(target=run, name="availability", daemon=True)
        thread.start()
        return thread

    def _repo(self, task: str, model_id: str, resolve: bool) -> object:
        """The Hub repo behind an id (None: none, as a CLIP tag with only a URL), or _UNRESOLVED."""
        if task != "clip" or ":" not in model_id or model_id.startswith("hf-hub:"):
            return hub_repo(task, model_id)
        with self._lock:
            if model_id in self._clip_repos:
                return self._clip_repos[model_id]
        if not resolve and "open_clip" not in sys.modules:
            return _UNRESOLVED
        try:
            repo = hub_repo(task, model_id)
        except Exception:  # noqa: BLE001 - open_clip missing (or still importing on another thread)
            if not resolve:
                return _UNRESOLVED
            repo = None
        with self._lock:
            self._clip_repos[model_id] = repo
        return repo

    def _look(self, task: str, model_id: str, *, resolve: bool, sizes: bool = True) -> _Disk:
        """What the disk says of one model; no network. Without `sizes` (a visitor's typed id), a
        folder's size is not read: walking "/" would read the whole disk, and its size would tell a
        visitor what the server holds."""
        if is_local(model_id):
            try:
                there = Path(model_id).expanduser().is_dir()
            except (OSError, RuntimeError, ValueError):  # ~nosuchuser, a name too long, a NUL byte
                there = False
            if not there:
                return _Disk("missing")
            return _Disk("local", _folder_size(Path(model_id).expanduser()) if sizes else None)
        repo = self._repo(task, model_id, resolve)
        if repo is _UNRESOLVED:
            return _Disk("unknown")
        snapshot = _cached_snapshot(task, repo) if repo else None
        if snapshot is not None:
            return _Disk("cached", _folder_size(snapshot), repo)
        return _Disk("hub", None, repo)

    def _planned_size(self, task: str, repo: str) -> int | None:
        """Bytes that `--download` would fetch for this repo (download.plan_files), None if unknown."""
        try:
            from huggingface_hub import HfApi, constants, get_session, hf_hub_url

            info = HfApi(endpoint=constants.ENDPOINT).model_info(repo, files_metadata=True, timeout=self.hub_timeout)
            files = {s.rfilename: s.size or 0 for s in info.siblings or []}
            index = None
            if task == "text-to-image" and "model_index.json" in files:
                url = hf_hub_url(repo, "model_index.json", endpoint=constants.ENDPOINT)
                response = get_session().get(url, timeout=self.hub_timeout)
                response.raise_for_status()
                index = json.loads(response.content)
            return sum(plan_files(task, files, index).values()) or None
        except Exception:  # noqa: BLE001 - a size is a nicety: unknown is fine
            return None

    # -- answers --------------------------------------------------------------------------------
    def of(self, task: str, model_id: str) -> ModelAvailability:
        """Any model: the catalog's from the check; a typed id (or a catalog model before the
        check reached it) from the disk now, without network and without importing open_clip."""
        task = canonical_task(task)
        remote = next((s for s in self.catalog.models(task) if s.endpoint and s.model_id == model_id), None)
        if remote is not None:  # on its server: neither the disk nor the Hub says anything of it
            return ModelAvailability(task, model_id, remote.name, "remote", endpoint=remote.endpoint)
        key = (task, model_id)
        with self._lock:
            disk, planned = self._disk.get(key), self._planned.get(key)
        if disk is None:
            disk = self._look(task, model_id, resolve=False, sizes=False)
        elif disk.kind == "hub" and disk.repo:  # downloaded since the check (a load, --download)?
            snapshot = _cached_snapshot(task, disk.repo)
            if snapshot is not None:
                disk = _Disk("cached", _folder_size(snapshot), disk.repo)
                with self._lock:
                    self._disk[key] = disk
        spec = self.catalog.find(task, model_id)
        label = spec.name if spec is not None else shown(model_id)
        if disk.kind in ("local", "cached"):
            return ModelAvailability(task, model_id, label, disk.kind, disk.size)
        hub = self.hub()
        if disk.kind == "missing" or (disk.kind == "hub" and hub is False):
            state = "unavailable"
        elif disk.kind == "hub" and hub:
            state = "download"
        else:
            state = "unknown"
        return ModelAvailability(task, model_id, label, state, planned if state == "download" else None)

    def catalog_states(self) -> list[ModelAvailability]:
        return [self.of(task, spec.model_id) for task in self.catalog.tasks() for spec in self.catalog.models(task)]

    def summary(self) -> Message:
        """One line for the console and the Models tab (which renders it in the reader's language)."""
        if env_offline():
            hub = say("models.hub_offline")
        else:
            with self._lock:
                known, wall = self._known, self._wall
            hub = {None: say("models.hub_checking"), True: say("models.hub_reachable")}.get(known) or \
                say("models.hub_unreachable", time=time.strftime("%H:%M", time.localtime(wall)))
        states = self.catalog_states()
        count = {s: sum(a.state == s for a in states) for s in ("download", "unavailable", "unknown", "remote")}
        parts = [say("models.ready_count", count=sum(a.ready() for a in states))]
        if count["download"]:
            sizes = [a.size_bytes for a in states if a.state == "download" and a.size_bytes]
            one = count["download"] == 1
            if not sizes:
                key = "models.download_one" if one else "models.download_many"
            elif len(sizes) == count["download"]:
                key = "models.download_one_size" if one else "models.download_many_size"
            else:
                key = "models.download_many_least"
            parts.append(say(key, count=count["download"], size=human_size(sum(sizes)) if sizes else ""))
        for state, key in [("unavailable", "models.unavailable_count"), ("unknown", "models.checking_count"),
                           ("remote", "models.remote_count")]:
            if count[state]:
                parts.append(say(key, count=count[state]))
        return say("models.summary", hub=hub, parts=Joined(parts))

    def advice(self) -> Message:
        """What the operator can do about models that cannot be had (the log and the Models tab)."""
        return say("models.advice_offline") if env_offline() else ADVICE

    def unavailable_message(self, task: str, model_id: str) -> Message:
        """The visitor's sentence: which model, and what to do (never `--download`, the operator's)."""
        spec = self.catalog.find(canonical_task(task), model_id)
        if spec is None:
            return not_on_server(model_id)
        return say("hub.model_unavailable", model=spec.name)
