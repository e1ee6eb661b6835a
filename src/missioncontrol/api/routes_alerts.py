"""Alert webhooks: Alertmanager (v4) and Grafana alerting. An accepted alert is committed before the 2xx."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from missioncontrol.api.auth import read_body
from missioncontrol.api.runtime import Runtime, RuntimeDep
from missioncontrol.api.schemas import AlertsAcceptedOut, ErrorOut
from missioncontrol.api.security_docs import CALLER
from missioncontrol.api.webhooks import accept

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"], dependencies=CALLER)

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


class _Rendered(JSONResponse):
    """A JSON response whose body `webhooks.accept` already rendered."""

    def render(self, content: Any) -> bytes:
        rendered: bytes = content
        return rendered


async def _accept(request: Request, runtime: Runtime, source: str) -> JSONResponse:
    # Alertmanager and Grafana are answered by `webhooks.AlertWebhooks` before the router; requests
    # that reach the router (and PagerDuty's, from routes_ingest) get the same answer here.
    answer = await accept(runtime, source, await read_body(request, limit=runtime.settings.max_body_bytes))
    headers = None if answer.retry_after_s is None else {"Retry-After": str(answer.retry_after_s)}
    return _Rendered(answer.body, status_code=answer.status, headers=headers)


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
