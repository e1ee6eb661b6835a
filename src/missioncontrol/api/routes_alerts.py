"""Alert webhooks: Alertmanager (v4) and Grafana alerting. An accepted alert is committed before the 2xx."""

import asyncio
import json
import logging
from concurrent.futures import Future
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from missioncontrol.api.auth import read_body, require_caller
from missioncontrol.api.runtime import Runtime, RuntimeDep
from missioncontrol.api.schemas import AlertsAcceptedOut, ErrorOut, to_problem_out
from missioncontrol.domain import Acceptance, Overloaded

log = logging.getLogger(__name__)
router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], dependencies=[Depends(require_caller)])
COMMIT_TIMEOUT_S = 10.0

_WEBHOOK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["alerts"],
                    "properties": {
                        "version": {"type": "string", "description": "'4' (Alertmanager) or '1' (Grafana)."},
                        "status": {"type": "string", "enum": ["firing", "resolved"]},
                        "receiver": {"type": "string"},
                        "groupKey": {"type": "string"},
                        "alerts": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["labels", "startsAt"],
                                "properties": {
                                    "status": {"type": "string", "enum": ["firing", "resolved"]},
                                    "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                                    "annotations": {
                                        "type": "object",
                                        "additionalProperties": {"type": "string"},
                                    },
                                    "startsAt": {"type": "string", "format": "date-time"},
                                    "endsAt": {"type": "string", "format": "date-time"},
                                    "fingerprint": {"type": "string"},
                                    "generatorURL": {"type": "string"},
                                },
                            },
                        },
                    },
                }
            }
        },
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorOut, "description": "The body is not JSON."},
    401: {"model": ErrorOut, "description": "No valid bearer token or body signature."},
    413: {"model": ErrorOut, "description": "The body is over the size limit."},
    422: {"model": ErrorOut, "description": "No alert in the payload could be mapped; `errors` says why."},
    503: {
        "model": ErrorOut,
        "description": "Overloaded or the store is unavailable: retry after Retry-After.",
    },
}


def _error(status: int, detail: str, *, retry_after_s: float | None = None, errors: Any = ()) -> JSONResponse:
    headers = {"Retry-After": str(max(1, round(retry_after_s)))} if retry_after_s is not None else None
    body = ErrorOut(detail=detail, errors=[to_problem_out(p) for p in errors])
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


async def _accept(request: Request, runtime: Runtime, source: str) -> AlertsAcceptedOut | JSONResponse:
    body = await read_body(request, limit=runtime.settings.max_body_bytes)
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError) as exc:
        return _error(400, f"body is not valid JSON: {str(exc)[:200]}")
    alerts, problems = runtime.alert_mappers[source](payload, received_at=datetime.now(UTC))
    if not alerts and problems:
        return _error(422, f"no alert in the {source} payload could be accepted", errors=problems)
    accepted = 0
    if alerts:
        try:
            future = runtime.inbox.submit(alerts)
        except Overloaded as exc:
            return _error(503, str(exc), retry_after_s=exc.retry_after_s)
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Acceptance] = loop.create_future()
        future.add_done_callback(lambda done: loop.call_soon_threadsafe(_hand_over, done, waiter))
        try:
            acceptance = await asyncio.wait_for(waiter, COMMIT_TIMEOUT_S)
        except TimeoutError:
            return _error(503, "the state store did not commit in time; resend (it is safe)", retry_after_s=2)
        except Exception as exc:  # the store failed: nothing is acknowledged, the sender resends
            log.warning("commit of %d %s alerts failed: %s", len(alerts), source, type(exc).__name__)
            return _error(503, "the state store is unavailable; resend (it is safe)", retry_after_s=5)
        accepted = acceptance.accepted
    # Built by hand: this answer is sent thousands of times a second; AlertsAcceptedOut documents it.
    errors = [{"index": p.index, "field": p.field, "message": p.message} for p in problems]
    return JSONResponse({"accepted": accepted, "rejected": len(problems), "errors": errors})


def _hand_over(done: "Future[Acceptance]", waiter: "asyncio.Future[Acceptance]") -> None:
    if waiter.done():  # the request stopped waiting (timeout); the commit stands, a resend dedups
        return
    if done.cancelled():
        waiter.cancel()
    elif (exc := done.exception()) is not None:
        waiter.set_exception(exc)
    else:
        waiter.set_result(done.result())


@router.post(
    "/alertmanager",
    response_model=AlertsAcceptedOut,
    responses=_ERRORS,
    openapi_extra=_WEBHOOK_BODY,
    summary="Receive a Prometheus Alertmanager webhook (v4)",
)
async def post_alertmanager(request: Request, runtime: RuntimeDep) -> AlertsAcceptedOut | JSONResponse:
    """Accept an Alertmanager `webhook_config` notification. Alerts are committed before the 200;
    resending the same notification creates no duplicates; one bad alert never drops the others."""
    return await _accept(request, runtime, "alertmanager")


@router.post(
    "/grafana",
    response_model=AlertsAcceptedOut,
    responses=_ERRORS,
    openapi_extra=_WEBHOOK_BODY,
    summary="Receive a Grafana alerting webhook",
)
async def post_grafana(request: Request, runtime: RuntimeDep) -> AlertsAcceptedOut | JSONResponse:
    """Accept a Grafana alerting webhook (Alertmanager's v4 payload plus orgId, state, title, message)."""
    return await _accept(request, runtime, "grafana")
