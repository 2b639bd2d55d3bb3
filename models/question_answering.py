"""Extractive question answering with AutoModelForQuestionAnswering and offset mappings.

transformers 5 has no question-answering pipeline, so the span search lives here: the
context is read in overlapping windows, each window's start/end probabilities give the best
span, and the span's character offsets come from the fast tokenizer.
"""
from __future__ import annotations

from typing import Any

import torch

from .base import Pipeline, check_text
from .hf import context_length, load_transformers

WINDOWS_PER_FORWARD = 16


class QuestionAnswering(Pipeline):
    task = "question-answering"

    def _load(self, device: str, dtype: Any) -> None:
        load_transformers(self, "AutoModelForQuestionAnswering", task_label="extractive question answering",
                          suffixes=("ForQuestionAnswering",))

    def predict(self, inputs: dict[str, str], **params: Any) -> dict[str, Any]:
        """inputs: {"question", "context"} -> {"answer", "score", "start", "end", "windows"}.

        "answer" is None when the model (SQuAD 2 style) finds the null answer more likely
        than any span in every window.
        """
        model, tokenizer = self._require_loaded("model", "tokenizer")
        question = check_text((inputs or {}).get("question"), "question", max_chars=2_000).strip()
        context = check_text((inputs or {}).get("context"), "context")
        max_answer = self.declaration.check(params)["max_answer_tokens"]
        window = min(context_length(model, tokenizer), 512)
        question_tokens = len(self.tokenize(tokenizer, question, add_special_tokens=False)["input_ids"])
        if question_tokens > window // 2:
            raise_too_long(question_tokens, window)
        enc = self.tokenize(tokenizer, question, context, truncation="only_second", max_length=window,
                            stride=min(128, window // 4), return_overflowing_tokens=True,
                            return_offsets_mapping=True, padding="longest", return_tensors="pt")
        offsets = enc.pop("offset_mapping")
        enc.pop("overflow_to_sample_mapping", None)
        starts, ends = [], []
        with torch.inference_mode():
            for i in range(0, offsets.shape[0], WINDOWS_PER_FORWARD):
                out = model(**{k: v[i:i + WINDOWS_PER_FORWARD].to(model.device) for k, v in enc.items()})
                starts.append(out.start_logits.float().cpu())
                ends.append(out.end_logits.float().cpu())
        start_logits, end_logits = torch.cat(starts), torch.cat(ends)
        cls_at = cls_positions(enc["input_ids"], enc["attention_mask"], tokenizer.cls_token_id)
        best = {"answer": None, "score": 0.0, "start": None, "end": None}
        null_score = 1.0
        for w in range(offsets.shape[0]):
            is_context = torch.tensor([s == 1 for s in enc.sequence_ids(w)])
            cls = cls_at[w]
            keep = is_context.clone()
            keep[cls] = True  # the null answer competes with the spans
            mask = torch.where(keep, 0.0, float("-inf"))
            p_start = (start_logits[w] + mask).softmax(-1)
            p_end = (end_logits[w] + mask).softmax(-1)
            null_score = min(null_score, float(p_start[cls] * p_end[cls]))
            p_start = p_start * is_context
            p_end = p_end * is_context
            scores = torch.triu(p_start[:, None] * p_end[None, :]).tril(max_answer - 1)
            flat = int(scores.argmax())
            s, e = divmod(flat, scores.shape[1])
            score = float(scores[s, e])
            if score > best["score"]:
                best = {"score": score, "start": int(offsets[w, s, 0]), "end": int(offsets[w, e, 1])}
        if best.get("start") is None or null_score > best["score"]:
            return {"answer": None, "score": null_score, "start": None, "end": None, "windows": int(offsets.shape[0])}
        # The span's score stays the chosen tokens'; its characters widen to the words they touch.
        start, end = whole_words(self.tokenize(tokenizer, context, add_special_tokens=False, verbose=False,
                                               return_offsets_mapping=True), best["start"], best["end"])
        best.update(answer=context[start:end], start=start, end=end)
        return {**best, "windows": int(offsets.shape[0])}


def cls_positions(input_ids: Any, attention_mask: Any, cls_token_id: int | None) -> list[int]:
    """Per window, where the null answer is read: the CLS token wherever padding put it (a
    left-padding tokenizer shifts it), else the first real token for a tokenizer without one."""
    positions = []
    for ids, real in zip(input_ids.tolist(), attention_mask.tolist()):
        at = ids.index(cls_token_id) if cls_token_id is not None and cls_token_id in ids else None
        positions.append(at if at is not None else real.index(1) if 1 in real else 0)
    return positions


def whole_words(context_encoding: Any, start: int, end: int) -> tuple[int, int]:
    """[start, end) widened to the whole words it touches, the words being the tokenizer's own
    (its pre-tokenizer's: spaces and punctuation for BERT, one Chinese character each), as
    transformers' QA post-processing does with a fast tokenizer's word ids. A span inside one
    word ("M" of "Montréal", "h" of "home") becomes the word; the context is encoded alone, so a
    word cut by a window's edge is still whole here."""
    words: dict[int, list[int]] = {}
    for word, (s, e) in zip(context_encoding.word_ids(), context_encoding["offset_mapping"]):
        if word is None or e <= s:
            continue
        span = words.setdefault(word, [s, e])
        span[0], span[1] = min(span[0], s), max(span[1], e)
    for s, e in words.values():
        if s <= start < e:
            start = s
        if s < end <= e:
            end = e
    return start, end


def raise_too_long(tokens: int, window: int) -> None:
    from .errors import InvalidInput

    raise InvalidInput(f"The question is {tokens} tokens long; keep it under {window // 2} tokens.")
