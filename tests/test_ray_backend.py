"""--backend ray for real, on a local Ray instance with the tiny models: every endpoint gives the result the
in-process backend gives (same seeds: same text and images); streaming and Stop; two replicas of one
deployment both serve; a replica killed under a 16-client load loses no request without a sentence; unload
reaches the replicas; the Models tab lists the replicas. (A front end started before its cluster, then
again while the cluster keeps its models: tests/test_ray_cluster.py.)"""
from __future__ import annotations

import concurrent.futures
import os
import shutil
import threading
import time
from typing import Any, Iterator

import pytest
from gradio_client import Client, handle_file

from models.errors import PlaygroundError
from tests.launch import ASSETS, assert_plain_sentence, running_app, slowed, tiny_catalog, wait_until

CAT = str(ASSETS / "images" / "cat.jpg")
GREEDY = dict(max_new_tokens=12, temperature=0, top_p=1.0, top_k=0, repetition_penalty=1.0, seed=3)
T2I = dict(negative_prompt="", steps=2, guidance_scale=0.0, width=64, height=64, num_images=1, seed=7,
           scheduler="default")
# Two replicas of the text family, each taking 2 requests at once: a load of 16 callers reaches both.
SERVING = {"text": {"replicas": 2, "max_ongoing_requests": 2}, "generation": {"models_per_replica": 4}}


@pytest.fixture(scope="module")
def catalog(tiny_models: Any, tmp_path_factory: pytest.TempPathFactory) -> dict:
    data = tiny_catalog(tiny_models)
    slow = tmp_path_factory.mktemp("slow") / "slow-chat"  # another id: slowed on its replica, the original not
    shutil.copytree(tiny_models["chat-gpt2"], slow)
    data["text-generation"].append({"id": str(slow), "label": "slow chat"})
    return data


@pytest.fixture(scope="module")
def ray_app(catalog: dict) -> Iterator[Any]:
    with running_app(catalog, backend="ray", serving=SERVING, timeout=60) as launched:
        yield launched


@pytest.fixture(scope="module")
def local_app(catalog: dict) -> Iterator[Any]:
    with running_app(catalog) as launched:
        yield launched


@pytest.fixture(scope="module")
def ray_client(ray_app: Any) -> Client:
    return Client(ray_app.url, verbose=False)


@pytest.fixture(scope="module")
def local_client(local_app: Any) -> Client:
    return Client(local_app.url, verbose=False)


def model_of(catalog: dict, task: str, index: int = 0) -> str:
    return catalog[task][index]["id"]


def plain(value: Any) -> Any:
    """A result with each file (an image the endpoint returned) as its pixels, and the parts that differ
    from call to call (a time, a file's name) left out."""
    if isinstance(value, str) and len(value) < 4096 and os.path.isfile(value):
        import numpy as np
        from PIL import Image

        with Image.open(value) as image:
            return np.asarray(image.convert("RGB"), dtype=np.int16)
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items() if k not in ("seconds", "first_token_seconds", "orig_name",
                                                                   "url", "path", "thinking_seconds")}
    return value


def assert_close(ours: Any, theirs: Any, where: str) -> None:
    """Equal, but floats within 1e-5 and pixels within 2 of 255: a replica's torch runs with its own number
    of threads, which sums in another order (the last bits of a probability, seen here: 5e-10)."""
    import numpy as np

    if isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray) and ours.shape == theirs.shape, where
        assert int(np.abs(ours - theirs).max()) <= 2, where
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, abs=1e-5), where
    elif isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs), f"{where}: {ours!r} != {theirs!r}"
        for i, (a, b) in enumerate(zip(ours, theirs)):
            assert_close(a, b, f"{where}[{i}]")
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), f"{where}: {ours!r} != {theirs!r}"
        for key in theirs:
            assert_close(ours[key], theirs[key], f"{where}.{key}")
    else:
        assert ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def cases(catalog: dict, squares: list[str]) -> list[tuple[str, dict[str, Any]]]:
    """(endpoint, its arguments) for every endpoint that runs a model."""
    return [
        ("/sentiment", {"text": "I love this film"}),
        ("/ner", {"text": "Ada Lovelace lives in London."}),
        ("/qa", {"question": "Where does Ada live?", "context": "Ada lives in London."}),
        ("/fill_mask", {"text": "Ada lives in [MASK].", "top_k": 3}),
        ("/zero_shot_classification", {"text": "The striker scored twice.", "labels": "sports, politics"}),
        ("/classify_image", {"image": handle_file(CAT), "top_k": 2}),
        ("/clip_zero_shot", {"image": handle_file(squares[0]), "labels": "red, green, blue"}),
        ("/clip_rank_captions", {"image": handle_file(squares[1]), "captions": "a red picture\na green picture"}),
        ("/clip_search", {"query": "red", "images": [handle_file(p) for p in squares], "top_k": 2}),
        ("/text_to_image", {"prompt": "a red square", **T2I}),
        ("/generate", {"prompt": "the cat sat", **GREEDY}),
        ("/chat", {"messages": [{"role": "user", "content": "hello"}], "system_prompt": "", **GREEDY}),
    ]


@pytest.fixture(scope="module")
def squares(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    from PIL import Image

    folder = tmp_path_factory.mktemp("squares")
    paths = []
    for name, rgb in [("red", (220, 20, 20)), ("green", (20, 200, 20)), ("blue", (20, 20, 220))]:
        Image.new("RGB", (48, 48), rgb).save(folder / f"{name}.png")
        paths.append(str(folder / f"{name}.png"))
    return paths


def without_speed(endpoint: str, result: Any) -> Any:
    result = plain(list(result) if isinstance(result, tuple) else result)
    if endpoint == "/generate":  # the text, and the stats line but its figures of time
        return [result[0], result[1].split(" · ")[:2]]
    if endpoint == "/chat":
        return [result[0], {k: v for k, v in result[1].items() if k in ("new_tokens", "seed", "finish_reason")}]
    if endpoint == "/text_to_image":  # the gallery's pixels and the seed
        return [result[0], result[1].split(" · ")[0]]
    return result


def test_every_endpoint_gives_the_in_process_result(ray_client: Client, local_client: Client, catalog: dict,
                                                    squares: list[str]) -> None:
    for endpoint, arguments in cases(catalog, squares):
        on_ray = ray_client.predict(**arguments, api_name=endpoint)
        in_process = local_client.predict(**arguments, api_name=endpoint)
        assert_close(without_speed(endpoint, on_ray), without_speed(endpoint, in_process), endpoint)


def test_compare_and_explain_run_on_the_replicas(ray_client: Client, local_client: Client, catalog: dict) -> None:
    a, b = model_of(catalog, "text-generation", 0), model_of(catalog, "text-generation", 1)
    request = dict(task="generate", models=[a, b], inputs={"prompt": "the cat sat", **GREEDY}, settings=None)
    on_ray = ray_client.predict(**request, api_name="/compare")
    in_process = local_client.predict(**request, api_name="/compare")
    assert [s["error"] for s in on_ray] == [None, None]
    assert [s["result"][0] for s in on_ray] == [s["result"][0] for s in in_process]
    assert all(s["metrics"]["replicas"] for s in on_ray)  # the replicas that hold each model
    explain = dict(task="sentiment", model=model_of(catalog, "sentiment"), inputs={"text": "I love this film"},
                   target=None, method="fast", steps=16)
    ours, theirs = (c.predict(**explain, api_name="/explain")[0] for c in (ray_client, local_client))
    assert [w["text"] for w in ours["words"]] == [w["text"] for w in theirs["words"]]
    assert [w["score"] for w in ours["words"]] == pytest.approx([w["score"] for w in theirs["words"]], abs=1e-6)


def test_the_openai_api_streams_from_a_replica(ray_app: Any, local_app: Any) -> None:
    import openai

    chat = [{"role": "user", "content": "hello"}]
    texts = []
    for app in (ray_app, local_app):
        client = openai.OpenAI(base_url=app.url + "v1", api_key="x", max_retries=0, timeout=60)
        chunks = list(client.chat.completions.create(model="tiny chat", messages=chat, temperature=0, max_tokens=12,
                                                     seed=3, stream=True, stream_options={"include_usage": True}))
        assert len(chunks) > 3 and chunks[-1].usage.completion_tokens == 12
        texts.append("".join(c.choices[0].delta.content or "" for c in chunks if c.choices))
    assert texts[0] == texts[1]


def test_a_reply_streams_and_stop_ends_it_on_its_replica(ray_app: Any, catalog: dict) -> None:
    manager = ray_app.manager
    slow = model_of(catalog, "text-generation", 2)
    manager.run("text-generation", slow, slowed, 0.05)  # 128 tokens would take 6 s
    stop = threading.Event()
    updates, started = [], time.perf_counter()
    for update in manager.stream("text-generation", slow, [{"role": "user", "content": "hi"}], stop=stop,
                                 max_new_tokens=128, seed=5):
        updates.append(update)
        if len(updates) == 5:
            stop.set()
    assert len(updates) > 5 and [u["new_tokens"] for u in updates[:-1]] == sorted(u["new_tokens"] for u in updates[:-1])
    last = updates[-1]
    assert last["done"] and last["stopped"] and last["new_tokens"] < 64, last
    assert time.perf_counter() - started < 4


def test_two_replicas_share_a_load_and_a_killed_one_loses_no_request_silently(ray_app: Any, catalog: dict) -> None:
    import ray

    manager = ray_app.manager
    model = model_of(catalog, "sentiment")
    expected = manager.predict("sentiment", model, "I love this film")
    # Serve keeps a model's requests on the replica that holds it unless one waits there over 1-2 s
    # (RAY_SERVE_MULTIPLEXED_MODEL_ID_MATCHING_TIMEOUT_S): at 0.3 s a request, 2 at a time, 16 callers make
    # the wait 2.4 s, and the next requests go to the other replica, which loads the model (unslowed)
    manager.run("sentiment", model, slowed, 0.3)
    outcomes: list[Any] = []
    finish = threading.Event()

    def caller(n: int) -> None:
        while not finish.is_set():
            try:
                outcomes.append(manager.predict("sentiment", model, "I love this film"))
            except PlaygroundError as e:
                outcomes.append(e)

    def both_hold_it() -> bool:
        entry = manager.entry("sentiment", model)
        return entry is not None and len(entry["replicas"]) == 2

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        futures = [pool.submit(caller, n) for n in range(16)]
        try:
            assert wait_until(both_hold_it, timeout=90), manager.entry("sentiment", model)
            before = len(outcomes)
            victim = next(actor for actor in ray.util.list_named_actors(all_namespaces=True)
                          if "SERVE_REPLICA" in actor["name"] and "#text#" in actor["name"])
            ray.kill(ray.get_actor(victim["name"], namespace=victim["namespace"]), no_restart=False)
            wait_until(lambda: len(outcomes) > before + 100, timeout=60)  # the load goes on after the kill
        finally:
            finish.set()
        for future in futures:
            future.result(timeout=120)
    failures = [o for o in outcomes if isinstance(o, Exception)]
    print(f"{len(failures)} of {len(outcomes)} requests failed with a sentence")
    for failure in failures:
        assert_plain_sentence(str(failure))
    assert len(failures) <= 4, failures  # retried once on the other replica: at most a few see a sentence
    assert all(o == expected for o in outcomes if not isinstance(o, Exception))

    def text_recovered() -> bool:  # Serve starts a new replica for the killed one; the tests after need both,
        # running for Serve and posting to the Board (the Models tab lists the replicas the Board hears from)
        return any(d["application"] == "text" and d["status"] == "HEALTHY" and d["replicas"] == {"RUNNING": 2}
                   for d in manager.deployments()) and \
            len([r for r in manager.replicas() if r["deployment"] == "text"]) == 2
    assert wait_until(text_recovered, timeout=180, interval=0.5), manager.deployments()


def test_unload_reaches_every_replica_and_the_models_tab_lists_them(ray_app: Any, ray_client: Client,
                                                                    catalog: dict) -> None:
    model = model_of(catalog, "ner")
    ray_client.predict(text="Ada lives in London.", model=model, api_name="/ner")
    listed = ray_client.predict(api_name="/models")
    rows = [r for r in listed if r["model"] == model]
    assert rows and all(r["replica"] and r["deployment"] == "text" for r in rows)
    ray_client.predict(task="ner", model=model, api_name="/unload")
    assert not [r for r in ray_client.predict(api_name="/models") if r["model"] == model]
    from components.system import cluster_lines

    def lines() -> str:
        return cluster_lines(type("Ctx", (), {"manager": ray_app.manager})())

    def both_said() -> bool:  # Serve may still be replacing the replica a test before killed (or one it replaced)
        return "**text** healthy, 2 running" in lines() and "**diffusion** healthy, 1 running" in lines()
    assert wait_until(both_said, timeout=120, interval=0.5), lines()


def test_a_wrong_input_is_the_replicas_sentence(ray_client: Client, catalog: dict) -> None:
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as raised:
        ray_client.predict(text="", model=model_of(catalog, "sentiment"), api_name="/sentiment")
    assert str(raised.value) == "The text is empty; type some text."


def test_the_page_runs_a_tab_on_the_cluster_and_lists_its_replicas(ray_app: Any, chromium: str) -> None:
    import re

    from tests.browser import RESULT_TIMEOUT, expect, no_page_errors, open_page, open_tab, screenshot

    with open_page(ray_app.url, chromium, ready_tab="Sentiment") as page:
        panel = open_tab(page, "Sentiment")
        panel.get_by_label("Text", exact=True).fill("I love this film")
        panel.get_by_role("button", name="Classify", exact=True).click()
        expect(panel.get_by_test_id("label-output-value")).to_have_text("POSITIVE", timeout=RESULT_TIMEOUT)
        # the state panel: where it runs, the replica(s) named
        expect(panel.get_by_text(re.compile(r"tiny sentiment.* is ready on cpu \(replicas? [a-z0-9]"))).to_be_visible()
        # both text replicas heard from by the Board (a replica Serve started again after a kill posts within 1 s)
        assert wait_until(lambda: len([r for r in ray_app.manager.replicas() if r["deployment"] == "text"]) == 2,
                          timeout=60), ray_app.manager.replicas()
        panel = open_tab(page, "Models")
        expect(panel.get_by_text(re.compile(r"Served by Ray Serve at"))).to_be_visible(timeout=RESULT_TIMEOUT)
        expect(panel.get_by_text(re.compile(r"replica \S+ of text on"))).to_have_count(2)
        table = panel.get_by_role("grid", name="Loaded models, most recently used first")
        expect(table.get_by_role("gridcell", name=re.compile(r"^cpu · replica \S+$")).first).to_be_visible()
        screenshot(page, "models-on-ray")
        no_page_errors(page)
