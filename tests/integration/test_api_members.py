"""The public API's members of a membership programme: those in force, as the public list."""

from __future__ import annotations

from competition.db import utcnow
from competition.extensions import db
from competition.memberships import operations as ops
from competition.memberships.models import Membership, MembershipState
from competition.programmes.models import Programme
from tests.factories import make_organisation, make_programme
from tests.integration.api_world import bearer, token_for
from tests.integration.membership_world import build_world, granted, user

MEMBERS = "/api/v1/public/programmes/{programme_id}/members"
# The same for every caller: a token changes nothing (checked below with a juror's).
COVERED_OPERATIONS = {("get", MEMBERS)}


def test_members_in_force_are_listed_and_applications_are_not(app):
    with app.app_context():
        world = build_world()
        held = granted(world)
        second = make_organisation(name="Second Cluster e.V.")
        pending = ops.apply_for_membership(
            db.session.get(Programme, world.programme_id),
            actor=user(world.applicant),
            organisation_name=second.name,
            services="",
            now=utcnow(),
        ).id
        competition = make_programme(slug="a-competition")
        juror_token = token_for(user(world.juror), "programmes:read")
        db.session.commit()
        competition_id = competition.id
    client = app.test_client()
    address = MEMBERS.format(programme_id=world.programme_id)

    body = client.get(address).get_json()
    as_juror = client.get(address, headers=bearer(juror_token)).get_json()

    assert [m["id"] for m in body["items"]] == [held]
    assert pending not in [m["id"] for m in body["items"]]
    assert body["items"][0]["name"] == world.cluster_name
    assert body["items"][0]["counts"]["members"] == 7
    assert body["next_cursor"] is None
    assert as_juror == body
    assert client.get(MEMBERS.format(programme_id=competition_id)).status_code == 404


def test_members_are_paged_by_cursor(app):
    with app.app_context():
        world = build_world()
        first = granted(world)
        today = utcnow().date()
        other = Membership(
            programme_id=world.programme_id,
            organisation_id=make_organisation(name="Other Cluster e.V.").id,
            applicant_id=world.applicant.id,
            services="",
            state=MembershipState.GRANTED,
            applied_at=utcnow(),
            updated_at=utcnow(),
            valid_from=today,
            valid_until=today.replace(year=today.year + 1),
        )
        db.session.add(other)
        db.session.commit()
        second = other.id
    client = app.test_client()
    address = MEMBERS.format(programme_id=world.programme_id)

    page_one = client.get(address + "?limit=1")
    page_two = client.get(address + f"?limit=1&cursor={page_one.get_json()['next_cursor']}")

    assert [m["id"] for m in page_one.get_json()["items"]] == [first]
    assert 'rel="next"' in page_one.headers["Link"]
    assert [m["id"] for m in page_two.get_json()["items"]] == [second]
    assert page_two.get_json()["next_cursor"] is None
