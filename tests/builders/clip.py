"""A tiny open_clip model for tests, trained in seconds to match colour words with coloured images.

The folder has the layout of open_clip's Hub export (open_clip_config.json with model_cfg and
preprocess_cfg, open_clip_model.safetensors), so models.clip loads it through its real
local-folder path. Random weights would only show shapes; a few seconds of contrastive
training on solid colours make "red" really pick the red image, which catches bugs that mix
up the order of labels, images or scores.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

VERSION = 1

# Colours far apart in RGB, so a 2-layer ViT at 32 x 32 separates them after a few steps.
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (220, 30, 30),
    "green": (30, 180, 40),
    "blue": (30, 60, 220),
    "yellow": (240, 220, 30),
    "purple": (140, 40, 170),
    "orange": (250, 140, 20),
    "white": (245, 245, 245),
    "black": (15, 15, 15),
}
TEMPLATES = ["a photo of a {}.", "{}", "a {} picture", "something {}", "the colour {}"]

MODEL_CFG: dict[str, Any] = {
    "embed_dim": 32,
    "vision_cfg": {"image_size": 32, "layers": 2, "width": 32, "head_width": 16, "patch_size": 8},
    "text_cfg": {"context_length": 77, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 2},
}
PREPROCESS_CFG: dict[str, Any] = {
    "mean": [0.48145466, 0.4578275, 0.40821073],
    "std": [0.26862954, 0.26130258, 0.27577711],
    "interpolation": "bicubic",
    "resize_mode": "shortest",
}


def colour_image(name: str, size: int = 48, *, seed: int = 0) -> Any:
    """A solid colour with a little noise, as a PIL image (bigger than 32 px, so resizing runs)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = np.array(COLOURS[name], dtype=np.float32)
    pixels = base + rng.normal(0, 12, size=(size, size, 3))
    return Image.fromarray(np.clip(pixels, 0, 255).astype("uint8"), "RGB")


def build_clip(folder: Path, *, steps: int = 80) -> None:
    import numpy as np
    import open_clip
    import torch
    from safetensors.torch import save_file

    folder = Path(folder)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    model = open_clip.CLIP(**MODEL_CFG)
    tokenizer = open_clip.SimpleTokenizer(context_length=MODEL_CFG["text_cfg"]["context_length"])
    mean = torch.tensor(PREPROCESS_CFG["mean"]).view(3, 1, 1)
    std = torch.tensor(PREPROCESS_CFG["std"]).view(3, 1, 1)
    names = list(COLOURS)
    base = torch.tensor([COLOURS[n] for n in names], dtype=torch.float32)  # (n, 3)
    size = MODEL_CFG["vision_cfg"]["image_size"]
    tokens = {t: tokenizer([t.format(n) for n in names]) for t in TEMPLATES}
    # The 49408 x 32 token table stays random (distinct per token is all the colour words need):
    # training it would triple the time of each step.
    model.token_embedding.weight.requires_grad_(False)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=2e-3, weight_decay=0.0, foreach=True)
    loss_fn = open_clip.ClipLoss()
    model.train()
    for step in range(steps):
        # Every batch holds each colour once, with a random shade and noise, captioned by a random template.
        shade = base + torch.from_numpy(rng.normal(0, 20, size=base.shape)).float()
        noise = torch.from_numpy(rng.normal(0, 12, size=(len(names), 3, size, size))).float()
        pixels = ((shade.view(-1, 3, 1, 1) + noise).clamp(0, 255) / 255 - mean) / std
        text = tokens[TEMPLATES[step % len(TEMPLATES)]]
        image_features, text_features, logit_scale = model(pixels, text)
        loss = loss_fn(image_features, text_features, logit_scale)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    model.eval()
    (folder / "open_clip_config.json").write_text(json.dumps(
        {"model_cfg": MODEL_CFG, "preprocess_cfg": PREPROCESS_CFG}, indent=2))
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    save_file(state, str(folder / "open_clip_model.safetensors"))
    (folder / "README.md").write_text(
        f"Tiny open_clip model for tests, trained {steps} steps to match {', '.join(names)} "
        "with solid-colour images. Built by tests/builders/clip.py.\n")
