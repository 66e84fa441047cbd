"""Who may use each endpoint. Every view declares a policy; requests to a view without one are
refused, and a test walks the URL map so that no endpoint ships without one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, flash, redirect, request, url_for
from flask_login import current_user

from competition.accounts.models import Role, User
from competition.i18n import gettext as _

F = TypeVar("F", bound=Callable[..., object])
POLICY_ATTRIBUTE = "access_policy"


@dataclass(frozen=True)
class Policy:
    public: bool
    roles: frozenset[Role]
    # An API endpoint: no session, no redirect to login; the API checks the bearer token
    # (competition.api.auth) and answers 401/403 as problem documents.
    api: bool = False

    def describe(self) -> str:
        if self.api:
            return "API token" if not self.public else "anyone (API)"
        if self.public:
            return "anyone"
        if not self.roles:
            return "any signed-in user"
        return "signed-in " + " or ".join(sorted(r.value for r in self.roles))


def _declare(policy: Policy) -> Callable[[F], F]:
    def decorate(view: F) -> F:
        setattr(view, POLICY_ATTRIBUTE, policy)
        return view

    return decorate


public = _declare(Policy(public=True, roles=frozenset()))
signed_in = _declare(Policy(public=False, roles=frozenset()))


def roles_required(*roles: Role) -> Callable[[F], F]:
    if not roles:
        raise ValueError("name at least one role, or use signed_in")
    return _declare(Policy(public=False, roles=frozenset(roles)))


def policy_of(view: Callable[..., object]) -> Policy | None:
    return getattr(view, POLICY_ATTRIBUTE, None)


def safe_next(target: str | None) -> str | None:
    """Only same-site paths are followed after login, never another host. Control characters
    (a CR/LF would split the Location header) and backslashes (browsers read ``/\\host`` as
    ``//host``) are refused outright."""
    if not target or any(ord(c) < 0x20 or c in "\x7f\\" for c in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target


def enforce_access() -> object | None:
    """before_request hook: apply the endpoint's declared policy."""
    if request.endpoint is None:
        return None  # no route matched; the 404 handler answers
    view = current_app.view_functions[request.endpoint]
    policy = policy_of(view)
    if policy is None:
        current_app.logger.error("endpoint %s declares no access policy", request.endpoint)
        abort(403)
    if policy.public or policy.api:
        return None
    if not current_user.is_authenticated:
        if request.method == "GET":
            flash(_("Please log in to continue."), "info")
            return redirect(url_for("accounts.login", next=request.full_path.rstrip("?")))
        if request.form and request.accept_mimetypes.best != "application/json":
            return _keep_input_and_ask_to_log_in()
        abort(401)
    if policy.roles and not current_user.has_role(*policy.roles):
        abort(403)
    return None


def _keep_input_and_ask_to_log_in() -> object:
    """A form posted after the session ended: keep what was typed, ask to log in, come back."""
    from flask import session

    from competition.accounts import pending
    from competition.db import utcnow

    # Flask-Login leaves the account's id in the cookie when the server ends its session.
    if pending.keep(request.path, request.form, user_id=session.get("_user_id"), now=utcnow()):
        flash(
            _(
                "Your session had ended, so nothing was saved yet. Log in again: what you typed "
                "is kept and shown to you again."
            ),
            "info",
        )
    else:
        flash(_("Please log in to continue."), "info")
    back = safe_next(urlsplit(request.referrer or "").path) or "/"
    return redirect(url_for("accounts.login", next=back))


def current_person() -> User:
    """The signed-in user as the model (not Flask-Login's proxy), for operations and predicates."""
    return current_user._get_current_object()  # type: ignore[no-any-return]


def wants_json() -> bool:
    """The page's script asked for JSON (autosave, progress polling)."""
    return request.accept_mimetypes.best == "application/json"
