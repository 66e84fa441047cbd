"""Grants, their reports and payments for programs (scope ``grants``), and the officers' one
write: a payment's status (approve, confirm, reject, paid) through the payments' operations.

Who sees what is the grants pages' rule (``grants.permissions.can_see_grant``): the programme's
officers and the grant's consortium (the contributors of its proposal); anyone else is told
nothing (404). Within what a caller sees, the pages' finer rules hold too: a report's text and
files only where ``can_read_submitted`` allows them (officers read a report once it is
submitted), its review note where the report's page shows it, and the officers who decided a
payment by name only to officers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from flask import abort, g, request
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import joinedload, selectinload

from competition.accounts.models import Role, User
from competition.accounts.queries import names_of
from competition.api import API_PREFIX, ApiBlueprint
from competition.api.auth import api_token, api_user
from competition.api.models import ApiArea
from competition.api.operations import perform
from competition.api.paging import CursorPage, PageArgs, cursor_page, link_header, page_schema
from competition.api.problems import ApiProblem
from competition.api.schemas import Amount
from competition.extensions import db
from competition.grants import queries as grant_queries
from competition.grants.models import (
    Disbursement,
    DisbursementState,
    Grant,
    GrantAmount,
    GrantKind,
    GrantState,
    PhaseOutcome,
    Report,
    ReportAttachment,
    ReportKind,
    ReportState,
)
from competition.grants.payments import operations as payment_ops
from competition.grants.payments.permissions import can_handle_payments
from competition.grants.permissions import can_see_grant, is_grant_officer
from competition.grants.reports.permissions import can_read_submitted
from competition.programmes.models import Call, Programme, ProgrammeOfficer
from competition.proposals.models import (
    ConsortiumMember,
    MemberRole,
    Proposal,
    ProposalContributor,
)

blp = ApiBlueprint(
    "api_grants",
    __name__,
    url_prefix=API_PREFIX,
    description=(
        "Grants, their reports and payments, for the programme's officers and the grant's "
        "consortium; payment systems poll a programme's payments and record what was paid."
    ),
)

TOKEN: list[dict[str, list[str]]] = [{"token": []}]
MAX_ID = 2**31 - 1
# The report states whose page shows the officer's review note (returned, or accepted).
REVIEW_SHOWN = frozenset({ReportState.CHANGES_REQUESTED, ReportState.ACCEPTED})


# --- schemas --------------------------------------------------------------------------------------
# Named for this area (the description drops "Schema": "Grant", "ReportAttachment", …), so that
# no other area's schema takes the same name in the shared description.


class GrantProposalSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    acronym = fields.String(required=True)


class GrantCallSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    round = fields.Integer(required=True)


class GrantProgrammeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class GrantSchema(Schema):
    id = fields.Integer(required=True)
    kind = fields.Enum(GrantKind, by_value=True, required=True)
    state = fields.Enum(GrantState, by_value=True, required=True)
    programme = fields.Nested(GrantProgrammeSchema, required=True)
    call = fields.Nested(GrantCallSchema, required=True)
    proposal = fields.Nested(GrantProposalSchema, required=True)
    starts_on = fields.Date(required=True, metadata={"description": "the first day"})
    ends_on = fields.Date(
        required=True, metadata={"description": "the first day after the grant (exclusive)"}
    )
    total = Amount(required=True, metadata={"description": "approved public funding, euro"})


class GrantPhaseSchema(Schema):
    number = fields.Integer(required=True)
    first_year = fields.Integer(required=True, metadata={"description": "project year"})
    last_year = fields.Integer(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True, metadata={"description": "exclusive"})
    released = fields.Boolean(required=True, metadata={"description": "its money may be paid"})
    released_at = fields.DateTime(required=True, allow_none=True)
    outcome = fields.Enum(
        PhaseOutcome,
        by_value=True,
        required=True,
        allow_none=True,
        metadata={"description": "the interim evaluation's outcome at the end of the phase"},
    )
    outcome_conditions = fields.String(required=True)


class GrantYearAmountSchema(Schema):
    year = fields.Integer(required=True, metadata={"description": "project year"})
    amount = Amount(required=True)


class GrantPartnerSchema(Schema):
    member_id = fields.Integer(required=True)
    organisation = fields.String(required=True)
    role = fields.Enum(MemberRole, by_value=True, required=True)
    years = fields.List(fields.Nested(GrantYearAmountSchema), required=True)
    total = Amount(required=True)


class GrantDetailSchema(GrantSchema):
    offered_at = fields.DateTime(required=True)
    accepted_at = fields.DateTime(required=True, allow_none=True)
    conditions = fields.String(required=True)
    phases = fields.List(fields.Nested(GrantPhaseSchema), required=True)
    amounts = fields.List(
        fields.Nested(GrantPartnerSchema),
        required=True,
        metadata={"description": "approved public funding per partner and project year"},
    )


class ReportAttachmentSchema(Schema):
    id = fields.Integer(required=True)
    filename = fields.String(required=True)
    sha256 = fields.String(required=True)
    size_bytes = fields.Integer(required=True)
    page_count = fields.Integer(required=True, allow_none=True)


class ReportReviewSchema(Schema):
    note = fields.String(required=True)
    reviewed_at = fields.DateTime(required=True, allow_none=True)


class ReportSchema(Schema):
    id = fields.Integer(required=True)
    grant_id = fields.Integer(required=True)
    kind = fields.Enum(ReportKind, by_value=True, required=True)
    year = fields.Integer(
        required=True, metadata={"description": "project year; 0 for final and statement of use"}
    )
    due_at = fields.DateTime(required=True)
    state = fields.Enum(ReportState, by_value=True, required=True)
    submitted_at = fields.DateTime(required=True, allow_none=True)
    receipt_code = fields.String(required=True, allow_none=True)
    content_hash = fields.String(
        required=True, allow_none=True, metadata={"description": "SHA-256 of the submission"}
    )
    sections = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        required=True,
        allow_none=True,
        metadata={"description": "null where the caller may not read the text yet"},
    )
    attachments = fields.List(
        fields.Nested(ReportAttachmentSchema),
        required=True,
        allow_none=True,
        metadata={"description": "the PDFs; null where the caller may not read them yet"},
    )
    review = fields.Nested(
        ReportReviewSchema,
        required=True,
        allow_none=True,
        metadata={"description": "the programme office's note, once returned or accepted"},
    )


class PaymentOfficerSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)


class PaymentSchema(Schema):
    id = fields.Integer(required=True)
    grant_id = fields.Integer(required=True)
    member_id = fields.Integer(required=True)
    partner = fields.String(required=True, metadata={"description": "the organisation paid"})
    year = fields.Integer(required=True, metadata={"description": "project year"})
    period_from = fields.Date(required=True)
    period_to = fields.Date(required=True, metadata={"description": "inclusive"})
    amount = Amount(required=True)
    state = fields.Enum(DisbursementState, by_value=True, required=True)
    reason = fields.String(required=True, metadata={"description": "why it was rejected"})
    requested_at = fields.DateTime(required=True)
    decided_at = fields.DateTime(required=True, allow_none=True)
    confirmed_at = fields.DateTime(required=True, allow_none=True)
    paid_at = fields.DateTime(required=True, allow_none=True)
    needs_second_officer = fields.Boolean(required=True)
    export_id = fields.Integer(required=True, allow_none=True)
    decided_by = fields.Nested(
        PaymentOfficerSchema,
        required=True,
        allow_none=True,
        metadata={"description": "shown to the programme's officers only"},
    )
    confirmed_by = fields.Nested(
        PaymentOfficerSchema,
        required=True,
        allow_none=True,
        metadata={"description": "shown to the programme's officers only"},
    )


class GrantFilters(PageArgs):
    programme_id = fields.Integer(validate=validate.Range(1, MAX_ID), load_default=None)
    state = fields.Enum(GrantState, by_value=True, load_default=None)
    kind = fields.Enum(GrantKind, by_value=True, load_default=None)


class PaymentFilters(PageArgs):
    state = fields.Enum(DisbursementState, by_value=True, load_default=None)


ACTIONS = ("approve", "confirm", "reject", "paid")


class PaymentStatusChangeSchema(Schema):
    action = fields.String(
        required=True,
        validate=validate.OneOf(ACTIONS),
        metadata={
            "description": (
                "approve (above the programme's threshold: a proposal a second officer "
                "confirms), confirm (another officer than the one who approved), reject (with "
                "a reason), paid (an exported payment the payment system has paid)"
            )
        },
    )
    reason = fields.String(load_default="", metadata={"description": "required to reject"})


GrantPage = page_schema(GrantSchema, "GrantPage")
ReportPage = page_schema(ReportSchema, "ReportPage")
PaymentPage = page_schema(PaymentSchema, "PaymentPage")


# --- reading --------------------------------------------------------------------------------------


def _grant_options() -> tuple[Any, ...]:
    return (
        joinedload(Grant.proposal),
        joinedload(Grant.call).joinedload(Call.programme),
    )


def visible_to(user: User) -> sa.ColumnElement[bool]:
    """``can_see_grant`` as SQL, for lists (the query must join ``Call``): the grants of the
    proposals the person contributes to, and of the programmes they run as an officer."""
    consortium = Grant.proposal_id.in_(
        sa.select(ProposalContributor.proposal_id).where(ProposalContributor.user_id == user.id)
    )
    if not user.has_role(Role.OFFICER):
        return consortium
    officer = Call.programme_id.in_(
        sa.select(ProgrammeOfficer.programme_id).where(ProgrammeOfficer.user_id == user.id)
    )
    return sa.or_(consortium, officer)


def _seen_grant(grant_id: int) -> Grant:
    """The grant with what its answer shows; 404 for anyone ``can_see_grant`` refuses."""
    grant = db.session.scalar(
        sa.select(Grant)
        .where(Grant.id == grant_id)
        .options(
            *_grant_options(),
            selectinload(Grant.proposal, Proposal.members).joinedload(
                ConsortiumMember.organisation
            ),
            selectinload(Grant.phases),
            selectinload(Grant.amounts),
        )
    )
    if grant is None or not can_see_grant(api_user(), grant):
        abort(404)
    return grant


def _totals(grant_ids: Iterable[int]) -> dict[int, Decimal]:
    wanted = list(grant_ids)
    if not wanted:
        return {}
    rows = db.session.execute(
        sa.select(GrantAmount.grant_id, sa.func.sum(GrantAmount.amount))
        .where(GrantAmount.grant_id.in_(wanted))
        .group_by(GrantAmount.grant_id)
    )
    return {grant_id: Decimal(total) for grant_id, total in rows}


def _grant_item(grant: Grant, total: Decimal) -> dict[str, Any]:
    call, programme, proposal = grant.call, grant.call.programme, grant.proposal
    return {
        "id": grant.id,
        "kind": grant.kind,
        "state": grant.state,
        "programme": {"id": programme.id, "name": programme.name},
        "call": {"id": call.id, "name": call.name, "round": call.round_number},
        "proposal": {
            "id": proposal.id,
            "reference": proposal.reference,
            "acronym": proposal.acronym,
        },
        "starts_on": grant.starts_on,
        "ends_on": grant.ends_on,
        "total": total,
    }


def _grant_detail(grant: Grant) -> dict[str, Any]:
    table = grant_queries.amount_table(grant)
    return {
        **_grant_item(grant, table.total),
        "offered_at": grant.offered_at,
        "accepted_at": grant.accepted_at,
        "conditions": grant.conditions,
        "phases": [
            {
                "number": phase.number,
                "first_year": phase.first_year,
                "last_year": phase.last_year,
                "starts_on": phase.starts_on,
                "ends_on": phase.ends_on,
                "released": phase.released_at is not None,
                "released_at": phase.released_at,
                "outcome": phase.outcome,
                "outcome_conditions": phase.outcome_conditions,
            }
            for phase in grant.phases
        ],
        "amounts": [
            {
                "member_id": row.member.id,
                "organisation": row.member.organisation.name,
                "role": row.member.role,
                "years": [{"year": y, "amount": row.by_year[y]} for y in table.years],
                "total": row.total,
            }
            for row in table.rows
        ],
    }


def _report_item(report: Report, reader: User) -> dict[str, Any]:
    readable = can_read_submitted(reader, report)
    files: Sequence[ReportAttachment] = [a for a in report.attachments if a.removed_at is None]
    return {
        "id": report.id,
        "grant_id": report.grant_id,
        "kind": report.kind,
        "year": report.year,
        "due_at": report.due_at,
        "state": report.state,
        "submitted_at": report.submitted_at,
        "receipt_code": report.receipt_code,
        "content_hash": report.content_hash,
        "sections": dict(report.sections or {}) if readable else None,
        "attachments": [
            {
                "id": a.id,
                "filename": a.filename,
                "sha256": a.sha256,
                "size_bytes": a.size_bytes,
                "page_count": a.page_count,
            }
            for a in files
        ]
        if readable
        else None,
        "review": {"note": report.review_note, "reviewed_at": report.reviewed_at}
        if report.state in REVIEW_SHOWN
        else None,
    }


def _payment_items(
    payments: Sequence[Disbursement], *, officer_of: set[int]
) -> list[dict[str, Any]]:
    """The payments as the reader sees them; ``officer_of``: the grants (by id) whose officers
    the reader is among, who alone read who decided."""
    names = names_of(
        {
            person
            for d in payments
            if d.grant_id in officer_of
            for person in (d.decided_by_id, d.confirmed_by_id)
            if person
        }
    )

    def person(user_id: int | None, shown: bool) -> dict[str, Any] | None:
        if not shown or user_id is None:
            return None
        return {"id": user_id, "name": names.get(user_id, "")}

    return [
        {
            "id": d.id,
            "grant_id": d.grant_id,
            "member_id": d.member_id,
            "partner": d.member.organisation.name,
            "year": d.year,
            "period_from": d.period_from,
            "period_to": d.period_to,
            "amount": d.amount,
            "state": d.state,
            "reason": d.reason,
            "requested_at": d.requested_at,
            "decided_at": d.decided_at,
            "confirmed_at": d.confirmed_at,
            "paid_at": d.paid_at,
            "needs_second_officer": d.needs_second_officer,
            "export_id": d.export_id,
            "decided_by": person(d.decided_by_id, d.grant_id in officer_of),
            "confirmed_by": person(d.confirmed_by_id, d.grant_id in officer_of),
        }
        for d in payments
    ]


def _payment_options() -> tuple[Any, ...]:
    return (
        joinedload(Disbursement.member).joinedload(ConsortiumMember.organisation),
        joinedload(Disbursement.grant).options(*_grant_options()),
    )


def _seen_payment(payment_id: int) -> Disbursement:
    """The payment; 404 for anyone who may not see its grant."""
    payment = db.session.scalar(
        sa.select(Disbursement)
        .where(Disbursement.id == payment_id)
        .options(*_payment_options())
        .execution_options(populate_existing=True)
    )
    if payment is None or not can_see_grant(api_user(), payment.grant):
        abort(404)
    return payment


def _payment_body(payment: Disbursement) -> dict[str, Any]:
    officer = {payment.grant_id} if is_grant_officer(api_user(), payment.grant) else set()
    return _payment_items([payment], officer_of=officer)[0]


def _paged(page: Any, items: list[dict[str, Any]]) -> tuple[dict[str, Any], int, dict[str, str]]:
    return {"items": items, "next_cursor": page.next_cursor}, 200, link_header(page)


def _of_grant(
    grant_id: int, model: type[Report] | type[Disbursement], args: dict[str, Any], *options: Any
) -> tuple[Grant, CursorPage]:
    """A page of the grant's reports or payments (``model``), oldest first; 404 for anyone who
    may not see the grant."""
    grant = _seen_grant(grant_id)
    query = sa.select(model).where(model.grant_id == grant.id).options(*options)
    return grant, cursor_page(query, model.id, args)


# --- grants ---------------------------------------------------------------------------------------


@blp.route("/grants")
@blp.doc(security=TOKEN)
@blp.etag
@blp.response(200, GrantPage)
@api_token(ApiArea.GRANTS)
@blp.arguments(GrantFilters, location="query", as_kwargs=True)
def list_grants(**args: Any) -> Any:
    """The grants the caller sees: of the programmes they run as an officer, and of the
    proposals they contribute to. Filters: programme, state, kind."""
    query = (
        sa.select(Grant)
        .join(Call, Call.id == Grant.call_id)
        .where(visible_to(api_user()))
        .options(*_grant_options())
    )
    if args["programme_id"] is not None:
        query = query.where(Call.programme_id == args["programme_id"])
    if args["state"] is not None:
        query = query.where(Grant.state == args["state"])
    if args["kind"] is not None:
        query = query.where(Grant.kind == args["kind"])
    page = cursor_page(query, Grant.id, args)
    totals = _totals(grant.id for grant in page.items)
    return _paged(page, [_grant_item(g, totals.get(g.id, Decimal(0))) for g in page.items])


@blp.route("/grants/<int:grant_id>")
@blp.doc(security=TOKEN)
@blp.etag
@blp.response(200, GrantDetailSchema)
@api_token(ApiArea.GRANTS)
def get_grant(grant_id: int) -> Any:
    """A grant: kind, state, proposal, call, period, phases, approved amounts per partner and
    project year, conditions."""
    return _grant_detail(_seen_grant(grant_id))


# --- reports --------------------------------------------------------------------------------------


@blp.route("/grants/<int:grant_id>/reports")
@blp.doc(security=TOKEN)
@blp.etag
@blp.response(200, ReportPage)
@api_token(ApiArea.GRANTS)
@blp.arguments(PageArgs, location="query", as_kwargs=True)
def list_grant_reports(grant_id: int, **args: Any) -> Any:
    """The grant's reports, in the order they were planned."""
    _, page = _of_grant(grant_id, Report, args, selectinload(Report.attachments))
    # Each report's grant is the one loaded above (the session's identity map: no query).
    reader = api_user()
    return _paged(page, [_report_item(report, reader) for report in page.items])


@blp.route("/reports/<int:report_id>")
@blp.doc(security=TOKEN)
@blp.etag
@blp.response(200, ReportSchema)
@api_token(ApiArea.GRANTS)
def get_report(report_id: int) -> Any:
    """A report: its receipt and hash once submitted; its text and files where the caller may
    read them (the consortium always, officers once it is submitted)."""
    report = db.session.scalar(
        sa.select(Report)
        .where(Report.id == report_id)
        .options(
            joinedload(Report.grant).options(*_grant_options()),
            selectinload(Report.attachments),
        )
    )
    if report is None or not can_see_grant(api_user(), report.grant):
        abort(404)
    return _report_item(report, api_user())


# --- payments -------------------------------------------------------------------------------------


@blp.route("/grants/<int:grant_id>/payments")
@blp.doc(security=TOKEN)
@blp.etag
@blp.response(200, PaymentPage)
@api_token(ApiArea.GRANTS)
@blp.arguments(PageArgs, location="query", as_kwargs=True)
def list_grant_payments(grant_id: int, **args: Any) -> Any:
    """The grant's payment requests (disbursements), oldest first."""
    grant, page = _of_grant(
        grant_id,
        Disbursement,
        args,
        joinedload(Disbursement.member).joinedload(ConsortiumMember.organisation),
    )
    officer = {grant.id} if is_grant_officer(api_user(), grant) else set()
    return _paged(page, _payment_items(page.items, officer_of=officer))


@blp.route("/payments/<int:payment_id>")
@blp.doc(security=TOKEN)
@blp.etag
@blp.response(200, PaymentSchema)
@api_token(ApiArea.GRANTS)
def get_payment(payment_id: int) -> Any:
    """A payment request: partner, project year, period, amount, state and its times."""
    return _payment_body(_seen_payment(payment_id))


@blp.route("/programmes/<int:programme_id>/payments")
@blp.doc(security=TOKEN)
@blp.etag
@blp.response(200, PaymentPage)
@api_token(ApiArea.GRANTS)
@blp.arguments(PaymentFilters, location="query", as_kwargs=True)
def list_programme_payments(programme_id: int, **args: Any) -> Any:
    """The programme's payments, oldest first, for its officers (a payment system polls
    ``?state=approved`` or ``exported``); 404 for anyone else."""
    programme = db.session.get(Programme, programme_id)
    if programme is None or not can_handle_payments(api_user(), programme):
        abort(404)
    query = (
        sa.select(Disbursement)
        .join(Grant, Grant.id == Disbursement.grant_id)
        .join(Call, Call.id == Grant.call_id)
        .where(Call.programme_id == programme.id)
        .options(joinedload(Disbursement.member).joinedload(ConsortiumMember.organisation))
    )
    if args["state"] is not None:
        query = query.where(Disbursement.state == args["state"])
    page = cursor_page(query, Disbursement.id, args)
    officer = {d.grant_id for d in page.items}
    return _paged(page, _payment_items(page.items, officer_of=officer))


def _check_if_match(payment: Disbursement) -> None:
    """``If-Match`` on a POST (flask-smorest checks it for PUT, PATCH and DELETE only): the
    payment must still be as the caller read it."""
    if not request.if_match:
        return
    current = blp._generate_etag(PaymentSchema().dump(_payment_body(payment)))
    if current not in request.if_match:
        raise ApiProblem(
            412, detail="The payment changed since it was read; read it again and decide anew."
        )


def _step(payment: Disbursement, action: str, reason: str, actor: User, now: dt.datetime) -> Any:
    if action == "approve":
        return payment_ops.approve_disbursement(payment, actor=actor, now=now)
    if action == "confirm":
        return payment_ops.confirm_disbursement(payment, actor=actor, now=now)
    if action == "reject":
        return payment_ops.reject_disbursement(payment, actor=actor, reason=reason, now=now)
    return payment_ops.mark_paid(payment, actor=actor, now=now)


@blp.route("/payments/<int:payment_id>/status", methods=["POST"])
@blp.doc(
    security=TOKEN,
    parameters=[
        {
            "in": "header",
            "name": "If-Match",
            "required": False,
            "description": "the payment's ETag as read; 412 when it changed since",
            "schema": {"type": "string"},
        }
    ],
)
@blp.etag
@blp.response(200, PaymentSchema)
@blp.alt_response(403, description="not an officer of the programme, or four eyes refused")
@blp.alt_response(404, description="no such payment, or its grant is not the caller's to see")
@blp.alt_response(409, description="the payment's state does not allow the step, or changed")
@blp.alt_response(412, description="If-Match does not match the payment's current ETag")
@blp.alt_response(422, description="refused input; messages per field under errors")
@api_token(ApiArea.GRANTS, write=True)
@blp.arguments(PaymentStatusChangeSchema)
def change_payment_status(body: dict[str, Any], payment_id: int) -> Any:
    """An officer of the programme decides a payment request, as on its page: approve (above
    the threshold a proposal), confirm (a second officer), reject (with a reason) or record it
    paid. Answers with the payment as ``GET /payments/{payment_id}`` shows it."""
    payment = _seen_payment(payment_id)
    _check_if_match(payment)
    perform(lambda: _step(payment, body["action"], body["reason"], api_user(), g.now))
    return _payment_body(_seen_payment(payment_id))
