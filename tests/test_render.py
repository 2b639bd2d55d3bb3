"""The renderers of components/render.py: what a person reads (percentages, label bars, entity types,
highlighted text, generated Markdown), and that Gradio's components take their values as meant."""
from __future__ import annotations

import re

import gradio as gr
import pytest

from components.render import (ALWAYS_SHOWN, ENTITY_HEADERS, TOP_LABELS, GeneratedText, entity_table, entity_type,
                               highlighted, label_bars, percent, top_scores)


# -- percentages ----------------------------------------------------------------------------------

@pytest.mark.parametrize("score, shown", [
    (0.873, "87.3%"), (0.8726, "87.3%"), (0.5, "50.0%"), (1.0, "100%"), (0.0, "0%"),
    (0.9999, ">99.9%"), (0.99949, "99.9%"), (0.0004, "<0.1%"), (0.0005, "0.1%"), (0.012, "1.2%"),
])
def test_percent_reads_as_a_person_would(score: float, shown: str) -> None:
    assert percent(score) == shown


# -- label bars -----------------------------------------------------------------------------------

def test_top_scores_keeps_the_best_few_best_first() -> None:
    scores = {f"label {i}": s for i, s in enumerate([0.02, 0.5, 0.3, 0.1, 0.05, 0.03])}
    assert list(top_scores(scores)) == ["label 1", "label 2", "label 3", "label 4", "label 5"]
    assert len(top_scores(scores)) == TOP_LABELS
    assert top_scores(scores, top=2) == {"label 1": 0.5, "label 2": 0.3}


def test_top_scores_drops_bars_that_read_0_percent_after_the_first_few() -> None:
    # The first ALWAYS_SHOWN whatever their value; later ones only from 0.5% (gr.Label rounds half up).
    assert ALWAYS_SHOWN == 2
    assert list(top_scores({"a": 0.9, "b": 0.05, "c": 0.03, "d": 0.0049, "e": 0.005})) == ["a", "b", "c", "e"]
    assert list(top_scores({"cat": 0.9989, "dog": 0.0004, "car": 0.0003, "cup": 0.0002})) == ["cat", "dog"]
    assert top_scores({"positive": 0.6}) == {"positive": 0.6}
    assert top_scores({}) == {}


def label_bars_split(label: str = "Labels", **kwargs) -> tuple:
    """Draw label_bars in a Blocks; the full gr.Label and the handler that fills the bars on top."""
    with gr.Blocks() as demo:
        full = label_bars(label, **kwargs)
    [split] = [f for f in demo.fns.values() if f.name == "split"]
    return full, split.fn, split


def test_label_bars_returns_the_full_label_and_fills_the_top_from_it() -> None:
    full, split, dependency = label_bars_split("Sentiment")
    assert isinstance(full, gr.Label) and full.num_top_classes is None
    assert [t[1] for t in dependency.targets] == ["change"] and dependency.api_visibility == "private"
    shown, more = dependency.outputs
    assert isinstance(shown, gr.Label) and shown.label == "Sentiment" and shown.num_top_classes == TOP_LABELS
    assert full.bars is shown  # where a run's progress belongs
    assert isinstance(more, gr.Accordion) and more.open is False and more.visible is False  # until a run leaves some out
    scores = {f"l{i}": 1 / (i + 2) for i in range(12)}
    best, accordion = split(scores)
    assert best == top_scores(scores)
    assert accordion.get_config()["label"] == "All 12 labels" and accordion.visible is True
    best, accordion = split({"POSITIVE": 0.9, "NEGATIVE": 0.1})  # nothing left out: no accordion
    assert best == {"POSITIVE": 0.9, "NEGATIVE": 0.1} and accordion.visible is False
    assert split(None)[0] is None and split("3.2")[0] == "3.2"  # nothing yet; a regressor's plain value


def test_label_bars_names_what_it_lists() -> None:
    _, split, _ = label_bars_split("Candidates", noun="candidates")
    _, accordion = split({str(i): 0.1 for i in range(10)})
    assert accordion.get_config()["label"] == "All 10 candidates"


def test_every_label_reaches_the_api_but_a_label_with_num_top_classes_would_cut_them() -> None:
    scores = {f"l{i}": 1 / (i + 2) for i in range(12)}
    with gr.Blocks():
        full = label_bars("Labels")
    assert len(full.postprocess(scores).confidences) == 12
    assert len(gr.Label(num_top_classes=TOP_LABELS).postprocess(scores).confidences) == TOP_LABELS


# -- entities -------------------------------------------------------------------------------------

@pytest.mark.parametrize("tag, words", [
    ("PER", "Person"), ("LOC", "Place"), ("ORG", "Organisation"), ("MISC", "Other"), ("per", "Person"),
    ("PERSON", "Person"), ("DATE", "DATE"), ("Drug", "Drug"),
])
def test_entity_types_in_words(tag: str, words: str) -> None:
    assert entity_type(tag) == words


def test_entity_table_has_columns_for_people_and_numbers_for_the_api() -> None:
    entities = [{"entity": "PER", "start": 0, "end": 3, "score": 0.98765, "text": "Zoë"},
                {"entity": "LOC", "start": 13, "end": 18, "score": 0.5, "text": "Paris"}]
    value = entity_table(entities)
    assert value["headers"] == ENTITY_HEADERS == ["Entity", "Type", "Confidence"]
    assert value["data"] == [["Zoë", "Person", 0.98765], ["Paris", "Place", 0.5]]
    assert value["metadata"]["display_value"] == [["Zoë", "Person", "98.8%"], ["Paris", "Place", "50.0%"]]
    sent = gr.Dataframe(headers=ENTITY_HEADERS, datatype=["str", "str", "number"], interactive=False).postprocess(value)
    assert sent.headers == ENTITY_HEADERS and sent.data == value["data"]
    assert sent.metadata == value["metadata"]
    assert entity_table([])["data"] == []


# -- highlighted text -----------------------------------------------------------------------------

LONDON = "Ada Lovelace worked with Charles Babbage in London on the Analytical Engine."


def spans_of(text: str, *marked: tuple[str, str]) -> list[dict]:
    return [{"entity": kind, "start": text.index(words), "end": text.index(words) + len(words)} for words, kind in marked]


def test_highlighted_pieces_are_the_text_the_spans_and_whole_words() -> None:
    pieces = highlighted(LONDON, spans_of(LONDON, ("London", "answer")))
    assert "".join(p for p, _ in pieces) == LONDON
    assert [(p, c) for p, c in pieces if c] == [("London", "answer")]
    plain = [p for p, c in pieces if c is None]
    assert plain[:3] == ["Ada ", "Lovelace ", "worked "] and plain[-1] == "Engine."
    assert all(re.fullmatch(r"\s*\S+\s*", p) for p in plain), plain  # one word each, never split inside


def test_highlighted_keeps_spaces_newlines_and_several_spans_in_order() -> None:
    text = "  Zoë Kravitz lives in\n\nSão Paulo and Renée in Zürich.  "
    spans = spans_of(text, ("Zürich", "LOC"), ("Zoë Kravitz", "PER"), ("São Paulo", "LOC"))  # not in order
    pieces = highlighted(text, spans)
    assert "".join(p for p, _ in pieces) == text
    assert [(p, c) for p, c in pieces if c] == [("Zoë Kravitz", "PER"), ("São Paulo", "LOC"), ("Zürich", "LOC")]
    assert pieces[0] == ("  ", None)  # a leading space stays (a span begins the text after it)
    assert ("in\n\n", None) in pieces and (" and ", None) in pieces  # a word with the spaces around it
    assert pieces[-1] == (".  ", None)


def test_highlighted_without_spans_is_the_text_word_by_word() -> None:
    assert highlighted("no answer here", []) == [("no ", None), ("answer ", None), ("here", None)]
    assert highlighted("", []) == []
    # An empty span, or one inside the span before, is left out; the text stays whole.
    text = "Paris, France"
    pieces = highlighted(text, [{"entity": "LOC", "start": 0, "end": 13}, {"entity": "LOC", "start": 7, "end": 13},
                                {"entity": "X", "start": 3, "end": 3}])
    assert pieces == [("Paris, France", "LOC")]


def test_gradio_takes_the_highlighted_pieces_as_they_are() -> None:
    pieces = highlighted(LONDON, spans_of(LONDON, ("Charles Babbage", "Person")))
    sent = gr.HighlightedText(combine_adjacent=False).postprocess(pieces).model_dump()
    assert [(t["token"], t["class_or_confidence"]) for t in sent] == pieces


# -- generated text -------------------------------------------------------------------------------

def test_generated_text_is_sent_as_written_and_drawn_as_markdown() -> None:
    text = "  Here:\n\n\t- **one**\n    - two\n\n```python\n\tprint('hi')\n```\n\n"
    output = GeneratedText(label="Output", buttons=["copy"])
    assert output.postprocess(text) == text
    assert output.postprocess(None) is None
    assert gr.Markdown().postprocess(text) != text  # what GeneratedText avoids: cleandoc strips, dedents, untabs
    assert output.get_block_name() == "markdown"
    config = output.get_config()
    assert config["buttons"] == ["copy"] and config["sanitize_html"] is True
