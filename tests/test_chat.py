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


# -- what the Chat tab writes, in the reader's language (components/chat.py) -----------------------------------

def reply_stats(**change: Any) -> dict[str, Any]:
    """A reply's statistics as stats_of gives them."""
    return {"seed": 5, "new_tokens": 12, "tokens_per_second": 3.14, "first_token_seconds": 0.2, "seconds": 1.0,
            "prompt_tokens": 28, "window": 1024, "dropped_turns": 0, "finish_reason": "length", "stopped": False,
            "done": True, **change}


def test_the_line_under_a_reply_is_in_the_readers_language() -> None:
    from components.chat import describe
    from models.messages import CHINESE

    stats = reply_stats()
    assert describe(stats) == ("seed 5 · 12 new tokens · 3.1 tokens/s · first token 0.20 s · total 1.00 s · "
                               "context 40 of 1,024 tokens · reached max new tokens")
    assert describe(stats, CHINESE) == ("种子 5 · 12 个新 token · 速度 3.1 tokens/s · 首个 token 0.20 秒 · "
                                        "总计 1.00 秒 · 上下文 40 / 1,024 个 token · 已达到最大新 token 数")
    writing = reply_stats(done=False, first_token_seconds=None, tokens_per_second=None, window=None,
                          logprob=-3.25, perplexity=1.5)
    assert describe(writing) == ("seed 5 · 12 new tokens · no token yet · total 1.00 s · context 40 tokens · "
                                 "log-probability -3.25 · perplexity 1.50 · generating…")
    assert describe(writing, CHINESE) == ("种子 5 · 12 个新 token · 还没有 token · 总计 1.00 秒 · 上下文 40 个 token · "
                                          "对数概率 -3.25 · 困惑度 1.50 · 生成中…")
    assert describe(reply_stats(stopped=True), CHINESE).endswith(" · 已停止")
    assert describe(reply_stats(stopped=True)).endswith(" · stopped")


def test_the_dropped_turns_warning_is_singular_or_plural_in_either_language() -> None:
    from components.chat import describe
    from models.messages import CHINESE

    one, two = reply_stats(dropped_turns=1), reply_stats(dropped_turns=2)
    assert describe(one).endswith("\n\n⚠ The oldest turn of this chat was left out so that it fits the model's "
                                  "window of 1,024 tokens; the model did not read it.")
    assert describe(two).endswith("\n\n⚠ The 2 oldest turns of this chat were left out so that it fits the model's "
                                  "window of 1,024 tokens; the model did not read them.")
    assert describe(one, CHINESE).endswith("\n\n⚠ 为了放进模型 1,024 个 token 的上下文窗口，这段对话最早的一轮被略去了；"
                                           "模型没有读到它。")
    assert describe(two, CHINESE).endswith("\n\n⚠ 为了放进模型 1,024 个 token 的上下文窗口，这段对话最早的 2 轮被略去了；"
                                           "模型没有读到它们。")


def test_the_chat_template_note_is_in_the_readers_language(monkeypatch: pytest.MonkeyPatch) -> None:
    from types import SimpleNamespace

    import components.chat as chat
    from models.messages import CHINESE

    spec = SimpleNamespace(name="tiny chat", endpoint=None, model_id="tiny")
    ctx = SimpleNamespace(manager=SimpleNamespace(spec=lambda task, model: spec))
    monkeypatch.setattr(chat, "chat_template", lambda s: (True, "{{ a }}\n{{ b }}\n{{ c }}"))
    assert chat.template_note(ctx, "tiny") == (
        "**Chat template:** tiny chat's own (3 lines), applied to the system prompt and every message; see it under "
        "*Chat template*.", "{{ a }}\n{{ b }}\n{{ c }}")
    line, template = chat.template_note(ctx, "tiny", CHINESE)
    assert line == "**聊天模板：** tiny chat 自带的模板（3 行），应用于系统提示词和每条消息；可在 *聊天模板* 下查看。"
    assert template.count("\n") == 2
    monkeypatch.setattr(chat, "chat_template", lambda s: (False, ""))
    assert chat.template_note(ctx, "tiny")[0] == (
        "**No chat template:** tiny chat is a base model that continues a text. Each message you send is continued "
        "as it is; earlier turns and the system prompt are not read.")
    assert chat.template_note(ctx, "tiny", CHINESE) == (
        "**没有聊天模板：** tiny chat 是续写文本的基础模型。你发送的每条消息都会被原样续写；之前的轮次和系统提示词"
        "不会被读取。", "")
    monkeypatch.setattr(chat, "chat_template", lambda s: (None, ""))
    assert chat.template_note(ctx, "tiny")[0] == ("**Chat template:** the model's own, read when it loads (its files "
                                                  "are not here yet).")
    assert chat.template_note(ctx, "tiny", CHINESE)[0] == "**聊天模板：** 模型自带的模板，在加载时读取（它的文件还不在这里）。"
    spec.endpoint = "http://llm.example:8000/v1"
    assert chat.template_note(ctx, "tiny")[0] == ("**Chat template:** the server's own: tiny chat runs at "
                                                  "http://llm.example:8000/v1.")
    assert chat.template_note(ctx, "tiny", CHINESE)[0] == ("**聊天模板：** 由服务器自己应用：tiny chat 运行在 "
                                                           "http://llm.example:8000/v1。")


def test_the_chats_compared_are_summed_up_in_the_readers_language() -> None:
    from components.chat import chat_summary
    from models.messages import CHINESE

    figures = [{"first_token_seconds": 0.5, "tokens_per_second": 10.0},
               {"first_token_seconds": 0.6, "tokens_per_second": 8.0},
               {"first_token_seconds": 0.25},
               {"first_token_seconds": 0.5, "tokens_per_second": 10.0}]
    lines = ["seed 1 · …", "seed 1 · …", "seed 1 · …", "seed 1 · …"]
    assert chat_summary(figures, lines) == ("B: its first token 1.2x later than A's, 0.8x A's tokens/s; C: its first "
                                            "token 2.0x sooner than A's; D: its first token as soon as A's, 1.0x A's "
                                            "tokens/s.")
    assert chat_summary(figures, lines, CHINESE) == ("B：首个 token 比 A 慢 1.2x，tokens/s 是 A 的 0.8x；C：首个 token "
                                                     "比 A 快 2.0x；D：首个 token 和 A 一样快，tokens/s 是 A 的 1.0x。")
    failed = ["seed 1 · …", "seed 1 · …", "⚠ Out of memory."]
    assert chat_summary(figures[:3], failed) == "B: its first token 1.2x later than A's, 0.8x A's tokens/s; C failed."
    assert chat_summary(figures[:3], failed, CHINESE) == "B：首个 token 比 A 慢 1.2x，tokens/s 是 A 的 0.8x；C 出错了。"
    assert chat_summary([{}], ["⚠ No."], CHINESE) == "A 出错了。" and chat_summary([{}], ["x"], CHINESE) == ""


def logprob_token(text: str, logprob: float) -> dict[str, Any]:
    return {"token": text, "logprob": logprob, "bytes": list(text.encode()),
            "top_logprobs": [{"token": text, "logprob": logprob, "bytes": list(text.encode())}]}


def test_explain_says_the_log_probability_and_the_tables_headers_in_the_readers_language() -> None:
    from components.chat import EXPLAIN_TOP, explained
    from models.messages import CHINESE

    how = ("The redder a token, the less likely the model found it: each is the model's own probability at that step "
           "(temperature 1), before temperature, top-k, top-p and the repetition penalty.")
    stats = {"logprobs": {"content": [logprob_token("Hi", -0.5), logprob_token("!", -1.0)]}, "logprob": -1.5,
             "perplexity": 2.117}
    summary, pieces, table = explained(stats)
    assert summary == f"**Log-probability** -1.500 over 2 tokens · **perplexity** 2.117. {how}"
    assert [text for text, _ in pieces] == ["Hi", "!"]
    assert table["headers"] == ["#", "Token", "Probability", "Log-prob", f"Top {EXPLAIN_TOP} alternatives (probability)"]
    assert [row[:2] for row in table["data"]] == [[1, '"Hi"'], [2, '"!"']]
    summary, _, table = explained(stats, CHINESE)
    assert summary.startswith("**对数概率** -1.500（共 2 个 token）· **困惑度** 2.117。token 越红，模型越没料到它")
    assert table["headers"] == ["#", "Token", "概率", "对数概率", f"前 {EXPLAIN_TOP} 个候选（概率）"]
    thinking = {**stats, "logprobs": {"reasoning_content": [logprob_token("<think>", -0.1)], **stats["logprobs"]},
                "perplexity": None}
    assert explained(thinking)[0] == (f"**Log-probability** -1.500 over 3 tokens (1 of them thinking) · "
                                      f"**perplexity** too large to tell. {how}")
    assert explained(thinking, CHINESE)[0].startswith("**对数概率** -1.500（共 3 个 token，其中 1 个是思考）· "
                                                      "**困惑度** 太大，无法给出。")
    assert explained({"logprobs": {"content": []}})[0] == "The reply has no tokens to show."
    assert explained({"logprobs": {"content": []}}, CHINESE)[0] == "这条回复没有可显示的 token。"


def test_a_thought_and_the_chat_tabs_errors_are_in_the_readers_language(tmp_path: Any) -> None:
    from components.chat import exported, imported, reply_messages
    from components.common import sentence_of
    from models.messages import CHINESE, say

    update = {"thinking": "hmm", "thinking_seconds": 1.2, "answer": "Yes.", "done": True}
    assert reply_messages(update)[0]["metadata"]["title"] == "Thought"
    assert reply_messages(update, CHINESE)[0]["metadata"]["title"] == "思考过程"
    assert reply_messages({**update, "thinking_seconds": None, "done": False}, CHINESE)[0]["metadata"]["title"] == "思考中…"
    with pytest.raises(InvalidInput) as empty:
        exported([], "", "json")
    assert str(empty.value) == "The chat is empty: there is nothing to export yet."
    assert sentence_of(empty.value, CHINESE) == "对话是空的：还没有可以导出的内容。"
    with pytest.raises(InvalidInput) as none:
        imported(None)
    assert str(none.value) == "No file came with the import; pick a .json file." and none.value.field == "message"
    assert sentence_of(none.value, CHINESE) == "导入时没有收到文件；请选择一个 .json 文件。"
    (tmp_path / "chat.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(InvalidInput) as bad:
        imported(str(tmp_path / "chat.json"))
    assert str(bad.value) == ("That file is not JSON; import a file exported from this tab, or a list of {role, "
                              "content} messages.")
    assert sentence_of(bad.value, CHINESE) == "这个文件不是 JSON；请导入从本页导出的文件，或一个由 {role, content} 消息组成的列表。"
    assert str(say("chat_tab.type_first")) == "Type a message first."
    assert say("chat_tab.type_first").render(CHINESE) == "请先输入一条消息。"
    kind = say("chat_tab.system_prompt_type", kind="int")
    assert str(kind) == "system_prompt must be a string, not int."
    assert kind.render(CHINESE) == "参数 system_prompt 必须是字符串，而不是 int。"


def test_generate_gives_its_line_in_the_language_a_program_asks_for(app: Any, tiny_models: Any) -> None:
    from gradio_client import Client

    args = dict(prompt="the cat sat", model=tiny_models["chat-gpt2"], max_new_tokens=20, temperature=0, top_p=1.0,
                top_k=0, repetition_penalty=1.0, seed=1, api_name="/generate")
    _, speed = Client(app.url, verbose=False, headers={"Accept-Language": "zh-CN"}).predict(**args)
    assert speed.startswith("种子 1 · 20 个新 token · ") and "已达到最大新 token 数" in speed
    _, speed = Client(app.url, verbose=False).predict(**args)
    assert speed.startswith("seed 1 · 20 new tokens · ") and speed.endswith("reached max new tokens")


def test_the_pages_template_note_and_explain_table_are_in_the_readers_language(app: Any, tiny_models: Any) -> None:
    """The tab's own small handlers, called as Gradio calls them (the request where Gradio puts it): the chat
    template note at each pick, the Explain table's headers when the panel opens and when the chat is cleared."""
    import gradio as gr
    from gradio.helpers import special_args

    handlers = {getattr(f.fn, "__name__", ""): f for f in app.demo.fns.values()}

    def run(name: str, values: list[Any], language: str) -> Any:
        request = gr.Request(headers={"accept-language": language})
        args, *_ = special_args(handlers[name].fn, list(values), request, None)
        return handlers[name].fn(*args)

    chat = tiny_models["chat-gpt2"]
    fit = next(f for f in app.demo.fns.values()  # the Chat tab's fit_on_pick: on the page's load and each pick
               if getattr(f.fn, "__name__", "") == "fit" and any(getattr(o, "label", None) is None and
                                                                  type(o).__name__ == "Markdown" for o in f.outputs))

    def note(language: str) -> str:
        args, *_ = special_args(fit.fn, [chat], gr.Request(headers={"accept-language": language}), None)
        return next(v for v in fit.fn(*args).values() if isinstance(v, str) and v.startswith("**"))

    assert note("zh-CN").startswith("**聊天模板：** tiny chat 自带的模板（")
    assert note("en").startswith("**Chat template:** tiny chat's own (")
    assert "load" in [t[1] for t in fit.targets]
    _, table = run("explain_shown", [True, None], "zh-CN")
    assert table["headers"][2:4] == ["概率", "对数概率"] and table["data"] == []
    _, table = run("explain_shown", [True, None], "en")
    assert table["headers"][2:4] == ["Probability", "Log-prob"]
    assert run("cleared", [], "zh-CN")[-1]["headers"][1:3] == ["Token", "概率"]
