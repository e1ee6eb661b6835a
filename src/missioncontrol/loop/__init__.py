"""The whole loop over real HTTP: a sender that drives an incident case into a running service.

    LabeledCase ──► catalog (Backstage YAML) ──► changes (CDEvents) ──► telemetry (OTLP/JSON, batched)
                ──► the alert (Alertmanager v4) ──► poll /api/v1/incidents … /brief ──► LiveResult

Only what a production estate would send goes over the wire: never the truth, never the case id, never
the fault's start. The payload formats come from the connectors, handed over by bootstrap as `WireFormats`.
"""

from missioncontrol.loop.sender import CaseSender, LiveResult, SendError, WireFormats, split_telemetry

__all__ = ["CaseSender", "LiveResult", "SendError", "WireFormats", "split_telemetry"]
