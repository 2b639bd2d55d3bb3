"""A tiny random Stable Diffusion pipeline for tests, built offline in about a second.

The components follow diffusers' own fast tests (get_dummy_components): a 2-block UNet and
VAE with 4 and 8 channels, a 2-layer CLIP text encoder. Diffusers' tests download their
tokenizer (hf-internal-testing/tiny-random-clip); here a real CLIP BPE tokenizer is cut down
from the vocabulary that open_clip ships: the 256 byte symbols, their end-of-word forms, the
first MERGES merges, and the two special tokens. The pipeline is saved with safetensors in
the layout of a Hub snapshot (model_index.json + one folder per component).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

VERSION = 1
MERGES = 1000        # of CLIP's 48,894; enough for common English words to stay whole
SAMPLE_SIZE = 32     # latent side; the VAE halves images, so the native size is 64 x 64


def clip_tokenizer(merges: int = MERGES) -> Any:
    """A CLIPTokenizer with CLIP's real byte-level BPE, keeping only the first `merges` merges."""
    import gzip

    from open_clip.tokenizer import bytes_to_unicode, default_bpe
    from transformers import CLIPTokenizer

    lines = gzip.open(default_bpe()).read().decode("utf-8").split("\n")[1:1 + merges]
    pairs = [tuple(line.split()) for line in lines]
    symbols = list(bytes_to_unicode().values())
    vocab_list = symbols + [s + "</w>" for s in symbols] + ["".join(p) for p in pairs]
    vocab_list += ["<|startoftext|>", "<|endoftext|>"]
    vocab = {token: i for i, token in enumerate(vocab_list)}
    return CLIPTokenizer(vocab=vocab, merges=pairs, model_max_length=77)


def build_diffusion(folder: Path) -> None:
    import torch
    from diffusers import AutoencoderKL, EulerDiscreteScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    folder = Path(folder)
    tokenizer = clip_tokenizer()
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=(4, 8), layers_per_block=1, sample_size=SAMPLE_SIZE, in_channels=4, out_channels=4,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"), up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32, norm_num_groups=2,
    )
    torch.manual_seed(0)
    vae = AutoencoderKL(
        block_out_channels=[4, 8], in_channels=3, out_channels=3,
        down_block_types=["DownEncoderBlock2D", "DownEncoderBlock2D"],
        up_block_types=["UpDecoderBlock2D", "UpDecoderBlock2D"], latent_channels=4, norm_num_groups=2,
        sample_size=SAMPLE_SIZE * 2,
    )
    torch.manual_seed(0)
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
        hidden_size=32, intermediate_size=64, num_attention_heads=4, num_hidden_layers=2,
        vocab_size=len(tokenizer), max_position_embeddings=77, projection_dim=32,
    ))
    # The scheduler SD 1.5 and SD-Turbo ship (scaled-linear betas); every named scheduler derives from it.
    scheduler = EulerDiscreteScheduler(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear",
                                       timestep_spacing="trailing", steps_offset=1)
    pipe = StableDiffusionPipeline(
        unet=unet, vae=vae, text_encoder=text_encoder, tokenizer=tokenizer, scheduler=scheduler,
        safety_checker=None, feature_extractor=None, requires_safety_checker=False,
    )
    pipe.save_pretrained(str(folder), safe_serialization=True)
    (folder / "README.md").write_text(
        "Tiny random Stable Diffusion pipeline for tests (64 x 64 images, random weights). "
        "Built by tests/builders/diffusion.py.\n")
