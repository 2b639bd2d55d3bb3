"""Text-to-image through the manager, on a tiny random Stable Diffusion pipeline (64 x 64)."""
from __future__ import annotations

import json
import math
import threading

import pytest

from models import InvalidInput, ModelManager, ModelNotFound, WrongModelKind, parse_catalog
from models.diffusion import SCHEDULERS
from tests.launch import tokenizer_paused


def make_manager(folder: str) -> ModelManager:
    return ModelManager(parse_catalog({"text-to-image": [folder]}), device="cpu")


@pytest.fixture(scope="module")
def manager(tiny_models):
    manager = make_manager(tiny_models["diffusion"])
    yield manager
    manager.unload_all()


@pytest.fixture()
def t2i(manager):
    return manager.get("text-to-image")


def pixels(result) -> list[bytes]:
    return [image.tobytes() for image in result["images"]]


def one_sentence(error: Exception) -> str:
    text = str(error)
    assert text and "\n" not in text and text.endswith("."), text
    return text


def test_defaults_come_from_the_model(t2i):
    d = t2i.defaults()
    assert (d["width"], d["height"]) == (64, 64)  # sample size 32 x VAE scale 2
    assert d["max_side"] == 128 and d["min_side"] == 64
    assert d["steps"] == 25 and d["guidance_scale"] == 7.5
    assert d["schedulers"][0] == "default" and set(SCHEDULERS) <= set(d["schedulers"])


def test_catalog_defaults_override_the_model(tiny_models):
    catalog = parse_catalog({"text-to-image": [{"id": tiny_models["diffusion"],
                                                "defaults": {"steps": 2, "guidance_scale": 0.0}}]})
    t2i = ModelManager(catalog, device="cpu").get("text-to-image")
    assert (t2i.defaults()["steps"], t2i.defaults()["guidance_scale"]) == (2, 0.0)
    result = t2i.predict("a red square", seed=1)
    assert result["parameters"]["steps"] == 2 and result["steps_run"] == 2


def test_the_same_seed_gives_the_same_image_bytes(t2i):
    first = t2i.predict("a red cat", steps=2, seed=123)
    second = t2i.predict("a red cat", steps=2, seed=123)
    other = t2i.predict("a red cat", steps=2, seed=124)
    assert first["seed"] == 123 and len(first["images"]) == 1
    assert first["images"][0].size == (64, 64) and first["images"][0].mode == "RGB"
    assert pixels(first) == pixels(second)
    assert pixels(first) != pixels(other)
    assert first["stopped"] is False and first["steps_run"] == 2 and first["seconds"] > 0


def test_a_random_seed_is_returned_and_reproduces_the_image(t2i):
    first = t2i.predict("a blue dog", steps=2)
    assert isinstance(first["seed"], int) and 0 <= first["seed"] < 2**32
    again = t2i.predict("a blue dog", steps=2, seed=first["seed"])
    assert pixels(first) == pixels(again)


def test_several_images_use_consecutive_seeds(t2i):
    result = t2i.predict("a green tree", steps=2, seed=2**32 - 1, num_images=2, width=72, height=64)
    assert result["seeds"] == [2**32 - 1, 0]
    assert len(result["images"]) == 2 and result["images"][0].size == (72, 64)
    assert pixels(result)[0] != pixels(result)[1]


def test_progress_is_called_after_every_step(t2i):
    calls = []
    result = t2i.predict("a house", steps=4, seed=5, progress=lambda step, total: calls.append((step, total)))
    assert calls == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert result["steps_run"] == 4 and not result["stopped"]


def test_stop_during_a_run_ends_it_early(t2i):
    stop = threading.Event()
    calls = []

    def progress(step: int, total: int) -> None:
        calls.append(step)
        if step == 2:
            stop.set()

    result = t2i.predict("a boat", steps=10, seed=5, progress=progress, stop=stop)
    assert result["stopped"] is True
    assert result["steps_run"] == 2 < 10 and calls == [1, 2]
    assert len(result["images"]) == 1  # decoded from the partly denoised latents


def test_a_stop_set_before_the_run_returns_no_images(t2i):
    stop = threading.Event()
    stop.set()
    result = t2i.predict("a boat", steps=10, seed=5, stop=stop)
    assert result == {**result, "images": [], "stopped": True, "steps_run": 0}


def test_a_request_waiting_for_another_run_can_be_stopped(t2i):
    stop = threading.Event()
    out = {}
    with t2i._run_lock:  # another run holds the model
        worker = threading.Thread(target=lambda: out.update(t2i.predict("a boat", steps=2, stop=stop)))
        worker.start()
        worker.join(0.3)
        assert worker.is_alive()  # waiting
        stop.set()
        worker.join(5)
    assert out["stopped"] is True and out["images"] == [] and out["steps_run"] == 0


@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_every_named_scheduler_runs_and_leaves_the_default_alone(t2i, name):
    baseline = pixels(t2i.predict("a lamp", steps=2, seed=9))
    result = t2i.predict("a lamp", steps=2, seed=9, scheduler=name)
    assert result["steps_run"] == 2 and result["parameters"]["scheduler"] == name
    assert pixels(t2i.predict("a lamp", steps=2, seed=9)) == baseline


def test_concurrent_requests_with_different_schedulers_match_sequential_runs(t2i):
    jobs = [("a cup", 1, "euler_a"), ("a pen", 2, "ddim"), ("a cup", 3, "dpm++"), ("a pen", 4, "default")]
    expected = [pixels(t2i.predict(p, steps=3, seed=s, scheduler=n)) for p, s, n in jobs]
    results: list = [None] * len(jobs)

    def work(i: int) -> None:
        p, s, n = jobs[i]
        results[i] = pixels(t2i.predict(p, steps=3, seed=s, scheduler=n))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


def test_a_request_arriving_mid_run_leaves_the_runs_prompt_encoding_alone(t2i):
    """Found by CI: a request counting its prompt's tokens while another run was encoding its own
    rewrote the shared tokenizer's padding, so the run encoded its prompt unpadded and drew another
    image (or failed on mismatched prompt shapes)."""
    expected = pixels(t2i.predict("a red cat", steps=2, seed=5))
    out: dict = {}
    with tokenizer_paused(t2i.pipe.tokenizer, "runner") as paused:
        runner = threading.Thread(target=lambda: out.update(t2i.predict("a red cat", steps=2, seed=5)), name="runner")
        runner.start()
        assert paused.wait(10), "the run never tokenized its prompt"
        other = threading.Thread(target=lambda: t2i.predict("a blue dog", steps=1, seed=1))
        other.start()
        runner.join(30)
        other.join(30)
    assert "images" in out, "the run failed"
    assert pixels(out) == expected


def test_estimate_is_rough_before_a_run_and_measured_after(tiny_models):
    t2i = make_manager(tiny_models["diffusion"]).get("text-to-image")
    assert not t2i.estimate_is_measured
    rough = t2i.estimate_seconds(steps=10, width=64, height=64, num_images=1)
    assert math.isfinite(rough) and rough > 0
    t2i.predict("a road", steps=4, seed=1)
    assert t2i.estimate_is_measured
    few = t2i.estimate_seconds(steps=4, width=64, height=64, num_images=1)
    many = t2i.estimate_seconds(steps=40, width=128, height=128, num_images=4)
    assert 0 < few < many and math.isfinite(many)
    with pytest.raises(InvalidInput):
        t2i.estimate_seconds(steps=0, width=64, height=64, num_images=1)


def test_long_prompts_are_flagged_as_truncated(t2i):
    assert t2i.predict("a cat", steps=1, seed=1)["prompt_truncated"] is False
    assert t2i.predict("cat " * 200, steps=1, seed=1)["prompt_truncated"] is True


# -- bad inputs -----------------------------------------------------------------------------------

BAD = {
    "empty prompt": dict(prompt="   "),
    "prompt of 1001 characters": dict(prompt="x" * 1001),
    "prompt that is not text": dict(prompt=42),
    "width not a multiple of 8": dict(width=100),
    "width below 64": dict(width=56),
    "height above the model's limit": dict(height=4096),
    "0 steps": dict(steps=0),
    "1000 steps": dict(steps=1000),
    "fractional steps": dict(steps=2.5),
    "NaN guidance": dict(guidance_scale=float("nan")),
    "guidance 31": dict(guidance_scale=31),
    "negative guidance": dict(guidance_scale=-1),
    "5 images": dict(num_images=5),
    "negative seed": dict(seed=-1),
    "seed above 32 bits": dict(seed=2**32),
    "unknown scheduler": dict(scheduler="warp-drive"),
    "negative prompt that is not text": dict(negative_prompt=["no"]),
    "progress that is not callable": dict(progress="yes"),
    "stop that is not an event": dict(stop=True),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_inputs_raise_one_sentence_before_any_compute(t2i, monkeypatch, case):
    def no_compute(*args, **kwargs):
        raise AssertionError("the pipeline ran")

    monkeypatch.setattr(t2i, "_run", no_compute)
    params = {"prompt": "a cat", "steps": 2, **BAD[case]}
    with pytest.raises(InvalidInput) as err:
        t2i.predict(params.pop("prompt"), **params)
    one_sentence(err.value)


def test_width_message_says_what_to_use(t2i):
    with pytest.raises(InvalidInput, match="multiple of 8, like 96 or 104"):
        t2i.predict("a cat", width=100)


# -- loading --------------------------------------------------------------------------------------

def test_a_folder_without_model_index_is_not_found(tmp_path):
    (tmp_path / "unet").mkdir()
    with pytest.raises(ModelNotFound) as err:
        make_manager(str(tmp_path)).get("text-to-image")
    assert "model_index.json" in one_sentence(err.value)


def test_a_pipeline_that_is_not_text_to_image_is_refused(tmp_path):
    (tmp_path / "model_index.json").write_text(json.dumps({
        "_class_name": "DDPMPipeline", "_diffusers_version": "0.42.1",
        "unet": ["diffusers", "UNet2DModel"], "scheduler": ["diffusers", "DDPMScheduler"]}))
    with pytest.raises(WrongModelKind) as err:
        make_manager(str(tmp_path)).get("text-to-image")
    assert "not a text-to-image model" in one_sentence(err.value)


def test_a_hub_id_that_is_not_cached_is_not_found():
    with pytest.raises(ModelNotFound) as err:
        make_manager("nobody-here/no-such-diffusion").get("text-to-image")
    one_sentence(err.value)


def test_unload_drops_the_pipeline(tiny_models):
    manager = make_manager(tiny_models["diffusion"])
    t2i = manager.get("text-to-image")
    assert manager.loaded()[0]["parameters"] > 0
    assert manager.unload("text-to-image", tiny_models["diffusion"])
    assert t2i.pipe is None
    with pytest.raises(InvalidInput, match="unloaded"):
        t2i.predict("a cat", steps=1)
