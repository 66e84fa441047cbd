"""Milestones and reports of a grant: planning the reports a grant owes, adding one or a
milestone by hand, the consortium's drafts and PDFs, submission with a receipt and hash, the
officer's review, and reminders before and after the due date.

Every operation is one transaction (competition.db.operation): permission, validation (one
DomainError with every message keyed by form field), change, audit event, outbox rows. A
report's state moves only through the workflow gateway.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from competition.accounts.models import User, UserStatus
from competition.audit.operations import record_event
from competition.core import reports as rules
from competition.core.texts import Text
from competition.core.uploads import UploadLimits, UploadRefused, check_pdf
from competition.db import add_unique, operation
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.grants.models import (
    Grant,
    Milestone,
    Report,
    ReportAttachment,
    ReportKind,
    ReportReminderSent,
    ReportState,
)
from competition.grants.reports import permissions
from competition.grants.reports.queries import OPEN_STATES, submissions_of
from competition.i18n import gettext as _
from competition.i18n import number, say
from competition.notifications.operations import notify
from competition.permissions import require
from competition.proposals import storage
from competition.proposals.models import ContributorRole, Proposal, ProposalContributor
from competition.proposals.queries import coordinator_of
from competition.workflow import apply_step

log = logging.getLogger(__name__)

TITLE_MAX_CHARS = 300
NOTE_MAX_CHARS = 10_000
# PDFs per upload and per report; each as an answer's to a clarification request.
FILES_PER_UPLOAD = 5
FILES_PER_REPORT = 20
REPORT_LIMITS = UploadLimits(max_bytes=10_000_000, max_pages=500)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def _said(problems: Mapping[str, list[Text]]) -> dict[str, list[str]]:
    return {field: [say(text) for text in texts] for field, texts in problems.items()}


def _berlin_today(now: dt.datetime) -> dt.date:
    return rules.due_day(now)


def _context(report: Report, person: User) -> dict[str, object]:
    proposal = report.grant.proposal
    return {
        "name": person.name,
        "reference": proposal.reference,
        "acronym": proposal.acronym,
        "kind": report.kind.value,
        "year": report.year,
        "due_at": report.due_at.isoformat(),
        "report_id": report.id,
    }


def _lock(report: Report) -> None:
    """One change at a time per report; then see it as it is now."""
    db.session.execute(sa.select(Report.id).where(Report.id == report.id).with_for_update())
    db.session.refresh(report)
    db.session.expire(report, ["attachments"])


def _current_files(report: Report) -> list[ReportAttachment]:
    return [a for a in report.attachments if a.removed_at is None]


# --- planning -----------------------------------------------------------------------------------


@operation
def plan_reports(grant: Grant, *, actor: User, now: dt.datetime) -> list[Report]:
    """Create the reports the grant owes by its dates (``core.reports.plan``): a progress report
    for each project year but the last, the final report and the statement of use. Reports the
    grant already has (by kind and year) stay as they are, so running it again, or after an
    officer added one by hand, adds only what is missing. Returns the reports it created.

    Side effects: report rows (due); audit ``grant.reports_planned`` when any was created.
    """
    require(permissions.can_plan_reports(actor, grant))
    existing = {
        (kind, year)
        for kind, year in db.session.execute(
            sa.select(Report.kind, Report.year).where(Report.grant_id == grant.id)
        )
    }
    created: list[Report] = []
    for planned in rules.plan(grant.starts_on, grant.ends_on):
        kind = ReportKind(planned.kind)
        if (kind, planned.year) in existing:
            continue
        report = Report(
            grant_id=grant.id,
            kind=kind,
            year=planned.year,
            due_at=rules.due_at(planned.due_on),
            state=ReportState.DUE,
            sections={},
            created_at=now,
        )
        try:
            with db.session.begin_nested():
                db.session.add(report)
        except sa.exc.IntegrityError:
            continue  # a concurrent run planned it first
        created.append(report)
    if created:
        record_event(
            actor=actor,
            action="grant.reports_planned",
            object_type="grant",
            object_id=grant.id,
            after={
                "reports": [
                    {"id": r.id, "kind": r.kind.value, "year": r.year, "due_at": r.due_at}
                    for r in created
                ]
            },
            now=now,
        )
    log.info("grant %s: %s reports planned", grant.id, len(created))
    return created


@operation
def follow_early_end(grant: Grant, *, actor: User, now: dt.datetime) -> None:
    """After the grant ended early (by an officer, or stopped by an interim evaluation): the
    progress reports still due for years it no longer reaches are dropped, so nobody is
    reminded of them, and the final report and statement of use still due are owed from the
    new end (``core.reports.after_early_end``). What was submitted stays.

    Side effects: report rows deleted or re-dated; audit ``grant.reports_replanned`` when any
    changed.
    """
    require(permissions.can_plan_reports(actor, grant))
    reports = list(db.session.scalars(sa.select(Report).where(Report.grant_id == grant.id)))
    change = rules.after_early_end(
        grant.starts_on,
        grant.ends_on,
        [rules.Owed(r.id, r.kind.value, r.year, r.state.value) for r in reports],
    )
    due = rules.due_at(change.closing_due_on)
    dropped = [r for r in reports if r.id in change.dropped]
    redated = [r for r in reports if r.id in change.redated and r.due_at != due]
    if not dropped and not redated:
        return
    for report in dropped:
        db.session.delete(report)
    for report in redated:
        report.due_at = due
    db.session.flush()
    record_event(
        actor=actor,
        action="grant.reports_replanned",
        object_type="grant",
        object_id=grant.id,
        after={
            "dropped": [{"id": r.id, "kind": r.kind.value, "year": r.year} for r in dropped],
            "due_at": due if redated else None,
            "redated": [r.id for r in redated],
        },
        now=now,
    )


@operation
def add_report(
    grant: Grant,
    *,
    actor: User,
    kind: str | None,
    year: int | None,
    due_on: dt.date | None,
    now: dt.datetime,
) -> Report:
    """An officer adds one report by hand (a report the plan does not foresee, or one for a
    grant whose dates changed). Progress reports name their project year.

    Side effects: the report (due); audit ``report.created``.
    """
    require(permissions.can_plan_reports(actor, grant))
    errors: dict[str, list[str]] = {}
    try:
        chosen = ReportKind(kind or "")
    except ValueError:
        errors["kind"] = [_("Choose the kind of report.")]
        chosen = None
    if chosen == ReportKind.ANNUAL:
        if year is None or not 1 <= year <= rules.MAX_YEARS:
            errors["year"] = [_("Give the project year, from 1 to 9.")]
    else:
        year = 0
    if due_on is None:
        errors["due_on"] = [_("Enter the due date.")]
    elif due_on < _berlin_today(now):
        errors["due_on"] = [_("The due date cannot lie in the past.")]
    if errors:
        raise DomainError(errors)
    assert chosen is not None and due_on is not None and year is not None
    report = Report(
        grant_id=grant.id,
        kind=chosen,
        year=year,
        due_at=rules.due_at(due_on),
        state=ReportState.DUE,
        sections={},
        created_at=now,
    )
    taken = DomainError(
        _("This grant already has this report."),
        field="year" if chosen == ReportKind.ANNUAL else "kind",
    )
    add_unique(report, taken=taken)
    record_event(
        actor=actor,
        action="report.created",
        object_type="report",
        object_id=report.id,
        after={
            "grant_id": grant.id,
            "kind": chosen.value,
            "year": year,
            "due_at": report.due_at,
            "state": ReportState.DUE,
        },
        now=now,
    )
    return report


# --- milestones ---------------------------------------------------------------------------------


def _milestone_errors(
    grant: Grant, *, title: str, due_on: dt.date | None, member_id: int | None
) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not title:
        errors["title"] = [_("Give the milestone a title.")]
    elif len(title) > TITLE_MAX_CHARS:
        errors["title"] = [_("Use at most %(limit)s characters.", limit=number(TITLE_MAX_CHARS, 0))]
    if due_on is None:
        errors["due_on"] = [_("Enter the date the milestone is due.")]
    if member_id is not None and member_id not in {m.id for m in grant.proposal.members}:
        errors["member_id"] = [_("Choose a partner of this consortium.")]
    return errors


def _milestone_image(milestone: Milestone) -> dict[str, object]:
    return {
        "title": milestone.title,
        "due_on": milestone.due_on,
        "member_id": milestone.member_id,
        "reached_on": milestone.reached_on,
    }


@operation
def add_milestone(
    grant: Grant,
    *,
    actor: User,
    title: str,
    due_on: dt.date | None,
    member_id: int | None,
    now: dt.datetime,
) -> Milestone:
    """An officer adds a milestone: a title, the date it is due, and the partner responsible
    (None: the consortium as a whole).

    Side effects: the milestone; audit ``milestone.added``.
    """
    require(permissions.can_manage_milestones(actor, grant))
    title = title.strip()
    errors = _milestone_errors(grant, title=title, due_on=due_on, member_id=member_id)
    if errors:
        raise DomainError(errors)
    assert due_on is not None
    milestone = Milestone(
        grant_id=grant.id, title=title, due_on=due_on, member_id=member_id, created_at=now
    )
    db.session.add(milestone)
    db.session.flush()
    record_event(
        actor=actor,
        action="milestone.added",
        object_type="milestone",
        object_id=milestone.id,
        after={"grant_id": grant.id, **_milestone_image(milestone)},
        now=now,
    )
    return milestone


def _lock_milestone(milestone: Milestone) -> Milestone:
    locked = db.session.scalar(
        sa.select(Milestone)
        .where(Milestone.id == milestone.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if locked is None:
        raise StaleState(_("This milestone was deleted meanwhile."))
    return locked


@operation
def update_milestone(
    milestone: Milestone,
    *,
    grant: Grant,
    actor: User,
    title: str,
    due_on: dt.date | None,
    member_id: int | None,
    now: dt.datetime,
) -> Milestone:
    """An officer changes a milestone that is not reached yet.

    Side effects: the milestone changed; audit ``milestone.updated`` with before and after.
    """
    require(permissions.can_change_milestone(actor, milestone, grant))
    milestone = _lock_milestone(milestone)
    require(permissions.can_change_milestone(actor, milestone, grant))
    title = title.strip()
    errors = _milestone_errors(grant, title=title, due_on=due_on, member_id=member_id)
    if errors:
        raise DomainError(errors)
    assert due_on is not None
    before = _milestone_image(milestone)
    milestone.title = title
    milestone.due_on = due_on
    milestone.member_id = member_id
    db.session.flush()
    if _milestone_image(milestone) != before:
        record_event(
            actor=actor,
            action="milestone.updated",
            object_type="milestone",
            object_id=milestone.id,
            before=before,
            after=_milestone_image(milestone),
            now=now,
        )
    return milestone


@operation
def mark_milestone_reached(
    milestone: Milestone,
    *,
    grant: Grant,
    actor: User,
    reached_on: dt.date | None,
    now: dt.datetime,
) -> Milestone:
    """An officer records the day the consortium reached a milestone (today or earlier).

    Side effects: ``reached_on`` set; audit ``milestone.reached``.
    """
    require(permissions.can_change_milestone(actor, milestone, grant))
    milestone = _lock_milestone(milestone)
    require(permissions.can_change_milestone(actor, milestone, grant))
    if reached_on is None:
        raise DomainError(_("Enter the day it was reached."), field="reached_on")
    if reached_on > _berlin_today(now):
        raise DomainError(_("A milestone is reached on a day that has come."), field="reached_on")
    milestone.reached_on = reached_on
    db.session.flush()
    record_event(
        actor=actor,
        action="milestone.reached",
        object_type="milestone",
        object_id=milestone.id,
        after={"reached_on": reached_on, "due_on": milestone.due_on},
        now=now,
    )
    return milestone


@operation
def delete_milestone(milestone: Milestone, *, grant: Grant, actor: User, now: dt.datetime) -> None:
    """An officer deletes a milestone (after a confirmation page).

    Side effects: the milestone deleted; audit ``milestone.deleted`` with what it was.
    """
    require(permissions.can_manage_milestones(actor, grant))
    milestone = _lock_milestone(milestone)
    before = {"grant_id": grant.id, **_milestone_image(milestone)}
    db.session.delete(milestone)
    db.session.flush()
    record_event(
        actor=actor,
        action="milestone.deleted",
        object_type="milestone",
        object_id=milestone.id,
        before=before,
        now=now,
    )


# --- the consortium's draft ---------------------------------------------------------------------


def _check_basis(report: Report, basis: str) -> None:
    if basis != rules.draft_basis(report.sections or {}):
        raise StaleState(
            _(
                "Someone else saved this report meanwhile. Their version is shown below yours; "
                "compare the two, then save again."
            )
        )


def _store_sections(
    report: Report, sections: Mapping[str, str], *, actor: User, now: dt.datetime
) -> None:
    cleaned = rules.clean_sections(report.kind.value, sections)
    if cleaned == rules.clean_sections(report.kind.value, report.sections or {}):
        return
    report.sections = cleaned
    db.session.flush()
    record_event(
        actor=actor,
        action="report.draft_saved",
        object_type="report",
        object_id=report.id,
        after={"characters": {key: len(text) for key, text in cleaned.items()}},
        now=now,
    )


@operation
def save_report_draft(
    report: Report,
    *,
    actor: User,
    sections: Mapping[str, str],
    basis: str,
    now: dt.datetime,
) -> Report:
    """A member of the consortium saves the report's sections as a draft. ``basis`` is the
    fingerprint of the sections the form was loaded with; a save over someone else's newer one
    is refused (StaleState), so no text is lost unseen.

    Side effects: the sections; audit ``report.draft_saved`` when they changed.
    """
    require(permissions.can_edit_report(actor, report))
    _lock(report)
    require(permissions.can_edit_report(actor, report))
    _check_basis(report, basis)
    problems = rules.draft_problems(report.kind.value, sections)
    if problems:
        raise DomainError(_said(problems))
    _store_sections(report, sections, actor=actor, now=now)
    return report


def _safe_filename(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "report.pdf"
    name = "".join(c for c in name if c.isprintable())
    return name[:200]


@operation
def add_report_attachments(
    report: Report, *, actor: User, files: Sequence[Upload], now: dt.datetime
) -> list[ReportAttachment]:
    """A member of the consortium attaches PDFs to the draft, each checked by its content as a
    proposal's attachments are.

    Side effects: the files (on disk and as rows); audit ``report.attachments_added``.
    """
    require(permissions.can_edit_report(actor, report))
    _lock(report)
    require(permissions.can_edit_report(actor, report))
    files = [upload for upload in files if upload.data or upload.filename]
    errors: list[str] = []
    if not files:
        errors.append(_("Choose a PDF file to attach."))
    elif len(files) > FILES_PER_UPLOAD:
        errors.append(_("Attach at most %(count)s files at once.", count=FILES_PER_UPLOAD))
    elif len(_current_files(report)) + len(files) > FILES_PER_REPORT:
        errors.append(_("A report holds at most %(count)s files.", count=FILES_PER_REPORT))
    checked = []
    for upload in files if not errors else []:
        try:
            checked.append(check_pdf(upload.data, filename=upload.filename, limits=REPORT_LIMITS))
        except UploadRefused as refused:
            errors.append(f"{upload.filename}: {say(refused.message)}")
    if errors:
        raise DomainError({"files": errors})
    added = []
    for upload, result in zip(files, checked, strict=True):
        attachment = ReportAttachment(
            report_id=report.id,
            filename=_safe_filename(upload.filename),
            content_type=result.content_type,
            size_bytes=result.size_bytes,
            page_count=result.page_count,
            sha256=result.sha256,
            storage_key=storage.store(upload.data),
            uploaded_by_id=actor.id,
            uploaded_at=now,
        )
        db.session.add(attachment)
        added.append(attachment)
    db.session.flush()
    record_event(
        actor=actor,
        action="report.attachments_added",
        object_type="report",
        object_id=report.id,
        after={"files": [{"id": a.id, "name": a.filename, "sha256": a.sha256} for a in added]},
        now=now,
    )
    db.session.expire(report, ["attachments"])
    return added


@operation
def remove_report_attachment(
    attachment: ReportAttachment, *, actor: User, now: dt.datetime
) -> None:
    """A member of the consortium takes a PDF off the draft. Its row and file stay: an earlier
    submission's receipt may name it.

    Side effects: ``removed_at`` set; audit ``report.attachment_removed``.
    """
    report = attachment.report
    require(permissions.can_edit_report(actor, report))
    _lock(report)
    require(permissions.can_edit_report(actor, report))
    if attachment.removed_at is not None:
        return
    attachment.removed_at = now
    db.session.flush()
    record_event(
        actor=actor,
        action="report.attachment_removed",
        object_type="report",
        object_id=report.id,
        after={"attachment_id": attachment.id, "sha256": attachment.sha256},
        now=now,
    )
    db.session.expire(report, ["attachments"])


# --- submission and review ----------------------------------------------------------------------


@operation
def submit_report(
    report: Report,
    *,
    actor: User,
    sections: Mapping[str, str],
    basis: str,
    now: dt.datetime,
) -> Report:
    """The coordinator submits the report with the sections of the form and the PDFs attached:
    a receipt code, a SHA-256 over sections and files, the server's time. The submitted content
    is kept in the audit event, so every receipt's content survives the report's later
    revision. A repeated submit of the same text (a double click) returns the receipt given.

    Side effects: the sections saved; the report submitted (audit ``report.submitted`` with the
    receipt, hash and content); an e-mail with the receipt to the coordinator.
    """
    if not _just_submitted(report, actor):
        require(permissions.can_submit_report(actor, report))
    _lock(report)
    if _just_submitted(report, actor) and basis == rules.draft_basis(report.sections or {}):
        return report
    require(permissions.can_submit_report(actor, report))
    _check_basis(report, basis)
    kind = report.kind.value
    files = _current_files(report)
    problems = rules.submission_problems(kind, sections, files=len(files))
    if problems:
        raise DomainError(_said(problems))
    _store_sections(report, sections, actor=actor, now=now)
    proposal = report.grant.proposal
    frozen = rules.content(
        kind,
        report.year,
        report.sections,
        [rules.FileEntry(a.filename, a.sha256) for a in files],
    )
    digest = rules.content_hash(frozen)
    count = submissions_of(report) + 1
    code = rules.receipt_code(proposal.reference, kind, report.year, count, digest)
    apply_step(
        report,
        "submit",
        actor=actor,
        now=now,
        values={
            "submitted_at": now,
            "submitted_by_id": actor.id,
            "content_hash": digest,
            "receipt_code": code,
        },
        detail={"receipt": code, "content_hash": digest, "number": count, "content": frozen},
    )
    notify(
        to=actor,
        template="reports/receipt",
        context={
            **_context(report, actor),
            "receipt_code": code,
            "content_hash": digest,
            "submitted_at": now.isoformat(),
            "files": len(files),
            "number": count,
        },
        dedup_key=f"reports.receipt:{report.id}:{count}",
        now=now,
    )
    log.info("report %s submitted (%s)", report.id, count)
    return report


def _just_submitted(report: Report, actor: User) -> bool:
    return report.state == ReportState.SUBMITTED and report.submitted_by_id == actor.id


def _tell_coordinator(report: Report, *, template: str, key: str, now: dt.datetime) -> None:
    coordinator = coordinator_of(report.grant.proposal)
    if coordinator is None or coordinator.status != UserStatus.ACTIVE:
        log.warning("report %s: no active coordinator to tell", report.id)
        return
    notify(
        to=coordinator,
        template=template,
        context={**_context(report, coordinator), "note": report.review_note},
        dedup_key=key,
        now=now,
    )


@operation
def accept_report(report: Report, *, actor: User, note: str, now: dt.datetime) -> Report:
    """An officer accepts a submitted report, with an optional note to the consortium.

    Side effects: the report accepted (audit ``report.accepted``); an e-mail to the
    coordinator.
    """
    require(permissions.can_review_report(actor, report))
    _lock(report)
    require(permissions.can_review_report(actor, report))
    note = note.strip()
    if len(note) > NOTE_MAX_CHARS:
        raise DomainError(
            _("Use at most %(limit)s characters.", limit=number(NOTE_MAX_CHARS, 0)), field="note"
        )
    apply_step(
        report,
        "accept",
        actor=actor,
        now=now,
        values={"reviewed_by_id": actor.id, "reviewed_at": now, "review_note": note},
        detail={"note": note} if note else None,
    )
    _tell_coordinator(
        report, template="reports/accepted", key=f"reports.accepted:{report.id}", now=now
    )
    return report


@operation
def request_report_changes(report: Report, *, actor: User, reason: str, now: dt.datetime) -> Report:
    """An officer returns a submitted report to the consortium, saying what to change (a reason
    is required); the coordinator submits it again.

    Side effects: the report returned for changes (audit ``report.changes_requested`` with the
    reason, which the history keeps for every round); an e-mail to the coordinator.
    """
    require(permissions.can_review_report(actor, report))
    _lock(report)
    require(permissions.can_review_report(actor, report))
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Say what the consortium should change."), field="reason")
    if len(reason) > NOTE_MAX_CHARS:
        raise DomainError(
            _("Use at most %(limit)s characters.", limit=number(NOTE_MAX_CHARS, 0)),
            field="reason",
        )
    apply_step(
        report,
        "request_changes",
        actor=actor,
        now=now,
        reason=reason,
        values={"reviewed_by_id": actor.id, "reviewed_at": now, "review_note": reason},
    )
    _tell_coordinator(
        report,
        template="reports/changes_requested",
        key=f"reports.changes_requested:{report.id}:{submissions_of(report)}",
        now=now,
    )
    return report


# --- reminders ----------------------------------------------------------------------------------


@operation
def send_due_reminders(*, now: dt.datetime) -> int:
    """Remind the coordinators of reports still owed (due, or returned for changes) as the due
    date comes near and after it has passed (``core.reports.REMINDER_STEPS``).

    Each step goes to a report at most once, however often this runs and even when two runs
    overlap: the ReportReminderSent row is inserted first, under its unique key, in a
    savepoint; the run that loses the race skips. Steps that fell before the report existed or
    before changes were requested are skipped, and only the latest step whose time has come is
    sent. Returns how many reminders were queued.
    Side effects: ReportReminderSent rows; audit ``report.reminder_sent``; one e-mail each.
    """
    finished = (
        sa.select(ReportReminderSent.id)
        .where(
            ReportReminderSent.report_id == Report.id,
            ReportReminderSent.step >= rules.LAST_STEP,
        )
        .exists()
    )
    rows = db.session.execute(
        sa.select(Report, Proposal)
        .join(Grant, Grant.id == Report.grant_id)
        .join(Proposal, Proposal.id == Grant.proposal_id)
        .where(
            Report.state.in_(OPEN_STATES),
            Report.due_at <= now + rules.FIRST_REMINDER,
            ~finished,
        )
        .order_by(Report.id)
    ).all()
    if not rows:
        return 0
    report_ids = [report.id for report, _ in rows]
    sent_steps: dict[int, set[int]] = {}
    for report_id, step_number in db.session.execute(
        sa.select(ReportReminderSent.report_id, ReportReminderSent.step).where(
            ReportReminderSent.report_id.in_(report_ids)
        )
    ):
        sent_steps.setdefault(report_id, set()).add(step_number)
    coordinators = {
        proposal_id: person
        for proposal_id, person in db.session.execute(
            sa.select(ProposalContributor.proposal_id, User)
            .join(User, User.id == ProposalContributor.user_id)
            .where(
                ProposalContributor.proposal_id.in_({p.id for _, p in rows}),
                ProposalContributor.role == ContributorRole.COORDINATOR,
                User.status == UserStatus.ACTIVE,
            )
        )
    }

    count = 0
    for report, proposal in rows:
        since = report.created_at
        if report.state == ReportState.CHANGES_REQUESTED and report.reviewed_at is not None:
            since = max(since, report.reviewed_at)
        step = rules.reminder_step(due=report.due_at, since=since, now=now)
        coordinator = coordinators.get(proposal.id)
        already = sent_steps.get(report.id, set())
        if step is None or coordinator is None or any(n >= step.number for n in already):
            continue
        try:
            with db.session.begin_nested():
                db.session.add(
                    ReportReminderSent(report_id=report.id, step=step.number, sent_at=now)
                )
        except sa.exc.IntegrityError:
            continue  # another run sent this step first
        record_event(
            actor=None,
            action="report.reminder_sent",
            object_type="report",
            object_id=report.id,
            after={"step": step.number, "due_at": report.due_at},
            now=now,
        )
        notify(
            to=coordinator,
            template="reports/reminder",
            context={
                "name": coordinator.name,
                "reference": proposal.reference,
                "acronym": proposal.acronym,
                "kind": report.kind.value,
                "year": report.year,
                "due_at": report.due_at.isoformat(),
                "report_id": report.id,
                "overdue": step.overdue,
                "days_late": rules.days_late(report.due_at, now=now),
                "returned": report.state == ReportState.CHANGES_REQUESTED,
            },
            dedup_key=f"reports.reminder:{report.id}:{step.number}",
            now=now,
        )
        count += 1
    log.info("report reminders queued: %s", count)
    return count
