"""The CLIP and text-to-image endpoints of the launched app, called by keyword through gradio_client.

One app per module, in-process on a free port, with the tiny open_clip model (trained to match
colour words with coloured squares, tests/builders/clip.py) and the tiny 64 x 64 Stable Diffusion
pipeline (random weights, tests/builders/diffusion.py) of tests/conftest.py.
"""
from __future__ import annotations

import contextlib
import re
import time
from pathlib import Path
from typing import Any, Iterator

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.builders.clip import COLOURS
from tests.launch import assert_plain_sentence, running_app, tiny_catalog, wait_until

ENDPOINTS = ["/clip_zero_shot", "/clip_search", "/clip_rank_captions", "/text_to_image", "/stop_text_to_image"]
# The tiny pipeline's own limits: 64 x 64 native, sides 64..128; two steps make a picture in ~0.1 s.
T2I_DEFAULTS = dict(negative_prompt="", steps=2, guidance_scale=0.0, width=64, height=64, num_images=1, seed=7,
                    scheduler="default")
SLOW_SECONDS = 0.05  # per UNet pass of a run that is to be stopped: 100 steps would take 5 s


# -- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def models(tiny_models: Any) -> dict[str, str]:
    return {"clip": tiny_models["clip"], "diffusion": tiny_models["diffusion"]}


@pytest.fixture(scope="module")
def app(models: dict[str, str]) -> Iterator[Any]:
    with running_app(tiny_catalog(models, tasks=("clip", "text-to-image"))) as launched:
        yield launched


def write_squares(folder: Path, size: int) -> dict[str, str]:
    """A solid square per colour of the tiny CLIP's training set, as PNG files: name -> path."""
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for name, rgb in COLOURS.items():
        path = folder / f"{name}.png"
        Image.new("RGB", (size, size), rgb).save(path)
        paths[name] = str(path)
    return paths


@pytest.fixture(scope="module")
def squares(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return write_squares(tmp_path_factory.mktemp("squares"), 48)


@pytest.fixture(scope="module")
def gallery_squares(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Other pixels than `squares` (another size), so no earlier test has their embeddings cached."""
    return write_squares(tmp_path_factory.mktemp("gallery"), 40)


def t2i_kwargs(model: str, prompt: str = "a red square on a blue table", **overrides: Any) -> dict[str, Any]:
    return {"prompt": prompt, "model": model, **T2I_DEFAULTS, **overrides, "api_name": "/text_to_image"}


def image_bytes(gallery: list[dict[str, Any]]) -> list[bytes]:
    """The gallery's images as the client downloaded them."""
    return [Path(item["image"]).read_bytes() for item in gallery]


def pixels(gallery: list[dict[str, Any]]) -> list[bytes]:
    from PIL import Image

    return [Image.open(item["image"]).convert("RGB").tobytes() for item in gallery]


def seed_in(info: str) -> int:
    match = re.search(r"seed \*\*(\d+)\*\*", info)
    assert match, f"no seed in the info line {info!r}"
    return int(match.group(1))


@contextlib.contextmanager
def counted_unet_passes(app: Any, model: str, seconds: float) -> Iterator[list[int]]:
    """Each UNet pass of the loaded pipeline sleeps `seconds` first and is counted, for the block.

    (tests/launch.py slow_down hooks `pipeline.model`; the text-to-image adapter holds `pipe`.)"""
    count = [0]

    def pause(module: Any, args: Any) -> None:
        count[0] += 1
        time.sleep(seconds)

    handle = app.manager.get("text-to-image", model).pipe.unet.register_forward_pre_hook(pause)
    try:
        yield count
    finally:
        handle.remove()


# -- the endpoints exist ----------------------------------------------------------------------------

def test_every_clip_and_text_to_image_endpoint_is_listed(client: Client) -> None:
    named = client.view_api(print_info=False, return_format="dict")["named_endpoints"]
    assert set(ENDPOINTS) <= set(named), f"missing: {set(ENDPOINTS) - set(named)}"
    params = [p["parameter_name"] for p in named["/text_to_image"]["parameters"]]
    assert params == ["prompt", "negative_prompt", "steps", "guidance_scale", "width", "height", "num_images",
                      "seed", "model", "scheduler"]


# -- CLIP -------------------------------------------------------------------------------------------

def scores_of(label_value: dict[str, Any]) -> dict[str, float]:
    return {c["label"]: c["confidence"] for c in label_value["confidences"]}


def test_zero_shot_picks_the_colour_and_scores_follow_the_labels(client: Client, models: dict[str, str],
                                                                squares: dict[str, str]) -> None:
    for colour in ("red", "green", "blue"):
        result = client.predict(image=handle_file(squares[colour]), labels="red, green, blue",
                                template="a photo of a {}.", model=models["clip"], api_name="/clip_zero_shot")
        scores = scores_of(result)
        assert set(scores) == {"red", "green", "blue"}
        assert sum(scores.values()) == pytest.approx(1.0, abs=1e-4)
        assert result["label"] == colour == max(scores, key=scores.get), f"{colour} square: {scores}"
        # The same labels in another order: each label keeps its own score (none is read by position).
        shuffled = client.predict(image=handle_file(squares[colour]), labels="blue\n red ,green",
                                  template="a photo of a {}.", model=models["clip"], api_name="/clip_zero_shot")
        for label, score in scores_of(shuffled).items():
            assert score == pytest.approx(scores[label], abs=1e-5)


def test_zero_shot_keeps_labels_as_typed_and_drops_repeats(client: Client, models: dict[str, str],
                                                          squares: dict[str, str]) -> None:
    result = client.predict(image=handle_file(squares["yellow"]), labels="purple, yellow, purple, orange,, ",
                            template="{}", model=models["clip"], api_name="/clip_zero_shot")
    scores = scores_of(result)
    assert set(scores) == {"purple", "yellow", "orange"}
    assert result["label"] == "yellow"
    assert sum(scores.values()) == pytest.approx(1.0, abs=1e-4)


def search(client: Client, model: str, query: str, paths: list[str], top_k: int = 8) -> list[dict[str, Any]]:
    return client.predict(query=query, images=[handle_file(p) for p in paths], model=model, top_k=top_k,
                          api_name="/clip_search")


def test_search_ranks_the_gallery_and_a_second_query_encodes_no_image(app: Any, client: Client,
                                                                      models: dict[str, str],
                                                                      gallery_squares: dict[str, str]) -> None:
    names = ["green", "blue", "yellow", "red", "white"]  # the match is never first as given
    paths = [gallery_squares[n] for n in names]
    pipeline = app.manager.get("clip", models["clip"])
    before = pipeline.image_encodes
    ranked = search(client, models["clip"], "red", paths)
    encoded = pipeline.image_encodes - before
    assert encoded == len(names), f"expected each new image encoded once, got {encoded}"
    assert len(ranked) == len(names)  # top_k 8 > 5 images: all of them
    assert [Path(item["image"]).stem for item in ranked][0] == "red"
    assert sorted(Path(item["image"]).stem for item in ranked) == sorted(names)
    shown = [item["caption"] for item in ranked]  # each image's probability, as the other views: "87.3%"
    assert all(re.fullmatch(r"\d{1,3}\.\d%|>99\.9%|<0\.1%", c) for c in shown), shown
    scores = [float(c.strip("<>%")) for c in shown]
    assert scores == sorted(scores, reverse=True), f"not best first: {scores}"
    assert sum(scores) == pytest.approx(100, abs=1)  # a softmax over the images searched (all shown here)

    after_first = pipeline.image_encodes
    again = search(client, models["clip"], "blue", paths, top_k=2)
    assert pipeline.image_encodes == after_first, "the second query on the same images encoded them again"
    assert len(again) == 2
    assert Path(again[0]["image"]).stem == "blue"
    assert float(again[0]["caption"].strip("<>%")) >= float(again[1]["caption"].strip("<>%"))


def test_rank_captions_best_first(client: Client, models: dict[str, str], squares: dict[str, str]) -> None:
    captions = "a red picture\na green picture\nsomething black, white\n\na blue picture"
    result = client.predict(image=handle_file(squares["green"]), captions=captions, model=models["clip"],
                            api_name="/clip_rank_captions")
    confidences = result["confidences"]
    # One caption per line, commas kept inside a caption, the blank line dropped.
    assert {c["label"] for c in confidences} == {"a red picture", "a green picture", "something black, white",
                                                "a blue picture"}
    assert result["label"] == confidences[0]["label"] == "a green picture"
    values = [c["confidence"] for c in confidences]
    assert values == sorted(values, reverse=True)
    assert sum(values) == pytest.approx(1.0, abs=1e-4)


# -- text to image ----------------------------------------------------------------------------------

def test_same_seed_gives_identical_images_and_the_seed_is_shown(client: Client, models: dict[str, str]) -> None:
    kwargs = t2i_kwargs(models["diffusion"], seed=1234, width=96, height=64)
    first_gallery, first_info = client.predict(**kwargs)
    second_gallery, second_info = client.predict(**kwargs)
    assert len(first_gallery) == 1
    assert image_bytes(first_gallery) == image_bytes(second_gallery)
    caption = first_gallery[0]["caption"]
    assert caption.startswith("seed 1234 ")
    assert "2 steps" in caption and "96x64" in caption
    assert seed_in(first_info) == seed_in(second_info) == 1234
    assert "2/2 steps" in first_info and "stopped" not in first_info and "prompt" not in first_info

    from PIL import Image

    with Image.open(first_gallery[0]["image"]) as picture:
        assert picture.size == (96, 64)
    other_gallery, other_info = client.predict(**{**kwargs, "seed": 1235})
    assert seed_in(other_info) == 1235
    assert image_bytes(other_gallery) != image_bytes(first_gallery)


def test_images_arrive_as_lossless_png_equal_to_diffusers_with_how_they_were_made(client: Client,
                                                                                   models: dict[str, str]) -> None:
    """What the client downloads is PNG with the very pixels diffusers makes for the same seed (Gradio's
    default WebP at quality 80 lost up to 66/255), and a `parameters` text in AUTOMATIC1111's form."""
    import numpy as np
    import torch
    from diffusers import AutoPipelineForText2Image
    from PIL import Image

    prompt, negative = "a red square on a blue table", "blurry"
    gallery, _ = client.predict(**t2i_kwargs(models["diffusion"], prompt=prompt, negative_prompt=negative,
                                             seed=321, num_images=2, width=96))
    pipe = AutoPipelineForText2Image.from_pretrained(models["diffusion"], use_safetensors=True)
    pipe.set_progress_bar_config(disable=True)
    expected = pipe(prompt=prompt, negative_prompt=negative, num_inference_steps=2, guidance_scale=0.0, width=96,
                    height=64, num_images_per_prompt=2,
                    generator=[torch.Generator("cpu").manual_seed(s) for s in (321, 322)]).images
    for item, reference, seed in zip(gallery, expected, (321, 322)):
        assert Path(item["image"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with Image.open(item["image"]) as picture:
            assert picture.format == "PNG"
            assert np.array_equal(np.asarray(picture.convert("RGB")), np.asarray(reference.convert("RGB")))
            assert picture.text["parameters"] == (
                f"{prompt}\nNegative prompt: {negative}\nSteps: 2, Sampler: EulerDiscreteScheduler, CFG scale: 0, "
                f"Seed: {seed}, Size: 96x64, Model: tiny diffusion")


def test_the_parameters_text_keeps_a_prompt_in_any_script(client: Client, models: dict[str, str]) -> None:
    from PIL import Image

    gallery, _ = client.predict(**t2i_kwargs(models["diffusion"], prompt="一只红色的猫 🐱", seed=5, scheduler="euler_a"))
    with Image.open(gallery[0]["image"]) as picture:
        assert picture.text["parameters"].splitlines() == [
            "一只红色的猫 🐱", "Steps: 2, Sampler: euler_a, CFG scale: 0, Seed: 5, Size: 64x64, Model: tiny diffusion"]


def test_a_prompt_longer_than_the_model_reads_is_said_so(client: Client, models: dict[str, str]) -> None:
    gallery, info = client.predict(**t2i_kwargs(models["diffusion"], prompt="a red square on a blue table " * 20,
                                                seed=3))
    assert len(gallery) == 1
    assert "the prompt is longer than the model reads; its end was left out" in info


def test_a_random_seed_is_shown_and_makes_the_image_again(client: Client, models: dict[str, str]) -> None:
    gallery, info = client.predict(**t2i_kwargs(models["diffusion"], seed=None))
    seed = seed_in(info)
    assert 0 <= seed < 2**32
    assert gallery[0]["caption"].startswith(f"seed {seed} ")
    again, again_info = client.predict(**t2i_kwargs(models["diffusion"], seed=seed))
    assert seed_in(again_info) == seed
    assert image_bytes(again) == image_bytes(gallery)


def test_several_images_come_from_consecutive_seeds(client: Client, models: dict[str, str]) -> None:
    import numpy as np
    from PIL import Image

    gallery, info = client.predict(**t2i_kwargs(models["diffusion"], seed=40, num_images=2))
    assert seed_in(info) == 40
    assert [item["caption"].split(" · ")[0] for item in gallery] == ["seed 40 (image 1)", "seed 40 (image 2)"]
    first, second = image_bytes(gallery)
    assert first != second
    alone, _ = client.predict(**t2i_kwargs(models["diffusion"], seed=41))
    # Image 2 of seed 40 is image 1 of seed 41 (up to float rounding of a batch of 2 against 1).
    with Image.open(gallery[1]["image"]) as a, Image.open(alone[0]["image"]) as b:
        diff = np.abs(np.asarray(a.convert("RGB"), dtype=int) - np.asarray(b.convert("RGB"), dtype=int))
    assert diff.max() <= 2, f"image 2 of seed 40 differs from seed 41 by up to {diff.max()}"


def test_stop_from_the_same_client_ends_the_run_early(app: Any, models: dict[str, str]) -> None:
    caller = Client(app.url, verbose=False)
    with counted_unet_passes(app, models["diffusion"], SLOW_SECONDS) as passes:
        started = time.monotonic()
        job = caller.submit(**t2i_kwargs(models["diffusion"], steps=100, seed=3))
        assert wait_until(lambda: passes[0] >= 3, timeout=30, interval=0.02), "the run never started"
        caller.predict(api_name="/stop_text_to_image")
        gallery, info = job.result(timeout=30)
        elapsed = time.monotonic() - started
    assert "stopped" in info, info
    match = re.search(r"(\d+)/100 steps", info)
    assert match and int(match.group(1)) < 50, f"the run did not end early: {info!r}"
    assert seed_in(info) == 3
    assert len(gallery) == 1  # decoded from the partly denoised latents
    assert elapsed < 100 * SLOW_SECONDS, f"took {elapsed:.1f} s, about what the whole run takes"
    # A stop with nothing running is harmless, and the next run goes to the end.
    caller.predict(api_name="/stop_text_to_image")
    _, info = caller.predict(**t2i_kwargs(models["diffusion"], steps=3))
    assert "3/3 steps" in info and "stopped" not in info


# -- compare -----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def copies(models: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Each tiny model again in another folder: another id, the same weights."""
    import shutil

    folder = tmp_path_factory.mktemp("copies")
    return {name: shutil.copytree(path, folder / f"{name}-copy").as_posix() for name, path in models.items()}


@pytest.mark.parametrize("endpoint", ["clip_zero_shot", "clip_rank_captions"])
def test_compare_clip_labels_gives_each_side_the_single_endpoints_result(
        client: Client, models: dict[str, str], copies: dict[str, str], squares: dict[str, str], endpoint: str) -> None:
    inputs = ({"image": handle_file(squares["red"]), "labels": "red, green, blue", "template": "a photo of a {}."}
              if endpoint == "clip_zero_shot" else
              {"image": handle_file(squares["red"]), "captions": "a red picture\na blue picture"})
    sides = client.predict(task=endpoint, models=[models["clip"], copies["clip"]], inputs=inputs, settings=None,
                           measure=False, api_name="/compare")
    single = client.predict(**inputs, model=models["clip"], api_name=f"/{endpoint}")
    assert [s["error"] for s in sides] == [None, None]
    assert [s["result"] for s in sides] == [single, single]  # the same weights in two folders
    assert sides[1]["metrics"]["parameters"] == sides[0]["metrics"]["parameters"] > 0


def test_compare_clip_search_ranks_the_same_images_as_the_single_endpoint(
        client: Client, models: dict[str, str], copies: dict[str, str], squares: dict[str, str]) -> None:
    names = ["green", "blue", "red"]
    inputs = {"query": "red", "images": [handle_file(squares[n]) for n in names], "top_k": 3}
    sides = client.predict(task="clip_search", models=[models["clip"], copies["clip"]], inputs=inputs,
                           settings=None, measure=False, api_name="/compare")
    single = search(client, models["clip"], "red", [squares[n] for n in names], top_k=3)
    for side in sides:
        assert side["error"] is None
        assert [Path(item["image"]).stem for item in side["result"]] == \
            [Path(item["image"]).stem for item in single]
        assert [item["caption"] for item in side["result"]] == [item["caption"] for item in single]


def test_compare_text_to_image_two_models_and_one_model_with_two_seeds(
        client: Client, models: dict[str, str], copies: dict[str, str]) -> None:
    inputs = {k: v for k, v in t2i_kwargs(models["diffusion"]).items() if k not in ("model", "api_name")}
    sides = client.predict(task="text_to_image", models=[models["diffusion"], copies["diffusion"]], inputs=inputs,
                           settings=None, measure=False, api_name="/compare")
    single_images, single_info = client.predict(**t2i_kwargs(models["diffusion"]))
    for side in sides:
        assert side["error"] is None
        gallery, info = side["result"]
        assert seed_in(info) == seed_in(single_info) == 7
        # gradio_client downloads a side's files too; the pixels are equal (the PNG's text names the model)
        assert pixels(gallery) == pixels(single_images)

    seeds = client.predict(task="text_to_image", models=[models["diffusion"]], inputs=inputs,
                           settings=[{"seed": 1}, {"seed": 2}], measure=False, api_name="/compare")
    assert [seed_in(s["result"][1]) for s in seeds] == [1, 2]
    one, two = (pixels(s["result"][0])[0] for s in seeds)
    assert one != two
    assert one == pixels(client.predict(**t2i_kwargs(models["diffusion"], seed=1))[0])[0]


# -- errors -----------------------------------------------------------------------------------------

def error_cases(models: dict[str, str], squares: dict[str, str]) -> dict[str, tuple[dict, dict, str]]:
    """name -> (bad call, good call right after, words the message must hold)."""
    zero_shot = {"image": handle_file(squares["red"]), "labels": "red, green, blue", "template": "a photo of a {}.",
                 "model": models["clip"], "api_name": "/clip_zero_shot"}
    few = [squares["red"], squares["green"]]
    good_search = {"query": "red", "images": [handle_file(p) for p in few], "model": models["clip"], "top_k": 2,
                   "api_name": "/clip_search"}
    good_t2i = t2i_kwargs(models["diffusion"])
    t2i = models["diffusion"]
    return {
        "no labels": ({**zero_shot, "labels": ""}, zero_shot, "No labels"),
        "10,000 labels": ({**zero_shot, "labels": ", ".join(f"label {i}" for i in range(10_000))}, zero_shot,
                          "10,000 labels"),
        "template without {}": ({**zero_shot, "template": "a photo of a thing"}, zero_shot, "{}"),
        "empty gallery": ({**good_search, "images": []}, good_search, "empty"),
        "65 images": ({**good_search, "images": [handle_file(squares["blue"])] * 65}, good_search, "64"),
        "empty query": ({**good_search, "query": "  "}, good_search, "empty"),
        "width 70": (t2i_kwargs(t2i, width=70), good_t2i, "multiple of 8"),
        "width 256": (t2i_kwargs(t2i, width=256), good_t2i, "128"),  # the tiny model's limit
        "steps 0": (t2i_kwargs(t2i, steps=0), good_t2i, "1"),
        "steps 1000": (t2i_kwargs(t2i, steps=1000), good_t2i, "100"),
        "empty prompt": (t2i_kwargs(t2i, prompt=""), good_t2i, "prompt"),
        "unknown scheduler": (t2i_kwargs(t2i, scheduler="heun"), good_t2i, "scheduler"),
    }


ERROR_CASES = ["no labels", "10,000 labels", "template without {}", "empty gallery", "65 images", "empty query",
               "width 70", "width 256", "steps 0", "steps 1000", "empty prompt", "unknown scheduler"]


@pytest.mark.parametrize("case", ERROR_CASES)
def test_bad_request_gives_one_plain_sentence_and_the_next_request_works(
        case: str, client: Client, models: dict[str, str], squares: dict[str, str]) -> None:
    bad, good, words = error_cases(models, squares)[case]
    with pytest.raises(AppError) as info:
        client.predict(**bad)
    message = str(info.value)
    assert_plain_sentence(message)
    assert words in message, f"the message does not say what to fix: {message!r}"
    assert client.predict(**good)


def test_a_chinese_prompt_on_a_model_that_reads_english_gets_a_notice(app: Any, models: dict[str, str]) -> None:
    """The tiny pipeline's text encoder is CLIP's (English): a Chinese prompt still runs, and the note under
    the images (a warning on the page too) says so, in the reader's language (Accept-Language zh-CN here);
    an English prompt gets none."""
    assert app.manager.get("text-to-image", models["diffusion"]).reads_chinese is False
    chinese = Client(app.url, verbose=False, headers={"Accept-Language": "zh-CN"})
    _, note = chinese.predict(**t2i_kwargs(models["diffusion"], prompt="一只红色的猫坐在蓝色的桌子上"))
    assert "只读得懂英文" in note and "HunyuanDiT" in note
    _, note = Client(app.url, verbose=False).predict(**t2i_kwargs(models["diffusion"], prompt="一只红色的猫"))
    assert "reads English: a prompt in Chinese may give unrelated images" in note
    _, note = chinese.predict(**t2i_kwargs(models["diffusion"], prompt="a red cat on a blue table"))
    assert "⚠" not in note
