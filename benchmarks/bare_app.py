"""The startup baseline: a bare Gradio Blocks app with as many tabs as the playground (8), each
holding a few components, launched the way app.py launches (queue, theme, prevent_thread_lock).

    python benchmarks/bare_app.py --port 7861
"""
from __future__ import annotations

import argparse
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr  # noqa: E402


def build(tabs: int = 8) -> gr.Blocks:
    with gr.Blocks(title="Bare") as demo:
        gr.Markdown("# Bare app")
        with gr.Tabs():
            for i in range(tabs):
                with gr.Tab(f"Tab {i + 1}"):
                    with gr.Row():
                        with gr.Column():
                            model = gr.Dropdown(["a", "b"], value="a", label="Model")
                            text = gr.Textbox(label="Text", lines=3)
                            run = gr.Button("Run", variant="primary")
                        out = gr.Label(label="Output")
                    run.click(lambda t, m: {t or "empty": 1.0}, [text, model], [out], api_name=f"run_{i}")
    demo.queue(default_concurrency_limit=2)
    return demo


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=7861)
    args = parser.parse_args()
    demo = build()
    demo.launch(server_name="127.0.0.1", server_port=args.port, prevent_thread_lock=True, quiet=True,
                max_file_size="20mb", theme=gr.themes.Soft(), show_error=False)
    demo.block_thread()


if __name__ == "__main__":
    main()
