"""The layout and wiring every task tab shares, drawn from the task's declaration (models/tasks.py):
the model picker, the tab's own inputs, a control per declared parameter, Run (and Stop), examples,
the status line and the tab's own outputs, and the public endpoint. A tab module holds only what is
special about its task: its inputs, its outputs and the handler that turns a result into them."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr

from models.tasks import task

from .common import Context, model_picker, wire_run
from .inputs import param_control


@dataclass
class TaskTab:
    """The components drawn, for a tab that wires more (Stop, a model's own settings)."""

    model: gr.Dropdown
    inputs: list[Any]
    params: dict[str, Any]
    run: gr.Button
    stop: gr.Button | None
    status: gr.Markdown
    outputs: list[Any]
    event: Any


def task_tab(ctx: Context, key: str, *, intro: str, inputs: Callable[[], list[Any]],
             outputs: Callable[[], list[Any]], fn: Callable, run_label: str, examples: list[Any] | None = None,
             values: dict[str, Any] | None = None, stop: bool = False, model_last: bool = False,
             **wire: Any) -> TaskTab:
    """Draw a task's tab and wire its endpoint (the declaration's, batched when it batches).

    The endpoint takes the tab's inputs, then the model, then the declared parameters in their
    order (model_last: the parameters before the model). "labels" parameters are inputs a person
    fills, drawn with the inputs; the others go in a Parameters accordion. `values` overrides where
    a control starts (a parameter the model decides, an example label set); examples fill the
    tab's inputs and the labels. A first input that is a text box runs the task on Enter too."""
    declaration = task(key)
    values = values or {}
    gr.Markdown(intro)
    with gr.Row():
        with gr.Column():
            model = model_picker(ctx, key)
            drawn = inputs()
            params = {p.name: param_control(p, **({"value": values[p.name]} if p.name in values else {}))
                      for p in declaration.params if p.kind == "labels"}
            tuned = [p for p in declaration.params if p.kind != "labels"]
            if tuned:
                with gr.Accordion("Parameters", open=False):
                    for p in tuned:
                        params[p.name] = param_control(p, **({"value": values[p.name]} if p.name in values else {}))
            with gr.Row():
                run = gr.Button(run_label, variant="primary")
                stop_button = gr.Button("Stop", variant="stop") if stop else None
            if examples:
                filled = drawn + [params[p.name] for p in declaration.params if p.kind == "labels"]
                gr.Examples(examples, inputs=filled if len(filled) > 1 else filled[:1], label="Examples")
        with gr.Column():
            status = gr.Markdown()
            shown = outputs()
    ordered = [params[p.name] for p in declaration.params]
    api_inputs = drawn + (ordered + [model] if model_last else [model] + ordered)
    triggers = [run.click] + ([drawn[0].submit] if drawn and isinstance(drawn[0], gr.Textbox) else [])
    event = wire_run(ctx, key, triggers, model=model, status=status, fn=fn, inputs=api_inputs, outputs=shown,
                     api_name=declaration.endpoint, batched=declaration.batches, **wire)
    return TaskTab(model=model, inputs=drawn, params=params, run=run, stop=stop_button, status=status,
                   outputs=shown, event=event)
