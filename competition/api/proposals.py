"""Proposals, their submitted versions and the officers' screening verdicts.

Reads need the scope ``proposals:read``; recording a verdict ``proposals:write``. Who sees
which proposal is ``api.proposal_access`` (the pages' predicates): contributors and the
programme's officers all of it; a juror the proposals they may review, with only the stages
they review; anyone else 404, as for a missing id, and lists leave such proposals out."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import joinedload, selectinload

from competition.api import API_PREFIX, ApiBlueprint
from competition.api.auth import api_token, api_user
from competition.api.models import ApiArea
from competition.api.operations import perform
from competition.api.paging import PageArgs, cursor_page, link_header, page_of, page_schema
from competition.api.problems import ApiProblem
from competition.api.proposal_access import ProposalAccess, access_to, visible_proposals
from competition.api.schemas import enum_of
from competition.extensions import db
from competition.organisations.models import FederalState, OrganisationKind
from competition.programmes.models import Stage, StageKind
from competition.proposals.models import (
    ConsortiumMember,
    MemberRole,
    Proposal,
    ProposalState,
    StageSubmission,
    SubmissionState,
    SubmissionVersion,
)
from competition.screening.models import ScreeningResult, Verdict
from competition.screening.operations import record_verdict

blp = ApiBlueprint(
    "api_proposals",
    __name__,
    url_prefix=API_PREFIX,
    description="Proposals, submitted versions and screening (scope proposals:read|write)",
)
TOKEN = [{"token": []}]
ROW_ID = validate.Range(1, 2**31 - 1)


# --- schemas -----------------------------------------------------------------------------------


class ProposalSummarySchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)
    acronym = fields.String(required=True)
    title = fields.String(required=True)
    state = fields.String(required=True, metadata=enum_of(ProposalState))
    call_id = fields.Integer(required=True)


class ProposalCallSchema(Schema):
    id = fields.Integer(required=True)
    programme_id = fields.Integer(required=True)
    round_number = fields.Integer(required=True)
    name = fields.String(required=True)


class ConsortiumOrganisationSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata=enum_of(OrganisationKind))
    federal_state = fields.String(
        required=True,
        allow_none=True,
        # null is one of its values (apispec adds it to the type, not to the enum).
        metadata={"enum": [*enum_of(FederalState)["enum"], None]},
    )
    country = fields.String(required=True)


class ConsortiumMemberSchema(Schema):
    organisation = fields.Nested(ConsortiumOrganisationSchema, required=True)
    role = fields.String(required=True, metadata=enum_of(MemberRole))


class ProposalTopicSchema(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name_en = fields.String(required=True)
    name_de = fields.String(required=True)


class StageSubmissionSchema(Schema):
    stage_id = fields.Integer(required=True)
    stage_name = fields.String(required=True)
    stage_kind = fields.String(required=True, metadata=enum_of(StageKind))
    state = fields.String(required=True, metadata=enum_of(SubmissionState))
    submitted_at = fields.DateTime(required=True, allow_none=True)
    sha256 = fields.String(
        required=True, allow_none=True, metadata={"description": "of the latest version"}
    )


class ProposalSchema(ProposalSummarySchema):
    abstract = fields.String(required=True)
    call = fields.Nested(ProposalCallSchema, required=True)
    consortium = fields.List(
        fields.Nested(ConsortiumMemberSchema),
        required=True,
        metadata={"description": "the coordinator first"},
    )
    topics = fields.List(fields.Nested(ProposalTopicSchema), required=True)
    submissions = fields.List(
        fields.Nested(StageSubmissionSchema),
        required=True,
        metadata={"description": "per stage, in the call's order; a juror's: the stages reviewed"},
    )
    created_at = fields.DateTime(required=True)
    updated_at = fields.DateTime(required=True)


class SubmittedVersionSchema(Schema):
    number = fields.Integer(required=True, metadata={"description": "counted per stage"})
    stage_id = fields.Integer(required=True)
    receipt_code = fields.String(required=True)
    submitted_at = fields.DateTime(required=True)
    sha256 = fields.String(required=True, metadata={"description": "of the frozen content"})


class SubmittedVersionDetailSchema(SubmittedVersionSchema):
    content = fields.Dict(
        required=True,
        metadata={
            "description": "the frozen content (for jurors without the partners' contacts, "
            "as the review page shows it)"
        },
    )


class ProposalListArgs(PageArgs):
    call_id = fields.Integer(load_default=None, validate=ROW_ID)
    stage_id = fields.Integer(
        load_default=None,
        validate=ROW_ID,
        metadata={"description": "only proposals with a submission at this stage"},
    )
    state = fields.String(
        load_default=None,
        validate=validate.OneOf([s.value for s in ProposalState]),
        metadata=enum_of(ProposalState),
    )


class SubmittedVersionArgs(Schema):
    stage_id = fields.Integer(
        load_default=None,
        validate=ROW_ID,
        metadata={"description": "the stage whose version this is; by default the latest stage"},
    )


class ScreeningVerdictSchema(Schema):
    stage_id = fields.Integer(required=True, validate=ROW_ID)
    verdict = fields.String(
        required=True,
        validate=validate.OneOf([v.value for v in Verdict]),
        metadata=enum_of(Verdict),
    )
    reason = fields.String(
        load_default="",
        metadata={"description": "required for ineligible; sent to the coordinator"},
    )


class ScreeningChecksSchema(Schema):
    complete = fields.Boolean(required=True)
    on_time = fields.Boolean(required=True)
    budget = fields.Boolean(required=True)
    scope = fields.Boolean(required=True)


class ScreeningResultSchema(Schema):
    stage_id = fields.Integer(required=True)
    verdict = fields.String(required=True, metadata=enum_of(Verdict))
    reason = fields.String(required=True)
    version_number = fields.Integer(required=True, allow_none=True)
    checks = fields.Nested(ScreeningChecksSchema, required=True)
    decided_at = fields.DateTime(required=True)


class ScreeningSchema(Schema):
    proposal_id = fields.Integer(required=True)
    state = fields.String(required=True, metadata=enum_of(ProposalState))
    results = fields.List(fields.Nested(ScreeningResultSchema), required=True)


# --- loading -----------------------------------------------------------------------------------


def _proposal_or_404(proposal_id: int) -> tuple[Proposal, ProposalAccess]:
    user = api_user()
    proposal = db.session.scalar(
        sa.select(Proposal)
        .where(Proposal.id == proposal_id)
        .options(
            joinedload(Proposal.call),
            selectinload(Proposal.members).joinedload(ConsortiumMember.organisation),
            selectinload(Proposal.topics),
            selectinload(Proposal.submissions).joinedload(StageSubmission.stage),
        )
    )
    access = access_to(user, proposal) if proposal is not None else None
    # Not found and not allowed look the same: nobody learns which proposals exist.
    if proposal is None or access is None:
        raise ApiProblem(404)
    return proposal, access


def _versions(proposal: Proposal, access: ProposalAccess) -> sa.Select[Any]:
    """The proposal's submitted versions its reader may see, with their stage's id."""
    query = (
        sa.select(SubmissionVersion, StageSubmission.stage_id)
        .join(StageSubmission, StageSubmission.id == SubmissionVersion.submission_id)
        .join(Stage, Stage.id == StageSubmission.stage_id)
        .where(StageSubmission.proposal_id == proposal.id)
    )
    if not access.full:
        query = query.where(StageSubmission.stage_id.in_(access.reviewed_stage_ids))
    return query


# --- what the answers hold ---------------------------------------------------------------------


def proposal_body(proposal: Proposal, access: ProposalAccess) -> dict[str, Any]:
    submissions = sorted(
        (s for s in proposal.submissions if access.sees_stage(s.stage_id)),
        key=lambda s: s.stage.position,
    )
    return {
        "id": proposal.id,
        "reference": proposal.reference,
        "acronym": proposal.acronym,
        "title": proposal.title,
        "abstract": proposal.abstract,
        "state": proposal.state,
        "call_id": proposal.call_id,
        "call": proposal.call,
        "consortium": [
            {"organisation": member.organisation, "role": member.role}
            for member in proposal.members
        ],
        "topics": proposal.topics,
        "submissions": [
            {
                "stage_id": s.stage_id,
                "stage_name": s.stage.name,
                "stage_kind": s.stage.kind,
                "state": s.state,
                "submitted_at": s.submitted_at,
                "sha256": s.content_hash,
            }
            for s in submissions
        ],
        "created_at": proposal.created_at,
        "updated_at": proposal.updated_at,
    }


# The partners' contact people are the consortium's and the officers' business: the review
# page shows jurors the organisations only.
CONTACT_KEYS = ("contact_name", "contact_email")


def version_body(
    version: SubmissionVersion, stage_id: int, access: ProposalAccess, *, content: bool = False
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "number": version.number,
        "stage_id": stage_id,
        "receipt_code": version.receipt_code,
        "submitted_at": version.submitted_at,
        "sha256": version.content_hash,
    }
    if content:
        frozen = dict(version.content)
        if not access.full:
            frozen["members"] = [
                {key: value for key, value in member.items() if key not in CONTACT_KEYS}
                for member in frozen.get("members") or ()
            ]
        body["content"] = frozen
    return body


def screening_body(proposal_id: int) -> dict[str, Any]:
    state = db.session.scalar(sa.select(Proposal.state).where(Proposal.id == proposal_id))
    rows = db.session.execute(
        sa.select(ScreeningResult, SubmissionVersion.number)
        .outerjoin(SubmissionVersion, SubmissionVersion.id == ScreeningResult.version_id)
        .join(Stage, Stage.id == ScreeningResult.stage_id)
        .where(ScreeningResult.proposal_id == proposal_id)
        .order_by(Stage.position)
    )
    return {
        "proposal_id": proposal_id,
        "state": state,
        "results": [
            {
                "stage_id": result.stage_id,
                "verdict": result.verdict,
                "reason": result.reason,
                "version_number": number,
                "checks": {
                    key: bool((result.checks or {}).get(key))
                    for key in ("complete", "on_time", "budget", "scope")
                },
                "decided_at": result.decided_at,
            }
            for result, number in rows
        ],
    }


# --- endpoints ---------------------------------------------------------------------------------


@blp.route("/proposals")
@blp.doc(security=TOKEN)
@api_token(ApiArea.PROPOSALS)
@blp.etag
@blp.arguments(ProposalListArgs, location="query", as_kwargs=True)
@blp.response(200, page_schema(ProposalSummarySchema, "ProposalPage"))
def list_proposals(**args: Any) -> Any:
    """The proposals the caller contributes to, runs the programme of, or reviews."""
    query = sa.select(Proposal).where(visible_proposals(api_user()))
    if args.get("call_id") is not None:
        query = query.where(Proposal.call_id == args["call_id"])
    if args.get("stage_id") is not None:
        at_stage = sa.select(StageSubmission.proposal_id).where(
            StageSubmission.stage_id == args["stage_id"]
        )
        query = query.where(Proposal.id.in_(at_stage))
    if args.get("state") is not None:
        query = query.where(Proposal.state == ProposalState(args["state"]))
    page = cursor_page(query, Proposal.id, args)
    return page.body(), link_header(page)


@blp.route("/proposals/<int:proposal_id>")
@blp.doc(security=TOKEN)
@api_token(ApiArea.PROPOSALS)
@blp.etag
@blp.response(200, ProposalSchema)
def show_proposal(proposal_id: int) -> Any:
    """A proposal: its call, consortium, topics and the state of each stage's submission."""
    return proposal_body(*_proposal_or_404(proposal_id))


@blp.route("/proposals/<int:proposal_id>/versions")
@blp.doc(security=TOKEN)
@api_token(ApiArea.PROPOSALS)
@blp.etag
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, page_schema(SubmittedVersionSchema, "VersionPage"))
def list_versions(proposal_id: int, **args: Any) -> Any:
    """The proposal's submitted versions, oldest first (a juror's: of the stages reviewed)."""
    proposal, access = _proposal_or_404(proposal_id)
    rows = db.session.execute(_versions(proposal, access)).all()
    page = page_of(rows, lambda row: row[0].id, args)
    items = [version_body(version, stage_id, access) for version, stage_id in page.items]
    return {"items": items, "next_cursor": page.next_cursor}, link_header(page)


@blp.route("/proposals/<int:proposal_id>/versions/<int:number>")
@blp.doc(security=TOKEN)
@api_token(ApiArea.PROPOSALS)
@blp.etag
@blp.arguments(SubmittedVersionArgs, location="query", as_kwargs=True)
@blp.response(200, SubmittedVersionDetailSchema)
def show_version(proposal_id: int, number: int, stage_id: int | None = None) -> Any:
    """A submitted version with its receipt and frozen content: the one of stage_id, else
    of the latest stage that has this number."""
    proposal, access = _proposal_or_404(proposal_id)
    query = _versions(proposal, access).where(SubmissionVersion.number == number)
    if stage_id is not None:
        query = query.where(StageSubmission.stage_id == stage_id)
    row = db.session.execute(query.order_by(Stage.position.desc()).limit(1)).first()
    if row is None:
        raise ApiProblem(404)
    return version_body(row[0], row[1], access, content=True)


@blp.route("/proposals/<int:proposal_id>/screening", methods=["POST"])
@blp.doc(security=TOKEN)
@api_token(ApiArea.PROPOSALS, write=True)
@blp.arguments(ScreeningVerdictSchema)
@blp.response(200, ScreeningSchema, description="the verdict changed, or was already so")
@blp.alt_response(201, schema=ScreeningSchema, description="the stage's first verdict")
def screen_proposal(body: dict[str, Any], proposal_id: int) -> Any:
    """An officer of the programme records whether the proposal's latest submitted version for
    the stage is eligible; ineligible needs a reason, which the coordinator is sent."""
    user = api_user()
    proposal, _ = _proposal_or_404(proposal_id)
    stage = db.session.get(Stage, body["stage_id"])
    if stage is None or stage.call_id != proposal.call_id:
        raise ApiProblem(
            422,
            detail="No stage of the proposal's call has this id.",
            errors={"stage_id": ["No stage of the proposal's call has this id."]},
        )
    first = (
        db.session.scalar(
            sa.select(ScreeningResult.id).where(
                ScreeningResult.proposal_id == proposal.id, ScreeningResult.stage_id == stage.id
            )
        )
        is None
    )
    perform(
        lambda: record_verdict(
            proposal,
            stage,
            actor=user,
            verdict=Verdict(body["verdict"]),
            reason=body["reason"],
            now=g.now,
        )
    )
    return screening_body(proposal_id), 201 if first else 200
