"""What a program reads about each endpoint: its docstring, made from the task's declaration and the
tab's controls, which Gradio shows in "Use via API" and gives MCP clients as the tool's description
and its parameters' (gradio.utils.get_function_description reads the "Args:" lines)."""
from __future__ import annotations

import inspect
from typing import Any, Callable

from models.base import plain_number
from models.tasks import task as declared

from .inputs import field_name
from .words import english


def describe_param(param: Any) -> str:
    text = param.help or field_name(param.label)
    if param.kind == "number" and not param.seed and param.low is not None and param.high is not None:
        default = "the model's own" if param.default is None else plain_number(param.default)
        text += f" Between {plain_number(param.low)} and {plain_number(param.high)} (the model may allow less); " \
                f"default {default}."
    elif param.seed:
        text += " Empty for a random one."
    return text


def describe_input(component: Any, catalog_default: str | None) -> str:
    if type(component).__name__ == "Dropdown" and field_name(component.label) == "Model":
        return ("The model: a Hub id (owner/name) or a local folder, one of the list's or, where the server "
                f"allows it, any other; empty for the task's default ({catalog_default}).")
    parts = [field_name(component.label)]
    for extra in (english(getattr(component, "info", None)), english(getattr(component, "placeholder", None))):
        if isinstance(extra, str) and extra:
            parts.append(extra)
    return ". ".join(p.rstrip(".") for p in parts) + "."


def endpoint_doc(key: str, summary: str, fn: Callable, inputs: list[Any], default_model: str | None) -> str:
    """A docstring for the endpoint that calls fn with `inputs` (in order): the summary, then one
    "name: description" line per parameter, from the task's declaration or the control's label."""
    params = {p.name: p for p in declared(key).params}
    names = [n for n, p in inspect.signature(fn).parameters.items()
             if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)][:len(inputs)]
    lines = [summary.strip(), "", "Args:"]
    for name, component in zip(names, inputs):
        text = describe_param(params[name]) if name in params else describe_input(component, default_model)
        lines.append(f"    {name}: {' '.join(text.split())}")
    return "\n".join(lines)
