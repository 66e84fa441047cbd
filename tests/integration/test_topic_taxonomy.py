"""Officers of a programme manage its topic taxonomy through the pages: clusters and
cross-cutting themes, two levels, in German and English; applicants and jurors choose from it,
grouped and in their language; a topic in use is retired, never deleted."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.assignment import operations as jury_ops
from competition.assignment.models import JuryMembership, MembershipState
from competition.audit.models import AuditEvent
from competition.extensions import db
from competition.programmes.models import Call, Topic, TopicKind
from competition.proposals import operations as proposal_ops
from competition.proposals.models import Proposal
from tests.conftest import Browser
from tests.factories import make_programme, make_topic, make_user
from tests.helpers import as_person, person
from tests.integration.call_setup_world import field_error
from tests.integration.submission_world import build_world, log_in, text, write_draft

pytestmark = pytest.mark.postgres

UTC = dt.UTC

# innoBB 2025, Berlin-Brandenburg: five clusters and four cross-cutting themes.
CLUSTERS = [
    ("Energietechnik", "Energy technology"),
    ("Gesundheitswirtschaft", "Healthcare industry"),
    ("IKT, Medien und Kreativwirtschaft", "ICT, media and creative industries"),
    ("Optik und Photonik", "Optics and photonics"),
    ("Verkehr, Mobilität und Logistik", "Transport, mobility and logistics"),
]
THEMES = [
    ("Saubere Technologien", "Clean technologies"),
    ("Industrielle Produktion", "Industrial production"),
    ("Smart Cities", "Smart cities"),
    ("Technologietransfer und Innovationsmanagement",
     "Technology transfer and innovation management"),
]  # fmt: skip


def add_topic(  # type: ignore[no-untyped-def]
    browser: Browser, programme_id: int, name_de: str, name_en: str, kind: str, parent: str = ""
):
    url = f"/programmes/{programme_id}/topics/new"
    return browser.submit(
        url, {"name_de": name_de, "name_en": name_en, "kind": kind, "parent_id": parent}
    )


def topic_id(app, name_en: str) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = db.session.scalar(sa.select(Topic.id).where(Topic.name_en == name_en))
        assert found is not None, name_en
        return int(found)


def topic_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(Topic)) or 0)


def build_innobb(app, browser: Browser, programme_id: int) -> None:  # type: ignore[no-untyped-def]
    """The innoBB taxonomy, typed into the pages, with one sub-topic of the first cluster."""
    for kind, names in (("cluster", CLUSTERS), ("theme", THEMES)):
        for name_de, name_en in names:
            response = add_topic(browser, programme_id, name_de, name_en, kind)
            assert response.status_code == 302, text(response)
    energy = topic_id(app, "Energy technology")
    response = add_topic(browser, programme_id, "Wasserstoff", "Hydrogen", "theme", str(energy))
    assert response.status_code == 302, text(response)


def set_locale(app, email: str, locale: str) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        assert user is not None
        user.locale = locale
        db.session.commit()


def order_in(page: str, names: list[str]) -> list[int]:
    return [page.index(name) for name in names]


@pytest.fixture
def world(app):  # type: ignore[no-untyped-def]
    """build_world's programme (its officer, an open call, a coordinator, one shared topic)."""
    with app.app_context():
        return build_world()


# --- the taxonomy through the pages ---------------------------------------------------------


def test_officer_builds_the_innobb_taxonomy_and_applicants_see_it_grouped_in_their_language(
    app, world
):
    officer = log_in(app, world.officer)
    build_innobb(app, officer, world.programme_id)
    with app.app_context():
        draft = write_draft(world, complete=False)
        db.session.commit()
        hydrogen = db.session.scalar(sa.select(Topic).where(Topic.name_en == "Hydrogen"))
        # A sub-topic takes its cluster's kind and its slug from the English name.
        assert (hydrogen.kind, hydrogen.slug) == (TopicKind.CLUSTER, "hydrogen")
        assert hydrogen.parent_id == topic_id(app, "Energy technology")

    listing = text(officer.get(f"/programmes/{world.programme_id}/topics"))
    assert "Clusters" in listing and "Cross-cutting themes" in listing
    assert all(de in listing and en in listing for de, en in CLUSTERS + THEMES)

    set_locale(app, world.coordinator, "de")
    german = text(log_in(app, world.coordinator).get(f"/proposals/{draft.proposal_id}/edit"))
    names_de = ["Cluster", "Energietechnik", "Wasserstoff", "Gesundheitswirtschaft"]
    names_de += ["Verkehr, Mobilität und Logistik", "Querschnittsthemen", "Saubere Technologien"]
    names_de += ["Technologietransfer und Innovationsmanagement"]
    assert order_in(german, names_de) == sorted(order_in(german, names_de))
    assert "Energy technology" not in german and "Clean technologies" not in german
    assert 'class="sub-topic"' in german

    set_locale(app, world.coordinator, "en")
    english = text(log_in(app, world.coordinator).get(f"/proposals/{draft.proposal_id}/edit"))
    names_en = ["Clusters", "Energy technology", "Hydrogen", "Cross-cutting themes"]
    names_en += ["Smart cities"]
    assert order_in(english, names_en) == sorted(order_in(english, names_en))
    assert "Energietechnik" not in english


def test_the_applicant_saves_the_programmes_topics_but_not_another_programmes(app, world):
    officer = log_in(app, world.officer)
    add_topic(officer, world.programme_id, "Optik und Photonik", "Optics and photonics", "cluster")
    with app.app_context():
        elsewhere = make_topic(programme_id=make_programme().id, name="Maritime industry")
        draft = write_draft(world, complete=False)
        db.session.commit()
        elsewhere_id = elsewhere.id
    optics = topic_id(app, "Optics and photonics")
    coordinator = log_in(app, world.coordinator)
    editor = f"/proposals/{draft.proposal_id}/edit"
    assert "Maritime industry" not in text(coordinator.get(editor))

    general = {"acronym": "PHOTON", "title": "Light for Brandenburg", "abstract": ""}
    url = f"/proposals/{draft.proposal_id}/general"
    refused = coordinator.submit(url, {**general, "topics": [optics, elsewhere_id]}, page=editor)
    saved = coordinator.submit(url, {**general, "topics": [optics, world.topic_id]}, page=editor)

    assert refused.status_code == 422
    assert "Choose topics from the list." in text(refused)
    assert saved.status_code in (200, 302, 303)
    with app.app_context():
        proposal = db.session.get(Proposal, draft.proposal_id)
        assert sorted(t.id for t in proposal.topics) == sorted([optics, world.topic_id])


def test_officer_reorders_renames_and_the_change_is_audited(app, world):
    officer = log_in(app, world.officer)
    for name_de, name_en in CLUSTERS[:3]:
        add_topic(officer, world.programme_id, name_de, name_en, "cluster")
    health = topic_id(app, "Healthcare industry")
    page = f"/programmes/{world.programme_id}/topics"

    moved = officer.submit(f"/topics/{health}/move", {"direction": "up"}, page=page)
    renamed = officer.submit(
        f"/topics/{health}/edit",
        {"name_de": "Gesundheit", "name_en": "Health", "kind": "cluster", "parent_id": ""},
    )

    assert moved.status_code == 302 and renamed.status_code == 302
    listing = text(officer.get(page))
    assert order_in(listing, ["Health", "Energy technology", "ICT, media"]) == sorted(
        order_in(listing, ["Health", "Energy technology", "ICT, media"])
    )
    with app.app_context():
        topic = db.session.get(Topic, health)
        assert topic.slug == "healthcare-industry"  # frozen versions name topics by slug
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.object_type == "topic")
        ).all()
        assert sorted(set(actions)) == ["topic.created", "topic.moved", "topic.updated"]


def test_the_programme_page_links_to_its_topics(app, world):
    page = text(log_in(app, world.officer).get(f"/programmes/{world.programme_id}"))
    assert f"/programmes/{world.programme_id}/topics" in page


# --- bad input: the message at the field, 422, nothing saved ----------------------------------


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"name_de": ""}, "name_de", "Enter the topic's German name."),
        ({"name_en": "  "}, "name_en", "Enter the topic's English name."),
        ({"name_en": "energy technology"}, "name_en", "already has a topic “energy technology”"),
        ({"name_de": "Energietechnik"}, "name_de", "already has a topic “Energietechnik”"),
        ({"name_en": "Energy-Technology!"}, "name_en", "too close to the topic"),
        ({"name_en": "!!!"}, "name_en", "Use letters or digits in the English name."),
        ({"kind": "sector"}, "kind", "Choose a cluster or a cross-cutting theme."),
        ({"parent_id": "SUB"}, "parent_id", "is itself a sub-topic; the taxonomy has two levels"),
        ({"parent_id": "OTHER"}, "parent_id", "Choose a topic of this programme."),
    ],
)
def test_bad_topic_input_is_refused_at_its_field_and_nothing_is_saved(
    app, world, values, field, message
):
    officer = log_in(app, world.officer)
    add_topic(officer, world.programme_id, "Energietechnik", "Energy technology", "cluster")
    energy = topic_id(app, "Energy technology")
    add_topic(officer, world.programme_id, "Wasserstoff", "Hydrogen", "cluster", str(energy))
    with app.app_context():
        other = make_topic(programme_id=make_programme().id, name="Elsewhere")
        db.session.commit()
        parents = {"SUB": str(topic_id(app, "Hydrogen")), "OTHER": str(other.id)}
    before = topic_count(app)
    data = {"name_de": "Brennstoffzellen", "name_en": "Fuel cells", "kind": "cluster"}
    data |= {"parent_id": ""} | values
    data["parent_id"] = parents.get(data["parent_id"], data["parent_id"])

    response = officer.submit(f"/programmes/{world.programme_id}/topics/new", data)

    assert response.status_code == 422
    assert message in field_error(response, field)
    assert topic_count(app) == before


def test_a_cluster_with_sub_topics_cannot_become_a_sub_topic(app, world):
    officer = log_in(app, world.officer)
    add_topic(officer, world.programme_id, "Energietechnik", "Energy technology", "cluster")
    add_topic(officer, world.programme_id, "Optik und Photonik", "Optics and photonics", "cluster")
    energy, optics = topic_id(app, "Energy technology"), topic_id(app, "Optics and photonics")
    add_topic(officer, world.programme_id, "Wasserstoff", "Hydrogen", "cluster", str(energy))

    response = officer.submit(
        f"/topics/{energy}/edit",
        {
            "name_de": "Energietechnik",
            "name_en": "Energy technology",
            "kind": "cluster",
            "parent_id": str(optics),
        },
    )

    assert response.status_code == 422
    assert "has sub-topics of its own" in field_error(response, "parent_id")
    with app.app_context():
        assert db.session.get(Topic, energy).parent_id is None


def test_two_programmes_may_name_a_topic_alike_and_each_gets_its_own_slug(app, world):
    officer = log_in(app, world.officer)
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == world.officer))
        second = make_programme(officers=(user,))
        db.session.commit()
        second_id = second.id

    add_topic(officer, world.programme_id, "Energietechnik", "Energy technology", "cluster")
    again = add_topic(officer, second_id, "Energietechnik", "Energy technology", "cluster")

    assert again.status_code == 302
    with app.app_context():
        slugs = db.session.scalars(sa.select(Topic.slug).order_by(Topic.id)).all()
        assert slugs[-2:] == ["energy-technology", "energy-technology-2"]


# --- who may manage it ------------------------------------------------------------------------


def test_an_officer_of_another_programme_cannot_see_or_change_the_taxonomy(app, world):
    add_topic(
        log_in(app, world.officer), world.programme_id, "Smart Cities", "Smart cities", "theme"
    )
    topic = topic_id(app, "Smart cities")
    with app.app_context():
        stranger = make_user(roles=(Role.OFFICER,))
        make_programme(officers=(stranger,))
        shared = world.topic_id
        db.session.commit()
        intruder = as_person(app, person(stranger))
    token_page = "/programmes"

    for url in (
        f"/programmes/{world.programme_id}/topics",
        f"/programmes/{world.programme_id}/topics/new",
        f"/topics/{topic}/edit",
        f"/topics/{topic}/delete",
        f"/topics/{shared}/edit",
    ):
        assert intruder.get(url).status_code == 404, url
    for url, data in (
        (f"/programmes/{world.programme_id}/topics/new", {"name_de": "X", "name_en": "X"}),
        (f"/topics/{topic}/edit", {"name_de": "X", "name_en": "X", "kind": "theme"}),
        (f"/topics/{topic}/move", {"direction": "up"}),
        (f"/topics/{topic}/retire", {}),
        (f"/topics/{topic}/reinstate", {}),
        (f"/topics/{topic}/delete", {}),
    ):
        assert intruder.submit(url, data, page=token_page).status_code == 404, url
    with app.app_context():
        unchanged = db.session.get(Topic, topic)
        assert (unchanged.name_en, unchanged.retired_at) == ("Smart cities", None)


def test_applicants_and_jurors_have_no_taxonomy_pages(app, world):
    coordinator = log_in(app, world.coordinator)
    assert coordinator.get(f"/programmes/{world.programme_id}/topics").status_code == 403


# --- retiring and deleting ---------------------------------------------------------------------


def _juror_on_the_jury(app, world) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        juror = make_user(roles=(Role.JUROR,))
        db.session.add(
            JuryMembership(
                call_id=world.call_id,
                user_id=juror.id,
                state=MembershipState.ACCEPTED,
                invited_at=dt.datetime.now(UTC),
            )
        )
        db.session.commit()
        return juror.email


def test_deleting_a_used_topic_is_refused_with_counts_and_retiring_is_offered(app, world):
    officer = log_in(app, world.officer)
    add_topic(officer, world.programme_id, "Energietechnik", "Energy technology", "cluster")
    energy = topic_id(app, "Energy technology")
    juror_email = _juror_on_the_jury(app, world)
    with app.app_context():
        draft = write_draft(world, complete=False)
        coordinator = db.session.scalar(sa.select(User).where(User.email == world.coordinator))
        proposal = db.session.get(Proposal, draft.proposal_id)
        proposal_ops.update_general(
            proposal,
            actor=coordinator,
            acronym="GRID",
            title="Grids",
            abstract="",
            topic_ids=[energy],
            now=dt.datetime.now(UTC),
        )
        juror = db.session.scalar(sa.select(User).where(User.email == juror_email))
        jury_ops.update_juror_profile(
            juror,
            actor=juror,
            affiliation_id=None,
            former_organisation_ids=[],
            topic_ids=[energy],
            max_load=None,
            expertise_text="",
            now=dt.datetime.now(UTC),
        )
        db.session.commit()

    confirm = text(officer.get(f"/topics/{energy}/delete"))
    refused = officer.submit(f"/topics/{energy}/delete", {})

    said = "“Energy technology” is named by 1 proposal and 1 juror, so it cannot be deleted."
    assert said in confirm and "Retire it" in confirm and "Yes, delete it" not in confirm
    assert refused.status_code == 422 and said in text(refused)
    assert topic_id(app, "Energy technology") == energy

    retired = officer.submit(f"/topics/{energy}/retire", {}, page=f"/topics/{energy}/delete")
    assert retired.status_code == 302
    # Retired: still shown where chosen, no longer offered for new choices.
    chosen = text(log_in(app, world.coordinator).get(f"/proposals/{draft.proposal_id}/edit"))
    assert "Energy technology (retired)" in chosen
    with app.app_context():
        other = write_draft_for_new_coordinator(world)
    fresh = text(log_in(app, other[0]).get(f"/proposals/{other[1]}/edit"))
    assert "Energy technology" not in fresh
    profile = text(as_person(app, juror_email).get("/jury/profile"))
    assert "Energy technology (retired)" in profile


def write_draft_for_new_coordinator(world) -> tuple[str, int]:  # type: ignore[no-untyped-def]
    coordinator = make_user(roles=(Role.APPLICANT,))
    call = db.session.get(Call, world.call_id)
    proposal = proposal_ops.start_proposal(
        call, actor=coordinator, acronym="NEW", title="New", now=dt.datetime.now(UTC)
    )
    db.session.commit()
    return coordinator.email, proposal.id


def test_an_unused_topic_is_deleted_after_confirmation_and_audited(app, world):
    officer = log_in(app, world.officer)
    add_topic(officer, world.programme_id, "Smart Cities", "Smart cities", "theme")
    topic = topic_id(app, "Smart cities")

    confirm = text(officer.get(f"/topics/{topic}/delete"))
    deleted = officer.submit(f"/topics/{topic}/delete", {})

    assert "Yes, delete it" in confirm
    assert deleted.status_code == 302
    with app.app_context():
        assert db.session.get(Topic, topic) is None
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "topic.removed"))
        assert event is not None and event.object_id == str(topic)


def test_a_cluster_with_sub_topics_is_not_deleted_and_retiring_it_retires_them(app, world):
    officer = log_in(app, world.officer)
    add_topic(officer, world.programme_id, "Energietechnik", "Energy technology", "cluster")
    energy = topic_id(app, "Energy technology")
    add_topic(officer, world.programme_id, "Wasserstoff", "Hydrogen", "cluster", str(energy))

    refused = officer.submit(f"/topics/{energy}/delete", {})
    officer.submit(f"/topics/{energy}/retire", {}, page=f"/programmes/{world.programme_id}/topics")

    assert refused.status_code == 422 and "has 1 sub-topic" in text(refused)
    with app.app_context():
        retired = db.session.scalars(sa.select(Topic).where(Topic.programme_id.isnot(None))).all()
        assert all(t.retired_at is not None for t in retired) and len(retired) == 2


# --- jurors and the filters --------------------------------------------------------------------


def test_the_juror_profile_offers_the_topics_of_the_jurors_programmes_grouped(app, world):
    officer = log_in(app, world.officer)
    add_topic(officer, world.programme_id, "Optik und Photonik", "Optics and photonics", "cluster")
    add_topic(officer, world.programme_id, "Smart Cities", "Smart cities", "theme")
    juror_email = _juror_on_the_jury(app, world)
    with app.app_context():
        maritime = make_topic(programme_id=make_programme().id, name="Maritime industry").id
        db.session.commit()
    juror = as_person(app, juror_email)

    profile = text(juror.get("/jury/profile"))
    optics = topic_id(app, "Optics and photonics")
    refused = juror.submit("/jury/profile", {"topic_ids": [optics, maritime]})
    saved = juror.submit("/jury/profile", {"topic_ids": [optics]})

    assert "Optics and photonics" in profile and "Smart cities" in profile
    assert "Maritime industry" not in profile
    names = ["Clusters", "Optics and photonics", "Cross-cutting themes", "Smart cities"]
    assert order_in(profile, names) == sorted(order_in(profile, names))
    assert refused.status_code == 422 and "Choose topics from the list." in text(refused)
    assert saved.status_code == 302


def test_the_officers_proposal_filter_groups_the_programmes_topics_retired_ones_too(app, world):
    officer = log_in(app, world.officer)
    add_topic(officer, world.programme_id, "Smart Cities", "Smart cities", "theme")
    smart = topic_id(app, "Smart cities")
    officer.submit(f"/topics/{smart}/retire", {}, page=f"/programmes/{world.programme_id}/topics")
    with app.app_context():
        make_topic(programme_id=make_programme().id, name="Maritime industry")
        db.session.commit()

    listing = text(officer.get("/proposals"))

    assert re.search(
        r'<optgroup label="Cross-cutting themes">\s*<option value="smart-cities"', listing
    )
    assert "Smart cities (retired)" in listing and "Maritime industry" not in listing


def test_a_retired_topic_is_offered_again_but_not_a_sub_topic_of_a_retired_cluster(app, world):
    officer = log_in(app, world.officer)
    add_topic(officer, world.programme_id, "Energietechnik", "Energy technology", "cluster")
    energy = topic_id(app, "Energy technology")
    add_topic(officer, world.programme_id, "Wasserstoff", "Hydrogen", "cluster", str(energy))
    hydrogen = topic_id(app, "Hydrogen")
    page = f"/programmes/{world.programme_id}/topics"
    officer.submit(f"/topics/{energy}/retire", {}, page=page)

    refused = officer.submit(f"/topics/{hydrogen}/reinstate", {}, page=page)
    assert "“Energy technology” is retired: reinstate it first." in text(officer.get(page))
    again = officer.submit(f"/topics/{energy}/reinstate", {}, page=page)

    assert refused.status_code == 302 and again.status_code == 302
    with app.app_context():
        assert db.session.get(Topic, energy).retired_at is None
        assert db.session.get(Topic, hydrogen).retired_at is not None
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("topic.re%"))
        ).all()
        assert sorted(actions) == ["topic.reinstated", "topic.retired"]
