"""Payment pages: a grant's payments and the coordinator's request form, a request's page with
the officers' decisions, the programme's payments with their export, the exports list with its
downloads, and the programme's money view. Grants and requests are seen only by the grant's
officers and its consortium (404 for anyone else); the programme's pages only by its officers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, g, redirect, render_template, request, url_for
from flask_babel import ngettext

from competition import params
from competition.access import current_person, roles_required, signed_in
from competition.accounts.models import Role
from competition.accounts.queries import names_of
from competition.downloads import download
from competition.forms import attempt, messages_of, perform
from competition.grants.blueprint import bp
from competition.grants.models import Disbursement, DisbursementState, Grant, PaymentExport
from competition.grants.payments import charts, files, queries
from competition.grants.payments import operations as ops
from competition.grants.payments.forms import RejectForm, RequestForm
from competition.grants.payments.panel import (
    ACTION_ENDPOINTS,
    ACTION_LABELS,
    actions_for,
    panel,
)
from competition.grants.payments.permissions import can_handle_payments, can_request_payment
from competition.grants.permissions import can_see_grant, is_grant_officer
from competition.i18n import gettext as _
from competition.i18n import local_date
from competition.programmes.models import Programme
from competition.proposals import storage
from competition.proposals.forms import ButtonForm
from competition.workflow import history


def _grant(grant_id: int) -> Grant:
    grant = queries.find_grant(grant_id)
    if grant is None or not can_see_grant(current_person(), grant):
        abort(404)
    return grant


def _disbursement(disbursement_id: int) -> Disbursement:
    disbursement = queries.find_disbursement(disbursement_id)
    if disbursement is None or not can_see_grant(current_person(), disbursement.grant):
        abort(404)
    return disbursement


def _programme(programme_id: int) -> Programme:
    """The programme for its officers; 404 for anyone else, like a missing one."""
    programme = queries.find_programme(programme_id)
    if programme is None or not can_handle_payments(current_person(), programme):
        abort(404)
    return programme


# --- a grant's payments ---------------------------------------------------------------------------


@bp.route("/grants/<int:grant_id>/payments")
@signed_in
def grant_payments(grant_id: int):  # type: ignore[no-untyped-def]
    grant = _grant(grant_id)
    return render_template(
        "grants/payments/grant.html",
        grant=grant,
        payments=panel(grant, current_person(), now=g.now, page=params.page()),
    )


def _year_label(row: queries.BudgetRow) -> str:
    label = _(
        "Project year %(year)s: %(start)s – %(end)s",
        year=row.year,
        start=local_date(row.starts_on),
        end=local_date(row.ends_on),
    )
    return label if row.released else _("%(year)s (not released yet)", year=label)


@bp.route("/grants/<int:grant_id>/payments/new", methods=["GET", "POST"])
@roles_required(Role.APPLICANT)
def request_payment(grant_id: int):  # type: ignore[no-untyped-def]
    grant = _grant(grant_id)
    me = current_person()
    allowed = can_request_payment(me, grant)
    if not allowed:
        abort(403)
    form = RequestForm()
    shown = panel(grant, me, now=g.now)
    members = {row.member.id: row.member for row in shown.rows}
    form.member_id.choices = [("", _("Choose a partner"))] + [
        (member.id, member.organisation.name) for member in members.values()
    ]
    years = {row.year: row for row in shown.rows}
    form.year.choices = [("", _("Choose a year"))] + [
        (year, _year_label(row)) for year, row in sorted(years.items())
    ]
    made = attempt(
        form,
        lambda: ops.request_disbursement(
            grant,
            actor=me,
            member_id=form.member_id.data,
            year=form.year.data,
            period_from=form.period_from.data,
            period_to=form.period_to.data,
            amount=form.amount.data,
            now=g.now,
        ),
    )
    if made.done:
        flash(_("Your payment request is sent; the programme office decides on it."), "success")
        return redirect(url_for("grants.grant_payments", grant_id=grant.id))
    if made.status != 200:
        shown = panel(_grant(grant_id), me, now=g.now)
    return render_template(
        "grants/payments/new.html", grant=shown.grant, form=form, payments=shown
    ), made.status


# --- one request ----------------------------------------------------------------------------------


def _payment_page(  # type: ignore[no-untyped-def]
    disbursement: Disbursement,
    status: int = 200,
    *,
    button_form: Any = None,
    reject_form: Any = None,
):
    me = current_person()
    officer = is_grant_officer(me, disbursement.grant)
    names = names_of(
        {
            i
            for i in (
                disbursement.requested_by_id,
                disbursement.decided_by_id,
                disbursement.confirmed_by_id,
            )
            if i
        }
    )
    return render_template(
        "grants/payments/show.html",
        disbursement=disbursement,
        grant=disbursement.grant,
        names=names,
        is_officer=officer,
        actions=actions_for(disbursement, me, officer=officer),
        labels=ACTION_LABELS,
        endpoints=ACTION_ENDPOINTS,
        state_labels={state.value: state.label for state in DisbursementState},
        decided_by_me=disbursement.decided_by_id == me.id,
        steps=history("disbursement", [disbursement.id]),
        button_form=button_form or ButtonForm(formdata=None),
        reject_form=reject_form or RejectForm(formdata=None),
    ), status


@bp.route("/payments/<int:disbursement_id>")
@signed_in
def show_payment(disbursement_id: int):  # type: ignore[no-untyped-def]
    return _payment_page(_disbursement(disbursement_id))


def _act(
    disbursement_id: int,
    step: Callable[[Disbursement], Any],
    done: Callable[[Any], str],
):  # type: ignore[no-untyped-def]
    """A button on the request's page: the step, then back to the page with ``done`` said of
    its result; a refusal is shown on the page above its buttons."""
    disbursement = _disbursement(disbursement_id)
    form = ButtonForm()
    acted = attempt(form, lambda: step(disbursement))
    if acted.done:
        flash(done(acted.result), "success")
        return redirect(url_for("grants.show_payment", disbursement_id=disbursement_id))
    return _payment_page(_disbursement(disbursement_id), acted.status, button_form=form)


def _approved_message(approved: bool) -> str:
    if approved:
        return _("The payment is approved; the coordinator is told by e-mail.")
    return _(
        "The payment is above the programme's threshold: it waits for a second officer's "
        "confirmation, and the other officers are told by e-mail."
    )


@bp.route("/payments/<int:disbursement_id>/approve", methods=["POST"])
@roles_required(Role.OFFICER)
def approve_payment(disbursement_id: int):  # type: ignore[no-untyped-def]
    return _act(
        disbursement_id,
        lambda d: ops.approve_disbursement(d, actor=current_person(), now=g.now),
        _approved_message,
    )


@bp.route("/payments/<int:disbursement_id>/confirm", methods=["POST"])
@roles_required(Role.OFFICER)
def confirm_payment(disbursement_id: int):  # type: ignore[no-untyped-def]
    return _act(
        disbursement_id,
        lambda d: ops.confirm_disbursement(d, actor=current_person(), now=g.now),
        lambda _done: _(
            "The payment is confirmed and approved; the coordinator is told by e-mail."
        ),
    )


@bp.route("/payments/<int:disbursement_id>/withdraw", methods=["POST"])
@roles_required(Role.APPLICANT)
def withdraw_payment(disbursement_id: int):  # type: ignore[no-untyped-def]
    return _act(
        disbursement_id,
        lambda d: ops.withdraw_disbursement(d, actor=current_person(), now=g.now),
        lambda _done: _("The payment request is withdrawn."),
    )


@bp.route("/payments/<int:disbursement_id>/paid", methods=["POST"])
@roles_required(Role.OFFICER)
def mark_payment_paid(disbursement_id: int):  # type: ignore[no-untyped-def]
    return _act(
        disbursement_id,
        lambda d: ops.mark_paid(d, actor=current_person(), now=g.now),
        lambda _done: _("The payment is marked paid."),
    )


@bp.route("/payments/<int:disbursement_id>/reject", methods=["POST"])
@roles_required(Role.OFFICER)
def reject_payment(disbursement_id: int):  # type: ignore[no-untyped-def]
    disbursement = _disbursement(disbursement_id)
    form = RejectForm()
    rejected = attempt(
        form,
        lambda: ops.reject_disbursement(
            disbursement, actor=current_person(), reason=form.reason.data or "", now=g.now
        ),
    )
    if rejected.done:
        flash(_("The request is rejected; the coordinator is told by e-mail."), "success")
        return redirect(url_for("grants.show_payment", disbursement_id=disbursement_id))
    return _payment_page(_disbursement(disbursement_id), rejected.status, reject_form=form)


# --- a programme's payments and their export ------------------------------------------------------


@bp.route("/programmes/<int:programme_id>/payments")
@roles_required(Role.OFFICER)
def programme_payments(programme_id: int):  # type: ignore[no-untyped-def]
    programme = _programme(programme_id)
    shown = params.choice("state", queries.PaymentFilter)
    count, total = queries.exportable_summary(programme.id)
    return render_template(
        "grants/payments/programme.html",
        programme=programme,
        shown=shown,
        filters=list(queries.PaymentFilter),
        counts=queries.counts_by_filter(programme),
        payments=queries.programme_payments(programme, shown, page=params.page()),
        exportable=count,
        exportable_total=total,
        formats=files.FORMATS,
    )


@bp.route("/programmes/<int:programme_id>/payments/export/<fmt>", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def export_payments(programme_id: int, fmt: str):  # type: ignore[no-untyped-def]
    programme = _programme(programme_id)
    if fmt not in files.FORMATS:
        abort(404)
    form = ButtonForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        made = perform(
            lambda: ops.export_payments(
                programme, actor=current_person(), file_format=fmt, now=g.now
            )
        )
        if made.result is not None:
            return download(
                made.result.data,
                filename=made.result.filename,
                mimetype=made.result.mimetype,
                private=True,
            )
        assert made.error is not None
        for message in messages_of(made.error):
            flash(message, "error")
        return redirect(url_for("grants.programme_payments", programme_id=programme.id))
    count, total = queries.exportable_summary(programme.id)
    return render_template(
        "grants/payments/export_confirm.html",
        programme=programme,
        fmt=fmt,
        count=count,
        total=total,
        form=form,
    )


@bp.route("/programmes/<int:programme_id>/payments/exports")
@roles_required(Role.OFFICER)
def payment_exports(programme_id: int):  # type: ignore[no-untyped-def]
    programme = _programme(programme_id)
    exports = queries.exports_of(programme, page=params.page())
    return render_template(
        "grants/payments/exports.html",
        programme=programme,
        exports=exports,
        waiting=queries.unpaid_in(exports.items),
        names=names_of({e.created_by_id for e in exports.items}),
        form=ButtonForm(formdata=None),
    )


def _export(export_id: int) -> tuple[PaymentExport, Programme]:
    export = queries.find_export(export_id)
    if export is None:
        abort(404)
    return export, _programme(export.programme_id)


@bp.route("/payment-exports/<int:export_id>")
@roles_required(Role.OFFICER)
def download_payment_export(export_id: int):  # type: ignore[no-untyped-def]
    export, programme = _export(export_id)
    if not export.storage_key:
        abort(404)
    return download(
        storage.read(export.storage_key),
        filename=files.export_filename(programme.slug, export),
        mimetype=files.MIMETYPES[export.file_format],
        private=True,
    )


@bp.route("/payment-exports/<int:export_id>/paid", methods=["POST"])
@roles_required(Role.OFFICER)
def mark_export_paid(export_id: int):  # type: ignore[no-untyped-def]
    export, programme = _export(export_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    marked = perform(lambda: ops.mark_export_paid(export, actor=current_person(), now=g.now))
    if marked.error is not None:
        for message in messages_of(marked.error):
            flash(message, "error")
    else:
        count = marked.result or 0
        flash(
            ngettext("%(num)d payment marked paid.", "%(num)d payments marked paid.", count),
            "success",
        )
    return redirect(url_for("grants.payment_exports", programme_id=programme.id))


# --- the money view -------------------------------------------------------------------------------


@bp.route("/programmes/<int:programme_id>/money")
@roles_required(Role.OFFICER)
def show_money(programme_id: int):  # type: ignore[no-untyped-def]
    programme = _programme(programme_id)
    view, calls = queries.money_view(programme)
    return render_template(
        "grants/payments/money.html",
        programme=programme,
        view=view,
        calls={call.id: call for call in calls},
        chart=charts.years_chart(view.years),
    )
