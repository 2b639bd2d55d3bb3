"""Fill-mask tab: the likeliest words for the mask, with their probabilities, and the sentence completed."""
from __future__ import annotations

from typing import Any

import gradio as gr

from models.messages import say
from models.tasks import task

from .common import Context
from .language import language_of
from .render import label_bars
from .task_tab import task_tab
from .words import text, word

TASK = "fill-mask"
EXAMPLES = [  # written with BERT's mask token; a model with another one says which to type
    "Paris is the [MASK] of France.",
    "The doctor told me to take this [MASK] twice a day.",
    "I went to the bakery to buy some [MASK].",
]


def build(ctx: Context) -> None:
    top_k = task(TASK).param("top_k")

    def fill_mask(text: str, model: str | None = None, top_k: int = top_k.default,
                  request: gr.Request = None) -> tuple[dict[str, float], str]:
        result: dict[str, Any] = ctx.manager.predict(TASK, model, text, top_k=top_k)
        first = result["masks"][0]
        if len(result["masks"]) > 1:
            gr.Info(say("fill_mask.first_mask_shown", count=len(result["masks"])).render(language_of(request)))
        return {c["token_str"]: c["score"] for c in first}, first[0]["sequence"] if first else ""

    task_tab(ctx, TASK, intro=text(f"intro.{TASK}"),
             inputs=lambda: [gr.Textbox(label=word("text"), lines=3, placeholder="Paris is the [MASK] of France.")],
             outputs=lambda: [label_bars(word("fill.candidates"), noun="candidates"),
                              gr.Textbox(label=word("fill.completed"), interactive=False,
                                         buttons=["copy"])],
             fn=fill_mask, run_label=word("fill.run"), examples=EXAMPLES)
