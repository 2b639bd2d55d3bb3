"""Chinese text, mixed with Latin words and emoji, through the adapters (models/text.py NamedEntities and
FillMask, models/question_answering.py, models/explain.py) with tiny models trained on Chinese templates
(tests/builders/chinese.py).

Chinese has no spaces between words, so the checks are on characters: an entity, an answer or an
attribution is exact character offsets into the input, never half of a character or of an emoji, and a
run of Chinese characters is never swallowed into one "word". Each model is read through two tokenizers
that give the same token ids: the bert-base-chinese kind, where every Chinese character is a word of its
own, and one that (as SentencePiece and byte-level BPE tokenizers do) calls a whole run without spaces
one word ("runs"); the app must give the same answers through both.

The references: transformers' token-classification pipeline ("simple" aggregation) and fill-mask
pipeline on the same model and input; for question answering, transformers 5 has no pipeline, so the
reference is its QuestionAnsweringPipeline's post-processing (transformers 4.x, align_to_words=True,
handle_impossible_answer=True) written out on the same model's logits, as tests/test_text_models.py does.
"""
from __future__ import annotations

import warnings
from typing import Any, Iterator

import pytest

from models import ModelManager, parse_catalog


@pytest.fixture(scope="module")
def folders(tiny_models: Any, tmp_path_factory: Any) -> dict[str, str]:
    from tests.builders.chinese import runs_tokenizer

    base = tmp_path_factory.mktemp("chinese")
    return {"ner": tiny_models["chinese-ner"], "qa": tiny_models["chinese-qa"],
            "ner-runs": runs_tokenizer(tiny_models["chinese-ner"], base / "ner-runs"),
            "qa-runs": runs_tokenizer(tiny_models["chinese-qa"], base / "qa-runs"),
            "fill-mask": tiny_models["chinese-fill-mask"]}


@pytest.fixture(scope="module")
def manager(folders: dict[str, str]) -> Iterator[ModelManager]:
    catalog = {"ner": [{"id": folders["ner"]}, {"id": folders["ner-runs"]}],
               "question-answering": [{"id": folders["qa"]}, {"id": folders["qa-runs"]}],
               "fill-mask": [{"id": folders["fill-mask"]}]}
    manager = ModelManager(parse_catalog(catalog), device="cpu", max_loaded=10)
    yield manager
    manager.unload_all()


@pytest.fixture(scope="module")
def ner(manager: ModelManager, folders: dict[str, str]) -> Any:
    return manager.get("ner", folders["ner"])


@pytest.fixture(scope="module")
def ner_runs(manager: ModelManager, folders: dict[str, str]) -> Any:
    return manager.get("ner", folders["ner-runs"])


@pytest.fixture(scope="module")
def qa(manager: ModelManager, folders: dict[str, str]) -> Any:
    return manager.get("question-answering", folders["qa"])


@pytest.fixture(scope="module")
def qa_runs(manager: ModelManager, folders: dict[str, str]) -> Any:
    return manager.get("question-answering", folders["qa-runs"])


def reference(task: str, folder: str, **kwargs: Any) -> Any:
    from transformers import pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pipeline(task, model=folder, device="cpu", **kwargs)


def grapheme_edges(text: str) -> set[int]:
    """Where a grapheme may begin or end: not before a combining mark, a variation selector or an emoji
    skin tone, nor between a flag's two letters (enough for the texts here)."""
    inside = set()
    for i in range(1, len(text)):
        code = ord(text[i])
        if 0xFE00 <= code <= 0xFE0F or 0x1F3FB <= code <= 0x1F3FF or text[i] == "\u200d" or text[i - 1] == "\u200d" \
                or (0x1F1E6 <= code <= 0x1F1FF and 0x1F1E6 <= ord(text[i - 1]) <= 0x1F1FF and i - 1 not in inside):
            inside.add(i)
    return set(range(len(text) + 1)) - inside


def entities(result: dict[str, Any]) -> list[tuple[str, str, int, int]]:
    return [(e["entity"], e["text"], e["start"], e["end"]) for e in result["entities"]]


def check_exact(text: str, spans: list[dict[str, Any]]) -> None:
    """Every span is the input's own characters, between graphemes (never half an emoji or a flag);
    a Python str is code points, so a character outside the BMP (an emoji, 2 UTF-16 units) is one."""
    edges = grapheme_edges(text)
    for span in spans:
        assert text[span["start"]:span["end"]] == span["text"], span
        assert span["start"] in edges and span["end"] in edges, span


# -- the models -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["ner", "qa"])
def test_the_trained_models_passed_their_held_out_bar(folders: dict[str, str], name: str) -> None:
    import json
    from pathlib import Path

    proof = json.loads((Path(folders[name]) / "heldout.json").read_text())
    scores = {k: v for k, v in proof.items() if k != "seed"}
    assert scores and all(0.97 <= v <= 1 for v in scores.values()), proof


def test_the_tokenizer_makes_each_chinese_character_a_word_and_the_runs_one_does_not(ner: Any, ner_runs: Any) -> None:
    text = "🙂张伟住在Paris。"
    tokens = ["🙂", "张", "伟", "住", "在", "Paris", "。"]
    assert ner.tokenizer.tokenize(text) == ner_runs.tokenizer.tokenize(text) == tokens
    assert ner.tokenizer(text).word_ids() == [None, 0, 1, 2, 3, 4, 5, 6, None]
    assert ner_runs.tokenizer(text).word_ids() == [None, 0, 0, 0, 0, 0, 0, 1, None]
    assert ner.tokenizer.tokenize("Bogotá 😀👍🏽") == ["[UNK]", "[UNK]"]  # the rest is [UNK]


# -- named entities ------------------------------------------------------------------------------------

NER_CASES = [
    ("张伟住在北京。", [("PER", "张伟", 0, 2), ("LOC", "北京", 4, 6)]),
    ("🙂李娜在深圳工作🎉", [("PER", "李娜", 1, 3), ("LOC", "深圳", 4, 6)]),
    ("Alice住在Paris。", [("PER", "Alice", 0, 5), ("LOC", "Paris", 7, 12)]),
    ("昨天 Tom 去了乌鲁木齐👍🏽。", [("PER", "Tom", 3, 6), ("LOC", "乌鲁木齐", 9, 13)]),
    ("王小明和欧阳娜娜在上海见面。😀", [("PER", "王小明", 0, 3), ("PER", "欧阳娜娜", 4, 8), ("LOC", "上海", 9, 11)]),
    ("Alice🙂住在北京。", [("PER", "Alice", 0, 5), ("LOC", "北京", 8, 10)]),
    ("我们在London认识了张伟🇨🇳。", [("LOC", "London", 3, 9), ("PER", "张伟", 12, 14)]),
    ("🎉 Maria从上海来到Tokyo。🙂", [("PER", "Maria", 2, 7), ("LOC", "上海", 8, 10), ("LOC", "Tokyo", 12, 17)]),
]


@pytest.mark.parametrize("text, expected", NER_CASES)
def test_entities_are_exact_characters_in_mixed_text(ner: Any, text: str, expected: list) -> None:
    result = ner.predict(text)
    check_exact(text, result["entities"])
    assert entities(result) == expected
    assert all(0.9 < e["score"] <= 1 for e in result["entities"])


@pytest.mark.parametrize("text, expected", NER_CASES)
def test_entities_equal_the_transformers_pipeline_simple_aggregation(ner: Any, folders: dict[str, str],
                                                                     text: str, expected: list) -> None:
    """Same types, offsets and scores as the pipeline's "simple" grouping (every token here is a word, so
    grouping words by their first token and grouping tokens agree). The one difference: the pipeline's
    "word" is its tokens decoded, which WordPiece joins with spaces ("张 伟", "乌 鲁 木 齐"), a string the
    input never held; ours is text[start:end], the input's own characters, what the page highlights."""
    theirs = reference("token-classification", folders["ner"], aggregation_strategy="simple")(text)
    ours = ner.predict(text)["entities"]
    assert [(e["entity"], e["start"], e["end"]) for e in ours] == \
        [(e["entity_group"], e["start"], e["end"]) for e in theirs]
    for a, b in zip(ours, theirs):
        assert a["score"] == pytest.approx(float(b["score"]), abs=1e-5)
        assert b["word"] == (a["text"] if a["text"].isascii() else " ".join(a["text"]))


def test_a_long_text_over_several_windows_finds_the_entities_at_the_end(ner: Any, folders: dict[str, str]) -> None:
    text = "今天下雨了。🙂" * 30 + "张伟住在北京。"
    assert len(ner.tokenizer(text)["input_ids"]) > 3 * ner.model.config.max_position_embeddings
    result = ner.predict(text)
    check_exact(text, result["entities"])
    assert entities(result) == [("PER", "张伟", 210, 212), ("LOC", "北京", 214, 216)]
    # the pipeline reads the same windows when given a stride
    theirs = reference("token-classification", folders["ner"], aggregation_strategy="simple")(text, stride=16)
    assert [(e["entity_group"], e["start"], e["end"]) for e in theirs] == \
        [(k, s, e) for k, _, s, e in entities(result)]


RUNS_CASES = [case for case in NER_CASES if not any(e in case[0] for e in ("👍🏽", "😀", "🇨🇳", "Alice🙂"))]


@pytest.mark.parametrize("text, expected", RUNS_CASES)
def test_a_tokenizer_that_calls_a_run_one_word_gives_the_same_entities(ner: Any, ner_runs: Any, folders: dict,
                                                                        text: str, expected: list) -> None:
    """With a tokenizer whose word is a whole run without spaces ("Alice住在Paris"), the same tokens and
    logits give the same entities: a Chinese character, an emoji, a Latin word glued to them, each is a word
    of its own (hf.same_word), and the B-/I- tags decide, character by character.

    transformers' "first" aggregation reads the tokenizer's words: it labels the whole run by its first
    token, so "Alice住在Paris。" is one PER "Alice 住 在 Paris 。" and "🙂李娜在深圳工作🎉" (first token 🙂, O)
    has no entity at all. Ours is right: the model tagged 住, 在 and 。 O and Paris B-LOC."""
    assert ner_runs.tokenizer(text)["input_ids"] == ner.tokenizer(text)["input_ids"]
    words = [w for w in ner_runs.tokenizer(text).word_ids() if w is not None]
    assert len(set(words)) < len(words) <= len(set(w for w in ner.tokenizer(text).word_ids() if w is not None))
    result = ner_runs.predict(text)
    check_exact(text, result["entities"])
    assert entities(result) == expected
    assert result == ner.predict(text)
    first = reference("token-classification", folders["ner-runs"], aggregation_strategy="first")(text)
    assert [(e["entity_group"], e["start"], e["end"]) for e in first] != [(k, s, e) for k, _, s, e in expected]


def test_an_emoji_glued_to_a_name_stays_out_of_it(ner: Any, folders: dict[str, str]) -> None:
    """"Alice🙂" is one word to BERT's pre-tokenizer (tokens Alice, ##🙂); the emoji is a word of its own
    here, so the name is Alice, as the pipeline's "simple" grouping says; its "first" grouping, reading
    the tokenizer's word, gives "Alice🙂"."""
    text = "Alice🙂住在北京。"
    assert ner.tokenizer.tokenize(text)[:2] == ["Alice", "##🙂"]
    assert ner.tokenizer(text).word_ids()[1:3] == [0, 0]
    assert entities(ner.predict(text))[0] == ("PER", "Alice", 0, 5)
    first = reference("token-classification", folders["ner"], aggregation_strategy="first")(text)
    assert (first[0]["start"], first[0]["end"]) == (0, 6)


def test_a_batch_equals_one_by_one(ner: Any) -> None:
    texts = [text for text, _ in NER_CASES]
    for text, together in zip(texts, ner.predict_batch(texts)):
        alone = ner.predict(text)
        assert entities(together) == entities(alone)
        for a, b in zip(together["entities"], alone["entities"]):
            assert a["score"] == pytest.approx(b["score"], abs=1e-5)


# -- question answering --------------------------------------------------------------------------------

def reference_answer(pipeline: Any, question: str, context: str, max_answer_tokens: int) -> tuple | None:
    """transformers 4.x QuestionAnsweringPipeline's post-processing (align_to_words=True,
    handle_impossible_answer=True) on the same model's logits, for a context that fits one window:
    (answer, start, end) of the best span's tokens widened to the tokenizer's words, or None when the
    null answer scores higher."""
    import torch

    tokenizer = pipeline.tokenizer
    enc = tokenizer(question, context, truncation="only_second", max_length=64, return_tensors="pt")
    assert enc.encodings[0].overflowing == [], "the reference handles one window"
    with torch.inference_mode():
        out = pipeline.model(**enc)
    is_context = torch.tensor([s == 1 for s in enc.sequence_ids(0)])
    cls = enc["input_ids"][0].tolist().index(tokenizer.cls_token_id)
    keep = is_context.clone()
    keep[cls] = True
    mask = torch.where(keep, 0.0, float("-inf"))
    p_start, p_end = (out.start_logits[0] + mask).softmax(-1), (out.end_logits[0] + mask).softmax(-1)
    scores = torch.triu((p_start * is_context)[:, None] * (p_end * is_context)[None, :]).tril(max_answer_tokens - 1)
    s, e = divmod(int(scores.argmax()), scores.shape[1])
    if float(p_start[cls] * p_end[cls]) > float(scores[s, e]):
        return None
    start = enc.word_to_chars(enc.token_to_word(s), sequence_index=1).start
    end = enc.word_to_chars(enc.token_to_word(e), sequence_index=1).end
    return context[start:end], start, end


QA_CASES = [
    ("张伟住在哪里？", "张伟住在北京。张伟是医生。", "北京"),
    ("张伟做什么工作？", "张伟住在北京。张伟是医生。", "医生"),
    ("Alice做什么工作？", "🙂 Alice住在Paris。Alice是老师👍🏽。", "老师"),
    ("Alice住在哪里？", "🙂 Alice住在Paris。Alice是老师🎉。", "Paris"),
    ("李娜住在哪里？🙂", "李娜是厨师😀。今天下雨了。李娜住在乌鲁木齐🇨🇳。", "乌鲁木齐"),
    ("Tom住在哪里？", "火车又晚点了🎉。Tom 住在 London 。Tom是律师。", "London"),
    ("欧阳娜娜做什么工作？", "欧阳娜娜住在Tokyo。🙂欧阳娜娜是工程师🙂", "工程师"),
]


@pytest.mark.parametrize("question, context, answer", QA_CASES)
def test_answers_are_exact_characters_in_mixed_text(qa: Any, question: str, context: str, answer: str) -> None:
    result = qa.predict({"question": question, "context": context})
    assert (result["answer"], result["start"], result["end"]) == (answer, context.index(answer),
                                                                  context.index(answer) + len(answer))
    check_exact(context, [{"text": result["answer"], "start": result["start"], "end": result["end"]}])
    assert 0.9 < result["score"] <= 1 and result["windows"] == 1


@pytest.mark.parametrize("question, context, answer", QA_CASES)
@pytest.mark.parametrize("max_answer_tokens", [1, 2, 30])
def test_answers_equal_the_reference(qa: Any, question: str, context: str, answer: str,
                                     max_answer_tokens: int) -> None:
    """Equal to transformers' post-processing, including where max_answer_tokens cuts a city short: a
    Chinese character is a word, so "乌鲁木齐" read one token at a time is "乌", never widened to the run."""
    result = qa.predict({"question": question, "context": context}, max_answer_tokens=max_answer_tokens)
    expected = reference_answer(qa, question, context, max_answer_tokens)
    assert (result["answer"], result["start"], result["end"]) == expected
    check_exact(context, [{"text": result["answer"], "start": result["start"], "end": result["end"]}])
    if max_answer_tokens == 30:
        assert result["answer"] == answer


@pytest.mark.parametrize("question, context, answer", [c for c in QA_CASES if not any(
    e in c[0] + c[1] for e in ("👍🏽", "😀", "🇨🇳"))])
def test_a_tokenizer_that_calls_a_run_one_word_gives_the_same_answers(qa: Any, qa_runs: Any, question: str,
                                                                       context: str, answer: str) -> None:
    """Through the tokenizer whose word is a whole run, the same tokens give the same answer. The
    reference widens the best span to the tokenizer's words, so there its answer is the run the city sits
    in ("Alice住在Paris" for Paris): not what was asked. Ours widens only to the word a Chinese character,
    an emoji or a glued Latin word makes (hf.same_word)."""
    assert qa_runs.tokenizer(question, context)["input_ids"] == qa.tokenizer(question, context)["input_ids"]
    result = qa_runs.predict({"question": question, "context": context})
    assert result == qa.predict({"question": question, "context": context})
    assert result["answer"] == answer
    enc = qa_runs.tokenizer(context, add_special_tokens=False, return_offsets_mapping=True)
    at = next(t for t, (s, _) in enumerate(enc["offset_mapping"]) if s == context.index(answer))
    run = context[slice(*enc.word_to_chars(enc.word_ids()[at]))]
    assert reference_answer(qa_runs, question, context, 30)[0] == run
    assert run != answer or f" {answer} " in context  # a city glued to Chinese text: the run is longer


# -- fill-mask -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["张伟住在[MASK]京。", "🙂Alice住在[MASK]。", "[MASK]伟和李娜在 Paris 见面🎉"])
def test_fill_mask_candidates_equal_the_transformers_pipeline(manager: ModelManager, folders: dict[str, str],
                                                              text: str) -> None:
    """A random masked language model on the Chinese tokenizer: the same candidates, scores and sentences
    (WordPiece decodes Chinese with a space between characters, in both)."""
    ours = manager.predict("fill-mask", folders["fill-mask"], text, top_k=5)["masks"][0]
    theirs = reference("fill-mask", folders["fill-mask"])(text, top_k=5)
    for a, b in zip(ours, theirs, strict=True):
        assert (a["token"], a["token_str"], a["sequence"]) == (b["token"], b["token_str"], b["sequence"])
        assert a["score"] == pytest.approx(b["score"], abs=1e-6)


# -- attributions --------------------------------------------------------------------------------------

def characters(text: str) -> list[tuple[str, int, int]]:
    """The words the explanation should show: each character, an emoji with its skin tone or a flag's
    two letters together (one [UNK] token), a Latin word whole; spaces left out."""
    import re

    return [(m.group(), m.start(), m.end()) for m in re.finditer(r"[A-Za-z]+|👍🏽|🇨🇳|\S", text)]


def explain(pipeline: Any, x: Any, **kwargs: Any) -> dict[str, Any]:
    from models.explain import explain as run

    return run(pipeline, x, **kwargs)


@pytest.mark.parametrize("text", ["张伟住在北京🙂。", "昨天 Tom 去了乌鲁木齐👍🏽。", "我们在London认识了张伟🇨🇳。"])
def test_entity_attributions_are_per_character(ner: Any, text: str) -> None:
    found = explain(ner, text, target=0, method="integrated_gradients", steps=16)
    assert [(w["text"], w["start"], w["end"]) for w in found["words"]] == characters(text)
    check_exact(text, found["words"])
    assert all(w["part"] == "text" for w in found["words"])
    entity = found["entity"]
    assert text[entity["start"]:entity["end"]] == entity["text"]


@pytest.mark.parametrize("text", ["张伟住在北京🙂。", "🎉 Maria从上海来到Tokyo。🙂"])
def test_attributions_through_a_tokenizer_that_calls_a_run_one_word_are_the_same(ner: Any, ner_runs: Any,
                                                                                  text: str) -> None:
    """Same tokens, same gradients: the runs tokenizer's words are split into the same characters, so
    each character keeps its own score (summed into the run, they would be one bar for the sentence)."""
    ours = explain(ner, text, target=1, method="fast")
    runs = explain(ner_runs, text, target=1, method="fast")
    assert [(w["text"], w["start"], w["end"]) for w in runs["words"]] == characters(text)
    assert [(w["text"], w["start"], w["end"]) for w in runs["words"]] == \
        [(w["text"], w["start"], w["end"]) for w in ours["words"]]
    assert [w["score"] for w in runs["words"]] == pytest.approx([w["score"] for w in ours["words"]], abs=1e-6)


def test_question_answering_attributions_are_per_character_in_both_parts(qa: Any, qa_runs: Any) -> None:
    question, context = "Alice住在哪里？", "🙂 Alice住在Paris。Alice是老师🎉。"
    for pipeline in (qa, qa_runs):
        found = explain(pipeline, {"question": question, "context": context}, target="end", method="fast")
        assert found["answer"]["answer"] == "Paris"
        words = [(w["part"], w["text"], w["start"], w["end"]) for w in found["words"]]
        assert words == [("question", *c) for c in characters(question)] + \
            [("context", *c) for c in characters(context)]
        check_exact(question, [w for w in found["words"] if w["part"] == "question"])
        check_exact(context, [w for w in found["words"] if w["part"] == "context"])


# -- the rule, on tokenizers not built here ---------------------------------------------------------------

def test_a_character_cut_into_byte_tokens_is_never_split() -> None:
    """A byte-level BPE cuts a character it has no token for into byte tokens, each with the whole
    character's offsets; an emoji with a skin tone, or a flag, can be two tokens. None is cut."""
    from models.question_answering import whole_words
    from tests.test_text_models import _Encoding  # what whole_words reads of a fast tokenizer's encoding

    context = "他住在𠮷林👍🏽🇨🇳。"
    # 他 住 在 (3 tokens), 𠮷 as two byte tokens, 林, 👍 and 🏽 apart, the flag's letters apart, 。 ; all one word
    offsets = [(0, 1), (1, 2), (2, 3), (3, 4), (3, 4), (4, 5), (5, 6), (6, 7), (7, 8), (8, 9), (9, 10)]
    encoding = _Encoding([0] * 11, offsets)
    assert context[slice(*whole_words(encoding, 3, 4, context))] == "𠮷"       # its two byte tokens, whole
    assert context[slice(*whole_words(encoding, 5, 6, context))] == "👍🏽"      # the skin tone goes with it
    assert context[slice(*whole_words(encoding, 8, 9, context))] == "🇨🇳"      # a flag's two letters
    assert context[slice(*whole_words(encoding, 2, 5, context))] == "在𠮷林"


def test_the_rule_leaves_other_words_as_the_tokenizer_made_them() -> None:
    from models.hf import same_word

    assert same_word("Montréal", 0, 3, 3)          # Mon|tréal: one word
    assert same_word("naïve café", 0, 2, 2)        # na|ïve
    assert same_word("e\u0301t\u00e9", 0, 1, 1)     # a letter and its combining accent
    assert not same_word("Alice住在", 0, 5, 5)      # Alice|住
    assert not same_word("北京🙂", 0, 1, 1)         # 北|京
    assert not same_word("Alice🙂", 0, 5, 5)        # Alice|🙂
    assert same_word("👍🏽", 0, 1, 1)               # 👍|🏽
    assert same_word("张", 0, 1, 0)                # a byte token of the character already read
    assert same_word(" 张", 0, 1, 1)               # SentencePiece's lone "▁" takes the character in
