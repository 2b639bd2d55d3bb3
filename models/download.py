"""Fetch the catalog's models into the Hugging Face cache, for a later offline run.

Only the files that the app's loaders read are fetched: the repo's file list (with sizes) is asked
for first, `plan_files` picks from it what `from_pretrained` (or open_clip) will open, and the size
of that plan is shown before anything is downloaded. A repo often holds several copies of its
weights (pickle, TF, ONNX, fp16, a single-file checkpoint), of which a loader reads one: for SD-Turbo,
the 5.2 GB single-file checkpoint and the fp16 copies are left out.
"""
from __future__ import annotations

import glob
import json
import os
import re
from pathlib import Path
from typing import Any, Callable, Iterable

from .catalog import Catalog
from .loading import is_local
from .tasks import canonical_task

# Config, tokenizer and processor files (config.json, tokenizer.json, vocab.txt, merges.txt,
# spiece.model, chat_template.jinja, qwen.tiktoken...), read next to the weights.
SUPPORT_SUFFIXES = (".json", ".txt", ".model", ".jinja", ".tiktoken")
# The weights' file stem each loader opens: transformers' model.safetensors, open_clip's export
# (timm/ repos also hold a timm-only model.safetensors that open_clip never reads), and a diffusers
# component's own (diffusion_pytorch_model) or its transformers model's (the text encoder).
HF_WEIGHTS = ("model",)
CLIP_WEIGHTS = ("open_clip_model",)
DIFFUSERS_WEIGHTS = ("diffusion_pytorch_model", "model")
# Weights in any format, which a diffusers folder without weights (scheduler, tokenizer) is fetched without.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".ot", ".onnx",
                   ".onnx_data", ".pb", ".tflite", ".gguf")
CHAT_TEMPLATES = "additional_chat_templates"  # AutoTokenizer reads the *.jinja files in it too


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


# -- what the loaders read -------------------------------------------------------------------------

def weight_files(names: Iterable[str], stem: str) -> list[str]:
    """The plain safetensors weights called `stem` among one folder's file names.

    `stem.safetensors`, or when it is sharded `stem.safetensors.index.json` and the shards that
    from_pretrained names `stem-00001-of-00002.safetensors`; it prefers the single file when both
    exist. Variant copies put a tag after the stem (`model.fp16.safetensors`,
    `diffusion_pytorch_model.non_ema.safetensors`, `model.fp16-00001-of-00002.safetensors` and
    `model.safetensors.index.fp16.json`): a loader opens those only when given variant=..., which this
    app never passes, so building the plain names here leaves every variant out.
    """
    names = set(names)
    if f"{stem}.safetensors" in names:
        return [f"{stem}.safetensors"]
    index = f"{stem}.safetensors.index.json"
    if index not in names:
        return []
    shard = re.compile(rf"{re.escape(stem)}-[0-9]{{5}}-of-[0-9]{{5}}\.safetensors")
    return [index, *sorted(n for n in names if shard.fullmatch(n))]


def support_files(names: Iterable[str]) -> list[str]:
    """Config, tokenizer and processor files among one folder's file names, but no weights index
    (`*.safetensors.index.json` comes with its shards; `pytorch_model.bin.index.json` is a pickle's)."""
    return [n for n in names if (n.endswith(SUPPORT_SUFFIXES) or n.startswith("vocab.")) and ".index." not in n]


def _children(files: Iterable[str], folder: str) -> dict[str, str]:
    """name -> path of the files directly in `folder` ("" for the repo's root)."""
    prefix = f"{folder}/" if folder else ""
    return {path[len(prefix):]: path for path in files
            if path.startswith(prefix) and "/" not in path[len(prefix):]}


def plan_files(task: str, files: dict[str, int], model_index: dict | None) -> dict[str, int]:
    """The files (path -> size) of a repo that the app's loader for `task` reads.

    files: the repo's whole listing, path -> size. model_index: its parsed model_index.json, which
    text-to-image needs (None elsewhere, or when the repo has none: nothing is planned then).
    """
    task = canonical_task(task)
    if task == "text-to-image":
        chosen = _diffusers_files(files, model_index) if model_index else []
    else:
        # transformers (and timm repos, through its timm wrapper) and open_clip read the root only
        root = _children(files, "")
        stems = CLIP_WEIGHTS if task == "clip" else HF_WEIGHTS
        chosen = [root[n] for n in support_files(root)]
        chosen += [root[n] for stem in stems for n in weight_files(root, stem)]
        if task != "clip":
            chosen += [p for n, p in _children(files, CHAT_TEMPLATES).items() if n.endswith(".jinja")]
    return {path: files[path] for path in sorted(set(chosen))}


def _diffusers_files(files: dict[str, int], model_index: dict) -> list[str]:
    """model_index.json and the folder of each component it names; no root single-file checkpoint."""
    chosen = ["model_index.json"] if "model_index.json" in files else []
    for component, value in model_index.items():
        # "_class_name" and "_diffusers_version" are not components; [null, null] is one left out
        # (SD-Turbo has no safety checker).
        if component.startswith("_") or not isinstance(value, list) or len(value) != 2 or None in value:
            continue
        inside = _children(files, component)
        weights = [n for stem in DIFFUSERS_WEIGHTS for n in weight_files(inside, stem)]
        if weights:
            names = support_files(inside) + weights
        else:
            # A folder without weights (scheduler, tokenizer) is taken whole but for other formats'
            # weights, as diffusers takes it: offline, it checks that each of its files is cached.
            names = [n for n in inside if not n.endswith(WEIGHT_SUFFIXES)]
        chosen += [inside[n] for n in names]
    return chosen


# -- talking to the Hub (replaced by fakes in tests) ----------------------------------------------

def hub_files(repo: str) -> dict[str, int]:
    """Every file of a Hub repo, path -> size in bytes."""
    from huggingface_hub import HfApi

    info = HfApi().model_info(repo, files_metadata=True)
    return {s.rfilename: s.size or 0 for s in info.siblings or []}


def hub_model_index(repo: str) -> dict:
    """A diffusers repo's model_index.json (a small file; it lands in the cache with the rest)."""
    from huggingface_hub import hf_hub_download

    return json.loads(Path(hf_hub_download(repo, "model_index.json")).read_text())


# -- the command ----------------------------------------------------------------------------------

def download(catalog: Catalog, tasks: list[str] | None = None, *,
             fetch: Callable[..., str] | None = None,
             list_files: Callable[[str], dict[str, int]] = hub_files,
             read_model_index: Callable[[str], dict] = hub_model_index,
             report: Callable[[str], None] = print) -> list[dict[str, Any]]:
    """Download what the app loads of every catalog model of these tasks (all when empty).

    First every repo's plan is made and its total shown; then each repo's plan is shown and fetched.
    Returns one dict per Hub model, in catalog order: task, model, repo, ok, and when ok path and
    bytes (the planned files' size on disk). fetch defaults to huggingface_hub.snapshot_download (its
    tqdm bars show the progress); list_files and read_model_index ask the Hub (see above).
    """
    if fetch is None:
        from huggingface_hub import snapshot_download as fetch
    tasks = [canonical_task(t) for t in tasks] if tasks else catalog.tasks()

    def failed(entry: dict[str, Any], e: Exception) -> None:
        report(f"{entry['task']}: {entry['repo']} could not be downloaded "
               f"({type(e).__name__}: {(str(e).splitlines() or [''])[0][:160]}).")
        entry["ok"] = False

    # 1. The plans, so that the total is known before the first byte is fetched.
    entries: list[dict[str, Any]] = []
    plans: list[tuple[dict[str, Any], dict[str, int]]] = []  # (entry, its plan) for the repos to fetch
    for task in tasks:
        for spec in catalog.models(task):
            if spec.endpoint:
                report(f"{task}: {spec.model_id} runs at {spec.endpoint}; nothing to download.")
                continue
            repo = hub_repo(task, spec.model_id)
            if repo is None:
                report(f"{task}: {spec.model_id} is a local folder; nothing to download.")
                continue
            entry = {"task": task, "model": spec.model_id, "repo": repo, "ok": True}
            entries.append(entry)
            try:
                files = list_files(repo)
                index = read_model_index(repo) if task == "text-to-image" and "model_index.json" in files else None
                plan = plan_files(task, files, index)
            except Exception as e:  # noqa: BLE001 - offline, unknown or gated: report and go on with the others
                failed(entry, e)
                continue
            if not any(name.endswith(".safetensors") for name in plan):
                report(f"{task}: {repo} has no safetensors weights in a layout this app loads; nothing to download.")
                entry["ok"] = False
                continue
            plans.append((entry, plan))
    if plans:
        files_count = sum(len(plan) for _, plan in plans)
        size = sum(sum(plan.values()) for _, plan in plans)
        report(f"To download: {files_count} files, {size / 2**30:.2f} GB for {len(plans)} models "
               "(only what the app loads: safetensors weights, no fp16 copies or single-file checkpoints).")

    # 2. The downloads, each announced with its own plan.
    for entry, plan in plans:
        task, repo = entry["task"], entry["repo"]
        report(f"{task}: {repo}: {len(plan)} files, {sum(plan.values()) / 2**20:,.1f} MB to download…")
        try:
            # glob.escape: the patterns are matched as globs, and a file name may hold [ or *.
            path = fetch(repo_id=repo, allow_patterns=[glob.escape(name) for name in plan])
        except Exception as e:  # noqa: BLE001 - report and go on with the others
            failed(entry, e)
            continue
        root = Path(os.path.realpath(path))
        size = sum((root / name).stat().st_size for name in plan if (root / name).is_file())
        report(f"{task}: {repo} is in {path} ({size / 2**20:,.1f} MB).")
        entry.update(path=path, bytes=size)
    total = sum(e.get("bytes", 0) for e in entries)
    ok = sum(e["ok"] for e in entries)
    report(f"Fetched {ok} of {len(entries)} models, {total / 2**30:.2f} GB in all. "
           "Run with HF_HUB_OFFLINE=1 to use them with no network.")
    return entries
