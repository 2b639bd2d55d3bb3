"""The page in Chinese, in Chromium: a browser whose language is Chinese (zh-CN, and the tags Gradio's own
detection leaves in English: zh, zh-Hans, zh-TW) gets the tab titles in Chinese and an error sentence in
Chinese beside its field; a tab's fixed words (its Run button, labels, the Parameters accordion and what is in
it) in Chinese too, and exactly the English ones in an English browser; the switch at the top changes the
language and keeps it."""
from __future__ import annotations

import re
from typing import Any, Iterator

import pytest

from tests.browser import RESULT_TIMEOUT, expect, no_page_errors, open_page, open_tab, screenshot
from tests.launch import running_app, tiny_catalog


@pytest.fixture(scope="module")
def app(tiny_models: Any) -> Iterator[Any]:
    with running_app(tiny_catalog(tiny_models, tasks=("sentiment", "ner", "question-answering"))) as launched:
        yield launched


@pytest.mark.parametrize("locale", ["zh-CN", "zh-Hans", "zh-TW", "zh"])
def test_a_chinese_browser_gets_the_page_in_chinese(app: Any, chromium: str, locale: str) -> None:
    with open_page(app.url, chromium, ready_tab="情感分析", locale=locale) as page:
        expect(page.get_by_role("tab", name="命名实体", exact=True)).to_be_visible()
        expect(page.get_by_text("在浏览器里试用当今的开源模型")).to_be_visible()
        expect(page.get_by_role("radio", name="中文")).to_be_checked()
        if locale == "zh-CN":
            panel = open_tab(page, "情感分析")
            panel.get_by_role("textbox").first.fill("   ")
            panel.get_by_role("button", name="分类", exact=True).click()
            expect(panel.get_by_text("文本是空的，请输入一些文字。").first).to_be_visible(timeout=RESULT_TIMEOUT)
            screenshot(page, "chinese")
        no_page_errors(page)


def test_the_switch_changes_the_language_and_keeps_it(app: Any, chromium: str) -> None:
    with open_page(app.url, chromium, ready_tab="Sentiment", locale="en-US") as page:
        expect(page.get_by_role("radio", name="English")).to_be_checked()
        page.get_by_role("radio", name="中文").click()
        expect(page.get_by_role("tab", name="情感分析", exact=True)).to_be_visible(timeout=RESULT_TIMEOUT)
        page.reload()
        expect(page.get_by_role("tab", name="情感分析", exact=True)).to_be_visible(timeout=RESULT_TIMEOUT)
        expect(page.get_by_role("radio", name="中文")).to_be_checked()
        page.get_by_role("radio", name="English").click()
        expect(page.get_by_role("tab", name="Sentiment", exact=True)).to_be_visible(timeout=RESULT_TIMEOUT)
        expect(page.get_by_text(re.compile("^Try today's open models"))).to_be_visible()
        no_page_errors(page)


def test_a_tabs_fixed_words_are_in_chinese(app: Any, chromium: str) -> None:
    with open_page(app.url, chromium, ready_tab="情感分析", locale="zh-CN") as page:
        panel = open_tab(page, "情感分析")
        expect(panel.get_by_role("button", name="分类", exact=True)).to_be_visible()
        expect(panel.get_by_text("模型", exact=True).first).to_be_visible()
        expect(panel.get_by_text("判断一段文字的情感")).to_be_visible()
        expect(panel.get_by_role("textbox", name="文本")).to_be_visible()
        panel = open_tab(page, "问答")
        expect(panel.get_by_role("button", name="回答", exact=True)).to_be_visible()
        panel.get_by_role("button", name="参数").click()
        expect(panel.get_by_text("最长答案（token）")).to_be_visible()
        expect(panel.get_by_role("button", name="Parameters")).to_have_count(0)
        no_page_errors(page)


def test_an_english_browser_gets_the_same_english_words(app: Any, chromium: str) -> None:
    with open_page(app.url, chromium, ready_tab="Sentiment", locale="en-US") as page:
        panel = open_tab(page, "Question answering")
        expect(panel.get_by_role("button", name="Answer", exact=True)).to_be_visible()
        expect(panel.get_by_role("textbox", name="Question")).to_be_visible()
        panel.get_by_role("button", name="Parameters").click()
        expect(panel.get_by_text("Longest answer (tokens)")).to_be_visible()
        no_page_errors(page)


def test_what_the_server_says_for_each_request_is_in_chinese(app: Any, chromium: str) -> None:
    """The model's state, the results' own words (entity types, the table's columns) and an examples table's
    column heads come from the server with each request: in Chinese for a Chinese page."""
    with open_page(app.url, chromium, ready_tab="情感分析", locale="zh-CN") as page:
        panel = open_tab(page, "命名实体")
        status = panel.locator(".model-status")
        expect(status).to_contain_text(re.compile("尚未加载|已就绪"), timeout=RESULT_TIMEOUT)
        panel.get_by_role("textbox", name="文本").fill("Ada Lovelace worked with Charles Babbage in London.")
        panel.get_by_role("button", name="查找实体", exact=True).click()
        expect(status).to_contain_text("已就绪", timeout=RESULT_TIMEOUT)
        expect(panel.get_by_role("columnheader", name="类型")).to_be_visible(timeout=RESULT_TIMEOUT)
        panel = open_tab(page, "问答")
        heads = panel.locator("th")  # the examples table's (Gradio's Dataset)
        expect(heads.filter(has_text="问题")).to_have_count(1, timeout=RESULT_TIMEOUT)
        expect(heads.filter(has_text="上下文")).to_have_count(1)
        expect(heads.filter(has_text="Question")).to_have_count(0)
        no_page_errors(page)
