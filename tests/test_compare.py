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


# -- in the reader's language (English unless asked) ------------------------------------------------------

def test_the_summary_and_figures_are_in_the_readers_language() -> None:
    from components.compare import ONE_AFTER_ANOTHER, figures_line, not_measured, summary
    from models.messages import CHINESE, render

    sides = [{"error": None, "metrics": {"latency_seconds": 1.0, "parameters": 100e6, "throughput_per_second": 3.0},
              "result": {"label": "POSITIVE", "confidences": [{"label": "POSITIVE", "confidence": 0.9}]}},
             {"error": None, "metrics": {"latency_seconds": 1.5, "parameters": 200e6, "throughput_per_second": 1.5},
              "result": {"label": "NEGATIVE", "confidences": [{"label": "NEGATIVE", "confidence": 0.8}]}},
             {"error": "It broke.", "metrics": {}, "result": None}]
    assert summary("sentiment", sides) == ("B is 1.5x slower than A and 2.0x larger, with 0.5x A's throughput; "
                                           "they disagree: POSITIVE 0.90 vs NEGATIVE 0.80; C failed.")
    assert summary("sentiment", sides, CHINESE) == ("B 比 A 慢 1.5x，参数量大 2.0x，吞吐量是 A 的 0.5x；"
                                                    "它们的判断不同：POSITIVE 0.90 vs NEGATIVE 0.80；C 出错了。")
    same = [{"error": None, "metrics": {"latency_seconds": 2.0}, "result": {"label": "POSITIVE"}},
            {"error": None, "metrics": {"latency_seconds": 1.0}, "result": {"label": "POSITIVE"}}]
    assert summary("sentiment", same) == "B is 2.0x faster than A; they agree on the label: POSITIVE."
    assert summary("sentiment", same, CHINESE) == "B 比 A 快 2.0x；它们给出相同的标签：POSITIVE。"
    ner = [{"error": None, "metrics": {}, "result": ["t", {"data": [["Ada", "PER"], ["London", "LOC"]]}]},
           {"error": None, "metrics": {}, "result": ["t", {"data": [["Ada", "PER"]]}]}]
    assert summary("ner", ner) == "only A found London (LOC)."
    assert summary("ner", ner, CHINESE) == "只有 A 找到了 London (LOC)。"
    qa = [{"error": None, "metrics": {}, "result": ["in London", {}]},
          {"error": None, "metrics": {}, "result": ["London", {}]}]
    assert summary("question-answering", qa) == "their answers overlap (in London / London)."
    assert summary("question-answering", qa, CHINESE) == "它们的答案有重叠（in London / London）。"
    search = [{"error": None, "metrics": {}, "result": [{"image": {"path": "/x/cat.jpg"}}, {"image": {"path": "dog.jpg"}}]}] * 2
    assert summary("clip", search, CHINESE) == "它们给图片的排序相同，cat.jpg 排在第一。"
    assert render(ONE_AFTER_ANOTHER, CHINESE) == "这些模型加起来超过了保持加载的模型数量，所以各栏依次运行。"

    metrics = {"latency_seconds": 0.123, "parameters": 124_000_000, "memory_bytes": 12 * 2**20, "device": "cpu",
               "dtype": "float32", "load_seconds": 1.04, "throughput_per_second": 3.14159, "throughput_calls": 31,
               "throughput_at_once": 16}
    assert figures_line(metrics, None) == ("0.12 s this call · 124M parameters · 12.0 MB · cpu · float32 · loaded in "
                                           "1.0 s · **3.14 calls/s** measured (31 calls, 16 at once)")
    assert figures_line(metrics, None, CHINESE) == ("本次调用 0.12 秒 · 参数量 124M · 12.0 MB · cpu · float32 · "
                                                    "加载用时 1.0 秒 · 实测 **3.14 calls/s**（共 31 次调用，并发 16）")
    assert figures_line({"latency_seconds": 0.5, "loaded_before": True}, None, CHINESE) == "本次调用 0.50 秒 · 已经加载"
    assert figures_line({}, "模型出错了。", CHINESE) == "⚠ 模型出错了。"
    assert not_measured("0.50 s this call", "It broke.") == "0.50 s this call · ⚠ not measured: It broke."
    assert not_measured("本次调用 0.50 秒", "出错了。", CHINESE) == "本次调用 0.50 秒 · ⚠ 未能测量：出错了。"


def test_a_sides_heading_names_the_setting_in_the_readers_language() -> None:
    from types import SimpleNamespace

    from components.compare import head_of
    from models.messages import CHINESE

    ctx = SimpleNamespace(manager=SimpleNamespace(spec=lambda task, model: SimpleNamespace(name="tiny gpt2")))
    assert head_of(ctx, "text-generation", 1, "gpt2", {"temperature": 0.2}) == "**B: tiny gpt2 · Temperature 0.2**"
    assert head_of(ctx, "text-generation", 1, "gpt2", {"temperature": 0.2}, CHINESE) == \
        "**B: tiny gpt2 · 温度（temperature） 0.2**"


def test_a_bad_comparison_is_said_in_chinese_too() -> None:
    from types import SimpleNamespace

    from components.compare import Endpoint, check_request, plan, varied
    from models.messages import CHINESE

    def said(call: Any) -> tuple[str, str]:
        with pytest.raises(Exception) as info:
            call()
        return str(info.value), info.value.args[0].render(CHINESE)

    endpoint = Endpoint(name="sentiment", task="sentiment", params=["text", "model"], model_at=1, streams=False)
    ctx = SimpleNamespace(endpoints={"sentiment": endpoint})
    cases = [  # (the call, its English, its Chinese)
        (lambda: check_request(ctx, "nope", ["a", "b"], {}, None),
         "task must be one of the endpoints sentiment, not 'nope'.", "参数 task 必须是以下端点之一：sentiment，而不是 'nope'。"),
        (lambda: check_request(ctx, "sentiment", 3, {}, None),
         "models must be a list of model ids or labels.", "参数 models 必须是模型 id 或标签的列表。"),
        (lambda: check_request(ctx, "sentiment", ["a", "b"], "{", None),
         "inputs must be a JSON object of the endpoint's parameters by name.", "参数 inputs 必须是一个 JSON 对象"),
        (lambda: check_request(ctx, "sentiment", ["a", "b"], [1], None),
         "inputs must be an object of the endpoint's parameters by name.", "参数 inputs 必须是一个对象"),
        (lambda: check_request(ctx, "sentiment", ["a", "b"], {}, "x"),
         "settings must be a list of objects, one per side.", "参数 settings 必须是对象的列表，每栏一个。"),
        (lambda: check_request(ctx, "sentiment", ["a"], {}, None),
         "Compare 2 to 4 models (or one model with 2 to 4 settings), not 1.",
         "请比较 2 到 4 个模型（或一个模型的 2 到 4 组设置），而不是 1 个。"),
        (lambda: check_request(ctx, "sentiment", ["a", "b"], {}, [{}, {}, {}]),
         "settings has 3 entries for 2 models; give one per side.", "参数 settings 有 3 项，模型却有 2 个；请每栏给一项。"),
        (lambda: check_request(ctx, "sentiment", ["a", "b"], {"colour": "red"}, None),
         "sentiment has no parameter 'colour'; its parameters are text.", "sentiment 没有参数 'colour'；它的参数有：text。"),
        (lambda: varied("text-generation", "prompt", "a, b"),
         "'prompt' is not a setting to vary; choose one of", "'prompt' 不是可以改变的设置；请从以下选择一个：max_new_tokens"),
        (lambda: varied("text-generation", "temperature", "0.2"),
         "Give 2 to 4 values of Temperature, separated by commas (like 0.2, 1.0); 1 were given.",
         "请给出温度（temperature）的 2 到 4 个取值，用逗号分隔（例如 0.2, 1.0）；现在给了 1 个。"),
        (lambda: varied("text-generation", "temperature", "0.2, hot"),
         "'hot' is not a number; give values of Temperature like", "'hot' 不是数字；请给出温度（temperature）的取值，例如 "),
        (lambda: plan(ctx, "text-generation", ["a", "b"], "tab", "seed", "1, 2"),
         "Vary a setting on one model (pick one, or none for the tab's model), or compare models with the same "
         "settings.", "请在一个模型上改变设置"),
        (lambda: plan(ctx, "text-generation", ["a"], "tab", "", ""),
         "Pick 2 to 4 models to compare, or one model and a setting to vary.",
         "请选 2 到 4 个模型来比较，或者选一个模型和一个要改变的设置。"),
    ]
    for call, english, chinese in cases:
        got_english, got_chinese = said(call)
        assert got_english.startswith(english), got_english
        assert got_chinese.startswith(chinese), got_chinese


def test_the_api_answers_in_chinese_when_asked(app: Any, models: dict, tmp_path: Any) -> None:
    a, _ = models["sentiment"]
    chinese = Client(app.url, verbose=False, headers={"Accept-Language": "zh-CN"})
    with pytest.raises(AppError) as info:
        chinese.predict(task="nope", models=[a, a], inputs={"text": "hi"}, settings=None, api_name="/compare")
    assert str(info.value).startswith("参数 task 必须是以下端点之一：")
    sides = chinese.predict(task="sentiment", models=[a, str(tmp_path / "no-such-model")],
                            inputs={"text": "I love this film"}, settings=None, api_name="/compare")
    assert sides[0]["error"] is None and "不存在" in sides[1]["error"], sides[1]["error"]
    english = Client(app.url, verbose=False).predict(task="sentiment", models=[a, str(tmp_path / "no-such-model")],
                                                     inputs={"text": "I love this film"}, settings=None,
                                                     api_name="/compare")
    assert "does not exist" in english[1]["error"], english[1]["error"]


def test_the_pages_comparison_is_in_the_readers_language(app: Any, models: dict) -> None:
    """The tab's Compare, called as Gradio calls it (the request where Gradio puts it): the headings, the
    figures and the summary in the page's language."""
    import gradio as gr
    from gradio.helpers import special_args

    a, b = models["sentiment"]

    def compare_fn() -> Any:
        for fn in app.demo.fns.values():
            if getattr(fn.fn, "__name__", "") == "compare_on_page" and any(
                    getattr(c, "multiselect", False) and a in [v for _, v in c.choices] for c in fn.inputs):
                return fn
        raise AssertionError("no Compare on the sentiment tab")

    fn = compare_fn()

    def run(language: str) -> list[str]:
        values: list[Any] = []
        for component in fn.inputs:
            if getattr(component, "multiselect", False):
                values.append([a, b])
            elif isinstance(component, gr.Textbox) and not values:
                values.append("I love this film")
            else:
                values.append(component.value if not callable(component.value) else None)
        request = gr.Request(headers={"accept-language": language})
        args, *_ = special_args(fn.fn, values, request, None)
        return [v for update in fn.fn(*args) for v in update.values() if isinstance(v, str)]

    said = run("zh-CN")
    assert "**A: tiny sentiment**" in said and "**B: tiny sentiment B**" in said
    assert any(s.startswith("本次调用 ") and "参数" in s for s in said), said
    assert any("它们给出相同的标签：" in s for s in said), said
    english = run("en")
    assert any(s.startswith("Comparing") for s in english) and any(" s this call · " in s for s in english)
    assert any("they agree on the label: " in s for s in english), english
