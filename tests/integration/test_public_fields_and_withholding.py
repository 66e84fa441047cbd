"""What the portal may show of a programme's funded consortia, set by its officer on the
programme's set-up page, and a partner's name withheld from the public at the consortium's
request: asked for with a reason on the proposal's or the grant's page, lifted again, seen by
the consortium and the programme's officers only."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.audit.models import AuditEvent
from competition.extensions import db
from competition.grants.models import GrantState
from competition.programmes.models import Programme
from competition.proposals.models import (
    ConsortiumMember,
    ContributorRole,
    ProposalContributor,
    ProposalState,
)
from tests.factories import (
    make_call,
    make_grant,
    make_organisation,
    make_programme,
    make_proposal,
    make_user,
)
from tests.helpers import Person, as_person, person, text
from tests.integration.programme_pages import form_fields

pytestmark = pytest.mark.postgres

MARKER = "Name withheld from the public at the consortium's request"


@dataclass(frozen=True)
class World:
    officer: Person
    coordinator: Person
    contributor: Person  # edits, without the coordinator's rights
    outsider: Person  # an applicant of another consortium
    other_officer: Person  # runs another programme
    programme_id: int
    proposal_id: int
    grant_id: int
    partner_id: int  # the consortium member whose name is withheld


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,), name="Olga Officer")
        other_officer = make_user(roles=(Role.OFFICER,))
        make_call(make_programme(officers=(other_officer,)))
        coordinator = make_user(name="Cora Coordinator")
        contributor = make_user(name="Carl Contributor")
        outsider = make_user(name="Otto Outsider")
        programme = make_programme(officers=(officer,), slug="c4f", name="Clusters4Future")
        call = make_call(programme)
        proposal = make_proposal(
            call,
            coordinator=coordinator,
            organisations=(
                make_organisation(name="Leading University"),
                make_organisation(name="Stealth Robotics GmbH"),
            ),
            state=ProposalState.FUNDED,
        )
        db.session.add(
            ProposalContributor(
                proposal_id=proposal.id, user_id=contributor.id, role=ContributorRole.CONTRIBUTOR
            )
        )
        make_proposal(call, coordinator=outsider)
        grant = make_grant(proposal, state=GrantState.RUNNING)
        partner = next(m for m in proposal.members if m.organisation.name.startswith("Stealth"))
        db.session.commit()
        return World(
            officer=person(officer),
            coordinator=person(coordinator),
            contributor=person(contributor),
            outsider=person(outsider),
            other_officer=person(other_officer),
            programme_id=programme.id,
            proposal_id=proposal.id,
            grant_id=grant.id,
            partner_id=partner.id,
        )


def events(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


def field_error(page: str, field: str) -> str:
    match = re.search(rf'id="{field}-error">(.*?)</p>', page, re.S)
    return match.group(1).strip() if match else ""


def speak_german(app, who: Person) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        db.session.get(User, who.id).locale = "de"
        db.session.commit()


# --- public fields -----------------------------------------------------------------------------


def public_fields_of(app, world: World) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.get(Programme, world.programme_id).public_fields)


def test_the_officer_chooses_the_public_fields_on_the_set_up_page(app, world):
    officer = as_person(app, world.officer)
    url = f"/programmes/{world.programme_id}/edit"
    page = text(officer.get(url))
    fields = form_fields(page, url)
    # Every field is public until the officer says otherwise.
    assert fields["public_fields"] == [
        "summary",
        "coordinator",
        "partners",
        "topics",
        "funding",
        "period",
        "state",
    ]
    assert "Partners with federal state and kind" in page

    saved = officer.submit(url, {**fields, "public_fields": ["summary", "topics", "period"]})

    assert saved.status_code == 302
    assert public_fields_of(app, world) == ["summary", "topics", "period"]
    (event,) = events(app, "programme.public_fields_changed")
    assert event.before == {"public_fields": fields["public_fields"]}
    assert event.after == {"public_fields": ["summary", "topics", "period"]}
    assert event.object_id == str(world.programme_id)
    shown = text(officer.get(f"/programmes/{world.programme_id}"))
    assert re.search(r'id="public-fields">Summary, Topics, Period of the grant<', shown)
    # The form shows what is kept; saving it unchanged records nothing more.
    again = form_fields(text(officer.get(url)), url)
    assert again["public_fields"] == ["summary", "topics", "period"]
    assert officer.submit(url, again).status_code == 302
    assert len(events(app, "programme.public_fields_changed")) == 1


def test_in_german_the_officer_can_make_nothing_but_acronym_and_title_public(app, world):
    speak_german(app, world.officer)
    officer = as_person(app, world.officer)
    url = f"/programmes/{world.programme_id}/edit"
    page = text(officer.get(url))
    assert "Was das öffentliche Portal von einem geförderten Verbund zeigt" in page
    assert "Partner mit Bundesland und Art" in page
    fields = form_fields(page, url)
    del fields["public_fields"]  # every box unticked

    saved = officer.submit(url, {**fields, "total_budget": "100.000.000"})

    assert saved.status_code == 302
    assert public_fields_of(app, world) == []
    shown = text(officer.get(f"/programmes/{world.programme_id}"))
    assert "Nur Akronym und Titel" in shown


def test_a_post_without_the_boxes_keeps_the_public_fields(app, world):
    officer = as_person(app, world.officer)
    url = f"/programmes/{world.programme_id}/edit"
    base = {"name": "Clusters4Future", "slug": "c4f", "total_budget": "100000000"}
    assert officer.submit(url, base).status_code == 302
    assert len(public_fields_of(app, world)) == 7
    refused = officer.submit(
        url, {**base, "public_fields_shown": "1", "public_fields": ["summary", "home address"]}
    )
    assert refused.status_code == 422
    assert field_error(text(refused), "public_fields")
    assert len(public_fields_of(app, world)) == 7


def test_only_the_programmes_officers_reach_its_set_up_page(app, world):
    url = f"/programmes/{world.programme_id}/edit"
    assert as_person(app, world.other_officer).get(url).status_code == 404
    assert as_person(app, world.coordinator).get(url).status_code == 403


# --- withholding a partner's name ----------------------------------------------------------------


def withhold_url(world: World) -> str:
    return f"/proposals/{world.proposal_id}/members/{world.partner_id}/withhold-name"


def show_url(world: World) -> str:
    return f"/proposals/{world.proposal_id}/members/{world.partner_id}/show-name"


def is_withheld(app, world: World) -> bool:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.get(ConsortiumMember, world.partner_id).name_withheld


def test_the_coordinator_withholds_a_partners_name_with_a_reason(app, world):
    coordinator = as_person(app, world.coordinator)
    proposal_page = text(coordinator.get(f"/proposals/{world.proposal_id}"))
    assert f'href="{withhold_url(world)}?next=/proposals/{world.proposal_id}"' in proposal_page

    empty = coordinator.submit(withhold_url(world), {"reason": "  "})
    assert empty.status_code == 422
    assert "Give the reason" in field_error(text(empty), "reason")
    assert not is_withheld(app, world)
    assert events(app, "consortium_member.name_withheld") == []

    done = coordinator.submit(
        withhold_url(world),
        {"reason": "The company has not announced its part yet.", "next": "/grants/1"},
        page=f"{withhold_url(world)}?next=/grants/{world.grant_id}",
    )

    assert done.status_code == 302 and done.location.endswith("/grants/1")
    assert is_withheld(app, world)
    (event,) = events(app, "consortium_member.name_withheld")
    assert event.object_type == "consortium_member"
    assert event.object_id == str(world.partner_id)
    assert event.personal["after"]["reason"] == "The company has not announced its part yet."
    assert event.after["name_withheld"] is True and event.before == {"name_withheld": False}
    # Asking again changes nothing and records nothing.
    coordinator.submit(withhold_url(world), {"reason": "Again."})
    assert len(events(app, "consortium_member.name_withheld")) == 1


def test_the_grant_page_leads_to_the_request_and_back(app, world):
    coordinator = as_person(app, world.coordinator)
    grant_page = text(coordinator.get(f"/grants/{world.grant_id}"))
    link = f"{withhold_url(world)}?next=/grants/{world.grant_id}"
    assert f'href="{link}"' in grant_page
    confirmation = text(coordinator.get(link))
    assert "Withhold the name of Stealth Robotics GmbH from the public?" in confirmation

    done = coordinator.submit(
        withhold_url(world),
        form_fields(confirmation, withhold_url(world)) | {"reason": "Not yet announced."},
        page=link,
    )

    assert done.status_code == 302
    assert done.location.endswith(f"/grants/{world.grant_id}")
    assert MARKER in text(coordinator.get(f"/grants/{world.grant_id}"))


def test_officers_of_the_programme_see_the_marker_on_the_grant_page(app, world):
    as_person(app, world.coordinator).submit(withhold_url(world), {"reason": "Not yet public."})

    officer_page = text(as_person(app, world.officer).get(f"/grants/{world.grant_id}"))
    assert MARKER in officer_page
    row = re.search(rf'<tr data-member="{world.partner_id}">.*?</tr>', officer_page, re.S)
    assert row and "Stealth Robotics GmbH" in row.group(0) and MARKER in row.group(0)
    # Officers see it; they do not change it.
    assert withhold_url(world) not in officer_page and show_url(world) not in officer_page
    assert MARKER in text(as_person(app, world.officer).get(f"/proposals/{world.proposal_id}"))
    assert MARKER in text(as_person(app, world.contributor).get(f"/grants/{world.grant_id}"))


def test_officers_read_the_marker_in_german(app, world):
    as_person(app, world.coordinator).submit(withhold_url(world), {"reason": "Not yet public."})
    speak_german(app, world.officer)
    page = text(as_person(app, world.officer).get(f"/grants/{world.grant_id}"))
    assert "Name auf Wunsch des Verbunds nicht öffentlich" in page


@pytest.mark.parametrize("url", [withhold_url, show_url])
def test_nobody_outside_the_consortium_and_its_officers_learns_of_the_partner(app, world, url):
    address = url(world)
    outsider = as_person(app, world.outsider)
    assert outsider.get(address).status_code == 404
    assert outsider.submit(address, {"reason": "Mine now."}, page="/").status_code == 404
    assert as_person(app, world.other_officer).get(f"/grants/{world.grant_id}").status_code == 404
    assert not is_withheld(app, world)
    assert events(app, "consortium_member.name_withheld") == []


def test_a_contributor_without_the_coordinators_rights_cannot_withhold(app, world):
    contributor = as_person(app, world.contributor)
    page = contributor.get(withhold_url(world))
    assert page.status_code == 403
    assert "Only the consortium's coordinator" in text(page)
    refused = contributor.submit(withhold_url(world), {"reason": "Because."}, page="/")
    assert refused.status_code == 403
    assert not is_withheld(app, world)


def test_the_coordinator_lifts_the_withholding(app, world):
    coordinator = as_person(app, world.coordinator)
    coordinator.submit(withhold_url(world), {"reason": "Not yet public."})
    page = text(coordinator.get(f"/proposals/{world.proposal_id}"))
    assert MARKER in page and f'href="{show_url(world)}?next=' in page

    lifted = coordinator.submit(show_url(world), {"reason": "Announced today."})

    assert lifted.status_code == 302
    assert lifted.location.endswith(f"/proposals/{world.proposal_id}#public-names")
    assert not is_withheld(app, world)
    (event,) = events(app, "consortium_member.name_shown")
    assert (
        event.personal["after"]["reason"] == "Announced today."
        and event.after["name_withheld"] is False
    )
    assert MARKER not in text(coordinator.get(f"/proposals/{world.proposal_id}"))


def test_the_way_back_never_leaves_the_site(app, world):
    coordinator = as_person(app, world.coordinator)
    done = coordinator.submit(
        withhold_url(world), {"reason": "Not yet public.", "next": "//evil.example/x"}
    )
    assert done.status_code == 302
    assert done.location.endswith(f"/proposals/{world.proposal_id}#public-names")
