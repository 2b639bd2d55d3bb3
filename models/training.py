"""Fine-tuning: a person's data checked before anything runs, then the transformers `Trainer` (full
fine-tuning, or LoRA with PEFT) in a worker process of its own, its progress streamed back, the result
saved as safetensors with a model card. No gradio here.

- `read_data(path, task, mapping=None) -> Data`: CSV, TSV, JSONL or JSON; the columns found, the mapping
  used (guessed when None), the rows normalised per task, a preview, the label counts, and every problem
  found, each one sentence naming the row. Problems do not raise; `Data.ok` says whether there were none.
  Normalised rows:
    sentiment:        {"text", "label"}
    ner:              {"text", "spans": [{"start", "end", "label"}]} (character offsets; a tokens/tags file
                      is joined with spaces into text and spans)
    text-generation:  {"messages": [{"role", "content"}...]} (prompt/completion becomes user/assistant)
- `Settings`: what to train.
- `Job(settings, train, eval_rows, out_dir)`: `.run()` yields progress {"step", "max_steps", "epoch",
  "loss" or "eval", "eta_seconds"} as the worker reports it, and last {"done": True, "model": out_dir,
  "metrics", "loss_curve": [{"step", "loss", "split"}], "stopped", "notes"}; `.stop()` ends training at
  the next step, and what was learned so far is saved and usable. The worker is a spawned process, so
  the app's process keeps serving; it runs torch on `threads` threads.
"""
from __future__ import annotations

import csv
import io
import json
import math
import queue as queue_module
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterator

from .errors import InvalidInput, PlaygroundError
from .messages import MESSAGES, Message, say

TASKS = ("sentiment", "ner", "text-generation")
FORMATS = (".csv", ".tsv", ".jsonl", ".json")
CURVE_COLOURS = {"train": "#3c6ee2", "eval": "#e23c3c"}  # the loss curve's series, on the page and in the card
MAX_FILE_BYTES = 20 * 2**20
MAX_ROWS = 50_000
MIN_ROWS = 8
MAX_TEXT_CHARS = 20_000
MAX_LABELS = 200
PREVIEW_ROWS = 5
GRACE_SECONDS = 60.0  # past the time limit, what a training may still take to stop and save before it is ended
MARK = "@playground-progress "  # how the worker's progress lines start on its standard output

TEXT_COLUMNS = ("text", "sentence", "review", "content", "document", "input")
LABEL_COLUMNS = ("label", "labels", "sentiment", "class", "category", "target")
TOKEN_COLUMNS = ("tokens", "words")
TAG_COLUMNS = ("ner_tags", "tags", "labels", "ner")
SPAN_COLUMNS = ("entities", "spans", "ner")
PROMPT_COLUMNS = ("prompt", "instruction", "question", "input")
COMPLETION_COLUMNS = ("completion", "response", "answer", "output")


class TrainingFailed(PlaygroundError):
    """Training stopped with an error; the sentence says what happened."""


# -- reading and checking the data ------------------------------------------------------------------------

@dataclass
class Data:
    task: str
    columns: list[str] = field(default_factory=list)
    mapping: dict[str, str] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    preview: list[dict[str, Any]] = field(default_factory=list)
    label_counts: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # each a Message: the reader's language on the page

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.rows)

    def summary(self) -> Message:
        """"240 rows; labels: pos 120, ...", in the reader's language when rendered."""
        labels = ", ".join(f"{k} {v}" for k, v in sorted(self.label_counts.items(), key=lambda kv: -kv[1])[:12])
        if labels:
            return say("fine_tune.rows_labels", count=len(self.rows), labels=labels)
        return say("fine_tune.rows", count=len(self.rows))


def read_data(path: Any, task: str, mapping: dict[str, str] | None = None, *, min_rows: int = MIN_ROWS) -> Data:
    """The file read, its columns mapped and every row checked (see the module's docstring)."""
    if task not in TASKS:
        raise InvalidInput(say("training.tasks", tasks=", ".join(TASKS), task=str(task)[:40]), field="task")
    data = Data(task=task)
    records = _records(path, data)
    if records is None:
        return data
    data.columns = sorted({k for r in records for k in r}, key=lambda k: next(
        (i for i, r in enumerate(records) if k in r), 0))
    data.preview = [{k: _short(v) for k, v in r.items()} for r in records[:PREVIEW_ROWS]]
    data.mapping = _guess(task, data.columns) if not mapping else dict(mapping)
    missing = [role for role, column in data.mapping.items() if column not in data.columns]
    needed = _ROLES[task]
    if not any(set(option) <= set(data.mapping) for option in needed):
        found = ", ".join(data.columns)
        data.problems.append(say("training.columns", options=" or ".join("+".join(option) for option in needed),
                                 options_zh=" 或 ".join("+".join(option) for option in needed),
                                 found=found or "none", found_zh=found or "无"))
        return data
    if missing:
        data.problems.append(say("training.mapping_column", column=data.mapping[missing[0]]))
        return data
    normalise = {"sentiment": _sentiment_row, "ner": _ner_row, "text-generation": _chat_row}[task]
    for number, record in enumerate(records, start=1):
        try:
            row = normalise(record, data.mapping)
        except InvalidInput as e:
            said = e.args[0] if e.args and isinstance(e.args[0], Message) else str(e)
            data.problems.append(say("training.row", number=number, problem=said))
            continue
        data.rows.append(row)
        for label in _labels_of(task, row):
            data.label_counts[label] = data.label_counts.get(label, 0) + 1
    if len(records) < min_rows:
        data.problems.append(say("training.too_few_rows", count=len(records), minimum=min_rows))
    if task == "sentiment" and data.rows and len(data.label_counts) < 2:
        data.problems.append(say("training.one_label"))
    if len(data.label_counts) > MAX_LABELS:
        data.problems.append(say("training.too_many_labels", count=len(data.label_counts), limit=MAX_LABELS))
    return data


_ROLES = {"sentiment": [("text", "label")], "ner": [("tokens", "tags"), ("text", "spans")],
          "text-generation": [("messages",), ("prompt", "completion")]}


def _records(path: Any, data: Data) -> list[dict[str, Any]] | None:
    path = Path(str(getattr(path, "name", path) or ""))
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        data.problems.append(say("training.format", suffix=suffix or "a file without an ending"))
        return None
    try:
        size = path.stat().st_size
    except OSError:
        data.problems.append(say("training.unreadable"))
        return None
    if size > MAX_FILE_BYTES:
        data.problems.append(say("training.too_big", size=size / 2**20, limit=MAX_FILE_BYTES // 2**20))
        return None
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        data.problems.append(say("training.not_utf8", byte=e.start + 1))
        return None
    try:
        if suffix in (".csv", ".tsv"):
            reader = csv.DictReader(io.StringIO(text), delimiter="\t" if suffix == ".tsv" else ",")
            records = [{k.strip(): v for k, v in row.items() if k is not None} for row in reader]
        elif suffix == ".jsonl":
            records = []
            for number, line in enumerate(text.splitlines(), start=1):
                if line.strip():
                    try:
                        records.append(json.loads(line))
                    except ValueError:
                        data.problems.append(say("training.line_not_json", number=number))
                        return None
        else:
            loaded = json.loads(text)
            records = loaded.get("data", loaded.get("rows")) if isinstance(loaded, dict) else loaded
    except (ValueError, csv.Error) as e:
        data.problems.append(say("training.not_parsable", format=suffix[1:].upper(), detail=str(e)[:80]))
        return None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        data.problems.append(say("training.not_rows"))
        return None
    if len(records) > MAX_ROWS:
        data.problems.append(say("training.too_many_rows", count=len(records), limit=MAX_ROWS))
        return None
    return records


def _guess(task: str, columns: list[str]) -> dict[str, str]:
    lower = {c.lower(): c for c in columns}

    def pick(names: tuple[str, ...], taken: set[str] = frozenset()) -> str | None:  # type: ignore[assignment]
        return next((lower[n] for n in names if n in lower and lower[n] not in taken), None)

    found: dict[str, str | None] = {}
    if task == "sentiment":
        found = {"text": pick(TEXT_COLUMNS)}
        found["label"] = pick(LABEL_COLUMNS, {found["text"]})
    elif task == "ner":
        tokens = pick(TOKEN_COLUMNS)
        if tokens:
            found = {"tokens": tokens, "tags": pick(TAG_COLUMNS, {tokens})}
        else:
            found = {"text": pick(TEXT_COLUMNS)}
            found["spans"] = pick(SPAN_COLUMNS, {found["text"]})
    else:
        messages = lower.get("messages") or lower.get("conversation")
        if messages:
            found = {"messages": messages}
        else:
            found = {"prompt": pick(PROMPT_COLUMNS)}
            found["completion"] = pick(COMPLETION_COLUMNS, {found["prompt"]})
    return {role: column for role, column in found.items() if column}


def _short(value: Any) -> Any:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 120 else text[:119] + "…"


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(say("training.field_not_text" if value is not None else "training.field_missing", what=what))
    if not value.strip():
        raise InvalidInput(say("training.field_empty", what=what))
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidInput(say("training.field_too_long", what=what, length=len(value), limit=MAX_TEXT_CHARS))
    return value


def _label(value: Any) -> str:
    if isinstance(value, bool) or value is None or (isinstance(value, str) and not value.strip()):
        raise InvalidInput(say("training.no_label"))
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, (str, int)):
        raise InvalidInput(say("training.label_type"))
    return str(value).strip()


def _sentiment_row(record: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    return {"text": _text(record.get(mapping["text"]), "text"), "label": _label(record.get(mapping["label"]))}


def _listed(value: Any, what: str) -> list[Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            value = value.split()
    if not isinstance(value, list):
        raise InvalidInput(say("training.not_a_list", what=what))
    return value


def _ner_row(record: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    if "tokens" in mapping:
        tokens = _listed(record.get(mapping["tokens"]), "tokens")
        tags = _listed(record.get(mapping["tags"]), "tags")
        if not tokens:
            raise InvalidInput(say("training.no_tokens"))
        if len(tokens) != len(tags):
            raise InvalidInput(say("training.tag_count", tokens=len(tokens), tags=len(tags)))
        text, spans = "", []
        for token, tag in zip(tokens, tags):
            token = str(token)
            tag = str(tag).strip()
            start = len(text) + (1 if text else 0)
            text = f"{text} {token}" if text else token
            if tag in ("O", "0", ""):
                continue
            kind, _, name = tag.partition("-") if "-" in tag else ("B", "", tag)
            if kind not in ("B", "I", "E", "S") or not name:
                raise InvalidInput(say("training.bad_tag", tag=tag))
            if kind in ("I", "E") and spans and spans[-1]["label"] == name and spans[-1]["end"] == start - 1:
                spans[-1]["end"] = start + len(token)
            else:
                spans.append({"start": start, "end": start + len(token), "label": name})
        return {"text": text, "spans": spans}
    text = _text(record.get(mapping["text"]), "text")
    spans = []
    for span in _listed(record.get(mapping["spans"]), "entities"):
        if not isinstance(span, dict):
            raise InvalidInput(say("training.entity_type"))
        start, end = span.get("start"), span.get("end")
        label = span.get("label", span.get("entity", span.get("type")))
        if not (isinstance(start, int) and isinstance(end, int) and 0 <= start < end <= len(text)):
            raise InvalidInput(say("training.entity_offsets", start=start, end=end, length=len(text)))
        spans.append({"start": start, "end": end, "label": _label(label)})
    spans.sort(key=lambda s: s["start"])
    if any(a["end"] > b["start"] for a, b in zip(spans, spans[1:])):
        raise InvalidInput(say("training.entities_overlap"))
    return {"text": text, "spans": spans}


def _chat_row(record: dict[str, Any], mapping: dict[str, str]) -> dict[str, Any]:
    if "messages" in mapping:
        messages = _listed(record.get(mapping["messages"]), "messages")
        out = []
        for message in messages:
            if not isinstance(message, dict) or message.get("role") not in ("system", "user", "assistant"):
                raise InvalidInput(say("training.message_type"))
            out.append({"role": message["role"], "content": _text(message.get("content"), "message")})
        if not any(m["role"] == "assistant" for m in out):
            raise InvalidInput(say("training.no_assistant"))
        return {"messages": out}
    return {"messages": [{"role": "user", "content": _text(record.get(mapping["prompt"]), "prompt")},
                         {"role": "assistant", "content": _text(record.get(mapping["completion"]), "completion")}]}


def _labels_of(task: str, row: dict[str, Any]) -> list[str]:
    if task == "sentiment":
        return [row["label"]]
    if task == "ner":
        return [s["label"] for s in row["spans"]]
    return []


def check_eval(train: Data, evaluation: Data) -> None:
    """Problems of an evaluation file against its training file: labels the training never saw."""
    if train.task == "sentiment":
        unseen = sorted(set(evaluation.label_counts) - set(train.label_counts))
        if unseen:
            evaluation.problems.append(say("training.eval_labels", labels=", ".join(unseen[:5])))


def split(rows: list[dict[str, Any]], fraction: float, seed: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A held-out share of the rows (at least one, and at least one left to train on), drawn with the seed."""
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    held = min(len(rows) - 1, max(1, round(len(rows) * fraction)))
    return [rows[i] for i in order[held:]], [rows[i] for i in order[:held]]


# -- what to train -------------------------------------------------------------------------------------------

@dataclass
class Settings:
    task: str
    base_model: str  # a local folder (or a Hub id the worker may download)
    method: str = "full"  # or "lora"
    epochs: float = 3.0
    learning_rate: float = 5e-5
    batch_size: int = 16
    seed: int = 0
    eval_fraction: float = 0.2
    lora_rank: int = 8
    lora_alpha: int = 16
    lora_target_modules: list[str] = field(default_factory=list)  # empty: PEFT's default for the architecture
    max_length: int = 256
    max_seconds: float = 3600.0
    threads: int = 1
    allow_pickle: bool = False

    def check(self) -> "Settings":
        if self.task not in TASKS:
            raise InvalidInput(say("training.tasks", tasks=", ".join(TASKS), task=self.task), field="task")
        if self.method not in ("full", "lora"):
            raise InvalidInput(say("training.method", value=str(self.method)[:20]), field="method")
        for name, low, high in (("epochs", 0.01, 100), ("learning_rate", 1e-7, 1.0), ("batch_size", 1, 512),
                                ("lora_rank", 1, 256), ("lora_alpha", 1, 1024), ("seed", 0, 2**32 - 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not low <= value <= high:
                raise InvalidInput(say("training.number_range", name=name, low=low, high=high, value=value), field=name)
        for name in ("batch_size", "lora_rank", "lora_alpha", "seed"):
            if getattr(self, name) != int(getattr(self, name)):
                raise InvalidInput(say("param.not_whole", name=name, value=getattr(self, name)), field=name)
        return self


# -- the job -------------------------------------------------------------------------------------------------

def said_as_data(said: BaseException | str, field: str = "error") -> dict[str, Any]:
    """A failure (or a note) as the worker reports it (JSON): {field: its sentence}, with the sentence's key and
    values when it was written with one (models/messages.py), so the app renders it in the reader's language."""
    out: dict[str, Any] = {field: str(said)}
    message = (said.args[0] if said.args else None) if isinstance(said, BaseException) else said
    if isinstance(message, Message):
        try:
            json.dumps(message.values)
        except (TypeError, ValueError):
            return out
        out.update(key=message.key, values=message.values)
    return out


def said_again(data: dict[str, Any], field: str = "error") -> str:
    """The sentence said_as_data wrote: a Message again where it came with a key, else its text."""
    key, values = data.get("key"), data.get("values")
    if key in MESSAGES and isinstance(values, dict):
        try:
            return say(key, **values)
        except (KeyError, IndexError, TypeError, ValueError):
            pass
    return str(data[field])


class Job:
    """One training in a worker process (`python -m models.training_worker JOB.json`: a fresh interpreter, so
    nothing of the app is imported again or shared); its progress comes back as JSON lines on its standard
    output, Stop is a file it looks for at each step. `run()` streams the progress, `stop()` ends it early."""

    def __init__(self, settings: Settings, train: list[dict[str, Any]], eval_rows: list[dict[str, Any]] | None,
                 out_dir: str | Path) -> None:
        self.settings = settings.check()
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.stop_file = self.out_dir / ".stop"
        self.stop_file.unlink(missing_ok=True)  # a stop left by an earlier job in this folder
        self.finished = False
        self.job_file = self.out_dir / ".job.json"
        self.job_file.write_text(json.dumps({"settings": asdict(self.settings), "train": train, "eval": eval_rows,
                                             "out_dir": str(self.out_dir), "stop_file": str(self.stop_file)}),
                                 encoding="utf-8")

    def stop(self) -> None:
        if not self.finished:  # (a stop asked after the end leaves nothing behind)
            self.stop_file.touch()

    def run(self, stop: Any = None) -> Iterator[dict[str, Any]]:
        """The progress; `stop` (an Event, optional) is looked at twice a second, as stop() would be called."""
        import os
        import subprocess
        import sys
        import threading

        root = Path(__file__).resolve().parents[1]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
               "TOKENIZERS_PARALLELISM": "false"}
        process = subprocess.Popen([sys.executable, "-m", "models.training_worker", str(self.job_file)], cwd=root,
                                   env=env, stdout=subprocess.PIPE, text=True, encoding="utf-8")
        lines: queue_module.Queue = queue_module.Queue()

        def pump() -> None:
            for line in process.stdout:  # type: ignore[union-attr]
                lines.put(line)
            lines.put(None)

        threading.Thread(target=pump, daemon=True, name="fine-tune-output").start()
        deadline = time.monotonic() + self.settings.max_seconds
        try:
            while True:
                if time.monotonic() > deadline or (stop is not None and stop.is_set()):
                    self.stop()  # the time limit (or Stop): stop at the next step, keep what was learned
                if time.monotonic() > deadline + GRACE_SECONDS:  # still loading or evaluating: ended
                    process.kill()
                    raise TrainingFailed(say("training.time_limit", seconds=self.settings.max_seconds))
                try:
                    line = lines.get(timeout=0.5)
                except queue_module.Empty:
                    continue
                if line is None:
                    process.wait(timeout=30)
                    raise TrainingFailed(say("training.ended"))
                if not line.startswith(MARK):
                    continue  # a library's own print (the Trainer prints its metrics)
                message = json.loads(line[len(MARK):])
                if "error" in message:
                    raise TrainingFailed(said_again(message))
                if "notes" in message:  # Messages again (str: the English, for programs), rendered by the page
                    message["notes"] = [said_again(note, "note") for note in message["notes"]]
                yield message
                if message.get("done"):
                    return
        finally:
            self.stop()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            self.finished = True
            self.job_file.unlink(missing_ok=True)
            self.stop_file.unlink(missing_ok=True)
