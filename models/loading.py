"""Finding a model (Hub id or local folder) and turning load failures into plain sentences."""
from __future__ import annotations

import contextlib
import json
import os
import re
from pathlib import Path
from typing import Iterator

from .errors import ModelLoadFailed, ModelNotFound, OutOfMemory, PlaygroundError, WrongModelKind

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}(/[\w.\-]{1,96})?$")


def is_local(model_id: str) -> bool:
    return model_id.startswith((".", "/", "~")) or os.path.isdir(model_id)


def resolve(model_id: str, *, needs: str = "config.json", allow_pickle: bool = False) -> str:
    """Return what `from_pretrained` should get: an absolute folder, or a checked Hub id."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise ModelNotFound("No model was chosen; pick one from the list or type a Hub id.")
    model_id = model_id.strip()
    if not is_local(model_id):
        if ".." in model_id or not _HUB_ID.match(model_id):
            raise ModelNotFound(f"{model_id!r} is not a Hub id (owner/name) or an existing folder.")
        return model_id
    folder = Path(model_id).expanduser().resolve()
    if not folder.is_dir():
        raise ModelNotFound(f"The folder {model_id} does not exist; check the path.")
    if needs and not (folder / needs).is_file():
        raise ModelNotFound(f"The folder {model_id} is not a model folder: it has no {needs}.")
    check_weight_format(folder, allow_pickle=allow_pickle)
    return str(folder)


def check_weight_format(folder: Path, *, allow_pickle: bool) -> None:
    files = [p.name for p in folder.rglob("*") if p.is_file()]
    has_safe = any(f.endswith(".safetensors") for f in files)
    has_pickle = any(f.endswith((".bin", ".pt", ".pth", ".ckpt")) for f in files)
    if not has_safe and has_pickle and not allow_pickle:
        raise ModelLoadFailed(
            f"{folder.name} has weights only as pickle (.bin) files, which can run code when loaded; "
            "convert them to safetensors (or start the app with --allow-pickle).")


def read_json(path: str | Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ModelNotFound(f"{Path(path).name} in {Path(path).parent} cannot be read: {e}.") from e


def check_architecture(config: object, model_id: str, task_label: str, suffixes: tuple[str, ...],
                       model_types: tuple[str, ...] = ()) -> None:
    """Refuse a model whose config says it was trained for another task.

    Without this, e.g. AutoModelForSequenceClassification happily puts a random head on GPT-2.
    """
    if getattr(config, "model_type", None) in model_types:
        return
    archs = getattr(config, "architectures", None) or []
    if archs and not any(a.endswith(suffixes) for a in archs):
        raise WrongModelKind(
            f"{model_id} is a {archs[0]} model, not a {task_label} model; pick a model made for {task_label}.")


@contextlib.contextmanager
def load_errors(model_id: str) -> Iterator[None]:
    """Map what the Hub, transformers and torch raise while loading to one plain sentence."""
    try:
        yield
    except PlaygroundError:
        raise
    except Exception as e:  # noqa: BLE001 - every load failure must become a sentence
        raise explain_load_error(model_id, e) from e


def explain_load_error(model_id: str, error: BaseException) -> PlaygroundError:
    names = set()
    texts = []
    cur: BaseException | None = error
    while cur is not None and len(names) < 10:
        names.add(type(cur).__name__)
        texts.append(str(cur))
        cur = cur.__cause__ or cur.__context__
    text = " ".join(texts)
    if "GatedRepoError" in names or "gated repo" in text:
        return ModelNotFound(f"{model_id} is a gated model; accept its terms on the Hub and log in, or pick another model.")
    if "RepositoryNotFoundError" in names or "is not a valid model identifier" in text:
        return ModelNotFound(f"{model_id} was not found on the Hub; check the id (owner/name) and that the repo is public.")
    if "LocalEntryNotFoundError" in names or "couldn't connect" in text.lower() or "offline" in text.lower():
        return ModelNotFound(
            f"{model_id} is not in the local cache and the Hub cannot be reached; "
            "download it first (python app.py --download) or use a local folder.")
    if "safetensors" in text and ("does not appear to have" in text or "EntryNotFoundError" in names):
        return ModelLoadFailed(
            f"{model_id} has no safetensors weights, only pickle files that can run code; pick a model with safetensors.")
    if "EntryNotFoundError" in names or "does not appear to have a file" in text:
        return ModelNotFound(f"{model_id} is missing files it needs ({_first_line(text)}); check that the repo is a complete model.")
    if "OutOfMemoryError" in names or "out of memory" in text.lower():
        return OutOfMemory(f"There is not enough memory to load {model_id}; unload other models or pick a smaller one.")
    if "Unrecognized model" in text or "model_type" in text or "does not recognize this architecture" in text:
        return ModelNotFound(f"{model_id} is not a model that this app can load: its config.json names no known model type.")
    if "SafetensorError" in names or "HeaderTooLarge" in text or "incomplete metadata" in text.lower():
        return ModelLoadFailed(f"The weights of {model_id} are corrupt or truncated; download them again.")
    return ModelLoadFailed(f"{model_id} could not be loaded: {_first_line(text)}")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    return line[:200].rstrip(".") + "."
