"""Question answering tab: the answer (with a copy button), the model's confidence in it, and the context
with the answer highlighted."""
from __future__ import annotations

from typing import Any

import gradio as gr

from models.messages import say
from models.tasks import task

from .common import Context
from .language import language_of
from .render import highlighted, percent
from .task_tab import task_tab
from .words import text, word

TASK = "question-answering"
EXAMPLES = [
    ["Where did Ada Lovelace work with Babbage?",
     "Ada Lovelace was an English mathematician. She worked with Charles Babbage in London on the "
     "Analytical Engine, a mechanical general-purpose computer, and wrote what is seen as the first program."],
    ["When was the Eiffel Tower finished?",
     "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. It was designed by "
     "Gustave Eiffel's company and finished in 1889 for the World's Fair."],
]


def build(ctx: Context) -> None:
    def qa(question: str, context: str, model: str | None = None,
           max_answer_tokens: int = task(TASK).param("max_answer_tokens").default,
           request: gr.Request = None) -> tuple[str, str, list[Any]]:
        inputs = {"question": question, "context": context}
        result = ctx.manager.run(TASK, model, "predict", inputs, max_answer_tokens=max_answer_tokens)
        text = result["answer"] if result["answer"] is not None else say("qa.no_answer").render(language_of(request))
        spans = [] if result["answer"] is None else [{"entity": "answer", "start": result["start"], "end": result["end"]}]
        # The confidence as text ("97.2%"): a gr.Number shows "0" before any run, and cannot be empty.
        return text, percent(result["score"]), highlighted(context, spans)

    task_tab(ctx, TASK, intro=text(f"intro.{TASK}"),
             inputs=lambda: [gr.Textbox(label=word("qa.question"), placeholder=word("qa.question.placeholder")),
                             gr.Textbox(label=word("qa.context"), lines=8, placeholder=word("qa.context.placeholder"))],
             outputs=lambda: [gr.Textbox(label=word("qa.answer"), interactive=False, buttons=["copy"]),
                              gr.Textbox(label=word("qa.confidence"), interactive=False),
                              gr.HighlightedText(label=word("qa.in_context"), combine_adjacent=False,
                                                 color_map={"answer": "green"})],
             fn=qa, run_label=word("qa.run"), examples=EXAMPLES)
