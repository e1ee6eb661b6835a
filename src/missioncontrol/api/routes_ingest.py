"""Ingest routes: OTLP/HTTP telemetry, change events (CDEvents, GitHub), the Backstage catalog, PagerDuty.

OTLP lives on the standard paths (`/v1/traces`, `/v1/metrics`, `/v1/logs`) so a stock OpenTelemetry
Collector `otlphttp` exporter, or an SDK's OTLP/HTTP exporter, can point at Mission Control: binary
protobuf or JSON, optionally gzip-compressed; the answer is the signal's `Export*ServiceResponse` in
the request's encoding, with `partial_success` naming rejected items. Every route is authenticated
(bearer token or signed body; GitHub deliveries may instead carry `X-Hub-Signature-256`).
"""

import hashlib
import hmac
import json
import logging
import zlib
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from missioncontrol.api.auth import read_body, require_caller
from missioncontrol.api.routes_alerts import _ERRORS as ALERT_ERRORS
from missioncontrol.api.routes_alerts import _accept as accept_alerts
from missioncontrol.api.runtime import IngestMappers, Runtime, RuntimeDep
from missioncontrol.api.schemas import AlertsAcceptedOut
from missioncontrol.api.schemas_ingest import (
    CatalogRecordedOut,
    ChangesRecordedOut,
    IngestErrorOut,
    to_rejection_out,
)
from missioncontrol.api.security_docs import BEARER, CALLER, SIGNED_BODY
from missioncontrol.domain import MissionControlError, Rejection

log = logging.getLogger(__name__)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
YAML_TYPES = frozenset(
    {"application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain", JSON}
)
GRPC_INVALID_ARGUMENT = 3
GRPC_UNAVAILABLE = 14
INFLATE_FACTOR = 8  # a compressed body may inflate to this many times the body limit, no more
REJECTIONS_SHOWN = 20

otlp_router = APIRouter(tags=["otlp"], dependencies=CALLER)
router = APIRouter(prefix="/api/v1", tags=["ingest"])

_OTLP_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
            JSON: {"schema": {"type": "object", "description": "OTLP/JSON: hex ids, integer enums."}},
        },
    }
}
_OTLP_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Export*ServiceResponse in the request's encoding; partial_success names rejections.",
        "content": {PROTOBUF: {}, JSON: {}},
    },
    400: {"description": "The body is not an export request of this signal (google.rpc.Status)."},
    401: {"description": "No valid bearer token or body signature."},
    413: {"description": "The body (or its decompressed form) is over the size limit."},
    415: {"description": "Content-Type is not application/x-protobuf or application/json."},
    503: {"description": "No telemetry store, or it failed: retry after Retry-After."},
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": IngestErrorOut, "description": "The body cannot be read at all."},
    401: {
        "model": IngestErrorOut,
        "description": "No valid bearer token, body signature or GitHub signature.",
    },
    413: {"model": IngestErrorOut, "description": "The body is over the size limit."},
    415: {"model": IngestErrorOut, "description": "Unsupported Content-Type."},
    422: {
        "model": IngestErrorOut,
        "description": "Nothing in the payload could be mapped; `errors` says why.",
    },
    503: {"model": IngestErrorOut, "description": "The store is not configured or failed: retry later."},
}

# These routes read their bodies raw (one event, or a JSON array of them), so FastAPI cannot see them:
# the spec says so, and a fuzzer or client generator sends a body instead of none.
_JSON_EVENTS_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            JSON: {
                "schema": {
                    "anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}],
                    "description": "One event, or a JSON array of them.",
                }
            }
        },
    }
}
_GITHUB_DELIVERY: dict[str, Any] = {
    "requestBody": {"required": True, "content": {JSON: {"schema": {"type": "object"}}}},
    "parameters": [
        {
            "name": "X-GitHub-Event",
            "in": "header",
            "required": True,
            # The events connectors/github maps, and GitHub's ping; any other is refused by name (422).
            "schema": {"type": "string", "enum": ["deployment", "deployment_status", "ping"]},
            "description": "deployment, deployment_status or ping; anything else is rejected by name.",
        },
        {
            "name": "X-Hub-Signature-256",
            "in": "header",
            "required": False,
            "schema": {"type": "string"},
            "description": "sha256=<hex HMAC of the body> when a GitHub webhook secret is configured.",
        },
    ],
}


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


def _inflate(body: bytes, encoding: str, *, limit: int) -> bytes:
    """Return the body decoded from its Content-Encoding; raise ValueError naming what went wrong."""
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "deflate"):
        raise LookupError(f"Content-Encoding {encoding!r} is not supported: send gzip, deflate or none")
    inflater = zlib.decompressobj(zlib.MAX_WBITS | 16 if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as error:
        raise ValueError(f"body is not valid {encoding}: {error}") from None
    if len(out) > limit:
        raise OverflowError(f"decompressed body is over the limit of {limit} bytes")
    return out


def _error(
    status: int, detail: str, *, errors: list[Rejection] | None = None, retry_after_s: int | None = None
) -> JSONResponse:
    body = IngestErrorOut(
        detail=detail, errors=[to_rejection_out(r) for r in (errors or [])[:REJECTIONS_SHOWN]]
    )
    headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def _mappers(runtime: Runtime) -> IngestMappers | JSONResponse:
    if runtime.ingest is None:
        return _error(503, "ingest mappings are not configured on this server")
    return runtime.ingest


# --- OTLP/HTTP --------------------------------------------------------------------------------------


async def _export(request: Request, runtime: Runtime, signal: str) -> Response:
    media = _media_type(request)
    if media not in (PROTOBUF, JSON):
        return JSONResponse(
            {
                "code": GRPC_INVALID_ARGUMENT,
                "message": f"Content-Type must be {PROTOBUF} or {JSON}, not {media!r}",
            },
            status_code=415,
        )
    is_json = media == JSON
    mappers = _mappers(runtime)
    if isinstance(mappers, JSONResponse):
        return mappers

    def status(code: int, http: int, message: str, *, retry_after_s: int | None = None) -> Response:
        headers = {"Retry-After": str(retry_after_s)} if retry_after_s is not None else None
        return Response(
            mappers.otlp_status(code, message, is_json), status_code=http, media_type=media, headers=headers
        )

    limit = runtime.settings.max_body_bytes
    body = await read_body(request, limit=limit)
    try:
        body = _inflate(
            body, request.headers.get("content-encoding", "").strip().lower(), limit=limit * INFLATE_FACTOR
        )
    except LookupError as error:
        return status(GRPC_INVALID_ARGUMENT, 415, str(error))
    except OverflowError as error:
        return status(GRPC_INVALID_ARGUMENT, 413, str(error))
    except ValueError as error:
        return status(GRPC_INVALID_ARGUMENT, 400, str(error))
    store = runtime.telemetry
    if store is None:
        return status(
            GRPC_UNAVAILABLE, 503, "no telemetry store is configured on this server", retry_after_s=30
        )

    try:
        telemetry, rejections = await run_in_threadpool(mappers.decode_otlp, signal, body, is_json)
    except MissionControlError as error:
        return status(GRPC_INVALID_ARGUMENT, 400, str(error))
    if telemetry.spans or telemetry.logs or telemetry.metrics:
        try:
            await run_in_threadpool(store.append, telemetry)
        except Exception as error:  # the store failed: nothing is acknowledged, the exporter retries
            log.warning("OTLP %s append failed: %s: %s", signal, type(error).__name__, error)
            return status(GRPC_UNAVAILABLE, 503, "the telemetry store is unavailable; retry", retry_after_s=5)
    if runtime.telemetry_arrived is not None:
        runtime.telemetry_arrived()
    message = "; ".join(str(r) for r in rejections[:REJECTIONS_SHOWN])
    if len(rejections) > REJECTIONS_SHOWN:
        message += f"; and {len(rejections) - REJECTIONS_SHOWN} more"
    return Response(mappers.otlp_response(signal, len(rejections), message, is_json), media_type=media)


@otlp_router.post(
    "/v1/traces", responses=_OTLP_RESPONSES, openapi_extra=_OTLP_BODY, summary="OTLP/HTTP traces export"
)
async def post_traces(request: Request, runtime: RuntimeDep) -> Response:
    """Store an ExportTraceServiceRequest (protobuf or OTLP/JSON, optionally gzip) as spans."""
    return await _export(request, runtime, "traces")


@otlp_router.post(
    "/v1/metrics", responses=_OTLP_RESPONSES, openapi_extra=_OTLP_BODY, summary="OTLP/HTTP metrics export"
)
async def post_metrics(request: Request, runtime: RuntimeDep) -> Response:
    """Store an ExportMetricsServiceRequest: gauges, sums; histograms as count, sum, p50/p90/p99."""
    return await _export(request, runtime, "metrics")


@otlp_router.post(
    "/v1/logs", responses=_OTLP_RESPONSES, openapi_extra=_OTLP_BODY, summary="OTLP/HTTP logs export"
)
async def post_logs(request: Request, runtime: RuntimeDep) -> Response:
    """Store an ExportLogsServiceRequest (protobuf or OTLP/JSON, optionally gzip) as log records."""
    return await _export(request, runtime, "logs")


# --- changes ----------------------------------------------------------------------------------------


async def _json_body(request: Request, runtime: Runtime) -> Any:
    body = await read_body(request, limit=runtime.settings.max_body_bytes)
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as error:
        raise _BadBody(f"body is not valid JSON: {str(error)[:200]}") from None


class _BadBody(Exception):
    pass


async def _record_changes(
    runtime: Runtime, changes: list[Any], rejections: list[Rejection], source: str
) -> ChangesRecordedOut | JSONResponse:
    if not changes and rejections:
        return _error(422, f"no change in the {source} payload could be mapped", errors=rejections)
    recorded = 0
    if changes:
        log_store = runtime.changes
        if log_store is None:
            return _error(503, "no change log is configured on this server", retry_after_s=30)
        try:
            recorded = await run_in_threadpool(log_store.record_changes, changes)
        except Exception as error:  # nothing acknowledged: the sender resends (recording is idempotent)
            log.warning("recording %d %s changes failed: %s", len(changes), source, type(error).__name__)
            return _error(503, "the change log is unavailable; resend (it is safe)", retry_after_s=5)
    return ChangesRecordedOut(
        received=len(changes),
        recorded=recorded,
        rejected=len(rejections),
        errors=[to_rejection_out(r) for r in rejections[:REJECTIONS_SHOWN]],
    )


@router.post(
    "/changes/cdevents",
    response_model=ChangesRecordedOut,
    responses=_ERRORS,
    dependencies=CALLER,
    openapi_extra=_JSON_EVENTS_BODY,
    summary="Receive CDEvents (service.deployed, upgraded, rolledback)",
)
async def post_cdevents(request: Request, runtime: RuntimeDep) -> ChangesRecordedOut | JSONResponse:
    """Record deploys from one CDEvent, a CloudEvents envelope around one, or a JSON array of them.

    Other CDEvents types are rejected by name; resending an event records nothing twice."""
    mappers = _mappers(runtime)
    if isinstance(mappers, JSONResponse):
        return mappers
    try:
        payload = await _json_body(request, runtime)
    except _BadBody as error:
        return _error(400, str(error))
    changes, rejections = mappers.cdevents(payload)
    return await _record_changes(runtime, changes, rejections, "CDEvents")


def _github_signature_ok(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.strip().encode())


@router.post(
    "/changes/github",
    response_model=ChangesRecordedOut,
    responses=_ERRORS,
    dependencies=[Security(BEARER), Security(SIGNED_BODY)],  # or X-Hub-Signature-256: checked below
    openapi_extra=_GITHUB_DELIVERY,
    summary="Receive GitHub deployment and deployment_status webhooks",
)
async def post_github(request: Request, runtime: RuntimeDep) -> ChangesRecordedOut | JSONResponse:
    """Record a deploy from a GitHub `deployment` or `deployment_status` delivery (`X-GitHub-Event`).

    With a GitHub webhook secret configured, `X-Hub-Signature-256` authenticates the delivery (GitHub
    cannot send a bearer token); otherwise the usual bearer token or signed body is required."""
    mappers = _mappers(runtime)
    if isinstance(mappers, JSONResponse):
        return mappers
    signature = request.headers.get("x-hub-signature-256")
    if mappers.github_secret is not None and signature is not None:
        body = await read_body(request, limit=runtime.settings.max_body_bytes)
        if not _github_signature_ok(mappers.github_secret, body, signature):
            return _error(401, "X-Hub-Signature-256 does not match the body")
    else:
        await require_caller(request, runtime)
    event = request.headers.get("x-github-event", "")
    if not event:
        return _error(400, "X-GitHub-Event header is missing")
    try:
        payload = await _json_body(request, runtime)
    except _BadBody as error:
        return _error(400, str(error))
    if event == "ping":  # sent once when the webhook is created
        return ChangesRecordedOut(received=0, recorded=0, rejected=0)
    changes, rejections = mappers.github(event, payload)
    return await _record_changes(runtime, changes, rejections, "GitHub")


# --- catalog ----------------------------------------------------------------------------------------


@router.post(
    "/catalog/backstage",
    response_model=CatalogRecordedOut,
    responses=_ERRORS,
    dependencies=CALLER,
    openapi_extra={
        "requestBody": {"required": True, "content": {"application/yaml": {"schema": {"type": "string"}}}}
    },
    summary="Load a Backstage catalog-info.yaml (Component, System, Group)",
)
async def post_backstage(request: Request, runtime: RuntimeDep) -> CatalogRecordedOut | JSONResponse:
    """Record the components and groups of a (multi-document) catalog-info.yaml as of now.

    A bad document is rejected by index and field; the others are recorded."""
    mappers = _mappers(runtime)
    if isinstance(mappers, JSONResponse):
        return mappers
    media = _media_type(request)
    if media not in YAML_TYPES:
        return _error(415, f"Content-Type must be application/yaml (or text/yaml, text/plain), not {media!r}")
    body = await read_body(request, limit=runtime.settings.max_body_bytes)
    try:
        text = body.decode()
    except UnicodeDecodeError:
        return _error(400, "body is not UTF-8 text")
    at = datetime.now(UTC)
    try:
        entries, teams, rejections, notes = mappers.backstage(text, at, "request body")
    except MissionControlError as error:
        return _error(400, str(error))
    if not entries and not teams and rejections:
        return _error(422, "no Component or Group in the catalog could be mapped", errors=rejections)
    catalog = runtime.catalog
    if catalog is None:
        return _error(503, "no catalog store is configured on this server", retry_after_s=30)
    try:
        await run_in_threadpool(lambda: catalog.record_catalog(entries, teams, at=at))
    except Exception as error:
        log.warning("recording the catalog failed: %s", type(error).__name__)
        return _error(503, "the catalog store is unavailable; resend (it is safe)", retry_after_s=5)
    return CatalogRecordedOut(
        entries=len(entries),
        teams=len(teams),
        rejected=len(rejections),
        errors=[to_rejection_out(r) for r in rejections[:REJECTIONS_SHOWN]],
        notes=notes,
    )


# --- PagerDuty Events API v2 inbound ----------------------------------------------------------------


@router.post(
    "/alerts/pagerduty",
    response_model=AlertsAcceptedOut,
    responses=ALERT_ERRORS,
    dependencies=CALLER,
    openapi_extra=_JSON_EVENTS_BODY,
    tags=["alerts"],
    summary="Receive PagerDuty Events API v2 events (trigger, acknowledge, resolve)",
)
async def post_pagerduty(request: Request, runtime: RuntimeDep) -> AlertsAcceptedOut | JSONResponse:
    """Accept an Events v2 event (or a JSON array of them) as alerts with fingerprint = dedup_key.

    Committed before the 2xx like every alert; a resend, acknowledge or resolve lands on the same alert."""
    if "pagerduty" not in runtime.alert_mappers:
        return _error(503, "the PagerDuty mapping is not configured on this server")
    return await accept_alerts(request, runtime, "pagerduty")
