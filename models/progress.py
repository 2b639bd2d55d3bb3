"""What a load is doing right now, for the page to show while it waits: the phase (waiting for
another load, downloading N MB of M, reading the weights, moving them to the GPU), how long it has
taken, and how far a download has come.

An adapter says which phase it is in with `pipeline.report("reading the weights")`; the bytes of a
download are counted in the Hugging Face cache folder of the model's repo, where huggingface_hub
writes each file (as `<blob>.incomplete` until it is whole), so the count is the real one whichever
library fetches the files. Nothing here imports torch.
"""
from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .messages import say

WAITING = say("load.waiting")  # a Message: the page shows it in the reader's language
STARTING = say("load.starting")
DOWNLOAD_QUIET_SECONDS = 3.0  # no new byte for this long: the download is over, the weights are being read


def repo_cache_folder(repo: str | None) -> Path | None:
    """Where huggingface_hub keeps a model repo's files (None for a local folder)."""
    if not repo:
        return None
    from huggingface_hub import constants

    return Path(constants.HF_HUB_CACHE) / ("models--" + repo.replace("/", "--"))


def folder_bytes(folder: Path | None) -> int:
    """Bytes of the files under folder's blobs (finished and .incomplete), 0 when there are none."""
    if folder is None:
        return 0
    total = 0
    try:
        with os.scandir(folder / "blobs") as entries:
            for entry in entries:
                try:
                    if entry.is_file(follow_symlinks=False):
                        total += entry.stat(follow_symlinks=False).st_size
                except OSError:
                    continue
    except OSError:
        return 0
    return total


@dataclass
class LoadProgress:
    """One load in flight (or waiting for its turn)."""

    label: str
    cache_folder: Path | None = None      # the repo's HF cache folder, where a download lands
    planned_bytes: int | None = None      # the download's size, when known beforehand
    started: float = field(default_factory=time.monotonic)
    phase: str = WAITING
    _baseline: int = 0
    _seen: int = 0               # bytes at the last look, and when they last grew
    _grew_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        self._baseline = folder_bytes(self.cache_folder)

    def restart(self) -> None:
        """The load begins (again, after a failed one): count a download from the cache as it is now."""
        with self._lock:
            self.phase, self._seen, self._grew_at = STARTING, 0, 0.0
        self._baseline = folder_bytes(self.cache_folder)

    def report(self, phase: str) -> None:
        with self._lock:
            self.phase = phase

    def downloaded(self) -> int:
        """Bytes written into the cache since the load began."""
        return max(0, folder_bytes(self.cache_folder) - self._baseline)

    def snapshot(self) -> dict[str, Any]:
        """{phase, seconds, fraction (0-1 or None), downloaded_bytes, planned_bytes} as plain data."""
        with self._lock:
            phase = self.phase
        got = self.downloaded()
        now = time.monotonic()
        with self._lock:
            if got > self._seen:
                self._seen, self._grew_at = got, now
            # bytes that stopped growing: the download is over (or was never one), the weights are read
            downloading = phase != WAITING and got > 0 and now - self._grew_at < DOWNLOAD_QUIET_SECONDS
        fraction = None
        if downloading:
            phase = "downloading"
            if self.planned_bytes:
                fraction = min(1.0, got / self.planned_bytes)
        return {"phase": phase, "seconds": now - self.started, "fraction": fraction,
                "downloaded_bytes": got, "planned_bytes": self.planned_bytes}
