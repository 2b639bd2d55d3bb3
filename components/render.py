"""Results (models/results.py) turned into what a Gradio component shows; shared by the tabs.

What a person reads: scores as percentages (`percent`), the top label bars first and every label a
click away (`label_bars`), entity types in words (`entity_type`), highlighted text that wraps
between words (`highlighted`), generated text rendered as Markdown but sent as it is (`GeneratedText`).
"""
from __future__ import annotations

import re
from typing import Any

import gradio as gr

from models.messages import ENGLISH, LANGUAGES, say

from .language import language_of
from .words import text

TOP_LABELS = 5     # label bars shown first; the rest are in a closed accordion below
ALWAYS_SHOWN = 2   # ... of which these are shown even when they round to 0%

# Entity types as the common NER models tag them (CoNLL, WikiANN, OntoNotes), in words (components/words.py).
ENTITY_TYPES = {"PER": "entity.person", "PERSON": "entity.person", "LOC": "entity.place", "LOCATION": "entity.place",
                "ORG": "entity.organisation", "ORGANIZATION": "entity.organisation",
                "ORGANISATION": "entity.organisation", "MISC": "entity.other"}
# each type's colour, under its name in every language (a page in Chinese highlights 人名 in the same blue)
ENTITY_COLOURS = {text(key, language): colour for key, colour in [
    ("entity.person", "blue"), ("entity.place", "green"), ("entity.organisation", "orange"), ("entity.other", "purple")]
    for language in LANGUAGES}
ENTITY_COLUMNS = ["entity.column.entity", "entity.column.type", "entity.column.confidence"]
ENTITY_HEADERS = [text(key) for key in ENTITY_COLUMNS]
ALL_OF = {"labels": "result.all_labels", "candidates": "result.all_candidates",  # label_bars' nouns
          "captions": "result.all_captions"}


def percent(score: float) -> str:
    """A probability as a person reads it: one decimal ("87.3%"); never "100.0%" or "0.0%" for a
    value that is not exactly 1 or 0 (">99.9%", "<0.1%")."""
    value = float(score) * 100
    if value == 100 or value == 0:
        return f"{value:.0f}%"
    if 0 < value < 0.05:
        return "<0.1%"
    if 99.95 <= value < 100:
        return ">99.9%"
    return f"{value:.1f}%"


def label_scores(scored: list[dict[str, Any]], key: str = "label") -> dict[str, float]:
    """[{"label", "score"}...] (Labels' "labels", ImageLabels, CLIP's) -> gr.Label's {label: confidence}."""
    return {item[key]: item["score"] for item in scored}


def top_scores(scores: dict[str, float], top: int = TOP_LABELS, keep: int = ALWAYS_SHOWN) -> dict[str, float]:
    """The best `top` of {label: confidence}, best first, without those after the first `keep`
    whose bar would read 0% (gr.Label rounds to whole percents, half up)."""
    ranked = sorted(scores.items(), key=lambda item: item[1], reverse=True)[:top]
    return {label: score for i, (label, score) in enumerate(ranked) if i < keep or score * 100 >= 0.5}


def label_bars(label: Any, *, noun: str = "labels", top: int = TOP_LABELS) -> gr.Label:
    """Confidence bars for the best few labels, and every label in a closed accordion below
    ("All 12 labels"), shown only when some are left out. Returns the full gr.Label: the
    endpoint's output, so API clients still get every label (a gr.Label with num_top_classes
    would cut its value, not only what is drawn). The bars on top are filled from it in the page;
    they are its `bars` attribute, where a run's progress belongs (the full one is out of sight)."""
    if noun not in ALL_OF:
        raise KeyError(f"label_bars has no words for {noun!r}; add it to ALL_OF and models/messages.py")
    with gr.Column():
        shown = gr.Label(label=label, num_top_classes=top)
        with gr.Accordion(f"All {noun}", open=False, visible=False) as more:  # named at each result
            full = gr.Label(label=f"All {noun}", show_label=False, show_heading=False)

    def split(value: Any, request: gr.Request = None) -> tuple[Any, Any]:
        if not isinstance(value, dict) or not value:  # a plain label (a regressor's value) or nothing
            return value, gr.Accordion(visible=False)
        best = top_scores(value, top)
        named = say(ALL_OF[noun], count=len(value)).render(language_of(request))
        return best, gr.Accordion(label=named, visible=len(value) > len(best))

    full.change(split, full, [shown, more], queue=False, show_progress="hidden", api_visibility="private")
    full.bars = shown  # type: ignore[attr-defined]
    return full


def entity_type(tag: str, language: str = ENGLISH) -> str:
    """A NER tag in words (PER -> Person, 人名 in Chinese); a tag not known here is shown as the model names it."""
    key = ENTITY_TYPES.get(str(tag).upper())
    return text(key, language) if key else tag


def entity_table(entities: list[dict[str, Any]], language: str = ENGLISH) -> dict[str, Any]:
    """Entities -> gr.Dataframe's value: entity, type in words, confidence. The confidence is the
    model's probability (0 to 1) in the data, which API clients get, and a percentage on the page."""
    rows = [[e["text"], entity_type(e["entity"], language), float(e["score"])] for e in entities]
    return {"headers": [text(key, language) for key in ENTITY_COLUMNS], "data": rows,
            "metadata": {"display_value": [[text, kind, percent(score)] for text, kind, score in rows],
                         "styling": [["", "", ""] for _ in rows]}}


_WORDS = re.compile(r"\s*\S+\s*|\s+")  # a word with the spaces after it (the first, before it too)


def _words(text: str) -> list[tuple[str, None]]:
    return [(word, None) for word in _WORDS.findall(text)]


def highlighted(text: str, spans: list[dict[str, Any]]) -> list[tuple[str, str | None]]:
    """Character spans [{"entity", "start", "end"}...] (Entities', an Answer's) -> gr.HighlightedText's
    value: (piece, category) pairs that put together are the text, the spans' pieces with their
    category, the text between them one piece per word (with the spaces around it).

    Why words: gr.HighlightedText lays each piece out as a box that wraps as a whole, and breaks a
    piece wider than the line anywhere (word-break: break-all), so one long unhighlighted piece
    read "Babbag" at a line's end and "e in London" on the next. Words wrap between each other."""
    pieces: list[tuple[str, str | None]] = []
    at = 0
    for span in sorted(spans, key=lambda s: s["start"]):
        start, end = max(span["start"], at), span["end"]
        if end <= start:  # empty, or inside the span before
            continue
        pieces += _words(text[at:start])
        pieces.append((text[start:end], span["entity"]))
        at = end
    pieces += _words(text[at:])
    return pieces


class GeneratedText(gr.Markdown):
    """Generated text drawn as Markdown (lists, bold, code; HTML sanitised), with its value sent as
    it is: gr.Markdown's own postprocess runs inspect.cleandoc, which strips leading and trailing
    blank lines and spaces, dedents, and turns tabs into spaces, so an API client would not get the
    text the model wrote. Its copy button copies that raw text."""

    is_template = True  # the browser draws it as a plain gr.Markdown

    def postprocess(self, value: Any) -> Any:
        return value if value is None or isinstance(value, str) else super().postprocess(value)
