"""The playground's UI: one module per tab, composed by build_demo."""
from __future__ import annotations

import importlib
import logging
from pathlib import Path
from typing import Any

import gradio as gr

from models import TASKS, Catalog, ModelManager

from . import compare, explain, fine_tune, language, openai_api, system
from .common import Context, Settings
from .words import word
from .serving import patch_gradio

log = logging.getLogger("playground")

TITLE = "Model Playground"
CSS = (Path(__file__).parent / "style.css").read_text()  # passed to launch() (app.launch_options)


def build_demo(catalog: Catalog, manager: ModelManager, settings: Settings | None = None,
               availability: Any = None) -> gr.Blocks:
    """The whole app, from its dependencies; tabs whose task has no model in the catalog are left out.
    availability (models/availability.py): what the server can get, for the pickers' marks."""
    ctx = Context(catalog=catalog, manager=manager, settings=settings or Settings(),
                  availability=availability if availability is not None else getattr(manager, "availability", None))
    patch_gradio()  # logs what is lost on a Gradio these patches were not written for
    with gr.Blocks(title=TITLE) as demo:
        with gr.Row(elem_classes=["page-head"]):
            gr.Markdown(f"# {TITLE}", elem_classes=["page-title"])
            choice = language.switch()
        gr.Markdown(word("page.intro"))
        with gr.Tabs():
            for task in TASKS.values():  # one tab per declared task (models/tasks.py), in their order
                if not catalog.models(task.key):
                    log.info("No %s tab: the catalog has no model for %s.", task.title, task.key)
                    continue
                with gr.Tab(word(f"task.{task.key}"), id=task.key):
                    importlib.import_module(f"{__name__}.{task.tab}").build(ctx)
            if ctx.settings.allow_training and any(catalog.models(t) for t in ("sentiment", "ner", "text-generation")):
                with gr.Tab(word("tab.fine-tune"), id="fine-tune"):
                    fine_tune.build(ctx)
            with gr.Tab(word("tab.models"), id="models") as models_tab:
                system.build(ctx, models_tab)
        demo.load(None, None, [choice], js=language.CURRENT_JS, queue=False, api_visibility="private")
        compare.build(ctx, demo)  # /compare, on every endpoint the tabs made
        explain.build(ctx, demo)  # /explain, on every endpoint that has an explanation
    demo.queue(default_concurrency_limit=ctx.settings.concurrency_limit)
    hide_start_values(demo)
    openai_api.attach(demo, ctx)  # the /v1 API, served by launch() (app.launch_options)
    return demo


def hide_start_values(demo: gr.Blocks) -> None:
    """A control whose value is a function (a seed box starts empty this way: components/inputs.py)
    gets a load event (attached when the Blocks closes) that Gradio names "lambda_N" and lists as a
    public endpoint and MCP tool: it only sets where the control starts, so it is made private."""
    for fn in demo.fns.values():
        if getattr(fn, "api_name", None) and str(fn.api_name).startswith("lambda"):
            fn.api_visibility = "private"


__all__ = ["CSS", "Settings", "build_demo"]
