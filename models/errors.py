"""Typed errors that carry one plain sentence a user can act on."""
from __future__ import annotations

import contextlib
from typing import Iterator


class PlaygroundError(Exception):
    """Base class: str(error) is the sentence shown to the user, nothing more."""


class UnknownTask(PlaygroundError):
    pass


class ModelNotFound(PlaygroundError):
    """The id names no model we can reach (no such repo, gated, offline, not a model folder)."""


class WrongModelKind(PlaygroundError):
    """The model exists but was not trained for the task it was asked to do."""


class ModelLoadFailed(PlaygroundError):
    """The model was found but could not be loaded (corrupt weights, out of memory, ...)."""


class ModelNotAllowed(PlaygroundError):
    """Hosted mode: only the catalog's models may be loaded."""


class InvalidInput(PlaygroundError):
    """A parameter or an input is out of range or of the wrong type.

    `field` names what is at fault, as the API calls it (a declared parameter's name like
    "max_new_tokens", or an input like "prompt", "image", "labels"), so the page can show the
    sentence beside that field; None when no one field is at fault."""

    def __init__(self, message: str = "", *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


@contextlib.contextmanager
def about(field: str) -> Iterator[None]:
    """Name `field` as the cause of an InvalidInput raised inside that names none yet."""
    try:
        yield
    except InvalidInput as e:
        if e.field is None:
            e.field = field
        raise


class ModelUnloaded(InvalidInput):
    """The pipeline was unloaded (evicted, or /unload) between get() and its use; the manager retries."""


class OutOfMemory(PlaygroundError):
    pass


class ClusterUnavailable(PlaygroundError):
    """--backend ray: the model cluster (or the replica serving a request) cannot be reached now."""
