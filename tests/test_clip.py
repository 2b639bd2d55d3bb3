"""CLIP matching through the manager, on a tiny open_clip trained to tell colours apart."""
from __future__ import annotations

import io
import json
import threading

import pytest

from models import InvalidInput, ModelLoadFailed, ModelManager, ModelNotFound, parse_catalog
from tests.builders.clip import COLOURS, colour_image


@pytest.fixture(scope="module")
def manager(tiny_models):
    manager = ModelManager(parse_catalog({"clip": [tiny_models["clip"]]}), device="cpu")
    yield manager
    manager.unload_all()


@pytest.fixture()
def clip(manager):
    return manager.get("clip")


def png_bytes(image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def one_sentence(error: Exception) -> str:
    text = str(error)
    assert text and "\n" not in text and text.endswith("."), text
    return text


# -- zero-shot ------------------------------------------------------------------------------------

def test_zero_shot_keeps_the_labels_order_and_scores_sum_to_one(clip):
    labels = ["blue", "red", "green", "yellow"]
    result = clip.zero_shot(colour_image("red", seed=7), labels)
    assert [r["label"] for r in result] == labels
    assert sum(r["score"] for r in result) == pytest.approx(1.0, abs=1e-5)
    assert max(result, key=lambda r: r["score"])["label"] == "red"
    result = clip.zero_shot(colour_image("yellow", seed=7), labels)
    assert max(result, key=lambda r: r["score"])["label"] == "yellow"


def test_labels_from_one_string_are_split_stripped_and_deduplicated(clip):
    result = clip.zero_shot(colour_image("green"), " green, blue\nred ,, green\n")
    assert [r["label"] for r in result] == ["green", "blue", "red"]
    assert sum(r["score"] for r in result) == pytest.approx(1.0, abs=1e-5)


def test_text_embeddings_are_cached_per_label_set(clip):
    labels = ["purple", "orange", "white"]
    before = clip.text_encodes
    first = clip.zero_shot(colour_image("white"), labels)
    assert clip.text_encodes == before + 3
    second = clip.zero_shot(colour_image("white"), list(labels))
    assert clip.text_encodes == before + 3  # same labels, same template: nothing encoded
    assert second == first
    clip.zero_shot(colour_image("white"), labels, template="{}")
    assert clip.text_encodes == before + 6  # another template is another set


def test_images_of_any_mode_and_source_are_accepted(clip):
    red = colour_image("red", seed=3)
    rgba = red.convert("RGBA")
    for source in (red, png_bytes(red), rgba, red.convert("L"), red.convert("P")):
        result = clip.zero_shot(source, ["red", "blue"])
        assert sum(r["score"] for r in result) == pytest.approx(1.0, abs=1e-5)


# -- search ---------------------------------------------------------------------------------------

def test_search_ranks_every_image_and_caches_the_gallery(clip):
    names = ["blue", "red", "green", "yellow", "black"]
    gallery = [colour_image(n, seed=11) for n in names]
    before = clip.image_encodes
    result = clip.search("red", gallery)
    assert sorted(r["index"] for r in result) == list(range(len(names)))
    assert result[0]["index"] == names.index("red")
    scores = [r["score"] for r in result]
    assert scores == sorted(scores, reverse=True) and all(0 <= s <= 1 for s in scores)  # probabilities
    cosines = [r["cosine"] for r in result]
    assert cosines == sorted(cosines, reverse=True) and all(-1 <= c <= 1 for c in cosines)
    assert clip.image_encodes == before + len(names)

    again = clip.search("a photo of a green.", gallery, top_k=2)
    assert clip.image_encodes == before + len(names)  # a second query encodes no image
    assert len(again) == 2 and again[0]["index"] == names.index("green")

    # The same pixels as PNG bytes hit the cache too; one new image is the only encode.
    clip.search("black", [png_bytes(g) for g in gallery] + [colour_image("white", seed=11)])
    assert clip.image_encodes == before + len(names) + 1


def test_search_scores_are_open_clips_softmax_over_the_images(clip, tiny_models):
    """score: softmax over the images searched of logit_scale * cosine (zero-shot's, across images), as
    open_clip computes it on the same weights; cosine: the similarity itself. top_k cuts the list,
    not the softmax."""
    import open_clip
    import torch

    folder = tiny_models["clip"]
    model, _, preprocess = open_clip.create_model_and_transforms(f"local-dir:{folder}")
    model.eval()
    tokenizer = open_clip.get_tokenizer(f"local-dir:{folder}")
    names = ["blue", "red", "green", "yellow", "black", "orange"]
    gallery = [colour_image(n, seed=13) for n in names]
    with torch.no_grad():
        pixels = model.encode_image(torch.stack([preprocess(g) for g in gallery]), normalize=True)
        text = model.encode_text(tokenizer(["red"]), normalize=True)
        cosines = (pixels @ text.T)[:, 0]
        expected = (model.logit_scale.exp() * cosines).softmax(dim=0)

    result = clip.search("red", gallery)
    assert result[0]["index"] == names.index("red")
    for r in result:
        assert r["score"] == pytest.approx(float(expected[r["index"]]), abs=1e-5)
        assert r["cosine"] == pytest.approx(float(cosines[r["index"]]), abs=1e-5)
    assert sum(r["score"] for r in result) == pytest.approx(1.0, abs=1e-5)
    assert [r["score"] for r in clip.search("red", gallery, top_k=2)] == [r["score"] for r in result[:2]]


def test_the_same_image_twice_in_a_gallery_is_encoded_once(clip):
    image = colour_image("orange", seed=99)
    before = clip.image_encodes
    result = clip.search("orange", [image, image.copy()])
    assert clip.image_encodes == before + 1
    assert result[0]["score"] == pytest.approx(result[1]["score"])


# -- captions and similarity ----------------------------------------------------------------------

def test_files_seen_before_are_not_decoded_again(clip, tmp_path, monkeypatch):
    import models.clip as clip_module

    paths = []
    for i, name in enumerate(["blue", "red", "green", "yellow"]):
        paths.append(tmp_path / f"{i}.png")
        colour_image(name, seed=31).save(paths[-1])
    decoded = []
    real_open = clip_module.open_image
    monkeypatch.setattr(clip_module, "open_image", lambda source: decoded.append(source) or real_open(source))
    first = clip.search("red", [str(p) for p in paths])
    assert len(decoded) == len(paths)
    before = (len(decoded), clip.image_encodes)
    again = clip.search("a photo of a red.", [str(p) for p in paths] + [p.read_bytes() for p in paths])
    assert (len(decoded), clip.image_encodes) == before  # neither decoded nor encoded: keyed by the files' bytes
    assert again[0]["index"] in (first[0]["index"], first[0]["index"] + len(paths))
    # Other bytes with the same pixels (another PNG compression level) are decoded, not encoded.
    colour_image("red", seed=31).save(tmp_path / "other.png", compress_level=0)
    assert (tmp_path / "other.png").read_bytes() != paths[1].read_bytes()
    clip.search("red", [str(tmp_path / "other.png")])
    assert (len(decoded), clip.image_encodes) == (before[0] + 1, before[1])
    # A file whose bytes changed is read afresh.
    colour_image("black", seed=31).save(paths[0])
    clip.search("red", [str(paths[0])])
    assert (len(decoded), clip.image_encodes) == (before[0] + 2, before[1] + 1)


def test_rank_captions_best_first(clip):
    captions = "a photo of a blue.\na photo of a red.\na photo of a green."
    result = clip.rank_captions(colour_image("green", seed=5), captions)
    scores = [r["score"] for r in result]
    assert scores == sorted(scores, reverse=True)
    assert result[0]["caption"] == "a photo of a green."
    assert sum(scores) == pytest.approx(1.0, abs=1e-5)
    assert sorted(r["caption"] for r in result) == sorted(captions.split("\n"))


def test_similarity_matrix_has_a_row_per_text_and_a_column_per_image(clip):
    names = ["red", "green", "blue"]
    matrix = clip.similarity(names, [colour_image(n, seed=2) for n in names])
    assert len(matrix) == 3 and all(len(row) == 3 for row in matrix)
    for i, row in enumerate(matrix):
        assert max(range(3), key=row.__getitem__) == i
        assert all(-1 <= v <= 1 for v in row)
    repeated = clip.similarity(["red", "red"], [colour_image("red", seed=2)])
    assert len(repeated) == 2 and repeated[0] == repeated[1]  # rows stay aligned with the texts


def test_predict_dispatches_on_mode(clip):
    image = colour_image("blue", seed=4)
    assert clip.predict(image, labels=["red", "blue"]) == clip.zero_shot(image, ["red", "blue"])
    assert clip.predict("blue", mode="search", images=[image])[0]["index"] == 0
    assert clip.predict(image, mode="captions", captions=["blue", "red"])[0]["caption"] == "blue"
    assert len(clip.predict(["blue"], mode="similarity", images=[image])) == 1
    with pytest.raises(InvalidInput) as err:
        clip.predict(image, mode="segment")
    one_sentence(err.value)


def test_concurrent_requests_agree_with_sequential_ones(clip):
    images = {n: colour_image(n, seed=21) for n in COLOURS}
    expected = {n: clip.zero_shot(im, list(COLOURS)) for n, im in images.items()}
    results: dict[str, list] = {}

    def work(name: str) -> None:
        results[name] = clip.zero_shot(images[name], list(COLOURS))

    threads = [threading.Thread(target=work, args=(n,)) for n in images]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == expected


# -- bad inputs -----------------------------------------------------------------------------------

BAD = {
    "no labels": lambda c: c.zero_shot(colour_image("red"), []),
    "blank labels": lambda c: c.zero_shot(colour_image("red"), " , \n "),
    "10,000 labels": lambda c: c.zero_shot(colour_image("red"), [f"label {i}" for i in range(10_000)]),
    "a label of 201 characters": lambda c: c.zero_shot(colour_image("red"), ["x" * 201]),
    "a label that is a number": lambda c: c.zero_shot(colour_image("red"), ["red", 3]),
    "template without {}": lambda c: c.zero_shot(colour_image("red"), ["red"], template="a photo"),
    "template with {} twice": lambda c: c.zero_shot(colour_image("red"), ["red"], template="{} and {}"),
    "no image": lambda c: c.zero_shot(None, ["red"]),
    "bytes that are no image": lambda c: c.zero_shot(b"not an image", ["red"]),
    "empty gallery": lambda c: c.search("red", []),
    "65 images": lambda c: c.search("red", [colour_image("red", size=8)] * 65),
    "empty query": lambda c: c.search("  ", [colour_image("red")]),
    "top_k 0": lambda c: c.search("red", [colour_image("red")], top_k=0),
    "no captions": lambda c: c.rank_captions(colour_image("red"), "\n\n"),
    "similarity without images": lambda c: c.similarity(["red"], []),
}


@pytest.mark.parametrize("case", list(BAD))
def test_bad_inputs_raise_one_sentence(clip, case):
    before = (clip.text_encodes, clip.image_encodes)
    with pytest.raises(InvalidInput) as err:
        BAD[case](clip)
    one_sentence(err.value)
    assert (clip.text_encodes, clip.image_encodes) == before  # refused before any compute


def test_limit_messages_name_the_numbers(clip):
    with pytest.raises(InvalidInput, match="10,000 labels; the limit is 1,000"):
        BAD["10,000 labels"](clip)
    with pytest.raises(InvalidInput, match="65 images; the limit is 64"):
        BAD["65 images"](clip)


# -- loading --------------------------------------------------------------------------------------

def load(model_id: str, **kwargs):
    manager = ModelManager(parse_catalog({"clip": [model_id]}), device="cpu", **kwargs)
    return manager.get("clip")


def test_a_folder_without_config_is_not_found(tmp_path):
    (tmp_path / "open_clip_model.safetensors").write_bytes(b"")
    with pytest.raises(ModelNotFound) as err:
        load(str(tmp_path))
    assert "open_clip_config.json" in one_sentence(err.value)


def test_a_config_that_is_not_an_open_clip_export_is_refused(tmp_path):
    (tmp_path / "open_clip_config.json").write_text(json.dumps({"embed_dim": 32}))
    with pytest.raises(ModelNotFound, match="model_cfg"):
        load(str(tmp_path))


def test_pickle_only_weights_are_refused(tmp_path, tiny_models):
    from pathlib import Path

    source = Path(tiny_models["clip"])
    (tmp_path / "open_clip_config.json").write_text((source / "open_clip_config.json").read_text())
    (tmp_path / "open_clip_pytorch_model.bin").write_bytes(b"not really a pickle")
    with pytest.raises(ModelLoadFailed) as err:
        load(str(tmp_path))
    assert "pickle" in one_sentence(err.value)


@pytest.mark.parametrize("model_id, words", [
    ("ViT-B-32", "needs a pretrained tag"),
    ("ViT-B-32:no_such_tag", "has no pretrained tag"),
    ("NoSuchArch-99:laion2b", "has no architecture"),
    ("not a model id!", "is not an open_clip model"),
    ("hf-hub:nobody-here/no-such-clip", "Hub"),
])
def test_ids_that_name_no_model(model_id, words):
    with pytest.raises(ModelNotFound) as err:
        load(model_id)
    assert words in one_sentence(err.value)


def test_unload_drops_weights_and_caches(tiny_models):
    manager = ModelManager(parse_catalog({"clip": [tiny_models["clip"]]}), device="cpu")
    clip = manager.get("clip")
    clip.zero_shot(colour_image("red"), ["red", "blue"])
    assert manager.unload("clip", tiny_models["clip"])
    assert clip.model is None and not clip._text_cache and not clip._image_cache
    with pytest.raises(InvalidInput, match="unloaded"):
        clip.zero_shot(colour_image("red"), ["red", "blue"])
