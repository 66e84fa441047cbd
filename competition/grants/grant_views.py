"""The grant's own pages: a programme's grants for its officers, the grant page for its
consortium and officers (amounts, phases, conditions, history and the steps each reader may
take), the confirmation pages before declining and ending early, and the officer's adjustment
before the start. Anyone else gets 404."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for

from competition import params
from competition.access import current_person, roles_required, signed_in
from competition.accounts.models import Role
from competition.core import grants as rules
from competition.errors import DomainError
from competition.extensions import db
from competition.forms import attempt, perform, show_errors
from competition.grants import operations as ops
from competition.grants import queries
from competition.grants.blueprint import bp
from competition.grants.evaluations.queries import panel as evaluation_panel
from competition.grants.forms import AdjustForm, EndEarlyForm, ReasonForm, typed_amounts
from competition.grants.models import Grant, GrantKind, GrantState
from competition.grants.payments.panel import panel as payment_panel
from competition.grants.permissions import (
    can_act_for_consortium,
    can_manage_grant,
    can_see_grant,
)
from competition.i18n import current_language
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.programmes.models import Programme
from competition.programmes.permissions import is_programme_officer
from competition.proposals.forms import ButtonForm
from competition.proposals.withholding import names_for
from competition.workflow import history, offered

# The buttons of the grant's steps, and its history's lines, in the reader's language.
ACTION_LABELS = {
    "accept": _l("Accept the grant"),
    "decline": _l("Decline the grant"),
    "start": _l("Start the grant"),
    "end_early": _l("End the grant early"),
    "close": _l("Close the grant"),
}
STEP_LABELS = {
    "accept": _l("Accepted by the coordinator"),
    "decline": _l("Declined by the coordinator"),
    "start": _l("Started; phase 1 released"),
    "begin_evaluation": _l("Interim evaluation begun"),
    "continue": _l("Continued after the interim evaluation"),
    "continue_with_conditions": _l("Continued with conditions after the interim evaluation"),
    "stop": _l("Stopped after the interim evaluation"),
    "end_early": _l("Ended early"),
    "close": _l("Closed"),
}


# --- a programme's grants ----------------------------------------------------------------------


@bp.route("/programmes/<int:programme_id>/grants")
@roles_required(Role.OFFICER)
def list_grants(programme_id: int):  # type: ignore[no-untyped-def]
    programme = db.session.get(Programme, programme_id)
    if programme is None or not is_programme_officer(current_person(), programme.id):
        abort(404)
    state = params.choice("state", GrantState)
    kind = params.choice("kind", GrantKind)
    q = params.text("q")
    found = queries.list_grants(programme, state=state, kind=kind, q=q, page=params.page())
    return render_template(
        "grants/list.html",
        programme=programme,
        grants=found,
        state=state,
        kind=kind,
        q=q,
        states=list(GrantState),
        kinds=list(GrantKind),
    )


# --- the grant page ----------------------------------------------------------------------------


def _load(grant_id: int) -> Grant:
    grant = queries.find_grant(grant_id)
    if grant is None or not can_see_grant(current_person(), grant):
        abort(404)
    return grant


def _page(grant: Grant, status: int = 200):  # type: ignore[no-untyped-def]
    me = current_person()
    manage = bool(can_manage_grant(me, grant))
    act = bool(can_act_for_consortium(me, grant))
    return render_template(
        "grants/show.html",
        grant=grant,
        proposal=grant.proposal,
        table=queries.amount_table(grant),
        is_officer=manage,
        may_adjust=manage and grant.state.value in rules.ADJUSTABLE,
        may_close_from=None if ops.may_close(grant, now=g.now) else grant.ends_on,
        actions=offered(
            grant,
            {
                "accept": act,
                "decline": act,
                "start": manage,
                "end_early": manage,
                "close": manage and ops.may_close(grant, now=g.now),
            },
        ),
        action_labels=ACTION_LABELS,
        history=history("grant", [grant.id]),
        step_labels=STEP_LABELS,
        button_form=ButtonForm(formdata=None),
        # The parts' panels, read before the page renders so its template reads no database.
        payments=payment_panel(grant, me, now=g.now),
        evaluations=evaluation_panel(grant, me, now=g.now),
        public_names=names_for(me, grant.proposal),
    ), status


@bp.route("/grants/<int:grant_id>")
@signed_in
def show_grant(grant_id: int):  # type: ignore[no-untyped-def]
    return _page(_load(grant_id))


def _done(grant: Grant, message: str):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect(url_for("grants.show_grant", grant_id=grant.id))


def _step(grant_id: int, operation: Any, message: str):  # type: ignore[no-untyped-def]
    """A step taken by a button: done, or the grant page again with the refusal."""
    grant = _load(grant_id)
    form = ButtonForm()
    done = attempt(form, lambda: operation(grant, actor=current_person(), now=g.now))
    if done.done:
        return _done(grant, message)
    if done.error is not None:
        flash(" ".join(m for ms in done.error.errors.values() for m in ms), "error")
    return _page(_load(grant_id), done.status)


@bp.route("/grants/<int:grant_id>/accept", methods=["POST"])
@roles_required(Role.APPLICANT)
def accept_grant(grant_id: int):  # type: ignore[no-untyped-def]
    return _step(
        grant_id,
        ops.accept_grant,
        _("The grant is accepted; the programme office is told and starts it."),
    )


@bp.route("/grants/<int:grant_id>/start", methods=["POST"])
@roles_required(Role.OFFICER)
def start_grant(grant_id: int):  # type: ignore[no-untyped-def]
    return _step(
        grant_id,
        ops.start_grant,
        _("The grant is running; its first phase is released for payments."),
    )


@bp.route("/grants/<int:grant_id>/close", methods=["POST"])
@roles_required(Role.OFFICER)
def close_grant(grant_id: int):  # type: ignore[no-untyped-def]
    return _step(grant_id, ops.close_grant, _("The grant is closed."))


# --- confirmation pages -------------------------------------------------------------------------


@bp.route("/grants/<int:grant_id>/decline", methods=["GET", "POST"])
@roles_required(Role.APPLICANT)
def decline_grant(grant_id: int):  # type: ignore[no-untyped-def]
    grant = _load(grant_id)
    me = current_person()
    form = ReasonForm()
    declined = attempt(
        form,
        lambda: ops.decline_grant(grant, actor=me, reason=form.reason.data or "", now=g.now),
    )
    if declined.done:
        return _done(grant, _("The grant is declined; the programme office is told."))
    allowed = can_act_for_consortium(me, grant)
    return render_template(
        "grants/decline.html",
        grant=_load(grant_id) if declined.error else grant,
        form=form,
        refusal=None if allowed else allowed.reason,
    ), (declined.status if allowed else 403)


@bp.route("/grants/<int:grant_id>/end-early", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def end_grant_early(grant_id: int):  # type: ignore[no-untyped-def]
    grant = _load(grant_id)
    me = current_person()
    form = EndEarlyForm()
    ended = attempt(
        form,
        lambda: ops.end_grant_early(
            grant, actor=me, reason=form.reason.data or "", ends_on=form.ends_on.data, now=g.now
        ),
    )
    if ended.done:
        return _done(grant, _("The grant has ended early; the coordinator is told."))
    allowed = can_manage_grant(me, grant)
    return render_template(
        "grants/end_early.html",
        grant=_load(grant_id) if ended.error else grant,
        form=form,
        today=ops.today_in_berlin(g.now),
        refusal=None if allowed else allowed.reason,
    ), (ended.status if allowed else 403)


# --- adjusting before the start ------------------------------------------------------------------


def _shown(table: queries.AmountTable, typed: dict[tuple[int, int], str]) -> dict[str, str]:
    """Each cell's input as the reader types amounts (a decimal comma in German, no groups),
    or as typed when the form comes back refused."""
    comma = current_language() == "de"
    shown = {}
    for row in table.rows:
        for year in table.years:
            key = (row.member.id, year)
            if key in typed:
                text = typed[key]
            else:
                value = row.by_year.get(year, Decimal(0))
                text = f"{value:.2f}".removesuffix(".00") if value else ""
                text = text.replace(".", ",") if comma else text
            shown[f"m{key[0]}-y{key[1]}"] = text
    return shown


@bp.route("/grants/<int:grant_id>/adjust", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def adjust_grant(grant_id: int):  # type: ignore[no-untyped-def]
    grant = _load(grant_id)
    me = current_person()
    allowed = can_manage_grant(me, grant)
    form = AdjustForm()
    if request.method == "GET":
        form.starts_on.data = grant.starts_on
        form.ends_on.data = grant.ends_on
        form.conditions.data = grant.conditions
    typed = typed_amounts(request.form) if request.method == "POST" else {}
    cell_errors: dict[str, list[str]] = {}
    status = 200
    if form.validate_on_submit():
        adjusted = perform(
            lambda: ops.adjust_grant(
                grant,
                actor=me,
                amounts=typed,
                starts_on=form.starts_on.data,
                ends_on=form.ends_on.data,
                conditions=form.conditions.data or "",
                reason=form.reason.data or "",
                now=g.now,
                locale=current_language(),
            )
        )
        if adjusted.done:
            return _done(grant, _("The grant is adjusted; the coordinator is told."))
        assert adjusted.error is not None
        status = adjusted.status
        # Messages about one amount go to its cell ("m<member>-y<year>"); the rest at the form.
        cell_errors = {k: v for k, v in adjusted.error.errors.items() if k.startswith("m")}
        rest = {k: v for k, v in adjusted.error.errors.items() if not k.startswith("m")}
        if cell_errors:
            rest.setdefault("", []).append(
                _("Nothing was saved: correct the amounts marked in the table.")
            )
        grant = _load(grant_id)
        show_errors(form, DomainError(rest))
    elif request.method == "POST":
        status = 422
    if not allowed:
        status = 403
    years = None
    if form.starts_on.data and form.ends_on.data and form.ends_on.data > form.starts_on.data:
        years = min(rules.project_years(form.starts_on.data, form.ends_on.data), rules.MAX_YEARS)
    table = queries.amount_table(grant, members=queries.fundable_members(grant), years=years)
    return render_template(
        "grants/adjust.html",
        grant=grant,
        form=form,
        table=table,
        shown=_shown(table, typed),
        cell_errors=cell_errors,
        adjustable=grant.state.value in rules.ADJUSTABLE,
        refusal=None if allowed else allowed.reason,
    ), status
