"""What the areas above programmes hold that a programme's set-up must respect: proposals in a
call, material submitted to a stage, submitted versions a rule change would break, reviews
scoring a criterion, proposals and jurors naming a topic, a hearing's slots, a membership
programme's memberships. Those areas register how to read it at app creation, so that
programmes never imports them; a reader that was never registered is an error, never an empty
answer, so that no rule change goes unchecked."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from flask import Flask, current_app

from competition.programmes.models import Call, Criterion, Programme, Stage

_KEY = "programme_uses"


@dataclass(frozen=True)
class AffectedProposal:
    """A submitted proposal whose latest version would no longer meet the proposed rules."""

    reference: str
    acronym: str
    stage_name: str
    problem: str


ProposalsInCalls = Callable[[list[int]], dict[int, int]]
StagesWithSubmissions = Callable[[list[int]], set[int]]
BreakingSubmissions = Callable[[Sequence[Stage], Call | None, Stage | None], list[AffectedProposal]]
ReviewsScoring = Callable[[int], int]
# Topic ids -> how many proposals (jurors) name each; ids nobody names may be left out.
TopicUses = Callable[[list[int]], dict[int, int]]
# Stage id -> how many hearing slots it has.
HearingSlots = Callable[[int], int]
# Programme id -> how many memberships (of any state) it holds.
MembershipsInProgramme = Callable[[int], int]

READERS = (
    "proposals_in_calls",
    "stages_with_submissions",
    "breaking_submissions",
    "reviews_scoring",
    "proposals_naming_topics",
    "jurors_naming_topics",
    "hearing_slots",
    "memberships_in_programme",
)


def register(app: Flask, name: str, reader: Callable[..., Any]) -> None:
    if name not in READERS:
        raise ValueError(f"{name!r} is not one of {', '.join(READERS)}")
    app.extensions.setdefault(_KEY, {})[name] = reader


def _reader(name: str) -> Callable[..., Any]:
    registered: dict[str, Callable[..., Any]] = current_app.extensions.get(_KEY, {})
    if name not in registered:
        raise RuntimeError(f"no area registered how to read {name}")
    return registered[name]


def has_proposals(call: Call) -> bool:
    counts = cast(ProposalsInCalls, _reader("proposals_in_calls"))([call.id])
    return counts.get(call.id, 0) > 0


def stage_ids_with_submissions(stage_ids: list[int]) -> set[int]:
    """Those of ``stage_ids`` for which some proposal has started or submitted material."""
    if not stage_ids:
        return set()
    return cast(StagesWithSubmissions, _reader("stages_with_submissions"))(stage_ids)


def stage_has_submissions(stage: Stage) -> bool:
    return stage.id in stage_ids_with_submissions([stage.id])


def breaking_submissions(
    stages: Sequence[Stage],
    *,
    proposed_call: Call | None = None,
    proposed_stage: Stage | None = None,
) -> list[AffectedProposal]:
    """The proposals whose latest submitted version, in one of ``stages``, meets the proposed
    rules less well than the current ones. ``proposed_call`` and ``proposed_stage`` are unsaved
    objects carrying only the rule columns."""
    if not stages:
        return []
    read = cast(BreakingSubmissions, _reader("breaking_submissions"))
    return read(stages, proposed_call, proposed_stage)


def count_reviews_scoring(criterion: Criterion) -> int:
    """How many reviews, drafts included, hold a score for ``criterion``."""
    return cast(ReviewsScoring, _reader("reviews_scoring"))(criterion.id)


def count_hearing_slots(stage: Stage) -> int:
    """How many slots the hearing of ``stage`` has (0 for a stage that was never a hearing)."""
    if stage.id is None:
        return 0
    return cast(HearingSlots, _reader("hearing_slots"))(stage.id)


def count_memberships(programme: Programme) -> int:
    """How many memberships (applications included) a programme holds: a programme that has
    any stays a membership programme."""
    if programme.id is None:
        return 0
    return cast(MembershipsInProgramme, _reader("memberships_in_programme"))(programme.id)


@dataclass(frozen=True)
class TopicUse:
    proposals: int = 0
    jurors: int = 0

    def __bool__(self) -> bool:
        return bool(self.proposals or self.jurors)


def topic_uses(topic_ids: list[int]) -> dict[int, TopicUse]:
    """How many proposals and how many jurors' profiles name each of ``topic_ids``."""
    if not topic_ids:
        return {}
    proposals = cast(TopicUses, _reader("proposals_naming_topics"))(topic_ids)
    jurors = cast(TopicUses, _reader("jurors_naming_topics"))(topic_ids)
    return {
        topic_id: TopicUse(proposals.get(topic_id, 0), jurors.get(topic_id, 0))
        for topic_id in topic_ids
    }
