"""Fine-tuning (models/training.py, /fine_tune): data checked before anything runs, then a real Trainer.

- every data problem gets its one sentence, naming the row, and nothing is trained;
- a tiny BERT with random weights, fine-tuned on the sentiment templates, reaches 90% on held-out
  sentences, and /sentiment with the returned model gives those answers;
- the tiny NER model fine-tuned to new labels (PERSON, CITY: a new head) finds held-out names and cities
  at their exact character offsets through /ner;
- LoRA on the tiny chat model lowers the evaluation loss, and the merged model answers in /chat;
- Stop mid-training keeps a usable model; a second training waits and is told its place; the app
  answers other requests while a training runs.
"""
from __future__ import annotations

import csv
import json
import random
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.launch import assert_plain_sentence, running_app

LABELS = {0: "negative", 1: "positive"}


def write_csv(path: Path, rows: list[dict[str, Any]]) -> str:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return str(path)


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return str(path)


def sentiment_rows(seed: int, n: int) -> list[dict[str, Any]]:
    from tests.builders.text import sentiment_sentences

    return [{"text": text, "label": LABELS[label]} for text, label in sentiment_sentences(random.Random(seed), n)]


def ner_rows(seed: int, n: int) -> list[dict[str, Any]]:
    from tests.builders.text import ner_text

    rename = {"PER": "PERSON", "LOC": "CITY"}
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        text, spans = ner_text(rng, max_sentences=2)
        rows.append({"text": text, "entities": [{"start": s, "end": e, "label": rename[k]} for s, e, k in spans]})
    return rows


# -- the data, checked ------------------------------------------------------------------------------------

@pytest.mark.parametrize("name, content, task, says", [
    ("data.txt", "text,label\na,b\n", "sentiment", "must be CSV, TSV, JSONL or JSON"),
    ("data.csv", "review,stars\n" + "good,5\n" * 9, "sentiment", "needs columns for text+label"),
    ("data.csv", "text,label\n" + "good,pos\n" * 4 + ",neg\n" + "bad,neg\n" * 4, "sentiment", "Row 5: its text is empty"),
    ("data.csv", "text,label\n" + "good,pos\nbad,neg\n" * 2, "sentiment", "fine-tuning needs at least 8"),
    ("data.csv", "text,label\n" + "good,pos\n" * 9, "sentiment", "same label"),
    ("data.jsonl", '{"text": "a", "label": "x"}\nnot json\n', "sentiment", "Line 2 is not JSON"),
    ("data.jsonl", "".join(json.dumps({"tokens": ["Ada", "lives"], "tags": ["B-PER"]}) + "\n" for _ in range(8)),
     "ner", "2 tokens but 1 tags"),
    ("data.jsonl", "".join(json.dumps({"tokens": ["Ada"], "tags": ["PERSON-X"]}) + "\n" for _ in range(8)),
     "ner", "is not O or B-/I-"),
    ("data.jsonl", "".join(json.dumps({"text": "Ada", "entities": [{"start": 0, "end": 9, "label": "PER"}]}) + "\n"
                           for _ in range(8)), "ner", "not character offsets inside"),
    ("data.jsonl", "".join(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n" for _ in range(8)),
     "text-generation", "no assistant message"),
])
def test_every_data_problem_is_one_sentence_naming_its_row(tmp_path: Path, name: str, content: str, task: str,
                                                          says: str) -> None:
    from models.training import read_data

    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    data = read_data(str(path), task)
    assert not data.ok
    assert any(says in p for p in data.problems), data.problems
    for problem in data.problems:
        assert_plain_sentence(problem)


def test_a_file_not_utf8_or_too_large_is_refused(tmp_path: Path, monkeypatch: Any) -> None:
    from models import training

    latin = tmp_path / "latin.csv"
    latin.write_bytes("text,label\ncafé,pos\n".encode("latin-1"))
    assert "not UTF-8" in training.read_data(str(latin), "sentiment").problems[0]
    big = tmp_path / "big.csv"
    big.write_text("text,label\n" + "good,pos\n" * 100, encoding="utf-8")
    monkeypatch.setattr(training, "MAX_FILE_BYTES", 100)
    assert "the limit is" in training.read_data(str(big), "sentiment").problems[0]


def test_columns_are_guessed_and_can_be_mapped(tmp_path: Path) -> None:
    from models.training import read_data

    path = write_csv(tmp_path / "reviews.csv", [{"review": f"nice {i}", "stars": i % 2} for i in range(10)])
    data = read_data(path, "sentiment", {"text": "review", "label": "stars"})
    assert data.ok and data.label_counts == {"0": 5, "1": 5} and data.rows[0] == {"text": "nice 0", "label": "0"}
    tagged = read_data(write_jsonl(tmp_path / "tags.jsonl", [{"tokens": ["Ada", "Lovelace", "visited", "Paris"],
                                                             "ner_tags": ["B-PER", "I-PER", "O", "B-LOC"]}] * 8), "ner")
    assert tagged.ok, tagged.problems
    row = tagged.rows[0]
    assert row["text"] == "Ada Lovelace visited Paris"
    assert [row["text"][s["start"]:s["end"]] for s in row["spans"]] == ["Ada Lovelace", "Paris"]


def test_entity_spans_match_as_seqeval_reads_bio() -> None:
    from models.training_worker import bio_spans, macro_f1

    assert bio_spans(["B-PER", "I-PER", "O", "B-LOC", "I-LOC", "I-PER", "B-PER"]) == [
        (0, 2, "PER"), (3, 5, "LOC"), (5, 6, "PER"), (6, 7, "PER")]
    assert bio_spans(["I-LOC", "I-LOC", "O"]) == [(0, 2, "LOC")]
    assert macro_f1([0, 1, 1, 0], [0, 1, 0, 0]) == pytest.approx((0.8 + 2 / 3) / 2)


# -- training through /fine_tune ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(tiny_models: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from components import Settings
    from tests.launch import ASSETS

    data = {"sentiment": [{"id": tiny_models["random-bert"], "label": "random bert"},
                          {"id": tiny_models["sentiment"], "label": "tiny sentiment"}],
            "ner": [{"id": tiny_models["ner"], "label": "tiny ner"}],
            "text-generation": [{"id": tiny_models["chat-gpt2"], "label": "tiny chat"}]}
    settings = Settings(examples_dir=str(ASSETS), data_dir=str(tmp_path_factory.mktemp("data")))
    with running_app(data, settings=settings) as launched:
        launched.trained = Path(settings.data_dir, "fine-tuned")
        yield launched


def fine_tune(client: Client, **kwargs: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    job = client.submit(**{"eval_file": None, "method": "full", "epochs": 3, "learning_rate": 5e-5, "batch_size": 16,
                           "seed": 0, "lora_rank": 8, "lora_alpha": 16, "lora_target_modules": "", **kwargs},
                        api_name="/fine_tune")
    result = job.result(timeout=300)
    return result, [o[0] if isinstance(o, (list, tuple)) else o for o in job.outputs()]


def test_a_random_classifier_learns_sentiment_and_serves_it(client: Client, tiny_models: Any, tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", sentiment_rows(5, 240))
    held_out = sentiment_rows(6, 60)
    evaluation = write_csv(tmp_path / "eval.csv", held_out)
    result, progress = fine_tune(client, task="sentiment", base_model=tiny_models["random-bert"],
                                 train_file=handle_file(train), eval_file=handle_file(evaluation), epochs=8,
                                 learning_rate=2e-3, batch_size=16)
    assert result["metrics"]["accuracy"] >= 0.9, result["metrics"]
    assert not result["stopped"] and Path(result["model"], "model.safetensors").exists()
    assert sorted(p.name for p in Path(result["model"]).iterdir() if p.name.startswith(".")) == []  # no job files
    evals = [p["eval"] for p in progress if p.get("eval")]
    assert evals[0]["accuracy"] < 0.8  # the random base, evaluated first: the curve starts where it starts
    assert {p["split"] for p in result["loss_curve"]} == {"train", "eval"}
    answers = [client.predict(text=row["text"], model=result["model"], api_name="/sentiment")["label"] for row in held_out]
    right = sum(a == row["label"] for a, row in zip(answers, held_out)) / len(held_out)
    assert right == pytest.approx(result["metrics"]["accuracy"], abs=1e-9)
    assert Path(result["model"], "README.md").read_text().startswith("# Fine-tuned from")
    assert Path(result["model"], "loss_curve.png").stat().st_size > 1000


def test_entities_with_new_labels_are_found_at_their_offsets(client: Client, tiny_models: Any, tmp_path: Path) -> None:
    train = write_jsonl(tmp_path / "train.jsonl", ner_rows(7, 160))
    result, _ = fine_tune(client, task="ner", base_model=tiny_models["ner"], train_file=handle_file(train), epochs=10,
                          learning_rate=3e-3)
    assert "replaced by a new head" in " ".join(result["notes"])
    assert result["metrics"]["f1"] >= 0.8, result["metrics"]
    found = expected = 0
    for row in ner_rows(8, 20):
        highlighted, _ = client.predict(text=row["text"], model=result["model"], api_name="/ner")
        spans, at = set(), 0
        for piece in highlighted:  # the pieces put back together are the text: offsets from their lengths
            if piece["class_or_confidence"]:
                spans.add((at, at + len(piece["token"]), piece["class_or_confidence"].upper()))
            at += len(piece["token"])
        wanted = {(e["start"], e["end"], e["label"]) for e in row["entities"]}
        found += len(spans & wanted)
        expected += len(wanted)
    assert found / expected >= 0.8, (found, expected)


def test_lora_lowers_the_chat_models_evaluation_loss_and_the_model_chats(client: Client, tiny_models: Any,
                                                                         tmp_path: Path) -> None:
    rows = [{"messages": [{"role": "user", "content": f"what is {a} plus {b}?"},
                          {"role": "assistant", "content": f"{a + b}."}]} for a in range(6) for b in range(6)]
    train = write_jsonl(tmp_path / "chat.jsonl", rows)
    result, progress = fine_tune(client, task="text-generation", base_model=tiny_models["chat-gpt2"],
                                 train_file=handle_file(train), method="lora", epochs=3, learning_rate=5e-3,
                                 batch_size=8, lora_rank=8, lora_alpha=16)
    evals = [p["eval"]["loss"] for p in progress if p.get("eval")]
    assert evals[-1] < evals[0], evals
    assert result["metrics"]["perplexity"] == pytest.approx(2.718281828 ** result["metrics"]["loss"], rel=1e-6)
    assert any("LoRA trains" in n for n in result["notes"])
    assert Path(result["model"], "adapter", "adapter_config.json").exists()
    reply, stats = client.predict(messages=[{"role": "user", "content": "what is 1 plus 2?"}], model=result["model"],
                                  system_prompt="", max_new_tokens=4, temperature=0, top_p=1.0, top_k=0,
                                  repetition_penalty=1.0, seed=1, api_name="/chat")
    assert stats["new_tokens"] >= 1


def test_stop_keeps_a_usable_model_and_the_next_training_waits_its_turn(app: Any, tiny_models: Any,
                                                                        tmp_path: Path) -> None:
    train = write_csv(tmp_path / "train.csv", sentiment_rows(9, 400))
    first, second = Client(app.url, verbose=False), Client(app.url, verbose=False)
    args = dict(task="sentiment", base_model=tiny_models["random-bert"], train_file=handle_file(train), eval_file=None,
                method="full", epochs=50, learning_rate=1e-3, batch_size=8, seed=0, lora_rank=8, lora_alpha=16,
                lora_target_modules="", api_name="/fine_tune")
    long = first.submit(**args)
    deadline = time.time() + 120
    while not any((o[0] if isinstance(o, (list, tuple)) else o).get("loss") for o in long.outputs()):
        assert time.time() < deadline, "no training step in 2 minutes"
        time.sleep(0.2)
    waiting = second.submit(**{**args, "epochs": 1})
    while not waiting.outputs():
        time.sleep(0.2)
    told = waiting.outputs()[0]
    told = told[0] if isinstance(told, (list, tuple)) else told
    assert told == {"phase": "waiting", "place": 1, "step": 0}
    # the app answers others while the training runs
    started = time.perf_counter()
    assert first.predict(text="I love it", model=tiny_models["sentiment"], api_name="/sentiment")["label"]
    assert time.perf_counter() - started < 30
    first.predict(api_name="/fine_tune_stop")
    stopped = long.result(timeout=120)
    assert stopped["stopped"] and Path(stopped["model"], "model.safetensors").exists()
    assert first.predict(text="I love it", model=stopped["model"], api_name="/sentiment")["label"] in LABELS.values()
    done = waiting.result(timeout=300)
    assert not done["stopped"] and done["model"] != stopped["model"]


def test_a_bad_request_is_one_sentence_and_trains_nothing(client: Client, app: Any, tiny_models: Any,
                                                         tmp_path: Path) -> None:
    few = write_csv(tmp_path / "few.csv", sentiment_rows(1, 4))
    for kwargs, says in [({"task": "qa"}, "task must be sentiment, ner or text-generation"),
                         ({"train_file": handle_file(few)}, "at least 8"),
                         ({"method": "magic"}, "method must be full or lora"),
                         ({"learning_rate": 5.0}, "learning_rate must be a number from")]:
        before = sorted(app.trained.glob("*"))
        with pytest.raises(AppError) as info:
            fine_tune(client, **{"task": "sentiment", "base_model": tiny_models["random-bert"],
                                 "train_file": handle_file(write_csv(tmp_path / "ok.csv", sentiment_rows(2, 20))),
                                 **kwargs})
        assert_plain_sentence(str(info.value))
        assert says.lower() in str(info.value).lower(), str(info.value)
        assert sorted(app.trained.glob("*")) == before
