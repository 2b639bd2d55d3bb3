"""The task registry: canonical names, aliases, and where each task's adapter lives."""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from .errors import UnknownTask

if TYPE_CHECKING:
    from .base import Pipeline

# task -> (module, class). Modules are imported on first use, so `import models` stays light.
TASKS: dict[str, tuple[str, str]] = {
    "text-generation": ("models.text", "TextGeneration"),
    "sentiment": ("models.text", "Sentiment"),
    "ner": ("models.text", "NamedEntities"),
    "question-answering": ("models.question_answering", "QuestionAnswering"),
    "image-classification": ("models.vision", "ImageClassification"),
    "clip": ("models.clip", "ClipMatching"),
    "text-to-image": ("models.diffusion", "TextToImage"),
}

ALIASES = {
    "generation": "text-generation", "text_generation": "text-generation", "chat": "text-generation",
    "text-classification": "sentiment", "sentiment-analysis": "sentiment",
    "token-classification": "ner", "named-entities": "ner", "entities": "ner",
    "qa": "question-answering", "question_answering": "question-answering",
    "image_classification": "image-classification", "zero-shot-image-classification": "clip",
    "text_to_image": "text-to-image", "diffusion": "text-to-image",
}


def canonical_task(name: str) -> str:
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in TASKS:
        text = name if isinstance(name, str) else str(name)
        shown = repr(text if len(text) <= 40 else text[:40] + "…")
        raise UnknownTask(f"Unknown task {shown}; use one of: {', '.join(TASKS)}.")
    return key


def adapter_class(task: str) -> type["Pipeline"]:
    """The adapter for a task, importing its module (and torch, transformers...) on first use."""
    module, cls = TASKS[canonical_task(task)]
    return getattr(importlib.import_module(module), cls)
