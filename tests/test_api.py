"""The public API of the launched app, called by keyword through gradio_client, as a user's script would.

One app per module, in-process on a free port, with the tiny models of tests/conftest.py.
Generation tests use a copy of the tiny chat model slowed down per forward pass (tests/launch.py
slow_down), so a generation lasts long enough to be watched, stopped and cancelled mid-stream.
"""
from __future__ import annotations

import contextlib
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from components.render import percent
from tests.launch import (ASSETS, ROOT, assert_plain_sentence, generate_threads, running_app, slow_chat_copy,
                          slow_down, wait_until)

ENDPOINTS = ["/generate", "/stop_generation", "/sentiment", "/ner", "/qa", "/classify_image", "/models", "/unload"]
GEN_DEFAULTS = dict(max_new_tokens=40, temperature=0.7, top_p=0.95, top_k=50, repetition_penalty=1.1, seed=7)
SLOW_SECONDS = 0.02  # per forward pass of the slowed generator: ~40 tokens/s on two CPU cores


# -- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def models(tiny_models: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    slow = slow_chat_copy(tiny_models, tmp_path_factory)
    return {"chat": tiny_models["chat-gpt2"], "gpt2": tiny_models["gpt2"], "slow": slow,
            "sentiment": tiny_models["sentiment"], "ner": tiny_models["ner"], "qa": tiny_models["qa"],
            "vit": tiny_models["vit"]}


@pytest.fixture(scope="module")
def app(tiny_catalog_data: dict, models: dict[str, str]) -> Iterator[Any]:
    data = dict(tiny_catalog_data)
    data["text-generation"] = [*data["text-generation"], {"id": models["slow"], "label": "tiny chat (slowed)"}]
    with running_app(data) as launched:
        yield launched


@contextlib.contextmanager
def slowed(app: Any, task: str, model: str, seconds: float) -> Iterator[None]:
    """The model, loaded, with every forward pass taking at least `seconds`, for the block."""
    handle = slow_down(app.manager.get(task, model), seconds)
    try:
        yield
    finally:
        handle.remove()


def generate_kwargs(model: str, prompt: str = "Tell me a story about a cat.", **overrides: Any) -> dict[str, Any]:
    return {"prompt": prompt, "model": model, **GEN_DEFAULTS, **overrides, "api_name": "/generate"}


def tokens_of(stats: str) -> int:
    match = re.search(r"(\d+) new tokens\b", stats)  # not "35.7 tokens/s" nor "context 52 of 256 tokens"
    assert match, f"no token count in the stats line {stats!r}"
    return int(match.group(1))


# -- the endpoints exist ----------------------------------------------------------------------------

def test_every_public_endpoint_is_listed(client: Client) -> None:
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(ENDPOINTS) <= set(named), f"missing: {set(ENDPOINTS) - set(named)}"


def test_page_config_carries_every_components_props(app: Any) -> None:
    """The browser draws components from /config; a component whose props went missing there (as
    ImageInput's did when its **kwargs __init__ hid gr.Image's signature) leaves its tab blank."""
    import json
    import urllib.request

    with urllib.request.urlopen(app.url + "config", timeout=10) as response:
        config = json.load(response)
    images = [c for c in config["components"] if c["type"] == "image" and c["props"].get("interactive") is not False]
    assert images, "no image input in the page"  # (the Explain heatmaps are images drawn, not inputs)
    for component in images:
        props = component["props"]
        label = props.get("label")  # a translated word: Gradio writes its key, the browser its text
        assert label.startswith("__i18n__") and json.loads(label[len("__i18n__"):])["key"] == "image"
        assert props.get("sources") == ["upload", "webcam", "clipboard"]
        assert props.get("type") == "filepath"


# -- classification tasks ---------------------------------------------------------------------------

def test_sentiment_says_positive_for_a_positive_sentence(client: Client, models: dict[str, str]) -> None:
    result = client.predict(text="I love this film", model=models["sentiment"], api_name="/sentiment")
    assert result["label"] == "POSITIVE"
    confidences = result["confidences"]
    assert [c["label"] for c in confidences][0] == "POSITIVE"
    assert {c["label"] for c in confidences} == {"POSITIVE", "NEGATIVE"}
    assert sum(c["confidence"] for c in confidences) == pytest.approx(1.0, abs=1e-4)
    negative = client.predict(text="I hate this film", model=models["sentiment"], api_name="/sentiment")
    assert negative["label"] == "NEGATIVE"


def test_ner_highlights_the_name_exactly(client: Client, models: dict[str, str]) -> None:
    text = "Yesterday Björn Andersson visited São Paulo."
    highlighted, table = client.predict(text=text, model=models["ner"], api_name="/ner")
    # The highlighted pieces put back together are the text, and the name is one PER piece.
    assert "".join(piece["token"] for piece in highlighted) == text
    marked = [(p["token"], p["class_or_confidence"]) for p in highlighted if p["class_or_confidence"]]
    assert ("Björn Andersson", "Person") in marked  # the types in words, as the page shows them
    assert ("São Paulo", "Place") in marked
    # The table lists the same entities, for people: entity, type, confidence (a number here, a percentage shown).
    assert table["headers"] == ["Entity", "Type", "Confidence"]
    rows = table["data"]
    assert sorted((r[0], r[1]) for r in rows) == sorted(marked)
    for (entity, kind, confidence), shown in zip(rows, table["metadata"]["display_value"]):
        assert entity in text
        assert 0.0 < confidence <= 1.0
        assert shown == [entity, kind, percent(confidence)]


def test_qa_answers_with_a_span_of_the_context(client: Client, models: dict[str, str]) -> None:
    context = "The train was late again. Renée Dubois lives in Zürich. Renée Dubois works as a pilot."
    answer, confidence, highlighted = client.predict(question="Where does Renée Dubois live?", context=context,
                                                model=models["qa"], api_name="/qa")
    assert answer == "Zürich"
    assert answer in context
    assert re.fullmatch(r"\d{1,3}\.\d%|>99\.9%|<0\.1%", confidence)  # as the page shows it: "97.2%"
    assert "".join(piece["token"] for piece in highlighted) == context
    marked = [p["token"] for p in highlighted if p["class_or_confidence"] == "answer"]
    assert marked == [answer]


def test_classify_image_returns_top_k_labels(client: Client, models: dict[str, str]) -> None:
    from tests.builders.vision import VIT_LABELS

    result = client.predict(image=handle_file(str(ASSETS / "images" / "cat.jpg")), model=models["vit"], top_k=2,
                            api_name="/classify_image")
    confidences = result["confidences"]
    assert len(confidences) == 2
    assert {c["label"] for c in confidences} <= set(VIT_LABELS.values())
    assert result["label"] == confidences[0]["label"]
    assert confidences[0]["confidence"] >= confidences[1]["confidence"]
    everything = client.predict(image=handle_file(str(ASSETS / "images" / "cat.jpg")), model=models["vit"],
                                top_k=20, api_name="/classify_image")
    assert len(everything["confidences"]) == len(VIT_LABELS)  # top_k above the label count: all of them


def assert_same_label_results(batched: list[dict[str, Any]], alone: list[dict[str, Any]]) -> None:
    for got, want in zip(batched, alone, strict=True):
        assert got["label"] == want["label"]
        assert [c["label"] for c in got["confidences"]] == [c["label"] for c in want["confidences"]]
        for g, w in zip(got["confidences"], want["confidences"]):
            assert g["confidence"] == pytest.approx(w["confidence"], abs=1e-5)


def run_together(calls: list[dict[str, Any]], client: Client) -> list[Any]:
    """Start every call at once from its own thread; results in order."""
    barrier = threading.Barrier(len(calls))

    def call(kwargs: dict[str, Any]) -> Any:
        barrier.wait(timeout=30)
        return client.predict(**kwargs)

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(call, calls))


def test_concurrent_sentiment_requests_are_batched_without_changing_results(app: Any, client: Client,
                                                                          models: dict[str, str]) -> None:
    texts = ["I love this film", "I hate the food.", "Honestly, I really like this book so much.", "We detest my job!",
             "The ending is something I adore.", "I cannot stand the hotel", "My friends enjoy this song.", "Meh."]
    calls = [{"text": t, "model": models["sentiment"], "api_name": "/sentiment"} for t in texts]
    alone = [client.predict(**c) for c in calls]
    batches_before = app.manager.batcher.batches_run
    # A slowed forward pass makes the requests pile up behind the first, so they do share batches.
    with slowed(app, "sentiment", models["sentiment"], 0.3):
        together = run_together(calls, client)
    assert app.manager.batcher.batches_run - batches_before < len(calls), "the requests never shared a batch"
    assert_same_label_results(together, alone)
    assert together[0]["label"] == "POSITIVE" and together[1]["label"] == "NEGATIVE"


def test_concurrent_image_requests_are_batched_without_changing_results(app: Any, client: Client,
                                                                      models: dict[str, str]) -> None:
    images = sorted((ASSETS / "images").glob("*.jpg"))
    assert len(images) >= 4
    calls = [{"image": handle_file(str(p)), "model": models["vit"], "top_k": 3, "api_name": "/classify_image"}
             for p in (images * 2)[:8]]
    alone = [client.predict(**c) for c in calls]
    batches_before = app.manager.batcher.batches_run
    with slowed(app, "image-classification", models["vit"], 0.3):
        together = run_together(calls, client)
    assert app.manager.batcher.batches_run - batches_before < len(calls), "the requests never shared a batch"
    assert_same_label_results(together, alone)
    assert_same_label_results(together[:4], together[4:])  # the same image twice: the same answer


# -- generation -----------------------------------------------------------------------------------

def test_generate_streams_growing_text(app: Any, client: Client, models: dict[str, str]) -> None:
    with slowed(app, "text-generation", models["slow"], SLOW_SECONDS):
        job = client.submit(**generate_kwargs(models["slow"], max_new_tokens=60))
        outputs = list(job)
        final = job.result()
    texts = [text for text, _stats in outputs]
    distinct = [t for i, t in enumerate(texts) if i == 0 or t != texts[i - 1]]
    assert len(distinct) >= 3, f"expected several partial outputs, got {texts!r}"
    for shorter, longer in zip(texts, texts[1:]):
        assert longer.startswith(shorter), "a streamed output is not a prefix of the next one"
    assert len(texts[-1]) > len(texts[0])
    assert tuple(outputs[-1]) == tuple(final)
    text, stats = final
    assert text
    assert "tokens/s" in stats and "seed 7" in stats and "stopped" not in stats


def test_generated_text_reaches_the_client_as_the_model_wrote_it(app: Any, client: Client, models: dict[str, str],
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The page draws the output as Markdown; the endpoint still sends the text itself (gr.Markdown's
    own postprocess would strip its ends, dedent it and turn tabs into spaces)."""
    kwargs = generate_kwargs(models["gpt2"], prompt="A list:", max_new_tokens=30, temperature=0, seed=None)
    text, _stats = client.predict(**kwargs)
    params = {k: v for k, v in kwargs.items() if k not in ("prompt", "model", "api_name")}
    *_, last = app.manager.stream("text-generation", models["gpt2"], kwargs["prompt"], do_sample=False, **params)
    assert text == last["text"] and text
    # The tiny models write no Markdown: a stream that does, in two pieces.
    written = "  **Bold**, then\n\n\t- a tab\n    - four spaces\n\n```\n\tcode\n```\n\n"
    pieces = [written[:12], written]
    monkeypatch.setattr(app.manager, "stream", lambda *args, **kw: iter(
        [{"text": t, "new_tokens": i + 1, "seed": 1, "done": t == written, "first_token_seconds": 0.0, "seconds": 0.1}
         for i, t in enumerate(pieces)]))
    job = client.submit(**kwargs)
    assert [text for text, _stats in job] == pieces


def test_same_seed_gives_the_same_text(client: Client, models: dict[str, str]) -> None:
    kwargs = generate_kwargs(models["chat"], max_new_tokens=30, temperature=0.9, seed=1234)
    first = client.predict(**kwargs)
    second = client.predict(**kwargs)
    assert first[0] == second[0] and first[0]
    other = client.predict(**{**kwargs, "seed": 4321})
    assert other[0] != first[0]
    greedy = generate_kwargs(models["gpt2"], max_new_tokens=20, temperature=0, seed=None)
    assert client.predict(**greedy)[0] == client.predict(**greedy)[0]


def test_stop_ends_only_the_callers_generation(app: Any, models: dict[str, str]) -> None:
    alice, bob = Client(app.url, verbose=False), Client(app.url, verbose=False)
    kwargs = generate_kwargs(models["slow"], max_new_tokens=120, seed=11)
    with slowed(app, "text-generation", models["slow"], SLOW_SECONDS):
        alice_job = alice.submit(**kwargs)
        bob_job = bob.submit(**kwargs)
        seen = 0
        for _ in alice_job:
            seen += 1
            if seen == 3:
                alice.predict(api_name="/stop_generation")
        alice_text, alice_stats = alice_job.result()
        assert not bob_job.done(), "the other user's generation ended with the first one's"
        bob_text, bob_stats = bob_job.result(timeout=60)
    assert "stopped" in alice_stats
    assert tokens_of(alice_stats) < 120
    assert "stopped" not in bob_stats
    assert tokens_of(bob_stats) > tokens_of(alice_stats)
    assert bob_text.startswith(alice_text[: len(alice_text) // 2])  # same seed: the same start


def test_cancelled_stream_leaves_no_generate_thread(app: Any, models: dict[str, str]) -> None:
    caller = Client(app.url, verbose=False)
    with slowed(app, "text-generation", models["slow"], SLOW_SECONDS):
        job = caller.submit(**generate_kwargs(models["slow"], max_new_tokens=200))  # ~5 s if left to run
        for seen, _ in enumerate(job, start=1):
            if seen == 3:
                break
        assert generate_threads(), "the generation was not running when it was cancelled"
        job.cancel()
        assert wait_until(lambda: not generate_threads(), timeout=3.0), \
            f"generate threads still alive 3 s after cancel: {generate_threads()}"
    assert not job.done() or job.status().code.name in ("CANCELLED", "FINISHED")


# -- models and unload ------------------------------------------------------------------------------

def test_models_lists_loaded_models_and_unload_removes_one(client: Client, models: dict[str, str]) -> None:
    client.predict(text="I love this film", model=models["sentiment"], api_name="/sentiment")
    loaded = client.predict(api_name="/models")
    by_key = {(m["task"], m["model"]): m for m in loaded}
    entry = by_key[("sentiment", models["sentiment"])]
    assert entry["device"] == "cpu"
    assert entry["dtype"] == "float32"
    assert isinstance(entry["parameters"], int) and entry["parameters"] > 1000
    for m in loaded:
        assert {"task", "model", "device", "dtype", "parameters"} <= set(m)

    remaining = client.predict(task="sentiment", model=models["sentiment"], api_name="/unload")
    assert ("sentiment", models["sentiment"]) not in {(m["task"], m["model"]) for m in remaining}
    after = client.predict(api_name="/models")
    assert ("sentiment", models["sentiment"]) not in {(m["task"], m["model"]) for m in after}
    assert len(after) == len(loaded) - 1

    with pytest.raises(AppError) as info:  # unloading twice says so
        client.predict(task="sentiment", model=models["sentiment"], api_name="/unload")
    assert_plain_sentence(str(info.value))
    # and the next request loads it again
    assert client.predict(text="I love this film", model=models["sentiment"], api_name="/sentiment")["label"] == "POSITIVE"


# -- errors -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def not_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("not-images")
    (folder / "notes.txt").write_text("This is a text file, not a picture.\n")
    (folder / "fake.png").write_bytes(b"%PDF-1.4 definitely not a PNG" * 20)
    return {"txt": str(folder / "notes.txt"), "png": str(folder / "fake.png")}


def error_cases(models: dict[str, str], not_images: dict[str, str]) -> dict[str, tuple[dict, dict]]:
    """name -> (bad call, good call right after)."""
    cat = str(ASSETS / "images" / "cat.jpg")
    good_sentiment = {"text": "I love this film", "model": models["sentiment"], "api_name": "/sentiment"}
    good_image = {"image": handle_file(cat), "model": models["vit"], "top_k": 2, "api_name": "/classify_image"}
    return {
        "empty text": ({**good_sentiment, "text": ""}, good_sentiment),
        "blank text": ({**good_sentiment, "text": "   \n "}, good_sentiment),
        "unknown folder": ({**good_sentiment, "model": str(ROOT / "no-such-model-folder")}, good_sentiment),
        "folder without config.json": ({"text": "Zoë lives in Paris.", "model": str(ROOT / "tests"), "api_name": "/ner"},
                                       {"text": "Zoë lives in Paris.", "model": models["ner"], "api_name": "/ner"}),
        "text file as image": ({**good_image, "image": handle_file(not_images["txt"])}, good_image),
        "fake png as image": ({**good_image, "image": handle_file(not_images["png"])}, good_image),
        "top_k 0": ({**good_image, "top_k": 0}, good_image),
        "temperature -1": (generate_kwargs(models["chat"], temperature=-1), generate_kwargs(models["chat"])),
        "empty question": ({"question": "", "context": "Zoë lives in Paris.", "model": models["qa"], "api_name": "/qa"},
                           {"question": "Where does Zoë live?", "context": "Zoë lives in Paris.", "model": models["qa"],
                            "api_name": "/qa"}),
    }


ERROR_CASES = ["empty text", "blank text", "unknown folder", "folder without config.json", "text file as image",
               "fake png as image", "top_k 0", "temperature -1", "empty question"]


@pytest.mark.parametrize("case", ERROR_CASES)
def test_bad_request_gives_one_plain_sentence_and_the_next_request_works(
        case: str, client: Client, models: dict[str, str], not_images: dict[str, str]) -> None:
    bad, good = error_cases(models, not_images)[case]
    with pytest.raises(AppError) as info:
        client.predict(**bad)
    assert_plain_sentence(str(info.value))
    assert client.predict(**good)
