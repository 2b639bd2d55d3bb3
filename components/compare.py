"""Compare models side by side on any task: `/compare` runs one task's own endpoint once per model (or per
setting) on the same input, and gives each side's result exactly as that endpoint returns it, its
figures (latency, parameters, memory, device, precision, load) and its error alone, so one side failing
leaves the others. A summary says in words how the sides differ.

Each side goes through Gradio's own steps for the single endpoint (its inputs' preprocessing and checks,
the handler, its outputs' postprocessing), so a side's result is the single endpoint's, byte for byte.
Sides run at once when their models fit among the models kept loaded (--max-loaded-models) together
with those already loaded; otherwise one after another, which the result says, so a comparison never
unloads one of its own models to load another."""
from __future__ import annotations

import inspect
import json
import queue
import threading
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Iterable, Iterator

import anyio
import gradio as gr

from models import InvalidInput, PlaygroundError
from models.messages import CHINESE, ENGLISH, Joined, render, say
from models.tasks import task

from .common import Context, base_url_of, event_options, sentence_of
from .language import language_of
from .words import param_word, text, translated, word

MAX_SIDES = 4
ONE_AFTER_ANOTHER = say("compare.one_after_another")  # English as a str; render(…, language) for the reader
YIELD_EVERY = 0.05  # seconds between streamed updates of the sides


@dataclass
class Endpoint:
    """A tab's public endpoint, as /compare calls it."""

    name: str
    task: str
    params: list[str]  # the handler's parameters, in the order of its inputs
    model_at: int
    streams: bool

    def check_known(self, *given: dict[str, Any]) -> None:
        """Each object names only this endpoint's parameters (the model apart), or its sentence."""
        known = [p for i, p in enumerate(self.params) if i != self.model_at]
        for where in given:
            unknown = [k for k in where if k not in known]
            if unknown:
                raise InvalidInput(say("compare.no_parameter", endpoint=self.name, name=unknown[0],
                                       known=", ".join(known)), field="inputs")


def api_functions(demo: gr.Blocks) -> dict[str, Any]:
    """The demo's events by their API name: what /compare and /explain call an endpoint's steps on."""
    return {fn.api_name: fn for fn in demo.fns.values() if getattr(fn, "api_name", None)}


def register(ctx: Context, name: str, task: str, params: list[str], model_at: int, streams: bool) -> None:
    """Called by running.api_endpoint for every tab's endpoint: what /compare may run."""
    ctx.endpoints[name] = Endpoint(name=name, task=task, params=params, model_at=model_at, streams=streams)


# -- checking a comparison -----------------------------------------------------------------------------------

def check_request(ctx: Context, task: Any, models: Any, inputs: Any, settings: Any) -> tuple[Endpoint, list[str | None], dict[str, Any], list[dict[str, Any]]]:
    """(the endpoint, the models, the inputs, each side's settings), or a sentence."""
    if not isinstance(task, str) or task.strip().lstrip("/") not in ctx.endpoints:
        names = ", ".join(sorted(ctx.endpoints))
        raise InvalidInput(say("compare.task", names=names, task=str(task)[:40]), field="task")
    endpoint = ctx.endpoints[task.strip().lstrip("/")]
    if isinstance(models, str):
        models = [m.strip() for m in models.split(",")] if models.strip() else []
    if not isinstance(models, list) or not all(m is None or isinstance(m, str) for m in models):
        raise InvalidInput(say("compare.models_type"), field="models")
    if isinstance(inputs, str):
        try:
            inputs = json.loads(inputs) if inputs.strip() else {}
        except ValueError:
            raise InvalidInput(say("compare.inputs_json"), field="inputs") from None
    inputs = inputs if inputs is not None else {}
    if not isinstance(inputs, dict):
        raise InvalidInput(say("compare.inputs_object"), field="inputs")
    if settings in (None, "", []):
        settings = [{} for _ in models]
    if not isinstance(settings, list) or not all(isinstance(s, dict) for s in settings):
        raise InvalidInput(say("compare.settings_type"), field="settings")
    if len(models) == 1 and len(settings) > 1:  # the same model, different settings
        models = models * len(settings)
    if not 2 <= len(models) <= MAX_SIDES:
        raise InvalidInput(say("compare.sides_count", most=MAX_SIDES, count=len(models)), field="models")
    if len(settings) != len(models):
        raise InvalidInput(say("compare.settings_count", count=len(settings), models=len(models)), field="settings")
    endpoint.check_known(inputs, *settings)
    for model in models:
        ctx.manager.spec(endpoint.task, model)  # a typed id that is no id, or not allowed here: its sentence
    return endpoint, [m or None for m in models], inputs, settings


def one_by_one(ctx: Context, task: str, models: list[str | None]) -> bool:
    """Whether the sides must run one after another: their models not yet loaded, with those loaded,
    would pass the cap of models kept loaded (the least recently used would be unloaded mid-comparison)."""
    wanted = {ctx.manager.spec(task, m).model_id for m in models}
    loaded = {(e["task"], e["model"]) for e in ctx.manager.loaded()}
    new = [m for m in wanted if (task, m) not in loaded]
    return len(loaded) + len(new) > ctx.manager.max_loaded


# -- running one side ----------------------------------------------------------------------------------

def already_loaded(ctx: Context, task: str, model: str | None) -> bool:
    """Whether the model is loaded now (a side's figures then say so instead of a load time)."""
    try:
        return ctx.manager.entry(task, ctx.manager.spec(task, model).model_id) is not None
    except PlaygroundError:
        return False


def metrics_of(ctx: Context, task: str, model: str | None, seconds: float, loaded_before: bool,
               first: float | None) -> dict[str, Any]:
    figures: dict[str, Any] = {"latency_seconds": round(seconds, 4)}
    if first is not None:
        figures["first_update_seconds"] = round(first, 4)
    try:
        spec = ctx.manager.spec(task, model)
    except PlaygroundError:
        return figures
    entry = ctx.manager.entry(spec.task, spec.model_id)
    figures["model"] = spec.model_id
    if entry is not None:
        figures.update(parameters=entry["parameters"], memory_bytes=int(entry["memory_mb"] * 2**20),
                       device=entry["device"], dtype=entry["dtype"],
                       load_seconds=None if loaded_before else entry["load_seconds"], loaded_before=loaded_before)
        if entry.get("replicas"):  # served by Ray Serve (models/cluster.py): the replicas that hold the model
            figures["replicas"] = entry["replicas"]
    return figures


async def side_args(demo: gr.Blocks, block_fn: Any, endpoint: Endpoint, model: str | None, values: dict[str, Any],
                    request: Any, state: Any) -> list[Any]:
    """A side's arguments to the endpoint's handler, as Gradio makes them from a client's payload: what a
    program leaves out is the control's starting value (as gradio_client fills it in), then each input's
    preprocessing and checks, then the request."""
    from gradio.helpers import special_args

    payloads = [values[name] if name in values else _start(block) for name, block in
                zip(endpoint.params, block_fn.inputs)]
    payloads[endpoint.model_at] = model
    processed = await demo.preprocess_data(block_fn, payloads, state)
    args, *_ = special_args(block_fn.fn, list(processed), request, None)
    return args


async def run_side(demo: gr.Blocks, block_fn: Any, endpoint: Endpoint, ctx: Context, model: str | None,
                   values: dict[str, Any], request: Any, root: str) -> AsyncIterator[dict[str, Any]]:
    """One side: {"model", "result", "metrics", "error"}, updated as a streaming endpoint streams; the error in
    the request's language."""
    from gradio.processing_utils import add_root_url
    from gradio.state_holder import SessionState

    side: dict[str, Any] = {"model": model, "result": None, "metrics": {}, "error": None}
    loaded_before = already_loaded(ctx, endpoint.task, model)
    start, first = time.perf_counter(), None
    state = SessionState(demo)

    async def shown(prediction: Any) -> Any:
        data = _plain(await demo.postprocess_data(block_fn, prediction, state))  # as the wire carries it
        data = add_root_url(data, root, None)
        return data[0] if len(block_fn.outputs) == 1 else data

    try:
        args = await side_args(demo, block_fn, endpoint, model, values, request, state)
        if endpoint.streams:
            iterator = block_fn.fn(*args)
            done = object()
            last_sent = 0.0
            try:
                while True:
                    item = await anyio.to_thread.run_sync(next, iterator, done)
                    if item is done:
                        break
                    if first is None:
                        first = time.perf_counter() - start
                    side["result"] = await shown(item)
                    now = time.perf_counter()
                    if now - last_sent >= YIELD_EVERY:
                        last_sent = now
                        side["metrics"] = {"latency_seconds": round(now - start, 4),
                                           "first_update_seconds": round(first, 4)}
                        yield side
            finally:
                with anyio.CancelScope(shield=True):  # closed here even when /compare is cancelled
                    await anyio.to_thread.run_sync(iterator.close)
        else:
            prediction = await anyio.to_thread.run_sync(lambda: block_fn.fn(*args))
            side["result"] = await shown(prediction)
    except Exception as e:  # noqa: BLE001 - a side's failure is its own sentence; the others go on
        side["error"] = sentence_of(e, language_of(request))
    side["metrics"] = metrics_of(ctx, endpoint.task, model, time.perf_counter() - start, loaded_before, first)
    yield side


# -- the summary in words ------------------------------------------------------------------------------------

def _name(index: int) -> str:
    return "ABCD"[index]


def _top_label(result: Any) -> tuple[str, float] | None:
    if isinstance(result, list) and result and isinstance(result[0], dict) and "label" in result[0]:
        result = result[0]  # fill-mask: (label output, the text)
    if isinstance(result, dict) and "label" in result:
        scores = {c["label"]: c.get("confidence", 0.0) for c in result.get("confidences") or []}
        return str(result["label"]), float(scores.get(result["label"], 0.0))
    return None


def summary(task: str, sides: list[dict[str, Any]], language: str = ENGLISH) -> str:
    """How the sides differ, in words (in `language`): sizes and times against side A, then whether the
    answers agree."""
    parts: list[Any] = []
    ok = [(i, s) for i, s in enumerate(sides) if not s["error"]]
    failed = [say("compare.failed", side=_name(i)) for i, s in enumerate(sides) if s["error"]]
    if ok:
        i0, base = ok[0]
        for i, side in ok[1:]:
            a, b = _name(i0), _name(i)
            said: Any = None
            t0, t1 = base["metrics"].get("latency_seconds"), side["metrics"].get("latency_seconds")
            if t0 and t1:
                ratio = t1 / t0
                said = (say("compare.slower", side=b, times=_times(ratio), base=a) if ratio >= 1.05 else
                        say("compare.faster", side=b, times=_times(1 / ratio), base=a) if ratio <= 0.95 else
                        say("compare.as_fast", side=b, base=a))
            p0, p1 = base["metrics"].get("parameters"), side["metrics"].get("parameters")
            if p0 and p1 and p0 != p1:
                ratio = p1 / p0
                times = _times(ratio) if ratio > 1 else _times(1 / ratio)
                if said is None:
                    said = say("compare.larger" if ratio > 1 else "compare.smaller", side=b, times=times)
                else:
                    said = say("compare.and_larger" if ratio > 1 else "compare.and_smaller", said=said, times=times)
            q0, q1 = base["metrics"].get("throughput_per_second"), side["metrics"].get("throughput_per_second")
            if q0 and q1:
                ratio_text = f"{q1 / q0:.2g}"
                said = (say("compare.with_throughput", said=said, ratio=ratio_text, base=a) if said is not None
                        else say("compare.has_throughput", side=b, ratio=ratio_text, base=a))
            if said is not None:
                parts.append(said)
        agreement = _agreement(task, [s for _, s in ok])
        if agreement:
            parts.append(agreement)
    return _sentence(parts + failed, language)


def _sentence(parts: list[Any], language: str) -> str:
    """The parts (keyed Messages, or lists of them) as one sentence in `language`: '; ' between, '.' at the
    end (Chinese: '；' and '。'); "" for none."""
    flat = [p for part in parts for p in (part if isinstance(part, list) else [part])]
    return Joined(flat, "clauses").render(language)


def _then(first: str, more: str, language: str) -> str:
    """Two sentences one after the other (a space between in English)."""
    return Joined([p for p in (first, more) if p], "sentences").render(language)


def _file_name(image: dict[str, Any]) -> str:
    return str(image.get("orig_name") or str(image.get("path") or "").replace("\\", "/").rsplit("/", 1)[-1])


def _times(ratio: float) -> str:
    return f"{ratio:.1f}x" if ratio < 10 else f"{ratio:,.0f}x"


def _agreement(task: str, sides: list[dict[str, Any]]) -> Any:
    """Whether the answers agree, in the task's terms: the top label, the entities found, the answer's words
    (a keyed Message, or a list of them; None when there is nothing to say)."""
    names = "ABCD"
    results = [s["result"] for s in sides]
    tops = [_top_label(r) for r in results]
    if tops and all(t is not None for t in tops):
        labels = [t[0] for t in tops]  # type: ignore[index]
        if len(set(labels)) == 1:
            return say("compare.agree_label", label=labels[0])
        return say("compare.disagree", scores=" vs ".join(f"{t[0]} {t[1]:.2f}" for t in tops))  # type: ignore[index]
    if task == "ner" and all(isinstance(r, list) and len(r) == 2 and isinstance(r[1], dict) for r in results):
        found = [{(row[0], row[1]) for row in (r[1].get("data") or [])} for r in results]
        alone = [say("compare.only_found", side=names[i],
                     entities=", ".join(f"{e} ({t})" for e, t in sorted(f - set().union(*(found[:i] + found[i + 1:])))))
                 for i, f in enumerate(found) if f - set().union(*(found[:i] + found[i + 1:]))]
        return alone if alone else say("compare.same_entities")
    if task == "question-answering" and all(isinstance(r, list) and r and isinstance(r[0], str) for r in results):
        answers = [r[0] for r in results]
        if len(set(answers)) == 1:
            return say("compare.same_answer", answer=answers[0])
        words = [set(a.lower().split()) for a in answers]
        shared = set.intersection(*words)
        return say("compare.answers_overlap" if shared else "compare.answers_differ", answers=" / ".join(answers))
    if task == "clip" and all(isinstance(r, list) and r and all(isinstance(x, dict) and x.get("image") for x in r)
                              for r in results):  # search: the images ranked
        orders = [[_file_name(x["image"]) for x in r] for r in results]
        firsts = [o[0] for o in orders]
        if all(o == orders[0] for o in orders):
            return say("compare.same_order", first=firsts[0])
        if len(set(firsts)) == 1:
            return say("compare.same_first", first=firsts[0])
        return say("compare.different_first", firsts=" vs ".join(firsts))
    shown = [json.dumps(r, sort_keys=True, default=str) for r in results]
    return say("compare.results_same") if len(set(shown)) == 1 else say("compare.results_differ")


# -- the endpoint ---------------------------------------------------------------------------------------------

def build(ctx: Context, demo: gr.Blocks) -> None:
    """/compare, for every endpoint registered by the tabs (called by build_demo once they are built)."""
    functions = api_functions(demo)

    async def compare(task: str, models: list[str], inputs: dict[str, Any] | None = None,
                      settings: list[dict[str, Any]] | None = None, measure: bool = False,
                      request: gr.Request = None) -> AsyncIterator[list[dict[str, Any]]]:
        """Compare models side by side on one task: the same input through the task's own endpoint once per
        model (or per setting), each side's result as that endpoint returns it, its figures and its error.

        Args:
            task: The endpoint to compare on, without the slash: sentiment, ner, qa, fill_mask, zero_shot_classification, classify_image, clip_zero_shot, clip_rank_captions, clip_search, text_to_image, chat, generate.
            models: 2 to 4 models (ids, folders or catalog labels; empty for the default), or one model with 2 to 4 settings.
            inputs: That endpoint's parameters by name, as an object (images as uploaded files).
            settings: Optional: one object per side of parameters that override inputs on that side (two temperatures, two seeds).
            measure: Also measure each side's throughput, one side at a time once all have answered: the same call sent again for 2 s (as many at once as a batch holds); metrics then hold throughput_per_second, throughput_calls, throughput_at_once and throughput_seconds.
        """
        language = language_of(request)  # English unless the client asks (Accept-Language: zh-CN)
        try:
            endpoint, models, inputs, settings = check_request(ctx, task, models, inputs, settings)
            sequential = one_by_one(ctx, endpoint.task, models)
        except PlaygroundError as e:
            raise gr.Error(sentence_of(e, language)) from None
        block_fn = functions[endpoint.name]
        root = base_url_of(request).rstrip("/")
        sides: list[dict[str, Any]] = [{"model": m, "result": None, "metrics": {}, "error": None} for m in models]
        note = render(ONE_AFTER_ANOTHER, language) if sequential else None

        def answer() -> list[dict[str, Any]]:
            return [dict(s, **({"note": note} if note else {})) for s in sides]

        def side(i: int) -> AsyncIterator[dict[str, Any]]:
            return run_side(demo, block_fn, endpoint, ctx, models[i], {**inputs, **settings[i]}, request, root)

        if sequential:
            for i in range(len(models)):
                async for update in side(i):
                    sides[i] = dict(update)
                    yield answer()
        else:
            send, receive = anyio.create_memory_object_stream(max_buffer_size=100)

            async def one(i: int, out: Any) -> None:
                async with out:
                    async for update in side(i):
                        await out.send((i, dict(update)))

            async with anyio.create_task_group() as group:
                async with send:  # each side its own clone: the stream ends when the last side does
                    for i in range(len(models)):
                        group.start_soon(one, i, send.clone())
                async with receive:
                    async for i, update in receive:
                        sides[i] = update
                        yield answer()
        if measure is not True:
            return
        for i, model in enumerate(models):  # one side at a time, so no side's figure counts another's work
            if sides[i]["error"]:
                continue
            try:
                from gradio.state_holder import SessionState

                args = await side_args(demo, block_fn, endpoint, model, {**inputs, **settings[i]}, request,
                                       SessionState(demo))
                figures = await anyio.to_thread.run_sync(
                    lambda: throughput(lambda: last_of(block_fn.fn(*args)), at_once_for(ctx, endpoint.task)))
                sides[i]["metrics"] = {**sides[i]["metrics"], **figures}
            except Exception as e:  # noqa: BLE001 - the side's result stands; its measurement failed
                sides[i]["metrics"] = {**sides[i]["metrics"], "throughput_error": sentence_of(e, language)}
            yield answer()

    sides_out = gr.JSON(label="Sides", visible=False)
    gr.on([], compare, [gr.Textbox(label="Task", visible=False), gr.JSON(label="Models", visible=False),
                        gr.JSON(label="Inputs", visible=False), gr.JSON(label="Settings", visible=False),
                        gr.Checkbox(False, label="Measure", visible=False)],
          [sides_out], api_name="compare", **event_options(ctx))


def _plain(value: Any) -> Any:
    """Gradio's data models (a label's, a file's, a JSON value's) as the plain data sent to a client."""
    if hasattr(value, "model_dump"):
        return _plain(value.model_dump())
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def _start(block: Any) -> Any:
    value = getattr(block, "value", None)
    return None if callable(value) else value




# -- running sides, measuring one -------------------------------------------------------------------------

@dataclass
class SideEvent:
    """What one side did: gave a value (a streamed update or its result), failed (its sentence), or ended."""

    index: int
    value: Any = None
    error: str | None = None
    done: bool = False


def as_they_come(jobs: list[Callable[[], Iterable[Any]]], one_after_another: bool = False,
                 language: str | None = None) -> Iterator[SideEvent]:
    """Run each side's job (an iterable of its updates, or a one-item list of its result) on its own thread,
    all at once or one after another, and give their events in the order they happen: every value, a
    failure as its sentence (in `language`), and each side's end. Closed early (the visitor left), the sides still to
    start do not, and those running are closed at their next value (a generation's close stops it).
    Shared by the tabs' Compare mode and the chat's."""
    events: queue.Queue = queue.Queue()
    cancelled = threading.Event()

    def side(i: int, job: Callable[[], Iterable[Any]]) -> None:
        try:
            values = job()
            try:
                for value in values:
                    events.put(SideEvent(i, value=value))
                    if cancelled.is_set():
                        break
            finally:
                close = getattr(values, "close", None)
                if close is not None:
                    close()
        except Exception as e:  # noqa: BLE001 - this side's sentence; the others go on
            events.put(SideEvent(i, error=sentence_of(e, language)))
        events.put(SideEvent(i, done=True))

    def run_all() -> None:
        for i, job in enumerate(jobs):
            if cancelled.is_set():
                events.put(SideEvent(i, done=True))
                continue
            thread = threading.Thread(target=side, args=(i, job), daemon=True)
            thread.start()
            if one_after_another:
                thread.join()

    threading.Thread(target=run_all, daemon=True).start()
    ended = 0
    try:
        while ended < len(jobs):
            event = events.get()
            ended += event.done
            yield event
    finally:
        cancelled.set()


def last_of(value: Any) -> Any:
    """A handler's result: its value, or a generator's last update."""
    if inspect.isgenerator(value):
        last = None
        for last in value:
            pass
        return last
    return value


MEASURE_SECONDS = 2.0


def throughput(call: Callable[[], Any], at_once: int, seconds: float = MEASURE_SECONDS) -> dict[str, Any]:
    """The batching benchmark's method, short: a call to warm up (and load), then `at_once` callers each
    sending the same call again as soon as the last is answered, for `seconds`; calls answered per second."""
    call()
    done = [0] * at_once
    failed: list[BaseException] = []
    start = time.perf_counter()
    deadline = start + seconds

    def caller(i: int) -> None:
        try:
            while time.perf_counter() < deadline and not failed:
                call()
                if time.perf_counter() <= deadline or not done[i]:
                    done[i] += 1
        except Exception as e:  # noqa: BLE001 - raised below: a failure is no low figure
            failed.append(e)

    threads = [threading.Thread(target=caller, args=(i,), daemon=True) for i in range(at_once)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failed:
        raise failed[0]
    elapsed = max(time.perf_counter() - start, 1e-9)
    return {"throughput_per_second": round(sum(done) / elapsed, 3), "throughput_calls": sum(done),
            "throughput_at_once": at_once, "throughput_seconds": round(elapsed, 3)}


def at_once_for(ctx: Context, task_key: str) -> int:
    """How many callers a measurement sends together: the batch size where the task batches, else one."""
    batcher = ctx.manager.batcher
    return batcher.max_batch_size if task(task_key).batches and batcher is not None else 1


# -- one setting varied ----------------------------------------------------------------------------------------

def variable(task_key: str) -> list[Any]:
    """The declared parameters a comparison may vary: the numbers and switches."""
    return [p for p in task(task_key).params if p.kind in ("number", "bool")]


def varied(task_key: str, name: str | None, text: Any) -> list[dict[str, Any]]:
    """Each side's setting when one is varied ("temperature", "0.2, 1.2" -> two sides), each checked as the
    parameter's own control checks it; [] when none is."""
    if not name:
        return []
    known = {p.name: p for p in variable(task_key)}
    if name not in known:
        raise InvalidInput(say("compare.not_a_setting", name=name, known=", ".join(known)), field="vary")
    param = known[name]
    setting = {"setting": param.shown, "setting_zh": _shown(task_key, param, CHINESE)}
    pieces = [p.strip() for p in str(text or "").replace("\n", ",").split(",") if p.strip()]
    if not 2 <= len(pieces) <= MAX_SIDES:
        raise InvalidInput(say("compare.values_count", most=MAX_SIDES, count=len(pieces), **setting), field="values")
    out = []
    for piece in pieces:
        if param.kind == "bool":
            value: Any = {"true": True, "false": False, "on": True, "off": False}.get(piece.lower(), piece)
        else:
            try:
                value = float(piece)
            except ValueError:
                raise InvalidInput(say("compare.not_a_number", piece=piece[:40], default=param.default, **setting),
                                   field="values") from None
        with_field = param.check(value)
        out.append({name: with_field})
    return out


def plan(ctx: Context, task_key: str, models: list[Any], current: Any, vary: str | None,
         values: Any) -> list[tuple[Any, dict[str, Any]]]:
    """The sides as (model, its settings): 2 to 4 models with the same settings, or one model (the one
    picked, else the tab's) with one setting varied."""
    models = [m for m in (models or []) if m]
    settings = varied(task_key, vary, values)
    if settings:
        if len(models) > 1:
            raise InvalidInput(say("compare.vary_one_model"), field="models")
        model = models[0] if models else current
        return [(model, s) for s in settings]
    if not 2 <= len(models) <= MAX_SIDES:
        raise InvalidInput(say("compare.pick_models", most=MAX_SIDES), field="models")
    return [(m, {}) for m in models]


def head_of(ctx: Context, task_key: str, index: int, model: Any, setting: dict[str, Any],
            language: str = ENGLISH) -> str:
    """A side's title: its letter, model and varied setting (the setting's name in `language`)."""
    said = "".join(f" · {_shown(task_key, task(task_key).param(k), language)} {v}" for k, v in setting.items())
    return f"**{'ABCD'[index]}: {label_of(ctx, task_key, model)}{said}**"


def _shown(task_key: str, param: Any, language: str) -> str:
    """How a choice names a declared parameter (Param.shown), in `language` (words.py's param.<task>.<name>.shown)."""
    return text(f"param.{task_key}.{param.name}.shown", language, default=param.shown)


# -- each tab's Compare mode ----------------------------------------------------------------------------------

def api_form(components: list[Any], values: Any) -> Any:
    """A handler's values as its endpoint would send them (for the summary): each output's postprocess."""
    values = values if isinstance(values, tuple) else (values,)
    out = []
    for component, value in zip(components, values):
        try:
            shaped = component.postprocess(value)
            out.append(_plain(shaped))
        except Exception:  # noqa: BLE001 - the summary then says less
            out.append(None)
    return out[0] if len(out) == 1 else out


def figures_line(metrics: dict[str, Any], error: str | None, language: str = ENGLISH) -> str:
    """A side's figures in a line, in `language`: this call's time, the model's size, memory, device and
    precision, its load, the throughput measured; or its error."""
    from .running import millions  # (running.py registers endpoints here)

    if error:
        return f"⚠ {error}"
    parts = [say("compare.this_call", seconds=metrics["latency_seconds"])]
    if metrics.get("parameters"):
        parts.append(say("compare.parameters", count=millions(metrics["parameters"])))
    if metrics.get("memory_bytes"):
        parts.append(f"{metrics['memory_bytes'] / 2**20:.1f} MB")
    if metrics.get("device"):
        parts.append(f"{metrics['device']} · {metrics['dtype']}")
    if metrics.get("loaded_before"):
        parts.append(say("compare.already_loaded"))
    elif metrics.get("load_seconds") is not None:
        parts.append(say("compare.loaded_in", seconds=metrics["load_seconds"]))
    if metrics.get("throughput_per_second") is not None:
        parts.append(say("compare.throughput", rate=f"{metrics['throughput_per_second']:.3g}",
                         calls=metrics["throughput_calls"], at_once=metrics["throughput_at_once"]))
    return " · ".join(render(part, language) for part in parts)


def not_measured(line: str, error: str, language: str = ENGLISH) -> str:
    """A side's figures line with why its throughput could not be measured."""
    return line + " · " + say("compare.not_measured", error=error).render(language)


@dataclass
class Picker:
    """A Compare mode's controls: the models, or one setting and its values, whether to measure, the button."""

    models: gr.Dropdown
    vary: gr.Dropdown
    values: gr.Textbox
    measure: gr.Checkbox
    button: gr.Button | None

    @property
    def inputs(self) -> list[Any]:
        return [self.models, self.vary, self.values, self.measure]


def picker(ctx: Context, task_key: str, info: str = "Pick 2 to 4: the same input goes to each, side by side below.",
           button: str | None = "Compare", measured: bool = True, settings: list[str] | None = None) -> Picker:
    """The tab's Compare mode, drawn where it is called (under Run): 2 to 4 models, or one model and a
    setting with 2 to 4 values (the task's numbers and switches, or those named in `settings`); whether to
    measure each side's throughput; a button (button=None: the controls alone, for a tab that draws its
    own, as the chat)."""
    def controls() -> Picker:
        picks = gr.Dropdown(choices=[(spec.name, spec.model_id) for spec in ctx.catalog.models(task_key)],
                            multiselect=True, max_choices=MAX_SIDES, label=word("compare.models"),
                            info=translated(translated(info, "compare.models.info"), "compare.models.info.chat"),
                            allow_custom_value=ctx.settings.allow_custom_models)
        choices = [(param_word(p, "shown"), p.name) for p in variable(task_key) if settings is None or p.name in settings]
        with gr.Row(visible=bool(choices)):
            vary = gr.Dropdown([(word("compare.none"), "")] + choices, value="", label=word("compare.vary"),
                               info=word("compare.vary.info"))
            values = gr.Textbox(label=word("compare.values"), placeholder=word("compare.values.placeholder"),
                                info=word("compare.values.info"))
        measure = gr.Checkbox(False, label=word("compare.measure"), visible=measured,
                              info=translated(f"Each side then sends the same call again for {MEASURE_SECONDS:g} s "
                                   "(as many at once as a batch holds): calls answered per second.", "compare.measure.info"))
        run = gr.Button(translated(button, "compare.button"), variant="secondary") if button else None
        return Picker(models=picks, vary=vary, values=values, measure=measure, button=run)

    if button is None:
        return controls()
    with gr.Accordion(word("compare.fold"), open=False, elem_classes=["compare-picker"]) as fold:
        drawn = controls()
    # the catalog grows while the app runs (a fine-tuned model): the choices as they are when unfolded
    fold.expand(lambda: gr.update(choices=[(s.name, s.model_id) for s in ctx.catalog.models(task_key)]), None,
                [drawn.models], queue=False, api_visibility="private", show_progress="hidden")
    return drawn


@dataclass
class Sides:
    """A comparison's place on the page: the summary, and per side a column with its title, the task's own
    outputs and its figures."""

    area: gr.Column
    said: gr.Markdown
    columns: list[gr.Column]
    heads: list[gr.Markdown]
    shown: list[list[Any]]
    figures: list[gr.Markdown]

    @property
    def components(self) -> list[Any]:
        return [self.area, self.said, *self.columns, *self.heads, *self.figures,
                *[c for made in self.shown for c in made]]


def sides(ctx: Context, view: Any, fn: Any, inputs: list[Any], outputs: Any, compare: Picker) -> None:
    """The sides of a comparison, drawn where it is called (a full row under the tab), and wired."""
    wire(ctx, view, fn, inputs, draw(outputs), compare)


def draw(outputs: Callable[[], list[Any]]) -> Sides:
    """A comparison's sides, drawn where it is called, each in the task's own outputs (`outputs()` draws them
    again) with its figures, and the summary in words above them; hidden until a comparison runs."""
    with gr.Column(visible=False, elem_classes=["comparison"]) as area:
        gr.Markdown(word("compare.heading"))
        said = gr.Markdown(elem_classes=["compare-summary"])
        columns, heads, shown, figures = [], [], [], []
        with gr.Row(equal_height=False):
            for _ in range(MAX_SIDES):
                with gr.Column(visible=False, min_width=260) as column:
                    heads.append(gr.Markdown())
                    shown.append(outputs())
                    figures.append(gr.Markdown(elem_classes=["compare-figures"]))
                columns.append(column)
    return Sides(area=area, said=said, columns=columns, heads=heads, shown=shown, figures=figures)


def wire(ctx: Context, view: Any, fn: Any, inputs: list[Any], drawn: Sides, compare: Picker) -> None:
    """The Compare button: the tab's handler `fn` (the page's own, taking `inputs`) once per side, the sides
    at once or one after another, each side shown as it ends, then the summary (and the measurements)."""
    area, said, columns, heads, shown, figures = (drawn.area, drawn.said, drawn.columns, drawn.heads,
                                                  drawn.shown, drawn.figures)
    model_at = inputs.index(view.model)
    param_at = {name: inputs.index(c) for name, c in view.fields.params.items() if c in inputs}
    run = on_gpu_or_plain(ctx, fn)
    single_outputs = shown[0]

    # the request first: Gradio hands special parameters only to positional ones (the reader's language, and
    # the tab's handler gets it too, as it would from the page: its errors and its Stop by session)
    def compare_on_page(request: gr.Request, *args: Any) -> Iterator[dict[Any, Any]]:
        *values, models, vary, vary_values, measure = args
        from gradio.helpers import special_args

        from .inputs import first_refused

        language = language_of(request)
        try:
            sides_planned = plan(ctx, view.task, models, values[model_at], vary, vary_values)
            refused = first_refused(values)
            if refused is not None:
                raise InvalidInput(refused.message)
            sequential = one_by_one(ctx, view.task, [m for m, _ in sides_planned])
        except PlaygroundError as e:
            yield {said: f"⚠ {sentence_of(e, language)}", area: gr.Column(visible=True)}
            return
        updates: dict[Any, Any] = {area: gr.Column(visible=True), said: say("compare.comparing").render(language)}
        for i, column in enumerate(columns):
            updates[column] = gr.Column(visible=i < len(sides_planned))
            if i < len(sides_planned):
                updates[heads[i]] = head_of(ctx, view.task, i, *sides_planned[i], language)
                updates[figures[i]] = (say("compare.waiting") if sequential and i
                                       else say("compare.running")).render(language)
        yield updates

        def call_of(model: Any, setting: dict[str, Any]) -> Callable[[], Any]:
            call = list(values)
            call[model_at] = model
            for name, value in setting.items():
                call[param_at[name]] = value
            call, *_ = special_args(run, call, request, None)  # the request where Gradio would put it
            return lambda: last_of(run(*call))

        def job(model: Any, setting: dict[str, Any]) -> Callable[[], list[Any]]:
            def side() -> list[Any]:
                before = already_loaded(ctx, view.task, model)
                start = time.perf_counter()
                value = call_of(model, setting)()
                return [(value, metrics_of(ctx, view.task, model, time.perf_counter() - start, before, None))]
            return side

        results: list[dict[str, Any]] = [{"error": None, "metrics": {}, "result": None} for _ in sides_planned]
        for event in as_they_come([job(m, s) for m, s in sides_planned], sequential, language):
            i = event.index
            if event.error is not None:
                results[i] = {"error": event.error, "metrics": {"latency_seconds": 0.0}, "result": None}
                yield {figures[i]: figures_line({}, event.error, language)}
            elif not event.done:
                value, metrics = event.value
                results[i] = {"error": None, "metrics": metrics, "result": api_form(single_outputs, value)}
                value = value if isinstance(value, tuple) else (value,)
                yield {figures[i]: figures_line(metrics, None, language), **dict(zip(shown[i], value))}

        def summarised() -> str:
            words = summary(view.task, results, language)
            return _then(words, render(ONE_AFTER_ANOTHER, language), language) if sequential else words

        if not measure:
            yield {said: summarised()}
            return
        yield {said: _then(summarised(), say("compare.measuring").render(language), language)}
        for i, (model, setting) in enumerate(sides_planned):
            if results[i]["error"]:
                continue
            try:
                results[i]["metrics"].update(throughput(call_of(model, setting), at_once_for(ctx, view.task)))
                yield {figures[i]: figures_line(results[i]["metrics"], None, language)}
            except Exception as e:  # noqa: BLE001 - the side's result stays; its measurement failed
                yield {figures[i]: not_measured(figures_line(results[i]["metrics"], None, language),
                                                sentence_of(e, language), language)}
        yield {said: summarised()}

    gr.on([compare.button.click], compare_on_page, [*inputs, *compare.inputs], drawn.components,
          api_visibility="private", show_progress_on=figures, **event_options(ctx))


def on_gpu_or_plain(ctx: Context, fn: Any) -> Any:
    from .common import on_gpu, plain_errors

    return plain_errors(on_gpu(ctx, fn, 60))


def label_of(ctx: Context, task: str, model: str) -> str:
    try:
        return ctx.manager.spec(task, model).name
    except PlaygroundError:
        return str(model)
