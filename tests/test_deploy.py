"""Deploying: Spaces front matter, hosted-mode detection, ZeroGPU wrapping, --download, auth files."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import types
from pathlib import Path

import pytest
import yaml

from tests.launch import ROOT, launch_app

import app
from models import DEFAULT_CATALOG, load_catalog, parse_catalog
from models.download import download, hub_repo


def front_matter() -> dict:
    text = (ROOT / "README.md").read_text()
    match = re.match(r"^---\n(.*?)\n---\n", text, re.S)
    assert match, "README.md must start with the Spaces front matter"
    return yaml.safe_load(match.group(1))


def test_front_matter_matches_requirements_and_catalog() -> None:
    meta = front_matter()
    assert meta["sdk"] == "gradio" and meta["app_file"] == "app.py"
    floor = re.search(r"^gradio>=([\d.]+)", (ROOT / "requirements.txt").read_text(), re.M).group(1)
    assert meta["sdk_version"] == floor
    catalog = load_catalog()
    defaults = [hub_repo(task, catalog.default(task)) for task in catalog.tasks()]
    assert meta["models"] == defaults
    assert meta["title"] and meta["emoji"] and meta["short_description"] and meta["suggested_hardware"]


@pytest.mark.parametrize("env, hosted", [({}, False), ({"SPACE_ID": "someone/playground"}, True)])
def test_hosted_mode_follows_space_id(monkeypatch: pytest.MonkeyPatch, env: dict, hosted: bool) -> None:
    monkeypatch.delenv("SPACE_ID", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert app.parse_args([]).hosted is hosted
    assert app.parse_args(["--hosted"]).hosted is True


def test_auth_from_pairs_and_from_a_file(tmp_path: Path) -> None:
    file = tmp_path / "users.txt"
    file.write_text("# who may log in\nann:secret\nbob:hunter2\n")
    assert app.parse_auth(["me:pw", str(file)]) == [("me", "pw"), ("ann", "secret"), ("bob", "hunter2")]
    assert app.parse_auth([]) is None
    with pytest.raises(Exception, match="USER:PASS"):
        app.parse_auth(["nopassword"])


def test_zero_gpu_detection(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SPACES_ZERO_GPU", raising=False)
    assert app.zero_gpu() is False
    monkeypatch.setenv("SPACES_ZERO_GPU", "true")
    assert app.zero_gpu() is True


class FakeSpaces(types.ModuleType):
    """A stand-in for the `spaces` package: records what is wrapped and the durations asked for."""

    def __init__(self) -> None:
        super().__init__("spaces")
        self.wrapped: list[str] = []
        self.durations: list[int] = []

    def GPU(self, duration: object = 60):  # noqa: N802 - the real package's name
        import functools
        import inspect

        def decorate(fn):
            self.wrapped.append(fn.__name__)

            def seconds(args, kwargs) -> int:
                return duration(*args, **kwargs) if callable(duration) else duration

            if inspect.isgeneratorfunction(fn):
                @functools.wraps(fn)
                def gen(*args, **kwargs):
                    self.durations.append(seconds(args, kwargs))
                    yield from fn(*args, **kwargs)
                return gen

            @functools.wraps(fn)
            def call(*args, **kwargs):
                self.durations.append(seconds(args, kwargs))
                return fn(*args, **kwargs)
            return call
        return decorate


def test_zero_gpu_wraps_every_model_call_and_never_touches_cuda(
        monkeypatch: pytest.MonkeyPatch, tiny_models) -> None:
    from gradio_client import Client

    from components import Settings

    fake = FakeSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    catalog = {"text-generation": [tiny_models["chat-gpt2"]], "sentiment": [tiny_models["sentiment"]]}
    # the main process loads on CPU; "cpu" stands in for the GPU the wrapped calls would move to
    launched = launch_app(catalog, settings=Settings(zero_gpu=True, gpu_device="cpu",
                                                     examples_dir=str(ROOT / "assets")))
    try:
        # the model calls, not the loaders: each endpoint's function (wrapped for the API and for the page),
        # and the chat's page run (on_page: the chatbot's messages in), and explanations (the page's, /explain's)
        assert set(fake.wrapped) == {"chat", "generate", "on_page", "sentiment", "explain_on_page", "explanation"}
        client = Client(launched.url, verbose=False)
        label = client.predict(text="I love this film", api_name="/sentiment")
        assert label["label"] == "POSITIVE"
        text, stats = client.predict(prompt="hello", max_new_tokens=200, seed=1, api_name="/generate")
        assert "200 tokens" in stats or "tokens" in stats
        assert fake.durations[0] == 20          # classification: short
        assert fake.durations[1] == 35          # generation: 15 s + 200 tokens / 10
        import torch

        assert not torch.cuda.is_initialized()  # the main process never touched CUDA
    finally:
        launched.close()


def test_zero_gpu_wraps_every_public_model_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    from components import Settings, build_demo
    from models import TASKS, ModelManager

    fake = FakeSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    catalog = parse_catalog({task: ["someone/some-model"] for task in TASKS})  # nothing is loaded
    build_demo(catalog, ModelManager(catalog), Settings(zero_gpu=True))
    assert set(fake.wrapped) == {"chat", "on_page", "generate", "sentiment", "ner", "qa", "fill_mask",
                                 "zero_shot_classification", "classify_image", "clip_zero_shot", "clip_search",
                                 "clip_rank_captions", "text_to_image", "explain_on_page", "explanation"}


def test_without_zero_gpu_nothing_is_wrapped(monkeypatch: pytest.MonkeyPatch, tiny_models) -> None:
    from components import Settings, build_demo
    from models import ModelManager

    fake = FakeSpaces()
    monkeypatch.setitem(sys.modules, "spaces", fake)
    catalog = parse_catalog({"sentiment": [tiny_models["sentiment"]]})
    build_demo(catalog, ModelManager(catalog), Settings())
    assert fake.wrapped == []


def test_download_fetches_every_catalog_model_and_reports_sizes(tmp_path: Path) -> None:
    calls = []

    def fake_fetch(repo_id: str, allow_patterns: list[str]) -> str:
        calls.append(repo_id)
        if repo_id == "broken/model":
            raise OSError("connection refused")
        folder = tmp_path / repo_id.replace("/", "--")
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"x" * 1000)
        assert not [p for p in allow_patterns if p.endswith(".bin")]  # never fetch pickles
        return str(folder)

    def fake_list(repo: str) -> dict[str, int]:
        if repo.startswith("laion/"):
            return OPEN_CLIP_FILES
        return {"config.json": 10, "model.safetensors": 1000, "pytorch_model.bin": 1000}

    local = tmp_path / "local-model"
    local.mkdir()
    catalog = parse_catalog({"sentiment": ["distilbert/sst2", "broken/model", str(local)],
                             "clip": ["ViT-B-32:laion2b_s34b_b79k"]})
    lines: list[str] = []
    results = download(catalog, fetch=fake_fetch, list_files=fake_list, report=lines.append)
    assert calls == ["distilbert/sst2", "broken/model", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"]
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[0]["bytes"] == 1000
    assert any("local folder" in line for line in lines)
    assert "Fetched 2 of 3 models" in lines[-1]
    only = download(catalog, ["clip"], fetch=fake_fetch, list_files=fake_list, report=lines.append)
    assert [r["repo"] for r in only] == ["laion/CLIP-ViT-B-32-laion2B-s34B-b79K"]


def test_download_command_offline_says_what_failed(tmp_path: Path) -> None:
    config = tmp_path / "catalog.yaml"
    config.write_text("sentiment:\n  - nobody/not-cached-anywhere\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HOME": str(tmp_path / "hf")}
    done = subprocess.run([sys.executable, "app.py", "--config", str(config), "--download", "sentiment"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "nobody/not-cached-anywhere could not be downloaded" in done.stdout
    assert "Fetched 0 of 1 models" in done.stdout


# -- what --download fetches: only the files the loaders read ---------------------------------------

# stabilityai/sd-turbo's files (sizes as on the Hub, the small ones rounded): both precisions of
# every component and a single-file checkpoint at the root, of which the app reads one set.
SD_TURBO_FILES = {
    ".gitattributes": 1_519, "README.md": 3_496, "model_index.json": 608, "output.jpg": 311_512,
    "sd_turbo.safetensors": 5_206_860_286, "image_grid.png": 1_948_702,
    "scheduler/scheduler_config.json": 465,
    "text_encoder/config.json": 656, "text_encoder/model.fp16.safetensors": 680_820_392,
    "text_encoder/model.safetensors": 1_361_596_304,
    "tokenizer/merges.txt": 524_619, "tokenizer/special_tokens_map.json": 460,
    "tokenizer/tokenizer_config.json": 807, "tokenizer/vocab.json": 1_059_962,
    "unet/config.json": 1_790, "unet/diffusion_pytorch_model.fp16.safetensors": 1_731_912_016,
    "unet/diffusion_pytorch_model.safetensors": 3_463_726_504,
    "vae/config.json": 655, "vae/diffusion_pytorch_model.fp16.safetensors": 167_335_342,
    "vae/diffusion_pytorch_model.safetensors": 334_643_268,
}
SD_TURBO_INDEX = {
    "_class_name": "StableDiffusionPipeline", "_diffusers_version": "0.24.0.dev0",
    "feature_extractor": [None, None], "requires_safety_checker": False, "safety_checker": [None, None],
    "scheduler": ["diffusers", "EulerDiscreteScheduler"], "text_encoder": ["transformers", "CLIPTextModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"], "unet": ["diffusers", "UNet2DConditionModel"],
    "vae": ["diffusers", "AutoencoderKL"],
}
# distilbert/distilbert-base-uncased-finetuned-sst-2-english: weights in five formats.
SST2_FILES = {
    ".gitattributes": 391, "README.md": 8_061, "config.json": 629, "map.jpeg": 107_795,
    "model.safetensors": 267_832_558, "pytorch_model.bin": 267_844_284, "rust_model.ot": 267_913_287,
    "tf_model.h5": 267_949_840, "onnx/model.onnx": 267_917_281, "onnx/config.json": 729,
    "tokenizer_config.json": 48, "vocab.txt": 231_508,
}
# An open_clip export on timm/ (ViT-B-32 style): open_clip's weights, a pickle twin, timm's own.
OPEN_CLIP_FILES = {
    ".gitattributes": 1_519, "README.md": 12_060, "open_clip_config.json": 767,
    "open_clip_model.safetensors": 605_143_284, "open_clip_pytorch_model.bin": 605_219_813,
    "model.safetensors": 351_465_736,
}


def test_the_sd_turbo_plan_is_the_component_folders_configs_and_plain_weights() -> None:
    from models.download import plan_files

    plan = plan_files("text-to-image", SD_TURBO_FILES, SD_TURBO_INDEX)
    assert list(plan) == [
        "model_index.json", "scheduler/scheduler_config.json",
        "text_encoder/config.json", "text_encoder/model.safetensors",
        "tokenizer/merges.txt", "tokenizer/special_tokens_map.json", "tokenizer/tokenizer_config.json",
        "tokenizer/vocab.json",
        "unet/config.json", "unet/diffusion_pytorch_model.safetensors",
        "vae/config.json", "vae/diffusion_pytorch_model.safetensors",
    ]
    assert plan == {name: SD_TURBO_FILES[name] for name in plan}
    assert sum(plan.values()) < sum(SD_TURBO_FILES.values()) / 2  # 4.8 of 12.1 GiB
    assert plan_files("text-to-image", SD_TURBO_FILES, None) == {}  # no model_index.json: not a pipeline


def test_a_transformers_plan_takes_the_root_configs_and_model_safetensors() -> None:
    from models.download import plan_files

    for task in ("sentiment", "ner", "question-answering", "text-generation", "image-classification"):
        assert list(plan_files(task, SST2_FILES, None)) == ["config.json", "model.safetensors",
                                                            "tokenizer_config.json", "vocab.txt"]


def test_sharded_weights_come_with_their_index_and_variants_stay_out() -> None:
    from models.download import plan_files

    files = {"config.json": 1, "generation_config.json": 1, "tokenizer.json": 1, "chat_template.jinja": 1,
             "additional_chat_templates/tool_use.jinja": 1, "qwen.tiktoken": 1, "spiece.model": 1,
             "model.safetensors.index.json": 1, "model-00001-of-00002.safetensors": 5,
             "model-00002-of-00002.safetensors": 3, "model.safetensors.index.fp16.json": 1,
             "model.fp16-00001-of-00002.safetensors": 3, "model.fp16-00002-of-00002.safetensors": 2,
             "model-00001-of-00002.fp16.safetensors": 3, "pytorch_model.bin.index.json": 1,
             "pytorch_model-00001-of-00002.bin": 5, "consolidated.safetensors": 8, "original/model.safetensors": 8,
             "LICENSE": 1, "README.md": 1}
    assert list(plan_files("text-generation", files, None)) == [
        "additional_chat_templates/tool_use.jinja", "chat_template.jinja", "config.json", "generation_config.json",
        "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors", "model.safetensors.index.json",
        "qwen.tiktoken", "spiece.model", "tokenizer.json"]
    # one file when there is one: from_pretrained reads it before it looks for an index
    assert "model.safetensors.index.json" not in plan_files("text-generation", {**files, "model.safetensors": 9}, None)


def test_an_open_clip_plan_takes_its_export_not_timms_weights() -> None:
    from models.download import plan_files

    assert list(plan_files("clip", OPEN_CLIP_FILES, None)) == ["open_clip_config.json", "open_clip_model.safetensors"]
    assert plan_files("clip", {"open_clip_config.json": 767, "open_clip_pytorch_model.bin": 9}, None) == {
        "open_clip_config.json": 767}  # pickle only: no weights the app loads


def test_download_shows_the_plan_and_its_size_before_fetching(tmp_path: Path) -> None:
    from models.download import plan_files

    events: list[tuple] = []

    def fake_fetch(repo_id: str, allow_patterns: list[str]) -> str:
        events.append(("fetch", repo_id, sorted(allow_patterns)))
        if repo_id == "pickles/only":
            raise AssertionError("a repo with no weights to load is not fetched")
        folder = tmp_path / repo_id.replace("/", "--")
        for name in allow_patterns:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).write_bytes(b"x" * 10)
        return str(folder)

    def fake_list(repo: str) -> dict[str, int]:
        events.append(("list", repo))
        if repo == "offline/model":
            raise ConnectionError("the Hub cannot be reached")
        return {"stabilityai/sd-turbo": SD_TURBO_FILES, "distilbert/sst2": SST2_FILES,
                "pickles/only": {"config.json": 9, "pytorch_model.bin": 9}}[repo]

    def fake_index(repo: str) -> dict:
        events.append(("index", repo))
        return SD_TURBO_INDEX

    catalog = parse_catalog({"sentiment": ["distilbert/sst2", "offline/model", "pickles/only"],
                             "text-to-image": ["stabilityai/sd-turbo"]})
    results = download(catalog, fetch=fake_fetch, list_files=fake_list, read_model_index=fake_index,
                       report=lambda line: events.append(("report", line)))
    sd = plan_files("text-to-image", SD_TURBO_FILES, SD_TURBO_INDEX)
    sst2 = plan_files("sentiment", SST2_FILES, None)
    sd_mb, sst2_mb = f"{sum(sd.values()) / 2**20:,.1f} MB", f"{sum(sst2.values()) / 2**20:,.1f} MB"
    total_gb = f"{(sum(sd.values()) + sum(sst2.values())) / 2**30:.2f} GB"
    fetches = [e for e in events if e[0] == "fetch"]
    assert fetches == [("fetch", "distilbert/sst2", sorted(sst2)), ("fetch", "stabilityai/sd-turbo", sorted(sd))]
    reports = [e[1] for e in events if e[0] == "report"]
    # every repo is listed and planned before the first fetch, and the total is shown first
    first_fetch = events.index(fetches[0])
    assert [e[:2] for e in events[:first_fetch] if e[0] != "report"] == [
        ("list", "distilbert/sst2"), ("list", "offline/model"), ("list", "pickles/only"),
        ("list", "stabilityai/sd-turbo"), ("index", "stabilityai/sd-turbo")]
    assert "offline/model could not be downloaded (ConnectionError: the Hub cannot be reached)." in reports[0]
    assert "pickles/only has no safetensors weights" in reports[1]
    assert reports[2].startswith(f"To download: {len(sd) + len(sst2)} files, {total_gb} for 2 models")
    # each repo's plan line comes just before its fetch, with the planned bytes
    for (_, repo, _), plan, size in zip(fetches, (sst2, sd), (sst2_mb, sd_mb)):
        before = events[events.index(("fetch", repo, sorted(plan))) - 1]
        task = "sentiment" if plan is sst2 else "text-to-image"
        assert before == ("report", f"{task}: {repo}: {len(plan)} files, {size} to download…")
    assert [(r["repo"], r["ok"]) for r in results] == [("distilbert/sst2", True), ("offline/model", False),
                                                      ("pickles/only", False), ("stabilityai/sd-turbo", True)]
    assert results[3]["bytes"] == 10 * len(sd)  # what landed on disk, of the planned files
    assert "Fetched 2 of 4 models" in reports[-1]


def listing(folder: str | Path) -> dict[str, int]:
    """A local model folder's files as a Hub listing, path -> size (less the test cache's marker)."""
    root = Path(folder)
    return {p.relative_to(root).as_posix(): p.stat().st_size for p in sorted(root.rglob("*"))
            if p.is_file() and p.name != ".complete"}


def copy_plan(folder: str | Path, plan: dict[str, int], dest: Path) -> str:
    """What snapshot_download(allow_patterns=plan) leaves: the planned files and nothing else."""
    import shutil

    for name in plan:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(Path(folder) / name, dest / name)
    return str(dest)


# Files real repos hold beside what the loaders read; listed only, so a plan that took one would
# fail to copy it.
DISTRACTORS = {
    "sentiment": ["pytorch_model.bin", "tf_model.h5", "rust_model.ot", "model.fp16.safetensors",
                  "onnx/model.onnx", "onnx/config.json", "map.jpeg"],
    "text-to-image": ["tiny_single_file.safetensors", "unet/diffusion_pytorch_model.fp16.safetensors",
                      "vae/diffusion_pytorch_model.fp16.safetensors", "text_encoder/model.fp16.safetensors",
                      "unet/diffusion_pytorch_model.non_ema.safetensors", "vae/diffusion_pytorch_model.bin",
                      "text_encoder/pytorch_model.bin"],
    "clip": ["open_clip_pytorch_model.bin", "model.safetensors", "open_clip_model.fp16.safetensors"],
}


@pytest.mark.parametrize("task, tiny", [("sentiment", "sentiment"), ("text-to-image", "diffusion"), ("clip", "clip")])
def test_the_planned_files_of_a_tiny_model_are_enough_to_load_it(tmp_path: Path, tiny_models, task: str,
                                                                  tiny: str) -> None:
    """The end-to-end check: a folder holding only the planned files loads through the app's own
    loader and answers, so the plan leaves out nothing that from_pretrained (or open_clip) reads."""
    import json

    from models import ModelManager
    from models.download import plan_files

    folder = tiny_models[tiny]
    files = {**listing(folder), **{name: 1_000 for name in DISTRACTORS[task]}}
    index = json.loads((Path(folder) / "model_index.json").read_text()) if task == "text-to-image" else None
    plan = plan_files(task, files, index)
    assert not set(plan) & set(DISTRACTORS[task])
    assert "README.md" not in plan
    loaded = copy_plan(folder, plan, tmp_path / "snapshot")
    manager = ModelManager(parse_catalog({task: [loaded]}), device="cpu")
    try:
        model = manager.get(task)
        if task == "sentiment":
            assert model.predict("I love this film")["labels"][0]["label"] == "POSITIVE"
        elif task == "text-to-image":
            assert model.predict("a red square", steps=1, seed=1)["images"][0].size == (64, 64)
        else:
            from PIL import Image

            result = model.predict(Image.new("RGB", (32, 32), (220, 30, 30)), mode="zero-shot",
                                   labels=["blue", "red", "green"])
            assert max(result, key=lambda r: r["score"])["label"] == "red"  # trained weights, not random ones
    finally:
        manager.unload_all()


def test_every_default_catalog_task_has_a_default() -> None:
    catalog = load_catalog()
    assert set(catalog.tasks()) == set(DEFAULT_CATALOG)
    assert all(catalog.default(task) for task in catalog.tasks())
