"""Tiny Chinese models for tests: a token classifier (PER/LOC, BIO) and an extractive QA model trained in
seconds on templated Chinese sentences with Latin names and cities and emoji mixed in, and a masked
language model with random weights, all on one BERT-style WordPiece tokenizer made here.

The tokenizer reads Chinese as bert-base-chinese does (BertNormalizer's handle_chinese_chars, the
tokenizers name for tokenize_chinese_chars): every Chinese character is a word and a token of its own.
Its vocabulary is the characters of the templates, a few whole Latin words (Alice, Paris...), two emoji
(🙂 🎉, alone and as ##continuations) and the Chinese punctuation; everything else is [UNK] (other emoji,
Latin words it does not know: a WordPiece word it cannot spell is one [UNK]).

`runs_tokenizer` writes the same model with a tokenizer that does not split Chinese into words: a run of
Chinese characters and the Latin words and emoji glued to it is one word (as SentencePiece and byte-level
BPE tokenizers read it), cut into the same tokens with the same ids (its sub-tokens have no ## prefix,
and the vocabulary has no Chinese token longer than one character), so the same weights give the same
logits and only the tokenizer's word ids differ.

Built as tests/builders/text.py builds its BERTs: seeded, one thread, deterministic algorithms, and each
trained model must pass its held-out bar (sentences from another seed) before a test gets it.
"""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

from tests.builders.text import (argmax_accuracy, bert_config, proven, save_proof, seed_everything, token_accuracy,
                                 train)

VERSION = 1

# -- vocabulary of the templates -------------------------------------------------------------------------

PEOPLE = ["张伟", "李娜", "王芳", "刘洋", "陈静", "赵磊", "王小明", "欧阳娜娜", "Alice", "Bob", "Maria", "Tom"]
CITIES = ["北京", "上海", "深圳", "广州", "杭州", "成都", "乌鲁木齐", "Paris", "London", "Tokyo"]
LATIN = {"Alice", "Bob", "Maria", "Tom", "Paris", "London", "Tokyo"}
KNOWN_EMOJI = ["🙂", "🎉"]             # in the vocabulary
UNKNOWN_EMOJI = ["😀", "👍🏽", "🇨🇳"]   # [UNK]: 👍🏽 and 🇨🇳 are two code points each, one token
NER_TEMPLATES = [
    "{PER}住在{LOC}。", "{PER}在{LOC}工作。", "{PER}和{PER2}在{LOC}见面。", "昨天{PER}去了{LOC}。",
    "{PER}从{LOC}来到{LOC2}。", "{LOC}的天气很好。", "{PER}喜欢喝茶。", "我们在{LOC}认识了{PER}。",
]
FILLER = ["今天下雨了。", "会议中午开始。", "火车又晚点了。", "我们吃了午饭。", "天气很好！", "你好，谢谢。"]
JOBS = ["老师", "医生", "工程师", "厨师", "司机", "律师"]
QUESTIONS = {"live": "{PER}住在哪里？", "job": "{PER}做什么工作？"}
NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
WINDOW = 64
STEPS_NER = 150
STEPS_QA = 250


def tokenizer() -> Any:
    """The WordPiece tokenizer, wrapped in PreTrainedTokenizerFast; its vocabulary in a fixed order."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    text = "".join(NER_TEMPLATES + FILLER + list(QUESTIONS.values()) + PEOPLE + CITIES + JOBS + ["是"])
    chinese = sorted({c for c in text if c not in "{}" and not c.isascii()})
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = specials + chinese + list("!,.?:") + sorted(LATIN) + KNOWN_EMOJI + ["##" + e for e in KNOWN_EMOJI]
    tok = Tokenizer(models.WordPiece(vocab={t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False,
                                                lowercase=False)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab.index("[CLS]")), ("[SEP]", vocab.index("[SEP]"))])
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=WINDOW,
                                   model_input_names=["input_ids", "token_type_ids", "attention_mask"])


def runs_tokenizer(folder: str | Path, out: str | Path) -> str:
    """A copy of a model folder whose tokenizer does not make each Chinese character a word: no
    handle_chinese_chars, and sub-tokens without the ## prefix, so "Alice住在Paris" is one word of the
    tokens Alice, 住, 在, Paris (the same ids as before). Returns the copy's path."""
    out = Path(out)
    shutil.copytree(folder, out, ignore=shutil.ignore_patterns(".complete"))
    path = out / "tokenizer.json"
    spec = json.loads(path.read_text(encoding="utf-8"))
    spec["normalizer"]["handle_chinese_chars"] = False
    spec["model"]["continuing_subword_prefix"] = ""
    path.write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
    return str(out)


# -- sentences ---------------------------------------------------------------------------------------------

def _chinese(char: str) -> bool:
    return "\u3000" <= char <= "\u9fff" or "\uff00" <= char <= "\uffef"


def _join(pieces: list[tuple[str, str | None]], rng: random.Random) -> tuple[str, list[tuple[int, int, str]]]:
    """Pieces (text, entity kind or None) glued together, a space now and then beside a Latin word or an
    emoji (never between two Chinese characters), emoji sprinkled in; the text and its entities' spans.

    An emoji is never glued to the front of a Latin word, nor an unknown one to its end: WordPiece reads
    "🙂Alice" or "Alice😀" as one word it cannot spell, one [UNK] (bert-base-chinese does the same with
    what its vocabulary lacks); "Alice🙂" is Alice, ##🙂."""
    text, spans = "", []

    def emoji() -> None:
        nonlocal text
        e = rng.choice(KNOWN_EMOJI * 3 + UNKNOWN_EMOJI)
        if text and text[-1].isascii() and text[-1].isalpha() and (e not in KNOWN_EMOJI or rng.random() < 0.3):
            text += " "
        text += e

    for piece, kind in pieces:
        if text and not (_chinese(text[-1]) and _chinese(piece[0])) and rng.random() < 0.3:
            text += " "
        if rng.random() < 0.12:  # an emoji before the piece
            emoji()
            if piece[0].isascii() or rng.random() < 0.3:
                text += " "
        if kind:
            spans.append((len(text), len(text) + len(piece), kind))
        text += piece
    if rng.random() < 0.2:
        emoji()
    return text, spans


def _pieces(template: str, values: dict[str, tuple[str, str | None]]) -> list[tuple[str, str | None]]:
    out, pos = [], 0
    while pos < len(template):
        open_ = template.find("{", pos)
        if open_ < 0:
            out.append((template[pos:], None))
            break
        if open_ > pos:
            out.append((template[pos:open_], None))
        close = template.index("}", open_)
        out.append(values[template[open_ + 1:close]])
        pos = close + 1
    return out


def ner_text(rng: random.Random, max_sentences: int = 3) -> tuple[str, list[tuple[int, int, str]]]:
    """One to three sentences (templates, or filler) and the character spans of their entities."""
    pieces: list[tuple[str, str | None]] = []
    for _ in range(rng.randint(1, max_sentences)):
        if rng.random() < 0.2:
            pieces.append((rng.choice(FILLER), None))
            continue
        people, cities = rng.sample(PEOPLE, 2), rng.sample(CITIES, 2)
        values = {"PER": (people[0], "PER"), "PER2": (people[1], "PER"), "LOC": (cities[0], "LOC"),
                  "LOC2": (cities[1], "LOC")}
        pieces += _pieces(rng.choice(NER_TEMPLATES), values)
    return _join(pieces, rng)


def token_labels(tok: Any, text: str, spans: list[tuple[int, int, str]]) -> dict[str, Any]:
    """Every token labelled, as character-level Chinese NER data is: B- on an entity's first token,
    I- on the rest of it, O elsewhere (an emoji glued to a name included), -100 on special tokens."""
    enc = tok(text, return_offsets_mapping=True, truncation=True, max_length=WINDOW)
    labels = []
    for word, (start, end) in zip(enc.word_ids(), enc["offset_mapping"]):
        label = "O"
        for s, e, kind in spans:
            if s <= start < e:
                assert end <= e, f"a token crosses an entity's edge in {text!r}"
                label = ("B-" if start == s else "I-") + kind
        labels.append(-100 if word is None else NER_LABELS.index(label))
    return {"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
            "attention_mask": enc["attention_mask"], "labels": labels}


def qa_example(rng: random.Random) -> tuple[str, str, int, int]:
    """(question, context, answer's start, answer's end): where someone lives (a city) or what they do (a
    job), the two facts in either order among filler sentences."""
    person, city, job = rng.choice(PEOPLE), rng.choice(CITIES), rng.choice(JOBS)
    kind = rng.choice(list(QUESTIONS))
    facts = [[(person, None), ("住在", None), (city, "ANSWER" if kind == "live" else None), ("。", None)],
             [(person, None), ("是", None), (job, "ANSWER" if kind == "job" else None), ("。", None)]]
    facts += [[(rng.choice(FILLER), None)] for _ in range(rng.randint(0, 3))]
    rng.shuffle(facts)
    context, spans = _join([piece for fact in facts for piece in fact], rng)
    question, _ = _join([(QUESTIONS[kind].format(PER=person), None)], rng)
    (start, end, _), = spans
    return question, context, start, end


def qa_window(tok: Any, question: str, context: str, answer_start: int, answer_end: int) -> dict[str, Any]:
    """The one window the app reads for a short context: the answer's first and last tokens."""
    enc = tok(question, context, return_offsets_mapping=True, truncation="only_second", max_length=WINDOW)
    start = end = 0
    for i, ((s, e), sid) in enumerate(zip(enc["offset_mapping"], enc.sequence_ids())):
        if sid == 1 and s <= answer_start < e:
            start = i
        if sid == 1 and s < answer_end <= e:
            end = i
    if not (start and end):
        start = end = 0
    return {"input_ids": enc["input_ids"], "token_type_ids": enc["token_type_ids"],
            "attention_mask": enc["attention_mask"], "start_positions": start, "end_positions": end}


# -- builders -----------------------------------------------------------------------------------------------

def build_chinese_ner(folder: Path) -> None:
    from transformers import BertForTokenClassification

    tok = tokenizer()
    config = bert_config(tok, num_labels=len(NER_LABELS), id2label=dict(enumerate(NER_LABELS)),
                         label2id={label: i for i, label in enumerate(NER_LABELS)}, max_position_embeddings=WINDOW)

    def examples(rng: random.Random, n: int) -> list[dict[str, Any]]:
        return [token_labels(tok, *ner_text(rng)) for _ in range(n)]

    def build(seed: int) -> Any:
        seed_everything(seed)
        model = BertForTokenClassification(config)
        train(model, examples(random.Random(seed), 2000), tok, steps=STEPS_NER, seed=seed)
        return model

    heldout = examples(random.Random(60_006), 300)
    model, scores = proven("chinese ner", 6, build, lambda m: token_accuracy(m, tok, heldout),
                           {"tokens": 0.99, "entity_tokens": 0.98})
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    save_proof(folder, scores)


def build_chinese_qa(folder: Path) -> None:
    from transformers import BertForQuestionAnswering

    tok = tokenizer()
    config = bert_config(tok, max_position_embeddings=WINDOW)

    def examples(rng: random.Random, n: int) -> list[dict[str, Any]]:
        return [qa_window(tok, *qa_example(rng)) for _ in range(n)]

    def build(seed: int) -> Any:
        seed_everything(seed)
        model = BertForQuestionAnswering(config)
        train(model, examples(random.Random(seed), 8000), tok, steps=STEPS_QA, seed=seed)
        return model

    heldout = examples(random.Random(70_007), 300)
    assert all(e["start_positions"] for e in heldout), "every held-out answer lies in its window"
    model, scores = proven("chinese question-answering", 7, build,
                           lambda m: {"answered_exact": argmax_accuracy(m, tok, heldout,
                                                                        ("start_positions", "end_positions"))},
                           {"answered_exact": 0.97})
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    save_proof(folder, scores)


def build_chinese_fill_mask(folder: Path) -> None:
    """A masked language model with random (seeded) weights on the Chinese tokenizer: for comparing the
    app's reading of its logits with transformers' fill-mask pipeline, as tests/builders/untrained.py's."""
    from transformers import BertForMaskedLM

    seed_everything(8)
    tok = tokenizer()
    model = BertForMaskedLM(bert_config(tok, max_position_embeddings=WINDOW))
    model.eval()
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
