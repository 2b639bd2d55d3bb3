"""What the server says it can serve (models/availability.py), and how the manager fails fast when
the Hub cannot be reached. No network: "the Hub" is a small HTTP server on this machine that counts
what it is asked, or a closed port; the Hugging Face cache is a temporary folder laid out as
huggingface_hub lays it out, so "cached" is read by huggingface_hub itself."""
from __future__ import annotations

import json
import logging
import shutil
import socket
import threading
import time
import types
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from models.availability import Availability, ModelAvailability
from models.catalog import parse_catalog
from models.errors import ModelNotFound
from models.loading import explain_load_error
from models.manager import ModelManager

COMMIT = "0123456789abcdef0123456789abcdef01234567"
MB = 2**20


class FakeHub:
    """A Hub API on localhost: /api/models answers [], /api/models/<repo> lists `files` with sizes."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.files: dict[str, dict[str, int]] = {}
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                hub.requests.append(self.path)
                path = self.path.split("?")[0]
                repo = path.removeprefix("/api/models/").removesuffix("/revision/main")
                if path == "/api/models":
                    self.answer(200, [])
                elif path.startswith("/api/models/") and repo in hub.files:
                    siblings = [{"rfilename": name, "size": size} for name, size in hub.files[repo].items()]
                    self.answer(200, {"id": repo, "sha": COMMIT, "siblings": siblings})
                else:
                    self.answer(404, {"error": "not found"})

            do_HEAD = do_GET

            def answer(self, status: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture
def hf(tmp_path, monkeypatch):
    """An empty HF cache, and HF_HUB_OFFLINE off (conftest turns it on for the other tests)."""
    from huggingface_hub import constants

    cache = tmp_path / "hub"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache


@pytest.fixture
def hub(hf, monkeypatch):
    from huggingface_hub import constants

    fake = FakeHub()
    point_hub_at(monkeypatch, fake.url)
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


@pytest.fixture
def no_hub(hf, monkeypatch):
    """A port nobody listens on: a connection is refused at once."""
    from huggingface_hub import constants

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    point_hub_at(monkeypatch, f"http://127.0.0.1:{port}")


def point_hub_at(monkeypatch, url: str) -> None:
    """Every Hub request to url: the API's (ENDPOINT) and the files' (a URL template that huggingface_hub
    fixes at import; without it, file requests would still go to huggingface.co on a machine online)."""
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "ENDPOINT", url)
    monkeypatch.setattr(constants, "HUGGINGFACE_CO_URL_TEMPLATE", url + "/{repo_id}/resolve/{revision}/{filename}")


def cache_model(cache: Path, repo: str, files: dict[str, bytes] | str) -> None:
    """A snapshot as huggingface_hub writes it: refs/main names the commit, snapshots/<commit> holds
    the files (links to blobs in a real cache; plain files read the same)."""
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text(COMMIT)
    snapshot = folder / "snapshots" / COMMIT
    if isinstance(files, str):
        shutil.copytree(files, snapshot)
        return
    for name, data in files.items():
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).write_bytes(data)


CONFIG = {"config.json": b"{}", "model.safetensors": b"\0" * (2 * MB)}


@pytest.fixture
def catalog(tmp_path):
    local = tmp_path / "local-model"
    local.mkdir()
    (local / "config.json").write_text("{}")
    (local / "model.safetensors").write_bytes(b"\0" * (3 * MB))
    return parse_catalog({
        "sentiment": [{"id": "own/cached", "label": "Cached one"}, "own/remote", str(local),
                      str(tmp_path / "gone")],
        "text-to-image": ["own/half-cached"],
    })


def states(availability: Availability) -> dict[str, tuple[str, str]]:
    return {a.model_id.rsplit("/", 1)[-1]: (a.state, a.mark()) for a in availability.catalog_states()}


def test_marks_with_the_hub_reachable(hf, hub, catalog):
    cache_model(hf, "own/cached", CONFIG)
    cache_model(hf, "own/half-cached", {"model_index.json": b"{}"})  # an interrupted download: no weights
    hub.files["own/remote"] = {"config.json": 700, "model.safetensors": 270 * MB, "pytorch_model.bin": 270 * MB,
                               "tf_model.h5": 270 * MB, "README.md": 5000}
    availability = Availability(catalog)
    assert availability.of("sentiment", "own/remote").state == "unknown"
    availability.check()
    assert availability.hub() is True and not availability.offline()
    assert states(availability) == {
        "cached": ("cached", "ready, 2 MB"),
        "remote": ("download", "download 270 MB"),  # only what the loader reads, as --download plans it
        "local-model": ("local", "ready, 3 MB"),
        "gone": ("unavailable", "not available now"),
        "half-cached": ("download", "download"),  # the fake Hub does not know it: size unknown
    }
    assert availability.of("sentiment", "own/cached").label == "Cached one"
    assert availability.of("sentiment", "own/remote").ready() is False
    assert availability.summary() == ("Hub: reachable. Catalog: 2 ready, 2 need a download (at least 270 MB), "
                                      "1 not available now.")


def test_marks_with_the_hub_out_of_reach(hf, no_hub, catalog):
    cache_model(hf, "own/cached", CONFIG)
    availability = Availability(catalog, hub_timeout=2)
    start = time.perf_counter()
    availability.check()
    assert time.perf_counter() - start < 2
    assert availability.hub() is False and availability.offline()
    assert states(availability) == {
        "cached": ("cached", "ready, 2 MB"), "remote": ("unavailable", "not available now"),
        "local-model": ("local", "ready, 3 MB"), "gone": ("unavailable", "not available now"),
        "half-cached": ("unavailable", "not available now"),
    }
    summary = availability.summary()
    assert summary.startswith("Hub: not reachable (checked ") and summary[28:33].replace(":", "").isdigit()
    assert summary.endswith(". Catalog: 2 ready, 3 not available now.")


def test_hf_hub_offline_is_respected_without_a_request(hf, hub, catalog, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    cache_model(hf, "own/cached", CONFIG)
    hub.files["own/remote"] = {"config.json": 700, "model.safetensors": 270 * MB}
    availability = Availability(catalog)
    availability.check()
    assert hub.requests == []
    assert availability.hub() is False and availability.offline()
    assert states(availability)["remote"] == ("unavailable", "not available now")
    assert availability.summary() == "Hub: offline (HF_HUB_OFFLINE=1). Catalog: 2 ready, 3 not available now."


def test_before_the_check_ends_models_are_being_checked(hf, catalog):
    cache_model(hf, "own/cached", CONFIG)
    availability = Availability(catalog)
    assert availability.hub() is None and not availability.offline()
    assert states(availability)["remote"] == ("unknown", "checking…")
    assert states(availability)["cached"] == ("cached", "ready, 2 MB")  # the disk is read on demand
    assert availability.summary() == "Hub: being checked. Catalog: 2 ready, 1 not available now, 2 being checked."


def test_a_typed_id(hf, hub, catalog):
    cache_model(hf, "someone/typed-cached", CONFIG)
    availability = Availability(catalog)
    assert availability.of("sentiment", "someone/typed").state == "unknown"
    assert availability.of("sentiment", "someone/typed-cached") == ModelAvailability(
        "sentiment", "someone/typed-cached", "someone/typed-cached", "cached", 2 * MB + 2)
    availability.check()
    assert availability.of("sentiment", "someone/typed") == ModelAvailability(
        "sentiment", "someone/typed", "someone/typed", "download", None)
    requests = len(hub.requests)
    availability.note_unreachable()
    assert availability.of("sentiment", "someone/typed").state == "unavailable"
    assert len(hub.requests) == requests  # of() never asks the Hub
    message = availability.unavailable_message("sentiment", "someone/typed")
    assert message == ("someone/typed is not on this server and the Hub cannot be reached right now; "
                       "pick a model marked ready.")
    assert availability.unavailable_message("sentiment", "own/cached") == (
        "Cached one is not available on this server right now; pick a model marked ready.")


def test_a_failed_reach_is_remembered_then_asked_again(hf, hub, catalog):
    now = [1000.0]
    availability = Availability(catalog, remember_seconds=300, clock=lambda: now[0])
    availability.note_unreachable()
    assert availability.offline() and availability.hub() is False
    now[0] += 299
    assert availability.offline() and hub.requests == []
    now[0] += 2  # remembered long enough: the Hub is asked once more, and it answers
    assert not availability.offline()
    assert availability.hub() is True and len(hub.requests) == 1
    assert not availability.offline() and len(hub.requests) == 1


def test_advice_and_the_log(hf, no_hub, catalog, caplog):
    availability = Availability(catalog, hub_timeout=2)
    with caplog.at_level(logging.INFO, logger="playground"):
        availability.start().join(10)
    records = [r for r in caplog.records if r.name == "playground"]
    assert [(r.levelname, r.getMessage()) for r in records] == [
        ("INFO", availability.summary()), ("WARNING", availability.advice())]
    advice = availability.advice()
    assert "python app.py --download" in advice and "HF_HUB_OFFLINE=1" in advice and "--config" in advice


def test_the_load_error_says_no_download_to_the_visitor(caplog):
    from huggingface_hub.errors import LocalEntryNotFoundError

    with caplog.at_level(logging.WARNING, logger="playground"):
        error = explain_load_error("someone/typed", LocalEntryNotFoundError("outgoing traffic has been disabled"))
    assert isinstance(error, ModelNotFound)
    assert str(error) == ("someone/typed is not on this server and the Hub cannot be reached right now; "
                          "pick a model marked ready.")
    assert "--download" in caplog.text and "someone/typed" in caplog.text


@pytest.fixture
def quick_retries(monkeypatch):
    """huggingface_hub waits 1+2+4+8+8 s between its five retries; the same retries, without the waits."""
    from huggingface_hub.utils import _http

    fast = types.SimpleNamespace(**{name: getattr(time, name) for name in dir(time) if not name.startswith("_")})
    fast.sleep = lambda seconds: None
    monkeypatch.setattr(_http, "time", fast)


def test_the_next_click_fails_at_once(hf, no_hub, catalog, quick_retries):
    availability = Availability(catalog)  # not checked yet: the first load finds out
    manager = ModelManager(catalog, device="cpu", availability=availability)
    with pytest.raises(ModelNotFound) as first:
        manager.get("sentiment", "own/remote")
    assert availability.offline() and manager.load_count == 1
    for model, says in [("own/remote", "own/remote is not available on this server right now"),
                        ("someone/typed", "someone/typed is not on this server and the Hub cannot be reached")]:
        start = time.perf_counter()
        with pytest.raises(ModelNotFound) as again:
            manager.get("sentiment", model)
        assert time.perf_counter() - start < 0.2
        assert str(again.value).startswith(says) and str(again.value).endswith("pick a model marked ready.")
        assert "--download" not in str(again.value)
    assert str(first.value) == str(ModelNotFound(availability.unavailable_message("sentiment", "own/remote")))
    assert manager.load_count == 1  # no adapter was even built


def test_a_cached_model_loads_with_the_hub_switched_off(hf, hub, tiny_models):
    from huggingface_hub import constants

    cache_model(hf, "own/tiny-sentiment", tiny_models["sentiment"])
    catalog = parse_catalog({"sentiment": ["own/tiny-sentiment"]})
    availability = Availability(catalog)
    availability.note_unreachable()
    assert availability.of("sentiment", "own/tiny-sentiment").ready()
    manager = ModelManager(catalog, device="cpu", availability=availability)
    result = manager.predict("sentiment", "own/tiny-sentiment", "I loved this film")
    assert result["labels"][0]["label"] in {"POSITIVE", "NEGATIVE"}
    assert hub.requests == []  # with the Hub on, transformers asks for each file's newest version
    assert constants.HF_HUB_OFFLINE is False  # switched back on after the load


def test_asked_while_the_check_runs(hf, hub, catalog):
    hub.files["own/remote"] = {"config.json": 700, "model.safetensors": 270 * MB}
    availability = Availability(catalog)
    thread = availability.start()
    seen = set()
    while thread.is_alive():
        seen.add(availability.of("sentiment", "own/remote").state)
        availability.summary()
    thread.join()
    assert seen <= {"unknown", "download"}
    assert availability.of("sentiment", "own/remote").mark() == "download 270 MB"
