"""A tiny random ViT image classifier with named labels, saved as a Hub-style folder."""
from __future__ import annotations

from pathlib import Path

VERSION = 1

VIT_LABELS = {0: "tabby cat", 1: "golden retriever", 2: "space shuttle"}


def build_vit(folder: Path) -> None:
    import torch
    from transformers import ViTConfig, ViTForImageClassification, ViTImageProcessor

    torch.manual_seed(5)
    config = ViTConfig(image_size=32, patch_size=8, num_channels=3, hidden_size=32, num_hidden_layers=2,
                       num_attention_heads=2, intermediate_size=64, num_labels=len(VIT_LABELS),
                       id2label=dict(VIT_LABELS), label2id={v: k for k, v in VIT_LABELS.items()})
    model = ViTForImageClassification(config)
    model.eval()
    model.save_pretrained(folder)
    ViTImageProcessor(size={"height": 32, "width": 32}, do_resize=True, do_normalize=True,
                      image_mean=[0.5, 0.5, 0.5], image_std=[0.5, 0.5, 0.5]).save_pretrained(folder)
