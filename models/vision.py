"""Image classification for transformers image models and timm folders (via the timm wrapper)."""
from __future__ import annotations

from typing import Any

import torch

from .base import Pipeline
from .hf import load_transformers, probabilities
from .images import open_image


class ImageClassification(Pipeline):
    task = "image-classification"

    def _load(self, device: str, dtype: Any) -> None:
        load_transformers(self, "AutoModelForImageClassification", task_label="image classification",
                          suffixes=("ForImageClassification",), model_types=("timm_wrapper",),
                          processor="AutoImageProcessor")

    def predict(self, inputs: Any, **params: Any) -> list[dict[str, Any]]:
        return self.predict_batch([inputs], **params)[0]

    def predict_batch(self, inputs: list[Any], *, top_k: Any = 5, **params: Any) -> list[list[dict[str, Any]]]:
        """Top-k [{"label", "score"}] per image, highest first."""
        model, processor = self._require_loaded("model", "processor")
        k = self.declaration.check({"top_k": top_k, **params})["top_k"]
        images = [open_image(x) for x in inputs]
        pixels = processor(images=images, return_tensors="pt")["pixel_values"]
        with torch.inference_mode():
            logits = model(pixel_values=pixels.to(model.device, model.dtype)).logits
        probs = probabilities(logits, model.config)
        top = probs.topk(min(k, probs.shape[-1]), dim=-1)
        id2label = model.config.id2label or {}
        return [
            [{"label": id2label.get(int(i), str(int(i))), "score": float(s)} for s, i in zip(scores, ids)]
            for scores, ids in zip(top.values.cpu(), top.indices.cpu())
        ]
