"""Prometheus at investigation time: the worker's `Case` holds the series pulled from the real Debian
`prometheus`, beside the embedded store's; a Prometheus that is down reads as failed and the investigation
still completes from the embedded store.

The live Prometheus scrapes a tiny exporter served by this test every second, one scrape job per
service (so `job` is the service, as the OpenTelemetry mapping sets it), publishing the metrics the
built-in queries expect: `process_cpu_seconds_total`, `process_resident_memory_bytes` and the
`http_server_request_duration_seconds` histogram with `http_response_status_code`.
"""

from collections.abc import Collection, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from tests.connectors.prometheus_server import TextExporter, free_port, running_prometheus
from typer.testing import CliRunner

from missioncontrol import bootstrap
from missioncontrol.cli.main import app
from missioncontrol.connectors.prometheus import (
    PrometheusClient,
    PrometheusTelemetrySource,
    PullConfig,
    PullingTelemetryStore,
    QuerySet,
    default_queries,
)
from missioncontrol.domain import (
    Alert,
    AlertStatus,
    Brief,
    Case,
    Diagnosis,
    Incident,
    IncidentId,
    IncidentStatus,
    MetricSeries,
    ServiceId,
    Severity,
    Telemetry,
)
from missioncontrol.engine.investigate import Investigator
from missioncontrol.ports import ConnectorState
from missioncontrol.settings import Settings

S = ServiceId
SERVICES = ("checkout", "cart")
BUILTIN = ("up", "cpu_seconds_rate", "memory_resident_bytes", "http_request_rate", "http_error_rate")


class Exporter(TextExporter):
    """`/metrics/<service>`: CPU and request counters that grow each scrape, memory, a latency histogram."""

    def __init__(self) -> None:
        self.scrapes: dict[str, int] = {}
        super().__init__(self.body)

    def body(self, path: str) -> str:
        service = path.rsplit("/", 1)[-1]
        n = self.scrapes[service] = self.scrapes.get(service, 0) + 1
        ok, failed = 100 * n, (10 if service == "checkout" else 1) * n
        hist = "http_server_request_duration_seconds"
        lines = [
            "# TYPE process_cpu_seconds_total counter",
            f"process_cpu_seconds_total {0.5 * n}",
            "# TYPE process_resident_memory_bytes gauge",
            f"process_resident_memory_bytes {200_000_000 + 1_000 * n}",
            f"# TYPE {hist} histogram",
        ]
        for code, count in (("200", ok), ("500", failed)):
            for le, share in (("0.05", 0.5), ("0.25", 0.9), ("1", 1.0), ("+Inf", 1.0)):
                labels = f'http_response_status_code="{code}",le="{le}"'
                lines.append(f"{hist}_bucket{{{labels}}} {int(count * share)}")
            lines.append(f'{hist}_count{{http_response_status_code="{code}"}} {count}')
            lines.append(f'{hist}_sum{{http_response_status_code="{code}"}} {count * 0.08}')
        return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def prometheus_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exporter = Exporter()
    jobs = "".join(
        f"  - job_name: {service}\n    metrics_path: /metrics/{service}\n    static_configs:\n"
        f"      - targets: ['127.0.0.1:{exporter.port}']\n"
        for service in SERVICES
    )
    try:
        with running_prometheus(
            tmp_path_factory.mktemp("prometheus"),
            jobs,
            ready_query="count_over_time(up[1m])",
            is_ready=lambda counts: len(counts) == len(SERVICES) and min(counts) >= 6,
            what="6 scrapes of each job",
        ) as url:
            yield url
    finally:
        exporter.close()


# --- an embedded store and an incident, as the worker has them -------------------------------------


class MemoryStore:
    """A `TelemetryStore` holding samples in memory (the embedded chDB store's contract, no chDB)."""

    def __init__(self, telemetry: Telemetry) -> None:
        self.telemetry = telemetry

    def append(self, telemetry: Telemetry) -> None:
        self.telemetry = Telemetry(metrics=self.telemetry.metrics + telemetry.metrics)

    def read(
        self,
        *,
        start: datetime,
        end: datetime,
        services: Collection[ServiceId] | None = None,
        spans_from: datetime | None = None,  # it holds no spans
    ) -> Telemetry:
        lo, hi = start.timestamp(), end.timestamp()
        kept = []
        for m in self.telemetry.metrics:
            if services is not None and m.service not in services:
                continue
            points = [(t, v) for t, v in zip(m.timestamps, m.values, strict=True) if lo <= t < hi]
            if points:
                kept.append(
                    replace(m, timestamps=tuple(t for t, _ in points), values=tuple(v for _, v in points))
                )
        return Telemetry(metrics=tuple(kept))


class Briefs:
    def __init__(self) -> None:
        self.saved: list[Brief] = []

    def save_brief(self, brief: Brief) -> None:
        self.saved.append(brief)

    def latest_brief(self, incident_id: IncidentId) -> Brief | None:
        return self.saved[-1] if self.saved else None

    def incidents_without_brief(self) -> tuple[IncidentId, ...]:
        return ()


class Incidents:
    def __init__(self, incident: Incident) -> None:
        self.one = incident

    def incident(self, incident_id: IncidentId) -> Incident | None:
        return self.one if incident_id == self.one.id else None

    def incident_digest(self, incident_id: IncidentId) -> Incident | None:
        return self.incident(incident_id)  # one alert: it is its own digest


class RecordingEngine:
    """The real engine, remembering the case it was given."""

    name = "missioncontrol"

    def __init__(self) -> None:
        self.engine = bootstrap.build_engine(Settings(workers=1))
        self.cases: list[Case] = []

    def diagnose(self, case: Case) -> Diagnosis:
        self.cases.append(case)
        return self.engine.diagnose(case)


def pushed(now: datetime) -> Telemetry:
    """Error rate of checkout, pushed over OTLP: calm for 20 minutes, then failing."""
    start = (now - timedelta(minutes=20)).timestamp()
    times = tuple(start + 15 * i for i in range(80))
    values = tuple(0.01 if i < 70 else 0.4 for i in range(80))
    return Telemetry(metrics=(MetricSeries(S("checkout"), "error_rate", times, values),))


def incident_at(now: datetime) -> Incident:
    fired = now - timedelta(seconds=5)
    alert = Alert(
        fingerprint="f1",
        name="HighErrorRate",
        severity=Severity.CRITICAL,
        status=AlertStatus.FIRING,
        service=S("checkout"),
        signal="error_rate",
        started_at=fired,
        received_at=fired,
    )
    return Incident(
        id=IncidentId("inc-1"),
        title="checkout errors",
        status=IncidentStatus.OPEN,
        severity=Severity.CRITICAL,
        symptom=S("checkout"),
        opened_at=fired,
        updated_at=fired,
        alerts=(alert,),
    )


def investigate(store: PullingTelemetryStore, now: datetime) -> tuple[Case, Brief]:
    engine, briefs = RecordingEngine(), Briefs()
    investigator = Investigator(
        engine, Incidents(incident_at(now)), briefs, telemetry=store, clock=lambda: now
    )
    brief = investigator.investigate(IncidentId("inc-1"))
    assert brief is not None and briefs.saved == [brief]
    (case,) = engine.cases
    return case, brief


def source_for(url: str, *, step_s: float = 1.0) -> PrometheusTelemetrySource:
    return PrometheusTelemetrySource(
        PrometheusClient(url, timeout_s=5), QuerySet(default_queries(), step_s=step_s)
    )


# --- the tests ------------------------------------------------------------------------------------


def test_an_investigations_case_holds_the_series_pulled_from_prometheus(prometheus_url: str) -> None:
    now = datetime.now(UTC)
    embedded = MemoryStore(pushed(now))
    # cart has no pushed samples: the world's graph (here a fixed scope) puts it in scope.
    store = PullingTelemetryStore(embedded, source_for(prometheus_url), scope=lambda at: {S("cart")})

    case, brief = investigate(store, now)

    by_key = {(m.service, m.metric): m for m in case.telemetry.metrics}
    assert ("checkout", "error_rate") in by_key, "the embedded store's series are still there"
    for service in SERVICES:
        for name in BUILTIN:
            assert (service, name) in by_key, f"no pulled {name} for {service}: {sorted(by_key)}"
    assert set(by_key[("checkout", "up")].values) == {1.0}
    assert all(v > 0 for v in by_key[("checkout", "cpu_seconds_rate")].values)
    assert min(by_key[("cart", "memory_resident_bytes")].values) >= 200_000_000
    checkout_errors = by_key[("checkout", "http_error_rate")].values
    cart_errors = by_key[("cart", "http_error_rate")].values
    assert max(checkout_errors) > 5 * max(cart_errors) > 0  # 10 vs 1 failed per scrape
    assert ("checkout", "http_latency_p99_seconds") in by_key
    pulled = by_key[("checkout", "cpu_seconds_rate")]
    assert all(
        b - a == pytest.approx(1.0) for a, b in zip(pulled.timestamps, pulled.timestamps[1:], strict=False)
    )
    assert max(pulled.timestamps) < now.timestamp()  # reads are [start, end); query_range is inclusive
    status = store.status()
    assert status.state is ConnectorState.ENABLED and "0 failed" in status.detail, status
    assert brief.diagnosis.hypotheses, "the engine ranked something from the merged telemetry"
    assert store.last_read_gaps() == () and not any("prometheus" in n for n in brief.notes)
    store.close()


def test_a_prometheus_that_is_down_is_a_failed_status_and_the_investigation_uses_the_embedded_store() -> None:
    now = datetime.now(UTC)
    dead = f"http://127.0.0.1:{free_port()}"
    clock = [100.0]
    store = PullingTelemetryStore(
        MemoryStore(pushed(now)),
        source_for(dead),
        scope=lambda at: {S("cart")},
        config=PullConfig(retry_after_s=30),
        clock=lambda: clock[0],
    )

    case, brief = investigate(store, now)

    assert [(m.service, m.metric) for m in case.telemetry.metrics] == [("checkout", "error_rate")]
    assert brief.diagnosis.hypotheses and brief.diagnosis.hypotheses[0].service == "checkout"
    status = store.status()
    assert status.state is ConnectorState.FAILED
    assert status.detail.startswith("Prometheus not reachable: ConnectError") and dead in status.detail
    # The brief says what it could not see, rather than read as if it had seen everything.
    (gap,) = [n for n in brief.notes if n.startswith(f"{store.source.name}:")]
    assert "its series are missing from this read" in gap and "ConnectError" in gap
    assert store.last_read_gaps() == (gap,)
    # Within retry_after_s, reads skip the dead server at once instead of waiting on it again.
    checks: list[float] = []
    original = store.source.check

    def counted_check(*, timeout_s: float | None = None) -> str:
        checks.append(1)
        return original(timeout_s=timeout_s)

    store.source.check = counted_check  # type: ignore[method-assign]
    store.read(start=now - timedelta(minutes=5), end=now)
    assert checks == []
    (skipped,) = store.last_read_gaps()
    assert "not asked, it failed moments ago" in skipped
    clock[0] += 31
    store.read(start=now - timedelta(minutes=5), end=now)
    assert checks == [1]
    store.close()


def test_every_query_failing_is_a_failed_status_with_the_first_error(prometheus_url: str) -> None:
    now = datetime.now(UTC)
    broken = PrometheusTelemetrySource(
        PrometheusClient(prometheus_url), QuerySet({"cpu": 'sum(rate(x{job="{service}"}[1m])'}, step_s=1)
    )
    store = PullingTelemetryStore(MemoryStore(pushed(now)), broken)

    telemetry = store.read(start=now - timedelta(minutes=1), end=now)

    assert [m.metric for m in telemetry.metrics] == ["error_rate"]
    status = store.status()
    assert status.state is ConnectorState.FAILED
    assert "every query failed" in status.detail and "bad_data" in status.detail
    (gap,) = store.last_read_gaps()
    assert "every query failed" in gap and "bad_data" in gap
    # Another thread's reads keep their own account: it read nothing yet.
    with ThreadPoolExecutor(max_workers=1) as other:
        assert other.submit(store.last_read_gaps).result() == ()
    store.close()


def test_bootstrap_wraps_the_store_only_when_prometheus_is_configured(tmp_path: Path) -> None:
    embedded = MemoryStore(Telemetry())
    assert bootstrap.build_investigation_telemetry(Settings(state_dir=tmp_path), embedded) is embedded

    settings = Settings(
        state_dir=tmp_path,
        prometheus_url="http://127.0.0.1:9",
        prometheus_service_label="service",
        prometheus_step_s=30,
    )
    wrapped = bootstrap.build_investigation_telemetry(settings, embedded)
    assert isinstance(wrapped, PullingTelemetryStore) and wrapped.store is embedded
    assert wrapped.source.queries.step_s == 30
    assert 'service="{service}"' in wrapped.source.queries.queries["http_error_rate"]
    wrapped.close()

    inline = Settings(
        state_dir=tmp_path,
        prometheus_url="http://127.0.0.1:9",
        prometheus_query_set={"cpu_ratio": 'avg(cpu{app="{service}"})'},
    )
    wrapped = bootstrap.build_investigation_telemetry(inline, embedded)
    assert isinstance(wrapped, PullingTelemetryStore)
    assert wrapped.source.queries.queries == {"cpu_ratio": 'avg(cpu{app="{service}"})'}
    wrapped.close()


def test_connector_status_probes_prometheus_enabled_failed_and_disabled(
    prometheus_url: str, tmp_path: Path
) -> None:
    def prometheus_status(settings: Settings) -> tuple[ConnectorState, str]:
        (status,) = [s for s in bootstrap.connector_statuses(settings, probe=True) if s.name == "prometheus"]
        return status.state, status.detail

    state, detail = prometheus_status(Settings(state_dir=tmp_path))
    assert state is ConnectorState.DISABLED and "not configured" in detail

    state, detail = prometheus_status(Settings(state_dir=tmp_path, prometheus_url=prometheus_url))
    assert state is ConnectorState.ENABLED
    assert detail.startswith("Prometheus 2.") and f"at {prometheus_url}: 6 queries per service" in detail

    dead = f"http://127.0.0.1:{free_port()}"
    state, detail = prometheus_status(Settings(state_dir=tmp_path, connectors={"prometheus": {"url": dead}}))
    assert state is ConnectorState.FAILED and detail.startswith("Prometheus not reachable: ConnectError")


def test_connectors_list_shows_a_down_prometheus_as_failed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    dead = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        app, ["connectors", "list"], env={"MISSIONCONTROL_PROMETHEUS_URL": dead, "COLUMNS": "250"}
    )
    assert result.exit_code == 1, result.output
    row = next(line for line in result.output.splitlines() if "prometheus" in line and "│" in line)
    assert "failed" in row and "Prometheus not reachable" in " ".join(result.output.split())


def test_some_queries_failing_is_a_partial_gap_beside_what_was_pulled(prometheus_url: str) -> None:
    now = datetime.now(UTC)
    queries = {"up": 'up{job="{service}"}', "broken": 'sum(rate(x{job="{service}"}[1m])'}
    source = PrometheusTelemetrySource(PrometheusClient(prometheus_url), QuerySet(queries, step_s=1))
    store = PullingTelemetryStore(MemoryStore(pushed(now)), source)

    telemetry = store.read(start=now - timedelta(minutes=1), end=now)

    assert "up" in {m.metric for m in telemetry.metrics}, "the good query's series are kept"
    (gap,) = store.last_read_gaps()
    assert "some of its series are missing" in gap and "queries failed" in gap and "bad_data" in gap
    assert store.status().state is ConnectorState.ENABLED
    store.close()
