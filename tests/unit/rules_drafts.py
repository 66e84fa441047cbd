"""Plain drafts, stages and calls the tests of ``core/rules.py`` build on."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

from hypothesis import strategies as st

from competition.core.rules import (
    AttachmentInfo,
    AttachmentRule,
    BudgetRow,
    CallRules,
    Member,
    ProposalDraft,
    SectionRule,
    StageRules,
)

D = Decimal


UTC = dt.UTC


BERLIN = ZoneInfo("Europe/Berlin")


MB = 1024 * 1024


OPENS = dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)  # 09:00 CET


CLOSES = dt.datetime(2026, 6, 30, 10, 0, tzinfo=UTC)  # 12:00 CEST


DURING = dt.datetime(2026, 5, 4, 12, 0, tzinfo=UTC)


SECOND = dt.timedelta(seconds=1)


STRATEGY = SectionRule("strategy", "Cluster strategy", 12_000)


PARTNERS = SectionRule("partners", "Partner roles", 5_000, required=False)


CV = AttachmentRule("cv", "CVs", required=True, max_pages=10, max_bytes=10 * MB)


LETTERS = AttachmentRule(
    "letters", "Letters of intent", required=False, max_pages=None, max_bytes=None
)


STAGE = StageRules(
    sections=(STRATEGY, PARTNERS),
    attachments=(CV, LETTERS),
    opens_at=OPENS,
    closes_at=CLOSES,
)


TUD = Member("m1", "TU Dresden", "university", "DE-SN", is_coordinator=True)


INFINEON = Member("m2", "Infineon Technologies", "large_enterprise", "DE-BY", is_coordinator=False)


NOVALED = Member("m3", "Novaled GmbH", "sme", "DE-SN", is_coordinator=False)


MEMBERS = (TUD, INFINEON, NOVALED)


BUDGET = (
    BudgetRow("m1", 1, D("600000.00"), D("0.00")),
    BudgetRow("m1", 2, D("400000.00"), D("0.00")),
    BudgetRow("m2", 1, D("500000.00"), D("500000.00")),
    BudgetRow("m3", 2, D("200000.00"), D("200000.00")),
)


RULES = CallRules(max_public_funding_per_proposal=D("45000000.00"))


def row(member_key="m1", year=1, public="0", own="0") -> BudgetRow:
    return BudgetRow(member_key, year, D(public), D(own))


def cv_file(**overrides) -> AttachmentInfo:
    fields = dict(key="cv", filename="cvs.pdf", size_bytes=2 * MB, page_count=8)
    return AttachmentInfo(**(fields | overrides))


def good_draft(**overrides) -> ProposalDraft:
    fields = dict(
        title="Organic electronics for the Saxon Silicon region",
        acronym="OES",
        abstract="A cluster for printed and organic electronics.",
        topic_count=2,
        sections={"strategy": "We will build a cluster.", "partners": ""},
        members=MEMBERS,
        budget=BUDGET,
        attachments=(cv_file(),),
    )
    return ProposalDraft(**(fields | overrides))


def codes(problems) -> list[str]:
    return [p.code for p in problems]


def only(problems, code):
    found = [p for p in problems if p.code == code]
    assert len(found) == 1, problems
    return found[0]


EAST = CallRules(region_scope=frozenset({"DE-SN", "DE-BE", "DE-TH"}))


money = st.decimals(min_value=0, max_value=10**9, places=2)


budget_rows = st.lists(
    st.builds(
        BudgetRow,
        member_key=st.sampled_from(["m1", "m2", "m3"]),
        year=st.integers(min_value=1, max_value=6),
        public_funding=money,
        own_contribution=money,
    ),
    max_size=12,
)


ALLIANCE = CallRules(min_private_share=D("0.85"))


RATES = CallRules(funding_rates={"sme": D("0.5"), "university": D("0.9")})


ORDER = {"not_open": 0, "open": 1, "closed": 2}


instants = st.datetimes(
    min_value=dt.datetime(2026, 1, 1), max_value=dt.datetime(2027, 1, 1), timezones=st.just(UTC)
)


# --- checklist -----------------------------------------------------------------------------------


FULL_RULES = CallRules(
    max_public_funding_per_proposal=D("45000000"),
    min_private_share=D("0.25"),
    funding_rates={"sme": D("0.5")},
    region_scope=frozenset({"DE-SN", "DE-BE"}),
)
