"""Rankings, the line and decisions of a stage, for the officers who run its programme (scope
``selection:read``). Read only: decisions are proposed and confirmed by two officers on the
pages (four eyes), never through the API.

What each endpoint shows is what the selection pages show officers, read by the same queries:
a finished ranking's parsed result (``ranking.queries.result_of``, kept per process), the line
as ``line.queries.draw_or_why`` draws it for the line page (kept per process by the
fingerprint of its inputs), decisions with the officers who proposed and confirmed them. A
ranking's and a line's rows are cursor-paged by rank, so a call of 20,000 proposals is read in
pages of at most 200."""

from __future__ import annotations

from collections import Counter
from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, fields, validate
from sqlalchemy.orm import defer

from competition.accounts.queries import names_of
from competition.api import API_PREFIX, ApiBlueprint
from competition.api.auth import api_token
from competition.api.models import ApiArea
from competition.api.paging import PageArgs, cursor_page, link_header, page_of, page_schema
from competition.api.schemas import Amount
from competition.api.stage_officers import (
    LINK_HEADER,
    NamedPersonSchema,
    NamedProposalSchema,
    in_english,
    may_see,
    not_found,
    officer_stage,
    person,
)
from competition.core import line as standing
from competition.extensions import db
from competition.i18n import say
from competition.jobs import operations as jobs
from competition.programmes.models import Stage
from competition.proposals.models import Proposal
from competition.reviews.queries import find_stage
from competition.selection.line import queries as line_queries
from competition.selection.models import (
    Decision,
    DecisionState,
    Outcome,
    Ranking,
    RankingMethod,
    SnapshotState,
)
from competition.selection.ranking import queries as ranking_queries
from competition.selection.rules.queries import stored_rules

blp = ApiBlueprint(
    "api_selection",
    __name__,
    url_prefix=API_PREFIX,
    description="Rankings, the funding line and decisions of a stage, for its programme's officers",
)

GROUPS = (
    standing.SELECTED,
    standing.SKIPPED,
    standing.RESERVE,
    standing.NOT_SELECTED,
    standing.OUT,
)


def _references(ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    return dict(
        db.session.execute(
            sa.select(Proposal.id, Proposal.reference).where(Proposal.id.in_(ids))
        ).all()
    )


def _proposal(proposal_id: int, references: dict[int, str]) -> dict[str, Any]:
    # A proposal deleted since the ranking keeps its place, without a reference.
    return {"id": proposal_id, "reference": references.get(proposal_id, "")}


def _stage_of(found: Ranking | Decision | None) -> Stage:
    """The stage of a ranking or decision, for an officer who runs its programme; 404 for
    anyone else, as for a missing one."""
    stage = find_stage(found.stage_id) if found is not None else None
    if stage is None or not may_see(stage):
        raise not_found()
    return stage


# --- rankings -----------------------------------------------------------------------------------


class RankingSchema(Schema):
    id = fields.Integer(required=True)
    stage_id = fields.Integer(required=True)
    method = fields.String(required=True, validate=validate.OneOf([m.value for m in RankingMethod]))
    state = fields.String(required=True, validate=validate.OneOf([s.value for s in SnapshotState]))
    interrupted = fields.Boolean(
        required=True,
        metadata={"description": "still queued or running, but its worker stopped answering"},
    )
    message = fields.String(required=True, metadata={"description": "the job's last word"})
    created_by = fields.Nested(NamedPersonSchema, required=True)
    created_at = fields.DateTime(required=True)
    finished_at = fields.DateTime(required=True, allow_none=True)
    inputs_hash = fields.String(
        required=True, allow_none=True, metadata={"description": "SHA-256 of every input"}
    )
    code_version = fields.String(required=True)


class ScoreInterval(Schema):
    low = fields.Float(required=True)
    high = fields.Float(required=True)


class RankInterval(Schema):
    low = fields.Integer(required=True)
    high = fields.Integer(required=True)


class CriterionMeanSchema(Schema):
    criterion_id = fields.Integer(required=True)
    mean = fields.Float(required=True)
    spread = fields.Float(required=True, allow_none=True)
    consensus = fields.Boolean(
        required=True, metadata={"description": "the panel's consensus score replaced the mean"}
    )


class RankingRowSchema(Schema):
    proposal = fields.Nested(NamedProposalSchema, required=True)
    rank = fields.Integer(required=True)
    expected_rank = fields.Float(required=True)
    rank_interval = fields.Nested(RankInterval, required=True)
    score = fields.Float(required=True)
    score_interval = fields.Nested(ScoreInterval, required=True)
    weighted_total = fields.Float(required=True)
    n_reviews = fields.Integer(required=True)
    criteria = fields.List(fields.Nested(CriterionMeanSchema), required=True)
    fundable = fields.Boolean(required=True, metadata={"description": "meets every threshold"})
    below_thresholds = fields.List(
        fields.String(), required=True, metadata={"description": "thresholds missed"}
    )
    flags = fields.List(
        fields.String(),
        required=True,
        metadata={
            "description": "'few reviews', 'disagreement', 'outlier juror <juror id>', as the "
            "ranking recorded them"
        },
    )
    outlier_jurors = fields.List(fields.Integer(), required=True)
    tie_broken_by = fields.String(
        required=True, allow_none=True, metadata={"description": "the rule that broke a tie"}
    )


class RankingDetailSchema(RankingSchema):
    parameters = fields.Dict(required=True, metadata={"description": "what the method used"})
    options = fields.Dict(required=True)
    proposals = fields.Integer(required=True, metadata={"description": "how many were ranked"})
    items = fields.List(
        fields.Nested(RankingRowSchema),
        required=True,
        metadata={"description": "this page of the ranked proposals, in rank order"},
    )
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "pass as ?cursor= for the next rows; null at the end"},
    )


def _ranking(ranking: Ranking, names: dict[int, str]) -> dict[str, Any]:
    with in_english():
        message = say(jobs.DEAD if jobs.is_dead(ranking.job) else ranking.message)
    return {
        "id": ranking.id,
        "stage_id": ranking.stage_id,
        "method": ranking.method.value,
        "state": ranking.state.value,
        "interrupted": jobs.is_dead(ranking.job),
        "message": message,
        "created_by": person(ranking.created_by_id, names),
        "created_at": ranking.created_at,
        "finished_at": ranking.finished_at,
        "inputs_hash": ranking.inputs_hash,
        "code_version": ranking.code_version,
    }


def _ranking_row(row: dict[str, Any], references: dict[int, str]) -> dict[str, Any]:
    spreads = dict((k, v) for k, v in row["criterion_spreads"])
    overridden = set(row.get("overridden", []))
    low, high = row["score_interval"]
    rank_low, rank_high = row["rank_interval"]
    return {
        "proposal": _proposal(row["proposal_id"], references),
        "rank": row["rank"],
        "expected_rank": row["expected_rank"],
        "rank_interval": {"low": rank_low, "high": rank_high},
        "score": row["score"],
        "score_interval": {"low": low, "high": high},
        "weighted_total": row["weighted_total"],
        "n_reviews": row["n_reviews"],
        "criteria": [
            {
                "criterion_id": key,
                "mean": mean,
                "spread": spreads.get(key),
                "consensus": key in overridden,
            }
            for key, mean in row["criterion_means"]
        ],
        "fundable": row["fundable"],
        "below_thresholds": list(row.get("below_thresholds", [])),
        "flags": list(row.get("flags", [])),
        "outlier_jurors": list(row.get("outlier_jurors", [])),
        "tie_broken_by": row.get("tie_broken_by"),
    }


@blp.route("/stages/<int:stage_id>/rankings")
@blp.doc(security=[{"token": []}])
@blp.etag
@api_token(ApiArea.SELECTION)
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(RankingSchema, "RankingPage"), headers=LINK_HEADER)
def stage_rankings(args: dict[str, Any], stage_id: int) -> Any:
    """The stage's rankings, oldest first, whatever their state."""
    stage = officer_stage(stage_id)
    page = cursor_page(sa.select(Ranking).where(Ranking.stage_id == stage.id), Ranking.id, args)
    names = names_of([r.created_by_id for r in page.items])
    items = [_ranking(r, names) for r in page.items]
    return {"items": items, "next_cursor": page.next_cursor}, link_header(page)


@blp.route("/rankings/<int:ranking_id>")
@blp.doc(security=[{"token": []}])
@blp.etag
@api_token(ApiArea.SELECTION)
@blp.arguments(PageArgs, location="query")
@blp.response(200, RankingDetailSchema, headers=LINK_HEADER)
def ranking(args: dict[str, Any], ranking_id: int) -> Any:
    """A ranking with its parameters and, once finished, its proposals in rank order.

    The rows are paged by rank (``limit``, ``cursor``); a ranking that has not finished has
    none."""
    found = db.session.get(Ranking, ranking_id)
    _stage_of(found)
    assert found is not None  # _stage_of refused a missing one
    body = _ranking(found, names_of([found.created_by_id]))
    rows: list[dict[str, Any]] = []
    result: dict[str, Any] = {}
    if found.state == SnapshotState.DONE:
        result = ranking_queries.result_of(found)
        rows = result.get("proposals", [])
    page = page_of(rows, lambda row: row["rank"], args)
    references = _references([row["proposal_id"] for row in page.items])
    body.update(
        parameters=dict(result.get("parameters", {})),
        options=dict(result.get("options", {})),
        proposals=len(rows),
        items=[_ranking_row(row, references) for row in page.items],
        next_cursor=page.next_cursor,
    )
    return body, link_header(page)


# --- the line -----------------------------------------------------------------------------------


class LineBudgetSchema(Schema):
    """Where a funding line's money comes from, as the line page shows it."""

    programme_total = Amount(required=True)
    programme_elsewhere = Amount(
        required=True, metadata={"description": "committed at the programme's other stages"}
    )
    envelope = Amount(
        required=True, allow_none=True, metadata={"description": "the round's own envelope"}
    )
    call_elsewhere = Amount(
        required=True,
        allow_none=True,
        metadata={"description": "committed at the round's other stages (with an envelope)"},
    )
    limited_by_envelope = fields.Boolean(required=True)
    available = Amount(required=True, metadata={"description": "what this line may spend"})
    committed = Amount(required=True, metadata={"description": "what this line spends"})
    remaining = Amount(required=True, metadata={"description": "left after this line"})


class LineConstraintSchema(Schema):
    constraint = fields.String(required=True, metadata={"description": "the constraint in words"})
    attribute = fields.String(required=True)
    minimum = fields.Integer(required=True)
    maximum = fields.Integer(required=True, allow_none=True)
    met = fields.Boolean(required=True)
    funded_count = fields.Integer(required=True)
    places = fields.Integer(required=True, metadata={"description": "what it cost in places"})
    message = fields.String(required=True)


class LotterySchema(Schema):
    """The draw recorded among the grey zone, with what anyone needs to re-run it."""

    id = fields.Integer(required=True)
    ranking_id = fields.Integer(required=True, allow_none=True)
    seed = fields.String(required=True, metadata={"description": "fixed in the rules in advance"})
    places = fields.Integer(required=True)
    candidates = fields.List(fields.String(), required=True, metadata={"description": "references"})
    drawn = fields.List(fields.String(), required=True, metadata={"description": "references"})
    skipped = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "drawn, but not fitting the money left"},
    )
    drawn_at = fields.DateTime(required=True)
    drawn_by = fields.Nested(NamedPersonSchema, required=True)
    record = fields.Dict(
        required=True,
        metadata={
            "description": "the record as published: 'flask selection verify-draw' re-runs it"
        },
    )


class DrawPlanSchema(Schema):
    """What a draw among the grey zone would hand out, before it is made (null once a draw is
    recorded, or where the rules provide for none)."""

    seed = fields.String(required=True)
    places = fields.Integer(required=True)
    candidates = fields.List(fields.Nested(NamedProposalSchema), required=True)
    budget = Amount(required=True, allow_none=True)


class LineRowSchema(Schema):
    proposal = fields.Nested(NamedProposalSchema, required=True)
    rank = fields.Integer(required=True)
    expected_rank = fields.Float(required=True)
    score = fields.Float(required=True)
    score_interval = fields.Nested(ScoreInterval, required=True)
    rank_interval = fields.Nested(RankInterval, required=True)
    requested = Amount(
        required=True, metadata={"description": "public funding requested at the stage"}
    )
    attributes = fields.List(
        fields.String(),
        required=True,
        metadata={"description": "what constraints count: 'eastern', 'sme', 'region:east', …"},
    )
    fundable = fields.Boolean(required=True)
    below_thresholds = fields.List(fields.String(), required=True)
    group = fields.String(required=True, validate=validate.OneOf(GROUPS))
    suggested = fields.String(
        required=True,
        allow_none=True,
        validate=validate.OneOf([o.value for o in Outcome]),
        metadata={"description": "null for a proposal no longer in the competition"},
    )
    why = fields.String(
        required=True, allow_none=True, metadata={"description": "why it is not selected"}
    )
    in_grey_zone = fields.Boolean(required=True)
    drawn = fields.Boolean(required=True, metadata={"description": "won the recorded draw"})


class LineCountsSchema(Schema):
    selected = fields.Integer(required=True)
    skipped = fields.Integer(required=True)
    reserve = fields.Integer(required=True)
    not_selected = fields.Integer(required=True)
    out = fields.Integer(
        required=True, metadata={"description": "withdrawn or out since the ranking"}
    )


class LineSchema(Schema):
    stage_id = fields.Integer(required=True)
    ranking_id = fields.Integer(
        required=True, allow_none=True, metadata={"description": "the newest finished ranking"}
    )
    drawn = fields.Boolean(required=True)
    problem = fields.String(
        required=True, allow_none=True, metadata={"description": "why no line is drawn"}
    )
    funding = fields.Boolean(
        required=True,
        allow_none=True,
        metadata={"description": "true: drawn by budget; false: by the stage's target"},
    )
    line_method = fields.String(
        required=True, allow_none=True, metadata={"description": "'merit' or 'optimal' (budget)"}
    )
    target = fields.Integer(required=True, allow_none=True)
    line_rank = fields.Integer(
        required=True, allow_none=True, metadata={"description": "the line lies below this rank"}
    )
    currency = fields.String(required=True)
    budget = fields.Nested(LineBudgetSchema, required=True, allow_none=True)
    notes = fields.List(fields.String(), required=True)
    infeasible = fields.List(
        fields.String(), required=True, metadata={"description": "constraints never to be met"}
    )
    constraints = fields.List(fields.Nested(LineConstraintSchema), required=True)
    counts = fields.Nested(LineCountsSchema, required=True, allow_none=True)
    grey_zone = fields.List(fields.Nested(NamedProposalSchema), required=True)
    lottery = fields.Nested(LotterySchema, required=True, allow_none=True)
    draw_plan = fields.Nested(DrawPlanSchema, required=True, allow_none=True)
    items = fields.List(
        fields.Nested(LineRowSchema),
        required=True,
        metadata={"description": "this page of the line's rows, in rank order"},
    )
    next_cursor = fields.String(
        required=True,
        allow_none=True,
        metadata={"description": "pass as ?cursor= for the next rows; null at the end"},
    )


NO_RANKING = "No ranking of this stage has finished yet: there is no line."


def _budget(stage: Stage, line: line_queries.Line) -> dict[str, Any] | None:
    if line.budget is None:
        return None
    sources = line_queries.budget_sources(stage)
    return {
        "programme_total": sources.programme_total,
        "programme_elsewhere": sources.programme_elsewhere,
        "envelope": sources.envelope,
        "call_elsewhere": sources.call_elsewhere if sources.envelope is not None else None,
        "limited_by_envelope": sources.limited_by_envelope,
        "available": line.budget,
        "committed": line.committed,
        "remaining": line.budget - line.committed,
    }


def _lottery(line: line_queries.Line) -> dict[str, Any] | None:
    record = line.lottery
    if record is None:
        return None
    drawn = record.record
    return {
        "id": record.id,
        "ranking_id": record.ranking_id,
        "seed": record.seed,
        "places": drawn.get("places", 0),
        "candidates": [str(ref) for ref in drawn.get("candidates", [])],
        "drawn": [str(ref) for ref in drawn.get("drawn", [])],
        "skipped": [str(ref) for ref in drawn.get("skipped", [])],
        "drawn_at": record.created_at,
        "drawn_by": person(record.created_by_id, names_of([record.created_by_id])),
        "record": line_queries.export_record(record),
    }


def _line_row(row: line_queries.LineRow) -> dict[str, Any]:
    return {
        "proposal": {"id": row.proposal_id, "reference": row.reference},
        "rank": row.rank,
        "expected_rank": row.expected_rank,
        "score": row.score,
        "score_interval": {"low": row.score_interval[0], "high": row.score_interval[1]},
        "rank_interval": {"low": row.rank_interval[0], "high": row.rank_interval[1]},
        "requested": row.requested,
        "attributes": sorted(row.attributes),
        "fundable": row.fundable,
        "below_thresholds": list(row.below_thresholds),
        "group": row.group,
        "suggested": row.suggested.value if row.suggested is not None else None,
        "why": say(row.why, capital=True) if row.why is not None else None,
        "in_grey_zone": row.in_grey_zone,
        "drawn": row.drawn,
    }


@blp.route("/stages/<int:stage_id>/line")
@blp.doc(security=[{"token": []}])
@blp.etag
@api_token(ApiArea.SELECTION)
@blp.arguments(PageArgs, location="query")
@blp.response(200, LineSchema, headers=LINK_HEADER)
def stage_line(args: dict[str, Any], stage_id: int) -> Any:
    """The line the newest finished ranking gives under the stage's rules, as the line page
    shows it: by target or by budget (with where the money comes from), each proposal's
    place and why, the constraints and what they cost, the grey zone and its draw by lot.

    Nothing here is decided: decisions are proposed and confirmed on the pages. The rows are
    paged by rank (``limit``, ``cursor``); everything else comes with every page."""
    stage = officer_stage(stage_id)
    currency = stage.call.programme.currency
    finished = ranking_queries.latest_done(stage)
    with in_english():
        line, problem = line_queries.draw_or_why(stage, finished)
        if line is None:
            page = page_of([], lambda row: row.rank, args)
            body: dict[str, Any] = {
                "stage_id": stage.id,
                "ranking_id": finished.id if finished is not None else None,
                "drawn": False,
                "problem": problem or NO_RANKING,
                "funding": None,
                "line_method": None,
                "target": stage.selection_target,
                "line_rank": None,
                "currency": currency,
                "budget": None,
                "notes": [],
                "infeasible": [],
                "constraints": [],
                "counts": None,
                "grey_zone": [],
                "lottery": None,
                "draw_plan": None,
            }
        else:
            page = page_of(line.rows, lambda row: row.rank, args)
            body = _drawn(stage, line, currency)
        body.update(items=[_line_row(row) for row in page.items], next_cursor=page.next_cursor)
    return body, link_header(page)


def _drawn(stage: Stage, line: line_queries.Line, currency: str) -> dict[str, Any]:
    rules, _problem = stored_rules(stage)
    references = {row.proposal_id: row.reference for row in line.rows}
    counts = Counter(row.group for row in line.rows)
    # What a draw would hand out matters only until it is made; then the record says it.
    plan = line.draw_plan if line.lottery is None else None
    return {
        "stage_id": stage.id,
        "ranking_id": line.ranking_id,
        "drawn": True,
        "problem": None,
        "funding": line.funding,
        "line_method": rules.line_method if line.funding and rules is not None else None,
        "target": line.target,
        "line_rank": line.line_rank,
        "currency": currency,
        "budget": _budget(stage, line),
        "notes": [say(note) for note in line.notes],
        "infeasible": [say(reason) for reason in line.infeasible],
        "constraints": [
            {
                "constraint": say(report.constraint.heading()),
                "attribute": report.constraint.attribute,
                "minimum": report.constraint.count,
                "maximum": report.constraint.maximum,
                "met": report.met,
                "funded_count": report.funded_count,
                "places": report.places,
                "message": say(report.message),
            }
            for report in line.constraint_reports
        ],
        "counts": {group: counts.get(group, 0) for group in GROUPS},
        "grey_zone": [_proposal(pid, references) for pid in line.grey_zone],
        "lottery": _lottery(line),
        "draw_plan": None
        if plan is None
        else {
            "seed": plan.seed,
            "places": plan.places,
            "candidates": [_proposal(pid, references) for pid in plan.candidates],
            "budget": plan.budget,
        },
    }


# --- decisions ----------------------------------------------------------------------------------


class DecisionSchema(Schema):
    id = fields.Integer(required=True)
    stage_id = fields.Integer(required=True)
    proposal = fields.Nested(NamedProposalSchema, required=True)
    outcome = fields.String(required=True, validate=validate.OneOf([o.value for o in Outcome]))
    state = fields.String(required=True, validate=validate.OneOf([s.value for s in DecisionState]))
    rationale = fields.String(required=True)
    conditions = fields.String(
        required=True, metadata={"description": "of 'continue with conditions'; else empty"}
    )
    ranking_id = fields.Integer(required=True, allow_none=True)
    proposed_by = fields.Nested(NamedPersonSchema, required=True)
    proposed_at = fields.DateTime(required=True)
    confirmed_by = fields.Nested(
        NamedPersonSchema,
        required=True,
        allow_none=True,
        metadata={"description": "the second officer (four eyes)"},
    )
    confirmed_at = fields.DateTime(required=True, allow_none=True)
    published_at = fields.DateTime(required=True, allow_none=True)
    letter_id = fields.Integer(
        required=True,
        allow_none=True,
        metadata={
            "description": "the published letter (/proposals/{proposal_id}/letters/{letter_id})"
        },
    )


class DecisionListArgs(PageArgs):
    state = fields.String(
        load_default=None, validate=validate.OneOf([s.value for s in DecisionState])
    )
    outcome = fields.String(load_default=None, validate=validate.OneOf([o.value for o in Outcome]))


def _without_letters() -> sa.Select[tuple[Decision]]:
    # A letter is frozen on its decision (scores, every comment to the applicant): only whether
    # there is one is shown here.
    return sa.select(Decision).options(defer(Decision.letter))


def _decisions(decisions: list[Decision]) -> list[dict[str, Any]]:
    """The decisions with their proposals' references, officers' names and letters, in at most
    three queries."""
    references = _references([d.proposal_id for d in decisions])
    published = [d.id for d in decisions if d.published_at is not None]
    lettered = (
        set(
            db.session.scalars(
                sa.select(Decision.id).where(
                    Decision.id.in_(published), Decision.letter.is_not(None)
                )
            )
        )
        if published
        else set()
    )
    names = names_of(
        [d.proposed_by_id for d in decisions]
        + [d.confirmed_by_id for d in decisions if d.confirmed_by_id is not None]
    )
    return [
        {
            "id": d.id,
            "stage_id": d.stage_id,
            "proposal": _proposal(d.proposal_id, references),
            "outcome": d.outcome.value,
            "state": d.state.value,
            "rationale": d.rationale,
            "conditions": d.conditions,
            "ranking_id": d.ranking_id,
            "proposed_by": person(d.proposed_by_id, names),
            "proposed_at": d.proposed_at,
            "confirmed_by": person(d.confirmed_by_id, names),
            "confirmed_at": d.confirmed_at,
            "published_at": d.published_at,
            "letter_id": d.id if d.id in lettered else None,
        }
        for d in decisions
    ]


@blp.route("/stages/<int:stage_id>/decisions")
@blp.doc(security=[{"token": []}])
@blp.etag
@api_token(ApiArea.SELECTION)
@blp.arguments(DecisionListArgs, location="query")
@blp.response(200, page_schema(DecisionSchema, "DecisionPage"), headers=LINK_HEADER)
def stage_decisions(args: dict[str, Any], stage_id: int) -> Any:
    """The stage's decisions, oldest first: proposed, confirmed by a second officer, or
    published."""
    stage = officer_stage(stage_id)
    query = _without_letters().where(Decision.stage_id == stage.id)
    if args.get("state"):
        query = query.where(Decision.state == DecisionState(args["state"]))
    if args.get("outcome"):
        query = query.where(Decision.outcome == Outcome(args["outcome"]))
    page = cursor_page(query, Decision.id, args)
    items = _decisions(list(page.items))
    return {"items": items, "next_cursor": page.next_cursor}, link_header(page)


@blp.route("/decisions/<int:decision_id>")
@blp.doc(security=[{"token": []}])
@blp.etag
@api_token(ApiArea.SELECTION)
@blp.response(200, DecisionSchema)
def decision(decision_id: int) -> Any:
    """One decision: its outcome, state, rationale, who proposed and confirmed it, and when."""
    found = db.session.scalar(_without_letters().where(Decision.id == decision_id))
    _stage_of(found)
    assert found is not None  # _stage_of refused a missing one
    return _decisions([found])[0]
