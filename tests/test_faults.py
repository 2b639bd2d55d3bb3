"""Faults against a launched app: broken model folders, loads that raise, a forward pass that
raises, a model evicted under a request, clients that leave mid-stream.

Each fault gives the caller one plain sentence; the models already loaded keep answering; and
once the cause is gone (the file restored, the patch undone) the same request works.
"""
from __future__ import annotations

import contextlib
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.launch import assert_plain_sentence, generate_threads, running_app, slow_chat_copy, slow_down, wait_until

NER_TEXT = "Zoë Kravitz lives in Paris."
SLOW_SECONDS = 0.03  # per forward pass of the slowed chat model: a 200-token run would take ~6 s


@pytest.fixture(scope="module")
def models(tiny_models: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    slow = slow_chat_copy(tiny_models, tmp_path_factory)
    return {"chat": tiny_models["chat-gpt2"], "slow": slow, "sentiment": tiny_models["sentiment"],
            "ner": tiny_models["ner"], "qa": tiny_models["qa"]}


@pytest.fixture(scope="module")
def app(models: dict[str, str]) -> Iterator[Any]:
    with running_app({
        "text-generation": [{"id": models["chat"], "label": "tiny chat"},
                            {"id": models["slow"], "label": "tiny chat (slowed)"}],
        "sentiment": [{"id": models["sentiment"], "label": "tiny sentiment"}],
        "ner": [{"id": models["ner"], "label": "tiny ner"}],
        "question-answering": [{"id": models["qa"], "label": "tiny qa"}],
    }) as launched:
        slow_down(launched.manager.get("text-generation", models["slow"]), SLOW_SECONDS)
        yield launched


def copy_of(source: str, folder: Path, name: str) -> str:
    """A copy of a model folder under a fresh name, so the app has never loaded it."""
    target = folder / f"{name}-{uuid.uuid4().hex[:6]}"
    shutil.copytree(source, target)
    return str(target)


def others_still_work(app: Any, client: Client, models: dict[str, str]) -> None:
    """The models loaded before the fault answer, and the manager still lists them."""
    assert client.predict(text="I love this film", model=models["sentiment"], api_name="/sentiment")["label"] == "POSITIVE"
    highlighted, table = client.predict(text=NER_TEXT, model=models["ner"], api_name="/ner")
    assert ["Zoë Kravitz", "Person"] in [row[:2] for row in table["data"]]
    loaded = {(m["task"], m["model"]) for m in app.manager.loaded()}
    assert {("sentiment", models["sentiment"]), ("ner", models["ner"])} <= loaded


def refused(client: Client, **kwargs: Any) -> str:
    with pytest.raises(AppError) as info:
        client.predict(**kwargs)
    message = str(info.value)
    assert_plain_sentence(message)
    return message


@pytest.fixture(autouse=True)
def warm(client: Client, models: dict[str, str]) -> None:
    """Sentiment and NER loaded before each fault, so 'the others keep working' means something."""
    client.predict(text="I love this film", model=models["sentiment"], api_name="/sentiment")
    client.predict(text=NER_TEXT, model=models["ner"], api_name="/ner")


# -- broken model folders -------------------------------------------------------------------------

def test_truncated_weights_then_restored(app: Any, client: Client, models: dict[str, str], tmp_path: Path) -> None:
    broken = copy_of(models["sentiment"], tmp_path, "sentiment")
    weights = Path(broken) / "model.safetensors"
    original = weights.read_bytes()
    weights.write_bytes(original[: len(original) // 2])
    message = refused(client, text="I love this film", model=broken, api_name="/sentiment")
    assert "corrupt or truncated" in message
    assert ("sentiment", broken) not in {(m["task"], m["model"]) for m in app.manager.loaded()}
    others_still_work(app, client, models)

    weights.write_bytes(original)
    assert client.predict(text="I love this film", model=broken, api_name="/sentiment")["label"] == "POSITIVE"


def test_missing_tokenizer_then_restored(app: Any, client: Client, models: dict[str, str], tmp_path: Path) -> None:
    broken = copy_of(models["ner"], tmp_path, "ner")
    tokenizer = Path(broken) / "tokenizer.json"
    aside = tmp_path / "tokenizer.json.aside"
    tokenizer.rename(aside)
    message = refused(client, text=NER_TEXT, model=broken, api_name="/ner")
    assert "tokenizer" in message
    others_still_work(app, client, models)

    aside.rename(tokenizer)
    highlighted, table = client.predict(text=NER_TEXT, model=broken, api_name="/ner")
    assert ["Zoë Kravitz", "Person"] in [r[:2] for r in table["data"]]
    assert highlighted[0] == {"token": "Zoë Kravitz", "class_or_confidence": "Person"}  # characters 0 to 11


def test_config_that_is_not_json_then_restored(app: Any, client: Client, models: dict[str, str],
                                               tmp_path: Path) -> None:
    broken = copy_of(models["sentiment"], tmp_path, "sentiment")
    config = Path(broken) / "config.json"
    original = config.read_text()
    config.write_text(original[: len(original) // 2])  # cut mid-object: not JSON any more
    assert "config" in refused(client, text="I love this film", model=broken, api_name="/sentiment")
    others_still_work(app, client, models)

    config.write_text(original)
    assert client.predict(text="I love this film", model=broken, api_name="/sentiment")["label"] == "POSITIVE"


# -- loads and forward passes that raise ----------------------------------------------------------

@pytest.mark.parametrize("error, says", [
    (MemoryError(), "not enough memory"),
    (RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB (GPU 0; 15.77 GiB total capacity)"),
     "not enough memory"),
    (RuntimeError("something nobody expected\n  at line 3"), "could not be loaded"),
])
def test_a_load_that_raises_then_works(app: Any, client: Client, models: dict[str, str], tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, error: BaseException, says: str) -> None:
    import importlib

    adapters = importlib.import_module("models.text")
    fresh = copy_of(models["sentiment"], tmp_path, "sentiment")
    loads_before = app.manager.load_count

    def failing_load(self: Any, device: str, dtype: Any) -> None:
        raise error

    monkeypatch.setattr(adapters.Sentiment, "_load", failing_load)
    message = refused(client, text="I love this film", model=fresh, api_name="/sentiment")
    assert says in message
    assert app.manager.load_count == loads_before + 1
    others_still_work(app, client, models)  # the loaded sentiment model still answers, patch or not

    monkeypatch.undo()
    assert client.predict(text="I love this film", model=fresh, api_name="/sentiment")["label"] == "POSITIVE"


def test_a_forward_pass_that_raises_then_works(app: Any, client: Client, models: dict[str, str]) -> None:
    pipeline = app.manager.get("sentiment", models["sentiment"])

    def explode(module: Any, args: Any) -> None:
        raise RuntimeError("a kernel failed: device-side assert triggered")

    handle = pipeline.model.register_forward_pre_hook(explode)
    try:
        message = refused(client, text="I love this film", model=models["sentiment"], api_name="/sentiment")
        assert "try again" in message
        # The other tasks do not notice.
        highlighted, table = client.predict(text=NER_TEXT, model=models["ner"], api_name="/ner")
        assert ["Zoë Kravitz", "Person"] in [row[:2] for row in table["data"]]
    finally:
        handle.remove()
    assert client.predict(text="I love this film", model=models["sentiment"], api_name="/sentiment")["label"] == "POSITIVE"


@contextlib.contextmanager
def evicted_once_after_get(app: Any, nth: int = 1) -> Iterator[list[str]]:
    """The nth get() hands out a pipeline and unloads it at once, as another request's load over
    the cap (or a visitor's /unload) would between get() and the forward pass. (An API call runs
    the endpoint alone, without the UI's loading step, so its first get() is the endpoint's.)"""
    manager = app.manager
    real_get = manager.get
    evicted: list[str] = []
    gets = [0]

    def get_then_evict(task: str, model_id: str | None = None, **kwargs: Any) -> Any:
        pipeline = real_get(task, model_id, **kwargs)
        gets[0] += 1
        if gets[0] == nth:
            evicted.append(pipeline.spec.model_id)
            manager.unload(pipeline.spec.task, pipeline.spec.model_id)
        return pipeline

    manager.get = get_then_evict
    try:
        yield evicted
    finally:
        del manager.get  # back to the class's method


@pytest.mark.parametrize("endpoint", ["/sentiment", "/qa", "/generate"])
def test_a_model_evicted_under_a_request_is_loaded_again(app: Any, client: Client, models: dict[str, str],
                                                         endpoint: str) -> None:
    calls = {
        "/sentiment": ({"text": "I love this film", "model": models["sentiment"]}, lambda r: r["label"] == "POSITIVE"),
        "/qa": ({"question": "Where does Zoë Kravitz live?", "context": NER_TEXT, "model": models["qa"]},
                lambda r: r[0] == "Paris"),
        "/generate": ({"prompt": "Hello", "model": models["chat"], "max_new_tokens": 5, "temperature": 0,
                       "top_p": 1, "top_k": 0, "repetition_penalty": 1, "seed": 1},
                      lambda r: "· 5 new tokens ·" in r[1]),
    }
    kwargs, ok = calls[endpoint]
    client.predict(**kwargs, api_name=endpoint)  # loaded
    loads_before = app.manager.load_count
    with evicted_once_after_get(app) as evicted:
        assert ok(client.predict(**kwargs, api_name=endpoint))
    assert evicted == [kwargs["model"]]
    assert app.manager.load_count == loads_before + 1  # loaded again, once


# -- clients that leave mid-stream ----------------------------------------------------------------

def generate_data(models: dict[str, str]) -> list[Any]:
    """/generate's inputs: a run of 200 tokens on the slowed model, ~6 s if nobody stops it."""
    return ["Tell me a long story about a cat.", models["slow"], 200, 0.7, 0.95, 50, 1.1, 5]


def fn_index(app: Any, api_name: str) -> int:
    config = httpx.get(app.url + "config", timeout=10).json()
    return next(d["id"] for d in config["dependencies"] if d.get("api_name") == api_name)


def leave_after(lines: Iterator[str], marker: str, count: int = 3, timeout: float = 20.0) -> int:
    """Read an event stream until `count` lines hold `marker`, then return (the caller closes it)."""
    seen, end = 0, time.monotonic() + timeout
    for line in lines:
        if marker in line:
            seen += 1
            if seen >= count:
                break
        assert time.monotonic() < end, "the stream did not produce output in time"
    return seen


def assert_generation_ends_and_app_still_serves(client: Client, models: dict[str, str]) -> None:
    assert wait_until(lambda: not generate_threads(), timeout=3.0), \
        f"generate threads still alive 3 s after the client left: {generate_threads()}"
    text, stats = client.predict(prompt="Hello", model=models["chat"], max_new_tokens=5, temperature=0, top_p=1,
                                 top_k=0, repetition_penalty=1, seed=1, api_name="/generate")
    assert "· 5 new tokens ·" in stats


def test_closing_the_queue_stream_mid_generation_stops_it(app: Any, client: Client, models: dict[str, str]) -> None:
    """The browser's protocol: POST /queue/join, then read /queue/data (SSE) and close it mid-run."""
    session = uuid.uuid4().hex[:12]
    with httpx.Client(timeout=30) as http:
        joined = http.post(app.url + "gradio_api/queue/join", json={
            "data": generate_data(models), "fn_index": fn_index(app, "generate"), "session_hash": session,
            "event_data": None, "trigger_id": None})
        assert joined.status_code == 200, joined.text
        with http.stream("GET", app.url + f"gradio_api/queue/data?session_hash={session}") as stream:
            assert leave_after(stream.iter_lines(), "process_generating") >= 3
            assert generate_threads(), "the generation was not running when the client left"
    assert_generation_ends_and_app_still_serves(client, models)


def test_closing_the_call_stream_mid_generation_stops_it(app: Any, client: Client, models: dict[str, str]) -> None:
    """The REST protocol: POST /call/generate, then read its event stream and close it mid-run."""
    with httpx.Client(timeout=30) as http:
        posted = http.post(app.url + "gradio_api/call/generate", json={"data": generate_data(models)})
        event_id = posted.json()["event_id"]
        with http.stream("GET", app.url + f"gradio_api/call/generate/{event_id}") as stream:
            assert leave_after(stream.iter_lines(), "data:") >= 3
            assert generate_threads(), "the generation was not running when the client left"
    assert_generation_ends_and_app_still_serves(client, models)


def test_cancelling_a_gradio_client_job_stops_it(app: Any, client: Client, models: dict[str, str]) -> None:
    caller = Client(app.url, verbose=False)
    names = ["prompt", "model", "max_new_tokens", "temperature", "top_p", "top_k", "repetition_penalty", "seed"]
    job = caller.submit(**dict(zip(names, generate_data(models))), api_name="/generate")
    for seen, _ in enumerate(job, start=1):
        if seen == 3:
            break
    assert generate_threads(), "the generation was not running when it was cancelled"
    job.cancel()
    assert_generation_ends_and_app_still_serves(client, models)


# -- two loads at once ----------------------------------------------------------------------------

def test_a_load_that_patches_torch_globally_does_not_leak_into_a_concurrent_load(
        tiny_models: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """diffusers loads under accelerate's init_empty_weights(), which swaps nn.Module.register_parameter
    for one that puts every new parameter on the meta device, for the whole process; transformers
    swaps torch.nn.init and tie_weights the same way. A model loaded by another thread inside that
    window gets meta or uninitialised weights (seen under load as "Tensor.item() cannot be called on
    meta tensors" and NaN probabilities in generation). So loads must never overlap."""
    import importlib

    import accelerate
    from models import ModelManager, parse_catalog

    vision = importlib.import_module("models.vision")
    real_load = vision.ImageClassification._load
    inside = threading.Event()

    def load_inside_a_global_patch(self: Any, device: str, dtype: Any) -> None:
        with accelerate.init_empty_weights():
            inside.set()
            time.sleep(0.5)  # the other load starts meanwhile
        real_load(self, device, dtype)

    monkeypatch.setattr(vision.ImageClassification, "_load", load_inside_a_global_patch)
    manager = ModelManager(parse_catalog({"image-classification": [tiny_models["vit"]],
                                          "sentiment": [tiny_models["sentiment"]]}), device="cpu")
    first = threading.Thread(target=manager.get, args=("image-classification",), daemon=True)
    first.start()
    assert inside.wait(10)
    sentiment = manager.get("sentiment")
    first.join(30)
    meta = [name for name, p in sentiment.model.named_parameters() if p.device.type == "meta"]
    assert not meta, f"parameters left on the meta device: {meta[:5]}"
    assert manager.predict("sentiment", None, "I love this film")["labels"][0]["label"] == "POSITIVE"
    manager.unload_all()
