"""Sentences written once, with a key, in every language the playground speaks.

An error raised with `InvalidInput(say("text.empty"), field="text")` is an ordinary error: `str(error)` is
the English sentence, as every caller, log and test reads it. Its argument is a `Message`, which also keeps
the key and the values, so the page (and an API client that asks for a language) renders it in the
reader's language (`Message.render`, through components/common.py `sentence_of`). A key missing in a
language falls back to English. Nothing here imports gradio or torch.
"""
from __future__ import annotations

from typing import Any

ENGLISH = "en"
CHINESE = "zh-CN"
LANGUAGES = (ENGLISH, CHINESE)

# key -> {language: template}; the templates take the same named values (str.format).
MESSAGES: dict[str, dict[str, str]] = {
    "text.empty": {ENGLISH: "The {what} is empty; type some text.",
                   CHINESE: "{what_zh}是空的，请输入一些文字。"},
    "text.not_a_string": {ENGLISH: "The {what} must be a string, not {kind}.",
                          CHINESE: "{what_zh}必须是字符串，而不是 {kind}。"},
    "text.too_long": {ENGLISH: "The {what} is {length:,} characters long; the limit is {limit:,}.",
                      CHINESE: "{what_zh}有 {length:,} 个字符，上限是 {limit:,} 个。"},
    "model.hosted_only": {ENGLISH: "This hosted playground only runs the models in its list; pick one of those "
                                   "instead of {model}.",
                          CHINESE: "这个托管的游乐场只运行列表中的模型；请从列表中选一个，而不是 {model}。"},
    "cluster.unreachable": {ENGLISH: "The model cluster at {address} cannot be reached; the page keeps working and "
                                     "the models come back when the cluster does.",
                            CHINESE: "无法连接位于 {address} 的模型集群；页面仍可使用，集群恢复后模型会回来。"},
}

# Words a template's values may need in another language (the English word is the value; `_zh` its Chinese).
WORDS_ZH = {"text": "文本", "prompt": "提示词", "question": "问题", "context": "上下文", "query": "查询",
            "labels": "标签", "captions": "说明文字", "message": "消息", "last message": "最后一条消息"}


class Message(str):
    """A sentence with its key: the English text as a str, rendered in another language on demand."""

    key: str
    values: dict[str, Any]

    def __new__(cls, key: str, **values: Any) -> "Message":
        templates = MESSAGES[key]
        text = templates[ENGLISH].format(**_with_words(values, ENGLISH))
        message = super().__new__(cls, text)
        message.key, message.values = key, values
        return message

    def __reduce__(self) -> tuple:  # pickled as its key and values (an error that crosses to a Ray replica)
        return (_rebuild, (self.key, self.values))

    def render(self, language: str | None) -> str:
        """The sentence in `language` (a key of LANGUAGES); English where the key has no such template."""
        template = MESSAGES[self.key].get(language or ENGLISH) or MESSAGES[self.key][ENGLISH]
        return template.format(**_with_words(self.values, language or ENGLISH))


def _rebuild(key: str, values: dict[str, Any]) -> Message:
    return Message(key, **values)


def _with_words(values: dict[str, Any], language: str) -> dict[str, Any]:
    """The values, plus `<name>_zh` for each: the value's Chinese word where WORDS_ZH has one."""
    out = dict(values)
    for name, value in values.items():
        out[f"{name}_zh"] = WORDS_ZH.get(value, value) if isinstance(value, str) else value
    return out


def say(key: str, **values: Any) -> Message:
    """The message `key` with its values: raise it inside an error (`InvalidInput(say(...), field=...)`)."""
    return Message(key, **values)


def render(text: Any, language: str | None) -> str:
    """A sentence in `language` when it was written with a key (a Message), else as it is."""
    return text.render(language) if isinstance(text, Message) else str(text)
