"""The controls fitted to a model from its JSON files (models/fitting.py), held to what the loaded
adapters say about the same tiny models, without loading anything for the page."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from models import ModelManager, ModelSpec, parse_catalog
from models.fitting import (DEFAULT_WINDOW, MAX_SIDE, MIN_SIDE, context_window, fitted, image_defaults,
                            side_of)
from models.tasks import task

ROOT = Path(__file__).resolve().parent.parent
DECLARED_MAX_NEW_TOKENS = task("text-generation").param("max_new_tokens")


def load(task_key: str, folder: str, **entry):
    manager = ModelManager(parse_catalog({task_key: [{"id": folder, **entry}]}), device="cpu")
    return manager, manager.get(task_key, folder)


def spec(task_key: str, model_id: str, **defaults) -> ModelSpec:
    return parse_catalog({task_key: [{"id": model_id, "defaults": defaults}]}).spec(task_key, model_id)


def write_json(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def declared(task_key: str, name: str) -> dict:
    p = task(task_key).param(name)
    return {"value": p.default, "minimum": p.low, "maximum": p.high}


# -- the page stays torch-free ----------------------------------------------------------------------
def test_fitting_imports_no_torch(tiny_models):
    code = ("import sys, models.fitting as f\n"
            "from models.base import ModelSpec\n"
            f"f.fitted(ModelSpec('text-to-image', {tiny_models['diffusion']!r}))\n"
            f"f.fitted(ModelSpec('text-generation', {tiny_models['gpt2']!r}))\n"
            "f.fitted(ModelSpec('text-generation', 'owner/not-cached'))\n"
            "heavy = [m for m in ('torch', 'transformers', 'diffusers', 'open_clip') if m in sys.modules]\n"
            "assert not heavy, heavy\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr


# -- against the loaded adapters --------------------------------------------------------------------
@pytest.mark.parametrize("name", ["gpt2", "chat-gpt2"])
def test_max_new_tokens_is_the_loaded_models_context_window(tiny_models, name):
    from models.hf import context_length

    manager, generator = load("text-generation", tiny_models[name])
    try:
        window = context_length(generator.model, generator.tokenizer)
    finally:
        manager.unload_all()
    got = fitted(spec("text-generation", tiny_models[name]))["max_new_tokens"]
    assert got["maximum"] == min(DECLARED_MAX_NEW_TOKENS.high, window)
    assert got["value"] == min(DECLARED_MAX_NEW_TOKENS.default, got["maximum"])
    assert got["minimum"] == DECLARED_MAX_NEW_TOKENS.low


def expected_from(defaults: dict) -> dict:
    """What the text-to-image tab's sliders get from a loaded pipeline's defaults()."""
    side = {"minimum": defaults["min_side"], "maximum": defaults["max_side"]}
    return {"width": {"value": defaults["width"], **side}, "height": {"value": defaults["height"], **side},
            "steps": {"value": defaults["steps"], "maximum": defaults["max_steps"]},
            "guidance_scale": {"value": defaults["guidance_scale"]}}


def assert_fits(got: dict, loaded_defaults: dict) -> None:
    for name, expected in expected_from(loaded_defaults).items():
        assert {k: got[name][k] for k in expected} == expected, name


@pytest.mark.parametrize("catalog_defaults", [{}, {"steps": 2, "guidance_scale": 0.0}, {"width": 96}])
def test_text_to_image_fits_what_the_loaded_pipeline_gives(tiny_models, catalog_defaults):
    folder = tiny_models["diffusion"]
    manager, t2i = load("text-to-image", folder, defaults=catalog_defaults)
    try:
        loaded = t2i.defaults()
    finally:
        manager.unload_all()
    got = fitted(spec("text-to-image", folder, **catalog_defaults))
    assert_fits(got, loaded)
    assert (got["width"]["value"], got["width"]["maximum"]) == (catalog_defaults.get("width", 64), 128)
    assert got["steps"]["value"] == catalog_defaults.get("steps", 25)
    assert got["guidance_scale"]["value"] == catalog_defaults.get("guidance_scale", 7.5)


def test_a_latent_consistency_scheduler_gives_few_steps_like_the_loaded_pipeline(tiny_models, tmp_path):
    folder = tmp_path / "lcm"
    shutil.copytree(tiny_models["diffusion"], folder)
    index = json.loads((folder / "model_index.json").read_text())
    index["scheduler"] = ["diffusers", "LCMScheduler"]
    write_json(folder / "model_index.json", index)
    config = json.loads((folder / "scheduler" / "scheduler_config.json").read_text())
    write_json(folder / "scheduler" / "scheduler_config.json", {**config, "_class_name": "LCMScheduler"})
    manager, t2i = load("text-to-image", str(folder))
    try:
        loaded = t2i.defaults()
        assert type(t2i.pipe.scheduler).__name__ == "LCMScheduler"
    finally:
        manager.unload_all()
    got = fitted(spec("text-to-image", str(folder)))
    assert_fits(got, loaded)
    assert (got["steps"]["value"], got["guidance_scale"]["value"]) == (4, 1.0)


def test_image_classification_top_k_is_the_label_count(tiny_models):
    manager, classifier = load("image-classification", tiny_models["vit"])
    try:
        labels = classifier.model.config.num_labels
    finally:
        manager.unload_all()
    got = fitted(spec("image-classification", tiny_models["vit"]))["top_k"]
    assert labels == 3 and got == {"value": 3, "minimum": 1, "maximum": 3}


def test_fill_mask_top_k_is_at_most_the_vocabulary(tiny_models):
    manager, fill = load("fill-mask", tiny_models["fill-mask"])
    try:
        vocab = fill.model.config.vocab_size
    finally:
        manager.unload_all()
    p = task("fill-mask").param("top_k")
    assert fitted(spec("fill-mask", tiny_models["fill-mask"]))["top_k"] == {
        "value": p.default, "minimum": p.low, "maximum": min(p.high, vocab)}


# -- from the files alone ---------------------------------------------------------------------------
@pytest.mark.parametrize("config, labels", [
    ({"architecture": "resnet18", "num_classes": 7, "pretrained_cfg": {"num_classes": 7}}, 7),
    ({"architecture": "resnet18", "label_names": ["a", "b"]}, 2),
    ({"architecture": "resnet18", "pretrained_cfg": {"num_classes": 4}}, 4),
    ({"architectures": ["ViTForImageClassification"], "id2label": {"0": "a", "1": "b", "2": "c", "3": "d"}}, 4),
])
def test_timm_and_transformers_label_counts(tmp_path, config, labels):
    write_json(tmp_path / "config.json", config)
    got = fitted(spec("image-classification", str(tmp_path)))["top_k"]
    assert got == {"value": min(5, labels), "minimum": 1, "maximum": labels}


def test_a_timm_folder_with_many_classes_keeps_the_declared_limit(efficientnet):
    assert fitted(spec("image-classification", efficientnet))["top_k"] == declared("image-classification", "top_k")


@pytest.mark.parametrize("config, tokenizer, window", [
    ({"n_positions": 300, "max_position_embeddings": 600}, None, 600),
    ({"n_positions": 300}, {"model_max_length": 100}, 300),
    ({"text_config": {"max_position_embeddings": 700}}, None, 700),
    ({"max_position_embeddings": 0, "text_config": {"max_position_embeddings": 800}}, None, 800),
    ({"seq_length": 512}, None, 512),
    ({"max_seq_len": 640}, None, 640),  # DBRX's name for it
    ({}, {"model_max_length": 200}, 200),
    ({}, {"model_max_length": 1000000000000000019884624838656}, DEFAULT_WINDOW),
    ({}, None, DEFAULT_WINDOW),
])
def test_the_context_window_from_the_files(tmp_path, config, tokenizer, window):
    write_json(tmp_path / "config.json", config)
    if tokenizer is not None:
        write_json(tmp_path / "tokenizer_config.json", tokenizer)
    got = fitted(spec("text-generation", str(tmp_path)))["max_new_tokens"]
    assert got["maximum"] == min(1024, window) and got["value"] == min(128, window)


def old_context_length(model, tokenizer) -> int:
    """models/hf.py context_length before it shared context_window: the reference it must still equal."""
    config = model.config
    for name in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(config, name, None) or getattr(getattr(config, "text_config", None), name, None)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < 1_000_000 else 2048


def test_hf_context_length_is_unchanged():
    from transformers import GPT2Config, LlavaConfig

    from models.hf import context_length

    ns = SimpleNamespace
    configs = [GPT2Config(n_positions=77), LlavaConfig(), ns(), ns(seq_length=33), ns(n_positions=1.5e3),
               ns(max_position_embeddings=None, text_config=ns(max_position_embeddings=99)),
               ns(max_position_embeddings=0, n_positions=12), ns(text_config={"n_positions": 5}),
               ns(max_sequence_length=-3)]
    tokenizers = [ns(), ns(model_max_length=300), ns(model_max_length=int(1e30)), ns(model_max_length=0)]
    for config in configs:
        for tokenizer in tokenizers:
            model = ns(config=config)
            assert context_length(model, tokenizer) == old_context_length(model, tokenizer), (config, tokenizer)
    assert context_length(ns(config=GPT2Config(n_positions=77)), ns()) == 77


def test_a_hub_id_is_read_from_the_cache_only(tmp_path, monkeypatch, tiny_models):
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    repo = tmp_path / "models--owner--chat"
    write_json(repo / "snapshots" / "0123abcd" / "config.json", {"text_config": {"max_position_embeddings": 512}})
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123abcd")
    assert fitted(spec("text-generation", "owner/chat"))["max_new_tokens"] == {
        "value": 128, "minimum": 1, "maximum": 512}
    # A diffusers snapshot in the cache fits the same as its folder.
    snapshot = tmp_path / "models--owner--tiny-sd" / "snapshots" / "feed"
    for name in ("model_index.json", "unet/config.json", "vae/config.json", "scheduler/scheduler_config.json"):
        write_json(snapshot / name, json.loads((Path(tiny_models["diffusion"]) / name).read_text()))
    (tmp_path / "models--owner--tiny-sd" / "refs").mkdir()
    (tmp_path / "models--owner--tiny-sd" / "refs" / "main").write_text("feed")
    assert fitted(spec("text-to-image", "owner/tiny-sd")) == fitted(spec("text-to-image", tiny_models["diffusion"]))
    # Not in the cache: the declaration, and never the network (HF_HUB_OFFLINE is not what stops it).
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    assert fitted(spec("text-generation", "owner/absent"))["max_new_tokens"] == declared(
        "text-generation", "max_new_tokens")


@pytest.mark.parametrize("content", [None, "{not json", "[1, 2]", '"text"', "\xff\xfe"])
def test_a_missing_or_corrupt_config_gives_the_declaration(tmp_path, content):
    for name in ("config.json", "model_index.json", "tokenizer_config.json"):
        if content is not None:
            (tmp_path / name).write_text(content, encoding="latin-1")
    assert fitted(spec("text-generation", str(tmp_path)))["max_new_tokens"] == declared(
        "text-generation", "max_new_tokens")
    assert fitted(spec("image-classification", str(tmp_path)))["top_k"] == declared("image-classification", "top_k")
    image = fitted(spec("text-to-image", str(tmp_path), steps=2, guidance_scale=0.0))
    assert image["width"] == declared("text-to-image", "width")  # None: the model's own, once loaded
    assert image["steps"] == {**declared("text-to-image", "steps"), "value": 2}
    assert image["guidance_scale"] == {**declared("text-to-image", "guidance_scale"), "value": 0.0}


@pytest.mark.parametrize("model_id", ["", "   ", "/no/such/folder", "not a hub id", "a/../../b", "x" * 600])
def test_an_unreadable_model_id_gives_the_declaration(model_id):
    got = fitted(ModelSpec("text-generation", model_id))
    assert got["max_new_tokens"] == declared("text-generation", "max_new_tokens")


def test_a_diffusers_folder_without_sizes_falls_back_like_the_adapter(tmp_path):
    write_json(tmp_path / "model_index.json", {"_class_name": "FluxPipeline", "transformer": ["diffusers", "X"],
                                               "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
                                               "vae": ["diffusers", "AutoencoderKL"]})
    write_json(tmp_path / "transformer" / "config.json", {"in_channels": 64})  # no sample_size
    got = fitted(spec("text-to-image", str(tmp_path)))
    assert got["width"] == {"value": 512, "minimum": MIN_SIDE, "maximum": 1024}
    assert (got["steps"]["value"], got["guidance_scale"]["value"]) == (25, 7.5)


@pytest.mark.parametrize("denoiser, sample, vae_blocks, side", [
    ("unet", 128, [128, 256, 512, 512], 1024),      # SDXL
    ("transformer", 128, [128, 256, 512, 512], 1024),  # SD3, PixArt
    ("unet", 96, [128, 256, 512, 512], 768),         # SD 2.x
    ("unet", [64, 96], [4, 8], 192),
    ("unet", 1000, [1, 2, 3, 4], MAX_SIDE),
    ("unet", 4, [1, 2], MIN_SIDE),
])
def test_native_sizes_match_the_adapters_rule(tmp_path, denoiser, sample, vae_blocks, side):
    from models.diffusion import native_side

    write_json(tmp_path / "model_index.json", {denoiser: ["diffusers", "M"], "vae": ["diffusers", "AutoencoderKL"],
                                               "scheduler": ["diffusers", "EulerDiscreteScheduler"]})
    write_json(tmp_path / denoiser / "config.json", {"sample_size": sample})
    write_json(tmp_path / "vae" / "config.json", {"block_out_channels": vae_blocks})
    pipe = SimpleNamespace(**{denoiser: SimpleNamespace(config=SimpleNamespace(sample_size=sample))},
                           vae_scale_factor=2 ** (len(vae_blocks) - 1))
    assert native_side(pipe) == side_of(sample, 2 ** (len(vae_blocks) - 1)) == side
    got = fitted(spec("text-to-image", str(tmp_path)))
    assert got["width"] == got["height"] == {"value": side, "minimum": MIN_SIDE, "maximum": min(MAX_SIDE, 2 * side)}


def test_image_defaults_is_the_one_rule():
    declaration = task("text-to-image")
    d = image_defaults(512, "LCMScheduler", {"steps": 8, "num_images": 3, "unknown": 1}, declaration)
    assert d == {"width": 512, "height": 512, "steps": 8, "guidance_scale": 1.0, "negative_prompt": "",
                 "scheduler": "default", "min_side": MIN_SIDE, "max_side": 1024, "max_steps": 100, "max_images": 4}
    assert context_window({"n_positions": 64}, 32) == 64 and context_window({}, 32) == 32


def test_catalog_defaults_of_other_parameters_are_kept_within_the_limits(tiny_models):
    got = fitted(spec("text-generation", tiny_models["gpt2"], max_new_tokens=5000, temperature=0.2, seed=3))
    assert got["max_new_tokens"] == {"value": 256, "minimum": 1, "maximum": 256}
    assert got["temperature"] == {"value": 0.2, "minimum": 0.0, "maximum": 2.0}
    assert "seed" not in got and "top_p" not in got
    assert fitted(spec("sentiment", tiny_models["sentiment"])) == {}


def test_a_changed_config_is_read_again(tmp_path):
    config = tmp_path / "config.json"
    write_json(config, {"n_positions": 300})
    assert fitted(spec("text-generation", str(tmp_path)))["max_new_tokens"]["maximum"] == 300
    write_json(config, {"n_positions": 500})
    stamp = config.stat().st_mtime_ns + 10**9  # a later time even where the clock is coarse
    os.utime(config, ns=(stamp, stamp))
    assert fitted(spec("text-generation", str(tmp_path)))["max_new_tokens"]["maximum"] == 500
    config.unlink()
    assert fitted(spec("text-generation", str(tmp_path)))["max_new_tokens"]["maximum"] == 1024


def test_fitting_is_fast(tiny_models):
    import time

    specs = [spec("text-to-image", tiny_models["diffusion"]), spec("text-generation", tiny_models["gpt2"]),
             spec("image-classification", tiny_models["vit"])]
    for s in specs:
        fitted(s)
    start = time.perf_counter()
    for _ in range(100):
        for s in specs:
            fitted(s)
    assert (time.perf_counter() - start) / 300 < 0.005  # about 0.05 ms each here; a loose bound for busy CI
