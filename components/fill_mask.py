"""Fill-mask tab: the likeliest words for the mask, with their probabilities, and the sentence completed."""
from __future__ import annotations

from typing import Any

import gradio as gr

from models.tasks import task

from .common import Context, model_picker, wire_run
from .inputs import param_control

TASK = "fill-mask"
EXAMPLES = [  # written with BERT's mask token; a model with another one says which to type
    "Paris is the [MASK] of France.",
    "The doctor told me to take this [MASK] twice a day.",
    "I went to the bakery to buy some [MASK].",
]


def build(ctx: Context) -> None:
    declaration = task(TASK)
    top_k_param = declaration.param("top_k")
    gr.Markdown("See what a masked language model learned in pre-training: type a sentence with the model's "
                "mask token (`[MASK]` for BERT models, `<mask>` for RoBERTa) and get its likeliest words.")
    with gr.Row():
        with gr.Column():
            model = model_picker(ctx, TASK)
            text = gr.Textbox(label="Text", lines=3, placeholder="Paris is the [MASK] of France.")
            with gr.Accordion("Parameters", open=False):
                top_k = param_control(top_k_param)
            run = gr.Button("Fill the mask", variant="primary")
            gr.Examples(EXAMPLES, inputs=[text], label="Examples")
        with gr.Column():
            status = gr.Markdown()
            candidates = gr.Label(label="Candidates for the mask", num_top_classes=int(top_k_param.high))
            completed = gr.Textbox(label="Completed with the likeliest word", interactive=False)

    def fill_mask(text: str, model: str | None = None, top_k: int = top_k_param.default) -> tuple[dict[str, float], str]:
        result: dict[str, Any] = ctx.manager.predict(TASK, model, text, top_k=top_k)
        first = result["masks"][0]
        if len(result["masks"]) > 1:
            gr.Info(f"The text has {len(result['masks'])} masks; the candidates shown are the first one's.")
        return {c["token_str"]: c["score"] for c in first}, first[0]["sequence"] if first else ""

    wire_run(ctx, TASK, [run.click, text.submit], model=model, status=status, fn=fill_mask,
             inputs=[text, model, top_k], outputs=[candidates, completed], api_name="fill_mask", batched=True)
