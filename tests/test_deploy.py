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
        assert sorted(fake.wrapped) == ["generate", "sentiment"]  # the model calls, not the loaders
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
    assert sorted(fake.wrapped) == sorted(["generate", "sentiment", "ner", "qa", "classify_image", "clip_zero_shot",
                                           "clip_search", "clip_rank_captions", "text_to_image"])


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

    def fake_fetch(repo_id: str, ignore_patterns: list[str]) -> str:
        calls.append(repo_id)
        if repo_id == "broken/model":
            raise OSError("connection refused")
        folder = tmp_path / repo_id.replace("/", "--")
        folder.mkdir(parents=True)
        (folder / "model.safetensors").write_bytes(b"x" * 1000)
        assert "*.bin" in ignore_patterns  # never fetch pickles
        return str(folder)

    local = tmp_path / "local-model"
    local.mkdir()
    catalog = parse_catalog({"sentiment": ["distilbert/sst2", "broken/model", str(local)],
                             "clip": ["ViT-B-32:laion2b_s34b_b79k"]})
    lines: list[str] = []
    results = download(catalog, fetch=fake_fetch, report=lines.append)
    assert calls == ["distilbert/sst2", "broken/model", "laion/CLIP-ViT-B-32-laion2B-s34B-b79K"]
    assert [r["ok"] for r in results] == [True, False, True]
    assert results[0]["bytes"] == 1000
    assert any("local folder" in line for line in lines)
    assert "Fetched 2 of 3 models" in lines[-1]
    only = download(catalog, ["clip"], fetch=fake_fetch, report=lines.append)
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


def test_every_default_catalog_task_has_a_default() -> None:
    catalog = load_catalog()
    assert set(catalog.tasks()) == set(DEFAULT_CATALOG)
    assert all(catalog.default(task) for task in catalog.tasks())
