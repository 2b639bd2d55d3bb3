"""Results (models/results.py) turned into what a Gradio component shows; shared by the tabs."""
from __future__ import annotations

from typing import Any


def label_scores(scored: list[dict[str, Any]], key: str = "label") -> dict[str, float]:
    """[{"label", "score"}...] (Labels' "labels", ImageLabels, CLIP's) -> gr.Label's {label: confidence}."""
    return {item[key]: item["score"] for item in scored}


def highlighted(text: str, spans: list[dict[str, Any]]) -> dict[str, Any]:
    """Character spans [{"entity", "start", "end"}...] (Entities', an Answer's) -> gr.HighlightedText's value."""
    return {"text": text, "entities": [{"entity": s["entity"], "start": s["start"], "end": s["end"]} for s in spans]}
