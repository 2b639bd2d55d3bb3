"""A bounded load test: 16 clients at once, mixed requests to every endpoint, on the tiny models.

The app runs in-process (tests/launch.py) with app.py's default cap of 3 loaded models, so the
eight models of the mix keep evicting each other: requests also race loads, evictions and a
visitor's /unload. Every answer must equal the one computed alone, up front; no request may
fail; the process's memory after the run must stay within a bound of what it was after warm-up.
Figures (requests served, p50/p99 latency, memory) are printed, never asserted as timings.
"""
from __future__ import annotations

import gc
import random
import statistics
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest
from gradio_client import Client, handle_file

from tests.launch import ASSETS, running_app, tiny_catalog

CLIENTS = 16
WARMUP_SECONDS = 5
RUN_SECONDS = 30
MAX_REQUESTS_PER_CLIENT = 2000          # a bound on each loop besides its time
MAX_LOADED = 3                          # app.py's default --max-loaded-models
RSS_GROWTH_BYTES = 150 * 2**20          # allowed growth: 150 MB or 25 % of the warm RSS, whichever is more
RSS_GROWTH_FRACTION = 0.25
NER_TEXT = "Zoë Kravitz lives in Paris. Björn Andersson visited São Paulo."
IMAGES = [str(ASSETS / "images" / f"{name}.jpg") for name in ("cat", "coffee", "rocket", "astronaut")]


@pytest.fixture(scope="module")
def models(tiny_models: Any) -> dict[str, str]:
    return {name: tiny_models[name] for name in ("chat-gpt2", "gpt2", "sentiment", "ner", "qa", "vit", "clip",
                                                 "diffusion")}


@pytest.fixture(scope="module")
def app(models: dict[str, str]) -> Iterator[Any]:
    with running_app(tiny_catalog(models), max_loaded=MAX_LOADED) as launched:  # every task
        yield launched


# -- the requests of the mix, each with what makes its answer comparable ---------------------------

def labels(result: Any) -> list[tuple[str, float]]:
    return [(c["label"], c["confidence"]) for c in result["confidences"]]


def close(got: Any, want: Any, tolerance: float = 1e-3) -> bool:
    """Equal, floats within a tolerance: a request batched with others is padded, which moves scores
    in the last digits (and the server rounds some to 4 places, so one can land on either side)."""
    if isinstance(got, float) or isinstance(want, float):
        return isinstance(got, (int, float)) and isinstance(want, (int, float)) and abs(got - want) <= tolerance
    if isinstance(got, (list, tuple)) and isinstance(want, (list, tuple)):
        return len(got) == len(want) and all(close(g, w, tolerance) for g, w in zip(got, want))
    return got == want


@dataclass
class Kind:
    name: str
    endpoint: str
    kwargs: Callable[[dict[str, str]], dict[str, Any]]
    key: Callable[[Any], Any]  # the part of the answer that must not change between runs
    weight: int = 1


KINDS = [
    Kind("sentiment positive", "/sentiment", lambda m: {"text": "I love this film", "model": m["sentiment"]}, labels, 3),
    Kind("sentiment negative", "/sentiment", lambda m: {"text": "I really hate the food.", "model": m["sentiment"]},
         labels, 2),
    Kind("ner", "/ner", lambda m: {"text": NER_TEXT, "model": m["ner"]},
         lambda r: ([(p["token"], p["class_or_confidence"]) for p in r[0]], r[1]["data"]), 2),  # spans; the table
    Kind("qa", "/qa", lambda m: {"question": "Where does Zoë Kravitz live?", "context": NER_TEXT, "model": m["qa"]},
         lambda r: (r[0], r[2]), 2),  # the answer and its place (the confidence is a rounded percentage)
    Kind("classify image", "/classify_image",
         lambda m: {"image": handle_file(IMAGES[0]), "model": m["vit"], "top_k": 3}, labels, 2),
    Kind("generate greedy", "/generate",
         lambda m: {"prompt": "Tell me about cats.", "model": m["chat-gpt2"], "max_new_tokens": 16, "temperature": 0,
                    "top_p": 1, "top_k": 0, "repetition_penalty": 1.1, "seed": 3}, lambda r: r[0], 2),
    Kind("generate seeded", "/generate",
         lambda m: {"prompt": "Once upon a time", "model": m["gpt2"], "max_new_tokens": 16, "temperature": 0.9,
                    "top_p": 0.95, "top_k": 50, "repetition_penalty": 1.1, "seed": 1234},
         lambda r: (r[0], "seed 1234" in r[1]), 2),
    Kind("clip zero-shot", "/clip_zero_shot",
         lambda m: {"image": handle_file(IMAGES[0]), "labels": "red, green, blue, black", "model": m["clip"]}, labels),
    Kind("clip search", "/clip_search",
         lambda m: {"query": "a blue picture", "images": [handle_file(p) for p in IMAGES], "model": m["clip"],
                    "top_k": 4},
         lambda r: [(item["image"].rsplit("/", 1)[-1], item["caption"]) for item in r]),
    Kind("clip captions", "/clip_rank_captions",
         lambda m: {"image": handle_file(IMAGES[1]), "captions": "something red\nsomething white\nsomething black",
                    "model": m["clip"]}, labels),
    Kind("text to image", "/text_to_image",
         lambda m: {"prompt": "a red square", "negative_prompt": "", "steps": 1, "guidance_scale": 0.0, "width": 64,
                    "height": 64, "num_images": 1, "seed": 1, "model": m["diffusion"], "scheduler": "default"},
         lambda r: ([(item["image"].rsplit("/", 2)[-2], item["caption"]) for item in r[0]], r[1].split(" · ")[:2])),
    Kind("models", "/models", lambda m: {}, lambda r: isinstance(r, list) and all("task" in e for e in r)),
    Kind("stop generation", "/stop_generation", lambda m: {}, lambda r: r in ((), None, [])),
]
UNLOAD_EVERY = 7  # about one request in 7 is a visitor's /unload of a loaded model


@dataclass
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    wrong: list[str] = field(default_factory=list)
    unloads: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, seconds: float) -> None:
        with self.lock:
            self.latencies.setdefault(kind, []).append(seconds)

    def all_latencies(self) -> list[float]:
        return [s for values in self.latencies.values() for s in values]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def run_clients(app: Any, models: dict[str, str], expected: dict[str, Any], seconds: float, tally: Tally) -> None:
    deadline = time.monotonic() + seconds
    weighted = [kind for kind in KINDS for _ in range(kind.weight)]
    barrier = threading.Barrier(CLIENTS)

    def client_loop(index: int) -> None:
        rng = random.Random(index)
        client = Client(app.url, verbose=False)
        barrier.wait(timeout=60)
        for count in range(MAX_REQUESTS_PER_CLIENT):
            if time.monotonic() >= deadline:
                return
            if count % UNLOAD_EVERY == UNLOAD_EVERY - 1:
                loaded = client.predict(api_name="/models")
                if loaded:
                    victim = rng.choice(loaded)
                    start = time.perf_counter()
                    try:  # it may be gone already (evicted, or another client's unload): both are fine
                        client.predict(task=victim["task"], model=victim["model"], api_name="/unload")
                    except Exception as e:  # noqa: BLE001
                        if "is not loaded" not in str(e):
                            with tally.lock:
                                tally.failures.append(f"/unload: {type(e).__name__}: {e}")
                    tally.record("unload", time.perf_counter() - start)
                    with tally.lock:
                        tally.unloads += 1
                    continue
            kind = rng.choice(weighted)
            start = time.perf_counter()
            try:
                result = client.predict(**kind.kwargs(models), api_name=kind.endpoint)
            except Exception as e:  # noqa: BLE001 - every failure is counted, none may happen
                with tally.lock:
                    tally.failures.append(f"{kind.name}: {type(e).__name__}: {e}")
                continue
            tally.record(kind.name, time.perf_counter() - start)
            got = kind.key(result)
            if not close(got, expected[kind.name]):
                with tally.lock:
                    tally.wrong.append(f"{kind.name}: {got!r} != {expected[kind.name]!r}")

    threads = [threading.Thread(target=client_loop, args=(i,), name=f"load-client-{i}", daemon=True)
               for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=seconds + 120)
    assert not any(t.is_alive() for t in threads), "a client is still waiting for an answer"


def rss() -> int:
    import psutil

    gc.collect()
    return psutil.Process().memory_info().rss


def test_sixteen_clients_mixed_requests(app: Any, models: dict[str, str]) -> None:
    client = Client(app.url, verbose=False)
    expected = {kind.name: kind.key(client.predict(**kind.kwargs(models), api_name=kind.endpoint)) for kind in KINDS}
    assert expected["sentiment positive"][0][0] == "POSITIVE" and expected["sentiment negative"][0][0] == "NEGATIVE"
    spans, table = expected["ner"]
    assert spans[0] == ("Zoë Kravitz", "Person") and ["Zoë Kravitz", "Person"] in [row[:2] for row in table]
    assert expected["qa"][0] == "Paris"

    warm = Tally()
    run_clients(app, models, expected, WARMUP_SECONDS, warm)
    rss_warm = rss()
    tally = Tally()
    started = time.perf_counter()
    run_clients(app, models, expected, RUN_SECONDS, tally)
    elapsed = time.perf_counter() - started
    rss_after = rss()

    latencies = tally.all_latencies()
    growth = rss_after - rss_warm
    allowed = max(RSS_GROWTH_BYTES, RSS_GROWTH_FRACTION * rss_warm)
    print(f"\nload: {CLIENTS} clients, {elapsed:.1f} s, {len(latencies)} requests served "
          f"({len(latencies) / elapsed:.1f}/s; {tally.unloads} of them /unload), "
          f"{len(tally.failures)} failed, {len(tally.wrong)} wrong, loads {app.manager.load_count}")
    print(f"latency: p50 {statistics.median(latencies) * 1000:.0f} ms, p99 {percentile(latencies, 0.99) * 1000:.0f} ms, "
          f"max {max(latencies) * 1000:.0f} ms")
    for name, values in sorted(tally.latencies.items()):
        print(f"  {name:20s} {len(values):5d}  p50 {statistics.median(values) * 1000:6.0f} ms  "
              f"p99 {percentile(values, 0.99) * 1000:6.0f} ms")
    print(f"memory (RSS): {rss_warm / 2**20:.0f} MB after warm-up, {rss_after / 2**20:.0f} MB after the run "
          f"({growth / 2**20:+.0f} MB; allowed {allowed / 2**20:.0f} MB)")

    assert not warm.failures and not tally.failures, (warm.failures + tally.failures)[:10]
    assert not warm.wrong and not tally.wrong, (warm.wrong + tally.wrong)[:10]
    assert len(latencies) >= CLIENTS, "hardly any request was served"
    assert {kind.name for kind in KINDS} <= set(tally.latencies), "some request kinds never ran"
    assert growth <= allowed, f"memory grew by {growth / 2**20:.0f} MB under load"
    assert len(app.manager.loaded()) <= MAX_LOADED
    # and the app still answers afterwards
    assert client.predict(text="I love this film", model=models["sentiment"], api_name="/sentiment")["label"] == "POSITIVE"
