"""Bench-sized models with random weights, built offline into benchmarks/.cache (see common.cached_build).

Tiny test models (tests/builders) measure overhead: their forward pass takes well under a
millisecond. These are big enough that batching and streaming have real work to share:

    bert-4x256    BertForSequenceClassification, 4 layers, hidden 256, the tests' WordPiece tokenizer
    distilbert-6x768  DistilBertForSequenceClassification the size of the catalog's default sentiment
                  model (6 layers, dim 768), the same tokenizer
    gpt2-6x256    GPT2LMHeadModel, 6 layers, n_embd 256, a word-level tokenizer (one streamed piece per token)
    clip-vitb32   open_clip ViT-B-32 (151M parameters), random weights, open_clip's Hub folder layout
    gallery-64    64 JPEG images, 256 x 256, for CLIP search
"""
from __future__ import annotations

import json
import random
from pathlib import Path

VERSION = 1


def build_bert(folder: Path) -> None:
    import torch
    from transformers import BertForSequenceClassification

    from tests.builders.text import bert_config, generic_corpus, wordpiece_tokenizer

    torch.manual_seed(10)
    tokenizer = wordpiece_tokenizer(generic_corpus(random.Random(10)), max_length=128)
    config = bert_config(tokenizer, hidden_size=256, num_hidden_layers=4, num_attention_heads=4,
                         intermediate_size=1024, max_position_embeddings=128, num_labels=2,
                         id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})
    model = BertForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def build_distilbert(folder: Path) -> None:
    """The size of the catalog's default sentiment model (DistilBERT base: 6 layers, dim 768),
    with the tests' small WordPiece vocabulary and random weights."""
    import torch
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    from tests.builders.text import generic_corpus, wordpiece_tokenizer

    torch.manual_seed(14)
    tokenizer = wordpiece_tokenizer(generic_corpus(random.Random(14)), max_length=128)
    config = DistilBertConfig(vocab_size=len(tokenizer), dim=768, n_layers=6, n_heads=12, hidden_dim=3072,
                              max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id, num_labels=2,
                              id2label={0: "NEGATIVE", 1: "POSITIVE"}, label2id={"NEGATIVE": 0, "POSITIVE": 1})
    model = DistilBertForSequenceClassification(config).eval()
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def word_tokenizer(corpus: list[str]) -> object:
    """A word-level tokenizer (one token per whitespace-separated word, decoded joined by spaces),
    so a TextIteratorStreamer emits one piece per generated token, as it nearly does for real
    BPE models on English; a small byte-level BPE on a random model would glue many tokens
    into one word."""
    from tokenizers import Tokenizer, models as tmodels, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = sorted({w for line in corpus for w in line.split()})
    vocab = {"<|endoftext|>": 0, "<unk>": 1, **{w: i + 2 for i, w in enumerate(words)}}
    tok = Tokenizer(tmodels.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, bos_token="<|endoftext|>", eos_token="<|endoftext|>",
                                   unk_token="<unk>", model_max_length=512)


def build_gpt2(folder: Path) -> None:
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from tests.builders.text import generic_corpus

    torch.manual_seed(11)
    tokenizer = word_tokenizer(generic_corpus(random.Random(11), 600))
    # No end-of-text id in the config: a random model that happened to pick it would stop early,
    # and the streaming benchmark wants every run to make exactly max_new_tokens tokens.
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=256, n_layer=6, n_head=4, n_positions=512,
                        bos_token_id=None, eos_token_id=None)
    model = GPT2LMHeadModel(config).eval()
    model.generation_config.eos_token_id = None
    model.generation_config.bos_token_id = None
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def build_clip_vitb32(folder: Path) -> None:
    import open_clip
    import torch
    from safetensors.torch import save_file

    torch.manual_seed(12)
    model = open_clip.create_model("ViT-B-32", pretrained=None)
    cfg = open_clip.get_model_config("ViT-B-32")
    preprocess = {"mean": list(open_clip.OPENAI_DATASET_MEAN), "std": list(open_clip.OPENAI_DATASET_STD),
                  "interpolation": "bicubic", "resize_mode": "shortest"}
    (folder / "open_clip_config.json").write_text(json.dumps({"model_cfg": cfg, "preprocess_cfg": preprocess}))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))


def build_gallery(folder: Path, n: int = 64, size: int = 256) -> None:
    """Solid colours with noise and a stripe, each image different (distinct pixel hashes)."""
    import numpy as np
    from PIL import Image

    from tests.builders.clip import COLOURS

    rng = np.random.default_rng(13)
    names = list(COLOURS)
    for i in range(n):
        base = np.array(COLOURS[names[i % len(names)]], dtype=np.float32)
        pixels = base + rng.normal(0, 18, size=(size, size, 3))
        pixels[:, (i * 7) % size:(i * 7) % size + 16] = 255 - base  # a stripe somewhere
        Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"), "RGB").save(folder / f"img-{i:02d}.jpg", quality=90)


def bert() -> str:
    from .common import cached_build
    return cached_build("bert-4x256", build_bert)


def distilbert() -> str:
    from .common import cached_build
    return cached_build("distilbert-6x768", build_distilbert)


def gpt2() -> str:
    from .common import cached_build
    return cached_build("gpt2-6x256", build_gpt2)


def clip_vitb32() -> str:
    from .common import cached_build
    return cached_build("clip-vitb32", build_clip_vitb32)


def gallery() -> list[str]:
    from .common import cached_build
    folder = Path(cached_build("gallery-64", build_gallery))
    return sorted(str(p) for p in folder.glob("*.jpg"))
