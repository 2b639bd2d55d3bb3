"""The Chinese catalog preset (catalogs/zh.yaml, `python app.py --catalog zh`): it loads, every entry names
the safetensors weights it ships, every task of the built-in catalog has models, and its `examples:` section
gives every tab with text Chinese examples in the shape that tab takes; a bad `weights` or `examples` entry is one
sentence; and a launched app shows a catalog's examples in place of a tab's own."""
from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

import app
from models import TASKS, InvalidInput, PlaygroundError, load_catalog, parse_catalog
from models.catalog import EXAMPLE_FIELDS
from tests.launch import assert_plain_sentence, running_app, tiny_catalog

ROOT = Path(__file__).resolve().parent.parent
ZH = ROOT / "catalogs" / "zh.yaml"
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def raw() -> dict[str, Any]:
    return yaml.safe_load(ZH.read_text(encoding="utf-8"))


def test_the_preset_loads_with_every_task_of_the_built_in_catalog():
    catalog = load_catalog(ZH, merge_defaults=False)  # the file alone, not the built-in lists it would keep
    assert catalog.source == str(ZH)
    assert catalog.tasks() == list(TASKS)
    for task in TASKS:
        specs = catalog.models(task)
        assert specs and all(spec.task == task for spec in specs)
        assert not specs[0].needs_gpu, f"{task}'s default must run on a CPU Space"
        assert all(CHINESE.search(spec.name) for spec in specs), f"{task}: every label is Chinese"
        assert all("GPU" in spec.name for spec in specs if spec.needs_gpu)
    assert catalog.default("text-generation").startswith("Qwen/")


def test_every_entry_names_its_safetensors_weights():
    data = raw()
    for task in TASKS:
        for entry in data[task]:
            weights = entry.get("weights")
            names = [weights] if isinstance(weights, str) else weights
            assert names, f"{entry['id']} of {task} names no weights"
            assert all(isinstance(n, str) and n.endswith(".safetensors") for n in names), (task, entry["id"])
    lines = ZH.read_text(encoding="utf-8").splitlines()
    for task in TASKS:  # and the comment just above each entry says where its file list was seen
        for entry in data[task]:
            at = lines.index(f"  - id: {entry['id']}")
            comment = []
            while lines[at - 1].strip().startswith("#"):
                at -= 1
                comment.append(lines[at])
            assert any("https://huggingface.co/" in line for line in comment), f"{entry['id']} cites no evidence"


def test_catalog_zh_is_the_preset_as_if_given_with_config(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_CONFIG", raising=False)
    assert "zh" in app.presets()
    path = app.catalog_path(app.parse_args(["--catalog", "zh"]))
    assert Path(path) == ZH
    assert load_catalog(path).entries == load_catalog(ZH).entries
    assert app.catalog_path(app.parse_args([])) is None  # the built-in catalog
    assert app.catalog_path(app.parse_args(["--config", "mine.yaml"])) == "mine.yaml"
    monkeypatch.setenv("PLAYGROUND_CONFIG", "from-env.yaml")
    assert app.catalog_path(app.parse_args([])) == "from-env.yaml"
    assert Path(app.catalog_path(app.parse_args(["--catalog", "zh"]))) == ZH  # the flag beats the environment


@pytest.mark.parametrize("argv, says", [
    (["--catalog", "klingon"], "There is no catalog preset 'klingon'; the presets are: zh."),
    (["--catalog", "../catalogs/zh"], "There is no catalog preset"),
    (["--catalog", "zh", "--config", "mine.yaml"], "--catalog and --config each choose the catalog"),
])
def test_a_wrong_catalog_flag_is_one_sentence(argv, says, capsys):
    assert app.main(argv) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("error: ") and says in error
    assert_plain_sentence(error.removeprefix("error: "))


def test_the_examples_give_every_tab_chinese_in_its_shape():
    catalog = load_catalog(ZH)
    assert catalog.examples_for("image-classification") is None  # pictures read no language: the tab's own stay
    for task in TASKS:
        if task == "image-classification":
            continue
        examples = catalog.examples_for(task)
        assert examples, f"{task} has no examples"
        if task == "clip":
            assert set(examples) == {"labels", "template", "captions", "queries"}
            assert examples["template"].count("{}") == 1
            assert all(CHINESE.search(examples[key]) for key in ("labels", "template", "captions"))
            assert all(CHINESE.search(q) for q in examples["queries"])
            continue
        required, optional = EXAMPLE_FIELDS[task]
        for example in examples:
            if len(required + optional) == 1:
                assert isinstance(example, str) and example.strip()
            else:
                assert isinstance(example, list) and len(example) == len(required + optional)
                assert all(isinstance(v, str) for v in example) and all(v.strip() for v in example[:len(required)])
        texts = [e if isinstance(e, str) else " ".join(e) for e in examples]
        assert any(CHINESE.search(t) for t in texts), f"{task} has no Chinese example"
    assert catalog.examples_for("sentiment")[0] == "这部电影太好看了，我还想再看一遍！"
    assert "李娜在北京的清华大学工作。" in catalog.examples_for("ner")
    assert all("[MASK]" in e for e in catalog.examples_for("fill-mask"))  # the default model's mask token
    assert all(CHINESE.search(labels) for _, labels in catalog.examples_for("zero-shot-classification"))
    assert load_catalog().examples is None  # the built-in catalog leaves every tab its own


@pytest.mark.parametrize("data, says", [
    ({"sentiment": [{"id": "a/b", "weights": "pytorch_model.bin"}]}, "weights 'pytorch_model.bin'"),
    ({"sentiment": [{"id": "a/b", "weights": ["model.safetensors", "tf_model.h5"]}]}, "each ending in .safetensors"),
    ({"sentiment": [{"id": "a/b", "weights": []}]}, "each ending in .safetensors"),
    ({"sentiment": [{"id": "a/b", "weights": 3}]}, "each ending in .safetensors"),
    ({"examples": ["a"]}, "examples must map task names"),
    ({"examples": {"translation": ["a"]}}, "Unknown task 'translation'"),
    ({"examples": {"sentiment": "一句话"}}, "must be a list of at least one example"),
    ({"examples": {"sentiment": []}}, "must be a list of at least one example"),
    ({"examples": {"sentiment": [["两个", "值"]]}}, "example 1 of sentiment must be one text"),
    ({"examples": {"ner": ["好", "  "]}}, "example 2 of ner must be one text"),
    ({"examples": {"qa": [["只有问题？"]]}}, "example 1 of qa must be [question, context]"),
    ({"examples": {"question-answering": [["问？", ""]]}}, "question and context not empty"),
    ({"examples": {"zero-shot-classification": [["文本", ["体育"]]]}}, "[text, labels]"),
    ({"examples": {"text-to-image": [["猫", "狗", "鸟"]]}}, "[prompt] or [prompt, negative prompt]"),
    ({"examples": {"chat": [42]}}, "example 1 of chat must be one text"),
    ({"examples": {"clip": ["猫"]}}, "must map some of labels, template, captions, queries"),
    ({"examples": {"clip": {"labels": "猫", "colours": "红"}}}, "must map some of labels"),
    ({"examples": {"clip": {"queries": "一只猫"}}}, "queries must be a list of texts"),
    ({"examples": {"clip": {"template": "一张照片"}}}, "template must be a text that holds {} once"),
])
def test_a_bad_weights_or_examples_entry_is_one_sentence(data, says):
    with pytest.raises(PlaygroundError) as info:  # InvalidInput; UnknownTask for a task that does not exist
        parse_catalog(data, source="zh-test.yaml")
    message = str(info.value)
    assert says in message, message
    assert_plain_sentence(message)


def test_a_bad_entry_in_a_file_names_the_file(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("sentiment:\n  - id: a/b\n    weights: model.bin\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=re.escape(f"In {path}, a/b of sentiment has the weights 'model.bin'")):
        load_catalog(path)


# -- a launched app -------------------------------------------------------------------------------------

SENTIMENT = ["这部电影太好看了，我还想再看一遍！", "客服一直不回复，太失望了。"]
LABELS = "科技, 体育, 美食"


@pytest.fixture(scope="module")
def launched(tiny_models: Any) -> Any:
    data = tiny_catalog(tiny_models, tasks=("text-generation", "sentiment", "ner", "zero-shot-classification"))
    data["examples"] = {"sentiment": SENTIMENT, "zero-shot-classification": [["这名前锋连进两球。", LABELS]],
                        "chat": ["用三句话介绍一下长城。"]}
    with running_app(data) as launched:
        yield launched


def page_config(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url + "config", timeout=30) as response:
        return json.loads(response.read().decode("utf-8"))


def samples(config: dict[str, Any]) -> list[list[Any]]:
    """Each examples table on the page (a gr.Examples draws a "dataset" component): its rows."""
    return [c["props"]["samples"] for c in config["components"] if c.get("type") == "dataset"]


def test_a_launched_app_shows_the_catalogs_examples_in_place_of_the_tabs(launched):
    from components.ner import EXAMPLES as NER_EXAMPLES
    from components.sentiment import EXAMPLES as SENTIMENT_EXAMPLES

    config = page_config(launched.url)
    tables = samples(config)
    assert [[text] for text in SENTIMENT] in tables  # the Sentiment tab's examples are the catalog's
    assert not any([SENTIMENT_EXAMPLES[0]] in table for table in tables)  # and its own are gone
    assert [["这名前锋连进两球。", LABELS]] in tables
    assert [["用三句话介绍一下长城。"]] in tables  # the Chat tab's
    assert [[text] for text in NER_EXAMPLES] in tables  # a task the catalog gives no examples keeps its own
    # the zero-shot labels box starts at the first example's labels
    from components.words import WORDS

    def english_label(props: dict) -> str:  # a translated label comes as its key (components/words.py)
        label = props.get("label") or ""
        if isinstance(label, str) and label.startswith("__i18n__"):
            label = json.loads(label[len("__i18n__"):])
        return WORDS[label["key"]]["en"] if isinstance(label, dict) and label.get("key") in WORDS else str(label)

    boxes = [c for c in config["components"] if c.get("type") == "textbox"
             and english_label(c["props"]).startswith("Labels")]
    assert boxes and all(box["props"]["value"] == LABELS for box in boxes)
