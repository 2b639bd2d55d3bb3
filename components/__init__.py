"""The playground's UI: one module per tab, composed by build_demo."""
from __future__ import annotations

import gradio as gr

from models import Catalog, ModelManager

from . import clip, image_classification, ner, question_answering, sentiment, system, text_generation, text_to_image
from .common import Context, Settings
from .serving import patch_gradio

TABS = [
    ("Text generation", "text-generation", text_generation),
    ("Sentiment", "sentiment", sentiment),
    ("Named entities", "ner", ner),
    ("Question answering", "question-answering", question_answering),
    ("Image classification", "image-classification", image_classification),
    ("CLIP", "clip", clip),
    ("Text to image", "text-to-image", text_to_image),
]

TITLE = "Model Playground"


def build_demo(catalog: Catalog, manager: ModelManager, settings: Settings | None = None) -> gr.Blocks:
    """The whole app, from its dependencies; tabs whose task has no model in the catalog are left out."""
    ctx = Context(catalog=catalog, manager=manager, settings=settings or Settings())
    patch_gradio()  # logs what is lost on a Gradio these patches were not written for
    with gr.Blocks(title=TITLE) as demo:
        gr.Markdown(f"# {TITLE}\nTry today's open models in the browser: pick a tab, pick a model, run an example.")
        with gr.Tabs():
            for title, task, module in TABS:
                if catalog.models(task):
                    with gr.Tab(title, id=task):
                        module.build(ctx)
            with gr.Tab("Models", id="models") as models_tab:
                system.build(ctx, models_tab)
    demo.queue(default_concurrency_limit=ctx.settings.concurrency_limit)
    return demo


__all__ = ["Settings", "build_demo"]
