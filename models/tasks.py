"""The task registry: each task declared once; the catalog's defaults, the tabs, `--help`, aliases
and every parameter's default, limits and help (read by the UI's controls and the adapters' checks
alike) follow from the declarations."""
from __future__ import annotations

import importlib
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, Any

from .base import check_number, check_seed, check_unicode, parse_texts
from .errors import InvalidInput, UnknownTask, about
from .messages import say

if TYPE_CHECKING:
    from .base import Pipeline


@dataclass(frozen=True)
class Param:
    """A parameter a task takes: its default, limits and help, for the UI's control and the adapter's check.

    `check(value)` is the adapter's validation. A number (kind "number") must be finite and within
    [low, high] ((low, high] when low_open), whole when `integer`; None is taken only where the
    default is None, which means "the model's own" (text-to-image's size and steps) or, for a seed
    (`seed=True`), a random one. A "bool" is a true/false switch; a "text" is a string of at most
    `high` characters; "labels" are a comma-separated string or a list of strings, given back as a
    list without blanks or repeats, between `low` and `high` of them.
    """

    name: str
    label: str
    default: Any = None
    low: float | None = None
    high: float | None = None
    step: float | None = None
    integer: bool = False
    low_open: bool = False
    help: str = ""
    seed: bool = False
    kind: str = "number"

    @property
    def shown(self) -> str:
        """How a sentence names it: its label for a person, with the API's name when they differ
        ("Max new tokens (max_new_tokens)", "Width")."""
        words = self.label.split(" (")[0].strip()
        return words if words.lower().replace(" ", "_") == self.name else f"{words} ({self.name})"

    def check(self, value: Any) -> Any:
        with about(self.name):
            if self.kind != "number":
                return _check_other(self, value)
            if self.seed:
                return check_seed(value)
            if value is None and self.default is None:
                return None
            number = check_number(value, self.shown, low=self.low, high=self.high, low_open=self.low_open,
                                  integer=self.integer, param=self.name)
            return int(number) if self.integer else float(number)


def _check_other(param: Param, value: Any) -> Any:
    if param.kind == "bool":
        if isinstance(value, bool):
            return value
        shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:40] + "…"
        raise InvalidInput(say("param.not_bool", label=param.label, name=param.name, value=shown))
    if param.kind == "text":
        named = {"name": param.shown, "name_zh": param.name}
        if not isinstance(value, str):
            raise InvalidInput(say("param.not_text", kind=type(value).__name__, **named))
        if param.high is not None and len(value) > param.high:
            raise InvalidInput(say("param.text_too_long", length=len(value), limit=int(param.high), **named))
        return check_unicode(value, param.shown, f"参数 {param.name} ")
    if param.kind == "labels":  # as CLIP's labels: commas or new lines, or a list
        labels = parse_texts(value, "label", split_commas=True)
        low, high = int(param.low or 1), int(param.high or 100)
        if not low <= len(labels) <= high:
            raise InvalidInput(say("param.label_count", low=low, high=high, name=param.name, count=len(labels)))
        return labels
    raise ValueError(f"Unknown parameter kind {param.kind!r}.")


SEED = Param("seed", "Seed (empty = random)", seed=True, low=0, high=2**32 - 1, step=1, integer=True,
             help="The same seed with the same settings gives the same result.")


@dataclass(frozen=True)
class Task:
    """One task, declared once.

    key: its canonical name (catalog files, `--preload`, the API's `task`); title: the tab's name;
    adapter: "module:Class" of its Pipeline (imported on first load); tab: the components module
    that draws it; endpoint: its main API name; models: the curated catalog entries (the first is
    the default); params: the numbers it takes; streams / batches: how its endpoint is served.
    """

    key: str
    title: str
    adapter: str
    tab: str
    endpoint: str
    models: tuple[dict[str, Any], ...]
    aliases: tuple[str, ...] = ()
    params: tuple[Param, ...] = ()
    streams: bool = False
    batches: bool = False
    summary: str = ""
    result: str = ""  # the type of what predict returns, in models/results.py
    family: str = ""  # the Ray Serve deployment that serves it under --backend ray (models/cluster.py); its key if none

    def __post_init__(self) -> None:
        missing = [f.name for f in fields(self)
                   if f.name in ("key", "title", "adapter", "tab", "endpoint", "models") and not getattr(self, f.name)]
        if missing:
            raise ValueError(f"The task declaration {self.key or self.title or '?'!r} is incomplete: "
                             f"it needs {', '.join(missing)}.")
        if self.adapter.count(":") != 1:
            raise ValueError(f"The task declaration {self.key!r} names its adapter {self.adapter!r}; "
                             "write it as 'module:Class'.")

    @property
    def deployment(self) -> str:
        return self.family or self.key

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)

    def check(self, values: dict[str, Any]) -> dict[str, Any]:
        """Every declared parameter checked, absent ones at their default; an undeclared one is refused."""
        unknown = sorted(set(values) - {p.name for p in self.params})
        if unknown:
            raise InvalidInput(say("param.unknown", task=self.title, task_zh=self.key, name=unknown[0],
                                   known=", ".join(p.name for p in self.params) or "none"))
        return {p.name: p.check(values.get(p.name, p.default)) for p in self.params}


# The first model of each task is its default: small enough for a free CPU Space.
# `gpu: true` marks models that are too slow or too big without one.
DECLARATIONS: tuple[Task, ...] = (
    Task(
        key="text-generation", family="generation", result="Generation", title="Chat",
        adapter="models.text:TextGeneration",
        tab="chat", endpoint="generate", streams=True, summary="chat and text generation",
        aliases=("generation", "text_generation", "chat"),
        params=(
            Param("max_new_tokens", "Max new tokens", 128, 1, 1024, 1, integer=True,
                  help="The most tokens to generate; the model's context window may allow fewer."),
            Param("temperature", "Temperature (0 = greedy)", 0.7, 0.0, 2.0, 0.05,
                  help="Higher is more varied, 0 always picks the likeliest token."),
            Param("top_p", "Top p", 0.95, 0.05, 1.0, 0.05,
                  help="Sample only from the likeliest tokens whose probabilities add up to p."),
            Param("top_k", "Top k (0 = off)", 50, 0, 200, 1, integer=True,
                  help="Sample only from the k likeliest tokens."),
            Param("repetition_penalty", "Repetition penalty", 1.1, 0.5, 2.0, 0.05,
                  help="Above 1, tokens already in the text become less likely."),
            SEED,
        ),
        models=(
            {"id": "HuggingFaceTB/SmolLM2-135M-Instruct", "label": "SmolLM2 135M Instruct"},
            {"id": "HuggingFaceTB/SmolLM2-360M-Instruct", "label": "SmolLM2 360M Instruct"},
            {"id": "Qwen/Qwen2.5-0.5B-Instruct", "label": "Qwen2.5 0.5B Instruct"},
            {"id": "openai-community/gpt2", "label": "GPT-2 (base, completion)"},
            {"id": "Qwen/Qwen2.5-1.5B-Instruct", "label": "Qwen2.5 1.5B Instruct (GPU)", "gpu": True},
        ),
    ),
    Task(
        key="sentiment", family="text", result="Labels", title="Sentiment", adapter="models.text:Sentiment", tab="sentiment",
        endpoint="sentiment",
        batches=True, summary="sentiment", aliases=("text-classification", "sentiment-analysis"),
        models=(
            {"id": "distilbert/distilbert-base-uncased-finetuned-sst-2-english", "label": "DistilBERT SST-2"},
            {"id": "cardiffnlp/twitter-roberta-base-sentiment-latest", "label": "Twitter RoBERTa (3 classes)"},
            {"id": "siebert/sentiment-roberta-large-english", "label": "SiEBERT RoBERTa large (GPU)", "gpu": True},
        ),
    ),
    Task(
        key="ner", family="text", result="Entities", title="Named entities", adapter="models.text:NamedEntities", tab="ner",
        endpoint="ner",
        batches=True, summary="named entities", aliases=("token-classification", "named-entities", "entities"),
        models=(
            {"id": "dslim/bert-base-NER", "label": "BERT base CoNLL-03"},
            {"id": "dslim/distilbert-NER", "label": "DistilBERT CoNLL-03"},
            {"id": "dbmdz/bert-large-cased-finetuned-conll03-english", "label": "BERT large CoNLL-03 (GPU)",
             "gpu": True},
        ),
    ),
    Task(
        key="question-answering", family="text", title="Question answering", adapter="models.question_answering:QuestionAnswering",
        result="Answer",
        tab="question_answering", endpoint="qa", summary="question answering",
        aliases=("qa", "question_answering"),
        params=(Param("max_answer_tokens", "Longest answer (tokens)", 30, 1, 512, 1, integer=True,
                      help="The longest span, in tokens, that can be the answer."),),
        models=(
            {"id": "distilbert/distilbert-base-cased-distilled-squad", "label": "DistilBERT SQuAD"},
            {"id": "deepset/roberta-base-squad2", "label": "RoBERTa base SQuAD 2 (can say no answer)"},
            {"id": "deepset/roberta-large-squad2", "label": "RoBERTa large SQuAD 2 (GPU)", "gpu": True},
        ),
    ),
    Task(
        key="fill-mask", family="text", title="Fill mask", adapter="models.text:FillMask", tab="fill_mask", endpoint="fill_mask",
        result="MaskFill",
        batches=True, summary="fill-mask (what BERT learned in pre-training)", aliases=("fill_mask", "mask"),
        params=(Param("top_k", "Top k candidates", 5, 1, 50, 1, integer=True,
                      help="How many candidate words to show for the mask."),),
        models=(
            {"id": "distilbert/distilbert-base-uncased", "label": "DistilBERT base uncased ([MASK])"},
            {"id": "google-bert/bert-base-uncased", "label": "BERT base uncased ([MASK])"},
            {"id": "FacebookAI/roberta-base", "label": "RoBERTa base (<mask>)"},
        ),
    ),
    Task(
        key="zero-shot-classification", family="text", title="Zero-shot classification", tab="zero_shot_classification",
        result="Labels",
        adapter="models.text:ZeroShotClassification", endpoint="zero_shot_classification", batches=True,
        summary="zero-shot classification (any labels, no training)", aliases=("zero_shot_classification", "nli"),
        params=(
            Param("labels", "Labels (comma separated)", "", 1, 32, kind="labels",
                  help="Any labels: each is put in the hypothesis and the model says how well the text entails it."),
            Param("multi_label", "Several labels can be true", False, kind="bool",
                  help="Off: the scores share 100% among the labels. On: each label is scored on its own."),
            Param("hypothesis_template", "Hypothesis template ({} is the label)", "This example is {}.", high=500,
                  kind="text", help="The sentence each label is put into, as the text's hypothesis."),
        ),
        models=(
            {"id": "MoritzLaurer/deberta-v3-base-zeroshot-v2.0", "label": "DeBERTa-v3 base zero-shot v2.0"},
            {"id": "facebook/bart-large-mnli", "label": "BART large MNLI (GPU)", "gpu": True},
        ),
    ),
    Task(
        key="image-classification", family="vision", title="Image classification", adapter="models.vision:ImageClassification",
        result="ImageLabels",
        tab="image_classification", endpoint="classify_image", batches=True, summary="image classification",
        aliases=("image_classification",),
        params=(Param("top_k", "Top k labels", 5, 1, 100, 1, integer=True, help="How many labels to show."),),
        models=(
            {"id": "google/vit-base-patch16-224", "label": "ViT base (ImageNet-1k)"},
            {"id": "timm/mobilenetv3_large_100.ra_in1k", "label": "MobileNetV3 large (timm, fastest)"},
            {"id": "microsoft/resnet-50", "label": "ResNet-50"},
            {"id": "timm/convnext_base.fb_in22k_ft_in1k", "label": "ConvNeXt base (timm, GPU)", "gpu": True},
        ),
    ),
    Task(
        key="clip", family="clip", title="CLIP", adapter="models.clip:ClipMatching", tab="clip", endpoint="clip_zero_shot",
        result="ClipResults",
        summary="CLIP matching", aliases=("zero-shot-image-classification",),
        params=(Param("top_k", "Show the top k images", 8, 1, 64, 1, integer=True,
                      help="How many of the images to show, best first."),),
        models=(
            {"id": "ViT-B-32:laion2b_s34b_b79k", "label": "CLIP ViT-B/32 (LAION-2B)"},
            {"id": "MobileCLIP-S1:datacompdr", "label": "MobileCLIP S1 (fast)"},
            {"id": "ViT-B-16-SigLIP:webli", "label": "SigLIP ViT-B/16"},
            {"id": "ViT-L-14:datacomp_xl_s13b_b90k", "label": "CLIP ViT-L/14 DataComp (GPU)", "gpu": True},
        ),
    ),
    Task(
        key="text-to-image", family="diffusion", title="Text to image", adapter="models.diffusion:TextToImage", tab="text_to_image",
        result="Images",
        endpoint="text_to_image", summary="text-to-image", aliases=("text_to_image", "diffusion"),
        params=(
            # None: the model's own (its native size; a turbo model's few steps); the limits here are the
            # widest any model allows, and each model narrows them (models/diffusion.py).
            Param("steps", "Steps", None, 1, 100, 1, integer=True, help="Denoising steps: more is slower and finer."),
            Param("guidance_scale", "Guidance scale (0 for turbo models)", None, 0.0, 20.0, 0.5,
                  help="How strongly the image follows the prompt."),
            Param("width", "Width", None, 64, 2048, 8, integer=True, help="A multiple of 8."),
            Param("height", "Height", None, 64, 2048, 8, integer=True, help="A multiple of 8."),
            Param("num_images", "Number of images", 1, 1, 4, 1, integer=True, help="Each from the next seed."),
            SEED,
        ),
        models=(
            {"id": "stabilityai/sd-turbo", "label": "SD-Turbo (1-4 steps, 512px)",
             "defaults": {"steps": 2, "guidance_scale": 0.0}},
            {"id": "stabilityai/sdxl-turbo", "label": "SDXL-Turbo (GPU)", "gpu": True,
             "defaults": {"steps": 2, "guidance_scale": 0.0}},
            {"id": "stable-diffusion-v1-5/stable-diffusion-v1-5", "label": "Stable Diffusion 1.5 (GPU)", "gpu": True},
        ),
    ),
)

TASKS: dict[str, Task] = {task.key: task for task in DECLARATIONS}
ALIASES: dict[str, str] = {alias: task.key for task in DECLARATIONS for alias in task.aliases}


def canonical_task(name: str) -> str:
    key = str(name).strip().lower()
    key = ALIASES.get(key, key)
    if key not in TASKS:
        text = name if isinstance(name, str) else str(name)
        shown = repr(text if len(text) <= 40 else text[:40] + "…")
        raise UnknownTask(say("task.unknown", task=shown, tasks=", ".join(TASKS)))
    return key


def task(name: str) -> Task:
    """The declaration of a task, by its key or an alias."""
    return TASKS[canonical_task(name)]


def adapter_class(name: str) -> type["Pipeline"]:
    """The adapter for a task, importing its module (and torch, transformers...) on first use."""
    module, cls = task(name).adapter.split(":")
    return getattr(importlib.import_module(module), cls)
