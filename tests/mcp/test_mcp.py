"""The MCP tools through the SDK's own client: in memory, over streamable HTTP, and over stdio."""

import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from mcp import Client
from missioncontrol.domain import ServiceGraph
from missioncontrol.mcp.server import build_server
from missioncontrol.mcp.tools import ToolError, Tools

TOOLS = {
    "list_incidents",
    "get_brief",
    "investigate_service",
    "explain_hypothesis",
    "similar_incidents",
    "service_graph_as_of",
}


class StaticWorld:
    """A world model that always had this graph (the real one is tested in tests/storage)."""

    def __init__(self, graph: ServiceGraph) -> None:
        self.graph = graph

    def graph_at(self, at: Any) -> ServiceGraph:
        return self.graph

    def changes_between(self, start: Any, end: Any) -> tuple[()]:
        return ()

    def catalog_entry(self, service: Any, *, at: Any) -> None:
        return None


def data(result: Any) -> Any:
    assert not result.is_error, result.content
    return result.structured_content


def test_in_memory_client_lists_every_tool_and_reads_the_store(
    estate: Any, incident_factory: Any, brief_factory: Any
) -> None:
    from tests.web.conftest import GRAPH

    estate.add(incident_factory(1), brief_factory())
    estate.add(incident_factory(2))
    server = build_server(Tools(estate.store, estate.store, world=StaticWorld(GRAPH)))

    async def main() -> None:
        async with Client(server) as client:
            tools = await client.list_tools()
            assert {t.name for t in tools.tools} == TOOLS
            assert all(t.annotations and t.annotations.read_only_hint for t in tools.tools)
            listed = data(await client.call_tool("list_incidents", {"status": "open"}))
            assert sorted(i["id"] for i in listed["incidents"]) == ["inc-00001", "inc-00002"]
            brief = data(await client.call_tool("get_brief", {"incident_id": "inc-00001"}))
            assert brief["diagnosis"]["hypotheses"][0]["service"] == "payments"
            why = data(await client.call_tool("explain_hypothesis", {"incident_id": "inc-00001", "rank": 1}))
            assert "frontend → checkout → payments" in why["explanation"] and "H1.E2" in why["explanation"]
            assert why["weakened_alternatives"] == ["cart (latency): its onset came after payments'"]
            similar = data(await client.call_tool("similar_incidents", {"incident_id": "inc-00001"}))
            assert similar["similar"][0]["fix"] == "rolled back payments 2.3.1"
            graph = data(
                await client.call_tool(
                    "service_graph_as_of", {"at": "2026-12-02T09:12:00Z", "service": "payments", "hops": 1}
                )
            )
            assert {(e["caller"], e["callee"]) for e in graph["edges"]} == {
                ("checkout", "payments"),
                ("payments", "payments-db"),
            }
            pending = await client.call_tool("get_brief", {"incident_id": "inc-00002"})
            assert pending.is_error and "no brief yet" in pending.content[0].text
            missing = await client.call_tool("explain_hypothesis", {"incident_id": "inc-00001", "rank": 9})
            assert missing.is_error and "rank 9" in missing.content[0].text

    anyio.run(main)


def test_investigate_service_runs_the_engine_on_a_window_of_stored_telemetry(tmp_path: Path) -> None:
    from missioncontrol.bootstrap import build_engine, open_source
    from missioncontrol.domain import TimeMode
    from missioncontrol.settings import Settings

    labeled = next(iter(open_source("simulated", Settings()).cases(time_mode=TimeMode.FOUND)))
    case = labeled.case

    from missioncontrol.storage.telemetry import ChdbTelemetryStore

    alert_at = case.alert.started_at
    with ChdbTelemetryStore(tmp_path / "chdb") as telemetry:
        telemetry.append(case.telemetry)  # the real embedded store, as OTLP ingest fills it
        tools = Tools(None, None, telemetry=telemetry, diagnoser=build_engine(Settings()))  # type: ignore[arg-type]
        out = tools.investigate_service(
            case.alert.service, (alert_at - timedelta(minutes=30)).isoformat(), alert_at.isoformat()
        )
    assert out["diagnosis"]["hypotheses"][0]["service"] == labeled.truth.service
    assert out["telemetry"]["metric_series"] > 0


def test_streamable_http_is_mounted_at_mcp_behind_the_api_token(
    estate: Any, incident_factory: Any, brief_factory: Any, loopback: Any
) -> None:
    estate.add(incident_factory(1), brief_factory())
    with loopback(estate.app) as url:
        denied = httpx2.post(f"{url}/mcp", json={}, headers={"Accept": "application/json, text/event-stream"})
        assert denied.status_code == 401

        async def main() -> None:
            http = httpx2.AsyncClient(headers={"Authorization": "Bearer test-token"}, timeout=20)
            async with http, Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client:
                assert {t.name for t in (await client.list_tools()).tools} == TOOLS
                brief = data(await client.call_tool("get_brief", {"incident_id": "inc-00001"}))
                assert brief["incident_id"] == "inc-00001"

        anyio.run(main)


def test_missionctl_mcp_serves_over_stdio(tmp_path: Path, incident_factory: Any, brief_factory: Any) -> None:
    from tests.web.conftest import Estate

    seeded = Estate(tmp_path)
    seeded.add(incident_factory(1), brief_factory())
    seeded.engine.dispose()
    env = {**os.environ, "MISSIONCONTROL_STATE_DIR": str(tmp_path), "MISSIONCONTROL_API_TOKENS": '["t"]'}
    params = StdioServerParameters(
        command=str(Path(sys.executable).parent / "missionctl"), args=["mcp"], env=env
    )

    async def main() -> None:
        async with Client(params) as client:
            assert {t.name for t in (await client.list_tools()).tools} == TOOLS
            listed = data(await client.call_tool("list_incidents", {"status": "all"}))
            assert [i["id"] for i in listed["incidents"]] == ["inc-00001"]
            why = data(await client.call_tool("explain_hypothesis", {"incident_id": "inc-00001"}))
            assert json.dumps(why).count("H1.E") == 2  # the top hypothesis carries two evidence items

    anyio.run(main)


def test_times_no_store_can_hold_are_refused_by_name(estate: Any) -> None:
    """Found by the fuzz in tests/api/test_openapi_fuzz.py: year 1 crashed in the world model's lookback
    (OverflowError), reaching the agent as a bare "Error executing tool" with no reason."""
    from tests.web.conftest import GRAPH

    tools = Tools(estate.store, estate.store, world=StaticWorld(GRAPH))
    for at in ("0001-01-01T00:00:00", "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"):
        with pytest.raises(ToolError, match=r"^at='.*' is outside 1970\.\.2299"):
            tools.service_graph_as_of(at)
    with pytest.raises(ToolError, match=r"^start='0001-01-01T00:00:00' is outside 1970\.\.2299"):
        Tools(estate.store, estate.store, telemetry=object(), diagnoser=object()).investigate_service(  # type: ignore[arg-type]
            "checkout", "0001-01-01T00:00:00", "0001-01-01T01:00:00"
        )
    assert tools.service_graph_as_of("2026-12-02T09:12:00Z")["at"] == "2026-12-02T09:12:00+00:00"
