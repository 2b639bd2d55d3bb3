"""Whose turn it is to generate: one first-come-first-served line shared by the page (the Chat tab, /chat,
/generate) and the OpenAI-compatible API (components/openai_api.py), so that a flood of API calls waits
in the same line as the page's visitors instead of pushing past them."""
from __future__ import annotations

import contextlib
import threading
from collections import deque
from typing import Iterator


class Busy(Exception):
    """Too many requests are already waiting; the caller says so (the API: 429) and waits for nothing."""


class Turns:
    """At most `size` generations run at once, in the order they asked; `held(max_waiting=N)` refuses
    (Busy) when N callers already wait. The page's own calls are bounded by Gradio's queue and wait."""

    def __init__(self, size: int) -> None:
        self.size = max(1, int(size))
        self._running = 0
        self._waiting: deque[object] = deque()
        self._changed = threading.Condition()

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    @property
    def running(self) -> int:
        return self._running

    @contextlib.contextmanager
    def held(self, max_waiting: int | None = None) -> Iterator[None]:
        ticket = object()
        with self._changed:
            if self._running >= self.size or self._waiting:
                if max_waiting is not None and len(self._waiting) >= max_waiting:
                    raise Busy(f"{len(self._waiting)} requests are already waiting to generate")
            self._waiting.append(ticket)
            try:
                self._changed.wait_for(lambda: self._waiting[0] is ticket and self._running < self.size)
            finally:
                self._waiting.remove(ticket)
                self._changed.notify_all()
            self._running += 1
        try:
            yield
        finally:
            with self._changed:
                self._running -= 1
                self._changed.notify_all()
