"""The task declarations (models/tasks.py): every task declared once, and what follows from them."""
from __future__ import annotations

import subprocess
import sys

import pytest

from models import TASKS, InvalidInput, ModelManager, parse_catalog
from models.tasks import Param, Task, canonical_task, task
from tests.launch import ROOT, tiny_catalog


def test_an_incomplete_declaration_fails_naming_what_is_missing() -> None:
    with pytest.raises(ValueError, match=r"'fill-mask' is incomplete: it needs adapter, endpoint, models"):
        Task(key="fill-mask", title="Fill mask", adapter="", tab="fill_mask", endpoint="", models=())
    with pytest.raises(ValueError, match="module:Class"):
        Task(key="x", title="X", adapter="models.text.Sentiment", tab="x", endpoint="x", models=({"id": "a/b"},))


def test_aliases_and_adapters_come_from_the_declarations() -> None:
    for key, declared in TASKS.items():
        assert canonical_task(key.upper()) == key
        for alias in declared.aliases:
            assert canonical_task(alias) == key
        module, cls = declared.adapter.split(":")
        assert (ROOT / (module.replace(".", "/") + ".py")).read_text().count(f"class {cls}(") == 1
        assert (ROOT / "components" / f"{declared.tab}.py").is_file()


def test_a_parameter_is_checked_as_declared() -> None:
    top_k = Param("top_k", "Top k", 5, 1, 100, 1, integer=True)
    assert top_k.check(7) == 7 and top_k.check("8") == 8
    for bad in (0, 101, 2.5, None, "abc", float("nan")):
        with pytest.raises(InvalidInput, match="^Top k must be") as refused:
            top_k.check(bad)
        assert refused.value.field == "top_k"  # the page shows the sentence beside this control
    candidates = Param("top_k", "Top k candidates", 5, 1, 100, 1, integer=True)  # named as the API knows it too
    with pytest.raises(InvalidInput, match=r"^Top k candidates \(top_k\) must be between 1 and 100, not 1,000\.$"):
        candidates.check(1000)
    steps = Param("steps", "Steps", None, 1, 100, 1, integer=True)
    assert steps.check(None) is None  # the model's own
    assert task("image-classification").check({}) == {"top_k": 5}
    with pytest.raises(InvalidInput, match=r"Image classification takes no parameter 'threshold'; it takes top_k\."):
        task("image-classification").check({"threshold": 0.5})


def test_the_ui_offers_exactly_what_the_adapters_accept(tiny_models) -> None:
    """Every declared parameter's control has the declaration's limits, step and default, so a value the
    page lets a person pick is one the adapter takes (the top-k slider once stopped at 200 where the
    adapter took 100,000). Parameters the model decides (default None) start where the tab says."""
    from components.words import english
    import gradio as gr

    from components import Settings, build_demo

    catalog = parse_catalog(tiny_catalog(tiny_models))
    demo = build_demo(catalog, ModelManager(catalog, device="cpu"), Settings())
    controls = {}
    for block in demo.blocks.values():
        if isinstance(block, gr.components.Component) and getattr(block, "label", None):
            controls.setdefault(english(block.label), []).append(block)
    checked = 0
    for declared in TASKS.values():
        for p in declared.params:
            assert p.label in controls, f"{declared.key}: no control labelled {p.label!r}"
            for control in controls[p.label]:
                if p.kind == "bool":
                    assert isinstance(control, gr.Checkbox) and control.value is p.default
                if p.kind != "number" or p.default is None:
                    continue
                assert (control.minimum, control.step) == (p.low, p.step if isinstance(control, gr.Slider) else control.step)
                assert control.maximum == p.high, f"{p.label}: the control stops at {control.maximum}, the check at {p.high}"
                checked += 1
    assert checked >= 8


def test_every_declared_task_with_models_has_its_tab_and_one_without_is_left_out(tiny_models, caplog) -> None:
    from components.words import english
    from components import Settings, build_demo

    data = tiny_catalog(tiny_models, tasks=("sentiment", "ner"))
    catalog = parse_catalog(data)
    with caplog.at_level("INFO", logger="playground"):
        demo = build_demo(catalog, ModelManager(catalog, device="cpu"), Settings())
    tabs = [english(block.label) for block in demo.blocks.values() if type(block).__name__ == "Tab"]
    assert tabs == ["Sentiment", "Named entities", "Fine-tune", "Models"]
    assert "No Question answering tab: the catalog has no model for question-answering." in caplog.text
    hosted = build_demo(catalog, ModelManager(catalog, device="cpu"), Settings(hosted=True, allow_training=False))
    assert "Fine-tune" not in [english(b.label) for b in hosted.blocks.values() if type(b).__name__ == "Tab"]


def test_help_names_every_task() -> None:
    import os

    out = subprocess.run([sys.executable, "app.py", "--help"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60, env={**os.environ, "COLUMNS": "1000"}).stdout  # no line wrapped at a hyphen
    flat = " ".join(out.split())
    for declared in TASKS.values():
        assert declared.summary in flat and declared.key in flat


def test_every_task_names_its_result_type_and_results_have_its_fields(tiny_models) -> None:
    import models.results as results

    for declared in TASKS.values():
        assert hasattr(results, declared.result), f"{declared.key}: no result type {declared.result!r}"
    manager = ModelManager(parse_catalog(tiny_catalog(tiny_models, tasks=(
        "sentiment", "ner", "question-answering", "fill-mask", "zero-shot-classification"))), device="cpu")
    try:
        calls = {"sentiment": ("I love this film", {}), "ner": ("José García lives in Bogotá.", {}),
                 "question-answering": ({"question": "Where does Zoë live?", "context": "Zoë lives in Paris."}, {}),
                 "fill-mask": ("I [MASK] this film.", {}),
                 "zero-shot-classification": ("I love this film.", {"labels": "film, food"})}
        for key, (inputs, params) in calls.items():
            result = manager.get(key).predict(inputs, **params)
            assert set(result) == set(getattr(results, task(key).result).__annotations__), key
    finally:
        manager.unload_all()
