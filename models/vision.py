"""Image classification for transformers image models and timm folders (via the timm wrapper)."""
from __future__ import annotations

from typing import Any

from .base import Pipeline
from .hf import probabilities
from .images import open_image
from .results import ImageLabels


class ImageClassification(Pipeline):
    task = "image-classification"
    auto_model, processor_class = "AutoModelForImageClassification", "AutoImageProcessor"
    architectures, model_types = ("ForImageClassification",), ("timm_wrapper",)
    task_label = "image classification"

    def preprocess(self, inputs: list[Any], **params: Any) -> dict[str, Any]:
        processor = self._require_loaded("processor")[0]
        images = [open_image(x) for x in inputs]
        return {"model_inputs": {"pixel_values": processor(images=images, return_tensors="pt")["pixel_values"]}}

    def postprocess(self, outputs: dict[str, Any], batch: dict[str, Any], *, top_k: int) -> list[ImageLabels]:
        """Top-k [{"label", "score"}] per image, highest first."""
        config = self._require_loaded("model")[0].config
        probs = probabilities(outputs["logits"], config)
        top = probs.topk(min(top_k, probs.shape[-1]), dim=-1)
        id2label = config.id2label or {}
        return [
            [{"label": id2label.get(int(i), str(int(i))), "score": float(s)} for s, i in zip(scores, ids)]
            for scores, ids in zip(top.values, top.indices)
        ]
