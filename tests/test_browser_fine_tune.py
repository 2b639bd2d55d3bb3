"""The Fine-tune tab in Chromium: the example dataset checked and previewed, a training with its live loss
curve and metrics, and the model it made picked in the Sentiment tab's Compare models."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.browser import RESULT_TIMEOUT, expect, no_page_errors, open_page, open_tab, screenshot, set_number
from tests.launch import ASSETS


@pytest.fixture(scope="module")
def app(chromium: str, tiny_models: Any) -> Iterator[Any]:
    from tests.launch import running_app

    data = {"sentiment": [{"id": tiny_models["random-bert"], "label": "random bert"},
                          {"id": tiny_models["sentiment"], "label": "tiny sentiment"}]}
    with running_app(data) as launched:
        yield launched


@pytest.fixture(scope="module")
def page(app: Any, chromium: str) -> Iterator[Any]:
    with open_page(app.url, chromium, ready_tab="Sentiment") as page:
        yield page


def test_fine_tune_the_example_and_compare_the_result(page: Any) -> None:
    panel = open_tab(page, "Fine-tune")
    panel.get_by_role("button", name="Use the example dataset").click()
    checked = panel.locator(".block.training-data")
    expect(checked).to_contain_text(re.compile(r"60 rows; labels: (negative|positive) \d+, (negative|positive) \d+"),
                                    timeout=RESULT_TIMEOUT)
    expect(checked).to_contain_text("text=text, label=label")
    expect(checked).to_contain_text("Ready to train.")
    first = Path(ASSETS, "datasets", "sentiment.csv").read_text(encoding="utf-8").splitlines()[1].rsplit(",", 1)[0]
    expect(panel.get_by_text(first, exact=True)).not_to_have_count(0)  # the preview's first rows
    panel.get_by_role("button", name="Training settings").click()
    set_number(panel.get_by_label("number input for Epochs"), "4")
    panel.get_by_label("Learning rate").fill("0.002")
    panel.get_by_label("Learning rate").press("Enter")
    panel.get_by_role("button", name="Train", exact=True).click()
    progress = panel.locator(".block.training-progress")
    expect(progress).to_contain_text(re.compile(r"Training: step \d+ of \d+|Done\."), timeout=RESULT_TIMEOUT)
    expect(progress).to_have_text("Done.", timeout=120_000)
    expect(panel.locator(".block.training-result")).to_contain_text("Saved:")
    expect(panel.locator(".block.training-metrics")).to_contain_text(re.compile(r"final: loss [\d.]+ · accuracy"))
    expect(panel.locator(".loss-curve .vega-embed")).to_be_visible()
    expect(panel.locator(".loss-curve path[aria-roledescription='line mark']").first).to_be_visible()
    page.wait_for_timeout(500)
    strokes = panel.locator(".loss-curve path[aria-roledescription='line mark']").evaluate_all(
        "paths => paths.map(p => getComputedStyle(p).stroke)")
    assert len(strokes) == 2 and "none" not in strokes, strokes  # a line each for train and eval, both drawn
    expect(panel.get_by_text(re.compile(r"\.zip$")).first).to_be_visible()  # the download
    screenshot(page, "fine-tune")

    sentiment = open_tab(page, "Sentiment")
    sentiment.get_by_role("button", name="Compare models").click()
    sentiment.get_by_label("Models to compare").click()
    expect(page.get_by_role("option", name=re.compile(r"fine-tuned\)$"))).to_have_count(1)
    page.keyboard.press("Escape")
    no_page_errors(page)


def test_a_file_with_problems_says_each_and_trains_nothing(page: Any, tmp_path: Any) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("text,label\nfine,positive\n,negative\n", encoding="utf-8")
    panel = open_tab(page, "Fine-tune")
    block = panel.locator(".block").filter(has=page.get_by_text("Training data", exact=True)).first
    if block.get_by_role("button", name="Clear").count():  # the example picked before
        block.get_by_role("button", name="Clear").first.click()
    block.locator("input[type=file]").set_input_files(str(bad))
    checked = panel.locator(".block.training-data")
    expect(checked).to_contain_text("Row 2: its text is empty.", timeout=RESULT_TIMEOUT)
    expect(checked).to_contain_text("fine-tuning needs at least 8")
    panel.get_by_role("button", name="Train", exact=True).click()
    expect(panel.locator(".block.training-progress")).to_contain_text("⚠ Row 2: its text is empty.",
                                                                     timeout=RESULT_TIMEOUT)
    no_page_errors(page)
