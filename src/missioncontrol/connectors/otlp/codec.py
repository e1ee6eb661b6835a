"""OTLP/HTTP bodies in and out: pick the decoder for a signal and encoding, encode the matching response.

OTLP/HTTP carries one export request per POST, as binary protobuf (`application/x-protobuf`) or
OTLP/JSON (`application/json`); the response is the signal's `Export*ServiceResponse` in the same
encoding, with `partial_success` when items were rejected.
"""

import json
from collections.abc import Callable
from enum import StrEnum
from typing import Any

from missioncontrol.connectors.otlp import mapping, protobuf
from missioncontrol.connectors.otlp.protobuf import OtlpDecodeError
from missioncontrol.domain import Telemetry
from missioncontrol.domain.rejections import Rejection


class Signal(StrEnum):
    TRACES = "traces"
    LOGS = "logs"
    METRICS = "metrics"


_JSON: dict[Signal, Callable[[Any], tuple[Telemetry, list[Rejection]]]] = {
    Signal.TRACES: mapping.parse_traces_json,
    Signal.LOGS: mapping.parse_logs_json,
    Signal.METRICS: mapping.parse_metrics_json,
}
_PROTOBUF: dict[Signal, Callable[[bytes], tuple[Telemetry, list[Rejection]]]] = {
    Signal.TRACES: protobuf.parse_traces_protobuf,
    Signal.LOGS: protobuf.parse_logs_protobuf,
    Signal.METRICS: protobuf.parse_metrics_protobuf,
}
_RESPONSE: dict[Signal, Callable[[int, str], bytes]] = {
    Signal.TRACES: protobuf.traces_response,
    Signal.LOGS: protobuf.logs_response,
    Signal.METRICS: protobuf.metrics_response,
}
# OTLP/JSON names of each response's rejected-count field.
REJECTED_FIELD = {
    Signal.TRACES: "rejectedSpans",
    Signal.LOGS: "rejectedLogRecords",
    Signal.METRICS: "rejectedDataPoints",
}
ROOT_FIELD = {Signal.TRACES: "resourceSpans", Signal.LOGS: "resourceLogs", Signal.METRICS: "resourceMetrics"}


def decode_request(signal: str, body: bytes, *, is_json: bool) -> tuple[Telemetry, list[Rejection]]:
    """Return the telemetry of one export request body and the items it rejected.

    Raises `OtlpDecodeError` when the body as a whole is not an export request of that signal.
    """
    kind = Signal(signal)
    if not is_json:
        return _PROTOBUF[kind](body)
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as error:
        raise OtlpDecodeError(f"body is not JSON: {error}") from None
    if not isinstance(payload, dict):
        raise OtlpDecodeError(
            f"body must be a JSON object with {ROOT_FIELD[kind]!r}, not {type(payload).__name__}"
        )
    return _JSON[kind](payload)


def encode_response(signal: str, *, rejected: int, message: str, is_json: bool) -> bytes:
    """Return the signal's Export*ServiceResponse, with partial_success when `rejected` > 0."""
    kind = Signal(signal)
    if not is_json:
        return _RESPONSE[kind](rejected, message)
    body: dict[str, Any] = {}
    if rejected:
        # proto3 JSON writes int64 as a string.
        body["partialSuccess"] = {REJECTED_FIELD[kind]: str(rejected), "errorMessage": message}
    return json.dumps(body).encode()


def rejection_message(rejections: list[Rejection], *, limit: int = 10) -> str:
    """Return one message naming the first rejected items, for `partial_success.error_message`."""
    shown = "; ".join(str(r) for r in rejections[:limit])
    more = len(rejections) - limit
    return shown + (f"; and {more} more" if more > 0 else "")


GRPC_INVALID_ARGUMENT = 3
GRPC_UNAVAILABLE = 14


def encode_status(code: int, message: str, *, is_json: bool) -> bytes:
    """Return a `google.rpc.Status` body (what OTLP/HTTP puts in a 4xx/5xx) in the request's encoding."""
    if is_json:
        return json.dumps({"code": code, "message": message}).encode()
    text = message.encode()
    # Status: field 1 `code` (a varint; ours are below 128), field 2 `message` (length as a varint).
    length = bytearray()
    n = len(text)
    while True:
        byte, n = n & 0x7F, n >> 7
        length.append(byte | (0x80 if n else 0))
        if not n:
            break
    return bytes([0x08, code, 0x12]) + bytes(length) + text
