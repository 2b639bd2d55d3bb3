"""Every tab as an MCP tool (Gradio's MCP server, app.py --no-mcp turns it off): a real MCP client
(the `mcp` package) lists the tools, reads what each does and what each parameter means, and calls
one, which answers as the API does. A server that fails to start says so in the log."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Iterator

import pytest

from tests.launch import running_app, tiny_catalog

pytest.importorskip("mcp")

TASKS = ["text-generation", "sentiment", "question-answering", "image-classification", "text-to-image"]


@pytest.fixture(scope="module")
def app(tiny_models: Any) -> Iterator[Any]:
    with running_app(tiny_catalog(tiny_models, TASKS)) as launched:
        yield launched


def mcp_session(url: str, work: Any, headers: dict[str, str] | None = None) -> Any:
    """Run `work(session)` in an MCP client session on the app's streamable HTTP endpoint."""
    from mcp import ClientSession
    from mcp.client.streamable_http import streamablehttp_client

    async def main() -> Any:
        async with streamablehttp_client(url + "gradio_api/mcp/", headers=headers) as (read, write, _):
            async with ClientSession(read, write) as session:
                await session.initialize()
                return await work(session)
    return asyncio.run(main())


def test_every_endpoint_is_a_described_tool(app: Any) -> None:
    from gradio_client import Client

    tools = {t.name: t for t in mcp_session(app.url, lambda s: s.list_tools()).tools}
    endpoints = Client(app.url, verbose=False).view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert set(tools) == {name.lstrip("/") for name in endpoints}  # the same set, no "lambda_N" start values
    for name in ["generate", "sentiment", "qa", "classify_image", "text_to_image"]:
        tool = tools[name]
        assert tool.description and tool.description[0].isupper(), name
        properties = tool.inputSchema["properties"]
        assert "model" in properties
        for param, schema in properties.items():
            assert schema.get("description"), f"{name}: {param} has no description"
    tokens = tools["generate"].inputSchema["properties"]["max_new_tokens"]["description"]
    assert "Between 1 and 1,024" in tokens and "default 128" in tokens  # from the task's declaration


def test_a_tool_call_answers_as_the_api_does(app: Any, client: Any) -> None:
    result = mcp_session(app.url, lambda s: s.call_tool("sentiment", {"text": "I love this film"}))
    assert not result.isError
    text = " ".join(getattr(part, "text", "") for part in result.content)
    assert "POSITIVE" in text
    assert client.predict(text="I love this film", api_name="/sentiment")["label"] == "POSITIVE"


def test_a_server_that_fails_to_start_says_so(tiny_models: Any, monkeypatch: Any, caplog: Any) -> None:
    """Gradio swallows a failed MCP start (an `mcp` it was not written for); app.py says it."""
    import gradio.mcp

    from app import say_mcp_state
    from components import Settings
    from tests.launch import ASSETS

    def broken(self: Any, blocks: Any) -> None:
        raise AttributeError("'Server' object has no attribute 'call_tool'")  # what mcp 2.x does to Gradio 6.31

    monkeypatch.setattr(gradio.mcp.GradioMCPServer, "__init__", broken)
    settings = Settings(examples_dir=str(ASSETS))
    with running_app(tiny_catalog(tiny_models, ["sentiment"]), settings=settings) as launched:
        with caplog.at_level(logging.WARNING, logger="playground"):
            assert say_mcp_state(launched.demo, settings) is False
    assert "The MCP server did not start" in caplog.text and "call_tool" in caplog.text


def test_behind_a_login_agents_come_in_with_an_api_key(tiny_models: Any) -> None:
    """With --auth, Gradio's MCP server would ask for nothing: it asks for an --api-key as a Bearer token,
    and its tool calls go through the login as the app's own service account."""
    import httpx

    with running_app(tiny_catalog(tiny_models, ["sentiment"]), auth=[("ada", "secret")],
                     api_keys=["agent-key"]) as launched:
        work = lambda s: s.call_tool("sentiment", {"text": "I love this film"})  # noqa: E731
        result = mcp_session(launched.url, work, headers={"Authorization": "Bearer agent-key"})
        assert not result.isError, result.content
        assert "POSITIVE" in " ".join(getattr(part, "text", "") for part in result.content)
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic YWRhOnNlY3JldA=="}):
            answer = httpx.post(launched.url + "gradio_api/mcp/", headers=headers, json={})
            assert answer.status_code == 401
            assert "API key is missing or wrong" in answer.json()["error"]["message"]
        assert httpx.get(launched.url + "gradio_api/info").status_code == 401  # Gradio's own API: the login


def test_behind_a_login_without_a_key_the_mcp_server_is_closed(tiny_models: Any) -> None:
    import httpx

    with running_app(tiny_catalog(tiny_models, ["sentiment"]), auth=[("ada", "secret")]) as launched:
        assert launched.demo.mcp_server_obj is None  # not served at all
        answer = httpx.post(launched.url + "gradio_api/mcp/", json={})
        assert answer.status_code == 401 and "--api-key" in answer.json()["error"]["message"]
