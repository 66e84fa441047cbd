import datetime as dt

from competition.core.retention import ProposalFacts, add_years, erasable_from, is_due

DECIDED = dt.datetime(2020, 3, 1, 9, 0, tzinfo=dt.UTC)
CLOSED = dt.datetime(2024, 6, 30, 12, 0, tzinfo=dt.UTC)


def facts(**overrides: object) -> ProposalFacts:
    values: dict[str, object] = {
        "proposal_id": 1,
        "final": True,
        "funded": False,
        "ended_at": DECIDED,
        "grants_open": False,
        "grants_closed_at": None,
    }
    values.update(overrides)
    return ProposalFacts(**values)  # type: ignore[arg-type]


def test_an_unsuccessful_proposal_is_kept_until_the_years_after_its_decision_have_passed():
    rejected = facts()
    end = add_years(DECIDED, 5)
    assert not is_due(
        rejected, now=end - dt.timedelta(seconds=1), years_unsuccessful=5, years_funded=10
    )
    assert is_due(rejected, now=end, years_unsuccessful=5, years_funded=10)


def test_a_funded_proposal_counts_from_the_close_of_its_grant():
    funded = facts(funded=True, grants_closed_at=CLOSED)
    assert erasable_from(funded, years_unsuccessful=5, years_funded=10) == add_years(CLOSED, 10)


def test_nothing_is_erasable_while_a_procedure_is_open():
    assert erasable_from(facts(final=False), years_unsuccessful=1, years_funded=1) is None
    running = facts(funded=True, grants_open=True)
    assert erasable_from(running, years_unsuccessful=1, years_funded=1) is None


def test_the_twenty_ninth_of_february_becomes_the_twenty_eighth():
    leap = dt.datetime(2024, 2, 29, tzinfo=dt.UTC)
    assert add_years(leap, 5) == dt.datetime(2029, 2, 28, tzinfo=dt.UTC)
