"""A chat model served by a remote OpenAI-compatible server: vLLM, Text Generation Inference, llama.cpp's
server, Ollama, Hugging Face Inference Providers, or another playground's /v1.

The catalog names it (models/catalog.py): a text-generation entry `{id: <the server's name for the model>,
endpoint: <the server's OpenAI base URL, usually ending in /v1>, api_key_env: <the variable that holds its
key>}`. Only the catalog can name an endpoint: a visitor picks an entry, never a URL, so a hosted app
reaches only the servers its operator listed.

`RemoteChat` is the text-generation adapter's twin: the same checks of the chat and of the declared
parameters, and the same updates as `TextGeneration.stream` (models/text.py), made from the server's
streamed chunks and, at the end, its `usage`. The requests go through huggingface_hub's `InferenceClient`
(base_url), which builds them and reads the chunks; its HTTP goes through a client of this adapter's own,
since huggingface_hub's refuses every URL, a local server's too, under HF_HUB_OFFLINE (which the manager
also sets while it loads a model from the cache). No torch here.

What a server gives decides a few figures: `window` is the model's context length where /models says it
(vLLM's max_model_len, llama.cpp's n_ctx_train, a provider's context_length) or where another playground's
/v1 adds it to its usage (with the turns it dropped to fit it), else None; `prompt_tokens` comes with the
usage at the end, and only with a window (the page tells the context used as "N of window"); `new_tokens`
counts the chunks that carried text until the usage gives the real count. Seeds, top_k and
repetition_penalty are sent; a server that refuses top_k or repetition_penalty (or stream_options) by name
is asked again without them, and they are left out of its later requests (said once in the log). A server
that ignores a seed gives another text for the same seed. A reasoning model's thinking, sent apart
(`reasoning_content` or `reasoning`), is put back between <think> tags, as a local model writes it.
"""
from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
import time
from typing import Any, Iterator

import httpx
from huggingface_hub import InferenceClient

from .base import Pipeline, check_text
from .catalog import shown_endpoint
from .chat import (THINK_CLOSE, THINK_OPEN, Generating, check_logprobs, check_messages, check_stop_strings, cut_at_stop,
                   logprob_totals, split_thinking)
from .errors import InvalidInput, ModelLoadFailed, ModelNotFound, ModelUnloaded
from .messages import say
from .results import Generation

log = logging.getLogger("playground")

TIMEOUT = httpx.Timeout(120.0, connect=10.0)  # a busy server's first token may take a while, a connection not
MODELS_TIMEOUT = httpx.Timeout(15.0, connect=10.0)  # the check at load
MAX_SHOWN_MODELS = 5  # "it serves a, b, c, d, e and 12 more"
# Sent only where the server takes them: each dropped from a server's requests once it refuses it by name.
OPTIONAL = ("top_k", "repetition_penalty", "stream_options")
# Where servers say a model's context length in /models: vLLM, OpenRouter and Together, Groq.
WINDOW_KEYS = ("max_model_len", "context_length", "context_window")


class RemoteUnavailable(ModelLoadFailed):
    """The remote server cannot be reached, failed, or refused the key."""


class _Status(Exception):
    """An HTTP error status from the server, with its message (read from OpenAI's, TGI's or a plain body)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message)
        self.status, self.message = status, message


class _Client(InferenceClient):
    """InferenceClient with its HTTP on a given httpx client: huggingface_hub's own refuses every request
    under HF_HUB_OFFLINE, which says nothing of a server the catalog names. The key is the catalog's only:
    without one, InferenceClient would send this machine's Hugging Face token (HF_TOKEN, or the one
    `hf auth login` saved) to whatever server the URL names. The response is kept, so that closing it (Stop,
    a client gone) ends the request at once."""

    def __init__(self, http: httpx.Client, key: str | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.http, self.key, self.response = http, key, None

    def _inner_post(self, request_parameters: Any, *, stream: bool = False) -> Any:
        headers = {k: v for k, v in request_parameters.headers.items() if k.lower() != "authorization"}
        if self.key:
            headers["authorization"] = f"Bearer {self.key}"
        request = self.http.build_request("POST", request_parameters.url, json=request_parameters.json,
                                          content=request_parameters.data, headers=headers)
        response = self.http.send(request, stream=True)
        if response.status_code >= 400:
            try:
                response.read()
            finally:
                response.close()
            raise _Status(response.status_code, _message_of(response))
        if not stream:
            try:
                return response.read()
            finally:
                response.close()
        self.response = response
        return response.iter_lines()

    def close(self) -> None:
        response, self.response = self.response, None
        if response is not None:
            response.close()
        super().close()


class RemoteChat(Generating, Pipeline):
    """A chat model on a remote OpenAI-compatible server (spec.endpoint); streams like TextGeneration."""

    task = "text-generation"
    task_label = "chat on a remote server"

    def __init__(self, spec: Any, *, allow_pickle: bool = False) -> None:
        super().__init__(spec, allow_pickle=allow_pickle)
        self.endpoint: str = (spec.endpoint or "").rstrip("/")
        self.window: int | None = None
        self._http: httpx.Client | None = None
        self._users = 0  # streams using _http: an unload while they run leaves its closing to the last
        self._lock = threading.Lock()
        self._dropped: set[str] = set()  # OPTIONAL fields this server refused

    # -- lifecycle -------------------------------------------------------------------------------------
    def load(self, device: str, dtype: Any) -> None:
        """Ask the server for its models (GET {endpoint}/models): reachable, the key taken, the model served."""
        self.device, self.dtype = "remote", "-"
        self.report(say("load.asking", server=self.shown))
        http = httpx.Client(timeout=TIMEOUT, follow_redirects=True)
        try:
            entry = self._served(http)
        except BaseException:
            http.close()
            raise
        self.window = window_of(entry)
        self._http = http

    def _served(self, http: httpx.Client) -> dict[str, Any]:
        """The server's /models entry for this model; every way to fail is a sentence."""
        try:
            response = http.get(f"{self.endpoint}/models", headers=self._headers(), timeout=MODELS_TIMEOUT)
        except httpx.HTTPError as e:
            raise self._unreachable(e) from None
        if response.status_code >= 400:
            status = _Status(response.status_code, _message_of(response))
            if status.status == 404:
                raise ModelNotFound(say("remote.no_models_endpoint", server=self.shown))
            raise self._refused(status, "/models")
        try:
            data = response.json()
            listed = [m for m in data["data"] if isinstance(m, dict) and isinstance(m.get("id"), str)]
        except (ValueError, KeyError, TypeError):
            raise RemoteUnavailable(say("remote.not_openai", server=self.shown)) from None
        ids = {m["id"]: m for m in listed}
        wanted = self.spec.model_id
        for name in (wanted, f"{wanted}:latest", wanted.rsplit(":", 1)[0]):  # Ollama's tag; a provider suffix
            if name in ids:
                return ids[name]
        names = list(ids)
        if not names:
            raise ModelNotFound(say("remote.serves_nothing", server=self.shown, model=_cut(wanted, 80)))
        more = len(names) - MAX_SHOWN_MODELS
        first = ", ".join(names[:MAX_SHOWN_MODELS])
        raise ModelNotFound(say("remote.not_served", server=self.shown, model=_cut(wanted, 80),
                                served=_cut(first + (f" and {more} more" if more > 0 else ""), 160),
                                served_zh=_cut(first + (f" 等（另有 {more} 个）" if more > 0 else ""), 160)))

    def to(self, device: str) -> None:
        """Nothing to move: the weights are on the server."""

    def unload(self) -> None:
        with self._lock:
            http, self._http = self._http, None
            idle = self._users == 0
        if http is not None and idle:
            http.close()

    def modules(self) -> list[Any]:
        return []

    def stats(self) -> dict[str, Any]:
        return {"parameters": 0, "memory_bytes": 0}  # on the server, which does not say

    @property
    def is_chat(self) -> bool:
        return True  # the server applies the model's chat template

    @property
    def shown(self) -> str:
        return shown_endpoint(self.endpoint)

    @contextlib.contextmanager
    def _client(self) -> Iterator[httpx.Client]:
        with self._lock:
            http = self._http
            if http is None:
                raise ModelUnloaded(say("model.unloaded", model=self.spec.name))
            self._users += 1
        try:
            yield http
        finally:
            with self._lock:
                self._users -= 1
                orphaned = self._users == 0 and self._http is not http
            if orphaned:  # unloaded while this stream ran
                http.close()

    # -- the key and the errors --------------------------------------------------------------------------
    def _key(self) -> str | None:
        """The key, read from its variable at each request (a rotated key needs no reload)."""
        name = self.spec.api_key_env
        return (os.environ.get(name) or None) if name else None

    def _headers(self) -> dict[str, str]:
        key = self._key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _unreachable(self, error: BaseException) -> RemoteUnavailable:
        return RemoteUnavailable(say("remote.unreachable", server=self.shown, reason=_reason(error)))

    def _refused(self, status: _Status, what: str = "the request") -> Exception:
        """A sentence for an error status; 401 and 403 name the key's variable."""
        code, message = status.status, status.message
        asked = {"server": self.shown, "what": what, "code": code,
                 "what_zh": "请求" if what == "the request" else f" {what} 请求"}
        if code in (401, 403):
            name = self.spec.api_key_env
            if not name:
                return RemoteUnavailable(say("remote.needs_key", **asked))
            if self._key() is None:
                return RemoteUnavailable(say("remote.key_not_set", name=name, **asked))
            return RemoteUnavailable(say("remote.key_refused", server=self.shown, name=name, code=code))
        said = {"said": f": {message}" if message else ".", "said_zh": f"：{message}" if message else "。"}
        if code == 404:
            return ModelNotFound(say("remote.not_found", server=self.shown, model=_cut(self.spec.model_id, 60), **said))
        if code in (400, 413, 422):
            return InvalidInput(say("remote.refused", **asked, **said))
        if code == 429:
            return RemoteUnavailable(say("remote.busy", server=self.shown))
        return RemoteUnavailable(say("remote.failed", server=self.shown, code=code, **said))

    # -- generating --------------------------------------------------------------------------------------
    def messages(self, inputs: Any) -> list[dict[str, str]]:
        """A chat as it is checked for a local model; a prompt is the user's one message."""
        if isinstance(inputs, (list, tuple)):
            return check_messages(list(inputs))
        return [{"role": "user", "content": check_text(inputs, "prompt")}]

    def body(self, p: dict[str, Any], stops: list[str], logprobs: bool, top_logprobs: int) -> dict[str, Any]:
        """chat_completion's arguments: OpenAI's fields, and the playground's others in extra_body."""
        sampling = p["do_sample"]
        body: dict[str, Any] = {
            "model": self.spec.model_id, "max_tokens": p["max_new_tokens"],
            "temperature": p["temperature"] if sampling else 0.0, "top_p": p["top_p"] if sampling else 1.0,
            "seed": p["seed"], "stop": stops or None, "stream": True, "stream_options": {"include_usage": True}}
        if logprobs:
            body.update(logprobs=True, top_logprobs=top_logprobs)
        extra = {}
        if sampling and p["top_k"]:
            extra["top_k"] = p["top_k"]
        if p["repetition_penalty"] != 1.0:
            extra["repetition_penalty"] = p["repetition_penalty"]
        if extra:
            body["extra_body"] = extra
        return body

    def _open(self, client: _Client, messages: list[dict[str, str]], body: dict[str, Any]) -> Any:
        """The chunks of a chat_completion; a server that refuses an OPTIONAL field by name is asked again
        without it (and never sent it again)."""
        while True:
            kwargs = dict(body, extra_body={k: v for k, v in (body.get("extra_body") or {}).items()
                                            if k not in self._dropped} or None)
            if "stream_options" in self._dropped:
                kwargs["stream_options"] = None
            sent = [k for k in OPTIONAL if k in (kwargs["extra_body"] or {}) or (k in kwargs and kwargs[k])]
            try:
                return client.chat_completion(messages, **kwargs)
            except _Status as status:
                refused = [k for k in sent if status.status in (400, 422) and k in status.message]
                if not refused:
                    raise self._refused(status) from None
                self._dropped.update(refused)
                log.warning("%s refused %s; they are left out of its requests from now on.", self.shown,
                            " and ".join(refused))
            except httpx.HTTPError as e:
                raise self._unreachable(e) from None

    def stream(self, inputs: Any, *, stop: threading.Event | None = None, stop_strings: Any = None,
               logprobs: Any = False, top_logprobs: Any = None, **params: Any) -> Iterator[Generation]:
        """The updates TextGeneration.stream yields (models/results.py Generation), from the server's chunks.

        stop: closes the request at the next chunk (Stop, a closed tab); stop_strings go to the server, and are
        cut here too, should it not take them. logprobs: the server's own, passed on as they come (a server
        that gives none is refused with a sentence before the first update)."""
        p = self.check_params(**params)
        stops = check_stop_strings(stop_strings)
        logprobs, top_logprobs = check_logprobs(logprobs, top_logprobs)
        messages = self.messages(inputs)
        stop = stop or threading.Event()
        body = self.body(p, stops, logprobs, top_logprobs)
        fixed = {"seed": p["seed"], "prompt_tokens": None, "window": self.window,
                 "max_new_tokens": p["max_new_tokens"], "dropped_turns": 0, "thinking_opened": False}
        with self._client() as http:
            start = time.perf_counter()
            client = _Client(http, self._key(), base_url=f"{self.endpoint}/chat/completions")
            try:
                yield from self._updates(client, messages, body, stop, stops, logprobs, fixed, start)
            finally:
                client.close()  # Stop, a client gone, the end: the request ends here

    def _updates(self, client: _Client, messages: list[dict[str, str]], body: dict[str, Any],
                 stop: threading.Event, stops: list[str], logprobs: bool, fixed: dict[str, Any],
                 start: float) -> Iterator[Generation]:
        chunks = self._open(client, messages, body)
        text, first, thought_for, hit_stop, user_stopped = "", None, None, False, False
        thinking_open, pieces, finish, usage = False, 0, None, None
        content_lp: list[dict[str, Any]] = []
        reasoning_lp: list[dict[str, Any]] = []

        def update(shown: str, done: bool) -> Generation:
            nonlocal thought_for
            thinking, answer, ended = split_thinking(shown, False)
            if thinking is not None and ended and thought_for is None:
                thought_for = time.perf_counter() - start
            tokens = pieces if usage is None or usage.get("completion_tokens") is None else int(usage["completion_tokens"])
            out: Generation = {
                "text": shown, "new_tokens": tokens, "done": done, "first_token_seconds": first,
                "seconds": time.perf_counter() - start, "thinking": thinking, "answer": answer,
                "thinking_seconds": thought_for if thinking is not None and ended else None, **fixed}
            if usage is not None and usage.get("prompt_tokens") is not None and fixed["window"] is not None:
                out["prompt_tokens"] = int(usage["prompt_tokens"])
            if logprobs:
                out["logprobs"] = {"content": list(content_lp),
                                   **({"reasoning_content": list(reasoning_lp)} if thinking is not None else {})}
                if done:
                    out.update(logprob_totals(reasoning_lp + content_lp))
            return out

        while True:
            try:
                chunk = next(chunks, None)
            except httpx.HTTPError as e:
                if stop.is_set():
                    break
                raise self._unreachable(e) from None
            except Exception as e:  # noqa: BLE001 - an error event midway, a chunk that is not JSON: one sentence
                raise RemoteUnavailable(say("remote.failed_midway", server=self.shown, detail=_error_text(e))) from None
            if chunk is None:
                break
            if stop.is_set():
                user_stopped = True
                break
            if chunk.get("usage"):
                usage = dict(chunk["usage"])
            extras = chunk.get("playground")  # another playground's /v1 says the window and the turns dropped
            if isinstance(extras, dict):
                for key in ("window", "dropped_turns"):
                    if isinstance(extras.get(key), int) and not isinstance(extras.get(key), bool):
                        fixed[key] = extras[key]
            for choice in (chunk.get("choices") or [])[:1]:
                delta = choice.get("delta") or {}
                reasoning = delta.get("reasoning_content") or delta.get("reasoning") or ""
                content = delta.get("content") or ""
                if choice.get("finish_reason"):
                    finish = choice["finish_reason"]
                found = choice.get("logprobs") if logprobs else None
                if found:  # a chunk's own tokens (the last chunk may bring some without text)
                    content_lp.extend(_entries(found.get("content")))
                    reasoning_lp.extend(_entries(found.get("reasoning_content")))
                if not (reasoning or content):
                    continue
                if logprobs and not (content_lp or reasoning_lp):
                    raise InvalidInput(say("remote.no_logprobs", server=self.shown, model=self.spec.name),
                                       field="logprobs")
                if first is None:
                    first = time.perf_counter() - start
                pieces += 1
                if reasoning:
                    text += ("" if thinking_open else THINK_OPEN) + reasoning
                    thinking_open = True
                if content:
                    text += (THINK_CLOSE if thinking_open else "") + content
                    thinking_open = False
                text, hit_stop, held = cut_at_stop(text, stops)
                if hit_stop:
                    break
                yield update(text[:len(text) - held], False)
            if hit_stop:
                break
        length = finish == "length" and not (hit_stop or user_stopped)
        yield {**update(text, True), "stopped": user_stopped and not hit_stop,
               "finish_reason": "length" if length else "stop"}


# -- what servers say ------------------------------------------------------------------------------------

def window_of(entry: dict[str, Any]) -> int | None:
    """A model's context length as its /models entry gives it, or None: vLLM's max_model_len, OpenRouter's
    and Together's context_length, Groq's context_window, llama.cpp's meta.n_ctx_train, and the smallest of
    Hugging Face's providers' context_length."""
    meta = entry.get("meta") if isinstance(entry.get("meta"), dict) else {}
    providers = entry.get("providers") if isinstance(entry.get("providers"), list) else []
    candidates = [entry.get(k) for k in WINDOW_KEYS] + [meta.get("n_ctx"), meta.get("n_ctx_train")]
    for value in candidates:
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    lengths = [p.get("context_length") for p in providers if isinstance(p, dict)]
    lengths = [n for n in lengths if isinstance(n, int) and not isinstance(n, bool) and n > 0]
    return min(lengths) if lengths else None


def _entries(tokens: Any) -> list[dict[str, Any]]:
    """Logprob entries as plain data: {"token", "logprob", "bytes", "top_logprobs": [{"token", "logprob", "bytes"}]}."""
    def plain(entry: Any) -> dict[str, Any]:
        token = str(entry.get("token", ""))
        raw = entry.get("bytes")
        return {"token": token, "logprob": float(entry.get("logprob", 0.0)),
                "bytes": list(raw) if isinstance(raw, list) else list(token.encode("utf-8"))}

    return [{**plain(e), "top_logprobs": [plain(t) for t in e.get("top_logprobs") or []]}
            for e in tokens or [] if isinstance(e, dict)]


def _message_of(response: httpx.Response) -> str:
    """The server's reason, as a short sentence: OpenAI's {"error": {"message"}}, TGI's {"error": "..."},
    FastAPI's {"detail": "..."}, or the body's first line."""
    try:
        data = response.json()
    except ValueError:
        data = None
    found: Any = None
    if isinstance(data, dict):
        found = data.get("error", data.get("detail", data.get("message")))
        if isinstance(found, dict):
            found = found.get("message")
    if not isinstance(found, str):
        found = response.text if data is None else ""
    return _sentence(found)


def _error_text(error: BaseException) -> str:
    """An error event's message (InferenceClient raises it with the event's "error", a dict or a string)."""
    found: Any = error.args[0] if error.args else ""
    if isinstance(found, dict):
        found = found.get("message", "")
    return _sentence(str(found)) or "the stream broke off."


def _sentence(text: str, limit: int = 160) -> str:
    """The first line of a server's message, cut at a word when long, ending as a sentence."""
    line = next((part.strip() for part in str(text).splitlines() if part.strip()), "")
    line = re.sub(r"<[^>]+>", "", line).strip()  # an HTML error page's tags
    if not line:
        return ""
    line = _cut(line, limit)
    return line if line[-1] in ".!?…" else line + "."


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit].rsplit(" ", 1)[0] + "…"


def _reason(error: BaseException) -> str:
    """Why a request did not reach the server, in a few words."""
    if isinstance(error, httpx.TimeoutException):
        return "it did not answer in time"
    text = str(error).lower()
    if "refused" in text:
        return "connection refused"
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "unknown host"
    if "ssl" in text or "certificate" in text:
        return "its TLS certificate was not accepted"
    if isinstance(error, httpx.RemoteProtocolError):
        return "it closed the connection"
    return "network error"
