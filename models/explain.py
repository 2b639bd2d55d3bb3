"""Why did the model answer that: attributions of a task's answer to its input, with Captum.

Two methods, both against the same baseline (text: every word's token replaced by the pad token,
special tokens kept; images: the all-zero input after the processor's normalisation, i.e. the
dataset's mean colour):
- "fast": gradient x (input - baseline), one backward pass (Captum's InputXGradient, taken at the
  input's distance from the baseline);
- "integrated_gradients": Captum's IntegratedGradients along the straight path from the baseline,
  `steps` points (Gauss-Legendre), batched in passes of PASS_TOKENS tokens (PASS_PIXELS pixels) at most.
Both report `convergence_delta`: the sum of the attributions minus (f(input) - f(baseline)), which
Integrated Gradients drives to zero as its steps grow (completeness) and the fast method does not
promise; it says how far the scores can be read as a share of the answer's score.

Text is attributed at the input embeddings, fed to the model as `inputs_embeds` (no hooks on the
shared model, so a prediction running beside an explanation is untouched); sub-tokens are summed into
the tokenizer's words, with character offsets into the text they come from, special tokens left out.
Images are attributed per pixel and summed over the colour channels: a heatmap.

What is attributed (`attributed`: "logit"): sentiment and image classification, the label's logit;
zero-shot, the entailment logit of the text with the label's hypothesis; entities, the sum of the
entity's tokens' logits for their labels; question answering, the start (or end) logit of the answer's
first (or last) token; fill-mask, the token's logit at the mask; CLIP, the image-text logit (the
logit scale times the cosine).
"""
from __future__ import annotations

from typing import Any, Callable

from .errors import InvalidInput, about
from .messages import say

METHODS = ("fast", "integrated_gradients")
DEFAULT_STEPS = 64
MAX_STEPS = 256
# Integrated Gradients' steps per forward/backward pass, bounded by what a pass holds: the autograd graph of
# BERT-base on 8 rows of 512 tokens takes 2.65 GB, so a long text gets fewer rows per pass than a short one
PASS_TOKENS = 4096             # text: rows x tokens per pass
PASS_PIXELS = 16 * 224 * 224   # images: rows x pixels per pass (on a CPU, 64 rows of 224 x 224 cost more per row than 16)
HEATMAP_SIDE = 32   # the raw grid returned, pooled to at most this many cells a side
OVERLAY_SIDE = 224  # the overlay's shorter side at least (a tiny model sees 32 x 32 pixels)


def check_method(method: Any, steps: Any) -> tuple[str, int]:
    with about("method"):
        name = str(method or "fast").strip().lower().replace(" ", "_").replace("-", "_")
        if name in ("ig", "integrated"):
            name = "integrated_gradients"
        if name not in METHODS:
            raise InvalidInput(say("explain.method", value=str(method)[:40]))
    with about("steps"):
        if steps is None or steps == "":
            steps = DEFAULT_STEPS
        if isinstance(steps, bool) or not isinstance(steps, (int, float)) or steps != int(steps) \
                or not 2 <= steps <= MAX_STEPS:
            raise InvalidInput(say("explain.steps", limit=MAX_STEPS, value=str(steps)[:20]))
    return name, int(steps)


def explain(pipeline: Any, inputs: Any, *, target: Any = None, method: Any = "fast", steps: Any = DEFAULT_STEPS,
            **params: Any) -> dict[str, Any]:
    """The explanation of the pipeline's answer for `inputs` (the adapter's own input; `params` its
    parameters): {"words": [...]} for text, {"heatmap": [[...]], "overlay": PIL image} for images,
    with "target", "method", "steps", "attributed", "baseline", "target_score", "baseline_score",
    "convergence_delta"."""
    method, steps = check_method(method, steps)
    explainer = EXPLAINERS.get(pipeline.task)
    if explainer is None:
        raise InvalidInput(say("explain.no_attributions", task=pipeline.task))
    return explainer(pipeline, inputs, target, method, steps, params)


# -- the attribution, on any differentiable input --------------------------------------------------------

def attribute(forward: Callable[[Any], Any], inputs: Any, baseline: Any, method: str, steps: int,
              rows: int) -> dict[str, Any]:
    """Captum on forward(x) -> one score per row: attributions shaped as `inputs`, the scores at the
    input and the baseline (one pass of both), and the convergence delta. `rows`: Integrated Gradients'
    steps per pass."""
    import torch
    from captum.attr import InputXGradient, IntegratedGradients

    with torch.enable_grad():
        if method == "fast":
            shift = (inputs - baseline).detach()
            attributions = InputXGradient(lambda d: forward(baseline + d)).attribute(shift)
        else:
            attributions = IntegratedGradients(forward).attribute(
                inputs, baselines=baseline, n_steps=steps, method="gausslegendre",
                internal_batch_size=min(steps, rows))
    with torch.no_grad():
        at_input, at_baseline = (float(v) for v in forward(torch.cat([inputs, baseline])).float())
    total = float(attributions.detach().float().sum())
    return {"attributions": attributions.detach().float().cpu(), "target_score": at_input,
            "baseline_score": at_baseline, "convergence_delta": total - (at_input - at_baseline)}


def _answer(found: dict[str, Any], target: str, method: str, steps: int, baseline: str) -> dict[str, Any]:
    return {**({"special_tokens_score": found["special_tokens_score"]} if "special_tokens_score" in found else {}),"target": target, "method": method, "steps": steps if method == "integrated_gradients" else None,
            "attributed": "logit", "baseline": baseline, "target_score": found["target_score"],
            "baseline_score": found["baseline_score"], "convergence_delta": found["convergence_delta"]}


# -- text -------------------------------------------------------------------------------------------------

TEXT_BASELINE = "the pad token in place of every word's token (special tokens kept)"


def explain_text(pipeline: Any, enc: Any, sources: list[str], parts: list[str],
                 score: Callable[[Any], Any], method: str, steps: int) -> dict[str, Any]:
    """Attribute score(model outputs) -> one value per row to the words of a one-row encoding `enc`
    (made with return_offsets_mapping) of `sources` (one text, or a pair)."""
    import torch

    model, tokenizer = pipeline._require_loaded("model", "tokenizer")
    ids = enc["input_ids"]
    special = torch.tensor(tokenizer.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True),
                           dtype=torch.bool)[None]
    pad = next(t for t in (tokenizer.pad_token_id, tokenizer.unk_token_id, 0) if t is not None)
    reference = torch.where(special, ids, torch.full_like(ids, pad))
    extra = pipeline.on_device({k: enc[k] for k in ("attention_mask", "token_type_ids") if k in enc})
    embed = model.get_input_embeddings()
    with torch.no_grad():  # (not inference_mode: its tensors cannot enter autograd)
        inputs = embed(ids.to(model.device))
        baseline = embed(reference.to(model.device))

    def forward(embeds: Any) -> Any:
        rows = embeds.shape[0]
        return score(model(inputs_embeds=embeds, **{k: v.expand(rows, -1) for k, v in extra.items()}))

    found = attribute(forward, inputs, baseline, method, steps, rows=max(1, PASS_TOKENS // ids.shape[1]))
    per_token = found["attributions"].sum(-1)[0].tolist()
    words = words_of(enc, sources, parts, per_token)
    # what the special tokens ([CLS], [SEP]) took: with the words', the whole of the attributions
    found["special_tokens_score"] = sum(per_token) - sum(w["score"] for w in words)
    return {"words": words, **found}


def words_of(enc: Any, sources: list[str], parts: list[str], per_token: list[float]) -> list[dict[str, Any]]:
    """Sub-tokens summed into the tokenizer's words: {"text", "start", "end", "score", "part"}, in order,
    offsets into the part's own text; special tokens (no word) left out. A Chinese character (or kana, or
    an emoji) is a word of its own even where the tokenizer's word runs on without spaces (hf.same_word)."""
    from .hf import same_word

    offsets = enc["offset_mapping"][0].tolist()
    sequence = enc.sequence_ids(0)
    words: list[dict[str, Any]] = []
    last = None  # (sequence, word) of the last token read
    for t, word in enumerate(enc.word_ids(0)):
        if word is None or sequence[t] is None:
            continue
        s = sequence[t]
        start, end = offsets[t]
        found = words[-1] if words else None
        if (s, word) != last or not same_word(sources[s], found["start"], found["end"], start):
            found = {"start": start, "end": end, "score": 0.0, "part": parts[s], "sequence": s}
            words.append(found)
            last = (s, word)
        found["start"], found["end"] = min(found["start"], start), max(found["end"], end)
        found["score"] += per_token[t]
    return [{"text": sources[w["sequence"]][w["start"]:w["end"]], "start": w["start"], "end": w["end"],
             "score": w["score"], "part": w["part"]} for w in words]


def _encode(pipeline: Any, *texts: str, truncation: Any = True) -> Any:
    from .hf import context_length

    model, tokenizer = pipeline._require_loaded("model", "tokenizer")
    limit = min(context_length(model, tokenizer), 512)
    return pipeline.tokenize(tokenizer, *texts, truncation=truncation, max_length=limit,
                             return_offsets_mapping=True, return_tensors="pt")


def _label_index(config: Any, target: Any, default: str) -> tuple[int, str]:
    names = {str(v): int(k) for k, v in (config.id2label or {}).items()}
    wanted = default if target in (None, "") else str(target).strip()
    for name, i in names.items():
        if name.lower() == wanted.lower():
            return i, name
    raise InvalidInput(say("explain.not_a_model_label", wanted=wanted[:60], labels=", ".join(names)), field="target")


def _sentiment(pipeline: Any, text: Any, target: Any, method: str, steps: int, params: dict) -> dict[str, Any]:
    from .base import check_text

    text = check_text(text)
    top = pipeline.predict(text)["labels"][0]["label"]
    index, name = _label_index(pipeline.model.config, target, top)
    enc = _encode(pipeline, text)
    found = explain_text(pipeline, enc, [text], ["text"], lambda out: out.logits[:, index], method, steps)
    return {"words": found["words"], **_answer(found, name, method, steps, TEXT_BASELINE)}


def _zero_shot(pipeline: Any, text: Any, target: Any, method: str, steps: int, params: dict) -> dict[str, Any]:
    from .base import check_text

    text = check_text(text)
    params = pipeline.declaration.check(params)
    ranked = pipeline.predict(text, **params)["labels"]
    labels = [r["label"] for r in ranked]
    wanted = ranked[0]["label"] if target in (None, "") else str(target).strip()
    label = next((name for name in labels if name.lower() == wanted.lower()), None)
    if label is None:
        raise InvalidInput(say("explain.not_a_given_label", wanted=wanted[:60], labels=", ".join(labels)),
                           field="target")
    hypothesis = params["hypothesis_template"].replace("{}", label)
    enc = _encode(pipeline, text, hypothesis, truncation="only_first")
    entail = pipeline.entailment_id
    found = explain_text(pipeline, enc, [text, hypothesis], ["text", "hypothesis"],
                         lambda out: out.logits[:, entail], method, steps)
    return {"words": found["words"], **_answer(found, label, method, steps, TEXT_BASELINE)}


def _entities(pipeline: Any, text: Any, target: Any, method: str, steps: int, params: dict) -> dict[str, Any]:
    import torch

    from .base import check_text

    text = check_text(text)
    entities = pipeline.predict(text)["entities"]
    if not entities:
        raise InvalidInput(say("explain.no_entity"), field="target")
    with about("target"):
        try:
            index = 0 if target in (None, "") else int(str(target).strip())
        except ValueError:
            index = -1
        if not 0 <= index < len(entities):
            raise InvalidInput(say("explain.entity_number", last=len(entities) - 1, first=entities[0]["text"]))
    entity = entities[index]
    enc = _encode(pipeline, text)
    offsets = enc["offset_mapping"][0].tolist()
    tokens = [t for t, ((s, e), w) in enumerate(zip(offsets, enc.word_ids(0)))
              if w is not None and s < entity["end"] and e > entity["start"]]
    if not tokens:
        raise InvalidInput(say("explain.entity_past_window"), field="target")
    model = pipeline.model
    with torch.no_grad():
        logits = model(**pipeline.on_device({k: v for k, v in enc.items() if k != "offset_mapping"})).logits[0]
    labels = [int(logits[t].argmax()) for t in tokens]
    rows, columns = torch.tensor(tokens), torch.tensor(labels)
    found = explain_text(pipeline, enc, [text], ["text"],
                         lambda out: out.logits[:, rows, columns].sum(-1), method, steps)
    name = f"{entity['text']} ({entity['entity']})"
    return {"words": found["words"], "entity": entity, **_answer(found, name, method, steps, TEXT_BASELINE)}


def _question_answering(pipeline: Any, item: Any, target: Any, method: str, steps: int,
                        params: dict) -> dict[str, Any]:
    from .base import check_text

    item = item if isinstance(item, dict) else {}
    question = check_text(item.get("question"), "question", max_chars=2_000).strip()
    context = check_text(item.get("context"), "context")
    side = "start" if target in (None, "") else str(target).strip().lower()
    if side not in ("start", "end"):
        raise InvalidInput(say("explain.side", value=side[:20]), field="target")
    answer = pipeline.predict({"question": question, "context": context}, **params)
    enc = _encode(pipeline, question, context, truncation="only_second")
    offsets = enc["offset_mapping"][0].tolist()
    sequence = enc.sequence_ids(0)
    if answer["answer"] is None:
        token, name = 0, "no answer (the first token)"
    else:
        spot = answer["start"] if side == "start" else answer["end"] - 1
        token = next((t for t, ((s, e), q) in enumerate(zip(offsets, sequence)) if q == 1 and s <= spot < e), None)
        if token is None:
            raise InvalidInput(say("explain.answer_past_window"), field="target")
        name = f"{side} of {answer['answer']!r}"
    key = "start_logits" if side == "start" else "end_logits"
    found = explain_text(pipeline, enc, [question, context], ["question", "context"],
                         lambda out: getattr(out, key)[:, token], method, steps)
    return {"words": found["words"], "answer": answer, **_answer(found, name, method, steps, TEXT_BASELINE)}


def _fill_mask(pipeline: Any, text: Any, target: Any, method: str, steps: int, params: dict) -> dict[str, Any]:
    from .base import check_text

    text = check_text(text)
    tokenizer = pipeline.tokenizer
    fills = pipeline.predict(text, **params)["masks"][0]  # the first mask's candidates, best first
    enc = _encode(pipeline, text)
    masks = (enc["input_ids"][0] == tokenizer.mask_token_id).nonzero().flatten().tolist()
    if target in (None, ""):
        token, wanted = fills[0]["token"], fills[0]["token_str"].strip()
    else:
        wanted = str(target).strip()
        ids = pipeline.tokenize(tokenizer, wanted, add_special_tokens=False)["input_ids"]
        if len(ids) != 1:
            raise InvalidInput(say("explain.not_one_token", wanted=wanted[:40]), field="target")
        token = ids[0]
    if not masks:
        raise InvalidInput(say("explain.mask_past_window", mask=tokenizer.mask_token), field="text")
    position = masks[0]
    found = explain_text(pipeline, enc, [text], ["text"], lambda out: out.logits[:, position, token], method, steps)
    return {"words": found["words"], **_answer(found, wanted, method, steps, TEXT_BASELINE)}


# -- images -----------------------------------------------------------------------------------------------

IMAGE_BASELINE = "the all-zero input after the model's normalisation (the mean colour)"


def heatmap(attributions: Any, seen: Any) -> dict[str, Any]:
    """Per-pixel attributions (1, C, H, W) summed over the channels: the raw grid pooled to at most
    HEATMAP_SIDE cells a side, and a spotlight of the grid's positive part on the picture the model saw
    (bright where the pixels pushed toward the answer, dimmed elsewhere) (`seen`, a PIL image of the model's input), enlarged to OVERLAY_SIDE when smaller."""
    import torch
    from PIL import Image

    grid = attributions.sum(1)[0]  # (H, W)
    side = (min(HEATMAP_SIDE, grid.shape[0]), min(HEATMAP_SIDE, grid.shape[1]))
    pooled = torch.nn.functional.adaptive_avg_pool2d(grid[None, None], side)[0, 0]
    # a spotlight, smoothed (single pixels' gradients are noise to the eye): what pushed toward the answer
    # stays bright, the rest is dimmed to a third
    light = positive_smoothed(grid, seen.size)
    top = float(light.quantile(0.99))
    light = (light / top).clamp(0, 1) if top > 0 else light.clamp(0, 0)
    mask = Image.fromarray((light.numpy() * 255).astype("uint8"), mode="L")
    dim = Image.eval(seen.convert("RGB"), lambda v: v // 3)
    overlay = Image.composite(seen.convert("RGB"), dim, mask)
    if min(overlay.size) < OVERLAY_SIDE:  # a small model's view, drawn large enough to see
        scale = OVERLAY_SIDE / min(overlay.size)
        overlay = overlay.resize((round(overlay.size[0] * scale), round(overlay.size[1] * scale)), Image.BILINEAR)
    return {"heatmap": pooled.tolist(), "heatmap_size": list(side), "overlay": overlay}


def positive_smoothed(grid: Any, size: tuple[int, int]) -> Any:
    """The grid's positive part at `size` (width, height), blurred over about a twelfth of the picture."""
    import torch

    x = torch.nn.functional.interpolate(grid.clamp(min=0)[None, None].float(), size=(size[1], size[0]),
                                        mode="bilinear", align_corners=False)
    k = max(3, (max(size) // 12) | 1)
    for _ in range(2):  # two box blurs: close to a Gaussian
        x = torch.nn.functional.avg_pool2d(x, k, stride=1, padding=k // 2, count_include_pad=False)
    return x[0, 0]


def image_rows(pixels: Any) -> int:
    return max(1, PASS_PIXELS // (pixels.shape[-1] * pixels.shape[-2]))


def _seen(pixels: Any, mean: Any, std: Any) -> Any:
    """The model's input as a picture: normalisation undone (or stretched to 0..1 when unknown)."""
    import torch
    from PIL import Image

    x = pixels[0].detach().float().cpu()
    if mean is not None and std is not None:
        x = x * torch.tensor(std, dtype=torch.float32)[:, None, None] + torch.tensor(mean, dtype=torch.float32)[:, None, None]
    else:
        x = (x - x.min()) / max(float(x.max() - x.min()), 1e-6)
    array = (x.clamp(0, 1).permute(1, 2, 0).numpy() * 255).astype("uint8")
    return Image.fromarray(array)


def _image_classification(pipeline: Any, image: Any, target: Any, method: str, steps: int,
                          params: dict) -> dict[str, Any]:
    import torch

    model, processor = pipeline._require_loaded("model", "processor")
    top = pipeline.predict(image, top_k=1)[0]["label"]
    index, name = _label_index(model.config, target, top)
    pixels = pipeline.on_device(pipeline.preprocess([image])["model_inputs"])["pixel_values"]
    found = attribute(lambda p: model(pixel_values=p).logits[:, index], pixels, torch.zeros_like(pixels),
                      method, steps, rows=image_rows(pixels))
    seen = _seen(pixels, getattr(processor, "image_mean", None), getattr(processor, "image_std", None))
    return {**heatmap(found["attributions"], seen), **_answer(found, name, method, steps, IMAGE_BASELINE)}


def _clip(pipeline: Any, item: Any, target: Any, method: str, steps: int, params: dict) -> dict[str, Any]:
    """item: {"image", "texts": the labels (with "template") or captions}; the target a label or caption
    (the best one when empty); or {"query", "images"}, the target an image's number."""
    item = item if isinstance(item, dict) else {}
    template = item.get("template")
    if "query" in item:  # search: where the query matches in one of the images (the best match by default)
        return _clip_search(pipeline, item, target, method, steps)
    if template is not None:
        ranked = sorted(pipeline.zero_shot(item.get("image"), item.get("texts"), template=template),
                        key=lambda r: r["score"], reverse=True)
        names = [r["label"] for r in ranked]
    else:
        names = [r["caption"] for r in pipeline.rank_captions(item.get("image"), item.get("texts"))]
    wanted = names[0] if target in (None, "") else str(target).strip()
    chosen = next((n for n in names if n.lower() == wanted.lower()), None)
    if chosen is None:
        raise InvalidInput(say("explain.not_a_given_text", wanted=wanted[:60], texts=", ".join(names)[:200]),
                           field="target")
    from .clip import check_template

    text = check_template(template).replace("{}", chosen) if template is not None else chosen
    found = _clip_heatmap(pipeline, item.get("image"), text, method, steps)
    return {**found, "text": text, **_answer(found, chosen, method, steps, IMAGE_BASELINE)}


def _clip_search(pipeline: Any, item: dict[str, Any], target: Any, method: str, steps: int) -> dict[str, Any]:
    from .base import check_text
    from .clip import MAX_QUERY_CHARS, check_images

    query = check_text(item.get("query"), "search text", max_chars=MAX_QUERY_CHARS).strip()
    images = check_images(item.get("images"))
    best = pipeline.search(query, images, top_k=1)[0]["index"]
    with about("target"):
        try:
            index = best if target in (None, "") else int(str(target).strip())
        except ValueError:
            index = -1
        if not 0 <= index < len(images):
            raise InvalidInput(say("explain.image_number", last=len(images) - 1, best=best))
    found = _clip_heatmap(pipeline, images[index], query, method, steps)
    return {**found, "text": query, "image_index": index,
            **_answer(found, f"{query!r} in image {index}", method, steps, IMAGE_BASELINE)}


def _clip_heatmap(pipeline: Any, image: Any, text: str, method: str, steps: int) -> dict[str, Any]:
    """Where in the image the text matches: the image-text logit attributed to the pixels."""
    import torch

    from .images import open_image

    model, tokenizer, preprocess = pipeline._require_loaded("model", "tokenizer", "preprocess")
    with torch.no_grad():
        tokens = pipeline.tokenize(tokenizer, [text]).to(pipeline.device)
        text_embedding = model.encode_text(tokens, normalize=True)
    scale = model.logit_scale.detach().exp().reshape(-1)[0]
    pixels = preprocess(open_image(image))[None].to(pipeline.device, pipeline.dtype)

    def forward(p: Any) -> Any:
        return (model.encode_image(p, normalize=True) @ text_embedding.T)[:, 0] * scale

    found = attribute(forward, pixels, torch.zeros_like(pixels), method, steps, rows=image_rows(pixels))
    normalize = next((t for t in getattr(preprocess, "transforms", []) if type(t).__name__ == "Normalize"), None)
    seen = _seen(pixels, getattr(normalize, "mean", None), getattr(normalize, "std", None))
    scores = {k: v for k, v in found.items() if k != "attributions"}
    return {**scores, **heatmap(found["attributions"], seen)}


EXPLAINERS: dict[str, Callable[..., dict[str, Any]]] = {
    "sentiment": _sentiment,
    "zero-shot-classification": _zero_shot,
    "ner": _entities,
    "question-answering": _question_answering,
    "fill-mask": _fill_mask,
    "image-classification": _image_classification,
    "clip": _clip,
}
