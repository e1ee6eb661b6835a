"""`missionctl mcp`: the investigation tools over stdio for an agent (IDE assistant, chat bot)."""

from missioncontrol import bootstrap
from missioncontrol.mcp.server import build_server, tools_from
from missioncontrol.settings import Settings


def mcp() -> None:
    """Serve the MCP investigation tools over stdio, reading the same state store as `serve`."""
    # stdout is the protocol channel: nothing else may print to it.
    runtime = bootstrap.build_runtime(Settings())
    build_server(tools_from(runtime)).run("stdio")
