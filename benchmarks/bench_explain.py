"""16. Explain: what one explanation (models/explain.py) costs against one prediction of the same input
by the same loaded pipeline, in-process (no server), for every task that has attributions:

- sentiment: bert-4x256 and distilbert-6x768 (benchmarks/models.py, random weights, real shapes), on
  one 14-word sentence;
- CLIP zero-shot: the tiny test CLIP, and open_clip's ViT-B-32 with random weights (benchmarks/models.py,
  the real one's compute; not with --quick), on assets/images/cat.jpg with three labels;
- image classification: ../shared/models/efficientnet_lite0 (real weights) when present, else the
  tiny test ViT, on assets/images/cat.jpg;
- NER, question answering, fill-mask, zero-shot classification: the tests' tiny models
  (tests.conftest.TinyModels; benchmarks/models.py has none for them), on the tests' inputs. Their
  forward passes take about a millisecond, so their ratios measure Python and Captum overhead more
  than model work.

The baseline is `pipeline.predict(x, **params)` (for CLIP `pipeline.zero_shot(image, labels, template=...)`),
the measures `explain(pipeline, x, method=...)` with the fast method and Integrated Gradients at 32
and 64 steps; all four alternate, order rotated every round (common.interleaved), one warm-up round,
medians. Each pipeline comes from a ModelManager(device="cpu", max_batch_size=1) as the app builds it,
and runs with torch's threads as the app leaves them (not set; the count is in the table). CLIP's
caches (text and image embeddings) are cleared before every timed call, so each call encodes; one
more CLIP measure times the fast method right after a prediction of the same image, as on the page,
where the explanation's own prediction finds the image cached.

Goals (issue 16): fast <= 3x a prediction; Integrated Gradients <= steps/8 x a prediction (4x at 32
steps, 8x at 64), thanks to batching the steps (up to 64 rows a pass).

Where the time goes: every explanation runs a prediction of its own (to find the answer it explains),
then the attribution (Captum: one forward and backward pass for the fast method, steps/64 passes of up
to 64 rows for Integrated Gradients), then two forward passes for the scores at the input and at the
baseline. The benchmark wraps, while it runs, the pipeline's predict (or zero_shot), models.explain's
`attribute` and Captum's `attribute` methods with timers (restored afterwards; a few microseconds a
call), and reports each part's median: own prediction, Captum, the two score passes (`attribute`
less Captum), and the rest (tokenising, embedding, words or heatmap and overlay; for NER one more
forward pass, for the entity's labels). "Without them" is the explanation less its own prediction and
score passes: what it would cost if the page's prediction were reused and the scores came from passes
the attribution makes anyway.
"""
from __future__ import annotations

import contextlib
import time
from typing import Any, Callable, Iterator

from . import common, models
from .context import Context, row

FAST_GOAL = 3.0
STEPS = (32, 64)
TEMPLATE = "a photo of a {}."
CLIP_LABELS = "cat, dog, coffee cup"


def ig_goal(steps: int) -> float:
    return steps / 8


class Parts:
    """Timers wrapped around the explanation's parts while `current` is a dict (one explanation)."""

    def __init__(self) -> None:
        self.current: dict[str, float] | None = None

    def add(self, key: str, seconds: float) -> None:
        if self.current is not None:
            self.current[key] = self.current.get(key, 0.0) + seconds

    def timer(self, key: str, fn: Callable[..., Any], method: bool = False) -> Callable[..., Any]:
        parts = self

        if method:
            def wrapped_method(self: Any, *args: Any, **kwargs: Any) -> Any:
                start = time.perf_counter()
                try:
                    return fn(self, *args, **kwargs)
                finally:
                    parts.add(key, time.perf_counter() - start)
            return wrapped_method

        def wrapped(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                parts.add(key, time.perf_counter() - start)
        return wrapped


@contextlib.contextmanager
def instrumented(parts: Parts) -> Iterator[None]:
    """models.explain.attribute and Captum's attribute methods timed into `parts` (put back after)."""
    from captum.attr import InputXGradient, IntegratedGradients

    import models.explain as explaining

    saved = (explaining.attribute, InputXGradient.attribute, IntegratedGradients.attribute)
    explaining.attribute = parts.timer("attribute", saved[0])
    InputXGradient.attribute = parts.timer("captum", saved[1], method=True)
    IntegratedGradients.attribute = parts.timer("captum", saved[2], method=True)
    try:
        yield
    finally:
        explaining.attribute, InputXGradient.attribute, IntegratedGradients.attribute = saved


def cases(ctx: Context) -> list[dict[str, Any]]:
    """(label, task, model path, explain input, params, the prediction) for each measured model."""
    text = "I really loved this film, the story was moving and the actors were wonderful."
    cat = str(common.CAT_JPG)
    clip_item = {"image": cat, "texts": CLIP_LABELS, "template": TEMPLATE}
    out = [
        {"label": "bert-4x256", "task": "sentiment", "path": models.bert(), "x": text, "params": {}},
        {"label": "distilbert-6x768", "task": "sentiment", "path": models.distilbert(), "x": text, "params": {},
         "heavy": True},
        {"label": "tiny ner", "task": "ner", "path": common.tiny("ner"), "x": "Ada Lovelace lives in London.",
         "params": {}},
        {"label": "tiny qa", "task": "question-answering", "path": common.tiny("qa"),
         "x": {"question": "Where does Ada live?", "context": "Ada lives in London."}, "params": {}},
        {"label": "tiny fill-mask", "task": "fill-mask", "path": common.tiny("fill-mask"),
         "x": "Ada lives in [MASK].", "params": {}},
        {"label": "tiny nli", "task": "zero-shot-classification", "path": common.tiny("nli"),
         "x": "The striker scored twice.", "params": {"labels": "sports, politics"}},
    ]
    effnet = common.efficientnet()
    out.append({"label": "efficientnet_lite0" if effnet else "tiny vit", "task": "image-classification",
                "path": effnet or common.tiny("vit"), "x": cat, "params": {}, "heavy": bool(effnet)})
    out.append({"label": "tiny clip", "task": "clip", "path": common.tiny("clip"), "x": clip_item, "params": {}})
    if not ctx.quick:
        try:
            out.append({"label": "ViT-B-32 (random weights)", "task": "clip", "path": models.clip_vitb32(),
                        "x": clip_item, "params": {}, "heavy": True, "rounds": 2})
        except Exception as e:  # noqa: BLE001 - open_clip missing or the build failed: report it, go on
            out.append({"label": "ViT-B-32 (random weights)", "task": "clip", "path": None,
                        "error": f"not built: {type(e).__name__}: {e}"})
    return out


def verdict(r: float, goal: float) -> str:
    return "met" if r <= goal else f"MISSED (x{r / goal:.2f} over)"


def run(ctx: Context) -> dict[str, Any]:
    import torch

    from models import ModelManager, parse_catalog
    from models.explain import explain

    n, n_heavy = (3, 2) if ctx.quick else (7, 3)  # rounds after the warm-up; heavy: IG-64 takes seconds
    threads, interop = torch.get_num_threads(), torch.get_num_interop_threads()
    print(f"  torch threads {threads} (interop {interop}), as the app leaves them", flush=True)
    todo = cases(ctx)
    catalog: dict[str, list[dict[str, str]]] = {}
    for case in todo:
        if case.get("path"):
            catalog.setdefault(case["task"], []).append({"id": case["path"]})
    manager = ModelManager(parse_catalog(catalog), device="cpu", max_loaded=1, max_batch_size=1)
    rows = [row("torch threads (as the app runs them, unchanged) / CPUs", f"{threads} (interop {interop})",
                f"{common.machine()['nproc']} CPUs", threads=threads, interop_threads=interop)]
    raw: dict[str, Any] = {"torch_threads": threads, "interop_threads": interop}
    parts = Parts()
    for case in todo:
        label, task = case["label"], case["task"]
        if case.get("path") is None:
            rows.append(row(f"{label}, {task}: explanation vs a prediction", "-", "-", "-", goal=f"<= x{FAST_GOAL:.0f}",
                            verdict="not measured", note=case.get("error")))
            continue
        t = time.perf_counter()
        pipeline = manager.get(task, case["path"])
        load_s = time.perf_counter() - t
        x, params = case["x"], case["params"]
        clip = task == "clip"
        if clip:
            original = pipeline.zero_shot

            def predict() -> Any:
                return original(x["image"], x["texts"], template=x["template"])
            pipeline.zero_shot = parts.timer("predict", original)
        else:
            original = pipeline.predict

            def predict() -> Any:
                return original(x, **params)
            pipeline.predict = parts.timer("predict", original)
        clear = pipeline.clear_caches if clip else (lambda: None)
        breakdown: dict[str, list[dict[str, float]]] = {}

        def timed_call(fn: Callable[[], Any], name: str | None = None, before: Callable[[], Any] = clear) \
                -> Callable[[], float]:
            def call() -> float:
                before()
                if name is not None:
                    parts.current = {}
                start = time.perf_counter()
                try:
                    fn()
                finally:
                    seconds = time.perf_counter() - start
                    if name is not None:
                        breakdown.setdefault(name, []).append({**parts.current, "total": seconds})
                        parts.current = None
                return seconds
            return call

        variants = {"predict": timed_call(predict),
                    "fast": timed_call(lambda: explain(pipeline, x, method="fast", **params), "fast")}
        for steps in STEPS:
            variants[f"ig{steps}"] = timed_call(
                lambda s=steps: explain(pipeline, x, method="integrated_gradients", steps=s, **params), f"ig{steps}")
        if clip:  # as on the page: the prediction just made, its image embedding cached
            def predicted() -> None:
                clear()
                predict()
            variants["fast_after_predict"] = timed_call(
                lambda: explain(pipeline, x, method="fast", **params), "fast_after_predict", before=predicted)
        rounds = case.get("rounds") or (n_heavy if case.get("heavy") else n)
        print(f"  {label}, {task}: loaded in {load_s:.1f} s, {rounds} rounds…", flush=True)
        with instrumented(parts):
            try:
                times = common.interleaved(rounds, variants, warmup=1)
            finally:
                del pipeline.__dict__["zero_shot" if clip else "predict"]  # the class's method again
        med = {k: common.median(v) for k, v in times.items()}
        split = {}
        for name, runs in breakdown.items():
            per_run = [{"total": r["total"], "predict": r.get("predict", 0.0), "captum": r.get("captum", 0.0),
                        "scores": r.get("attribute", 0.0) - r.get("captum", 0.0),
                        "rest": r["total"] - r.get("predict", 0.0) - r.get("attribute", 0.0)}
                       for r in runs[1:]]  # [0] is the warm-up's
            for r in per_run:
                r["without"] = r["total"] - r["predict"] - r["scores"]
            split[name] = {key: common.median([r[key] for r in per_run]) for key in per_run[0]}
        raw[label] = {"task": task, "seconds": times, "median_s": med, "parts_median_s": split, "load_seconds": load_s,
                      "rounds": rounds, "load_average": common.load_average()}
        one = med["predict"]
        measures = [("fast", "fast", FAST_GOAL)] + [(f"ig{s}", f"Integrated Gradients, {s} steps", ig_goal(s))
                                                    for s in STEPS]
        for key, title, goal in measures:
            r = med[key] / one
            rows.append(row(f"{label}, {task}: {title} vs a prediction (ms)",
                            common.fmt(common.ms(med[key]), "ms"), common.fmt(common.ms(one), "ms"), f"x{r:.2f}",
                            goal=f"<= x{goal:g}", verdict=verdict(r, goal), explain_ms=common.ms(med[key]),
                            predict_ms=common.ms(one), ratio=r, goal_ratio=goal))
            s = split[key]
            rows.append(row("  inside: own prediction + Captum + 2 score passes + the rest (ms)",
                            " + ".join(common.fmt(common.ms(s[k])) for k in ("predict", "captum", "scores", "rest")),
                            common.fmt(common.ms(s["without"]), "ms") + " without own prediction and score passes",
                            f"x{s['without'] / one:.2f} without them",
                            **{f"{k}_ms": common.ms(v) for k, v in s.items()}))
        if "fast_after_predict" in med:
            r = med["fast_after_predict"] / one
            s = split["fast_after_predict"]
            rows.append(row(f"{label}, {task}: fast right after the prediction (image cached) vs a prediction (ms)",
                            common.fmt(common.ms(med["fast_after_predict"]), "ms"), common.fmt(common.ms(one), "ms"),
                            f"x{r:.2f} (own prediction {common.fmt(common.ms(s['predict']), 'ms')})",
                            goal=f"<= x{FAST_GOAL:g}", verdict=verdict(r, FAST_GOAL),
                            explain_ms=common.ms(med["fast_after_predict"]), predict_ms=common.ms(one), ratio=r,
                            own_predict_ms=common.ms(s["predict"])))
        manager.unload_all()
    return {"rows": rows, "raw": raw}
