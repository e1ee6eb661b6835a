"""Drive one incident case into a running Mission Control over HTTP, in the real formats, and time it.

    sender = CaseSender("http://127.0.0.1:8080", token, formats)
    result = sender.drive(labeled.case)          # catalog, changes, telemetry, alert, then the brief
    result.top1, result.latency_s                # live top-1; alert received → brief stored (server clock)

Telemetry goes in OTLP/JSON bodies no larger than `max_body_bytes` (split by items, then by points).
429 and 503 answers are retried after their Retry-After, within a deadline: nothing is dropped quietly.
"""

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import httpx
import yaml

from missioncontrol.domain import (
    Alert,
    Case,
    Change,
    MissionControlError,
    ServiceGraph,
    Telemetry,
)

ALERT_ROUTE = "/api/v1/alerts/alertmanager"
CHANGES_ROUTE = "/api/v1/changes/cdevents"
CATALOG_ROUTES = ("/api/v1/catalog/backstage", "/api/v1/catalog")
OTLP_ROUTES = {"traces": "/v1/traces", "metrics": "/v1/metrics", "logs": "/v1/logs"}
FIRST_CHUNK = 4000  # items per body before size splitting


class SendError(MissionControlError):
    """The service refused or failed a payload the sender had to deliver."""


@dataclass(frozen=True, slots=True)
class WireFormats:
    """The payload encoders a sender uses; bootstrap fills them from the connectors."""

    telemetry: Callable[[Telemetry], Mapping[str, Mapping[str, Any]]]  # signal → OTLP/JSON request
    alerts: Callable[[Sequence[Alert]], Mapping[str, Any]]  # Alertmanager webhook v4
    changes: Callable[[Sequence[Change]], Sequence[Mapping[str, Any]]]  # CDEvents service.deployed
    catalog: Callable[[ServiceGraph], str]  # Backstage catalog-info.yaml


@dataclass(slots=True)
class LiveResult:
    """What one case did on the live path."""

    case_id: str
    incident_id: str | None = None
    top1: str | None = None
    ranked: tuple[str, ...] = ()
    confidence: float | None = None
    latency_s: float | None = None  # alert received → diagnosis done (brief.generated_at), server clock
    client_latency_s: float | None = None  # alert POST started → stored brief first read back over HTTP
    send_s: float = 0.0  # catalog, changes and telemetry upload
    sent: dict[str, int] = field(default_factory=dict)  # items sent per kind
    requests: int = 0
    skipped: str = ""  # why the case could not run live (e.g. no alert fired)
    brief: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the result without the brief body."""
        return {
            "case_id": self.case_id,
            "incident_id": self.incident_id,
            "top1": self.top1,
            "ranked": list(self.ranked[:5]),
            "confidence": self.confidence,
            "latency_s": self.latency_s,
            "client_latency_s": self.client_latency_s,
            "send_s": round(self.send_s, 3),
            "sent": self.sent,
            "requests": self.requests,
            "skipped": self.skipped,
        }


def split_telemetry(telemetry: Telemetry, chunk: int = FIRST_CHUNK) -> Iterator[Telemetry]:
    """Yield telemetry in pieces of at most `chunk` spans, log records or metric series each."""
    for i in range(0, len(telemetry.metrics), chunk):
        yield Telemetry(metrics=telemetry.metrics[i : i + chunk])
    for i in range(0, len(telemetry.logs), chunk):
        yield Telemetry(logs=telemetry.logs[i : i + chunk])
    for i in range(0, len(telemetry.spans), chunk):
        yield Telemetry(spans=telemetry.spans[i : i + chunk])


def _halves(part: Telemetry) -> tuple[Telemetry, Telemetry] | None:
    """Split a one-kind piece in two: by items, or a lone metric series by its points."""
    if len(part.spans) > 1:
        mid = len(part.spans) // 2
        return Telemetry(spans=part.spans[:mid]), Telemetry(spans=part.spans[mid:])
    if len(part.logs) > 1:
        mid = len(part.logs) // 2
        return Telemetry(logs=part.logs[:mid]), Telemetry(logs=part.logs[mid:])
    if len(part.metrics) > 1:
        mid = len(part.metrics) // 2
        return Telemetry(metrics=part.metrics[:mid]), Telemetry(metrics=part.metrics[mid:])
    if len(part.metrics) == 1 and len(part.metrics[0].values) > 1:
        s = part.metrics[0]
        mid = len(s.values) // 2
        a = replace(s, timestamps=s.timestamps[:mid], values=s.values[:mid])
        b = replace(s, timestamps=s.timestamps[mid:], values=s.values[mid:])
        return Telemetry(metrics=(a,)), Telemetry(metrics=(b,))
    return None


def _dump(body: object) -> bytes:
    return json.dumps(body, separators=(",", ":"), allow_nan=False).encode()


class CaseSender:
    """Sends a case's world, telemetry and alert to one service and waits for the brief."""

    def __init__(
        self,
        base_url: str,
        token: str,
        formats: WireFormats,
        *,
        max_body_bytes: int = 900_000,
        timeout_s: float = 60.0,
        retry_for_s: float = 120.0,
    ) -> None:
        self.formats = formats
        self.max_body_bytes = max_body_bytes
        self.retry_for_s = retry_for_s
        self.client = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}"},
            timeout=timeout_s,
        )
        self._paths: set[str] | None = None
        self.requests = 0

    def close(self) -> None:
        """Close the HTTP connections."""
        self.client.close()

    def __enter__(self) -> "CaseSender":
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- what the service offers ----------------------------------------------------------------

    def paths(self) -> set[str]:
        """Return the paths the service's OpenAPI document lists (read once)."""
        if self._paths is None:
            answer = self.client.get("/openapi.json")
            answer.raise_for_status()
            self._paths = set(answer.json().get("paths", {}))
        return self._paths

    def missing_routes(self) -> list[str]:
        """Return the ingest routes a full replay needs that this service does not serve."""
        needed = [ALERT_ROUTE, CHANGES_ROUTE, *OTLP_ROUTES.values()]
        return [p for p in needed if p not in self.paths()]

    # --- sending ---------------------------------------------------------------------------------

    def post(self, path: str, body: bytes, *, content_type: str = "application/json") -> httpx.Response:
        """POST `body`; retry 429/503 after Retry-After within the deadline; raise on any other failure."""
        deadline = time.monotonic() + self.retry_for_s
        while True:
            self.requests += 1
            answer = self.client.post(path, content=body, headers={"Content-Type": content_type})
            if answer.is_success:
                return answer
            if answer.status_code in (429, 503) and time.monotonic() < deadline:
                time.sleep(min(5.0, float(answer.headers.get("Retry-After", "1") or 1)))
                continue
            raise SendError(f"POST {path} answered {answer.status_code}: {answer.text[:300]}")

    def send_catalog(self, graph: ServiceGraph, *, catalog_yaml: str | None = None) -> int:
        """POST the estate's catalog-info.yaml where the service has a catalog route; return components.

        `catalog_yaml` is the estate's own catalog (owners, systems, tiers, teams); without it the
        graph alone is sent as Components with their dependencies.
        """
        route = next((r for r in CATALOG_ROUTES if r in self.paths()), None)
        if route is None:
            return 0
        if catalog_yaml is not None:
            self.post(route, catalog_yaml.encode(), content_type="application/yaml")
            return sum(
                1 for doc in yaml.safe_load_all(catalog_yaml) if (doc or {}).get("kind") == "Component"
            )
        if not graph.services:
            return 0
        self.post(route, self.formats.catalog(graph).encode(), content_type="application/yaml")
        return len(graph.services)

    def send_changes(self, changes: Sequence[Change]) -> int:
        """POST the changes as CDEvents (one JSON array); return how many were sent."""
        if not changes or CHANGES_ROUTE not in self.paths():
            return 0
        self.post(CHANGES_ROUTE, _dump(list(self.formats.changes(changes))))
        return len(changes)

    def send_telemetry(self, telemetry: Telemetry) -> dict[str, int]:
        """POST telemetry as OTLP/JSON on /v1/<signal> in bodies under the size limit; return counts."""
        counts = {"metric_points": 0, "logs": 0, "spans": 0}
        pending = list(split_telemetry(telemetry))
        while pending:
            part = pending.pop(0)
            bodies = self.formats.telemetry(part)
            encoded = {signal: _dump(body) for signal, body in bodies.items()}
            if any(len(b) > self.max_body_bytes for b in encoded.values()):
                halves = _halves(part)
                if halves is None:
                    raise SendError(f"one telemetry item encodes to more than {self.max_body_bytes} bytes")
                pending[:0] = halves
                continue
            for signal, body in encoded.items():
                if OTLP_ROUTES[signal] in self.paths():
                    self.post(OTLP_ROUTES[signal], body)
            counts["metric_points"] += sum(len(m.values) for m in part.metrics)
            counts["logs"] += len(part.logs)
            counts["spans"] += len(part.spans)
        return counts

    def send_alerts(self, alerts: Sequence[Alert]) -> httpx.Response:
        """POST the alerts as one Alertmanager webhook v4 notification."""
        return self.post(ALERT_ROUTE, _dump(self.formats.alerts(alerts)))

    # --- reading back ------------------------------------------------------------------------------

    def incident_of(self, alert: Alert) -> dict[str, Any] | None:
        """Return the incident holding `alert` (by fingerprint and start), or None while it is ungrouped."""
        answer = self.client.get("/api/v1/incidents", params={"limit": 50})
        answer.raise_for_status()
        for summary in answer.json():
            detail = self.client.get(f"/api/v1/incidents/{summary['id']}")
            if detail.status_code != 200:
                continue
            incident: dict[str, Any] = detail.json()
            for a in incident.get("alerts", ()):
                if a["fingerprint"] == alert.fingerprint and _same_time(a["started_at"], alert.started_at):
                    return incident
        return None

    def wait_for_brief(
        self, alert: Alert, *, timeout_s: float = 60.0, poll_s: float = 0.05
    ) -> tuple[dict[str, Any], dict[str, Any], float]:
        """Poll until the alert's incident has a brief; return (incident, brief, monotonic time seen)."""
        deadline = time.monotonic() + timeout_s
        incident: dict[str, Any] | None = None
        while time.monotonic() < deadline:
            if incident is None:
                incident = self.incident_of(alert)
            if incident is not None:
                answer = self.client.get(f"/api/v1/incidents/{incident['id']}/brief")
                if answer.status_code == 200:
                    return incident, answer.json(), time.monotonic()
                if answer.status_code not in (404, 409):
                    raise SendError(f"GET brief answered {answer.status_code}: {answer.text[:300]}")
            time.sleep(poll_s)
        where = f"incident {incident['id']} has no brief" if incident else "no incident holds the alert"
        raise SendError(f"after {timeout_s:.0f} s {where}")

    def drive(
        self, case: Case, *, baseline: bool = True, timeout_s: float = 60.0, catalog_yaml: str | None = None
    ) -> LiveResult:
        """Send the case's world, telemetry (and its healthy reference run) and alert; await the brief.

        `catalog_yaml`, when the estate has one, is its Backstage catalog; else the case's graph is sent.
        """
        result = LiveResult(case_id=case.id)
        if case.alert is None:
            result.skipped = "no alert fired: nothing starts the live path"
            return result
        started = time.monotonic()
        graph = case.graph if case.graph is not None else ServiceGraph(edges=frozenset())
        result.sent["catalog"] = self.send_catalog(graph, catalog_yaml=catalog_yaml)
        result.sent["changes"] = self.send_changes(case.changes)
        if baseline:
            for key, n in self.send_telemetry(case.baseline).items():
                result.sent[f"baseline_{key}"] = n
        result.sent.update(self.send_telemetry(case.telemetry))
        result.send_s = time.monotonic() - started
        posted = time.monotonic()
        self.send_alerts([case.alert])
        incident, brief, seen = self.wait_for_brief(case.alert, timeout_s=timeout_s)
        result.requests = self.requests
        result.incident_id = incident["id"]
        result.brief = brief
        result.client_latency_s = round(seen - posted, 4)
        received = next(
            (a["received_at"] for a in incident["alerts"] if a["fingerprint"] == case.alert.fingerprint), None
        )
        if received is not None:
            result.latency_s = round((_parse(brief["generated_at"]) - _parse(received)).total_seconds(), 4)
        hypotheses = brief["diagnosis"]["hypotheses"]
        result.ranked = tuple(h["service"] for h in hypotheses)
        result.top1 = result.ranked[0] if result.ranked else None
        result.confidence = hypotheses[0]["confidence"] if hypotheses else None
        return result


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _same_time(value: str, at: datetime) -> bool:
    return abs((_parse(value) - at).total_seconds()) < 0.001
