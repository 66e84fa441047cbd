"""The assignment engine's input for a stage, read from the database: the proposals submitted
for it and still in the competition, the jurors who accepted a place and declared their
conflicts, every conflict of interest, and the affinity of each pair from topics, bids and
text (competition.core.affinity)."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from competition.accounts.models import Role, User, UserStatus
from competition.assignment.models import (
    Assignment,
    Bid,
    Conflict,
    JurorProfile,
    JuryMembership,
    MembershipState,
)
from competition.assignment.queries import HIDDEN_FROM_JURORS, in_stage
from competition.core import affinity as aff
from competition.core import assignment as engine
from competition.extensions import db
from competition.kept import kept
from competition.organisations.models import Organisation, OrganisationKind
from competition.programmes.models import Stage
from competition.proposals.models import Proposal

SECTOR: dict[OrganisationKind, engine.Sector] = {
    OrganisationKind.UNIVERSITY: "academia",
    OrganisationKind.RESEARCH_INSTITUTE: "academia",
    OrganisationKind.LARGE_ENTERPRISE: "industry",
    OrganisationKind.SME: "industry",
    OrganisationKind.START_UP: "industry",
    OrganisationKind.SOCIETY: "other",
}

# Above this many pairs the engine works on each proposal's best candidates and proves the
# result optimal over all pairs (see competition.core.assignment); below it, on all pairs.
SPARSE_FROM_PAIRS = 200_000
CANDIDATES_PER_PROPOSAL = 40


@dataclass(frozen=True)
class Options:
    """What the officer chooses when starting a run."""

    fairness: bool = False
    one_per_organisation: bool = False
    min_non_academic_seats: int = 0

    def as_params(self) -> dict[str, Any]:
        return {
            "fairness": self.fairness,
            "one_per_organisation": self.one_per_organisation,
            "min_non_academic_seats": self.min_non_academic_seats,
        }

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Options:
        return cls(
            fairness=bool(params.get("fairness", False)),
            one_per_organisation=bool(params.get("one_per_organisation", False)),
            min_non_academic_seats=int(params.get("min_non_academic_seats", 0)),
        )


@dataclass(frozen=True)
class StageProblem:
    problem: engine.Problem
    proposals: Mapping[int, Proposal]
    jurors: Mapping[int, User]
    # Fitted on every proposal of the stage, also when the problem holds only some of them, so
    # a pair scores the same on every page and in every run.
    affinities: aff.Affinities

    def explain(self, proposal_id: int, juror_id: int) -> aff.Breakdown:
        return self.affinities.explain(proposal_id, juror_id)


def stage_proposals(stage: Stage) -> list[Proposal]:
    query = (
        sa.select(Proposal)
        .where(
            Proposal.call_id == stage.call_id,
            Proposal.state.not_in(HIDDEN_FROM_JURORS),
            in_stage(stage),
        )
        .options(selectinload(Proposal.topics))
        .order_by(Proposal.id)
    )
    return list(db.session.scalars(query))


def stage_jurors(stage: Stage) -> list[tuple[User, JurorProfile | None]]:
    """Jurors who can take assignments: an accepted place, conflicts declared, active."""
    rows = db.session.execute(
        sa.select(User, JurorProfile)
        .join(JuryMembership, JuryMembership.user_id == User.id)
        .outerjoin(JurorProfile, JurorProfile.user_id == User.id)
        .where(
            JuryMembership.call_id == stage.call_id,
            JuryMembership.state == MembershipState.ACCEPTED,
            JuryMembership.conflicts_declared_at.is_not(None),
            User.status == UserStatus.ACTIVE,
        )
        .options(selectinload(JurorProfile.topics))
        .order_by(User.id)
    ).all()
    return [(user, profile) for user, profile in rows if user.has_role(Role.JUROR)]


def build(
    stage: Stage, options: Options, *, only_proposals: Collection[int] | None = None
) -> StageProblem:
    """The engine's problem for the stage. Declined assignments count as conflicts: a juror who
    declined a proposal is never offered it again. With ``only_proposals``, just those proposals
    (all jurors): enough to rank replacements."""
    everything = stage_proposals(stage)
    proposals = [p for p in everything if only_proposals is None or p.id in only_proposals]
    jurors = stage_jurors(stage)
    proposal_ids = [p.id for p in proposals]
    juror_ids = [user.id for user, _ in jurors]

    organisations = {
        organisation_id: (kind, name)
        for organisation_id, kind, name in db.session.execute(
            sa.select(Organisation.id, Organisation.kind, Organisation.name).where(
                Organisation.id.in_([p.affiliation_id for _, p in jurors if p and p.affiliation_id])
            )
        )
    }
    engine_jurors = []
    for user, profile in jurors:
        limit = stage.max_load_per_juror
        if profile is not None and profile.max_load is not None:
            limit = min(limit, profile.max_load)
        organisation_id = profile.affiliation_id if profile is not None else None
        kind = organisations[organisation_id][0] if organisation_id is not None else None
        engine_jurors.append(
            engine.Juror(
                id=user.id,
                max_load=limit,
                organisation_id=organisation_id,
                sector=SECTOR[kind] if kind is not None else "academia",
            )
        )

    conflicts: set[tuple[int, int]] = set()
    if proposal_ids and juror_ids:
        conflicts.update(
            (p, j)
            for j, p in db.session.execute(
                sa.select(Conflict.user_id, Conflict.proposal_id).where(
                    Conflict.proposal_id.in_(proposal_ids), Conflict.user_id.in_(juror_ids)
                )
            )
        )
        conflicts.update(
            (p, j)
            for p, j in db.session.execute(
                sa.select(Assignment.proposal_id, Assignment.user_id).where(
                    Assignment.stage_id == stage.id,
                    Assignment.declined_at.is_not(None),
                    Assignment.proposal_id.in_(proposal_ids),
                )
            )
        )

    # Every bid of the stage, also with ``only_proposals``: the affinities are then the same
    # as the whole run's, and fitted once (``_affinities``).
    bids: dict[tuple[int, int], str] = {}
    if stage.bidding_enabled and proposal_ids:
        bids = {
            (p, j): level.value
            for p, j, level in db.session.execute(
                sa.select(Bid.proposal_id, Bid.user_id, Bid.level).where(Bid.stage_id == stage.id)
            )
        }
    texts = [
        aff.ProposalText(
            id=p.id,
            topic_ids=frozenset(t.id for t in p.topics),
            text=f"{p.title}\n{p.abstract}",
        )
        for p in everything
    ]
    juror_texts = [
        aff.JurorText(
            id=user.id,
            topic_ids=frozenset(t.id for t in profile.topics) if profile else frozenset(),
            # The English names: a run must not depend on the language of whoever starts it.
            text=(
                profile.expertise_text + "\n" + " ".join(t.name_en for t in profile.topics)
                if profile
                else ""
            ),
        )
        for user, profile in jurors
    ]
    # A sub-topic's cluster: a juror's cluster counts for its sub-topics and the other way.
    topic_parents = {
        t.id: t.parent_id
        for t in itertools.chain(
            (t for p in everything for t in p.topics),
            (t for _, profile in jurors if profile for t in profile.topics),
        )
        if t.parent_id is not None
    }
    affinities = _affinities(
        texts,
        juror_texts,
        bids,
        weights=aff.weights_for(bidding=stage.bidding_enabled),
        topic_parents=topic_parents,
    )
    pairs = len(proposals) * len(jurors)
    problem = engine.Problem(
        proposals=[engine.Proposal(id=p.id, seats=stage.reviewers_per_proposal) for p in proposals],
        jurors=engine_jurors,
        affinity=affinities.rows,
        conflicts=frozenset(conflicts),
        one_per_organisation=options.one_per_organisation,
        min_non_academic_seats=options.min_non_academic_seats,
        fairness=options.fairness,
        candidates_per_proposal=CANDIDATES_PER_PROPOSAL if pairs > SPARSE_FROM_PAIRS else None,
        # Messages to officers name references, people and organisations, not ids.
        labels=engine.Labels(
            proposals={p.id: p.reference for p in everything},
            jurors={user.id: user.name for user, _ in jurors},
            organisations={o: name for o, (_, name) in organisations.items()},
        ),
    )
    return StageProblem(
        problem=problem,
        proposals={p.id: p for p in proposals},
        jurors={user.id: user for user, _ in jurors},
        affinities=affinities,
    )


# Fitted affinities kept per app process by a digest of everything they are fitted from: the
# page of one proposal in a proposed assignment must not refit the text model of 20,000
# proposals and 8,000 jurors on every request. Affinities are read-only once built.
AFFINITIES_KEPT = 2


def _affinities(
    texts: list[aff.ProposalText],
    juror_texts: list[aff.JurorText],
    bids: Mapping[tuple[int, int], str],
    *,
    weights: aff.Weights,
    topic_parents: Mapping[int, int],
) -> aff.Affinities:
    digest = hashlib.sha256(
        json.dumps(
            [
                [[t.id, sorted(t.topic_ids), t.text] for t in texts],
                [[j.id, sorted(j.topic_ids), j.text] for j in juror_texts],
                sorted([p, j, level] for (p, j), level in bids.items()),
                [weights.topics, weights.bids, weights.text],
                sorted(topic_parents.items()),
            ],
            separators=(",", ":"),
        ).encode()
    ).hexdigest()
    return kept(
        "stage_affinities",
        digest,
        lambda: aff.Affinities(
            texts, juror_texts, bids, weights=weights, topic_parents=topic_parents
        ),
        size=AFFINITIES_KEPT,
    )
