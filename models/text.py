"""Text adapters on transformers: generation (streamed), sentiment and named entities."""
from __future__ import annotations

import codecs
import json
import math
import re
import threading
import time
from bisect import bisect_left
from typing import Any, Callable, Iterator

import torch
from transformers import (LogitsProcessor, LogitsProcessorList, RepetitionPenaltyLogitsProcessor, StoppingCriteria,
                          StoppingCriteriaList, TemperatureLogitsWarper, TextIteratorStreamer, TopKLogitsWarper,
                          TopPLogitsWarper)

from .base import Pipeline, check_text
from .chat import (THINK_OPEN, Generating, check_logprobs, check_messages, check_stop_strings, cut_at_stop, fit_window,
                   logprob_totals, split_thinking)
from .errors import InvalidInput
from .hf import MAX_BATCH_TOKENS, context_length, probabilities, same_word
from .messages import say
from .results import Entities, Generation, Labels, MaskFill

# -- text generation -------------------------------------------------------------------------------

class TextGeneration(Generating, Pipeline):
    """Streams tokens as they are generated; one request's stop never touches another's."""

    task = "text-generation"
    auto_model, task_label = "AutoModelForCausalLM", "text generation"
    architectures = ("ForCausalLM", "LMHeadModel", "ForConditionalGeneration")

    def _load(self, device: str, dtype: Any) -> None:
        super()._load(device, dtype)
        if self.tokenizer.pad_token_id is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token

    @property
    def is_chat(self) -> bool:
        return bool(getattr(self.tokenizer, "chat_template", None))

    def encode(self, prompt: Any, room: int | None = None) -> tuple[Any, dict[str, Any]]:
        """Token ids for a prompt string or a chat (a list of {role, content}), and what was done to fit it:
        {"dropped_turns", "thinking_opened"}. Chat models get their template; a chat's oldest turns are
        dropped until the prompt is at most `room` tokens (models/chat.py fit_window)."""
        tokenizer = self.tokenizer
        if isinstance(prompt, (list, tuple)):
            if not self.is_chat:
                raise InvalidInput(say("chat.no_template", model=self.spec.name), field="messages")
            messages = check_messages(prompt)
        else:
            check_text(prompt, "prompt")
            messages = [{"role": "user", "content": prompt}] if self.is_chat else None
        if messages is None:
            return self.tokenize(tokenizer, prompt, return_tensors="pt")["input_ids"], {"dropped_turns": 0,
                                                                                      "thinking_opened": False}

        def render(chat: list[dict[str, str]]) -> str:
            return self.tokenize(tokenizer.apply_chat_template, chat, tokenize=False, add_generation_prompt=True)

        def ids_of(text: str) -> Any:  # as apply_chat_template tokenizes its rendering
            return self.tokenize(tokenizer, text, add_special_tokens=False, return_tensors="pt",
                                 verbose=False)["input_ids"]

        dropped = 0
        if room is not None:
            messages, dropped = fit_window(messages, lambda chat: ids_of(render(chat)).shape[1], room)
        text = render(messages)
        return ids_of(text), {"dropped_turns": dropped, "thinking_opened": text.rstrip().endswith(THINK_OPEN)}

    def stream(self, inputs: Any, *, stop: threading.Event | None = None, stop_strings: Any = None,
               logprobs: Any = False, top_logprobs: Any = None, **params: Any) -> Iterator[Generation]:
        """Yield {"text", "new_tokens", "seed", "done", "first_token_seconds", "seconds", ...} as tokens arrive
        (models/results.py Generation: also the prompt's tokens, the window, the turns dropped to fit it, a
        reasoning model's thinking apart from its answer, and at the end why it ended).

        stop: ends this request at the next token (Stop, a closed tab); stop_strings: end the reply where
        one of them appears, which is then cut from it and never shown.

        logprobs: each update also holds "logprobs", OpenAI's {"content": [{"token", "logprob", "bytes",
        "top_logprobs"}...]} for the tokens of the text shown so far (and "reasoning_content" for a
        reasoning model's thinking), with `top_logprobs` (0 to 20) alternatives per token; the last update
        also "logprob" (their sum) and "perplexity". Each is the model's own distribution at that step:
        log_softmax of its logits at temperature 1, before temperature, top-k, top-p and the repetition
        penalty change them for sampling (_LogprobRecorder)."""
        model, tokenizer = self._require_loaded("model", "tokenizer")
        p = self.check_params(**params)
        stops = check_stop_strings(stop_strings)
        logprobs, top_logprobs = check_logprobs(logprobs, top_logprobs)
        limit = context_length(model, tokenizer)
        input_ids, fitted = self.encode(inputs, room=limit - p["max_new_tokens"])
        input_ids = input_ids.to(model.device)
        if input_ids.shape[1] + p["max_new_tokens"] > limit:
            field = "messages" if isinstance(inputs, (list, tuple)) else "prompt"
            what = "last message" if field == "messages" else "prompt"
            room = limit - input_ids.shape[1]
            if room < 1:
                raise InvalidInput(say("generation.prompt_too_long", what=what, tokens=input_ids.shape[1],
                                       model=self.spec.name, limit=limit), field=field)
            raise InvalidInput(say("generation.no_room", what=what, tokens=input_ids.shape[1],
                                   max_new_tokens=p["max_new_tokens"], limit=limit, room=room), field="max_new_tokens")
        stop = stop or threading.Event()
        recorder = _LogprobRecorder(top_logprobs) if logprobs else None
        counter = _TokenCounter(input_ids.shape[1], stop, recorder)
        streamer = TextIteratorStreamer(tokenizer, skip_prompt=True, skip_special_tokens=True)
        # the recorder first, so it reads the model's logits before anything changes them for sampling
        processors = LogitsProcessorList([recorder] if recorder else [])
        if p["repetition_penalty"] != 1.0:  # here rather than generate's own, to come after the recorder
            processors.append(RepetitionPenaltyLogitsProcessor(float(p["repetition_penalty"])))
        if p["do_sample"]:
            processors.append(_SeededSampler(p["temperature"], p["top_k"], p["top_p"], p["seed"], model.device))
        kwargs = dict(
            input_ids=input_ids, attention_mask=torch.ones_like(input_ids), streamer=streamer,
            max_new_tokens=p["max_new_tokens"], do_sample=False, num_beams=1,
            temperature=None, top_p=None, top_k=None,  # sampling is _SeededSampler's job
            repetition_penalty=1.0, logits_processor=processors,  # 1.0, not None: None takes the model's own
            stopping_criteria=StoppingCriteriaList([counter]), pad_token_id=tokenizer.pad_token_id,
        )
        failure: list[BaseException] = []
        generated: list[int] = []  # the tokens generate() returned (a deferred stop check may record one more)

        def run() -> None:
            try:
                with torch.inference_mode():
                    sequences = model.generate(**kwargs)
                generated.append(int(sequences.shape[1]) - int(input_ids.shape[1]))
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                failure.append(e)
                streamer.end()

        fixed = {"seed": p["seed"], "prompt_tokens": int(input_ids.shape[1]), "window": limit,
                 "max_new_tokens": p["max_new_tokens"], **fitted}
        start = time.perf_counter()
        worker = threading.Thread(target=run, name="generate", daemon=True)
        worker.start()
        text, first, thought_for, hit_stop = "", None, None, False
        opened = fitted["thinking_opened"]
        tokens = _TokenLogprobs(self, tokenizer) if recorder else None

        def update(shown: str, done: bool, whole: bool = False) -> Generation:
            nonlocal thought_for
            thinking, answer, ended = split_thinking(shown, opened)
            if thinking is not None and ended and thought_for is None:
                thought_for = time.perf_counter() - start
            out: Generation = {
                "text": shown, "new_tokens": counter.new_tokens, "done": done, "first_token_seconds": first,
                "seconds": time.perf_counter() - start, "thinking": thinking, "answer": answer,
                "thinking_seconds": thought_for if thinking is not None and ended else None, **fixed}
            if tokens is not None:
                tokens.add(recorder.steps)
                # the thinking's tokens (with its tags) are those before the answer starts
                answer_at = len(shown) if not ended else len(shown) - len(answer) if thinking is not None else 0
                reasoning, content = tokens.shown(None if whole else len(shown), answer_at,
                                                  generated[0] if generated else None)
                out["logprobs"] = {"content": content, **({"reasoning_content": reasoning}
                                                          if thinking is not None else {})}
                if done:
                    out.update(logprob_totals(reasoning + content))
            return out

        try:
            for piece in streamer:
                if not piece:
                    continue
                if first is None:
                    first = time.perf_counter() - start
                text += piece
                text, hit_stop, held = cut_at_stop(text, stops)
                if hit_stop:
                    stop.set()  # a stop string: the reply ends here, not at the user's word
                    break
                yield update(text[:len(text) - held], False)
        finally:
            stop.set()  # the consumer left (stop button, closed tab): halt generate at the next token
            worker.join()
        if failure:
            raise failure[0]
        stopped = counter.stopped and not hit_stop
        length = not hit_stop and not stopped and counter.new_tokens >= p["max_new_tokens"]
        # whole: every token generated is in the text, unless a stop string cut it (or Stop left some unread)
        yield {**update(text, True, whole=not hit_stop and not counter.stopped), "stopped": stopped,
               "finish_reason": "length" if length else "stop"}


class _TokenCounter(StoppingCriteria):
    """A stopping criterion that counts new tokens and ends generation when its request stops; it tells the
    logprob recorder, if any, which token was picked (it runs once per step, right after the pick, before
    the streamer is given the token)."""

    def __init__(self, prompt_tokens: int, stop: threading.Event, recorder: _LogprobRecorder | None = None) -> None:
        self.prompt_tokens, self.stop, self.new_tokens, self.stopped = prompt_tokens, stop, 0, False
        self.recorder = recorder

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        if self.recorder is not None:
            self.recorder.picked(input_ids)
        self.new_tokens = input_ids.shape[1] - self.prompt_tokens
        self.stopped = self.stop.is_set()
        return torch.full((input_ids.shape[0],), self.stopped, dtype=torch.bool, device=input_ids.device)


class _LogprobRecorder(LogitsProcessor):
    """Each step's log-probabilities as the model gives them: first in the processor list, it takes the
    logits generate() read from the model (float32) before the repetition penalty, temperature, top-k and
    top-p change them, and keeps their log_softmax until the step's token is known (`picked`, from the
    stopping criterion); then (token id, its logprob, the top ids, their logprobs) is one step.

    Nothing is computed again afterwards: the figures are those of the very forward pass that chose the
    token, at the cost of a log_softmax and a top-k over the vocabulary per step. It changes no score.
    """

    def __init__(self, top: int) -> None:
        self.top, self.pending = top, None
        self.steps: list[tuple[int, float, list[int], list[float]]] = []

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        self.pending = scores[0].float().log_softmax(-1)
        return scores

    def picked(self, input_ids: Any) -> None:
        row, self.pending = self.pending, None
        if row is None:
            return
        token = int(input_ids[0, -1])
        if self.top:
            values, ids = row.topk(min(self.top, row.shape[-1]))
            figures, top_ids = torch.cat([row[token:token + 1], values]).tolist(), ids.tolist()
        else:
            figures, top_ids = [float(row[token])], []
        self.steps.append((token, figures[0], top_ids, figures[1:]))


def _bytes_to_unicode() -> dict[int, str]:
    """GPT-2's map of the 256 bytes to printable characters, in which byte-level BPE vocabularies are written."""
    kept = [*range(33, 127), *range(161, 173), *range(174, 256)]  # printable: themselves
    moved = [b for b in range(256) if b not in kept]  # the others: 256 on
    return {**{b: chr(b) for b in kept}, **{b: chr(256 + n) for n, b in enumerate(moved)}}


_BYTE_OF = {c: b for b, c in _bytes_to_unicode().items()}
_BYTE_TOKEN = re.compile(r"^<0x([0-9A-Fa-f]{2})>$")  # SentencePiece's byte fallback
_SPACE = "\u2581"  # SentencePiece's space


def _decoder_parts(tokenizer: Any) -> list[dict[str, Any]]:
    """The fast tokenizer's decoder as its parts' settings ({"type": "ByteLevel"}...); [] when unknown."""
    decoder = getattr(getattr(tokenizer, "backend_tokenizer", None), "decoder", None)
    try:
        state = json.loads(decoder.__getstate__())
    except Exception:  # noqa: BLE001 - no fast tokenizer, or a decoder that does not say
        return []
    if not isinstance(state, dict):
        return []
    return state.get("decoders") or [state]  # a Sequence's parts, or the one decoder


def token_bytes(tokenizer: Any) -> Callable[[list[int]], list[bytes]]:
    """A function from token ids to each token's own bytes (OpenAI's `bytes`): their concatenation is the
    UTF-8 of the text they decode to, and a token that holds part of a character has that part's raw bytes.

    Byte-level BPE (GPT-2, Llama 3, Qwen, SmolLM) writes each byte as one character of its vocabulary, so a
    token's bytes are read back through that map; SentencePiece writes a space as "\u2581" and a byte it has
    no token for as "<0xAB>"; added tokens (the chat template's markers) are their own text. Other
    tokenizers (WordPiece) decode the token alone."""
    parts = _decoder_parts(tokenizer)
    kinds = {part.get("type") for part in parts}
    byte_level = "ByteLevel" in kinds
    sentencepiece = bool(kinds & {"Metaspace", "ByteFallback"}) or any(
        _SPACE in json.dumps(part, ensure_ascii=False) for part in parts if part.get("type") == "Replace")
    added = {i: t.content for i, t in getattr(tokenizer, "added_tokens_decoder", {}).items()}

    def one(token_id: int, piece: str | None) -> bytes:
        if token_id in added:
            return added[token_id].encode("utf-8")
        if piece is not None and byte_level and all(c in _BYTE_OF for c in piece):
            return bytes(_BYTE_OF[c] for c in piece)
        if piece is not None and sentencepiece:
            found = _BYTE_TOKEN.match(piece)
            return bytes([int(found.group(1), 16)]) if found else piece.replace(_SPACE, " ").encode("utf-8")
        return tokenizer.decode([token_id]).encode("utf-8")

    def of(ids: list[int]) -> list[bytes]:
        return [one(i, piece) for i, piece in zip(ids, tokenizer.convert_ids_to_tokens(ids))]

    return of


class _TokenLogprobs:
    """The recorded steps as OpenAI's entries ({"token", "logprob", "bytes", "top_logprobs"}), each made once,
    with where each token starts in the reply's text, so that an update gives the tokens of the text it
    shows: the special tokens left out (the text skips them), a stop string's tokens left out, and a reasoning
    model's thinking apart from its answer.

    Where a token starts is counted in characters of its bytes and those before it, decoded as the streamer
    decodes them (UTF-8, a broken sequence as U+FFFD): exact for byte-level BPE; a tokenizer whose decoding
    also drops or adds spaces (SentencePiece's first space, clean_up_tokenization_spaces) may put a token
    at a stop string's or a thinking's edge on the other side."""

    def __init__(self, pipeline: Pipeline, tokenizer: Any) -> None:
        self.pipeline, self.tokenizer = pipeline, tokenizer
        self.bytes_of = token_bytes(tokenizer)
        self.special = set(tokenizer.all_special_ids)
        self.known: dict[int, tuple[str, list[int]]] = {}  # token id -> (its text, its bytes)
        self.entries: list[dict[str, Any]] = []  # the tokens in the text, in order
        self.starts: list[int] = []  # where each begins in the text (characters)
        self.step_of: list[int] = []  # the generation step of each
        self.read = 0  # steps read
        self.chars = 0  # characters of the text so far
        self.decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def describe(self, ids: list[int]) -> None:
        new = list(dict.fromkeys(i for i in ids if i not in self.known))
        if new:
            for token_id, raw in zip(new, self.pipeline.tokenize(self.bytes_of, new)):
                self.known[token_id] = (raw.decode("utf-8", errors="replace"), list(raw))

    def add(self, steps: list[tuple[int, float, list[int], list[float]]]) -> None:
        fresh = steps[self.read:]
        if not fresh:
            return
        first, self.read = self.read, len(steps)
        self.describe([i for step in fresh for i in (step[0], *step[2])])
        for step, (token_id, logprob, top_ids, top_values) in enumerate(fresh, first):
            if token_id in self.special:
                continue
            text, raw = self.known[token_id]
            self.starts.append(self.chars)
            self.step_of.append(step)
            self.chars += len(self.decoder.decode(bytes(raw)))
            self.entries.append({"token": text, "logprob": _finite(logprob), "bytes": raw, "top_logprobs": [
                {"token": self.known[i][0], "logprob": _finite(v), "bytes": self.known[i][1]}
                for i, v in zip(top_ids, top_values)]})

    def shown(self, length: int | None, answer_at: int,
              steps: int | None = None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """(the thinking's tokens, the answer's tokens) among those that begin within the first `length`
        characters (None: all of the first `steps` generated; None: all), the answer's being those from
        character `answer_at` on."""
        if length is not None:
            count = bisect_left(self.starts, length)
        else:
            count = len(self.entries) if steps is None else bisect_left(self.step_of, steps)
        split = min(bisect_left(self.starts, answer_at), count)
        return self.entries[:split], self.entries[split:count]


def _finite(logprob: float) -> float:
    """A log-probability JSON can carry: a token the model rules out (-inf) as OpenAI writes it, -9999."""
    return logprob if math.isfinite(logprob) else -9999.0


class _SeededSampler(LogitsProcessor):
    """Temperature, top-k and top-p, then a draw from the request's own torch.Generator.

    generate() samples from torch's global RNG, which concurrent requests share; drawing here
    and leaving only the drawn token finite makes greedy decoding pick it, so the same seed
    gives the same text whatever else runs at the same time.
    """

    def __init__(self, temperature: float, top_k: int, top_p: float, seed: int, device: Any) -> None:
        self.warpers = [TemperatureLogitsWarper(temperature)]
        if top_k > 0:
            self.warpers.append(TopKLogitsWarper(top_k))
        if top_p < 1.0:
            self.warpers.append(TopPLogitsWarper(top_p))
        self.generator = torch.Generator(device=device).manual_seed(seed)

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        for warp in self.warpers:
            scores = warp(input_ids, scores)
        probs = scores.float().softmax(-1)
        token = torch.multinomial(probs, 1, generator=self.generator)
        out = torch.full_like(scores, float("-inf"))
        return out.scatter_(-1, token, 0.0)


# -- sentiment ---------------------------------------------------------------------------------------

class Sentiment(Pipeline):
    """Text classification: every label with its score, highest first."""

    task = "sentiment"
    auto_model, architectures = "AutoModelForSequenceClassification", ("ForSequenceClassification",)
    task_label = "text classification"

    def preprocess(self, inputs: list[str], **params: Any) -> dict[str, Any]:
        model, tokenizer = self._require_loaded("model", "tokenizer")
        texts = [check_text(t) for t in inputs]
        limit = min(context_length(model, tokenizer), MAX_BATCH_TOKENS)
        enc = self.tokenize(tokenizer, texts, padding="longest", truncation=True, max_length=limit,
                            return_tensors="pt", return_overflowing_tokens=False, return_length=False)
        full = [len(ids) for ids in self.tokenize(tokenizer, texts, add_special_tokens=True)["input_ids"]]
        return {"model_inputs": dict(enc), "truncated": [n > limit for n in full]}

    def postprocess(self, outputs: dict[str, Any], batch: dict[str, Any], **params: Any) -> list[Labels]:
        """{"labels": [{"label", "score"}...] best first, "truncated": bool} per text."""
        config = self._require_loaded("model")[0].config
        probs = probabilities(outputs["logits"], config).tolist()
        results = []
        for row, truncated in zip(probs, batch["truncated"]):
            labels = sorted(({"label": config.id2label.get(i, str(i)), "score": s} for i, s in enumerate(row)),
                            key=lambda d: d["score"], reverse=True)
            results.append({"labels": labels, "truncated": truncated})
        return results


# -- named entities ----------------------------------------------------------------------------------

class NamedEntities(Pipeline):
    """Token classification grouped into entities with exact character spans.

    Sub-tokens are merged into words (the first sub-token's label decides, as transformers'
    "first" aggregation), and B-/I- words of one type into entities. A Chinese character (or kana,
    or an emoji) is a word of its own even where the tokenizer's word runs on without spaces
    (hf.same_word), so Chinese entities follow the B-/I- tags character by character. Long texts
    are read in overlapping windows, so nothing past the model's window is lost.
    """

    task = "ner"
    auto_model, architectures = "AutoModelForTokenClassification", ("ForTokenClassification",)
    task_label = "token classification (entities)"

    def preprocess(self, inputs: list[str], **params: Any) -> dict[str, Any]:
        model, tokenizer = self._require_loaded("model", "tokenizer")
        texts = [check_text(t) for t in inputs]
        window = min(context_length(model, tokenizer), MAX_BATCH_TOKENS)
        enc = self.tokenize(tokenizer, texts, padding="longest", truncation=True, max_length=window,
                            stride=min(64, window // 4), return_overflowing_tokens=True,
                            return_offsets_mapping=True, return_tensors="pt")
        offsets = enc.pop("offset_mapping").tolist()
        sample_of = enc.pop("overflow_to_sample_mapping").tolist()
        return {"model_inputs": dict(enc), "encoding": enc, "texts": texts, "offsets": offsets, "sample_of": sample_of}

    def postprocess(self, outputs: dict[str, Any], batch: dict[str, Any], **params: Any) -> list[Entities]:
        """{"entities": [{"entity", "start", "end", "score", "text"}...]} per text."""
        config = self._require_loaded("model")[0].config
        enc, texts, offsets, sample_of = batch["encoding"], batch["texts"], batch["offsets"], batch["sample_of"]
        scores, label_ids = probabilities(outputs["logits"], config, per_token=True).max(-1)
        words: list[list[dict[str, Any]]] = [[] for _ in texts]
        last_read = [-1] * len(texts)  # index of the last word read, per text
        for w, (sample, (low, high)) in enumerate(zip(sample_of, window_bounds(enc, offsets, sample_of))):
            for t, word in enumerate(enc.word_ids(w)):
                if word is None:
                    continue
                start, end = offsets[w][t]
                if not low <= start < high or word < last_read[sample]:
                    continue  # another window reads this token, with more context around it
                last = words[sample][-1] if words[sample] else None
                if word == last_read[sample] and same_word(texts[sample], last["start"], last["end"], start):
                    # a later sub-token, maybe past a window's edge (not a Chinese character: its own word)
                    last["end"] = max(last["end"], end)
                else:
                    words[sample].append({"start": start, "end": end,
                                          "label": config.id2label.get(int(label_ids[w, t]), "O"),
                                          "score": float(scores[w, t])})
                    last_read[sample] = word
        return [{"entities": group_entities(text, ws)} for text, ws in zip(texts, words)]


def window_bounds(enc: Any, offsets: list[list[list[int]]], sample_of: list[int]) -> list[tuple[float, float]]:
    """Per window, the character range [low, high) of the token starts it reads.

    Consecutive windows of one text share some tokens; each reads the half of the shared
    part nearer its own middle, so every token is read once, with context on both sides,
    and a word cut by a window's edge stays one word.
    """
    bounds = [[0.0, float("inf")] for _ in sample_of]
    for w in range(1, len(sample_of)):
        if sample_of[w] != sample_of[w - 1]:
            continue
        prev_end = max((e for (s, e), word in zip(offsets[w - 1], enc.word_ids(w - 1)) if word is not None), default=0)
        starts = [s for (s, e), word in zip(offsets[w], enc.word_ids(w)) if word is not None]
        shared = [s for s in starts if s < prev_end]
        boundary = shared[len(shared) // 2] if shared else (starts[0] if starts else prev_end)
        bounds[w - 1][1] = bounds[w][0] = boundary
    return [(low, high) for low, high in bounds]


def group_entities(text: str, words: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Merge words tagged B-X, I-X (or plain X) into entities of type X."""
    entities: list[dict[str, Any]] = []
    current: dict[str, Any] | None = None
    for word in words:
        label = word["label"]
        if label == "O" or not label:
            current = None
            continue
        prefix, kind = (label[:2], label[2:]) if label[:2] in ("B-", "I-", "E-", "S-") else ("", label)
        continues = current is not None and current["entity"] == kind and prefix in ("I-", "E-", "")
        if continues:
            current["end"] = word["end"]
            current["_scores"].append(word["score"])
        else:
            current = {"entity": kind, "start": word["start"], "end": word["end"], "_scores": [word["score"]]}
            entities.append(current)
        if prefix in ("E-", "S-"):
            current = None
    for e in entities:
        scores = e.pop("_scores")
        e["score"] = sum(scores) / len(scores)
        e["text"] = text[e["start"]:e["end"]]
    return entities


# -- fill-mask -----------------------------------------------------------------------------------------

class FillMask(Pipeline):
    """What a masked language model learned in pre-training: the likeliest words for each mask token.

    Read as transformers' fill-mask pipeline reads it (softmax over the vocabulary at each mask, the
    top k, the sentence with each candidate put in); several masks give one list per mask.
    """

    task = "fill-mask"
    auto_model, architectures = "AutoModelForMaskedLM", ("ForMaskedLM", "ForPreTraining")
    task_label = "fill-mask (masked language modelling)"

    def _load(self, device: str, dtype: Any) -> None:
        super()._load(device, dtype)
        if self.tokenizer.mask_token_id is None:
            raise InvalidInput(say("fill_mask.no_mask_token", model=self.spec.name))

    def preprocess(self, inputs: list[str], **params: Any) -> dict[str, Any]:
        model, tokenizer = self._require_loaded("model", "tokenizer")
        mask = tokenizer.mask_token
        texts = [check_text(t) for t in inputs]
        for text in texts:
            if mask not in text:
                raise InvalidInput(say("fill_mask.no_mask", mask=mask), field="text")
        limit = min(context_length(model, tokenizer), MAX_BATCH_TOKENS)
        enc = self.tokenize(tokenizer, texts, padding="longest", truncation=True, max_length=limit, return_tensors="pt")
        if not bool((enc["input_ids"] == tokenizer.mask_token_id).any(-1).all()):
            raise InvalidInput(say("fill_mask.mask_too_far", mask=mask, limit=limit), field="text")
        masks = [torch.nonzero(row == tokenizer.mask_token_id).squeeze(-1) for row in enc["input_ids"]]
        return {"model_inputs": dict(enc), "masks": masks}

    def _forward(self, batch: dict[str, Any]) -> dict[str, Any]:
        """The vocabulary's logits at the mask positions only, gathered on the device: all of them
        (16 texts x 512 tokens x 50,265 for RoBERTa) would be 1.6 GB in float32."""
        model = self._require_loaded("model")[0]
        inputs, masks = batch["model_inputs"], batch["masks"]
        at_masks = []
        for i in range(0, len(masks), self.forward_rows):
            logits = model(**self.on_device({k: v[i:i + self.forward_rows] for k, v in inputs.items()})).logits
            at_masks += [row[positions.to(row.device)].float().cpu()
                         for row, positions in zip(logits, masks[i:i + self.forward_rows])]
        return {"logits_at_masks": at_masks}

    def postprocess(self, outputs: dict[str, Any], batch: dict[str, Any], *, top_k: int) -> list[MaskFill]:
        """{"masks": [[{"token_str", "score", "token", "sequence"}...] per mask], "mask_token"} per text."""
        tokenizer = self._require_loaded("tokenizer")[0]
        enc = batch["model_inputs"]
        results = []
        for i, (logits, positions) in enumerate(zip(outputs["logits_at_masks"], batch["masks"])):
            values, predictions = logits.softmax(-1).topk(min(top_k, logits.shape[-1]))
            real = enc["attention_mask"][i].bool()  # the padding left out of the sentence, on either side
            single = len(positions) == 1
            masks = []
            for at, scores, tokens in zip(positions.tolist(), values.tolist(), predictions.tolist()):
                row = []
                for score, token in zip(scores, tokens):
                    filled = enc["input_ids"][i].clone()
                    filled[at] = token
                    row.append({"token_str": tokenizer.decode([token]), "score": score, "token": token,
                                # other masks stay visible in the sentence, as in transformers
                                "sequence": tokenizer.decode(filled[real], skip_special_tokens=single)})
                masks.append(row)
            results.append({"masks": masks, "mask_token": tokenizer.mask_token})
        return results


# -- zero-shot classification ---------------------------------------------------------------------------

class ZeroShotClassification(Pipeline):
    """Any labels, no training: a natural-language-inference model reads the text as the premise and
    "This example is {label}." as the hypothesis, and how strongly it entails each is the label's score.

    Read as transformers' zero-shot-classification pipeline reads it: one label, or multi_label, gets
    a softmax over [contradiction, entailment] per label; otherwise the entailment logits of all
    labels share one softmax.
    """

    task = "zero-shot-classification"
    auto_model, architectures = "AutoModelForSequenceClassification", ("ForSequenceClassification",)
    task_label = "natural-language inference"

    def _load(self, device: str, dtype: Any) -> None:
        super()._load(device, dtype)
        names = {str(label).lower(): int(i) for label, i in (self.model.config.label2id or {}).items()}
        self.entailment_id = next((i for label, i in names.items() if label.startswith("entail")), None)
        if self.entailment_id is None:
            raise InvalidInput(say("zero_shot.not_nli", model=self.spec.name))

    def preprocess(self, inputs: list[str], *, labels: list[str], hypothesis_template: str,
                   **params: Any) -> dict[str, Any]:
        model, tokenizer = self._require_loaded("model", "tokenizer")
        # replace, never str.format: a visitor's "{:>400000000}" would build a 400 MB string
        if hypothesis_template.count("{}") != 1:
            raise InvalidInput(say("zero_shot.template"), field="hypothesis_template")
        texts = [check_text(t) for t in inputs]
        limit = min(context_length(model, tokenizer), MAX_BATCH_TOKENS)
        longest = max(len(ids) for ids in self.tokenize(
            tokenizer, [hypothesis_template.replace("{}", label) for label in labels], add_special_tokens=False)["input_ids"])
        if longest > limit // 2:
            raise InvalidInput(say("zero_shot.hypothesis_too_long", tokens=longest, limit=limit // 2),
                               field="hypothesis_template")
        premises = [text for text in texts for _ in labels]
        hypotheses = [hypothesis_template.replace("{}", label) for _ in texts for label in labels]
        enc = self.tokenize(tokenizer, premises, hypotheses, padding="longest", truncation="only_first",
                            max_length=limit, return_tensors="pt")
        full = [len(ids) for ids in self.tokenize(tokenizer, premises, hypotheses)["input_ids"]]
        truncated = [any(n > limit for n in full[t * len(labels):(t + 1) * len(labels)]) for t in range(len(texts))]
        return {"model_inputs": dict(enc), "truncated": truncated}

    def postprocess(self, outputs: dict[str, Any], batch: dict[str, Any], *, labels: list[str], multi_label: bool,
                    **params: Any) -> list[Labels]:
        """{"labels": [{"label", "score"}...] best first, "truncated": bool} per text."""
        per_text = outputs["logits"].reshape(len(batch["truncated"]), len(labels), -1)
        entail = self.entailment_id
        if multi_label or len(labels) == 1:
            contradiction = -1 if entail == 0 else 0
            scores = per_text[..., [contradiction, entail]].softmax(-1)[..., 1]
        else:
            scores = per_text[..., entail].softmax(-1)
        results = []
        for row, truncated in zip(scores.tolist(), batch["truncated"]):
            ranked = sorted(({"label": label, "score": s} for label, s in zip(labels, row)),
                            key=lambda d: d["score"], reverse=True)
            results.append({"labels": ranked, "truncated": truncated})
        return results
