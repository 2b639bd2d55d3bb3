"""Models tab: what is loaded (where, in which precision, how big, how fast it loaded, when it was last
used), load and unload, what the server can get (the cache and the Hub, as checked at startup, with
the operator's advice), and the library versions."""
from __future__ import annotations

import importlib.metadata
import platform
import time
from typing import Any

import gradio as gr

from models.availability import human_size

from .common import Context, plain_errors, sentence_of
from .running import millions
from .words import word

LOADED_HEADERS = ["Task", "Model", "Device", "Precision", "Parameters", "Memory", "Load time", "Last used"]
CATALOG_HEADERS = ["Task", "Model", "State", "Size"]


def versions() -> str:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
    names = ["torch", "transformers", "gradio", "diffusers", "open_clip_torch", "timm"]
    return "Python " + platform.python_version() + " · " + " · ".join(f"{n} {version(n)}" for n in names)


def memory_line(ctx: Context) -> str:
    if hasattr(ctx.manager, "replicas"):  # --backend ray (models/cluster.py)
        return cluster_lines(ctx)
    if ctx.manager.device_if_known() is None:  # asking for the device would import torch before any model
        return f"No model loaded yet · at most {ctx.manager.max_loaded} models kept loaded"
    mem = ctx.manager.memory()
    if mem.get("free_bytes") is None:
        return f"Device: **{mem['device']}** · at most {ctx.manager.max_loaded} models kept loaded"
    return (f"Device: **{mem['device']}** · free memory {mem['free_bytes'] / 2**30:.1f} GiB "
            f"of {mem['total_bytes'] / 2**30:.1f} GiB · at most {ctx.manager.max_loaded} models kept loaded")


def cluster_lines(ctx: Context) -> str:
    """Ray Serve: each deployment's replicas by state (serve.status()), then each replica: its node, device,
    requests running and models."""
    manager: Any = ctx.manager
    deployments = manager.deployments()
    if not deployments:
        return (f"Served by Ray Serve at **{manager.address}**: not connected yet"
                + (f" ({manager.failure})" if manager.failure else "") + ".")
    parts = [f"**{d['application']}** {d['status'].lower()}, "
             + ", ".join(f"{n} {state.lower()}" for state, n in sorted(d["replicas"].items())) for d in deployments]
    lines = [f"Served by Ray Serve at **{manager.address}** · at most {manager.max_loaded} models per replica · "
             + " · ".join(parts)]
    for r in manager.replicas():
        models = ", ".join(m["label"] for m in r["models"]) or "no model"
        lines.append(f"- replica `{r['replica']}` of **{r['deployment']}** on {r['node']} "
                     f"({r['device'] or 'no model loaded yet'}): {r['running']} request"
                     f"{'s' if r['running'] != 1 else ''} running · {models}")
    return "\n".join(lines)


def ago(when: float | None, now: float | None = None) -> str:
    if not when:
        return ""
    seconds = max(0.0, (now or time.time()) - when)
    if seconds < 60:
        return f"{seconds:.0f} s ago"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min ago"
    return f"{seconds / 3600:.1f} h ago"


STATES = {"local": "ready (a folder here)", "cached": "ready (in the cache)", "download": "needs a download",
          "unavailable": "not available now", "unknown": "being checked", "remote": "on a remote server"}


def megabytes(mb: float) -> str:
    return f"{mb:,.0f} MB" if mb >= 10 else f"{mb:.2g} MB"


def loaded_rows(models: list[dict[str, Any]]) -> list[list[Any]]:
    """The /models data as the table shows it, most recently used first."""
    rows = []
    for m in sorted(models, key=lambda m: m.get("last_used") or 0, reverse=True):
        device = m["device"] + (f" · replica {m['replica']}" if m.get("replica") else "")
        rows.append([m["task"], m["label"], device, m["dtype"], millions(m["parameters"]),
                     megabytes(m["memory_mb"]), f"{m['load_seconds']:.1f} s", ago(m.get("last_used"))])
    return rows


def catalog_rows(ctx: Context) -> list[list[Any]]:
    if ctx.availability is None:
        return []
    return [[state.task, state.label, STATES.get(state.state, state.state),
             human_size(state.size_bytes) if state.size_bytes else ""]
            for state in ctx.availability.catalog_states()]


def catalog_note(ctx: Context) -> str:
    if ctx.availability is None:
        return ""
    text = ctx.availability.summary()
    if ctx.availability.offline():
        text += "\n\n**For the operator:** " + ctx.availability.advice()
    return text


def choice(entry: dict[str, Any]) -> tuple[str, str]:
    return f"{entry['task']} · {entry['label']}", f"{entry['task']}\n{entry['model']}"


def build(ctx: Context, tab: gr.Tab) -> None:
    gr.Markdown(word("models.heading"),
                elem_classes=["task-intro"])
    memory = gr.Markdown()
    loaded = gr.JSON(visible=False)  # the /models endpoint's data, which the table renders
    table = gr.Dataframe(headers=LOADED_HEADERS, label=word("models.loaded"),
                         interactive=False, wrap=True)
    manage = not ctx.settings.hosted  # on a public host, visitors must not unload each other's models
    with gr.Row(visible=manage):
        which = gr.Dropdown(label=word("models.loaded_model"), choices=[], scale=3)
        unload_one = gr.Button(word("models.unload"), variant="secondary", scale=1, min_width=100)
        unload_every = gr.Button(word("models.unload_all"), variant="stop", scale=1, min_width=100)
    with gr.Row(visible=manage):
        to_load = gr.Dropdown(label=word("models.load_from_list"), scale=3, value=None,
                              choices=[(f"{s.task} · {s.name}", f"{s.task}\n{s.model_id}")
                                       for t in ctx.catalog.tasks() for s in ctx.catalog.models(t)])
        load_one = gr.Button(word("models.load"), variant="primary", scale=1, min_width=100)
    outcome = gr.Markdown()
    note = gr.Markdown()
    catalog = gr.Dataframe(headers=CATALOG_HEADERS, label=word("models.catalog"), interactive=False,
                           wrap=True)
    gr.Markdown(versions())

    def models() -> list[dict[str, Any]]:
        """What is loaded: task, model, label, device, dtype, parameters, memory_mb, load_seconds,
        loaded_at and last_used (seconds since the epoch), least recently used first."""
        return ctx.manager.loaded()

    @plain_errors
    def unload(task: str, model: str) -> list[dict[str, Any]]:
        """Unload one model; returns what stays loaded."""
        if not ctx.manager.unload(task, model):
            raise gr.Error(f"{model} is not loaded for {task}; it may have been unloaded already.")
        return ctx.manager.loaded()

    @plain_errors
    def unload_all() -> list[dict[str, Any]]:
        """Unload every model; returns what stays loaded (nothing)."""
        ctx.manager.unload_all()
        return ctx.manager.loaded()

    def shown(models: list[dict[str, Any]] | None) -> tuple[Any, ...]:
        models = models or []
        return (loaded_rows(models), gr.update(choices=list(dict.fromkeys(choice(m) for m in models)), value=None),
                memory_line(ctx), catalog_rows(ctx), catalog_note(ctx))

    def act(picked: str | None, action: str) -> tuple[list[dict[str, Any]], str]:
        """The page's Load / Unload / Unload all, with the outcome in a sentence (never a toast)."""
        try:
            if action == "unload all":
                count = ctx.manager.unload_all()
                return ctx.manager.loaded(), f"Unloaded {count} model{'s' if count != 1 else ''}."
            if not picked:
                return ctx.manager.loaded(), "Pick a model first."
            task, model = picked.split("\n", 1)
            if action == "load":
                started = time.perf_counter()
                ctx.manager.get(task, model)
                return ctx.manager.loaded(), f"Loaded in {time.perf_counter() - started:.1f} s."
            unload(task, model)
            return ctx.manager.loaded(), "Unloaded; its memory is free again."
        except Exception as e:  # noqa: BLE001 - the sentence goes beside the buttons
            return ctx.manager.loaded(), f"⚠ {sentence_of(e)}"

    views = [table, which, memory, catalog, note]
    gr.on([tab.select], models, None, [loaded], api_name="models").then(
        shown, [loaded], views, api_visibility="private")
    if not manage:
        # Hidden is not enough: Gradio runs any event by its index, private or not. A public host's
        # visitors get no event that loads or unloads.
        return
    for button, action in [(unload_one, "unload"), (unload_every, "unload all"), (load_one, "load")]:
        picked = to_load if action == "load" else which
        button.click(lambda p, a=action: act(p, a), [picked], [loaded, outcome], api_visibility="private",
                     concurrency_id="device", concurrency_limit=ctx.settings.concurrency_limit).then(
            shown, [loaded], views, api_visibility="private")
    gr.api(unload, api_name="unload", queue=False)
    gr.api(unload_all, api_name="unload_all", queue=False)
