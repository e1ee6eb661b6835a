"""Fuzzing every operation of the OpenAPI spec over real HTTP with Schemathesis: never a server error,
and every answer is one the spec documents (status code, content type, body schema, headers).

The server is the real thing: `create_app(build_runtime(settings))` under uvicorn, SQLite state in a
temporary directory, the default embedded chDB telemetry, a bearer token, and a policy whose principal
holds that same token, so the action and audit routes run their code instead of answering 503 "no
policy". An incident and an action request are made first, and half the cases are aimed at their ids
(and at the incident's service), so the fuzzer reaches the code behind the 404s as well.

Cases are schema-valid (positive) and schema-violating (negative), 25 per operation; under the CI
hypothesis profile (tests/conftest.py) the same cases every run. No streaming operation needs excluding:
the board's pages and its SSE feed are kept out of the spec (web/routes.py, `include_in_schema=False`),
and the MCP endpoint is a mount outside it, fuzzed below through the MCP SDK's own client.
"""

import hashlib
import sys
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
import schemathesis
from anyio.from_thread import start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp.client.streamable_http import streamable_http_client
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from tests.api.conftest import TOKEN, Live, make_settings, serve_in_thread
from tests.api.test_alerts import AM, am_alert, payload

from mcp import Client
from missioncontrol import bootstrap
from missioncontrol.storage.telemetry import ChdbTelemetryStore

AUTH = {"Authorization": f"Bearer {TOKEN}"}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
EXAMPLES_PER_OPERATION = 25


def _write_policy(path: Path) -> None:
    digest = hashlib.sha256(TOKEN.encode()).hexdigest()
    path.write_text(
        f"""
version: 1
tiers: [L1, L2]
roles: [operator, service-owner]
default_team: sre
teams:
  - {{name: sre, escalation_tier: L2}}
services:
  - {{service: checkout, owner: sre, tier: "1"}}
principals:
  - {{name: fuzz, tier: L2, roles: [operator, service-owner], token_sha256: {digest}}}
actions:
  restart:
    params: {{namespace: "[a-z0-9-]+"}}
    runner: {{command: {{command: [{sys.executable}, -c, "pass"]}}}}
  page:
    destructive: false
    runner: {{command: {{command: [{sys.executable}, -c, "pass"]}}}}
rules:
  - {{actions: [restart], min_tier: L1, approval: {{roles: [service-owner]}}}}
  - {{actions: [page], min_tier: L1}}
"""
    )


class Seeded:
    """The live server and the ids of things it holds, for the fuzzer to aim at."""

    def __init__(self, live: Live, ids: dict[str, str]) -> None:
        self.live = live
        self.ids = ids


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Seeded]:
    tmp_path = tmp_path_factory.mktemp("openapi-fuzz")
    policy = tmp_path / "policy.yaml"
    _write_policy(policy)
    settings_ = make_settings(tmp_path, f"sqlite:///{tmp_path / 'state.db'}", policy_path=policy)
    runtime = bootstrap.build_runtime(settings_)
    assert isinstance(runtime.telemetry, ChdbTelemetryStore)  # the default store, fuzzed through OTLP
    server, thread, base = serve_in_thread(runtime)
    with httpx.Client(base_url=base, headers=AUTH, timeout=30) as client:
        live = Live(base, runtime, client)
        assert client.post(AM, json=payload(am_alert("fuzz-1", "checkout"))).status_code == 200
        incidents = live.wait_for("the seeded incident", lambda: client.get("/api/v1/incidents").json())
        incident_id = incidents[0]["id"]  # type: ignore[index]
        brief = f"/api/v1/incidents/{incident_id}/brief"  # resolve, feedback and similar need one
        live.wait_for("the seeded incident's brief", lambda: client.get(brief).status_code == 200)
        made = client.post(
            f"/api/v1/incidents/{incident_id}/actions",
            json={"action": "restart", "service": "checkout", "params": {"namespace": "shop"}},
        )
        assert made.status_code == 201, made.text
        ids = {"incident_id": incident_id, "request_id": made.json()["id"], "service": "checkout"}
        yield Seeded(live, ids)
    server.should_exit = True
    thread.join(timeout=30)
    if isinstance(runtime.telemetry, ChdbTelemetryStore):
        runtime.telemetry.close()  # one embedded chDB per process: free it for the next test


def _cases(operation: APIOperation, ids: dict[str, str]) -> st.SearchStrategy[Case]:
    """Schema-valid and schema-violating cases; those with a seeded path parameter also aimed at it."""
    modes = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    strategies = [operation.as_strategy(mode) for mode in modes]
    names = {p.name for p in operation.path_parameters}
    aimed = {name: value for name, value in ids.items() if name in names}
    if aimed:  # random ids almost never exist: without these the fuzzer would only ever see 404s
        strategies += [operation.as_strategy(mode, path_parameters=aimed) for mode in modes]
    return st.one_of(strategies)


def test_every_operation_answers_as_documented_and_never_with_a_server_error(seeded: Seeded) -> None:
    schema = schemathesis.openapi.from_url(f"{seeded.live.url}/openapi.json")
    operations, unreadable = [], []
    for result in schema.get_all_operations():
        if isinstance(result, Ok):
            operations.append(result.ok())
        else:
            unreadable.append(str(result.err()))
    assert not unreadable, unreadable  # an operation Schemathesis cannot read is one it cannot fuzz
    failures: dict[str, str] = {}
    sent: Counter[str] = Counter()

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=_cases(operation, seeded.ids))
        def answers_as_documented(case: Case) -> None:
            sent[case.operation.label] += 1
            case.call_and_validate(headers=AUTH, checks=CHECKS, timeout=30)

        # Keep going after a failure: one report names every operation that failed, and how.
        try:
            answers_as_documented()
        except (Exception, BaseExceptionGroup) as exc:
            failures[operation.label] = str(exc)

    assert len(operations) >= 25, [o.label for o in operations]  # the whole API, not a stub of it
    assert set(sent) == {o.label for o in operations}
    assert not failures, "\n\n".join(f"== {label}\n{why}" for label, why in failures.items())
    # What the fuzz stored must not poison the background: a year-26 alert once made the grouping
    # worker fail on every pass while every answer stayed a 200.
    client = seeded.live.client
    assert client.post(AM, json=payload(am_alert("after-fuzz", "fuzz-canary"))).status_code == 200
    seeded.live.wait_for(
        "the canary's incident",
        lambda: any(i["symptom"] == "fuzz-canary" for i in client.get("/api/v1/incidents").json()),
    )


def test_every_operation_the_spec_secures_refuses_a_caller_without_credentials(seeded: Seeded) -> None:
    """The spec's `security` is documentation (api/security_docs.py); this holds the routes to it."""
    spec = seeded.live.client.get("/openapi.json").json()
    secured = 0
    with httpx.Client(base_url=seeded.live.url, timeout=30) as anonymous:
        for path, operations in spec["paths"].items():
            for method, operation in operations.items():
                if not operation.get("security"):
                    continue
                secured += 1
                url = path.format(
                    **{p["name"]: "x" for p in operation.get("parameters", ()) if p["in"] == "path"}
                )
                response = anonymous.request(
                    method, url, content=b"{}", headers={"content-type": "application/json"}
                )
                assert response.status_code == 401, (method, path, response.status_code, response.text)
                assert response.headers["www-authenticate"] == "Bearer", (method, path)
    assert secured == len([1 for ops in spec["paths"].values() for _ in ops]) - 1  # all but /healthz


# --- MCP (not in the OpenAPI spec: a mount speaking JSON-RPC over streamable HTTP) -------------------

OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
ISO_TIMES = st.datetimes(timezones=st.none() | OFFSETS).map(datetime.isoformat)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def _argument(schema: dict[str, Any], seeded_ids: dict[str, str], name: str) -> st.SearchStrategy[Any]:
    """A value of the declared type (seeded ids and ISO times among the strings), or anything at all."""
    declared = schema.get("type")
    if declared == "integer":
        typed: st.SearchStrategy[Any] = st.integers() | st.integers(-(2**70), 2**70)
    elif declared == "string":
        typed = st.text(max_size=30) | ISO_TIMES
        if name in seeded_ids:
            typed = typed | st.just(seeded_ids[name])
        if name == "status":
            typed = typed | st.sampled_from(["open", "acknowledged", "resolved", "all"])
    else:
        typed = JSON_VALUES
    return typed | typed | JSON_VALUES  # mostly well-typed, so the tool body runs, not only validation


def test_every_mcp_tool_answers_a_result_or_a_named_error_never_a_crash(seeded: Seeded) -> None:
    """The SDK turns a crash inside a tool into the bare `Error executing tool <name>` (the exception
    stays on the server); a deliberate ToolError or bad arguments add `: <why>`. Only the latter may
    reach the agent."""
    ids = {**seeded.ids, "service": "checkout"}
    crashes: dict[str, str] = {}
    answered: Counter[str] = Counter()
    with start_blocking_portal() as portal:
        http = httpx2.AsyncClient(headers=AUTH, timeout=30)
        client = Client(streamable_http_client(f"{seeded.live.url}/mcp", http_client=http))
        with portal.wrap_async_context_manager(http), portal.wrap_async_context_manager(client):
            tools = portal.call(client.list_tools).tools
            assert len(tools) >= 6
            for tool in tools:
                properties: dict[str, Any] = tool.input_schema.get("properties", {})
                arguments = st.fixed_dictionaries(
                    {},
                    optional={name: _argument(schema, ids, name) for name, schema in properties.items()},
                )

                @settings(
                    max_examples=EXAMPLES_PER_OPERATION,
                    deadline=None,
                    database=None,
                    suppress_health_check=list(HealthCheck),
                )
                @given(name=st.just(tool.name), arguments=arguments)
                def answers(name: str, arguments: dict[str, Any]) -> None:
                    result = portal.call(client.call_tool, name, arguments)
                    answered["error" if result.is_error else "result"] += 1
                    if result.is_error:
                        text = " ".join(getattr(c, "text", "") for c in result.content)
                        assert text.startswith(f"Error executing tool {name}: "), (arguments, text)

                try:
                    answers()
                except (Exception, BaseExceptionGroup) as exc:
                    crashes[tool.name] = str(exc)
    assert not crashes, "\n\n".join(f"== {name}\n{why}" for name, why in crashes.items())
    assert answered["result"] and answered["error"], answered  # both the tool bodies and their refusals ran
