"""CLIP tab: zero-shot classification, text-to-image search, and caption ranking (open_clip)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

import gradio as gr

from models.tasks import task

from . import compare, explain
from .common import Context, model_picker
from .inputs import ImageInput, param_control
from .render import label_bars, percent
from .running import Fields, RunView, fit_on_pick, state_panels, wire_run
from .task_tab import title
from .words import text, word

TASK = "clip"
DEFAULT_TEMPLATE = "a photo of a {}."
# where the boxes start and what the search offers; a catalog file's `examples: {clip: ...}` replaces them
EXAMPLES = {"labels": "cat, dog, coffee, rocket", "template": DEFAULT_TEMPLATE,
            "captions": "a cat lying on a blanket\na cup of coffee\na rocket on its launch pad",
            "queries": ["a cat", "a hot drink", "a launch into space"]}


def as_paths(images: Any) -> list[str]:
    """gr.File(file_count="multiple") gives paths (or file objects with .name)."""
    if not images:
        return []
    return [getattr(f, "name", f) if not isinstance(f, dict) else f.get("path") for f in images]


def ranked_images() -> gr.Gallery:
    return gr.Gallery(label=word("clip.ranked"), columns=4, height=420, object_fit="contain")


def build(ctx: Context) -> None:
    title(TASK, text(f"intro.{TASK}"))
    model = model_picker(ctx, TASK)
    status, alert = state_panels()
    examples = sorted(str(p) for p in (Path(ctx.settings.examples_dir) / "images").glob("*.jpg"))
    texts = {**EXAMPLES, **(ctx.catalog.examples_for(TASK) or {})}
    with gr.Tabs():
        with gr.Tab(word("clip.tab.zero_shot")):
            with gr.Row():
                with gr.Column():
                    zs_image = ImageInput(label=word("image"), sources=["upload", "webcam", "clipboard"], height=280)
                    labels = gr.Textbox(label=word("clip.labels"), value=texts["labels"])
                    with gr.Accordion(word("parameters"), open=False) as zs_parameters:
                        template = gr.Textbox(label=word("clip.template"), value=texts["template"])
                    zs_run = gr.Button(word("run.classify"), variant="primary")
                    zs_compare = compare.picker(ctx, TASK, settings=[])
                    zs_explain = explain.controls("clip_zero_shot")
                    if examples:
                        gr.Examples(examples, inputs=[zs_image], label=word("examples"))
                with gr.Column():
                    zs_out = label_bars(word("clip.scores"))
                    zs_explained = explain.outputs("clip_zero_shot")
            zs_sides = compare.draw(lambda: [label_bars(word("clip.scores"))])
        with gr.Tab(word("clip.tab.search")):
            with gr.Row():
                with gr.Column():
                    images = gr.File(label=word("clip.images"), file_count="multiple", file_types=["image"],
                                     value=examples or None)
                    query = gr.Textbox(label=word("clip.query"), placeholder=word("clip.query.placeholder"))
                    with gr.Accordion(word("parameters"), open=False) as search_parameters:
                        top_k = param_control(task(TASK).param("top_k"))
                    search_run = gr.Button(word("clip.search"), variant="primary")
                    search_compare = compare.picker(ctx, TASK)
                    search_explain = explain.controls("clip_search")
                    gr.Examples([[q] for q in texts["queries"]], inputs=[query], label=word("examples"))
                with gr.Column():
                    gallery = ranked_images()
                    search_explained = explain.outputs("clip_search")
            search_sides = compare.draw(lambda: [ranked_images()])
        with gr.Tab(word("clip.tab.rank")):
            with gr.Row():
                with gr.Column():
                    rank_image = ImageInput(label=word("image"), sources=["upload", "webcam", "clipboard"], height=280)
                    captions = gr.Textbox(label=word("clip.captions"), lines=5, value=texts["captions"])
                    rank_run = gr.Button(word("clip.rank"), variant="primary")
                    rank_compare = compare.picker(ctx, TASK, settings=[])
                    rank_explain = explain.controls("clip_rank_captions")
                    if examples:
                        gr.Examples(examples, inputs=[rank_image], label=word("examples"))
                with gr.Column():
                    rank_out = label_bars(word("clip.captions.ranked"), noun="captions")
                    rank_explained = explain.outputs("clip_rank_captions")
            rank_sides = compare.draw(lambda: [label_bars(word("clip.captions.ranked"), noun="captions")])

    def clip_zero_shot(image: str, labels: str, template: str = DEFAULT_TEMPLATE, model: str | None = None) -> dict[str, float]:
        ranked = ctx.manager.run(TASK, model, "zero_shot", image, labels, template=template)
        return {r["label"]: r["score"] for r in ranked}

    def clip_search(query: str, images: list[str], model: str | None = None,
                    top_k: int = task(TASK).param("top_k").default) -> list[tuple[str, str]]:
        paths = as_paths(images)
        ranked = ctx.manager.run(TASK, model, "search", query, paths, top_k=top_k)
        return [(paths[r["index"]], percent(r["score"])) for r in ranked]  # as the other views: a probability

    def clip_rank_captions(image: str, captions: str, model: str | None = None) -> dict[str, float]:
        ranked = ctx.manager.run(TASK, model, "rank_captions", image, captions)
        return {r["caption"]: r["score"] for r in ranked}

    fields = Fields(params={"top_k": top_k}, inputs=[labels, template, query, images, captions, model],
                    folded={id(template): zs_parameters, id(top_k): search_parameters})
    view = RunView(task=TASK, model=model, status=status, alert=alert, fields=fields)
    wire_run(ctx, view, [zs_run.click], fn=clip_zero_shot, inputs=[zs_image, labels, template, model],
             summary="Label an image with your own words: each label's probability, from CLIP's image-text similarity.",
             outputs=[zs_out], api_name="clip_zero_shot")
    wire_run(ctx, view, [search_run.click, query.submit], fn=clip_search, inputs=[query, images, model, top_k],
             summary="Search a set of images with a sentence: the best matches first, each with its probability.",
             outputs=[gallery], api_name="clip_search", gpu_seconds=lambda images=None, **_: 20 + len(images or []) / 2)
    wire_run(ctx, view, [rank_run.click], fn=clip_rank_captions, inputs=[rank_image, captions, model],
             summary="Rank captions for an image: the best caption first, each with its probability.",
             outputs=[rank_out], api_name="clip_rank_captions")
    compare.wire(ctx, view, clip_zero_shot, [zs_image, labels, template, model], zs_sides, zs_compare)
    compare.wire(ctx, view, clip_search, [query, images, model, top_k], search_sides, search_compare)
    compare.wire(ctx, view, clip_rank_captions, [rank_image, captions, model], rank_sides, rank_compare)
    explain.wire(ctx, view, "clip_zero_shot", [zs_image, labels, template, model], zs_explain, zs_explained)
    explain.wire(ctx, view, "clip_search", [query, images, model, top_k], search_explain, search_explained)
    explain.wire(ctx, view, "clip_rank_captions", [rank_image, captions, model], rank_explain, rank_explained)
    fit_on_pick(ctx, view)
