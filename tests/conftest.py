"""Shared fixtures: tiny models built once per session (cached on disk), a catalog, a gradio_client
Client on a module's launched app, and Chromium for the browser tests."""
from __future__ import annotations

import hashlib
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CACHE = Path(os.environ.get("PLAYGROUND_TEST_CACHE", ROOT / "tests" / ".cache"))
SHARED_MODELS = ROOT.parent / "shared" / "models"

# name -> "module:function"; function(folder: Path) -> None writes a model folder there.
# Editing a builder's module rebuilds its folders (the cache key holds a digest of its source);
# bumping its VERSION constant forces a rebuild too (say, when a helper it imports changed).
BUILDERS = {
    "gpt2": "tests.builders.text:build_gpt2",
    "chat-gpt2": "tests.builders.text:build_chat_gpt2",
    "reasoning-gpt2": "tests.builders.text:build_reasoning_gpt2",
    "sentiment": "tests.builders.text:build_sentiment",
    "ner": "tests.builders.text:build_ner",
    "qa": "tests.builders.text:build_qa",
    "fill-mask": "tests.builders.untrained:build_fill_mask",
    "nli": "tests.builders.untrained:build_nli",
    "vit": "tests.builders.vision:build_vit",
    "clip": "tests.builders.clip:build_clip",
    "diffusion": "tests.builders.diffusion:build_diffusion",
    "random-bert": "tests.builders.training:build_random_bert",
    "chinese-ner": "tests.builders.chinese:build_chinese_ner",
    "chinese-qa": "tests.builders.chinese:build_chinese_qa",
    "chinese-fill-mask": "tests.builders.chinese:build_chinese_fill_mask",
}


class TinyModels:
    """tiny_models["sentiment"] -> path of a folder, built on first use and kept in tests/.cache.

    The folder's name holds a digest of the builder module's source, so editing a builder
    rebuilds its models even where VERSION was not bumped; a build goes to a temporary
    folder renamed into place, so two test sessions sharing the cache never see a half-built one.
    """

    def __getitem__(self, name: str) -> str:
        module_name, func_name = BUILDERS[name].split(":")
        module = importlib.import_module(module_name)
        digest = hashlib.sha256(Path(module.__file__).read_bytes()).hexdigest()[:8]
        folder = CACHE / f"{name}-v{getattr(module, 'VERSION', 1)}-{digest}"
        if not (folder / ".complete").exists():
            import shutil
            import tempfile

            CACHE.mkdir(parents=True, exist_ok=True)
            building = Path(tempfile.mkdtemp(prefix=f".{name}-building-", dir=CACHE))
            try:
                getattr(module, func_name)(building)
                (building / ".complete").write_text("ok")
                try:
                    building.rename(folder)
                except OSError:  # another session finished the same build first
                    if not (folder / ".complete").exists():
                        raise
            finally:
                shutil.rmtree(building, ignore_errors=True)
        return str(folder)


@pytest.fixture(scope="session")
def tiny_models() -> TinyModels:
    return TinyModels()


@pytest.fixture(scope="session")
def tiny_catalog_data(tiny_models: TinyModels) -> dict:
    """The YAML shape of a catalog where every task but CLIP and text to image points at tiny local
    models (tests/launch.py tiny_catalog has them all)."""
    from tests.launch import tiny_catalog

    return tiny_catalog(tiny_models, tasks=("text-generation", "sentiment", "ner", "question-answering",
                                            "image-classification"))


@pytest.fixture(scope="module")
def client(app: Any) -> Any:
    """A gradio_client Client on the module's launched app (the module defines the `app` fixture)."""
    from gradio_client import Client

    return Client(app.url, verbose=False)


@pytest.fixture(scope="module")
def chromium() -> str:
    """Debian's Chromium for the browser tests (tests/browser.py): skipped without it, failed on CI."""
    from tests.browser import require_chromium

    return require_chromium()


@pytest.fixture(scope="session")
def efficientnet() -> str:
    folder = SHARED_MODELS / "efficientnet_lite0"
    if not (folder / "model.safetensors").exists():
        pytest.skip("../shared/models/efficientnet_lite0 is not here")
    return str(folder)
