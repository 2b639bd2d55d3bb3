"""Models for the playground: the pipeline interface, the catalog and the lazy manager.

Importing this package imports no torch, transformers, diffusers or open_clip: each adapter
imports them when it loads.
"""
from .availability import Availability, ModelAvailability
from .base import ModelSpec, Pipeline
from .catalog import DEFAULT_CATALOG, Catalog, load_catalog, parse_catalog
from .errors import (InvalidInput, ModelLoadFailed, ModelNotAllowed, ModelNotFound, OutOfMemory,
                     PlaygroundError, UnknownTask, WrongModelKind)
from .manager import ModelManager
from .tasks import TASKS, canonical_task

__all__ = [
    "Availability", "Catalog", "DEFAULT_CATALOG", "InvalidInput", "ModelAvailability", "ModelLoadFailed",
    "ModelManager", "ModelNotAllowed", "ModelNotFound", "ModelSpec", "OutOfMemory", "Pipeline", "PlaygroundError",
    "TASKS", "UnknownTask", "WrongModelKind", "canonical_task", "load_catalog", "parse_catalog",
]
