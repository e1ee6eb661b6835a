"""Prometheus pull: mapping on recorded responses, and the client against the real Debian `prometheus`.

The live tests start `/usr/bin/prometheus` (installed by scripts/system-deps.sh) on a free loopback
port with a temporary config and data folder, scraping a tiny exporter served by this test every
second, wait (bounded) for samples, and pull them back through `PrometheusTelemetrySource`.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.connectors.prometheus_server import TextExporter, running_prometheus

from missioncontrol.connectors.prometheus import (
    PrometheusClient,
    PrometheusConfig,
    PrometheusConfigError,
    PrometheusQueryError,
    PrometheusTelemetrySource,
    QuerySet,
    create_source,
    parse_query_config,
    render_query,
    to_query_result,
)
from missioncontrol.connectors.prometheus.mapping import choose_step
from missioncontrol.domain import ServiceId

SAMPLES = Path(__file__).resolve().parents[2] / "src/missioncontrol/connectors/prometheus/samples"
S = ServiceId


def load(name: str) -> Any:
    return json.loads((SAMPLES / name).read_text())


# --- mapping, on responses recorded from Prometheus 2.42 -----------------------------------------


def test_a_recorded_matrix_maps_to_one_series_per_label_set() -> None:
    result = to_query_result(
        load("query_range_matrix.json"), service=S("checkout"), name="cpu", query="q", context="ctx"
    )
    assert len(result.series) == 2
    names = sorted(s.metric for s in result.series)
    assert all(n.startswith("cpu{") and 'service="' in n and "__name__" not in n for n in names)
    for series in result.series:
        assert series.service == "checkout"
        assert len(series.timestamps) >= 3
        assert list(series.timestamps) == sorted(series.timestamps)
        assert all(
            b - a == pytest.approx(1.0)
            for a, b in zip(series.timestamps, series.timestamps[1:], strict=False)
        )
    assert {s.values[0] for s in result.series} == {0.25, 0.5}


def test_a_single_series_keeps_the_configured_name() -> None:
    payload = load("query_range_matrix.json")
    payload["data"]["result"] = payload["data"]["result"][:1]
    (series,) = to_query_result(payload, service=S("checkout"), name="cpu", query="q", context="ctx").series
    assert series.metric == "cpu"


def test_a_recorded_vector_maps_to_one_sample_per_series() -> None:
    result = to_query_result(
        load("query_vector.json"), service=S("checkout"), name="up", query="up", context="c"
    )
    assert [len(s.values) for s in result.series] == [1]
    assert result.series[0].values == (1.0,)


def test_a_recorded_error_body_names_the_error_and_the_query() -> None:
    with pytest.raises(PrometheusQueryError) as failed:
        to_query_result(
            load("query_range_error_bad_data.json"),
            service=S("x"),
            name="bad",
            query="sum(",
            context="query='sum(' range=a..b step=15s source=prometheus",
        )
    message = str(failed.value)
    assert "bad_data" in message and "parse error" in message
    assert message.endswith("query='sum(' range=a..b step=15s source=prometheus")


def test_nan_samples_are_gaps_and_special_values_parse() -> None:
    payload = {
        "status": "success",
        "data": {
            "resultType": "matrix",
            "result": [{"metric": {}, "values": [[1, "NaN"], [2, "+Inf"], [3, "-1.5e-3"]]}],
        },
    }
    (series,) = to_query_result(payload, service=S("a"), name="m", query="q", context="c").series
    assert series.timestamps == (2.0, 3.0)
    assert series.values == (float("inf"), -0.0015)


def test_all_nan_is_no_data_not_an_error() -> None:
    payload = {
        "status": "success",
        "data": {"resultType": "matrix", "result": [{"metric": {}, "values": [[1, "NaN"]]}]},
    }
    result = to_query_result(payload, service=S("a"), name="m", query="q", context="c")
    assert not result.has_data


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ([], "not a JSON object"),
        ({"status": "success"}, "no data.result"),
        ({"status": "success", "data": {"resultType": "string", "result": [1, "x"]}}, "resultType 'string'"),
        (
            {"status": "success", "data": {"resultType": "matrix", "result": [{"values": [[1]]}]}},
            "malformed matrix",
        ),
    ],
)
def test_payloads_that_are_not_the_api_shape_are_clear_errors(payload: Any, expected: str) -> None:
    with pytest.raises(PrometheusQueryError, match=expected):
        to_query_result(payload, service=S("a"), name="m", query="q", context="ctx")


def test_the_service_is_escaped_inside_promql_strings() -> None:
    assert render_query('up{job="{service}"}', S('we"ird\\svc')) == 'up{job="we\\"ird\\\\svc"}'


def test_the_step_widens_to_stay_under_the_points_limit() -> None:
    start = datetime(2026, 12, 2, tzinfo=UTC)
    assert choose_step(start, start + timedelta(hours=1), 15) == 15
    assert choose_step(start, start + timedelta(days=7), 15) == 55  # 10,997 points


def test_the_query_file_is_checked_field_by_field() -> None:
    queries = parse_query_config(
        'step_s: 5\nqueries:\n  cpu: rate(x{job="{service}"}[1m])\n', source="q.yaml"
    )
    assert queries == QuerySet(queries={"cpu": 'rate(x{job="{service}"}[1m])'}, step_s=5.0)
    with pytest.raises(PrometheusConfigError, match=r"q.yaml: queries.cpu: no \{service\} placeholder"):
        parse_query_config("queries:\n  cpu: up\n", source="q.yaml")
    with pytest.raises(PrometheusConfigError, match=r"q\.yaml: step_s"):
        parse_query_config("step_s: -1\nqueries:\n  cpu: up{job='{service}'}\n", source="q.yaml")
    with pytest.raises(PrometheusConfigError, match=r"q\.yaml: `queries` must be"):
        parse_query_config("step_s: 1\n", source="q.yaml")


def test_a_missing_query_file_names_the_file(tmp_path: Path) -> None:
    with pytest.raises(PrometheusConfigError, match=r"nope\.yaml: cannot read"):
        create_source(PrometheusConfig(url="http://127.0.0.1:1", queries_file=tmp_path / "nope.yaml"))


def test_an_unreachable_server_is_a_problem_line_not_an_exception() -> None:
    start = datetime(2026, 12, 2, 9, tzinfo=UTC)
    with PrometheusClient("http://127.0.0.1:1", timeout_s=2) as client:
        source = PrometheusTelemetrySource(client, QuerySet({"up": "up{job='{service}'}"}))
        telemetry, problems = source.fetch(start=start, end=start + timedelta(minutes=5), services=[S("a")])
    assert telemetry.metrics == ()
    (problem,) = problems
    assert problem.startswith("PromQL query failed: ConnectError")
    assert (
        "query=\"up{job='a'}\"" in problem
        and "step=15s" in problem
        and "source=prometheus http://127.0.0.1:1" in problem
    )


# --- the real Prometheus --------------------------------------------------------------------------


class Exporter(TextExporter):
    """A hand-written /metrics endpoint: a gauge per service and a counter that grows by 10 a scrape."""

    def __init__(self) -> None:
        self.scrapes = 0
        super().__init__(self.body)

    def body(self, path: str) -> str:
        self.scrapes += 1
        return (
            "# HELP demo_cpu_ratio CPU in use.\n# TYPE demo_cpu_ratio gauge\n"
            'demo_cpu_ratio{service="checkout"} 0.25\ndemo_cpu_ratio{service="cart"} 0.5\n'
            "# HELP demo_requests_total Requests served.\n# TYPE demo_requests_total counter\n"
            f'demo_requests_total{{service="checkout"}} {10 * self.scrapes}\n'
        )


@dataclass
class LivePrometheus:
    url: str
    started_at: datetime


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LivePrometheus]:
    exporter = Exporter()
    started_at = datetime.now(UTC)
    jobs = f"  - job_name: demo\n    static_configs:\n      - targets: ['127.0.0.1:{exporter.port}']\n"
    try:
        with running_prometheus(
            tmp_path_factory.mktemp("prometheus"),
            jobs,
            ready_query="count_over_time(demo_cpu_ratio[1m])",
            is_ready=lambda counts: len(counts) == 2 and min(counts) >= 6,
            what="6 scrapes of the test exporter",
        ) as url:
            yield LivePrometheus(url=url, started_at=started_at)
    finally:
        exporter.close()


def test_query_range_pulls_the_scraped_series_back(prometheus: LivePrometheus) -> None:
    queries = QuerySet(
        queries={
            "cpu": 'demo_cpu_ratio{service="{service}"}',
            "requests": 'demo_requests_total{service="{service}"}',
        },
        step_s=1,
    )
    end = datetime.now(UTC)
    with PrometheusClient(prometheus.url) as client:
        telemetry, problems = PrometheusTelemetrySource(client, queries).fetch(
            start=prometheus.started_at - timedelta(seconds=5), end=end, services=[S("checkout"), S("cart")]
        )
    by_name = {(m.service, m.metric): m for m in telemetry.metrics}
    assert set(by_name) == {("checkout", "cpu"), ("checkout", "requests"), ("cart", "cpu")}
    checkout_cpu = by_name[("checkout", "cpu")]
    assert len(checkout_cpu.values) >= 4  # 6 scrapes, 1-s steps: at least 4 steps hold a sample
    assert set(checkout_cpu.values) == {0.25}
    assert set(by_name[("cart", "cpu")].values) == {0.5}
    assert all(
        b - a == pytest.approx(1.0)
        for a, b in zip(checkout_cpu.timestamps, checkout_cpu.timestamps[1:], strict=False)
    )
    requests = by_name[("checkout", "requests")].values
    assert list(requests) == sorted(requests) and all(v % 10 == 0 for v in requests) and requests[-1] >= 40
    assert problems == (
        "no data: query='demo_requests_total{service=\"cart\"}' "
        f"range={(prometheus.started_at - timedelta(seconds=5)).isoformat()}..{end.isoformat()} "
        f"step=1s source=prometheus {prometheus.url}",
    )


def test_a_bad_query_is_reported_with_what_was_asked_and_the_rest_still_counts(
    prometheus: LivePrometheus,
) -> None:
    queries = QuerySet(
        queries={
            "broken": 'sum(demo_cpu_ratio{service="{service}"}',
            "cpu": 'demo_cpu_ratio{service="{service}"}',
        },
        step_s=2,
    )
    end = datetime.now(UTC)
    with PrometheusClient(prometheus.url) as client:
        telemetry, problems = PrometheusTelemetrySource(client, queries).fetch(
            start=end - timedelta(seconds=30), end=end, services=[S("checkout")]
        )
    assert [m.metric for m in telemetry.metrics] == ["cpu"]
    (problem,) = problems
    assert problem.startswith("PromQL query failed: HTTP 400 bad_data: ")
    assert "query='sum(demo_cpu_ratio{service=\"checkout\"}'" in problem
    assert "step=2s" in problem and f"source=prometheus {prometheus.url}" in problem


def test_a_wrong_url_path_is_an_error_with_the_status(prometheus: LivePrometheus) -> None:
    end = datetime.now(UTC)
    with (
        PrometheusClient(prometheus.url + "/not-the-api") as client,
        pytest.raises(PrometheusQueryError, match=r"HTTP 404 .*query='up' range=.* step=1s"),
    ):
        client.query_range_raw("up", start=end - timedelta(seconds=10), end=end, step_s=1)


def test_the_registry_reports_prometheus_and_bootstrap_builds_it_when_configured(tmp_path: Path) -> None:
    from missioncontrol import bootstrap
    from missioncontrol.ports import ConnectorState
    from missioncontrol.settings import Settings

    unset = Settings(state_dir=tmp_path)
    (status,) = [s for s in bootstrap.connector_statuses(unset) if s.name == "prometheus"]
    assert status.state is ConnectorState.DISABLED and "not configured" in status.detail
    assert bootstrap.build_telemetry_sources(unset) == ()

    configured = Settings(state_dir=tmp_path, connectors={"prometheus": {"url": "http://127.0.0.1:9"}})
    (status,) = [s for s in bootstrap.connector_statuses(configured) if s.name == "prometheus"]
    assert status.state is ConnectorState.ENABLED
    (source,) = bootstrap.build_telemetry_sources(configured)
    assert isinstance(source, PrometheusTelemetrySource)
    assert source.client.base_url == "http://127.0.0.1:9"
    source.close()
