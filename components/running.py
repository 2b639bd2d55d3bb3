"""What a person sees around a run, the same in every tab:

- the model's state, always shown at the top of the results: not loaded (and whether it is in this
  server's cache, needs a download of how much, or cannot be had now), loading (a bar, what the load
  is doing, for how long), ready (where, in which precision, how big) or failed (why);
- an error beside its cause: the sentence goes under the field at fault (the Parameters accordion
  opens when the field is in it) and at the top of the results, and the previous result stays;
- controls that fit the model picked, from the first page load on (models/fitting.py reads its
  config files, without loading it).

Each run is two events on the same handler: the page's (this module's generator: load with a
visible state, then run, errors kept in the tab) and the API's endpoint (the handler itself, whose
errors reach the client as one sentence). Data flows one way: these call the manager and the
fitting, never the other way round.
"""
from __future__ import annotations

import functools
import html
import inspect
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import gradio as gr

from models import PlaygroundError
from models.availability import human_size
from models.base import plain_number
from models.messages import ENGLISH, render, say
from models.tasks import task as declared

from .compare import register
from .common import Context, event_options, on_gpu, plain_errors, sentence_of, with_request
from .inputs import Refused, field_name, field_names, first_refused
from .language import language_of
from .tools import endpoint_doc

POLL_SECONDS = 0.25      # how often a watched load's state is sent to the page
PHONE_SCROLL = """() => {
  if (window.innerWidth >= 768) return;
  const shown = [...document.querySelectorAll('.model-status')].find((e) => e.offsetParent !== null);
  if (shown) shown.scrollIntoView({behavior: "smooth", block: "start"});
}"""  # on a phone, Run brings the model's state and the results below it into view


# -- the model's state, as the page shows it ------------------------------------------------------

# what the state panel says of a model not loaded yet, by where it is (models/availability.py): without, with its size
IDLE = {"local": ("state.idle_local", "state.idle_local_size"), "cached": ("state.idle_cached", "state.idle_cached_size"),
        "download": ("state.idle_download", "state.idle_download_size")}


def _size(n: int | None) -> str:
    return human_size(n) if n else ""


def millions(count: int) -> str:
    """124M, 0.093M: a parameter count as people say it."""
    return f"{count / 1e6:,.0f}M" if count >= 10e6 else f"{count / 1e6:.2g}M"


def _panel(kind: str, body: str) -> str:
    return f'<div class="model-status {kind}" role="status" aria-live="polite">{body}</div>'


def gpu_note(ctx: Context, spec: Any, language: str = ENGLISH) -> str:
    """For a model the catalog marks as meant for a GPU, running on a CPU."""
    if spec.needs_gpu and ctx.manager.device_if_known() == "cpu" and not ctx.settings.zero_gpu:
        return say("state.slow_on_cpu").render(language)
    return ""


def ready_html(entry: dict[str, Any], note: str = "", language: str = ENGLISH) -> str:
    replicas = entry.get("replicas")  # served by Ray Serve (models/cluster.py)
    where = (say("state.replicas" if len(replicas) > 1 else "state.replica", device=entry["device"],
                 replicas=", ".join(replicas)).render(language) if replicas else entry["device"])
    said = say("state.ready", label=html.escape(entry["label"]), where=html.escape(where),
               dtype=html.escape(entry["dtype"]), size=millions(entry["parameters"]), seconds=entry["load_seconds"])
    return _panel("ready", f'<span class="dot">●</span> {said.render(language)}{html.escape(note)}')


def loading_html(label: str, state: dict[str, Any], language: str = ENGLISH) -> str:
    phase = render(state["phase"], language)
    if state["phase"] == "downloading":
        got, planned = _size(state["downloaded_bytes"]), _size(state["planned_bytes"])
        phase = (say("load.downloading_of", got=got, planned=planned) if planned
                 else say("load.downloading", got=got)).render(language)
    fraction = state.get("fraction")
    bar = (f'<progress max="100" value="{fraction * 100:.0f}"></progress>' if fraction is not None
           else '<progress></progress>')  # no value: the browser draws a moving bar
    said = say("state.loading", label=html.escape(label), phase=html.escape(phase), seconds=state["seconds"])
    return _panel("loading", f"{said.render(language)} {bar}")


def failed_html(label: str, message: str, language: str = ENGLISH) -> str:
    return _panel("failed", say("state.failed", label=html.escape(label), message=html.escape(message)).render(language))


def model_state_html(ctx: Context, task: str, model: str | None, language: str = ENGLISH) -> str:
    """The state of the model picked, when no run of this page is watching it, in `language`."""
    try:
        spec = ctx.manager.spec(task, model)
    except PlaygroundError as e:
        return failed_html(str(model or say("state.this_model").render(language)), sentence_of(e, language), language)
    entry = ctx.manager.entry(spec.task, spec.model_id)
    if entry is not None:
        return ready_html(entry, gpu_note(ctx, spec, language), language)
    state = ctx.manager.loading(spec.task, spec.model_id)
    if state is not None:
        return loading_html(spec.name, state, language)
    key, size = "state.idle", ""
    if ctx.availability is not None:
        found = ctx.availability.of(spec.task, spec.model_id)
        if found.state == "unavailable":
            return _panel("unavailable", say("state.unavailable", label=html.escape(spec.name)).render(language))
        size = _size(found.size_bytes)
        if found.state in IDLE:
            key = IDLE[found.state][bool(size)]
    gpu = say("state.for_gpu").render(language) if spec.needs_gpu and not ctx.settings.zero_gpu else ""
    said = say(key, label=html.escape(spec.name), size=size)
    return _panel("idle", said.render(language) + gpu)


def picker_choices(ctx: Context, task: str, language: str = ENGLISH) -> list[tuple[str, str]]:
    """The catalog's models with what the server knows of each: ready, a download and its size, not available."""
    choices = []
    for spec in ctx.catalog.models(task):
        mark = render(ctx.availability.of(spec.task, spec.model_id).mark(), language) if ctx.availability is not None else ""
        choices.append((f"{spec.name} · {mark}" if mark else spec.name, spec.model_id))
    return choices


def watch_load(ctx: Context, task: str, model: str | None, language: str = ENGLISH) -> Iterator[str]:
    """Load the model picked (once for everyone who asks), sending its state to the page while it loads;
    raises what the load raised. A page that goes away leaves the load running for the next visitor."""
    spec = ctx.manager.spec(task, model)
    if ctx.manager.entry(spec.task, spec.model_id) is not None:
        return
    failure: list[BaseException] = []

    def load() -> None:
        try:
            ctx.manager.get(spec.task, spec.model_id)
        except BaseException as e:  # noqa: BLE001 - handed to the page below
            failure.append(e)

    loader = threading.Thread(target=load, name=f"load {spec.name}", daemon=True)
    loader.start()
    while True:
        loader.join(POLL_SECONDS)
        if not loader.is_alive():
            break
        state = ctx.manager.loading(spec.task, spec.model_id)
        if state is not None:
            yield loading_html(spec.name, state, language)
    if failure:
        raise failure[0]


# -- fields, and the errors shown beside them -----------------------------------------------------

def field_key(component: Any) -> str:
    """'Max new tokens (...)' -> 'max new tokens': how an error's field is matched to a control."""
    return field_name(getattr(component, "label", "")).lower()


@dataclass
class Fields:
    """The controls an error can point at: declared parameters by name, the tab's inputs by label."""

    params: dict[str, Any] = field(default_factory=dict)
    inputs: list[Any] = field(default_factory=list)
    # the accordion each folded control is in (by the control's id), opened when that control is at fault
    folded: dict[int, Any] = field(default_factory=dict)

    def find(self, name: str | None) -> Any:
        if not name:
            return None
        if name in self.params:
            return self.params[name]
        wanted = name.replace("_", " ").lower()
        for component in [*self.inputs, *self.params.values()]:
            if field_key(component) == wanted:
                return component
        for component in [*self.inputs, *self.params.values()]:  # "template" in "prompt template"
            if wanted in field_key(component).split(" "):
                return component
        return None

    @functools.cached_property
    def _with_info(self) -> list[Any]:
        seen, out = set(), []
        for component in [*self.inputs, *self.params.values()]:
            if id(component) not in seen and "info" in inspect.signature(type(component).__init__).parameters:
                seen.add(id(component))
                out.append(component)
        return out

    def marked(self) -> list[Any]:
        """The controls that can show a sentence under them (those with an `info` line)."""
        return self._with_info

    def clear(self) -> dict[Any, Any]:
        # "" where the control had no line: an update's None means "unchanged", which would keep the sentence
        return {c: gr.update(info=getattr(c, "info", None) or "", elem_classes=[]) for c in self.marked()}

    def mark(self, name: str | None, message: str) -> dict[Any, Any]:
        updates = self.clear()
        target = self.find(name)
        if target is not None and target in updates:
            updates[target] = gr.update(info=f"⚠ {message}", elem_classes=["field-error"])
            if id(target) in self.folded:
                updates[self.folded[id(target)]] = gr.update(open=True)
        return updates

    def accordions(self) -> list[Any]:
        return list({id(a): a for a in self.folded.values()}.values())


def alert_html(message: str = "") -> Any:
    """The error line at the top of the results: the sentence, or hidden (taking no room) when none."""
    body = f'<div class="run-error" role="alert">{html.escape(message)}</div>' if message else ""
    return gr.update(value=body, visible=bool(message))


# -- wiring -------------------------------------------------------------------------------------------

@dataclass
class RunView:
    """A tab's model picker, its state panel and its error line, with the fields errors point at."""

    task: str
    model: gr.Dropdown
    status: gr.HTML
    alert: gr.HTML
    fields: Fields
    controls: dict[str, Any] = field(default_factory=dict)  # number controls fitted to the model, by name

    def titled(self, panel: str) -> str:
        """The state panel, carrying the task's name: a phone shows it first (style.css), since the
        tab bar there has room for one or two names and Run scrolls the tab's heading away."""
        name = html.escape(declared(self.task).title, quote=True)
        return panel.replace('<div class="model-status', f'<div data-task="{name}" class="model-status', 1)

    def ranges(self, ctx: Context, model: str | None) -> dict[str, dict[str, Any]]:
        """Each fitted control's value, minimum and maximum for the model (models/fitting.py: from its
        files); the declaration's where the files say nothing and the declaration has a default."""
        from models.fitting import fitted

        params = {p.name: p for p in declared(self.task).params}
        fits = fitted(ctx.manager.spec(self.task, model))
        out: dict[str, dict[str, Any]] = {}
        for name in self.controls:
            if name in fits:  # a value the files do not give (None: the model's own) stays as it is
                out[name] = {k: v for k, v in fits[name].items() if v is not None}
            elif name in params and params[name].default is not None:
                p = params[name]  # back to the declaration's, after a model that narrowed it
                out[name] = {"value": p.default, "minimum": p.low, "maximum": p.high}
        return out

    def fitted(self, ctx: Context, model: str | None) -> dict[Any, Any]:
        """The fitted controls' updates for the model (ranges)."""
        return {self.controls[name]: gr.update(**r) for name, r in self.ranges(ctx, model).items()}


def state_panels() -> tuple[gr.HTML, gr.HTML]:
    """The model's state and the error line, drawn at the top of a tab's results."""
    status = gr.HTML(elem_classes=["model-status-box"], padding=False)
    alert = gr.HTML(elem_classes=["run-error-box"], padding=False, visible=False)
    return status, alert


def wire_run(ctx: Context, view: RunView, triggers: list[Any], *, fn: Callable, inputs: list[Any],
             outputs: list[Any], api_name: str, summary: str, gpu_seconds: int | Callable[..., float] = 20,
             batched: bool = False, **options: Any) -> Any:
    """The one way a tab runs a model: the public endpoint `api_name` (api_endpoint) and the page's
    event on `triggers` (page_run), both on fn. Returns the page's event."""
    api_endpoint(ctx, view, fn=fn, inputs=inputs, outputs=outputs, api_name=api_name, summary=summary,
                 gpu_seconds=gpu_seconds, batched=batched, **options)
    return page_run(ctx, view, triggers, fn=fn, inputs=inputs, outputs=outputs, gpu_seconds=gpu_seconds,
                    batched=batched, **options)[0]


def api_endpoint(ctx: Context, view: RunView, *, fn: Callable, inputs: list[Any], outputs: list[Any],
                 api_name: str, summary: str, gpu_seconds: int | Callable[..., float] = 20,
                 batched: bool = False, **options: Any) -> Any:
    """The public endpoint `api_name`: fn with its errors as one sentence, described for programs and MCP
    clients by `summary` and its parameters (components/tools.py). An event with no trigger: programs
    call it, the page does not.

    gpu_seconds: on ZeroGPU, how long the call may hold the GPU (a number, or a function of fn's
    arguments, so a long generation asks for more than a short one).
    """
    endpoint = plain_errors(on_gpu(ctx, fn, gpu_seconds))  # which also raises a refused argument's sentence
    endpoint.__doc__ = endpoint_doc(view.task, summary, fn, inputs, ctx.catalog.default(view.task))
    names = [n for n, p in inspect.signature(fn).parameters.items()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:len(inputs)]
    register(ctx, api_name, view.task, names, inputs.index(view.model), inspect.isgeneratorfunction(fn))
    return gr.on([], endpoint, inputs, outputs, api_name=api_name, **event_options(ctx, batched=batched), **options)


def page_run(ctx: Context, view: RunView, triggers: list[Any], *, fn: Callable, inputs: list[Any],
             outputs: list[Any], gpu_seconds: int | Callable[..., float] = 20, batched: bool = False,
             after: list[Any] = (), progress_on: list[Any] | None = None, **options: Any) -> Any:
    """The page's run of fn on `triggers` and after each event in `after` (a step that prepares the inputs
    first, as the chat's adding of the message; progress_on: the outputs Gradio's progress overlay covers,
    by default all): watch the model load in the state panel, run, and keep
    errors in the tab, beside their field. Returns the events registered (those on `triggers` first)."""
    run = on_gpu(ctx, fn, gpu_seconds)
    model_at = inputs.index(view.model)
    streams = inspect.isgeneratorfunction(fn)

    @functools.wraps(fn)
    def on_page(*args: Any, **kwargs: Any) -> Iterator[dict[Any, Any]]:
        args, language = take(args, kwargs)
        fields = view.fields
        clear = {**fields.clear(), view.alert: alert_html()}
        refused = first_refused(args)
        if refused is not None:
            message = render(refused.message, language)
            yield {**fields.mark(refused.field, message), view.alert: alert_html(message)}
            return
        model = args[model_at]
        try:
            spec = ctx.manager.spec(view.task, model)
            before = view.fitted(ctx, model) if view.controls else {}
            first = True
            for state in watch_load(ctx, view.task, model, language):
                yield {view.status: view.titled(state), **(clear if first else {})}
                first = False
            entry = ctx.manager.entry(spec.task, spec.model_id)  # None: unloaded again at once (the cap)
            ready = {view.status: view.titled(ready_html(entry, gpu_note(ctx, spec, language), language) if entry
                                              else model_state_html(ctx, view.task, model, language)), **clear}
            if not first and view.controls:  # loaded now: its files are here if they were not before
                after_load = view.fitted(ctx, model)
                ready.update({c: u for c, u in after_load.items() if before.get(c) != u})
            yield ready
        except Exception as e:  # noqa: BLE001 - every failure becomes the panel's sentence, by the picker
            message = sentence_of(e, language)
            label = str(model or say("state.the_model").render(language))
            yield {view.status: view.titled(failed_html(label, message, language)),
                   view.alert: alert_html(message),
                   **fields.mark("model", message)}
            return
        try:
            results = run(*args, **kwargs)
            for values in (results if streams else [results]):
                values = values if isinstance(values, tuple) else (values,)
                yield dict(zip(outputs, values))
        except Exception as e:  # noqa: BLE001
            message = sentence_of(e, language)
            yield {**fields.mark(getattr(e, "field", None), message), view.alert: alert_html(message)}

    take = with_request(on_page, fn)
    page_outputs = list(dict.fromkeys([*outputs, view.status, view.alert, *view.fields.marked(),
                                       *view.fields.accordions(), *view.controls.values()]))
    # the progress overlay goes on what the person sees (a label output's visible bars: render.label_bars)
    shown = [getattr(output, "bars", output) for output in (outputs if progress_on is None else progress_on)]
    settings = dict(api_visibility="private", show_progress_on=shown, **event_options(ctx, batched=batched), **options)
    events = [gr.on(triggers, on_page, inputs, page_outputs, **settings)] if triggers else []
    events += [step.then(on_page, inputs, page_outputs, **settings) for step in after]
    for trigger in triggers:  # on a phone the results are below the inputs: bring them into view
        gr.on([trigger], None, None, None, js=PHONE_SCROLL, queue=False, api_visibility="private")
    return events


def fit_on_pick(ctx: Context, view: RunView, extra: Callable[[Any, str], dict[Any, Any]] | None = None) -> None:
    """From the first page load on, and at each pick: the state panel, the picker's marks, and each
    fitted control (view.controls) set to the model's value and range (models/fitting.py: from its
    config files, no load). `extra(spec, language)` adds a tab's own updates (text-to-image's schedulers; its
    `outputs` attribute lists the components they touch)."""
    params = {p.name: p for p in declared(view.task).params}

    def fit(model: str | None, request: gr.Request = None) -> dict[Any, Any]:
        language = language_of(request)
        updates: dict[Any, Any] = {view.status: view.titled(model_state_html(ctx, view.task, model, language)),
                                   view.alert: alert_html(), **view.fields.clear()}
        if ctx.availability is not None:  # the marks as the startup check found them (it may end after the build)
            updates[view.model] = gr.update(choices=picker_choices(ctx, view.task, language))
        try:
            spec = ctx.manager.spec(view.task, model)
            updates.update(view.fitted(ctx, model))
            if extra is not None:
                updates.update(extra(spec, language))
        except PlaygroundError:  # a typed id that is no id: the panel above says so
            pass
        return updates

    def limits(name: str, model: str | None) -> tuple[float | None, float | None]:
        try:
            fits = view.ranges(ctx, model).get(name, {})
        except PlaygroundError:
            fits = {}
        return fits.get("minimum", params[name].low), fits.get("maximum", params[name].high)

    for name, control in view.controls.items():
        if isinstance(control, gr.Slider):
            # The slider's box takes any number, then pulls it into range when it loses focus: its
            # "release" carries the number as typed, before that, so the person is told.
            def told(value: Any, model: str | None, request: gr.Request = None, name: str = name,
                     control: Any = control) -> Any:
                if isinstance(value, Refused):  # past the control's own limits (components/inputs.py)
                    message = value.message
                else:
                    low, high = limits(name, model)
                    message = ""
                    if isinstance(value, (int, float)) and low is not None and high is not None and not (
                            low <= value <= high):
                        message = say("input.slider_range", **field_names(control.label), low=plain_number(low),
                                      high=plain_number(high), value=plain_number(value))
                if not message:
                    return gr.update(info=getattr(control, "info", None) or "", elem_classes=[])
                said = say("input.slider_moved", problem=message).render(language_of(request))
                return gr.update(info=f"⚠ {said}", elem_classes=["field-error"])
            control.release(told, [control, view.model], [control], queue=False, api_visibility="private",
                            show_progress="hidden")

    outputs = [view.status, view.alert, view.model, *view.fields.marked(), *view.controls.values()]
    if extra is not None:
        outputs += list(getattr(extra, "outputs", []))
    outputs = list(dict.fromkeys(outputs))  # a control can be both a field and a fitted one
    # no trigger named: on the page's load and on each change of the picker (one request each)
    gr.on(None, fit, [view.model], outputs, queue=False, api_visibility="private", show_progress="hidden")
