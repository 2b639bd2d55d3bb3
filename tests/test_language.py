"""The reader's language: the browser's language tags mapped to the two the app speaks, Accept-Language
and the page's cookie read on the server, error sentences written once with a key and rendered in either
language (and across a pickle, as they cross to a Ray replica), and the API in English unless a program
asks (gradio_client with an Accept-Language header)."""
from __future__ import annotations

import pickle
from typing import Any, Iterator

import pytest
from gradio_client import Client

from components.language import COOKIE, from_accept_language, language_of, language_tag
from components.words import WORDS
from models.errors import InvalidInput
from models.messages import CHINESE, ENGLISH, MESSAGES, Message, render, say
from tests.launch import running_app, tiny_catalog


@pytest.mark.parametrize("tag, language", [
    ("zh", CHINESE), ("zh-CN", CHINESE), ("zh-Hans", CHINESE), ("zh-Hans-CN", CHINESE), ("zh-TW", CHINESE),
    ("zh-HK", CHINESE), ("zh_SG", CHINESE), ("ZH-hant", CHINESE), ("en", ENGLISH), ("en-GB", ENGLISH),
    ("fr-FR", None), ("", None)])
def test_a_browser_language_maps_to_one_the_app_speaks(tag: str, language: str | None) -> None:
    assert language_tag(tag) == language


@pytest.mark.parametrize("header, language", [
    ("zh-CN,zh;q=0.9,en;q=0.8", CHINESE), ("fr-FR,en;q=0.5,zh;q=0.9", CHINESE), ("fr, de", None),
    ("en-US,en;q=0.9", ENGLISH), ("zh;q=0.1, en;q=0.5", ENGLISH), (None, None), ("zh;q=x", CHINESE)])
def test_accept_language_is_read_by_its_weights(header: str | None, language: str | None) -> None:
    assert from_accept_language(header) == language


class Request:
    def __init__(self, **headers: str) -> None:
        self.headers = headers


def test_the_pages_cookie_comes_before_accept_language() -> None:
    assert language_of(None) == ENGLISH
    assert language_of(Request()) == ENGLISH
    assert language_of(Request(**{"accept-language": "zh-CN"})) == CHINESE
    assert language_of(Request(**{"accept-language": "zh-CN", "cookie": f"{COOKIE}=en"})) == ENGLISH
    assert language_of(Request(cookie=f"a=b; {COOKIE}=zh-CN")) == CHINESE
    assert language_of(Request(cookie=f"{COOKIE}=klingon")) == ENGLISH  # not one the app speaks: ignored
    assert language_of(Request(cookie="\x00broken;;=")) == ENGLISH


def test_a_sentence_is_written_once_and_rendered_in_either_language() -> None:
    message = say("text.empty", what="prompt")
    assert message == "The prompt is empty; type some text." and isinstance(message, str)
    assert message.render(CHINESE) == "提示词是空的，请输入一些文字。"
    assert render(message, ENGLISH) == str(message) and render("plain", CHINESE) == "plain"
    error = InvalidInput(say("text.too_long", what="text", length=120_000, limit=100_000), field="text")
    assert str(error) == "The text is 120,000 characters long; the limit is 100,000."
    again = pickle.loads(pickle.dumps(error))  # as it comes back from a Ray replica
    assert isinstance(again.args[0], Message) and again.field == "text"
    assert again.args[0].render(CHINESE) == "文本有 120,000 个字符，上限是 100,000 个。"


def test_every_message_and_word_has_both_languages_with_the_same_values() -> None:
    import string

    def names(template: str) -> set[str]:
        return {name.removesuffix("_zh") for _, name, _, _ in string.Formatter().parse(template) if name}

    for key, templates in MESSAGES.items():
        assert set(templates) == {ENGLISH, CHINESE}, key
        assert names(templates[ENGLISH]) == names(templates[CHINESE]), key
    for key, words in WORDS.items():
        assert set(words) == {ENGLISH, CHINESE} and all(words.values()), key


@pytest.fixture(scope="module")
def app(tiny_models: Any) -> Iterator[Any]:
    with running_app(tiny_catalog(tiny_models, tasks=("sentiment",))) as launched:
        yield launched


def test_the_api_answers_in_english_unless_a_program_asks(app: Any) -> None:
    from gradio_client.exceptions import AppError

    for headers, expected in [({}, "The text is empty; type some text."),
                              ({"Accept-Language": "zh-CN,zh;q=0.9"}, "文本是空的，请输入一些文字。"),
                              ({"Accept-Language": "zh-CN", "Cookie": f"{COOKIE}=en"}, "The text is empty; type some text.")]:
        client = Client(app.url, verbose=False, headers=headers)
        with pytest.raises(AppError) as raised:
            client.predict(text="   ", api_name="/sentiment")
        assert str(raised.value) == expected
        assert client.predict(text="I love this film", api_name="/sentiment")["label"] == "POSITIVE"


def test_the_page_carries_the_language_script_first(app: Any) -> None:
    import urllib.request

    with urllib.request.urlopen(app.url) as response:
        html = response.read().decode()
    head = html.index("<head>")
    assert html.index(COOKIE, head) < html.index("<script type=\"module\"", head)  # before Gradio's own script
