"""The curated models a user can pick per task, overridable by a YAML file."""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlsplit, urlunsplit

from .base import ModelSpec
from .errors import InvalidInput
from .messages import say
from .tasks import TASKS, canonical_task

# The curated models, per task, as its declaration lists them (models/tasks.py); the first is the default.
DEFAULT_CATALOG: dict[str, list[Any]] = {key: [dict(m) for m in task.models] for key, task in TASKS.items()}
REMOTE_TASK = "text-generation"  # the one task a remote OpenAI-compatible server can serve (chat)
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
SECTIONS = ("serving", "examples")  # top-level keys of a catalog file that are not tasks
# What one example of a task fills, in the order its tab's inputs take them (components/*.py); the
# optional ones may be left out. CLIP's tab takes a mapping instead (CLIP_EXAMPLE_KEYS).
EXAMPLE_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {  # task -> (required, optional)
    "text-generation": (("message",), ()),
    "sentiment": (("text",), ()),
    "ner": (("text",), ()),
    "question-answering": (("question", "context"), ()),
    "fill-mask": (("text",), ()),
    "zero-shot-classification": (("text", "labels"), ()),
    "image-classification": (("image",), ()),
    "text-to-image": (("prompt",), ("negative prompt",)),
}
# zero-shot's labels and template, the captions to rank, the search queries
CLIP_EXAMPLE_KEYS = ("labels", "template", "captions", "queries")


@dataclass(frozen=True)
class Catalog:
    """Per task, the models offered in the picker; the first is the default."""

    entries: Mapping[str, tuple[ModelSpec, ...]]
    source: str = "built-in"
    serving: Mapping[str, Any] | None = None  # the file's `serving:` section, for --backend ray (models/cluster.py)
    examples: Mapping[str, Any] | None = None  # the file's `examples:` section: per task, what its tab offers

    def examples_for(self, task: str) -> Any:
        """The catalog file's examples for a task's tab (None: the tab keeps its own): a list of values or
        of rows in the tab's input order, or for CLIP a mapping of labels, template, captions and queries."""
        return (self.examples or {}).get(canonical_task(task))

    def tasks(self) -> list[str]:
        return [t for t in TASKS if self.entries.get(t)]

    def models(self, task: str) -> tuple[ModelSpec, ...]:
        return self.entries.get(canonical_task(task), ())

    def default(self, task: str) -> str | None:
        models = self.models(task)
        return models[0].model_id if models else None

    def find(self, task: str, model_id: str) -> ModelSpec | None:
        for spec in self.models(task):
            if spec.model_id == model_id or spec.label == model_id:
                return spec
        return None

    def with_model(self, spec: ModelSpec) -> "Catalog":
        """This catalog with one more model for its task (last, so the default stays), replacing an entry of
        the same id: how a fine-tuned model joins the pickers."""
        kept = tuple(s for s in self.models(spec.task) if s.model_id != spec.model_id)
        return Catalog(entries={**self.entries, spec.task: (*kept, spec)}, source=self.source, serving=self.serving,
                       examples=self.examples)

    def spec(self, task: str, model_id: str | None) -> ModelSpec:
        """The catalog's entry for model_id, or a bare spec for a custom id (None: the default)."""
        task = canonical_task(task)
        if not model_id:
            model_id = self.default(task)
            if model_id is None:
                raise InvalidInput(say("model.no_default", task=task))
        return self.find(task, model_id) or ModelSpec(task=task, model_id=model_id)


def parse_catalog(data: Any, *, base_dir: Path | None = None, source: str = "built-in") -> Catalog:
    """Turn the YAML shape ({task: [id | {id, label, gpu, defaults, endpoint, api_key_env, weights}]}) into a
    Catalog.

    Local paths that start with '.' are resolved against the YAML file's folder, so a
    catalog file can travel with its models. A text-generation entry with an `endpoint` is a model
    served by a remote OpenAI-compatible server (models/remote.py): its id is the name that server
    gives it, and `api_key_env` names the environment variable holding its key. `weights` names the
    safetensors file(s) the model ships (a record of what was checked; loading finds them itself).
    Two top-level keys are not tasks: `serving` (--backend ray) and `examples` (task -> the examples
    its tab offers instead of its own, parse_examples).
    """
    if not isinstance(data, Mapping):
        raise InvalidInput(f"The catalog {source} must map task names to lists of models.")
    entries: dict[str, tuple[ModelSpec, ...]] = {}
    for raw_task, items in data.items():
        if raw_task in SECTIONS:  # how --backend ray serves each family (models/cluster.py); the tabs' examples
            continue
        task = canonical_task(str(raw_task))
        if isinstance(items, (str, Mapping)):
            items = [items]
        if not isinstance(items, list):
            raise InvalidInput(f"In {source}, {raw_task} must list models.")
        specs = []
        for item in items:
            if isinstance(item, str):
                item = {"id": item}
            if not isinstance(item, Mapping) or not isinstance(item.get("id"), str) or not item["id"].strip():
                raise InvalidInput(f"In {source}, each model of {raw_task} needs an id (a Hub id or a folder).")
            model_id = item["id"].strip()
            _check_weights(item.get("weights"), f"In {source}, {model_id} of {raw_task}")
            endpoint, key_env = _remote(item, task, raw_task, model_id, source)
            if base_dir is not None and model_id.startswith(".") and endpoint is None:  # a remote id is the server's
                model_id = str((base_dir / model_id).resolve())
            defaults = item.get("defaults") or {}
            specs.append(ModelSpec(task=task, model_id=model_id, label=item.get("label"),
                                   defaults=dict(defaults), needs_gpu=bool(item.get("gpu", False)),
                                   endpoint=endpoint, api_key_env=key_env))
        _no_remote_twice(specs, raw_task, source)
        entries[task] = tuple(specs)
    examples = parse_examples(data.get("examples"), base_dir=base_dir, source=source)
    return Catalog(entries=entries, source=source, serving=data.get("serving"), examples=examples)


def _check_weights(weights: Any, where: str) -> None:
    """An entry's `weights`: absent, or a file name or a list of them, each a .safetensors file."""
    if weights is None:
        return
    names = [weights] if isinstance(weights, str) else weights
    if (not isinstance(names, list) or not names
            or any(not isinstance(n, str) or not n.strip().endswith(".safetensors") for n in names)):
        shown = repr(weights) if len(repr(weights)) <= 60 else repr(weights)[:60] + "…"
        raise InvalidInput(f"{where} has the weights {shown}; weights names the file or files the model ships, "
                           "each ending in .safetensors (model.safetensors, for one).")


def parse_examples(data: Any, *, base_dir: Path | None = None, source: str = "built-in") -> dict[str, Any] | None:
    """A catalog file's `examples:` section ({task: [example, ...]}) in the shape each tab takes (EXAMPLE_FIELDS):
    a list of plain values where an example fills one input, else of rows (text-to-image's negative prompt
    filled in as empty); CLIP's a mapping of labels, template and captions (texts) and queries (a list). Image paths
    that start with '.' are resolved against the YAML file's folder. Each fault is a sentence naming the
    example."""
    if data is None:
        return None
    if not isinstance(data, Mapping):
        raise InvalidInput(f"In {source}, examples must map task names to lists of examples.")
    parsed: dict[str, Any] = {}
    for raw_task, items in data.items():
        task = canonical_task(str(raw_task))
        if task == "clip":
            parsed[task] = _clip_examples(items, raw_task, source)
            continue
        if not isinstance(items, list) or not items:
            raise InvalidInput(f"In {source}, the examples of {raw_task} must be a list of at least one example.")
        required, optional = EXAMPLE_FIELDS[task]
        fields = required + optional
        shape = ("one text, not empty" if len(fields) == 1 else
                 " or ".join(f"[{', '.join(required + optional[:n])}]" for n in range(len(optional) + 1))
                 + f" (texts, {' and '.join(required)} not empty)")
        rows = []
        for number, item in enumerate(items, 1):
            row = [item] if isinstance(item, str) else item
            if (not isinstance(row, list) or not len(required) <= len(row) <= len(fields)
                    or not all(isinstance(v, str) and (v.strip() or i >= len(required)) for i, v in enumerate(row))):
                raise InvalidInput(f"In {source}, example {number} of {raw_task} must be {shape}.")
            if task == "image-classification" and base_dir is not None and row[0].startswith("."):
                row = [str((base_dir / row[0]).resolve())]
            rows.append(row + [""] * (len(fields) - len(row)))
        parsed[task] = [row[0] for row in rows] if len(fields) == 1 else rows
    return parsed


def _clip_examples(items: Any, raw_task: Any, source: str) -> dict[str, Any]:
    """CLIP's examples: {labels: text or list, template: text with {}, captions: text or list, queries: list},
    each optional."""
    if not isinstance(items, Mapping) or not items or set(items) - set(CLIP_EXAMPLE_KEYS):
        raise InvalidInput(f"In {source}, the examples of {raw_task} must map some of {', '.join(CLIP_EXAMPLE_KEYS)} "
                           "to texts (labels, template and captions) or a list (queries).")
    found: dict[str, Any] = {}
    for key, value in items.items():
        if key == "template":
            if not isinstance(value, str) or value.count("{}") != 1:
                raise InvalidInput(f"In {source}, the CLIP examples' template must be a text that holds {{}} once, "
                                   "where each label goes.")
            found[key] = value
            continue
        texts = [value] if isinstance(value, str) and key != "queries" else value
        if not isinstance(texts, list) or not texts or any(not isinstance(t, str) or not t.strip() for t in texts):
            raise InvalidInput(f"In {source}, the CLIP examples' {key} must be "
                               f"{'a list of texts' if key == 'queries' else 'a text or a list of texts'}, none empty.")
        found[key] = texts if key == "queries" else ("\n" if key == "captions" else ", ").join(texts)
    return found


def _remote(item: Mapping[str, Any], task: str, raw_task: Any, model_id: str,
            source: str) -> tuple[str | None, str | None]:
    """An entry's (endpoint, api_key_env), checked: each fault a sentence naming the entry."""
    endpoint, key_env = item.get("endpoint"), item.get("api_key_env")
    where = f"In {source}, {model_id} of {raw_task}"
    if endpoint is None:
        if key_env is not None:
            raise InvalidInput(f"{where} has an api_key_env but no endpoint; the key is for a remote server, "
                               "named by endpoint.")
        return None, None
    if task != REMOTE_TASK:
        raise InvalidInput(f"{where} has an endpoint; only text-generation (chat) models can be served by a "
                           "remote server.")
    if not isinstance(endpoint, str) or not endpoint.strip().lower().startswith(("http://", "https://")):
        raise InvalidInput(f"{where} has the endpoint {str(endpoint)[:80]!r}; an endpoint is a URL that starts "
                           "with http:// or https:// (the server's OpenAI base URL, usually ending in /v1).")
    endpoint = endpoint.strip().rstrip("/")
    parts = urlsplit(endpoint)
    try:
        reachable = bool(parts.hostname) and parts.port != 0
    except ValueError:  # a port that is no number ("host:abc")
        reachable = False
    if not reachable:
        raise InvalidInput(f"{where} has the endpoint {endpoint[:80]!r}, which names no host and port that can "
                           "be reached.")
    if parts.username or parts.password:
        raise InvalidInput(f"{where} has a user or password in its endpoint URL; put the key in an environment "
                           "variable and name it with api_key_env.")
    if key_env is not None and (not isinstance(key_env, str) or not _VARIABLE.fullmatch(key_env)):
        raise InvalidInput(f"{where} has the api_key_env {str(key_env)[:40]!r}; it must be the name of an "
                           "environment variable (letters, digits and _), such as HF_TOKEN.")
    return endpoint, key_env


def _no_remote_twice(specs: list[ModelSpec], raw_task: Any, source: str) -> None:
    """A remote model whose id another entry of the task also has is refused: the app tells the loaded
    models apart by task and id, so the two would be taken for one another."""
    for i, spec in enumerate(specs):
        for other in specs[i + 1:]:
            if spec.model_id == other.model_id and (spec.endpoint or other.endpoint):
                where = " and ".join(f"at {shown_endpoint(s.endpoint)}" if s.endpoint else "as a local model"
                                     for s in (spec, other))
                raise InvalidInput(f"In {source}, {raw_task} names {spec.model_id} twice ({where}); models are told "
                                   "apart by their id, so keep one of them.")


def shown_endpoint(endpoint: str | None) -> str:
    """An endpoint as the page shows it: without a user or password, should a URL carry one."""
    if not endpoint:
        return ""
    parts = urlsplit(endpoint)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 address
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return urlunsplit((parts.scheme, host + (f":{port}" if port else ""), parts.path, "", ""))


def load_catalog(path: str | os.PathLike | None = None, *, merge_defaults: bool = True) -> Catalog:
    """The built-in catalog, with the tasks of a YAML file (path or $PLAYGROUND_CONFIG) replacing its own."""
    path = path or os.environ.get("PLAYGROUND_CONFIG") or None
    base = parse_catalog(DEFAULT_CATALOG)
    if path is None:
        return base
    import yaml  # small, and only needed when a file is given

    file = Path(path).expanduser()
    try:
        data = yaml.safe_load(file.read_text()) or {}
    except OSError as e:
        raise InvalidInput(f"The catalog file {path} cannot be read ({e.strerror}).") from e
    except yaml.YAMLError as e:
        raise InvalidInput(f"The catalog file {path} is not valid YAML: {str(e).splitlines()[0]}.") from e
    override = parse_catalog(data, base_dir=file.resolve().parent, source=str(path))
    entries = dict(base.entries) if merge_defaults else {}
    entries.update(override.entries)
    return Catalog(entries=entries, source=str(path), serving=override.serving, examples=override.examples)
