"""Fixtures for the board's tests: a realistic brief, and real HTTP servers on loopback."""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from missioncontrol.domain import (
    ActionOption,
    Alert,
    AlertStatus,
    Brief,
    Decision,
    Diagnosis,
    Evidence,
    EvidenceKind,
    FaultKind,
    GroupingReason,
    Hypothesis,
    Impact,
    Incident,
    IncidentId,
    IncidentStatus,
    ServiceGraph,
    ServiceId,
    Severity,
    SimilarIncident,
    Stance,
    Verdict,
    Weakened,
)

SRC = Path(__file__).resolve().parents[2] / "src" / "missioncontrol"
T0 = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
GRAPH = ServiceGraph.from_edges(
    [
        ("frontend", "checkout"),
        ("frontend", "catalog"),
        ("checkout", "payments"),
        ("checkout", "cart"),
        ("cart", "redis"),
        ("payments", "payments-db"),
        ("catalog", "catalog-db"),
    ]
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Run `app` under uvicorn on a free loopback port in a thread; yield its base URL."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("loopback server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def evidence(
    service: str,
    summary: str,
    *,
    kind: EvidenceKind = EvidenceKind.METRIC_ANOMALY,
    query: str = "",
    **kw: Any,
) -> Evidence:
    return Evidence(
        kind=kind,
        service=ServiceId(service),
        summary=summary,
        source=kw.pop("source", "metrics"),
        query=query or f"{service}:latency_p90",
        window=(T0 - timedelta(minutes=30), T0 + timedelta(minutes=5)),
        stance=kw.pop("stance", Stance.SUPPORTS),
        value=kw.pop("value", 3.2),
        baseline=kw.pop("baseline", 1.0),
        weight=kw.pop("weight", 0.4),
    )


def make_incident(
    n: int = 1, *, severity: Severity = Severity.CRITICAL, service: str = "frontend", opened: datetime = T0
) -> Incident:
    alert = Alert(
        fingerprint=f"fp{n:05d}",
        name="HighLatency",
        severity=severity,
        status=AlertStatus.FIRING,
        service=ServiceId(service),
        signal="latency_p90",
        started_at=opened,
        received_at=opened + timedelta(seconds=2),
        summary=f"{service} p90 latency above 800 ms",
    )
    return Incident(
        id=IncidentId(f"inc-{n:05d}"),
        title=f"{service}: HighLatency",
        status=IncidentStatus.OPEN,
        severity=severity,
        symptom=ServiceId(service),
        opened_at=opened,
        updated_at=opened + timedelta(seconds=5),
        alerts=(alert,),
        grouping=(
            GroupingReason(
                alert.fingerprint, "new", "first alert: opened a new incident", opened + timedelta(seconds=3)
            ),
        ),
    )


def make_brief(incident_id: str = "inc-00001", *, extra: tuple[Evidence, ...] = ()) -> Brief:
    path = tuple(ServiceId(s) for s in ("frontend", "checkout", "payments"))
    top = Hypothesis(
        service=ServiceId("payments"),
        fault=FaultKind.CPU,
        cause="payments saturated its CPU",
        score=2.5,
        confidence=0.72,
        path=path,
        evidence=(
            evidence("payments", "payments cpu 4.1× its baseline", query="payments:cpu_usage", value=4.1),
            evidence(
                "payments",
                "error log template surged: 'timeout acquiring connection <*>'",
                kind=EvidenceKind.LOG_PATTERN,
                source="logs",
                query="timeout acquiring connection <*>",
                value=120,
                baseline=2,
            ),
            *extra,
        ),
        onset_at=T0 - timedelta(minutes=3),
    )
    second = Hypothesis(
        service=ServiceId("cart"),
        fault=FaultKind.LATENCY,
        cause="cart slowed down",
        score=0.9,
        confidence=0.12,
        path=(ServiceId("frontend"), ServiceId("checkout"), ServiceId("cart")),
        evidence=(evidence("cart", "cart latency 1.4× its baseline", value=1.4),),
    )
    diagnosis = Diagnosis(
        case_id=incident_id,
        method="missioncontrol",
        symptom=ServiceId("frontend"),
        onset_at=T0 - timedelta(minutes=3),
        window=(T0 - timedelta(minutes=30), T0 + timedelta(minutes=5)),
        hypotheses=(top, second),
        weakened=(Weakened(second, "its onset came after payments'"),),
        blast_radius=(ServiceId("frontend"), ServiceId("checkout")),
    )
    return Brief(
        incident_id=IncidentId(incident_id),
        generated_at=T0 + timedelta(seconds=4),
        diagnosis=diagnosis,
        impact=Impact(
            signals=("frontend latency_p90 3.2× baseline",),
            since=T0 - timedelta(minutes=2),
            summary="checkout is slow for users",
        ),
        owner="team-payments",
        similar=(
            SimilarIncident(
                "inc-00042",
                "payments CPU saturation",
                0.81,
                ServiceId("payments"),
                FaultKind.CPU,
                fix="rolled back payments 2.3.1",
                resolved_at=T0 - timedelta(days=9),
                why_similar="same symptom and cpu evidence",
            ),
        ),
        decision=Decision(
            verdict=Verdict.ACT,
            on_duty_tier="L1",
            actions=(ActionOption("restart", ServiceId("payments"), "L1", ("L2",), "CPU saturation"),),
            page_team="team-payments",
        ),
    )


@pytest.fixture
def brief_factory() -> Callable[..., Brief]:
    return make_brief


@pytest.fixture
def incident_factory() -> Callable[..., Incident]:
    return make_incident


@pytest.fixture
def loopback() -> Callable[[Any], Any]:
    """Return `serve`: a context manager running an ASGI app on loopback, yielding its URL."""
    return serve


@pytest.fixture
def graph() -> ServiceGraph:
    return GRAPH


PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "carol": "carol-pw", "dave": "dave-pw"}


class Estate:
    """A real state store (SQLite file, migrated) behind a real app, filled through the stores' own API."""

    def __init__(self, tmp_path: Any) -> None:
        from sqlalchemy import Engine

        from missioncontrol.api.app import create_app
        from missioncontrol.api.runtime import Runtime
        from missioncontrol.connectors.policyfile import read_policy
        from missioncontrol.settings import Settings
        from missioncontrol.storage.db import create_db_engine, migrate
        from missioncontrol.storage.incidents import SqlIncidentStore
        from missioncontrol.storage.threads import ThreadStore
        from missioncontrol.web.auth import hash_password

        self.engine: Engine = create_db_engine(f"sqlite:///{tmp_path / 'state.db'}")
        migrate(self.engine)
        self.store = SqlIncidentStore(self.engine)
        policy_path = SRC / "connectors/policyfile/samples/policy.yaml"
        settings = Settings(
            state_dir=tmp_path,
            web_passwords={name: hash_password(pw, iterations=1000) for name, pw in PASSWORDS.items()},
        )
        self.runtime = Runtime(
            settings=settings,
            api_tokens=("test-token",),
            inbox=None,  # type: ignore[arg-type]  # the board never ingests
            incidents=self.store,
            briefs=self.store,
            alert_mappers={},
            threads=ThreadStore(self.engine),
            policy=read_policy(policy_path),
            web_secret="test-web-secret",
        )
        from missioncontrol.storage.board import SqlBoardReader

        self.runtime.board = SqlBoardReader(self.engine)
        from missioncontrol.bootstrap import build_action_desk

        self.runtime.actions = build_action_desk(settings, self.runtime.policy, db=self.engine)
        self.app = create_app(self.runtime)

    def add(self, incident: Incident, brief: Brief | None = None) -> None:
        """Store an incident (its alerts, then the grouping placements) and its brief, as ingest would."""
        from missioncontrol.domain import Placement
        from missioncontrol.storage.incidents import write_alerts

        with self.engine.begin() as conn:
            write_alerts(conn, incident.alerts)
        reasons = {g.fingerprint: g for g in incident.grouping}
        self.store.record_placements(
            [
                Placement(a, incident.id, reasons[a.fingerprint], opens_incident=k == 0, title=incident.title)
                for k, a in enumerate(incident.alerts)
            ]
        )
        if brief is not None:
            self.store.save_brief(brief)


@pytest.fixture
def estate(tmp_path: Any) -> Iterator[Estate]:
    e = Estate(tmp_path)
    yield e
    e.engine.dispose()
