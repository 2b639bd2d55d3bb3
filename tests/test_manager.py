"""The model manager: lazy single loads, LRU eviction, unload, reporting, and every load failure."""
from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest

from models import (InvalidInput, ModelLoadFailed, ModelManager, ModelNotAllowed, ModelNotFound, PlaygroundError,
                    UnknownTask, WrongModelKind, parse_catalog)


@pytest.fixture()
def catalog(tiny_catalog_data: dict):
    return parse_catalog(tiny_catalog_data)


@pytest.fixture()
def manager(catalog):
    manager = ModelManager(catalog, device="cpu", max_loaded=3)
    yield manager
    manager.unload_all()


def copy_model(tiny_models, name: str, dest: Path) -> Path:
    shutil.copytree(tiny_models[name], dest, ignore=shutil.ignore_patterns(".complete"))
    return dest


def works(manager: ModelManager, tiny_models) -> None:
    """Another model still loads and answers after a failure."""
    result = manager.get("sentiment", tiny_models["sentiment"]).predict("I love this film")
    assert result["labels"][0]["label"] == "POSITIVE"


# -- lazy and single loads ---------------------------------------------------------------------------

def test_nothing_loads_before_the_first_get(manager, tiny_models):
    assert manager.loaded() == []
    assert manager.load_count == 0
    assert manager.is_loaded("sentiment", tiny_models["sentiment"]) is False
    seen = []
    pipeline = manager.get("sentiment", tiny_models["sentiment"], on_loading=seen.append)
    assert manager.load_count == 1 and len(seen) == 1 and seen[0].model_id == tiny_models["sentiment"]
    assert manager.is_loaded("sentiment", tiny_models["sentiment"])
    assert manager.get("sentiment", tiny_models["sentiment"], on_loading=seen.append) is pipeline
    assert manager.load_count == 1 and len(seen) == 1  # a loaded model does not announce a load


def test_default_model_and_aliases_reach_the_same_pipeline(manager, tiny_models):
    default = manager.get("question-answering")
    assert default.spec.model_id == tiny_models["qa"]
    assert manager.get("qa", tiny_models["qa"]) is default
    assert manager.get("QA", "tiny qa") is default  # by the catalog's label too
    assert manager.load_count == 1


def test_ten_concurrent_first_requests_load_once(manager, tiny_models):
    barrier = threading.Barrier(10)
    got: list = [None] * 10
    errors: list = []

    def ask(i: int) -> None:
        try:
            barrier.wait()
            got[i] = manager.get("ner", tiny_models["ner"])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert manager.load_count == 1
    assert all(p is got[0] for p in got) and got[0] is not None
    assert len(manager.loaded()) == 1


def test_concurrent_loads_of_different_models(manager, tiny_models):
    names = [("sentiment", "sentiment"), ("ner", "ner"), ("question-answering", "qa")]
    got: dict = {}
    barrier = threading.Barrier(6)

    def ask(task: str, name: str) -> None:
        barrier.wait()
        got.setdefault(name, []).append(manager.get(task, tiny_models[name]))

    threads = [threading.Thread(target=ask, args=pair) for pair in names * 2]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert manager.load_count == 3
    assert all(len(v) == 2 and v[0] is v[1] for v in got.values())


# -- eviction and unload -------------------------------------------------------------------------------

def test_least_recently_used_model_is_evicted(catalog, tiny_models):
    manager = ModelManager(catalog, device="cpu", max_loaded=2)
    sentiment = manager.get("sentiment", tiny_models["sentiment"])
    ner = manager.get("ner", tiny_models["ner"])
    manager.get("sentiment", tiny_models["sentiment"])  # touch: sentiment is now the most recent
    manager.get("question-answering", tiny_models["qa"])
    assert [m["task"] for m in manager.loaded()] == ["sentiment", "question-answering"]
    assert ner.model is None and ner.tokenizer is None  # its weights were dropped
    assert sentiment.model is not None
    with pytest.raises(InvalidInput, match="unloaded"):
        ner.predict("José lives in Bogotá.")  # a caller still holding it gets a sentence, not a crash
    again = manager.get("ner", tiny_models["ner"])
    assert again is not ner and manager.load_count == 4
    assert [m["task"] for m in manager.loaded()] == ["question-answering", "ner"]
    manager.unload_all()


def test_unload_gives_the_model_back(manager, tiny_models):
    pipeline = manager.get("sentiment", tiny_models["sentiment"])
    assert manager.unload("sentiment", tiny_models["sentiment"]) is True
    assert manager.loaded() == []
    assert pipeline.model is None
    assert manager.unload("sentiment", tiny_models["sentiment"]) is False
    assert manager.unload("text-classification", "/never/loaded") is False
    works(manager, tiny_models)
    assert manager.load_count == 2


def test_unload_all(manager, tiny_models):
    manager.get("sentiment", tiny_models["sentiment"])
    manager.get("ner", tiny_models["ner"])
    assert manager.unload_all() == 2
    assert manager.loaded() == []


def test_max_loaded_must_be_positive(catalog):
    with pytest.raises(InvalidInput):
        ModelManager(catalog, max_loaded=0)


def test_loaded_reports_what_where_and_how_big(manager, tiny_models):
    manager.get("sentiment", tiny_models["sentiment"])
    manager.get("image-classification", tiny_models["vit"])
    rows = manager.loaded()
    assert [r["task"] for r in rows] == ["sentiment", "image-classification"]
    for row in rows:
        assert set(row) >= {"task", "model", "label", "device", "dtype", "parameters", "memory_mb", "load_seconds"}
        assert row["device"] == "cpu"
        assert row["dtype"] == "float32"
        assert isinstance(row["parameters"], int) and row["parameters"] > 1000
        assert row["memory_mb"] >= 0 and isinstance(row["memory_mb"], float)
        assert row["load_seconds"] > 0
    assert rows[0]["model"] == tiny_models["sentiment"] and rows[0]["label"] == "tiny sentiment"
    model = manager.get("sentiment", tiny_models["sentiment"]).model
    params = sum(p.numel() for p in model.parameters())
    assert rows[0]["parameters"] == params
    assert rows[0]["memory_mb"] == pytest.approx(params * 4 / 2**20, abs=0.2)
    memory = manager.memory()
    assert memory["device"] == "cpu" and memory["total_bytes"] > 0


# -- errors ------------------------------------------------------------------------------------------

def test_unknown_task(manager):
    with pytest.raises(UnknownTask, match="sentiment"):  # the sentence lists the valid tasks
        manager.get("translation", "x")
    assert manager.load_count == 0


def test_missing_folder_then_fixed(manager, tiny_models, tmp_path):
    folder = tmp_path / "later"
    with pytest.raises(ModelNotFound, match="does not exist"):
        manager.get("sentiment", str(folder))
    works(manager, tiny_models)
    copy_model(tiny_models, "sentiment", folder)
    assert manager.get("sentiment", str(folder)).predict("I hate this film")["labels"][0]["label"] == "NEGATIVE"


def test_folder_without_config(manager, tiny_models, tmp_path):
    (tmp_path / "notes.txt").write_text("not a model")
    with pytest.raises(ModelNotFound, match="config.json"):
        manager.get("sentiment", str(tmp_path))
    works(manager, tiny_models)


@pytest.mark.parametrize("model_id", ["someone-who-does-not-exist/tiny-model", "gpt2"])
def test_hub_id_when_offline(manager, tiny_models, model_id):
    with pytest.raises(ModelNotFound) as info:
        manager.get("sentiment", model_id)
    assert model_id in str(info.value)
    works(manager, tiny_models)


@pytest.mark.parametrize("model_id", ["not a valid id", "a/b/c/d", "owner/../../etc", "   "])
def test_malformed_ids(manager, model_id):
    with pytest.raises(ModelNotFound):
        manager.get("sentiment", model_id)


@pytest.mark.parametrize("task, name", [("ner", "sentiment"), ("sentiment", "gpt2"), ("text-generation", "sentiment"),
                                        ("question-answering", "ner"), ("sentiment", "vit"),
                                        ("image-classification", "qa")])
def test_wrong_model_kind(manager, tiny_models, task, name):
    with pytest.raises(WrongModelKind) as info:
        manager.get(task, tiny_models[name])
    assert "pick a model made for" in str(info.value)
    assert manager.loaded() == []
    works(manager, tiny_models)


def test_pickle_only_folder_is_refused_unless_allowed(catalog, manager, tiny_models, tmp_path):
    import torch
    from safetensors.torch import load_file

    folder = copy_model(tiny_models, "sentiment", tmp_path / "pickled")
    weights = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(weights, folder / "pytorch_model.bin")
    with pytest.raises(ModelLoadFailed, match="safetensors"):
        manager.get("sentiment", str(folder))
    works(manager, tiny_models)
    trusting = ModelManager(catalog, device="cpu", allow_pickle=True)
    result = trusting.get("sentiment", str(folder)).predict("I love this film")
    assert result["labels"][0]["label"] == "POSITIVE"
    trusting.unload_all()


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_weights_then_fixed(manager, tiny_models, tmp_path, damage):
    folder = copy_model(tiny_models, "sentiment", tmp_path / "corrupt")
    weights = folder / "model.safetensors"
    good = weights.read_bytes()
    if damage == "truncate":
        weights.write_bytes(good[: len(good) // 2])
    elif damage == "garbage":
        weights.write_bytes(b"\xff" * 64 + good[64:])
    else:
        weights.write_bytes(b"")
    with pytest.raises(PlaygroundError) as info:
        manager.get("sentiment", str(folder))
    message = str(info.value)
    assert message.endswith(".") and "Traceback" not in message and "\n" not in message
    assert manager.loaded() == []
    works(manager, tiny_models)
    weights.write_bytes(good)
    assert manager.get("sentiment", str(folder)).predict("I love this film")["labels"][0]["label"] == "POSITIVE"


def test_corrupt_config(manager, tiny_models, tmp_path):
    folder = copy_model(tiny_models, "sentiment", tmp_path / "badconfig")
    (folder / "config.json").write_text("{ not json")
    with pytest.raises(PlaygroundError):
        manager.get("sentiment", str(folder))
    works(manager, tiny_models)


def test_unknown_model_type(manager, tiny_models, tmp_path):
    import json

    folder = copy_model(tiny_models, "sentiment", tmp_path / "alien")
    config = json.loads((folder / "config.json").read_text())
    config["model_type"] = "no-such-architecture"
    (folder / "config.json").write_text(json.dumps(config))
    with pytest.raises(PlaygroundError, match="no known model type"):
        manager.get("sentiment", str(folder))
    works(manager, tiny_models)


def test_only_catalog_models_when_custom_ids_are_not_allowed(catalog, tiny_models, tmp_path):
    manager = ModelManager(catalog, device="cpu", allow_custom=False)
    other = copy_model(tiny_models, "sentiment", tmp_path / "custom")
    with pytest.raises(ModelNotAllowed):
        manager.get("sentiment", str(other))
    with pytest.raises(ModelNotAllowed):
        manager.get("sentiment", "someone/something")
    assert manager.load_count == 0
    assert manager.get("sentiment", tiny_models["sentiment"]).predict("I love this film")["labels"][0]["label"] == "POSITIVE"
    assert manager.get("sentiment") is manager.get("sentiment", "tiny sentiment")
    manager.unload_all()


# -- the manager's own predict (dynamic batching) ---------------------------------------------------------

def test_one_bad_request_in_a_batch_fails_alone(manager, tiny_models):
    texts = ["I love this film", "", "I hate this film", "I enjoy the food.", None, "I detest my job."]
    results: list = [None] * len(texts)
    barrier = threading.Barrier(len(texts))

    def ask(i: int) -> None:
        barrier.wait()
        try:
            results[i] = manager.predict("sentiment", tiny_models["sentiment"], texts[i])
        except PlaygroundError as e:
            results[i] = e

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert isinstance(results[1], InvalidInput) and isinstance(results[4], InvalidInput)
    firsts = [r["labels"][0]["label"] for i, r in enumerate(results) if i not in (1, 4)]
    assert firsts == ["POSITIVE", "NEGATIVE", "POSITIVE", "NEGATIVE"]
    assert manager.load_count == 1


def test_out_of_memory_during_a_request_is_a_sentence_and_the_next_request_works(catalog, tiny_models,
                                                                                  monkeypatch):
    manager = ModelManager(catalog, device="cpu", max_loaded=3)
    pipeline = manager.get("sentiment", tiny_models["sentiment"])
    real = pipeline.predict_batch
    calls = {"n": 0}

    def fails_once(items, **params):
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(items, **params)

    monkeypatch.setattr(pipeline, "predict_batch", fails_once)
    with pytest.raises(PlaygroundError, match="ran out of memory") as info:
        manager.predict("sentiment", tiny_models["sentiment"], "I love this film")
    assert "\n" not in str(info.value)
    result = manager.predict("sentiment", tiny_models["sentiment"], "I love this film")
    assert result["labels"][0]["label"] == "POSITIVE"
    manager.unload_all()


def test_batches_run_on_the_batchers_own_thread_also_after_a_fork():
    import os
    import signal

    from models.batching import Batcher

    batcher, threads = Batcher(4), set()

    def double(items):
        threads.add(threading.current_thread().name)
        return [x * 2 for x in items]

    results = {}
    workers = [threading.Thread(target=lambda i=i: results.__setitem__(i, batcher.run("k", double, i)))
               for i in range(12)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == {i: 2 * i for i in range(12)}
    assert len(threads) == 1 and threads.pop().startswith("batch")
    pid = os.fork()  # as ZeroGPU runs a request in a forked process: the parent's thread is not there
    if pid == 0:
        signal.alarm(20)
        os._exit(0 if batcher.run("k", double, 21) == 42 else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0


# -- nothing kept per request: lanes and load locks go when idle -----------------------------------------

def test_a_thousand_parameter_sets_leave_no_batcher_lane_behind():
    """A lane's key holds the call's parameters: every distinct set kept one forever."""
    from models.batching import Batcher

    batcher = Batcher(4)
    for i in range(1000):
        key = ("image-classification", "some/model", repr(sorted({"top_k": i, "threshold": i / 7}.items())))
        assert batcher.run(key, lambda items: [x + 1 for x in items], i) == i + 1
    assert batcher.lanes() == 0


def test_every_top_k_through_the_manager_leaves_no_lane_behind(tiny_models):
    from PIL import Image

    manager = ModelManager(parse_catalog({"image-classification": [tiny_models["vit"]]}), device="cpu",
                           max_batch_size=4)
    image = Image.new("RGB", (32, 32), (200, 30, 30))
    try:
        for top_k in range(1, 101):
            assert len(manager.predict("image-classification", None, image, top_k=top_k)) <= top_k
        assert manager.batcher.lanes() == 0
    finally:
        manager.unload_all()


def test_concurrent_batches_leave_no_lane_and_answer_everyone():
    from models.batching import Batcher

    batcher = Batcher(4)
    results: dict[int, int] = {}

    def call(i: int) -> None:
        results[i] = batcher.run(("key", i % 7), lambda items: [x * 2 for x in items], i)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(200)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {i: 2 * i for i in range(200)}
    assert batcher.lanes() == 0


def test_failed_loads_of_typed_ids_leave_no_load_lock_behind(manager, tmp_path):
    """Every typed id (a folder that does not exist, say) made a load lock that was never removed.
    (20, not 1,000: each failed load collects garbage, 0.3 s with the test session's heap.)"""
    for i in range(20):
        with pytest.raises(ModelNotFound):
            manager.get("sentiment", str(tmp_path / f"missing-{i}"))
    assert manager._key_locks == {}


# -- what a load is doing, for the page ----------------------------------------------------------------

def test_a_load_in_flight_says_what_it_is_doing_and_is_gone_after(manager, tiny_models, monkeypatch):
    from models.text import Sentiment
    from tests.launch import slow_load

    model = tiny_models["sentiment"]
    assert manager.loading("sentiment", model) is None
    with slow_load(Sentiment, model, 1.5):
        loader = threading.Thread(target=manager.get, args=("sentiment", model))
        loader.start()
        seen = []
        while loader.is_alive():
            state = manager.loading("sentiment", model)
            if state is not None:
                seen.append(state["phase"])
            loader.join(0.05)
    assert "reading the weights" in seen  # what the slowed adapter reports (a real one reports its steps too)
    assert manager.loading("sentiment", model) is None
    entry = manager.entry("sentiment", model)
    assert entry["device"] == "cpu" and entry["last_used"] >= entry["loaded_at"]


def test_loads_waiting_are_capped(manager, tiny_models, monkeypatch):
    """A load goes on after the page that asked for it closed: clicking through many models must meet a limit."""
    import models.manager as manager_module
    from models.text import Sentiment
    from tests.launch import slow_load

    monkeypatch.setattr(manager_module, "MAX_PENDING_LOADS", 1)
    with slow_load(Sentiment, tiny_models["sentiment"], 1.0):
        first = threading.Thread(target=manager.get, args=("sentiment", tiny_models["sentiment"]))
        first.start()
        while manager.loading("sentiment", tiny_models["sentiment"]) is None:
            first.join(0.01)
        with pytest.raises(ModelLoadFailed, match="busy loading other models; try again in a minute"):
            manager.get("ner", tiny_models["ner"])
        first.join()
    assert manager.get("ner", tiny_models["ner"])  # the limit counts loads in flight only
