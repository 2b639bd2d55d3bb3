"""What a person reads in the results, in Chromium: whole words in highlighted text, no score before a
run, percentages, entity types in words, the best label bars first and the rest on request, copy
buttons, a chat's replies drawn as Markdown and copied as written.

One launched app (the tiny models) and one page for the module; screenshots go to
tests/screenshots/presentation-<tab>.png (git-ignored). Skipped without Chromium, as test_browser.py.
"""
from __future__ import annotations

import re
import time
from typing import Any, Iterator

import pytest

from components.render import TOP_LABELS, percent, top_scores
from tests.browser import RESULT_TIMEOUT, expect, no_page_errors, open_page, screenshot, set_number
from tests.launch import running_app, tiny_catalog

PERCENT = re.compile(r"^(\d{1,3}(\.\d)?%|>99\.9%|<0\.1%)$")
MARKDOWN_PROMPT = "Write some Markdown."
MARKDOWN = ("  **Bold** first,\n\n- one\n- two\n\n```python\n\tprint('tab kept')\n```\n\n"
            "<img src=x onerror=\"window.ran = 1\"> and no script ran.\n")
CUTS = [MARKDOWN.index("\n\n- one"), MARKDOWN.index("\n- two"), MARKDOWN.index("\n\n```"), len(MARKDOWN)]
STEP_SECONDS = 0.8  # between the streamed pieces of MARKDOWN: "Bold" shows 1.6 s before the code block, room for a busy CI

# Words that with Gradio's word-break: break-all were cut at a line's end (what the issue saw as "Lo ndon").
BROKEN_WORDS = """(root) => {
  const broken = [];
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    for (const m of node.data.matchAll(/\\S+/g)) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (tops.size > 1) broken.push(m[0]);
    }
  }
  return broken;
}"""
RECORD_COPIES = "() => { window.copied = []; navigator.clipboard.writeText = async (text) => { window.copied.push(text); }; }"


@pytest.fixture(scope="module")
def app(chromium: str, tiny_models: Any) -> Iterator[Any]:
    tasks = ["text-generation", "ner", "question-answering", "fill-mask", "zero-shot-classification", "clip"]
    with running_app(tiny_catalog(tiny_models, tasks)) as launched:
        launched.manager.stream = markdown_for_its_prompt(launched.manager.stream)
        yield launched


def markdown_for_its_prompt(stream: Any) -> Any:
    """The manager's stream, except for a chat whose last message is MARKDOWN_PROMPT (or that prompt
    alone): MARKDOWN in pieces (a tiny model writes noise)."""
    def fake(task: str, model: Any, prompt: Any, **params: Any) -> Iterator[dict[str, Any]]:
        last = prompt[-1].get("content") if isinstance(prompt, list) and prompt else prompt
        if last != MARKDOWN_PROMPT:
            yield from stream(task, model, prompt, **params)
            return
        for i, cut in enumerate(CUTS):
            time.sleep(STEP_SECONDS)
            done = cut == len(MARKDOWN)
            yield {"text": MARKDOWN[:cut], "answer": MARKDOWN[:cut], "thinking": None, "thinking_seconds": None,
                   "new_tokens": i + 1, "seed": 1, "done": done, "first_token_seconds": STEP_SECONDS,
                   "seconds": STEP_SECONDS * (i + 1), "prompt_tokens": 20, "window": 256, "dropped_turns": 0,
                   **({"stopped": False, "finish_reason": "stop"} if done else {})}
    return fake


@pytest.fixture(scope="module")
def page(app: Any, chromium: str) -> Iterator[Any]:
    with open_page(app.url, chromium, ready_tab="Chat") as page:
        page.evaluate(RECORD_COPIES)
        yield page


def open_tab(page: Any, name: str) -> Any:
    page.get_by_role("tab", name=name, exact=True).click()
    expect(page.get_by_role("tab", name=name, exact=True)).to_have_attribute("aria-selected", "true")
    return page.get_by_role("tabpanel").filter(visible=True).last


def copyable(panel: Any, label: str) -> tuple[Any, Any]:
    """A text box with a copy button, by its label: (the box, its copy button). Gradio puts the button
    inside the box's <label>, and a label names its first labelable element: the button, so the box
    itself has no accessible name and get_by_label does not find it."""
    name = panel.page.get_by_test_id("block-info").get_by_text(label, exact=True)
    block = panel.locator("label.container").filter(has=name)
    return block.get_by_test_id("textbox"), block.get_by_role("button", name="Copy", exact=True)


def copied(page: Any, button: Any) -> str:
    before = page.evaluate("() => window.copied.length")
    button.click()
    page.wait_for_function(f"() => window.copied.length > {before}")
    return page.evaluate("() => window.copied[window.copied.length - 1]")


def test_answer_reads_as_whole_words_with_its_confidence_and_a_copy_button(page: Any) -> None:
    panel = open_tab(page, "Question answering")
    confidence = panel.get_by_label("Confidence", exact=True)
    expect(confidence).to_have_value("")  # nothing before a run (a gr.Number showed "0")
    context = ("Ada Lovelace was an English mathematician. She worked with Charles Babbage in London on the "
               "Analytical Engine, a mechanical general-purpose computer, and wrote what is seen as the first "
               "program. Zoë Kravitz lives in Montréal. Renée Dubois works as a pilot in Wellington, far from "
               "Düsseldorf, Amsterdam, Kraków and Reykjavík, where the winters are long and the summers short.")
    panel.get_by_label("Question", exact=True).fill("Where does Zoë Kravitz live?")
    panel.get_by_label("Context", exact=True).fill(context)
    panel.get_by_role("button", name="Answer", exact=True).click()
    answer, copy = copyable(panel, "Answer")
    expect(answer).to_have_value("Montréal", timeout=RESULT_TIMEOUT)
    expect(confidence).to_have_value(PERCENT)
    highlighted = panel.get_by_test_id("highlighted-text")
    expect(highlighted.locator(".token.highlighted .text")).to_have_text("Montréal")
    field = highlighted.locator(".textfield")
    lines = field.locator(".token").evaluate_all(
        "tokens => new Set(tokens.map(t => Math.round(t.getBoundingClientRect().top))).size")
    assert lines >= 3, "the context should wrap over several lines for this check to mean anything"
    assert field.evaluate(BROKEN_WORDS) == []
    assert copied(page, copy) == "Montréal"
    screenshot(page, "presentation-question-answering")
    no_page_errors(page)


def test_entities_carry_their_type_in_words_and_the_table_is_for_people(page: Any, app: Any) -> None:
    text = "Yesterday Björn Andersson visited São Paulo. Zoë Kravitz lives in Montréal."
    panel = open_tab(page, "Named entities")
    panel.get_by_label("Text", exact=True).fill(text)
    panel.get_by_role("button", name="Find entities", exact=True).click()
    highlighted = panel.get_by_test_id("highlighted-text")
    marks = highlighted.locator(".token.highlighted")
    expect(marks.first).to_be_visible(timeout=RESULT_TIMEOUT)
    found = app.manager.predict("ner", None, text)["entities"]
    assert {e["entity"] for e in found} == {"PER", "LOC"}
    expect(marks).to_have_count(len(found))
    words = {"PER": "Person", "LOC": "Place"}
    for mark, entity in zip(marks.all(), found):  # each entity with its type written beside it, not only a colour
        expect(mark.locator(".text")).to_have_text(entity["text"])
        expect(mark.locator(".label")).to_have_text(words[entity["entity"]])
    expect(highlighted.get_by_test_id("highlighted-text:category-legend")).to_have_count(0)
    assert highlighted.locator(".textfield").evaluate(BROKEN_WORDS) == []

    table = panel.get_by_role("grid", name="Entity list")
    headers = table.get_by_role("columnheader")
    expect(headers).to_have_count(3, timeout=RESULT_TIMEOUT)  # no start and end columns
    assert [h.split()[0] for h in headers.all_inner_texts()] == ["Entity", "Type", "Confidence"]
    for entity in found:
        row = table.get_by_role("row").filter(has=page.get_by_role("gridcell", name=entity["text"], exact=True))
        expect(row.get_by_role("gridcell")).to_have_text([entity["text"], words[entity["entity"]],
                                                           percent(entity["score"])])
    screenshot(page, "presentation-named-entities")
    no_page_errors(page)


def test_zero_shot_shows_the_best_labels_and_every_label_on_request(page: Any, app: Any) -> None:
    text, labels = "The striker scored twice.", "sports, politics, cooking, music, travel, science, fashion"
    panel = open_tab(page, "Zero-shot classification")
    panel.get_by_label("Text", exact=True).fill(text)
    panel.get_by_label("Labels (comma separated)").fill(labels)
    panel.get_by_role("button", name="Classify", exact=True).click()
    scores = {r["label"]: r["score"] for r in app.manager.predict(
        "zero-shot-classification", None, text, labels=labels)["labels"]}
    best = top_scores(scores)
    top = panel.get_by_test_id("label").first
    expect(top.get_by_test_id("label-output-value")).to_have_text(next(iter(best)), timeout=RESULT_TIMEOUT)
    expect(top.get_by_role("meter")).to_have_count(len(best))
    assert len(best) <= TOP_LABELS < len(scores)
    more = panel.get_by_role("button", name="All 7 labels")
    expect(more).to_be_visible()
    everything = panel.get_by_test_id("label").nth(1)
    expect(everything.get_by_role("meter")).to_have_count(0)  # closed until asked for
    more.click()
    expect(everything.get_by_role("meter")).to_have_count(7)
    for label, score in scores.items():
        assert abs(float(everything.get_by_role("meter", name=label, exact=True).get_attribute("value")) - score) < 1e-3
    screenshot(page, "presentation-zero-shot-classification")
    no_page_errors(page)


def test_fill_mask_leaves_out_bars_at_0_percent_and_copies_the_sentence(page: Any, app: Any) -> None:
    text = "Paris is the [MASK] of France."
    panel = open_tab(page, "Fill mask")
    panel.get_by_label("Text", exact=True).fill(text)
    panel.get_by_role("button", name="Parameters").click()
    set_number(panel.get_by_label("number input for Top k candidates"), "12")
    panel.get_by_role("button", name="Fill the mask", exact=True).click()
    candidates = app.manager.predict("fill-mask", None, text, top_k=12)["masks"][0]
    best = top_scores({c["token_str"]: c["score"] for c in candidates})
    top = panel.get_by_test_id("label").first
    expect(top.get_by_test_id("label-output-value")).to_have_text(candidates[0]["token_str"], timeout=RESULT_TIMEOUT)
    expect(top.get_by_role("meter")).to_have_count(len(best))  # bars that would read 0% left out (after the first two)
    expect(panel.get_by_role("button", name="All 12 candidates")).to_be_visible()
    sentence, copy = copyable(panel, "Completed with the likeliest word")
    expect(sentence).to_have_value(candidates[0]["sequence"])
    assert copied(page, copy) == candidates[0]["sequence"]
    screenshot(page, "presentation-fill-mask")
    no_page_errors(page)


def test_a_reply_is_drawn_as_markdown_while_streaming(page: Any) -> None:
    panel = open_tab(page, "Chat")
    panel.get_by_placeholder("Type a message").fill(MARKDOWN_PROMPT)
    panel.get_by_role("button", name="Send", exact=True).click()
    reply = panel.locator('.chat [data-testid="bot"]').last
    expect(reply.locator("strong")).to_have_text("Bold", timeout=RESULT_TIMEOUT)
    assert reply.locator("pre code").count() == 0, "the whole text came at once: nothing was seen streaming"
    expect(reply.locator("li")).to_have_text(["one", "two"])
    expect(reply.locator("pre code")).to_contain_text("print('tab kept')")
    expect(panel.locator(".block.reply-stats")).to_contain_text(f"seed 1 · {len(CUTS)} new tokens")
    expect(reply).to_contain_text("and no script ran.")
    assert page.evaluate("() => window.ran") is None  # HTML in what a model writes is sanitised
    expect(reply.locator("img[onerror]")).to_have_count(0)  # the tag may stay, its handler does not
    screenshot(page, "presentation-chat")
    no_page_errors(page)


def test_a_reply_is_copied_as_written(page: Any) -> None:
    panel = open_tab(page, "Chat")
    reply = panel.locator('.chat [data-testid="bot"]').last
    if not reply.count() or "and no script ran." not in reply.inner_text():  # run alone: ask for it first
        panel.get_by_placeholder("Type a message").fill(MARKDOWN_PROMPT)
        panel.get_by_role("button", name="Send", exact=True).click()
        expect(panel.locator(".block.reply-stats")).to_contain_text(f"{len(CUTS)} new tokens", timeout=RESULT_TIMEOUT)
    copy = panel.locator(".chat .message-buttons-left").last.get_by_role("button", name="Copy message")
    assert copied(page, copy) == MARKDOWN  # raw: the leading spaces, the tab and the last new line kept
    no_page_errors(page)


def test_clip_search_captions_are_percentages(page: Any, app: Any) -> None:
    panel = open_tab(page, "CLIP")
    page.get_by_role("tab", name="Text-to-image search", exact=True).click()
    panel = page.get_by_role("tabpanel").filter(visible=True).last
    query = panel.get_by_label("Query", exact=True)
    query.fill("a cat")
    panel.get_by_role("button", name="Search", exact=True).click()
    thumbnails = panel.get_by_role("button", name=re.compile(r"^Thumbnail \d+ of 4$"))
    expect(thumbnails).to_have_count(4, timeout=RESULT_TIMEOUT)  # the four example images, all ranked
    captions = panel.locator(".caption-label")
    shown = captions.all_inner_texts()
    assert all(PERCENT.match(c.strip()) for c in shown), shown
    total = sum(float(c.strip().strip("<>%")) for c in shown)
    assert abs(total - 100) < 1, shown  # a softmax over the images searched
    screenshot(page, "presentation-clip-search")
    no_page_errors(page)
