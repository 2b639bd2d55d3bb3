"""Finding a model (Hub id or local folder) and turning load failures into plain sentences."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
from pathlib import Path
from typing import Iterator

from .errors import InvalidInput, ModelLoadFailed, ModelNotFound, OutOfMemory, PlaygroundError, WrongModelKind
from .messages import say

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.\-]{0,95}(/[\w.\-]{1,96})?$")
MAX_MODEL_ID_CHARS = 512  # a Hub id is at most 193 characters; a folder path rarely passes 200
SHOWN_ID_CHARS = 100      # how much of a long id an error message repeats


def check_model_id(model_id: object) -> str | None:
    """A model id as typed, stripped (None stays None: the task's default).

    Refuses what no Hub id or folder can be before anything looks it up, so that an error
    message that repeats the id stays one short line.
    """
    if model_id is None:
        return None
    if not isinstance(model_id, str):
        raise InvalidInput(say("model.not_text", kind=type(model_id).__name__))
    if not model_id.strip():
        return model_id  # blank: resolve() says that no model was chosen
    model_id = model_id.strip()
    if len(model_id) > MAX_MODEL_ID_CHARS:
        raise InvalidInput(say("model.id_too_long", length=len(model_id), limit=MAX_MODEL_ID_CHARS))
    if any(ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF for ch in model_id):
        raise InvalidInput(say("model.id_bad_characters"))
    return model_id


def shown(model_id: object) -> str:
    """A model id as an error message repeats it: on one line, and its end only when it is long."""
    text = str(model_id).encode("unicode_escape").decode("ascii") if not str(model_id).isprintable() else str(model_id)
    return text if len(text) <= SHOWN_ID_CHARS else "…" + text[-(SHOWN_ID_CHARS - 1):]


def is_local(model_id: str) -> bool:
    return model_id.startswith((".", "/", "~")) or os.path.isdir(model_id)


def resolve(model_id: str, *, needs: str = "config.json", allow_pickle: bool = False) -> str:
    """Return what `from_pretrained` should get: an absolute folder, or a checked Hub id."""
    if not isinstance(model_id, str) or not model_id.strip():
        raise ModelNotFound(say("model.none_chosen"))
    model_id = model_id.strip()
    if not is_local(model_id):
        if ".." in model_id or not _HUB_ID.match(model_id):
            raise ModelNotFound(say("model.not_an_id", model=shown(model_id)))
        return model_id
    try:
        folder = Path(model_id).expanduser().resolve()
        is_dir = folder.is_dir()
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a name too long, a NUL byte
        is_dir = False
    if not is_dir:
        raise ModelNotFound(say("model.no_folder", model=shown(model_id)))
    if needs and not (folder / needs).is_file():
        raise ModelNotFound(say("model.not_a_model_folder", model=shown(model_id), needs=needs))
    check_weight_format(folder, allow_pickle=allow_pickle)
    return str(folder)


def check_weight_format(folder: Path, *, allow_pickle: bool) -> None:
    files = [p.name for p in folder.rglob("*") if p.is_file()]
    has_safe = any(f.endswith(".safetensors") for f in files)
    has_pickle = any(f.endswith((".bin", ".pt", ".pth", ".ckpt")) for f in files)
    if not has_safe and has_pickle and not allow_pickle:
        raise ModelLoadFailed(say("model.pickle_only_folder", folder=folder.name))


def read_json(path: str | Path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise ModelNotFound(say("model.unreadable_file", file=Path(path).name, folder=str(Path(path).parent),
                                error=str(e))) from e


def check_architecture(config: object, model_id: str, task_label: str, suffixes: tuple[str, ...],
                       model_types: tuple[str, ...] = ()) -> None:
    """Refuse a model whose config says it was trained for another task.

    Without this, e.g. AutoModelForSequenceClassification happily puts a random head on GPT-2.
    """
    if getattr(config, "model_type", None) in model_types:
        return
    archs = getattr(config, "architectures", None) or []
    if archs and not any(a.endswith(suffixes) for a in archs):
        raise WrongModelKind(say("model.wrong_kind", model=shown(model_id), architecture=archs[0], task=task_label))


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
    model_id = shown(model_id)
    names = set()
    texts = []
    cur: BaseException | None = error
    while cur is not None and len(names) < 10:
        names.add(type(cur).__name__)
        texts.append(str(cur))
        cur = cur.__cause__ or cur.__context__
    text = " ".join(texts)
    if "GatedRepoError" in names or "gated repo" in text:
        return ModelNotFound(say("model.gated", model=model_id))
    if "RepositoryNotFoundError" in names or "is not a valid model identifier" in text:
        return ModelNotFound(say("model.not_on_hub", model=model_id))
    if "LocalEntryNotFoundError" in names or "couldn't connect" in text.lower() or "offline" in text.lower():
        # The visitor gets a sentence without `--download` (the operator's, for catalog models
        # only); the operator gets the advice in the log. The manager remembers the failed reach.
        from .availability import ADVICE, HubUnreachable, not_on_server

        logging.getLogger("playground").warning("%s is not in the cache and the Hub cannot be reached. %s",
                                                model_id, ADVICE)
        return HubUnreachable(not_on_server(model_id))
    if "safetensors" in text and ("does not appear to have" in text or "EntryNotFoundError" in names):
        return ModelLoadFailed(say("model.pickle_only_hub", model=model_id))
    if "EntryNotFoundError" in names or "does not appear to have a file" in text:
        return ModelNotFound(say("model.missing_files", model=model_id, detail=_first_line(text)))
    if "backend tokenizer" in text or "Can't load tokenizer" in text:
        return ModelNotFound(say("model.no_tokenizer", model=model_id))
    if "Can't load image processor" in text or "Can't load feature extractor" in text:
        return ModelNotFound(say("model.no_image_processor", model=model_id))
    missing = re.search(r"no file named (\S+) found in directory (\S+?)\.?(\s|$)", text)
    if missing:
        return ModelNotFound(say("model.missing_file", model=model_id, file=missing.group(1),
                                 folder=Path(missing.group(2)).name))
    if names & {"OutOfMemoryError", "MemoryError"} or "out of memory" in text.lower():
        return OutOfMemory(say("model.no_memory_to_load", model=model_id))
    if "Unrecognized model" in text or "model_type" in text or "does not recognize this architecture" in text:
        return ModelNotFound(say("model.unknown_type", model=model_id))
    if "SafetensorError" in names or "HeaderTooLarge" in text or "incomplete metadata" in text.lower():
        return ModelLoadFailed(say("model.corrupt_weights", model=model_id))
    return ModelLoadFailed(say("model.load_failed", model=model_id, detail=_first_line(text)))


def _first_line(text: str) -> str:
    """The first sentence of an error's text, cut at a word when long: a message stays one short line."""
    line = text.strip().splitlines()[0] if text.strip() else "unknown error"
    sentence = re.split(r"(?<=[.!?])\s", line, maxsplit=1)[0]
    if len(sentence) > 160:
        sentence = sentence[:160].rsplit(" ", 1)[0] + "…"
    return sentence.rstrip(".") + "."
