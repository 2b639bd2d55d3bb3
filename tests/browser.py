"""What the browser tests share: Debian's Chromium driven by Playwright, one page per module.

    @pytest.fixture(scope="module")
    def page(app, chromium):            # chromium: the fixture of tests/conftest.py
        with open_page(app.url, chromium, ready_tab="Text generation") as page:
            yield page

A page's JavaScript errors are kept in page.errors (no_page_errors asserts there are none) and
checked once more when the page closes. Screenshots go to tests/screenshots/<name>.png (git-ignored).
"""
from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.launch import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
SCREENSHOTS = ROOT / "tests" / "screenshots"
RESULT_TIMEOUT = 30_000   # ms: the first model load imports torch and transformers, open_clip or diffusers (~3-5 s)


def require_chromium() -> str:
    """Chromium's path; skips the test without it, except on CI (CI=true), where that is a failure."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is not installed (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return CHROMIUM


@contextmanager
def open_page(url: str, chromium: str, ready_tab: str, exact: bool = False) -> Iterator[Any]:
    """A 1280 x 900 page on url in a fresh Chromium, once the tab named ready_tab is drawn; the
    browser is closed after the block, which then asserts the page raised no JavaScript error."""
    sync_api = pytest.importorskip("playwright.sync_api")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.set_default_timeout(RESULT_TIMEOUT)
            page = context.new_page()
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(url)
            page.get_by_role("tab", name=ready_tab, exact=exact).wait_for()
            page.errors = errors  # type: ignore[attr-defined]
            yield page
        finally:
            browser.close()
    assert not errors, f"the page raised JavaScript errors: {errors}"


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def set_number(box: Any, value: str, attempts: int = 3) -> None:
    """Type a value into a Gradio number box and commit it with Enter, as a person does.

    Just after an accordion draws a slider, Gradio can still write the slider's initial value back
    over what was typed (seen once in CI: 120 typed, 128 shown a moment later); a person would see it
    and type again, and so does this, at most `attempts` times."""
    for attempt in range(attempts):
        box.fill(value)
        box.press("Enter")
        try:
            expect(box).to_have_value(value, timeout=2000)
            box.page.wait_for_timeout(300)  # and it stays
            expect(box).to_have_value(value, timeout=100)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def screenshot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def no_page_errors(page: Any) -> None:
    assert not page.errors, f"the page raised JavaScript errors: {page.errors}"
