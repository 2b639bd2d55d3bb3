"""Named entities tab: the text with entities highlighted by type, and a table of them."""
from __future__ import annotations

from typing import Any

import gradio as gr

from .common import Context
from .render import highlighted
from .task_tab import task_tab

TASK = "ner"
EXAMPLES = [
    "Ada Lovelace worked with Charles Babbage in London on the Analytical Engine.",
    "Hugging Face was founded in New York by Clément Delangue, Julien Chaumond and Thomas Wolf.",
    "Angela Merkel met Emmanuel Macron in Paris before flying back to Berlin.",
]
TABLE_HEADERS = ["entity", "type", "score", "start", "end"]


def to_table(result: dict[str, Any]) -> list[list[Any]]:
    return [[e["text"], e["entity"], round(e["score"], 4), e["start"], e["end"]] for e in result["entities"]]


def build(ctx: Context) -> None:
    def ner(text: str, model: str | None = None) -> tuple[dict[str, Any], list[list[Any]]]:
        result = ctx.manager.predict(TASK, model, text)
        return highlighted(text, result["entities"]), to_table(result)

    task_tab(ctx, TASK, intro="Find people, places, organisations and more in a text; entities are highlighted in place.",
             inputs=lambda: [gr.Textbox(label="Text", lines=5, placeholder="Paste a paragraph…")],
             outputs=lambda: [gr.HighlightedText(label="Entities", combine_adjacent=False, show_legend=True),
                              gr.Dataframe(headers=TABLE_HEADERS, label="Entity list", interactive=False)],
             fn=ner, run_label="Find entities", examples=EXAMPLES)
