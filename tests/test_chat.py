"""The chat, below the page: a conversation's messages checked (models/chat.py), its oldest turns dropped
to fit the window, stop strings, a reasoning model's thinking, and the /chat endpoint through
gradio_client. The reference is transformers itself: `model.generate` on `apply_chat_template` of the
same messages (greedy), on the tiny chat model and the tiny reasoning model (tests/builders/text.py)."""
from __future__ import annotations

import math
from typing import Any, Iterator

import pytest

from models.chat import check_messages, cut_at_stop, fit_window, split_thinking, with_system
from models.errors import InvalidInput
from tests.builders.text import REASONING_ANSWER, REASONING_THOUGHT
from tests.launch import assert_plain_sentence, call_raw, running_app

GREEDY = dict(max_new_tokens=20, temperature=0, top_p=1.0, top_k=0, repetition_penalty=1.0, seed=1)


# -- the messages, apart from any model ------------------------------------------------------------------

@pytest.mark.parametrize("messages, says", [
    ([], "empty"),
    ("hello", "must be a list"),
    ([{"content": "hi"}], "has no role"),
    ([{"role": "bot", "content": "hi"}], "the roles are"),
    ([{"role": "user"}], "no content"),
    ([{"role": "user", "content": 5}], "must be a string"),
    ([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}], "only text parts"),
    (["hi"], "must be an object"),
    ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"}], "must be the user's"),
    ([{"role": "user", "content": "x" * 1_000_001}], "the limit is 100,000"),
    ([{"role": "user", "content": "hi"}] * 10_000, "at most 1,000 are read"),
    ([{"role": "user", "content": "\ud800"}], "not valid Unicode"),
])
def test_a_bad_chat_is_one_sentence(messages: Any, says: str) -> None:
    with pytest.raises(InvalidInput) as info:
        check_messages(messages)
    assert_plain_sentence(str(info.value))
    assert says in str(info.value)
    assert info.value.field == "messages"


def test_text_parts_and_the_developer_role_are_read_as_openai_does() -> None:
    chat = check_messages([{"role": "developer", "content": "Be brief."},
                           {"role": "user", "content": [{"type": "text", "text": "Hi "}, {"type": "text", "text": "you"}]}])
    assert chat == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi you"}]
    assert with_system(chat, "Answer in French.")[0] == {"role": "system", "content": "Answer in French."}
    assert with_system(chat, "  ") == chat


def test_the_oldest_turns_are_dropped_first_and_the_system_prompt_kept() -> None:
    chat = [{"role": "system", "content": "s"}]
    for i in range(6):
        chat += [{"role": "user", "content": f"u{i}" * 10}, {"role": "assistant", "content": f"a{i}" * 10}]
    chat.append({"role": "user", "content": "last"})
    size = lambda c: sum(len(m["content"]) for m in c)  # noqa: E731 - a window in characters
    kept, dropped = fit_window(chat, size, room=size(chat) - 25)
    assert dropped == 1 and kept[0]["role"] == "system" and kept[1]["content"] == "u1" * 10
    kept, dropped = fit_window(chat, size, room=10)  # even the last turn alone: the caller says so
    assert dropped == 6 and kept == [chat[0], chat[-1]]
    assert fit_window(chat, size, room=10_000) == (chat, 0)


def test_thinking_is_told_apart_as_it_streams() -> None:
    assert split_thinking("Plain answer") == (None, "Plain answer", True)
    assert split_thinking("<thi") == ("", "", False)
    assert split_thinking("<think>Let me see") == ("Let me see", "", False)
    assert split_thinking("<think>Let me see</think>\n\nFour.") == ("Let me see", "Four.", True)
    assert split_thinking("Let me see</think>Four.", opened=True) == ("Let me see", "Four.", True)


def test_a_stop_string_is_never_shown_even_half_written() -> None:
    assert cut_at_stop("Hello wor", ["world"]) == ("Hello wor", False, 3)
    assert cut_at_stop("Hello world, hi", ["world", "hi"]) == ("Hello ", True, 0)
    assert cut_at_stop("abc", []) == ("abc", False, 0)


# -- the adapter against transformers -----------------------------------------------------------------

@pytest.fixture(scope="module")
def manager(tiny_models: Any) -> Iterator[Any]:
    from models import ModelManager, parse_catalog

    catalog = parse_catalog({"text-generation": [{"id": tiny_models["chat-gpt2"], "label": "tiny chat"},
                                                 {"id": tiny_models["reasoning-gpt2"], "label": "tiny reasoning"}]},
                            source="tests")
    manager = ModelManager(catalog)
    yield manager
    manager.unload_all()


def reference(folder: str, messages: list[dict[str, str]], max_new_tokens: int = 20) -> tuple[str, int, int]:
    """transformers alone: (greedy reply, prompt tokens, new tokens) of model.generate on the chat template."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_tensors="pt",
                                        return_dict=True)["input_ids"]
    with torch.inference_mode():
        out = model.generate(ids, max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=tokenizer.eos_token_id)
    new = out[0, ids.shape[1]:]
    return tokenizer.decode(new, skip_special_tokens=True), ids.shape[1], len(new)


def prompt_length(folder: str, messages: list[dict[str, str]]) -> int:
    from transformers import AutoTokenizer

    return len(AutoTokenizer.from_pretrained(folder).apply_chat_template(messages, add_generation_prompt=True,
                                                                        return_dict=True)["input_ids"])


def last(updates: Iterator[dict[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for result in updates:
        pass
    return result


def test_a_greedy_chat_reply_equals_model_generate(manager: Any, tiny_models: Any) -> None:
    folder = tiny_models["chat-gpt2"]
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "the cat sat"},
                {"role": "assistant", "content": "on the mat"}, {"role": "user", "content": "and then?"}]
    text, prompt_tokens, new_tokens = reference(folder, messages)
    result = last(manager.stream("text-generation", folder, messages, do_sample=False, **GREEDY))
    assert result["text"] == text and result["answer"] == text
    assert (result["prompt_tokens"], result["new_tokens"]) == (prompt_tokens, new_tokens)
    assert result["dropped_turns"] == 0 and result["window"] == 256
    assert result["finish_reason"] == "length" and result["thinking"] is None


def test_a_long_chat_drops_its_oldest_turns_and_answers_as_the_kept_ones_would(manager: Any, tiny_models: Any) -> None:
    folder = tiny_models["chat-gpt2"]
    messages = [{"role": "system", "content": "Be brief."}]
    for i in range(30):
        messages += [{"role": "user", "content": f"question {i} about the weather"},
                     {"role": "assistant", "content": f"answer {i} about the sun"}]
    messages.append({"role": "user", "content": "and then?"})
    result = last(manager.stream("text-generation", folder, messages, do_sample=False, **GREEDY))
    dropped = result["dropped_turns"]
    assert dropped > 0 and result["prompt_tokens"] + 20 <= 256
    kept = [messages[0], *messages[1 + 2 * dropped:]]
    text, prompt_tokens, _ = reference(folder, kept)
    assert result["text"] == text and result["prompt_tokens"] == prompt_tokens
    one_more = [messages[0], *messages[1 + 2 * (dropped - 1):]]  # the fewest dropped: one turn fewer is too long
    assert prompt_length(folder, one_more) + 20 > 256


def test_a_last_message_longer_than_the_window_is_a_sentence(manager: Any, tiny_models: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        last(manager.stream("text-generation", tiny_models["chat-gpt2"],
                            [{"role": "user", "content": "the weather " * 200}], do_sample=False, **GREEDY))
    assert_plain_sentence(str(info.value))
    assert "last message" in str(info.value) and info.value.field == "messages"


def test_a_stop_string_ends_the_reply_before_it(manager: Any, tiny_models: Any) -> None:
    folder = tiny_models["chat-gpt2"]
    messages = [{"role": "user", "content": "the cat sat"}]
    text, _, _ = reference(folder, messages, max_new_tokens=30)
    stop = text.strip()[6:9]  # a piece from the middle of the reply
    result = last(manager.stream("text-generation", folder, messages, do_sample=False, stop_strings=[stop],
                                 **{**GREEDY, "max_new_tokens": 30}))
    assert result["text"] == text[:text.index(stop)]
    assert result["finish_reason"] == "stop" and not result["stopped"]


def test_a_reasoning_model_thinks_apart_from_its_answer(manager: Any, tiny_models: Any) -> None:
    folder = tiny_models["reasoning-gpt2"]
    messages = [{"role": "user", "content": "Hi there, how are you?"}]
    updates = list(manager.stream("text-generation", folder, messages, do_sample=False,
                                  **{**GREEDY, "max_new_tokens": 60}))
    result = updates[-1]
    assert result["thinking"] == REASONING_THOUGHT and result["answer"] == REASONING_ANSWER
    assert result["thinking_seconds"] is not None and 0 < result["thinking_seconds"] <= result["seconds"]
    assert result["finish_reason"] == "stop"  # the model's end of text, before max_new_tokens
    thinking = [u for u in updates if u["thinking"] and not u["answer"]]
    assert thinking and all(u["thinking_seconds"] is None for u in thinking)  # still thinking: no duration yet
    assert reference(folder, messages, 60)[0] == f"<think>{REASONING_THOUGHT}</think>{REASONING_ANSWER}"


def joined(tokens: list[dict[str, Any]]) -> str:
    """The text of OpenAI-shaped logprob entries: their bytes put together."""
    return b"".join(bytes(t["bytes"]) for t in tokens).decode("utf-8", errors="replace")


def test_a_reasoning_models_logprobs_tell_its_thinking_from_its_answer(manager: Any, tiny_models: Any) -> None:
    """The answer's tokens are "content" (as the message's content), the thinking's, tags included,
    "reasoning_content"; the end-of-text token is in neither (the text skips it); the totals cover both."""
    folder = tiny_models["reasoning-gpt2"]
    updates = list(manager.stream("text-generation", folder, [{"role": "user", "content": "Hi there, how are you?"}],
                                  do_sample=False, logprobs=True, top_logprobs=2, **{**GREEDY, "max_new_tokens": 60}))
    result = updates[-1]
    found = result["logprobs"]
    assert joined(found["content"]) == REASONING_ANSWER
    assert joined(found["reasoning_content"]) == f"<think>{REASONING_THOUGHT}</think>"
    assert len(found["content"]) + len(found["reasoning_content"]) == result["new_tokens"] - 1  # the eos
    every = found["reasoning_content"] + found["content"]
    assert result["logprob"] == pytest.approx(math.fsum(t["logprob"] for t in every), abs=1e-9)
    assert result["perplexity"] == pytest.approx(math.exp(-result["logprob"] / len(every)))
    assert all(len(t["top_logprobs"]) == 2 and t["logprob"] <= 0 for t in every)
    for update in updates:  # as it streams: the tokens of the text shown, thinking and answer apart
        assert joined(update["logprobs"]["content"]).startswith(update["answer"])
        assert update["logprobs"]["content"] == found["content"][:len(update["logprobs"]["content"])]


def test_a_stop_strings_tokens_are_left_out_of_the_logprobs(manager: Any, tiny_models: Any) -> None:
    folder = tiny_models["chat-gpt2"]
    messages = [{"role": "user", "content": "the cat sat"}]
    text, _, _ = reference(folder, messages, max_new_tokens=30)
    stop = text.strip()[6:9]
    result = last(manager.stream("text-generation", folder, messages, do_sample=False, stop_strings=[stop],
                                 logprobs=True, **{**GREEDY, "max_new_tokens": 30}))
    tokens = result["logprobs"]["content"]
    assert result["answer"] == text[:text.index(stop)]
    assert joined(tokens).startswith(result["answer"])  # every character of the answer is in a token
    assert not joined(tokens[:-1]).startswith(result["answer"])  # and no token more
    assert len(tokens) < result["new_tokens"]


# -- /chat through gradio_client -------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(tiny_models: Any) -> Iterator[Any]:
    catalog = {"text-generation": [{"id": tiny_models["chat-gpt2"], "label": "tiny chat"},
                                   {"id": tiny_models["gpt2"], "label": "tiny gpt2"},
                                   {"id": tiny_models["reasoning-gpt2"], "label": "tiny reasoning"}]}
    with running_app(catalog) as launched:
        yield launched


def chat_args(messages: Any, model: str, system_prompt: str = "", **params: Any) -> dict[str, Any]:
    return dict(messages=messages, model=model, system_prompt=system_prompt, **{**GREEDY, **params})


def test_chat_streams_the_reply_then_its_statistics(client: Any, tiny_models: Any) -> None:
    folder = tiny_models["chat-gpt2"]
    messages = [{"role": "user", "content": "the cat sat"}]
    text, prompt_tokens, new_tokens = reference(folder, [{"role": "system", "content": "Be brief."}, *messages])
    job = client.submit(**chat_args(messages, folder, "Be brief."), api_name="/chat")
    reply, stats = job.result()
    assert reply == text
    assert stats["prompt_tokens"] == prompt_tokens and stats["new_tokens"] == new_tokens
    assert stats["seed"] == 1 and stats["window"] == 256 and stats["done"] and stats["finish_reason"] == "length"
    assert stats["tokens_per_second"] > 0 and stats["first_token_seconds"] > 0
    outputs = job.outputs()
    assert len(outputs) >= 2 and all(reply.startswith(r) for r, _ in outputs)  # streamed: it grew


def test_chat_gives_a_reasoning_models_answer_and_its_thinking_apart(client: Any, tiny_models: Any) -> None:
    reply, stats = client.predict(**chat_args([{"role": "user", "content": "hello"}], tiny_models["reasoning-gpt2"],
                                              max_new_tokens=60), api_name="/chat")
    assert reply == REASONING_ANSWER
    assert stats["thinking"] == REASONING_THOUGHT and stats["thinking_seconds"] > 0


def test_generate_still_answers_one_prompt(client: Any, tiny_models: Any) -> None:
    text, speed = client.predict(prompt="the cat sat", model=tiny_models["chat-gpt2"], max_new_tokens=20,
                                 temperature=0, top_p=1.0, top_k=0, repetition_penalty=1.0, seed=1, api_name="/generate")
    assert text == reference(tiny_models["chat-gpt2"], [{"role": "user", "content": "the cat sat"}])[0]
    assert "seed 1" in speed and "20 new tokens" in speed


def test_chat_gives_logprobs_at_the_end_and_generate_is_unchanged(app: Any, client: Any, tiny_models: Any) -> None:
    """logprobs and top_logprobs come last: /chat's statistics hold OpenAI's logprobs, the log-probability
    and the perplexity at the end of the stream only; without them, nothing of logprobs. /generate keeps its
    8 inputs and 2 outputs (its callers unpack text and speed; /chat with the prompt as one message gives its
    logprobs). A raw HTTP caller written before logprobs existed still calls /chat with 9 values: the
    parameters added last take their defaults (components/serving.py trailing_defaults)."""
    folder = tiny_models["chat-gpt2"]
    messages = [{"role": "user", "content": "the cat sat"}]
    job = client.submit(**chat_args(messages, folder, logprobs=True, top_logprobs=3), api_name="/chat")
    reply, stats = job.result()
    tokens = stats["logprobs"]["content"]
    assert len(tokens) == stats["new_tokens"] == 20 and joined(tokens) == reply
    assert all(set(t) == {"token", "logprob", "bytes", "top_logprobs"} and len(t["top_logprobs"]) == 3
               for t in tokens)
    assert all(set(a) == {"token", "logprob", "bytes"} for t in tokens for a in t["top_logprobs"])
    assert stats["logprob"] == pytest.approx(math.fsum(t["logprob"] for t in tokens))
    assert stats["perplexity"] == pytest.approx(math.exp(-stats["logprob"] / 20))
    outputs = job.outputs()
    assert len(outputs) >= 2 and all("logprobs" not in s for _, s in outputs[:-1])  # the last update only
    _, plain = client.predict(**chat_args(messages, folder), api_name="/chat")
    assert not {"logprobs", "logprob", "perplexity"} & set(plain)
    kind, (text, speed) = call_raw(app.url, "/generate", ["the cat sat", folder, 20, 0, 1.0, 0, 1.0, 1])
    assert kind == "complete" and text == reply and "perplexity" not in speed
    kind, (old_reply, old_stats) = call_raw(app.url, "/chat", [messages, folder, "", 20, 0, 1.0, 0, 1.0, 1])
    assert kind == "complete" and old_reply == reply and "logprobs" not in old_stats


@pytest.mark.parametrize("change, says", [
    ({"messages": []}, "empty"),
    ({"messages": [{"content": "hi"}]}, "no role"),
    ({"messages": [{"role": "wizard", "content": "hi"}]}, "the roles are"),
    ({"messages": [{"role": "user", "content": "hi"}] * 10_000}, "at most 1,000"),
    ({"messages": [{"role": "user", "content": "x" * (1 << 20)}]}, "the limit is"),
    ({"messages": "hello"}, "must be a list"),
    ({"messages": {"role": "user"}}, "must be a list"),
    ({"messages": [{"role": "user", "content": ["a"]}]}, "must be a string"),
    ({"system_prompt": "x" * 200_000}, "the limit is"),
    ({"max_new_tokens": "ten"}, "Max new tokens"),
    ({"max_new_tokens": 0}, "Max new tokens"),
    ({"temperature": "hot"}, "Temperature"),
    ({"temperature": -1}, "Temperature"),
    ({"top_p": [1]}, "Top p"),
    ({"top_k": 1.5}, "Top k"),
    ({"repetition_penalty": None}, "Repetition penalty"),
    ({"seed": "x"}, "Seed"),
    ({"model": 5}, "model"),
    ({"logprobs": True, "top_logprobs": 25}, "top_logprobs must be between 0 and 20"),
    ({"logprobs": True, "top_logprobs": "many"}, "top_logprobs"),
    ({"top_logprobs": 3}, "top_logprobs needs logprobs"),
    ({"logprobs": "yes"}, "logprobs must be true or false"),
])
def test_a_bad_chat_call_gets_one_sentence_and_the_app_serves_on(client: Any, tiny_models: Any, change: dict,
                                                               says: str) -> None:
    from gradio_client.exceptions import AppError

    args = {**chat_args([{"role": "user", "content": "hi"}], tiny_models["chat-gpt2"]), **change}
    with pytest.raises(AppError) as info:
        client.predict(**args, api_name="/chat")
    message = str(info.value)
    assert_plain_sentence(message)
    assert says.lower() in message.lower(), message
    reply, stats = client.predict(**chat_args([{"role": "user", "content": "hi"}], tiny_models["chat-gpt2"],
                                              max_new_tokens=3), api_name="/chat")
    assert stats["new_tokens"] == 3


def test_a_base_model_is_told_to_take_a_prompt(client: Any, tiny_models: Any) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict(**chat_args([{"role": "user", "content": "hi"}], tiny_models["gpt2"]), api_name="/chat")
    assert_plain_sentence(str(info.value))
    assert "no chat template" in str(info.value)
