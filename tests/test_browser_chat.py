"""The Chat tab in Chromium, as a person uses it: send and watch the reply stream, retry, undo, edit an
earlier message, Stop, export and import, a reasoning model's thinking folded, the chat template told,
and the same request as code. The tiny chat model is slowed so a reply can be watched and stopped."""
from __future__ import annotations

import json
import re
import urllib.request
from typing import Any, Iterator

import pytest

from tests.browser import (RESULT_TIMEOUT, expect, no_page_errors, open_page, open_phone, open_tab, screenshot,
                           set_number, set_text)
from models.tasks import task
from tests.builders.text import REASONING_ANSWER, REASONING_THOUGHT
from tests.launch import running_app, slow_chat_copy, slow_down

SLOW_SECONDS = 0.03  # per forward pass: a 128-token reply takes about 4 s


@pytest.fixture(scope="module")
def app(chromium: str, tiny_models: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    slow = slow_chat_copy(tiny_models, tmp_path_factory)
    data = {"text-generation": [{"id": slow, "label": "tiny chat (slowed)"},
                                {"id": tiny_models["reasoning-gpt2"], "label": "tiny reasoning"},
                                {"id": tiny_models["gpt2"], "label": "tiny gpt2 (base)"}]}
    with running_app(data) as launched:
        slow_down(launched.manager.get("text-generation", slow), SLOW_SECONDS)
        yield launched


@pytest.fixture(scope="module")
def page(app: Any, chromium: str) -> Iterator[Any]:
    with open_page(app.url, chromium, ready_tab="Chat") as page:
        yield page


def chat_tab(page: Any) -> Any:
    return open_tab(page, "Chat")


def box(panel: Any) -> Any:
    return panel.get_by_placeholder("Type a message")


def bot(panel: Any) -> Any:
    return panel.locator('.chat [data-testid="bot"]')


def user(panel: Any) -> Any:
    return panel.locator('.chat [data-testid="user"]')


def stats(panel: Any) -> Any:
    return panel.locator(".block.reply-stats")


def pick(page: Any, panel: Any, label: str) -> None:
    panel.get_by_label("Model", exact=True).click()
    page.get_by_role("option", name=re.compile(f"^{re.escape(label)} ·")).click()


def clear(panel: Any) -> None:
    if user(panel).count():
        panel.get_by_role("button", name="Clear", exact=True).click()
        expect(user(panel)).to_have_count(0)


def send(panel: Any, text: str) -> None:
    """Type a message and press Enter; the box is held (not editable) until the reply is written."""
    panel.page.last_stats = stats(panel).inner_text()
    expect(box(panel)).to_be_editable(timeout=RESULT_TIMEOUT)
    box(panel).fill(text)
    box(panel).press("Enter")


def wait_done(panel: Any) -> str:
    """The stats line of the reply asked for last, once it has ended (the line changes for each reply, with
    its own seed; while the reply is written, it ends with "generating…")."""
    before = getattr(panel.page, "last_stats", "")
    if before:
        expect(stats(panel)).not_to_have_text(before, timeout=RESULT_TIMEOUT)
    expect(stats(panel)).to_contain_text("new tokens", timeout=RESULT_TIMEOUT)
    expect(stats(panel)).not_to_contain_text("generating…", timeout=RESULT_TIMEOUT)
    return stats(panel).inner_text()


def seed_box(panel: Any) -> Any:
    box = panel.get_by_label("Seed (empty = random)", exact=True)
    if not box.is_visible():
        panel.get_by_role("button", name="Parameters").click()
    return box


def set_seed(panel: Any, value: str) -> None:
    set_text(seed_box(panel), value)


def set_max_tokens(panel: Any, value: int) -> None:
    number = panel.get_by_label("number input for Max new tokens")
    if not number.is_visible():
        panel.get_by_role("button", name="Parameters").click()
    set_number(number, str(value))


def test_a_reply_streams_into_the_chat_and_says_its_figures(page: Any) -> None:
    panel = chat_tab(page)
    expect(panel.get_by_text(re.compile(r"Chat template:.*tiny chat \(slowed\)'s own"))).to_be_visible()
    set_seed(panel, "5")  # a seed whose reply (random weights) writes whole words as it goes
    send(panel, "Hello there")
    expect(user(panel)).to_have_text(["Hello there"])
    expect(box(panel)).to_have_value("")  # sent: the box is free for the next message
    expect(bot(panel)).to_have_count(1, timeout=RESULT_TIMEOUT)
    expect(bot(panel).first).not_to_have_text("", timeout=RESULT_TIMEOUT)
    first = bot(panel).first.inner_text()
    page.wait_for_timeout(600)  # ~20 more tokens at the slowed speed
    second = bot(panel).first.inner_text()
    assert len(second) > len(first), f"the reply did not grow: {first!r} then {second!r}"
    line = wait_done(panel)
    assert re.search(r"seed 5 · \d+ new tokens · [\d.]+ tokens/s · first token [\d.]+ s", line), line
    assert re.search(r"context \d+ of 256 tokens", line), line
    screenshot(page, "chat")
    no_page_errors(page)


def test_retry_answers_the_same_message_again(page: Any) -> None:
    panel = chat_tab(page)
    set_seed(panel, "")  # a random seed for each reply
    seed = re.search(r"seed (\d+)", stats(panel).inner_text()).group(1)
    bot(panel).last.hover()
    panel.page.last_stats = stats(panel).inner_text()
    panel.get_by_role("button", name="Retry").click()
    expect(stats(panel)).not_to_contain_text(f"seed {seed} ", timeout=RESULT_TIMEOUT)  # a new random seed
    wait_done(panel)
    expect(user(panel)).to_have_text(["Hello there"])
    expect(bot(panel)).to_have_count(1)


def test_undo_takes_back_the_last_turn_and_its_message(page: Any) -> None:
    panel = chat_tab(page)
    bot(panel).last.hover()
    panel.get_by_role("button", name="Undo").click()
    expect(user(panel)).to_have_count(0)
    expect(bot(panel)).to_have_count(0)
    expect(box(panel)).to_have_value("Hello there")  # back in the box, to change and send again


def test_editing_an_earlier_message_answers_from_there(page: Any) -> None:
    panel = chat_tab(page)
    clear(panel)
    set_max_tokens(panel, 8)
    send(panel, "first question")
    wait_done(panel)
    send(panel, "second question")
    expect(user(panel)).to_have_count(2)
    expect(bot(panel)).to_have_count(2, timeout=RESULT_TIMEOUT)
    wait_done(panel)
    user(panel).first.hover()
    panel.get_by_role("button", name="Edit").first.click()
    editor = panel.locator(".chat textarea")
    editor.fill("first question, edited")
    page.last_stats = stats(panel).inner_text()
    panel.locator(".chat").get_by_role("button", name="Submit").click()
    expect(user(panel)).to_have_text(["first question, edited"], timeout=RESULT_TIMEOUT)  # what followed is gone
    expect(bot(panel)).to_have_count(1, timeout=RESULT_TIMEOUT)
    wait_done(panel)
    set_max_tokens(panel, 128)


def test_stop_ends_the_reply_and_keeps_what_was_written(page: Any) -> None:
    panel = chat_tab(page)
    clear(panel)
    set_seed(panel, "5")  # on this model, seed 5 writes all 128 tokens unless stopped
    send(panel, "Tell me a long story")
    expect(bot(panel).first).not_to_have_text("", timeout=RESULT_TIMEOUT)
    page.wait_for_timeout(500)
    panel.get_by_role("button", name="Stop", exact=True).click()
    line = wait_done(panel)
    assert "stopped" in line, line
    tokens = int(re.search(r"(\d+) new tokens", line).group(1))
    assert 0 < tokens < 128
    kept = bot(panel).first.inner_text()
    assert kept.strip()
    page.wait_for_timeout(500)
    assert bot(panel).first.inner_text() == kept  # stopped for good
    set_seed(panel, "")


def test_empty_send_is_told_under_the_box(page: Any) -> None:
    panel = chat_tab(page)
    clear(panel)
    expect(box(panel)).to_be_editable(timeout=RESULT_TIMEOUT)
    panel.get_by_role("button", name="Send", exact=True).click()
    expect(panel.get_by_text("⚠ Type a message first.")).to_be_visible(timeout=RESULT_TIMEOUT)
    expect(user(panel)).to_have_count(0)


def test_a_chat_exports_as_json_and_markdown_and_imports_back(page: Any, app: Any) -> None:
    panel = chat_tab(page)
    clear(panel)
    set_max_tokens(panel, 8)
    panel.get_by_role("button", name="System prompt").click()
    panel.get_by_placeholder("How the assistant should behave").fill("Answer briefly.")
    set_seed(panel, "5")  # a fixed reply: drawn as Markdown, a random one could lose a * or _
    send(panel, "What is a cat?")
    wait_done(panel)
    reply = bot(panel).first.inner_text()
    panel.get_by_role("button", name="Export, import").click()
    panel.get_by_role("button", name="Export JSON").click()
    link = panel.locator('.file-preview a, a[download]').first
    expect(link).to_be_visible(timeout=RESULT_TIMEOUT)
    with urllib.request.urlopen(link.get_attribute("href")) as response:
        exported = json.loads(response.read())
    assert [m["role"] for m in exported] == ["system", "user", "assistant"]
    assert exported[0]["content"] == "Answer briefly." and exported[1]["content"] == "What is a cat?"
    # as written (tabs, newlines), which the page draws as Markdown: the same words
    assert exported[2]["content"].split() == reply.split()
    set_seed(panel, "")

    panel.get_by_role("button", name="Export Markdown").click()
    expect(link).to_have_attribute("href", re.compile(r"conversation\.md$"), timeout=RESULT_TIMEOUT)
    with urllib.request.urlopen(link.get_attribute("href")) as response:
        markdown = response.read().decode()
    assert "**User**\n\nWhat is a cat?" in markdown and "**System**\n\nAnswer briefly." in markdown

    clear(panel)
    saved = [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "imported question"},
             {"role": "assistant", "content": "imported answer"}]
    with page.expect_file_chooser() as chooser:
        panel.get_by_role("button", name="Import JSON").click()
    chooser.value.set_files(files=[{"name": "chat.json", "mimeType": "application/json",
                                    "buffer": json.dumps(saved).encode()}])
    expect(user(panel)).to_have_text(["imported question"], timeout=RESULT_TIMEOUT)
    expect(bot(panel)).to_have_text(["imported answer"])
    expect(panel.get_by_placeholder("How the assistant should behave")).to_have_value("Be kind.")

    with page.expect_file_chooser() as chooser:
        panel.get_by_role("button", name="Import JSON").click()
    chooser.value.set_files(files=[{"name": "bad.json", "mimeType": "application/json", "buffer": b"[{\"role\": 1}]"}])
    expect(panel.get_by_role("alert")).to_contain_text("Message 1 has the role", timeout=RESULT_TIMEOUT)
    expect(user(panel)).to_have_text(["imported question"])  # the chat stays as it was
    set_max_tokens(panel, 128)


def test_a_reasoning_models_thinking_is_folded_with_its_duration(page: Any) -> None:
    panel = chat_tab(page)
    clear(panel)
    pick(page, panel, "tiny reasoning")
    send(panel, "Hi, who are you?")
    expect(bot(panel)).to_have_count(2, timeout=RESULT_TIMEOUT)  # the thought, then the answer
    expect(bot(panel).last).to_have_text(REASONING_ANSWER, timeout=RESULT_TIMEOUT)
    thought = bot(panel).first
    expect(thought).to_contain_text(re.compile(r"Thought\s*\(\d+(\.\d+)?m?s\)"))  # Gradio: "(80.0ms)", "(1.2s)"
    expect(thought.get_by_text(REASONING_THOUGHT)).to_be_hidden()  # folded
    thought.get_by_text("Thought").click()
    expect(thought.get_by_text(REASONING_THOUGHT)).to_be_visible()
    screenshot(page, "chat-reasoning")


def test_a_base_model_is_said_to_continue_the_text(page: Any) -> None:
    panel = chat_tab(page)
    clear(panel)
    pick(page, panel, "tiny gpt2 (base)")
    expect(panel.get_by_text(re.compile(r"No chat template:.*continues a text"))).to_be_visible()
    send(panel, "Once upon a time")
    expect(bot(panel)).to_have_count(1, timeout=RESULT_TIMEOUT)
    wait_done(panel)
    pick(page, panel, "tiny chat (slowed)")


def test_the_request_is_shown_as_code(page: Any) -> None:
    panel = chat_tab(page)
    clear(panel)
    set_max_tokens(panel, 8)
    send(panel, "Code please")
    wait_done(panel)
    panel.get_by_role("button", name="Copy as code").click()
    code = panel.locator(".cm-content").last
    expect(code).to_contain_text("client.chat.completions.create(", timeout=RESULT_TIMEOUT)
    expect(code).to_contain_text("'content': 'Code please'")
    expect(code).to_contain_text('api_name="/chat"')
    expect(code).to_contain_text("max_tokens=8")
    set_max_tokens(panel, 128)
    no_page_errors(page)


def test_explain_colours_each_token_by_its_probability(page: Any, app: Any) -> None:
    """Explain on: the reply's tokens drawn in red as deep as the model found them unlikely, a table of each
    token with its top alternatives, and the reply's log-probability and perplexity, also in the line under
    the chat; the figures are those the adapter gives for the same request."""
    panel = chat_tab(page)
    clear(panel)
    set_max_tokens(panel, 12)
    set_seed(panel, "5")
    summary = panel.locator(".block.token-summary")
    expect(summary).to_be_hidden()  # off: nothing of it on the page
    panel.get_by_label("Explain: token probabilities").check()
    expect(summary).to_contain_text("coloured by how likely")
    send(panel, "Explain yourself")
    line = wait_done(panel)
    d = {p.name: p.default for p in task("text-generation").params}
    system = panel.get_by_placeholder("How the assistant should behave").input_value()  # as an earlier test left it
    messages = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": "Explain yourself"})
    expected = list(app.manager.stream("text-generation", None, messages,
                                       **{**d, "max_new_tokens": 12, "seed": 5}, do_sample=True, logprobs=True,
                                       top_logprobs=5))[-1]
    assert f"log-probability {expected['logprob']:.2f} · perplexity {expected['perplexity']:.2f}" in line, line
    expect(summary).to_contain_text(f"Log-probability {expected['logprob']:.3f} over 12 tokens · perplexity "
                                    f"{expected['perplexity']:.3f}", timeout=RESULT_TIMEOUT)
    tokens = panel.locator(".block.token-probabilities").locator(".token")
    expect(tokens.first).to_be_visible()
    assert 0 < tokens.count() <= 12  # a character split over tokens is drawn whole
    shades = tokens.evaluate_all("spans => spans.map(s => getComputedStyle(s).backgroundColor)")
    assert all(re.fullmatch(r"rgba?\(239, 68, 60(, [\d.]+)?\)", shade) for shade in shades), shades
    first = expected["logprobs"]["content"][0]
    table = panel.get_by_role("grid", name="Each token and the model's likeliest alternatives at that step")
    expect(table.get_by_role("row")).to_have_count(13)  # the header, then one row per token
    cells = table.get_by_role("row").nth(1).get_by_role("gridcell")
    expect(cells.nth(3)).to_have_text(str(round(first["logprob"], 4)))
    expect(cells.nth(4)).to_contain_text(" · ")  # the alternatives, each with its probability
    screenshot(page, "chat-explain")
    panel.get_by_label("Explain: token probabilities").uncheck()
    expect(summary).to_be_hidden()
    set_max_tokens(panel, 128)
    set_seed(panel, "")
    no_page_errors(page)


def test_a_phone_chats_too(page: Any, app: Any) -> None:
    with open_phone(page, app.url, "Chat") as phone:
        panel = chat_tab(phone)
        set_max_tokens(panel, 8)
        send(panel, "Hi from a phone")
        expect(bot(panel)).to_have_count(1, timeout=RESULT_TIMEOUT)
        wait_done(panel)
        width = phone.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 390, f"the page is {width} px wide on a 390 px phone"
        screenshot(phone, "chat-phone")


def test_compare_sends_one_message_to_every_chat(page: Any) -> None:
    panel = chat_tab(page)
    pick(page, panel, "tiny chat (slowed)")
    set_max_tokens(panel, 60)  # the reasoning model's reply is 44 tokens
    set_seed(panel, "")
    panel.get_by_role("button", name="Compare models").click()
    picks = panel.get_by_label("Models to compare")
    for label in ["tiny chat (slowed)", "tiny reasoning"]:
        picks.click()
        page.get_by_role("option", name=re.compile(f"^{re.escape(label)}")).first.click()
    sides = panel.locator(".compare-chat")
    expect(panel.get_by_text("A: tiny chat (slowed)")).to_be_visible()
    expect(panel.get_by_text("B: tiny reasoning")).to_be_visible()
    message = panel.get_by_placeholder("Type a message for all the chats above")
    message.fill("Hi, who are you?")
    message.press("Enter")
    expect(sides.nth(0).locator('[data-testid="user"]')).to_have_text(["Hi, who are you?"])
    expect(sides.nth(1).locator('[data-testid="user"]')).to_have_text(["Hi, who are you?"])
    lines = panel.locator(".block.compare-figures")
    expect(sides.nth(1).locator('[data-testid="bot"]').last).to_have_text(REASONING_ANSWER, timeout=RESULT_TIMEOUT)
    for i in range(2):
        expect(lines.nth(i)).to_contain_text("new tokens", timeout=RESULT_TIMEOUT)
        expect(lines.nth(i)).not_to_contain_text("generating…", timeout=RESULT_TIMEOUT)
    seeds = {re.search(r"seed (\d+)", lines.nth(i).inner_text()).group(1) for i in range(2)}
    assert len(seeds) == 1  # the same seed on every side
    expect(panel.locator(".block.compare-summary")).to_contain_text("B: its first token")

    message.fill("Tell me more")  # each chat keeps its own history: two turns on each side now
    message.press("Enter")
    expect(sides.nth(0).locator('[data-testid="user"]')).to_have_count(2)
    expect(sides.nth(0).locator('[data-testid="bot"]').first).not_to_have_text("", timeout=RESULT_TIMEOUT)
    panel.get_by_role("button", name="Stop all").click()
    for i in range(2):  # every side ends (stopped, or done before the click)
        expect(lines.nth(i)).to_contain_text("new tokens", timeout=RESULT_TIMEOUT)
        expect(lines.nth(i)).not_to_contain_text("generating…", timeout=RESULT_TIMEOUT)
    # the slowed side (60 tokens take 1.8 s) was stopped: Stop finds the comparison's runs by the visitor's
    # session (its handler once got no request, and Stop stopped nothing)
    expect(lines.nth(0)).to_contain_text("stopped")
    screenshot(page, "chat-compare")
    set_max_tokens(panel, 128)
    no_page_errors(page)


def test_compare_one_model_at_two_seeds(page: Any) -> None:
    panel = chat_tab(page)
    if not panel.get_by_label("Models to compare").is_visible():
        panel.get_by_role("button", name="Compare models").click()
    picks = panel.get_by_label("Models to compare")
    panel.locator(".chat-compare .remove-all").click()  # the models the test before picked
    expect(panel.locator(".chat-compare .token")).to_have_count(0)
    picks.click()
    page.get_by_role("option", name=re.compile("^tiny chat \\(slowed\\)")).first.click()
    vary = panel.get_by_label("Or vary one setting")
    vary.click()
    page.get_by_role("option", name="Seed", exact=True).click()
    panel.get_by_label("Its values").fill("1, 2")
    expect(panel.get_by_text("A: tiny chat (slowed) · Seed 1", exact=True)).to_be_visible()
    expect(panel.get_by_text("B: tiny chat (slowed) · Seed 2", exact=True)).to_be_visible()
    message = panel.get_by_placeholder("Type a message for all the chats above")
    message.fill("Hi")
    message.press("Enter")
    lines = panel.locator(".block.compare-figures")
    for i, seed in enumerate((1, 2)):
        expect(lines.nth(i)).to_contain_text(f"seed {seed} ·", timeout=RESULT_TIMEOUT)
        expect(lines.nth(i)).not_to_contain_text("generating…", timeout=RESULT_TIMEOUT)
    no_page_errors(page)
