"""The Chat tab (the text-generation task): a conversation with the model's chat template, streamed; retry,
undo, edit an earlier message, clear; Stop keeps what was written; a reasoning model's thinking folded
apart with its duration; per reply the speed, the context used and a notice when old turns were left
out; export (JSON in OpenAI's messages format, Markdown), import, and the same request as code.
A model without a chat template continues the text of each message instead. "Explain: token
probabilities" shows the last reply's tokens coloured by how likely the model found each, its top
alternatives, the reply's log-probability and perplexity.

Endpoints: /chat (messages in, the reply and its statistics out, streamed), /generate (one prompt, as
before the chat), /stop_generation; /chat takes OpenAI's logprobs and top_logprobs last.
The OpenAI-compatible API (openai_api.py) calls the same model."""
from __future__ import annotations

import json
import math
import pprint
import secrets
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import gradio as gr

from models import InvalidInput, PlaygroundError
from models.chat import MAX_TOP_LOGPROBS, check_messages, with_system
from models.fitting import chat_template
from models.messages import ENGLISH, Joined, say
from models.tasks import task

from .common import Context, base_url_of, event_options, model_picker, sentence_of, session_of
from .compare import MAX_SIDES, as_they_come, head_of, one_by_one, picker, plan
from .inputs import NumberField, first_refused, param_control
from .language import language_of
from .running import Fields, RunView, alert_html, api_endpoint, fit_on_pick, page_run, state_panels
from .task_tab import title
from .words import text, translated, word

TASK = "text-generation"
YIELD_EVERY = 0.05  # seconds between streamed updates: smooth to read, without flooding the browser
EXAMPLES = [
    "Write a haiku about a cat watching the rain.",
    "Explain in two sentences why the sky is blue.",
    "Give three tips for learning a new language.",
]
EXPORTS = Path(tempfile.gettempdir()) / "playground-chats"  # Gradio copies a returned file into its cache
EXPLAIN_TOP = 5  # the alternatives per token the page's Explain shows
EXPLAIN_HINT = ("Each reply written while this is on shows its tokens here, coloured by how likely the model "
                "found each one.")
HINT = translated(EXPLAIN_HINT, "chat.explain.hint")  # as the page shows it, in the reader's language
# the Explain table's headers (components/words.py): written by the server in the reader's language, as the browser
# does not translate a Dataframe's headers
EXPLAIN_HEADS = ["chat.explain.head.token", "chat.explain.head.probability", "chat.explain.head.logprob",
                 "chat.explain.head.top"]


# -- the conversation as the chatbot holds it, and as OpenAI's messages -----------------------------------

def said(role: str, text: str, **extra: Any) -> dict[str, Any]:
    """A message for the chatbot, its text kept as written: Gradio runs a plain string through
    inspect.cleandoc (leading spaces and indentation gone, tabs widened), a text part it keeps."""
    return {"role": role, "content": [{"type": "text", "text": text}], **extra}


def is_thought(message: dict[str, Any]) -> bool:
    metadata = message.get("metadata") or {}
    return bool(metadata.get("title"))


def conversation_of(history: list[dict[str, Any]] | None) -> list[dict[str, str]]:
    """The chatbot's messages as OpenAI's {role, content}: the thoughts left out (a chat template is given
    the answers only, as reasoning models' own templates do)."""
    out = []
    for message in history or []:
        if is_thought(message):
            continue
        content = message.get("content")
        if isinstance(content, list):  # Gradio's parts: text, and files a text model cannot read
            content = "".join(p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text")
        out.append({"role": message.get("role"), "content": content if isinstance(content, str) else ""})
    return out


def until_last_user(history: list[dict[str, Any]]) -> list[Any]:
    """The messages up to and including the last user message (a retry drops the reply after it)."""
    for i in range(len(history) - 1, -1, -1):
        if history[i].get("role") == "user":
            return history[:i + 1]
    return []


def reply_messages(update: dict[str, Any], language: str = ENGLISH) -> list[dict[str, Any]]:
    """The assistant's messages for the chatbot: its thinking folded (a thought with its duration), then
    its answer."""
    out = []
    if update.get("thinking") is not None:
        seconds = update.get("thinking_seconds")
        done = seconds is not None or update.get("done")
        title = say("chat_tab.thought" if done else "chat_tab.thinking").render(language)
        metadata = {"title": title, "status": "done" if done else "pending"}
        if seconds is not None:
            metadata["duration"] = round(seconds, 2)  # Gradio shows it beside the title: "Thought (1.2s)"
        out.append(said("assistant", update["thinking"] or "…", metadata=metadata))
    if update.get("answer") or update.get("done") or update.get("thinking") is None:
        out.append(said("assistant", update.get("answer", update.get("text", ""))))
    return out


def stats_of(update: dict[str, Any]) -> dict[str, Any]:
    """A reply's statistics, for programs (/chat) and the line under the chat; with logprobs asked for, the
    last update's also hold them (OpenAI's {"content": [...]}), the reply's log-probability and perplexity."""
    seconds = update.get("seconds") or 0.0
    first = update.get("first_token_seconds")
    after_first = seconds - (first or 0.0)
    rate = (update["new_tokens"] - 1) / after_first if update["new_tokens"] > 1 and after_first > 0 else None
    stats = {"seed": update.get("seed"), "new_tokens": update.get("new_tokens"),
             "first_token_seconds": first, "seconds": seconds, "tokens_per_second": rate,
             "prompt_tokens": update.get("prompt_tokens"), "window": update.get("window"),
             "dropped_turns": update.get("dropped_turns", 0), "thinking": update.get("thinking"),
             "thinking_seconds": update.get("thinking_seconds"), "finish_reason": update.get("finish_reason"),
             "stopped": bool(update.get("stopped")), "done": bool(update.get("done"))}
    if update.get("done") and "logprobs" in update:
        stats.update(logprobs=update["logprobs"], logprob=update.get("logprob"), perplexity=update.get("perplexity"))
    return stats


def describe(stats: dict[str, Any], language: str = ENGLISH) -> str:
    """The line under a reply, in `language`: seed, tokens, speed, first token, the context used of the window."""
    parts = [say("chat_tab.seed", seed=stats["seed"]), say("chat_tab.new_tokens", count=stats["new_tokens"])]
    if stats["tokens_per_second"] is not None:
        parts.append(say("chat_tab.speed", rate=stats["tokens_per_second"]))
    first = stats["first_token_seconds"]
    parts.append(say("chat_tab.first_token", seconds=first) if first is not None else say("chat_tab.no_token_yet"))
    parts.append(say("chat_tab.total", seconds=stats["seconds"]))
    if stats["prompt_tokens"] is not None:
        used = stats["prompt_tokens"] + (stats["new_tokens"] or 0)
        # a remote endpoint (models/remote.py) may not say its window
        parts.append(say("chat_tab.context_of", used=used, window=stats["window"]) if stats.get("window")
                     else say("chat_tab.context", used=used))
    if stats.get("logprob") is not None:
        parts.append(say("chat_tab.logprob", logprob=stats["logprob"]))
    if stats.get("perplexity") is not None:
        parts.append(say("chat_tab.perplexity", perplexity=stats["perplexity"]))
    if not stats["done"]:
        parts.append(say("chat_tab.generating"))
    elif stats["stopped"]:
        parts.append(say("chat_tab.stopped"))
    elif stats["finish_reason"] == "length":
        parts.append(say("chat_tab.max_reached"))
    line = " · ".join(part.render(language) for part in parts)
    dropped = stats["dropped_turns"]
    if dropped:
        told = (say("chat_tab.dropped_many", count=dropped, window=stats["window"]) if dropped > 1
                else say("chat_tab.dropped_one", window=stats["window"]))
        line += f"\n\n⚠ {told.render(language)}"
    return line


def explain_headers(language: str = ENGLISH) -> list[str]:
    """The Explain table's column headers in `language`."""
    return ["#", *(text(key, language) for key in EXPLAIN_HEADS)]


def explain_rows(rows: list[list[Any]], language: str = ENGLISH) -> dict[str, list[Any]]:
    """The Explain table's value: its headers in `language` (the browser does not translate them), and the rows."""
    return {"headers": explain_headers(language), "data": rows}


# -- Explain: the reply's tokens and how likely each was ---------------------------------------------------

def _shown_token(text: str, raw: list[int]) -> str:
    """A token as the table shows it: quoted, so spaces and line breaks show; part of a character as its bytes."""
    if "\ufffd" in text and bytes(raw).decode("utf-8", errors="ignore") != text:
        return "bytes " + " ".join(f"{b:02x}" for b in raw)
    return json.dumps(text, ensure_ascii=False)


def _utf8_state(raw: bytes) -> bool | None:
    """True: whole UTF-8 characters; None: they end with the start of one; False: not UTF-8."""
    try:
        raw.decode("utf-8")
        return True
    except UnicodeDecodeError as e:
        return None if e.reason == "unexpected end of data" and e.start >= len(raw) - 3 else False


def explained(stats: dict[str, Any], language: str = ENGLISH) -> tuple[str, list[tuple[str, float | None]],
                                                                      dict[str, list[Any]]]:
    """(the summary, gr.HighlightedText's value, the table's value) for a reply's logprobs, in `language`: each
    piece of text shaded by how unlikely it was (1 - its probability: the redder, the less the model expected
    it), the tokens that make one character together drawn as that character (with their joint probability);
    the table ({"headers", "data"}) one row per token with its probability, log-probability and top
    alternatives."""
    found = stats.get("logprobs") or {}
    tokens = [*found.get("reasoning_content", []), *found.get("content", [])]
    if not tokens:
        return say("chat_tab.no_tokens").render(language), [], explain_rows([], language)
    pieces: list[tuple[str, float | None]] = []
    pending, logprob = b"", 0.0

    def put(raw: bytes, joint: float) -> None:
        pieces.append((raw.decode("utf-8", errors="replace"), round(1 - math.exp(joint), 4)))

    for token in tokens:
        raw = bytes(token["bytes"])
        if pending and _utf8_state(pending + raw) is False:  # what waits can never be a character: as it is
            put(pending, logprob)
            pending, logprob = b"", 0.0
        pending, logprob = pending + raw, logprob + token["logprob"]
        if _utf8_state(pending) is not None:  # whole characters (or bytes that are none): drawn now
            put(pending, logprob)
            pending, logprob = b"", 0.0
    if pending:
        put(pending, logprob)
    rows = [[i, _shown_token(t["token"], t["bytes"]), round(math.exp(t["logprob"]), 4), round(t["logprob"], 4),
             "  ·  ".join(f"{_shown_token(a['token'], a['bytes'])} {math.exp(a['logprob']):.3f}"
                          for a in t["top_logprobs"])]
            for i, t in enumerate(tokens, 1)]
    thinking = found.get("reasoning_content")
    perplexity = say("chat_tab.too_large") if stats.get("perplexity") is None else f"{stats['perplexity']:.3f}"
    figures = dict(logprob=stats["logprob"], count=len(tokens), perplexity=perplexity, how=say("chat_tab.logprobs_how"))
    summary = (say("chat_tab.logprobs_thinking", thinking=len(thinking), **figures) if thinking
               else say("chat_tab.logprobs", **figures))
    return summary.render(language), pieces, explain_rows(rows, language)


# -- export, import, and the same request as code ----------------------------------------------------------

def exported(conversation: list[dict[str, str]], system_prompt: str, kind: str) -> str:
    """A file of the conversation: JSON (OpenAI's messages, the system prompt first) or Markdown."""
    messages = with_system(conversation, system_prompt)
    if not messages:
        raise InvalidInput(say("chat_tab.nothing_to_export"))
    folder = EXPORTS / uuid.uuid4().hex
    folder.mkdir(parents=True, exist_ok=True)
    if kind == "json":
        path = folder / "conversation.json"
        path.write_text(json.dumps(messages, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        path = folder / "conversation.md"
        parts = [f"**{m['role'].capitalize()}**\n\n{m['content']}" for m in messages]
        path.write_text("\n\n---\n\n".join(parts) + "\n", encoding="utf-8")
    return str(path)


def imported(path: str | None) -> tuple[list[dict[str, str]], str]:
    """(the chatbot's messages, the system prompt) from a JSON file: a list of {role, content}, or an
    object with such a "messages" list (a chat completions request)."""
    if not path:
        raise InvalidInput(say("chat_tab.no_file"), field="message")
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        raise InvalidInput(say("chat_tab.not_json"), field="message") from None
    if isinstance(data, dict):
        data = data.get("messages")
    messages = check_messages(data, to_answer=False)
    system = messages[0]["content"] if messages[0]["role"] == "system" else ""
    return [said(m["role"], m["content"]) for m in messages if m["role"] != "system"], system


def as_code(base_url: str, model: str | None, conversation: list[dict[str, str]], system_prompt: str,
            params: dict[str, Any]) -> str:
    """The chat's next request as Python, with the openai package (this server's /v1) and gradio_client."""
    messages = with_system(until_last_user(conversation), system_prompt) or [
        {"role": "user", "content": "Hello!"}]
    sampling = {"max_tokens": params["max_new_tokens"], "temperature": params["temperature"], "top_p": params["top_p"]}
    if params.get("seed") is not None:
        sampling["seed"] = params["seed"]
    extra = {"top_k": params["top_k"], "repetition_penalty": params["repetition_penalty"]}
    shown = pprint.pformat(messages, width=96, sort_dicts=False)
    model_text = repr(model or "")
    sampling_text = "".join(f"    {k}={v!r},\n" for k, v in sampling.items())
    gradio_params = "".join(f"    {k}={v!r},\n" for k, v in params.items())
    return (
        "# With the openai package (pip install openai), against this server's OpenAI-compatible API\n"
        "from openai import OpenAI\n\n"
        f'client = OpenAI(base_url="{base_url}v1", api_key="your-key-or-anything")\n'
        f"messages = {shown}\n"
        "reply = client.chat.completions.create(\n"
        f"    model={model_text},\n    messages=messages,\n{sampling_text}"
        f"    extra_body={extra!r},\n)\n"
        "print(reply.choices[0].message.content)\n\n"
        "# With gradio_client (pip install gradio_client): the /chat endpoint streams, then gives statistics\n"
        "from gradio_client import Client\n\n"
        f'client = Client("{base_url}")\n'
        "reply, stats = client.predict(\n"
        f"    messages=[m for m in messages if m['role'] != 'system'],\n    model={model_text},\n"
        f"    system_prompt={system_prompt!r},\n{gradio_params}"
        '    api_name="/chat",\n)\n'
        "print(reply, stats)\n"
    )


def template_note(ctx: Context, model: str | None, language: str = ENGLISH) -> tuple[str, str]:
    """(the line that says which chat template is applied, in `language`; the template's text) for the picked
    model."""
    try:
        spec = ctx.manager.spec(TASK, model)
    except Exception:  # noqa: BLE001 - a typed id that is no id: the state panel says so
        return "", ""
    if spec.endpoint:  # a remote server applies its own template (models/remote.py)
        return say("chat_tab.template_remote", name=spec.name, endpoint=spec.endpoint).render(language), ""
    has, template = chat_template(spec)
    if has:
        return (say("chat_tab.template_own", name=spec.name, lines=len(template.splitlines())).render(language),
                template)
    if has is False:
        return say("chat_tab.template_none", name=spec.name).render(language), ""
    return say("chat_tab.template_later").render(language), ""


def has_template(ctx: Context, model: str | None) -> bool:
    """Whether to send the chat (True) or only the last message's text, for a base model (False)."""
    try:
        return chat_template(ctx.manager.spec(TASK, model))[0] is not False
    except Exception:  # noqa: BLE001 - the manager says what is wrong with the id when it runs
        return True


def chat_summary(figures: list[dict[str, Any]], lines: list[str], language: str = ENGLISH) -> str:
    """How the chats' replies compare with side A's, in `language`: time to the first token and speed of
    writing; '; ' between the sides and '.' at the end (Chinese: '；' and '。')."""
    names, parts = "ABCD", []
    base = figures[0] if figures and figures[0] and not lines[0].startswith("⚠") else None
    for i, f in enumerate(figures):
        if lines[i].startswith("⚠"):
            parts.append(say("compare.failed", side=names[i]))
        elif i and base and f.get("first_token_seconds") and base.get("first_token_seconds"):
            first = f["first_token_seconds"] / base["first_token_seconds"]
            said = (say("chat_tab.first_later", side=names[i], ratio=first) if first >= 1.05 else
                    say("chat_tab.first_sooner", side=names[i], ratio=1 / first) if first <= 0.95 else
                    say("chat_tab.first_as_soon", side=names[i]))
            if f.get("tokens_per_second") and base.get("tokens_per_second"):
                said = say("chat_tab.and_speed", said=said, ratio=f["tokens_per_second"] / base["tokens_per_second"])
            parts.append(said)
    return Joined(parts, "clauses").render(language)


# -- the tab -------------------------------------------------------------------------------------------------

def build(ctx: Context) -> None:
    declaration = task(TASK)
    d = {p.name: p.default for p in declaration.params}

    def generation(request: gr.Request | None, inputs: Any, model: str | None,
                   params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The model's updates for this visitor, at most one each YIELD_EVERY seconds (and the last), in the
        line every generation waits in (turns.py); Stop ends it at the next token."""
        session = session_of(request)
        stop_event = ctx.stops.start(session, TASK)
        temperature = params["temperature"]
        do_sample = not (isinstance(temperature, (int, float)) and temperature == 0)
        try:
            with ctx.turns.held():
                updates = ctx.manager.stream(TASK, model, inputs, stop=stop_event, do_sample=do_sample, **params)
                last_yield = 0.0
                try:
                    for update in updates:
                        now = time.perf_counter()
                        if update["done"] or now - last_yield >= YIELD_EVERY:
                            last_yield = now
                            yield update
                finally:
                    stop_event.set()  # the client went away (Stop, closed tab): end generate() too
                    updates.close()
        finally:
            ctx.stops.finish(session, TASK, stop_event)

    def with_logprobs(params: dict[str, Any], logprobs: Any, top_logprobs: Any) -> dict[str, Any]:
        """The parameters, with logprobs and top_logprobs only when they are asked for (the adapter checks
        them): the default path records nothing."""
        if logprobs is False and top_logprobs in (None, 0):
            return params
        return {**params, "logprobs": logprobs, "top_logprobs": top_logprobs}

    def chat(messages: Any, model: str | None = None, system_prompt: str | None = "",
             max_new_tokens: int = d["max_new_tokens"], temperature: float = d["temperature"],
             top_p: float = d["top_p"], top_k: int = d["top_k"], repetition_penalty: float = d["repetition_penalty"],
             seed: int | None = None, logprobs: bool = False, top_logprobs: int | None = 0,
             request: gr.Request = None) -> Iterator[tuple[str, dict[str, Any]]]:
        params = with_logprobs(dict(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
                                    repetition_penalty=repetition_penalty, seed=seed), logprobs, top_logprobs)
        if not isinstance(system_prompt, (str, type(None))):
            raise InvalidInput(say("chat_tab.system_prompt_type", kind=type(system_prompt).__name__),
                               field="system_prompt")
        conversation = with_system(check_messages(messages), system_prompt or "")
        for update in generation(request, conversation, model, params):
            yield update["answer"], stats_of(update)

    def generate(prompt: str, model: str | None = None, max_new_tokens: int = d["max_new_tokens"],
                 temperature: float = d["temperature"], top_p: float = d["top_p"], top_k: int = d["top_k"],
                 repetition_penalty: float = d["repetition_penalty"], seed: int | None = None,
                 request: gr.Request = None) -> Iterator[tuple[str, str]]:
        params = dict(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
                      repetition_penalty=repetition_penalty, seed=seed)
        language = language_of(request)
        for update in generation(request, prompt, model, params):
            yield update["text"], describe(stats_of(update), language)

    def on_page(history: list[dict[str, Any]], model: str | None, system_prompt: str,
                max_new_tokens: int = d["max_new_tokens"], temperature: float = d["temperature"],
                top_p: float = d["top_p"], top_k: int = d["top_k"], repetition_penalty: float = d["repetition_penalty"],
                seed: int | None = None, explain: bool = False,
                request: gr.Request = None) -> Iterator[tuple[Any, ...]]:
        history = history or []
        language = language_of(request)
        if not history or history[-1].get("role") != "user":  # Send with an empty box
            raise InvalidInput(say("chat_tab.type_first"), field="message")
        conversation = conversation_of(history)
        params = dict(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, top_k=top_k,
                      repetition_penalty=repetition_penalty, seed=seed)
        chatting = has_template(ctx, model)
        inputs = with_system(conversation, system_prompt) if chatting else conversation[-1]["content"]
        stats: dict[str, Any] = {}
        unchanged = [gr.skip()] * 3  # the Explain panel's summary, tokens and table
        cleared = [word("chat.explain.writing") if explain else HINT, None,  # the last reply's goes
                   explain_rows([], language)]
        try:
            asked = {**params, "logprobs": True, "top_logprobs": EXPLAIN_TOP} if explain else params
            for update in generation(request, inputs, model, asked):
                explaining = unchanged if stats else cleared
                stats = stats_of(update)
                yield history + reply_messages(update, language), describe(stats, language), *[gr.skip()] * 4, \
                    *explaining
        except Exception as e:
            if isinstance(e, InvalidInput) and e.field in ("messages", "prompt"):  # said under the message box
                e.field = "message"
            if not stats:  # refused before a word: the message goes back into the box, to change and send again
                yield history[:-1], gr.skip(), gr.skip(), gr.skip(), gr.skip(), conversation[-1]["content"], *unchanged
            raise
        code = as_code(base_url_of(request), model, conversation, system_prompt,
                       {**params, "seed": stats.get("seed", seed)})
        line, template_text = template_note(ctx, model, language)  # a Hub model's files are here now that it has loaded
        shown = explained(stats, language) if explain and "logprobs" in stats else unchanged
        yield gr.skip(), gr.skip(), code, line, template_text, gr.skip(), *shown

    title(TASK, text(f"intro.{TASK}"))
    with gr.Row(equal_height=False):
        with gr.Column(scale=1):
            model = model_picker(ctx, TASK)
            note = gr.Markdown(elem_classes=["template-note"])
            with gr.Accordion(word("chat.system"), open=False) as system_fold:
                system = gr.Textbox(value="", label=word("chat.system"), lines=3, show_label=False,
                                    placeholder=word("chat.system.placeholder"))
            with gr.Accordion(word("parameters"), open=False) as accordion:
                params = {p.name: param_control(p) for p in declaration.params}
            with gr.Accordion(word("chat.template.fold"), open=False):
                template = gr.Code(label=word("chat.template"), language="jinja2", interactive=False, lines=8)
            with gr.Accordion(word("chat.export.fold"), open=False):
                with gr.Row():
                    export_json = gr.Button(word("chat.export.json"), size="sm")
                    export_md = gr.Button(word("chat.export.md"), size="sm")
                    import_json = gr.UploadButton(word("chat.import.json"), file_types=[".json"], size="sm")
                exported_file = gr.File(label=word("chat.file"), interactive=False)
            with gr.Accordion(word("chat.code.fold"), open=False) as code_fold:
                code = gr.Code(label=word("chat.code"), language="python", interactive=False)
        with gr.Column(scale=2):
            status, alert = state_panels()
            chatbot = gr.Chatbot(label=word("chat.chat"), editable="user", buttons=["copy", "copy_all"], height=480,
                                 elem_classes=["chat"], placeholder=word("chat.chat.placeholder"),
                                 autoscroll=True)
            box = gr.Textbox(label=word("chat.message"), lines=1, max_lines=12,
                             placeholder=word("chat.message.placeholder"), autofocus=False)
            with gr.Row():
                send = gr.Button(word("chat.send"), variant="primary")
                stop = gr.Button(word("stop"), variant="stop")
            stats_line = gr.Markdown(elem_classes=["reply-stats"])
            explain = gr.Checkbox(label=word("chat.explain"), value=False, elem_classes=["explain-tokens"],
                                  info=word("chat.explain.info"))
            with gr.Column(visible=False) as explain_panel:
                explain_summary = gr.Markdown(HINT, elem_classes=["token-summary"])
                explain_tokens = gr.HighlightedText(label=word("chat.explain.tokens"),
                                                    show_legend=False, combine_adjacent=False,
                                                    elem_classes=["token-probabilities"])
                explain_table = gr.Dataframe(
                    headers=explain_headers(),  # English until the server writes the table (explain_shown)
                    datatype=["number", "str", "number", "number", "str"], interactive=False, wrap=True,
                    column_widths=["7%", "16%", "13%", "13%", "51%"], max_height=360,
                    label=word("chat.explain.table"),
                    elem_classes=["token-table"])
            gr.Examples(ctx.catalog.examples_for(TASK) or EXAMPLES, inputs=[box], label=word("examples"))
        # what programs call (/chat, /generate): not drawn, the page keeps its chat
        api_messages = gr.JSON(label="messages: the chat so far, a list of {role, content} objects (roles system, "
                                     "user, assistant), ending with the user's message", visible=False)
        api_prompt = gr.Textbox(label="Prompt", visible=False)
        api_reply = gr.Textbox(label="Reply", visible=False)
        api_stats = gr.JSON(label="Statistics", visible=False)
        api_text = gr.Textbox(label="Output", visible=False)
        api_speed = gr.Textbox(label="Speed", visible=False)
        api_logprobs = gr.Checkbox(label="logprobs", value=False, visible=False,
                                   info="True or false (default): the statistics at the end of the stream also hold "
                                        "logprobs, each generated token's log-probability with its top alternatives "
                                        "in OpenAI's shape, and the reply's logprob and perplexity")
        api_top_logprobs = NumberField(label="top_logprobs", value=0, precision=0, minimum=0,
                                       maximum=MAX_TOP_LOGPROBS, visible=False,
                                       info=f"With logprobs, how many of the likeliest tokens to give at each step: "
                                            f"0 (default) to {MAX_TOP_LOGPROBS}")

    with gr.Accordion(word("compare.fold"), open=False, elem_classes=["chat-compare"]) as compare_fold:
        compare_picks = picker(ctx, TASK, button=None, measured=False,
                               info="Pick 2 to 4: one message goes to every chat, each keeps its own history; "
                                    "the same seed on every side, with the parameters above.")
        with gr.Row(equal_height=False):
            side_columns, side_heads, side_chats, side_lines = [], [], [], []
            for i in range(MAX_SIDES):
                with gr.Column(visible=False, min_width=260) as column:
                    side_heads.append(gr.Markdown())
                    side_chats.append(gr.Chatbot(label=word(f"chat.side.{'ABCD'[i]}"), height=360, buttons=["copy"],
                                                 elem_classes=["compare-chat"]))
                    side_lines.append(gr.Markdown(elem_classes=["compare-figures"]))
                side_columns.append(column)
        compare_box = gr.Textbox(label=word("chat.compare.message"), lines=1, max_lines=8,
                                 placeholder=word("chat.compare.placeholder"))
        with gr.Row():
            compare_send = gr.Button(word("chat.compare.send"), variant="primary")
            compare_stop = gr.Button(word("chat.compare.stop"), variant="stop")
        compare_said = gr.Markdown(elem_classes=["compare-summary"])

    ordered = [params[p.name] for p in declaration.params]
    fitted = {p.name: params[p.name] for p in declaration.params if p.kind == "number" and not p.seed}
    view = RunView(task=TASK, model=model, status=status, alert=alert, controls=fitted,
                   fields=Fields(params=params, inputs=[box, model, system],
                                 folded={**{id(c): accordion for c in ordered}, id(system): system_fold}))
    gpu = lambda *args, max_new_tokens=d["max_new_tokens"], **_: 15 + float(max_new_tokens) / 10  # noqa: E731
    # logprobs on /chat only: /generate keeps its inputs and outputs (raw HTTP callers send its 8 values by
    # position, and Gradio refuses fewer values than inputs; its 2 outputs are a text and a line)
    api_endpoint(ctx, view, fn=chat, inputs=[api_messages, model, system, *ordered, api_logprobs, api_top_logprobs],
                 outputs=[api_reply, api_stats],
                 api_name="chat", summary="Chat with a text-generation model: the model's chat template applied "
                 "to the system prompt and the messages, the reply streamed, then its statistics (seed, tokens, "
                 "tokens/s, time to first token, the context used of the window, turns dropped to fit it; with "
                 "logprobs, each token's log-probability, the reply's log-probability and perplexity).",
                 gpu_seconds=gpu)
    api_endpoint(ctx, view, fn=generate, inputs=[api_prompt, model, *ordered], outputs=[api_text, api_speed],
                 api_name=declaration.endpoint, summary="Generate text from one prompt, streamed (an instruct "
                 "model gets its chat template); then the seed and the speed.", gpu_seconds=gpu)

    # each way a reply is asked for: a step that shapes the chat and holds the box and Send while the reply
    # is written (queue-free), then the run, then the box and Send are given back
    def add_message(message: str, history: list[dict[str, Any]]) -> tuple[Any, Any, Any]:
        if not isinstance(message, str) or not message.strip():
            return gr.skip(), gr.skip(), gr.skip()  # the run then says "Type a message first" under the box
        return gr.update(value="", interactive=False), [*(history or []), said("user", message)], \
            gr.update(interactive=False)

    def retry(history: list[dict[str, Any]]) -> tuple[Any, Any, Any]:
        return gr.update(interactive=False), until_last_user(history or []), gr.update(interactive=False)

    def edit(history: list[dict[str, Any]], edit_data: gr.EditData) -> tuple[Any, Any, Any]:
        index = edit_data.index[0] if isinstance(edit_data.index, (list, tuple)) else edit_data.index
        return (gr.update(interactive=False), [*(history or [])[:index], said("user", edit_data.value)],
                gr.update(interactive=False))

    def undo(history: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], str]:
        kept = until_last_user(history or [])
        last = conversation_of(kept[-1:])
        return kept[:-1], last[0]["content"] if last else ""

    quiet = dict(queue=False, api_visibility="private", show_progress="hidden")
    held = [box, chatbot, send]
    steps = [gr.on([send.click, box.submit], add_message, [box, chatbot], held, **quiet),
             chatbot.retry(retry, [chatbot], held, **quiet),
             chatbot.edit(edit, [chatbot], held, **quiet)]
    explained_outputs = [explain_summary, explain_tokens, explain_table]
    runs = page_run(ctx, view, [], fn=on_page, inputs=[chatbot, model, system, *ordered, explain],
                    outputs=[chatbot, stats_line, code, note, template, box, *explained_outputs],
                    progress_on=[chatbot], gpu_seconds=gpu, after=steps)
    for run in runs:
        run.then(lambda: (gr.update(interactive=True), gr.update(interactive=True)), None, [box, send], **quiet)
    chatbot.undo(undo, [chatbot], [chatbot, box], **quiet)

    def cleared(request: gr.Request = None) -> tuple[Any, ...]:
        return "", "", HINT, None, explain_rows([], language_of(request))

    def explain_shown(on: bool, table: Any, request: gr.Request = None) -> tuple[Any, Any]:
        """The panel shown or hidden; an empty table gets its headers in the reader's language (a table a reply
        wrote has them already)."""
        empty = table is None or len(table) == 0
        return gr.Column(visible=bool(on)), (
            explain_rows([], language_of(request)) if on and empty else gr.skip())

    chatbot.clear(cleared, None, [stats_line, code, *explained_outputs], **quiet)
    explain.change(explain_shown, [explain, explain_table], [explain_panel, explain_table], **quiet)

    def stop_generation(request: gr.Request) -> None:
        """Stop this client's running generation at once; what was generated so far is its result."""
        ctx.stops.stop(session_of(request), TASK)

    stop.click(stop_generation, None, None, queue=False, api_name="stop_generation")
    compare_stop.click(stop_generation, None, None, queue=False, api_visibility="private")

    def planned(models: list[str] | None, vary: str, values: str, current: str | None) -> list[tuple[Any, dict]]:
        """The sides: 2 to 4 models, or one with a setting varied (compare.plan); the models alone while the
        plan is not yet whole (a value still to type)."""
        try:
            return plan(ctx, TASK, models or [], current, vary, values)
        except PlaygroundError:
            return [(m, {}) for m in (models or []) if m][:MAX_SIDES]

    # the catalog grows while the app runs (a fine-tuned model): the choices as they are when unfolded
    compare_fold.expand(lambda: gr.update(choices=[(s.name, s.model_id) for s in ctx.catalog.models(TASK)]), None,
                        [compare_picks.models], **quiet)

    def pick_sides(models: list[str] | None, vary: str, values: str, current: str | None,
                   request: gr.Request = None) -> list[Any]:
        sides, language = planned(models, vary, values, current), language_of(request)
        return ([gr.Column(visible=i < len(sides)) for i in range(MAX_SIDES)]
                + [head_of(ctx, TASK, i, *sides[i], language) if i < len(sides) else "" for i in range(MAX_SIDES)]
                + [[] for _ in range(MAX_SIDES)] + ["" for _ in range(MAX_SIDES)])

    gr.on([compare_picks.models.change, compare_picks.vary.change, compare_picks.values.change], pick_sides,
          [compare_picks.models, compare_picks.vary, compare_picks.values, model],
          [*side_columns, *side_heads, *side_chats, *side_lines], **quiet)

    # the request first: Gradio hands special parameters only to positional ones (after *rest it gave None,
    # and Stop, which finds a visitor's runs by session, stopped no side)
    def compare_chats(request: gr.Request, message: str, models: list[str] | None, vary: str, vary_values: str,
                      current: str | None, system_prompt: str, *rest: Any) -> Iterator[tuple[Any, ...]]:
        values, histories = rest[:len(ordered)], [list(h or []) for h in rest[len(ordered):]]
        unchanged = [gr.skip()] * (2 * MAX_SIDES)
        language = language_of(request)
        try:
            sides = plan(ctx, TASK, models or [], current, vary, vary_values)
            if not isinstance(message, str) or not message.strip():
                raise InvalidInput(say("chat_tab.type_first"))
            refused = first_refused(values)
            if refused is not None:
                raise InvalidInput(refused.message)
            sequential = one_by_one(ctx, TASK, [m for m, _ in sides])
        except PlaygroundError as e:
            yield (gr.skip(), *unchanged, f"⚠ {sentence_of(e, language)}")
            return
        shared = dict(zip([p.name for p in declaration.params], values))
        if shared.get("seed") is None:
            shared["seed"] = secrets.randbelow(2**32)  # one seed for every side, so they differ by model only
        for history in histories[:len(sides)]:
            history.append(said("user", message))
        shown = [list(h) for h in histories[:len(sides)]]
        lines = [say("compare.waiting" if sequential and i else "chat_tab.loading").render(language)
                 for i in range(len(sides))] + [""] * (MAX_SIDES - len(sides))
        figures: list[dict[str, Any]] = [{} for _ in sides]

        def job(i: int, model: Any, setting: dict[str, Any]) -> Any:
            conversation = conversation_of(histories[i])
            inputs = with_system(conversation, system_prompt) if has_template(ctx, model) else conversation[-1]["content"]
            return lambda: generation(request, inputs, model, {**shared, **setting})

        yield ("", *shown, *[gr.skip()] * (MAX_SIDES - len(sides)), *lines[:MAX_SIDES],
               say("chat_tab.one_after_another").render(language) if sequential else "")
        last = 0.0
        events = as_they_come([job(i, m, setting) for i, (m, setting) in enumerate(sides)], sequential,
                              language=language)
        for event in events:
            i = event.index
            if event.error is not None:
                lines[i] = f"⚠ {event.error}"
            elif not event.done:
                figures[i] = stats_of(event.value)
                shown[i] = histories[i] + reply_messages(event.value, language)
                lines[i] = describe(figures[i], language)
            now = time.perf_counter()
            if now - last >= YIELD_EVERY:
                last = now
                yield (gr.skip(), *shown, *[gr.skip()] * (MAX_SIDES - len(sides)), *lines[:MAX_SIDES], gr.skip())
        yield (gr.skip(), *shown, *[gr.skip()] * (MAX_SIDES - len(sides)), *lines[:MAX_SIDES],
               chat_summary(figures, lines, language))

    compare_inputs = [compare_box, compare_picks.models, compare_picks.vary, compare_picks.values, model, system,
                      *ordered, *side_chats]
    compare_outputs = [compare_box, *side_chats, *side_lines, compare_said]
    gr.on([compare_send.click, compare_box.submit], compare_chats, compare_inputs, compare_outputs,
          api_visibility="private", show_progress="hidden", **event_options(ctx))

    def export(kind: str) -> Any:
        def run(history: list[dict[str, Any]], system_prompt: str, request: gr.Request = None) -> str:
            try:
                return exported(conversation_of(history), system_prompt or "", kind)
            except PlaygroundError as e:
                raise gr.Error(sentence_of(e, language_of(request)), print_exception=False) from None
        return run

    export_json.click(export("json"), [chatbot, system], [exported_file], **quiet)
    export_md.click(export("markdown"), [chatbot, system], [exported_file], **quiet)

    def load_file(file: Any, request: gr.Request = None) -> tuple[Any, Any, Any, Any]:
        path = getattr(file, "name", file)
        try:
            messages, system_prompt = imported(path)
        except InvalidInput as e:
            return gr.skip(), gr.skip(), alert_html(sentence_of(e, language_of(request))), gr.skip()
        return messages, system_prompt, alert_html(), gr.update(open=bool(system_prompt))

    import_json.upload(load_file, [import_json], [chatbot, system, alert, system_fold], **quiet)

    def show_code(history: list[dict[str, Any]], model: str | None, system_prompt: str, *values: Any,
                  request: gr.Request = None) -> str:
        params = dict(zip([p.name for p in declaration.params], values))
        return as_code(base_url_of(request), model, conversation_of(history), system_prompt or "", params)

    code_fold.expand(show_code, [chatbot, model, system, *ordered], [code], **quiet)

    def fit_extra(spec: Any, language: str) -> dict[Any, Any]:
        """Which chat template the picked model gets, in the reader's language."""
        line, text = template_note(ctx, spec.model_id, language)
        return {note: line, template: text}

    fit_extra.outputs = [note, template]  # type: ignore[attr-defined]
    fit_on_pick(ctx, view, extra=fit_extra)
