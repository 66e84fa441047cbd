"""Loading the jury pages: a juror's calls, the proposals a juror may see (never one they have a
conflict with), the list for declaring conflicts, and the officers' overview of a jury.

Every list a juror sees excludes conflicted proposals in SQL, with
``permissions.conflicted_proposal_ids``; templates never filter. As a second line, the lists also
leave out proposals whose consortium includes one of the juror's organisations, so a proposal
submitted after the last refresh of automatic conflicts is hidden all the same.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_sqlalchemy.pagination import Pagination
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.assignment.models import (
    Bid,
    BidLevel,
    Conflict,
    ConflictSource,
    ExclusionRequest,
    JurorProfile,
    JuryMembership,
    MembershipState,
    juror_expertise,
)
from competition.assignment.permissions import conflicted_proposal_ids
from competition.extensions import db
from competition.organisations.models import Organisation
from competition.paging import Page
from competition.programmes import topic_queries
from competition.programmes.models import Call, Stage, Topic
from competition.proposals.models import (
    ConsortiumMember,
    Proposal,
    ProposalState,
    StageSubmission,
    SubmissionState,
    proposal_topics,
)
from competition.proposals.queries import name_matches

PER_PAGE = 25

# Never shown to jurors: not submitted, taken back, or out of the competition at screening.
HIDDEN_FROM_JURORS = (ProposalState.DRAFT, ProposalState.WITHDRAWN, ProposalState.INELIGIBLE)
# Listed for declaring conflicts: everything that was submitted and not withdrawn.
NOT_DECLARABLE = (ProposalState.DRAFT, ProposalState.WITHDRAWN)


# --- the juror's calls -------------------------------------------------------------------------


@dataclass(frozen=True)
class JurorCall:
    membership: JuryMembership
    call: Call  # with its programme and stages loaded

    @property
    def bidding_stages(self) -> list[Stage]:
        return [stage for stage in self.call.stages if stage.bidding_enabled]


def list_juror_calls(user: User) -> list[JurorCall]:
    """The user's places on juries, newest invitation first, with the calls' stages."""
    rows = db.session.execute(
        sa.select(JuryMembership, Call)
        .join(Call, Call.id == JuryMembership.call_id)
        .where(JuryMembership.user_id == user.id)
        .options(selectinload(Call.programme), selectinload(Call.stages))
        .order_by(JuryMembership.invited_at.desc(), JuryMembership.id.desc())
    ).all()
    return [JurorCall(membership, call) for membership, call in rows]


def find_call(call_id: int) -> Call | None:
    return db.session.scalar(
        sa.select(Call)
        .where(Call.id == call_id)
        .options(selectinload(Call.programme), selectinload(Call.stages))
    )


def find_membership(user: User, call_id: int) -> JuryMembership | None:
    return db.session.scalar(
        sa.select(JuryMembership).where(
            JuryMembership.user_id == user.id, JuryMembership.call_id == call_id
        )
    )


def find_stage(call: Call, stage_id: int) -> Stage | None:
    return next((stage for stage in call.stages if stage.id == stage_id), None)


def find_proposal(proposal_id: int) -> Proposal | None:
    return db.session.scalar(
        sa.select(Proposal)
        .where(Proposal.id == proposal_id)
        .options(selectinload(Proposal.call).selectinload(Call.programme))
    )


def find_conflict(conflict_id: int) -> Conflict | None:
    return db.session.get(Conflict, conflict_id)


def find_user(user_id: int) -> User | None:
    return db.session.get(User, user_id)


# --- profiles ----------------------------------------------------------------------------------


def find_profile(user: User) -> JurorProfile | None:
    return db.session.scalar(
        sa.select(JurorProfile)
        .where(JurorProfile.user_id == user.id)
        .options(selectinload(JurorProfile.topics))
    )


def organisations_by_id(ids: Iterable[int]) -> dict[int, Organisation]:
    """The named organisations by id (for the juror's profile: only those it names)."""
    wanted = sorted({int(i) for i in ids})
    if not wanted:
        return {}
    return {
        o.id: o
        for o in db.session.scalars(sa.select(Organisation).where(Organisation.id.in_(wanted)))
    }


def juror_programme_ids(user: User) -> list[int]:
    """The programmes whose juries the juror was invited to and has not declined: their topics
    (and the shared ones) are the juror's to choose from."""
    return list(
        db.session.scalars(
            sa.select(Call.programme_id)
            .join(JuryMembership, JuryMembership.call_id == Call.id)
            .where(
                JuryMembership.user_id == user.id,
                JuryMembership.state != MembershipState.DECLINED,
            )
            .distinct()
        )
    )


def jurors_naming_topics(topic_ids: list[int]) -> dict[int, int]:
    """How many jurors' profiles name each of ``topic_ids`` as expertise."""
    rows = db.session.execute(
        sa.select(juror_expertise.c.topic_id, sa.func.count())
        .where(juror_expertise.c.topic_id.in_(topic_ids))
        .group_by(juror_expertise.c.topic_id)
    )
    return {topic_id: count for topic_id, count in rows}


def organisation_ids_of_jurors(user_ids: Sequence[int]) -> dict[int, tuple[int | None, list[int]]]:
    """Per juror: (current organisation, former organisations). The profile's affiliation is the
    current one; without a profile, the account's organisation stands in."""
    if not user_ids:
        return {}
    rows = db.session.execute(
        sa.select(
            User.id,
            User.organisation_id,
            JurorProfile.id,
            JurorProfile.affiliation_id,
            JurorProfile.former_organisation_ids,
        )
        .outerjoin(JurorProfile, JurorProfile.user_id == User.id)
        .where(User.id.in_(user_ids))
    ).all()
    result: dict[int, tuple[int | None, list[int]]] = {}
    for user_id, account_org, profile_id, affiliation, former in rows:
        current = affiliation if profile_id is not None else account_org
        result[user_id] = (current, [int(o) for o in (former or [])])
    return result


def juror_organisation_ids(user: User) -> set[int]:
    current, former = organisation_ids_of_jurors([user.id]).get(user.id, (None, []))
    return {o for o in (current, *former) if o is not None}


def _visible_to_juror(query: sa.Select, user: User) -> sa.Select:  # type: ignore[type-arg]
    """Leave out every proposal the juror has a conflict with, recorded or by organisation."""
    query = query.where(Proposal.id.not_in(conflicted_proposal_ids(user)))
    organisations = juror_organisation_ids(user)
    if organisations:
        query = query.where(
            Proposal.id.not_in(
                sa.select(ConsortiumMember.proposal_id).where(
                    ConsortiumMember.organisation_id.in_(organisations)
                )
            )
        )
    return query


def organisation_conflict(user: User, proposal: Proposal) -> bool:
    """Whether one of the juror's organisations is in the consortium (recorded or not yet)."""
    organisations = juror_organisation_ids(user)
    if not organisations:
        return False
    return (
        db.session.scalar(
            sa.select(ConsortiumMember.id)
            .where(
                ConsortiumMember.proposal_id == proposal.id,
                ConsortiumMember.organisation_id.in_(organisations),
            )
            .limit(1)
        )
        is not None
    )


# --- proposals a juror sees --------------------------------------------------------------------


@dataclass(frozen=True)
class JurorProposalList:
    page: Pagination  # of Proposal, topics loaded
    bids: Mapping[int, BidLevel] = field(default_factory=dict)


def in_stage(stage: Stage) -> sa.ColumnElement[bool]:
    return Proposal.id.in_(
        sa.select(StageSubmission.proposal_id).where(
            StageSubmission.stage_id == stage.id,
            StageSubmission.state == SubmissionState.SUBMITTED,
        )
    )


def biddable_ids(user: User, stage: Stage, proposal_ids: Collection[int]) -> set[int]:
    """Of these proposals, those the juror may bid on at the stage, read in one query for a
    whole page of bids: submitted for the stage and still competing, no recorded conflict, and
    none of the juror's organisations in the consortium."""
    if not proposal_ids:
        return set()
    query = sa.select(Proposal.id).where(
        Proposal.id.in_(list(proposal_ids)),
        Proposal.call_id == stage.call_id,
        Proposal.state.not_in(HIDDEN_FROM_JURORS),
        in_stage(stage),
        Proposal.id.not_in(conflicted_proposal_ids(user)),
    )
    organisations = juror_organisation_ids(user)
    if organisations:
        query = query.where(
            ~sa.exists().where(
                ConsortiumMember.proposal_id == Proposal.id,
                ConsortiumMember.organisation_id.in_(organisations),
            )
        )
    return set(db.session.scalars(query))


def is_biddable(proposal: Proposal, stage: Stage) -> bool:
    """Open for bids at the stage: submitted for it and still in the competition."""
    if proposal.call_id != stage.call_id or proposal.state in HIDDEN_FROM_JURORS:
        return False
    return (
        db.session.scalar(sa.select(Proposal.id).where(Proposal.id == proposal.id, in_stage(stage)))
        is not None
    )


def list_proposals_for_juror(
    user: User, call: Call, *, q: str, page: int, stage: Stage | None = None
) -> JurorProposalList:
    """The call's proposals the juror may see (never a conflicted one), searchable by title,
    acronym, abstract and topic, 25 to a page. With ``stage``: only those submitted for it,
    with the juror's bids."""
    query = sa.select(Proposal).where(
        Proposal.call_id == call.id, Proposal.state.not_in(HIDDEN_FROM_JURORS)
    )
    query = _visible_to_juror(query, user)
    if stage is not None:
        query = query.where(in_stage(stage))
    if q:
        needle = q.lower()
        query = query.where(
            sa.or_(
                sa.func.lower(Proposal.title).contains(needle, autoescape=True),
                sa.func.lower(Proposal.acronym).contains(needle, autoescape=True),
                sa.func.lower(Proposal.abstract).contains(needle, autoescape=True),
                Proposal.id.in_(
                    sa.select(proposal_topics.c.proposal_id)
                    .join(Topic, Topic.id == proposal_topics.c.topic_id)
                    .where(
                        # Found by either name: a juror may search in the other language.
                        sa.or_(
                            sa.func.lower(Topic.name_en).contains(needle, autoescape=True),
                            sa.func.lower(Topic.name_de).contains(needle, autoescape=True),
                        )
                    )
                ),
            )
        )
    query = query.options(selectinload(Proposal.topics)).order_by(Proposal.reference)
    pagination = db.paginate(query, page=page, per_page=PER_PAGE, error_out=False)
    bids: dict[int, BidLevel] = {}
    ids = [proposal.id for proposal in pagination.items]
    if stage is not None and ids:
        bids = {
            proposal_id: level
            for proposal_id, level in db.session.execute(
                sa.select(Bid.proposal_id, Bid.level).where(
                    Bid.user_id == user.id, Bid.stage_id == stage.id, Bid.proposal_id.in_(ids)
                )
            )
        }
    return JurorProposalList(page=pagination, bids=bids)


@dataclass(frozen=True)
class DeclarationRow:
    proposal: Proposal  # members and their organisations loaded
    conflicts: Sequence[Conflict]  # the juror's, any source

    @property
    def organisation_names(self) -> list[str]:
        return [member.organisation.name for member in self.proposal.members]


# The conflict form's page: short enough to read, long enough that a call of 150 proposals
# takes eight pages, not eighty.
DECLARATION_PER_PAGE = 20


@dataclass(frozen=True)
class DeclarationFilters:
    """What the juror narrowed the conflict form to. Only what the form shows anyway is
    searched: reference, acronym, title and the consortium's organisations."""

    q: str = ""
    topic_id: int | None = None
    organisation_id: int | None = None
    only_conflicts: bool = False


@dataclass(frozen=True)
class Declaration:
    rows: Page[DeclarationRow]
    open_ids: frozenset[int]  # every listed proposal the juror can still declare a conflict with
    conflicts: int  # listed proposals with one of the juror's own conflicts
    topics: Sequence[topic_queries.TopicGroup]
    organisations: Sequence[Organisation]  # those taking part in a listed proposal


# Conflicts the juror knows of themselves: their organisations and their own declaration.
OWN_SOURCES = (ConflictSource.AUTOMATIC, ConflictSource.DECLARED)


def list_proposals_for_conflict_declaration(
    user: User, call: Call, filters: DeclarationFilters | None = None, *, page: int = 1
) -> Declaration:
    """A page of the call's submitted proposals, the juror's own conflicts (automatic and
    declared) first, each with its consortium's organisations and those conflicts. Titles,
    acronyms and organisations are what a juror needs to recognise a conflict, and all this
    page ever tells.

    A proposal the juror was kept off by an officer or the consortium is not listed at all
    (unless one of the juror's own conflicts explains it anyway): the juror learns neither the
    proposal nor that someone asked to exclude them. The topic filter finds only proposals the
    juror has no conflict with, so that it never tells a conflicted juror a proposal's topic."""
    filters = filters or DeclarationFilters()
    others = sa.select(Conflict.proposal_id).where(
        Conflict.user_id == user.id, Conflict.source.not_in(OWN_SOURCES)
    )
    own = sa.select(Conflict.proposal_id).where(
        Conflict.user_id == user.id, Conflict.source.in_(OWN_SOURCES)
    )
    listed: list[sa.ColumnElement[bool]] = [
        Proposal.call_id == call.id,
        Proposal.state.not_in(NOT_DECLARABLE),
        sa.or_(Proposal.id.not_in(others), Proposal.id.in_(own)),
    ]
    members_named = sa.select(ConsortiumMember.proposal_id).join(
        Organisation, Organisation.id == ConsortiumMember.organisation_id
    )
    conditions = list(listed)
    if filters.q:
        conditions.append(
            sa.or_(
                *name_matches(filters.q),
                Proposal.id.in_(
                    members_named.where(
                        sa.func.lower(Organisation.name).contains(
                            filters.q.lower(), autoescape=True
                        )
                    )
                ),
            )
        )
    if filters.organisation_id is not None:
        conditions.append(
            Proposal.id.in_(
                sa.select(ConsortiumMember.proposal_id).where(
                    ConsortiumMember.organisation_id == filters.organisation_id
                )
            )
        )
    if filters.topic_id is not None:
        conditions += [
            Proposal.id.in_(
                sa.select(proposal_topics.c.proposal_id).where(
                    proposal_topics.c.topic_id == filters.topic_id
                )
            ),
            Proposal.id.not_in(sa.select(Conflict.proposal_id).where(Conflict.user_id == user.id)),
        ]
    if filters.only_conflicts:
        conditions.append(Proposal.id.in_(own))
    total = db.session.scalar(sa.select(sa.func.count(Proposal.id)).where(*conditions)) or 0
    page = min(page, max(1, -(-total // DECLARATION_PER_PAGE)))
    proposals = list(
        db.session.scalars(
            sa.select(Proposal)
            .where(*conditions)
            .options(selectinload(Proposal.members))
            .order_by(sa.case((Proposal.id.in_(own), 0), else_=1), Proposal.reference)
            .limit(DECLARATION_PER_PAGE)
            .offset((page - 1) * DECLARATION_PER_PAGE)
        )
    )
    by_proposal: dict[int, list[Conflict]] = defaultdict(list)
    if proposals:
        for conflict in db.session.scalars(
            sa.select(Conflict)
            .where(
                Conflict.user_id == user.id,
                Conflict.source.in_(OWN_SOURCES),
                Conflict.proposal_id.in_([p.id for p in proposals]),
            )
            .order_by(Conflict.id)
        ):
            by_proposal[conflict.proposal_id].append(conflict)
    open_ids = frozenset(
        db.session.scalars(sa.select(Proposal.id).where(*listed, Proposal.id.not_in(own)))
    )
    conflicts = (
        db.session.scalar(
            sa.select(sa.func.count(Proposal.id)).where(*listed, Proposal.id.in_(own))
        )
        or 0
    )
    organisations = list(
        db.session.scalars(
            sa.select(Organisation)
            .where(
                Organisation.id.in_(
                    sa.select(ConsortiumMember.organisation_id)
                    .join(Proposal, Proposal.id == ConsortiumMember.proposal_id)
                    .where(*listed)
                )
            )
            .order_by(Organisation.name)
        )
    )
    rows = [DeclarationRow(p, by_proposal.get(p.id, [])) for p in proposals]
    return Declaration(
        rows=Page(rows, page=page, per_page=DECLARATION_PER_PAGE, total=total),
        open_ids=open_ids,
        conflicts=conflicts,
        topics=topic_queries.filter_choices([call.programme_id]),
        organisations=organisations,
    )


def declarable_proposal_ids(call: Call) -> set[int]:
    return set(
        db.session.scalars(
            sa.select(Proposal.id).where(
                Proposal.call_id == call.id, Proposal.state.not_in(NOT_DECLARABLE)
            )
        )
    )


# --- the officers' overview --------------------------------------------------------------------


@dataclass(frozen=True)
class JurorRow:
    membership: JuryMembership
    user: User
    profile: JurorProfile | None
    conflicts: Mapping[ConflictSource, int]
    bids: int

    @property
    def conflict_total(self) -> int:
        return sum(self.conflicts.values())


@dataclass(frozen=True)
class ConflictRow:
    conflict: Conflict
    user: User
    proposal: Proposal


@dataclass(frozen=True)
class JuryOverview:
    call: Call
    jurors: Sequence[JurorRow]
    conflicts: Sequence[ConflictRow]
    totals: Mapping[ConflictSource, int]
    states: Mapping[MembershipState, int]
    # Requests naming people without an account yet; they become conflicts when they join.
    pending_exclusions: int
    proposals: Sequence[Proposal]  # for the officer's conflict form


def jury_overview(call: Call) -> JuryOverview:
    """The call's jury for its officers: each member's state, profile, conflicts by source and
    number of bids, and every conflict recorded on the call's proposals."""
    call_proposals = sa.select(Proposal.id).where(Proposal.call_id == call.id)
    members = db.session.execute(
        sa.select(JuryMembership, User, JurorProfile)
        .join(User, User.id == JuryMembership.user_id)
        .outerjoin(JurorProfile, JurorProfile.user_id == User.id)
        .where(JuryMembership.call_id == call.id)
        .options(selectinload(JurorProfile.topics))
        .order_by(User.name, User.id)
    ).all()
    counts: dict[int, dict[ConflictSource, int]] = defaultdict(dict)
    for user_id, source, count in db.session.execute(
        sa.select(Conflict.user_id, Conflict.source, sa.func.count())
        .where(Conflict.proposal_id.in_(call_proposals))
        .group_by(Conflict.user_id, Conflict.source)
    ):
        counts[user_id][source] = count
    bids: dict[int, int] = {
        user_id: count
        for user_id, count in db.session.execute(
            sa.select(Bid.user_id, sa.func.count())
            .where(Bid.proposal_id.in_(call_proposals))
            .group_by(Bid.user_id)
        )
    }
    jurors = [
        JurorRow(membership, user, profile, counts.get(user.id, {}), bids.get(user.id, 0))
        for membership, user, profile in members
    ]
    conflicts = [
        ConflictRow(conflict, user, proposal)
        for conflict, user, proposal in db.session.execute(
            sa.select(Conflict, User, Proposal)
            .join(User, User.id == Conflict.user_id)
            .join(Proposal, Proposal.id == Conflict.proposal_id)
            .where(Proposal.call_id == call.id)
            .order_by(User.name, Proposal.reference, Conflict.source)
        )
    ]
    totals: dict[ConflictSource, int] = {source: 0 for source in ConflictSource}
    for row in conflicts:
        totals[row.conflict.source] += 1
    states: dict[MembershipState, int] = {state: 0 for state in MembershipState}
    for juror in jurors:
        states[juror.membership.state] += 1
    pending = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(ExclusionRequest)
        .where(ExclusionRequest.proposal_id.in_(call_proposals))
    )
    proposals = list(
        db.session.scalars(
            sa.select(Proposal)
            .where(Proposal.call_id == call.id, Proposal.state != ProposalState.DRAFT)
            .order_by(Proposal.reference)
        )
    )
    return JuryOverview(
        call=call,
        jurors=jurors,
        conflicts=conflicts,
        totals=totals,
        states=states,
        pending_exclusions=pending or 0,
        proposals=proposals,
    )


# --- the consortium's exclusion requests -------------------------------------------------------


@dataclass(frozen=True)
class ExclusionEntry:
    email: str
    reason: str
    created_at: dt.datetime


def list_exclusions(proposal: Proposal) -> list[ExclusionEntry]:
    """What the consortium asked: the same entry whether or not the person has an account, so
    the page does not tell which addresses belong to someone. Only the applicant's own requests,
    never conflicts from another source."""
    entries = [
        ExclusionEntry(email, reason, created_at)
        for email, reason, created_at in db.session.execute(
            sa.select(User.email, Conflict.reason, Conflict.created_at)
            .join(User, User.id == Conflict.user_id)
            .where(
                Conflict.proposal_id == proposal.id,
                Conflict.source == ConflictSource.APPLICANT,
            )
        )
    ]
    entries += [
        ExclusionEntry(email, reason, created_at)
        for email, reason, created_at in db.session.execute(
            sa.select(
                ExclusionRequest.email, ExclusionRequest.reason, ExclusionRequest.created_at
            ).where(ExclusionRequest.proposal_id == proposal.id)
        )
    ]
    return sorted(entries, key=lambda entry: (entry.created_at, entry.email))
