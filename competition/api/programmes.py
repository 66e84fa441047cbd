"""Programmes, their calls and the calls' stages, with each stage's criteria and rules.

Who sees what: a call that is published or closed is public (the call pages show it to
anyone), so every token holder sees it and its programme; a draft call only the officers who
run its programme (``programmes.permissions.is_programme_officer``), as on the set-up pages;
administrators see every programme, though not the draft calls of programmes they do not run.
Anything else is 404, like a missing id."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import selectinload

from competition.accounts.models import Role, User
from competition.api import API_PREFIX, ApiBlueprint
from competition.api.auth import api_token, api_user
from competition.api.models import ApiArea
from competition.api.paging import PageArgs, cursor_page, link_header, page_schema
from competition.api.problems import ApiProblem
from competition.api.schemas import Amount, enum_of
from competition.extensions import db
from competition.programmes.models import (
    Call,
    CallState,
    Programme,
    ProgrammeKind,
    Stage,
    StageKind,
)
from competition.programmes.permissions import is_programme_officer
from competition.programmes.queries import programme_ids_run_by

blp = ApiBlueprint(
    "api_programmes",
    __name__,
    url_prefix=API_PREFIX,
    description="Programmes, calls and stages (scope programmes:read)",
)
TOKEN = [{"token": []}]


class DecimalText(Amount):
    """A decimal that is not money (a weight, a share, a scale's step) as a string with the
    digits it has, described like ``Amount``."""

    def __init__(self, **kwargs: Any) -> None:
        fields.Decimal.__init__(self, as_string=True, **kwargs)


# --- schemas -----------------------------------------------------------------------------------


class ProgrammeCallSchema(Schema):
    id = fields.Integer(required=True)
    round_number = fields.Integer(required=True)
    name = fields.String(required=True)
    state = fields.String(required=True, metadata=enum_of(CallState))


class ProgrammeSchema(Schema):
    id = fields.Integer(required=True)
    slug = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata=enum_of(ProgrammeKind))
    description = fields.String(required=True)
    total_budget = Amount(required=True)
    currency = fields.String(required=True)
    calls = fields.List(
        fields.Nested(ProgrammeCallSchema),
        required=True,
        metadata={"description": "the calls the caller may see, by round"},
    )


class CriterionSchema(Schema):
    id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    name = fields.String(required=True)
    description = fields.String(required=True)
    weight = DecimalText(required=True)
    scale_min = DecimalText(required=True)
    scale_max = DecimalText(required=True)
    scale_step = DecimalText(required=True)
    threshold = DecimalText(required=True, allow_none=True)


class BudgetYearsSchema(Schema):
    first = fields.Integer(required=True)
    last = fields.Integer(required=True)


class CostCategorySchema(Schema):
    key = fields.String(required=True)
    name_en = fields.String(required=True)
    name_de = fields.String(required=True)


class SectionRuleSchema(Schema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    max_chars = fields.Integer(required=True)
    required = fields.Boolean(required=True)


class AttachmentRuleSchema(Schema):
    key = fields.String(required=True)
    title = fields.String(required=True)
    required = fields.Boolean(required=True)
    max_pages = fields.Integer(required=True, allow_none=True)
    max_bytes = fields.Integer(required=True, allow_none=True)


class StageRulesSchema(Schema):
    """What a submission at the stage is checked against: the call's budget rules and caps
    and the stage's sections and documents."""

    budget_years = fields.Nested(
        BudgetYearsSchema,
        required=True,
        metadata={"description": "project years a budget covers (at an evaluation: next phase)"},
    )
    max_public_funding_per_proposal = Amount(required=True, allow_none=True)
    max_public_funding_per_year = Amount(required=True, allow_none=True)
    min_private_share = DecimalText(
        required=True, allow_none=True, metadata={"description": "a share, 0.85 for 85 %"}
    )
    funding_rates = fields.Dict(
        keys=fields.String(),
        values=DecimalText(),
        required=True,
        metadata={"description": "largest public share of a partner's costs per organisation kind"},
    )
    region_scope = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "federal state codes the coordinator must be based in"},
    )
    cost_categories = fields.List(fields.Nested(CostCategorySchema), required=True)
    sections = fields.List(fields.Nested(SectionRuleSchema), required=True)
    attachments = fields.List(fields.Nested(AttachmentRuleSchema), required=True)


class StageSchema(Schema):
    id = fields.Integer(required=True)
    call_id = fields.Integer(required=True)
    position = fields.Integer(required=True)
    kind = fields.String(required=True, metadata=enum_of(StageKind))
    name = fields.String(required=True)
    opens_at = fields.DateTime(required=True)
    closes_at = fields.DateTime(required=True)
    reviews_due_at = fields.DateTime(required=True, allow_none=True)
    reviewers_per_proposal = fields.Integer(required=True)
    max_load_per_juror = fields.Integer(required=True)
    selection_target = fields.Integer(required=True, allow_none=True)
    concept_grant_amount = Amount(required=True, allow_none=True)
    concept_grant_months = fields.Integer(required=True, allow_none=True)
    evaluates_phase = fields.Integer(required=True, allow_none=True)
    criteria = fields.List(fields.Nested(CriterionSchema), required=True)
    rules = fields.Nested(StageRulesSchema, required=True)


class CallSchema(Schema):
    id = fields.Integer(required=True)
    programme_id = fields.Integer(required=True)
    round_number = fields.Integer(required=True)
    name = fields.String(required=True)
    reference_prefix = fields.String(required=True)
    description = fields.String(required=True)
    state = fields.String(required=True, metadata=enum_of(CallState))
    budget_envelope = Amount(required=True, allow_none=True)
    budget_years = fields.Integer(required=True)
    phase_years = fields.Integer(required=True)


class CallDetailSchema(CallSchema):
    stages = fields.List(fields.Nested(StageSchema), required=True)


class CallListArgs(PageArgs):
    programme_id = fields.Integer(
        load_default=None,
        validate=validate.Range(1, 2**31 - 1),
        metadata={"description": "only this programme's calls"},
    )


# What the schemas read straight from the rows.
STAGE_COLUMNS = tuple(name for name in StageSchema().fields if name != "rules")
CALL_COLUMNS = tuple(CallSchema().fields)


# --- who sees what -----------------------------------------------------------------------------


def can_see_call(user: User, call: Call) -> bool:
    return call.state != CallState.DRAFT or is_programme_officer(user, call.programme_id)


def can_see_programme(user: User, programme: Programme) -> bool:
    """Loaded with its calls: administrators, its officers, and anyone once a call is public."""
    return (
        user.has_role(Role.ADMIN)
        or is_programme_officer(user, programme.id)
        or any(call.state != CallState.DRAFT for call in programme.calls)
    )


def _runs(user: User, programme_id: Any) -> sa.ColumnElement[bool]:
    if not user.has_role(Role.OFFICER):
        return sa.false()
    return programme_id.in_(programme_ids_run_by(user.id))


def visible_calls(user: User) -> sa.ColumnElement[bool]:
    """``can_see_call`` in SQL, for lists."""
    return sa.or_(Call.state != CallState.DRAFT, _runs(user, Call.programme_id))


def visible_programmes(user: User) -> sa.ColumnElement[bool]:
    """``can_see_programme`` in SQL, for lists."""
    if user.has_role(Role.ADMIN):
        return sa.true()
    public = (
        sa.select(Call.id)
        .where(Call.programme_id == Programme.id, Call.state != CallState.DRAFT)
        .exists()
    )
    return sa.or_(public, _runs(user, Programme.id))


# --- what the answers hold ---------------------------------------------------------------------


def programme_body(programme: Programme, *, runs: bool) -> dict[str, Any]:
    """The programme with the calls its reader sees (``runs``: the reader is one of its
    officers, who see its draft calls too)."""
    return {
        "id": programme.id,
        "slug": programme.slug,
        "name": programme.name,
        "kind": programme.kind,
        "description": programme.description,
        "total_budget": programme.total_budget,
        "currency": programme.currency,
        "calls": [call for call in programme.calls if runs or call.state != CallState.DRAFT],
    }


def stage_rules(stage: Stage) -> dict[str, Any]:
    call = stage.call
    first, last = stage.budget_years
    return {
        "budget_years": {"first": first, "last": last},
        "max_public_funding_per_proposal": call.max_public_funding_per_proposal,
        "max_public_funding_per_year": call.max_public_funding_per_year,
        "min_private_share": call.min_private_share,
        "funding_rates": {
            kind: Decimal(str(rate)) for kind, rate in (call.funding_rates or {}).items()
        },
        "region_scope": list(call.region_scope or ()),
        "cost_categories": [
            {
                "key": str(c["key"]),
                "name_en": str(c.get("name_en") or c["key"]),
                "name_de": str(c.get("name_de") or ""),
            }
            for c in call.cost_categories or ()
        ],
        "sections": [
            {
                "key": s["key"],
                "title": s["title"],
                "max_chars": int(s["max_chars"]),
                "required": bool(s.get("required", True)),
            }
            for s in stage.required_sections or ()
        ],
        "attachments": [
            {
                "key": a["key"],
                "title": a["title"],
                "required": bool(a.get("required", False)),
                "max_pages": a.get("max_pages"),
                "max_bytes": a.get("max_bytes"),
            }
            for a in stage.attachment_rules or ()
        ],
    }


def stage_body(stage: Stage) -> dict[str, Any]:
    """The stage as ``StageSchema`` reads it: its columns, criteria and rules."""
    return {
        **{name: getattr(stage, name) for name in STAGE_COLUMNS},
        "rules": stage_rules(stage),
    }


def call_body(call: Call) -> dict[str, Any]:
    """The call as ``CallDetailSchema`` reads it, its stages in order."""
    return {
        **{name: getattr(call, name) for name in CALL_COLUMNS},
        "stages": [stage_body(stage) for stage in call.stages],
    }


# --- loading -----------------------------------------------------------------------------------


def _programme_or_404(user: User, programme_id: int) -> Programme:
    programme = db.session.scalar(
        sa.select(Programme)
        .where(Programme.id == programme_id)
        .options(selectinload(Programme.calls))
    )
    if programme is None or not can_see_programme(user, programme):
        raise ApiProblem(404)
    return programme


def _call_or_404(user: User, call_id: int) -> Call:
    call = db.session.scalar(
        sa.select(Call)
        .where(Call.id == call_id)
        .options(selectinload(Call.stages).selectinload(Stage.criteria))
    )
    if call is None or not can_see_call(user, call):
        raise ApiProblem(404)
    return call


def _stage_or_404(user: User, stage_id: int) -> Stage:
    stage = db.session.scalar(
        sa.select(Stage)
        .where(Stage.id == stage_id)
        .options(selectinload(Stage.call), selectinload(Stage.criteria))
    )
    if stage is None or not can_see_call(user, stage.call):
        raise ApiProblem(404)
    return stage


# --- endpoints ---------------------------------------------------------------------------------


@blp.route("/programmes")
@blp.doc(security=TOKEN)
@api_token(ApiArea.PROGRAMMES)
@blp.etag
@blp.arguments(PageArgs, location="query", as_kwargs=True)
@blp.response(200, page_schema(ProgrammeSchema, "ProgrammePage"))
def list_programmes(**args: Any) -> Any:
    """Programmes the caller may see: those with a published or closed call, the ones the
    caller runs as an officer, and every one for administrators."""
    user = api_user()
    page = cursor_page(
        sa.select(Programme).where(visible_programmes(user)).options(selectinload(Programme.calls)),
        Programme.id,
        args,
    )
    # Which of them the caller runs: one query for the page, not one per programme.
    run = (
        set(db.session.scalars(programme_ids_run_by(user.id)))
        if user.has_role(Role.OFFICER)
        else ()
    )
    items = [programme_body(p, runs=p.id in run) for p in page.items]
    return {"items": items, "next_cursor": page.next_cursor}, link_header(page)


@blp.route("/programmes/<int:programme_id>")
@blp.doc(security=TOKEN)
@api_token(ApiArea.PROGRAMMES)
@blp.etag
@blp.response(200, ProgrammeSchema)
def show_programme(programme_id: int) -> Any:
    """A programme with the calls the caller may see."""
    user = api_user()
    programme = _programme_or_404(user, programme_id)
    return programme_body(programme, runs=is_programme_officer(user, programme.id))


@blp.route("/calls")
@blp.doc(security=TOKEN)
@api_token(ApiArea.PROGRAMMES)
@blp.etag
@blp.arguments(CallListArgs, location="query", as_kwargs=True)
@blp.response(200, page_schema(CallSchema, "CallPage"))
def list_calls(**args: Any) -> Any:
    """Published and closed calls, and the draft calls of the programmes the caller runs."""
    user = api_user()
    query = sa.select(Call).where(visible_calls(user))
    if args.get("programme_id") is not None:
        query = query.where(Call.programme_id == args["programme_id"])
    page = cursor_page(query, Call.id, args)
    return page.body(), link_header(page)


@blp.route("/calls/<int:call_id>")
@blp.doc(security=TOKEN)
@api_token(ApiArea.PROGRAMMES)
@blp.etag
@blp.response(200, CallDetailSchema)
def show_call(call_id: int) -> Any:
    """A call with its stages, each with its criteria and the rules submissions must meet."""
    return call_body(_call_or_404(api_user(), call_id))


@blp.route("/stages/<int:stage_id>")
@blp.doc(security=TOKEN)
@api_token(ApiArea.PROGRAMMES)
@blp.etag
@blp.response(200, StageSchema)
def show_stage(stage_id: int) -> Any:
    """One stage of a call the caller may see, with its criteria and rules."""
    return stage_body(_stage_or_404(api_user(), stage_id))
