"""The rules of disbursement requests and the money view's arithmetic (core/payments.py), on
plain data; a property test drives random requests, approvals, confirmations and rejections
through the lifecycle and checks that no partner's year is ever paid more than approved and
that the money view's paid is the sum of the approved payments."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from competition.core import payments as rules
from competition.core import workflow

D = Decimal
START = dt.date(2027, 1, 1)
TERMS = rules.GrantTerms(
    state="running",
    starts_on=START,
    ends_on=dt.date(2030, 1, 1),
    phases=(rules.Phase(1, 3, released=True),),
)
# Partners 1 and 2, three project years, 100,000 euro each.
APPROVED = {(m, y): D("100000.00") for m in (1, 2) for y in (1, 2, 3)}


def request(**overrides: object) -> rules.Request:
    values: dict[str, object] = {
        "member_id": 1,
        "year": 1,
        "period_from": dt.date(2027, 1, 1),
        "period_to": dt.date(2027, 3, 31),
        "amount": D("25000.00"),
    }
    values.update(overrides)
    return rules.Request(**values)  # type: ignore[arg-type]


def problems(
    req: rules.Request | None = None,
    *,
    terms: rules.GrantTerms = TERMS,
    drawings: list[rules.Drawing] | None = None,
    **kwargs: object,
) -> dict[str, list[str]]:
    found = rules.check_request(
        req or request(),
        terms=terms,
        approved=APPROVED,
        drawings=drawings or [],
        **kwargs,  # type: ignore[arg-type]
    )
    by_field: dict[str, list[str]] = {}
    for problem in found:
        by_field.setdefault(problem.field, []).append(str(problem.message))
    return by_field


# --- dates ---------------------------------------------------------------------------------------


def test_a_year_later_from_the_29th_of_february_is_the_28th():
    assert rules.add_years(dt.date(2028, 2, 29), 1) == dt.date(2029, 2, 28)
    assert rules.add_years(dt.date(2027, 3, 1), 2) == dt.date(2029, 3, 1)


def test_project_years_are_twelve_months_from_the_start_and_end_with_the_grant():
    assert rules.year_span(TERMS, 1) == (dt.date(2027, 1, 1), dt.date(2027, 12, 31))
    assert rules.year_span(TERMS, 3) == (dt.date(2029, 1, 1), dt.date(2029, 12, 31))
    # A six-month concept phase: ``ends_on`` is the first day after it.
    concept = rules.GrantTerms("running", dt.date(2027, 4, 1), dt.date(2027, 10, 1), ())
    assert rules.year_span(concept, 1) == (dt.date(2027, 4, 1), dt.date(2027, 9, 30))


def test_project_year_y_of_a_grant_starting_in_year_y0_is_budget_year_y0_plus_y_minus_one():
    assert rules.budget_year(dt.date(2027, 7, 1), 1) == 2027
    assert rules.budget_year(dt.date(2027, 7, 1), 3) == 2029


# --- what a request may be -----------------------------------------------------------------------


def test_a_request_within_what_is_left_passes():
    assert problems() == {}


def test_a_request_of_exactly_what_is_left_passes_and_a_cent_more_is_refused_at_the_amount():
    paid = [rules.Drawing(1, 1, D("60000.00"), "paid", 1)]
    assert problems(request(amount=D("40000.00")), drawings=paid) == {}

    refused = problems(request(amount=D("40000.01")), drawings=paid)

    assert list(refused) == ["amount"]
    assert "At most 40,000.00 EUR is left of the 100,000.00 EUR" in refused["amount"][0]


def test_pending_requests_reserve_their_money_and_rejected_or_withdrawn_ones_do_not():
    pending = [
        rules.Drawing(1, 1, D("50000.00"), "requested", 1),
        rules.Drawing(1, 1, D("30000.00"), "proposed", 2),
    ]
    freed = [
        rules.Drawing(1, 1, D("90000.00"), "rejected", 3),
        rules.Drawing(1, 1, D("90000.00"), "withdrawn", 4),
    ]

    assert list(problems(request(amount=D("20000.01")), drawings=pending)) == ["amount"]
    assert problems(request(amount=D("20000.00")), drawings=pending + freed) == {}


def test_other_partners_and_years_do_not_count_against_the_request():
    elsewhere = [
        rules.Drawing(2, 1, D("100000.00"), "paid", 1),
        rules.Drawing(1, 2, D("100000.00"), "approved", 2),
    ]
    assert problems(request(amount=D("100000.00")), drawings=elsewhere) == {}


def test_nothing_left_says_so():
    spent = [rules.Drawing(1, 1, D("100000.00"), "exported", 1)]
    (message,) = problems(request(amount=D("1.00")), drawings=spent)["amount"]
    assert message.startswith("Nothing is left of the 100,000.00 EUR")


@pytest.mark.parametrize("state", ["offered", "accepted"])
def test_a_request_before_the_grant_runs_is_refused(state):
    refused = problems(terms=rules.GrantTerms(state, START, TERMS.ends_on, TERMS.phases))
    assert refused == {
        "": ["The grant has not started yet; payments can be requested once it runs."]
    }


@pytest.mark.parametrize("state", ["ended_early", "closed", "declined"])
def test_a_request_after_the_grant_ended_is_refused(state):
    refused = problems(terms=rules.GrantTerms(state, START, TERMS.ends_on, TERMS.phases))
    assert list(refused) == [""]


def test_in_interim_evaluation_only_years_of_released_phases_may_be_requested():
    terms = rules.GrantTerms(
        "in_evaluation",
        START,
        TERMS.ends_on,
        (rules.Phase(1, 2, released=True), rules.Phase(3, 3, released=False)),
    )
    assert (
        problems(
            request(year=2, period_from=dt.date(2028, 1, 1), period_to=dt.date(2028, 2, 1)),
            terms=terms,
        )
        == {}
    )

    refused = problems(
        request(year=3, period_from=dt.date(2029, 1, 1), period_to=dt.date(2029, 2, 1)),
        terms=terms,
    )

    assert list(refused) == ["year"]
    assert "not released yet" in refused["year"][0]


def test_an_overdue_report_refuses_the_request_only_where_the_programme_waits_for_reports():
    assert list(problems(overdue_reports=1, wait_for_reports=True)) == [""]
    assert "2 reports of this grant are overdue" in problems(overdue_reports=2)[""][0]
    assert problems(overdue_reports=1, wait_for_reports=False) == {}


@pytest.mark.parametrize(
    ("period_from", "period_to", "fields"),
    [
        (dt.date(2026, 12, 31), dt.date(2027, 3, 31), ["period_from"]),
        (dt.date(2027, 12, 1), dt.date(2028, 1, 15), ["period_to"]),
        (dt.date(2028, 1, 1), dt.date(2028, 2, 1), ["period_from", "period_to"]),
        (dt.date(2027, 3, 1), dt.date(2027, 2, 1), ["period_to"]),
        (None, None, ["period_from", "period_to"]),
    ],
)
def test_a_period_outside_the_project_year_or_backwards_is_refused_at_its_field(
    period_from, period_to, fields
):
    refused = problems(request(period_from=period_from, period_to=period_to))
    assert sorted(refused) == sorted(fields)


@pytest.mark.parametrize(
    ("amount", "message"),
    [
        (None, "Enter the amount in euro."),
        (D("0"), "Enter an amount above 0 euro."),
        (D("-5"), "Enter an amount above 0 euro."),
        (D("10.001"), "Enter the amount in euro and whole cents."),
        (D("1000000000000"), "Enter an amount below one trillion euro."),
    ],
)
def test_an_amount_that_is_no_payment_is_refused_at_the_amount(amount, message):
    assert problems(request(amount=amount)) == {"amount": [message]}


def test_every_missing_value_is_named_at_its_field_at_once():
    refused = problems(rules.Request(None, None, None, None, None))
    assert sorted(refused) == ["amount", "member_id", "period_from", "period_to", "year"]


def test_a_partner_or_year_without_approved_money_is_refused_at_its_field():
    assert list(problems(request(member_id=99))) == ["member_id"]
    assert list(problems(request(year=4))) == ["year"]
    assert list(problems(request(year=12))) == ["year"]


def test_a_second_officer_is_needed_only_above_the_threshold():
    assert not rules.needs_second_officer(D("1000000.00"), None)
    assert not rules.needs_second_officer(D("50000.00"), D("50000.00"))
    assert rules.needs_second_officer(D("50000.01"), D("50000.00"))
    assert rules.needs_second_officer(D("0.01"), D("0"))


def test_an_approval_is_refused_when_the_approved_amount_was_lowered_meanwhile():
    drawing = rules.Drawing(1, 1, D("60000.00"), "requested", 7)
    others = [drawing, rules.Drawing(1, 1, D("30000.00"), "paid", 8)]
    assert rules.check_approval(drawing, approved=APPROVED, drawings=others) == []

    lowered = {**APPROVED, (1, 1): D("80000.00")}

    (problem,) = rules.check_approval(drawing, approved=lowered, drawings=others)
    assert problem.field == ""
    assert "At most 50,000.00 EUR is left" in str(problem.message)


# --- the money view ------------------------------------------------------------------------------


def books(
    grant_id: int, state: str, *, call_id: int = 10, start: dt.date = START, **kw: object
) -> rules.GrantBooks:
    return rules.GrantBooks(
        grant_id=grant_id,
        call_id=call_id,
        state=state,
        starts_on=start,
        amounts={1: D("100.00"), 2: D("200.00"), 3: D("300.00")},
        phases=kw.get("phases", (rules.Phase(1, 3, True),)),  # type: ignore[arg-type]
    )


def test_committed_counts_ended_early_grants_by_released_phases_and_declined_ones_not_at_all():
    phases = (rules.Phase(1, 2, True), rules.Phase(3, 3, False))
    assert sum(rules.committed_by_year(books(1, "offered", phases=phases)).values()) == D("600.00")
    assert sum(rules.committed_by_year(books(1, "running", phases=phases)).values()) == D("600.00")
    assert rules.committed_by_year(books(1, "ended_early", phases=phases)) == {
        1: D("100.00"),
        2: D("200.00"),
    }
    assert sum(rules.committed_by_year(books(1, "closed", phases=phases)).values()) == D("300.00")
    assert sum(rules.committed_by_year(books(1, "closed")).values()) == D("600.00")
    assert rules.committed_by_year(books(1, "declined")) == {}


def test_the_money_view_counts_per_budget_year_per_round_and_in_all():
    grants = [
        books(1, "running", call_id=10, start=dt.date(2027, 1, 1)),
        books(2, "running", call_id=20, start=dt.date(2028, 6, 1)),
        books(3, "declined", call_id=20),
    ]
    payments = [
        rules.Payment(1, 1, D("40.00"), "paid"),
        rules.Payment(1, 2, D("50.00"), "approved"),
        rules.Payment(2, 1, D("60.00"), "exported"),
        rules.Payment(2, 1, D("999.00"), "requested"),
        rules.Payment(2, 1, D("999.00"), "rejected"),
    ]

    view = rules.money_view(
        grants, payments, envelopes={10: D("1000.00"), 20: None, 30: D("5.00")}, budget=D("2000.00")
    )

    assert [(y, m.committed, m.paid, m.left) for y, m in view.years] == [
        (2027, D("100.00"), D("40.00"), D("60.00")),
        (2028, D("300.00"), D("110.00"), D("190.00")),  # grant 1 year 2, grant 2 year 1
        (2029, D("500.00"), D("0.00"), D("500.00")),
        (2030, D("300.00"), D("0.00"), D("300.00")),
    ]
    assert [(r.call_id, r.money.committed, r.money.paid, r.not_committed) for r in view.rounds] == [
        (10, D("600.00"), D("90.00"), D("400.00")),
        (20, D("600.00"), D("60.00"), None),
        (30, D("0.00"), D("0.00"), D("5.00")),
    ]
    assert view.total == rules.Money(D("1200.00"), D("150.00"))
    assert view.not_committed == D("800.00")
    assert view.grants[1] == rules.Money(D("600.00"), D("90.00"))


# --- the property ---------------------------------------------------------------------------------

MEMBERS = (1, 2)
YEARS = (1, 2)
THRESHOLD = D("300.00")
SMALL_APPROVED = {(m, y): D("1000.00") for m in MEMBERS for y in YEARS}
SMALL_TERMS = rules.GrantTerms("running", START, dt.date(2029, 1, 1), (rules.Phase(1, 2, True),))

amounts = st.decimals(min_value=D("0.01"), max_value=D("700.00"), places=2)
steps = st.lists(
    st.one_of(
        st.tuples(st.just("request"), st.sampled_from(MEMBERS), st.sampled_from(YEARS), amounts),
        st.tuples(
            st.sampled_from(["approve", "confirm", "reject", "withdraw", "export", "pay"]),
            st.integers(0, 40),
        ),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(steps)
def test_random_requests_and_decisions_never_pay_more_than_approved(sequence):
    ledger: list[rules.Drawing] = []

    def move(index: int, action: str) -> None:
        drawing = ledger[index]
        target = workflow.step(workflow.DISBURSEMENT, drawing.state, action)
        if target is not None:
            ledger[index] = rules.Drawing(
                drawing.member_id, drawing.year, drawing.amount, target, drawing.id
            )

    for entry in sequence:
        if entry[0] == "request":
            _, member, year, amount = entry
            span = rules.year_span(SMALL_TERMS, year)
            found = rules.check_request(
                rules.Request(member, year, span[0], span[1], amount),
                terms=SMALL_TERMS,
                approved=SMALL_APPROVED,
                drawings=ledger,
            )
            if not found:
                ledger.append(rules.Drawing(member, year, amount, "requested", len(ledger)))
            continue
        action, pick = entry
        if not ledger:
            continue
        index = pick % len(ledger)
        drawing = ledger[index]
        if action == "approve":
            if drawing.state != "requested":
                continue
            if rules.check_approval(drawing, approved=SMALL_APPROVED, drawings=ledger):
                continue
            two = rules.needs_second_officer(drawing.amount, THRESHOLD)
            move(index, "propose" if two else "approve")
        elif action == "confirm":
            if drawing.state != "proposed":
                continue
            if rules.check_approval(drawing, approved=SMALL_APPROVED, drawings=ledger):
                continue
            move(index, "confirm")
        else:
            try:
                move(index, {"export": "export", "pay": "pay"}.get(action, action))
            except workflow.IllegalStep:
                continue

        for member in MEMBERS:
            for year in YEARS:
                counted = sum(
                    (
                        d.amount
                        for d in ledger
                        if (d.member_id, d.year) == (member, year) and d.state in rules.COUNTED
                    ),
                    D(0),
                )
                held = sum(
                    (
                        d.amount
                        for d in ledger
                        if (d.member_id, d.year) == (member, year)
                        and d.state in rules.COUNTED | rules.RESERVING
                    ),
                    D(0),
                )
                assert counted <= held <= SMALL_APPROVED[(member, year)]
        # Nothing above the threshold is approved without passing through a proposal.
        assert all(d.state != "proposed" or d.amount > THRESHOLD for d in ledger)

    view = rules.money_view(
        [
            rules.GrantBooks(
                1,
                10,
                "running",
                START,
                {y: sum((SMALL_APPROVED[(m, y)] for m in MEMBERS), D(0)) for y in YEARS},
                SMALL_TERMS.phases,
            )
        ],
        [rules.Payment(1, d.year, d.amount, d.state) for d in ledger],
        envelopes={10: None},
        budget=D("10000.00"),
    )
    approved_payments = sum((d.amount for d in ledger if d.state in rules.COUNTED), D(0))
    assert view.total.paid == approved_payments
    assert sum((m.paid for _, m in view.years), D(0)) == approved_payments
    assert view.total.left == view.total.committed - approved_payments >= 0
