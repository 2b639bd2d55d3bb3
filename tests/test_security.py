"""What a visitor must not reach: files on the server, models outside a hosted catalog, and
anything at all without the login when the app is started with --auth.

Apps are launched as app.py launches them (tests/launch.py uses app.launch_options: the 20 MB
upload limit, assets/ as the only extra folder served). Traffic goes to 127.0.0.1 only.
"""
from __future__ import annotations

import http.client
import json
import re
import urllib.parse
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from tests.launch import ASSETS, ROOT, assert_plain_sentence, call_raw, running_app

CAT = ASSETS / "images" / "cat.jpg"


@pytest.fixture(scope="module")
def models(tiny_models: Any) -> dict[str, str]:
    return {name: tiny_models[name] for name in ("sentiment", "ner", "vit", "gpt2", "chat-gpt2")}


def catalog(models: dict[str, str]) -> dict:
    return {"sentiment": [{"id": models["sentiment"], "label": "tiny sentiment"}],
            "image-classification": [{"id": models["vit"], "label": "tiny vit"}],
            "text-generation": [{"id": models["chat-gpt2"], "label": "tiny chat"}]}


@pytest.fixture(scope="module")
def app(models: dict[str, str]) -> Iterator[Any]:
    with running_app(catalog(models)) as launched:
        yield launched


# -- files on the server --------------------------------------------------------------------------

def secrets_of(path: Path) -> list[bytes]:
    """Snippets that would show the file's content leaked."""
    try:
        head = path.read_bytes()[:120].strip()
    except OSError:
        return []
    return [head] if head else []


PASSWD = Path("/etc/passwd")
APP = ROOT / "app.py"
CONFTEST = ROOT / "tests" / "conftest.py"

# (request path as sent on the wire, the file it aims at)
FILE_PROBES = [
    ("/gradio_api/file=/etc/passwd", PASSWD),
    ("/gradio_api/file=../../etc/passwd", PASSWD),
    ("/gradio_api/file=../../../../../../etc/passwd", PASSWD),
    ("/gradio_api/file=..%2f..%2fetc%2fpasswd", PASSWD),
    ("/gradio_api/file=%2e%2e%2f%2e%2e%2fetc%2fpasswd", PASSWD),
    ("/gradio_api/file=%2Fetc%2Fpasswd", PASSWD),
    ("/gradio_api/file=%252e%252e%252f%252e%252e%252fetc%252fpasswd", PASSWD),  # double-encoded
    ("/gradio_api/file=%252Fetc%252Fpasswd", PASSWD),
    ("/gradio_api/file=//etc/passwd", PASSWD),
    ("/gradio_api/file=/etc/passwd%00.jpg", PASSWD),
    ("/gradio_api/file=\\etc\\passwd", PASSWD),
    ("/gradio_api/file=/tmp/gradio/../../etc/passwd", PASSWD),
    ("/file=/etc/passwd", PASSWD),
    ("/static/../../../../etc/passwd", PASSWD),
    ("/gradio_api/file=/proc/self/environ", Path("/proc/self/environ")),
    (f"/gradio_api/file={APP}", APP),
    (f"/gradio_api/file={CONFTEST}", CONFTEST),
    (f"/gradio_api/file={urllib.parse.quote(str(APP), safe='')}", APP),
    ("/gradio_api/file=app.py", APP),
    ("/gradio_api/file=tests/conftest.py", CONFTEST),
    (f"/gradio_api/file={ASSETS}/../app.py", APP),
    (f"/gradio_api/file={ASSETS}/images/../../app.py", APP),
    (f"/gradio_api/file={ASSETS}/..%2fapp.py", APP),
    (f"/gradio_api/file={ASSETS}/%2e%2e/app.py", APP),
    (f"/gradio_api/file={ASSETS}/%2e%2e%2ftests%2fconftest.py", CONFTEST),
    ("/assets/../app.py", APP),
]


def get_raw(url: str, path: str) -> tuple[int, bytes]:
    """GET exactly this path: no client-side normalisation of '..' or of percent-escapes."""
    parts = urllib.parse.urlparse(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@pytest.mark.parametrize("path, target", FILE_PROBES, ids=[p for p, _ in FILE_PROBES])
def test_file_probe_is_refused(app: Any, path: str, target: Path) -> None:
    for status, body in (get_raw(app.url, path), _get_normalised(app.url, path)):
        assert status in (400, 403, 404, 405), f"{path} answered {status}: {body[:120]!r}"
        assert b"root:" not in body and b"import " not in body, f"{path} leaked a file: {body[:120]!r}"
        for secret in secrets_of(target):
            assert secret not in body, f"{path} leaked {target}"


def _get_normalised(url: str, path: str) -> tuple[int, bytes]:
    """The same probe as an ordinary client sends it (httpx removes '..' segments)."""
    response = httpx.get(url.rstrip("/") + path, timeout=10)
    return response.status_code, response.content


def test_an_assets_image_is_served(app: Any) -> None:
    status, body = get_raw(app.url, f"/gradio_api/file={CAT}")
    assert status == 200 and body == CAT.read_bytes()


def test_model_files_are_not_served(app: Any, models: dict[str, str]) -> None:
    app.manager.get("sentiment", models["sentiment"])  # loaded: its folder is in use, still not served
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        status, body = get_raw(app.url, f"/gradio_api/file={models['sentiment']}/{name}")
        assert status in (403, 404), f"{name} answered {status}"


@pytest.mark.parametrize("payload", [
    {"path": "/etc/passwd"},
    {"path": str(APP)},
    {"path": "../../etc/passwd"},
    {"path": str(CAT)},  # served to browsers, but a visitor may not hand it in as their own upload
    {"path": "/tmp/gradio/../../etc/passwd"},
    {"path": None, "url": "file:///etc/passwd"},
])
def test_an_endpoint_reads_no_server_file_a_visitor_names(app: Any, models: dict[str, str], payload: dict) -> None:
    """Inputs are files the visitor uploaded: a path elsewhere on the server is refused before any handler."""
    kind, result = call_raw(app.url, "/classify_image",
                            [{**payload, "meta": {"_type": "gradio.FileData"}}, models["vit"], 3])
    assert kind == "error", f"the server read {payload}: {result!r}"
    assert "root:" not in str(result) and "import" not in str(result)


def test_an_endpoint_fetches_no_url_on_the_server_side(app: Any, models: dict[str, str]) -> None:
    """An image 'URL' pointing back at the server itself (SSRF) is not fetched."""
    url = f"{app.url}gradio_api/file={CAT}"
    for payload in ({"path": None, "url": url}, {"path": url, "url": url}):
        kind, result = call_raw(app.url, "/classify_image", [{**payload, "meta": {"_type": "gradio.FileData"}},
                                                               models["vit"], 3])
        assert kind == "error", f"the server fetched {url}: {result!r}"
    from gradio_client import handle_file

    good = Client(app.url, verbose=False).predict(image=handle_file(str(CAT)), model=models["vit"], top_k=2,
                                                  api_name="/classify_image")
    assert len(good["confidences"]) == 2  # an upload of the same image works


# -- hosted mode: only the catalog's models --------------------------------------------------------

@pytest.fixture(scope="module")
def hosted(models: dict[str, str]) -> Iterator[Any]:
    with running_app(catalog(models), allow_custom=False) as launched:
        yield launched


@pytest.mark.parametrize("model", ["ner folder", "someone/some-model", "/etc", "../../etc", "gpt2 folder + slash"])
def test_hosted_app_refuses_a_model_outside_its_catalog(hosted: Any, models: dict[str, str], model: str) -> None:
    model_id = {"ner folder": models["ner"], "gpt2 folder + slash": models["gpt2"] + "/"}.get(model, model)
    client = Client(hosted.url, verbose=False)
    loads_before = hosted.manager.load_count
    with pytest.raises(AppError) as info:
        client.predict(text="I love this film", model=model_id, api_name="/sentiment")
    message = str(info.value)
    assert_plain_sentence(message)
    assert "list" in message
    assert hosted.manager.load_count == loads_before, "a model outside the catalog was loaded"
    assert all(m["model"] != model_id for m in hosted.manager.loaded())
    # the catalog's own models work
    assert client.predict(text="I love this film", model=models["sentiment"], api_name="/sentiment")["label"] == "POSITIVE"
    assert client.predict(text="I love this film", api_name="/sentiment")["label"] == "POSITIVE"


def test_hosted_compare_refuses_a_model_outside_its_catalog(hosted: Any, models: dict[str, str]) -> None:
    client = Client(hosted.url, verbose=False)
    loads_before = hosted.manager.load_count
    with pytest.raises(AppError) as info:
        client.predict(task="sentiment", models=[models["sentiment"], models["ner"]], inputs={"text": "hi"},
                       settings=None, measure=False, api_name="/compare")
    assert_plain_sentence(str(info.value))
    assert "list" in str(info.value)
    assert hosted.manager.load_count == loads_before, "a comparison loaded a model outside the catalog"
    sides = client.predict(task="sentiment", models=[models["sentiment"]], inputs={"text": "I love this film"},
                           settings=[{}, {}], measure=False, api_name="/compare")
    assert [s["result"]["label"] for s in sides] == ["POSITIVE", "POSITIVE"]


def test_hosted_explain_and_fine_tune_refuse_a_model_outside_the_catalog(hosted: Any, models: dict[str, str],
                                                                       tmp_path: Path) -> None:
    from gradio_client import handle_file

    client = Client(hosted.url, verbose=False)
    loads_before = hosted.manager.load_count
    with pytest.raises(AppError) as info:
        client.predict(task="sentiment", model=models["ner"], inputs={"text": "I love it"}, target=None,
                       method="fast", steps=16, api_name="/explain")
    assert_plain_sentence(str(info.value))
    assert "list" in str(info.value)
    rows = "text,label\n" + "good film,positive\nbad film,negative\n" * 5
    (tmp_path / "data.csv").write_text(rows, encoding="utf-8")
    with pytest.raises(AppError) as info:
        client.predict(task="sentiment", base_model=models["ner"], train_file=handle_file(str(tmp_path / "data.csv")),
                       eval_file=None, method="full", epochs=1, learning_rate=5e-5, batch_size=4, seed=0, lora_rank=8,
                       lora_alpha=16, lora_target_modules="", api_name="/fine_tune")
    assert_plain_sentence(str(info.value))
    assert "list" in str(info.value)
    assert hosted.manager.load_count == loads_before


def test_a_hosted_app_offers_no_fine_tuning_unless_allowed(models: dict[str, str]) -> None:
    from components import Settings
    from tests.launch import ASSETS

    with running_app(catalog(models), allow_custom=False,
                     settings=Settings(examples_dir=str(ASSETS), hosted=True, allow_training=False)) as hosted_app:
        named = Client(hosted_app.url, verbose=False).view_api(print_info=False, return_format="dict")["named_endpoints"]
        assert "/fine_tune" not in named and "/fine_tune_stop" not in named and "/sentiment" in named


def test_hosted_manager_refuses_and_loads_nothing(models: dict[str, str]) -> None:
    """The same policy below the UI: ModelManager(allow_custom=False), as app.py --hosted builds it."""
    from models import ModelManager, ModelNotAllowed, parse_catalog

    manager = ModelManager(parse_catalog(catalog(models)), device="cpu", allow_custom=False)
    for model_id in (models["ner"], "someone/some-model", "/etc", models["sentiment"] + "/../" +
                     Path(models["sentiment"]).name):
        with pytest.raises(ModelNotAllowed) as info:
            manager.get("sentiment", model_id)
        assert_plain_sentence(str(info.value))
        assert "only runs the models in its list" in str(info.value)
    assert manager.load_count == 0 and manager.loaded() == []
    assert manager.predict("sentiment", models["sentiment"], "I love this film")["labels"][0]["label"] == "POSITIVE"
    assert manager.predict("sentiment", "tiny sentiment", "I love this film")  # by its label too
    assert manager.load_count == 1
    manager.unload_all()


# -- --auth ----------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def private(models: dict[str, str]) -> Iterator[Any]:
    with running_app(catalog(models), auth=[("u", "p")]) as launched:
        yield launched


@pytest.mark.parametrize("method, path", [
    ("GET", "config"), ("GET", "gradio_api/info"), ("GET", f"gradio_api/file={CAT}"),
    ("GET", "gradio_api/queue/status"), ("POST", "gradio_api/call/sentiment"), ("POST", "gradio_api/upload"),
    ("POST", "gradio_api/queue/join"), ("POST", "gradio_api/run/sentiment"),
])
def test_without_login_the_api_is_refused(private: Any, method: str, path: str) -> None:
    response = httpx.request(method, private.url + path, json={"data": ["I love this film"]}, timeout=10,
                             follow_redirects=False)
    assert response.status_code in (401, 403), f"{method} /{path} answered {response.status_code}"
    assert b"POSITIVE" not in response.content and CAT.read_bytes()[:64] not in response.content


def test_without_login_the_page_is_the_login_form(private: Any) -> None:
    response = httpx.get(private.url, timeout=10, follow_redirects=False)
    if response.status_code in (302, 303, 307):
        return  # a redirect to the login page is just as good
    assert response.status_code == 200
    page = response.text
    assert '"auth_required":true' in page.replace(" ", ""), "the page is not the login form"
    # the app's heading ("Try today's open models..."), as the page embeds it: JSON with ' escaped
    assert "pick a tab, pick a model" not in page, "the app's own page was served without the login"


def test_without_login_the_page_tells_nothing_about_the_api(private: Any, models: dict[str, str]) -> None:
    """Gradio 6.31 embeds window.gradio_api_info (every endpoint, its parameters and the model choices) in
    the login page it serves to anyone, /gradio_api/runs included; components/serving.py empties it."""
    for path in ("", "gradio_api/runs"):
        response = httpx.get(private.url + path, timeout=10)
        assert response.status_code == 200, f"/{path} answered {response.status_code}"
        page = response.text
        assert '"auth_required":true' in page.replace(" ", ""), f"/{path} is not the login form"
        for secret in ("/sentiment", "/classify_image", "api_name", models["sentiment"], models["vit"],
                       "tiny sentiment"):
            assert secret not in page, f"/{path} tells a visitor without the login {secret!r}"
        api_info = re.search(r"window\.gradio_api_info = (.*?);</script>", page)
        assert api_info and json.loads(api_info.group(1)) in (None, {"named_endpoints": {}, "unnamed_endpoints": {}})


def test_after_login_the_page_describes_the_api(private: Any, models: dict[str, str]) -> None:
    with httpx.Client(base_url=private.url, timeout=10) as browser:
        assert browser.post("login", data={"username": "u", "password": "p"}).status_code == 200
        page = browser.get("").text
    assert "pick a tab, pick a model" in page and "window.gradio_api_info = {" in page
    assert "/sentiment" in page and models["sentiment"] in page


def test_gradio_client_needs_the_credentials(private: Any) -> None:
    with pytest.raises(Exception) as info:
        Client(private.url, verbose=False)
    assert "credentials" in str(info.value) or "login" in str(info.value).lower()
    with pytest.raises(Exception):
        Client(private.url, auth=("u", "wrong password"), verbose=False)
    client = Client(private.url, auth=("u", "p"), verbose=False)
    assert client.predict(text="I love this film", api_name="/sentiment")["label"] == "POSITIVE"


def test_a_public_host_has_no_event_that_loads_or_unloads(models: dict[str, str]) -> None:
    """Hiding the Models tab's buttons is not enough: Gradio runs any event by its index, private or
    not. On a public host (--hosted), no event of the app may load or unload models for everyone."""
    from components import Settings

    settings = Settings(hosted=True, allow_custom_models=False, examples_dir=str(ROOT / "assets"))
    with running_app(catalog(models), settings=settings) as app:
        handlers = [getattr(f.fn, "__wrapped__", f.fn) for f in app.demo.fns.values() if f.fn is not None]
        names = {getattr(h, "__name__", "") for h in handlers}
        closed_over = {name for h in handlers if hasattr(h, "__code__") for name in h.__code__.co_freevars}
        assert not names & {"unload", "unload_all", "act"}
        assert "act" not in closed_over  # the Models tab's Load / Unload / Unload all
        assert "/unload" not in Client(app.url, verbose=False).view_api(return_format="dict",
                                                                        print_info=False)["named_endpoints"]
