"""17. Fine-tuning: what training through the app costs (issue 17 "Fine-tune").

The workload: sentiment fine-tuning of bert-4x256 (benchmarks/models.py: a random 4-layer BERT, hidden
256, whose NEGATIVE/POSITIVE head fits the data as it is) on the tests' sentiment templates
(tests.builders.text.sentiment_sentences): 320 training rows and 80 evaluation rows (seed 3), 2 epochs,
batch 16, learning rate 5e-4, seed 0: 40 steps, an evaluation after each epoch.

1. Throughput. The app's path: `models.training.Job(...).run()` (a `python -m models.training_worker`
   process with the Trainer, its progress read from the pipe) with `threads` as components/fine_tune.py
   sets it, max(1, cpu_count // 2). Against it, the same Trainer called directly in a plain process of
   its own (`python -m benchmarks.bench_training direct SPEC.json`: transformers' AutoTokenizer,
   AutoModelForSequenceClassification, DataCollatorWithPadding, a numpy compute_metrics, and the
   TrainingArguments copied from models/training_worker.py: eval each epoch, logging every
   steps_per_epoch // 10 steps, no saving, seed and data_seed, no warm-up, linear schedule), once on
   the same number of threads (the goal's baseline: the same work) and once on torch's default (what
   the app's thread cap costs). Both evaluate the base model before training, as the worker does, and
   save the model after. Training seconds are taken in this process from the phase lines each process
   prints (the worker's "training" to "saving" progress: `trainer.train()` with its per-epoch
   evaluations); samples/s = 320 rows x 2 epochs / those seconds. Also reported: the whole wall time
   from process start to exit and its parts (start and imports, loading and encoding, the base
   model's evaluation, training, saving: the worker also writes a model card and a PNG with
   matplotlib, the process's exit), and the worker's own `seconds` (its done message: the Trainer made
   to the card written). Full mode: 3 interleaved rounds, order rotated, medians; --quick: 1 round.
2. Peak memory: the RSS of the training process (the worker; the direct process), sampled with psutil
   every 0.1 s from this process, and the RSS when training starts (model loaded, base evaluated).
3. Responsiveness: p50 and p90 of /sentiment on the tiny sentiment model (REST SSE, one keep-alive
   connection, a 0.1 s pause between calls, as one person clicking) on a fresh `benchmarks.serve` that
   serves only that model, while a Job trains (from its "training" to its "saving" line) with the
   app's `threads`, and with threads=2, against the same calls with nothing training (before, between
   and after: 40 calls each time). The server runs torch on its default threads. One training each;
   --quick only the app's threads.

Every process gets benchmarks/common.py's environment (GOMP_SPINCOUNT=1000, offline Hub) and
TOKENIZERS_PARALLELISM=false, as Job sets it. Each run trains into a fresh folder (a folder a Job has
finished in holds a `.stop` file that stops the next Job there at its first step).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

from . import common, models
from .context import Context, row

N_TRAIN, N_EVAL, EPOCHS, BATCH, LEARNING_RATE, SEED, DATA_SEED = 320, 80, 2, 16, 5e-4, 0, 3
LABELS = {0: "NEGATIVE", 1: "POSITIVE"}  # bert-4x256's head: it fits, no new head
GOAL = 0.90  # the app's training throughput at least 90% of the direct Trainer's (issue 17)
TEXT = "I really like this film."
PHASE = "@phase "  # the direct process's phase lines, as the worker's progress phases
RESULT = "@result "
PAUSE = 0.1  # between /sentiment calls


def data() -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    from tests.builders.text import sentiment_sentences

    rows = [{"text": t, "label": LABELS[y]} for t, y in sentiment_sentences(random.Random(DATA_SEED), N_TRAIN + N_EVAL)]
    return rows[:N_TRAIN], rows[N_TRAIN:]


def app_threads() -> int:
    return max(1, (os.cpu_count() or 2) // 2)  # as components/fine_tune.py run_training sets Settings.threads


class Rss:
    """Samples one process's RSS (MB) every 0.1 s; `find` gives its pid (None until it exists)."""

    def __init__(self, find: Callable[[], int | None]) -> None:
        self.find, self.samples, self.done = find, [], threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True, name="rss")
        self.thread.start()

    def _run(self) -> None:
        import psutil

        process = None
        while not self.done.is_set():
            try:
                if process is None:
                    pid = self.find()
                    process = psutil.Process(pid) if pid else None
                if process is not None:
                    self.samples.append((time.perf_counter(), process.memory_info().rss / 2**20))
            except psutil.Error:
                process = None
            self.done.wait(0.1)

    def stop(self) -> None:
        self.done.set()
        self.thread.join()

    def peak(self, start: float = 0.0, end: float = float("inf")) -> float | None:
        return max((mb for t, mb in self.samples if start <= t <= end), default=None)

    def at(self, t: float) -> float | None:
        """The last sample taken before perf_counter time t."""
        return next((mb for s, mb in reversed(self.samples) if s <= t), None)


def worker_pid() -> int | None:
    import psutil

    for child in psutil.Process().children():
        try:
            if "models.training_worker" in child.cmdline():
                return child.pid
        except psutil.Error:
            continue
    return None


def summary(kind: str, threads: int, start: float, phases: dict[str, float], rss: Rss,
            done: dict[str, Any]) -> dict[str, Any]:
    """Seconds since `start` of each phase, and what they make."""
    at = {k: v - start for k, v in phases.items()}
    peak_t = max(rss.samples, key=lambda s: s[1])[0] if rss.samples else None
    before = [(v, k) for k, v in phases.items() if peak_t is not None and v <= peak_t]
    peak_phase = {"done": "exit"}.get(max(before)[1], max(before)[1]) if before else "start"  # where RSS peaked
    train_s = at["saving"] - at["training"]
    return {"kind": kind, "threads": threads, "train_s": train_s, "samples_per_s": N_TRAIN * EPOCHS / train_s,
            "wall_s": at["exit"], "start_s": at["loading"], "load_s": at["evaluating"] - at["loading"],
            "base_eval_s": at["training"] - at["evaluating"], "save_s": at["done"] - at["saving"],
            "exit_s": at["exit"] - at["done"], "peak_rss_mb": rss.peak(),
            "training_peak_rss_mb": rss.peak(phases["training"], phases["saving"]),
            "rss_at_training_mb": rss.at(phases["training"]), "peak_phase": peak_phase,
            "own_seconds": done.get("seconds"), "metrics": done.get("metrics"), "steps": done.get("step"),
            "stopped": done.get("stopped"), "torch_threads": done.get("torch_threads")}


def app_run(workdir: Path, threads: int, during: Callable[[dict[str, float]], Any] | None = None) -> dict[str, Any]:
    """One Job, as /fine_tune runs it. `during(phases)`, if given, runs on this thread while the Job runs
    on another (it watches phases for "training" and "saving")."""
    from models.training import Job, Settings

    train, evaluation = data()
    out = workdir / f"train-app-{uuid.uuid4().hex[:6]}"
    settings = Settings(task="sentiment", base_model=models.bert(), epochs=EPOCHS, learning_rate=LEARNING_RATE,
                        batch_size=BATCH, seed=SEED, threads=threads)
    names = {"loading the base model": "loading", "evaluating the base model": "evaluating", "training": "training",
             "saving": "saving"}
    phases: dict[str, float] = {}
    done: dict[str, Any] = {}
    rss = Rss(worker_pid)
    start = time.perf_counter()
    job = Job(settings, train, evaluation, out)

    def consume() -> None:
        for message in job.run():
            now = time.perf_counter()
            if message.get("phase") in names:
                phases.setdefault(names[message["phase"]], now)
            if message.get("done"):
                phases["done"] = now
                done.update(message)
        phases["exit"] = time.perf_counter()

    try:
        if during is None:
            consume()
            extra = None
        else:
            errors: list[BaseException] = []
            thread = threading.Thread(target=lambda: _catch(consume, errors), daemon=True, name="job")
            thread.start()
            extra = during(phases)
            thread.join()
            if errors:
                raise errors[0]
    finally:
        rss.stop()
        shutil.rmtree(out, ignore_errors=True)
    result = summary("app", threads, start, phases, rss, done)
    if extra is not None:
        result["during"] = extra
    return result


def _catch(fn: Callable[[], None], errors: list[BaseException]) -> None:
    try:
        fn()
    except BaseException as e:  # noqa: BLE001 - handed to the caller's thread
        errors.append(e)


def direct_run(workdir: Path, threads: int | None) -> dict[str, Any]:
    """The same training in `python -m benchmarks.bench_training direct SPEC.json` (threads None: torch's
    default)."""
    train, evaluation = data()
    out = workdir / f"train-direct-{uuid.uuid4().hex[:6]}"
    out.mkdir(parents=True)
    spec = out / "spec.json"
    spec.write_text(json.dumps({"model": models.bert(), "train": train, "eval": evaluation, "out": str(out),
                                "threads": threads}), encoding="utf-8")
    env = common.merged_env({"TOKENIZERS_PARALLELISM": "false"})
    phases: dict[str, float] = {}
    done: dict[str, Any] = {}
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.bench_training", "direct", str(spec)], cwd=common.ROOT,
                            env=env, stdout=subprocess.PIPE, text=True, encoding="utf-8", start_new_session=True)
    rss = Rss(lambda: proc.pid)
    try:
        for line in proc.stdout:  # type: ignore[union-attr]
            now = time.perf_counter()
            if line.startswith(PHASE):
                phases.setdefault(line[len(PHASE):].strip(), now)
            elif line.startswith(RESULT):
                phases["done"] = now
                done = json.loads(line[len(RESULT):])
        proc.wait(timeout=60)
        phases["exit"] = time.perf_counter()
    finally:
        rss.stop()
        common.stop_process(proc)
        shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0 or not done:
        raise RuntimeError(f"the direct training failed (exit {proc.returncode})")
    return summary("direct", done["torch_threads"], start, phases, rss, done)


def direct(spec_file: str) -> None:
    """The direct baseline, in its own process: the Trainer as a person would call it, with the worker's
    TrainingArguments. Prints PHASE lines as the worker reports its phases, then RESULT {json}."""
    import math

    import numpy as np
    import torch
    import transformers
    from transformers import (AutoModelForSequenceClassification, AutoTokenizer, DataCollatorWithPadding, Trainer,
                              TrainingArguments)

    def phase(name: str) -> None:
        print(PHASE + name, flush=True)

    spec = json.loads(Path(spec_file).read_text(encoding="utf-8"))
    if spec["threads"]:
        torch.set_num_threads(spec["threads"])
    transformers.set_seed(SEED)
    transformers.logging.set_verbosity_error()
    phase("loading")
    tokenizer = AutoTokenizer.from_pretrained(spec["model"])
    model = AutoModelForSequenceClassification.from_pretrained(spec["model"])
    index = {label: int(i) for i, label in model.config.id2label.items()}

    def encode(rows: list[dict[str, str]]) -> list[dict[str, Any]]:
        enc = tokenizer([r["text"] for r in rows], truncation=True, max_length=256)
        return [{**{k: enc[k][i] for k in enc}, "labels": index[r["label"]]} for i, r in enumerate(rows)]

    def metrics(prediction: Any) -> dict[str, float]:
        logits, gold = prediction
        guess = logits.argmax(-1)
        f1 = [2 * ((guess == c) & (gold == c)).sum() / max(1, (guess == c).sum() + (gold == c).sum())
              for c in np.union1d(guess, gold)]
        return {"accuracy": float((guess == gold).mean()), "macro_f1": float(np.mean(f1))}

    train_set, eval_set = encode(spec["train"]), encode(spec["eval"])
    out = Path(spec["out"])
    started = time.perf_counter()
    steps_per_epoch = math.ceil(len(train_set) / BATCH)
    args = TrainingArguments(
        output_dir=str(out / ".checkpoints"), num_train_epochs=EPOCHS, learning_rate=LEARNING_RATE,
        per_device_train_batch_size=BATCH, per_device_eval_batch_size=BATCH, eval_strategy="epoch",
        save_strategy="no", logging_strategy="steps", logging_steps=max(1, steps_per_epoch // 10), report_to=[],
        seed=SEED, data_seed=SEED, disable_tqdm=True, use_cpu=not torch.cuda.is_available(),
        dataloader_num_workers=0, remove_unused_columns=False, warmup_steps=0, lr_scheduler_type="linear")
    trainer = Trainer(model=model, args=args, train_dataset=train_set, eval_dataset=eval_set,
                      data_collator=DataCollatorWithPadding(tokenizer), compute_metrics=metrics)
    phase("evaluating")
    trainer.evaluate()
    phase("training")
    t = time.perf_counter()
    trainer.train()
    train_s = time.perf_counter() - t
    phase("saving")
    final = next(e for e in reversed(trainer.state.log_history) if "eval_loss" in e)  # the last epoch's
    model.save_pretrained(str(out / "model"), safe_serialization=True)
    tokenizer.save_pretrained(str(out / "model"))
    print(RESULT + json.dumps({"seconds": round(time.perf_counter() - started, 2), "train_s_inside": train_s,
                               "step": trainer.state.global_step, "torch_threads": torch.get_num_threads(),
                               "metrics": {k[5:]: float(v) for k, v in final.items() if k in (
                                   "eval_loss", "eval_accuracy", "eval_macro_f1")}}), flush=True)


def sentiment_calls(rest: common.Rest, model: str, until: Callable[[], bool], first: Callable[[], bool] = lambda: True,
                    limit: float = 300.0) -> list[float]:
    """Seconds of /sentiment calls, one after another with PAUSE between, from first() until until()."""
    deadline = time.monotonic() + limit
    while not first():
        if time.monotonic() > deadline:
            raise RuntimeError("the training did not start")
        time.sleep(0.01)
    seconds = []
    while not until() and time.monotonic() < deadline:
        seconds.append(rest.call("sentiment", [TEXT, model]).seconds)
        time.sleep(PAUSE)
    return seconds


def run(ctx: Context) -> dict[str, Any]:
    import torch

    n = 1 if ctx.quick else 3
    threads = app_threads()
    default_threads = torch.get_num_threads()
    models.bert()  # built before anything is timed
    work = ctx.workdir / "training"
    work.mkdir(exist_ok=True)

    # -- 1 and 2: throughput and memory --------------------------------------------------------------------
    variants = {"app": lambda: app_run(work, threads), "direct": lambda: direct_run(work, threads),
                "direct_default": lambda: direct_run(work, None)}
    runs = common.interleaved(n, variants, warmup=0)
    med = {name: {key: common.median([r[key] for r in rs]) for key in (
        "train_s", "samples_per_s", "wall_s", "start_s", "load_s", "base_eval_s", "save_s", "exit_s", "peak_rss_mb",
        "training_peak_rss_mb", "rss_at_training_mb", "own_seconds")} for name, rs in runs.items()}
    app, base, wide = med["app"], med["direct"], med["direct_default"]
    wide_threads = runs["direct_default"][0]["threads"]
    speed = app["samples_per_s"] / base["samples_per_s"]
    verdict = "met" if speed >= GOAL else "within noise" if speed >= GOAL - 0.05 else "not met"
    same = [r["metrics"] for r in runs["app"][:1] + runs["direct"][:1]]
    fmt = common.fmt

    def peaks(name: str) -> str:
        return ", ".join(str(r["peak_phase"]) for r in runs[name])
    rows = [
        row(f"training throughput, bert-4x256 sentiment, {N_TRAIN} rows x {EPOCHS} epochs, batch {BATCH}, "
            f"{threads} thread: Job vs direct Trainer (samples/s)",
            f"{fmt(app['samples_per_s'])} ({fmt(app['train_s'], 's')})",
            f"{fmt(base['samples_per_s'])} ({fmt(base['train_s'], 's')})", f"x{speed:.2f}", f">= x{GOAL:.2f}",
            verdict, app_samples_per_s=app["samples_per_s"], direct_samples_per_s=base["samples_per_s"],
            eval_metrics_app_direct=same),
        row(f"  direct Trainer on torch's default {wide_threads} threads (samples/s)",
            f"{fmt(app['samples_per_s'])} ({threads} thread)",
            f"{fmt(wide['samples_per_s'])} ({fmt(wide['train_s'], 's')})",
            f"x{app['samples_per_s'] / wide['samples_per_s']:.2f}", direct_default_samples_per_s=wide["samples_per_s"]),
        row("whole run, process start to exit (s)", fmt(app["wall_s"], "s"), fmt(base["wall_s"], "s"),
            f"{app['wall_s'] - base['wall_s']:+.1f} s", app_s=app["wall_s"], direct_s=base["wall_s"]),
        row("  start + imports / load + encode / base eval / save / exit (s)",
            " / ".join(fmt(app[k]) for k in ("start_s", "load_s", "base_eval_s", "save_s", "exit_s")),
            " / ".join(fmt(base[k]) for k in ("start_s", "load_s", "base_eval_s", "save_s", "exit_s")),
            f"{app['save_s'] - base['save_s']:+.2f} s saving, {app['exit_s'] - base['exit_s']:+.2f} s exit"),
        row("  the worker's own seconds (Trainer made to card written) vs the same span direct",
            fmt(app["own_seconds"], "s"), fmt(base["own_seconds"], "s"),
            f"{app['own_seconds'] - base['own_seconds']:+.2f} s"),
        row("peak RSS of the training process while it trains (MB)", fmt(app["training_peak_rss_mb"], "MB"),
            f"{fmt(base['training_peak_rss_mb'], 'MB')} ({fmt(wide['training_peak_rss_mb'], 'MB')} on {wide_threads} "
            "threads)", f"{app['training_peak_rss_mb'] - base['training_peak_rss_mb']:+.0f} MB",
            app_mb=app["training_peak_rss_mb"], direct_mb=base["training_peak_rss_mb"]),
        row("  when training starts / over the whole run (MB)",
            f"{fmt(app['rss_at_training_mb'])} / {fmt(app['peak_rss_mb'], 'MB')}",
            f"{fmt(base['rss_at_training_mb'])} / {fmt(base['peak_rss_mb'], 'MB')}",
            f"{app['rss_at_training_mb'] - base['rss_at_training_mb']:+.0f} / "
            f"{app['peak_rss_mb'] - base['peak_rss_mb']:+.0f} MB (whole-run peaks in: {peaks('app')}; "
            f"{peaks('direct')})", app_whole_mb=app["peak_rss_mb"], direct_whole_mb=base["peak_rss_mb"]),
    ]

    # -- 3: responsiveness ---------------------------------------------------------------------------------------
    tiny = common.tiny("sentiment")
    print("  (starting server training…)", flush=True)
    server = common.start_server("training", {"sentiment": [{"id": tiny, "label": "tiny sentiment"}]}, ctx.workdir)
    ctx.servers["training"] = server  # closed with the others; its RSS in latest.json
    rest = common.Rest(server.url)
    idle_n = 40
    cases = [("app", threads)] + ([] if ctx.quick or threads == 2 else [("two", 2)])
    calls: dict[str, list[float]] = {"idle": [], **{name: [] for name, _ in cases}}
    trained: dict[str, dict[str, Any]] = {}

    def idle() -> None:
        count = iter(range(idle_n))
        calls["idle"].extend(sentiment_calls(rest, tiny, lambda: next(count, None) is None))

    try:
        for _ in range(5):
            rest.call("sentiment", [TEXT, tiny])  # loaded and warm
        for name, t in cases:
            idle()
            result = app_run(work, t, lambda p: sentiment_calls(rest, tiny, lambda: "saving" in p,
                                                                lambda: "training" in p))
            calls[name] = result.pop("during")
            trained[name] = result
        idle()
    finally:
        rest.close()
    pct = {name: (common.ms(common.percentile(v, 50)), common.ms(common.percentile(v, 90))) for name, v in calls.items()}
    quiet = pct["idle"]
    for name, t in cases:
        p50, p90 = pct[name]
        label = f"{t} thread{'s' if t > 1 else ''}" + (" (the app's)" if t == threads else "")
        rows.append(row(f"/sentiment tiny p50 / p90 while a Job trains on {label} vs nothing training (ms)",
                        f"{fmt(p50)} / {fmt(p90, 'ms')} ({len(calls[name])} calls)",
                        f"{fmt(quiet[0])} / {fmt(quiet[1], 'ms')} ({len(calls['idle'])} calls)",
                        f"x{p50 / quiet[0]:.2f} / x{p90 / quiet[1]:.2f}", p50_ms=p50, p90_ms=p90,
                        idle_p50_ms=quiet[0], idle_p90_ms=quiet[1]))
        alone = app if t == threads else wide
        sps = trained[name]["samples_per_s"]
        rows.append(row("  that training's throughput with the calls vs without (samples/s)", fmt(sps),
                        f"{fmt(alone['samples_per_s'])} ({'Job' if t == threads else 'direct'}, {t} "
                        f"thread{'s' if t > 1 else ''})", f"x{sps / alone['samples_per_s']:.2f}", samples_per_s=sps))
    return {"rows": rows, "raw": {"runs": runs, "medians": med, "calls_seconds": calls, "trained_under_calls": trained,
                                  "threads": {"app_worker": threads, "direct": threads, "direct_default": wide_threads,
                                              "server": default_threads}, "n": n, "load_average": common.load_average()}}


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "direct":
        direct(sys.argv[2])
    else:
        sys.exit("usage: python -m benchmarks.bench_training direct SPEC.json (benchmarks.run runs the benchmark)")
