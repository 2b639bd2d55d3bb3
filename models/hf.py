"""Shared pieces of the transformers adapters: loading, context length, label probabilities.

Imported only when a transformers model loads (see models/tasks.py), so torch and
transformers load then and not at `import models`.
"""
from __future__ import annotations

import unicodedata
from typing import Any

import transformers

from .base import Pipeline
from .errors import InvalidInput
from .fitting import WINDOW_KEYS, context_window
from .loading import check_architecture, resolve
from .messages import say

MAX_BATCH_TOKENS = 512  # the longest input a classification batch pads to


def load_transformers(pipeline: Pipeline, auto_model: str, *, task_label: str, suffixes: tuple[str, ...],
                      model_types: tuple[str, ...] = (), processor: str = "AutoTokenizer") -> None:
    """Shared load for transformers models: config check, processor, weights to device and dtype."""
    path = resolve(pipeline.spec.model_id, allow_pickle=pipeline.allow_pickle)
    pipeline.report(say("load.config"))
    config = transformers.AutoConfig.from_pretrained(path, trust_remote_code=False)
    check_architecture(config, pipeline.spec.model_id, task_label, suffixes, model_types)
    pipeline.report(say("load.tokenizer" if processor == "AutoTokenizer" else "load.image_processor"))
    proc = getattr(transformers, processor).from_pretrained(path, trust_remote_code=False)
    pipeline.report(say("load.weights_onto", device=pipeline.device))
    model = getattr(transformers, auto_model).from_pretrained(
        path, config=config, dtype=pipeline.dtype, device_map=pipeline.device,
        use_safetensors=None if pipeline.allow_pickle else True, trust_remote_code=False)
    model.eval()
    pipeline.model = model
    if processor == "AutoTokenizer":
        if not getattr(proc, "is_fast", False):
            raise InvalidInput(say("model.no_fast_tokenizer", model=pipeline.spec.model_id))
        pipeline.tokenizer = proc
    else:
        pipeline.processor = proc


def context_length(model: Any, tokenizer: Any) -> int:
    """The loaded model's window, by the rule the page uses before a load (models/fitting.py): the config
    read through its attributes, so that transformers' attribute_map aliases count."""
    config = model.config
    text = getattr(config, "text_config", None)
    view = {name: getattr(config, name, None) for name in WINDOW_KEYS}
    view["text_config"] = {name: getattr(text, name, None) for name in WINDOW_KEYS}
    return context_window(view, getattr(tokenizer, "model_max_length", None))


def probabilities(logits: Any, config: Any, *, per_token: bool = False) -> Any:
    """Softmax for single-label heads, sigmoid for multi-label ones.

    A sequence or image classifier with one output is a yes/no score: a softmax over one logit
    is always 1.0, so it gets a sigmoid, and a regression head (problem_type "regression") its
    raw value, as transformers' classification pipelines do. Token classification keeps its
    softmax there, as transformers' NER pipeline does.
    """
    problem = getattr(config, "problem_type", None)
    if problem == "regression" and not per_token:
        return logits.float()
    if problem == "multi_label_classification" or (not per_token and logits.shape[-1] == 1):
        return logits.float().sigmoid()
    return logits.float().softmax(-1)


# -- words in text written without spaces ---------------------------------------------------------------

# Characters that are a word of their own when tokens are grouped into words: Chinese characters and
# Japanese kana, their punctuation, and emoji. Chinese is written without spaces, so a tokenizer that
# splits words at spaces (SentencePiece, byte-level BPE, a BERT without tokenize_chinese_chars) reads a
# whole run of them, Latin words glued on included, as one "word"; grouped by its first token, a sentence
# would become one entity, answer or attribution. BERT's own rule (tokenize_chinese_chars) makes each
# Chinese character a word; this one holds whatever the tokenizer.
_OWN_WORD = (
    (0x2600, 0x27BF),     # miscellaneous symbols, dingbats (emoji: ☕ ✨)
    (0x2B00, 0x2BFF),     # arrows and symbols (⭐)
    (0x2E80, 0x2FDF),     # CJK radicals, Kangxi radicals
    (0x3000, 0x30FF),     # CJK symbols and punctuation (、。「」), hiragana, katakana
    (0x3100, 0x312F),     # bopomofo
    (0x31A0, 0x31FF),     # bopomofo extended, CJK strokes, katakana extensions
    (0x3400, 0x4DBF),     # CJK unified ideographs extension A
    (0x4E00, 0x9FFF),     # CJK unified ideographs
    (0xF900, 0xFAFF),     # CJK compatibility ideographs
    (0xFE30, 0xFE4F),     # CJK compatibility forms
    (0xFF01, 0xFF0F), (0xFF1A, 0xFF20), (0xFF3B, 0xFF40), (0xFF5B, 0xFF65),  # fullwidth punctuation (，：？)
    (0xFF66, 0xFF9F),     # halfwidth katakana
    (0x1F000, 0x1FAFF),   # emoji and pictographs
    (0x20000, 0x3134F),   # CJK unified ideographs extensions B to G, compatibility supplement
)


def _own_word(char: str) -> bool:
    code = ord(char)
    return any(low <= code <= high for low, high in _OWN_WORD)


def _one_grapheme(before: str, after: str) -> bool:
    """No grapheme boundary between two characters: a combining mark, a variation selector, an emoji
    skin tone, a tag or a zero-width joiner's sequence goes with the character before it, and so do a
    flag's two letters."""
    code = ord(after)
    return (unicodedata.category(after).startswith("M") or "\u200d" in (before, after)
            or 0x1F3FB <= code <= 0x1F3FF or 0xE0000 <= code <= 0xE007F
            or (0x1F1E6 <= code <= 0x1F1FF and 0x1F1E6 <= ord(before) <= 0x1F1FF))


def same_word(text: str, start: int, end: int, token_start: int) -> bool:
    """Whether a token that begins at `token_start` belongs to the word read so far, text[start:end], when
    the tokenizer gave them the same word id: yes, unless the two meet between characters and one of the
    characters at the meeting is a word of its own (_OWN_WORD: a Chinese character, kana, an emoji). So
    "Alice住在Paris", one word to a tokenizer that splits at spaces, becomes the words Alice, 住, 在, Paris,
    and an English word's sub-tokens stay one word, as before.

    Never between the pieces of one character (byte-level tokens of a character share its offsets) or of
    one grapheme (an emoji with its skin tone, a flag, a letter and its accent); and a word that has no
    character yet but spaces or nothing (SentencePiece's lone "▁") takes the next token in."""
    if token_start < end or not 0 < end <= len(text) or token_start >= len(text) or not text[start:end].strip():
        return True
    before, after = text[end - 1], text[token_start]
    if _one_grapheme(before, after):
        return True
    return not (_own_word(before) or _own_word(after))
