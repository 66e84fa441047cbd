"""Whatever a query string holds, no page fails: numbers beyond the database's integer, a NUL
or bytes that are not UTF-8 in a search, a CR/LF in a redirect target. Runs on PostgreSQL,
which refuses a NUL in a text and an offset beyond bigint."""

from __future__ import annotations

import pytest
from flask import url_for

from competition.accounts.models import Role
from competition.assignment.models import JuryMembership, MembershipState
from competition.db import utcnow
from competition.extensions import db
from competition.memberships import models as memberships
from competition.programmes.models import ProgrammeKind
from tests.conftest import Browser
from tests.factories import (
    PASSWORD,
    make_call,
    make_grant,
    make_organisation,
    make_programme,
    make_proposal,
    make_stage,
    make_user,
)

pytestmark = pytest.mark.postgres

HUGE = "99999999999999999999"
# Every parameter a page reads, each time with one kind of hostile value.
PARAMETERS = (
    "page",
    "jpage",
    "q",
    "jq",
    "to",
    "topic",
    "organisation",
    "conflicts",
    "call",
    "stage",
    "state",
    "federal_state",
    "status",
    "late",
    "next",
    "sort",
    "dir",
    "kind",
    "programme",
    "year",
)
HOSTILE = {
    "huge-number": HUGE,
    "nul-and-invalid-utf8": "%00%ff%fe",
    "crlf": "%0d%0aSet-Cookie:%20x=1",
    "negative": "-5",
    "long": "x" * 5000,
}


@pytest.fixture
def world(app):  # type: ignore[no-untyped-def]
    """One person with every role, officer of a programme with a call, a stage and a proposal
    they coordinate, so that each page is reached rather than refused."""
    with app.app_context():
        person = make_user(roles=(Role.ADMIN, Role.OFFICER, Role.JUROR, Role.APPLICANT))
        programme = make_programme(officers=(person,))
        call = make_call(programme)
        stage = make_stage(call)
        proposal = make_proposal(call, coordinator=person)
        grant = make_grant(proposal)
        # On the call's jury, so that the juror's pages (the conflict form) are reached too.
        db.session.add(
            JuryMembership(
                call_id=call.id,
                user_id=person.id,
                state=MembershipState.ACCEPTED,
                invited_at=utcnow(),
                responded_at=utcnow(),
            )
        )
        # A membership programme with the person's application, so that its pages are reached.
        go_cluster = make_programme(officers=(person,), kind=ProgrammeKind.MEMBERSHIP)
        membership = memberships.Membership(
            programme_id=go_cluster.id,
            organisation_id=make_organisation().id,
            applicant_id=person.id,
            state=memberships.MembershipState.APPLIED,
            applied_at=utcnow(),
            updated_at=utcnow(),
        )
        db.session.add(membership)
        db.session.commit()
        ids = {
            "programme_id": programme.id,
            "call_id": call.id,
            "stage_id": stage.id,
            "proposal_id": proposal.id,
            "grant_id": grant.id,
            "membership_id": membership.id,
            "slug": go_cluster.slug,
        }
        return person.email, ids


def urls(app, ids: dict[str, int]) -> list[str]:  # type: ignore[no-untyped-def]
    found = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            if "GET" not in (rule.methods or set()) or rule.endpoint == "static":
                continue
            values = {name: ids.get(name, 1) for name in rule.arguments}
            if any(name in rule.arguments for name in ("token", "filename", "fmt", "what")):
                continue  # signed links and file names: a query string is not what they read
            found.append(url_for(rule.endpoint, **values))
    return found


@pytest.mark.parametrize("value", HOSTILE.values(), ids=HOSTILE.keys())
def test_no_page_fails_on_a_hostile_query_string(app, world, value):
    email, ids = world
    browser = Browser(app.test_client())
    assert browser.login(email, PASSWORD).status_code == 302
    query = "&".join(f"{name}={value}" for name in PARAMETERS)
    failed, reached = [], 0
    for url in urls(app, ids):
        response = browser.get(f"{url}?{query}")
        # A streamed download not read to its end is closed here, while its request's context
        # is the one to leave; collected later, it would leave another test's.
        response.close()
        if response.status_code >= 500:
            failed.append(f"{url}: {response.status_code}")
        reached += response.status_code == 200

    assert failed == []
    assert reached >= 10, "the pages were refused, not reached"
    # The lists the probes broke answer with a page, not an error.
    conflicts = f"/jury/calls/{ids['call_id']}/conflicts"
    for url in (
        "/proposals",
        "/admin/users",
        f"/stages/{ids['stage_id']}/review-progress",
        conflicts,
        f"/programmes/{ids['programme_id']}/grants",
        f"/memberships/{ids['membership_id']}",
        f"/programmes/{ids['slug']}/members",
    ):
        assert browser.get(f"{url}?{query}").status_code == 200, url
