"""Prometheus Alertmanager and Grafana alerting webhooks: the alerts that start an incident."""

from pathlib import Path

from missioncontrol.connectors.alertmanager.mapping import parse_rfc3339, to_alerts
from missioncontrol.ports import Capability, ConnectorSpec

SAMPLES = Path(__file__).resolve().parent / "samples"

__all__ = ["SAMPLES", "parse_rfc3339", "spec", "to_alerts"]


spec = ConnectorSpec(
    name="alertmanager",
    summary="Prometheus Alertmanager webhook (v4) and Grafana alerting webhooks.",
    capabilities=frozenset({Capability.ALERT_SOURCE}),
    docs="docs/connectors/alertmanager.md",
    samples=SAMPLES,
)
