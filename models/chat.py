"""What a conversation is, apart from any model: its messages checked (each wrong one a sentence), its
oldest turns dropped to fit a window, a reasoning model's thinking told apart from its answer, and stop
strings cut from a streamed reply. Used by the generation adapter (models/text.py); no torch here."""
from __future__ import annotations

import math
import secrets
from typing import Any, Callable, Iterable

from .base import check_unicode
from .errors import InvalidInput, about
from .messages import say


class Generating:
    """What a generation adapter does the same whether its model is here (text.py TextGeneration, which
    imports torch) or on another server (remote.py RemoteChat): its parameters' checks, and predict as the
    last update of its stream. Put before Pipeline among the bases."""

    def predict(self, inputs: Any, **params: Any) -> dict[str, Any]:
        """The whole generation at once: the last update of `stream`."""
        result: dict[str, Any] = {}
        for result in self.stream(inputs, **params):  # type: ignore[attr-defined]
            pass
        return result

    def check_params(self, *, do_sample: Any = True, **params: Any) -> dict[str, Any]:
        """The declared parameters (models/tasks.py: max_new_tokens, temperature, top_p, top_k,
        repetition_penalty, seed), checked, with do_sample; a seed is drawn when none is given."""
        params = self.declaration.check(params)  # type: ignore[attr-defined]
        params["do_sample"] = do_sample = bool(do_sample)
        if do_sample and params["temperature"] <= 0:
            raise InvalidInput(say("generation.temperature_zero"), field="temperature")
        if params["seed"] is None:
            params["seed"] = secrets.randbelow(2**32)
        return params

ROLES = ("system", "user", "assistant")
MAX_MESSAGES = 1_000  # a longer chat is refused with a sentence (the window drops turns long before)
MAX_MESSAGE_CHARS = 100_000  # per message, as the other text inputs
MAX_CHAT_CHARS = 400_000  # all messages together
MAX_STOP_STRINGS, MAX_STOP_CHARS = 4, 100  # as OpenAI's API
MAX_TOP_LOGPROBS = 20  # alternatives per token, as OpenAI's API
THINK_OPEN, THINK_CLOSE = "<think>", "</think>"


def content_text(content: Any, number: int) -> str:
    """Message `number`'s content as text: a string, or OpenAI's list of parts where every part is text."""
    if isinstance(content, str):
        return content
    if isinstance(content, list) and content and all(isinstance(p, dict) for p in content):
        texts = []
        for part in content:
            if part.get("type", "text") != "text" or not isinstance(part.get("text"), str):
                raise InvalidInput(say("chat.part_not_text", number=number, kind=str(part.get("type"))[:30]),
                                   field="messages")
            texts.append(part["text"])
        return "".join(texts)
    raise InvalidInput(say("chat.content_type", number=number, kind=type(content).__name__), field="messages")


def check_messages(messages: Any, *, to_answer: bool = True) -> list[dict[str, str]]:
    """A chat as a list of {"role", "content"} (roles system, user, assistant; "developer" is read as
    system, as OpenAI does), ending with a user message when it is `to_answer`; every fault is one
    sentence."""
    if isinstance(messages, tuple):
        messages = list(messages)
    if not isinstance(messages, list):
        raise InvalidInput(say("chat.not_a_list", kind=type(messages).__name__), field="messages")
    if not messages:
        raise InvalidInput(say("chat.empty"), field="messages")
    if len(messages) > MAX_MESSAGES:
        raise InvalidInput(say("chat.too_many", count=len(messages), limit=MAX_MESSAGES), field="messages")
    checked, total = [], 0
    roles = ", ".join(ROLES)
    for i, message in enumerate(messages, 1):
        if not isinstance(message, dict):
            raise InvalidInput(say("chat.not_an_object", number=i, kind=type(message).__name__), field="messages")
        role = message.get("role")
        if role is None:
            raise InvalidInput(say("chat.no_role", number=i, roles=roles), field="messages")
        if role == "developer":
            role = "system"
        if role not in ROLES:
            shown = role[:30] if isinstance(role, str) else type(role).__name__
            raise InvalidInput(say("chat.unknown_role", number=i, role=shown, roles=roles), field="messages")
        if "content" not in message or message["content"] is None:
            raise InvalidInput(say("chat.no_content", number=i), field="messages")
        text = content_text(message["content"], i)
        if len(text) > MAX_MESSAGE_CHARS:
            raise InvalidInput(say("chat.message_too_long", number=i, length=len(text), limit=MAX_MESSAGE_CHARS),
                               field="messages")
        total += len(text)
        if total > MAX_CHAT_CHARS:
            raise InvalidInput(say("chat.too_long", limit=MAX_CHAT_CHARS), field="messages")
        with about("messages"):
            checked.append({"role": role, "content": check_unicode(text, f"text of message {i}",
                                                                   f"第 {i} 条消息的文本")})
    if not to_answer:
        return checked
    if checked[-1]["role"] != "user":
        raise InvalidInput(say("chat.last_not_user"), field="messages")
    if not checked[-1]["content"].strip():
        raise InvalidInput(say("chat.last_empty"), field="messages")
    return checked


def with_system(messages: list[dict[str, str]], system_prompt: str | None) -> list[dict[str, str]]:
    """The chat with a system prompt first (replacing one the chat starts with); none when it is empty."""
    if not system_prompt or not system_prompt.strip():
        return messages
    rest = messages[1:] if messages and messages[0]["role"] == "system" else messages
    return [{"role": "system", "content": system_prompt}, *rest]


def turn_starts(messages: list[dict[str, str]]) -> list[int]:
    """Where each turn begins: the index of each user message after the leading system messages."""
    return [i for i, m in enumerate(messages) if m["role"] == "user"]


def fit_window(messages: list[dict[str, str]], count: Callable[[list[dict[str, str]]], int],
               room: int) -> tuple[list[dict[str, str]], int]:
    """The chat with as few of its oldest turns dropped as lets `count(chat)` (its prompt's tokens) be at
    most `room`; the leading system messages and the last turn are always kept. Returns (chat, turns
    dropped); when even the last turn is too long, the last turn alone (the caller says so)."""
    head = 0
    while head < len(messages) and messages[head]["role"] == "system":
        head += 1
    starts = [i for i in turn_starts(messages) if i >= head]
    if not starts or count(messages) <= room:
        return messages, 0

    def dropping(k: int) -> list[dict[str, str]]:
        return messages[:head] + messages[starts[k]:]

    lo, hi = 1, len(starts) - 1  # the fewest turns to drop lies in [lo, hi]; hi keeps only the last turn
    while lo < hi:
        mid = (lo + hi) // 2
        if count(dropping(mid)) <= room:
            hi = mid
        else:
            lo = mid + 1
    return dropping(hi), hi


def split_thinking(text: str, opened: bool = False) -> tuple[str | None, str, bool]:
    """(thinking, answer, thinking ended) of a reply: the text between <think> and </think> (from the start
    when the chat template opened the tag itself: `opened`), and what follows. No tag: (None, text, True)."""
    stripped = text.lstrip()
    if not opened:
        if not stripped.startswith(THINK_OPEN):
            if THINK_OPEN.startswith(stripped) and stripped:  # "<thi" so far: wait for the rest
                return "", "", False
            return None, text, True
        stripped = stripped[len(THINK_OPEN):]
    thought, closed, answer = stripped.partition(THINK_CLOSE)
    if not closed:
        return thought.strip(), "", False
    return thought.strip(), answer.lstrip(), True


def check_stop_strings(stop: Any) -> list[str]:
    """OpenAI's `stop`: a string or a list of at most 4 non-empty strings."""
    if stop is None:
        return []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, (list, tuple)) or not all(isinstance(s, str) for s in stop):
        raise InvalidInput(say("chat.stop_type"), field="stop")
    if len(stop) > MAX_STOP_STRINGS:
        raise InvalidInput(say("chat.stop_too_many", count=len(stop), limit=MAX_STOP_STRINGS), field="stop")
    if any(not s or len(s) > MAX_STOP_CHARS for s in stop):
        raise InvalidInput(say("chat.stop_length", limit=MAX_STOP_CHARS), field="stop")
    return list(stop)


def cut_at_stop(text: str, stops: Iterable[str]) -> tuple[str, bool, int]:
    """(text up to the first stop string, whether one was found, how much of the end may still begin one):
    a streamed reply shows only text[:len(text) - held] until it is done, so no stop string is ever shown."""
    stops = list(stops)
    if not stops:
        return text, False, 0
    found = [i for i in (text.find(s) for s in stops) if i >= 0]
    if found:
        return text[:min(found)], True, 0
    held = 0
    for s in stops:
        for n in range(min(len(s) - 1, len(text)), held, -1):
            if text.endswith(s[:n]):
                held = n
                break
    return text, False, held


def check_logprobs(logprobs: Any, top_logprobs: Any) -> tuple[bool, int]:
    """OpenAI's `logprobs` (true or false) and `top_logprobs` (a whole number from 0 to 20, or none: 0);
    alternatives are given only with the logprobs, so top_logprobs above 0 without them is refused."""
    if logprobs is None:
        logprobs = False
    if not isinstance(logprobs, bool):
        shown = repr(logprobs) if len(repr(logprobs)) <= 40 else repr(logprobs)[:40] + "…"
        raise InvalidInput(say("chat.logprobs_type", value=shown), field="logprobs")
    if top_logprobs is None:
        return logprobs, 0
    whole = isinstance(top_logprobs, int) or (isinstance(top_logprobs, float) and top_logprobs.is_integer())
    if isinstance(top_logprobs, bool) or not whole or not 0 <= top_logprobs <= MAX_TOP_LOGPROBS:
        shown = repr(top_logprobs) if len(repr(top_logprobs)) <= 40 else repr(top_logprobs)[:40] + "…"
        raise InvalidInput(say("chat.top_logprobs_range", limit=MAX_TOP_LOGPROBS, value=shown), field="top_logprobs")
    if top_logprobs and not logprobs:
        raise InvalidInput(say("chat.top_logprobs_alone"), field="top_logprobs")
    return logprobs, int(top_logprobs)


def logprob_totals(entries: list[dict[str, Any]]) -> dict[str, float | None]:
    """{"logprob": the sum of the tokens' log-probabilities (the reply's log-likelihood), "perplexity":
    exp of their mean negative log-probability (None without tokens, or past what a float holds)}."""
    total = math.fsum(e["logprob"] for e in entries)
    mean = -total / len(entries) if entries else None
    return {"logprob": total, "perplexity": math.exp(mean) if mean is not None and mean < 700 else None}
