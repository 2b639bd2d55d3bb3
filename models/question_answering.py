"""Extractive question answering with AutoModelForQuestionAnswering and offset mappings.

transformers 5 has no question-answering pipeline, so the span search lives here: the
context is read in overlapping windows, each window's start/end probabilities give the best
span, and the span's character offsets come from the fast tokenizer.
"""
from __future__ import annotations

from typing import Any

import torch

from .base import Pipeline, check_text
from .hf import context_length, same_word
from .results import Answer


class QuestionAnswering(Pipeline):
    task = "question-answering"
    auto_model, architectures = "AutoModelForQuestionAnswering", ("ForQuestionAnswering",)
    task_label = "extractive question answering"
    forward_rows = 16  # windows per forward pass

    def preprocess(self, inputs: list[dict[str, str]], **params: Any) -> dict[str, Any]:
        """inputs: {"question", "context"} each; their windows, in one encoding."""
        model, tokenizer = self._require_loaded("model", "tokenizer")
        questions, contexts = [], []
        for item in inputs:
            questions.append(check_text((item or {}).get("question"), "question", max_chars=2_000).strip())
            contexts.append(check_text((item or {}).get("context"), "context"))
        window = min(context_length(model, tokenizer), 512)
        for question in questions:
            question_tokens = len(self.tokenize(tokenizer, question, add_special_tokens=False)["input_ids"])
            if question_tokens > window // 2:
                raise_too_long(question_tokens, window)
        enc = self.tokenize(tokenizer, questions, contexts, truncation="only_second", max_length=window,
                            stride=min(128, window // 4), return_overflowing_tokens=True,
                            return_offsets_mapping=True, padding="longest", return_tensors="pt")
        offsets = enc.pop("offset_mapping")
        sample_of = enc.pop("overflow_to_sample_mapping").tolist()
        return {"model_inputs": dict(enc), "encoding": enc, "offsets": offsets, "sample_of": sample_of,
                "contexts": contexts}

    def postprocess(self, outputs: dict[str, Any], batch: dict[str, Any], *, max_answer_tokens: int
                    ) -> list[Answer]:
        """{"answer", "score", "start", "end", "windows"} per input; "answer" is None when the model
        (SQuAD 2 style) finds the null answer more likely than any span in every window."""
        tokenizer = self._require_loaded("tokenizer")[0]
        enc, offsets, sample_of = batch["encoding"], batch["offsets"], batch["sample_of"]
        cls_at = cls_positions(enc["input_ids"], enc["attention_mask"], tokenizer.cls_token_id)
        results = []
        for sample, context in enumerate(batch["contexts"]):
            windows = [w for w, s in enumerate(sample_of) if s == sample]
            best: dict[str, Any] = {"score": 0.0, "start": None, "end": None}
            null_score = 1.0
            for w in windows:
                is_context = torch.tensor([s == 1 for s in enc.sequence_ids(w)])
                cls = cls_at[w]
                keep = is_context.clone()
                keep[cls] = True  # the null answer competes with the spans
                mask = torch.where(keep, 0.0, float("-inf"))
                p_start = (outputs["start_logits"][w] + mask).softmax(-1)
                p_end = (outputs["end_logits"][w] + mask).softmax(-1)
                null_score = min(null_score, float(p_start[cls] * p_end[cls]))
                scores = torch.triu((p_start * is_context)[:, None] * (p_end * is_context)[None, :])
                scores = scores.tril(max_answer_tokens - 1)
                s, e = divmod(int(scores.argmax()), scores.shape[1])
                if float(scores[s, e]) > best["score"]:
                    best = {"score": float(scores[s, e]), "start": int(offsets[w, s, 0]), "end": int(offsets[w, e, 1])}
            if best["start"] is None or null_score > best["score"]:
                results.append({"answer": None, "score": null_score, "start": None, "end": None,
                                "windows": len(windows)})
                continue
            # The span's score stays the chosen tokens'; its characters widen to the words they touch.
            start, end = whole_words(self.tokenize(tokenizer, context, add_special_tokens=False, verbose=False,
                                                   return_offsets_mapping=True), best["start"], best["end"], context)
            results.append({"answer": context[start:end], "score": best["score"], "start": start, "end": end,
                            "windows": len(windows)})
        return results


def cls_positions(input_ids: Any, attention_mask: Any, cls_token_id: int | None) -> list[int]:
    """Per window, where the null answer is read: the CLS token wherever padding put it (a
    left-padding tokenizer shifts it), else the first real token for a tokenizer without one."""
    positions = []
    for ids, real in zip(input_ids.tolist(), attention_mask.tolist()):
        at = ids.index(cls_token_id) if cls_token_id is not None and cls_token_id in ids else None
        positions.append(at if at is not None else real.index(1) if 1 in real else 0)
    return positions


MAX_WIDENING = 20  # characters a span may grow by on each side to reach a word's edge


def whole_words(context_encoding: Any, start: int, end: int, context: str) -> tuple[int, int]:
    """[start, end) widened to the whole words it touches, the words being the tokenizer's own
    (its pre-tokenizer's: spaces and punctuation for BERT, one Chinese character each), as
    transformers' QA post-processing does with a fast tokenizer's word ids. A span inside one
    word ("M" of "Montréal", "h" of "home") becomes the word; the context is encoded alone, so a
    word cut by a window's edge is still whole here.

    Two limits the reference lacks: a side grows by at most MAX_WIDENING characters (in a script
    written without spaces, Thai or kana, a "word" can be a whole sentence), and the spaces that
    SentencePiece words carry in front ("▁Montréal") are trimmed off. And a Chinese character (or
    kana, or an emoji) is a word of its own even where the tokenizer's word runs on without spaces
    (hf.same_word): an answer in "Alice住在Paris" is Paris, not the whole run."""
    words: list[list[int]] = []
    last = None
    for word, (s, e) in zip(context_encoding.word_ids(), context_encoding["offset_mapping"]):
        if word is None or e <= s:
            continue
        if word == last and same_word(context, words[-1][0], words[-1][1], s):
            words[-1][0], words[-1][1] = min(words[-1][0], s), max(words[-1][1], e)
        else:
            words.append([s, e])
            last = word
    wide_start, wide_end = start, end
    for s, e in words:
        if s <= start < e and start - s <= MAX_WIDENING:
            wide_start = s
        if s < end <= e and e - end <= MAX_WIDENING:
            wide_end = e
    while wide_start < wide_end and context[wide_start].isspace():
        wide_start += 1
    while wide_end > wide_start and context[wide_end - 1].isspace():
        wide_end -= 1
    return wide_start, wide_end


def raise_too_long(tokens: int, window: int) -> None:
    from .errors import InvalidInput
    from .messages import say

    raise InvalidInput(say("qa.question_too_long", tokens=tokens, limit=window // 2), field="question")
