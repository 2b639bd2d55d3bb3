"""Fill-mask, the task added on the declarations (models/tasks.py, models/text.py FillMask,
components/fill_mask.py): the same candidates as transformers' fill-mask pipeline on the same tiny
model, plain sentences for a text without a mask, and the /fill_mask endpoint."""
from __future__ import annotations

from typing import Any, Iterator

import pytest

from models import InvalidInput, ModelManager, parse_catalog
from tests.launch import running_app, tiny_catalog

TEXTS = ["I [MASK] this film.", "José García lives in [MASK].", "[MASK] works as a pilot in the city."]


@pytest.fixture(scope="module")
def manager(tiny_models: Any) -> Iterator[ModelManager]:
    manager = ModelManager(parse_catalog({"fill-mask": [tiny_models["fill-mask"]]}), device="cpu")
    yield manager
    manager.unload_all()


@pytest.fixture(scope="module")
def reference(tiny_models: Any) -> Any:
    from transformers import pipeline

    return pipeline("fill-mask", model=tiny_models["fill-mask"], device="cpu")


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("top_k", [1, 5, 12])
def test_candidates_equal_the_transformers_pipeline(manager: ModelManager, reference: Any, text: str,
                                                    top_k: int) -> None:
    ours = manager.predict("fill-mask", None, text, top_k=top_k)["masks"]
    theirs = reference(text, top_k=top_k)
    assert len(ours) == 1 and len(ours[0]) == len(theirs) == top_k
    for a, b in zip(ours[0], theirs):
        assert (a["token"], a["token_str"], a["sequence"]) == (b["token"], b["token_str"], b["sequence"])
        assert a["score"] == pytest.approx(b["score"], abs=1e-6)


def test_two_masks_give_a_list_each_as_the_pipeline_does(manager: ModelManager, reference: Any) -> None:
    text = "[MASK] lives in [MASK]."
    ours = manager.predict("fill-mask", None, text, top_k=3)["masks"]
    theirs = reference(text, top_k=3)
    assert [[c["token_str"] for c in row] for row in ours] == [[c["token_str"] for c in row] for row in theirs]
    assert [[c["sequence"] for c in row] for row in ours] == [[c["sequence"] for c in row] for row in theirs]


def test_a_batch_equals_one_by_one(manager: ModelManager) -> None:
    pipeline = manager.get("fill-mask")
    together = pipeline.predict_batch(TEXTS, top_k=4)
    for text, batched in zip(TEXTS, together):
        alone = pipeline.predict(text, top_k=4)
        assert [c["token"] for c in batched["masks"][0]] == [c["token"] for c in alone["masks"][0]]
        for a, b in zip(batched["masks"][0], alone["masks"][0]):
            assert a["score"] == pytest.approx(b["score"], abs=1e-5)


def test_a_left_padding_tokenizer_reads_each_mask_where_padding_put_it(tiny_models: Any, tmp_path: Any) -> None:
    """Batched texts of different lengths are padded; on the left, the mask moves in the padded row
    (the candidates are read there, from the batch's own logits; BERT's positions then shift, so
    they need not equal the text alone's)."""
    import torch

    import json
    import shutil

    folder = shutil.copytree(tiny_models["fill-mask"], tmp_path / "left")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, "padding_side": "left"}))
    manager = ModelManager(parse_catalog({"fill-mask": [str(folder)]}), device="cpu")
    try:
        pipeline = manager.get("fill-mask")
        assert pipeline.tokenizer.padding_side == "left"
        texts = ["[MASK] lives in Bogotá.", "The train was late again and [MASK] was not happy about it at all."]
        together = pipeline.predict_batch(texts, top_k=3)
        enc = pipeline.tokenizer(texts, padding="longest", return_tensors="pt")
        assert enc["input_ids"][0, 0] == pipeline.tokenizer.pad_token_id, "the shorter text is not left-padded"
        with torch.no_grad():
            logits = pipeline.model(**enc).logits
        for i, (text, batched) in enumerate(zip(texts, together)):
            at = enc["input_ids"][i].tolist().index(pipeline.tokenizer.mask_token_id)
            values, tokens = logits[i, at].softmax(-1).topk(3)
            assert [c["token"] for c in batched["masks"][0]] == tokens.tolist()
            assert [c["score"] for c in batched["masks"][0]] == pytest.approx(values.tolist(), abs=1e-6)
            assert all("[PAD]" not in c["sequence"] and text.split()[-1].lower()[:4] in c["sequence"].lower()
                       for c in batched["masks"][0])
    finally:
        manager.unload_all()


@pytest.mark.parametrize("text, says", [
    ("Paris is the capital of France.", r"The text has no \[MASK\]; type \[MASK\] where the missing word goes\."),
    ("Paris is the <mask> of France.", r"no \[MASK\]"),
    ("", "empty"),
])
def test_a_text_without_the_models_mask_token_names_the_token_to_type(manager: ModelManager, text: str,
                                                                     says: str) -> None:
    with pytest.raises(InvalidInput, match=says):
        manager.predict("fill-mask", None, text)


def test_a_mask_past_the_window_is_said_so(manager: ModelManager) -> None:
    with pytest.raises(InvalidInput, match="past the first 64 tokens"):
        manager.predict("fill-mask", None, "The train was late again. " * 30 + "[MASK].")


def test_top_k_outside_its_declared_range_is_refused(manager: ModelManager) -> None:
    for bad in (0, 51, 2.5):
        with pytest.raises(InvalidInput, match="top_k"):
            manager.predict("fill-mask", None, TEXTS[0], top_k=bad)


def test_a_model_of_another_kind_is_refused(tiny_models: Any) -> None:
    from models import WrongModelKind

    manager = ModelManager(parse_catalog({"fill-mask": [tiny_models["sentiment"]]}), device="cpu")
    with pytest.raises(WrongModelKind, match="not a fill-mask"):
        manager.get("fill-mask")


# -- the endpoint -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(tiny_models: Any) -> Iterator[Any]:
    with running_app(tiny_catalog(tiny_models, tasks=("fill-mask",))) as launched:
        yield launched


def test_the_endpoint_gives_the_candidates_and_the_completed_sentence(client: Any, tiny_models: Any,
                                                                     reference: Any) -> None:
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert [p["parameter_name"] for p in named["/fill_mask"]["parameters"]] == ["text", "model", "top_k"]
    label, completed = client.predict(text=TEXTS[1], model=tiny_models["fill-mask"], top_k=4, api_name="/fill_mask")
    theirs = reference(TEXTS[1], top_k=4)
    assert [c["label"] for c in label["confidences"]] == [c["token_str"] for c in theirs]
    assert completed == theirs[0]["sequence"]


def test_the_endpoint_says_which_token_to_type(client: Any, tiny_models: Any) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match=r"type \[MASK\] where the missing word goes"):
        client.predict(text="No mask here.", model=tiny_models["fill-mask"], api_name="/fill_mask")
    label, _ = client.predict(text=TEXTS[0], model=tiny_models["fill-mask"], api_name="/fill_mask")
    assert len(label["confidences"]) == 5  # the declared default top_k
