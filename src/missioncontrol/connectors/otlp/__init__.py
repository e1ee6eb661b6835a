"""OpenTelemetry OTLP: traces, logs and metrics pushed over OTLP/HTTP (protobuf or JSON) as domain telemetry.

telemetry, rejections = decode_request("traces", body, is_json=False)
bodies = to_otlp_json(telemetry)      # {"traces": {...}, ...}: what the replay and demo senders POST
"""

from pathlib import Path

from pydantic import BaseModel

from missioncontrol.connectors.otlp.codec import (
    Signal,
    decode_request,
    encode_response,
    encode_status,
    rejection_message,
)
from missioncontrol.connectors.otlp.mapping import (
    parse_logs_json,
    parse_metrics_json,
    parse_traces_json,
    to_otlp_json,
)
from missioncontrol.connectors.otlp.protobuf import (
    OtlpDecodeError,
    parse_logs_protobuf,
    parse_metrics_protobuf,
    parse_traces_protobuf,
)
from missioncontrol.ports import Capability, ConnectorSpec

__all__ = [
    "OtlpConfig",
    "OtlpDecodeError",
    "Signal",
    "decode_request",
    "encode_response",
    "encode_status",
    "parse_logs_json",
    "parse_logs_protobuf",
    "parse_metrics_json",
    "parse_metrics_protobuf",
    "parse_traces_json",
    "parse_traces_protobuf",
    "rejection_message",
    "spec",
    "to_otlp_json",
]


class OtlpConfig(BaseModel):
    """No settings: a Collector's `otlphttp` exporter (or an SDK) pushes to /v1/traces, metrics, logs."""


spec = ConnectorSpec(
    name="otlp",
    summary="OTLP/HTTP push: traces, metrics and logs (protobuf or JSON) into the telemetry store.",
    capabilities=frozenset({Capability.TELEMETRY_SOURCE}),
    config=OtlpConfig,
    docs="docs/connectors/otlp.md",
    samples=Path(__file__).parent / "samples",
    requires=("opentelemetry.proto",),
)
