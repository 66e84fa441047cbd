"""The first page after login, one section per role, and the health check."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, current_app, g, redirect, render_template, url_for
from flask_login import current_user

from competition.access import public
from competition.accounts.models import Role
from competition.clarifications.queries import list_open_for_applicant
from competition.extensions import db
from competition.grants.reports.queries import reports_owed_by
from competition.programmes.queries import list_programmes_run_by
from competition.proposals.queries import call_summaries, list_proposals_of_applicant
from competition.tasks import broker_state

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@public
def home():  # type: ignore[no-untyped-def]
    if not current_user.is_authenticated:
        return render_template("dashboard/welcome.html")
    context: dict[str, object] = {}
    if current_user.has_role(Role.OFFICER):
        programmes = list_programmes_run_by(current_user)
        context["programmes"] = programmes
        context["summaries"] = call_summaries(programmes, now=g.now)
    if current_user.has_role(Role.APPLICANT):
        context["my_proposals"] = list_proposals_of_applicant(current_user)
        context["open_clarifications"] = list_open_for_applicant(current_user)
        context["reports_owed"] = reports_owed_by(current_user)
    return render_template("dashboard/home.html", **context)


@bp.route("/favicon.ico")
@public
def favicon():  # type: ignore[no-untyped-def]
    """Browsers and feed readers ask here whatever the page names; send them to the icon."""
    return redirect(url_for("static", filename="favicon.svg"), 301)


@bp.route("/healthz")
@public
def healthz():  # type: ignore[no-untyped-def]
    """For load balancers and operators: is the database reachable, is the broker?"""
    report: dict[str, str] = {}
    healthy = True
    try:
        db.session.execute(sa.text("SELECT 1"))
        report["database"] = "ok"
    except Exception as exc:
        db.session.rollback()
        report["database"] = f"error: {type(exc).__name__}"
        healthy = False
    try:
        report["broker"] = broker_state(current_app)
    except Exception as exc:
        report["broker"] = f"error: {type(exc).__name__}"
        healthy = False
    report["status"] = "ok" if healthy else "degraded"
    return report, 200 if healthy else 503
