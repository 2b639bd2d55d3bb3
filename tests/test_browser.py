"""Click through every tab in Chromium as a person would, and check what they see.

One launched app and one browser page per module; a full-page screenshot per tab goes to
tests/screenshots/<tab>.png (git-ignored). Needs Debian's Chromium at /usr/bin/chromium: the
module is skipped without it, except on CI (CI=true), where that is a failure.
"""
from __future__ import annotations

import re
import time
from typing import Any, Iterator

import pytest

from tests.browser import (RESULT_TIMEOUT, expect, no_page_errors, open_page, open_tab, screenshot, set_number,
                           set_text)
from tests.launch import running_app, slow_chat_copy, slow_down

SLOW_SECONDS = 0.03       # per forward pass of the slowed generator, so its stream can be watched


@pytest.fixture(scope="module")
def models(tiny_models: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    slow = slow_chat_copy(tiny_models, tmp_path_factory)
    return {"slow": slow, "chat": tiny_models["chat-gpt2"], "sentiment": tiny_models["sentiment"],
            "ner": tiny_models["ner"], "qa": tiny_models["qa"], "vit": tiny_models["vit"],
            "fill-mask": tiny_models["fill-mask"], "nli": tiny_models["nli"]}


@pytest.fixture(scope="module")
def app(chromium: str, models: dict[str, str]) -> Iterator[Any]:
    data = {
        "text-generation": [{"id": models["slow"], "label": "tiny chat (slowed)"},
                            {"id": models["chat"], "label": "tiny chat"}],
        "sentiment": [{"id": models["sentiment"], "label": "tiny sentiment"}],
        "ner": [{"id": models["ner"], "label": "tiny ner"}],
        "question-answering": [{"id": models["qa"], "label": "tiny qa"}],
        "fill-mask": [{"id": models["fill-mask"], "label": "tiny fill-mask"}],
        "zero-shot-classification": [{"id": models["nli"], "label": "tiny nli"}],
        "image-classification": [{"id": models["vit"], "label": "tiny vit"}],
    }
    with running_app(data) as launched:
        # Loaded before the page asks for it, so the slow-down hook is on the weights the app uses.
        slow_down(launched.manager.get("text-generation", models["slow"]), SLOW_SECONDS)
        yield launched


@pytest.fixture(scope="module")
def page(app: Any, chromium: str) -> Iterator[Any]:
    with open_page(app.url, chromium, ready_tab="Chat") as page:
        yield page


# -- the page -----------------------------------------------------------------------------------------

def test_page_shows_a_tab_per_task(page: Any) -> None:
    expect(page.get_by_role("heading", name="Model Playground")).to_be_visible()
    for tab in ["Chat", "Sentiment", "Named entities", "Question answering", "Fill mask",
                "Zero-shot classification", "Image classification", "Models"]:
        expect(page.get_by_role("tab", name=tab, exact=True)).to_be_visible()


def last_reply(panel: Any) -> Any:
    """The chat's last assistant message (drawn as Markdown)."""
    return panel.locator('.chat [data-testid="bot"]').last


def reply_text(panel: Any) -> str:
    """The last assistant message as written, not as drawn: Gradio names each message by its text (its
    copy button, which gives the same, shows only once the reply is done)."""
    return last_reply(panel).get_attribute("aria-label").removeprefix("bot's message: ")


def test_chat_streams_the_reply_into_the_chatbot(page: Any) -> None:
    panel = open_tab(page, "Chat")
    message = panel.get_by_placeholder("Type a message")
    panel.get_by_role("button", name="Write a haiku about a cat watching the rain.").click()
    expect(message).to_have_value("Write a haiku about a cat watching the rain.")
    panel.get_by_role("button", name="Parameters").click()
    max_tokens = panel.get_by_label("number input for Max new tokens")
    expect(max_tokens).to_have_value("128")  # drawn with its default: typing before that is overwritten
    set_number(max_tokens, "120")
    set_text(panel.get_by_label("Seed (empty = random)", exact=True), "5")

    panel.get_by_role("button", name="Send", exact=True).click()
    expect(panel.locator('.chat [data-testid="user"]')).to_have_text(["Write a haiku about a cat watching the rain."])
    expect(message).to_have_value("")  # the message went into the chat
    expect(last_reply(panel)).not_to_be_empty(timeout=RESULT_TIMEOUT)
    first = reply_text(panel)
    time.sleep(0.6)  # ~20 more tokens at the slowed speed
    second = reply_text(panel)
    assert second.startswith(first) and len(second) > len(first), \
        f"the reply did not grow while generating: {first!r} then {second!r}"
    stats = panel.locator(".block.reply-stats")
    expect(stats).to_contain_text("tokens/s", timeout=RESULT_TIMEOUT)
    expect(stats).to_contain_text("seed 5")
    expect(stats).to_contain_text("120 new tokens", timeout=RESULT_TIMEOUT)
    expect(stats).to_contain_text(re.compile(r"context \d+ of 256 tokens · reached max new tokens"))
    assert reply_text(panel).startswith(second)
    expect(panel.locator('.chat [data-testid="bot"]')).to_have_count(1)  # one reply, streamed in place
    expect(panel.get_by_text("tiny chat (slowed)", exact=True).first).to_be_visible()
    screenshot(page, "chat-streaming")  # not "chat": test_browser_chat.py has that name
    no_page_errors(page)


def test_sentiment_shows_label_bars(page: Any) -> None:
    panel = open_tab(page, "Sentiment")
    panel.get_by_role("button", name=re.compile(r"^I love how this playground")).click()
    expect(panel.get_by_label("Text", exact=True)).to_have_value(
        "I love how this playground lets me try models without writing any code.")
    panel.get_by_role("button", name="Classify", exact=True).click()
    expect(panel.get_by_test_id("label-output-value")).to_have_text("POSITIVE", timeout=RESULT_TIMEOUT)
    positive = panel.get_by_role("meter", name="POSITIVE")
    negative = panel.get_by_role("meter", name="NEGATIVE")
    expect(positive).to_be_visible()
    expect(negative).to_be_visible()
    assert float(positive.get_attribute("value")) > float(negative.get_attribute("value"))
    expect(panel.get_by_text(re.compile(r"tiny sentiment.* on cpu"))).to_be_visible()  # the load status line
    screenshot(page, "sentiment")
    no_page_errors(page)


def test_named_entities_are_highlighted_in_the_text(page: Any, app: Any, models: dict[str, str]) -> None:
    panel = open_tab(page, "Named entities")
    panel.get_by_role("button", name=re.compile(r"^Ada Lovelace worked with")).click()
    box = panel.get_by_label("Text", exact=True)
    expect(box).to_have_value(re.compile(r"^Ada Lovelace worked with Charles Babbage"))
    text = box.input_value()
    panel.get_by_role("button", name="Find entities", exact=True).click()
    highlighted = panel.get_by_test_id("highlighted-text")
    marks = highlighted.locator(".token.highlighted .text")
    expect(marks.first).to_be_visible(timeout=RESULT_TIMEOUT)
    seen = [m.strip() for m in marks.all_inner_texts()]
    # What a person sees is exactly what the model found, each mark on the characters of its entity.
    found = app.manager.predict("ner", models["ner"], text)["entities"]
    assert seen == [e["text"] for e in found]
    assert all(mark in text for mark in seen)
    types = {"PER": "Person", "LOC": "Place"}  # written beside each entity (readable without colour)
    expect(highlighted.locator(".token.highlighted .label")).to_have_text([types[e["entity"]] for e in found])
    table = panel.get_by_role("grid", name="Entity list")
    expect(table.get_by_role("gridcell", name=seen[0], exact=True).first).to_be_visible()
    screenshot(page, "named-entities")
    no_page_errors(page)


def text_box(page: Any, panel: Any, label: str) -> Any:
    """A text box with a copy button, by its label's text: Gradio puts the button inside the box's
    <label>, which then names the button (a label names its first labelable element), not the box."""
    block = panel.locator("label.container").filter(has=page.get_by_test_id("block-info").get_by_text(label, exact=True))
    return block.get_by_test_id("textbox")


def test_answer_is_highlighted_in_the_context(page: Any) -> None:
    panel = open_tab(page, "Question answering")
    panel.get_by_role("gridcell", name="Where did Ada Lovelace work with Babbage?").click()
    question = panel.get_by_label("Question", exact=True)
    context = panel.get_by_label("Context", exact=True)
    expect(question).to_have_value("Where did Ada Lovelace work with Babbage?")
    expect(context).not_to_have_value("")
    # The tiny model knows only its templates (the example above may well have no answer for it).
    question.fill("Where does Zoë Kravitz live?")
    context.fill("🎉 Zoë Kravitz works as a pilot. Zoë Kravitz lives in São Paulo.")
    panel.get_by_role("button", name="Answer", exact=True).click()
    answer = text_box(page, panel, "Answer")
    expect(answer).to_have_value("São Paulo", timeout=RESULT_TIMEOUT)
    answer_text = answer.input_value()
    mark = panel.get_by_test_id("highlighted-text").locator(".token.highlighted")
    expect(mark).to_have_count(1)
    expect(mark.locator(".text")).to_have_text(answer_text)
    expect(mark).to_contain_text("answer")  # the label on the highlight
    expect(panel.get_by_label("Confidence", exact=True)).to_have_value(re.compile(r"^(\d{1,3}\.\d%|>99\.9%|<0\.1%)$"))
    screenshot(page, "question-answering")
    no_page_errors(page)


def test_fill_mask_shows_the_candidates_and_the_completed_sentence(page: Any, models: dict[str, str]) -> None:
    from transformers import pipeline

    text = "Paris is the [MASK] of France."
    expected = pipeline("fill-mask", model=models["fill-mask"], device="cpu")(text, top_k=3)
    panel = open_tab(page, "Fill mask")
    panel.get_by_role("button", name=text, exact=True).click()
    expect(panel.get_by_label("Text", exact=True)).to_have_value(text)
    panel.get_by_role("button", name="Parameters").click()
    set_number(panel.get_by_label("number input for Top k candidates"), "3")
    panel.get_by_role("button", name="Fill the mask", exact=True).click()
    expect(panel.get_by_test_id("label-output-value")).to_have_text(expected[0]["token_str"], timeout=RESULT_TIMEOUT)
    expect(panel.get_by_role("meter")).to_have_count(3)
    for candidate in expected:
        expect(panel.get_by_role("meter", name=candidate["token_str"], exact=True)).to_be_visible()
    expect(text_box(page, panel, "Completed with the likeliest word")).to_have_value(expected[0]["sequence"])
    screenshot(page, "fill-mask")
    no_page_errors(page)


def test_zero_shot_classification_scores_the_labels_typed(page: Any, models: dict[str, str]) -> None:
    from transformers import pipeline

    text, labels = "The striker scored twice in the last ten minutes.", ["technology", "sports", "politics", "cooking"]
    expected = pipeline("zero-shot-classification", model=models["nli"], device="cpu")(
        text, candidate_labels=labels, multi_label=True)
    panel = open_tab(page, "Zero-shot classification")
    panel.get_by_role("gridcell", name=text).click()
    expect(panel.get_by_label("Text", exact=True)).to_have_value(text)
    expect(panel.get_by_label("Labels (comma separated)")).to_have_value(", ".join(labels))
    panel.get_by_role("button", name="Parameters").click()
    panel.get_by_label("Several labels can be true").check()
    panel.get_by_role("button", name="Classify", exact=True).click()
    expect(panel.get_by_test_id("label-output-value")).to_have_text(expected["labels"][0], timeout=RESULT_TIMEOUT)
    for label, score in zip(expected["labels"], expected["scores"]):
        meter = panel.get_by_role("meter", name=label, exact=True)
        expect(meter).to_be_visible()
        assert abs(float(meter.get_attribute("value")) - score) < 1e-3
    screenshot(page, "zero-shot-classification")
    no_page_errors(page)


def test_image_classification_shows_label_bars(page: Any) -> None:
    from tests.builders.vision import VIT_LABELS

    panel = open_tab(page, "Image classification")
    panel.get_by_role("button").filter(has=page.locator("img[src$='cat.jpg']")).click()
    expect(panel.get_by_test_id("image").locator("img").first).to_be_visible()
    panel.get_by_role("button", name="Classify", exact=True).click()
    top = panel.get_by_test_id("label-output-value")
    expect(top).not_to_be_empty(timeout=RESULT_TIMEOUT)
    assert top.inner_text().strip() in VIT_LABELS.values()
    for label in VIT_LABELS.values():  # default top_k 5, and the tiny ViT has 3 labels: all shown
        expect(panel.get_by_role("meter", name=label)).to_be_visible()
    screenshot(page, "image-classification")
    no_page_errors(page)


def test_models_tab_lists_loads_and_unloads(page: Any, app: Any, models: dict[str, str]) -> None:
    for task in ("sentiment", "ner"):  # loaded whatever ran before
        app.manager.get(task, models[task])
    labels = {task: app.manager.spec(task, models[task]).name for task in ("sentiment", "ner")}
    panel = open_tab(page, "Models")
    table = panel.get_by_role("grid", name="Loaded models, most recently used first")
    for task in ("sentiment", "ner"):
        expect(table.get_by_role("gridcell", name=labels[task], exact=True)).to_be_visible(timeout=RESULT_TIMEOUT)
    expect(table.get_by_role("gridcell", name="cpu", exact=True).first).to_be_visible()
    expect(table.get_by_role("gridcell", name=re.compile(r"^\d+ s ago$")).first).to_be_visible()  # last used
    # the list's models with what the server holds of them (local folders here: ready)
    catalog = panel.get_by_role("grid", name="The list's models on this server")
    expect(catalog.get_by_role("gridcell", name="tiny qa", exact=True)).to_be_visible()
    expect(catalog.get_by_role("gridcell", name=re.compile(r"^ready")).first).to_be_visible()
    screenshot(page, "models")

    picker = panel.get_by_label("Loaded model", exact=True)
    picker.click()
    page.get_by_role("option", name=f"sentiment · {labels['sentiment']}").click()
    panel.get_by_role("button", name="Unload", exact=True).click()
    expect(panel.get_by_text("Unloaded; its memory is free again.")).to_be_visible(timeout=RESULT_TIMEOUT)
    expect(table.get_by_role("gridcell", name=labels["sentiment"], exact=True)).to_have_count(0)
    expect(table.get_by_role("gridcell", name=labels["ner"], exact=True)).to_be_visible()
    assert ("sentiment", models["sentiment"]) not in {(m["task"], m["model"]) for m in app.manager.loaded()}

    to_load = panel.get_by_label("Load a model from the list", exact=True)
    to_load.click()
    page.get_by_role("option", name=f"sentiment · {labels['sentiment']}").click()
    panel.get_by_role("button", name="Load", exact=True).click()
    expect(panel.get_by_text(re.compile(r"^Loaded in \d+\.\d s\.$"))).to_be_visible(timeout=RESULT_TIMEOUT)
    expect(table.get_by_role("gridcell", name=labels["sentiment"], exact=True)).to_be_visible()
    assert ("sentiment", models["sentiment"]) in {(m["task"], m["model"]) for m in app.manager.loaded()}

    panel.get_by_role("button", name="Unload all", exact=True).click()
    expect(panel.get_by_text(re.compile(r"^Unloaded \d+ models?\.$"))).to_be_visible(timeout=RESULT_TIMEOUT)
    expect(table.get_by_role("gridcell", name=labels["ner"], exact=True)).to_have_count(0)
    assert app.manager.loaded() == []
    screenshot(page, "models-after-unload")
    no_page_errors(page)


# -- explain ------------------------------------------------------------------------------------------

def explain_on(page: Any, panel: Any, method: str | None = None) -> Any:
    if not panel.get_by_role("button", name="Explain", exact=True).is_visible():
        panel.get_by_role("button", name="Explain the answer").click()
    if method:
        panel.get_by_label(method).check()
    panel.get_by_role("button", name="Explain", exact=True).click()
    explanation = panel.locator(".explanation")
    expect(explanation.locator(".block.explain-said")).to_contain_text("convergence delta", timeout=RESULT_TIMEOUT)
    return explanation


def test_explain_shades_the_words_that_made_the_answer(page: Any) -> None:
    panel = open_tab(page, "Sentiment")
    panel.get_by_label("Text", exact=True).fill("I love this movie")
    panel.get_by_role("button", name="Classify", exact=True).click()
    expect(panel.get_by_test_id("label-output-value")).to_have_text("POSITIVE", timeout=RESULT_TIMEOUT)
    explanation = explain_on(page, panel, "Integrated Gradients (steps passes, batched)")
    said = explanation.locator(".block.explain-said")
    expect(said).to_contain_text("POSITIVE: its logit")
    expect(said).to_contain_text("Integrated Gradients, 64 steps")
    expect(said).to_contain_text(re.compile(r"account for \d+% of the change"))
    expect(explanation.get_by_test_id("highlighted-text:textfield").get_by_text("love", exact=True)).to_be_visible()
    bars = explanation.locator(".explain-bars")
    expect(bars.locator(".vega-embed")).to_be_visible()  # the bar chart of the top words, drawn
    expect(bars.locator("svg g.mark-rect path, canvas").first).to_be_visible()
    screenshot(page, "explain")
    no_page_errors(page)


def test_explain_an_image_draws_a_heatmap(page: Any) -> None:
    panel = open_tab(page, "Image classification")
    panel.get_by_role("button").filter(has=page.locator("img[src$='cat.jpg']")).click()
    explanation = explain_on(page, panel)
    expect(explanation.locator(".block.explain-said")).to_contain_text("gradient × input")
    image = explanation.locator("img").first
    expect(image).to_be_visible()
    assert image.evaluate("img => img.complete && img.naturalWidth") > 0
    screenshot(page, "explain-image")
    no_page_errors(page)


def test_a_bad_target_is_said_beside_its_box(page: Any) -> None:
    panel = open_tab(page, "Sentiment")
    panel.get_by_label("Text", exact=True).fill("I love this movie")
    if not panel.get_by_role("button", name="Explain", exact=True).is_visible():
        panel.get_by_role("button", name="Explain the answer").click()
    panel.get_by_role("textbox", name=re.compile("^What to explain")).fill("MAYBE")
    panel.get_by_role("button", name="Explain", exact=True).click()
    expect(panel.get_by_text(re.compile("'MAYBE' is not one of the model's labels")).first).to_be_visible(
        timeout=RESULT_TIMEOUT)
    panel.get_by_role("textbox", name=re.compile("^What to explain")).fill("")
    no_page_errors(page)
