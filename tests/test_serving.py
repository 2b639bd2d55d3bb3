"""components/serving.py: what the app takes off Gradio's per-call cost, and that Gradio still
behaves the same (the session configs it renders on demand equal the ones it renders up front);
that an image returned by two requests at once is never read half-written; and that on a Gradio
the patches were not written for the app starts anyway and says, once per patch, what it lost.
(The login page's patch is tested in test_security.py.)"""
from __future__ import annotations

import copy
import logging
import os
import threading

import gradio as gr
import pytest
from gradio.blocks import BlocksConfig
from gradio.queueing import Queue
from gradio.state_holder import SessionState

from components import Settings, build_demo
from components import serving
from components.serving import (_PENDING, SESSION_CAPACITY, atomic_image_cache, lighter_sessions, patch_gradio,
                                private_login_page)
from models import ModelManager, parse_catalog
from tests.launch import ASSETS, call_raw, running_app, tiny_catalog


def test_the_session_patch_applies_to_the_installed_gradio():
    assert lighter_sessions(), (
        "Gradio's SessionState.__init__ is not the one components/serving.py was written for: compare the "
        "two, update _session_init if needed, then _KNOWN_SESSION_INIT (serving.source_digest(SessionState.__init__)).")


def test_the_image_cache_patch_applies_to_the_installed_gradio():
    assert atomic_image_cache(), (
        "Gradio's processing_utils.save_pil_to_cache is not the one components/serving.py was written for: "
        "compare the two, update _save_pil_to_cache if needed, "
        "then _KNOWN_SAVE_PIL (serving.source_digest(save_pil_to_cache)).")


def test_the_login_page_patch_applies_to_the_installed_gradio():
    assert private_login_page(), (
        "Gradio's main page handler (`main` in gradio.routes.App.create_app) is not the one components/serving.py "
        "was written for: check that it still renders the template with `config` and `gradio_api_info` in its "
        "context, then update _KNOWN_MAIN_PAGE (serving.source_digest(serving._main_page_handler())).")


@pytest.fixture(scope="module")
def demo(tiny_models):
    catalog = parse_catalog(tiny_catalog(tiny_models), source="tests")
    return build_demo(catalog, ModelManager(catalog), Settings(examples_dir=str(ASSETS)))


@pytest.fixture
def rendered(monkeypatch):
    """Counts the block configs Gradio renders."""
    calls: list[int] = []
    original = BlocksConfig.config_for_block

    def counted(_id, rendered_ids, block, renderable=None):  # noqa: ANN001, ANN202
        calls.append(_id)
        return original(_id, rendered_ids, block, renderable)

    monkeypatch.setattr(BlocksConfig, "config_for_block", staticmethod(counted))
    return calls


def test_a_new_session_renders_no_config_until_one_is_read(demo, rendered):
    state = SessionState(demo)
    assert rendered == []
    assert len(state.config_values) == len(demo.blocks) > 100
    some = next(iter(demo.blocks))
    assert some in state.config_values and state.config_values[some]["id"] == some
    assert rendered == [some]


def gradios_own_session(demo) -> SessionState:
    """A SessionState made by Gradio's own __init__ (every config rendered up front)."""
    state = SessionState.__new__(SessionState)
    SessionState.__init__.__wrapped_gradio__(state, demo)
    assert dict.__len__(state.config_values) == len(demo.blocks)
    return state


def test_configs_rendered_on_demand_equal_those_gradio_renders_up_front(demo):
    ours, gradios = SessionState(demo), gradios_own_session(demo)
    assert list(ours.config_values) == list(gradios.config_values)  # same blocks, same order
    assert dict(ours.config_values.items()) == dict(gradios.config_values.items())
    assert list(ours.components) == list(gradios.components)  # what deep links read


def test_updates_after_creation_give_the_same_configs_as_gradios(demo):
    ours, gradios = SessionState(demo), gradios_own_session(demo)
    textboxes = [k for k, b in demo.blocks.items() if type(b).__name__ == "Textbox"][:3]
    assert ours.config_values[list(demo.blocks)[-1]]  # a late block read first: the order stays Gradio's
    for state in (ours, gradios):
        state._update_value_in_config(textboxes[0], "typed")
        replaced = copy.copy(demo.blocks[textboxes[1]])
        replaced.value = "replaced"
        state[textboxes[1]] = replaced
        del state.config_values[textboxes[2]]
    assert ours.config_values[textboxes[0]]["props"]["value"] == "typed"
    assert textboxes[2] not in ours.config_values and len(ours.config_values) == len(demo.blocks) - 1
    assert list(ours.config_values.items()) == list(gradios.config_values.items())


def test_a_rest_call_without_a_session_renders_almost_nothing(tiny_models, rendered, monkeypatch):
    summaries: list[int] = []
    original = Queue._get_df
    monkeypatch.setattr(Queue, "_get_df", staticmethod(lambda records: summaries.append(1) or original(records)))
    with running_app(tiny_catalog(tiny_models, ["sentiment"])) as app:
        assert app.demo.state_holder.capacity == SESSION_CAPACITY
        before = len(rendered)
        for text in ["I love it.", "I hate it.", "It is fine."]:
            kind, out = call_raw(app.url, "/sentiment", [text, None])
            assert kind == "complete", out
        per_call = (len(rendered) - before) / 3
        sessions = list(app.demo.state_holder.session_data.values())
    # Without components/serving.py, Gradio 6.31 renders every block of the app for each such call.
    assert per_call < 10, f"{per_call:.0f} block configs rendered per call"
    rendered_kept = [sum(v is not _PENDING for v in dict.values(s.config_values)) for s in sessions]
    assert all(n < 10 for n in rendered_kept)  # what each kept session holds
    assert summaries == []  # the monitoring summary is not rebuilt after each event


# -- images returned by two requests at once ---------------------------------------------------------

@pytest.fixture
def picture():
    import numpy as np
    from PIL import Image

    atomic_image_cache()
    return Image.fromarray((np.random.default_rng(0).random((64, 64, 3)) * 255).astype("uint8"))


def test_an_image_saved_while_another_request_reads_it_is_never_short(picture, tmp_path):
    """Gradio rewrote the file in place: a download of the same picture during the rewrite got a
    short or empty body (about 6% of reads in this loop; in the load test, a failed request)."""
    from gradio import processing_utils

    path = processing_utils.save_pil_to_cache(picture, str(tmp_path))
    size = os.path.getsize(path)
    done = threading.Event()

    def save_again() -> None:
        while not done.is_set():
            processing_utils.save_pil_to_cache(picture, str(tmp_path))

    writer = threading.Thread(target=save_again)
    writer.start()
    try:
        sizes = []
        for _ in range(3000):
            with open(path, "rb") as f:
                sizes.append(len(f.read()))
    finally:
        done.set()
        writer.join()
    assert sizes == [size] * len(sizes), f"{sum(n != size for n in sizes)} of {len(sizes)} reads were short"


def test_the_same_image_is_written_once_and_another_gets_its_own_file(picture, tmp_path):
    from gradio import processing_utils

    first = processing_utils.save_pil_to_cache(picture, str(tmp_path))
    inode = os.stat(first).st_ino
    assert processing_utils.save_pil_to_cache(picture, str(tmp_path)) == first
    assert os.stat(first).st_ino == inode  # left alone, not replaced by a new copy
    other = processing_utils.save_pil_to_cache(picture.rotate(90), str(tmp_path))
    assert other != first and os.path.getsize(other) > 0
    leftovers = [p.name for p in tmp_path.rglob(".*")]
    assert leftovers == [], f"temporary files left behind: {leftovers}"


# -- on a Gradio these patches were not written for --------------------------------------------------

@pytest.fixture
def gradio_unpatched(monkeypatch):
    """Gradio's own functions back in place for the test; the patched ones are put back after it.
    Returns the (owner, name) of each function a patch replaces."""
    from gradio import processing_utils, routes

    patch_gradio()
    replaced = [(SessionState, "__init__"), (processing_utils, "save_pil_to_cache"),
                (routes.templates, "TemplateResponse")]
    for owner, name in replaced:
        monkeypatch.setattr(owner, name, getattr(owner, name).__wrapped_gradio__)
    return replaced


def patched(owner, name) -> bool:
    return getattr(getattr(owner, name), "__wrapped_gradio__", None) is not None


def small_demo(tiny_models, caplog) -> tuple[gr.Blocks, list[str]]:
    """build_demo on a one-tab catalog, and the warnings the app logged meanwhile."""
    catalog = parse_catalog(tiny_catalog(tiny_models, ["sentiment"]), source="tests")
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="playground"):
        demo = build_demo(catalog, ModelManager(catalog), Settings(examples_dir=str(ASSETS)))
    return demo, [r.getMessage() for r in caplog.records if r.name == "playground"]


LOSSES = {  # the patch's digest -> words its warning must say, and the function it leaves as Gradio's
    "_KNOWN_SESSION_INIT": ("each API session keeps ~260 KB more memory", 0),
    "_KNOWN_SAVE_PIL": ("two requests returning the same image can race on Gradio's image cache", 1),
    "_KNOWN_MAIN_PAGE": ("the login page tells anyone every API endpoint", 2),
}


def test_on_the_gradio_they_were_written_for_every_patch_applies_without_a_warning(tiny_models, caplog,
                                                                                    gradio_unpatched):
    demo, warnings = small_demo(tiny_models, caplog)
    assert isinstance(demo, gr.Blocks)
    assert warnings == []
    assert all(patched(owner, name) for owner, name in gradio_unpatched)


@pytest.mark.parametrize("digest", list(LOSSES))
def test_a_patch_for_another_gradio_is_left_out_with_one_warning(tiny_models, caplog, gradio_unpatched,
                                                                 monkeypatch, digest):
    """As on a Gradio whose function is not the one the patch was written for: the app starts with
    Gradio's own function and says in one line what that costs."""
    monkeypatch.setattr(serving, digest, "0" * 12)
    demo, warnings = small_demo(tiny_models, caplog)
    assert isinstance(demo, gr.Blocks)
    loss, lost = LOSSES[digest]
    assert len(warnings) == 1, warnings
    assert warnings[0].startswith(f"Gradio {gr.__version__} is not the version these patches were written for: ")
    assert loss in warnings[0]
    assert [patched(owner, name) for owner, name in gradio_unpatched] == [i != lost for i in range(3)]


def test_a_gradio_without_traced_sync_starts_without_the_image_cache_patch(tiny_models, caplog, gradio_unpatched,
                                                                            monkeypatch):
    """The image cache patch wraps its function in Gradio's profiling decorator; a Gradio without it
    raised AttributeError in build_demo."""
    from gradio import processing_utils

    monkeypatch.delattr(processing_utils, "traced_sync")
    demo, warnings = small_demo(tiny_models, caplog)
    assert isinstance(demo, gr.Blocks)
    assert len(warnings) == 1 and LOSSES["_KNOWN_SAVE_PIL"][0] in warnings[0], warnings
    assert not patched(processing_utils, "save_pil_to_cache")
    assert patched(SessionState, "__init__")
