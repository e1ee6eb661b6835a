"""Who may call the API: a bearer token, or a body signed with HMAC-SHA256 inside a replay window.

Bearer: `Authorization: Bearer <token>`, one of `Runtime.api_tokens`.
Signed: `X-MissionControl-Signature: t=<unix seconds>,v1=<hex>` where the hex is
HMAC-SHA256(secret, f"{t}.".encode() + body), and `t` is within `webhook_replay_window_s` of now.
Every comparison is constant-time; no token, secret or signature is ever logged or echoed back.
"""

import hashlib
import hmac
import time

from fastapi import HTTPException, Request

from missioncontrol.api.runtime import Runtime, RuntimeDep
from missioncontrol.settings import Settings

SIGNATURE_HEADER = "x-missioncontrol-signature"
NO_CREDENTIALS = (
    f"authentication required: 'Authorization: Bearer <token>' or a signed body ({SIGNATURE_HEADER})"
)


def _deny(message: str) -> HTTPException:
    return HTTPException(status_code=401, detail=message, headers={"WWW-Authenticate": "Bearer"})


async def read_body(request: Request, *, limit: int) -> bytes:
    """Return the request body, refusing (413) any larger than `limit` bytes before reading it all."""
    cached: bytes | None = getattr(request.state, "body", None)
    if cached is not None:
        return cached
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(status_code=400, detail="Content-Length must be a whole number of bytes")
        if int(declared) > limit:
            raise HTTPException(
                status_code=413, detail=f"body of {declared} bytes is over the limit of {limit} bytes"
            )
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise HTTPException(status_code=413, detail=f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    body = b"".join(chunks)
    request.state.body = body
    return body


def sign_body(secret: str, body: bytes, *, at: int) -> str:
    """Return the signature header value for `body` signed at Unix time `at`."""
    digest = hmac.new(secret.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def _token_ok(presented: str, tokens: tuple[str, ...]) -> bool:
    # Compare against every token so the time taken does not say which one (or how many) matched.
    matches = [hmac.compare_digest(presented.encode(), t.encode()) for t in tokens]
    return any(matches)


def bearer_denial(authorization: str, tokens: tuple[str, ...]) -> str | None:
    """Return why an `Authorization` header value is refused, or None when it names a valid token."""
    scheme, _, presented = authorization.partition(" ")
    if scheme.lower() != "bearer" or not presented:
        return "Authorization must be 'Bearer <token>'"
    if not _token_ok(presented.strip(), tokens):
        return "bearer token is not valid"
    return None


def signature_denial(header: str, settings: Settings, body: bytes | None = None) -> str | None:
    """Return why a signature header is refused, or None. Without `body` only the header is checked
    (enabled, well-formed, inside the replay window), so a bad header is refused before the body is read."""
    secret = settings.webhook_hmac_secret
    if secret is None:
        return "signed requests are not enabled on this server (no webhook HMAC secret set)"
    parts = dict(p.strip().split("=", 1) for p in header.split(",") if "=" in p)
    stamp, given = parts.get("t", ""), parts.get("v1", "")
    if not stamp.isdigit() or not given:
        return f"{SIGNATURE_HEADER} must be 't=<unix seconds>,v1=<hex HMAC-SHA256>'"
    window = settings.webhook_replay_window_s
    if abs(time.time() - int(stamp)) > window:
        return f"signature timestamp is outside the {window} s replay window"
    if body is None:
        return None
    expected = sign_body(secret.get_secret_value(), body, at=int(stamp)).split("v1=", 1)[1]
    if not hmac.compare_digest(expected.encode(), given.encode()):
        return "signature does not match the body"
    return None


async def _signature_ok(request: Request, runtime: Runtime, header: str) -> None:
    if (why := signature_denial(header, runtime.settings)) is not None:
        raise _deny(why)
    body = await read_body(request, limit=runtime.settings.max_body_bytes)
    if (why := signature_denial(header, runtime.settings, body)) is not None:
        raise _deny(why)


async def require_caller(request: Request, runtime: RuntimeDep) -> None:
    """Let the request through with a valid bearer token or body signature; else 401."""
    authorization = request.headers.get("authorization")
    if authorization is not None:
        if (why := bearer_denial(authorization, runtime.api_tokens)) is not None:
            raise _deny(why)
        return
    signature = request.headers.get(SIGNATURE_HEADER)
    if signature is not None:
        await _signature_ok(request, runtime, signature)
        return
    raise _deny(NO_CREDENTIALS)
