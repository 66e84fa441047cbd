"""Who calls the API: a personal token in ``Authorization: Bearer …``, never the session cookie
(so no other site can make a signed-in browser call it, and no CSRF token is needed).

Every endpoint declares one of two policies: ``api_public`` (anyone, what the portal shows) or
``api_token(area, write=)`` (a live token with that scope). The view then checks the object with
the same permission predicates as the pages, taking the person from ``api_user()``."""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
from collections.abc import Callable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import g, request

from competition.access import POLICY_ATTRIBUTE, Policy
from competition.accounts.models import User, UserStatus
from competition.api.models import ApiArea, ApiToken
from competition.api.problems import ApiProblem
from competition.extensions import db

F = TypeVar("F", bound=Callable[..., Any])
TOKEN_PREFIX = "cmp_"
# last_used_at is written at most this often, so a busy token does not write on every call.
USE_RECORDED_EVERY = dt.timedelta(minutes=1)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    kind, _, value = header.partition(" ")
    if kind.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def token_in_request() -> ApiToken | None:
    """The live token the request carries, or None. Cached on ``g`` for the request."""
    if "api_token" in g:
        return g.api_token  # type: ignore[no-any-return]
    token = None
    value = bearer()
    if value is not None and value.startswith(TOKEN_PREFIX) and len(value) < 200:
        found = db.session.execute(
            sa.select(ApiToken)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == hash_token(value), User.status == UserStatus.ACTIVE)
        ).scalar_one_or_none()
        if found is not None and found.active(g.now):
            token = found
            if found.last_used_at is None or g.now - found.last_used_at > USE_RECORDED_EVERY:
                db.session.execute(
                    sa.update(ApiToken).where(ApiToken.id == found.id).values(last_used_at=g.now)
                )
                db.session.commit()
    g.api_token = token
    return token


def api_user() -> User:
    """The person whose token authorised this request (inside an ``api_token`` view)."""
    token = token_in_request()
    assert token is not None, "api_user() outside an api_token endpoint"
    return token.user


def api_public(view: F) -> F:
    """Anyone may call it; it shows only what the portal shows."""
    setattr(view, POLICY_ATTRIBUTE, Policy(public=True, roles=frozenset(), api=True))
    return view


def api_token(area: ApiArea | None, *, write: bool = False) -> Callable[[F], F]:
    """A live token whose scopes include ``area`` (read, or write where ``write``); any live
    token where ``area`` is None."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def checked(*args: Any, **kwargs: Any) -> Any:
            token = token_in_request()
            if token is None:
                raise ApiProblem(
                    401,
                    "Unauthorized",
                    "Send a live personal API token as 'Authorization: Bearer <token>'.",
                    headers={"WWW-Authenticate": 'Bearer realm="api"'},
                )
            if area is not None and not token.allows(area, write):
                needed = f"{area.value}:{'write' if write else 'read'}"
                raise ApiProblem(403, "Forbidden", f"This token lacks the scope {needed}.")
            return view(*args, **kwargs)

        setattr(checked, POLICY_ATTRIBUTE, Policy(public=False, roles=frozenset(), api=True))
        checked.api_scope = (area, write)  # type: ignore[attr-defined]
        return checked  # type: ignore[return-value]

    return decorate
