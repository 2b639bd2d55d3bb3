"""Image classification tab: upload, webcam or paste; the top labels with confidence bars, all k on request."""
from __future__ import annotations

from pathlib import Path


from models import InvalidInput
from models.messages import say
from models.tasks import task

from .common import Context
from .render import label_bars, label_scores
from .inputs import ImageInput
from .task_tab import task_tab
from .words import text, word

TASK = "image-classification"


def build(ctx: Context) -> None:
    top_k = task(TASK).param("top_k")

    def classify_image(image: str, model: str | None = None, top_k: int = top_k.default) -> dict[str, float]:
        if image is None:
            raise InvalidInput(say("image.none_given"), field="image")
        result = ctx.manager.predict(TASK, model, image, top_k=top_k)
        return label_scores(result)

    examples = sorted(str(p) for p in (Path(ctx.settings.examples_dir) / "images").glob("*.jpg"))
    task_tab(ctx, TASK, intro=text(f"intro.{TASK}"),
             inputs=lambda: [ImageInput(label=word("image"), sources=["upload", "webcam", "clipboard"], height=320)],
             outputs=lambda: [label_bars(word("labels"))],
             fn=classify_image, run_label=word("run.classify"), examples=examples)
