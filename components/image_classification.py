"""Image classification tab: upload, webcam or paste; top-k labels with confidence bars."""
from __future__ import annotations

from pathlib import Path

import gradio as gr

from models.tasks import task

from .common import Context, model_picker, wire_run
from .inputs import ImageInput, param_control

TASK = "image-classification"


def build(ctx: Context) -> None:
    gr.Markdown("Recognise what is in a photo: the top labels with their confidence.")
    with gr.Row():
        with gr.Column():
            model = model_picker(ctx, TASK)
            image = ImageInput(label="Image", sources=["upload", "webcam", "clipboard"], height=320)
            with gr.Accordion("Parameters", open=False):
                top_k = param_control(task(TASK).param("top_k"))
            run = gr.Button("Classify", variant="primary")
            examples = sorted(str(p) for p in (Path(ctx.settings.examples_dir) / "images").glob("*.jpg"))
            if examples:
                gr.Examples(examples, inputs=[image], label="Examples")
        with gr.Column():
            status = gr.Markdown()
            label = gr.Label(label="Labels", num_top_classes=int(task(TASK).param("top_k").high))

    def classify_image(image: str, model: str | None = None, top_k: int = task(TASK).param("top_k").default
                       ) -> dict[str, float]:
        if image is None:
            raise gr.Error("No image was given; upload an image, use the webcam or paste one.", print_exception=False)
        result = ctx.manager.predict(TASK, model, image, top_k=top_k)
        return {item["label"]: item["score"] for item in result}

    wire_run(ctx, TASK, [run.click], model=model, status=status, fn=classify_image,
             inputs=[image, model, top_k], outputs=[label], api_name="classify_image", batched=True)
