"""Models tab: what is loaded, where, how big and how fast it loaded; unload; versions."""
from __future__ import annotations

import importlib.metadata
import platform
from typing import Any

import gradio as gr

from .common import Context, plain_errors

def versions() -> str:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
    names = ["torch", "transformers", "gradio", "diffusers", "open_clip_torch", "timm"]
    return "Python " + platform.python_version() + " · " + " · ".join(f"{n} {version(n)}" for n in names)


def memory_line(ctx: Context) -> str:
    mem = ctx.manager.memory()
    if mem.get("free_bytes") is None:
        return f"Device: {mem['device']}"
    return (f"Device: **{mem['device']}** · free memory {mem['free_bytes'] / 2**30:.1f} GiB "
            f"of {mem['total_bytes'] / 2**30:.1f} GiB · at most {ctx.manager.max_loaded} models kept loaded")


def build(ctx: Context, tab: gr.Tab) -> None:
    gr.Markdown("The models loaded in this server, least recently used first. Unload one to free its memory.")
    refresh_btn = gr.Button("Refresh", size="sm")
    memory = gr.Markdown()
    loaded = gr.JSON(visible=False)  # the /models endpoint's data, which the rows below render

    def list_models() -> list[dict[str, Any]]:
        return ctx.manager.loaded()

    @plain_errors
    def unload(task: str, model: str) -> list[dict[str, Any]]:
        """Unload one model; returns what stays loaded."""
        if not ctx.manager.unload(task, model):
            raise gr.Error(f"{model} is not loaded for {task}; refresh the list.")
        gr.Info(f"Unloaded {model}.")
        return ctx.manager.loaded()

    @gr.render(inputs=[loaded])
    def rows(models: list[dict[str, Any]] | None) -> None:
        if not models:
            gr.Markdown("No model is loaded yet: run something in another tab.")
            return
        for entry in models:
            with gr.Row(equal_height=True):
                gr.Markdown(
                    f"**{entry['label']}** ({entry['task']}) · {entry['device']} · {entry['dtype']} · "
                    f"{entry['parameters']:,} parameters · {entry['memory_mb']} MB · loaded in {entry['load_seconds']} s")
                if not ctx.settings.hosted:  # on a public host, visitors must not unload each other's models
                    button = gr.Button("Unload", size="sm", variant="secondary", scale=0, min_width=90)
                    task, model = gr.State(entry["task"]), gr.State(entry["model"])
                    button.click(unload, [task, model], [loaded], api_visibility="private")

    gr.Markdown(versions())
    gr.on([refresh_btn.click, tab.select], list_models, None, [loaded], api_name="models").then(
        lambda: memory_line(ctx), None, [memory], api_visibility="private")
    if not ctx.settings.hosted:
        gr.api(unload, api_name="unload", queue=False)
