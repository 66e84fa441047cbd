"""The membership rules of the core on plain data: counts from the registry's kinds, the periods
a membership is granted and renewed for, when the annual re-evaluation is due, which decision an
evaluation carries; and the setting that says how early the re-evaluation opens."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from competition.core import memberships as rules
from config import ConfigError, Settings


def test_the_kind_codes_are_the_registrys():
    from competition.organisations.models import OrganisationKind

    assert set(rules.KINDS) == {kind.value for kind in OrganisationKind}
    assert rules.SMES | rules.LARGE_FIRMS | rules.RESEARCH < set(rules.KINDS)


def test_counts_come_from_the_kinds():
    counts = rules.ProfileCounts.from_kinds(
        {
            "sme": 10,
            "start_up": 2,
            "large_enterprise": 3,
            "university": 4,
            "research_institute": 1,
            "society": 5,
        }  # fmt: skip
    )
    assert counts.as_dict() == {
        "members": 25,
        "smes": 12,
        "large_firms": 3,
        "research": 5,
        "others": 5,
    }
    assert rules.ProfileCounts.from_kinds({}) == rules.ProfileCounts()


@given(st.dictionaries(st.sampled_from(rules.KINDS), st.integers(0, 20_000)))
def test_the_groups_add_up_to_the_members(by_kind):
    counts = rules.ProfileCounts.from_kinds(by_kind)
    assert counts.smes + counts.large_firms + counts.research + counts.others == counts.members
    assert min(counts.as_dict().values()) >= 0


def test_a_first_period_runs_a_year_and_a_renewal_follows_without_a_gap():
    assert rules.first_period(dt.date(2027, 3, 1)) == (dt.date(2027, 3, 1), dt.date(2028, 2, 29))
    assert rules.renewed_period(dt.date(2028, 2, 29)) == (dt.date(2028, 3, 1), dt.date(2029, 2, 28))
    # A leap day's year ends on the 28th of February of the next.
    assert rules.one_year_after(dt.date(2028, 2, 29)) == dt.date(2029, 2, 28)


@pytest.mark.parametrize(
    ("start", "end", "previous", "field"),
    [
        (None, dt.date(2027, 1, 1), None, "valid_from"),
        (dt.date(2027, 1, 1), None, None, "valid_until"),
        (dt.date(2027, 1, 2), dt.date(2027, 1, 1), None, "valid_until"),
        (dt.date(2027, 1, 1), dt.date(2030, 1, 1), None, "valid_until"),
        (dt.date(2027, 1, 1), dt.date(2027, 6, 30), dt.date(2027, 6, 30), "valid_until"),
    ],
    ids=["no start", "no end", "end before start", "over two years", "renewal ending earlier"],
)
def test_a_period_that_cannot_be_granted_is_refused_at_its_field(start, end, previous, field):
    assert list(rules.period_problems(start, end, previous_until=previous)) == [field]


def test_a_good_period_has_no_problem():
    assert rules.period_problems(dt.date(2027, 1, 1), dt.date(2027, 12, 31)) == {}
    assert (
        rules.period_problems(
            dt.date(2028, 1, 1), dt.date(2028, 12, 31), previous_until=dt.date(2027, 12, 31)
        )
        == {}
    )


@pytest.mark.parametrize(
    ("days_left", "due"), [(-3, True), (0, True), (60, True), (61, False), (300, False)]
)
def test_the_re_evaluation_is_due_within_the_days_before_the_end(days_left, due):
    today = dt.date(2027, 5, 1)
    end = today + dt.timedelta(days=days_left)
    assert rules.reevaluation_due(end, today, days_before=60) is due


@pytest.mark.parametrize(
    ("action", "recommendation", "refused"),
    [
        ("grant", "grant", False),
        ("refuse", "refuse", False),
        ("renew", "renew", False),
        ("withdraw", "withdraw", False),
        ("grant", "refuse", True),
        ("withdraw", "renew", True),
        ("delete", "delete", True),
    ],
)
def test_a_decision_carries_out_what_its_evaluation_recommends(action, recommendation, refused):
    assert (rules.decision_problem(action, recommendation) is not None) is refused


def test_each_round_recommends_what_its_decisions_can_do():
    from competition.core.workflow import CLUSTER_MEMBERSHIP, actions_from

    for state in ("in_evaluation", "in_reevaluation"):
        offered = {a for a in actions_from(CLUSTER_MEMBERSHIP, state) if a in rules.DECISIONS}
        assert set(rules.RECOMMENDATIONS[state]) == offered


def test_the_re_evaluation_opens_sixty_days_before_the_end_unless_set_otherwise():
    assert Settings.from_env({}).membership_reevaluation_days == 60
    assert (
        Settings.from_env({"MEMBERSHIP_REEVALUATION_DAYS": "30"}).membership_reevaluation_days == 30
    )
    for wrong in ("-1", "400", "soon"):
        with pytest.raises(ConfigError, match="MEMBERSHIP_REEVALUATION_DAYS"):
            Settings.from_env({"MEMBERSHIP_REEVALUATION_DAYS": wrong})
