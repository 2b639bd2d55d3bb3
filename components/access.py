"""Who may use the app beyond its page: the API keys that open the OpenAI-compatible API (/v1) and,
behind a login, the MCP server; and the login itself (app.py --auth), which also lets the MCP server's
own calls in.

Gradio's login (--auth) covers the page and Gradio's API, not the routes it did not make (/v1) nor its
MCP server (/gradio_api/mcp), which asks for nothing. So `ApiKeyGuard` asks for a key there: every
request under /v1 when there are keys or a login (with a login and no key, /v1 is closed), and every
request to the MCP server when there is a login (an agent sends the key as `Authorization: Bearer`).
The MCP server runs a tool by calling the app's queue through a gradio Client of its own, which the
login would turn away: `Login` also knows a service account made at start (a random secret that
never leaves the process), and `let_mcp_in` gives the MCP server a client logged in with it.
"""
from __future__ import annotations

import hmac
import secrets
from typing import Any, Callable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse

V1 = "/v1"
MCP = "/gradio_api/mcp"


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def refusal(message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """A 401 in OpenAI's error shape (what /v1 clients read; MCP clients read the status)."""
    body = {"error": {"message": message, "type": "authentication_error", "param": None, "code": "invalid_api_key"}}
    return JSONResponse(body, status_code=401, headers=headers)


class ApiKeyGuard:
    """`Authorization: Bearer <key>` for one of the keys, on /v1 when there are keys or a login, and on
    the MCP server when there is a login. Plain ASGI: Starlette's BaseHTTPMiddleware would hold back a
    stream's events."""

    def __init__(self, app: Any, keys: tuple[str, ...] = (), login: bool = False) -> None:
        self.app, self.keys, self.login = app, tuple(k.encode() for k in keys), login

    def guarded(self, path: str) -> str | None:
        if _under(path, V1) and (self.keys or self.login):
            return "its /v1 API"
        if _under(path, MCP) and self.login:
            return "its MCP server"
        return None

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        what = self.guarded(scope.get("path", "")) if scope["type"] == "http" else None
        if what is None:
            return await self.app(scope, receive, send)
        if not self.keys:
            answer = refusal(f"This server asks for a login (--auth), so {what} is closed until it is started "
                             "with --api-key KEY.")
        else:
            scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
            given = token.strip().encode("utf-8", "replace")
            matched = False
            for key in self.keys:  # every key compared, in constant time each
                matched |= hmac.compare_digest(given, key)
            if scheme.lower() == "bearer" and matched:
                return await self.app(scope, receive, send)
            answer = refusal("The API key is missing or wrong; send the header Authorization: Bearer <key>.",
                             headers={"WWW-Authenticate": "Bearer"})
        await answer(scope, receive, send)


class Login:
    """Gradio's `auth` as a function: the --auth users, and the service account the MCP server logs in with."""

    def __init__(self, users: list[tuple[str, str]]) -> None:
        self.users = [(u.encode(), p.encode()) for u, p in users]
        self.service = (f"mcp-{secrets.token_hex(8)}", secrets.token_urlsafe(32))
        self.users.append((self.service[0].encode(), self.service[1].encode()))

    def __call__(self, username: str, password: str) -> bool:
        user, word = str(username).encode("utf-8", "replace"), str(password).encode("utf-8", "replace")
        matched = False
        for u, p in self.users:  # every pair compared, in constant time each
            matched |= hmac.compare_digest(user, u) & hmac.compare_digest(word, p)
        return matched


def let_mcp_in(demo: Any, login: Login) -> bool:
    """After launch: give the MCP server a client logged in as the service account (Gradio's own client
    has no credentials, and each tool call would fail at the login). False when there is no MCP server."""
    server = getattr(demo, "mcp_server_obj", None)
    if server is None or not getattr(demo, "local_url", None):
        return False
    from gradio_client import Client

    server._client_instance = Client(demo.local_url, auth=login.service, download_files=False, verbose=False,
                                     analytics_enabled=False, ssl_verify=False, _skip_components=False,
                                     headers={"x-gradio-user": "mcp"})
    return True
