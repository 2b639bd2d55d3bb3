"""The trained test models themselves: built the same every time, and proven before any test uses them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.builders import text


def test_a_trained_model_builds_byte_for_byte_the_same_twice(tiny_models, tmp_path: Path) -> None:
    text.build_sentiment(tmp_path)
    cached = Path(tiny_models["sentiment"])
    assert (tmp_path / "model.safetensors").read_bytes() == (cached / "model.safetensors").read_bytes()
    assert json.loads((tmp_path / "heldout.json").read_text()) == json.loads((cached / "heldout.json").read_text())


@pytest.mark.parametrize("name", ["sentiment", "ner", "qa"])
def test_every_trained_model_records_its_held_out_proof(tiny_models, name: str) -> None:
    proof = json.loads((Path(tiny_models[name]) / "heldout.json").read_text())
    scores = {k: v for k, v in proof.items() if k != "seed"}
    assert scores and all(0.95 <= v <= 1 for v in scores.values()), proof


def test_a_model_below_the_bar_is_trained_again_from_the_next_seed() -> None:
    built = []

    def build(seed: int) -> int:
        built.append(seed)
        return seed

    model, scores = text.proven("toy", 7, build, lambda m: {"accuracy": 0.5 if m == 7 else 0.99}, {"accuracy": 0.9})
    assert model == 1007 and built == [7, 1007] and scores == {"accuracy": 0.99, "seed": 1007}


def test_a_model_that_never_learns_fails_the_build_loudly() -> None:
    with pytest.raises(text.NotLearned, match=r"toy model missed .* seed 7: accuracy 0.500; seed 1007"):
        text.proven("toy", 7, lambda seed: seed, lambda m: {"accuracy": 0.5}, {"accuracy": 0.9})
