"""Nothing the public may not know reaches the portal, its open data or the public API: a
"fund" decision confirmed but not yet published, a grant offered but not accepted, a declined
grant, a partner's or coordinator's withheld name, and the money of a programme that does not
declare its funding public. Names are looked for as typed and amounts by their digits, in
English and in German; a juror's token sees nothing more than anyone."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest

from competition.accounts.models import Role
from competition.assignment.models import JuryMembership, MembershipState
from competition.db import utcnow
from competition.extensions import db
from competition.grants.models import GrantState
from competition.programmes.models import PublicField
from competition.proposals.models import BudgetLine, ProposalState, StageSubmission
from competition.selection.models import Decision, DecisionState, Outcome
from tests.conftest import Browser, app_for_module
from tests.factories import (
    make_call,
    make_grant,
    make_organisation,
    make_programme,
    make_proposal,
    make_stage,
    make_user,
)
from tests.helpers import text
from tests.integration.api_world import bearer, token_for

pytestmark = pytest.mark.postgres

# What must never show, as typed (names) or as digits (amounts, however a page groups them).
SECRET_NAMES = (
    "UNPUBACR",
    "Unpublished decision title",
    "Unpublished Coordinator",
    "OFFERACR",
    "Offered but unanswered",
    "Offered Org",
    "DECLACR",
    "Declined and gone",
    "Declined Org",
    "Hidden Partner",
    "Hidden Coordinator",
)
SECRET_AMOUNTS = (
    "7654321",  # the unpublished decision's request
    "5432109",  # the offer
    "3210987",  # the declined grant
    "1357913",  # a quiet programme's grant, per partner and year
    "2715826",  # the same for both partners of the consortium
)


@dataclass(frozen=True)
class World:
    openness: int  # programme ids
    quiet: int
    shown: tuple[int, ...]  # grants the public sees
    not_shown: tuple[int, ...]  # grants it does not
    token: str  # a juror's, of every area


def build_world() -> World:
    officer, second = make_user(roles=(Role.OFFICER,)), make_user(roles=(Role.OFFICER,))
    openness = make_programme(slug="openness", name="Openness", officers=(officer, second))
    call = make_call(openness, name="Openness round 1")
    stage = make_stage(call)
    now = utcnow()

    def single(acronym: str, title: str, organisation: str, **grant):  # type: ignore[no-untyped-def]
        proposal = make_proposal(
            call,
            acronym=acronym,
            title=title,
            organisations=(make_organisation(name=organisation),),
            state=ProposalState.FUNDED,
        )
        return make_grant(proposal, years=1, **grant)

    # A "fund" decision confirmed by a second officer, not published: no letter, no grant.
    unpublished = make_proposal(
        call,
        acronym="UNPUBACR",
        title="Unpublished decision title",
        organisations=(make_organisation(name="Unpublished Coordinator GmbH"),),
    )
    submission = StageSubmission(proposal_id=unpublished.id, stage_id=stage.id)
    db.session.add(submission)
    db.session.flush()
    db.session.add(
        BudgetLine(
            submission_id=submission.id,
            member_id=unpublished.members[0].id,
            year=1,
            public_funding=Decimal("7654321.00"),
            own_contribution=Decimal("0"),
        )
    )
    db.session.add(
        Decision(
            stage_id=stage.id,
            proposal_id=unpublished.id,
            outcome=Outcome.FUND,
            state=DecisionState.CONFIRMED,
            rationale="Strong.",
            proposed_by_id=officer.id,
            proposed_at=now - dt.timedelta(days=2),
            confirmed_by_id=second.id,
            confirmed_at=now - dt.timedelta(days=1),
        )
    )
    offered = single(
        "OFFERACR",
        "Offered but unanswered",
        "Offered Org AG",
        state=GrantState.OFFERED,
        per_member_year=Decimal("5432109.00"),
    )
    declined = single(
        "DECLACR",
        "Declined and gone",
        "Declined Org AG",
        state=GrantState.DECLINED,
        per_member_year=Decimal("3210987.00"),
    )
    visible = make_proposal(
        call,
        acronym="PUBLICW",
        title="A public consortium",
        organisations=(
            make_organisation(name="Visible Universität"),
            make_organisation(name="Hidden Partner GmbH"),
        ),
        state=ProposalState.FUNDED,
    )
    visible.members[1].name_withheld = True
    coordinated = make_proposal(
        call,
        acronym="PUBLICV",
        title="A consortium with a discreet coordinator",
        organisations=(
            make_organisation(name="Hidden Coordinator e.V."),
            make_organisation(name="Another Visible Institut"),
        ),
        state=ProposalState.FUNDED,
    )
    coordinated.members[0].name_withheld = True
    shown = [make_grant(visible).id, make_grant(coordinated).id]

    quiet = make_programme(
        slug="quiet",
        name="Quiet programme",
        public_fields=[f.value for f in PublicField if f != PublicField.FUNDING],
    )
    quiet_proposal = make_proposal(
        make_call(quiet, name="Quiet round"), acronym="QUIETR", state=ProposalState.FUNDED
    )
    shown.append(make_grant(quiet_proposal, per_member_year=Decimal("1357913.00")).id)

    juror = make_user(roles=(Role.JUROR,))
    db.session.add(
        JuryMembership(
            call_id=call.id,
            user_id=juror.id,
            state=MembershipState.ACCEPTED,
            invited_at=now,
            responded_at=now,
        )
    )
    db.session.commit()
    token = token_for(juror, *(f"{area}:read" for area in ("programmes", "proposals", "grants")))
    db.session.commit()
    return World(
        openness=openness.id,
        quiet=quiet.id,
        shown=tuple(shown),
        not_shown=(offered.id, declined.id),
        token=token,
    )


@pytest.fixture(scope="module")
def app(pg_url) -> Iterator[object]:  # type: ignore[no-untyped-def]
    yield from app_for_module(pg_url)


@pytest.fixture(scope="module")
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_world()


def leaks(body: str) -> list[str]:
    digits = re.sub(r"(?<=\d)[.,\u202f\u00a0 ](?=\d)", "", body)
    return [name for name in SECRET_NAMES if name in body] + [
        amount for amount in SECRET_AMOUNTS if amount in digits
    ]


def pages(world: World) -> list[str]:
    return [
        "/portal",
        "/portal/programmes/openness",
        "/portal/programmes/quiet",
        "/portal/funded",
        "/portal/funded?q=hidden",
        "/portal/funded?q=unpublished",
        "/portal/funded?q=offered",
        "/portal/funded?programme=quiet",
        *(f"/portal/funded/{grant}" for grant in world.shown),
        "/portal/funded.csv",
        "/portal/funded.json",
        "/portal/funded.json?q=hidden",
        "/portal/open-data",
    ]


def api(world: World) -> list[str]:
    prefix = "/api/v1/public"
    return [
        f"{prefix}/programmes",
        f"{prefix}/programmes/{world.openness}",
        f"{prefix}/programmes/{world.quiet}",
        f"{prefix}/calls",
        f"{prefix}/funded",
        f"{prefix}/funded?q=hidden",
        *(f"{prefix}/funded/{grant}" for grant in world.shown),
    ]


@pytest.mark.parametrize("language", ["en", "de"])
def test_no_page_or_file_of_the_portal_tells_what_is_not_public(app, world, language):
    browser = Browser(app.test_client())
    if language == "de":
        browser.submit("/language", {"locale": "de"}, page="/portal")

    found = {}
    for address in pages(world):
        response = browser.get(address)
        assert response.status_code == 200, address
        found[address] = leaks(text(response))

    assert {address: what for address, what in found.items() if what} == {}


def test_no_answer_of_the_public_api_tells_it(app, world):
    client = app.test_client()

    found = {address: leaks(client.get(address).get_data(as_text=True)) for address in api(world)}

    assert {address: what for address, what in found.items() if what} == {}


def test_withheld_names_are_shown_as_withheld_and_never_found(app, world):
    client = app.test_client()
    visible, discreet, _ = world.shown

    partner_page = text(client.get(f"/portal/funded/{visible}"))
    coordinator_page = text(client.get(f"/portal/funded/{discreet}"))
    searched = client.get("/portal/funded.json?q=hidden").get_json()

    assert "Visible Universität" in partner_page and "Partner (name withheld)" in partner_page
    assert "Another Visible Institut" in coordinator_page
    assert "Partner (name withheld)" in coordinator_page
    assert searched["items"] == []


def test_grants_not_accepted_have_no_page_and_no_record(app, world):
    client = app.test_client()

    for grant in world.not_shown:
        assert client.get(f"/portal/funded/{grant}").status_code == 404
        assert client.get(f"/api/v1/public/funded/{grant}").status_code == 404


def test_committed_money_counts_neither_the_decision_nor_the_offer(app, world):
    body = app.test_client().get(f"/api/v1/public/programmes/{world.openness}").get_json()

    # Two public grants of two partners, three years of 100.000,00 € each.
    assert body["committed"] == "1200000.00"
    assert body["funded"] == 2


def test_a_jurors_token_sees_nothing_more_than_anyone(app, world):
    client = app.test_client()

    for address in api(world):
        anonymous = client.get(address)
        juror = client.get(address, headers=bearer(world.token))
        assert juror.status_code == anonymous.status_code == 200, address
        assert juror.get_json() == anonymous.get_json(), address
