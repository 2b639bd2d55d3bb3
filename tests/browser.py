"""What the browser tests share: Debian's Chromium driven by Playwright, one page per module.

    @pytest.fixture(scope="module")
    def page(app, chromium):            # chromium: the fixture of tests/conftest.py
        with open_page(app.url, chromium, ready_tab="Chat") as page:
            yield page

A page's JavaScript errors are kept in page.errors (no_page_errors asserts there are none) and
checked once more when the page closes. Screenshots go to tests/screenshots/<name>.png (git-ignored).
"""
from __future__ import annotations

import os
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from tests.launch import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--disable-quic", "--no-first-run"]
SCREENSHOTS = ROOT / "tests" / "screenshots"
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
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
def open_page(url: str, chromium: str, ready_tab: str, exact: bool = False, locale: str | None = None) -> Iterator[Any]:
    """A 1280 x 900 page on url in a fresh Chromium, once the tab named ready_tab is drawn (in the browser's
    language `locale`, a BCP 47 tag: navigator.language and Accept-Language; Playwright's en-US if None); the
    browser is closed after the block, which then asserts the page raised no JavaScript error.
    page.requests lists every URL the page asked for, page.blocked those its security policy stopped."""
    sync_api = pytest.importorskip("playwright.sync_api")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    requests: list[str] = []  # every URL the page asked for, kept in page.requests
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield _new_page(browser, url, ready_tab, exact, errors, requests,
                            viewport={"width": 1280, "height": 900}, **({"locale": locale} if locale else {}))
        finally:
            browser.close()
    assert not errors, f"the page raised JavaScript errors: {errors}"


@contextmanager
def open_phone(page: Any, url: str, ready_tab: str) -> Iterator[Any]:
    """A 390 x 844 touch page (a phone) on url, in the browser of an open page; closed after the block,
    which then asserts it raised no JavaScript error."""
    errors: list[str] = []
    phone = _new_page(page.context.browser, url, ready_tab, False, errors, [], **PHONE)
    try:
        yield phone
    finally:
        phone.context.close()
    assert not errors, f"the phone page raised JavaScript errors: {errors}"


def _new_page(browser: Any, url: str, ready_tab: str, exact: bool, errors: list[str], requests: list[str],
              **options: Any) -> Any:
    blocked: list[str] = []
    context = browser.new_context(**options)
    context.set_default_timeout(RESULT_TIMEOUT)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    # what the page's Content-Security-Policy stopped before it left the browser
    page.on("requestfailed", lambda request: blocked.append(request.url)
            if "csp" in str(request.failure or "").lower() else None)  # Chromium says "csp"
    page.goto(url)
    # on a phone the tab may sit in the "More tabs" menu: the page is drawn once its tab list is
    page.get_by_role("tablist").first.wait_for()
    page.get_by_text(ready_tab, exact=exact).first.wait_for(state="attached")
    page.errors = errors  # type: ignore[attr-defined]
    page.requests = requests  # type: ignore[attr-defined]
    page.blocked = blocked  # type: ignore[attr-defined]
    return page


def expect(locator: Any) -> Any:
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def set_number(box: Any, value: str, attempts: int = 3) -> None:
    """Type a value into a Gradio number box and commit it with Enter, as a person does (see `set_text`)."""
    set_text(box, value, attempts, commit="Enter")


def set_text(box: Any, value: str, attempts: int = 3, commit: str | None = None) -> None:
    """Type a value into a Gradio box (pressing `commit` after it, if given) and see that it stays.

    Just after an accordion draws its fields, Gradio can still write a field's initial value back over
    what was typed (seen in CI: 120 typed, 128 shown a moment later; a seed of 5 typed, the empty seed
    sent); a person would see it and type again, and so does this, at most `attempts` times."""
    for attempt in range(attempts):
        box.fill(value)
        if commit:
            box.press(commit)
        try:
            expect(box).to_have_value(value, timeout=2000)
            box.page.wait_for_timeout(300)  # and it stays
            expect(box).to_have_value(value, timeout=100)
            return
        except AssertionError:
            if attempt == attempts - 1:
                raise


def open_tab(page: Any, name: str) -> Any:
    """Click a tab, in the tab bar or, where the bar has no room for it (a phone), in its "More tabs"
    menu; returns the tab's visible panel (hidden panels are not in the accessibility tree)."""
    tab = page.get_by_role("tab", name=name, exact=True)
    if tab.count() and tab.is_visible():
        tab.click()
        expect(tab).to_have_attribute("aria-selected", "true")
    else:
        page.get_by_role("button", name="More tabs").click()
        page.locator(".overflow-dropdown button").filter(has_text=re.compile(f"^{re.escape(name)}$")).click()
    panel = page.get_by_role("tabpanel")
    expect(panel).to_have_count(1)
    return panel


def screenshot(page: Any, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def no_page_errors(page: Any) -> None:
    assert not page.errors, f"the page raised JavaScript errors: {page.errors}"
