"""Tests for classifying metric names into signal families, across common exporters' naming."""

import pytest

from missioncontrol.domain import FaultKind
from missioncontrol.engine.signals import DIRECTION, FAULT_OF, Family, family_of


@pytest.mark.parametrize(
    ("metric", "family"),
    [
        # CloudWatch / Nezha-style capitalised names with units
        ("CpuUsageRate(%)", Family.CPU),
        ("PodClientLatencyP90(s)", Family.CLIENT_LATENCY),
        ("PodServerLatencyP90(s)", Family.LATENCY),
        ("SuccessRate(%)", Family.SUCCESS),
        ("NetworkP90(ms)", Family.NETWORK),
        ("NodeCpuUsageRate(%)", Family.NODE),
        # Prometheus / cAdvisor / OpenTelemetry snake case
        ("container_cpu_usage_seconds_total", Family.CPU),
        ("process_cpu_seconds_total", Family.CPU),
        ("memory_usage_rate", Family.MEMORY),
        ("process_resident_memory_bytes", Family.MEMORY),
        ("jvm_heap_used", Family.MEMORY),
        ("jvm_gc_pause_seconds", Family.MEMORY),
        ("latency_p99", Family.LATENCY),
        ("http_server_duration", Family.LATENCY),
        ("http_server_duration_seconds_bucket", Family.LATENCY),
        ("response_time_ms", Family.LATENCY),
        ("error_rate", Family.ERRORS),
        ("errors_total", Family.ERRORS),
        ("failed_requests", Family.ERRORS),
        ("http_5xx", Family.ERRORS),
        ("network_latency_p90", Family.NETWORK),
        ("tcp_rtt_ms", Family.NETWORK),
        ("packet_loss", Family.NETWORK),
        ("request_rate", Family.TRAFFIC),
        ("http_requests_total", Family.TRAFFIC),
        ("container_network_receive_bytes_total", Family.TRAFFIC),
        ("disk_io_time", Family.IO),
        ("thread_count", Family.OTHER),
    ],
)
def test_family_of_common_exporter_names(metric: str, family: Family) -> None:
    assert family_of(metric) is family


def test_family_of_ignores_case() -> None:
    assert family_of("ERROR_RATE") is family_of("error_rate") is Family.ERRORS
    assert family_of("latency") is family_of("Latency") is Family.LATENCY


def test_host_figures_are_node_whatever_they_measure() -> None:
    # Co-located services share a host: its CPU or memory points at no service in particular.
    for metric in ("NodeCpuUsageRate(%)", "node_memory_MemAvailable_bytes", "node_network_transmit_bytes"):
        assert family_of(metric) is Family.NODE, metric


def test_success_falls_and_everything_that_saturates_rises() -> None:
    assert DIRECTION[family_of("SuccessRate(%)")] == -1
    for metric in ("CpuUsageRate(%)", "memory_usage_rate", "latency_p99", "error_rate", "NetworkP90(ms)"):
        assert DIRECTION[family_of(metric)] == 1, metric
    assert DIRECTION[family_of("request_rate")] == 0


def test_every_family_has_a_direction_and_a_fault_kind() -> None:
    assert set(DIRECTION) == set(Family)
    assert set(FAULT_OF) == set(Family)
    assert FAULT_OF[Family.CLIENT_LATENCY] is FaultKind.DEPENDENCY
    assert FAULT_OF[Family.SUCCESS] is FAULT_OF[Family.ERRORS] is FaultKind.ERRORS


@pytest.mark.parametrize(
    ("metric", "family"),
    [
        # "lat" inside "translation": a rise in traffic is read as latency.
        ("translation_requests_total", Family.TRAFFIC),
        # "node" inside "nodejs": prom-client's heap gauge is read as a host figure.
        ("nodejs_heap_size_used_bytes", Family.MEMORY),
        # OpenTelemetry's client-side duration is a wait on a callee, not the service's own latency.
        ("http.client.request.duration", Family.CLIENT_LATENCY),
        ("http_client_request_duration_seconds", Family.CLIENT_LATENCY),
    ],
)
def test_family_of_reads_whole_words_not_substrings(metric: str, family: Family) -> None:
    assert family_of(metric) is family
