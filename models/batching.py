"""Dynamic batching: requests for the same model that pile up run in one forward pass.

A lone request runs at once (no waiting window); while a batch runs, newer requests queue,
and the next one to get the model's turn takes all of them (up to max_batch_size). A batch
that fails is retried one request at a time, so one bad input fails only its own request.

Batches run one at a time on one thread of the Batcher's own, not on whichever request thread
leads: torch then keeps one OpenMP thread team and one malloc arena warm instead of one per
Gradio worker thread (DistilBERT-size sentiment at 32 clients on 2 cores: 76 -> 88 requests/s).
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Hashable


@dataclass
class _Slot:
    item: Any
    done: bool = False
    result: Any = None
    error: BaseException | None = None


@dataclass
class _Lane:
    pending: list[_Slot] = field(default_factory=list)
    turn: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0  # requests in this lane; at 0 the lane is removed (its key holds the call's parameters)


class Batcher:
    def __init__(self, max_batch_size: int = 16) -> None:
        self.max_batch_size = max(1, int(max_batch_size))
        self.batches_run = 0  # for tests and benchmarks
        self._lanes: dict[Hashable, _Lane] = {}
        self._lock = threading.Lock()
        self._runner: ThreadPoolExecutor | None = None
        self._runner_pid = 0

    def run(self, key: Hashable, run_batch: Callable[[list[Any]], list[Any]], item: Any) -> Any:
        """run_batch(items) -> results in order; key groups requests that may share a batch."""
        slot = _Slot(item)
        with self._lock:
            lane = self._lanes.setdefault(key, _Lane())
            lane.pending.append(slot)
            lane.users += 1
        try:
            while True:
                with lane.turn:
                    if not slot.done:
                        with self._lock:
                            batch = lane.pending[:self.max_batch_size]
                            del lane.pending[:self.max_batch_size]
                        self._run_on_runner(run_batch, batch)
                if slot.done:
                    break
        finally:
            with self._lock:
                lane.users -= 1
                if lane.users == 0 and self._lanes.get(key) is lane:
                    del self._lanes[key]  # every distinct top_k would otherwise keep one forever
        if slot.error is not None:
            raise slot.error
        return slot.result

    def lanes(self) -> int:
        """Lanes in use now (for tests: idle ones are removed)."""
        with self._lock:
            return len(self._lanes)

    def _run_on_runner(self, run_batch: Callable[[list[Any]], list[Any]], batch: list[_Slot]) -> None:
        """_execute on the Batcher's thread; the caller (the batch's leader) waits for it."""
        with self._lock:
            if self._runner is None or self._runner_pid != os.getpid():  # a forked child gets its own
                self._runner = ThreadPoolExecutor(1, thread_name_prefix="batch")
                self._runner_pid = os.getpid()
            runner = self._runner
        runner.submit(self._execute, run_batch, batch).result()

    def _execute(self, run_batch: Callable[[list[Any]], list[Any]], batch: list[_Slot]) -> None:
        self.batches_run += 1
        try:
            results = run_batch([s.item for s in batch])
            for s, r in zip(batch, results):
                s.result = r
        except BaseException as e:  # noqa: BLE001 - delivered to each request below
            if len(batch) == 1:
                batch[0].error = e
            else:  # find who caused it: everyone else still gets an answer
                for s in batch:
                    try:
                        s.result = run_batch([s.item])[0]
                    except BaseException as one:  # noqa: BLE001
                        s.error = one
        finally:
            for s in batch:
                s.done = True
