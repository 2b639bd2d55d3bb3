"""A tiny masked language model (BERT, random weights, seeded) for the fill-mask task: enough to
compare the app's reading of its logits with transformers' fill-mask pipeline."""
from __future__ import annotations

import random
from pathlib import Path

VERSION = 1


def build_fill_mask(folder: Path) -> None:
    from transformers import BertForMaskedLM

    from .text import bert_config, generic_corpus, seed_everything, wordpiece_tokenizer

    seed_everything(5)
    tokenizer = wordpiece_tokenizer(generic_corpus(random.Random(5)))
    model = BertForMaskedLM(bert_config(tokenizer))
    model.eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
