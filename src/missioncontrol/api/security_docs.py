"""How the OpenAPI spec says a route is authenticated: a bearer token, or a signed body.

Documentation only: `api/auth.py` enforces. These are FastAPI security dependencies that never refuse
(`auto_error=False`), listed beside `require_caller` so the spec carries `securitySchemes` and each
operation's `security` (either scheme will do). Clients, `/docs` and fuzzers then know that a route
needs credentials, and a check can assert that it refuses a request without them.
"""

from fastapi import Depends, Security
from fastapi.params import Depends as DependsParam
from fastapi.security import APIKeyHeader, HTTPBearer

from missioncontrol.api.auth import SIGNATURE_HEADER, require_caller

BEARER = HTTPBearer(
    scheme_name="bearer", description="One of the API tokens (settings `api_tokens`).", auto_error=False
)
SIGNED_BODY = APIKeyHeader(
    name=SIGNATURE_HEADER,
    scheme_name="signed_body",
    description="t=<unix seconds>,v1=<hex HMAC-SHA256(secret, f'{t}.' + body)>, within the replay window.",
    auto_error=False,
)

# A bearer token or a signed body, enforced by `require_caller`, documented by the two schemes.
CALLER: list[DependsParam] = [Depends(require_caller), Security(BEARER), Security(SIGNED_BODY)]
# Documents the bearer token alone, for routes whose own code checks it (policy principals).
BEARER_ONLY: list[DependsParam] = [Security(BEARER)]
