"""Membership programmes (go-cluster), the rules that need no database: how a cluster's member
organisations are counted from their kinds, the period a membership is granted or renewed for,
when it is due for its annual re-evaluation, and which recommendation a decision rests on.

Plain data in and out: kinds are the registry's codes (``organisations.models.OrganisationKind``;
a unit test holds the two together), dates are ``datetime.date`` in Europe/Berlin.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from competition.core.texts import N_, Text

# The profile's counts, by the registry's kinds. Start-ups are small enterprises; universities
# and research institutes are the research partners; societies and public bodies count as
# members only.
SMES = frozenset({"sme", "start_up"})
LARGE_FIRMS = frozenset({"large_enterprise"})
RESEARCH = frozenset({"university", "research_institute"})
KINDS = ("university", "research_institute", "large_enterprise", "sme", "start_up", "society")


@dataclass(frozen=True)
class ProfileCounts:
    """A cluster's member organisations counted by what they are, never typed by anyone."""

    members: int = 0
    smes: int = 0
    large_firms: int = 0
    research: int = 0
    others: int = 0

    @classmethod
    def from_kinds(cls, by_kind: Mapping[str, int]) -> ProfileCounts:
        """Counts from the number of member organisations of each kind (codes of the registry;
        an unknown code counts as a member of no particular group)."""
        smes = sum(n for kind, n in by_kind.items() if kind in SMES)
        large = sum(n for kind, n in by_kind.items() if kind in LARGE_FIRMS)
        research = sum(n for kind, n in by_kind.items() if kind in RESEARCH)
        members = sum(by_kind.values())
        return cls(members, smes, large, research, members - smes - large - research)

    def as_dict(self) -> dict[str, int]:
        return {
            "members": self.members,
            "smes": self.smes,
            "large_firms": self.large_firms,
            "research": self.research,
            "others": self.others,
        }


# --- periods -------------------------------------------------------------------------------------


def one_year_after(day: dt.date) -> dt.date:
    """The same day a year later (28 February for a 29 February)."""
    try:
        return day.replace(year=day.year + 1)
    except ValueError:
        return day.replace(year=day.year + 1, day=28)


def first_period(today: dt.date) -> tuple[dt.date, dt.date]:
    """A new membership: from today for one year (its last day included)."""
    return today, one_year_after(today) - dt.timedelta(days=1)


def renewed_period(previous_until: dt.date) -> tuple[dt.date, dt.date]:
    """A renewal follows the period before without a gap: the next day, for one year."""
    start = previous_until + dt.timedelta(days=1)
    return start, one_year_after(start) - dt.timedelta(days=1)


def period_problems(
    valid_from: dt.date | None,
    valid_until: dt.date | None,
    *,
    previous_until: dt.date | None = None,
) -> dict[str, Text]:
    """What is wrong with a period, keyed by its field (``valid_from``, ``valid_until``);
    empty when it can be granted. A renewal (``previous_until``) must end after the period
    it renews."""
    problems: dict[str, Text] = {}
    if valid_from is None:
        problems["valid_from"] = N_("Enter the first day of the membership.")
    if valid_until is None:
        problems["valid_until"] = N_("Enter the last day of the membership.")
    if valid_from is None or valid_until is None:
        return problems
    if valid_until < valid_from:
        problems["valid_until"] = N_("The last day must not be before the first day.")
    elif valid_until > one_year_after(valid_from) + dt.timedelta(days=366):
        problems["valid_until"] = N_(
            "A membership is granted for at most two years; it is re-evaluated every year."
        )
    elif previous_until is not None and valid_until <= previous_until:
        problems["valid_until"] = N_(
            "A renewal must end after the current period, which ends on %(day)s.",
            day=previous_until.strftime("%d.%m.%Y"),
        )
    return problems


def reevaluation_due(valid_until: dt.date, today: dt.date, *, days_before: int) -> bool:
    """Whether a granted membership's period ends within ``days_before`` days from today (or
    has ended): then it goes into its annual re-evaluation."""
    return valid_until <= today + dt.timedelta(days=days_before)


# --- evaluations and decisions ---------------------------------------------------------------

# The recommendations an evaluation may make in each round, by the membership's state.
RECOMMENDATIONS: Mapping[str, tuple[str, ...]] = {
    "in_evaluation": ("grant", "refuse"),
    "applied": ("grant", "refuse"),  # the first evaluation opens the evaluation
    "in_reevaluation": ("renew", "withdraw"),
}
# A decision carries out what the evaluation it rests on recommends: the second pair of eyes
# confirms, it does not overrule (an officer who disagrees records an evaluation of their own,
# and a third officer decides on it).
DECISIONS = ("grant", "refuse", "renew", "withdraw")
NEEDS_PERIOD = frozenset({"grant", "renew"})
NEEDS_REASON = frozenset({"refuse", "withdraw"})


def decision_problem(action: str, recommendation: str) -> Text | None:
    """Why a decision cannot rest on an evaluation with this recommendation; None when it can."""
    if action not in DECISIONS:
        return N_("Choose what to decide.")
    if action != recommendation:
        return N_(
            "The chosen evaluation does not recommend this. Choose an evaluation that does, or "
            "record your own evaluation for another officer to decide on."
        )
    return None
