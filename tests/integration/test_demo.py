"""The seeded demo competition: what it holds and what an officer and an applicant see."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from decimal import Decimal

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.assignment.models import (
    Conflict,
    ConflictSource,
    JurorProfile,
    JuryMembership,
    MembershipState,
)
from competition.audit.models import AuditEvent
from competition.audit.operations import verify_chain
from competition.extensions import db
from competition.organisations.models import FederalState, Organisation, OrganisationKind
from competition.programmes.models import Call, Programme, Topic
from competition.proposals.models import BudgetLine, ConsortiumMember, MemberRole, Proposal
from tests.conftest import app_for_module
from tests.integration.test_demo_seeding import seed

CLUSTERS = {"energy", "health", "ict-media", "photonics", "mobility"}


@pytest.fixture(scope="module")
def app(pg_url):  # type: ignore[no-untyped-def]
    """One seeded demo for the module: its tests only read it (and sign in)."""
    for app in app_for_module(pg_url):
        seed(app)
        yield app


@pytest.fixture
def seeded(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        yield app


def test_the_demo_is_the_clusters4future_competition(seeded):
    programme = db.session.scalar(sa.select(Programme))
    assert programme.name == "Clusters4Future"
    assert programme.total_budget == Decimal("630000000.00")
    calls = db.session.scalars(sa.select(Call).order_by(Call.round_number)).all()
    counts = [
        db.session.scalar(sa.select(sa.func.count()).where(Proposal.call_id == call.id))
        for call in calls
    ]
    assert counts == [137, 117]
    assert [s.kind.value for s in calls[0].stages] == ["outline", "full_proposal", "hearing"]
    assert [s.selection_target for s in calls[0].stages[:2]] == [16, 7]
    assert [s.selection_target for s in calls[1].stages[:2]] == [15, 7]


def test_every_consortium_is_a_plausible_mix(seeded):
    sizes = Counter(
        db.session.scalars(
            sa.select(sa.func.count())
            .select_from(ConsortiumMember)
            .group_by(ConsortiumMember.proposal_id)
        )
    )
    assert min(sizes) >= 3 and max(sizes) <= 12
    kinds = set(
        db.session.scalars(
            sa.select(Organisation.kind).join(ConsortiumMember.organisation).distinct()
        )
    )
    assert kinds == set(OrganisationKind)
    proposals = db.session.scalars(sa.select(Proposal)).all()
    for proposal in proposals:
        assert sum(m.role.value == "coordinator" for m in proposal.members) == 1
        assert all(m.organisation.federal_state is not None for m in proposal.members)
        assert CLUSTERS & {t.slug for t in proposal.topics}
    lines = db.session.scalar(sa.select(sa.func.count()).select_from(BudgetLine))
    assert lines > 254 * 3


def test_demo_accounts_have_their_roles(seeded):
    def roles(email: str) -> set[str]:
        user = db.session.scalar(sa.select(User).where(User.email == email))
        return {r.value for r in user.roles}

    assert roles("officer@demo.test") == {"officer", "admin"}
    assert roles("officer2@demo.test") == {"officer"}
    assert roles("juror60@demo.test") == {"juror"}
    assert roles("applicant254@demo.test") == {"applicant"}
    jurors = db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.role_rows.any(role=Role.JUROR))
    )
    assert jurors == 60
    assert verify_chain()[1] is None


def test_the_officer_first_page_names_the_programme_and_its_rounds(seeded, browser):
    browser.login("officer@demo.test", "demo")
    page = browser.get("/").get_data(as_text=True)
    assert "Clusters4Future" in page
    assert "630.0 million euro" in page
    assert "Runde 1" in page and "Runde 2" in page
    assert ">137<" in page and ">117<" in page


def test_an_applicant_sees_only_their_own_proposal(seeded, browser):
    browser.login("applicant1@demo.test", "demo")
    page = browser.get("/").get_data(as_text=True)
    assert "C4F1-001" in page
    assert "C4F1-002" not in page
    other = db.session.scalar(sa.select(Proposal.id).where(Proposal.reference == "C4F1-002"))
    assert browser.get(f"/proposals/{other}").status_code == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", 254),
        ("?call={round2}", 117),
        ("?q=C4F1-00", 9),
        ("?state=withdrawn", 0),
        ("?state=submitted", 254),
    ],
)
def test_the_proposal_list_filters_and_counts(seeded, browser, query, expected):
    round2 = db.session.scalar(sa.select(Call.id).where(Call.round_number == 2))
    browser.login("officer@demo.test", "demo")
    page = browser.get("/proposals" + query.format(round2=round2)).get_data(as_text=True)
    assert f'id="result-count">{expected} proposal' in page


def test_the_proposal_list_filters_by_topic_and_federal_state(seeded, browser):
    browser.login("officer@demo.test", "demo")
    page = browser.get("/proposals?topic=photonics&federal_state=DE-SN").get_data(as_text=True)
    expected = db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Proposal.id)))
        .join(Proposal.topics)
        .join(ConsortiumMember, ConsortiumMember.proposal_id == Proposal.id)
        .join(ConsortiumMember.organisation)
        .where(
            Topic.slug == "photonics",
            ConsortiumMember.role == MemberRole.COORDINATOR,
            Organisation.federal_state == FederalState.SN,
        )
    )
    assert f'id="result-count">{expected} proposal' in page


def test_the_proposal_list_finds_a_partner_by_name_and_shows_each_consortium(seeded, browser):
    first = db.session.scalar(sa.select(Proposal).where(Proposal.reference == "C4F1-001"))
    coordinator = first.members[0].organisation
    partner = first.members[-1].organisation
    fragment = partner.name[1:9].upper()
    matching = [
        p
        for p in db.session.scalars(sa.select(Proposal))
        if any(fragment.lower() in text.lower() for text in (p.reference, p.acronym, p.title))
        or any(fragment.lower() in m.organisation.name.lower() for m in p.members)
    ]
    browser.login("officer@demo.test", "demo")

    page = browser.get("/proposals", query_string={"q": fragment}).get_data(as_text=True)

    assert f'id="result-count">{len(matching)} proposal' in page
    row = page[page.index(">C4F1-001</a>") :].split("</tr>")[0]
    assert coordinator.name in row and f"({coordinator.federal_state.label})" in row
    assert f"<td>{len(first.members)}</td>" in row
    assert ", ".join(sorted(t.name for t in first.topics)) in row


def test_the_proposal_list_is_paginated(seeded, browser):
    browser.login("officer@demo.test", "demo")
    first = browser.get("/proposals").get_data(as_text=True)
    assert "Page 1 of 11" in first and "C4F1-025" in first and "C4F1-026" not in first
    last = browser.get("/proposals?page=11").get_data(as_text=True)
    assert "C4F2-117" in last
    beyond = browser.get("/proposals?page=99")
    assert beyond.status_code == 200


def test_every_seeded_outline_has_a_receipt_and_meets_the_rules(seeded):
    from competition.proposals.models import StageSubmission, SubmissionVersion
    from competition.proposals.snapshot import content_hash, content_problems

    versions = db.session.scalars(sa.select(SubmissionVersion)).all()
    assert len(versions) == 254
    for version in versions:
        submission = db.session.get(StageSubmission, version.submission_id)
        assert version.number == 1
        assert version.content_hash == submission.content_hash == content_hash(version.content)
        assert version.submitted_at <= submission.stage.closes_at
        problems = content_problems(version.content, submission.stage, submission.proposal.call)
        assert problems == [], (version.receipt_code, problems)


# --- the round-1 jury ------------------------------------------------------------------------


def round_calls() -> list[Call]:
    return list(db.session.scalars(sa.select(Call).order_by(Call.round_number)))


def juror_number(user: User) -> int:
    return int(user.email.removeprefix("juror").removesuffix("@demo.test"))


def test_round_1_has_58_accepted_jurors_and_juror1_and_juror2_still_invited(seeded):
    first, second = round_calls()
    places = db.session.scalars(
        sa.select(JuryMembership).where(JuryMembership.call_id == first.id)
    ).all()
    users = {u.id: u for u in db.session.scalars(sa.select(User))}
    by_number = {juror_number(users[p.user_id]): p for p in places}
    assert sorted(by_number) == list(range(1, 61))
    officer = db.session.scalar(sa.select(User).where(User.email == "officer@demo.test"))
    for number, place in by_number.items():
        assert place.invited_by_id == officer.id
        if number <= 2:
            assert place.state == MembershipState.INVITED
            assert place.responded_at is None and place.conflicts_declared_at is None
        else:
            assert place.state == MembershipState.ACCEPTED
            assert place.responded_at is not None and place.conflicts_declared_at is not None
    assert (
        db.session.scalar(sa.select(sa.func.count()).where(JuryMembership.call_id == second.id))
        == 0
    )


def test_every_juror_has_a_profile_with_two_to_four_topics(seeded):
    topic_slugs = set(db.session.scalars(sa.select(Topic.slug)))
    profiles = db.session.scalars(sa.select(JurorProfile)).all()
    assert len(profiles) == 60
    movers = 0
    for profile in profiles:
        user = db.session.get(User, profile.user_id)
        assert user.has_role(Role.JUROR)
        assert profile.affiliation_id == user.organisation_id is not None
        assert 2 <= len(profile.topics) <= 4
        assert {t.slug for t in profile.topics} <= topic_slugs
        assert CLUSTERS & {t.slug for t in profile.topics}
        assert 40 < len(profile.expertise_text) < 400
        assert profile.affiliation_id not in profile.former_organisation_ids
        assert len(profile.former_organisation_ids) <= 1
        movers += bool(profile.former_organisation_ids)
        assert profile.max_load is None or 1 <= profile.max_load < 12
    assert 5 <= movers <= 15
    assert 1 <= sum(p.max_load is not None for p in profiles) <= 10


def test_automatic_conflicts_are_exactly_the_jurors_organisations_in_round_1_consortia(seeded):
    first, _second = round_calls()
    accepted = set(
        db.session.scalars(
            sa.select(JuryMembership.user_id).where(
                JuryMembership.call_id == first.id,
                JuryMembership.state == MembershipState.ACCEPTED,
            )
        )
    )
    organisations = {
        p.user_id: {p.affiliation_id, *p.former_organisation_ids}
        for p in db.session.scalars(sa.select(JurorProfile))
    }
    expected = set()
    for proposal in db.session.scalars(sa.select(Proposal).where(Proposal.call_id == first.id)):
        members = {m.organisation_id for m in proposal.members}
        expected |= {(u, proposal.id) for u in accepted if organisations[u] & members}
    automatic = {
        (user_id, proposal_id)
        for user_id, proposal_id in db.session.execute(
            sa.select(Conflict.user_id, Conflict.proposal_id).where(
                Conflict.source == ConflictSource.AUTOMATIC
            )
        )
    }
    assert expected and automatic == expected
    refreshed = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "conflicts.automatic_refreshed")
    ).all()
    assert len(refreshed) == 1 and len(refreshed[0].after["added"]) == len(expected)


def test_some_accepted_jurors_declared_conflicts_with_reasons(seeded):
    first, _second = round_calls()
    declared = db.session.scalars(
        sa.select(Conflict).where(Conflict.source == ConflictSource.DECLARED)
    ).all()
    assert len(declared) == 10
    accepted = set(
        db.session.scalars(
            sa.select(JuryMembership.user_id).where(
                JuryMembership.call_id == first.id,
                JuryMembership.state == MembershipState.ACCEPTED,
            )
        )
    )
    automatic = {
        (user_id, proposal_id)
        for user_id, proposal_id in db.session.execute(
            sa.select(Conflict.user_id, Conflict.proposal_id).where(
                Conflict.source == ConflictSource.AUTOMATIC
            )
        )
    }
    for conflict in declared:
        assert conflict.user_id in accepted
        assert conflict.created_by_id == conflict.user_id
        assert db.session.get(Proposal, conflict.proposal_id).call_id == first.id
        assert (conflict.user_id, conflict.proposal_id) not in automatic
        assert conflict.reason.endswith(".") and "{" not in conflict.reason


def test_the_accepted_jury_can_cover_four_reviews_of_every_round_1_outline(seeded):
    first, _second = round_calls()
    outline = first.stages[0]
    assert outline.reviewers_per_proposal == 4
    assert not outline.bidding_enabled
    assert outline.reviews_due_at == dt.datetime(2026, 12, 18, 15, tzinfo=dt.UTC)
    assert round_calls()[1].stages[0].reviews_due_at is None
    loads = db.session.scalars(
        sa.select(JurorProfile.max_load)
        .join(JuryMembership, JuryMembership.user_id == JurorProfile.user_id)
        .where(
            JuryMembership.call_id == first.id,
            JuryMembership.state == MembershipState.ACCEPTED,
        )
    ).all()
    assert len(loads) == 58
    capacity = sum(
        min(load or outline.max_load_per_juror, outline.max_load_per_juror) for load in loads
    )
    proposals = db.session.scalar(sa.select(sa.func.count()).where(Proposal.call_id == first.id))
    assert proposals == 137
    assert capacity >= proposals * outline.reviewers_per_proposal


def test_the_seed_summary_counts_the_jury(seeded):
    event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "demo.seeded"))
    assert event.after["jury_places"] == 60
    assert event.after["conflicts"] == db.session.scalar(
        sa.select(sa.func.count()).select_from(Conflict)
    )
