"""Sign-in for the web: who may sign in, the signed session cookie, and CSRF tokens.

- *Who*: the policy file's principals (name, tier, roles). A principal may sign in to the web only if
  `MISSIONCONTROL_WEB_PASSWORDS` holds a salted password hash for their name (PBKDF2-SHA256, made by
  `hash_password`, stored as `pbkdf2_sha256$<iterations>$<salt b64>$<hash b64>`). Passwords live in
  settings, not in the policy file, because the policy is reviewed and shared like code.
- *Session*: a cookie signed with `MISSIONCONTROL_WEB_SECRET` (itsdangerous, timed), HttpOnly,
  SameSite=Lax, Secure on HTTPS. It carries the name and a CSRF token, nothing else; the roles are
  read from the policy on every request, so removing a principal takes effect at once.
- *CSRF*: synchronizer token. Every form carries `csrf_token`, which must equal the token in the
  signed session cookie (an attacker's page can neither read nor forge it). Visitors who have not
  signed in get an anonymous session holding a token, so the sign-in form is protected too.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "mc_session"
SESSION_MAX_AGE_S = 12 * 3600
ITERATIONS = 240_000


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """Return a salted PBKDF2-SHA256 hash of `password` in the form settings keep."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    b64 = base64.urlsafe_b64encode
    return f"pbkdf2_sha256${iterations}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Return True when `password` matches the stored hash (constant-time compare)."""
    try:
        scheme, iterations, salt, digest = stored.split("$")
        if scheme != "pbkdf2_sha256":
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = hashlib.pbkdf2_hmac(
            "sha256", password.encode(), base64.urlsafe_b64decode(salt), int(iterations)
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


@dataclass(frozen=True, slots=True)
class Session:
    """What the cookie says: who (empty when not signed in) and the CSRF token."""

    user: str
    csrf: str


class SessionSigner:
    """Sign and read the session cookie."""

    def __init__(self, secret: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt="missioncontrol-web-session")

    def dumps(self, session: Session) -> str:
        """Return the signed cookie value for `session`."""
        return self._serializer.dumps({"u": session.user, "c": session.csrf})

    def loads(self, value: str | None) -> Session | None:
        """Return the session in a cookie value, or None if it is missing, forged or expired."""
        if not value:
            return None
        try:
            data = self._serializer.loads(value, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return None
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("u"), str)
            or not isinstance(data.get("c"), str)
        ):
            return None
        return Session(user=data["u"], csrf=data["c"])


def new_session(user: str = "") -> Session:
    """Return a fresh session for `user` (empty: anonymous) with a new CSRF token."""
    return Session(user=user, csrf=secrets.token_urlsafe(24))


def csrf_ok(session: Session | None, submitted: str | None) -> bool:
    """Return True when the form's token matches the session's."""
    return bool(session and submitted) and hmac.compare_digest(session.csrf, submitted or "")  # type: ignore[union-attr]
