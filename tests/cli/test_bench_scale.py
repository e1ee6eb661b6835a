"""`missionctl bench --scale`: the rows it reports, on a small estate."""

from missioncontrol.cli.main import _scale_bench
from missioncontrol.cli.render import scale_table
from missioncontrol.settings import Settings


def test_scale_bench_reports_wall_and_cpu_time_per_size_and_telemetry() -> None:
    rows = _scale_bench(Settings(), sizes=(30,), per_size=2)
    assert [(r["services"], r["telemetry"]) for r in rows] == [(30, "metrics"), (30, "metrics, logs, spans")]
    for r in rows:
        assert r["cases"] == 2
        assert 0 < r["p50_s"] <= r["p99_s"] <= r["max_s"]
        assert 0 < r["cpu_p50_s"] <= r["cpu_p99_s"]
        assert 0 <= r["top1_hits"] <= 2
        assert r["load_average"] >= 0
    assert scale_table(rows).row_count == 2
