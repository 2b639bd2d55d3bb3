"""The Fine-tune tab and /fine_tune: a person's data checked (a preview, the column mapping, label counts,
every problem with its row) before anything runs, then the transformers Trainer in a worker process
(models/training.py), one training at a time per server (the next waits and is told its place), a live
loss curve and metrics, Stop that keeps what was learned, and the result in every picker at once (the
task's tab and its Compare), as a zip, or pushed to the Hub."""
from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from models import InvalidInput, PlaygroundError
from models.base import ModelSpec
from models.messages import CHINESE, ENGLISH, Joined, render, say
from models.training import CURVE_COLOURS, FORMATS, TASKS

from .common import Context, sentence_of, session_of
from .language import language_of
from .words import TASK_TITLES, text, translated, word

STOPS = "fine-tune"  # the stop flags' task key
MAX_WAITING = 4  # trainings that may wait for their turn (each holds a worker thread while it waits)
TASK_CHOICES = [("Sentiment (text classification)", "sentiment"), ("Named entities", "ner"),
                ("Chat (text generation, LoRA)", "text-generation")]
EXAMPLES = {"sentiment": "datasets/sentiment.csv", "ner": "datasets/ner.jsonl", "text-generation": "datasets/chat.jsonl"}
FORMAT_HELP = {
    "sentiment": "CSV, TSV, JSONL or JSON with a text column and a label column (any labels).",
    "ner": "JSONL or JSON with `text` and `entities` ([{start, end, label}], character offsets), or `tokens` "
           "and `tags` (BIO: B-PER, I-PER, O).",
    "text-generation": "JSONL or JSON with `messages` (OpenAI's format), or `prompt` and `completion` columns.",
}


# what the worker says it is doing (models/training_worker.py), as the progress line says it
PHASES = {"starting": "fine_tune.starting", "loading the base model": "fine_tune.loading",
          "evaluating the base model": "fine_tune.evaluating", "training": "fine_tune.training",
          "saving": "fine_tune.saving"}


def format_help(key: str) -> Any:
    """What the training file of a task holds, in the reader's language."""
    return translated(FORMAT_HELP.get(key, ""), f"fine.format.{key}")


class TrainingLine:
    """One training at a time per server; those who wait know their place (1: next)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: deque[object] = deque()
        self._running: object | None = None

    def join(self, max_waiting: int) -> object:
        """A place in the line, or a sentence when `max_waiting` already wait."""
        ticket = object()
        with self._lock:
            if len(self._waiting) >= max_waiting:
                raise InvalidInput(say("fine_tune.line_full", count=len(self._waiting)))
            self._waiting.append(ticket)
        return ticket

    def place(self, ticket: object) -> int:
        """0 once its turn has come (the line moves on by this call), else its place: 1 is next."""
        with self._lock:
            if self._running is ticket:
                return 0
            if self._running is None and self._waiting and self._waiting[0] is ticket:
                self._waiting.popleft()
                self._running = ticket
                return 0
            return self._waiting.index(ticket) + (1 if self._running is not None else 0)

    def leave(self, ticket: object) -> None:
        with self._lock:
            if self._running is ticket:
                self._running = None
            elif ticket in self._waiting:
                self._waiting.remove(ticket)


def trained_dir(ctx: Context) -> Path:
    return Path(ctx.settings.data_dir).expanduser() / "fine-tuned"


def publish(ctx: Context, task: str, folder: str, label: str) -> None:
    """The model in every picker of its task (the tab's, its Compare's) from the next page load or pick."""
    catalog = ctx.catalog.with_model(ModelSpec(task=task, model_id=folder, label=label))
    ctx.catalog = catalog
    ctx.manager.catalog = catalog


def publish_earlier(ctx: Context) -> None:
    """Models fine-tuned before this start, kept in the data folder, join the pickers again."""
    import json

    folder = trained_dir(ctx)
    for card in sorted(folder.glob("*/training.json")) if folder.is_dir() else []:
        try:
            task = json.loads(card.read_text(encoding="utf-8"))["settings"]["task"]
        except (OSError, ValueError, KeyError, TypeError):
            continue
        publish(ctx, task, str(card.parent), f"{card.parent.name} (fine-tuned)")


def parse_mapping(text: Any) -> dict[str, str] | None:
    """"text=review, label=stars" -> {"text": "review", "label": "stars"}; empty: guess."""
    if not isinstance(text, str) or not text.strip():
        return None
    out = {}
    for part in re.split(r"[,\n]", text):
        if part.strip():
            role, sep, column = part.partition("=")
            if not sep or not role.strip() or not column.strip():
                raise InvalidInput(say("fine_tune.mapping", part=part.strip()[:40]), field="mapping")
            out[role.strip()] = column.strip()
    return out


def mapping_text(mapping: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in mapping.items())


def as_path(file: Any) -> str | None:
    if file is None:
        return None
    if isinstance(file, dict):
        return file.get("path")
    return str(getattr(file, "name", file))


def read(ctx: Context, task: str, train_file: Any, eval_file: Any, mapping: Any) -> tuple[Any, Any]:
    """Both files read and checked (models/training.py); an evaluation file also against the training one."""
    from models.training import check_eval, read_data

    path = as_path(train_file)
    if not path:
        raise InvalidInput(say("fine_tune.no_file"), field="train_file")
    train = read_data(path, task, parse_mapping(mapping))
    evaluation = None
    if as_path(eval_file):
        evaluation = read_data(as_path(eval_file), task, parse_mapping(mapping), min_rows=1)
        check_eval(train, evaluation)
    return train, evaluation


def problems_of(train: Any, evaluation: Any) -> list[str]:
    """Both files' problems, each a Message (models/training.py): render(p, language) says it in a language."""
    return [*train.problems,
            *[say("fine_tune.evaluation", said=p) for p in (evaluation.problems if evaluation else [])]]


def run_training(ctx: Context, task: str, base_model: Any, train_file: Any, eval_file: Any, method: str,
                 epochs: Any, learning_rate: Any, batch_size: Any, seed: Any, lora_rank: Any, lora_alpha: Any,
                 lora_target_modules: Any, mapping: Any, session: str) -> Iterator[dict[str, Any]]:
    """Check, wait for the turn, train; progress dicts, and last the result (see /fine_tune)."""
    from models.training import Job, Settings

    if not ctx.settings.allow_training:
        raise InvalidInput(say("fine_tune.off"))
    if task not in TASKS:
        raise InvalidInput(say("fine_tune.task", task=str(task)[:40]), field="task")
    spec = ctx.manager.spec(task, base_model or None)  # a model outside a hosted catalog: its sentence
    targets = [t.strip() for t in str(lora_target_modules or "").replace(",", " ").split() if t.strip()]
    settings = Settings(task=task, base_model=spec.model_id, method=str(method or "full"), epochs=epochs,
                        learning_rate=learning_rate, batch_size=batch_size, seed=0 if seed in (None, "") else seed,
                        lora_rank=lora_rank, lora_alpha=lora_alpha, lora_target_modules=targets,
                        max_seconds=ctx.settings.training_seconds, threads=max(1, (os.cpu_count() or 2) // 2),
                        allow_pickle=ctx.manager.allow_pickle).check()
    train, evaluation = read(ctx, task, train_file, eval_file, mapping)
    problems = problems_of(train, evaluation)
    if problems:
        more = [say("fine_tune.more_problems", count=len(problems) - 3)] if len(problems) > 3 else []
        raise InvalidInput(Joined([*problems[:3], *more], "sentences"), field="train_file")
    line: TrainingLine = ctx.training_line
    ticket = line.join(MAX_WAITING)
    stop = ctx.stops.start(session, STOPS)
    try:
        while (place := line.place(ticket)) > 0:
            if stop.is_set():
                yield {"phase": "stopped while waiting", "step": 0, "done": True, "stopped": True, "model": None}
                return
            yield {"phase": "waiting", "place": place, "step": 0}
            time.sleep(1.0)
        name = f"{task}-{re.sub(r'[^A-Za-z0-9._-]+', '-', Path(spec.model_id).name)[:40]}-{time.strftime('%Y%m%d-%H%M%S')}"
        out_dir = trained_dir(ctx) / name
        out_dir.mkdir(parents=True, exist_ok=True)
        job = Job(settings, train.rows, evaluation.rows if evaluation else None, out_dir)
        for message in job.run(stop):
            if message.get("done"):
                shutil.rmtree(out_dir / ".checkpoints", ignore_errors=True)
                publish(ctx, task, str(out_dir), f"{name} (fine-tuned)")
                message = {**message, "model": str(out_dir), "data": train.summary()}
            yield message
    finally:
        line.leave(ticket)
        ctx.stops.finish(session, STOPS, stop)


# -- the tab ---------------------------------------------------------------------------------------------

def curve_frame(curve: list[dict[str, Any]]) -> Any:
    import pandas as pd

    frame = pd.DataFrame([p for p in curve or [] if p.get("loss") is not None], columns=["step", "loss", "split"])
    return frame.astype({"step": "int64", "loss": "float64", "split": "object"})  # numbers, so the axes are scales


def plotted(curve: list[dict[str, Any]], language: str = ENGLISH) -> Any:
    """The loss curve as it stands, captioned with its last step (a new caption redraws the chart whole)."""
    last = max((p["step"] for p in curve), default=0)
    return gr.LinePlot(curve_frame(curve), visible=bool(curve),
                       caption=say("fine_tune.caption", step=last).render(language))


def progress_line(message: dict[str, Any], language: str = ENGLISH) -> str:
    if message.get("phase") == "waiting":
        return say("fine_tune.waiting", place=message["place"]).render(language)
    if message.get("done"):
        return say("fine_tune.stopped" if message.get("stopped") else "fine_tune.done").render(language)
    if message.get("max_steps"):
        eta = message.get("eta_seconds")
        parts = [say("fine_tune.step", step=message["step"], max_steps=message["max_steps"],
                     epoch=message.get("epoch", 0))]
        parts += [say("fine_tune.eta", seconds=eta)] if eta is not None else []
        parts += [say("fine_tune.loss", loss=message["loss"])] if message.get("loss") is not None else []
        return " · ".join(p.render(language) for p in parts)
    phase = str(message.get("phase", "starting"))
    return say(PHASES[phase]).render(language) if phase in PHASES else f"{phase.capitalize()}…"


def metric_name(name: str, language: str = ENGLISH) -> str:
    return text(f"fine.metric.{name}", language, default=name.replace("_", " "))


def metrics_text(metrics: dict[str, Any], language: str = ENGLISH) -> str:
    """The worker's metrics (its timings already left out) in words."""
    return " · ".join(f"{metric_name(k, language)} {v:.4g}" for k, v in (metrics or {}).items())


def build(ctx: Context) -> None:
    ctx.training_line = TrainingLine()
    publish_earlier(ctx)
    examples = Path(ctx.settings.examples_dir)
    gr.Markdown(word("fine.heading"), elem_classes=["task-intro"])
    with gr.Row(equal_height=False):
        with gr.Column():
            task = gr.Radio([(translated(shown, f"fine.task.{key}"), key) for shown, key in TASK_CHOICES], value="sentiment",
                            label=word("fine.task"))
            base = gr.Dropdown(choices=[(s.name, s.model_id) for s in ctx.catalog.models("sentiment") if not s.endpoint],
                               value=ctx.catalog.default("sentiment"), label=word("fine.base"), allow_custom_value=True,
                               info=word("fine.base.info"))
            train_file = gr.File(label=word("fine.train_file"), file_types=list(FORMATS),
                                 type="filepath")
            help_text = gr.Markdown(format_help("sentiment"))
            example = gr.Button(word("fine.example"), size="sm")
            with gr.Accordion(word("fine.eval.fold"), open=False):
                eval_file = gr.File(label=word("fine.eval_file"),
                                    file_types=list(FORMATS), type="filepath")
                mapping = gr.Textbox(label=word("fine.mapping"), placeholder="text=review, label=stars",
                                     info=word("fine.mapping.info"))
            with gr.Accordion(word("fine.settings"), open=False):
                method = gr.Radio([(word("fine.method.full"), "full"), (word("fine.method.lora"), "lora")], value="full",
                                  label=word("fine.method"))
                epochs = gr.Slider(1, 20, value=3, step=1, label=word("fine.epochs"))
                learning_rate = gr.Number(5e-5, label=word("fine.learning_rate"), minimum=1e-7, maximum=1.0)
                batch_size = gr.Slider(1, 64, value=16, step=1, label=word("fine.batch_size"))
                seed = gr.Number(0, label=word("fine.seed"), precision=0, minimum=0)
                lora_rank = gr.Slider(1, 64, value=8, step=1, label=word("fine.lora_rank"))
                lora_alpha = gr.Slider(1, 128, value=16, step=1, label=word("fine.lora_alpha"))
                lora_targets = gr.Textbox(label=word("fine.lora_targets"), placeholder=word("fine.lora_targets.placeholder"))
            with gr.Row():
                start = gr.Button(word("fine.train"), variant="primary")
                stop = gr.Button(word("stop"), variant="stop")
        with gr.Column():
            checked = gr.Markdown(elem_classes=["training-data"])
            preview = gr.Dataframe(label=word("fine.preview"), interactive=False, visible=False, wrap=True)
            state_line = gr.Markdown(elem_classes=["training-progress"])
            # hidden until a training reports; each update sets the caption, which makes the page draw the
            # chart anew (Gradio 6.31 takes the colours' domain when it draws: a series first seen in a later
            # update would have no stroke)
            curve = gr.LinePlot(curve_frame([]), x="step", y="loss", color="split", label=word("fine.loss"), height=260,
                                visible=False, color_map=CURVE_COLOURS, elem_classes=["loss-curve"])
            metrics = gr.Markdown(elem_classes=["training-metrics"])
            result = gr.Markdown(elem_classes=["training-result"])
            download = gr.File(label=word("fine.download"), visible=False, interactive=False)
            with gr.Accordion(word("fine.push.fold"), open=False):
                repo = gr.Textbox(label=word("fine.repo"), placeholder="your-name/your-model")
                token = gr.Textbox(label=word("fine.token"), type="password")
                push = gr.Button(word("fine.push"), size="sm")
                pushed = gr.Markdown()
    folder = gr.State(None)

    def pick_task(key: str) -> tuple[Any, str]:
        return (gr.update(choices=[(s.name, s.model_id) for s in ctx.catalog.models(key) if not s.endpoint],
                          value=ctx.catalog.default(key)), format_help(key))

    task.change(pick_task, [task], [base, help_text], queue=False, api_visibility="private")

    def use_example(key: str) -> str | None:
        path = examples / EXAMPLES[key]
        return str(path) if path.exists() else None

    example.click(use_example, [task], [train_file], queue=False, api_visibility="private")

    def check(key: str, file: Any, evaluation_file: Any, mapped: str, request: gr.Request = None) -> tuple[Any, ...]:
        language = language_of(request)
        if not as_path(file):
            return "", gr.Dataframe(visible=False), gr.skip()
        try:
            train, evaluation = read(ctx, key, file, evaluation_file, mapped)
        except PlaygroundError as e:
            return f"⚠ {sentence_of(e, language)}", gr.Dataframe(visible=False), gr.skip()
        problems = problems_of(train, evaluation)
        columns = mapping_text(train.mapping)
        lines = [say("fine_tune.columns", summary=train.summary(), columns=columns) if columns
                 else say("fine_tune.no_columns", summary=train.summary())]
        if evaluation is not None:
            lines.append(say("fine_tune.evaluation", said=evaluation.summary()))
        lines += [f"⚠ {render(p, language)}" for p in problems[:20]]
        lines += [say("fine_tune.more", count=len(problems) - 20)] if len(problems) > 20 else []
        if not problems:
            lines.append(say("fine_tune.ready"))
        lines = [render(line, language) for line in lines]
        import pandas as pd

        frame = pd.DataFrame(train.preview)
        return "\n\n".join(lines), gr.Dataframe(frame, visible=not frame.empty), mapping_text(train.mapping)

    gr.on([train_file.change, eval_file.change, mapping.submit, task.change], check,
          [task, train_file, eval_file, mapping], [checked, preview, mapping], api_visibility="private")

    def train_on_page(key: str, base_model: str, file: Any, evaluation_file: Any, how: str, n_epochs: float,
                      rate: float, batch: float, seed_value: float, rank: float, alpha: float, targets: str,
                      mapped: str, request: gr.Request) -> Iterator[tuple[Any, ...]]:
        language = language_of(request)
        curve_points: list[dict[str, Any]] = []
        per_epoch: list[str] = []
        yield say("fine_tune.checking").render(language), gr.skip(), "", "", gr.File(visible=False), None
        try:
            for message in run_training(ctx, key, base_model, file, evaluation_file, how, n_epochs, rate,
                                        int(batch), int(seed_value or 0), int(rank), int(alpha), targets, mapped,
                                        session_of(request)):
                if message.get("loss") is not None:
                    curve_points.append({"step": message["step"], "loss": message["loss"], "split": "train"})
                if message.get("eval"):
                    curve_points.append({"step": message["step"], "loss": message["eval"].get("loss"), "split": "eval"})
                    said = metrics_text(message["eval"], language)
                    per_epoch.append((say("fine_tune.epoch_metrics", epoch=f"{message['epoch']:.2g}", metrics=said)
                                      if message.get("epoch") else say("fine_tune.base_metrics", metrics=said))
                                     .render(language))
                if message.get("done") and message.get("model"):
                    # beside the model, in the data folder (made once; Gradio serves a copy)
                    archive = shutil.make_archive(message["model"], "zip", message["model"])
                    tab = [k for k, v in TASK_CHOICES if v == key][0].split(" (")[0]
                    words = (say("fine_tune.saved", model=message["model"], data=message.get("data", ""), tab=tab,
                                 tab_zh=TASK_TITLES[CHINESE].get(key, tab)).render(language)
                             + "".join(f"\n\n{render(n, language)}" for n in message.get("notes") or []))
                    final = say("fine_tune.final_metrics", metrics=metrics_text(message.get("metrics") or {}, language))
                    yield (progress_line(message, language),
                           plotted(message.get("loss_curve") or curve_points, language),
                           "\n\n".join(per_epoch + [final.render(language)]),
                           words, gr.File(archive, visible=True), message["model"])
                    return
                yield (progress_line(message, language), plotted(curve_points, language),
                       "\n\n".join(per_epoch), gr.skip(), gr.skip(), gr.skip())
        except Exception as e:  # noqa: BLE001 - one sentence, beside the curve
            yield f"⚠ {sentence_of(e, language)}", gr.skip(), gr.skip(), "", gr.skip(), gr.skip()

    inputs = [task, base, train_file, eval_file, method, epochs, learning_rate, batch_size, seed, lora_rank,
              lora_alpha, lora_targets, mapping]
    gr.on([start.click], train_on_page, inputs, [state_line, curve, metrics, result, download, folder],
          api_visibility="private", concurrency_id="fine-tune", concurrency_limit=MAX_WAITING + 1)

    def fine_tune_stop(request: gr.Request) -> None:
        """Stop this client's fine-tuning at the next step; what was learned so far is saved and usable."""
        ctx.stops.stop(session_of(request), STOPS)

    stop.click(fine_tune_stop, None, None, queue=False, api_name="fine_tune_stop")

    def push_to_hub(saved: str | None, repo_id: str, hub_token: str, request: gr.Request = None) -> str:
        language = language_of(request)
        if not saved:
            return f"⚠ {say('fine_tune.train_first').render(language)}"
        if not re.fullmatch(r"[\w.-]+/[\w.-]+", (repo_id or "").strip()):
            return f"⚠ {say('fine_tune.repo_name').render(language)}"
        try:
            from huggingface_hub import HfApi

            api = HfApi(token=(hub_token or "").strip() or None)
            api.create_repo(repo_id.strip(), exist_ok=True, private=True)
            api.upload_folder(folder_path=saved, repo_id=repo_id.strip(),
                              ignore_patterns=[".checkpoints/*"], commit_message="Fine-tuned in the Model Playground")
        except Exception as e:  # noqa: BLE001 - the Hub's refusal (no token, offline) in one sentence
            detail = (str(e).splitlines() or [""])[0][:200]
            return f"⚠ {say('fine_tune.push_refused', detail=detail).render(language)}"
        return say("fine_tune.pushed", repo=repo_id.strip()).render(language)

    push.click(push_to_hub, [folder, repo, token], [pushed], api_visibility="private")

    # for programs: the same run, its progress as objects
    def fine_tune(task: str, base_model: str | None, train_file: Any, eval_file: Any = None, method: str = "full",
                  epochs: float = 3, learning_rate: float = 5e-5, batch_size: int = 16, seed: int = 0,
                  lora_rank: int = 8, lora_alpha: int = 16, lora_target_modules: str = "",
                  request: gr.Request = None) -> Iterator[dict[str, Any]]:
        """Fine-tune a model on your data with the transformers Trainer; streams progress, ends with the model's id.

        Args:
            task: sentiment, ner or text-generation.
            base_model: The model to start from (the task's list; elsewhere a Hub id or folder where allowed); empty for the task's default.
            train_file: The training data: CSV, TSV, JSONL or JSON (text,label; text with entities or tokens with tags; messages or prompt,completion). At least 8 rows.
            eval_file: Optional evaluation data in the same shape; without it 20% of the training rows are held out.
            method: full or lora (LoRA with PEFT).
            epochs: Passes over the training data.
            learning_rate: The optimiser's learning rate.
            batch_size: Rows per step.
            seed: The seed for the split, the shuffling and the new weights.
            lora_rank: LoRA's rank.
            lora_alpha: LoRA's alpha.
            lora_target_modules: LoRA's target modules, separated by commas; empty for the architecture's default.
        """
        try:
            for message in run_training(ctx, task, base_model, train_file, eval_file, method, epochs, learning_rate,
                                        batch_size, seed, lora_rank, lora_alpha, lora_target_modules, None,
                                        session_of(request)):
                if message.get("done"):
                    yield {"model": message.get("model"), "metrics": message.get("metrics") or {},
                           "loss_curve": message.get("loss_curve") or [], "stopped": bool(message.get("stopped")),
                           "notes": message.get("notes") or []}
                    return
                yield {k: message.get(k) for k in ("phase", "place", "step", "max_steps", "epoch", "loss", "eval",
                                                   "eta_seconds") if message.get(k) is not None}
        except Exception as e:  # noqa: BLE001
            raise gr.Error(sentence_of(e, language_of(request))) from None

    gr.on([], fine_tune, [gr.Textbox(label="task", visible=False), gr.Textbox(label="base_model", visible=False),
                          gr.File(label="train_file", visible=False), gr.File(label="eval_file", visible=False),
                          gr.Textbox("full", label="method", visible=False), gr.Number(3, label="epochs", visible=False),
                          gr.Number(5e-5, label="learning_rate", visible=False),
                          gr.Number(16, label="batch_size", visible=False), gr.Number(0, label="seed", visible=False),
                          gr.Number(8, label="lora_rank", visible=False), gr.Number(16, label="lora_alpha", visible=False),
                          gr.Textbox("", label="lora_target_modules", visible=False)],
          [gr.JSON(label="progress", visible=False)], api_name="fine_tune", concurrency_id="fine-tune",
          concurrency_limit=MAX_WAITING + 1)
