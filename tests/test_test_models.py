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


@pytest.mark.parametrize("name", ["sentiment", "ner", "qa", "reasoning-gpt2"])
def test_every_trained_model_records_its_held_out_proof(tiny_models, name: str) -> None:
    proof = json.loads((Path(tiny_models[name]) / "heldout.json").read_text())
    scores = {k: v for k, v in proof.items() if k != "seed"}
    assert scores and all(0.95 <= v <= 1 for v in scores.values()), proof


def test_the_reasoning_model_thinks_then_answers_the_same_to_any_chat(tiny_models) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from models.chat import split_thinking

    folder = tiny_models["reasoning-gpt2"]
    model, tokenizer = AutoModelForCausalLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    assert json.loads((Path(folder) / "heldout.json").read_text())["reply_exact"] >= 0.95
    for chat in ([{"role": "user", "content": "Quelle heure est-il à Zürich ? 🎉 Tell me, please."}],
                 [{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": text.REASONING_ANSWER},
                  {"role": "user", "content": "Which city has the best café au lait?"}]):
        reply = text.greedy_reply_ids(model, tokenizer, chat)
        assert reply[-1] == tokenizer.eos_token_id, tokenizer.decode(reply)
        shown = tokenizer.decode(reply, skip_special_tokens=True)  # as a streamer shows it: the tags stay
        assert shown == f"<think>{text.REASONING_THOUGHT}</think>{text.REASONING_ANSWER}"
        assert split_thinking(shown) == (text.REASONING_THOUGHT, text.REASONING_ANSWER, True)


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
