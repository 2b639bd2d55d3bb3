"""Fetch the catalog's models into the Hugging Face cache, for a later offline run."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable

from .catalog import Catalog
from .loading import is_local
from .tasks import canonical_task

# Weights only as safetensors; no pickles, ONNX, TF, Flax or other exports a playground never loads.
IGNORE = ["*.bin", "*.pt", "*.pth", "*.ckpt", "*.h5", "*.msgpack", "*.ot", "*.onnx", "*.onnx_data", "*.tflite",
          "*.gguf", "*.mlmodel", "*.mlpackage/*", "onnx/*", "openvino/*", "coreml/*", "*.png", "*.jpg", "*.gif"]


def hub_repo(task: str, model_id: str) -> str | None:
    """The Hub repo behind a catalog id, or None for a local folder."""
    if is_local(model_id):
        return None
    if model_id.startswith("hf-hub:"):
        return model_id[len("hf-hub:"):]
    if task == "clip" and ":" in model_id:  # an open_clip ARCH:PRETRAINED tag
        import open_clip

        arch, tag = model_id.split(":", 1)
        hub = (open_clip.get_pretrained_cfg(arch, tag) or {}).get("hf_hub", "")
        return hub.strip("/") or None
    return model_id


def folder_size(path: str | Path) -> int:
    return sum(f.stat().st_size for f in Path(path).rglob("*") if f.is_file())


def download(catalog: Catalog, tasks: list[str] | None = None, *,
             fetch: Callable[..., str] | None = None, report: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Download every catalog model of these tasks (all when empty); return what was fetched.

    fetch defaults to huggingface_hub.snapshot_download (its tqdm bars show the progress).
    """
    if fetch is None:
        from huggingface_hub import snapshot_download as fetch
    tasks = [canonical_task(t) for t in tasks] if tasks else catalog.tasks()
    fetched = []
    for task in tasks:
        for spec in catalog.models(task):
            repo = hub_repo(task, spec.model_id)
            if repo is None:
                report(f"{task}: {spec.model_id} is a local folder; nothing to download.")
                continue
            report(f"{task}: downloading {repo}…")
            try:
                path = fetch(repo_id=repo, ignore_patterns=IGNORE)
            except Exception as e:  # noqa: BLE001 - report and go on with the others
                report(f"{task}: {repo} could not be downloaded ({type(e).__name__}: {str(e).splitlines()[0][:160]}).")
                fetched.append({"task": task, "model": spec.model_id, "repo": repo, "ok": False})
                continue
            size = folder_size(os.path.realpath(path))
            report(f"{task}: {repo} is in {path} ({size / 2**20:,.1f} MB).")
            fetched.append({"task": task, "model": spec.model_id, "repo": repo, "ok": True, "path": path, "bytes": size})
    total = sum(f.get("bytes", 0) for f in fetched)
    ok = sum(f["ok"] for f in fetched)
    report(f"Fetched {ok} of {len(fetched)} models, {total / 2**30:.2f} GB in all. "
           "Run with HF_HUB_OFFLINE=1 to use them with no network.")
    return fetched
