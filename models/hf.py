"""Shared pieces of the transformers adapters: loading, context length, label probabilities.

Imported only when a transformers model loads (see models/tasks.py), so torch and
transformers load then and not at `import models`.
"""
from __future__ import annotations

from typing import Any

import transformers

from .base import Pipeline
from .errors import InvalidInput
from .fitting import WINDOW_KEYS, context_window
from .loading import check_architecture, resolve

MAX_BATCH_TOKENS = 512  # the longest input a classification batch pads to


def load_transformers(pipeline: Pipeline, auto_model: str, *, task_label: str, suffixes: tuple[str, ...],
                      model_types: tuple[str, ...] = (), processor: str = "AutoTokenizer") -> None:
    """Shared load for transformers models: config check, processor, weights to device and dtype."""
    path = resolve(pipeline.spec.model_id, allow_pickle=pipeline.allow_pickle)
    pipeline.report("reading the config")
    config = transformers.AutoConfig.from_pretrained(path, trust_remote_code=False)
    check_architecture(config, pipeline.spec.model_id, task_label, suffixes, model_types)
    pipeline.report("reading the tokenizer" if processor == "AutoTokenizer" else "reading the image processor")
    proc = getattr(transformers, processor).from_pretrained(path, trust_remote_code=False)
    pipeline.report(f"reading the weights onto {pipeline.device}")
    model = getattr(transformers, auto_model).from_pretrained(
        path, config=config, dtype=pipeline.dtype, device_map=pipeline.device,
        use_safetensors=None if pipeline.allow_pickle else True, trust_remote_code=False)
    model.eval()
    pipeline.model = model
    if processor == "AutoTokenizer":
        if not getattr(proc, "is_fast", False):
            raise InvalidInput(f"{pipeline.spec.model_id} has no fast tokenizer, which this app needs for character offsets.")
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
