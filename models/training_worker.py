"""The fine-tuning worker (runs in its own process, models/training.py Job): the transformers `Trainer` on
the checked rows, a callback that reports each logged loss and evaluation and obeys Stop, then the model
saved as safetensors (LoRA: merged into the base, the adapter kept beside it) with a model card and the
loss curve as PNG.

What it learns, per task:
- sentiment: AutoModelForSequenceClassification; the head is made for the data's labels (resized when
  the base model's labels differ, which the notes say);
- ner: AutoModelForTokenClassification on BIO tags from the character spans (a token inside a span is
  B- at the span's first token, I- after; special tokens are not scored), its head made for the tags;
- text-generation: AutoModelForCausalLM on each conversation rendered with the tokenizer's chat template
  (or "role: content" lines without one), the loss on the assistant's tokens only.
Metrics after each epoch: accuracy and macro F1 (sentiment), entity-level precision, recall and F1 with
exact span matching as seqeval's default mode (ner), evaluation loss and perplexity (text-generation).
"""
from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path
from typing import Any, Callable

from .errors import InvalidInput, PlaygroundError
from .messages import say
from .training import CURVE_COLOURS, MARK, Settings, said_as_data


TIMINGS = ("runtime", "samples_per_second", "steps_per_second", "model_preparation_time")  # not metrics


def main(job_file: str) -> None:
    """The worker's entry (models/training.py Job): the job's settings and rows from its file, progress as
    JSON lines on standard output, every failure as one sentence."""
    import sys

    job = json.loads(Path(job_file).read_text(encoding="utf-8"))
    stop_file = Path(job["stop_file"])

    def report(message: dict[str, Any]) -> None:
        sys.stdout.write(MARK + json.dumps(message) + "\n")
        sys.stdout.flush()

    class Stop:
        @staticmethod
        def is_set() -> bool:
            return stop_file.exists()

    try:
        train(Settings(**job["settings"]), job["train"], job["eval"], Path(job["out_dir"]), report, Stop)
        sys.stdout.flush()
        os._exit(0)  # everything is saved and said: skip the interpreter's 1-2 s teardown of torch
    except PlaygroundError as e:
        report(said_as_data(e))
    except Exception as e:  # noqa: BLE001 - the app shows it as a sentence; the traceback goes to the log
        import traceback

        traceback.print_exc()
        report(said_as_data(PlaygroundError(say("training.failed", kind=type(e).__name__, detail=str(e)[:200]))))


def train(settings: Settings, rows: list[dict[str, Any]], eval_rows: list[dict[str, Any]] | None, out_dir: Path,
          report: Callable[[dict[str, Any]], None], stop: Any) -> None:
    import torch
    import transformers

    torch.set_num_threads(max(1, settings.threads))
    transformers.set_seed(settings.seed)
    transformers.logging.set_verbosity_error()
    if eval_rows is None:
        from .training import split

        rows, eval_rows = split(rows, settings.eval_fraction, settings.seed)
    report({"phase": "loading the base model", "step": 0})
    task = TASK_KINDS[settings.task](settings, rows + eval_rows)
    model, tokenizer, notes = task.load()
    train_set, eval_set = task.encode(rows), task.encode(eval_rows)
    if settings.method == "lora":
        model = _with_lora(model, settings, notes)
    curve: list[dict[str, Any]] = []
    started = time.perf_counter()

    class Progress(transformers.TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> Any:
            if stop.is_set():
                control.should_training_stop = True
            return control

        def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kwargs: Any) -> None:
            logs = logs or {}
            done = state.global_step / max(1, state.max_steps)
            elapsed = time.perf_counter() - started
            update = {"step": state.global_step, "max_steps": state.max_steps, "epoch": round(state.epoch or 0, 3),
                      "eta_seconds": round(elapsed / done - elapsed, 1) if done > 0 else None}
            if "loss" in logs:
                curve.append({"step": state.global_step, "loss": float(logs["loss"]), "split": "train"})
                report({**update, "loss": float(logs["loss"])})
            if "eval_loss" in logs:
                curve.append({"step": state.global_step, "loss": float(logs["eval_loss"]), "split": "eval"})
                report({**update, "eval": {k[5:]: float(v) for k, v in logs.items()
                                           if k.startswith("eval_") and k[5:] not in TIMINGS}})

    steps_per_epoch = math.ceil(len(train_set) / settings.batch_size)
    args = transformers.TrainingArguments(
        output_dir=str(out_dir / ".checkpoints"), num_train_epochs=settings.epochs,
        learning_rate=settings.learning_rate, per_device_train_batch_size=settings.batch_size,
        per_device_eval_batch_size=settings.batch_size, eval_strategy="epoch", save_strategy="no",
        logging_strategy="steps", logging_steps=max(1, steps_per_epoch // 10), report_to=[], seed=settings.seed,
        data_seed=settings.seed, disable_tqdm=True, use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0, remove_unused_columns=False, warmup_steps=0, lr_scheduler_type="linear")
    trainer = transformers.Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=eval_set,
                                   data_collator=task.collate, compute_metrics=task.metrics, callbacks=[Progress()])
    report({"phase": "evaluating the base model", "step": 0})
    trainer.evaluate()  # where the curve starts: the base model on the evaluation rows
    report({"phase": "training", "step": 0, "max_steps": math.ceil(steps_per_epoch * settings.epochs)})
    trainer.train()
    stopped = stop.is_set()
    final = next((entry for entry in reversed(trainer.state.log_history)
                  if "eval_loss" in entry and entry.get("step") == trainer.state.global_step), None)
    if final is None:  # stopped between evaluations: evaluate what it learned
        final = trainer.evaluate()
    metrics = {k[5:]: float(v) for k, v in final.items() if k.startswith("eval_") and k[5:] not in TIMINGS}
    if "loss" in metrics and settings.task == "text-generation":
        metrics["perplexity"] = math.exp(min(metrics["loss"], 50))
    report({"phase": "saving", "step": trainer.state.global_step})
    if settings.method == "lora":
        model.save_pretrained(str(out_dir / "adapter"))
        model = model.merge_and_unload()
    model.save_pretrained(str(out_dir), safe_serialization=True)
    tokenizer.save_pretrained(str(out_dir))
    _card(out_dir, settings, len(rows), len(eval_rows), metrics, curve, notes, stopped)
    report({"done": True, "model": str(out_dir), "metrics": metrics, "loss_curve": curve, "stopped": stopped,
            "notes": [said_as_data(note, "note") for note in notes], "step": trainer.state.global_step, "seconds": round(time.perf_counter() - started, 2)})


def _with_lora(model: Any, settings: Settings, notes: list[str]) -> Any:
    try:
        from peft import LoraConfig, get_peft_model
    except ImportError:
        raise InvalidInput(say("training.needs_peft"), field="method") from None
    targets = list(settings.lora_target_modules) or None  # None: PEFT's default for the architecture
    try:
        config = LoraConfig(r=int(settings.lora_rank), lora_alpha=int(settings.lora_alpha), target_modules=targets,
                            lora_dropout=0.0, task_type={"sentiment": "SEQ_CLS", "ner": "TOKEN_CLS"}.get(
                                settings.task, "CAUSAL_LM"))
        model = get_peft_model(model, config)
    except ValueError as e:
        raise InvalidInput(say("training.lora_targets", detail=str(e)[:160]),
                           field="lora_target_modules") from None
    trainable, total = model.get_nb_trainable_parameters()
    notes.append(say("training.lora_share", trainable=trainable, total=total, share=f"{100 * trainable / total:.2f}"))
    return model


class _Rows:
    """A list of encoded examples as the Trainer's dataset."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int) -> dict[str, Any]:
        return self.items[i]


class _Task:
    def __init__(self, settings: Settings, rows: list[dict[str, Any]]) -> None:
        self.settings = settings
        self.rows = rows  # every row, training and evaluation: what the head must be able to say
        self.tokenizer: Any = None

    def _tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(self.settings.base_model)
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
        return tokenizer

    def collate(self, items: list[dict[str, Any]]) -> dict[str, Any]:
        import torch

        n = max(len(i["input_ids"]) for i in items)
        pad = self.tokenizer.pad_token_id
        batch: dict[str, Any] = {}
        for key in items[0]:
            if key == "labels" and not isinstance(items[0][key], list):
                batch[key] = torch.tensor([i[key] for i in items])
                continue
            fill = pad if key == "input_ids" else -100 if key == "labels" else 0
            batch[key] = torch.tensor([i[key] + [fill] * (n - len(i[key])) for i in items])
        return batch


class _Classification(_Task):
    labels: list[str] = []

    def _head(self, auto_config: Any, auto_model: Any, labels: list[str]) -> tuple[Any, Any, list[str]]:
        config = auto_config.from_pretrained(self.settings.base_model)
        notes = []
        have = [config.id2label[i] for i in sorted(config.id2label)] if getattr(config, "id2label", None) else []
        same = sorted(have) == sorted(labels)
        if same:
            labels = have  # keep the base's order: its head fits as it is
        elif have and not all(h.startswith("LABEL_") for h in have):
            notes.append(say("training.new_head", had=len(have), have=", ".join(have[:6]), count=len(labels),
                             labels=", ".join(labels[:6])))
        self.labels = labels
        model = auto_model.from_pretrained(
            self.settings.base_model, num_labels=len(labels), id2label=dict(enumerate(labels)),
            label2id={l: i for i, l in enumerate(labels)}, ignore_mismatched_sizes=not same,
            use_safetensors=None if self.settings.allow_pickle else True)
        if model.config.pad_token_id is None:
            model.config.pad_token_id = self.tokenizer.pad_token_id
        return model, self.tokenizer, notes


class Sentiment(_Classification):
    def load(self) -> tuple[Any, Any, list[str]]:
        from transformers import AutoConfig, AutoModelForSequenceClassification

        self.tokenizer = self._tokenizer()
        return self._head(AutoConfig, AutoModelForSequenceClassification, sorted({r["label"] for r in self.rows}))

    def encode(self, rows: list[dict[str, Any]]) -> _Rows:
        index = {l: i for i, l in enumerate(self.labels)}
        items = []
        for row in rows:
            if row["label"] not in index:
                raise InvalidInput(say("training.eval_label_unknown", label=row["label"]))
            enc = self.tokenizer(row["text"], truncation=True, max_length=self.settings.max_length)
            items.append({**{k: list(v) for k, v in enc.items()}, "labels": index[row["label"]]})
        return _Rows(items)

    def metrics(self, prediction: Any) -> dict[str, float]:
        logits, gold = prediction
        guess = logits.argmax(-1)
        return {"accuracy": float((guess == gold).mean()), "macro_f1": macro_f1(guess.tolist(), gold.tolist())}


class Entities(_Classification):
    def load(self) -> tuple[Any, Any, list[str]]:
        from transformers import AutoConfig, AutoModelForTokenClassification

        self.tokenizer = self._tokenizer()
        kinds = sorted({s["label"] for row in self.rows for s in row["spans"]})
        tags = ["O"] + [f"{p}-{k}" for k in kinds for p in ("B", "I")]
        return self._head(AutoConfig, AutoModelForTokenClassification, tags)

    def encode(self, rows: list[dict[str, Any]]) -> _Rows:
        index = {l: i for i, l in enumerate(self.labels)}
        items = []
        for row in rows:
            enc = self.tokenizer(row["text"], truncation=True, max_length=self.settings.max_length,
                                 return_offsets_mapping=True)
            labels, previous = [], None  # the span the last scored token was in
            for (start, end), word in zip(enc["offset_mapping"], enc.word_ids()):
                if word is None or end <= start:
                    labels.append(-100)
                    continue
                span = next((i for i, s in enumerate(row["spans"]) if s["start"] <= start < s["end"]), None)
                if span is None:
                    labels.append(index["O"])
                else:
                    tag = f"{'I' if span == previous else 'B'}-{row['spans'][span]['label']}"
                    labels.append(index.get(tag, index["O"]))
                previous = span
            items.append({"input_ids": list(enc["input_ids"]), "attention_mask": list(enc["attention_mask"]),
                          **({"token_type_ids": list(enc["token_type_ids"])} if "token_type_ids" in enc else {}),
                          "labels": labels})
        return _Rows(items)

    def metrics(self, prediction: Any) -> dict[str, float]:
        logits, gold = prediction
        guess = logits.argmax(-1)
        gold_spans, guess_spans = set(), set()
        for r, (g_row, p_row) in enumerate(zip(gold.tolist(), guess.tolist())):
            kept = [(g, p) for g, p in zip(g_row, p_row) if g != -100]
            gold_spans |= {(r, *s) for s in bio_spans([self.labels[g] for g, _ in kept])}
            guess_spans |= {(r, *s) for s in bio_spans([self.labels[p] for _, p in kept])}
        hit = len(gold_spans & guess_spans)
        precision = hit / len(guess_spans) if guess_spans else 0.0
        recall = hit / len(gold_spans) if gold_spans else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return {"precision": precision, "recall": recall, "f1": f1}


class Chat(_Task):
    def load(self) -> tuple[Any, Any, list[str]]:
        from transformers import AutoModelForCausalLM

        self.tokenizer = self._tokenizer()
        model = AutoModelForCausalLM.from_pretrained(self.settings.base_model,
                                                     use_safetensors=None if self.settings.allow_pickle else True)
        if model.config.pad_token_id is None:
            model.config.pad_token_id = self.tokenizer.pad_token_id
        return model, self.tokenizer, []

    def _render(self, messages: list[dict[str, str]]) -> str:
        if getattr(self.tokenizer, "chat_template", None):
            return self.tokenizer.apply_chat_template(messages, tokenize=False)
        return "".join(f"{m['role']}: {m['content']}\n" for m in messages)

    def encode(self, rows: list[dict[str, Any]]) -> _Rows:
        items = []
        for row in rows:
            messages = row["messages"]
            ids: list[int] = []
            labels: list[int] = []
            for upto in range(1, len(messages) + 1):  # each message's new tokens, scored if the assistant's
                text = self._render(messages[:upto])
                full = self.tokenizer(text, add_special_tokens=False)["input_ids"]
                new = full[len(ids):]
                labels += new if messages[upto - 1]["role"] == "assistant" else [-100] * len(new)
                ids = full
            ids, labels = ids[:self.settings.max_length], labels[:self.settings.max_length]
            items.append({"input_ids": ids, "attention_mask": [1] * len(ids), "labels": labels})
        return _Rows(items)

    def metrics(self, prediction: Any) -> dict[str, float]:
        return {}


TASK_KINDS: dict[str, Callable[[Settings, list[dict[str, Any]]], Any]] = {"sentiment": Sentiment, "ner": Entities, "text-generation": Chat}


def macro_f1(guess: list[int], gold: list[int]) -> float:
    classes = sorted(set(gold) | set(guess))
    scores = []
    for c in classes:
        tp = sum(1 for g, p in zip(gold, guess) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, guess) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, guess) if g == c and p != c)
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def bio_spans(tags: list[str]) -> list[tuple[int, int, str]]:
    """(start, end, type) of each entity in a BIO sequence, as seqeval's default mode reads it: an I- that
    does not continue an entity of its type starts one."""
    spans, start, kind = [], None, None
    for i, tag in enumerate([*tags, "O"]):
        prefix, _, name = tag.partition("-")
        continues = prefix == "I" and kind == name
        if start is not None and not continues:
            spans.append((start, i, kind))
            start, kind = None, None
        if prefix in ("B", "I") and not continues:
            start, kind = i, name
    return spans


def _card(out_dir: Path, settings: Settings, n_train: int, n_eval: int, metrics: dict[str, float],
          curve: list[dict[str, Any]], notes: list[str], stopped: bool) -> None:
    """README.md (a model card) and loss_curve.png beside the weights."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.2), dpi=100)
    for name, colour in CURVE_COLOURS.items():
        points = [p for p in curve if p["split"] == name]
        if points:
            axes.plot([p["step"] for p in points], [p["loss"] for p in points], marker="o" if name == "eval" else None,
                      color=colour, label=name)
    axes.set_xlabel("step")
    axes.set_ylabel("loss")
    axes.legend()
    figure.tight_layout()
    figure.savefig(out_dir / "loss_curve.png")
    plt.close(figure)
    shown = {k: v for k, v in json.loads(json.dumps(settings.__dict__)).items() if k not in ("threads", "allow_pickle")}
    lines = [f"# Fine-tuned from {settings.base_model}", "",
             f"Task: {settings.task}. Trained with the transformers Trainer ({settings.method} fine-tuning) in the "
             "Model Playground." + (" Stopped early: this is the model as it was then." if stopped else ""), "",
             "## Data", "", f"{n_train} training rows, {n_eval} evaluation rows.", "", "## Settings", "",
             *[f"- {k}: {v}" for k, v in shown.items()], "", "## Metrics (evaluation rows)", "",
             *[f"- {k}: {v:.4g}" for k, v in metrics.items()], "", *([f"- {n}" for n in notes] and
                                                                  ["## Notes", "", *[f"- {n}" for n in notes], ""]),
             "![Loss curve](loss_curve.png)", ""]
    (out_dir / "README.md").write_text("\n".join(lines), encoding="utf-8")
    (out_dir / "training.json").write_text(json.dumps({"settings": shown, "metrics": metrics, "loss_curve": curve,
                                                       "stopped": stopped, "notes": notes}, indent=1), encoding="utf-8")


if __name__ == "__main__":
    import sys

    main(sys.argv[1])
