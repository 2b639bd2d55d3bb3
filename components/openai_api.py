"""An OpenAI-compatible HTTP API on the app's own server and port, for the `openai` package,
huggingface_hub's InferenceClient and anything else that speaks OpenAI's chat API:

    GET  /v1/models             the chat models: the catalog's (without known base models) and any loaded one
    POST /v1/chat/completions   a chat answered by a text-generation model, whole or streamed (SSE), with
                                each token's logprobs when asked (logprobs, top_logprobs)

How it is served: Gradio 6.31 drops routes added to its app before launch and takes no middleware
after it, so build_demo attaches the context here (`attach`) and app.launch_options passes
`app_kwargs(demo)` to launch(app_kwargs=...), which Gradio hands to FastAPI(): our routes come first
in the router (Gradio's own come after them, untouched), and `ApiKeyGuard` (components/access.py)
checks the key of every request under /v1 (--api-key; with --auth and no key, /v1 is closed).

A generation waits in the page's first-come line (components/turns.py): more than 4 waiting per
running slot is a 429. The turn, the model's load and the first token are taken before the answer
starts, so a refusal is a real status, never an event in a stream. A client that goes away stops
its generation at the next token and gives its turn back. Errors are OpenAI's shape, each one
plain sentence. No torch here.
"""
from __future__ import annotations

import json
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable

import anyio
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from models import InvalidInput, ModelNotAllowed, ModelNotFound, PlaygroundError, WrongModelKind
from models.chat import check_logprobs, check_messages, check_stop_strings
from models.fitting import chat_template
from models.errors import about
from models.tasks import task

from .access import ApiKeyGuard
from .common import Context, sentence_of
from .turns import Busy

TASK = "text-generation"
ATTRIBUTE = "playground_context"  # where attach() keeps the context on the demo
WAITING_PER_SLOT = 4  # requests that may wait per running generation before the next one is a 429
MAX_BODY_BYTES = 8 * 2**20  # the largest chat check_messages takes is 400,000 characters
# What clients send when the server decides the model (InferenceClient(base_url=...) sends "tgi"):
# the catalog's default text-generation model.
PLACEHOLDERS = ("", "tgi", "dummy", "default")
# The declared parameters (models/tasks.py) under OpenAI's names; a sentence about one uses its name.
OPENAI_NAMES = {"max_new_tokens": "max_tokens"}
ERROR_TYPES = {401: "authentication_error", 429: "rate_limit_error"}
KNOWN_PATHS = {"/v1/models": "GET", "/v1/chat/completions": "POST"}


# -- attaching to the demo ---------------------------------------------------------------------------

def attach(demo: Any, ctx: Context) -> None:
    """Keep the context on the demo for app_kwargs (build_demo calls this)."""
    setattr(demo, ATTRIBUTE, ctx)


def app_kwargs(demo: Any) -> dict[str, Any]:
    """What launch(app_kwargs=...) needs to serve the API of a demo made by build_demo: the routes and
    the key guard. A fresh dict each time: Gradio writes into it."""
    ctx = getattr(demo, ATTRIBUTE, None)
    if ctx is None:
        return {}
    settings = ctx.settings
    return {"routes": routes(ctx),
            "middleware": [Middleware(ApiKeyGuard, keys=tuple(settings.api_keys), login=settings.login_required)]}


# -- errors --------------------------------------------------------------------------------------------

class ApiError(Exception):
    """A refusal as OpenAI sends it: a status and {"error": {message, type, param, code}}."""

    def __init__(self, status: int, message: str, *, param: str | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        message = sentence_of(PlaygroundError(message))  # a capital, as every sentence of the app
        super().__init__(message)
        self.status, self.message, self.param, self.code = status, message, param, code
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        kind = ERROR_TYPES.get(self.status, "server_error" if self.status >= 500 else "invalid_request_error")
        return {"error": {"message": self.message, "type": kind, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def api_error(error: BaseException, names: dict[str, str] | None = None) -> ApiError:
    """Any failure as an ApiError: the models' errors keep their sentence, with a declared parameter's
    name turned into the one the request used (max_new_tokens -> max_tokens); others are a 500."""
    if isinstance(error, ApiError):
        return error
    if isinstance(error, Busy):
        return ApiError(429, "Too many requests are waiting to generate; try again in a moment.",
                        code="rate_limit_exceeded", headers={"Retry-After": "1"})
    if isinstance(error, (ModelNotFound, ModelNotAllowed)):  # the Hub out of reach too: not here, for now
        return ApiError(404, str(error), param="model", code="model_not_found")
    if isinstance(error, WrongModelKind):
        return ApiError(400, str(error), param="model")
    if isinstance(error, InvalidInput):
        names = {**OPENAI_NAMES, **(names or {})}
        message, param = str(error), error.field
        declared = next((p for p in task(TASK).params if p.name == param), None)
        if declared is not None:  # "Max new tokens (max_new_tokens) must be…" -> "max_tokens must be…"
            message = message.replace(declared.shown, names.get(param, param))
        if param in names:
            message, param = message.replace(param, names[param]), names[param]
        return ApiError(422, message, param=param)
    return ApiError(500, sentence_of(error))  # a load that failed, out of memory, or unexpected (logged)


# -- reading a request ---------------------------------------------------------------------------------

@dataclass
class Call:
    """A checked chat-completion request."""

    model: str | None      # None: the catalog's default
    model_id: str          # as the answer names it
    messages: list[dict[str, str]]
    params: dict[str, Any]  # for manager.stream: the declared parameters, do_sample, stop_strings (and logprobs)
    names: dict[str, str]   # declared name -> the request's name for it (max_tokens or max_completion_tokens)
    stream: bool
    include_usage: bool
    logprobs: bool = False  # each token's log-probability asked for (top_logprobs: how many alternatives)


async def read_json(request: Request) -> Any:
    """The body as JSON, read up to MAX_BODY_BYTES (a bigger one is refused before it is all read)."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, f"The request body is over {MAX_BODY_BYTES // 2**20} MB; send a shorter chat.")
    try:
        return json.loads(bytes(body))
    except (ValueError, RecursionError):
        raise ApiError(400, "The request body is not valid JSON; send a JSON object with model and messages.") from None


def _shown(value: Any) -> str:
    """A value as a sentence names its JSON type (or itself, for a number)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return {str: "a string", list: "a list", dict: "an object"}.get(type(value), type(value).__name__)


def _field(body: dict, name: str, default: Any, kind: str, param: str | None = None) -> Any:
    """body[name] checked to be of `kind` ("integer", "number", "boolean", "object"); absent or null: default.
    param: how an error names it (default: name)."""
    value, param = body.get(name), param or name
    if value is None:
        return default
    ok = {"integer": isinstance(value, int) and not isinstance(value, bool),
          "number": isinstance(value, (int, float)) and not isinstance(value, bool),
          "boolean": isinstance(value, bool), "object": isinstance(value, dict)}[kind]
    if not ok:
        what = {"integer": "a whole number", "number": "a number", "boolean": "true or false", "object": "an object"}
        raise ApiError(422, f"The {param} field must be {what[kind]}, not {_shown(value)}.", param=param)
    return value


def read_call(ctx: Context, body: Any) -> Call:
    """The request checked before it waits for anything: its model known (a hosted app refuses one
    outside its catalog here), its messages, parameters and stop strings in range."""
    if not isinstance(body, dict):
        raise ApiError(400, f"The request body must be a JSON object, not {_shown(body)}.")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise ApiError(422, f"The model must be a string (an id from GET /v1/models), not {_shown(model)}.",
                       param="model")
    if model is None or model.strip().lower() in PLACEHOLDERS:
        model = None
    try:
        spec = ctx.manager.spec(TASK, model)
    except InvalidInput as e:  # an id no model can have (too long, control characters)
        raise ApiError(422, sentence_of(e), param="model") from None
    messages = body.get("messages")
    if messages is None or messages == []:
        raise ApiError(400, "The request has no messages; send at least one user message.", param="messages")
    with about("messages"):
        messages = check_messages(messages)
    stream = _field(body, "stream", False, "boolean")
    include_usage = _field(_field(body, "stream_options", {}, "object"), "include_usage", False, "boolean",
                           "stream_options.include_usage")
    if _field(body, "n", 1, "integer") != 1:
        raise ApiError(400, "Only one choice can be generated per request; set n to 1 or leave it out.", param="n")
    tokens = "max_completion_tokens" if body.get("max_completion_tokens") is not None else "max_tokens"
    declared = task(TASK)
    # OpenAI's defaults, not the page's: no top-k, no repetition penalty
    values = {"max_new_tokens": _field(body, tokens, declared.param("max_new_tokens").default, "integer"),
              "temperature": _field(body, "temperature", 1.0, "number"),
              "top_p": _field(body, "top_p", 1.0, "number"),
              "top_k": _field(body, "top_k", 0, "integer"),
              "repetition_penalty": _field(body, "repetition_penalty", 1.0, "number"),
              "seed": _field(body, "seed", None, "integer")}
    names = {"max_new_tokens": tokens}
    try:
        params = declared.check(values)
    except InvalidInput as e:
        raise api_error(e, names) from None
    params["do_sample"] = params["temperature"] > 0  # temperature 0 is greedy, as on the page
    params["stop_strings"] = check_stop_strings(body.get("stop"))
    logprobs, top_logprobs = check_logprobs(_field(body, "logprobs", False, "boolean"),
                                            _field(body, "top_logprobs", None, "integer"))
    if logprobs:  # asked for only: the adapter records nothing otherwise
        params.update(logprobs=True, top_logprobs=top_logprobs)
    return Call(model=model, model_id=spec.model_id, messages=messages, params=params, names=names,
                stream=stream, include_usage=include_usage, logprobs=logprobs)


# -- a generation holding its turn ---------------------------------------------------------------------

class Run:
    """One generation: waits for its turn (Busy when too many wait), loads the model, generates the first
    update; then its updates. close() stops it at the next token and gives the turn back (from any thread,
    as often as one likes). Blocking: made and read on worker threads."""

    def __init__(self, ctx: Context, call: Call, stop: threading.Event) -> None:
        self.stop, self.updates, self._closed = stop, None, False
        self._lock = threading.Lock()
        self._turn = ctx.turns.held(max_waiting=WAITING_PER_SLOT * ctx.turns.size)
        self._turn.__enter__()
        try:
            if stop.is_set():  # the client left while it waited
                raise ApiError(499, "The client closed the request.")
            if not ctx.manager.run(TASK, call.model, "is_chat"):
                raise ApiError(400, f"{call.model_id} has no chat template: it is a base model that continues "
                                    "a text; pick a chat model.", param="model")
            self.updates = ctx.manager.stream(TASK, call.model, call.messages, stop=stop, **call.params)
            self.first = next(self.updates)
        except BaseException:
            self.close()
            raise

    def next(self) -> dict[str, Any] | None:
        return next(self.updates, None)

    def last(self) -> dict[str, Any]:
        """Every update read; the last one (done)."""
        update = self.first
        while not update["done"]:
            update = self.next() or {**update, "done": True}
        return update

    def close(self) -> None:
        self.stop.set()
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            if self.updates is not None:
                self.updates.close()  # the adapter's finally: generate() ends at the next token
        finally:
            self._turn.__exit__(None, None, None)


async def _until_disconnected(request: Request, stop: threading.Event) -> None:
    """Set `stop` when the client goes away (the body is read: the next message is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    stop.set()


async def _watching(request: Request, stop: threading.Event, fn: Callable, *args: Any) -> Any:
    """fn(*args) on a worker thread, with `stop` set if the client goes away meanwhile; fn's error raised
    as it is (not in the exception group a task group makes of it)."""
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(_until_disconnected, request, stop)
            try:
                return await anyio.to_thread.run_sync(fn, *args)
            finally:
                group.cancel_scope.cancel()
    except BaseExceptionGroup as errors:
        raise errors.exceptions[0] from None


class EventStream(StreamingResponse):
    """Server-sent events that always end their run: whether the stream finished, failed or its client
    left (Starlette then cancels it, perhaps before the first event), the iterator is closed and the
    run's turn given back."""

    def __init__(self, run: Run, events: AsyncIterator[str]) -> None:
        super().__init__(events, media_type="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        self.run = run

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            with anyio.CancelScope(shield=True):
                await self.body_iterator.aclose()  # type: ignore[attr-defined]
                await anyio.to_thread.run_sync(self.run.close)


# -- the routes -----------------------------------------------------------------------------------------

def _usage(update: dict[str, Any]) -> dict[str, int]:
    # a remote endpoint that does not say its prompt's tokens (models/remote.py): 0
    prompt, completion = int(update["prompt_tokens"] or 0), int(update["new_tokens"])
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def _extras(update: dict[str, Any]) -> dict[str, Any]:
    """What the playground adds to an answer (clients ignore fields they do not know): with logprobs, the
    reply's total log-probability and its perplexity too."""
    extras = {key: update.get(key) for key in ("seed", "dropped_turns", "window", "first_token_seconds", "seconds")}
    return {**extras, **{key: update[key] for key in ("logprob", "perplexity") if key in update}}


def _logprobs(update: dict[str, Any]) -> dict[str, Any]:
    """A choice's `logprobs` as OpenAI gives them: {"content": [...], "refusal": None}, and, for a reasoning
    model, the thinking's tokens as "reasoning_content" (as the message's own reasoning_content)."""
    found = update.get("logprobs") or {}
    return {"content": found.get("content", []), "refusal": None,
            **({"reasoning_content": found["reasoning_content"]} if "reasoning_content" in found else {})}


def routes(ctx: Context) -> list[Route]:
    started = int(time.time())

    async def list_models(request: Request) -> Response:
        # The catalog's chat models: those whose tokenizer files say they have no chat template (read
        # here without loading, models/fitting.py) are left out; one whose files are not here yet (a
        # Hub model not downloaded) is listed (a base model is refused by /v1/chat/completions).
        seen: dict[str, int] = {spec.model_id: started for spec in ctx.catalog.models(TASK)
                                if chat_template(spec)[0] is not False}
        for entry in ctx.manager.loaded():
            if entry["task"] == TASK:
                seen.setdefault(entry["model"], int(entry["loaded_at"]))
        return JSONResponse({"object": "list", "data": [
            {"id": model, "object": "model", "created": created, "owned_by": "playground"}
            for model, created in seen.items()]})

    async def chat_completions(request: Request) -> Response:
        call: Call | None = None
        try:
            call = read_call(ctx, await read_json(request))
            stop = threading.Event()
            run = await _watching(request, stop, Run, ctx, call, stop)
        except Exception as e:  # noqa: BLE001 - every failure is an OpenAI-shaped answer
            return api_error(e, call.names if call else None).response()
        answer_id, created = "chatcmpl-" + secrets.token_hex(12), int(time.time())
        if call.stream:
            return EventStream(run, events(run, call, answer_id, created))
        try:
            last = await _watching(request, stop, run.last)
        except Exception as e:  # noqa: BLE001
            return api_error(e, call.names).response()
        finally:
            await anyio.to_thread.run_sync(run.close)
        message = {"role": "assistant", "content": last["answer"]}
        if last.get("thinking") is not None:
            message["reasoning_content"] = last["thinking"]
        return JSONResponse({
            "id": answer_id, "object": "chat.completion", "created": created, "model": call.model_id,
            "choices": [{"index": 0, "message": message, "logprobs": _logprobs(last) if call.logprobs else None,
                         "finish_reason": last.get("finish_reason", "stop")}],
            "usage": _usage(last), "playground": _extras(last)})

    async def events(run: Run, call: Call, answer_id: str, created: int) -> AsyncIterator[str]:
        """The answer as chat.completion.chunk events: the role, the new text of each update (reasoning
        apart), why it ended, the usage if asked, then [DONE]; a failure midway is one error event. With
        logprobs, as OpenAI does, each chunk's choice carries the log-probabilities of the tokens it brings
        (any not yet sent, the last chunk's), so that the chunks' lists put together are the whole answer's."""
        def event(delta: dict[str, Any] | None, finish: str | None = None, logprobs: Any = None, **extra: Any) -> str:
            choice = {"index": 0, "delta": delta, **({"logprobs": logprobs} if call.logprobs else {}),
                      "finish_reason": finish}
            chunk = {"id": answer_id, "object": "chat.completion.chunk", "created": created, "model": call.model_id,
                     "choices": [] if delta is None else [choice], **extra}
            return f"data: {json.dumps(chunk)}\n\n"

        def unsent(update: dict[str, Any], key: str) -> dict[str, Any] | None:
            """The log-probabilities of the tokens of `key` (content, reasoning_content) not yet sent."""
            if not call.logprobs:
                return None
            found = _logprobs(update)
            tokens = found.get(key, [])
            new, tokens_sent[key] = tokens[tokens_sent[key]:], len(tokens)
            return {"content": new if key == "content" else [], "refusal": None,
                    **({"reasoning_content": new} if key == "reasoning_content" else {})}

        try:
            yield event({"role": "assistant", "content": ""}, logprobs={"content": [], "refusal": None})
            sent = {"content": "", "reasoning_content": ""}
            tokens_sent = {"content": 0, "reasoning_content": 0}
            update = run.first
            while True:
                for key, text in (("reasoning_content", update.get("thinking") or ""), ("content", update["answer"])):
                    if len(text) > len(sent[key]) and text.startswith(sent[key]):
                        yield event({key: text[len(sent[key]):]}, logprobs=unsent(update, key))
                        sent[key] = text
                if update["done"]:
                    break
                update = await anyio.to_thread.run_sync(run.next) or {**update, "done": True}
            rest = unsent(update, "content")  # the last chunk: any tokens not sent yet
            if rest is not None and "reasoning_content" in _logprobs(update):
                rest["reasoning_content"] = unsent(update, "reasoning_content")["reasoning_content"]
            yield event({}, update.get("finish_reason", "stop"), logprobs=rest)
            if call.include_usage:
                yield event(None, usage=_usage(update), playground=_extras(update))
        except Exception as e:  # noqa: BLE001 - the status is sent already: the error is an event
            yield f"data: {json.dumps(api_error(e, call.names).body())}\n\n"
        yield "data: [DONE]\n\n"

    async def not_found(request: Request) -> Response:
        path = request.url.path
        known = ", ".join(f"{method} {p}" for p, method in KNOWN_PATHS.items())
        if path in KNOWN_PATHS:
            return ApiError(405, f"{path} takes {KNOWN_PATHS[path]}, not {request.method}.").response()
        return ApiError(404, f"There is no {request.method} {path[:100]} here; this API serves {known}.").response()

    every = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    return [Route("/v1/models", list_models, methods=["GET"]),
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1", not_found, methods=every), Route("/v1/{rest:path}", not_found, methods=every)]
