"""Tiny text models for tests: random GPT-2s, and BERTs trained in seconds on templated sentences.

Every builder is seeded, so two builds give the same folder. The trained models learn just
enough to make real predictions that catch label-mapping, offset and aggregation bugs.
"""
from __future__ import annotations

import contextlib
import random
from pathlib import Path
from typing import Any, Callable, Iterator

VERSION = 3

# -- vocabulary of the templates ----------------------------------------------------------------

# Names and cities with accents, and long enough that the tiny WordPiece splits them.
PEOPLE = [
    "José García", "Zoë Kravitz", "Renée Dubois", "Søren Kierkegaard", "Chloé Martin", "Björn Andersson",
    "Anaïs Nin", "Maximilian Oberhauser", "Gwendolyn Brooks", "Bartholomew Higgins", "Łukasz Nowak",
    "Amélie Poulain", "Takeshi Yamamoto", "Priya Raghunathan", "Olúwaseun Adébáyọ̀", "Marguerite Duras",
    "José", "Zoë", "Renée", "Bartholomew", "Ingrid", "Mateo", "Fatima", "Kwame",
]
CITIES = [
    "Bogotá", "São Paulo", "Zürich", "Kraków", "Reykjavík", "Montréal", "New York", "Paris", "Tokyo",
    "Amsterdam", "Düsseldorf", "Málaga", "Buenos Aires", "Nairobi", "Hanoi", "Wellington",
]
SPLIT_CITIES = ("Reykjavík",)  # split into characters; QA answers it less reliably
JOBS = ["teacher", "baker", "pilot", "nurse", "carpenter", "lawyer", "chemist", "gardener", "painter", "doctor"]
FILLER = [
    "The weather was quiet all day.", "It rained for a while.", "The meeting starts at noon.",
    "Nothing much happened that morning.", "The train was late again.", "Coffee was served after lunch.",
    "The report is due next week.", "Some birds sang outside.", "The shop closes early on Sundays.",
]
POSITIVE = ["love", "like", "enjoy", "adore", "really like", "truly love"]
NEGATIVE = ["hate", "dislike", "loathe", "detest", "really hate", "cannot stand"]
THINGS = ["this film", "the movie", "this book", "the food", "my job", "this song", "the weather", "that show",
          "this game", "the hotel", "your idea", "the ending", "this place", "the service", "this phone"]

NER_LABELS = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
STEPS_NER = 900
STEPS_QA = 700


def seed_everything(seed: int) -> None:
    import numpy as np
    import torch

    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Tiny models train many times faster on one thread than on two contended ones."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


# -- tokenizers -----------------------------------------------------------------------------------

def generic_corpus(rng: random.Random, n: int = 400) -> list[str]:
    """Sentences from every template, where names are rare enough to stay split into sub-tokens."""
    out = []
    for _ in range(n):
        kind = rng.random()
        if kind < 0.3:
            out.append(f"I {rng.choice(POSITIVE + NEGATIVE)} {rng.choice(THINGS)}.")
        elif kind < 0.55:
            out.append(rng.choice(FILLER))
        elif kind < 0.75:
            out.append(f"Where does the {rng.choice(JOBS)} live? What does she do?")
        else:
            out.append(f"The {rng.choice(JOBS)} works as a {rng.choice(JOBS)} in the city.")
    out += NER_TEMPLATES * 3 + FILLER * 3
    # People once each: every character is in the alphabet, but their names stay split into
    # sub-tokens. Most cities twice, so they become whole tokens; the rest stay split.
    out += PEOPLE + CITIES + [c for c in CITIES if c not in SPLIT_CITIES]
    return out


def wordpiece_tokenizer(corpus: list[str], *, max_length: int = 64) -> Any:
    """A cased BERT-style WordPiece tokenizer (accents kept) wrapped in PreTrainedTokenizerFast.

    The vocabulary is every character (alone and as a ##continuation) plus every word seen at
    least twice, in a fixed order: tokenizers' WordPieceTrainer orders ties by hash, so two of
    its runs on the same corpus give different vocabularies, and the build would not repeat.
    Words seen once (most names) are split into sub-tokens.
    """
    from collections import Counter

    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False,
                                            lowercase=False)
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    counts: Counter[str] = Counter()
    for line in corpus:
        counts.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(line)))
    chars = sorted({c for word in counts for c in word})
    words = sorted((w for w, n in counts.items() if n >= 2 and len(w) > 1), key=lambda w: (-counts[w], w))
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    vocab = specials + chars + ["##" + c for c in chars] + words
    tok = Tokenizer(models.WordPiece(vocab={t: i for i, t in enumerate(vocab)}, unk_token="[UNK]"))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre_tokenizer
    cls, sep = tok.token_to_id("[CLS]"), tok.token_to_id("[SEP]")
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tok.decoder = decoders.WordPiece()
    return PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                                   sep_token="[SEP]", mask_token="[MASK]", model_max_length=max_length,
                                   model_input_names=["input_ids", "token_type_ids", "attention_mask"])


def bpe_tokenizer(corpus: list[str], *, vocab_size: int = 400, extra_special: list[str] = ()) -> Any:
    """A GPT-2 style byte-level BPE tokenizer wrapped in PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    specials = ["<|endoftext|>", *extra_special]
    tok.train_from_iterator(corpus, trainers.BpeTrainer(vocab_size=vocab_size, special_tokens=specials,
                                                         initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<|endoftext|>", model_max_length=256,
                                   additional_special_tokens=list(extra_special) or None)


def bert_config(tokenizer: Any, **kwargs: Any) -> Any:
    from transformers import BertConfig

    defaults = dict(vocab_size=len(tokenizer), hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
                    intermediate_size=128, max_position_embeddings=64, type_vocab_size=2,
                    hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                    pad_token_id=tokenizer.pad_token_id)
    defaults.update(kwargs)
    return BertConfig(**defaults)


def train(model: Any, examples: list[dict[str, Any]], tokenizer: Any, *, steps: int, batch_size: int = 32,
          lr: float = 2e-3, seed: int = 0) -> float:
    """AdamW over random batches of pre-tokenized examples; returns the last loss."""
    import torch

    rng = random.Random(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: min(1.0, (s + 1) / 20) * max(0.05, 1 - s / steps))
    model.train()
    loss = 0.0
    with one_thread():
        for _ in range(steps):
            batch = collate(rng.sample(examples, batch_size), tokenizer)
            out = model(**batch).loss
            out.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            opt.zero_grad()
            loss = float(out.detach())
    model.eval()
    return loss


def collate(examples: list[dict[str, Any]], tokenizer: Any) -> dict[str, Any]:
    """Pad input_ids/token_type_ids/attention_mask (and token labels with -100) to the longest."""
    import torch

    n = max(len(e["input_ids"]) for e in examples)
    pad = tokenizer.pad_token_id
    out: dict[str, list] = {}
    for key, fill in (("input_ids", pad), ("token_type_ids", 0), ("attention_mask", 0)):
        out[key] = [e[key] + [fill] * (n - len(e[key])) for e in examples]
    first = examples[0]
    if "labels" in first and isinstance(first["labels"], list):
        out["labels"] = [e["labels"] + [-100] * (n - len(e["labels"])) for e in examples]
    elif "labels" in first:
        out["labels"] = [e["labels"] for e in examples]
    for key in ("start_positions", "end_positions"):
        if key in first:
            out[key] = [e[key] for e in examples]
    return {k: torch.tensor(v) for k, v in out.items()}


# -- GPT-2 ---------------------------------------------------------------------------------------

CHAT_TEMPLATE = (
    "{% for message in messages %}<|{{ message['role'] }}|>{{ message['content'] }}<|end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>{% endif %}"
)
CHAT_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]


def _gpt2(folder: Path, *, chat: bool) -> None:
    from transformers import GPT2Config, GPT2LMHeadModel

    seed_everything(1)
    rng = random.Random(1)
    corpus = generic_corpus(rng, 600)
    tokenizer = bpe_tokenizer(corpus, vocab_size=400, extra_special=CHAT_TOKENS if chat else [])
    if chat:
        tokenizer.chat_template = CHAT_TEMPLATE
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=32, n_layer=2, n_head=2, n_positions=256,
                        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    model = GPT2LMHeadModel(config)
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def build_gpt2(folder: Path) -> None:
    _gpt2(folder, chat=False)


def build_chat_gpt2(folder: Path) -> None:
    _gpt2(folder, chat=True)


# -- sentiment -------------------------------------------------------------------------------------

def sentiment_sentences(rng: random.Random, n: int) -> list[tuple[str, int]]:
    templates = ["I {v} {t}.", "I {v} {t}", "We {v} {t}!", "Honestly, I {v} {t}.", "My friends {v} {t}.",
                 "I {v} {t} so much.", "{T} is something I {v}."]
    out = []
    for _ in range(n):
        label = rng.randrange(2)
        verb = rng.choice(POSITIVE if label else NEGATIVE)
        thing = rng.choice(THINGS)
        text = rng.choice(templates).format(v=verb, t=thing, T=thing[0].upper() + thing[1:])
        out.append((text, label))
    return out


def build_sentiment(folder: Path) -> None:
    from transformers import BertForSequenceClassification

    seed_everything(2)
    rng = random.Random(2)
    tokenizer = wordpiece_tokenizer(generic_corpus(rng))
    config = bert_config(tokenizer, num_labels=2, id2label={0: "NEGATIVE", 1: "POSITIVE"},
                         label2id={"NEGATIVE": 0, "POSITIVE": 1})
    model = BertForSequenceClassification(config)
    examples = []
    for text, label in sentiment_sentences(rng, 600):
        enc = tokenizer(text)
        examples.append({**{k: enc[k] for k in ("input_ids", "token_type_ids", "attention_mask")}, "labels": label})
    train(model, examples, tokenizer, steps=150, seed=2)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


# -- named entities ----------------------------------------------------------------------------------

NER_TEMPLATES = [
    "{PER} lives in {LOC}.", "{PER} moved to {LOC} last year.", "Yesterday {PER} visited {LOC}.",
    "{PER} and {PER2} met in {LOC}.", "The weather in {LOC} is nice.", "{PER} likes coffee.",
    "In {LOC}, {PER} works as a {JOB}.", "Ask {PER} about {LOC}.", "{PER} flew from {LOC} to {LOC2}.",
]


def ner_text(rng: random.Random, max_sentences: int = 4) -> tuple[str, list[tuple[int, int, str]]]:
    """A few sentences and the character spans of their entities."""
    text, spans = "", []
    for _ in range(rng.randint(1, max_sentences)):
        if text:
            text += " "
        if rng.random() < 0.3:
            text += rng.choice(FILLER)
            continue
        template = rng.choice(NER_TEMPLATES)
        people = rng.sample(PEOPLE, 2)
        cities = rng.sample(CITIES, 2)
        values = {"PER": (people[0], "PER"), "PER2": (people[1], "PER"), "LOC": (cities[0], "LOC"),
                  "LOC2": (cities[1], "LOC"), "JOB": (rng.choice(JOBS), None)}
        pos = 0
        while pos < len(template):
            open_ = template.find("{", pos)
            if open_ < 0:
                text += template[pos:]
                break
            text += template[pos:open_]
            close = template.index("}", open_)
            value, kind = values[template[open_ + 1:close]]
            if kind:
                spans.append((len(text), len(text) + len(value), kind))
            text += value
            pos = close + 1
    return text, spans


def token_labels(tokenizer: Any, text: str, spans: list[tuple[int, int, str]], *, window: int = 64,
                 stride: int = 16) -> list[dict[str, Any]]:
    """The windows the app reads (same stride), labelled B-/I- on each word's first sub-token,
    -100 on the other sub-tokens and on special tokens."""
    enc = tokenizer(text, return_offsets_mapping=True, truncation=True, max_length=window, stride=stride,
                    return_overflowing_tokens=True)
    out = []
    for w in range(len(enc["input_ids"])):
        labels, last_word = [], None
        for word, (start, _end) in zip(enc.word_ids(w), enc["offset_mapping"][w]):
            if word is None or word == last_word:
                labels.append(-100)
            else:
                label = "O"
                for s, e, kind in spans:
                    if s <= start < e:
                        label = ("B-" if start == s else "I-") + kind
                labels.append(NER_LABELS.index(label))
            last_word = word
        out.append({"input_ids": enc["input_ids"][w], "token_type_ids": enc["token_type_ids"][w],
                    "attention_mask": enc["attention_mask"][w], "labels": labels})
    return out


def build_ner(folder: Path) -> None:
    from transformers import BertForTokenClassification

    seed_everything(3)
    rng = random.Random(3)
    tokenizer = wordpiece_tokenizer(generic_corpus(rng))
    config = bert_config(tokenizer, num_labels=len(NER_LABELS), id2label=dict(enumerate(NER_LABELS)),
                         label2id={label: i for i, label in enumerate(NER_LABELS)})
    model = BertForTokenClassification(config)
    examples = []
    while len(examples) < 2500:
        examples += token_labels(tokenizer, *ner_text(rng, max_sentences=rng.choice([4, 10])),
                                 window=config.max_position_embeddings)
    train(model, examples, tokenizer, steps=STEPS_NER, seed=3)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


# -- question answering --------------------------------------------------------------------------------

def qa_example(rng: random.Random, max_filler: int = 3) -> tuple[str, str, str]:
    """(question, context, answer) where the answer occurs once in the context."""
    person, city, job = rng.choice(PEOPLE), rng.choice(CITIES), rng.choice(JOBS)
    facts = [f"{person} lives in {city}.", f"{person} works as a {job}."]
    rng.shuffle(facts)
    sentences = [rng.choice(FILLER) for _ in range(rng.randint(0, max_filler))]
    at = rng.randint(0, len(sentences))
    context = " ".join(sentences[:at] + facts + sentences[at:])
    if rng.random() < 0.6:
        return f"Where does {person} live?", context, city
    return f"What does {person} do?", context, job


def qa_windows(tokenizer: Any, question: str, context: str, answer: str, *, window: int = 64,
               stride: int = 16) -> list[dict[str, Any]]:
    """The windows the app reads (same stride): the answer's tokens where it lies wholly inside,
    else the [CLS] token, so windows without the answer learn to say so."""
    start_char = context.index(answer)
    end_char = start_char + len(answer)
    enc = tokenizer(question, context, return_offsets_mapping=True, truncation="only_second", max_length=window,
                    stride=stride, return_overflowing_tokens=True)
    out = []
    for w in range(len(enc["input_ids"])):
        start = end = 0
        for i, ((s, e), sid) in enumerate(zip(enc["offset_mapping"][w], enc.sequence_ids(w))):
            if sid != 1:
                continue
            if s <= start_char < e:
                start = i
            if s < end_char <= e:
                end = i
        if not (start and end):
            start = end = 0
        out.append({"input_ids": enc["input_ids"][w], "token_type_ids": enc["token_type_ids"][w],
                    "attention_mask": enc["attention_mask"][w], "start_positions": start, "end_positions": end})
    return out


def build_qa(folder: Path) -> None:
    from transformers import BertForQuestionAnswering

    seed_everything(4)
    rng = random.Random(4)
    tokenizer = wordpiece_tokenizer(generic_corpus(rng))
    config = bert_config(tokenizer)
    model = BertForQuestionAnswering(config)
    examples = []
    while len(examples) < 15000:  # fresh examples for every step: the tiny model overfits repeats
        examples += qa_windows(tokenizer, *qa_example(rng, max_filler=rng.choice([3, 3, 12])),
                               window=config.max_position_embeddings)
    train(model, examples, tokenizer, steps=STEPS_QA, seed=4)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


BUILDERS: dict[str, Callable[[Path], None]] = {
    "gpt2": build_gpt2, "chat-gpt2": build_chat_gpt2, "sentiment": build_sentiment, "ner": build_ner, "qa": build_qa,
}
