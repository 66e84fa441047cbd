"""Topics have a German and an English name; every page names them in the reader's language."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.extensions import db
from competition.programmes.models import Topic
from tests.helpers import as_person
from tests.integration.reviews_world import world  # noqa: F401  (a fixture)
from tests.integration.submission_world import build_world, log_in, text, write_draft

pytestmark = pytest.mark.postgres


def _world_with_named_topic(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        built = build_world()
        topic = db.session.get(Topic, built.topic_id)
        topic.name_en, topic.name_de = "Laser technology", "Lasertechnik"
        db.session.commit()
        draft = write_draft(built)
        db.session.commit()
    return built, draft


def test_a_german_applicant_reads_the_topics_german_name(make_app):
    app = make_app(default_locale="de")
    built, draft = _world_with_named_topic(app)
    browser = log_in(app, built.coordinator)

    page = text(browser.get(f"/proposals/{draft.proposal_id}"))
    form = text(browser.get(f"/proposals/{draft.proposal_id}/edit"))

    assert "Lasertechnik" in page and "Laser technology" not in page
    assert "Lasertechnik" in form and "Laser technology" not in form


def test_an_english_officer_reads_the_topics_english_name_in_the_list_and_its_filter(make_app):
    app = make_app(default_locale="en")
    built, draft = _world_with_named_topic(app)
    browser = log_in(app, built.officer)

    listing = text(browser.get("/proposals"))

    assert listing.count("Laser technology") == 2 and "Lasertechnik" not in listing


def test_a_topic_without_a_german_name_shows_its_english_one_to_german_readers(app):
    with app.app_context():
        topic = Topic(slug="weaving", name_en="Smart textiles")
        assert topic.name_in("de") == "Smart textiles"
        assert topic.name_in("en") == "Smart textiles"


def test_a_german_juror_reads_submitted_topics_by_their_german_name(app, world):  # noqa: F811
    with app.app_context():
        topic = db.session.scalar(sa.select(Topic).where(Topic.name_en == "Energy systems"))
        topic.name_de = "Energiesysteme"
        juror = db.session.scalar(sa.select(User).where(User.email == world.juror.email))
        juror.locale = "de"
        slug = topic.slug
        db.session.commit()

    page = text(as_person(app, world.juror).get(world.review_url(world.juror)))

    assert "Themen: Energiesysteme" in page
    assert slug not in page
