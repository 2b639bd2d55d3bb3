"""The layout and wiring every task tab shares, drawn from the task's declaration (models/tasks.py):
the task's name, the model picker, the tab's own inputs, a control per declared parameter, Run (and
Stop), examples, the model's state and the error line above the tab's own outputs, and the public
endpoint (running.py). A tab module holds only what is special about its task: its inputs, its
outputs and the handler that turns a result into them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr

from models.tasks import task

from . import compare, explain
from .common import Context, model_picker
from .inputs import param_control
from .language import language_of
from .running import Fields, RunView, fit_on_pick, state_panels, wire_run
from .words import WORDS, english, in_words, text, word


@dataclass
class TaskTab:
    """The components drawn, for a tab that wires more (Stop, a model's own settings)."""

    model: gr.Dropdown
    inputs: list[Any]
    params: dict[str, Any]
    run: gr.Button
    stop: gr.Button | None
    status: gr.HTML
    alert: gr.HTML
    outputs: list[Any]
    event: Any
    view: RunView


def title(key: str, intro: str) -> gr.Markdown:
    """The task's name (kept in view on a phone, where the tab bar hides most names) and what it does: in the
    reader's language when components/words.py has the tab's intro (the same English), else as given."""
    if f"heading.{key}" in WORDS and text(f"intro.{key}") == intro:
        return gr.Markdown(word(f"heading.{key}"), elem_classes=["task-intro"])
    return gr.Markdown(f"## {task(key).title}\n{intro}", elem_classes=["task-intro"])


def column_heads(dataset: gr.Dataset) -> None:
    """An examples table's column heads, in the reader's language. They are the inputs' labels, which Gradio's
    Dataset draws as they are (no translation): English in the page's config, and the reader's words from the
    page's load on."""
    labels = list(dataset.headers)
    dataset.headers = [english(label) for label in labels]
    if len(labels) < 2:  # one column: Gradio draws no head
        return

    def heads(request: gr.Request = None) -> Any:
        language = language_of(request)
        return gr.update(headers=[in_words(label, language) for label in labels])
    gr.on(None, heads, None, [dataset], queue=False, api_visibility="private", show_progress="hidden")


def task_tab(ctx: Context, key: str, *, intro: str, inputs: Callable[[], list[Any]],
             outputs: Callable[[], list[Any]], fn: Callable, run_label: Any, examples: list[Any] | None = None,
             values: dict[str, Any] | None = None, stop: bool = False, model_last: bool = False,
             extra: Callable[[], list[Any]] | None = None,
             fit_extra: Callable[[Any], dict[Any, Any]] | None = None, **wire: Any) -> TaskTab:
    """Draw a task's tab and wire its endpoint (the declaration's, batched when it batches).

    The endpoint takes the tab's inputs, then the model, then the declared parameters in their
    order (model_last: the parameters before the model), then `extra` controls (drawn last in the
    Parameters accordion: settings a model lists, like text-to-image's schedulers). "labels"
    parameters are inputs a person fills, drawn with the inputs; the others go in a Parameters
    accordion. `values` overrides where a control starts (an example label set); examples fill the
    tab's inputs and the labels (plain values: the first input); the catalog file's examples for the task,
    when it has some (Catalog.examples_for), replace the tab's own, and its first example's labels are where
    the labels start. A first input that is a text box runs the task on Enter too.
    Number controls follow the model picked (running.fit_on_pick); `fit_extra(spec, language)` gives a tab's
    own updates at each pick (its `outputs` attribute lists the components they touch)."""
    declaration = task(key)
    values = values or {}
    own = ctx.catalog.examples_for(key)  # a catalog file's examples (its `examples:` section) replace the tab's
    if own:
        examples = own
        labels = [p.name for p in declaration.params if p.kind == "labels"]
        if labels and isinstance(own[0], (list, tuple)):  # the labels box starts at the first example's labels
            values = {**values, labels[0]: own[0][-1]}
    title(key, intro)
    accordion = None
    extras: list[Any] = []
    with gr.Row(equal_height=False):
        with gr.Column():
            model = model_picker(ctx, key)
            drawn = inputs()
            params = {p.name: param_control(p, **({"value": values[p.name]} if p.name in values else {}))
                      for p in declaration.params if p.kind == "labels"}
            tuned = [p for p in declaration.params if p.kind != "labels"]
            if tuned or extra:
                with gr.Accordion(word("parameters"), open=False) as accordion:
                    for p in tuned:
                        params[p.name] = param_control(p, **({"value": values[p.name]} if p.name in values else {}))
                    extras = extra() if extra else []
            with gr.Row():
                run = gr.Button(run_label, variant="primary")
                stop_button = gr.Button(word("stop"), variant="stop") if stop else None
            compare_picks = compare.picker(ctx, key)
            explaining = explain.controls(declaration.endpoint) if declaration.endpoint in explain.ADAPTER_INPUT else None
            if examples:
                filled = drawn + [params[p.name] for p in declaration.params if p.kind == "labels"]
                one = not isinstance(examples[0], (list, tuple))  # plain values fill the first input only
                shown_examples = gr.Examples(examples, inputs=filled[:1] if one else filled, label=word("examples"))
                column_heads(shown_examples.dataset)
        with gr.Column():
            status, alert = state_panels()
            shown = outputs()
            explained = explain.outputs(declaration.endpoint) if explaining else []
    ordered = [params[p.name] for p in declaration.params]
    api_inputs = drawn + (ordered + [model] if model_last else [model] + ordered) + extras
    folded = {id(c): accordion for c in [*(params[p.name] for p in tuned), *extras]}
    fitted = {p.name: params[p.name] for p in declaration.params if p.kind == "number" and not p.seed}
    view = RunView(task=key, model=model, status=status, alert=alert, controls=fitted,
                   fields=Fields(params=params, inputs=[*drawn, model, *extras], folded=folded))
    triggers = [run.click] + ([drawn[0].submit] if drawn and isinstance(drawn[0], gr.Textbox) else [])
    event = wire_run(ctx, view, triggers, fn=fn, inputs=api_inputs, outputs=shown, summary=intro,
                     api_name=declaration.endpoint, batched=declaration.batches, **wire)
    fit_on_pick(ctx, view, extra=fit_extra)
    compare.sides(ctx, view, fn, api_inputs, outputs, compare_picks)
    if explaining:
        explain.wire(ctx, view, declaration.endpoint, api_inputs, explaining, explained)
    return TaskTab(model=model, inputs=drawn, params=params, run=run, stop=stop_button, status=status, alert=alert,
                   outputs=shown, event=event, view=view)
