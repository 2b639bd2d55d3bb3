"""Explain an answer: under each task's result, the words (or the image regions) that pushed the model
toward it, from Captum (models/explain.py), and `/explain` for programs.

An endpoint's parameters mean the same thing to its explanation as to its answer: `ADAPTER_INPUT` turns
them (by name, as /compare and gradio_client name them) into the adapter's input and parameters, once
per explainable endpoint. The page's Explain takes the tab's own inputs as they stand; /explain takes
an endpoint's parameters as a JSON object and goes through that endpoint's own input checks (and
uploads) first, as a side of /compare does."""
from __future__ import annotations

import dataclasses
import inspect
from typing import Any, Callable

import gradio as gr

from models import InvalidInput
from models.explain import DEFAULT_STEPS, MAX_STEPS
from models.messages import ENGLISH, LANGUAGES, say

from .common import Context, event_options, sentence_of
from .language import language_of
from .words import translated, word

# endpoint -> its parameters by name -> (the adapter's input, its parameters)
ADAPTER_INPUT: dict[str, Callable[[dict[str, Any]], tuple[Any, dict[str, Any]]]] = {
    "sentiment": lambda v: (v["text"], {}),
    "ner": lambda v: (v["text"], {}),
    "qa": lambda v: ({"question": v["question"], "context": v["context"]},
                     {"max_answer_tokens": v["max_answer_tokens"]}),
    "fill_mask": lambda v: (v["text"], {"top_k": v["top_k"]}),
    "zero_shot_classification": lambda v: (v["text"], {"labels": v["labels"], "multi_label": v["multi_label"],
                                                       "hypothesis_template": v["hypothesis_template"]}),
    "classify_image": lambda v: (v["image"], {}),
    "clip_zero_shot": lambda v: ({"image": v["image"], "texts": v["labels"], "template": v["template"]}, {}),
    "clip_rank_captions": lambda v: ({"image": v["image"], "texts": v["captions"]}, {}),
    "clip_search": lambda v: ({"query": v["query"], "images": v["images"]}, {}),
}
HEATMAPS = {"classify_image", "clip_zero_shot", "clip_rank_captions", "clip_search"}
TARGETS = {  # what the target box takes, per endpoint
    "sentiment": "A label (empty: the predicted one)",
    "ner": "The entity's number: 0 for the first found (empty: 0)",
    "qa": "start or end: the answer's first or last token (empty: start)",
    "fill_mask": "A word to fill in (empty: the best one)",
    "zero_shot_classification": "One of the labels (empty: the best one)",
    "classify_image": "A class (empty: the predicted one)",
    "clip_zero_shot": "One of the labels (empty: the best one)",
    "clip_rank_captions": "One of the captions (empty: the best one)",
    "clip_search": "An image's number among those searched, 0 first (empty: the best match)",
}
METHOD_CHOICES = [("Fast: gradient × input (one backward pass)", "fast"),
                  ("Integrated Gradients (steps passes, batched)", "integrated_gradients")]
TOP_WORDS = 10
# the bars' colours by effect, in every language (top_words names the effect in the reader's)
EFFECT_COLOURS = {**{say("explain.toward").render(language): "#e23c3c" for language in LANGUAGES},
                  **{say("explain.against").render(language): "#3c6ee2" for language in LANGUAGES}}
# a text's parts, as the shaded text names them (a question and its context, a text and the hypothesis)
PARTS = {"text": "explain.part_text", "question": "explain.part_question", "context": "explain.part_context",
         "hypothesis": "explain.part_hypothesis"}


def explanation(ctx: Context, endpoint: str, task_key: str, model: str | None, values: dict[str, Any],
                target: Any, method: Any, steps: Any) -> dict[str, Any]:
    """The explanation of `endpoint`'s answer for these parameters, from the loaded model."""
    from models.explain import explain

    x, params = ADAPTER_INPUT[endpoint](values)
    return ctx.manager.run(task_key, model, explain, x, target=target, method=method, steps=steps, **params)


# -- what a person sees ----------------------------------------------------------------------------------

def shaded(found: dict[str, Any], sources: dict[str, str],
           language: str = ENGLISH) -> list[tuple[str, float | None]]:
    """The text with each word's score scaled to -1..1 (Gradio's HighlightedText shades it: toward the
    answer in one colour, against it in the other); the text between words unshaded; a pair's parts on
    their own lines, each named (in `language`)."""
    words = found["words"]
    peak = max((abs(w["score"]) for w in words), default=0.0) or 1.0
    out: list[tuple[str, float | None]] = []
    for part, text in sources.items():
        if out:
            out.append(("\n", None))
        if len(sources) > 1:
            out.append((say(PARTS[part]).render(language) if part in PARTS else f"{part}: ", None))
        at = 0
        for w in (w for w in words if w["part"] == part):
            if w["start"] > at:
                out.append((text[at:w["start"]], None))
            out.append((text[w["start"]:w["end"]], round(w["score"] / peak, 4)))
            at = max(at, w["end"])
        if at < len(text):
            out.append((text[at:], None))
    return out


def top_words(found: dict[str, Any], language: str = ENGLISH) -> Any:
    """The words that moved the score most, as a bar chart's rows (a word seen twice keeps its place; the
    effect, toward the answer or against it, in `language`)."""
    import pandas as pd

    ranked = sorted(found["words"], key=lambda w: abs(w["score"]), reverse=True)[:TOP_WORDS]
    names, seen = [], {}
    for w in ranked:
        seen[w["text"]] = seen.get(w["text"], 0) + 1
        names.append(w["text"] if seen[w["text"]] == 1 else f"{w['text']} ({seen[w['text']]})")
    toward, against = say("explain.toward").render(language), say("explain.against").render(language)
    return pd.DataFrame({"word": names, "score": [w["score"] for w in ranked],
                         "effect": [toward if w["score"] >= 0 else against for w in ranked]})


def said(found: dict[str, Any], language: str = ENGLISH) -> str:
    """What was attributed, by which method, and how far the scores can be trusted, in words (in `language`;
    the target, the scores and the method's name as they are)."""
    method = (say("explain.said_steps", steps=int(found["steps"])) if found["method"] == "integrated_gradients"
              else say("explain.said_fast"))
    change = found["target_score"] - found["baseline_score"]
    share: Any = ""
    if abs(change) > 1e-6:
        part = (change + found["convergence_delta"]) / change
        key = ("explain.share" if abs(part - 1) <= 0.2 else
               "explain.share_more_steps" if found["method"] == "fast" or found["steps"] < MAX_STEPS else
               "explain.share_care")
        share = say(key, share=part)
    baseline = str(found["baseline"])
    return say("explain.said", target=found["target"], attributed=found["attributed"],
               target_score=f"{found['target_score']:.3g}",
               baseline_score=f"{found['baseline_score']:.3g}", baseline=baseline,
               method=method,
               delta=f"{found['convergence_delta']:.3g}", share=share).render(language)


def sources_of(endpoint: str, values: dict[str, Any], found: dict[str, Any]) -> dict[str, str]:
    if endpoint == "qa":
        return {"question": str(values["question"]).strip(), "context": values["context"]}
    if endpoint == "zero_shot_classification":
        hypothesis = next((w for w in found["words"] if w["part"] == "hypothesis"), None)
        text = {"text": values["text"]}
        return text if hypothesis is None else {**text, "hypothesis": values["hypothesis_template"].replace(
            "{}", found["target"])}
    return {"text": values["text"]}


@dataclasses.dataclass
class Controls:
    target: gr.Textbox
    method: gr.Radio
    steps: gr.Slider
    button: gr.Button

    @property
    def inputs(self) -> list[Any]:
        return [self.target, self.method, self.steps]


def controls(endpoint: str) -> Controls:
    """The Explain controls, drawn where they are called (under Run): target, method, steps, a button."""
    with gr.Accordion(word("explain.fold"), open=False, elem_classes=["explain-controls"]):
        target = gr.Textbox(label=word("explain.target"), placeholder=translated(TARGETS[endpoint], f"explain.target.{endpoint}"),
                             info=translated(TARGETS[endpoint], f"explain.target.{endpoint}"))
        method = gr.Radio([(translated(shown, f"explain.method.{value}"), value) for shown, value in METHOD_CHOICES], value="fast",
                          label=word("explain.method"))
        steps = gr.Slider(2, MAX_STEPS, value=DEFAULT_STEPS, step=1, label=word("explain.steps"),
                          info=word("explain.steps.info"))
        button = gr.Button(word("explain.button"), variant="secondary")
    return Controls(target=target, method=method, steps=steps, button=button)


def outputs(endpoint: str) -> list[Any]:
    """The explanation's place, drawn where it is called (under the tab's results)."""
    with gr.Column(elem_classes=["explanation"]):
        if endpoint in HEATMAPS:
            drawn: list[Any] = [gr.Image(label=word("explain.heatmap"), type="pil",
                                         format="png", interactive=False, visible=False, height=320)]
        else:
            drawn = [gr.HighlightedText(label=word("explain.words"),
                                        show_legend=False, combine_adjacent=False, visible=False),
                     gr.BarPlot(x="word", y="score", color="effect", label=word("explain.bars"),
                                color_map=EFFECT_COLOURS, sort="-y", visible=False,
                                height=260, elem_classes=["explain-bars"])]
        drawn.append(gr.Markdown(elem_classes=["explain-said"]))
    return drawn


def wire(ctx: Context, view: Any, endpoint: str, inputs: list[Any], drawn: Controls, shown: list[Any]) -> None:
    """The Explain button: the tab's inputs as they stand (`inputs`, in its endpoint's order) explained
    on the page, with the model's load shown and errors beside their field (running.page_run)."""
    from .running import Fields, page_run

    names = ctx.endpoints[endpoint].params
    task_key = ctx.endpoints[endpoint].task

    def explain_on_page(*args: Any) -> tuple[Any, ...]:
        *values, target, method, steps, request = args
        language = language_of(request)
        by_name = dict(zip(names, values))
        found = explanation(ctx, endpoint, task_key, by_name.get("model"), by_name, target, method, steps)
        if endpoint in HEATMAPS:
            return gr.Image(value=found["overlay"], visible=True), said(found, language)
        return (gr.HighlightedText(value=shaded(found, sources_of(endpoint, by_name, found), language), visible=True),
                gr.BarPlot(value=top_words(found, language), visible=True), said(found, language))

    # its parameters as Gradio sees them: the inputs, then the request (for the reader's language) where
    # page_run's wrapper and Gradio put it, last, after the inputs (Gradio fills it only into a positional one)
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    explain_on_page.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(f"input_{i}", positional) for i in range(len(inputs) + len(drawn.inputs))]
        + [inspect.Parameter("request", positional, default=None, annotation=gr.Request)])
    explain_on_page.__annotations__ = {"request": gr.Request}

    fields = Fields(params={**view.fields.params, "target": drawn.target, "steps": drawn.steps},
                    inputs=[*view.fields.inputs, drawn.target, drawn.method], folded=view.fields.folded)
    explaining = dataclasses.replace(view, fields=fields, controls={})
    page_run(ctx, explaining, [drawn.button.click], fn=explain_on_page, inputs=[*inputs, *drawn.inputs],
             outputs=shown, gpu_seconds=60)


# -- /explain --------------------------------------------------------------------------------------------

def build(ctx: Context, demo: gr.Blocks) -> None:
    """/explain, for every explainable endpoint the tabs made (called by build_demo once they are built)."""
    from .compare import api_functions, side_args

    from .common import on_gpu

    functions = api_functions(demo)
    explainable = sorted(name for name in ADAPTER_INPUT if name in ctx.endpoints)
    explain_on_gpu = on_gpu(ctx, explanation, 60)  # on ZeroGPU, inside spaces.GPU as every model call

    async def explain(task: str, model: str | None = None, inputs: dict[str, Any] | None = None,
                      target: str | None = None, method: str = "fast", steps: int = DEFAULT_STEPS,
                      request: gr.Request = None) -> tuple[dict[str, Any], Any]:
        """Explain a task's answer: which input words (or image regions) pushed the model toward it, from Captum.

        Args:
            task: The endpoint whose answer to explain, without the slash: sentiment, ner, qa, fill_mask, zero_shot_classification, classify_image, clip_zero_shot, clip_rank_captions, clip_search.
            model: The model (id, folder or catalog label); empty for the task's default.
            inputs: That endpoint's parameters by name, as an object (images as uploaded files).
            target: What to explain: a label (sentiment, zero-shot, image classes, CLIP labels or captions), an entity's number (ner, 0 first), start or end (qa), a word (fill_mask), an image's number (clip_search, 0 first); empty for the model's answer.
            method: fast (gradient x input, one backward pass) or integrated_gradients (with steps; its convergence delta says how close to exact).
            steps: Integrated Gradients' steps, 2 to 256.
        """
        import anyio
        from gradio.state_holder import SessionState

        language = language_of(request)  # English unless the client asks (Accept-Language: zh-CN)
        name = str(task or "").strip().lstrip("/")
        try:
            if name not in explainable:
                raise InvalidInput(say("explain.task", names=", ".join(explainable), task=str(task)[:40]),
                                   field="task")
            if inputs is not None and not isinstance(inputs, dict):
                raise InvalidInput(say("compare.inputs_object"), field="inputs")
        except InvalidInput as e:
            raise gr.Error(sentence_of(e, language)) from None
        endpoint = ctx.endpoints[name]
        try:
            endpoint.check_known(inputs or {})
            args = await side_args(demo, functions[name], endpoint, model or None, inputs or {}, request,
                                   SessionState(demo))
            from .inputs import raise_refused

            raise_refused(tuple(args), {})
            values = dict(zip(endpoint.params, args))
            found = await anyio.to_thread.run_sync(
                lambda: explain_on_gpu(ctx, name, endpoint.task, model or None, values, target, method, steps))
        except Exception as e:  # noqa: BLE001 - every failure as one sentence, in the reader's language
            raise gr.Error(sentence_of(e, language)) from None
        overlay = found.pop("overlay", None)
        return found, overlay

    gr.on([], explain, [gr.Textbox(label="Task", visible=False), gr.Textbox(label="Model", visible=False),
                        gr.JSON(label="Inputs", visible=False), gr.Textbox(label="Target", visible=False),
                        gr.Textbox("fast", label="Method", visible=False),
                        gr.Number(DEFAULT_STEPS, label="Steps", visible=False)],
          [gr.JSON(label="Explanation", visible=False),
           gr.Image(label="Overlay", type="pil", format="png", visible=False, interactive=False)],
          api_name="explain", **event_options(ctx))
