"""Remote OpenAI-compatible endpoints as chat models (models/remote.py), against a real server: the playground
itself, started as a second process (`python app.py`, behind --api-key) that serves two copies of the tiny chat
model on its /v1, one of them slowed down so that Stop has something to stop. The official clients (`openai`,
huggingface_hub's InferenceClient) stream from it; a catalog entry {id, endpoint, api_key_env} then makes it a
chat model of this process, through the manager, /chat, /compare and /v1: the same seed gives the same text as
the local copy, the updates are the local adapter's, Stop ends it early, and every failure is one sentence."""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from models import (Availability, InvalidInput, ModelManager, ModelNotAllowed, ModelNotFound, PlaygroundError,
                    parse_catalog)
from models.base import ModelSpec
from models.fitting import chat_template, fitted
from tests.launch import ASSETS, ROOT, assert_plain_sentence, free_port, running_app, wait_http_200

openai = pytest.importorskip("openai")

TASK = "text-generation"
KEY = "remote-test-key"
VAR = "PLAYGROUND_REMOTE_TEST_KEY"
REMOTE = "owner/served-chat"  # the served models' ids: Hub-shaped here, folders only where the server runs
SLOW_REMOTE = "owner/slow-chat"
SLOW = 0.05  # seconds per forward pass of the server's slow copy
CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "I love this film"}]
SAMPLED = dict(max_new_tokens=40, temperature=0.7, top_p=0.95, top_k=50, repetition_penalty=1.1, seed=7)
GREEDY = dict(max_new_tokens=16, temperature=0.0, top_p=1.0, top_k=0, repetition_penalty=1.0, seed=1)  # as /chat
UNSAMPLED = dict(GREEDY, do_sample=False)  # as the manager takes it

# The server: app.py as it is, its slow copy's forward passes slowed first (tests/launch.py slow_down's hook).
SERVER = """
import runpy, sys, time
sys.path.insert(0, {root!r})
from models.text import TextGeneration
load = TextGeneration._load
def slowed(self, device, dtype):
    load(self, device, dtype)
    if "slow" in self.spec.model_id:
        self.model.register_forward_pre_hook(lambda module, args: time.sleep({slow}))
TextGeneration._load = slowed
sys.argv = ["app.py", *sys.argv[1:]]
runpy.run_path({app!r}, run_name="__main__")
"""


@pytest.fixture(scope="module")
def server(tiny_models: Any, tmp_path_factory: Any) -> Iterator[str]:
    """The second process's /v1 URL. It runs in a folder of its own, where owner/served-chat and owner/slow-chat
    are folders (so /v1/models names them so); here they are Hub-shaped ids of nothing on this disk."""
    home = tmp_path_factory.mktemp("remote-server")
    for name in (REMOTE, SLOW_REMOTE):
        shutil.copytree(tiny_models["chat-gpt2"], home / name)
    (home / "assets").symlink_to(ASSETS)  # app.py's examples, read from the working folder
    (home / "catalog.yaml").write_text(yaml.safe_dump({TASK: [{"id": REMOTE}, {"id": SLOW_REMOTE}]}))
    (home / "server.py").write_text(SERVER.format(root=str(ROOT), slow=SLOW, app=str(ROOT / "app.py")))
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False"}
    env.pop("PLAYGROUND_CONFIG", None)
    with open(home / "server.log", "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "server.py", "--config", "catalog.yaml", "--port", str(port), "--no-mcp",
             "--api-key", KEY, "--data-dir", str(home / "data"), "--concurrency", "1"],
            cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        try:
            wait_http_200(f"http://127.0.0.1:{port}/", 120, proc=process)
        except (RuntimeError, TimeoutError) as e:
            raise RuntimeError(f"{e}; its log ends: {(home / 'server.log').read_text()[-2000:]}") from None
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)


@pytest.fixture(scope="module")
def key() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(VAR, KEY)
        yield KEY


def remote(server: str, model_id: str = REMOTE, **entry: Any) -> dict[str, Any]:
    return {"id": model_id, "label": f"remote {model_id}", "endpoint": server, "api_key_env": VAR, **entry}


@pytest.fixture(scope="module")
def catalog_data(tiny_models: Any, server: str, key: str) -> dict:
    return {TASK: [{"id": tiny_models["chat-gpt2"], "label": "tiny chat"}, remote(server),
                   remote(server, SLOW_REMOTE)]}


@pytest.fixture(scope="module")
def manager(catalog_data: dict) -> Iterator[ModelManager]:
    catalog = parse_catalog(catalog_data, source="tests")
    availability = Availability(catalog)
    availability.check()  # HF_HUB_OFFLINE: no request; the manager then loads with the Hub switched off
    manager = ModelManager(catalog, availability=availability, max_loaded=4)
    yield manager
    manager.unload_all()


def manager_with(*entries: dict[str, Any], **options: Any) -> ModelManager:
    return ModelManager(parse_catalog({TASK: list(entries)}, source="tests"), **options)


def run(manager: ModelManager, model: str, messages: Any = CHAT, **params: Any) -> list[dict[str, Any]]:
    return list(manager.stream(TASK, model, messages, **params))


# -- the server, through the reference clients ------------------------------------------------------------

def test_the_reference_clients_stream_from_the_server(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import InferenceClient, constants

    asked = dict(model=REMOTE, max_tokens=30, temperature=0.7, seed=3, stream=True,
                 stream_options={"include_usage": True})
    chunks = list(openai.OpenAI(base_url=server, api_key=KEY, max_retries=0, timeout=60)
                  .chat.completions.create(messages=CHAT, **asked))
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) > 1 and chunks[-1].usage.completion_tokens > 0
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)  # InferenceClient refuses every URL offline
    hf = InferenceClient(base_url=server, api_key=KEY, timeout=60)  # held: collected, it closes its streams
    streamed = list(hf.chat_completion(CHAT, **asked))
    hf_pieces = [c.choices[0].delta.content for c in streamed if c.choices and c.choices[0].delta.content]
    assert "".join(hf_pieces) == "".join(pieces)  # the same seed
    assert streamed[-1].usage.completion_tokens == chunks[-1].usage.completion_tokens


# -- through the manager ------------------------------------------------------------------------------------

@pytest.mark.parametrize("params", [SAMPLED, UNSAMPLED], ids=["sampled", "greedy"])
def test_a_remote_model_streams_what_the_local_one_does(manager: ModelManager, tiny_models: Any,
                                                         params: dict) -> None:
    local = run(manager, tiny_models["chat-gpt2"], **params)
    updates = run(manager, REMOTE, **params)
    last, mine = updates[-1], local[-1]
    assert last["text"] == mine["text"] and last["answer"] == mine["answer"] and last["text"]
    assert len(updates) > 2 and [u["done"] for u in updates] == [False] * (len(updates) - 1) + [True]
    assert all(b["text"].startswith(a["text"]) for a, b in zip(updates, updates[1:]))
    assert set(last) == set(mine) and all(set(u) == set(local[0]) for u in updates[:-1])  # the same updates
    for name in ("new_tokens", "seed", "prompt_tokens", "window", "max_new_tokens", "dropped_turns",
                 "finish_reason", "stopped", "thinking"):
        assert last[name] == mine[name], name  # the counts from the server's usage and its playground figures
    assert 0 < last["first_token_seconds"] <= last["seconds"]
    assert updates[0]["prompt_tokens"] is None  # known with the usage, at the end


def test_stop_ends_the_remote_generation_early(manager: ModelManager) -> None:
    params = dict(SAMPLED, max_new_tokens=230, seed=11)  # 11.5 s on the slow copy, if left to run
    stop = threading.Event()
    updates = []
    for update in manager.stream(TASK, SLOW_REMOTE, CHAT, stop=stop, **params):
        updates.append(update)
        if len(updates) == 3:
            stop.set()
    last = updates[-1]
    assert last["done"] and last["stopped"] and last["finish_reason"] == "stop"
    assert len(updates) == 4  # at the next chunk
    # The request was closed, so the server stopped too: with one generation at a time (--concurrency 1),
    # the next request would otherwise wait the rest of the 11.5 s out (it takes 0.2 s).
    assert run(manager, SLOW_REMOTE, **dict(params, max_new_tokens=2))[-1]["seconds"] < 3
    whole = run(manager, REMOTE, **params)[-1]  # the same weights and seed, not slowed, not stopped
    assert whole["new_tokens"] > last["new_tokens"] and whole["text"].startswith(last["text"])


def test_stop_strings_end_the_reply_as_the_local_model_ends_it(manager: ModelManager, tiny_models: Any) -> None:
    whole = run(manager, REMOTE, **SAMPLED)[-1]["text"]
    word = whole[len(whole) // 2:len(whole) // 2 + 3]
    local = run(manager, tiny_models["chat-gpt2"], stop_strings=[word], **SAMPLED)[-1]
    cut = run(manager, REMOTE, stop_strings=[word], **SAMPLED)[-1]
    assert cut["text"] == local["text"] == whole[:whole.find(word)]
    assert cut["finish_reason"] == "stop" and not cut["stopped"]


def test_logprobs_are_the_servers_own(manager: ModelManager, tiny_models: Any) -> None:
    asked = dict(UNSAMPLED, logprobs=True, top_logprobs=2)
    local = run(manager, tiny_models["chat-gpt2"], **asked)[-1]
    last = run(manager, REMOTE, **asked)[-1]
    mine, theirs = local["logprobs"]["content"], last["logprobs"]["content"]
    assert [t["token"] for t in theirs] == [t["token"] for t in mine] and theirs
    assert [t["bytes"] for t in theirs] == [t["bytes"] for t in mine]
    assert all(abs(a["logprob"] - b["logprob"]) < 1e-4 for a, b in zip(theirs, mine))
    assert all(len(t["top_logprobs"]) == 2 for t in theirs)
    assert last["logprob"] == pytest.approx(local["logprob"], abs=1e-3)


def test_the_parameters_are_checked_as_for_a_local_model(manager: ModelManager, tiny_models: Any) -> None:
    for params in ({"temperature": 5}, {"max_new_tokens": 0}, {"seed": -1}, {"logprobs": "yes"},
                   {"stop_strings": [""]}):
        errors = []
        for model in (tiny_models["chat-gpt2"], REMOTE):
            with pytest.raises(InvalidInput) as raised:
                run(manager, model, **params)
            errors.append((str(raised.value), raised.value.field))
        assert errors[0] == errors[1], params
    with pytest.raises(InvalidInput) as raised:
        run(manager, REMOTE, [{"role": "user", "content": ""}])
    assert raised.value.field == "messages"


def test_a_remote_model_reads_as_remote(manager: ModelManager, server: str) -> None:
    run(manager, REMOTE, **UNSAMPLED)
    entry = manager.entry(TASK, REMOTE)
    assert entry["device"] == "remote" and entry["dtype"] == "-"
    assert entry["parameters"] == 0 and entry["memory_mb"] == 0
    state = manager.availability.of(TASK, REMOTE)
    assert state.state == "remote" and state.mark() == f"remote ({server})" and not state.ready()
    assert "2 on remote servers" in manager.availability.summary()
    spec = manager.spec(TASK, REMOTE)
    assert spec.endpoint == server and spec.api_key_env == VAR
    assert fitted(spec)["max_new_tokens"] == {"value": 128, "minimum": 1, "maximum": 1024}  # the declaration's
    assert chat_template(spec) == (None, "")
    assert manager.get(TASK, REMOTE).is_chat


def test_a_text_prompt_is_the_users_one_message(manager: ModelManager, tiny_models: Any) -> None:
    local = run(manager, tiny_models["chat-gpt2"], "the cat sat", **UNSAMPLED)[-1]
    assert run(manager, REMOTE, "the cat sat", **UNSAMPLED)[-1]["text"] == local["text"]


# -- failures ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["wrong key", "variable not set", "no key named", "unreachable", "not served",
                                  "not an OpenAI base URL"])
def test_each_failure_is_one_sentence(server: str, monkeypatch: pytest.MonkeyPatch, case: str) -> None:
    monkeypatch.setenv("PLAYGROUND_REMOTE_WRONG", "not-the-key")
    monkeypatch.delenv("PLAYGROUND_REMOTE_UNSET", raising=False)
    entry, kind, says = {
        "wrong key": ({"api_key_env": "PLAYGROUND_REMOTE_WRONG"}, PlaygroundError,
                      "refused the key in PLAYGROUND_REMOTE_WRONG (401)"),
        "variable not set": ({"api_key_env": "PLAYGROUND_REMOTE_UNSET"}, PlaygroundError,
                             "PLAYGROUND_REMOTE_UNSET is not set"),
        "no key named": ({"api_key_env": None}, PlaygroundError, "name the environment variable"),
        "unreachable": ({"endpoint": f"http://127.0.0.1:{free_port()}/v1"}, PlaygroundError,
                        "cannot be reached (connection refused)"),
        "not served": ({"id": "owner/other"}, ModelNotFound, f"does not serve owner/other; it serves {REMOTE}"),
        "not an OpenAI base URL": ({"endpoint": server.removesuffix("/v1")}, ModelNotFound, "usually ending in /v1"),
    }[case]
    with monkeypatch.context() as patch:
        patch.setenv(VAR, KEY)
        spec = {**remote(server), **entry}
        if spec["api_key_env"] is None:
            del spec["api_key_env"]
        with pytest.raises(kind) as raised:
            run(manager_with(spec), spec["id"], **UNSAMPLED)
    assert_plain_sentence(str(raised.value))
    assert says in str(raised.value)


def test_the_machines_hugging_face_token_is_never_sent(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the catalog's key, InferenceClient would send HF_TOKEN to the endpoint: the server, whose key it
    is here, must see no key at all."""
    monkeypatch.setenv(VAR, KEY)
    manager = manager_with(remote(server))
    manager.get(TASK, REMOTE)  # loaded with the catalog's key
    monkeypatch.delenv(VAR)
    monkeypatch.setenv("HF_TOKEN", KEY)
    with pytest.raises(PlaygroundError) as raised:
        run(manager, REMOTE, **UNSAMPLED)
    assert f"it needs a key, and {VAR} is not set" in str(raised.value)
    assert_plain_sentence(str(raised.value))
    manager.unload_all()


def test_hosted_mode_reaches_only_the_catalogs_endpoints(server: str) -> None:
    hosted = manager_with(remote(server), allow_custom=False)
    assert hosted.spec(TASK, REMOTE).endpoint == server
    for typed in ("owner/other", f"{server}/chat/completions"):
        with pytest.raises(ModelNotAllowed):
            hosted.spec(TASK, typed)
    assert manager_with(remote(server)).spec(TASK, "owner/other").endpoint is None  # a typed id is never remote


# -- the catalog ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, says", [
    ({TASK: [{"id": "m", "endpoint": "ftp://host/v1"}]}, "starts with http:// or https://"),
    ({TASK: [{"id": "m", "endpoint": 8000}]}, "starts with http:// or https://"),
    ({TASK: [{"id": "m", "endpoint": "http:///v1"}]}, "names no host"),
    ({TASK: [{"id": "m", "endpoint": "http://host:port/v1"}]}, "names no host"),
    ({TASK: [{"id": "m", "endpoint": "https://user:secret@host/v1"}]}, "name it with api_key_env"),
    ({TASK: [{"id": "m", "endpoint": "http://host/v1", "api_key_env": "NOT A NAME"}]}, "environment variable"),
    ({TASK: [{"id": "m", "api_key_env": "HF_TOKEN"}]}, "no endpoint"),
    ({"sentiment": [{"id": "m", "endpoint": "http://host/v1"}]}, "only text-generation"),
    ({TASK: ["m", {"id": "m", "endpoint": "http://host/v1"}]}, "names m twice (as a local model and at http://host/v1)"),
])
def test_a_bad_remote_entry_is_one_sentence(data: dict, says: str) -> None:
    with pytest.raises(InvalidInput) as raised:
        parse_catalog(data, source="catalog.yaml")
    assert_plain_sentence(str(raised.value))
    assert says in str(raised.value) and str(raised.value).startswith("In catalog.yaml")


def test_a_remote_entry_is_its_id_and_endpoint(tmp_path: Path) -> None:
    catalog = parse_catalog({TASK: [{"id": "./m", "endpoint": "http://a:8000/v1/", "api_key_env": "K"},
                                    {"id": "llama3.2:1b", "endpoint": "http://b:11434/v1"}]},
                            base_dir=tmp_path, source="catalog.yaml")
    first, second = catalog.models(TASK)
    assert (first.model_id, first.endpoint, first.api_key_env) == ("./m", "http://a:8000/v1", "K")  # not a folder
    assert second.api_key_env is None
    assert ModelSpec(TASK, "m", endpoint="http://a/v1") != ModelSpec(TASK, "m", endpoint="http://b/v1")
    assert ModelSpec(TASK, "m", endpoint="http://a/v1", api_key_env="X") == ModelSpec(TASK, "m", endpoint="http://a/v1")


# -- through a launched app ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app(catalog_data: dict, server: str) -> Iterator[Any]:
    unreachable = remote(f"http://127.0.0.1:{free_port()}/v1", "owner/unreachable")
    with running_app({TASK: [*catalog_data[TASK], unreachable]}) as launched:
        yield launched


@pytest.fixture(scope="module")
def client(app: Any) -> Any:
    from gradio_client import Client

    return Client(app.url, verbose=False)


def chat_args(model: str, **params: Any) -> dict[str, Any]:
    return dict(messages=CHAT[1:], model=model, system_prompt=CHAT[0]["content"], **params, api_name="/chat")


def test_chat_answers_from_the_remote_model(client: Any, tiny_models: Any) -> None:
    local_reply, local_stats = client.predict(**chat_args(tiny_models["chat-gpt2"], **SAMPLED))
    job = client.submit(**chat_args(REMOTE, **SAMPLED))
    reply, stats = job.result(timeout=60)
    assert reply == local_reply and reply
    assert len(job.outputs()) >= 2  # streamed: at least one update before the whole reply
    for name in ("seed", "new_tokens", "prompt_tokens", "window", "finish_reason"):
        assert stats[name] == local_stats[name], name
    assert stats["first_token_seconds"] > 0 and stats["done"] and not stats["stopped"]


def test_stop_ends_a_remote_chat(client: Any) -> None:
    job = client.submit(**chat_args(SLOW_REMOTE, **dict(SAMPLED, max_new_tokens=120)))
    for seen, _ in enumerate(job, start=1):
        if seen == 3:
            client.predict(api_name="/stop_generation")
    reply, stats = job.result(timeout=60)
    assert stats["stopped"] and stats["finish_reason"] == "stop" and stats["new_tokens"] < 120


def test_compare_puts_the_local_model_beside_the_remote_one(client: Any, tiny_models: Any) -> None:
    local = tiny_models["chat-gpt2"]
    inputs = {"messages": CHAT[1:], "system_prompt": CHAT[0]["content"], **SAMPLED}
    sides = client.predict(task="chat", models=[local, REMOTE], inputs=inputs, settings=None, api_name="/compare")
    assert [s["error"] for s in sides] == [None, None]
    assert sides[0]["result"][0] == sides[1]["result"][0] and sides[0]["result"][0]
    mine, theirs = sides[0]["metrics"], sides[1]["metrics"]
    assert mine["device"] == "cpu" and theirs["device"] == "remote" and theirs["parameters"] == 0
    assert theirs["latency_seconds"] > 0


def test_the_apps_own_v1_serves_the_remote_model_too(app: Any, tiny_models: Any) -> None:
    """A chain: a client of this app's /v1 -> this app -> the server's /v1."""
    own = openai.OpenAI(base_url=app.url + "v1", api_key="x", max_retries=0, timeout=60)
    assert REMOTE in {m.id for m in own.models.list().data}
    asked = dict(messages=CHAT, max_tokens=16, temperature=0)
    here = own.chat.completions.create(model=tiny_models["chat-gpt2"], **asked)
    there = own.chat.completions.create(model=REMOTE, **asked)
    assert there.choices[0].message.content == here.choices[0].message.content
    assert there.usage.completion_tokens == here.usage.completion_tokens


def test_an_unreachable_endpoint_is_one_sentence_on_chat(client: Any) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as raised:
        client.predict(**chat_args("owner/unreachable", **GREEDY))
    assert_plain_sentence(str(raised.value))
    assert "cannot be reached (connection refused)" in str(raised.value)
