"""Inputs that answer a wrong value with one plain sentence: numbers (text, NaN, a list, out of
range) and images (not an image, too many pixels). The sentence comes back as a `Refused` value,
which the handler's wrapper (running.py) raises as that field's error: beside the field on the
page, as the error of the call for an API client.

gr.Slider and gr.Number compare the raw value with their bounds before anything else, so a
string or a list sent through the API fails inside Gradio with a TypeError that reaches the
visitor as "The upstream Gradio app has raised an exception..." (or as no message at all for
NaN in a Number). These subclasses check the value first and name the field in the sentence.
"""
from __future__ import annotations

import math
from typing import Any

import gradio as gr

from models import InvalidInput, PlaygroundError
from models.base import plain_number
from models.images import check_image_file
from models.messages import CHINESE, say

from .words import english, in_words, param_word


class Refused:
    """A value a control's check refused, with the sentence and the field (as the API names it)."""

    def __init__(self, message: str, field: str) -> None:
        self.message, self.field = message, field

    def __repr__(self) -> str:
        return f"Refused({self.message!r}, field={self.field!r})"


def first_refused(values: Any) -> Refused | None:
    return next((v for v in values if isinstance(v, Refused)), None)


def raise_refused(args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    """A handler's side of Refused: the first refused argument's sentence, as that field's error."""
    found = first_refused([*args, *kwargs.values()])
    if found is not None:
        raise InvalidInput(found.message, field=found.field)


def refused(component: Any, check: Any, *args: Any) -> Any:
    """check(*args), or a Refused with its sentence (named for the component's field; a keyed Message, which the
    handler's wrapper renders in the reader's language)."""
    try:
        return check(*args)
    except PlaygroundError as e:
        return Refused(e.args[0] if e.args else str(e), field_name(component.label).lower())
    except gr.Error as e:
        return Refused(str(e.message), field_name(component.label).lower())


def field_name(label: Any) -> str:
    """'Temperature (0 = greedy)' -> 'Temperature': the name a visitor sees next to the field (in English: a
    translated label, components/words.py, is read as its English text)."""
    name = str(english(label) or "").split(" (")[0].strip()
    return name or "The value"


def field_names(label: Any) -> dict[str, str]:
    """A field's name for a sentence about it, in English (`name`) and as the Chinese page shows it (`name_zh`)."""
    english_name = field_name(label)
    chinese = str(in_words(label, CHINESE) or "").split("（")[0].split(" (")[0].strip()
    return {"name": english_name, "name_zh": "这个值" if english_name == "The value" else chinese or english_name}


def checked_number(payload: Any, label: Any, minimum: float | None, maximum: float | None,
                   whole: bool) -> float | int | None:
    """The payload as a finite number within the bounds, or None when it is empty (the handler's default)."""
    names = field_names(label)
    if payload is None:
        return None
    if isinstance(payload, str):
        text = payload.strip()
        if not text:
            return None
        try:
            payload = float(text)
        except ValueError:
            shown = text if len(text) <= 20 else text[:20] + "…"
            raise InvalidInput(say("input.not_a_number", shown=shown, **names)) from None
    if isinstance(payload, bool) or not isinstance(payload, (int, float)):
        raise InvalidInput(say("input.wrong_type", kind=type(payload).__name__, **names))
    if not math.isfinite(payload):
        raise InvalidInput(say("input.not_finite", value=payload, **names))
    low = minimum if minimum is not None else -math.inf
    high = maximum if maximum is not None else math.inf
    if not low <= payload <= high:
        value = plain_number(payload)
        if minimum is not None and maximum is not None:
            raise InvalidInput(say("input.between", low=plain_number(minimum), high=plain_number(maximum), value=value,
                                   **names))
        if minimum is not None:
            raise InvalidInput(say("input.at_least", low=plain_number(minimum), value=value, **names))
        raise InvalidInput(say("input.at_most", high=plain_number(maximum), value=value, **names))
    if whole:
        if payload != int(payload):
            raise InvalidInput(say("input.not_whole", value=payload, **names))
        return int(payload)
    return payload


class NumberSlider(gr.Slider):
    """A gr.Slider whose API input is checked first; None passes through as the handler's default."""

    is_template = True  # the browser draws it as a plain gr.Slider

    def get_config(self, cls: Any = None) -> dict[str, Any]:
        return super().get_config(cls or gr.Slider)

    def preprocess(self, payload: Any) -> Any:
        value = refused(self, checked_number, payload, self.label, self.minimum, self.maximum, False)
        return value if value is None or isinstance(value, Refused) else gr.Number.round_to_precision(
            value, self.precision)


class NumberField(gr.Number):
    """A gr.Number (like a seed) whose API input is checked first; with precision 0, only whole numbers."""

    is_template = True  # the browser draws it as a plain gr.Number

    def get_config(self, cls: Any = None) -> dict[str, Any]:
        return super().get_config(cls or gr.Number)

    def preprocess(self, payload: Any) -> Any:
        value = refused(self, checked_number, payload, self.label, self.minimum, self.maximum, self.precision == 0)
        return value if value is None or isinstance(value, Refused) else gr.Number.round_to_precision(
            value, self.precision)


class ImageInput(gr.Image):
    """An image upload that answers a non-image or a too-big image with one plain sentence,
    reading only the file's header, and hands the handler the file's path, not decoded pixels."""

    is_template = True  # the browser draws it as a plain gr.Image

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("type", "filepath")
        kwargs.setdefault("image_mode", None)  # keep the original mode: models/images.py converts it
        super().__init__(**kwargs)

    def get_config(self, cls: Any = None) -> dict[str, Any]:  # props come from gr.Image's signature, not **kwargs
        return super().get_config(cls or gr.Image)

    def preprocess(self, payload: Any) -> Any:
        return refused(self, self._checked, payload)

    def _checked(self, payload: Any) -> Any:
        if payload is not None and getattr(payload, "path", None):
            check_image_file(payload.path)  # a PlaygroundError with its keyed sentence
        try:
            return super().preprocess(payload)
        except gr.Error:
            raise
        except Exception:  # noqa: BLE001
            raise InvalidInput(say("image.unreadable")) from None


def param_control(param: Any, **overrides: Any) -> gr.Component:
    """The control for a declared parameter (models/tasks.py Param): its label, limits, step and
    default, so the UI offers exactly what the adapter's check accepts. A seed is a number box that
    starts empty (random); `overrides` (value=...) where a tab starts from something the model decides."""
    label, info = param_word(param, "label"), param_word(param, "info")
    if param.kind == "bool":
        return gr.Checkbox(**{**dict(label=label, value=param.default, info=info), **overrides})
    if param.kind == "text":
        return gr.Textbox(**{**dict(label=label, value=param.default), **overrides})
    if param.kind == "labels":
        return LabelsInput(**{**dict(label=label, value=param.default, info=info), **overrides})
    if param.seed:
        # value=None would turn 0 once an accordion opens (Gradio draws a None Number as 0 and sends that
        # back); a callable that gives None keeps the box empty, so the seed stays random (gradio#6728).
        options = dict(label=label, value=lambda: None, precision=0, minimum=param.low, maximum=param.high)
        return NumberField(**{**options, **overrides})
    options = dict(minimum=param.low, maximum=param.high, value=param.default, step=param.step, label=label)
    return NumberSlider(**{**options, **overrides})


class LabelsInput(gr.Textbox):
    """A textbox of comma-separated labels that also takes a list of strings through the API
    (gr.Textbox would turn ["a", "b"] into the text "['a', 'b']"); the adapter parses either."""

    is_template = True  # the browser draws it as a plain gr.Textbox

    def get_config(self, cls: Any = None) -> dict[str, Any]:
        return super().get_config(cls or gr.Textbox)

    def preprocess(self, payload: Any) -> Any:
        if isinstance(payload, (list, tuple)):
            return list(payload)
        return super().preprocess(payload)

    def api_info(self) -> dict[str, Any]:
        return {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}],
                "description": "comma-separated labels, or a list of them"}
