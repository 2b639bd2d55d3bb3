"""The OpenAI-compatible API (components/openai_api.py) on a launched app, with the clients people use:
the `openai` package and huggingface_hub's InferenceClient. A greedy answer equals transformers' own
generate on the chat template, streamed or not; a seed gives the same text; stop strings cut; every bad
request is a status with OpenAI's error shape and one sentence; a flood gets 429s; a client that leaves
frees its turn; the events are not held back; --api-key and --auth guard /v1."""
from __future__ import annotations

import concurrent.futures
import json
import math
import time
from typing import Any, Iterator

import httpx
import pytest

from tests.launch import assert_plain_sentence, running_app, slow_chat_copy, slow_down, tiny_catalog, wait_until

openai = pytest.importorskip("openai")

CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "I love this film"}]
SLOW = 0.05  # seconds per forward pass of the slowed copy


@pytest.fixture(scope="module")
def slow_chat(tiny_models: Any, tmp_path_factory: Any) -> str:
    return slow_chat_copy(tiny_models, tmp_path_factory)


@pytest.fixture(scope="module")
def app(tiny_models: Any, slow_chat: str) -> Iterator[Any]:
    data = tiny_catalog(tiny_models, ["text-generation"])  # tiny chat (the default), then tiny gpt2
    data["text-generation"].append({"id": slow_chat, "label": "slow chat"})
    with running_app(data) as launched:
        yield launched


@pytest.fixture(scope="module")
def client(app: Any) -> Any:
    return openai.OpenAI(base_url=app.url + "v1", api_key="x", max_retries=0, timeout=60)


@pytest.fixture(scope="module")
def slowed(app: Any, slow_chat: str) -> Any:
    """The slow copy loaded, each forward pass SLOW seconds."""
    pipeline = app.manager.get("text-generation", slow_chat)
    handle = slow_down(pipeline, SLOW)
    yield pipeline
    handle.remove()


def context(app: Any) -> Any:
    from components.openai_api import ATTRIBUTE

    return getattr(app.demo, ATTRIBUTE)


def post(app: Any, body: Any, *, raw: bool = False, **kwargs: Any) -> httpx.Response:
    content = body if raw else json.dumps(body)
    return httpx.post(app.url + "v1/chat/completions", content=content,
                      headers={"content-type": "application/json", **kwargs.pop("headers", {})}, timeout=60, **kwargs)


def reference(folder: str, messages: list[dict[str, str]], max_new_tokens: int) -> tuple[str, int, int]:
    """transformers' greedy generate on the chat template: (text, prompt tokens, new tokens)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).eval()
    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True)
    ids = torch.tensor([ids["input_ids"] if isinstance(ids, dict) or hasattr(ids, "keys") else ids])
    with torch.inference_mode():
        out = model.generate(ids, attention_mask=torch.ones_like(ids), max_new_tokens=max_new_tokens, do_sample=False,
                             repetition_penalty=1.0, pad_token_id=tokenizer.eos_token_id)
    new = out[0, ids.shape[1]:]
    return tokenizer.decode(new, skip_special_tokens=True), ids.shape[1], len(new)


# -- answers ----------------------------------------------------------------------------------------

def test_models_are_listed(client: Any, tiny_models: Any, slow_chat: str) -> None:
    models = client.models.list().data
    ids = [m.id for m in models]
    assert ids[:2] == [tiny_models["chat-gpt2"], slow_chat]  # tiny gpt2 has no chat template: not listed
    assert all(m.object == "model" and m.owned_by == "playground" and m.created > 0 for m in models)


def test_greedy_answer_is_transformers_own_streamed_or_not(client: Any, tiny_models: Any) -> None:
    text, prompt_tokens, new_tokens = reference(tiny_models["chat-gpt2"], CHAT, 20)
    whole = client.chat.completions.create(model="tiny chat", messages=CHAT, temperature=0, max_tokens=20)
    assert whole.object == "chat.completion" and whole.id.startswith("chatcmpl-")
    assert whole.model == tiny_models["chat-gpt2"]
    assert whole.choices[0].message.role == "assistant"
    assert whole.choices[0].message.content == text
    assert whole.choices[0].finish_reason == "length"
    assert (whole.usage.prompt_tokens, whole.usage.completion_tokens) == (prompt_tokens, new_tokens)
    assert whole.usage.total_tokens == prompt_tokens + new_tokens
    assert whole.model_extra["playground"]["window"] == 256

    chunks = list(client.chat.completions.create(model="tiny chat", messages=CHAT, temperature=0, max_tokens=20,
                                                 stream=True, stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == text
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "length"
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == new_tokens
    assert chunks[-1].usage.prompt_tokens == prompt_tokens
    plain = list(client.chat.completions.create(model="tiny chat", messages=CHAT, temperature=0, max_tokens=20,
                                                stream=True))
    assert all(c.choices and c.usage is None for c in plain)  # no usage chunk unless asked


def test_a_seed_gives_the_same_text_even_beside_another_request(client: Any) -> None:
    def sample(seed: int) -> str:
        answer = client.chat.completions.create(messages=CHAT, model="tgi", temperature=0.8, max_tokens=30, seed=seed)
        assert answer.model_extra["playground"]["seed"] == seed
        return answer.choices[0].message.content

    alone = sample(7)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        together = list(pool.map(sample, [7, 8, 7]))
    assert together[0] == together[2] == alone
    assert together[1] != alone


def test_stop_strings_cut_the_reply(client: Any, tiny_models: Any) -> None:
    greedy, *_ = reference(tiny_models["chat-gpt2"], CHAT, 20)
    stop = greedy.split()[1]  # the second word: the reply ends before its first appearance
    answer = client.chat.completions.create(model="tiny chat", messages=CHAT, temperature=0, max_tokens=20, stop=stop)
    assert answer.choices[0].message.content == greedy[:greedy.index(stop)]
    assert answer.choices[0].finish_reason == "stop"

    sampled = client.chat.completions.create(model="tiny chat", messages=CHAT, temperature=0.9, max_tokens=30, seed=3)
    text = sampled.choices[0].message.content
    stop = text[len(text) // 2:len(text) // 2 + 3]
    cut = client.chat.completions.create(model="tiny chat", messages=CHAT, temperature=0.9, max_tokens=30, seed=3,
                                         stop=["never seen", stop], stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in cut if c.choices) == text[:text.index(stop)]


def test_a_reasoning_models_thinking_is_reasoning_content(client: Any, tiny_models: Any) -> None:
    from tests.builders.text import REASONING_ANSWER, REASONING_THOUGHT

    folder = tiny_models["reasoning-gpt2"]
    messages = [{"role": "user", "content": "Hi there, how are you?"}]
    whole = client.chat.completions.create(model=folder, messages=messages, temperature=0, max_tokens=60)
    message = whole.choices[0].message
    assert (message.content, message.model_extra["reasoning_content"]) == (REASONING_ANSWER, REASONING_THOUGHT)
    chunks = [c.choices[0].delta for c in client.chat.completions.create(
        model=folder, messages=messages, temperature=0, max_tokens=60, stream=True) if c.choices]
    assert "".join(d.content or "" for d in chunks) == REASONING_ANSWER
    assert "".join((d.model_extra or {}).get("reasoning_content") or "" for d in chunks) == REASONING_THOUGHT
    assert "<think>" not in "".join(d.content or "" for d in chunks)
    plain = client.chat.completions.create(model="tiny chat", messages=CHAT, max_tokens=3)
    assert "reasoning_content" not in plain.choices[0].message.model_extra  # only where there is a thinking
    assert folder in [m.id for m in client.models.list().data]  # a loaded model outside the catalog is listed


def test_logprobs_in_openai_shape_as_the_chat_endpoint_gives_them(app: Any, client: Any, tiny_models: Any) -> None:
    """logprobs=True, top_logprobs=3: each answer token's {token, logprob, bytes, top_logprobs}, the same as
    /chat gives for the same greedy request; streamed, each chunk carries its tokens' and together they
    are the whole answer's; not asked, there are none."""
    from gradio_client import Client

    asked = dict(model="tiny chat", messages=CHAT, temperature=0, max_tokens=20, logprobs=True, top_logprobs=3)
    whole = client.chat.completions.create(**asked)
    choice = whole.choices[0]
    tokens = choice.logprobs.content
    assert len(tokens) == whole.usage.completion_tokens == 20
    assert b"".join(bytes(t.bytes) for t in tokens).decode("utf-8", errors="replace") == choice.message.content
    for t in tokens:
        assert isinstance(t.token, str) and t.logprob <= 0 and len(t.top_logprobs) == 3
        assert t.top_logprobs[0].logprob >= t.top_logprobs[1].logprob >= t.top_logprobs[2].logprob
        assert t.top_logprobs[0].token == t.token  # greedy: the likeliest token was taken
    figures = whole.model_extra["playground"]
    assert figures["logprob"] == pytest.approx(sum(t.logprob for t in tokens))
    assert figures["perplexity"] == pytest.approx(math.exp(-figures["logprob"] / 20))

    gradio = Client(app.url, verbose=False)
    _, stats = gradio.predict(messages=CHAT, model=tiny_models["chat-gpt2"], system_prompt="", max_new_tokens=20,
                              temperature=0, top_p=1.0, top_k=0, repetition_penalty=1.0, seed=1, logprobs=True,
                              top_logprobs=3, api_name="/chat")
    assert [t.model_dump() for t in tokens] == stats["logprobs"]["content"]

    chunks = [c for c in client.chat.completions.create(**asked, stream=True) if c.choices]
    streamed = [t for c in chunks for t in (c.choices[0].logprobs.content or [])]
    assert [t.model_dump() for t in streamed] == [t.model_dump() for t in tokens]
    with_text = [c for c in chunks if c.choices[0].delta.content]
    assert len(with_text) > 1 and all(c.choices[0].logprobs.content for c in with_text)  # as they come
    plain = client.chat.completions.create(model="tiny chat", messages=CHAT, temperature=0, max_tokens=5)
    assert plain.choices[0].logprobs is None and "logprob" not in plain.model_extra["playground"]
    assert all(c.choices[0].logprobs is None for c in client.chat.completions.create(
        model="tiny chat", messages=CHAT, temperature=0, max_tokens=5, stream=True) if c.choices)


def test_huggingface_inference_client(app: Any, tiny_models: Any, monkeypatch: Any) -> None:
    """InferenceClient(base_url=...) sends model "tgi": the catalog's default model answers."""
    import huggingface_hub.constants
    from huggingface_hub import InferenceClient

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # it refuses every URL offline
    text, *_ = reference(tiny_models["chat-gpt2"], CHAT, 20)
    hf = InferenceClient(base_url=app.url + "v1", timeout=60)
    answer = hf.chat_completion(CHAT, max_tokens=20, temperature=0)
    assert answer.choices[0].message.content == text
    streamed = hf.chat_completion(CHAT, max_tokens=20, temperature=0, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in streamed if c.choices) == text


def test_a_base_model_without_a_chat_template_is_refused(app: Any, tiny_models: Any) -> None:
    response = post(app, {"model": "tiny gpt2", "messages": CHAT})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["param"] == "model" and "no chat template" in error["message"]
    assert_plain_sentence(error["message"])


# -- bad requests ------------------------------------------------------------------------------------

USER = [{"role": "user", "content": "hi"}]
BAD = {  # name: (body, status, param); a str body is sent as it is
    "not json": ("{'model': 1", 400, None),
    "a list": ([USER], 400, None),
    "no messages": ({"model": "tiny chat"}, 400, "messages"),
    "empty messages": ({"messages": []}, 400, "messages"),
    "a message without role": ({"messages": [{"content": "hi"}]}, 422, "messages"),
    "an unknown role": ({"messages": [{"role": "wizard", "content": "hi"}]}, 422, "messages"),
    "10,000 turns": ({"messages": USER * 10_000}, 422, "messages"),
    "a 1 MB message": ({"messages": [{"role": "user", "content": "a" * 2**20}]}, 422, "messages"),
    "model 5": ({"model": 5, "messages": USER}, 422, "model"),
    "messages 'hi'": ({"messages": "hi"}, 422, "messages"),
    "stream 'yes'": ({"messages": USER, "stream": "yes"}, 422, "stream"),
    "max_tokens 'ten'": ({"messages": USER, "max_tokens": "ten"}, 422, "max_tokens"),
    "temperature 'hot'": ({"messages": USER, "temperature": "hot"}, 422, "temperature"),
    "top_p []": ({"messages": USER, "top_p": []}, 422, "top_p"),
    "seed 1.5": ({"messages": USER, "seed": 1.5}, 422, "seed"),
    "stop 3": ({"messages": USER, "stop": 3}, 422, "stop"),
    "n 2": ({"messages": USER, "n": 2}, 400, "n"),
    "max_tokens 0": ({"messages": USER, "max_tokens": 0}, 422, "max_tokens"),
    "max_completion_tokens 10**9": ({"messages": USER, "max_completion_tokens": 10**9}, 422, "max_completion_tokens"),
    "temperature 5": ({"messages": USER, "temperature": 5}, 422, "temperature"),
    "NaN top_p": ('{"messages": [{"role": "user", "content": "hi"}], "top_p": NaN}', 422, "top_p"),
    "stream_options 1": ({"messages": USER, "stream": True, "stream_options": 1}, 422, "stream_options"),
    "top_logprobs 21": ({"messages": USER, "logprobs": True, "top_logprobs": 21}, 422, "top_logprobs"),
    "top_logprobs -1": ({"messages": USER, "logprobs": True, "top_logprobs": -1}, 422, "top_logprobs"),
    "top_logprobs 'three'": ({"messages": USER, "logprobs": True, "top_logprobs": "three"}, 422, "top_logprobs"),
    "top_logprobs without logprobs": ({"messages": USER, "top_logprobs": 2}, 422, "top_logprobs"),
    "logprobs 'yes'": ({"messages": USER, "logprobs": "yes"}, 422, "logprobs"),
    "an unknown model": ({"model": "nobody/no-such-model", "messages": USER}, 404, "model"),
    "a missing folder": ({"model": "/no/such/folder", "messages": USER}, 404, "model"),
}


@pytest.mark.parametrize("name", BAD)
def test_a_bad_request_is_a_status_and_one_sentence(app: Any, name: str) -> None:
    body, status, param = BAD[name]
    response = post(app, body, raw=isinstance(body, str))
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error"
    assert_plain_sentence(error["message"])
    if status == 404:
        assert error["code"] == "model_not_found"
    if param not in (None, "messages", "model"):
        assert param in error["message"].lower()  # named as the request named it: max_tokens, not max_new_tokens


def test_other_paths_are_openai_shaped_404s(app: Any) -> None:
    for method, path in [("GET", "v1/nothing"), ("POST", "v1/completions"), ("GET", "v1")]:
        response = httpx.request(method, app.url + path, timeout=10)
        assert response.status_code == 404 and response.json()["error"]["type"] == "invalid_request_error"
        assert_plain_sentence(response.json()["error"]["message"])
    assert httpx.get(app.url + "v1/chat/completions", timeout=10).status_code == 405
    assert httpx.get(app.url, timeout=10).status_code == 200  # Gradio's page is still there
    assert httpx.get(app.url + "gradio_api/info", timeout=10).status_code == 200


def test_the_server_serves_on_after_bad_requests(client: Any) -> None:
    answer = client.chat.completions.create(model="tiny chat", messages=USER, max_tokens=5)
    assert answer.choices[0].finish_reason in ("stop", "length")


# -- streaming, turns and disconnects ------------------------------------------------------------------

def test_events_are_sent_as_they_come(app: Any, slow_chat: str, slowed: Any) -> None:
    """Not held back by any middleware (Gradio compresses only file paths): the first piece of text
    arrives long before the end, even when the client accepts compressed answers."""
    start, arrivals = time.perf_counter(), []
    body = {"model": slow_chat, "messages": CHAT, "max_tokens": 30, "temperature": 0, "stream": True}
    with httpx.stream("POST", app.url + "v1/chat/completions", json=body, timeout=60,
                      headers={"accept-encoding": "br, gzip"}) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers
        for line in response.iter_lines():
            if line.startswith("data: {") and '"content": "' in line and '"role"' not in line:
                arrivals.append(time.perf_counter() - start)
    total = time.perf_counter() - start
    assert len(arrivals) > 5 and total > 30 * SLOW
    assert arrivals[0] < total / 2, f"first text at {arrivals[0]:.2f} s of {total:.2f} s"


@pytest.mark.filterwarnings("error::pytest.PytestUnraisableExceptionWarning")  # no generator left to the GC
def test_a_client_that_leaves_frees_its_turn(app: Any, client: Any, slow_chat: str, slowed: Any) -> None:
    turns = context(app).turns
    stream = client.chat.completions.create(model=slow_chat, messages=CHAT, max_tokens=200, stream=True)
    chunks = iter(stream)
    for _ in range(3):
        next(chunks)
    assert turns.running == 1
    stream.close()  # 200 tokens would take 10 s
    assert wait_until(lambda: turns.running == 0, 5), "the turn was not given back"
    start = time.perf_counter()
    client.chat.completions.create(model=slow_chat, messages=CHAT, max_tokens=5)
    assert time.perf_counter() - start < 3


def test_too_many_waiting_are_told_429(app: Any, slow_chat: str, slowed: Any, monkeypatch: Any) -> None:
    from components.turns import Turns

    turns = Turns(1)
    monkeypatch.setattr(context(app), "turns", turns)
    body = {"model": slow_chat, "messages": USER, "max_tokens": 2}
    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        first = pool.submit(post, app, {**body, "max_tokens": 40})  # 2 s
        assert wait_until(lambda: turns.running == 1, 10)
        others = [pool.submit(post, app, body) for _ in range(8)]  # 4 may wait, the rest are refused
        responses = [f.result(timeout=30) for f in [first, *others]]
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [429] * 4, statuses
    refused = next(r for r in responses if r.status_code == 429)
    error = refused.json()["error"]
    assert (error["type"], error["code"]) == ("rate_limit_error", "rate_limit_exceeded")
    assert_plain_sentence(error["message"])
    assert turns.running == 0 and turns.waiting == 0


# -- keys and logins -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def keyed(tiny_models: Any) -> Iterator[Any]:
    """--auth u:p --api-key k1 --api-key k2 --hosted."""
    with running_app(tiny_catalog(tiny_models, ["text-generation"]), auth=[("u", "p")], api_keys=["k1", "k2"],
                     allow_custom=False) as launched:
        yield launched


def test_api_keys_guard_v1(keyed: Any) -> None:
    for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "k1"}, {"authorization": "Basic k1"}):
        response = httpx.post(keyed.url + "v1/chat/completions", json={"messages": USER}, headers=headers, timeout=10)
        assert response.status_code == 401, headers
        error = response.json()["error"]
        assert (error["type"], error["code"]) == ("authentication_error", "invalid_api_key")
        assert_plain_sentence(error["message"])
    assert httpx.get(keyed.url + "v1/models", timeout=10).status_code == 401
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=keyed.url + "v1", api_key="wrong", max_retries=0).models.list()
    client = openai.OpenAI(base_url=keyed.url + "v1", api_key="k2", max_retries=0)
    assert client.chat.completions.create(model="tiny chat", messages=USER, max_tokens=3).choices
    # hosted: a model outside the catalog is not found, before any load
    with pytest.raises(openai.NotFoundError) as info:
        client.chat.completions.create(model="HuggingFaceTB/SmolLM2-135M-Instruct", messages=USER)
    assert info.value.body["code"] == "model_not_found"
    # the page still asks for its login
    page = httpx.get(keyed.url, timeout=10, follow_redirects=True).text
    assert '"auth_required":true' in page.replace(" ", "")


def test_a_login_without_api_keys_closes_v1(tiny_models: Any) -> None:
    with running_app(tiny_catalog(tiny_models, ["text-generation"]), auth=[("u", "p")]) as launched:
        for headers in ({}, {"authorization": "Bearer p"}):
            response = httpx.get(launched.url + "v1/models", headers=headers, timeout=10)
            assert response.status_code == 401
            message = response.json()["error"]["message"]
            assert "--api-key" in message
            assert_plain_sentence(message)
