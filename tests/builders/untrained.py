"""Tiny text models with random (seeded) weights for tasks whose tests compare the app's reading of
the logits with the transformers pipeline for the same task: fill-mask (a masked language model)
and zero-shot classification (an NLI classifier, with transformers' usual label names)."""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any

VERSION = 1


def _tokenizer(seed: int) -> Any:
    from .text import generic_corpus, seed_everything, wordpiece_tokenizer

    seed_everything(seed)
    return wordpiece_tokenizer(generic_corpus(random.Random(seed)))


def build_fill_mask(folder: Path) -> None:
    from transformers import BertForMaskedLM

    from .text import bert_config

    tokenizer = _tokenizer(5)
    model = BertForMaskedLM(bert_config(tokenizer))
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


NLI_LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}  # entailment last, as in roberta-large-mnli


def build_nli(folder: Path) -> None:
    from transformers import BertForSequenceClassification

    from .text import bert_config

    tokenizer = _tokenizer(6)
    config = bert_config(tokenizer, num_labels=3, id2label=NLI_LABELS, label2id={v: k for k, v in NLI_LABELS.items()})
    model = BertForSequenceClassification(config)
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
