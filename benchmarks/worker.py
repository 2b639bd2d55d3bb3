"""A helper process that sets up one kind of call, then runs and times it on demand.

    python -m benchmarks.worker KIND 'JSON ARGS'
    stdin: one line per call  ->  stdout: "RESULT {json}" per call ({"seconds": ..., ...})

Baselines (a model called directly) and gradio_client run here, each in its own process like
the server, so no client thread and no second set of torch threads shares the benchmark's
process: on a 2-core machine they would slow whatever runs next to them.
"""
from __future__ import annotations

import json
import os
import sys
import threading
import time
from typing import Any, Callable

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TQDM_DISABLE", "1")

CAT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "assets", "images", "cat.jpg")


def direct_sentiment(path: str, texts: list[str]) -> Callable[..., dict]:
    """Tokenizer + forward + softmax; call(batch=n) classifies texts[:n] in one forward pass."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()

    def call(batch: int = 1, mode: str = "inference_mode") -> dict:
        start = time.perf_counter()
        enc = tokenizer(texts[0] if batch == 1 else texts[:batch], padding=True, truncation=True,
                        return_tensors="pt")
        with grad_mode(torch, mode):
            logits = model(**enc).logits
        logits.float().softmax(-1).tolist()
        return {"seconds": time.perf_counter() - start}
    return call


def direct_image(path: str, image: str = CAT) -> Callable[..., dict]:
    """Open + image processor + forward + top 5; call(batch=n) runs n copies in one forward pass;
    mode="preprocess" stops before the forward pass."""
    import torch
    from PIL import Image
    from transformers import AutoImageProcessor, AutoModelForImageClassification

    processor = AutoImageProcessor.from_pretrained(path)
    model = AutoModelForImageClassification.from_pretrained(path).eval()

    def call(batch: int = 1, mode: str = "inference_mode") -> dict:
        start = time.perf_counter()
        pictures = []
        for _ in range(batch):
            with Image.open(image) as f:
                pictures.append(f.convert("RGB"))
        pixels = processor(images=pictures, return_tensors="pt")["pixel_values"]
        if mode == "preprocess":  # decoding and the image processor only, no forward pass
            return {"seconds": time.perf_counter() - start}
        with grad_mode(torch, mode):
            logits = model(pixel_values=pixels).logits
        top = logits.float().softmax(-1).topk(min(5, logits.shape[-1]))
        top.values.tolist()
        return {"seconds": time.perf_counter() - start}
    return call


def grad_mode(torch: Any, mode: str) -> Any:
    import contextlib

    return {"inference_mode": torch.inference_mode, "no_grad": torch.no_grad,
            "grad": contextlib.nullcontext}[mode]()


def client_call(url: str, api_name: str, kwargs: dict[str, Any], files: dict[str, str] | None = None) -> Callable[[], dict]:
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)

    def call() -> dict:
        start = time.perf_counter()
        extra = {k: handle_file(v) for k, v in (files or {}).items()}
        client.predict(**kwargs, **extra, api_name=api_name)
        return {"seconds": time.perf_counter() - start}
    return call


def client_stream(url: str, kwargs: dict[str, Any]) -> Callable[[], dict]:
    from gradio_client import Client

    client = Client(url, verbose=False)

    def call() -> dict:
        start = time.perf_counter()
        job = client.submit(**kwargs, api_name="/generate")
        first, updates, last = None, 0, None
        for text, stats in job:
            updates += 1
            last = stats
            if first is None and text:
                first = time.perf_counter() - start
        job.result()
        return {"seconds": time.perf_counter() - start, "first": first, "updates": updates, "stats": last}
    return call


def direct_generate(path: str, prompt: str, max_new_tokens: int, seed: int = 1) -> Callable[[], dict]:
    """model.generate with a TextIteratorStreamer, plain sampling as the benchmark's API calls ask
    for (temperature 1, no top-k or top-p): a random model's greedy output tends to repeat itself."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def call() -> dict:
        start = time.perf_counter()
        ids = tokenizer(prompt, return_tensors="pt")["input_ids"]
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        out: list[Any] = []

        def run() -> None:
            with torch.inference_mode():
                out.append(model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), streamer=streamer,
                                          max_new_tokens=max_new_tokens, do_sample=True, temperature=1.0,
                                          top_k=0, top_p=1.0, num_beams=1, pad_token_id=pad))
        torch.manual_seed(seed)
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        first, pieces = None, 0
        for piece in streamer:
            if piece:
                pieces += 1
                if first is None:
                    first = time.perf_counter() - start
        worker.join()
        return {"seconds": time.perf_counter() - start, "first": first, "updates": pieces,
                "tokens": int(out[0].shape[1] - ids.shape[1])}
    return call


def app_adapter(task: str, path: str, inputs: Any, params: dict[str, Any]) -> Callable[[], dict]:
    """The app's own adapter (models/), loaded by its ModelManager, called in-process."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from models import ModelManager, parse_catalog

    manager = ModelManager(parse_catalog({task: [{"id": path}]}), device="cpu", max_batch_size=1)
    pipeline = manager.get(task, path)

    def call(**overrides: Any) -> dict:
        start = time.perf_counter()
        result = pipeline.predict(inputs, **{**params, **overrides})
        extra = {"steps_run": result.get("steps_run")} if isinstance(result, dict) else {}
        return {"seconds": time.perf_counter() - start, **extra}
    return call


def adapter_stream(path: str, prompt: str, max_new_tokens: int, seed: int = 1) -> Callable[[], dict]:
    """The app's TextGeneration.stream (models/text.py), same sampling as direct_generate."""
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from models import ModelManager, parse_catalog

    manager = ModelManager(parse_catalog({"text-generation": [{"id": path}]}), device="cpu", max_batch_size=1)
    pipeline = manager.get("text-generation", path)

    def call() -> dict:
        start = time.perf_counter()
        first, updates, last = None, 0, {}
        for update in pipeline.stream(prompt, max_new_tokens=max_new_tokens, temperature=1.0, top_p=1.0, top_k=0,
                                      repetition_penalty=1.0, do_sample=True, seed=seed):
            last = update
            if not update["done"]:
                updates += 1
                if first is None and update["text"]:
                    first = time.perf_counter() - start
        return {"seconds": time.perf_counter() - start, "first": first, "updates": updates,
                "tokens": last.get("new_tokens")}
    return call


def direct_chat(path: str, max_new_tokens: int) -> Callable[..., dict]:
    """apply_chat_template + model.generate, greedy: call(messages, stream=True) reads a TextIteratorStreamer
    on another thread (as the app does); stream=False generates, then decodes the new tokens."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, TextIteratorStreamer

    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path).eval()
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id

    def call(messages: list[dict[str, str]], stream: bool = True) -> dict:
        start = time.perf_counter()
        text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
        kwargs = dict(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens,
                      do_sample=False, num_beams=1, temperature=None, top_p=None, top_k=None, pad_token_id=pad)
        if not stream:
            with torch.inference_mode():
                out = model.generate(**kwargs)
            answer = tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True)
            return {"seconds": time.perf_counter() - start, "tokens": int(out.shape[1] - ids.shape[1]),
                    "prompt_tokens": int(ids.shape[1]), "text": answer}
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        out: list[Any] = []

        def run() -> None:
            with torch.inference_mode():
                out.append(model.generate(**kwargs, streamer=streamer))
        worker = threading.Thread(target=run, daemon=True)
        worker.start()
        first, pieces, answer = None, 0, ""
        for piece in streamer:
            if piece:
                pieces += 1
                answer += piece
                if first is None:
                    first = time.perf_counter() - start
        worker.join()
        return {"seconds": time.perf_counter() - start, "first": first, "updates": pieces, "text": answer,
                "tokens": int(out[0].shape[1] - ids.shape[1]), "prompt_tokens": int(ids.shape[1])}
    return call


def client_chat(url: str, kwargs: dict[str, Any]) -> Callable[[], dict]:
    """gradio_client's submit of /chat, its updates read as they come."""
    from gradio_client import Client

    client = Client(url, verbose=False)

    def call() -> dict:
        start = time.perf_counter()
        job = client.submit(**kwargs, api_name="/chat")
        first, updates, reply = None, 0, ""
        for reply, _ in job:
            updates += 1
            if first is None and reply:
                first = time.perf_counter() - start
        reply, stats = job.result()
        return {"seconds": time.perf_counter() - start, "first": first, "updates": updates, "text": reply,
                "tokens": stats.get("new_tokens"), "prompt_tokens": stats.get("prompt_tokens")}
    return call


def bare_diffusion(path: str, prompt: str, width: int, height: int, guidance_scale: float) -> Callable[[str], dict]:
    import torch
    from diffusers import AutoPipelineForText2Image

    pipe = AutoPipelineForText2Image.from_pretrained(path, use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)

    def call(steps: int = 2, seed: int = 0) -> dict:
        start = time.perf_counter()
        pipe(prompt=prompt, num_inference_steps=int(steps), guidance_scale=guidance_scale, width=width,
             height=height, generator=torch.Generator("cpu").manual_seed(int(seed)))
        return {"seconds": time.perf_counter() - start}
    return call


def diffusion_pair(path: str, prompt: str, width: int, height: int, guidance_scale: float) -> Callable[..., dict]:
    """The app's TextToImage adapter and the bare diffusers pipeline in one process (one start-up):
    call(which="adapter" | "bare", steps=n)."""
    adapter = app_adapter("text-to-image", path, prompt, {"guidance_scale": guidance_scale, "width": width,
                                                          "height": height, "seed": 0})
    bare = bare_diffusion(path, prompt, width, height, guidance_scale)

    def call(which: str, steps: int = 2) -> dict:
        return adapter(steps=steps) if which == "adapter" else bare(steps=steps)
    return call


def session_state(config: str) -> Callable[..., dict]:
    """What Gradio does for every API call that sends no session_hash: build a SessionState (as
    shipped, configs rendered on demand; eager=True: Gradio's own, every block's config rendered).
    call(which="app" | "bare", eager=False | True)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    from gradio.state_holder import SessionState

    from benchmarks import bare_app
    from components import Settings, build_demo
    from models import ModelManager, load_catalog

    catalog = load_catalog(config)
    demos = {"app": build_demo(catalog, ModelManager(catalog), Settings(examples_dir=os.path.join(root, "assets"))),
             "bare": bare_app.build()}

    gradios_init = getattr(SessionState.__init__, "__wrapped_gradio__", None)  # components/serving.py

    def call(which: str = "app", eager: bool = False) -> dict:
        """eager: Gradio's own SessionState.__init__, which renders every block's config up front."""
        start = time.perf_counter()
        if eager and gradios_init is not None:
            gradios_init(SessionState.__new__(SessionState), demos[which])
        else:
            SessionState(demos[which])
        return {"seconds": time.perf_counter() - start, "blocks": len(demos[which].blocks)}
    return call


KINDS: dict[str, Callable[..., Callable[..., dict]]] = {
    "direct_sentiment": direct_sentiment, "direct_image": direct_image, "client_call": client_call,
    "client_stream": client_stream, "direct_generate": direct_generate, "app_adapter": app_adapter,
    "bare_diffusion": bare_diffusion, "adapter_stream": adapter_stream, "diffusion_pair": diffusion_pair,
    "session_state": session_state, "direct_chat": direct_chat, "client_chat": client_chat,
}


def main() -> None:
    from concurrent.futures import ThreadPoolExecutor

    kind, args = sys.argv[1], json.loads(sys.argv[2])
    # Set up and call on one long-lived thread that is not the main thread, as the server runs
    # its handlers (Gradio's worker threads): the same execution context for torch on both sides.
    pool = ThreadPoolExecutor(1, thread_name_prefix="call") if os.environ.get("BENCH_WORKER_MAIN") != "1" else None
    run = (lambda fn, *a, **k: pool.submit(fn, *a, **k).result()) if pool else (lambda fn, *a, **k: fn(*a, **k))
    call = run(KINDS[kind], **args)
    print("READY", flush=True)
    for line in sys.stdin:
        params = json.loads(line) if line.strip() else {}
        try:
            result = run(call, **params)
        except Exception as e:  # noqa: BLE001 - reported to the benchmark, which raises it
            result = {"error": f"{type(e).__name__}: {e}"}
        print("RESULT " + json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
