"""Administrators' pages: what the erasure did, and recording a person's erasure request."""

from __future__ import annotations

from flask import Blueprint, flash, g, redirect, render_template, url_for

from competition.access import current_person, roles_required
from competition.accounts.models import Role
from competition.forms import attempt
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.retention import operations, queries
from competition.retention.forms import ErasureRequestForm

bp = Blueprint("retention", __name__)

# What the counts of a run are called on the page, in the order shown.
KINDS = {
    "proposals": _l("Proposals erased"),
    "unsuccessful": _l("of them unsuccessful"),
    "funded": _l("of them funded"),
    "texts": _l("Texts"),
    "files": _l("Files"),
    "contact_persons": _l("Contact persons"),
    "invitations": _l("Invitations and exclusion requests"),
    "messages": _l("E-mails"),
    "accounts": _l("Accounts"),
    "second_factors": _l("Second factors"),
    "sign_in_links": _l("Links to sign-in providers"),
    "audit_events": _l("Audit events cleared of personal details"),
    "requests_completed": _l("Erasure requests completed"),
    "waiting": _l("Proposals waiting for their period to end"),
}


@bp.route("/admin/retention")
@roles_required(Role.ADMIN)
def retention_report():  # type: ignore[no-untyped-def]
    return render_template("retention/report.html", page=queries.retention_page(), kinds=KINDS)


@bp.route("/admin/erasure-requests/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def record_erasure_request():  # type: ignore[no-untyped-def]
    form = ErasureRequestForm()
    done = attempt(
        form,
        lambda: operations.record_erasure_request_by_address(
            form.email.data or "",
            actor=current_person(),
            reason=form.reason.data or "",
            now=g.now,
        ),
        fields={"person": "email"},
    )
    if done.done and done.result is not None:
        flash(
            _("The person is erased. What is still within a retention period follows later."),
            "success",
        )
        return redirect(url_for("retention.retention_report"))
    return render_template("retention/request.html", form=form), done.status
