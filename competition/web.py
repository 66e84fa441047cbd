"""Request-level wiring shared by every page: access checks, security headers, error pages,
template filters and the command-line groups."""

from __future__ import annotations

import logging
import re
from collections.abc import Hashable
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app, g, render_template, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from markupsafe import Markup, escape
from werkzeug.exceptions import HTTPException

from competition.access import enforce_access, policy_of, public, wants_json
from competition.db import COMMITTED, COMMITTING, WORKING, utcnow
from competition.i18n import current_language, say, time_left, written
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.kept import kept_fragment
from competition.params import clean_query
from competition.prose import prose

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

# Lazy: read in the language of the request that fails.
ERROR_TEXT = {
    400: (_l("Bad request"), _l("The request could not be understood.")),
    401: (_l("Please log in"), _l("Your session has ended. Log in again to continue.")),
    403: (_l("Not allowed"), _l("You do not have permission to open this page.")),
    404: (_l("Not found"), _l("There is no page at this address.")),
    405: (_l("Not allowed"), _l("This page cannot be used that way.")),
    413: (_l("Too large"), _l("The upload is larger than the limit.")),
    429: (_l("Too many attempts"), _l("Please wait a few minutes before trying again.")),
    500: (_l("Something went wrong"), _l("The error has been logged. Please try again.")),
}


def plain_amount(value: Decimal | None) -> str:
    """An amount as typed into a form: no separators, no trailing zeros after the point."""
    if value is None:
        return ""
    return f"{value:.2f}".removesuffix(".00")


def state_name(code: str) -> str:
    from competition.organisations.models import STATE_NAMES, FederalState

    try:
        return str(STATE_NAMES[FederalState(code)])
    except ValueError:
        return code


def kind_name(code: str) -> str:
    """An organisation kind kept as its code (a frozen version), named for people."""
    from competition.organisations.models import OrganisationKind

    try:
        return OrganisationKind(code).label
    except ValueError:
        return code


def member_role_name(code: str) -> str:
    from competition.proposals.models import MemberRole

    try:
        return MemberRole(code).label
    except ValueError:
        return code


# Codes kept in the database, named for people. Lazy: read in the language of the request.
ROLE_NAMES = {
    "applicant": _l("Applicant"),
    "juror": _l("Juror"),
    "officer": _l("Officer"),
    "admin": _l("Administrator"),
}
USER_STATUS_NAMES = {
    "invited": _l("Invited"),
    "unconfirmed": _l("E-mail address not confirmed"),
    "active": _l("Active"),
    "disabled": _l("Disabled"),
}
SUBMISSION_STATE_NAMES = {
    "draft": _l("Draft"),
    "submitted": _l("Submitted"),
    "withdrawn": _l("Withdrawn"),
}
CONTRIBUTOR_ROLE_NAMES = {
    "coordinator": _l("Coordinator"),
    "contributor": _l("Contributor"),
}


def _named(names: dict[str, Any], code: object) -> str:
    """The name of a code; a code without one (added later, or mistyped) shows as itself."""
    name = names.get(str(code))
    return str(name) if name is not None else str(code)


def role_name(code: str) -> str:
    return _named(ROLE_NAMES, code)


def user_status_name(code: str) -> str:
    return _named(USER_STATUS_NAMES, code)


def submission_state_name(code: str) -> str:
    return _named(SUBMISSION_STATE_NAMES, code)


def contributor_role_name(code: str) -> str:
    return _named(CONTRIBUTOR_ROLE_NAMES, code)


def conflict_reason(conflict: Any) -> str:
    """An automatic conflict's reason, stored as a text, in the reader's language; a reason a
    person typed, as typed."""
    from competition.assignment.models import ConflictSource

    if conflict.source == ConflictSource.AUTOMATIC:
        return say(conflict.reason)
    return str(conflict.reason)


def money(value: Decimal | int | str | None, currency: str = "EUR", *, cents: bool = False) -> str:
    """``1.200.000 €`` in German, ``1 200 000 EUR`` in English; with ``cents`` (payments, whose
    cents matter) ``1.200.000,50 €`` and ``1 200 000.50 EUR``."""
    if value is None:
        return "–"
    if current_language() == "de":
        sign = "€" if currency == "EUR" else currency
        return f"{written(Decimal(value), 'de', digits=2 if cents else 0, fixed=True)}\u00a0{sign}"
    shown = f"{Decimal(value):,.2f}" if cents else f"{Decimal(value):,.0f}"
    return f"{shown} {currency}".replace(",", "\u202f")


def millions(value: Decimal | int | None) -> str:
    if value is None:
        return "–"
    amount = Decimal(value) / Decimal(1_000_000)
    if current_language() == "de":
        return f"{written(amount, 'de', digits=1, fixed=True)}\u00a0Mio.\u00a0€"
    return f"{amount:,.1f} million euro"


_URL = re.compile(r"https?://[^\s<>\"']+")


def linkify(text: str | None) -> Markup:
    """Plain text with its web addresses made clickable; everything else stays escaped."""
    escaped = str(escape(text or ""))
    return Markup(_URL.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped))


def navigation() -> Markup:
    """The header's links for the signed-in person's roles (none: a visitor's), rendered once
    per language, roles and settings and kept: a tenth of a short page's work was these."""
    settings = current_app.extensions["settings"]
    signed_in = bool(current_user.is_authenticated)
    values = {
        "signed_in": signed_in,
        "roles": tuple(sorted(current_user.roles)) if signed_in else (),
        "sign_in_providers": bool(settings.oidc_providers),
        "mailbox": settings.mail_backend == "dev",
    }
    return _kept_part("layout/navigation.html", values)


def footer() -> Markup:
    demo = bool(current_app.extensions["settings"].demo_mode)
    return _kept_part("layout/footer.html", {"demo": demo})


def _kept_part(template: str, values: dict[str, Hashable]) -> Markup:
    return kept_fragment("page frame", (template, *values.items()), template, size=64, **values)


def init_app(app: Flask) -> None:
    from competition import (
        api,
        assignment,
        clarifications,
        grants,
        hearings,
        memberships,
        proposals,
        reviews,
        selection,
    )
    from competition.accounts import single_sign_on
    from competition.accounts.passkey_views import bp as passkeys_bp
    from competition.accounts.second_factor import enforce_second_factor
    from competition.accounts.security_views import bp as security_bp
    from competition.accounts.sso_views import bp as sso_bp
    from competition.accounts.views import bp as accounts_bp
    from competition.accounts.views import load_user
    from competition.api.token_views import bp as api_tokens_bp
    from competition.assignment.run_views import bp as assignment_bp
    from competition.assignment.views import bp as jury_bp
    from competition.clarifications.views import bp as clarifications_bp
    from competition.dashboard import bp as dashboard_bp
    from competition.extensions import login_manager
    from competition.grants.views import bp as grants_bp
    from competition.hearings.views import bp as hearings_bp
    from competition.legal.views import bp as legal_bp
    from competition.memberships.views import bp as memberships_bp
    from competition.notifications.views import bp as notifications_bp
    from competition.organisations.views import bp as organisations_bp
    from competition.personal_data.views import bp as personal_data_bp
    from competition.portal.views import bp as portal_bp
    from competition.programmes.topic_views import bp as topics_bp
    from competition.programmes.views import bp as programmes_bp
    from competition.proposals.views import bp as proposals_bp
    from competition.retention.views import bp as retention_bp
    from competition.reviews.views import bp as reviews_bp
    from competition.screening.views import bp as screening_bp
    from competition.selection.views import bp as selection_bp

    login_manager.user_loader(load_user)
    login_manager.login_view = "accounts.login"
    login_manager.session_protection = None  # server-side sessions do this job

    for blueprint in (
        accounts_bp,
        security_bp,
        dashboard_bp,
        programmes_bp,
        topics_bp,
        proposals_bp,
        notifications_bp,
        retention_bp,
        organisations_bp,
        screening_bp,
        clarifications_bp,
        jury_bp,
        assignment_bp,
        reviews_bp,
        hearings_bp,
        selection_bp,
        grants_bp,
        memberships_bp,
        legal_bp,
        portal_bp,
        api_tokens_bp,
        passkeys_bp,
        sso_bp,
        personal_data_bp,
    ):
        app.register_blueprint(blueprint)
    single_sign_on.init_app(app)
    public(app.view_functions["static"])
    proposals.init_app(app)
    clarifications.init_app(app)
    reviews.init_app(app)
    assignment.init_app(app)
    hearings.init_app(app)
    selection.init_app(app)
    grants.init_app(app)
    memberships.init_app(app)

    app.before_request(clean_query)
    app.before_request(_request_clock)
    app.before_request(enforce_access)
    # After the access check: only a signed-in person on a page they may use is sent on.
    app.before_request(enforce_second_factor)
    # After the request's clock: the API's rate limit reads the caller's token, which needs it.
    api.init_app(app)
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected_error)
    app.register_error_handler(sa.exc.SQLAlchemyError, _database_error)
    app.add_template_filter(money, "money")
    app.add_template_filter(millions, "millions")
    app.add_template_filter(linkify, "linkify")
    app.add_template_filter(time_left, "time_left")
    app.add_template_filter(plain_amount, "plain_amount")
    app.add_template_filter(state_name, "state_name")
    app.add_template_filter(kind_name, "kind_name")
    app.add_template_filter(member_role_name, "member_role_name")
    app.add_template_filter(prose, "prose")
    for named in (
        role_name,
        user_status_name,
        submission_state_name,
        contributor_role_name,
        conflict_reason,
    ):
        app.add_template_filter(named)
    app.jinja_env.globals["policy_of"] = policy_of
    app.jinja_env.globals["navigation"] = navigation
    app.jinja_env.globals["footer"] = footer
    app.context_processor(lambda: {"settings": app.extensions["settings"]})

    from competition import logs
    from competition.cli import register_cli

    logs.install()

    register_cli(app)


def _request_clock() -> None:
    g.now = utcnow()


def _security_headers(response):  # type: ignore[no-untyped-def]
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.endpoint != "static":
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def _wants_json() -> bool:
    return request.path.startswith("/api/") or wants_json()


def _render_error(status: int, detail: str | None = None):  # type: ignore[no-untyped-def]
    title, text = (str(part) for part in ERROR_TEXT.get(status, ERROR_TEXT[500]))
    if _is_api():
        from competition.api.problems import problem_response

        return problem_response(status, detail=detail)
    if _wants_json():
        return {"error": title, "detail": detail or text}, status
    return render_template("errors/error.html", status=status, title=title, text=detail or text), (
        status
    )


def _csrf_error(error: CSRFError):  # type: ignore[no-untyped-def]
    return _render_error(
        400,
        _("This form has expired or was sent from another site. Reload the page and try again."),
    )


def _http_error(error: HTTPException):  # type: ignore[no-untyped-def]
    if error.code is None or error.code < 400:
        return error
    if _is_api():
        from competition.api.problems import from_http_error

        return from_http_error(error)
    return _render_error(error.code)


def _is_api() -> bool:
    return request.path.startswith("/api/")


# What a person is told when the database cannot be reached, by how far their request got.
# Lazy: read in the language of the request.
UNAVAILABLE = {
    None: _l("Nothing was changed."),
    WORKING: _l(
        "Nothing was saved or submitted: the database could not be reached. Go back in your "
        "browser, where your entries are still there, and send them again in a minute."
    ),
    COMMITTING: _l(
        "The database went away while your change was being stored, so it is not certain "
        "whether it was kept. Reload the page in a minute to see; sending it again does no "
        "harm, as a repeated submission is recognised."
    ),
    COMMITTED: _l(
        "Your change was saved, but the page could not be shown afterwards because the "
        "database became unreachable. Reload the page in a minute."
    ),
}
_AWAY_SQLSTATES = ("08", "57P01", "57P02", "57P03")


def _database_away(error: Exception) -> bool:
    """The database refused or lost the connection (not a constraint, a deadlock or a bug)."""
    if isinstance(error, sa.exc.TimeoutError | sa.exc.DisconnectionError):
        return True
    if not isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError):
        return False
    sqlstate = getattr(error.orig, "sqlstate", None)
    return error.connection_invalidated or sqlstate is None or sqlstate.startswith(_AWAY_SQLSTATES)


def _database_error(error: sa.exc.SQLAlchemyError):  # type: ignore[no-untyped-def]
    if not isinstance(error, Exception) or not _database_away(error):
        return _unexpected_error(error)
    from competition.db import commit_state
    from competition.extensions import db

    state = commit_state()
    try:
        db.session.rollback()
    except sa.exc.SQLAlchemyError:
        pass
    log.warning(
        "database unavailable on %s %s (%s, %s)",
        request.method,
        request.endpoint,
        type(error).__name__,
        state,
    )
    title = _("Briefly unavailable")
    text = str(UNAVAILABLE.get(state, UNAVAILABLE[None]))
    advice = _("The service cannot reach its database at the moment. Please try again shortly.")
    headers = {"Retry-After": "30"}
    if _is_api():
        from competition.api.problems import problem_response

        detail = {
            COMMITTED: "The change was stored; the answer could not be read afterwards.",
            COMMITTING: "The connection broke while the change was stored: it may have been kept.",
        }.get(state or "", "Nothing was stored.")
        return problem_response(503, detail=detail, headers=headers)
    if _wants_json():
        saved = {COMMITTED: True, COMMITTING: None}.get(state or "", False)
        return {"error": text, "saved": saved}, 503, headers
    # Rendered without the context processors: the signed-in user would be read from the
    # database that is away.
    template = current_app.jinja_env.get_template("errors/unavailable.html")
    return template.render(title=title, text=text, advice=advice), 503, headers


def _unexpected_error(error: Exception):  # type: ignore[no-untyped-def]
    from competition.extensions import db

    db.session.rollback()
    log.exception("unhandled error on %s %s", request.method, request.endpoint)
    return _render_error(500)
