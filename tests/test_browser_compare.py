"""Each tab's Compare mode in Chromium: pick two models, one input, the sides drawn in the task's own
outputs with their figures, and a summary in words; a side that fails says so alone."""
from __future__ import annotations

import re
import shutil
from typing import Any, Iterator

import pytest

from tests.browser import RESULT_TIMEOUT, expect, no_page_errors, open_page, open_tab, screenshot


@pytest.fixture(scope="module")
def app(chromium: str, tiny_models: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from tests.launch import running_app

    data = {}
    for task, name in [("sentiment", "sentiment"), ("ner", "ner"), ("question-answering", "qa")]:
        copy = tmp_path_factory.mktemp("copies") / f"{name}-copy"
        shutil.copytree(tiny_models[name], copy)
        data[task] = [{"id": tiny_models[name], "label": f"tiny {name}"}, {"id": str(copy), "label": f"tiny {name} B"}]
    with running_app(data) as launched:
        yield launched


@pytest.fixture(scope="module")
def page(app: Any, chromium: str) -> Iterator[Any]:
    with open_page(app.url, chromium, ready_tab="Sentiment") as page:
        yield page


def open_compare(panel: Any) -> None:
    """Unfold the tab's Compare models (a test before may have left it open)."""
    if not panel.get_by_label("Models to compare").is_visible():
        panel.get_by_role("button", name="Compare models").click()


def compare(page: Any, panel: Any, labels: list[str]) -> Any:
    open_compare(panel)
    picks = panel.get_by_label("Models to compare")
    for label in labels:
        picks.click()
        page.get_by_role("option", name=re.compile(f"^{re.escape(label)}")).first.click()
    panel.get_by_role("button", name="Compare", exact=True).click()
    area = panel.locator(".comparison")
    expect(area.locator(".block.compare-summary")).to_contain_text(re.compile(r"\w.*\."), timeout=RESULT_TIMEOUT)
    return area


def test_sentiment_sides_agree_in_their_own_bars(page: Any) -> None:
    panel = open_tab(page, "Sentiment")
    panel.get_by_label("Text", exact=True).fill("I love this film")
    area = compare(page, panel, ["tiny sentiment B", "tiny sentiment"])
    expect(area.get_by_text("A: tiny sentiment B")).to_be_visible()
    expect(area.get_by_text("B: tiny sentiment", exact=True)).to_be_visible()
    expect(area.locator(".block.compare-summary")).to_contain_text("they agree on the label: POSITIVE")
    figures = area.locator(".block.compare-figures")
    expect(figures.first).to_contain_text(re.compile(r"s this call · [\d.]+M parameters · [\d.]+ MB · cpu · float32"))
    expect(area.get_by_test_id("label-output-value").first).to_contain_text("POSITIVE")
    screenshot(page, "compare")
    no_page_errors(page)


def test_entities_side_by_side(page: Any) -> None:
    panel = open_tab(page, "Named entities")
    panel.get_by_label("Text", exact=True).fill("Ada Lovelace lives in London.")
    area = compare(page, panel, ["tiny ner", "tiny ner B"])
    expect(area.locator(".block.compare-summary")).to_contain_text("they find the same entities")
    expect(area.get_by_text("London").first).to_be_visible()


def test_a_failing_side_says_so_alone(page: Any, app: Any) -> None:
    panel = open_tab(page, "Question answering")
    panel.get_by_label("Question", exact=True).fill("Where does Ada live?")
    panel.get_by_label("Context", exact=True).fill("Ada lives in London.")
    open_compare(panel)
    picks = panel.get_by_label("Models to compare")
    picks.click()
    page.get_by_role("option", name=re.compile("^tiny qa$")).click()
    picks.fill("/no/such/folder")
    picks.press("Enter")
    panel.get_by_role("button", name="Compare", exact=True).click()
    area = panel.locator(".comparison")
    figures = area.locator(".block.compare-figures")
    expect(figures.nth(1)).to_contain_text("⚠", timeout=RESULT_TIMEOUT)
    expect(figures.nth(0)).to_contain_text("s this call")
    expect(area.locator(".block.compare-summary")).to_contain_text("B failed")
    no_page_errors(page)


def test_measure_shows_each_sides_calls_per_second(page: Any) -> None:
    panel = open_tab(page, "Sentiment")
    panel.get_by_label("Text", exact=True).fill("I love this film")
    open_compare(panel)
    panel.get_by_label("Measure throughput").check()
    area = compare(page, panel, [])  # the two models the first test picked are still picked
    figures = area.locator(".block.compare-figures")
    for i in range(2):
        expect(figures.nth(i)).to_contain_text(re.compile(r"[\d.]+ calls/s measured \(\d+ calls, 16 at once\)"),
                                               timeout=RESULT_TIMEOUT)
    expect(area.locator(".block.compare-summary")).to_contain_text("A's throughput")
    panel.get_by_label("Measure throughput").uncheck()
