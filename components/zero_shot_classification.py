"""Zero-shot classification tab: any labels, no training; a confidence bar per label."""
from __future__ import annotations

from typing import Any

import gradio as gr

from models.tasks import task

from .common import Context, model_picker, wire_run
from .inputs import LabelsInput

TASK = "zero-shot-classification"
EXAMPLES = [
    ["The new phone's battery lasts two days and the camera is superb.", "technology, sports, politics, cooking"],
    ["The striker scored twice in the last ten minutes.", "technology, sports, politics, cooking"],
    ["Whisk the eggs with sugar, then fold in the flour.", "technology, sports, politics, cooking"],
]


def build(ctx: Context) -> None:
    param = task(TASK).param
    gr.Markdown("Classify a text with any labels you type, no training: a natural-language-inference model "
                "checks how well the text supports \"This example is {label}.\" for each.")
    with gr.Row():
        with gr.Column():
            model = model_picker(ctx, TASK)
            text = gr.Textbox(label="Text", lines=4, placeholder="Type a sentence…")
            labels = LabelsInput(label=param("labels").label, value="technology, sports, politics, cooking",
                                info=param("labels").help)
            with gr.Accordion("Parameters", open=False):
                multi_label = gr.Checkbox(label=param("multi_label").label, value=param("multi_label").default,
                                          info=param("multi_label").help)
                template = gr.Textbox(label=param("hypothesis_template").label,
                                      value=param("hypothesis_template").default)
            run = gr.Button("Classify", variant="primary")
            gr.Examples(EXAMPLES, inputs=[text, labels], label="Examples")
        with gr.Column():
            status = gr.Markdown()
            scores = gr.Label(label="Labels", num_top_classes=int(param("labels").high))

    def zero_shot_classification(text: str, labels: Any, multi_label: bool = False,
                                 hypothesis_template: str = param("hypothesis_template").default,
                                 model: str | None = None) -> dict[str, float]:
        result = ctx.manager.predict(TASK, model, text, labels=labels, multi_label=multi_label,
                                     hypothesis_template=hypothesis_template)
        if result["truncated"]:
            gr.Warning("The text is longer than the model reads; only its beginning was classified.")
        return {item["label"]: item["score"] for item in result["labels"]}

    wire_run(ctx, TASK, [run.click, text.submit], model=model, status=status, fn=zero_shot_classification,
             inputs=[text, labels, multi_label, template, model], outputs=[scores],
             api_name="zero_shot_classification", batched=True)
