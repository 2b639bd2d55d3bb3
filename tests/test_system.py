"""The Models tab (components/system.py) in the reader's language: the device line, Ray Serve's lines, how long ago
a model was used, the tables' headers and cells, the catalog's note and the outcome of Load / Unload, in English
word for word as before and in Chinese; the JSON that programs read (/models, /unload) stays as it is."""
from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import gradio as gr
import pytest

from components import system
from components.common import Context, Settings
from components.language import COOKIE
from models.availability import Availability, ModelAvailability
from models.messages import CHINESE, ENGLISH, say


def Request(language: str) -> gr.Request:  # noqa: N802 - a request as Gradio hands it, from a page in `language`
    return gr.Request(headers={"cookie": f"{COOKIE}={language}"}, session_hash="test")


class Manager:
    """The in-process manager as the tab reads it."""

    max_loaded = 3

    def __init__(self, device: str | None = None, free: int | None = None, total: int | None = None) -> None:
        self.device, self.free, self.total = device, free, total
        self.models = [{"task": "sentiment", "model": "own/a", "label": "A", "device": "cpu", "dtype": "float32",
                        "parameters": 4_400_000, "memory_mb": 16.8, "load_seconds": 1.25,
                        "last_used": time.time() - 30}]

    def device_if_known(self) -> str | None:
        return self.device

    def memory(self) -> dict[str, Any]:
        return {"device": self.device, "free_bytes": self.free, "total_bytes": self.total}

    def loaded(self) -> list[dict[str, Any]]:
        return list(self.models)

    def unload(self, task: str, model: str) -> bool:
        before = len(self.models)
        self.models = [m for m in self.models if (m["task"], m["model"]) != (task, model)]
        return len(self.models) < before

    def unload_all(self) -> int:
        count, self.models = len(self.models), []
        return count

    def get(self, task: str, model: str) -> None:
        pass


class Cluster:
    """The Ray backend's manager as the tab reads it (models/cluster.py)."""

    address, max_loaded = "ray://head:10001", 2

    def __init__(self, connected: bool = True, failure: Any = None) -> None:
        self.connected, self.failure = connected, failure

    def deployments(self) -> list[dict[str, Any]]:
        if not self.connected:
            return []
        return [{"application": "text", "deployment": "Family", "status": "HEALTHY", "replicas": {"RUNNING": 2}},
                {"application": "diffusion", "deployment": "Family", "status": "UPDATING",
                 "replicas": {"RUNNING": 1, "STARTING": 1}}]

    def replicas(self) -> list[dict[str, Any]]:
        return [{"replica": "r1", "deployment": "text", "node": "10.0.0.2", "device": "cuda:0", "running": 1,
                 "models": [{"label": "A"}, {"label": "B"}]},
                {"replica": "r2", "deployment": "text", "node": "10.0.0.3", "device": None, "running": 0, "models": []}]


def test_the_device_line_in_both_languages() -> None:
    assert system.memory_line(SimpleNamespace(manager=Manager())) == \
        "No model loaded yet · at most 3 models kept loaded"
    assert system.memory_line(SimpleNamespace(manager=Manager()), CHINESE) == "还没有加载模型 · 最多同时保留 3 个已加载的模型"
    assert system.memory_line(SimpleNamespace(manager=Manager("cpu"))) == \
        "Device: **cpu** · at most 3 models kept loaded"
    assert system.memory_line(SimpleNamespace(manager=Manager("cpu")), CHINESE) == \
        "设备：**cpu** · 最多同时保留 3 个已加载的模型"
    gpu = SimpleNamespace(manager=Manager("cuda:0", free=30 * 2**30, total=80 * 2**30))
    assert system.memory_line(gpu) == \
        "Device: **cuda:0** · free memory 30.0 GiB of 80.0 GiB · at most 3 models kept loaded"
    assert system.memory_line(gpu, CHINESE) == "设备：**cuda:0** · 可用内存 30.0 GiB，共 80.0 GiB · 最多同时保留 3 个已加载的模型"


def test_ray_serves_lines_in_both_languages() -> None:
    ctx = SimpleNamespace(manager=Cluster())
    english = system.memory_line(ctx)
    assert english == system.cluster_lines(ctx) == "\n".join([
        "Served by Ray Serve at **ray://head:10001** · at most 2 models per replica · **text** healthy, 2 running · "
        "**diffusion** updating, 1 running, 1 starting",
        "- replica `r1` of **text** on 10.0.0.2 (cuda:0): 1 request running · A, B",
        "- replica `r2` of **text** on 10.0.0.3 (no model loaded yet): 0 requests running · no model"])
    assert "**text** healthy, 2 running" in english  # what tests/test_ray_backend.py reads
    assert system.cluster_lines(ctx, CHINESE) == "\n".join([
        "由位于 **ray://head:10001** 的 Ray Serve 提供服务 · 每个副本最多 2 个模型 · **text**：健康，副本：2 个运行中 · "
        "**diffusion**：更新中，副本：1 个运行中、1 个启动中",
        "- **text** 的副本 `r1`，在 10.0.0.2 上（cuda:0）：1 个请求在运行 · A、B",
        "- **text** 的副本 `r2`，在 10.0.0.3 上（还没有加载模型）：0 个请求在运行 · 没有模型"])
    assert system.ray_state("SOMETHING_NEW", CHINESE) == "something_new"  # a state words.py does not know: Ray's word


def test_a_cluster_not_connected_says_why_in_the_readers_language() -> None:
    assert system.cluster_lines(SimpleNamespace(manager=Cluster(connected=False))) == \
        "Served by Ray Serve at **ray://head:10001**: not connected yet."
    assert system.cluster_lines(SimpleNamespace(manager=Cluster(connected=False)), CHINESE) == \
        "由位于 **ray://head:10001** 的 Ray Serve 提供服务：尚未连接。"
    failed = SimpleNamespace(manager=Cluster(connected=False, failure=say("cluster.starting", address="ray://head:10001")))
    assert system.cluster_lines(failed) == ("Served by Ray Serve at **ray://head:10001**: not connected yet (The model "
                                            "cluster at ray://head:10001 is still starting; try again in a moment.).")
    assert system.cluster_lines(failed, CHINESE) == ("由位于 **ray://head:10001** 的 Ray Serve 提供服务：尚未连接（位于 "
                                                     "ray://head:10001 的模型集群还在启动；请稍后再试。）。")
    plain = SimpleNamespace(manager=Cluster(connected=False, failure="ConnectionError"))
    assert system.cluster_lines(plain, CHINESE).endswith("尚未连接（ConnectionError）。")


def test_how_long_ago_in_both_languages() -> None:
    now = 1_000_000.0
    assert [system.ago(now - s, now) for s in (12, 180, 5400)] == ["12 s ago", "3 min ago", "1.5 h ago"]
    assert [system.ago(now - s, now, CHINESE) for s in (12, 180, 5400)] == ["12 秒前", "3 分钟前", "1.5 小时前"]
    assert system.ago(None, now, CHINESE) == ""


def test_the_loaded_table_in_both_languages() -> None:
    models = [{**Manager().models[0], "last_used": time.time() - 5},
              {"task": "ner", "model": "own/b", "label": "B", "device": "cuda:0", "dtype": "float16",
               "parameters": 124_000_000, "memory_mb": 250.0, "load_seconds": 3.0, "last_used": time.time() - 7200,
               "replica": "r1"}]
    english = system.loaded_rows(models)
    assert english[0][:7] == ["sentiment", "A", "cpu", "float32", "4.4M", "17 MB", "1.2 s"]
    assert english[0][7].endswith(" s ago") and english[1][2] == "cuda:0 · replica r1" and english[1][7] == "2.0 h ago"
    chinese = system.loaded_rows(models, CHINESE)
    assert chinese[0][6] == "1.2 秒" and chinese[0][7].endswith(" 秒前")
    assert chinese[1][2] == "cuda:0 · 副本 r1" and chinese[1][7] == "2.0 小时前"
    assert system.LOADED_HEADERS == ["Task", "Model", "Device", "Precision", "Parameters", "Memory", "Load time",
                                     "Last used"]
    assert system.CATALOG_HEADERS == ["Task", "Model", "State", "Size"]
    assert system.headers(system.LOADED_COLUMNS, CHINESE) == ["任务", "模型", "设备", "精度", "参数量", "内存", "加载用时",
                                                              "上次使用"]
    assert system.headers(system.CATALOG_COLUMNS, CHINESE) == ["任务", "模型", "状态", "大小"]


class Known(Availability):
    """An Availability whose Hub answer and catalog states are set by the test (no cache, no Hub)."""

    def __init__(self, states: list[ModelAvailability], known: bool | None, wall: float = 0.0) -> None:
        super().__init__(None, clock=lambda: 0.0)  # type: ignore[arg-type]
        self.states, self._known, self._wall = states, known, wall

    def catalog_states(self) -> list[ModelAvailability]:
        return self.states


def model(state: str, size: int | None = None) -> ModelAvailability:
    return ModelAvailability("sentiment", f"own/{state}", state.title(), state, size)


MB = 2**20


@pytest.mark.parametrize("states, known", [
    ([model("local", 3 * MB), model("cached"), model("download", 270 * MB), model("download"), model("unavailable")],
     True),
    ([model("cached"), model("download", 270 * MB), model("unknown"), model("remote")], None),
    ([model("download"), model("download", 2 * 2**30)], False),
    ([model("download", 40 * MB), model("download", 2 * MB)], True),
    ([model("download")], True),
    ([], None)])
def test_the_catalogs_note_is_the_consoles_summary_in_english(states: list[ModelAvailability], known: bool | None,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    availability = Known(states, known, wall=time.time())
    ctx = SimpleNamespace(availability=availability)
    expected = availability.summary() + ("\n\n**For the operator:** " + availability.advice() if known is False else "")
    assert system.catalog_note(ctx) == system.catalog_note(ctx, ENGLISH) == expected
    chinese = system.catalog_note(ctx, CHINESE)
    assert chinese.startswith("Hub：") and "目录：" in chinese and "Hub:" not in chinese
    assert ("给运维人员" in chinese) == (known is False)


def test_the_catalogs_note_in_chinese(monkeypatch: pytest.MonkeyPatch) -> None:
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    states = [model("local", 3 * MB), model("download", 270 * MB), model("download"), model("unavailable"),
              model("unknown"), model("remote")]
    ctx = SimpleNamespace(availability=Known(states, True))
    assert system.catalog_note(ctx, CHINESE) == ("Hub：可以连接。目录：1 个就绪、2 个需要下载（至少 270 MB）、1 个暂不可用、"
                                                 "1 个检查中、1 个在远程服务器上。")
    wall = time.mktime((2024, 5, 1, 9, 7, 0, 0, 0, -1))
    ctx = SimpleNamespace(availability=Known([model("download", 270 * MB)], False, wall))
    note = system.catalog_note(ctx, CHINESE)
    assert note.startswith("Hub：无法连接（09:07 检查）。目录：0 个就绪、1 个需要下载（270 MB）。\n\n**给运维人员：** 要在没有 Hub")
    assert system.catalog_note(ctx).startswith("Hub: not reachable (checked 09:07). Catalog: 0 ready, 1 needs a "
                                               "download (270 MB).")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    assert system.catalog_note(ctx) == ctx.availability.summary() + "\n\n**For the operator:** " + \
        ctx.availability.advice()
    assert system.catalog_note(ctx, CHINESE).startswith("Hub：离线（HF_HUB_OFFLINE=1）。")
    assert "已设置 HF_HUB_OFFLINE" in system.catalog_note(ctx, CHINESE)
    assert system.catalog_note(SimpleNamespace(availability=None), CHINESE) == ""


def test_the_catalogs_states_in_both_languages() -> None:
    ctx = SimpleNamespace(availability=Known([model("cached", 3 * MB), model("download"), model("odd")], True))
    assert system.catalog_rows(ctx) == [["sentiment", "Cached", "ready (in the cache)", "3 MB"],
                                        ["sentiment", "Download", "needs a download", ""],
                                        ["sentiment", "Odd", "odd", ""]]
    assert [row[2] for row in system.catalog_rows(ctx, CHINESE)] == ["就绪（在缓存中）", "需要下载", "odd"]


class Catalog:
    def tasks(self) -> list[str]:
        return ["sentiment"]

    def models(self, task: str) -> list[Any]:
        return [SimpleNamespace(task="sentiment", name="A", model_id="own/a")]


def handlers(manager: Manager) -> dict[str, Any]:
    """The tab built on `manager`: its handlers by name (the button's handler is on_click, one per button)."""
    ctx = Context(catalog=Catalog(), manager=manager, settings=Settings(), availability=None)  # type: ignore[arg-type]
    with gr.Blocks() as demo:
        with gr.Tab("Models") as tab:
            system.build(ctx, tab)
    found: dict[str, Any] = {}
    for fn in demo.fns.values():
        found.setdefault(fn.name, []).append(fn.fn)
    return found


def test_the_tabs_handlers_answer_in_the_readers_language() -> None:
    manager = Manager("cpu")
    found = handlers(manager)
    shown = found["shown"][0]
    rows, _, line, catalog, note = shown(manager.loaded(), Request(CHINESE))
    assert rows["headers"][:2] == ["任务", "模型"] and rows["data"][0][6] == "1.2 秒"
    assert line == "设备：**cpu** · 最多同时保留 3 个已加载的模型" and catalog["headers"] == ["任务", "模型", "状态", "大小"]
    rows, _, line, _, _ = shown(manager.loaded(), Request(ENGLISH))
    assert rows["headers"] == system.LOADED_HEADERS and rows["data"][0][6] == "1.2 s"
    assert shown(manager.loaded())[0]["headers"] == system.LOADED_HEADERS  # no request (a test, a program): English
    unload_one, unload_every, load_one = found["on_click"]
    assert unload_one(None, Request(CHINESE))[1] == "请先选择一个模型。"
    assert unload_one(None, Request(ENGLISH))[1] == "Pick a model first."
    assert unload_one("sentiment\nown/a", Request(CHINESE))[1] == "已卸载；它占用的内存已经释放。"
    assert unload_one("sentiment\nown/a", Request(CHINESE))[1] == "⚠ own/a 没有为 sentiment 加载；它可能已经被卸载了。"
    assert unload_one("sentiment\nown/a", Request(ENGLISH))[1] == \
        "⚠ own/a is not loaded for sentiment; it may have been unloaded already."
    assert load_one("sentiment\nown/a", Request(CHINESE))[1].startswith("加载完成，用了 0.0 秒")
    assert load_one("sentiment\nown/a", Request(ENGLISH))[1] == "Loaded in 0.0 s."
    manager.models = Manager().models * 2
    assert unload_every(None, Request(ENGLISH))[1] == "Unloaded 2 models."
    manager.models = Manager().models
    assert unload_every(None, Request(ENGLISH))[1] == "Unloaded 1 model."
    assert unload_every(None, Request(CHINESE))[1] == "已卸载 0 个模型。"


def test_unload_for_programs_keeps_its_data_and_says_its_error_in_the_readers_language() -> None:
    manager = Manager("cpu")
    unload = handlers(manager)["unload"][0]
    with pytest.raises(gr.Error) as raised:
        unload("sentiment", "own/nothing", Request(CHINESE))
    assert raised.value.message == "own/nothing 没有为 sentiment 加载；它可能已经被卸载了。"
    with pytest.raises(gr.Error) as raised:
        unload("sentiment", "own/nothing")
    assert raised.value.message == "own/nothing is not loaded for sentiment; it may have been unloaded already."
    assert unload("sentiment", "own/a", Request(CHINESE)) == []  # the JSON that programs read, as it was
