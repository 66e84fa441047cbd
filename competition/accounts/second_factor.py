"""The second step of signing in, and the one place that knows which second factors exist.

After a correct password, a person with a second factor gets no session yet: the cookie holds
only a marker (who passed the password step, when, and where to go next) that lasts five
minutes, and ``/login/second-factor`` asks for a code or a passkey. Whatever completes signing
in (the password alone, a code, a passkey, single sign-on) calls :func:`open_session` (through
:func:`finish_login` where the answer is a redirect), the one function that opens the real
session.

Kinds of second factor register here (:func:`register_factor`): how to tell whether a person
has one and how to remove a person's. The authenticator app (TOTP) registers below; passkeys
register from their own module. :func:`has_second_factor` asks every registered kind.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, g, redirect, request, url_for
from flask import session as cookie_session
from flask_login import current_user, login_user
from werkzeug.wrappers import Response

from competition.access import current_person, policy_of, safe_next, wants_json
from competition.accounts import operations as ops
from competition.accounts import sessions
from competition.accounts.models import RecoveryCode, TotpFactor, User
from competition.db import remembered
from competition.extensions import db
from competition.i18n import LANGUAGES, SESSION_KEY
from competition.i18n import gettext as _

log = logging.getLogger(__name__)

PENDING_KEY = "second_factor_pending"
PENDING_FOR = dt.timedelta(minutes=5)
# Where a person whose role requires a second factor may still go without one: besides these,
# every page of the blueprints where a factor is set up (an authenticator app, a passkey).
EXEMPT_ENDPOINTS = frozenset({"static", "accounts.logout", "accounts.choose_language"})
SET_UP_BLUEPRINTS = frozenset({"security", "passkeys"})


# --- the kinds of second factor -------------------------------------------------------------


@dataclass(frozen=True)
class Factor:
    """A kind of second factor: ``holders(user_ids)`` tells which of these people have one
    (confirmed, usable for signing in), in one query; ``remove(user)`` deletes every one of a
    person's and says how many (caller commits)."""

    name: str
    holders: Callable[[Collection[int]], set[int]]
    remove: Callable[[User], int]


_FACTORS: dict[str, Factor] = {}


def register_factor(factor: Factor) -> None:
    _FACTORS[factor.name] = factor


def has_second_factor(user: User, *, fresh: bool = False) -> bool:
    """Whether ``user`` has any second factor, of any registered kind: what decides that signing
    in asks for a second step and that a role's requirement is met. Remembered for the session
    until it writes; ``fresh`` asks again (an operation that has just removed one)."""

    def ask() -> bool:
        return any(user.id in factor.holders([user.id]) for factor in _FACTORS.values())

    return ask() if fresh else remembered(("has_second_factor", user.id), ask)


def people_with_second_factor(user_ids: Collection[int]) -> set[int]:
    """Which of these people have a second factor (a list page's marks), one query per kind."""
    if not user_ids:
        return set()
    found: set[int] = set()
    for factor in _FACTORS.values():
        found |= factor.holders(user_ids)
    return found


def remove_second_factors(user: User) -> dict[str, int]:
    """Remove every second factor of ``user`` and their recovery codes (caller commits and
    audits). Returns how many of each kind went, for the audit event."""
    removed = {name: factor.remove(user) for name, factor in _FACTORS.items()}
    removed["recovery_codes"] = remove_recovery_codes(user)
    return {name: count for name, count in removed.items() if count}


def find_totp(user: User) -> TotpFactor | None:
    return db.session.scalar(sa.select(TotpFactor).where(TotpFactor.user_id == user.id))


def _totp_holders(user_ids: Collection[int]) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(TotpFactor.user_id).where(TotpFactor.user_id.in_(list(user_ids)))
        )
    )


def _remove_totp(user: User) -> int:
    result = db.session.execute(sa.delete(TotpFactor).where(TotpFactor.user_id == user.id))
    return result.rowcount or 0


def remove_recovery_codes(user: User) -> int:
    result = db.session.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    return result.rowcount or 0


def unused_recovery_codes(user: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


register_factor(Factor("totp", holders=_totp_holders, remove=_remove_totp))


def required_for(user: User) -> bool:
    """Whether the deployment requires a second factor of ``user``, by their roles
    (``SECOND_FACTOR_REQUIRED_ROLES``)."""
    required = current_app.extensions["settings"].second_factor_required_roles
    return bool(required) and user.has_role(*required)


# --- the pending login ----------------------------------------------------------------------


def _fresh_cookie(user: User) -> None:
    """Nothing from before the login carries over but the language: the account's, or the one
    chosen before signing in, so that public pages speak it too."""
    language = user.locale or cookie_session.get(SESSION_KEY)
    cookie_session.clear()
    if language in LANGUAGES:
        cookie_session[SESSION_KEY] = language


def begin_pending(user: User, *, next_url: str | None, now: dt.datetime) -> None:
    """Remember for five minutes that ``user`` passed the password step (no session yet)."""
    _fresh_cookie(user)
    cookie_session[PENDING_KEY] = {
        "user_id": user.id,
        "at": int(now.timestamp()),
        "next": safe_next(next_url) or "",
    }


def pending_login(now: dt.datetime) -> tuple[User, str | None] | None:
    """The person who passed the password step in this browser less than five minutes ago and
    may still sign in, with where to go next; None otherwise (an expired marker is dropped)."""
    marker: Any = cookie_session.get(PENDING_KEY)
    if not isinstance(marker, dict):
        return None
    user_id, at = marker.get("user_id"), marker.get("at")
    if not isinstance(user_id, int) or not isinstance(at, int):
        cookie_session.pop(PENDING_KEY, None)
        return None
    began = dt.datetime.fromtimestamp(at, dt.UTC)
    if not began <= now < began + PENDING_FOR:
        cookie_session.pop(PENDING_KEY, None)
        return None
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        cookie_session.pop(PENDING_KEY, None)
        return None
    return user, safe_next(marker.get("next"))


def open_session(user: User, *, method: str) -> None:
    """Sign ``user`` in, who passed every step.

    The one place that opens a real session: a fresh cookie (only the language carries over,
    so no session fixation), a session row, Flask-Login's user, and the audit event
    ``account.logged_in`` with ``method``. The login view, the second step, passkeys and single
    sign-on all end here.
    """
    token = ops.open_signed_in_session(user, method=method, now=g.now)
    _fresh_cookie(user)
    cookie_session.permanent = True
    cookie_session[sessions.COOKIE_KEY] = token
    login_user(user)
    log.info("user %s logged in (%s)", user.id, method)


def landing(next_url: str | None) -> str:
    """Where a person goes once signed in: ``next_url`` if same-site, else the start page."""
    return safe_next(next_url) or url_for("dashboard.home")


def finish_login(user: User, *, method: str, next_url: str | None = None) -> Response:
    """:func:`open_session`, then on to ``next_url`` (same-site only) or the start page."""
    open_session(user, method=method)
    return redirect(landing(next_url))


# --- the requirement ------------------------------------------------------------------------


def enforce_second_factor() -> Response | None:
    """before_request hook, after ``enforce_access``: a signed-in person whose role requires a
    second factor and who has none is sent to the security page to set one up, from every page
    but those where a factor is set up, logging out, the language switch, public pages and the
    API (whose tokens keep working)."""
    endpoint = request.endpoint
    if endpoint is None or not current_user.is_authenticated:
        return None
    if endpoint in EXEMPT_ENDPOINTS or endpoint.split(".", 1)[0] in SET_UP_BLUEPRINTS:
        return None
    policy = policy_of(current_app.view_functions[endpoint])
    if policy is None or policy.public or policy.api:
        return None
    person = current_person()
    if not required_for(person) or has_second_factor(person):
        return None
    if wants_json():
        abort(403)
    flash(
        _(
            "Your role requires a second factor. Set up an authenticator app or add a passkey "
            "to continue; it takes a minute."
        ),
        "info",
    )
    return redirect(url_for("security.show_security"))
