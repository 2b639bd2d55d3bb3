"""Named entities tab: the text with each entity highlighted and its type written beside it, and a table of them."""
from __future__ import annotations

from typing import Any

import gradio as gr

from .common import Context
from .language import language_of
from .render import ENTITY_COLOURS, ENTITY_HEADERS, entity_table, entity_type, highlighted
from .task_tab import task_tab
from .words import text, word

TASK = "ner"
EXAMPLES = [
    "Ada Lovelace worked with Charles Babbage in London on the Analytical Engine.",
    "Hugging Face was founded in New York by Clément Delangue, Julien Chaumond and Thomas Wolf.",
    "Angela Merkel met Emmanuel Macron in Paris before flying back to Berlin.",
]


def build(ctx: Context) -> None:
    def ner(text: str, model: str | None = None,
            request: gr.Request = None) -> tuple[list[tuple[str, str | None]], dict[str, Any]]:
        result = ctx.manager.predict(TASK, model, text)
        language = language_of(request)  # the types and the table's columns in the reader's words
        spans = [{**e, "entity": entity_type(e["entity"], language)} for e in result["entities"]]
        return highlighted(text, spans), entity_table(result["entities"], language)

    # The type is written beside each entity (not only its colour, in a legend): readable without colour.
    task_tab(ctx, TASK, intro=text(f"intro.{TASK}"),
             inputs=lambda: [gr.Textbox(label=word("text"), lines=5, placeholder=word("ner.placeholder"))],
             outputs=lambda: [gr.HighlightedText(label=word("ner.entities"), combine_adjacent=False, show_legend=False,
                                                 show_inline_category=True, color_map=ENTITY_COLOURS),
                              gr.Dataframe(headers=ENTITY_HEADERS, datatype=["str", "str", "number"],
                                           label=word("ner.list"), interactive=False)],
             fn=ner, run_label=word("ner.run"), examples=EXAMPLES)
