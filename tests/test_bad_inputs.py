"""Bad inputs against every public endpoint of one launched app: each gets one plain sentence, or,
where the input is odd but valid, a right answer; and the next good request still works.

Most cases go through gradio_client, as a user's script would. What gradio_client cannot send
(NaN, Infinity, lone surrogates, a list where a number belongs) goes as raw JSON to
/gradio_api/call/<endpoint>, as any other program could. Gradio's own slider bounds would
answer some values first ("Value 0 is less than minimum value 1."); the app's number inputs
check before them and name the field ("Max new tokens must be between 1 and 1,024, not 0.").
"""
from __future__ import annotations

import re
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from gradio_client import Client, handle_file

from tests.launch import ASSETS, assert_plain_sentence, call_raw, running_app, tiny_catalog, upload_raw

NAN, INF = float("nan"), float("inf")
CAT = str(ASSETS / "images" / "cat.jpg")
NER_TEXT = "Zoë Kravitz lives in Paris."


# -- the app and its inputs -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def models(tiny_models: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The tiny models, and folders that are not (loadable) models."""
    paths = {name: tiny_models[name] for name in ("chat-gpt2", "gpt2", "sentiment", "ner", "qa", "vit", "clip",
                                                  "diffusion")}
    not_a_model = tmp_path_factory.mktemp("not-a-model")
    (not_a_model / "notes.txt").write_text("a folder of notes, not a model\n")
    pickle_only = tmp_path_factory.mktemp("pickle-only")
    (pickle_only / "config.json").write_text((Path(paths["sentiment"]) / "config.json").read_text())
    (pickle_only / "pytorch_model.bin").write_bytes(b"\x80\x04not really a pickle")
    paths.update({"not-a-model": str(not_a_model), "pickle-only": str(pickle_only)})
    return paths


@pytest.fixture(scope="module")
def app(models: dict[str, str]) -> Iterator[Any]:
    with running_app(tiny_catalog(models)) as launched:  # every task
        yield launched


def png_claiming(width: int, height: int) -> bytes:
    """A valid PNG header (IHDR) that claims a huge size, with almost no pixel data behind it."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 16))
            + chunk(b"IEND", b""))


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Odd image files, written once: name -> path."""
    import numpy as np
    from PIL import Image

    folder = tmp_path_factory.mktemp("odd-images")
    cat = Image.open(CAT)
    files: dict[str, str] = {}

    def path(name: str) -> Path:
        files[name.rsplit(".", 1)[0]] = str(folder / name)
        return folder / name

    path("text.png").write_bytes(b"This is a text file with an image's name.\n" * 10)
    path("empty.png").write_bytes(b"")
    whole = folder / "whole.png"
    cat.save(whole)
    path("truncated.png").write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    path("bomb-header.png").write_bytes(png_claiming(30_000, 30_000))
    Image.new("L", (7000, 7000)).save(path("bomb-zeros.png"), optimize=True)  # 49 MP of zeros, ~50 kB
    Image.new("RGB", (1, 1), (200, 20, 20)).save(path("one-pixel.png"))
    Image.fromarray((np.arange(64 * 64).reshape(64, 64) * 16).astype(np.uint16)).save(path("sixteen-bit.png"))
    cat.convert("CMYK").save(path("cmyk.jpg"))
    palette = Image.new("P", (40, 40))
    palette.putpalette([255, 0, 0, 0, 255, 0] * 128)
    palette.save(path("palette-transparent.png"), transparency=0)
    frames = [Image.new("RGB", (32, 32), colour) for colour in ((255, 0, 0), (0, 0, 255))]
    frames[0].save(path("animated.gif"), save_all=True, append_images=frames[1:], duration=100, loop=0)
    exif = cat.getexif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    cat.save(path("exif-rotated.jpg"), exif=exif)
    with open(path("over-20mb.png"), "wb") as f:  # bigger than app.py's max_file_size
        f.write(b"\x89PNG\r\n\x1a\n")
        f.truncate(21 * 2**20)
    return files


# -- the cases ------------------------------------------------------------------------------------

@dataclass
class Case:
    """One bad input: `kwargs` for gradio_client (or `raw` data for call_raw), built from the
    fixtures by `build`; `works` says whether it must succeed, and `check` checks its result."""

    endpoint: str
    build: Callable[["Inputs"], dict[str, Any]]
    works: bool = False
    raw: bool = False
    check: Callable[[Any, "Inputs"], None] | None = None
    refused_by_client: bool = False  # gradio_client itself refuses (a file over the upload limit)
    says: str | None = None          # a word the message must hold, so it names what to change


@dataclass
class Inputs:
    models: dict[str, str]
    images: dict[str, str]
    url: str
    uploads: dict[str, dict] = field(default_factory=dict)

    def image(self, name: str) -> Any:
        return handle_file(self.images[name])

    def upload(self, path: str) -> dict:
        if path not in self.uploads:
            self.uploads[path] = upload_raw(self.url, path)
        return self.uploads[path]


def gen(**overrides: Any) -> Callable[[Inputs], dict[str, Any]]:
    def build(i: Inputs) -> dict[str, Any]:
        return {"prompt": "Tell me about cats.", "model": i.models["chat-gpt2"], "max_new_tokens": 8,
                "temperature": 0.7, "top_p": 0.95, "top_k": 50, "repetition_penalty": 1.1, "seed": 1,
                **{k: (v(i) if callable(v) else v) for k, v in overrides.items()}}
    return build


def gen_raw(position: int, value: Any) -> Callable[[Inputs], dict[str, Any]]:
    """/generate's inputs in order, one of them replaced: prompt, model, max_new_tokens, temperature,
    top_p, top_k, repetition_penalty, seed."""
    def build(i: Inputs) -> dict[str, Any]:
        data = ["Tell me about cats.", i.models["chat-gpt2"], 8, 0.7, 0.95, 50, 1.1, 1]
        data[position] = value
        return {"data": data}
    return build


def text(endpoint_model: str, value: Any = None, **extra: Any) -> Callable[[Inputs], dict[str, Any]]:
    def build(i: Inputs) -> dict[str, Any]:
        return {"text": value, "model": i.models[endpoint_model], **extra}
    return build


def qa(question: str, context: str) -> Callable[[Inputs], dict[str, Any]]:
    return lambda i: {"question": question, "context": context, "model": i.models["qa"]}


def classify(image: str | None, **extra: Any) -> Callable[[Inputs], dict[str, Any]]:
    def build(i: Inputs) -> dict[str, Any]:
        return {"image": i.image(image) if image else None, "model": i.models["vit"], "top_k": 3, **extra}
    return build


def zero_shot(image: str = "cat", labels: str = "red, blue", **extra: Any) -> Callable[[Inputs], dict[str, Any]]:
    def build(i: Inputs) -> dict[str, Any]:
        picture = handle_file(CAT) if image == "cat" else i.image(image)
        return {"image": picture, "labels": labels, "model": i.models["clip"], **extra}
    return build


def search(query: str = "a cat", count: int = 1, image: str = "cat", **extra: Any) -> Callable[[Inputs], dict[str, Any]]:
    def build(i: Inputs) -> dict[str, Any]:
        path = CAT if image == "cat" else i.images.get(image, image)
        return {"query": query, "images": [handle_file(path)] * count, "model": i.models["clip"], "top_k": 2, **extra}
    return build


def t2i(**overrides: Any) -> Callable[[Inputs], dict[str, Any]]:
    def build(i: Inputs) -> dict[str, Any]:
        return {"prompt": "a red square", "negative_prompt": "", "steps": 1, "guidance_scale": 0.0, "width": 64,
                "height": 64, "num_images": 1, "seed": 1, "model": i.models["diffusion"], "scheduler": "default",
                **overrides}
    return build


def t2i_raw(position: int, value: Any) -> Callable[[Inputs], dict[str, Any]]:
    """/text_to_image's inputs in order: prompt, negative_prompt, steps, guidance_scale, width, height,
    num_images, seed, model, scheduler."""
    def build(i: Inputs) -> dict[str, Any]:
        data = ["a red square", "", 1, 0.0, 64, 64, 1, 1, i.models["diffusion"], "default"]
        data[position] = value
        return {"data": data}
    return build


# Results of inputs that must work.

def generated(result: Any, i: Inputs) -> None:
    output, stats = result
    assert isinstance(output, str) and "tokens" in stats and "seed" in stats


def sentiment_label(result: Any, i: Inputs) -> None:
    assert result["label"] in ("POSITIVE", "NEGATIVE")
    assert sum(c["confidence"] for c in result["confidences"]) == pytest.approx(1.0, abs=1e-4)


def name_is_one_entity(text_sent: str) -> Callable[[Any, Inputs], None]:
    """Whatever comes before it (emoji, other scripts, control characters), the name's span is exact."""
    def check(result: Any, i: Inputs) -> None:
        highlighted, table = result
        assert "".join(piece["token"] for piece in highlighted) == text_sent
        marked, at = [], 0  # (entity, type, where it starts in the text)
        for piece in highlighted:
            if piece["class_or_confidence"]:
                marked.append((piece["token"], piece["class_or_confidence"], at))
            at += len(piece["token"])
        assert ("Zoë Kravitz", "Person", text_sent.index("Zoë Kravitz")) in marked
        rows = table["data"]  # entity, type, confidence
        assert all(entity in text_sent and 0 < confidence <= 1 for entity, kind, confidence in rows)
        assert ["Paris", "Place"] in [[r[0], r[1]] for r in rows]
    return check


def no_entities(result: Any, i: Inputs) -> None:
    highlighted, table = result
    assert table["data"] == []


def answer_in_context(context: str) -> Callable[[Any, Inputs], None]:
    def check(result: Any, i: Inputs) -> None:
        answer, confidence, highlighted = result
        assert answer and answer in context and re.fullmatch(r"\d{1,3}\.\d%|>99\.9%|<0\.1%", confidence)
        assert "".join(piece["token"] for piece in highlighted) == context
    return check


def image_labels(result: Any, i: Inputs) -> None:
    from tests.builders.vision import VIT_LABELS

    assert result["label"] in VIT_LABELS.values()
    assert len(result["confidences"]) == 3


def red_wins(result: Any, i: Inputs) -> None:
    assert {c["label"] for c in result["confidences"]} == {"red", "blue"}
    assert result["label"] == "red"  # the 1 x 1 image is red, and the tiny CLIP was trained on colours


MODEL_TYPOS = {  # /generate's model: ids that name no loadable text-generation model
    "hub id that does not exist (offline)": ("someone-who-does-not-exist/tiny-model-xyz", "not on this server"),
    "../../etc": ("../../etc", "folder"),
    "/etc": ("/etc", "folder"),
    "a folder that is not a model": (lambda i: i.models["not-a-model"], "config.json"),
    "a sentiment model asked to generate": (lambda i: i.models["sentiment"], "text generation"),
    "a folder with only pytorch_model.bin": (lambda i: i.models["pickle-only"], "pickle"),
    "a model id of 1,000 characters": ("a" * 1000, "characters"),
    "a model id with a newline": ("owner/name\nrm -rf /", "control"),
}

CASES: dict[str, Case] = {
    # -- /generate: parameters
    "generate temperature 0 is greedy": Case("/generate", gen(temperature=0), works=True, check=generated),
    "generate temperature -1": Case("/generate", gen(temperature=-1), says="Temperature"),
    "generate temperature NaN": Case("/generate", gen_raw(3, NAN), raw=True, says="Temperature"),
    "generate temperature inf": Case("/generate", gen_raw(3, INF), raw=True, says="Temperature"),
    "generate temperature 'abc'": Case("/generate", gen(temperature="abc"), says="Temperature"),
    "generate temperature a list": Case("/generate", gen_raw(3, [0.7]), raw=True, says="Temperature"),
    "generate top_p 0": Case("/generate", gen(top_p=0), says="Top p"),
    "generate top_p 1.5": Case("/generate", gen(top_p=1.5), says="Top p"),
    "generate top_k -1": Case("/generate", gen(top_k=-1), says="Top k"),
    "generate repetition_penalty 0": Case("/generate", gen(repetition_penalty=0), says="Repetition penalty"),
    "generate max_new_tokens 0": Case("/generate", gen(max_new_tokens=0), says="Max new tokens"),
    "generate max_new_tokens 100000": Case("/generate", gen(max_new_tokens=100_000), says="Max new tokens"),
    "generate max_new_tokens 'abc'": Case("/generate", gen(max_new_tokens="abc"), says="Max new tokens"),
    "generate seed -1": Case("/generate", gen(seed=-1), says="Seed"),
    "generate seed 2**32": Case("/generate", gen(seed=2**32), says="Seed"),
    "generate seed 1.5": Case("/generate", gen(seed=1.5), says="whole number"),
    "generate seed 'abc'": Case("/generate", gen(seed="abc"), says="Seed"),
    "generate seed NaN": Case("/generate", gen_raw(7, NAN), raw=True, says="Seed"),
    # -- /generate: prompts
    "generate empty prompt": Case("/generate", gen(prompt=""), says="empty"),
    "generate whitespace prompt": Case("/generate", gen(prompt=" \n\t  "), says="empty"),
    "generate prompt of 200,000 characters": Case("/generate", gen(prompt="a" * 200_000), says="100,000"),
    "generate prompt with a lone surrogate": Case("/generate", gen_raw(0, "hi \ud800 there"), raw=True,
                                                  says="Unicode"),
    "generate prompt with control characters works": Case("/generate", gen(prompt="hi\x00\x01\x1b[31m there\x7f"),
                                                          works=True, check=generated),
    "generate prompt longer than the context": Case("/generate", gen(prompt="word " * 900), says="Shorten"),
    "generate prompt + max_new_tokens over the context": Case(
        "/generate", gen(prompt="word " * 40, max_new_tokens=1000), says="max_new_tokens"),
    # -- /generate: models
    **{f"generate model: {name}": Case("/generate", gen(model=model), says=word)
       for name, (model, word) in MODEL_TYPOS.items()},
    # -- /sentiment
    "sentiment empty": Case("/sentiment", text("sentiment", ""), says="empty"),
    "sentiment whitespace": Case("/sentiment", text("sentiment", "   \n "), says="empty"),
    "sentiment 200,000 characters": Case("/sentiment", text("sentiment", "I love it. " * 18_182), says="100,000"),
    "sentiment 100,000 characters works": Case("/sentiment", text("sentiment", ("I love this film. " * 5556)[:100_000]),
                                               works=True, check=sentiment_label),
    "sentiment lone surrogate": Case("/sentiment", lambda i: {"data": ["I love \ud800", i.models["sentiment"]]},
                                     raw=True, says="Unicode"),
    "sentiment control characters work": Case("/sentiment", text("sentiment", "I love\x00 this\x1b film\x07"),
                                              works=True, check=sentiment_label),
    "sentiment with an NER model": Case("/sentiment", text("ner", "I love this film"), says="text classification"),
    # -- /ner
    "ner emoji and other scripts before the name work": Case(
        "/ner", text("ner", "😀🎉 中文 Привет! " + NER_TEXT), works=True,
        check=name_is_one_entity("😀🎉 中文 Привет! " + NER_TEXT)),
    "ner control characters before the name work": Case(
        "/ner", text("ner", "\x00\x01\x02\u200b\u202e " + NER_TEXT), works=True,
        check=name_is_one_entity("\x00\x01\x02\u200b\u202e " + NER_TEXT)),
    "ner only control characters work": Case("/ner", text("ner", "\x00\x01\x02"), works=True, check=no_entities),
    "ner empty": Case("/ner", text("ner", ""), says="empty"),
    "ner 200,000 characters": Case("/ner", text("ner", NER_TEXT * 7500), says="100,000"),
    "ner lone surrogate": Case("/ner", lambda i: {"data": ["Zoë \udfff lives in Paris.", i.models["ner"]]}, raw=True,
                               says="Unicode"),
    "ner with a sentiment model": Case("/ner", text("sentiment", NER_TEXT), says="token classification"),
    # -- /qa
    "qa empty question": Case("/qa", qa("", NER_TEXT), says="question"),
    "qa empty context": Case("/qa", qa("Where does Zoë Kravitz live?", " "), says="context"),
    "qa question of 6,000 characters": Case("/qa", qa("Where " * 1000, NER_TEXT), says="question"),
    "qa question of 300 words": Case("/qa", qa("where " * 300, NER_TEXT), says="tokens"),
    "qa context of 200,000 characters": Case("/qa", qa("Where does Zoë Kravitz live?", NER_TEXT * 7500),
                                             says="100,000"),
    "qa lone surrogate": Case("/qa", lambda i: {"data": ["Where?", "Zoë \ud800 lives in Paris.", i.models["qa"]]},
                              raw=True, says="Unicode"),
    "qa emoji in the context works": Case("/qa", qa("Where does Zoë Kravitz live?", "😀🎉 中文 " + NER_TEXT),
                                          works=True, check=answer_in_context("😀🎉 中文 " + NER_TEXT)),
    # -- /classify_image
    "image: a text file": Case("/classify_image", classify("text"), says="not an image"),
    "image: an empty file": Case("/classify_image", classify("empty"), says="not an image"),
    "image: a truncated PNG": Case("/classify_image", classify("truncated"), says="truncated"),
    "image: a PNG claiming 30000 x 30000": Case("/classify_image", classify("bomb-header"), says="megapixels"),
    "image: 7000 x 7000 zeros (49 MP)": Case("/classify_image", classify("bomb-zeros"), says="megapixels"),
    "image: over the 20 MB upload limit": Case("/classify_image", classify("over-20mb"), refused_by_client=True,
                                               says="maximum file size"),
    "image: none": Case("/classify_image", classify(None), says="image"),
    "image: 1 x 1 pixel works": Case("/classify_image", classify("one-pixel"), works=True, check=image_labels),
    "image: 16-bit works": Case("/classify_image", classify("sixteen-bit"), works=True, check=image_labels),
    "image: CMYK JPEG works": Case("/classify_image", classify("cmyk"), works=True, check=image_labels),
    "image: palette with transparency works": Case("/classify_image", classify("palette-transparent"), works=True,
                                                   check=image_labels),
    "image: animated GIF works": Case("/classify_image", classify("animated"), works=True, check=image_labels),
    "image: EXIF-rotated JPEG works": Case("/classify_image", classify("exif-rotated"), works=True, check=image_labels),
    "image top_k 0": Case("/classify_image", classify("one-pixel", top_k=0), says="Top k"),
    "image top_k 'abc'": Case("/classify_image", classify("one-pixel", top_k="abc"), says="Top k"),
    "image top_k NaN": Case("/classify_image",
                            lambda i: {"data": [i.upload(CAT), i.models["vit"], NAN]}, raw=True, says="Top k"),
    # -- /clip_zero_shot
    "clip zero-shot: no labels": Case("/clip_zero_shot", zero_shot(labels=" , ,\n"), says="labels"),
    "clip zero-shot: 10,000 labels": Case("/clip_zero_shot", zero_shot(labels=",".join(f"l{n}" for n in range(10_000))),
                                          says="10,000"),
    "clip zero-shot: a template without {}": Case("/clip_zero_shot", zero_shot(template="a photo"), says="template"),
    "clip zero-shot: a label with a lone surrogate": Case(
        "/clip_zero_shot", lambda i: {"data": [i.upload(CAT), "red, \ud800", "a photo of a {}.", i.models["clip"]]},
        raw=True, says="Unicode"),
    "clip zero-shot: a 49 MP image": Case("/clip_zero_shot", zero_shot(image="bomb-zeros"), says="megapixels"),
    "clip zero-shot: a 1 x 1 image works": Case("/clip_zero_shot", zero_shot(image="one-pixel"), works=True,
                                                check=red_wins),
    # -- /clip_search
    "clip search: empty gallery": Case("/clip_search", search(count=0), says="gallery"),
    "clip search: 65 images": Case("/clip_search", search(count=65), says="65"),
    "clip search: empty query": Case("/clip_search", search(query="  "), says="empty"),
    "clip search: a file that is not an image": Case("/clip_search", search(image=str(ASSETS / "README.md")),
                                                     says="file type"),
    "clip search: a text file named .png": Case("/clip_search", search(image="text"), says="not an image"),
    "clip search: top_k 0": Case("/clip_search", search(top_k=0), says="top k"),
    # -- /clip_rank_captions
    "clip captions: none": Case("/clip_rank_captions",
                                lambda i: {"image": handle_file(CAT), "captions": "\n \n", "model": i.models["clip"]},
                                says="captions"),
    "clip captions: not an image": Case(
        "/clip_rank_captions", lambda i: {"image": i.image("text"), "captions": "a\nb", "model": i.models["clip"]},
        says="not an image"),
    # -- /text_to_image
    "text-to-image width 70": Case("/text_to_image", t2i(width=70), says="multiple of 8"),
    "text-to-image height 4096": Case("/text_to_image", t2i(height=4096), says="Height"),
    "text-to-image width 512 (over this model's 128)": Case("/text_to_image", t2i(width=512), says="width"),
    "text-to-image steps 0": Case("/text_to_image", t2i(steps=0), says="Steps"),
    "text-to-image steps 10,000": Case("/text_to_image", t2i(steps=10_000), says="Steps"),
    "text-to-image guidance NaN": Case("/text_to_image", t2i_raw(3, NAN), raw=True, says="Guidance"),
    "text-to-image guidance 'abc'": Case("/text_to_image", t2i(guidance_scale="abc"), says="Guidance"),
    "text-to-image empty prompt": Case("/text_to_image", t2i(prompt=""), says="empty"),
    "text-to-image negative prompt with a lone surrogate": Case("/text_to_image", t2i_raw(1, "\ud800"), raw=True,
                                                                says="Unicode"),
    "text-to-image unknown scheduler": Case("/text_to_image", t2i(scheduler="bogus"), says="scheduler"),
    "text-to-image 100 images": Case("/text_to_image", t2i(num_images=100), says="Number of images"),
    "text-to-image seed 2**32": Case("/text_to_image", t2i(seed=2**32), says="Seed"),
    # -- /unload
    "unload a model that is not loaded": Case("/unload", lambda i: {"task": "sentiment", "model": "nobody/nothing"},
                                              says="not loaded"),
    "unload an unknown task": Case("/unload", lambda i: {"task": "mind-reading", "model": "nobody/nothing"},
                                   says="task"),
    "unload a task name of 10,000 characters": Case("/unload", lambda i: {"task": "x" * 10_000, "model": "a/b"},
                                                    says="task"),
    "unload a model id with a newline": Case("/unload", lambda i: {"task": "sentiment", "model": "a\nb"},
                                             says="control"),
}


def good_request(endpoint: str, i: Inputs) -> tuple[dict[str, Any], Callable[[Any], bool]]:
    """A request that must work right after a bad one to the same endpoint, and a check of its answer."""
    if endpoint == "/generate":
        return gen(temperature=0)(i), lambda r: isinstance(r[0], str) and "tokens" in r[1]
    if endpoint == "/sentiment":
        return text("sentiment", "I love this film")(i), lambda r: r["label"] == "POSITIVE"
    if endpoint == "/ner":
        return text("ner", NER_TEXT)(i), lambda r: ["Zoë Kravitz", "Person"] in [row[:2] for row in r[1]["data"]]
    if endpoint == "/qa":
        return qa("Where does Zoë Kravitz live?", NER_TEXT)(i), lambda r: r[0] == "Paris"
    if endpoint == "/classify_image":
        return {"image": handle_file(CAT), "model": i.models["vit"], "top_k": 2}, lambda r: len(r["confidences"]) == 2
    if endpoint == "/clip_zero_shot":
        return zero_shot(image="one-pixel")(i), lambda r: r["label"] == "red"
    if endpoint == "/clip_search":
        return search(count=2)(i), lambda r: len(r) == 2
    if endpoint == "/clip_rank_captions":
        return ({"image": i.image("one-pixel"), "captions": "red\nblue", "model": i.models["clip"]},
                lambda r: r["label"] == "red")
    if endpoint == "/text_to_image":
        return t2i()(i), lambda r: len(r[0]) == 1 and "seed **1**" in r[1]
    if endpoint == "/unload":
        return {"task": "sentiment", "model": i.models["sentiment"]}, lambda r: isinstance(r, list)
    raise AssertionError(endpoint)


def test_the_corpus_is_big_and_covers_every_endpoint() -> None:
    endpoints = {case.endpoint for case in CASES.values()}
    assert endpoints == {"/generate", "/sentiment", "/ner", "/qa", "/classify_image", "/clip_zero_shot",
                         "/clip_search", "/clip_rank_captions", "/text_to_image", "/unload"}
    assert sum(not case.works for case in CASES.values()) >= 60


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name: str, app: Any, client: Client, models: dict[str, str], images: dict[str, str]) -> None:
    case = CASES[name]
    inputs = Inputs(models=models, images=images, url=app.url)
    request = case.build(inputs)
    if case.raw:
        kind, payload = call_raw(app.url, case.endpoint, request["data"])
        assert kind == "error", f"expected a refusal, got {kind}: {str(payload)[:300]}"
        message = payload
    elif case.works:
        result = client.predict(**request, api_name=case.endpoint)
        assert case.check is not None
        case.check(result, inputs)
        message = None
    else:
        expected = Exception if case.refused_by_client else _app_error()
        with pytest.raises(expected) as info:
            client.predict(**request, api_name=case.endpoint)
        message = str(info.value)
    if message is not None:
        print(f"{name}: {message}")
        assert_plain_sentence(message)
        if case.says:
            assert case.says.lower() in message.lower(), f"the message does not name {case.says!r}: {message!r}"

    if case.endpoint == "/unload":  # something to unload: load it first
        client.predict(**good_request("/sentiment", inputs)[0], api_name="/sentiment")
    good, ok = good_request(case.endpoint, inputs)
    assert ok(client.predict(**good, api_name=case.endpoint)), "the good request after the bad one failed"


def _app_error() -> type[BaseException]:
    from gradio_client.exceptions import AppError

    return AppError
