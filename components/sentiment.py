"""Sentiment tab: the labels with confidence bars, the best first."""
from __future__ import annotations

import gradio as gr

from models.messages import say

from .common import Context
from .language import language_of
from .render import label_bars, label_scores
from .task_tab import task_tab
from .words import text, word

TASK = "sentiment"
EXAMPLES = [
    "I love how this playground lets me try models without writing any code.",
    "The battery died after an hour and support never answered. Very disappointing.",
    "The film was long, but the last twenty minutes were worth it.",
]


def build(ctx: Context) -> None:
    def sentiment(text: str, model: str | None = None, request: gr.Request = None) -> dict[str, float]:
        result = ctx.manager.predict(TASK, model, text)
        if result["truncated"]:
            gr.Warning(say("text.read_beginning").render(language_of(request)))
        return label_scores(result["labels"])

    task_tab(ctx, TASK, intro=text(f"intro.{TASK}"),
             inputs=lambda: [gr.Textbox(label=word("text"), lines=4, placeholder=word("placeholder.sentence"))],
             outputs=lambda: [label_bars(word("sentiment.output"))],
             fn=sentiment, run_label=word("run.classify"), examples=EXAMPLES)
