"""Question answering tab: the answer, its score, and the context with the answer highlighted."""
from __future__ import annotations

from typing import Any

import gradio as gr

from models.tasks import task

from .common import Context, model_picker, wire_run
from .inputs import param_control

TASK = "question-answering"
EXAMPLES = [
    ["Where did Ada Lovelace work with Babbage?",
     "Ada Lovelace was an English mathematician. She worked with Charles Babbage in London on the "
     "Analytical Engine, a mechanical general-purpose computer, and wrote what is seen as the first program."],
    ["When was the Eiffel Tower finished?",
     "The Eiffel Tower is a wrought-iron lattice tower on the Champ de Mars in Paris. It was designed by "
     "Gustave Eiffel's company and finished in 1889 for the World's Fair."],
]


def highlight_answer(context: str, result: dict[str, Any]) -> dict[str, Any]:
    if result["answer"] is None:
        return {"text": context, "entities": []}
    return {"text": context, "entities": [{"entity": "answer", "start": result["start"], "end": result["end"]}]}


def build(ctx: Context) -> None:
    gr.Markdown("Ask a question about a text: the answer is a span of the text, highlighted in place.")
    with gr.Row():
        with gr.Column():
            model = model_picker(ctx, TASK)
            question = gr.Textbox(label="Question", placeholder="Who, what, where…?")
            context = gr.Textbox(label="Context", lines=8, placeholder="The text that holds the answer…")
            with gr.Accordion("Parameters", open=False):
                max_answer_tokens = param_control(task(TASK).param("max_answer_tokens"))
            run = gr.Button("Answer", variant="primary")
            gr.Examples(EXAMPLES, inputs=[question, context], label="Examples")
        with gr.Column():
            status = gr.Markdown()
            answer = gr.Textbox(label="Answer", interactive=False)
            score = gr.Number(label="Score", precision=4, interactive=False)
            highlighted = gr.HighlightedText(label="Answer in context", combine_adjacent=False,
                                             color_map={"answer": "green"})

    def qa(question: str, context: str, model: str | None = None,
           max_answer_tokens: int = task(TASK).param("max_answer_tokens").default) -> tuple[str, float, dict[str, Any]]:
        inputs = {"question": question, "context": context}
        result = ctx.manager.call(TASK, model, lambda p: p.predict(inputs, max_answer_tokens=max_answer_tokens))
        text = result["answer"] if result["answer"] is not None else "(no answer in this text)"
        return text, round(result["score"], 4), highlight_answer(context, result)

    wire_run(ctx, TASK, [run.click, question.submit], model=model, status=status, fn=qa,
             inputs=[question, context, model, max_answer_tokens], outputs=[answer, score, highlighted], api_name="qa")
