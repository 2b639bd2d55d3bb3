"""Models tab: what is loaded (where, in which precision, how big, how fast it loaded, when it was last
used), load and unload, what the server can get (the cache and the Hub, as checked at startup, with
the operator's advice), and the library versions."""
from __future__ import annotations

import importlib.metadata
import platform
import time
from typing import Any

import gradio as gr

from models import InvalidInput
from models.availability import human_size
from models.messages import ENGLISH, Joined, say

from .common import Context, plain_errors, sentence_of
from .language import language_of
from .running import millions
from .words import text, word

# the tables' columns: words.py keys, their text sent with each update in the reader's language
LOADED_COLUMNS = ["task", "model", "device", "precision", "parameters", "memory", "load_time", "last_used"]
CATALOG_COLUMNS = ["task", "model", "state", "size"]
LOADED_HEADERS = [text(f"models.column.{c}") for c in LOADED_COLUMNS]  # English, as the page builds them
CATALOG_HEADERS = [text(f"models.column.{c}") for c in CATALOG_COLUMNS]


def headers(columns: list[str], language: str = ENGLISH) -> list[str]:
    return [text(f"models.column.{c}", language) for c in columns]


def versions() -> str:
    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"
    names = ["torch", "transformers", "gradio", "diffusers", "open_clip_torch", "timm"]
    return "Python " + platform.python_version() + " · " + " · ".join(f"{n} {version(n)}" for n in names)


def memory_line(ctx: Context, language: str = ENGLISH) -> str:
    if hasattr(ctx.manager, "replicas"):  # --backend ray (models/cluster.py)
        return cluster_lines(ctx, language)
    if ctx.manager.device_if_known() is None:  # asking for the device would import torch before any model
        return say("models.no_model_yet", limit=ctx.manager.max_loaded).render(language)
    mem = ctx.manager.memory()
    if mem.get("free_bytes") is None:
        return say("models.device", device=mem["device"], limit=ctx.manager.max_loaded).render(language)
    return say("models.device_memory", device=mem["device"], free=mem["free_bytes"] / 2**30,
               total=mem["total_bytes"] / 2**30, limit=ctx.manager.max_loaded).render(language)


def ray_state(state: str, language: str = ENGLISH) -> str:
    """A state of Ray Serve's (HEALTHY, RUNNING...) as a word; lower-case as Ray writes it where words.py has none."""
    return text(f"models.ray.{state.lower()}", language, default=state.lower())


def cluster_lines(ctx: Context, language: str = ENGLISH) -> str:
    """Ray Serve: each deployment's replicas by state (serve.status()), then each replica: its node, device,
    requests running and models."""
    manager: Any = ctx.manager
    deployments = manager.deployments()
    if not deployments:
        if manager.failure:  # a Message where the cluster said why: in the same language
            return say("models.ray_not_connected_because", address=manager.address,
                       failure=manager.failure).render(language)
        return say("models.ray_not_connected", address=manager.address).render(language)
    parts = []
    for d in deployments:
        replicas = [say("models.replica_state", count=n, state=ray_state(state, language)).render(language)
                    for state, n in sorted(d["replicas"].items())]
        parts.append(say("models.deployment", application=d["application"], status=ray_state(d["status"], language),
                         replicas=Joined(replicas)).render(language))
    lines = [say("models.ray_served", address=manager.address, limit=manager.max_loaded,
                 deployments=" · ".join(parts)).render(language)]
    for r in manager.replicas():
        models = Joined(m["label"] for m in r["models"]) or say("models.no_model")
        lines.append(say("models.replica_one" if r["running"] == 1 else "models.replica_many", replica=r["replica"],
                         deployment=r["deployment"], node=r["node"], device=r["device"] or say("models.no_device_yet"),
                         running=r["running"], models=models).render(language))
    return "\n".join(lines)


def ago(when: float | None, now: float | None = None, language: str = ENGLISH) -> str:
    if not when:
        return ""
    seconds = max(0.0, (now or time.time()) - when)
    if seconds < 60:
        return say("models.seconds_ago", seconds=seconds).render(language)
    if seconds < 3600:
        return say("models.minutes_ago", minutes=seconds / 60).render(language)
    return say("models.hours_ago", hours=seconds / 3600).render(language)


def state_words(state: str, language: str = ENGLISH) -> str:
    """Where a catalog model is (models/availability.py), in words.py's models.state.<state>."""
    return text(f"models.state.{state}", language, default=state)


def megabytes(mb: float) -> str:
    return f"{mb:,.0f} MB" if mb >= 10 else f"{mb:.2g} MB"


def loaded_rows(models: list[dict[str, Any]], language: str = ENGLISH) -> list[list[Any]]:
    """The /models data as the table shows it, most recently used first."""
    rows = []
    for m in sorted(models, key=lambda m: m.get("last_used") or 0, reverse=True):
        device = say("models.on_replica", device=m["device"], replica=m["replica"]).render(language) \
            if m.get("replica") else m["device"]
        rows.append([m["task"], m["label"], device, m["dtype"], millions(m["parameters"]),
                     megabytes(m["memory_mb"]), say("models.load_time", seconds=m["load_seconds"]).render(language),
                     ago(m.get("last_used"), language=language)])
    return rows


def catalog_rows(ctx: Context, language: str = ENGLISH) -> list[list[Any]]:
    if ctx.availability is None:
        return []
    return [[state.task, state.label, state_words(state.state, language),
             human_size(state.size_bytes) if state.size_bytes else ""]
            for state in ctx.availability.catalog_states()]


def catalog_note(ctx: Context, language: str = ENGLISH) -> str:
    if ctx.availability is None:
        return ""
    note = ctx.availability.summary().render(language)
    if ctx.availability.offline():
        note += "\n\n" + say("models.operator", advice=ctx.availability.advice()).render(language)
    return note


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

    def unload_one_model(task: str, model: str) -> None:
        if not ctx.manager.unload(task, model):
            raise InvalidInput(say("models.not_loaded", model=model, task=task), field="model")

    @plain_errors
    def unload(task: str, model: str) -> list[dict[str, Any]]:
        """Unload one model; returns what stays loaded."""
        unload_one_model(task, model)
        return ctx.manager.loaded()

    @plain_errors
    def unload_all() -> list[dict[str, Any]]:
        """Unload every model; returns what stays loaded (nothing)."""
        ctx.manager.unload_all()
        return ctx.manager.loaded()

    def shown(models: list[dict[str, Any]] | None, request: gr.Request = None) -> tuple[Any, ...]:
        """The tables and lines in the reader's language (the headers sent with the rows, so they are too)."""
        language = language_of(request)
        models = models or []
        return ({"headers": headers(LOADED_COLUMNS, language), "data": loaded_rows(models, language)},
                gr.update(choices=list(dict.fromkeys(choice(m) for m in models)), value=None),
                memory_line(ctx, language),
                {"headers": headers(CATALOG_COLUMNS, language), "data": catalog_rows(ctx, language)},
                catalog_note(ctx, language))

    def act(picked: str | None, action: str, language: str = ENGLISH) -> tuple[list[dict[str, Any]], str]:
        """The page's Load / Unload / Unload all, with the outcome in a sentence (never a toast)."""
        try:
            if action == "unload all":
                count = ctx.manager.unload_all()
                said = say("models.unloaded_one" if count == 1 else "models.unloaded_many", count=count)
                return ctx.manager.loaded(), said.render(language)
            if not picked:
                return ctx.manager.loaded(), say("models.pick_first").render(language)
            task, model = picked.split("\n", 1)
            if action == "load":
                started = time.perf_counter()
                ctx.manager.get(task, model)
                return ctx.manager.loaded(), say("models.loaded_in",
                                                 seconds=time.perf_counter() - started).render(language)
            unload_one_model(task, model)
            return ctx.manager.loaded(), say("models.unloaded").render(language)
        except Exception as e:  # noqa: BLE001 - the sentence goes beside the buttons
            return ctx.manager.loaded(), f"⚠ {sentence_of(e, language)}"

    def acting(action: str) -> Any:
        def on_click(picked: str | None, request: gr.Request = None) -> tuple[list[dict[str, Any]], str]:
            return act(picked, action, language_of(request))
        return on_click

    views = [table, which, memory, catalog, note]
    gr.on([tab.select], models, None, [loaded], api_name="models").then(
        shown, [loaded], views, api_visibility="private")
    if not manage:
        # Hidden is not enough: Gradio runs any event by its index, private or not. A public host's
        # visitors get no event that loads or unloads.
        return
    for button, action in [(unload_one, "unload"), (unload_every, "unload all"), (load_one, "load")]:
        picked = to_load if action == "load" else which
        button.click(acting(action), [picked], [loaded, outcome], api_visibility="private",
                     concurrency_id="device", concurrency_limit=ctx.settings.concurrency_limit).then(
            shown, [loaded], views, api_visibility="private")
    gr.api(unload, api_name="unload", queue=False)
    gr.api(unload_all, api_name="unload_all", queue=False)
