"""Explanations (models/explain.py, /explain): attributions that can fail.

- against the reference: the words' scores equal Captum's own LayerIntegratedGradients on the
  model's embedding layer (hooks, input ids), summed per word, on the same baseline and steps;
- completeness: the attributions (words and special tokens) add up to the logit at the input minus the
  logit at the baseline, both computed here from the model directly, within the reported delta, and
  the delta shrinks as the steps grow;
- faithfulness on the tiny trained sentiment model: "love" and "hate" carry the answer, and deleting the
  top word moves the score more than deleting a random one (20 sentences);
- words: sub-tokens merged, offsets into the text, multi-byte words whole;
- every task through /explain, with one sentence for each bad request.
"""
from __future__ import annotations

import random
from pathlib import Path
from typing import Any, Iterator

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.launch import ASSETS, assert_plain_sentence, running_app, tiny_catalog

CAT = str(ASSETS / "images" / "cat.jpg")


@pytest.fixture(scope="module")
def manager(tiny_models: Any) -> Any:
    from models import ModelManager, parse_catalog

    names = {"sentiment": "sentiment", "ner": "ner", "question-answering": "qa", "fill-mask": "fill-mask",
             "zero-shot-classification": "nli", "image-classification": "vit", "clip": "clip"}
    return ModelManager(parse_catalog({task: [{"id": tiny_models[name]}] for task, name in names.items()}),
                        device="cpu")


def explain(manager: Any, task: str, x: Any, **kwargs: Any) -> dict[str, Any]:
    from models.explain import explain as run

    return run(manager.get(task), x, **kwargs)


# -- against the reference and complete -----------------------------------------------------------------

def test_words_equal_captums_layer_integrated_gradients(manager: Any) -> None:
    import torch
    from captum.attr import LayerIntegratedGradients

    text = "I really love this movie"
    found = explain(manager, "sentiment", text, method="integrated_gradients", steps=64)
    pipeline = manager.get("sentiment")
    model, tokenizer = pipeline.model, pipeline.tokenizer
    enc = tokenizer(text, return_tensors="pt", return_offsets_mapping=True)
    ids = enc["input_ids"]
    special = torch.tensor(tokenizer.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True)).bool()
    reference = torch.where(special[None], ids, torch.full_like(ids, tokenizer.pad_token_id))
    label = model.config.label2id[found["target"]]

    def forward(input_ids: Any) -> Any:
        rows = input_ids.shape[0]
        return model(input_ids=input_ids, attention_mask=enc["attention_mask"].expand(rows, -1),
                     token_type_ids=enc["token_type_ids"].expand(rows, -1)).logits[:, label]

    layer = LayerIntegratedGradients(forward, model.get_input_embeddings())
    expected = layer.attribute(ids, baselines=reference, n_steps=64, method="gausslegendre").sum(-1)[0]
    per_word: dict[int, float] = {}
    for t, word in enumerate(enc.word_ids(0)):
        if word is not None:
            per_word[word] = per_word.get(word, 0.0) + float(expected[t])
    assert [w["score"] for w in found["words"]] == pytest.approx(list(per_word.values()), abs=1e-4)


def test_integrated_gradients_is_complete_within_its_delta(manager: Any) -> None:
    import torch

    pipeline = manager.get("sentiment")
    model, tokenizer = pipeline.model, pipeline.tokenizer
    text = "I love this movie"
    enc = tokenizer(text, return_tensors="pt")
    ids = enc["input_ids"]
    special = torch.tensor(tokenizer.get_special_tokens_mask(ids[0].tolist(), already_has_special_tokens=True)).bool()
    with torch.no_grad():
        logits = model(**enc).logits[0]
        baseline = model(input_ids=torch.where(special[None], ids, tokenizer.pad_token_id),
                         attention_mask=enc["attention_mask"], token_type_ids=enc["token_type_ids"]).logits[0]
    deltas = []
    for steps in (16, 256):
        found = explain(manager, "sentiment", text, method="integrated_gradients", steps=steps)
        label = model.config.label2id[found["target"]]
        assert found["target_score"] == pytest.approx(float(logits[label]), abs=1e-5)
        assert found["baseline_score"] == pytest.approx(float(baseline[label]), abs=1e-5)
        total = sum(w["score"] for w in found["words"]) + found["special_tokens_score"]
        change = float(logits[label] - baseline[label])
        assert total == pytest.approx(change + found["convergence_delta"], abs=1e-4)
        deltas.append(abs(found["convergence_delta"]))
    assert deltas[1] < 0.01 * abs(change) and deltas[1] < deltas[0], deltas  # more steps: closer to complete


# -- faithful on the tiny trained model -------------------------------------------------------------------

def top_word(found: dict[str, Any]) -> str:
    return max(found["words"], key=lambda w: w["score"])["text"]


def test_love_and_hate_carry_the_answer(manager: Any) -> None:
    loved = explain(manager, "sentiment", "I love this movie", method="integrated_gradients")
    assert loved["target"] == "POSITIVE" and top_word(loved) == "love"
    hated = explain(manager, "sentiment", "I hate this film", method="integrated_gradients", target="NEGATIVE")
    assert top_word(hated) == "hate"
    toward_positive = explain(manager, "sentiment", "I hate this film", method="integrated_gradients",
                              target="POSITIVE")
    assert min(toward_positive["words"], key=lambda w: w["score"])["text"] == "hate"


def test_deleting_the_top_word_moves_the_score_more_than_a_random_word(manager: Any) -> None:
    from tests.builders.text import sentiment_sentences

    pipeline = manager.get("sentiment")
    rng = random.Random(0)
    top_moves, random_moves = [], []
    for text, _ in sentiment_sentences(random.Random(11), 20):
        found = explain(manager, "sentiment", text, method="integrated_gradients")
        label = found["target"]

        def score_without(word: dict[str, Any]) -> float:
            cut = (text[:word["start"]] + text[word["end"]:]).replace("  ", " ").strip()
            return next(r["score"] for r in pipeline.predict(cut)["labels"] if r["label"] == label)

        before = next(r["score"] for r in pipeline.predict(text)["labels"] if r["label"] == label)
        best = max(found["words"], key=lambda w: w["score"])
        top_moves.append(before - score_without(best))
        random_moves.append(before - score_without(rng.choice(found["words"])))
    mean_top, mean_random = sum(top_moves) / 20, sum(random_moves) / 20
    assert mean_top > mean_random + 0.1, (mean_top, mean_random)


# -- words ------------------------------------------------------------------------------------------------

def test_words_are_whole_with_offsets_into_the_text_in_any_script(manager: Any) -> None:
    text = "Ada Lovelace naïvely wrote 日本語 notes, café-style."
    found = explain(manager, "sentiment", text)
    assert found["words"], found
    for w in found["words"]:
        assert text[w["start"]:w["end"]] == w["text"] and w["text"].strip() == w["text"] and w["text"]
    starts = [w["start"] for w in found["words"]]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)  # each word once, in order
    assert "naïvely" in [w["text"] for w in found["words"]]  # sub-tokens merged into the word


def test_question_answering_words_come_from_both_parts(manager: Any) -> None:
    found = explain(manager, "question-answering", {"question": "Where does Ada live?",
                                                    "context": "Ada lives in London."}, target="end")
    assert {w["part"] for w in found["words"]} == {"question", "context"}
    assert found["method"] == "fast" and found["steps"] is None


def test_an_image_heatmap_is_a_grid_and_an_overlay_of_the_models_view(manager: Any) -> None:
    found = explain(manager, "image-classification", CAT, method="integrated_gradients", steps=8)
    rows, columns = found["heatmap_size"]
    assert len(found["heatmap"]) == rows and all(len(r) == columns for r in found["heatmap"])
    assert rows <= 32 and columns <= 32
    pixels = manager.get("image-classification").preprocess([CAT])["model_inputs"]["pixel_values"]
    width, height = found["overlay"].size  # the picture the model saw, enlarged to 224 at least
    assert min(width, height) == max(224, min(pixels.shape[2:])) and width / height == pixels.shape[3] / pixels.shape[2]
    total = sum(sum(r) for r in found["heatmap"]) * (pixels.shape[2] * pixels.shape[3]) / (rows * columns)
    assert total == pytest.approx(found["target_score"] - found["baseline_score"] + found["convergence_delta"],
                                  rel=0.05, abs=1e-3)


REAL_IMAGE_MODEL = Path(__file__).resolve().parents[2] / "shared" / "models" / "efficientnet_lite0"


@pytest.mark.skipif(not REAL_IMAGE_MODEL.exists(), reason="no ../shared/models/efficientnet_lite0 in this checkout")
def test_real_weights_look_at_the_cat_for_a_cat_and_at_the_cup_for_espresso() -> None:
    """EfficientNet-Lite0 (ImageNet) on a cat photo beside a coffee cup: the cat class's heatmap holds more of
    its mass on the cat's half than the espresso class's does, and the espresso's on the cup's half."""
    from PIL import Image

    from models import ModelManager, parse_catalog

    manager = ModelManager(parse_catalog({"image-classification": [{"id": str(REAL_IMAGE_MODEL)}]}), device="cpu")
    pipeline = manager.get("image-classification")
    cat = Image.open(CAT).convert("RGB").resize((224, 224))
    cup = Image.open(ASSETS / "images" / "coffee.jpg").convert("RGB").resize((224, 224))
    both = Image.new("RGB", (448, 224))
    both.paste(cat, (0, 0))
    both.paste(cup, (224, 0))
    assert "cat" in pipeline.predict(both, top_k=1)[0]["label"]
    halves = {}
    for target in (None, "espresso"):
        found = explain(manager, "image-classification", both, target=target, method="integrated_gradients", steps=32)
        grid = found["heatmap"]
        half = len(grid[0]) // 2
        halves[target] = (sum(max(v, 0) for r in grid for v in r[:half]), sum(max(v, 0) for r in grid for v in r[half:]))
    assert halves[None][0] > halves[None][1] and halves["espresso"][1] > halves["espresso"][0], halves
    manager.unload_all()


def test_a_clip_heatmap_for_each_label(manager: Any) -> None:
    from tests.builders.clip import COLOURS
    from PIL import Image

    image = Image.new("RGB", (64, 64), COLOURS["blue"])
    image.paste(Image.new("RGB", (32, 64), COLOURS["red"]), (0, 0))  # red on the left half
    maps = {}
    for label in ("red", "blue"):
        found = explain(manager, "clip", {"image": image, "texts": "red, blue", "template": "a photo of a {}."},
                        target=label, method="integrated_gradients", steps=32)
        assert found["target"] == label and found["heatmap_size"][0] <= 32
        grid = found["heatmap"]
        half = len(grid[0]) // 2
        maps[label] = (sum(v for r in grid for v in r[:half]), sum(v for r in grid for v in r[half:]))
    # the tiny CLIP matches colour words with coloured squares: "red" draws on the red half more than "blue" does
    assert maps["red"][0] - maps["red"][1] > maps["blue"][0] - maps["blue"][1], maps


# -- /explain ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(tiny_models: Any) -> Iterator[Any]:
    data = tiny_catalog(tiny_models, tasks=("sentiment", "ner", "question-answering", "fill-mask",
                                            "zero-shot-classification", "image-classification", "clip"))
    with running_app(data) as launched:
        yield launched


CASES = [
    ("sentiment", {"text": "I love this movie"}, None),
    ("ner", {"text": "Ada Lovelace lives in London."}, "0"),
    ("qa", {"question": "Where does Ada live?", "context": "Ada lives in London."}, "end"),
    ("fill_mask", {"text": "Ada lives in [MASK]."}, None),
    ("zero_shot_classification", {"text": "The striker scored twice.", "labels": "sports, politics"}, "sports"),
]


@pytest.mark.parametrize("endpoint, inputs, target", CASES, ids=[c[0] for c in CASES])
def test_explain_endpoint_gives_the_models_words(client: Client, endpoint: str, inputs: dict, target: Any) -> None:
    found, overlay = client.predict(task=endpoint, model="", inputs=inputs, target=target, method="integrated_gradients",
                                    steps=16, api_name="/explain")
    assert overlay is None
    assert found["method"] == "integrated_gradients" and found["steps"] == 16 and found["attributed"] == "logit"
    assert found["words"] and all({"text", "start", "end", "score", "part"} <= set(w) for w in found["words"])
    assert isinstance(found["convergence_delta"], float) and found["baseline"]


def test_explain_endpoint_heatmaps(client: Client) -> None:
    found, overlay = client.predict(task="classify_image", model="", inputs={"image": handle_file(CAT)},
                                    target=None, method="fast", steps=16, api_name="/explain")
    assert found["heatmap"] and overlay.endswith(".png")
    found, overlay = client.predict(task="clip_zero_shot", model="", inputs={"image": handle_file(CAT),
                                    "labels": "cat, dog"}, target="dog", method="fast", steps=16, api_name="/explain")
    assert found["target"] == "dog" and found["text"] == "a photo of a dog." and overlay.endswith(".png")
    images = [str(ASSETS / "images" / name) for name in ("coffee.jpg", "cat.jpg")]
    found, overlay = client.predict(task="clip_search", model="", inputs={"query": "a cat", "images": [
        handle_file(p) for p in images]}, target="1", method="fast", steps=16, api_name="/explain")
    assert found["image_index"] == 1 and found["text"] == "a cat" and overlay.endswith(".png")


@pytest.mark.parametrize("kwargs, says", [
    ({"task": "text_to_image"}, "task must be one of"),
    ({"inputs": {"colour": "red"}}, "has no parameter 'colour'"),
    ({"method": "magic"}, "method must be fast or integrated_gradients"),
    ({"steps": 1000}, "steps must be a whole number"),
    ({"target": "MAYBE"}, "not one of the model's labels"),
    ({"inputs": {"text": ""}}, "text"),
])
def test_a_bad_explanation_request_is_one_sentence(client: Client, kwargs: dict, says: str) -> None:
    request = {"task": "sentiment", "model": "", "inputs": {"text": "I love it"}, "target": None,
               "method": "fast", "steps": 16, **kwargs}
    with pytest.raises(AppError) as info:
        client.predict(**request, api_name="/explain")
    assert_plain_sentence(str(info.value))
    assert says.lower() in str(info.value).lower(), str(info.value)


# -- in the reader's language (English unless asked) ------------------------------------------------------

def test_the_explanations_words_are_in_the_readers_language() -> None:
    from components.explain import said, shaded, top_words
    from models.explain import IMAGE_BASELINE, TEXT_BASELINE
    from models.messages import CHINESE

    found = {"target": "POSITIVE", "attributed": "logit", "target_score": 2.5, "baseline_score": 0.5,
             "baseline": TEXT_BASELINE, "method": "integrated_gradients", "steps": 64, "convergence_delta": -0.6,
             "words": [{"text": "love", "score": 0.5, "part": "question", "start": 0, "end": 4},
                       {"text": "it", "score": -0.1, "part": "context", "start": 0, "end": 2}]}
    assert said(found) == (f"**POSITIVE**: its logit 2.5 against 0.5 for the baseline ({TEXT_BASELINE}) · Integrated "
                           "Gradients, 64 steps · convergence delta -0.6: the scores account for 70% of the change "
                           "from the baseline — read them with care; Integrated Gradients with more steps would come "
                           "closer.")
    assert said(found, CHINESE) == ("**POSITIVE**：它的 logit 为 2.5，基线（每个词的 token 都换成填充 token，特殊 token "
                                    "保留）为 0.5 · 积分梯度，64 步 · 收敛误差 -0.6：这些分数占了相对基线变化的 70%，"
                                    "请谨慎解读；用步数更多的积分梯度会更接近。")
    close = {**found, "method": "fast", "convergence_delta": 0.1, "baseline": IMAGE_BASELINE}
    assert said(close).endswith("· gradient × input · convergence delta 0.1: the scores account for 105% of the "
                                "change from the baseline.")
    assert said(close, CHINESE).endswith("基线（模型归一化之后的全零输入，即平均颜色）为 0.5 · 梯度 × 输入 · 收敛误差 0.1："
                                         "这些分数占了相对基线变化的 105%。")
    exact = {**found, "steps": 256, "baseline_score": 2.5, "convergence_delta": 0.0}
    assert said(exact).endswith("convergence delta 0.") and said(exact, CHINESE).endswith("收敛误差 0。")
    careful = {**found, "steps": 256}
    assert said(careful).endswith("— read them with care.") and said(careful, CHINESE).endswith("请谨慎解读。")
    assert list(top_words(found)["effect"]) == ["toward", "against"]
    assert list(top_words(found, CHINESE)["effect"]) == ["支持", "反对"]
    sources = {"question": "love", "context": "it"}
    assert [p for p, score in shaded(found, sources) if score is None] == ["question: ", "\n", "context: "]
    assert [p for p, score in shaded(found, sources, CHINESE) if score is None] == ["问题：", "\n", "上下文："]


def test_explain_answers_in_chinese_when_asked(app: Any) -> None:
    chinese = Client(app.url, verbose=False, headers={"Accept-Language": "zh-CN"})
    for kwargs, says in [({"task": "text_to_image"}, "参数 task 必须是以下可解释的端点之一："),
                         ({"inputs": [1]}, "参数 inputs 必须是一个对象"),
                         ({"method": "magic"}, "参数 method 必须是 fast 或 integrated_gradients")]:
        request = {"task": "sentiment", "model": "", "inputs": {"text": "I love it"}, "target": None,
                   "method": "fast", "steps": 16, **kwargs}
        with pytest.raises(AppError) as info:
            chinese.predict(**request, api_name="/explain")
        assert str(info.value).startswith(says), str(info.value)
    with pytest.raises(AppError) as info:
        Client(app.url, verbose=False).predict(task="text_to_image", model="", inputs={}, target=None,
                                               method="fast", steps=16, api_name="/explain")
    assert str(info.value).startswith("Task must be one of the endpoints ")


def test_the_pages_explanation_is_in_the_readers_language(app: Any) -> None:
    """The tab's Explain, called as Gradio calls it (the request where Gradio puts it, after the inputs)."""
    import gradio as gr
    from gradio.helpers import special_args

    fn = next(f for f in app.demo.fns.values() if getattr(f.fn, "__name__", "") == "explain_on_page"
              and any(isinstance(c, gr.HighlightedText) for c in f.outputs)
              and any(isinstance(c, gr.Dropdown) and any("sentiment" in str(v) for _, v in c.choices) for c in f.inputs))

    def run(language: str) -> list[str]:
        values = [c.value if not callable(c.value) else None for c in fn.inputs]
        values[0] = "I love this movie"
        request = gr.Request(headers={"accept-language": language})
        args, *_ = special_args(fn.fn, values, request, None)
        assert args[-1] is request  # last, after the inputs
        return [v for update in fn.fn(*args) for v in update.values() if isinstance(v, str)]

    assert any(s.startswith("**POSITIVE**：它的 logit 为 ") and "收敛误差" in s for s in run("zh-CN"))
    assert any(s.startswith("**POSITIVE**: its logit ") and "convergence delta" in s for s in run("en"))
