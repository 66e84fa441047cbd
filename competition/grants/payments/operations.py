"""Disbursement requests (Mittelabruf): the coordinator requests and withdraws; an officer of the
programme approves (at or below the programme's threshold) or proposes (above it) and a second
officer confirms, or rejects with a reason; approved payments are exported once for the
ministry's payment system and later marked paid.

Every operation is one transaction (competition.db.operation): permission, validation (one
DomainError with every message at its field), state through the workflow gateway, audit event,
outbox rows. Requests and decisions lock the grant's row first, so two of them never both take
the last of a year's money; exports lock the programme's row, so no payment goes into two
files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.core import payments as rules
from competition.db import operation
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.grants.models import (
    Disbursement,
    DisbursementState,
    Grant,
    PaymentExport,
)
from competition.grants.payments import files, queries
from competition.grants.payments.permissions import (
    can_confirm_payment,
    can_decide_payment,
    can_handle_payments,
    can_request_payment,
)
from competition.grants.reports.queries import has_overdue_report
from competition.i18n import gettext as _
from competition.i18n import say
from competition.notifications.operations import notify
from competition.permissions import require
from competition.programmes.models import Programme
from competition.proposals import storage
from competition.proposals.queries import coordinator_of
from competition.workflow import apply_step, apply_steps

log = logging.getLogger(__name__)

REASON_MAX_CHARS = 2000


def _errors(problems: list[rules.Problem]) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    for problem in problems:
        errors.setdefault(problem.field, []).append(say(problem.message))
    return errors


def _context(disbursement: Disbursement, person: User) -> dict[str, object]:
    grant = disbursement.grant
    return {
        "name": person.name,
        "reference": grant.proposal.reference,
        "acronym": grant.proposal.acronym,
        "partner": disbursement.member.organisation.name,
        "year": disbursement.year,
        "amount": str(disbursement.amount),
        "disbursement_id": disbursement.id,
    }


def _tell_coordinator(disbursement: Disbursement, *, template: str, now: dt.datetime) -> None:
    coordinator = coordinator_of(disbursement.grant.proposal)
    if coordinator is None:
        return
    context = _context(disbursement, coordinator)
    if disbursement.reason:
        context["reason"] = disbursement.reason
    notify(
        to=coordinator,
        template=template,
        context=context,
        dedup_key=f"{template}:{disbursement.id}:{coordinator.id}",
        now=now,
    )


@operation
def request_disbursement(
    grant: Grant,
    *,
    actor: User,
    member_id: int | None,
    year: int | None,
    period_from: dt.date | None,
    period_to: dt.date | None,
    amount: Decimal | None,
    now: dt.datetime,
) -> Disbursement:
    """The coordinator asks for part of a partner's approved money of a project year, for a
    period within that year.

    Refused at its field: an amount above what is left of the approved amount (approved,
    exported, paid and pending requests counted), a partner or year without approved money, a
    year whose phase is not released, a period outside the project year; refused for the form:
    a grant that does not run, and an overdue report where the programme waits for reports.
    Side effects: the request (requested); audit ``disbursement.requested``.
    """
    require(can_request_payment(actor, grant))
    queries.lock_grant(grant)
    db.session.refresh(grant, ["state"])
    programme = grant.call.programme
    overdue = (
        int(has_overdue_report(grant.id, now=now)) if programme.payments_wait_for_reports else 0
    )
    problems = rules.check_request(
        rules.Request(member_id, year, period_from, period_to, amount),
        terms=queries.terms_of(grant),
        approved=queries.approved_of(grant),
        drawings=queries.drawings_of(queries.disbursements_of(grant)),
        overdue_reports=overdue,
        wait_for_reports=programme.payments_wait_for_reports,
    )
    if problems:
        raise DomainError(_errors(problems))
    assert member_id is not None and year is not None and amount is not None
    assert period_from is not None and period_to is not None
    disbursement = Disbursement(
        grant_id=grant.id,
        member_id=member_id,
        year=year,
        period_from=period_from,
        period_to=period_to,
        amount=amount,
        state=DisbursementState.REQUESTED,
        requested_by_id=actor.id,
        requested_at=now,
    )
    db.session.add(disbursement)
    db.session.flush()
    record_event(
        actor=actor,
        action="disbursement.requested",
        object_type="disbursement",
        object_id=disbursement.id,
        after={
            "grant_id": grant.id,
            "member_id": member_id,
            "year": year,
            "period_from": period_from,
            "period_to": period_to,
            "amount": amount,
            "state": DisbursementState.REQUESTED,
        },
        now=now,
    )
    log.info("disbursement %s requested on grant %s", disbursement.id, grant.id)
    return disbursement


@operation
def withdraw_disbursement(disbursement: Disbursement, *, actor: User, now: dt.datetime) -> None:
    """The coordinator takes back a request no officer has decided yet.

    Side effects: the request withdrawn (audit ``disbursement.withdrawn``).
    """
    require(can_request_payment(actor, disbursement.grant))
    apply_step(disbursement, "withdraw", actor=actor, now=now)


def _check_still_fits(disbursement: Disbursement) -> None:
    grant = disbursement.grant
    queries.lock_grant(grant)
    db.session.refresh(disbursement, ["state", "amount"])
    others = queries.disbursements_of(grant)
    problems = rules.check_approval(
        rules.Drawing(
            disbursement.member_id,
            disbursement.year,
            disbursement.amount,
            disbursement.state.value,
            disbursement.id,
        ),
        approved=queries.approved_of(grant),
        drawings=queries.drawings_of(others),
    )
    if problems:
        raise DomainError(_errors(problems))


@operation
def approve_disbursement(disbursement: Disbursement, *, actor: User, now: dt.datetime) -> bool:
    """An officer approves a request. At or below the programme's threshold (or without one)
    that is the approval; above it, it is a proposal that a second officer confirms, and the
    request remembers that it needs one. Returns whether the payment is approved now.

    Side effects: the request approved (audit ``disbursement.approved``, an e-mail to the
    coordinator) or proposed (audit ``disbursement.proposed``, an e-mail to each other officer
    of the programme).
    """
    require(can_decide_payment(actor, disbursement))
    _check_still_fits(disbursement)
    programme = disbursement.grant.call.programme
    two = rules.needs_second_officer(disbursement.amount, programme.payment_threshold)
    values = {"needs_second_officer": two, "decided_by_id": actor.id, "decided_at": now}
    detail = {"amount": disbursement.amount, "threshold": programme.payment_threshold}
    if not two:
        if apply_step(disbursement, "approve", actor=actor, now=now, values=values, detail=detail):
            _tell_coordinator(disbursement, template="payments/approved", now=now)
        return True
    if apply_step(disbursement, "propose", actor=actor, now=now, values=values, detail=detail):
        for officer in queries.officers_of(programme.id):
            if officer.id == actor.id:
                continue
            notify(
                to=officer,
                template="payments/confirmation_waiting",
                context={**_context(disbursement, officer), "proposed_by": actor.name},
                dedup_key=f"payments/confirmation_waiting:{disbursement.id}:{officer.id}",
                now=now,
            )
    return False


@operation
def confirm_disbursement(disbursement: Disbursement, *, actor: User, now: dt.datetime) -> None:
    """A second officer confirms a payment proposed above the threshold. The officer who
    proposed it is refused here; the database refuses it too (CHECK four_eyes).

    Side effects: the payment approved (audit ``disbursement.confirmed``); an e-mail to the
    coordinator.
    """
    require(can_decide_payment(actor, disbursement))
    _check_still_fits(disbursement)
    db.session.refresh(disbursement, ["decided_by_id"])
    allowed = can_confirm_payment(actor, disbursement)
    if not allowed:
        raise PermissionDenied(allowed.reason)
    if apply_step(
        disbursement,
        "confirm",
        actor=actor,
        now=now,
        values={"confirmed_by_id": actor.id, "confirmed_at": now},
        detail={"amount": disbursement.amount, "proposed_by": disbursement.decided_by_id},
    ):
        _tell_coordinator(disbursement, template="payments/approved", now=now)


@operation
def reject_disbursement(
    disbursement: Disbursement, *, actor: User, reason: str, now: dt.datetime
) -> None:
    """An officer refuses a request (or a colleague's proposal), saying why; its money is free
    again.

    Side effects: the request rejected with its reason (audit ``disbursement.rejected``); an
    e-mail to the coordinator with the reason.
    """
    require(can_decide_payment(actor, disbursement))
    reason = reason.strip()
    if not reason:
        raise DomainError(_("Say why the request is rejected."), field="reason")
    if len(reason) > REASON_MAX_CHARS:
        raise DomainError(
            _("Keep the reason under %(limit)s characters.", limit=REASON_MAX_CHARS),
            field="reason",
        )
    values: dict[str, object] = {"reason": reason}
    if disbursement.state == DisbursementState.REQUESTED:
        values |= {"decided_by_id": actor.id, "decided_at": now}
    if apply_step(disbursement, "reject", actor=actor, now=now, reason=reason, values=values):
        _tell_coordinator(disbursement, template="payments/rejected", now=now)


@dataclass(frozen=True)
class ExportFile:
    export: PaymentExport
    filename: str
    mimetype: str
    data: bytes


@operation
def export_payments(
    programme: Programme, *, actor: User, file_format: str, now: dt.datetime
) -> ExportFile:
    """Every approved payment of the programme not yet exported goes into one file for the
    ministry's payment system; each payment is exported once (a second export finds none of
    them and is refused).

    Side effects: the file stored; a ``payment_exports`` row with format, count, total and
    SHA-256; each payment exported (one audit event ``payment_export.created``).
    """
    require(can_handle_payments(actor, programme))
    if file_format not in files.FORMATS:
        raise DomainError(_("Choose CSV or XLSX."), field="file_format")
    db.session.execute(
        sa.select(Programme.id).where(Programme.id == programme.id).with_for_update()
    )
    payments = queries.exportable(programme.id)
    if not payments:
        raise DomainError(_("No approved payments are waiting for export."))
    data = files.write(payments, file_format)
    total = sum((d.amount for d in payments), rules.ZERO)
    export = PaymentExport(
        programme_id=programme.id,
        file_format=file_format,
        payments=len(payments),
        total=total,
        sha256=hashlib.sha256(data).hexdigest(),
        storage_key=storage.store(data),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(export)
    db.session.flush()
    apply_steps(
        payments,
        "export",
        actor=actor,
        now=now,
        event="payment_export.created",
        object_type="payment_export",
        object_id=export.id,
        values={"export_id": export.id},
        detail={
            "format": file_format,
            "payments": [d.id for d in payments],
            "total": total,
            "sha256": export.sha256,
        },
    )
    log.info("payment export %s of %d payments", export.id, len(payments))
    return ExportFile(
        export=export,
        filename=files.export_filename(programme.slug, export),
        mimetype=files.MIMETYPES[file_format],
        data=data,
    )


@operation
def mark_paid(disbursement: Disbursement, *, actor: User, now: dt.datetime) -> None:
    """The payment system has paid an exported payment.

    Side effects: the payment paid with the time (audit ``disbursement.paid``).
    """
    require(can_decide_payment(actor, disbursement))
    apply_step(disbursement, "pay", actor=actor, now=now, values={"paid_at": now})


@operation
def mark_export_paid(export: PaymentExport, *, actor: User, now: dt.datetime) -> int:
    """The payment system has paid a whole file: each of its payments not yet marked paid.
    Returns how many were marked.

    Side effects: those payments paid (one audit event ``payment_export.paid``).
    """
    programme = db.session.get(Programme, export.programme_id)
    assert programme is not None
    require(can_handle_payments(actor, programme))
    waiting = [d for d in queries.exported_in(export) if d.state == DisbursementState.EXPORTED]
    moved = apply_steps(
        waiting,
        "pay",
        actor=actor,
        now=now,
        event="payment_export.paid",
        object_type="payment_export",
        object_id=export.id,
        values={"paid_at": now},
    )
    return len(moved)
