"""Topics have a German and an English name; every page names them in the reader's language."""

from __future__ import annotations

import pytest

from competition.extensions import db
from competition.programmes.models import Topic
from tests.integration.submission_world import build_world, log_in, text, write_draft

pytestmark = pytest.mark.postgres


def _world_with_named_topic(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        topic = db.session.get(Topic, world.topic_id)
        topic.name_en, topic.name_de = "Laser technology", "Lasertechnik"
        db.session.commit()
        draft = write_draft(world)
        db.session.commit()
    return world, draft


def test_a_german_applicant_reads_the_topics_german_name(make_app):
    app = make_app(default_locale="de")
    world, draft = _world_with_named_topic(app)
    browser = log_in(app, world.coordinator)

    page = text(browser.get(f"/proposals/{draft.proposal_id}"))
    form = text(browser.get(f"/proposals/{draft.proposal_id}/edit"))

    assert "Lasertechnik" in page and "Laser technology" not in page
    assert "Lasertechnik" in form and "Laser technology" not in form


def test_an_english_officer_reads_the_topics_english_name_in_the_list_and_its_filter(make_app):
    app = make_app(default_locale="en")
    world, draft = _world_with_named_topic(app)
    browser = log_in(app, world.officer)

    listing = text(browser.get("/proposals"))

    assert listing.count("Laser technology") == 2 and "Lasertechnik" not in listing


def test_a_topic_without_a_german_name_shows_its_english_one_to_german_readers(app):
    with app.app_context():
        topic = Topic(slug="weaving", name_en="Smart textiles")
        assert topic.name_in("de") == "Smart textiles"
        assert topic.name_in("en") == "Smart textiles"
