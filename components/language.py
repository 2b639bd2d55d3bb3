"""The reader's language: English or Simplified Chinese, on the page and for the server's sentences.

The page's fixed words (tab titles, labels, buttons) are translated by Gradio's own i18n (`gr.I18n`,
components/words.py). Gradio 6.31 picks its language from `navigator.language`, and only by exact codes of
its own list: zh-CN and zh-TW are Chinese, but zh, zh-Hans, zh-HK and zh-SG fall back to English. So
`PageLanguage`, an ASGI middleware, puts a script first in the page's <head>, before Gradio's own script
reads the language: it maps the browser's languages (any zh-* is Simplified Chinese, the one Chinese this
app writes), or the reader's own choice (the switch at the top of the page, kept in localStorage), to one
code of the list, shows it to Gradio as `navigator.language`, and sets a cookie so the server knows it too.

The server's sentences (errors, the state of a model, a reply's figures) are rendered in `language_of(
request)`: that cookie, else the request's Accept-Language (a program chooses Chinese with
`Accept-Language: zh-CN`), else English: `gradio_client` and plain HTTP get English unless they ask.
"""
from __future__ import annotations

from typing import Any, Callable

from models.messages import CHINESE, ENGLISH, LANGUAGES

COOKIE = "playground-language"
NAMES = {ENGLISH: "English", CHINESE: "中文"}


def language_tag(tag: str) -> str | None:
    """A BCP 47 tag as one of LANGUAGES: zh, zh-CN, zh-Hans, zh-TW, zh-HK... are Chinese (Simplified: the
    Chinese this app writes); en-* English; None for any other."""
    tag = tag.strip().lower().replace("_", "-")
    if tag == "zh" or tag.startswith("zh-"):
        return CHINESE
    if tag == "en" or tag.startswith("en-"):
        return ENGLISH
    return None


def from_accept_language(header: str | None) -> str | None:
    """The first language of an Accept-Language header (by its q values) that the app speaks."""
    if not header:
        return None
    ranked = []
    for order, part in enumerate(header.split(",")):
        tag, _, params = part.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        ranked.append((-q, order, tag))
    for _, _, tag in sorted(ranked):
        language = language_tag(tag)
        if language is not None:
            return language
    return None


def language_of(request: Any) -> str:
    """The language to answer a request in: the page's cookie (its switch, or the browser's languages as the
    page mapped them), else Accept-Language, else English. `request` is a gr.Request (or None)."""
    if request is None:
        return ENGLISH
    headers = getattr(request, "headers", None) or {}
    # read by hand, as Starlette does: SimpleCookie stops at the first malformed cookie (another app's on
    # the same host) and would hide ours after it
    for part in str(headers.get("cookie", "") or "").split(";"):
        name, _, value = part.partition("=")
        if name.strip() == COOKIE and value.strip() in LANGUAGES:
            return value.strip()
    return from_accept_language(headers.get("accept-language")) or ENGLISH


# The page's first script: the language for Gradio, the cookie for the server, <html lang>.
SCRIPT = """<script>(function () {
  var known = %(known)s, chosen = null;
  try { chosen = window.localStorage.getItem("%(cookie)s"); } catch (e) {}
  function map(tag) {
    tag = String(tag || "").toLowerCase().replace("_", "-");
    if (tag === "zh" || tag.indexOf("zh-") === 0) return "%(chinese)s";
    if (tag === "en" || tag.indexOf("en-") === 0) return "%(english)s";
    return null;
  }
  var wanted = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language];
  var lang = known.indexOf(chosen) >= 0 ? chosen : null;
  for (var i = 0; !lang && i < wanted.length; i++) lang = map(wanted[i]);
  lang = lang || "%(english)s";
  try {
    Object.defineProperty(Navigator.prototype, "language", {get: function () { return lang; }, configurable: true});
    Object.defineProperty(Navigator.prototype, "languages", {get: function () { return [lang]; }, configurable: true});
  } catch (e) {}
  // in a cross-site frame (a Space embedded in huggingface.co) a Lax cookie is neither kept nor sent
  var where = location.protocol === "https:" ? "; path=/; SameSite=None; Secure; Partitioned" : "; path=/; SameSite=Lax";
  window.playgroundCookie = where;
  document.cookie = "%(cookie)s=" + lang + where;
  document.documentElement.lang = lang;
  window.playgroundLanguage = lang;
})();</script>""" % {"known": list(LANGUAGES), "cookie": COOKIE, "chinese": CHINESE, "english": ENGLISH}

# The switch's change: keep the choice and load the page again in it (Gradio's own Settings picker
# re-translates only the selected tab's title).
SWITCH_JS = """(value) => {
  try { window.localStorage.setItem("%(cookie)s", value); } catch (e) {}
  document.cookie = "%(cookie)s=" + value + (window.playgroundCookie || "; path=/; SameSite=Lax");
  if (value !== window.playgroundLanguage) window.location.reload();
  return value;
}""" % {"cookie": COOKIE}

# The switch's value when the page loads: the language the page was drawn in.
CURRENT_JS = "() => window.playgroundLanguage || 'en'"


def switch() -> Any:
    """The page's language switch: English or 中文, the language the page was drawn in; a change keeps the
    choice (localStorage, the cookie) and draws the page again in it. No server call."""
    import gradio as gr

    from .words import word

    choice = gr.Radio([(NAMES[language], language) for language in LANGUAGES], value=None, label=word("language"),
                      show_label=False, container=False, elem_classes=["language-switch"], scale=0, min_width=220)
    choice.input(None, [choice], [choice], js=SWITCH_JS, queue=False, api_visibility="private")
    return choice


class PageLanguage:
    """Plain ASGI: the page's HTML (GET of the root) gets SCRIPT first in its <head>; everything else passes
    through untouched (streams too)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or scope.get("method") != "GET" or not _is_page(scope):
            return await self.app(scope, receive, send)
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def capture(message: dict) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                if not _is_html(message):
                    await send(message)
                return
            if not start or not _is_html(start):
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body"):
                return
            html = b"".join(body)
            html = html.replace(b"<head>", b"<head>" + SCRIPT.encode(), 1)
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(html)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": html})

        await self.app(scope, receive, capture)


def _is_page(scope: dict) -> bool:
    root = (scope.get("root_path") or "").rstrip("/")
    path = scope.get("path", "")
    return path in ("/", "", root + "/", root)


def _is_html(start: dict) -> bool:
    for key, value in start.get("headers", []):
        if key.lower() == b"content-type":
            return value.lower().startswith(b"text/html")
    return False
