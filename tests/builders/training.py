"""Base models for the fine-tuning tests: a tiny BERT classifier with random weights (the tokenizer of the
tests' sentiment model, so the same templates read the same), for "fine-tuning teaches it the task"."""
from __future__ import annotations

import random
from pathlib import Path

from tests.builders.text import bert_config, generic_corpus, seed_everything, wordpiece_tokenizer

VERSION = 1


def build_random_bert(folder: Path) -> None:
    from transformers import BertForSequenceClassification

    seed_everything(0)
    tokenizer = wordpiece_tokenizer(generic_corpus(random.Random(2)))
    model = BertForSequenceClassification(bert_config(tokenizer, num_labels=2))  # no training: random weights
    model.save_pretrained(folder, safe_serialization=True)
    tokenizer.save_pretrained(folder)
