"""What the officer sees of a stage's assignment: the latest run, load per juror, the spread of
affinities, the weakest matches, seats left empty, declined assignments and their replacements,
and for one proposal its jurors and the ranked alternates with why they fit."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination

from competition.accounts.models import User
from competition.assignment import runs, stage_problem
from competition.assignment.models import Assignment, AssignmentRun
from competition.assignment.queries import HIDDEN_FROM_JURORS, PER_PAGE, in_stage
from competition.core import affinity as aff
from competition.core import assignment as engine
from competition.extensions import db
from competition.jobs import operations as jobs
from competition.programmes.models import Stage, Topic
from competition.proposals.models import Proposal
from competition.proposals.queries import name_matches

WEAKEST_SHOWN = 10
HISTOGRAM_BINS = 10


@dataclass(frozen=True)
class JurorLoad:
    user: User
    load: int
    max_load: int
    mean_affinity: float | None
    declined: int


@dataclass(frozen=True)
class Seat:
    assignment: Assignment
    user: User


@dataclass(frozen=True)
class ProposalRow:
    proposal: Proposal
    seats: list[Seat]
    needed: int

    @property
    def total_affinity(self) -> float:
        return sum(s.assignment.affinity for s in self.seats)

    @property
    def mean_fit(self) -> float | None:
        return self.total_affinity / len(self.seats) if self.seats else None

    @property
    def short(self) -> int:
        return max(0, self.needed - len(self.seats))


@dataclass(frozen=True)
class Declined:
    assignment: Assignment
    user: User
    proposal: Proposal
    replacement: User | None


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    count: int


@dataclass(frozen=True)
class Overview:
    stage: Stage
    run: AssignmentRun | None
    run_abandoned: bool
    released_at: dt.datetime | None
    proposals: int
    jurors: int
    capacity: int
    seats_needed: int
    pairs: int
    total_affinity: float
    loads: list[JurorLoad] = field(default_factory=list)
    histogram: list[Bin] = field(default_factory=list)
    weakest: list[ProposalRow] = field(default_factory=list)
    short: list[ProposalRow] = field(default_factory=list)
    declined: list[Declined] = field(default_factory=list)
    unreleased: int = 0

    @property
    def largest_bin(self) -> int:
        return max((b.count for b in self.histogram), default=0)

    @property
    def mean_fit(self) -> float | None:
        """How well the jurors' expertise fits their proposals, on average (0 to 1)."""
        return self.total_affinity / self.pairs if self.pairs else None

    @property
    def run_mean_fit(self) -> float | None:
        """The same for the last run's result, as the run found it."""
        result = self.run.result if self.run is not None else None
        if not result or not result.get("pairs"):
            return None
        return float(result["total_affinity"]) / int(result["pairs"])


def _rows(stage: Stage, proposals: Sequence[Proposal]) -> list[ProposalRow]:
    ids = [p.id for p in proposals]
    seats: dict[int, list[Seat]] = defaultdict(list)
    if ids:
        for assignment, user in db.session.execute(
            sa.select(Assignment, User)
            .join(User, User.id == Assignment.user_id)
            .where(
                Assignment.stage_id == stage.id,
                Assignment.proposal_id.in_(ids),
                Assignment.declined_at.is_(None),
            )
            .order_by(Assignment.affinity.desc(), User.id)
        ):
            seats[assignment.proposal_id].append(Seat(assignment, user))
    return [ProposalRow(p, seats[p.id], stage.reviewers_per_proposal) for p in proposals]


def overview(stage: Stage, *, now: dt.datetime) -> Overview:
    proposals = stage_problem.stage_proposals(stage)
    jurors = stage_problem.stage_jurors(stage)
    limits = {
        user.id: min(
            stage.max_load_per_juror,
            profile.max_load if profile and profile.max_load else stage.max_load_per_juror,
        )
        for user, profile in jurors
    }
    run = runs.latest_run(stage)
    rows = _rows(stage, proposals)
    active = [seat.assignment for row in rows for seat in row.seats]
    by_juror: dict[int, list[float]] = defaultdict(list)
    for assignment in active:
        by_juror[assignment.user_id].append(assignment.affinity)
    declined_counts: dict[int, int] = dict(
        db.session.execute(
            sa.select(Assignment.user_id, sa.func.count())
            .where(Assignment.stage_id == stage.id, Assignment.declined_at.is_not(None))
            .group_by(Assignment.user_id)
        ).all()
    )
    loads = [
        JurorLoad(
            user=user,
            load=len(by_juror.get(user.id, [])),
            max_load=limits[user.id],
            mean_affinity=(
                sum(by_juror[user.id]) / len(by_juror[user.id]) if by_juror.get(user.id) else None
            ),
            declined=declined_counts.get(user.id, 0),
        )
        for user, _ in jurors
    ]
    loads.sort(key=lambda row: (-row.load, row.user.name))
    histogram = [
        Bin(i / HISTOGRAM_BINS, (i + 1) / HISTOGRAM_BINS, 0) for i in range(HISTOGRAM_BINS)
    ]
    counts = [0] * HISTOGRAM_BINS
    for assignment in active:
        counts[min(HISTOGRAM_BINS - 1, int(assignment.affinity * HISTOGRAM_BINS))] += 1
    histogram = [Bin(b.low, b.high, c) for b, c in zip(histogram, counts, strict=True)]
    filled = [row for row in rows if row.seats]
    weakest = sorted(filled, key=lambda row: (row.total_affinity, row.proposal.reference))
    return Overview(
        stage=stage,
        run=run,
        run_abandoned=run is not None and jobs.is_dead(run.job),
        released_at=runs.released_at(stage),
        proposals=len(proposals),
        jurors=len(jurors),
        capacity=sum(limits.values()),
        seats_needed=len(proposals) * stage.reviewers_per_proposal,
        pairs=len(active),
        total_affinity=sum(a.affinity for a in active),
        loads=loads,
        histogram=histogram,
        weakest=weakest[:WEAKEST_SHOWN],
        short=[row for row in rows if row.short and (row.seats or active)],
        declined=_declined(stage),
        unreleased=sum(1 for a in active if a.released_at is None),
    )


def _declined(stage: Stage) -> list[Declined]:
    replacement = sa.orm.aliased(Assignment)
    replacer = sa.orm.aliased(User)
    rows = db.session.execute(
        sa.select(Assignment, User, Proposal, replacer)
        .join(User, User.id == Assignment.user_id)
        .join(Proposal, Proposal.id == Assignment.proposal_id)
        .outerjoin(replacement, replacement.replaces_id == Assignment.id)
        .outerjoin(replacer, replacer.id == replacement.user_id)
        .where(Assignment.stage_id == stage.id, Assignment.declined_at.is_not(None))
        .order_by(Assignment.declined_at.desc())
    ).all()
    return [Declined(a, u, p, r) for a, u, p, r in rows]


def proposal_page(stage: Stage, *, q: str, page: int) -> tuple[Pagination, list[ProposalRow]]:
    """The stage's proposals with their jurors, searchable by reference, acronym and title."""
    query = sa.select(Proposal).where(
        Proposal.call_id == stage.call_id,
        Proposal.state.not_in(HIDDEN_FROM_JURORS),
        in_stage(stage),
    )
    if q:
        query = query.where(sa.or_(*name_matches(q)))
    pagination = db.paginate(
        query.order_by(Proposal.reference), page=page, per_page=PER_PAGE, error_out=False
    )
    return pagination, _rows(stage, pagination.items)


@dataclass(frozen=True)
class Candidate:
    user: User
    explanation: aff.Breakdown
    load: int
    max_load: int


@dataclass(frozen=True)
class ProposalDetail:
    row: ProposalRow
    current: list[Candidate]
    alternates: list[Candidate]
    topic_names: dict[int, str]


ALTERNATES_SHOWN = 10


def proposal_detail(stage: Stage, proposal: Proposal) -> ProposalDetail | None:
    """One proposal's jurors and the best alternates (no conflict, a free place), each with
    the parts of its affinity."""
    run = runs.latest_run(stage)
    options = stage_problem.Options.from_params(run.params if run is not None else {})
    built = stage_problem.build(stage, options, only_proposals=[proposal.id])
    if proposal.id not in built.proposals:
        return None
    row = _rows(stage, [built.proposals[proposal.id]])[0]
    pairs = [(a.proposal_id, a.user_id) for a in runs.active_assignments(stage)]
    load: dict[int, int] = defaultdict(int)
    for _, user_id in pairs:
        load[user_id] += 1
    limits = {j.id: j.max_load for j in built.problem.jurors}

    def candidate(user: User) -> Candidate:
        return Candidate(
            user,
            built.explain(proposal.id, user.id),
            load[user.id],
            limits.get(user.id, stage.max_load_per_juror),
        )

    current = [candidate(seat.user) for seat in row.seats if seat.user.id in built.jurors]
    ranked = engine.alternates(built.problem, pairs, proposal.id, k=ALTERNATES_SHOWN)
    alternates = [candidate(built.jurors[j]) for j in ranked]
    # The shared topics may name a cluster above the proposal's sub-topic, or sub-topics' clusters.
    shown = {t for c in (*current, *alternates) for t in c.explanation.shared_topic_ids}
    topic_names = {t.id: t.name for t in proposal.topics}
    missing = shown - set(topic_names)
    if missing:
        topic_names |= {
            t.id: t.name for t in db.session.scalars(sa.select(Topic).where(Topic.id.in_(missing)))
        }
    return ProposalDetail(
        row=row,
        current=current,
        alternates=alternates,
        topic_names=topic_names,
    )
