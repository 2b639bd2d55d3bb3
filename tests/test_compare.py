"""/compare through gradio_client: for each task, two tiny models side by side give, per side, exactly what
the task's own endpoint gives for that model and input; one side failing leaves the other; the cap of
models kept loaded makes the sides run one after another; one model with two settings."""
from __future__ import annotations

import shutil
from typing import Any, Iterator

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.launch import ASSETS, assert_plain_sentence, running_app

CAT = str(ASSETS / "images" / "cat.jpg")
GREEDY = dict(max_new_tokens=12, temperature=0, top_p=1.0, top_k=0, repetition_penalty=1.0, seed=3)


@pytest.fixture(scope="module")
def models(tiny_models: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, str]]:
    """Per task, two models: the tiny one and a copy of it in another folder (another id, the same weights;
    text generation: the chat model and the reasoning one)."""
    out = {}
    for task, name in [("sentiment", "sentiment"), ("ner", "ner"), ("question-answering", "qa"),
                       ("fill-mask", "fill-mask"), ("zero-shot-classification", "nli"),
                       ("image-classification", "vit")]:
        copy = tmp_path_factory.mktemp("copies") / f"{name}-copy"
        shutil.copytree(tiny_models[name], copy)
        out[task] = (tiny_models[name], str(copy))
    out["text-generation"] = (tiny_models["chat-gpt2"], tiny_models["reasoning-gpt2"])
    return out


@pytest.fixture(scope="module")
def app(models: dict[str, tuple[str, str]]) -> Iterator[Any]:
    data = {task: [{"id": a, "label": f"tiny {task}"}, {"id": b, "label": f"tiny {task} B"}]
            for task, (a, b) in models.items()}
    with running_app(data, max_loaded=20) as launched:
        yield launched


CASES = [  # (endpoint, task, inputs)
    ("sentiment", "sentiment", {"text": "I love this film"}),
    ("ner", "ner", {"text": "Ada Lovelace lives in London."}),
    ("qa", "question-answering", {"question": "Where does Ada live?", "context": "Ada lives in London."}),
    ("fill_mask", "fill-mask", {"text": "Ada lives in [MASK].", "top_k": 3}),
    ("zero_shot_classification", "zero-shot-classification",
     {"text": "The striker scored twice.", "labels": "sports, politics", "multi_label": False,
      "hypothesis_template": "This example is {}."}),
    ("generate", "text-generation", {"prompt": "the cat sat", **GREEDY}),
    ("chat", "text-generation", {"messages": [{"role": "user", "content": "hello"}], "system_prompt": "",
                                 **GREEDY}),
]


@pytest.mark.parametrize("endpoint, task, inputs", CASES, ids=[c[0] for c in CASES])
def test_each_side_is_the_single_endpoints_result(client: Client, models: dict, endpoint: str, task: str,
                                                  inputs: dict[str, Any]) -> None:
    a, b = models[task]
    sides = client.predict(task=endpoint, models=[a, b], inputs=inputs, settings=None, api_name="/compare")
    assert [s["model"] for s in sides] == [a, b]
    for side, model in zip(sides, [a, b]):
        assert side["error"] is None, side["error"]
        single = client.predict(**inputs, model=model, api_name=f"/{endpoint}")
        expected = list(single) if isinstance(single, tuple) else single
        if endpoint == "generate":  # the speed line differs from call to call; the text does not
            assert side["result"][0] == expected[0]
        elif endpoint == "chat":
            assert side["result"][0] == expected[0] and side["result"][1]["new_tokens"] == expected[1]["new_tokens"]
        else:
            assert side["result"] == expected
        metrics = side["metrics"]
        assert metrics["latency_seconds"] > 0 and metrics["parameters"] > 0 and metrics["memory_bytes"] > 0
        assert metrics["device"] == "cpu" and metrics["dtype"] == "float32"


def test_images_go_in_as_uploaded_files(client: Client, models: dict) -> None:
    a, b = models["image-classification"]
    sides = client.predict(task="classify_image", models=[a, b], inputs={"image": handle_file(CAT), "top_k": 2},
                           settings=None, api_name="/compare")
    single = client.predict(image=handle_file(CAT), model=a, top_k=2, api_name="/classify_image")
    assert [s["result"] for s in sides] == [single, single]  # the same weights in two folders


def test_one_model_with_two_settings(client: Client, models: dict) -> None:
    chat = models["text-generation"][0]
    sides = client.predict(task="generate", models=[chat], inputs={"prompt": "the cat sat", **GREEDY},
                           settings=[{"seed": 1, "temperature": 0.9}, {"seed": 2, "temperature": 0.9}],
                           api_name="/compare")
    assert len(sides) == 2 and all(s["error"] is None for s in sides)
    assert "seed 1" in sides[0]["result"][1] and "seed 2" in sides[1]["result"][1]
    assert sides[0]["result"][0] != sides[1]["result"][0]


def test_a_failing_side_leaves_the_other(client: Client, models: dict, tmp_path: Any) -> None:
    a, _ = models["sentiment"]
    sides = client.predict(task="sentiment", models=[a, str(tmp_path / "no-such-model")],
                           inputs={"text": "I love this film"}, settings=None, api_name="/compare")
    assert sides[0]["error"] is None and sides[0]["result"]["label"]
    assert sides[1]["result"] is None
    assert_plain_sentence(sides[1]["error"])


@pytest.mark.parametrize("kwargs, says", [
    ({"task": "nope"}, "task must be one of"),
    ({"models": ["x"]}, "Compare 2 to 4"),
    ({"models": ["a", "b", "c", "d", "e"]}, "Compare 2 to 4"),
    ({"inputs": [1]}, "inputs must be an object"),
    ({"inputs": {"colour": "red"}}, "has no parameter 'colour'"),
    ({"settings": [{}, {}, {}]}, "settings has 3 entries"),
])
def test_a_bad_comparison_is_one_sentence(client: Client, models: dict, kwargs: dict, says: str) -> None:
    a, b = models["sentiment"]
    request = {"task": "sentiment", "models": [a, b], "inputs": {"text": "hi"}, "settings": None, **kwargs}
    with pytest.raises(AppError) as info:
        client.predict(**request, api_name="/compare")
    assert_plain_sentence(str(info.value))
    assert says.lower() in str(info.value).lower()


def test_past_the_cap_the_sides_run_one_after_another(tiny_models: Any, models: dict) -> None:
    a, b = models["sentiment"]
    with running_app({"sentiment": [{"id": a, "label": "A"}, {"id": b, "label": "B"}]}, max_loaded=1) as small:
        sides = Client(small.url, verbose=False).predict(task="sentiment", models=[a, b], inputs={"text": "I love it"},
                                                         settings=None, api_name="/compare")
        assert all(s["error"] is None for s in sides)
        assert "one after another" in sides[0]["note"]
        assert sides[0]["result"] == sides[1]["result"]


def test_measure_sends_the_call_again_and_counts_the_answers(client: Client, models: dict) -> None:
    a, b = models["sentiment"]
    sides = client.predict(task="sentiment", models=[a, b], inputs={"text": "I love this film"}, settings=None,
                           measure=True, api_name="/compare")
    for side in sides:
        figures = side["metrics"]
        assert side["error"] is None and "throughput_error" not in figures
        assert figures["throughput_at_once"] == 16  # the batch a batched task fills (ModelManager's default)
        assert figures["throughput_calls"] >= 16 and figures["throughput_seconds"] >= 2.0
        assert figures["throughput_per_second"] == pytest.approx(
            figures["throughput_calls"] / figures["throughput_seconds"], rel=0.01)
    unbatched = client.predict(task="qa", models=list(models["question-answering"]),
                               inputs={"question": "Where?", "context": "Ada lives in London."}, settings=None,
                               measure=True, api_name="/compare")
    assert [s["metrics"]["throughput_at_once"] for s in unbatched] == [1, 1]


# -- one setting varied (the page's "Or vary one setting") ------------------------------------------

def test_a_varied_setting_is_checked_as_its_control_checks_it() -> None:
    from components.compare import varied

    assert varied("text-generation", "temperature", "0.2, 1.2") == [{"temperature": 0.2}, {"temperature": 1.2}]
    assert varied("text-to-image", "seed", "1,2\n3") == [{"seed": 1}, {"seed": 2}, {"seed": 3}]
    assert varied("zero-shot-classification", "multi_label", "true, false") == [{"multi_label": True},
                                                                               {"multi_label": False}]
    assert varied("sentiment", "", "") == []
    for name, values, says in [("temperature", "0.2", "Give 2 to 4 values"),
                               ("temperature", "0.2, hot", "'hot' is not a number"),
                               ("temperature", "0.2, 9", "Temperature"),
                               ("top_k", "1.5, 2", "whole"),
                               ("prompt", "a, b", "not a setting to vary")]:
        with pytest.raises(Exception) as info:
            varied("text-generation", name, values)
        assert_plain_sentence(str(info.value))
        assert says.lower() in str(info.value).lower(), str(info.value)


def test_a_plan_is_models_or_one_model_and_a_setting() -> None:
    from types import SimpleNamespace

    from components.compare import plan

    ctx = SimpleNamespace()
    assert plan(ctx, "text-generation", ["a", "b"], "tab", "", "") == [("a", {}), ("b", {})]
    assert plan(ctx, "text-generation", [], "tab", "seed", "1, 2") == [("tab", {"seed": 1}), ("tab", {"seed": 2})]
    assert plan(ctx, "text-generation", ["a"], "tab", "seed", "1, 2") == [("a", {"seed": 1}), ("a", {"seed": 2})]
    for models, vary, values, says in [(["a"], "", "", "Pick 2 to 4"), (["a", "b"], "seed", "1, 2", "on one model")]:
        with pytest.raises(Exception) as info:
            plan(ctx, "text-generation", models, "tab", vary, values)
        assert says in str(info.value)
