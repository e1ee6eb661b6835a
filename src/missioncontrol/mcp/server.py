"""The MCP server (the `mcp` SDK 2.x `MCPServer`): the investigation tools, over stdio and streamable HTTP.

    agent ──stdio──► `missionctl mcp` ──┐
                                         ├─► build_server(Tools) ─► Tools (web-free, over the ports)
    agent ──HTTP /mcp──► create_app ────┘     (bearer token, same as the API)

Every tool is read-only: none changes an incident, requests an action or approves one.
"""

import hmac
from collections.abc import AsyncIterator, Awaitable, Callable, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError as SdkToolError
from mcp.server.transport_security import TransportSecuritySettings
from mcp.types import ToolAnnotations
from starlette.routing import Route

from missioncontrol.api.runtime import Runtime
from missioncontrol.mcp.tools import ToolError, Tools

INSTRUCTIONS = (
    "Mission Control's investigation tools. Start with list_incidents, then get_brief for one; "
    "explain_hypothesis walks one hypothesis' evidence; similar_incidents shows precedent and fixes; "
    "service_graph_as_of and investigate_service look at the estate at a time. All read-only."
)
READ_ONLY = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False
)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def build_server(tools: Tools) -> MCPServer:
    """Return an MCP server exposing `tools`."""
    server: MCPServer = MCPServer(
        name="missioncontrol", instructions=INSTRUCTIONS, version="0.1.0", log_level="WARNING"
    )

    @server.tool(annotations=READ_ONLY)
    def list_incidents(status: str = "open", limit: int = 50) -> dict[str, Any]:
        """List incidents, newest activity first. status: open, acknowledged, resolved or all."""
        return _call(tools.list_incidents, status, limit)

    @server.tool(annotations=READ_ONLY)
    def get_brief(incident_id: str) -> dict[str, Any]:
        """Get the latest brief of an incident: impact, dependency path, ranked hypotheses, decision."""
        return _call(tools.get_brief, incident_id)

    @server.tool(annotations=READ_ONLY)
    def explain_hypothesis(incident_id: str, rank: int = 1) -> dict[str, Any]:
        """Explain one ranked hypothesis: its path, every evidence item, and the alternatives it weakened."""
        return _call(tools.explain_hypothesis, incident_id, rank)

    @server.tool(annotations=READ_ONLY)
    def similar_incidents(incident_id: str) -> dict[str, Any]:
        """List past incidents similar to this one, with their confirmed cause and what fixed them."""
        return _call(tools.similar_incidents, incident_id)

    @server.tool(annotations=READ_ONLY)
    def service_graph_as_of(at: str, service: str = "", hops: int = 2) -> dict[str, Any]:
        """Get the service call graph as of a time (ISO 8601), optionally within `hops` of one service."""
        return _call(tools.service_graph_as_of, at, service, hops)

    @server.tool(annotations=READ_ONLY)
    def investigate_service(service: str, start: str, end: str) -> dict[str, Any]:
        """Diagnose the estate around a service over a time window (ISO 8601 start and end, at most 6 h)."""
        return _call(tools.investigate_service, service, start, end)

    return server


def _call(fn: Callable[..., dict[str, Any]], *args: Any) -> dict[str, Any]:
    try:
        return fn(*args)
    except ToolError as exc:
        # The SDK's ToolError reaches the agent as an is_error result carrying this message.
        raise SdkToolError(str(exc)) from None


def tools_from(runtime: Runtime) -> Tools:
    """Return the tools over what `runtime` holds."""
    return Tools(
        incidents=runtime.incidents,
        briefs=runtime.briefs,
        world=runtime.world,
        telemetry=runtime.telemetry,
        diagnoser=runtime.diagnoser,
    )


class BearerGate:
    """ASGI wrapper: the MCP endpoint takes the API's bearer tokens, and nothing else."""

    def __init__(
        self, app: Callable[[Scope, Receive, Send], Awaitable[None]], tokens: tuple[str, ...]
    ) -> None:
        self.app = app
        self.tokens = tuple(t.encode() for t in tokens)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or [])
        value: bytes = headers.get(b"authorization", b"")
        token = value[7:].strip() if value[:7].lower() == b"bearer " else b""
        if not token or not any(hmac.compare_digest(token, t) for t in self.tokens):
            body = b'{"detail":"MCP needs Authorization: Bearer <token> (the API token)"}'
            await send(
                {
                    "type": "http.response.start",
                    "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return
        await self.app(scope, receive, send)


def mount_mcp(app: FastAPI, runtime: Runtime, *, path: str = "/mcp") -> None:
    """Serve the MCP tools at `path` (streamable HTTP, bearer token) and run its sessions with the app."""
    server = build_server(tools_from(runtime))
    # The bearer gate authenticates every request, so the SDK's Host-header (DNS rebinding) check, meant
    # for unauthenticated local servers, would only refuse real deployments behind other host names.
    security = TransportSecuritySettings(enable_dns_rebinding_protection=False)
    inner = server.streamable_http_app(streamable_http_path=path, transport_security=security)
    (route,) = [r for r in inner.routes if isinstance(r, Route) and r.path == path]
    app.router.routes.append(Route(path, endpoint=BearerGate(route.app, runtime.api_tokens), methods=None))
    previous = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(host: Any) -> AsyncIterator[Any]:
        async with server.session_manager.run(), previous(host) as state:
            yield state

    app.router.lifespan_context = lifespan
