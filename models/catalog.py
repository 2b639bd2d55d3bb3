"""The curated models a user can pick per task, overridable by a YAML file."""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from .base import ModelSpec
from .errors import InvalidInput
from .tasks import TASKS, canonical_task

# The curated models, per task, as its declaration lists them (models/tasks.py); the first is the default.
DEFAULT_CATALOG: dict[str, list[Any]] = {key: [dict(m) for m in task.models] for key, task in TASKS.items()}


@dataclass(frozen=True)
class Catalog:
    """Per task, the models offered in the picker; the first is the default."""

    entries: Mapping[str, tuple[ModelSpec, ...]]
    source: str = "built-in"
    serving: Mapping[str, Any] | None = None  # the file's `serving:` section, for --backend ray (models/cluster.py)

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
        return Catalog(entries={**self.entries, spec.task: (*kept, spec)}, source=self.source, serving=self.serving)

    def spec(self, task: str, model_id: str | None) -> ModelSpec:
        """The catalog's entry for model_id, or a bare spec for a custom id (None: the default)."""
        task = canonical_task(task)
        if not model_id:
            model_id = self.default(task)
            if model_id is None:
                raise InvalidInput(f"The catalog has no model for {task}; add one to the catalog file.")
        return self.find(task, model_id) or ModelSpec(task=task, model_id=model_id)


def parse_catalog(data: Any, *, base_dir: Path | None = None, source: str = "built-in") -> Catalog:
    """Turn the YAML shape ({task: [id | {id, label, gpu}]}) into a Catalog.

    Local paths that start with '.' are resolved against the YAML file's folder, so a
    catalog file can travel with its models.
    """
    if not isinstance(data, Mapping):
        raise InvalidInput(f"The catalog {source} must map task names to lists of models.")
    entries: dict[str, tuple[ModelSpec, ...]] = {}
    for raw_task, items in data.items():
        if raw_task == "serving":  # how --backend ray serves each family, not a task (models/cluster.py)
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
            if base_dir is not None and model_id.startswith("."):
                model_id = str((base_dir / model_id).resolve())
            defaults = item.get("defaults") or {}
            specs.append(ModelSpec(task=task, model_id=model_id, label=item.get("label"),
                                   defaults=dict(defaults), needs_gpu=bool(item.get("gpu", False))))
        entries[task] = tuple(specs)
    return Catalog(entries=entries, source=source, serving=data.get("serving"))


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
    return Catalog(entries=entries, source=str(path), serving=override.serving)
