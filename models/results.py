"""What each task returns: one small type per result, named in the task's declaration (models/tasks.py).

TypedDicts, so a result stays the plain data (dicts and lists) that the API and tests already see.
"""
from __future__ import annotations

from typing import Any, TypedDict


class Scored(TypedDict):
    label: str
    score: float


class Labels(TypedDict):
    """Sentiment, zero-shot classification: every label, best first (probabilities; a regressor's raw value)."""

    labels: list[Scored]
    truncated: bool  # the text was longer than the model reads; its beginning was classified


class Entity(TypedDict):
    entity: str   # the type: PER, LOC...
    start: int    # character offsets into the text
    end: int
    score: float  # the mean of its words' scores
    text: str


class Entities(TypedDict):
    entities: list[Entity]


class Answer(TypedDict):
    answer: str | None  # None: the model finds no answer in the text
    score: float
    start: int | None
    end: int | None
    windows: int        # windows the context was read in


class Candidate(TypedDict):
    token_str: str
    score: float
    token: int
    sequence: str  # the text with this candidate put in


class MaskFill(TypedDict):
    masks: list[list[Candidate]]  # per mask token, best first
    mask_token: str


ImageLabels = list[Scored]  # image classification: the top k, best first


class Generation(TypedDict, total=False):
    text: str
    new_tokens: int
    seed: int
    done: bool
    stopped: bool
    first_token_seconds: float | None
    seconds: float
    prompt_tokens: int  # the prompt (the chat after its template) in tokens
    window: int  # the most tokens the model reads, prompt and reply together
    max_new_tokens: int
    dropped_turns: int  # the chat's oldest turns left out so that it fits the window
    thinking_opened: bool  # the chat template opened <think> itself
    thinking: str | None  # a reasoning model's thinking (None: the reply has none)
    answer: str  # the reply without its thinking
    thinking_seconds: float | None  # how long it thought, once it ended
    finish_reason: str  # at the end: "stop" (the model ended, a stop string, Stop) or "length"
    logprobs: dict[str, Any]  # when asked: OpenAI's {"content": [{"token", "logprob", "bytes", "top_logprobs"}]}
    logprob: float  # at the end, when asked: the reply's log-probability (the sum of its tokens')
    perplexity: float  # at the end, when asked: exp of the mean negative log-probability per token


class Images(TypedDict, total=False):
    images: list[Any]  # PIL images, each with its `parameters` text
    seed: int
    seeds: list[int]
    steps_run: int
    stopped: bool
    seconds: float
    waited_seconds: float
    nsfw: list[bool] | None
    prompt_truncated: bool | None
    parameters: dict[str, Any]


class ClipMatch(TypedDict):
    """One image of a CLIP search."""

    index: int     # into the images as given
    score: float   # a probability: softmax over the images searched of logit_scale * cosine
    cosine: float  # the cosine similarity of the image and the query


class ClipCaption(TypedDict):
    caption: str
    score: float   # a probability: softmax over the captions


# CLIP's modes, each a list: zero-shot list[Scored] (a softmax over the labels, in their order),
# search list[ClipMatch] and captions list[ClipCaption] (best first), similarity a matrix of cosines.
ClipResults = list[dict[str, Any]]
