"""Loading the decision pages: the stage's proposals in the order of the latest ranking with
the line's suggestion and each one's decision, what a bulk proposal or confirmation would
change (the preview steps), and the check that a decision is still the one the confirming
officer looked at.

The previews change nothing; the operations in ``selection.operations`` check everything
again when the officer commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from competition.accounts.models import User
from competition.assignment.queries import HIDDEN_FROM_JURORS, in_stage
from competition.core.decisions import Candidate, Waiting, plan_confirmations, plan_proposals
from competition.errors import DomainError, refuse
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.paging import Page
from competition.programmes.models import Stage
from competition.proposals.models import Proposal
from competition.proposals.queries import name_matches
from competition.selection.models import (
    COMPETITION_OUTCOMES,
    EVALUATION_OUTCOMES,
    Decision,
    Outcome,
    Ranking,
    SnapshotState,
)
from competition.selection.ranking.queries import result_of
from competition.selection.rules.queries import is_last_stage, rules_for

PER_PAGE = 50

OUTCOME_LABELS = {
    Outcome.ADVANCE: _l("Advance to the next stage"),
    Outcome.FUND: _l("Fund"),
    Outcome.RESERVE: _l("Reserve list"),
    Outcome.REJECT: _l("Reject"),
    Outcome.CONTINUE: _l("Continue into the next phase"),
    Outcome.CONTINUE_WITH_CONDITIONS: _l("Continue with conditions"),
    Outcome.STOP: _l("Stop: no further phase"),
}
# The order outcomes are grouped in on the confirmation page.
OUTCOME_ORDER = {outcome: n for n, outcome in enumerate(OUTCOME_LABELS)}


def outcomes_for(stage: Stage) -> list[Outcome]:
    """The outcomes an officer may choose at the stage: at an interim evaluation of funded
    grants whether they continue; funding at a stage that draws the line by budget, advancing
    at the others."""
    if stage.is_evaluation:
        return list(EVALUATION_OUTCOMES)
    try:
        funding = rules_for(stage).funding
    except DomainError:
        return list(COMPETITION_OUTCOMES)
    first = Outcome.FUND if funding else Outcome.ADVANCE
    return [first, Outcome.RESERVE, Outcome.REJECT]


# --- the ranking and the line ---------------------------------------------------------------------


@dataclass(frozen=True)
class Ranked:
    """One proposal's place in a ranking snapshot."""

    rank: int
    score: float
    criterion_means: Mapping[int, float]
    overridden: frozenset[int]


def ranked_rows(ranking: Ranking | None) -> dict[int, Ranked]:
    if ranking is None:
        return {}
    rows = {}
    for row in result_of(ranking).get("proposals", []):
        rows[int(row["proposal_id"])] = Ranked(
            rank=int(row["rank"]),
            score=float(row["score"]),
            criterion_means={int(k): float(v) for k, v in row.get("criterion_means", [])},
            overridden=frozenset(int(c) for c in row.get("overridden", [])),
        )
    return rows


def find_done_ranking(stage: Stage, ranking_id: object) -> Ranking | None:
    """A finished ranking of this stage by id, or None (for ids that come back from a form)."""
    try:
        wanted = int(ranking_id)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        return None
    ranking = db.session.get(Ranking, wanted)
    if ranking is None or ranking.stage_id != stage.id or ranking.state != SnapshotState.DONE:
        return None
    return ranking


@dataclass(frozen=True)
class Suggestions:
    by_proposal: dict[int, Outcome]
    # Why there is no line, in words for the officer; empty when it was drawn.
    problem: str = ""


def line_suggestions(stage: Stage, ranking: Ranking | None) -> Suggestions:
    if stage.is_evaluation:
        return Suggestions(
            {},
            _(
                "An interim evaluation draws no line: choose for each grant whether it "
                "continues, continues with conditions or stops."
            ),
        )
    if ranking is None:
        return Suggestions({}, _("No ranking has been computed yet, so the line suggests nothing."))
    from competition.selection.line.queries import draw_or_why

    line, why = draw_or_why(stage, ranking)
    return Suggestions(dict(line.suggested) if line is not None else {}, why)


# --- the stage's proposals in rank order ---------------------------------------------------------


def stage_proposals_query(stage: Stage) -> sa.Select[Any]:
    """The proposals a decision can be made on: submitted at the stage, still competing."""
    return sa.select(Proposal).where(
        Proposal.call_id == stage.call_id,
        Proposal.state.not_in(HIDDEN_FROM_JURORS),
        in_stage(stage),
    )


def find_stage_proposal(stage: Stage, proposal_id: int) -> Proposal | None:
    return db.session.scalar(stage_proposals_query(stage).where(Proposal.id == proposal_id))


def ranked_order(stage: Stage, ranked: Mapping[int, Ranked], *, q: str = "") -> list[int]:
    """Proposal ids in rank order, the unranked after them by reference."""
    query = stage_proposals_query(stage).with_only_columns(Proposal.id, Proposal.reference)
    if q:
        query = query.where(sa.or_(*name_matches(q)))
    rows = db.session.execute(query).all()
    unranked = len(ranked) + 1

    def key(row: Any) -> tuple[int, str]:
        found = ranked.get(row.id)
        return (found.rank if found else unranked, row.reference)

    return [row.id for row in sorted(rows, key=key)]


def page_of(ids: Sequence[int], page: int, per_page: int | None = None) -> Page[int]:
    per_page = per_page or PER_PAGE
    pages = max(1, -(-len(ids) // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    return Page(list(ids[start : start + per_page]), page=page, per_page=per_page, total=len(ids))


def proposals_by_id(ids: Iterable[int]) -> dict[int, Proposal]:
    """The proposals of ``ids`` in one query."""
    wanted = list(ids)
    if not wanted:
        return {}
    return {p.id: p for p in db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(wanted)))}


# --- the decisions page --------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionRow:
    proposal: Proposal
    ranked: Ranked | None
    suggested: Outcome | None
    decision: Decision | None
    proposed_by: User | None
    confirmed_by: User | None

    @property
    def status(self) -> str:
        """none, proposed, confirmed or published."""
        if self.decision is None:
            return "none"
        if self.decision.published_at is not None:
            return "published"
        if self.decision.confirmed_at is not None:
            return "confirmed"
        return "proposed"

    @property
    def open(self) -> bool:
        """Whether an outcome can still be proposed (nothing confirmed yet)."""
        return self.decision is None or self.decision.confirmed_at is None


def decision_rows(
    stage: Stage,
    proposal_ids: Sequence[int],
    ranked: Mapping[int, Ranked],
    suggestions: Suggestions,
) -> list[DecisionRow]:
    """Rows for the proposals, in the order given, with their decisions and the officers."""
    proposals = proposals_by_id(proposal_ids)
    decisions: dict[int, tuple[Decision, User, User | None]] = {}
    if proposal_ids:
        proposer, confirmer = aliased(User), aliased(User)
        for decision, by, confirmed_by in db.session.execute(
            sa.select(Decision, proposer, confirmer)
            .join(proposer, proposer.id == Decision.proposed_by_id)
            .outerjoin(confirmer, confirmer.id == Decision.confirmed_by_id)
            .where(Decision.stage_id == stage.id, Decision.proposal_id.in_(list(proposal_ids)))
        ):
            decisions[decision.proposal_id] = (decision, by, confirmed_by)
    rows = []
    for proposal_id in proposal_ids:
        decision, by, confirmed_by = decisions.get(proposal_id, (None, None, None))
        rows.append(
            DecisionRow(
                proposal=proposals[proposal_id],
                ranked=ranked.get(proposal_id),
                suggested=suggestions.by_proposal.get(proposal_id),
                decision=decision,
                proposed_by=by,
                confirmed_by=confirmed_by,
            )
        )
    return rows


@dataclass(frozen=True)
class DecisionList:
    ranking: Ranking | None
    suggestions: Suggestions
    rows: Page[DecisionRow]
    # Per outcome, how many proposals the line suggests for it that are still open.
    suggested_open: dict[Outcome, int]
    # Per status (none, proposed, confirmed, published), over the whole stage.
    status_counts: dict[str, int]

    @property
    def total(self) -> int:
        return sum(self.status_counts.values())


def _statuses(stage: Stage) -> dict[int, str]:
    rows = db.session.execute(
        sa.select(Decision.proposal_id, Decision.confirmed_at, Decision.published_at).where(
            Decision.stage_id == stage.id
        )
    ).all()
    return {
        p: "published" if published else "confirmed" if confirmed else "proposed"
        for p, confirmed, published in rows
    }


def decision_list(stage: Stage, *, q: str, page: int) -> DecisionList:
    from competition.selection.ranking.queries import latest_done

    ranking = latest_done(stage)
    ranked = ranked_rows(ranking)
    suggestions = line_suggestions(stage, ranking)
    all_ids = ranked_order(stage, ranked)
    shown = ranked_order(stage, ranked, q=q) if q else all_ids
    paged = page_of(shown, page)
    statuses = _statuses(stage)
    counts = {"none": 0, "proposed": 0, "confirmed": 0, "published": 0}
    for proposal_id in all_ids:
        counts[statuses.get(proposal_id, "none")] += 1
    suggested_open: dict[Outcome, int] = {}
    for proposal_id in all_ids:
        outcome = suggestions.by_proposal.get(proposal_id)
        if outcome is not None and statuses.get(proposal_id, "none") in ("none", "proposed"):
            suggested_open[outcome] = suggested_open.get(outcome, 0) + 1
    return DecisionList(
        ranking=ranking,
        suggestions=suggestions,
        rows=Page(
            decision_rows(stage, paged.items, ranked, suggestions),
            page=paged.page,
            per_page=paged.per_page,
            total=paged.total,
        ),
        suggested_open=suggested_open,
        status_counts=counts,
    )


# --- previewing a bulk proposal ------------------------------------------------------------------


@dataclass(frozen=True)
class ProposalPreview:
    ranking: Ranking | None
    rows: list[DecisionRow]  # what will be proposed, in rank order
    # Suggested by the line but already confirmed, so left out.
    left_out: list[DecisionRow]


def preview_proposals(
    stage: Stage,
    *,
    proposal_ids: Iterable[int],
    suggested: Outcome | None,
    outcome: Outcome,
    rationale: str | None = None,
    conditions: str = "",
) -> ProposalPreview:
    """What proposing ``outcome`` would change: the ticked proposals and, with ``suggested``,
    every open proposal the line suggests for that outcome. Raises what ``propose_decisions``
    would raise for the same choice (the same plan decides), at the field concerned."""
    from competition.selection.ranking.queries import latest_done

    ranking = latest_done(stage)
    ranked = ranked_rows(ranking)
    suggestions = line_suggestions(stage, ranking) if suggested else Suggestions({})
    ticked = set(proposal_ids)
    lined = {p for p, o in suggestions.by_proposal.items() if o == suggested}
    order = [p for p in ranked_order(stage, ranked) if p in ticked or p in lined]
    rows = {r.proposal.id: r for r in decision_rows(stage, order, ranked, suggestions)}
    plan = plan_proposals(
        [Candidate(pid, rows[pid].proposal.reference, not rows[pid].open) for pid in order],
        ticked,
        suggested=lined,
        outcome=outcome.value,
        last_stage=stage.name if is_last_stage(stage) else "",
        rationale=rationale,
        evaluation=stage.is_evaluation,
        conditions=conditions,
    )
    refuse(plan.problems)
    return ProposalPreview(
        ranking=ranking,
        rows=[rows[pid] for pid in plan.chosen],
        left_out=[rows[pid] for pid in plan.left_out],
    )


# --- confirmations --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PendingRow:
    decision: Decision
    proposal: Proposal
    proposed_by: User
    ranked: Ranked | None
    # The viewer proposed it, so the viewer cannot confirm it.
    mine: bool

    @property
    def version(self) -> str:
        """What the confirming officer saw: a new proposal of the decision changes it."""
        return version_of(self.decision.id, self.decision.proposed_at)


def version_of(decision_id: int, proposed_at: dt.datetime) -> str:
    return f"{decision_id}@{proposed_at.isoformat()}"


@dataclass(frozen=True)
class Pending:
    rows: Page[PendingRow]
    # The page's rows by outcome, in the order of OUTCOME_LABELS.
    groups: list[tuple[Outcome, list[PendingRow]]]
    total: int
    confirmable: int


def _pending(stage: Stage, *, viewer: User, ids: Iterable[int] | None = None) -> list[PendingRow]:
    from competition.selection.ranking.queries import latest_done

    query = (
        sa.select(Decision, Proposal, User)
        .join(Proposal, Proposal.id == Decision.proposal_id)
        .join(User, User.id == Decision.proposed_by_id)
        .where(Decision.stage_id == stage.id, Decision.confirmed_at.is_(None))
    )
    if ids is not None:
        query = query.where(Decision.id.in_(list(ids)))
    ranked = ranked_rows(latest_done(stage))
    rows = [
        PendingRow(d, p, u, ranked.get(p.id), mine=d.proposed_by_id == viewer.id)
        for d, p, u in db.session.execute(query)
    ]
    unranked = len(ranked) + 1
    rows.sort(
        key=lambda r: (
            OUTCOME_ORDER[r.decision.outcome],
            r.ranked.rank if r.ranked else unranked,
            r.proposal.reference,
        )
    )
    return rows


def pending_confirmations(stage: Stage, *, viewer: User, page: int) -> Pending:
    rows = _pending(stage, viewer=viewer)
    paged = page_of(list(range(len(rows))), page)
    shown = [rows[i] for i in paged.items]
    groups: list[tuple[Outcome, list[PendingRow]]] = []
    for row in shown:
        if not groups or groups[-1][0] != row.decision.outcome:
            groups.append((row.decision.outcome, []))
        groups[-1][1].append(row)
    return Pending(
        rows=Page(shown, page=paged.page, per_page=paged.per_page, total=paged.total),
        groups=groups,
        total=len(rows),
        confirmable=sum(1 for r in rows if not r.mine),
    )


def preview_confirmations(
    stage: Stage, *, viewer: User, decision_ids: Iterable[int] | None
) -> list[PendingRow]:
    """The decisions a confirmation would confirm: those chosen, or (``None``) every one the
    viewer may confirm. Raises what ``confirm_decisions`` would raise for the same choice (the
    same plan decides)."""
    wanted = None if decision_ids is None else set(decision_ids)
    rows = _pending(stage, viewer=viewer, ids=wanted)
    waiting = [
        Waiting(
            r.decision.id, r.proposal.reference, r.decision.proposed_by_id, r.decision.proposed_at
        )
        for r in rows
    ]
    plan = plan_confirmations(waiting, wanted, viewer=viewer.id)
    refuse(plan.problems)
    chosen = set(plan.chosen)
    return [r for r in rows if r.decision.id in chosen]


def _version(text: str) -> tuple[int, dt.datetime] | None:
    head, _, at = text.partition("@")
    try:
        return int(head), dt.datetime.fromisoformat(at)
    except ValueError:
        return None


def seen_versions(versions: Iterable[str]) -> dict[int, dt.datetime]:
    """The decisions of ``versions`` (as ``PendingRow.version`` wrote them) with the
    ``proposed_at`` the officer was shown, for ``confirm_decisions(seen=...)``."""
    parsed = [_version(text) for text in versions]
    if not parsed or None in parsed:
        raise DomainError(_("Choose at least one decision to confirm."), field="decisions")
    return dict(p for p in parsed if p is not None)


def version_ids(versions: Iterable[str]) -> list[int]:
    """The decisions ``versions`` name, those that can be read, to keep them ticked on a page
    shown again with a refusal."""
    return [p[0] for p in map(_version, versions) if p is not None]
