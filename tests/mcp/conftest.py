"""The MCP tests reuse the board's fixtures: a real state store behind a real app, and loopback servers."""

from tests.web.conftest import (  # noqa: F401  (fixtures are found by name)
    brief_factory,
    estate,
    incident_factory,
    loopback,
)
