"""Zero-shot classification tab: any labels, no training; confidence bars for the best, every label on request."""
from __future__ import annotations

from typing import Any

import gradio as gr

from models.messages import say
from models.tasks import task

from .common import Context
from .language import language_of
from .render import label_bars, label_scores
from .task_tab import task_tab
from .words import text, word

TASK = "zero-shot-classification"
LABELS = "technology, sports, politics, cooking"
EXAMPLES = [
    ["The new phone's battery lasts two days and the camera is superb.", LABELS],
    ["The striker scored twice in the last ten minutes.", LABELS],
    ["Whisk the eggs with sugar, then fold in the flour.", LABELS],
]


def build(ctx: Context) -> None:
    param = task(TASK).param

    def zero_shot_classification(text: str, labels: Any, multi_label: bool = False,
                                 hypothesis_template: str = param("hypothesis_template").default,
                                 model: str | None = None, request: gr.Request = None) -> dict[str, float]:
        result = ctx.manager.predict(TASK, model, text, labels=labels, multi_label=multi_label,
                                     hypothesis_template=hypothesis_template)
        if result["truncated"]:
            gr.Warning(say("text.read_beginning").render(language_of(request)))
        return label_scores(result["labels"])

    task_tab(ctx, TASK, intro=text(f"intro.{TASK}"),
             inputs=lambda: [gr.Textbox(label=word("text"), lines=4, placeholder=word("placeholder.sentence"))],
             outputs=lambda: [label_bars(word("labels"))],
             fn=zero_shot_classification, run_label=word("run.classify"), examples=EXAMPLES, values={"labels": LABELS},
             model_last=True)
