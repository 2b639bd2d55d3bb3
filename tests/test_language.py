"""The reader's language: the browser's language tags mapped to the two the app speaks, Accept-Language
and the page's cookie read on the server, error sentences written once with a key and rendered in either
language (and across a pickle, as they cross to a Ray replica), and the API in English unless a program
asks (gradio_client with an Accept-Language header)."""
from __future__ import annotations

import json
import pickle
from typing import Any, Iterator

import pytest
from gradio_client import Client

from components.language import COOKIE, from_accept_language, language_of, language_tag
from components.words import WORDS
from models.errors import InvalidInput
from models.messages import CHINESE, ENGLISH, MESSAGES, WORDS_ZH, Message, render, say
from tests.launch import running_app, tiny_catalog


@pytest.mark.parametrize("tag, language", [
    ("zh", CHINESE), ("zh-CN", CHINESE), ("zh-Hans", CHINESE), ("zh-Hans-CN", CHINESE), ("zh-TW", CHINESE),
    ("zh-HK", CHINESE), ("zh_SG", CHINESE), ("ZH-hant", CHINESE), ("en", ENGLISH), ("en-GB", ENGLISH),
    ("fr-FR", None), ("", None)])
def test_a_browser_language_maps_to_one_the_app_speaks(tag: str, language: str | None) -> None:
    assert language_tag(tag) == language


@pytest.mark.parametrize("header, language", [
    ("zh-CN,zh;q=0.9,en;q=0.8", CHINESE), ("fr-FR,en;q=0.5,zh;q=0.9", CHINESE), ("fr, de", None),
    ("en-US,en;q=0.9", ENGLISH), ("zh;q=0.1, en;q=0.5", ENGLISH), (None, None), ("zh;q=x", CHINESE)])
def test_accept_language_is_read_by_its_weights(header: str | None, language: str | None) -> None:
    assert from_accept_language(header) == language


class Request:
    def __init__(self, **headers: str) -> None:
        self.headers = headers


def test_the_pages_cookie_comes_before_accept_language() -> None:
    assert language_of(None) == ENGLISH
    assert language_of(Request()) == ENGLISH
    assert language_of(Request(**{"accept-language": "zh-CN"})) == CHINESE
    assert language_of(Request(**{"accept-language": "zh-CN", "cookie": f"{COOKIE}=en"})) == ENGLISH
    assert language_of(Request(cookie=f"a=b; {COOKIE}=zh-CN")) == CHINESE
    assert language_of(Request(cookie=f"{COOKIE}=klingon")) == ENGLISH  # not one the app speaks: ignored
    assert language_of(Request(cookie="\x00broken;;=")) == ENGLISH


def test_a_sentence_is_written_once_and_rendered_in_either_language() -> None:
    message = say("text.empty", what="prompt")
    assert message == "The prompt is empty; type some text." and isinstance(message, str)
    assert message.render(CHINESE) == "提示词是空的，请输入一些文字。"
    assert render(message, ENGLISH) == str(message) and render("plain", CHINESE) == "plain"
    error = InvalidInput(say("text.too_long", what="text", length=120_000, limit=100_000), field="text")
    assert str(error) == "The text is 120,000 characters long; the limit is 100,000."
    again = pickle.loads(pickle.dumps(error))  # as it comes back from a Ray replica
    assert isinstance(again.args[0], Message) and again.field == "text"
    assert again.args[0].render(CHINESE) == "文本有 120,000 个字符，上限是 100,000 个。"


def test_every_message_and_word_has_both_languages_with_the_same_values() -> None:
    import string

    def names(template: str) -> set[str]:
        return {name.removesuffix("_zh") for _, name, _, _ in string.Formatter().parse(template) if name}

    for key, templates in MESSAGES.items():
        assert set(templates) == {ENGLISH, CHINESE}, key
        assert names(templates[ENGLISH]) == names(templates[CHINESE]), key
    for key, words in WORDS.items():
        assert set(words) == {ENGLISH, CHINESE} and all(words.values()), key
    assert all(isinstance(word, str) and word and isinstance(zh, str) and zh for word, zh in WORDS_ZH.items())
    # keys are "group.name"; each group's entries together, the groups in alphabetical order
    groups = [key.split(".")[0] for key in MESSAGES]
    assert all(key.count(".") == 1 and key == key.lower() for key in MESSAGES)
    assert [g for i, g in enumerate(groups) if i == 0 or groups[i - 1] != g] == sorted(set(groups))


def _samples(key: str) -> dict[str, Any]:
    """A value for each name the templates of `key` take: a number where a template formats it (`{n:,}`,
    `{size:.1f}`, `{low:g}`), else a text that shows where it landed."""
    import string

    numbers, texts = set(), set()
    for template in MESSAGES[key].values():
        for _, name, spec, _ in string.Formatter().parse(template):
            if name:
                (numbers if spec else texts).add(name.removesuffix("_zh"))
    return {name: 12_345 if name in numbers else f"‹{name}›" for name in numbers | texts}


@pytest.mark.parametrize("key", sorted(MESSAGES))
def test_every_message_renders_in_both_languages(key: str) -> None:
    """Every template formats with its values (format specs such as {n:,} and {x!r} included), each value
    lands in both sentences, and the Chinese sentence is Chinese."""
    import re

    values = _samples(key)
    message = say(key, **values)
    english, chinese = str(message), message.render(CHINESE)
    assert english == message.render(ENGLISH) == MESSAGES[key][ENGLISH].format(
        **values, **{f"{name}_zh": value for name, value in values.items()})
    assert not re.search(r"[\u4e00-\u9fff]", english), key
    assert re.search(r"[\u4e00-\u9fff]", chinese) and chinese != english, key
    for name, value in values.items():
        shown = f"{value:,}" if isinstance(value, int) else value
        assert shown in english or str(value) in english, (key, name)
        assert shown in chinese or str(value) in chinese, (key, name)
    assert pickle.loads(pickle.dumps(message)).render(CHINESE) == chinese


def test_a_sentence_takes_chinese_words_and_sentences_inside_it() -> None:
    """A value's Chinese: its WORDS_ZH word, or a `<name>_zh` given with it; a Message among the values (a data
    file's row problem) is rendered in the same language as the sentence around it."""
    from models.training import said_again, said_as_data

    assert say("text.list_empty", what="label", separator="new lines").render(CHINESE) == \
        "没有给出标签；请至少输入一个，用换行分隔。"
    unicode = say("text.not_unicode", what="text of message 2", what_zh="第 2 条消息的文本", position=4)
    assert str(unicode) == ("The text of message 2 holds characters that are not valid Unicode (at position 4); "
                            "remove them or send UTF-8 text.")
    assert unicode.render(CHINESE).startswith("第 2 条消息的文本含有无效的 Unicode 字符（位置 4）")
    row = say("training.row", number=3, problem=say("training.field_empty", what="prompt"))
    assert str(row) == "Row 3: its prompt is empty."
    assert row.render(CHINESE) == "第 3 行：提示词是空的。"
    assert pickle.loads(pickle.dumps(row)).render(CHINESE) == "第 3 行：提示词是空的。"
    # a training worker's failure crosses the process as JSON and comes back with its key
    failed = said_again(json.loads(json.dumps(said_as_data(InvalidInput(say("training.needs_peft"))))))
    assert isinstance(failed, Message) and failed.render(CHINESE).startswith("LoRA 需要 peft 包")
    assert said_again(said_as_data(RuntimeError("plain"))) == "plain"


# Sentences that stay plain English: a developer's mistake, or the operator's configuration, told while the
# app starts (a catalog file, its serving: section, the flags), before there is a reader with a language.
PLAIN = {"models/base.py": {"stream"}, "models/diffusion.py": {"predict"}, "models/manager.py": {"__init__"},
         "models/cluster.py": {"parse_replicas", "parse_serving", "split_address", "call", "family_app"},
         "models/catalog.py": {"parse_catalog", "_check_weights", "parse_examples", "_clip_examples", "_remote",
                               "_no_remote_twice", "load_catalog"}}


def test_every_error_sentence_a_reader_can_meet_is_written_with_a_key() -> None:
    """No error of models/ is raised (or returned, or kept as a data file's problem) with a sentence written
    in place, outside PLAIN: a new one goes into models/messages.py, in both languages."""
    import ast
    from pathlib import Path

    errors = {"InvalidInput", "ModelNotFound", "WrongModelKind", "ModelLoadFailed", "ModelNotAllowed", "OutOfMemory",
              "HubUnreachable", "ClusterUnavailable", "ModelUnloaded", "UnknownTask", "TrainingFailed",
              "RemoteUnavailable", "PlaygroundError"}
    root = Path(__file__).resolve().parents[1]
    written, plain, keys = [], set(), set()
    for path in sorted((root / "models").glob("*.py")):
        name = f"models/{path.name}"
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if name != "models/messages.py":
            keys |= {node.value for node in ast.walk(tree) if isinstance(node, ast.Constant) and node.value in MESSAGES}
        for function in ast.walk(tree):
            if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(function):
                sentence = None
                if isinstance(node, ast.Call) and node.args:
                    callee = node.func
                    if isinstance(callee, ast.Name) and callee.id in errors:
                        sentence = node.args[0]
                    elif isinstance(callee, ast.Attribute) and callee.attr == "append" and \
                            isinstance(callee.value, ast.Attribute) and callee.value.attr == "problems":
                        sentence = node.args[0]
                if isinstance(sentence, (ast.Constant, ast.JoinedStr, ast.BinOp, ast.IfExp)):
                    if function.name in PLAIN.get(name, ()):
                        plain.add((name, function.name))
                    else:
                        written.append(f"{name}:{node.lineno} in {function.name}")
    assert not written, written
    assert plain == {(file, f) for file, functions in PLAIN.items() for f in functions}  # PLAIN names no more
    for path in sorted((root / "components").glob("*.py")):  # a notice a tab says (text_to_image.py)
        keys |= {node.value for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
                 if isinstance(node, ast.Constant) and node.value in MESSAGES}
    assert keys == set(MESSAGES), set(MESSAGES) - keys  # every sentence in MESSAGES is said somewhere


def test_every_sentence_a_tab_says_is_written_with_a_key() -> None:
    """No error, warning or notice of components/ is raised or shown with a sentence written in place: the page
    shows it in the reader's language (the /v1 API's ApiError stays English, as OpenAI's does)."""
    import ast
    from pathlib import Path

    said = {"InvalidInput", "PlaygroundError", "Error", "Warning", "Info"}  # gr.Error, gr.Warning, gr.Info
    written = []
    for path in sorted((Path(__file__).resolve().parents[1] / "components").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args:
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name in said and isinstance(node.args[0], (ast.Constant, ast.JoinedStr, ast.BinOp, ast.IfExp)):
                    written.append(f"components/{path.name}:{node.lineno}")
    assert not written, written


@pytest.fixture(scope="module")
def app(tiny_models: Any) -> Iterator[Any]:
    with running_app(tiny_catalog(tiny_models, tasks=("sentiment",))) as launched:
        yield launched


def test_the_api_answers_in_english_unless_a_program_asks(app: Any) -> None:
    from gradio_client.exceptions import AppError

    for headers, expected in [({}, "The text is empty; type some text."),
                              ({"Accept-Language": "zh-CN,zh;q=0.9"}, "文本是空的，请输入一些文字。"),
                              ({"Accept-Language": "zh-CN", "Cookie": f"{COOKIE}=en"}, "The text is empty; type some text.")]:
        client = Client(app.url, verbose=False, headers=headers)
        with pytest.raises(AppError) as raised:
            client.predict(text="   ", api_name="/sentiment")
        assert str(raised.value) == expected
        assert client.predict(text="I love this film", api_name="/sentiment")["label"] == "POSITIVE"


def test_the_page_carries_the_language_script_first(app: Any) -> None:
    import urllib.request

    with urllib.request.urlopen(app.url) as response:
        html = response.read().decode()
    head = html.index("<head>")
    assert html.index(COOKIE, head) < html.index("<script type=\"module\"", head)  # before Gradio's own script


def test_a_translated_label_reads_in_english_on_the_server() -> None:
    from components.inputs import field_name
    from components.words import english, text, translated, word
    from models.tasks import TASKS

    assert english(word("model")) == "Model" and english("Model") == "Model" and english(None) is None
    assert field_name(word("param.text-generation.temperature.label")) == "Temperature"
    for key, declared in TASKS.items():  # the parameters' English is their declaration's, word for word
        for param in declared.params:
            assert text(f"param.{key}.{param.name}.label") == param.label
            assert text(f"param.{key}.{param.name}.shown") == param.shown
            if param.help:
                assert text(f"param.{key}.{param.name}.info") == param.help
    assert english(translated("Compare", "compare.button")) == "Compare"
    assert translated("Something else", "compare.button") == "Something else"  # a text of its own stays itself


def test_the_apis_description_names_parameters_in_english(app: Any) -> None:
    info = Client(app.url, verbose=False).view_api(return_format="dict", print_info=False)
    parameters = info["named_endpoints"]["/sentiment"]["parameters"]
    assert [p["label"] for p in parameters] == ["Text", "Model"]


# -- what the server builds for each request, in the reader's language ------------------------------------------

def test_a_number_a_box_refuses_is_told_in_either_language_with_the_fields_own_name() -> None:
    from components.inputs import NumberField, NumberSlider, Refused
    from components.words import param_word
    from models.tasks import task

    temperature = task("text-generation").param("temperature")
    slider = NumberSlider(minimum=temperature.low, maximum=temperature.high, label=param_word(temperature, "label"))
    refused = slider.preprocess(7)
    assert isinstance(refused, Refused) and refused.field == "temperature"
    assert refused.message == "Temperature must be between 0 and 2, not 7."
    assert render(refused.message, CHINESE) == "“温度”必须在 0 到 2 之间，当前为 7。"
    seed = NumberField(label=param_word(task("text-generation").param("seed"), "label"), precision=0, minimum=0)
    assert render(seed.preprocess("abc").message, CHINESE).endswith("必须是数字，而不是 'abc'。")
    assert seed.preprocess(1.5).message == "Seed must be a whole number, not 1.5."


def test_the_model_state_panel_reads_in_chinese() -> None:
    from components.running import failed_html, loading_html, ready_html
    from models.progress import WAITING

    entry = {"label": "tiny <chat>", "device": "cpu", "dtype": "float32", "parameters": 93_000, "load_seconds": 1.25}
    assert "<b>tiny &lt;chat&gt;</b> is ready on cpu in float32 · 0.093M parameters · loaded in 1.2 s." in \
        ready_html(entry)
    assert "<b>tiny &lt;chat&gt;</b> 已就绪：在 cpu 上，精度 float32 · 参数量 0.093M · 加载用了 1.2 秒。" in \
        ready_html(entry, language=CHINESE)
    assert "cpu（副本 r1, r2）" in ready_html({**entry, "replicas": ["r1", "r2"]}, language=CHINESE)
    waiting = {"phase": WAITING, "seconds": 3.2, "fraction": None}
    assert "<b>Loading tiny</b>: waiting for another model to finish loading… 3 s" in loading_html("tiny", waiting)
    assert "<b>正在加载 tiny</b>：正在等待另一个模型加载完成… 3 秒" in loading_html("tiny", waiting, CHINESE)
    downloading = {"phase": "downloading", "seconds": 9, "fraction": 0.5, "downloaded_bytes": 5 * 2**20,
                   "planned_bytes": 10 * 2**20}
    assert "正在下载 5 MB，共 10 MB" in loading_html("tiny", downloading, CHINESE)
    assert "<b>tiny 无法加载。</b>没有选择模型" in failed_html("tiny", "没有选择模型", CHINESE)


def test_results_say_their_words_in_chinese() -> None:
    from components.render import ENTITY_COLOURS, entity_table, entity_type
    from components.text_to_image import caption, done_note

    table = entity_table([{"text": "王小明", "entity": "PER", "score": 0.9}], CHINESE)
    assert table["headers"] == ["实体", "类型", "置信度"] and table["data"] == [["王小明", "人名", 0.9]]
    assert entity_type("LOC", CHINESE) == "地名" and entity_type("LOC") == "Place" and entity_type("X-Y") == "X-Y"
    assert ENTITY_COLOURS["人名"] == ENTITY_COLOURS["Person"] == "blue"
    p = {"steps": 4, "guidance_scale": 7.5, "width": 64, "height": 64}
    assert caption(3, 0, p) == "seed 3 (image 1) · 4 steps · guidance 7.5 · 64x64"
    assert caption(3, 0, p, CHINESE) == "种子 3（第 1 张）· 4 步 · 引导系数 7.5 · 64x64"
    result = {"seed": 3, "steps_run": 2, "seconds": 1.5, "stopped": True, "prompt_truncated": False, "parameters": p}
    assert done_note(result, "") == "seed **3** · 2/4 steps · 1.5 s · stopped early"
    assert done_note(result, "", CHINESE) == "种子 **3** · 2/4 步 · 1.5 秒 · 已提前停止"
