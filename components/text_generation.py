"""Text generation tab: streamed output (drawn as Markdown, copied as written), a per-user Stop, the seed
and the speed shown back."""
from __future__ import annotations

import time
from typing import Any, Iterator

import gradio as gr

from models.tasks import task

from .common import Context, session_of
from .render import GeneratedText
from .task_tab import task_tab

TASK = "text-generation"
EXAMPLES = [
    "Write a haiku about a cat watching the rain.",
    "Explain in two sentences why the sky is blue.",
    "Give three tips for learning a new language.",
]
YIELD_EVERY = 0.05  # seconds between streamed updates: smooth to read, without flooding the browser


def describe(update: dict[str, Any]) -> str:
    seconds = update["seconds"] or 0.0
    first = update["first_token_seconds"]
    rate = update["new_tokens"] / seconds if seconds > 0 else 0.0
    parts = [f"seed {update['seed']}", f"{update['new_tokens']} tokens", f"{rate:.1f} tokens/s",
             f"first token {first:.2f} s" if first is not None else "no token", f"total {seconds:.2f} s"]
    if update.get("stopped"):
        parts.append("stopped")
    return " · ".join(parts)


def build(ctx: Context) -> None:
    d = {p.name: p.default for p in task(TASK).params}

    def generate(prompt: str, model: str | None = None, max_new_tokens: int = d["max_new_tokens"],
                 temperature: float = d["temperature"], top_p: float = d["top_p"], top_k: int = d["top_k"],
                 repetition_penalty: float = d["repetition_penalty"], seed: int | None = None,
                 request: gr.Request = None) -> Iterator[tuple[str, str]]:
        session = session_of(request)
        stop_event = ctx.stops.start(session, TASK)
        do_sample = not (isinstance(temperature, (int, float)) and temperature == 0)
        updates = ctx.manager.stream(TASK, model, prompt, stop=stop_event, max_new_tokens=max_new_tokens,
                                     temperature=temperature, top_p=top_p, top_k=top_k,
                                     repetition_penalty=repetition_penalty, do_sample=do_sample, seed=seed)
        last_yield = 0.0
        try:
            for update in updates:
                now = time.perf_counter()
                if update["done"] or now - last_yield >= YIELD_EVERY:
                    last_yield = now
                    yield update["text"], describe(update)
        finally:
            stop_event.set()  # the client went away (Stop, closed tab): end generate() too
            updates.close()
            ctx.stops.finish(session, TASK, stop_event)

    def stop_generation(request: gr.Request) -> None:
        """Stop this client's running generation at once; what was generated so far is its result."""
        ctx.stops.stop(session_of(request), TASK)

    tab = task_tab(ctx, TASK, intro="Generate text token by token. Instruct models get their chat template; "
                                    "Stop ends your run at once.",
                   inputs=lambda: [gr.Textbox(label="Prompt", lines=4, placeholder="Ask or start a text…")],
                   outputs=lambda: [GeneratedText(label="Output", buttons=["copy"], container=True, padding=True,
                                                 min_height=300, elem_classes=["generated-text"]), gr.Markdown()],
                   fn=generate, run_label="Generate", examples=EXAMPLES, stop=True,
                   gpu_seconds=lambda max_new_tokens=128, **_: 15 + float(max_new_tokens) / 10)
    tab.stop.click(stop_generation, None, None, queue=False, api_name="stop_generation")
