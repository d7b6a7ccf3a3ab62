"""Browser sessions: a random session id in a signed cookie, and signed tokens for callbacks.

Every browser gets a random 128-bit session id the first time it asks for anything, kept in
Flask's signed session cookie (``HttpOnly``, ``SameSite=Lax``). The page layout embeds the
same id as a token signed with the app's key; callbacks take the token as a ``State`` and
verify it, so a browser can only name its own session.

A token is bound to the cookie: inside a request it is only valid with the cookie of the same
session, so a token copied out of a page (or a link) is useless to another browser. Tokens
also expire (:data:`TOKEN_MAX_AGE_S`): a page open longer asks to be reloaded, which gives it
a fresh token.
"""

from __future__ import annotations

from typing import Any

import flask
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from capplan.dashboard.workspace import check_session_id, new_session_id
from capplan.errors import CapplanError

COOKIE_KEY = "capplan_sid"
_SALT = "capplan-dashboard-session"
#: Lifetime of a page's session token, s (a day: a page open longer is reloaded).
TOKEN_MAX_AGE_S = 24 * 60 * 60


class SessionError(CapplanError):
    """A callback arrived without a valid session token."""


def install(server: flask.Flask, secret_key: bytes | str) -> None:
    """Configure signed session cookies and give every request a session id."""
    server.secret_key = secret_key
    server.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_NAME="capplan_session",
        PERMANENT_SESSION_LIFETIME=60 * 60 * 24 * 90,
    )

    @server.before_request
    def _ensure_session() -> None:
        current_session_id()


def current_session_id() -> str:
    """The session id of the current request, created (and the cookie set) if missing."""
    sid = flask.session.get(COOKIE_KEY)
    try:
        return check_session_id(str(sid))
    except CapplanError:
        sid = new_session_id()
        flask.session[COOKIE_KEY] = sid
        flask.session.permanent = True
        return sid


class TokenSigner:
    """Signs and verifies session tokens with the app's secret key."""

    def __init__(self, secret_key: bytes | str, max_age_s: int = TOKEN_MAX_AGE_S) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt=_SALT)
        self.max_age_s = max_age_s

    def token(self, session_id: str) -> str:
        """A token naming ``session_id`` that only this server can have produced."""
        return str(self._serializer.dumps(check_session_id(session_id)))

    def session_id(self, token: Any) -> str:
        """The session id a token names.

        Raises
        ------
        SessionError
            If the token is missing, forged, damaged or expired, or (inside a request) names
            another session than the request's cookie.
        """
        if not isinstance(token, str) or not token:
            raise SessionError("this page has no session; reload it")
        try:
            value = self._serializer.loads(token, max_age=self.max_age_s)
        except SignatureExpired:
            raise SessionError("this page has been open too long; reload it") from None
        except BadSignature:
            raise SessionError("this page's session is not valid; reload it") from None
        session_id = check_session_id(value)
        if flask.has_request_context() and flask.session.get(COOKIE_KEY) != session_id:
            raise SessionError(
                "this page belongs to another browser session (cookie missing or changed); "
                "reload it"
            )
        return session_id
