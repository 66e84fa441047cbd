"""The juror's profile at registry scale: organisations are typed names offered by the registry's
search, never a select of the whole registry; a typed name is matched exactly (case-insensitive)
on submit, and an unknown, ambiguous or merged one is refused at its field with nothing saved.
And the officer's "why this juror" column counts a juror's cluster for a proposal's sub-topic."""

# ruff: noqa: F811

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment.models import JurorProfile
from competition.extensions import db
from competition.organisations.models import Organisation
from competition.programmes.models import Topic
from competition.proposals.models import Proposal
from tests.factories import make_organisation, make_topic
from tests.helpers import as_person, in_app, queries_for_page, text
from tests.integration.jury_world import (
    accept_and_profile,
    world,  # noqa: F401  (a fixture, found by name)
)
from tests.integration.test_assignment_runs import build_world, start

pytestmark = pytest.mark.postgres

REGISTRY = 500


def profile_of(app, world):  # type: ignore[no-untyped-def]
    with in_app(app):
        profile = db.session.scalar(
            sa.select(JurorProfile).where(JurorProfile.user_id == world.juror.id)
        )
        if profile is None:
            return None
        db.session.expunge(profile)
        return profile


def organisation_named(app, name: str, **values: object) -> int:  # type: ignore[no-untyped-def]
    with in_app(app):
        organisation = make_organisation(name=name, **values)
        db.session.commit()
        return organisation.id


# --- the page ------------------------------------------------------------------------------------


def test_the_profile_page_names_none_of_a_large_registry_and_stays_small(app, world):
    accept_and_profile(app, world)
    with in_app(app):
        for n in range(REGISTRY):
            db.session.add(
                Organisation(name=f"Registry Member {n:04d}", kind="university", country="DE")
            )
        db.session.commit()
    browser = as_person(app, world.juror)

    page = text(browser.get("/jury/profile"))
    queries = queries_for_page(app, browser, "/jury/profile")

    assert "Registry Member" not in page
    assert "Elsewhere Institute" not in page  # in the registry, not in the profile
    assert len(page.encode()) < 40_000
    # The saved organisations are shown, and the search is wired to both name fields.
    assert 'value="Partner Institute"' in page
    assert "Former Institute" in page
    search = 'data-organisation-search="/organisations/search"'
    assert re.search(rf'<input[^>]*{search}[^>]*name="affiliation"', page)
    assert re.search(rf'<input[^>]*{search}[^>]*name="add_former"', page)
    assert "organisations.js" in page and "<script>" not in page
    assert queries < 20


def test_a_new_juror_finds_their_account_organisation_filled_in(app, world):
    with in_app(app):
        juror = db.session.get(User, world.juror.id)
        juror.organisation_id = world.organisations["coordinator"]
        db.session.commit()

    page = text(as_person(app, world.juror).get("/jury/profile"))

    assert 'value="Coordinator Institute"' in page


def test_the_registry_search_offers_names_to_a_juror_but_never_a_merged_one(app, world):
    kept = organisation_named(app, "Helmholtz Photonics Centre")
    with in_app(app):
        make_organisation(name="Helmholtz Photonics Center", merged_into_id=kept)
        db.session.commit()

    found = as_person(app, world.juror).get("/organisations/search?q=photonics").get_json()

    assert [o["name"] for o in found["results"]] == ["Helmholtz Photonics Centre"]


# --- typed names ----------------------------------------------------------------------------------


def test_typed_names_are_matched_exactly_whatever_the_case_and_spacing(app, world):
    accept_and_profile(app, world)
    browser = as_person(app, world.juror)

    response = browser.submit(
        "/jury/profile",
        {
            "affiliation": "new_home   institute",
            "former_organisation_ids": [str(world.organisations["former"])],
            "add_former": " PARTNER institute",
        },
    )

    assert response.status_code == 302
    profile = profile_of(app, world)
    assert profile.affiliation_id == world.organisations["new_home"]
    assert sorted(profile.former_organisation_ids) == sorted(
        [world.organisations["former"], world.organisations["partner"]]
    )


def test_unticking_a_former_organisation_removes_it_and_an_empty_name_clears_the_affiliation(
    app, world
):
    accept_and_profile(app, world)

    response = as_person(app, world.juror).submit("/jury/profile", {"affiliation": ""})

    assert response.status_code == 302
    profile = profile_of(app, world)
    assert profile.affiliation_id is None
    assert profile.former_organisation_ids == []


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        (
            {"affiliation": "Partner Instit"},
            "affiliation",
            "No organisation in the registry is called “Partner Instit”",
        ),
        (
            {"affiliation": "Partner Institute", "add_former": "Nowhere"},
            "add_former",
            "No organisation in the registry is called “Nowhere”",
        ),
    ],
)
def test_an_unknown_name_is_refused_at_its_field_and_nothing_is_saved(
    app, world, fields, field, message
):
    accept_and_profile(app, world)
    before = profile_of(app, world)

    response = as_person(app, world.juror).submit("/jury/profile", {**fields, "max_load": "7"})

    assert response.status_code == 422
    page = text(response)
    assert re.search(rf'id="{field}-error">{re.escape(message)}', page)
    # What was typed stays in the field, to be corrected.
    assert f'value="{fields[field]}"' in page
    after = profile_of(app, world)
    assert (after.affiliation_id, after.former_organisation_ids, after.max_load) == (
        before.affiliation_id,
        before.former_organisation_ids,
        before.max_load,
    )


def test_an_ambiguous_name_is_refused_with_a_clear_message(app, world):
    accept_and_profile(app, world)
    organisation_named(app, "Institut Pasteur", country="FR")
    organisation_named(app, "Institut Pasteur", country="DE")

    response = as_person(app, world.juror).submit(
        "/jury/profile", {"affiliation": "institut pasteur"}
    )

    assert response.status_code == 422
    assert re.search(
        r'id="affiliation-error">Several organisations in the registry are called '
        r"“institut pasteur”",
        text(response),
    )
    assert profile_of(app, world).affiliation_id == world.organisations["partner"]


def test_a_saved_affiliation_stays_when_another_organisation_takes_the_same_name(app, world):
    accept_and_profile(app, world)
    organisation_named(app, "Partner Institute", country="AT")

    response = as_person(app, world.juror).submit(
        "/jury/profile", {"affiliation": "Partner Institute"}
    )

    assert response.status_code == 302
    assert profile_of(app, world).affiliation_id == world.organisations["partner"]


def test_a_merged_organisations_name_is_refused(app, world):
    accept_and_profile(app, world)
    kept = organisation_named(app, "Leibniz Centre")
    organisation_named(app, "Leibniz Center", merged_into_id=kept)

    response = as_person(app, world.juror).submit(
        "/jury/profile", {"affiliation": "Leibniz Centre", "add_former": "Leibniz Center"}
    )

    assert response.status_code == 422
    assert re.search(
        r'id="add_former-error">No organisation in the registry is called', text(response)
    )
    assert profile_of(app, world).affiliation_id == world.organisations["partner"]


def test_a_german_juror_reads_the_refusal_in_german(app, world):
    accept_and_profile(app, world)
    with in_app(app):
        db.session.get(User, world.juror.id).locale = "de"
        db.session.commit()

    response = as_person(app, world.juror).submit("/jury/profile", {"affiliation": "Nirgendwo"})

    assert response.status_code == 422
    assert re.search(r'id="affiliation-error">[^<]*„Nirgendwo“', text(response))


# --- sub-topics in the officer's "why this juror" -------------------------------------------------


def test_the_officer_sees_a_juror_on_the_cluster_match_a_proposal_on_its_sub_topic(app):
    with app.app_context():
        w = build_world()
        batteries = db.session.scalar(sa.select(Topic).where(Topic.name_en == "Batteries"))
        solid_state = make_topic(name="Solid-state cells", parent_id=batteries.id)
        proposal = db.session.get(Proposal, w.proposals[1])  # a batteries proposal
        proposal.topics = [solid_state]
        db.session.commit()
    officer = as_person(app, w.officer)
    start(officer, w)

    page = text(officer.get(w.proposal_page(w.proposals[1])))

    # Ada and Cleo know Batteries, the cluster above the proposal's sub-topic: half its topics.
    assert re.search(r"topics 50\s*%\s*\(Batteries\)", page)
