"""`missionctl bench --ingest` on a tiny load: every acknowledged alert is found stored, and the
service's CPU (the split worker's too) and the load generator's are reported."""

import pytest

from missioncontrol.cli.bench_live import run_ingest_bench

# Enough that the service's CPU spans several of the kernel's 10 ms ticks even on a fast machine:
# 120 alerts at ten a request took 10 ms there, and its CPU read as 0.
ALERTS = 1_200


@pytest.mark.parametrize("split_worker", [False, True])
def test_every_acknowledged_alert_is_stored_and_cpu_is_counted(split_worker: bool) -> None:
    results = run_ingest_bench(alerts=ALERTS, connections=4, per_request=(1, 10), split_worker=split_worker)
    assert [r.alerts_per_request for r in results] == [1, 10]
    for r in results:
        assert r.failed_requests == 0 and r.shed_requests == 0
        assert r.accepted_alerts == r.stored_alerts == ALERTS
        assert r.server_cpu_s > 0 and r.alerts_per_cpu_s > 0 and r.client_cpu_s >= 0
        assert r.grouped_cpu_s >= r.server_cpu_s  # grouping what was sent comes on top of taking it
