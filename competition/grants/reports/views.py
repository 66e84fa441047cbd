"""Pages of a grant's milestones and reports, on the grants blueprint: the grant's milestones and
reports (officers and the consortium), a report's page with its form, PDFs, receipt and review,
the officers' forms for milestones and reports added by hand, and the programme's reports
list. A grant, report, milestone or file of a grant the user may not see is a 404."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, g, redirect, render_template, url_for
from flask_babel import ngettext

from competition import params
from competition.access import current_person, roles_required, signed_in
from competition.accounts.models import Role
from competition.core import reports as rules
from competition.downloads import download
from competition.forms import attempt
from competition.grants.blueprint import bp
from competition.grants.models import Grant, Milestone, Report
from competition.grants.permissions import can_see_grant, is_grant_officer
from competition.grants.reports import operations as ops
from competition.grants.reports import queries
from competition.grants.reports.forms import (
    AcceptForm,
    AttachmentForm,
    ChangesForm,
    MilestoneForm,
    NewReportForm,
    ReachedForm,
    ReportForm,
    report_form,
)
from competition.grants.reports.permissions import (
    can_change_milestone,
    can_edit_report,
    can_manage_milestones,
    can_plan_reports,
    can_read_submitted,
    can_review_report,
    can_submit_report,
)
from competition.grants.reports.words import report_title
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.programmes.permissions import is_programme_officer
from competition.programmes.queries import find_programme
from competition.proposals import storage
from competition.proposals.forms import ButtonForm
from competition.workflow import history

me = current_person

# How each step of a report's lifecycle reads in its history.
STEP_LABELS = {
    "submit": _l("Submitted"),
    "accept": _l("Accepted by the programme office"),
    "request_changes": _l("Returned for changes"),
}


def _grant(grant_id: int) -> Grant:
    grant = queries.find_grant(grant_id)
    if grant is None or not can_see_grant(me(), grant):
        abort(404)
    return grant


def _report(report_id: int) -> Report:
    report = queries.find_report(report_id)
    if report is None or not can_see_grant(me(), report.grant):
        abort(404)
    return report


def _milestone(milestone_id: int) -> tuple[Milestone, Grant]:
    milestone = queries.find_milestone(milestone_id)
    if milestone is None:
        abort(404)
    return milestone, _grant(milestone.grant_id)


def _to_grant(grant: Grant, anchor: str | None = None) -> Any:
    return redirect(url_for("grants.show_grant_reports", grant_id=grant.id, _anchor=anchor))


def _to_report(report: Report) -> Any:
    return redirect(url_for("grants.show_report", report_id=report.id))


# --- the grant's milestones and reports -----------------------------------------------------------


def _grant_page(grant: Grant, status: int = 200) -> Any:
    person = me()
    reports = queries.reports_of(grant)
    return render_template(
        "grants/reports/index.html",
        grant=grant,
        reports=reports,
        days_late={
            report.id: rules.days_late(report.due_at, now=g.now)
            for report in reports
            if rules.is_overdue(report.state.value, report.due_at, now=g.now)
        },
        milestones=queries.milestones_of(grant),
        officer=is_grant_officer(person, grant),
        may_plan=bool(can_plan_reports(person, grant)),
        may_manage_milestones=bool(can_manage_milestones(person, grant)),
        button_form=ButtonForm(formdata=None),
    ), status


@bp.route("/grants/<int:grant_id>/reports")
@signed_in
def show_grant_reports(grant_id: int):  # type: ignore[no-untyped-def]
    return _grant_page(_grant(grant_id))


@bp.route("/grants/<int:grant_id>/reports/plan", methods=["POST"])
@roles_required(Role.OFFICER)
def plan_grant_reports(grant_id: int):  # type: ignore[no-untyped-def]
    grant = _grant(grant_id)
    form = ButtonForm()
    planned = attempt(form, lambda: ops.plan_reports(grant, actor=me(), now=g.now))
    if not planned.done:
        for message in form.form_errors:
            flash(message, "error")
        return _grant_page(_grant(grant_id), planned.status)
    count = len(planned.result or [])
    if count:
        flash(ngettext("%(num)d report planned.", "%(num)d reports planned.", count), "success")
    else:
        flash(_("The grant already has every report its dates call for."), "success")
    return _to_grant(grant, "reports")


@bp.route("/grants/<int:grant_id>/reports/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def add_report(grant_id: int):  # type: ignore[no-untyped-def]
    grant = _grant(grant_id)
    person = me()
    form = NewReportForm()
    added = attempt(
        form,
        lambda: ops.add_report(
            grant,
            actor=person,
            kind=form.kind.data,
            year=form.year.data,
            due_on=form.due_on.data,
            now=g.now,
        ),
    )
    if added.done:
        flash(_("Report added; the consortium sees it on the grant's reports."), "success")
        return _to_grant(grant, "reports")
    allowed = can_plan_reports(person, grant)
    return render_template(
        "grants/reports/new_report.html",
        grant=grant,
        form=form,
        refusal=None if allowed else allowed.reason,
    ), added.status


# --- milestones -----------------------------------------------------------------------------------


def _milestone_page(
    form: MilestoneForm, grant: Grant, milestone: Milestone | None, refusal: str | None, status: int
) -> Any:
    return render_template(
        "grants/reports/milestone_form.html",
        form=form,
        grant=grant,
        milestone=milestone,
        refusal=refusal,
    ), status


@bp.route("/grants/<int:grant_id>/milestones/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def add_milestone(grant_id: int):  # type: ignore[no-untyped-def]
    grant = _grant(grant_id)
    person = me()
    form = MilestoneForm()
    form.offer_members(grant)
    added = attempt(
        form,
        lambda: ops.add_milestone(
            grant,
            actor=person,
            title=form.title.data or "",
            due_on=form.due_on.data,
            member_id=form.member,
            now=g.now,
        ),
    )
    if added.done:
        flash(_("Milestone added."), "success")
        return _to_grant(grant, "milestones")
    allowed = can_manage_milestones(person, grant)
    return _milestone_page(form, grant, None, None if allowed else allowed.reason, added.status)


@bp.route("/milestones/<int:milestone_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def edit_milestone(milestone_id: int):  # type: ignore[no-untyped-def]
    milestone, grant = _milestone(milestone_id)
    person = me()
    form = MilestoneForm(
        data={
            "title": milestone.title,
            "due_on": milestone.due_on,
            "member_id": milestone.member_id or 0,
        }
    )
    form.offer_members(grant)
    changed = attempt(
        form,
        lambda: ops.update_milestone(
            milestone,
            grant=grant,
            actor=person,
            title=form.title.data or "",
            due_on=form.due_on.data,
            member_id=form.member,
            now=g.now,
        ),
    )
    if changed.done:
        flash(_("Milestone saved."), "success")
        return _to_grant(grant, f"milestone-{milestone.id}")
    allowed = can_change_milestone(person, milestone, grant)
    return _milestone_page(
        form, grant, milestone, None if allowed else allowed.reason, changed.status
    )


@bp.route("/milestones/<int:milestone_id>/reached", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def mark_milestone_reached(milestone_id: int):  # type: ignore[no-untyped-def]
    milestone, grant = _milestone(milestone_id)
    person = me()
    form = ReachedForm(data={"reached_on": rules.due_day(g.now)})
    reached = attempt(
        form,
        lambda: ops.mark_milestone_reached(
            milestone, grant=grant, actor=person, reached_on=form.reached_on.data, now=g.now
        ),
    )
    if reached.done:
        flash(_("Milestone marked as reached."), "success")
        return _to_grant(grant, f"milestone-{milestone.id}")
    allowed = can_change_milestone(person, milestone, grant)
    return render_template(
        "grants/reports/milestone_reached.html",
        form=form,
        grant=grant,
        milestone=milestone,
        refusal=None if allowed else allowed.reason,
    ), reached.status


@bp.route("/milestones/<int:milestone_id>/delete", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def delete_milestone(milestone_id: int):  # type: ignore[no-untyped-def]
    milestone, grant = _milestone(milestone_id)
    person = me()
    form = ButtonForm()
    deleted = attempt(
        form, lambda: ops.delete_milestone(milestone, grant=grant, actor=person, now=g.now)
    )
    if deleted.done:
        flash(_("Milestone deleted."), "success")
        return _to_grant(grant, "milestones")
    allowed = can_manage_milestones(person, grant)
    return render_template(
        "grants/reports/milestone_delete.html",
        form=form,
        grant=grant,
        milestone=milestone,
        refusal=None if allowed else allowed.reason,
    ), deleted.status


# --- a report -------------------------------------------------------------------------------------


def _sections_of(form: ReportForm, report: Report) -> dict[str, str]:
    return {key: getattr(form, key).data or "" for key in rules.section_keys(report.kind.value)}


def _report_page(
    report: Report,
    status: int = 200,
    *,
    form: ReportForm | None = None,
    attachment_form: AttachmentForm | None = None,
    accept_form: AcceptForm | None = None,
    changes_form: ChangesForm | None = None,
    saved_meanwhile: dict[str, str] | None = None,
) -> Any:
    person = me()
    grant = report.grant
    officer = is_grant_officer(person, grant)
    kind = report.kind.value
    if form is None:
        form = report_form(kind, formdata=None, data=dict(report.sections or {}))
        form.basis.data = rules.draft_basis(report.sections or {})
    return render_template(
        "grants/reports/report.html",
        report=report,
        grant=grant,
        title=report_title(kind, report.year),
        sections=rules.SECTIONS[kind],
        files=[a for a in report.attachments if a.removed_at is None],
        officer=officer,
        may_read=can_read_submitted(person, report),
        may_edit=bool(can_edit_report(person, report)),
        may_submit=bool(can_submit_report(person, report)),
        may_review=bool(can_review_report(person, report)),
        late=rules.is_overdue(report.state.value, report.due_at, now=g.now),
        days_late=rules.days_late(report.due_at, now=g.now),
        form=form,
        attachment_form=attachment_form or AttachmentForm(formdata=None),
        accept_form=accept_form or AcceptForm(formdata=None),
        changes_form=changes_form or ChangesForm(formdata=None),
        button_form=ButtonForm(formdata=None),
        saved_meanwhile=saved_meanwhile,
        history=history("report", [report.id]),
        step_labels=STEP_LABELS,
    ), status


@bp.route("/reports/<int:report_id>")
@signed_in
def show_report(report_id: int):  # type: ignore[no-untyped-def]
    return _report_page(_report(report_id))


def _after_refusal(report_id: int, outcome: Any, form: ReportForm) -> Any:
    """The page again with what was typed; after someone else's save, with their version
    beside it and the form based on it, so a second save is a deliberate one."""
    report = _report(report_id)
    saved = None
    if outcome.status == 409:
        saved = rules.clean_sections(report.kind.value, report.sections or {})
        form.basis.data = rules.draft_basis(report.sections or {})
    return _report_page(report, outcome.status, form=form, saved_meanwhile=saved)


@bp.route("/reports/<int:report_id>/draft", methods=["POST"])
@roles_required(Role.APPLICANT)
def save_report_draft(report_id: int):  # type: ignore[no-untyped-def]
    return _write_report(report_id, ops.save_report_draft, lambda report: _("Draft saved."))


@bp.route("/reports/<int:report_id>/submit", methods=["POST"])
@roles_required(Role.APPLICANT)
def submit_report(report_id: int):  # type: ignore[no-untyped-def]
    return _write_report(
        report_id,
        ops.submit_report,
        lambda report: _(
            "The report is submitted. Your receipt: %(code)s; it is also sent to you by e-mail.",
            code=report.receipt_code,
        ),
    )


def _write_report(
    report_id: int, operation: Callable[..., object], message: Callable[[Report], str]
):  # type: ignore[no-untyped-def]
    """Save or submit the report's sections from the form: done, or the page again with the
    refusal at its fields."""
    report = _report(report_id)
    form = report_form(report.kind.value)
    written = attempt(
        form,
        lambda: operation(
            report,
            actor=me(),
            sections=_sections_of(form, report),
            basis=form.basis.data or "",
            now=g.now,
        ),
    )
    if written.done:
        flash(message(report), "success")
        return _to_report(report)
    return _after_refusal(report_id, written, form)


@bp.route("/reports/<int:report_id>/attachments", methods=["POST"])
@roles_required(Role.APPLICANT)
def add_report_attachments(report_id: int):  # type: ignore[no-untyped-def]
    report = _report(report_id)
    form = AttachmentForm()
    added = attempt(
        form,
        lambda: ops.add_report_attachments(
            report,
            actor=me(),
            files=[
                ops.Upload(filename=upload.filename or "report.pdf", data=upload.read())
                for upload in form.files.data or []
                if getattr(upload, "filename", None)
            ],
            now=g.now,
        ),
    )
    if added.done:
        flash(_("Files attached."), "success")
        return _to_report(report)
    return _report_page(_report(report_id), added.status, attachment_form=form)


def _attachment(attachment_id: int):  # type: ignore[no-untyped-def]
    attachment = queries.find_attachment(attachment_id)
    if attachment is None or not can_see_grant(me(), attachment.report.grant):
        abort(404)
    if not can_read_submitted(me(), attachment.report):
        abort(404)
    return attachment


@bp.route("/reports/attachments/<int:attachment_id>")
@signed_in
def download_report_attachment(attachment_id: int):  # type: ignore[no-untyped-def]
    attachment = _attachment(attachment_id)
    return download(
        storage.read(attachment.storage_key),
        filename=attachment.filename,
        mimetype="application/pdf",
        private=True,
    )


@bp.route("/reports/attachments/<int:attachment_id>/remove", methods=["POST"])
@roles_required(Role.APPLICANT)
def remove_report_attachment(attachment_id: int):  # type: ignore[no-untyped-def]
    attachment = _attachment(attachment_id)
    report = attachment.report
    form = ButtonForm()
    removed = attempt(form, lambda: ops.remove_report_attachment(attachment, actor=me(), now=g.now))
    if removed.done:
        flash(_("File removed from the report."), "success")
        return _to_report(report)
    for message in form.form_errors:
        flash(message, "error")
    return _report_page(_report(report.id), removed.status)


@bp.route("/reports/<int:report_id>/accept", methods=["POST"])
@roles_required(Role.OFFICER)
def accept_report(report_id: int):  # type: ignore[no-untyped-def]
    report = _report(report_id)
    form = AcceptForm()
    accepted = attempt(
        form,
        lambda: ops.accept_report(report, actor=me(), note=form.note.data or "", now=g.now),
    )
    if accepted.done:
        flash(_("Report accepted; the coordinator is told by e-mail."), "success")
        return _to_report(report)
    return _report_page(_report(report_id), accepted.status, accept_form=form)


@bp.route("/reports/<int:report_id>/request-changes", methods=["POST"])
@roles_required(Role.OFFICER)
def request_report_changes(report_id: int):  # type: ignore[no-untyped-def]
    report = _report(report_id)
    form = ChangesForm()
    returned = attempt(
        form,
        lambda: ops.request_report_changes(
            report, actor=me(), reason=form.reason.data or "", now=g.now
        ),
    )
    if returned.done:
        flash(_("Report returned for changes; the coordinator is told by e-mail."), "success")
        return _to_report(report)
    return _report_page(_report(report_id), returned.status, changes_form=form)


# --- the programme's reports ----------------------------------------------------------------------


@bp.route("/programmes/<int:programme_id>/reports")
@roles_required(Role.OFFICER)
def list_programme_reports(programme_id: int):  # type: ignore[no-untyped-def]
    programme = find_programme(programme_id)
    # Another programme's reports look the same as a missing programme.
    if programme is None or not is_programme_officer(me(), programme.id):
        abort(404)
    show = params.choice("state", queries.ReportFilter)
    page = queries.programme_reports(programme.id, show=show, now=g.now, page=params.page())
    return render_template(
        "grants/reports/programme_list.html",
        programme=programme,
        page=page,
        show=show,
        filters=list(queries.ReportFilter),
    )
