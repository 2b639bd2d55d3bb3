"""Extractive question answering with AutoModelForQuestionAnswering and offset mappings.

transformers 5 has no question-answering pipeline, so the span search lives here: the
context is read in overlapping windows, each window's start/end probabilities give the best
span, and the span's character offsets come from the fast tokenizer.
"""
from __future__ import annotations

from typing import Any

import torch

from .base import Pipeline, check_number, check_text
from .hf import context_length, load_transformers

MAX_ANSWER_TOKENS = 30
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
        max_answer = int(check_number(params.get("max_answer_tokens", MAX_ANSWER_TOKENS), "max_answer_tokens",
                                      low=1, high=512, integer=True))
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
        best = {"answer": None, "score": 0.0, "start": None, "end": None}
        null_score = 1.0
        for w in range(offsets.shape[0]):
            is_context = torch.tensor([s == 1 for s in enc.sequence_ids(w)])
            cls = 0
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
                start_char, end_char = int(offsets[w, s, 0]), int(offsets[w, e, 1])
                best = {"answer": context[start_char:end_char], "score": score, "start": start_char, "end": end_char}
        if best["answer"] is None or null_score > best["score"]:
            return {"answer": None, "score": null_score, "start": None, "end": None, "windows": int(offsets.shape[0])}
        return {**best, "windows": int(offsets.shape[0])}


def raise_too_long(tokens: int, window: int) -> None:
    from .errors import InvalidInput

    raise InvalidInput(f"The question is {tokens} tokens long; keep it under {window // 2} tokens.")
