"""The catalog: built-in defaults, YAML overrides, task aliases, and a light `import models`."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from models import DEFAULT_CATALOG, TASKS, InvalidInput, UnknownTask, canonical_task, load_catalog, parse_catalog

ROOT = Path(__file__).resolve().parent.parent


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_built_in_catalog_has_every_task_with_a_default(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_CONFIG", raising=False)
    catalog = load_catalog()
    assert catalog.source == "built-in"
    assert catalog.tasks() == list(TASKS)
    for task in TASKS:
        assert catalog.default(task) == DEFAULT_CATALOG[task][0]["id"]
        assert all(spec.task == task for spec in catalog.models(task))
    gpu = [s for s in catalog.models("text-generation") if s.needs_gpu]
    assert gpu and all("GPU" in s.name for s in gpu)


def test_yaml_file_replaces_its_tasks_and_keeps_the_others(tmp_path):
    path = write(tmp_path / "conf" / "catalog.yaml", """
        sentiment:
          - distilbert/distilbert-base-uncased-finetuned-sst-2-english
          - id: ./models/my-sentiment
            label: Mine
          - id: /abs/path/model
            gpu: true
            defaults: {max_length: 64}
        qa: someone/qa-model
        text_generation:
          - {id: ../shared/gpt, label: Shared GPT}
        """)
    catalog = load_catalog(path)
    assert catalog.source == str(path)
    specs = catalog.models("sentiment")
    assert [s.model_id for s in specs] == [
        "distilbert/distilbert-base-uncased-finetuned-sst-2-english",
        str((tmp_path / "conf" / "models" / "my-sentiment").resolve()),
        "/abs/path/model",
    ]
    assert specs[0].label is None and specs[0].name == specs[0].model_id
    assert specs[1].label == "Mine" and specs[1].name == "Mine"
    assert specs[2].needs_gpu is True and specs[2].defaults == {"max_length": 64}
    assert [s.model_id for s in catalog.models("question-answering")] == ["someone/qa-model"]
    assert catalog.models("text-generation")[0].model_id == str((tmp_path / "shared" / "gpt").resolve())
    # tasks the file does not name keep the built-in models
    assert catalog.default("ner") == DEFAULT_CATALOG["ner"][0]["id"]
    assert catalog.default("clip") == DEFAULT_CATALOG["clip"][0]["id"]


def test_yaml_file_without_defaults(tmp_path):
    path = write(tmp_path / "c.yaml", "ner: [a/b]\n")
    catalog = load_catalog(path, merge_defaults=False)
    assert catalog.tasks() == ["ner"]
    assert catalog.models("sentiment") == ()
    with pytest.raises(InvalidInput, match="no model for sentiment"):
        catalog.spec("sentiment", None)


def test_relative_paths_resolve_against_the_yaml_folder_not_the_cwd(tmp_path, monkeypatch):
    write(tmp_path / "deep" / "catalog.yaml", "sentiment: [./m]\n")
    monkeypatch.chdir(tmp_path)
    assert load_catalog("deep/catalog.yaml").default("sentiment") == str((tmp_path / "deep" / "m").resolve())


def test_playground_config_env_var(tmp_path, monkeypatch):
    path = write(tmp_path / "env.yaml", "image-classification: [./vit]\n")
    monkeypatch.setenv("PLAYGROUND_CONFIG", str(path))
    catalog = load_catalog()
    assert catalog.source == str(path)
    assert catalog.default("image-classification") == str((tmp_path / "vit").resolve())
    other = write(tmp_path / "explicit.yaml", "image-classification: [x/y]\n")
    assert load_catalog(other).default("image-classification") == "x/y"  # an explicit path wins


@pytest.mark.parametrize("alias, task", [
    ("qa", "question-answering"), ("QA", "question-answering"), ("sentiment-analysis", "sentiment"),
    ("text-classification", "sentiment"), ("token-classification", "ner"), ("chat", "text-generation"),
    ("diffusion", "text-to-image"), ("zero-shot-image-classification", "clip"), (" ner ", "ner"),
])
def test_task_aliases(alias, task):
    assert canonical_task(alias) == task
    assert parse_catalog({alias: ["a/b"]}).default(task) == "a/b"


def test_unknown_task_names_the_valid_ones(tmp_path):
    with pytest.raises(UnknownTask, match="text-generation"):
        canonical_task("translation")
    path = write(tmp_path / "bad-task.yaml", "translation: [a/b]\n")
    with pytest.raises(UnknownTask):
        load_catalog(path)


@pytest.mark.parametrize("text", [
    "sentiment: [a/b\n",            # unclosed list
    "sentiment:\n  - id: a\n - b\n",  # bad indentation
    "sentiment: {id: [}\n",
    "\tsentiment: a\n",              # a tab
])
def test_bad_yaml_is_one_sentence(tmp_path, text):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput) as info:
        load_catalog(path)
    message = str(info.value)
    assert "not valid YAML" in message and str(path) in message and "\n" not in message


@pytest.mark.parametrize("text", [
    "- a/b\n- c/d\n",                 # a list, not a mapping
    "sentiment: 3\n",                  # not a list of models
    "sentiment:\n  - label: no id\n",  # an entry without an id
    "sentiment:\n  - id: '  '\n",
    "sentiment:\n  - 42\n",
    "just a string\n",
])
def test_wrong_shapes_are_refused(tmp_path, text):
    path = tmp_path / "shape.yaml"
    path.write_text(text)
    with pytest.raises(InvalidInput):
        load_catalog(path)


def test_empty_yaml_is_the_built_in_catalog(tmp_path):
    path = write(tmp_path / "empty.yaml", "# nothing here\n")
    assert load_catalog(path).default("sentiment") == DEFAULT_CATALOG["sentiment"][0]["id"]


def test_missing_file(tmp_path):
    with pytest.raises(InvalidInput, match="cannot be read"):
        load_catalog(tmp_path / "nope.yaml")


def test_spec_lookup_by_id_label_default_and_custom():
    catalog = parse_catalog({"sentiment": [{"id": "a/b", "label": "First", "defaults": {"k": 1}}, "c/d"]})
    assert catalog.spec("sentiment", None).model_id == "a/b"
    assert catalog.spec("sentiment", "").model_id == "a/b"
    assert catalog.spec("sentiment", "First").model_id == "a/b"
    assert catalog.spec("sentiment", "First").defaults == {"k": 1}
    assert catalog.spec("sentiment", "c/d").label is None
    custom = catalog.spec("text-classification", "my/own")
    assert (custom.task, custom.model_id) == ("sentiment", "my/own")
    assert catalog.find("sentiment", "my/own") is None


def test_import_models_stays_light():
    """`import models` (and building a catalog and a manager) imports no heavy library."""
    heavy = ["torch", "transformers", "diffusers", "open_clip", "gradio", "timm", "safetensors", "huggingface_hub"]
    code = textwrap.dedent(f"""
        import json, sys
        import models
        catalog = models.load_catalog()
        manager = models.ModelManager(catalog, device="cpu")
        manager.loaded()
        print(json.dumps([m for m in {heavy!r} if m in sys.modules]))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1"})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_the_ui_is_built_and_served_before_any_model_library_loads():
    """app.py's path to a served page (catalog, manager, build_demo) imports no torch or model library."""
    heavy = ["torch", "transformers", "diffusers", "open_clip", "timm"]
    code = textwrap.dedent(f"""
        import json, sys
        from models import ModelManager, load_catalog
        from components import Settings, build_demo
        catalog = load_catalog()
        build_demo(catalog, ModelManager(catalog), Settings())
        print(json.dumps([m for m in {heavy!r} if m in sys.modules]))
    """)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1",
                              "GRADIO_ANALYTICS_ENABLED": "False", "HOME": os.environ.get("HOME", "/tmp")})
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_components_never_import_torch_and_models_never_import_gradio():
    for path in (ROOT / "components").glob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+torch\b", path.read_text(), re.M), path
    for path in (ROOT / "models").glob("*.py"):
        assert not re.search(r"^\s*(import|from)\s+gradio\b", path.read_text(), re.M), path
