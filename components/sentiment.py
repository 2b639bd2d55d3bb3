"""Sentiment tab: every label with a confidence bar."""
from __future__ import annotations

import gradio as gr

from .common import Context, model_picker, wire_run

TASK = "sentiment"
EXAMPLES = [
    "I love how this playground lets me try models without writing any code.",
    "The battery died after an hour and support never answered. Very disappointing.",
    "The film was long, but the last twenty minutes were worth it.",
]


def build(ctx: Context) -> None:
    gr.Markdown("Classify the sentiment of a text: every label with its confidence.")
    with gr.Row():
        with gr.Column():
            model = model_picker(ctx, TASK)
            text = gr.Textbox(label="Text", lines=4, placeholder="Type a sentence…")
            run = gr.Button("Classify", variant="primary")
            gr.Examples(EXAMPLES, inputs=[text], label="Examples")
        with gr.Column():
            status = gr.Markdown()
            label = gr.Label(label="Sentiment", num_top_classes=10)

    def sentiment(text: str, model: str | None = None) -> dict[str, float]:
        result = ctx.manager.predict(TASK, model, text)
        if result["truncated"]:
            gr.Warning("The text is longer than the model reads; only its beginning was classified.")
        return {item["label"]: item["score"] for item in result["labels"]}

    wire_run(ctx, TASK, [run.click, text.submit], model=model, status=status, fn=sentiment,
             inputs=[text, model], outputs=[label], api_name="sentiment", batched=True)
