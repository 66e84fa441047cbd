"""What the panel pages show: the ranking with notes, consensus scores and the jurors absent
because of a conflict of interest; one proposal's reviews per juror.

A juror with a conflict of interest on a proposal is absent from its discussion: the pages
name them as absent and never show a review of theirs, as the ranking never counts one."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment.models import Assignment, Conflict, JuryMembership, MembershipState
from competition.core import scoring
from competition.extensions import db
from competition.i18n import say
from competition.paging import Page
from competition.programmes.models import Criterion, Stage
from competition.proposals.models import Proposal
from competition.reviews.models import Review
from competition.selection.decisions import queries as decisions_queries
from competition.selection.models import ConsensusScore, PanelNote, Ranking
from competition.selection.ranking.queries import counted_reviews, latest_done


def scoring_criterion(criterion: Criterion) -> scoring.Criterion:
    return scoring.Criterion(
        key=str(criterion.id),
        name=criterion.name,
        weight=criterion.weight,
        scale_min=criterion.scale_min,
        scale_max=criterion.scale_max,
        step=criterion.scale_step,
    )


def _stage_jurors(stage: Stage) -> sa.Select[tuple[int]]:
    """The stage's jurors: those on the call's jury and any juror assigned at the stage."""
    return sa.union(
        sa.select(JuryMembership.user_id).where(
            JuryMembership.call_id == stage.call_id,
            JuryMembership.state == MembershipState.ACCEPTED,
        ),
        sa.select(Assignment.user_id).where(Assignment.stage_id == stage.id),
    )  # type: ignore[return-value]


def absent_jurors(stage: Stage, proposal_ids: Sequence[int]) -> dict[int, list[User]]:
    """Per proposal, the stage's jurors with a conflict of interest on it, by name."""
    if not proposal_ids:
        return {}
    rows = db.session.execute(
        sa.select(Conflict.proposal_id, User)
        .join(User, User.id == Conflict.user_id)
        .where(
            Conflict.proposal_id.in_(list(proposal_ids)),
            Conflict.user_id.in_(_stage_jurors(stage)),
        )
        .order_by(User.name, User.id)
    ).all()
    absent: dict[int, list[User]] = defaultdict(list)
    for proposal_id, user in rows:
        if user not in absent[proposal_id]:  # one conflict may come from several sources
            absent[proposal_id].append(user)
    return absent


@dataclass(frozen=True)
class ConsensusLine:
    criterion: Criterion
    consensus: ConsensusScore
    recorded_by: User
    # The latest ranking already uses this score.
    in_ranking: bool

    @property
    def score(self) -> str:
        return scoring.plain(self.consensus.score)


def _consensus(
    stage: Stage, proposal_ids: Sequence[int], ranked: dict[int, decisions_queries.Ranked]
) -> dict[int, list[ConsensusLine]]:
    if not proposal_ids:
        return {}
    criteria = {c.id: c for c in stage.criteria}
    lines: dict[int, list[ConsensusLine]] = defaultdict(list)
    for row, user in db.session.execute(
        sa.select(ConsensusScore, User)
        .join(User, User.id == ConsensusScore.recorded_by_id)
        .where(
            ConsensusScore.stage_id == stage.id,
            ConsensusScore.proposal_id.in_(list(proposal_ids)),
        )
    ):
        found = ranked.get(row.proposal_id)
        in_ranking = (
            found is not None
            and row.criterion_id in found.overridden
            and found.criterion_means.get(row.criterion_id) == float(row.score)
        )
        lines[row.proposal_id].append(
            ConsensusLine(criteria[row.criterion_id], row, user, in_ranking)
        )
    for found_lines in lines.values():
        found_lines.sort(key=lambda line: line.criterion.position)
    return lines


@dataclass(frozen=True)
class PanelRow:
    proposal: Proposal
    ranked: decisions_queries.Ranked | None
    notes: int
    consensus: list[ConsensusLine]
    absent: list[User]


@dataclass(frozen=True)
class PanelList:
    ranking: Ranking | None
    rows: Page[PanelRow]


def panel_list(stage: Stage, *, q: str, page: int) -> PanelList:
    """The stage's proposals in the order of the latest ranking (the unranked after them)."""

    ranking = latest_done(stage)
    ranked = decisions_queries.ranked_rows(ranking)
    paged = decisions_queries.page_of(decisions_queries.ranked_order(stage, ranked, q=q), page)
    ids = list(paged.items)
    proposals = decisions_queries.proposals_by_id(ids)
    notes: dict[int, int] = (
        dict(
            db.session.execute(  # type: ignore[arg-type]
                sa.select(PanelNote.proposal_id, sa.func.count())
                .where(PanelNote.stage_id == stage.id, PanelNote.proposal_id.in_(ids))
                .group_by(PanelNote.proposal_id)
            ).all()
        )
        if ids
        else {}
    )
    consensus = _consensus(stage, ids, ranked)
    absent = absent_jurors(stage, ids)
    rows = [
        PanelRow(
            proposal=proposals[p],
            ranked=ranked.get(p),
            notes=notes.get(p, 0),
            consensus=consensus.get(p, []),
            absent=absent.get(p, []),
        )
        for p in ids
    ]
    return PanelList(
        ranking=ranking,
        rows=Page(rows, page=paged.page, per_page=paged.per_page, total=paged.total),
    )


@dataclass(frozen=True)
class ReviewLine:
    juror: User
    scores: list[str]  # in the criteria's order, as the juror gave them
    confidence: int | None
    comment_for_jury: str
    comment_for_applicant: str
    submitted_at: dt.datetime | None


@dataclass(frozen=True)
class CriterionLine:
    criterion: Criterion
    scale: str  # "use steps of 0.5 between 0 and 5"
    mean: str | None  # of the reviews shown, two decimals
    consensus: ConsensusLine | None


@dataclass(frozen=True)
class PanelDetail:
    proposal: Proposal
    ranking: Ranking | None
    ranked: decisions_queries.Ranked | None
    criteria: list[CriterionLine]
    reviews: list[ReviewLine]
    notes: list[tuple[PanelNote, User]]
    absent: list[User]


def panel_detail(stage: Stage, proposal: Proposal) -> PanelDetail:
    """One proposal for the panel: the submitted reviews of live assignments (never one of a
    juror with a conflict, as in the ranking), the criteria with means and consensus scores,
    the notes, and who is absent."""

    ranking = latest_done(stage)
    ranked = decisions_queries.ranked_rows(ranking)
    found = db.session.execute(
        sa.select(Review, User)
        .join(Assignment, Assignment.id == Review.assignment_id)
        .join(User, User.id == Assignment.user_id)
        .where(*counted_reviews(stage), Assignment.proposal_id == proposal.id)
        .order_by(User.name, User.id)
    ).all()
    criteria = list(stage.criteria)
    reviews = [
        ReviewLine(
            juror=user,
            scores=[str((review.scores or {}).get(str(c.id), "–")) for c in criteria],
            confidence=review.confidence,
            comment_for_jury=review.comment_for_jury,
            comment_for_applicant=review.comment_for_applicant,
            submitted_at=review.submitted_at,
        )
        for review, user in found
    ]
    consensus = {
        line.criterion.id: line
        for line in _consensus(stage, [proposal.id], ranked).get(proposal.id, [])
    }
    lines = []
    for criterion in criteria:
        values = [
            value
            for review, _ in found
            if (value := scoring.parse_score(str((review.scores or {}).get(str(criterion.id)))))
            is not None
        ]
        mean = (
            f"{(sum(values, Decimal(0)) / len(values)).quantize(Decimal('0.01'))}"
            if values
            else None
        )
        lines.append(
            CriterionLine(
                criterion=criterion,
                scale=say(scoring.scale_words(scoring_criterion(criterion))),
                mean=mean,
                consensus=consensus.get(criterion.id),
            )
        )
    notes = [
        (note, user)
        for note, user in db.session.execute(
            sa.select(PanelNote, User)
            .join(User, User.id == PanelNote.author_id)
            .where(PanelNote.stage_id == stage.id, PanelNote.proposal_id == proposal.id)
            .order_by(PanelNote.created_at, PanelNote.id)
        )
    ]
    return PanelDetail(
        proposal=proposal,
        ranking=ranking,
        ranked=ranked.get(proposal.id),
        criteria=lines,
        reviews=reviews,
        notes=notes,
        absent=absent_jurors(stage, [proposal.id]).get(proposal.id, []),
    )
