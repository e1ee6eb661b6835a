"""Prometheus Alertmanager and Grafana alerting webhooks: the alerts that start an incident."""

from pathlib import Path

from missioncontrol.connectors.alertmanager.mapping import parse_rfc3339, to_alerts

SAMPLES = Path(__file__).resolve().parent / "samples"

__all__ = ["SAMPLES", "parse_rfc3339", "to_alerts"]
