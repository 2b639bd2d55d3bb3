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


# -- the tab's lines in the reader's language (components/fine_tune.py) -----------------------------------------

def test_the_progress_line_in_both_languages() -> None:
    from components.fine_tune import progress_line
    from models.messages import CHINESE

    step = {"phase": "training", "step": 12, "max_steps": 40, "epoch": 0.9, "eta_seconds": 33.4, "loss": 0.69314}
    cases = [({"phase": "waiting", "place": 2, "step": 0}, "Waiting for the training before yours: place 2 in line.",
              "正在等待排在你前面的训练：你排在第 2 位。"),
             ({"done": True, "stopped": True}, "Stopped: what was learned so far is saved.", "已停止：到目前为止学到的内容已保存。"),
             ({"done": True}, "Done.", "完成。"),
             (step, "Training: step 12 of 40 · epoch 0.90 · about 33 s left · loss 0.6931",
              "训练中：第 12 步，共 40 步 · 轮次 0.90 · 约剩 33 秒 · 损失 0.6931"),
             ({**step, "eta_seconds": None, "loss": None}, "Training: step 12 of 40 · epoch 0.90",
              "训练中：第 12 步，共 40 步 · 轮次 0.90"),
             ({}, "Starting…", "正在启动…"),
             ({"phase": "loading the base model", "step": 0}, "Loading the base model…", "正在加载基础模型…"),
             ({"phase": "evaluating the base model", "step": 0}, "Evaluating the base model…", "正在评估基础模型…"),
             ({"phase": "saving", "step": 40}, "Saving…", "正在保存…"),
             ({"phase": "something new", "step": 0}, "Something new…", "Something new…")]  # a phase of its own
    for message, english, chinese in cases:
        assert progress_line(message) == english
        assert progress_line(message, CHINESE) == chinese


def test_metrics_and_the_datas_summary_in_both_languages(tmp_path: Path) -> None:
    from components.fine_tune import metrics_text, plotted
    from models.messages import CHINESE
    from models.training import read_data

    metrics = {"loss": 0.123456, "accuracy": 0.9, "macro_f1": 0.8875, "perplexity": 1.1314}
    assert metrics_text(metrics) == "loss 0.1235 · accuracy 0.9 · macro f1 0.8875 · perplexity 1.131"
    assert metrics_text(metrics, CHINESE) == "损失 0.1235 · 准确率 0.9 · 宏平均 F1 0.8875 · 困惑度 1.131"
    assert metrics_text({"precision": 1, "recall": 0.5, "f1": 0.6667, "new_one": 2}, CHINESE) == \
        "精确率 1 · 召回率 0.5 · F1 0.6667 · new one 2"
    data = read_data(write_csv(tmp_path / "d.csv", [{"text": f"t{i}", "label": "pos" if i % 3 else "neg"}
                                                   for i in range(9)]), "sentiment")
    assert data.summary() == "9 rows; labels: pos 6, neg 3"
    assert data.summary().render(CHINESE) == "9 行；标签：pos 6, neg 3"
    chat = read_data(write_jsonl(tmp_path / "c.jsonl", [{"prompt": "a", "completion": "b"}] * 8), "text-generation")
    assert chat.summary() == "8 rows" and chat.summary().render(CHINESE) == "8 行"
    curve = [{"step": 5, "loss": 0.7, "split": "train"}]
    assert plotted(curve).caption == "training loss per logged step, evaluation loss per epoch · step 5"
    assert plotted(curve, CHINESE).caption == "每个记录步的训练损失，每轮的评估损失 · 第 5 步"


def stub_context(tmp_path: Path, allow_training: bool = True) -> Any:
    from types import SimpleNamespace

    from components.common import Context, Settings

    spec = SimpleNamespace(task="sentiment", name="tiny", model_id="own/tiny", endpoint=None)
    catalog = SimpleNamespace(models=lambda task: [spec], default=lambda task: "own/tiny", tasks=lambda: ["sentiment"])
    manager = SimpleNamespace(spec=lambda task, model: spec, allow_pickle=False)
    settings = Settings(allow_training=allow_training, data_dir=str(tmp_path / "data"), examples_dir=str(tmp_path))
    return Context(catalog=catalog, manager=manager, settings=settings)  # type: ignore[arg-type]


def test_a_files_problems_are_said_in_the_readers_language(tmp_path: Path) -> None:
    import pickle

    from components.common import sentence_of
    from components.fine_tune import problems_of, read, run_training
    from models import InvalidInput
    from models.messages import CHINESE, render

    bad = write_csv(tmp_path / "bad.csv", [{"text": "" if i < 8 else "ok", "label": "pos" if i % 2 else "neg"}
                                           for i in range(12)])
    ctx = stub_context(tmp_path)
    train, evaluation = read(ctx, "sentiment", bad, bad, "")
    problems = problems_of(train, evaluation)
    assert len(problems) == 16 and str(problems[8]) == "Evaluation file: Row 1: its text is empty."
    assert render(problems[0], CHINESE) == "第 1 行：文本是空的。"
    assert render(problems[8], CHINESE) == "评估文件：第 1 行：文本是空的。"
    with pytest.raises(InvalidInput) as raised:
        next(run_training(ctx, "sentiment", None, bad, None, "full", 1, 5e-5, 8, 0, 8, 16, "", None, "s"))
    assert raised.value.field == "train_file"
    assert str(raised.value) == ("Row 1: its text is empty. Row 2: its text is empty. Row 3: its text is empty. "
                                 "(5 more problems.)")
    chinese = "第 1 行：文本是空的。第 2 行：文本是空的。第 3 行：文本是空的。（还有 5 个问题。）"
    assert sentence_of(raised.value, CHINESE) == chinese
    again = pickle.loads(pickle.dumps(raised.value.args[0]))
    assert again == str(raised.value) and again.render(CHINESE) == chinese


def test_the_checks_sentences_in_both_languages(tmp_path: Path) -> None:
    from components.common import sentence_of
    from components.fine_tune import TrainingLine, parse_mapping, read, run_training
    from models import InvalidInput
    from models.messages import CHINESE

    cases = [(lambda: parse_mapping("text=review, stars"), "Write the mapping as role=column pairs (text=review, "
              "label=stars), not 'stars'.", "请把映射写成“角色=列”的形式（text=review, label=stars），而不是 'stars'。"),
             (lambda: read(stub_context(tmp_path), "sentiment", None, None, ""),
              "Upload a training file, or pick an example dataset.", "请上传训练文件，或选择示例数据集。"),
             (lambda: next(run_training(stub_context(tmp_path, allow_training=False), "sentiment", None, None, None,
                                        "full", 1, 5e-5, 8, 0, 8, 16, "", None, "s")),
              "Fine-tuning is off on this server (a hosted app turns it on with --allow-training).",
              "这台服务器没有开启微调（托管的应用可以用 --allow-training 开启）。"),
             (lambda: next(run_training(stub_context(tmp_path), "qa", None, None, None, "full", 1, 5e-5, 8, 0, 8, 16,
                                        "", None, "s")),
              "Task must be sentiment, ner or text-generation, not 'qa'.",
              "参数 task 必须是 sentiment、ner 或 text-generation，而不是 'qa'。")]
    line = TrainingLine()
    line.join(1)
    cases.append((lambda: line.join(1), "1 trainings are already waiting for their turn on this server; try again when "
                  "one has ended.", "这台服务器上已有 1 个训练在排队等候；请等其中一个结束后再试。"))
    for call, english, chinese in cases:
        with pytest.raises(InvalidInput) as raised:
            call()
        assert sentence_of(raised.value) == english
        assert sentence_of(raised.value, CHINESE) == chinese


def page_handlers(ctx: Any) -> dict[str, Any]:
    """The Fine-tune tab built on ctx: its handlers by name."""
    import gradio as gr

    from components import fine_tune

    with gr.Blocks() as demo:
        fine_tune.build(ctx)
    return {fn.name: fn.fn for fn in demo.fns.values()}


def page_request(language: str) -> Any:
    import gradio as gr

    from components.language import COOKIE

    return gr.Request(headers={"cookie": f"{COOKIE}={language}"}, session_hash="test")


def test_the_tabs_handlers_answer_in_the_readers_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradio as gr
    import huggingface_hub

    from models.messages import CHINESE, ENGLISH

    handlers = page_handlers(stub_context(tmp_path))
    check, push = handlers["check"], handlers["push_to_hub"]
    good = write_csv(tmp_path / "good.csv", [{"review": f"nice {i}", "stars": i % 2} for i in range(10)])
    said, _, mapped = check("sentiment", good, good, "text=review, label=stars", page_request(CHINESE))
    assert said == ("**10 行；标签：0 5, 1 5** · 读取的列：text=review, label=stars\n\n评估文件：10 行；标签：0 5, 1 5"
                    "\n\n可以开始训练了。")
    said, _, _ = check("sentiment", good, None, "text=review, label=stars", page_request(ENGLISH))
    assert said == "**10 rows; labels: 0 5, 1 5** · columns read: text=review, label=stars\n\nReady to train."
    odd = write_csv(tmp_path / "odd.csv", [{"a": f"nice {i}", "b": i % 2} for i in range(10)])
    said, _, _ = check("sentiment", odd, None, "", page_request(CHINESE))  # no column found by its name
    assert said.startswith("**0 行** · 读取的列：没有找到\n\n⚠ 文件需要这些列：text+label；它的列是：")
    said, _, _ = check("sentiment", odd, None, "", page_request(ENGLISH))
    assert said.startswith("**0 rows** · columns read: none found\n\n⚠ The file needs columns for text+label;")
    many = write_csv(tmp_path / "many.csv", [{"text": "", "label": "x"}] * 25)
    said, _, _ = check("sentiment", many, None, "", page_request(CHINESE))
    assert said.endswith("⚠ 第 20 行：文本是空的。\n\n……还有 5 个。")  # 25 problems
    said, _, _ = check("sentiment", many, None, "", None)
    assert said.endswith("⚠ Row 20: its text is empty.\n\n… and 5 more.")
    said, _, _ = check("sentiment", good, None, "oops", page_request(CHINESE))
    assert said == "⚠ 请把映射写成“角色=列”的形式（text=review, label=stars），而不是 'oops'。"

    assert push(None, "me/model", "", page_request(CHINESE)) == "⚠ 请先训练一个模型。"
    assert push(None, "me/model", "", page_request(ENGLISH)) == "⚠ Train a model first."
    assert push(str(tmp_path), "no slash", "", page_request(CHINESE)) == "⚠ 请把仓库名写成 owner/name。"

    class Hub:
        refuse = True

        def __init__(self, token: Any = None) -> None:
            pass

        def create_repo(self, *args: Any, **kwargs: Any) -> None:
            if Hub.refuse:
                raise RuntimeError("401 Unauthorized\nmore detail")

        def upload_folder(self, **kwargs: Any) -> None:
            pass

    monkeypatch.setattr(huggingface_hub, "HfApi", Hub)
    assert push(str(tmp_path), "me/model", "", page_request(CHINESE)) == "⚠ Hub 拒绝了推送：401 Unauthorized"
    assert push(str(tmp_path), "me/model", "", None) == "⚠ The Hub refused the push: 401 Unauthorized"
    Hub.refuse = False
    assert push(str(tmp_path), "me/model", "", page_request(CHINESE)) == "已推送到 https://huggingface.co/me/model（私有）。"
    assert push(str(tmp_path), "me/model", "", None) == "Pushed to https://huggingface.co/me/model (private)."

    off = page_handlers(stub_context(tmp_path, allow_training=False))
    args = ("sentiment", "own/tiny", good, None, "full", 1, 5e-5, 8, 0, 8, 16, "", "")
    said = [update[0] for update in off["train_on_page"](*args, page_request(CHINESE))]
    assert said == ["正在检查数据…", "⚠ 这台服务器没有开启微调（托管的应用可以用 --allow-training 开启）。"]
    said = [update[0] for update in off["train_on_page"](*args, page_request(ENGLISH))]
    assert said == ["Checking the data…", "⚠ Fine-tuning is off on this server (a hosted app turns it on with "
                                          "--allow-training)."]
    with pytest.raises(gr.Error) as raised:
        next(off["fine_tune"]("sentiment", "own/tiny", good, request=page_request(CHINESE)))
    assert raised.value.message == "这台服务器没有开启微调（托管的应用可以用 --allow-training 开启）。"


def test_the_saved_line_names_the_tab_in_the_readers_language(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from components import fine_tune
    from models.messages import CHINESE, ENGLISH
    from models.training import Data

    model = tmp_path / "data" / "fine-tuned" / "sentiment-tiny"
    model.mkdir(parents=True)
    data = Data(task="sentiment", rows=[{}] * 8, label_counts={"pos": 5, "neg": 3}).summary()

    def trained(*args: Any) -> Any:
        yield {"phase": "training", "step": 4, "max_steps": 8, "epoch": 1.0, "eval": {"loss": 0.5, "accuracy": 0.75},
               "eta_seconds": 2.0}
        yield {"done": True, "model": str(model), "data": data, "metrics": {"accuracy": 0.875}, "loss_curve": [],
               "notes": ["A note of the worker's."], "step": 8}

    monkeypatch.setattr(fine_tune, "run_training", trained)
    handlers = page_handlers(stub_context(tmp_path))
    args = ("sentiment", "own/tiny", None, None, "full", 1, 5e-5, 8, 0, 8, 16, "", "")
    updates = list(handlers["train_on_page"](*args, page_request(CHINESE)))
    line, _, metrics, words, _, folder = updates[-1]
    assert line == "完成。" and folder == str(model)
    assert metrics == "第 1 轮：损失 0.5 · 准确率 0.75\n\n**最终：** 准确率 0.875"
    assert words == (f"**已保存：** `{model}`（8 行；标签：pos 5, neg 3）—— 可以在“情感分析”标签页或它的“比较模型”中选择它"
                     "（如果还没有列出，请刷新页面）。\n\nA note of the worker's.")
    line, _, metrics, words, _, _ = list(handlers["train_on_page"](*args, page_request(ENGLISH)))[-1]
    assert line == "Done." and metrics == "epoch 1: loss 0.5 · accuracy 0.75\n\n**final:** accuracy 0.875"
    assert words == (f"**Saved:** `{model}` (8 rows; labels: pos 5, neg 3) — pick it in the Sentiment tab or its "
                     "Compare models (reload the page if it is not listed yet).\n\nA note of the worker's.")
