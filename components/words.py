"""The page's fixed words in each language the playground speaks (models/messages.py LANGUAGES).

Gradio translates them in the browser (`gr.I18n`, passed to launch by app.launch_options): a component
gets `word("key")` where it would get its text, and the page shows the text of the reader's language
(components/language.py picks it). The server's own sentences are models/messages.py's.
"""
from __future__ import annotations

from typing import Any

import gradio as gr

from models.messages import CHINESE, ENGLISH
from models.tasks import TASKS

TASK_TITLES = {ENGLISH: {key: task.title for key, task in TASKS.items()},
               CHINESE: {"text-generation": "聊天", "sentiment": "情感分析", "ner": "命名实体",
                         "question-answering": "问答", "fill-mask": "完形填空",
                         "zero-shot-classification": "零样本分类", "image-classification": "图像分类",
                         "clip": "CLIP 图文匹配", "text-to-image": "文生图"}}

WORDS: dict[str, dict[str, str]] = {
    "page.intro": {ENGLISH: "Try today's open models in the browser: pick a tab, pick a model, run an example.",
                   CHINESE: "在浏览器里试用当今的开源模型：选一个标签页，选一个模型，运行一个示例。"},
    "tab.fine-tune": {ENGLISH: "Fine-tune", CHINESE: "微调"},
    "tab.models": {ENGLISH: "Models", CHINESE: "模型"},
    "language": {ENGLISH: "Language", CHINESE: "语言"},
    **{f"task.{key}": {language: TASK_TITLES[language][key] for language in (ENGLISH, CHINESE)} for key in TASKS},
}


def word(key: str) -> Any:
    """The word `key`, translated by the browser; a key not in WORDS is an error at build time."""
    if key not in WORDS:
        raise KeyError(f"No word {key!r} in components/words.py")
    return I18N(key)


def text(key: str, language: str = ENGLISH) -> str:
    """The word `key` in `language`, for the server's own use (logs, API descriptions)."""
    return WORDS[key].get(language) or WORDS[key][ENGLISH]


I18N = gr.I18n(**{language: {key: words[language] for key, words in WORDS.items() if language in words}
                  for language in (ENGLISH, CHINESE)})
