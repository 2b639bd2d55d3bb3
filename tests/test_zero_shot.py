"""Zero-shot classification, added on the declarations (models/tasks.py, models/text.py
ZeroShotClassification, components/zero_shot_classification.py): the same scores as transformers'
zero-shot-classification pipeline on the same tiny NLI model, a sentence for every bad input, and the
/zero_shot_classification endpoint."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from models import InvalidInput, ModelManager, parse_catalog
from tests.launch import running_app, tiny_catalog

TEXTS = ["I love this film.", "José García lives in Bogotá.", "The train was late again."]
LABELS = ["happy", "travel", "weather", "film"]


@pytest.fixture(scope="module")
def manager(tiny_models: Any) -> Iterator[ModelManager]:
    manager = ModelManager(parse_catalog({"zero-shot-classification": [tiny_models["nli"]]}), device="cpu")
    yield manager
    manager.unload_all()


@pytest.fixture(scope="module")
def reference(tiny_models: Any) -> Any:
    from transformers import pipeline

    return pipeline("zero-shot-classification", model=tiny_models["nli"], device="cpu")


def ours(manager: ModelManager, text: str, **params: Any) -> list[tuple[str, float]]:
    result = manager.predict("zero-shot-classification", None, text, **params)
    return [(d["label"], d["score"]) for d in result["labels"]]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("multi_label", [False, True])
@pytest.mark.parametrize("template", ["This example is {}.", "The topic is {}"])
def test_scores_equal_the_transformers_pipeline(manager: ModelManager, reference: Any, text: str,
                                                multi_label: bool, template: str) -> None:
    got = ours(manager, text, labels=LABELS, multi_label=multi_label, hypothesis_template=template)
    expected = reference(text, candidate_labels=LABELS, multi_label=multi_label, hypothesis_template=template)
    assert [label for label, _ in got] == expected["labels"]
    assert [score for _, score in got] == pytest.approx(expected["scores"], abs=1e-5)
    if not multi_label:
        assert sum(score for _, score in got) == pytest.approx(1.0, abs=1e-5)


def test_one_label_is_scored_on_its_own_as_the_pipeline_does(manager: ModelManager, reference: Any) -> None:
    got = ours(manager, TEXTS[0], labels="film")
    expected = reference(TEXTS[0], candidate_labels=["film"])
    assert got == [("film", pytest.approx(expected["scores"][0], abs=1e-5))]


def test_labels_as_text_are_split_on_commas_without_blanks_or_repeats(manager: ModelManager) -> None:
    assert ours(manager, TEXTS[0], labels=" happy, travel,,happy ,\nfilm") == ours(
        manager, TEXTS[0], labels=["happy", "travel", "film"])


def test_braces_other_than_the_placeholder_are_text(manager: ModelManager, reference: Any) -> None:
    """The label goes where {} is, and nothing else in the template is read as a format field."""
    got = ours(manager, TEXTS[0], labels=LABELS, hypothesis_template="{x} {} {:>9}")
    pairs = [f"{{x}} {label} {{:>9}}" for label in LABELS]
    assert len(got) == len(LABELS) and all(len(p) < 40 for p in pairs)


def test_a_batch_equals_one_by_one(manager: ModelManager) -> None:
    pipeline = manager.get("zero-shot-classification")
    together = pipeline.predict_batch(TEXTS, labels=LABELS)
    for text, batched in zip(TEXTS, together):
        alone = pipeline.predict(text, labels=LABELS)
        assert [d["label"] for d in batched["labels"]] == [d["label"] for d in alone["labels"]]
        assert [d["score"] for d in batched["labels"]] == pytest.approx([d["score"] for d in alone["labels"]], abs=1e-5)


@pytest.mark.parametrize("params, says", [
    ({"labels": ""}, r"No labels were given; type at least one, separated by commas or new lines\."),
    ({"labels": ", ,"}, "No labels were given"),
    ({"labels": [f"l{i}" for i in range(33)]}, r"Give between 1 and 32 labels, separated by commas; 33 were given\."),
    ({"labels": [1, 2]}, "Each label must be a string, not int"),
    ({"labels": "x" * 201}, "the limit is 200"),
    ({"labels": "a, b", "hypothesis_template": "No placeholder."}, r"must hold \{\} exactly once"),
    ({"labels": "a, b", "hypothesis_template": "{} or {}"}, r"must hold \{\} exactly once"),
    # str.format would build a 20 MB string per label from these 12 characters, and stall every batch
    ({"labels": "a, b", "hypothesis_template": "{:>20000000}"}, r"must hold \{\} exactly once"),
    ({"labels": "a, b", "hypothesis_template": "{1}"}, r"must hold \{\} exactly once"),
    ({"labels": "a, b", "hypothesis_template": "This is " + "word " * 95 + "{}."},
     r"A hypothesis \(the template with a label\) is \d+ tokens long; keep the template and each label under 32"),
    ({"labels": "a, b", "hypothesis_template": 5}, r"^Hypothesis template must be text, not int\.$"),
    ({"labels": "a, b", "multi_label": "yes"},
     r'^The option "Several labels can be true" \(multi_label\) must be true or false, not \'yes\'\.$'),
    ({"labels": "a, b", "threshold": 0.5}, "takes no parameter 'threshold'"),
])
def test_bad_parameters_get_one_sentence(manager: ModelManager, params: dict, says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        manager.predict("zero-shot-classification", None, TEXTS[0], **params)


def test_a_model_without_an_entailment_label_is_refused(tiny_models: Any) -> None:
    manager = ModelManager(parse_catalog({"zero-shot-classification": [tiny_models["sentiment"]]}), device="cpu")
    with pytest.raises(InvalidInput, match="none of its labels is 'entailment'"):
        manager.get("zero-shot-classification")


# -- the endpoint -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(tiny_models: Any) -> Iterator[Any]:
    with running_app(tiny_catalog(tiny_models, tasks=("zero-shot-classification",))) as launched:
        yield launched


def test_the_endpoint_takes_labels_as_text_or_a_list(client: Any, tiny_models: Any, reference: Any) -> None:
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert [p["parameter_name"] for p in named["/zero_shot_classification"]["parameters"]] == [
        "text", "labels", "multi_label", "hypothesis_template", "model"]
    expected = reference(TEXTS[1], candidate_labels=LABELS)
    for labels in (", ".join(LABELS), LABELS):
        result = client.predict(text=TEXTS[1], labels=labels, model=tiny_models["nli"],
                                api_name="/zero_shot_classification")
        assert result["label"] == expected["labels"][0]
        assert [c["label"] for c in result["confidences"]] == expected["labels"]
        assert [c["confidence"] for c in result["confidences"]] == pytest.approx(expected["scores"], abs=1e-5)


def test_the_endpoint_says_what_is_wrong(client: Any, tiny_models: Any) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="No labels were given"):
        client.predict(text=TEXTS[0], labels=" ", model=tiny_models["nli"], api_name="/zero_shot_classification")
    result = client.predict(text=TEXTS[0], labels="happy, film", multi_label=True, model=tiny_models["nli"],
                            api_name="/zero_shot_classification")
    assert len(result["confidences"]) == 2
