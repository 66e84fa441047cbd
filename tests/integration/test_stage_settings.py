"""Officers set a stage's review due date, bidding window and minimum comment length, and a call's
blind reviews, on the set-up pages; jurors' bidding, reviewing and reminders follow them."""

# ruff: noqa: F811
from __future__ import annotations

import datetime as dt
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment.models import Bid
from competition.audit.models import AuditEvent
from competition.db import UTCDateTime, utcnow
from competition.extensions import db
from competition.notifications.models import Notification
from competition.programmes.forms import format_attachments, format_sections
from competition.programmes.models import Call, Stage
from competition.reviews import operations as review_ops
from competition.reviews.models import ReminderSent, Review, ReviewState
from tests.conftest import Browser
from tests.helpers import as_person, in_app, text
from tests.integration.call_setup_world import (
    CALL,
    field_error,
    officer,  # noqa: F401  (a fixture, found by name)
    officer_browser,  # noqa: F401  (a fixture, found by name)
    setup,  # noqa: F401  (a fixture, found by name)
)
from tests.integration.jury_world import accept_and_profile
from tests.integration.jury_world import world as jury  # noqa: F401  (a fixture, found by name)
from tests.integration.reviews_world import GOOD_COMMENT, post_review, submit_for
from tests.integration.reviews_world import world as reviews  # noqa: F401  (a fixture, found by name)
from tests.integration.test_migrations import fresh_url, migrated  # noqa: F401  (a fixture, found by name)

BERLIN = ZoneInfo("Europe/Berlin")
DAY = dt.timedelta(days=1)
# A world's stage saved through the form for the first time may also normalise its sections.
STAGE_CHANGED = ("stage.updated", "stage.rules_changed")


# --- helpers ------------------------------------------------------------------------------------


def typed(moment: dt.datetime | None) -> str:
    """A time as the officer types it: Berlin's clock, to the minute."""
    return "" if moment is None else moment.astimezone(BERLIN).strftime("%Y-%m-%dT%H:%M")


def minute(moment: dt.datetime) -> dt.datetime:
    return moment.replace(second=0, microsecond=0)


def stage_form(stage: Stage, **changes: Any) -> dict[str, Any]:
    """The stage's edit form as the page fills it, with ``changes``."""
    data: dict[str, Any] = {
        "kind": stage.kind.value,
        "name": stage.name,
        "opens_at": typed(stage.opens_at),
        "closes_at": typed(stage.closes_at),
        "sections": format_sections(list(stage.required_sections or [])),
        "attachment_rules": format_attachments(list(stage.attachment_rules or [])),
        "reviewers_per_proposal": str(stage.reviewers_per_proposal),
        "max_load_per_juror": str(stage.max_load_per_juror),
        "selection_target": str(stage.selection_target or ""),
        "reviews_due_at": typed(stage.reviews_due_at),
        "bidding_opens_at": typed(stage.bidding_opens_at),
        "bidding_closes_at": typed(stage.bidding_closes_at),
        "min_comment_chars": str(stage.min_comment_chars),
    }
    if stage.bidding_enabled:
        data["bidding_enabled"] = "y"
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def edit_stage(app, browser: Browser, stage_id: int, **changes: Any):  # type: ignore[no-untyped-def]
    with in_app(app):
        stage = db.session.get(Stage, stage_id)
        assert stage is not None
        url = f"/calls/{stage.call_id}/stages/{stage.id}/edit"
        data = stage_form(stage, **changes)
    return browser.submit(url, data)


def call_form(call: Call, **changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": call.name,
        "round_number": str(call.round_number),
        "reference_prefix": call.reference_prefix,
        "description": call.description,
        "other_reviews": "after_own" if call.reviews_hidden_until_own else "at_once",
    }
    data.update(changes)
    return data


def stage_row(app, stage_id: int) -> Stage:  # type: ignore[no-untyped-def]
    with app.app_context():
        stage = db.session.get(Stage, stage_id)
        assert stage is not None
        db.session.expunge(stage)
        return stage


# --- the stage's review settings on the page ----------------------------------------------------


def test_officer_sets_due_date_bidding_window_and_minimum_comment_and_the_page_shows_them(
    app, setup, officer, officer_browser
):
    closes = stage_row(app, setup.stage_id).closes_at
    due = minute(closes + 14 * DAY)
    bids_open, bids_close = minute(closes + DAY), minute(closes + 5 * DAY)

    response = edit_stage(
        app,
        officer_browser,
        setup.stage_id,
        reviews_due_at=typed(due),
        bidding_enabled="y",
        bidding_opens_at=typed(bids_open),
        bidding_closes_at=typed(bids_close),
        min_comment_chars="1500",
    )

    assert response.status_code == 302
    stage = stage_row(app, setup.stage_id)
    assert (stage.reviews_due_at, stage.bidding_enabled) == (due, True)
    assert (stage.bidding_opens_at, stage.bidding_closes_at) == (bids_open, bids_close)
    assert stage.min_comment_chars == 1500
    with app.app_context():
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action.in_(STAGE_CHANGED)))
        assert event is not None and event.actor_id == officer.id
        assert event.before["bidding_enabled"] is False and event.before["min_comment_chars"] == 200
        assert event.after["bidding_enabled"] is True and event.after["min_comment_chars"] == 1500
        assert event.after["reviews_due_at"].startswith(due.strftime("%Y-%m-%dT%H:%M"))
        # The overview reads German dates to a German reader.
        db.session.get(User, officer.id).locale = "de"  # type: ignore[union-attr]
        db.session.commit()
    page = text(officer_browser.get(f"/programmes/{setup.programme_id}"))
    shown_due = re.search(rf'id="stage-{setup.stage_id}-due">(.*?)</dd>', page, re.S)
    shown_bidding = re.search(rf'id="stage-{setup.stage_id}-bidding">(.*?)</dd>', page, re.S)
    shown_minimum = re.search(rf'id="stage-{setup.stage_id}-min-comment">(.*?)</dd>', page, re.S)
    assert shown_due and shown_bidding and shown_minimum
    assert due.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M") in shown_due.group(1)
    assert "MEZ" in shown_due.group(1) or "MESZ" in shown_due.group(1)
    assert bids_open.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M") in shown_bidding.group(1)
    assert bids_close.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M") in shown_bidding.group(1)
    assert "1.500 Zeichen" in shown_minimum.group(1)


def test_the_edit_page_shows_the_stage_settings_as_they_are(app, setup, officer_browser):
    closes = stage_row(app, setup.stage_id).closes_at
    due = minute(closes + 14 * DAY)
    assert (
        edit_stage(app, officer_browser, setup.stage_id, reviews_due_at=typed(due)).status_code
        == 302
    )
    stage = stage_row(app, setup.stage_id)

    page = text(officer_browser.get(f"/calls/{stage.call_id}/stages/{stage.id}/edit"))

    assert re.search(rf'id="reviews_due_at"[^>]*value="{typed(due)}', page)
    assert re.search(r'id="min_comment_chars"[^>]*value="200"', page)
    assert not re.search(r'id="bidding_enabled"[^>]*checked', page)


def _relative(closes: dt.datetime) -> dict[str, dt.datetime]:
    return {
        "before_close": minute(closes - DAY),
        "after_close": minute(closes + DAY),
        "due": minute(closes + 10 * DAY),
        "after_due": minute(closes + 12 * DAY),
    }


BAD_STAGE_SETTINGS = {
    "due before submission closes": (
        {"reviews_due_at": "before_close"},
        "reviews_due_at",
        "Reviews must be due after submission closes",
    ),
    "bidding on without a window": (
        {"bidding_enabled": "y"},
        "bidding_opens_at",
        "Enter when bidding opens, or switch bidding off.",
    ),
    "bidding on without its end": (
        {"bidding_enabled": "y", "bidding_opens_at": "after_close"},
        "bidding_closes_at",
        "Enter when bidding closes, or switch bidding off.",
    ),
    "bidding closes before it opens": (
        {"bidding_enabled": "y", "bidding_opens_at": "due", "bidding_closes_at": "after_close"},
        "bidding_closes_at",
        "Bidding must close after it opens.",
    ),
    "bidding closes after reviews are due": (
        {
            "bidding_enabled": "y",
            "reviews_due_at": "due",
            "bidding_opens_at": "after_close",
            "bidding_closes_at": "after_due",
        },
        "bidding_closes_at",
        "Bidding must close by the time reviews are due",
    ),
    "half a window with bidding off": (
        {"bidding_opens_at": "after_close"},
        "bidding_closes_at",
        "Enter both ends of the bidding window, or neither.",
    ),
    "bidding time that is not a time": (
        {"bidding_enabled": "y", "bidding_opens_at": "soon"},
        "bidding_opens_at",
        "Enter a date and time",
    ),
    "negative minimum": (
        {"min_comment_chars": "-1"},
        "min_comment_chars",
        "The minimum must be between 0 and 10,000 characters.",
    ),
    "minimum too long": (
        {"min_comment_chars": "10001"},
        "min_comment_chars",
        "The minimum must be between 0 and 10,000 characters.",
    ),
    "minimum not a number": (
        {"min_comment_chars": "a page"},
        "min_comment_chars",
        "Enter a whole number",
    ),
    "minimum left empty": (
        {"min_comment_chars": ""},
        "min_comment_chars",
        "Enter the shortest comment for the applicant, in characters; 0 for no minimum.",
    ),
}


@pytest.mark.parametrize(
    ("changes", "field", "message"), BAD_STAGE_SETTINGS.values(), ids=BAD_STAGE_SETTINGS.keys()
)
def test_bad_stage_settings_are_refused_at_their_field_and_nothing_is_saved(
    app, setup, officer_browser, changes, field, message
):
    before = stage_row(app, setup.stage_id)
    times = _relative(before.closes_at)
    posted = {
        key: typed(times[value]) if value in times else value for key, value in changes.items()
    }

    response = edit_stage(app, officer_browser, setup.stage_id, **posted)

    assert response.status_code == 422
    assert message in field_error(response, field)
    after = stage_row(app, setup.stage_id)
    for column in (
        "reviews_due_at",
        "bidding_enabled",
        "bidding_opens_at",
        "bidding_closes_at",
        "min_comment_chars",
    ):
        assert getattr(after, column) == getattr(before, column)
    with app.app_context():
        assert not db.session.scalar(
            sa.select(AuditEvent.id).where(AuditEvent.action.in_(STAGE_CHANGED))
        )


def test_a_stage_added_on_the_page_takes_its_settings(app, setup, officer_browser):
    with app.app_context():
        stage = db.session.get(Stage, setup.stage_id)
        data = stage_form(
            stage,
            name="Full proposal",
            reviews_due_at=typed(minute(stage.closes_at + 20 * DAY)),
            min_comment_chars="0",
        )
        data.pop("bidding_opens_at"), data.pop("bidding_closes_at")

    response = officer_browser.submit(f"/calls/{setup.call_id}/stages/new", data)

    assert response.status_code == 302
    with app.app_context():
        added = db.session.scalar(sa.select(Stage).where(Stage.name == "Full proposal"))
        assert added is not None
        assert added.min_comment_chars == 0 and added.reviews_due_at is not None
        assert not added.bidding_enabled and added.bidding_opens_at is None
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "stage.added"))
        assert event is not None and event.after["min_comment_chars"] == 0


# --- bidding follows the window ------------------------------------------------------------------


def _set_window(app, world, opens: dt.datetime, closes: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    response = edit_stage(
        app,
        as_person(app, world.officer),
        world.stage_id,
        bidding_enabled="y",
        bidding_opens_at=typed(opens),
        bidding_closes_at=typed(closes),
    )
    assert response.status_code == 302


def _bids(app) -> list[Bid]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return list(db.session.scalars(sa.select(Bid)).all())


@pytest.mark.parametrize(
    ("opens", "closes", "said"),
    [
        (2 * DAY, 5 * DAY, "Bidding opens on"),
        (-5 * DAY, -2 * DAY, "Bidding closed on"),
    ],
    ids=["not yet open", "closed"],
)
def test_a_bid_outside_the_window_set_by_the_officer_is_refused_with_the_window_named(
    app, jury, opens, closes, said
):
    accept_and_profile(app, jury, declare={})
    now = utcnow()
    _set_window(app, jury, minute(now + opens), minute(now + closes))
    browser = as_person(app, jury.juror)

    page = text(browser.get(jury.bids_url))
    response = browser.submit(jury.bids_url, {f"bid_{jury.proposals['free']}": "eager"})

    named = minute(now + (opens if said == "Bidding opens on" else closes))
    assert said in page and "Save bids" not in page
    assert response.status_code == 422
    assert f"{said} {named.astimezone(BERLIN).strftime('%d.%m.%Y %H:%M')}" in text(response)
    assert _bids(app) == []


def test_a_bid_inside_the_window_is_accepted_and_the_page_shows_the_window(app, jury):
    accept_and_profile(app, jury, declare={})
    now = utcnow()
    _set_window(app, jury, minute(now - DAY), minute(now + 2 * DAY))
    browser = as_person(app, jury.juror)

    page = text(browser.get(jury.bids_url))
    response = browser.submit(jury.bids_url, {f"bid_{jury.proposals['free']}": "eager"})
    jury_work = text(browser.get("/jury"))

    until = minute(now + 2 * DAY).astimezone(BERLIN).strftime("%d.%m.%Y %H:%M")
    assert re.search(
        rf"Bid on the proposals of Outline</a> <span class=\"muted\">\(from [^<]*until {until}",
        jury_work,
    )
    window = re.search(r'id="bidding-window">(.*?)</p>', page, re.S)
    assert window and "Save bids" in page
    assert "Bidding is open from" in window.group(1)
    assert minute(now + 2 * DAY).astimezone(BERLIN).strftime("%d.%m.%Y %H:%M") in window.group(1)
    assert response.status_code == 302
    assert [bid.proposal_id for bid in _bids(app)] == [jury.proposals["free"]]


# --- reviews follow the minimum and the due date ------------------------------------------------


def test_a_review_shorter_than_the_minimum_set_by_the_officer_is_refused(app, reviews):
    assert 50 <= len(GOOD_COMMENT) < 120
    edited = edit_stage(
        app, as_person(app, reviews.officer), reviews.stage_id, min_comment_chars="120"
    )
    assert edited.status_code == 302
    browser = as_person(app, reviews.juror)

    response = post_review(
        browser,
        reviews,
        reviews.juror,
        reviews.form(
            "4",
            "4",
            "4",
            base_revision="0",
            comment_for_applicant=GOOD_COMMENT,
            confidence="3",
            action="submit",
        ),
    )

    assert response.status_code == 422
    assert "Write at least 120 characters for the applicant" in text(response)
    with in_app(app):
        review = db.session.scalar(
            sa.select(Review).where(
                Review.assignment_id == reviews.assignments[reviews.juror.email]
            )
        )
        assert review is None or review.state == ReviewState.DRAFT


def test_the_reminder_job_counts_back_from_the_due_date_the_officer_set(app, reviews):
    due = minute(utcnow() + 20 * DAY)  # the world's stage was due in 10 days
    edited = edit_stage(
        app, as_person(app, reviews.officer), reviews.stage_id, reviews_due_at=typed(due)
    )
    assert edited.status_code == 302

    with in_app(app):
        review_ops.send_due_reminders(now=due - 2 * DAY + dt.timedelta(minutes=5))
        steps = db.session.scalars(
            sa.select(ReminderSent.step).where(
                ReminderSent.assignment_id == reviews.assignments[reviews.juror.email]
            )
        ).all()
        mail = db.session.scalar(
            sa.select(Notification).where(Notification.to_address == reviews.juror.email)
        )
        assert steps == [2]
        assert mail is not None and mail.context["due_at"] == due.isoformat()

    page = text(as_person(app, reviews.juror).get(reviews.review_url(reviews.juror)))
    assert due.astimezone(BERLIN).strftime("%d.%m.%Y %H:%M") in page


# --- blind reviews on the call page ---------------------------------------------------------------


def test_officer_turns_blind_reviews_off_and_jurors_see_the_other_reviews_at_once(app, reviews):
    officer = as_person(app, reviews.officer)
    with in_app(app):
        call = db.session.get(Call, reviews.call_id)
        data = call_form(call, other_reviews="at_once")
        submit_for(reviews, reviews.second_juror, note="Ben's confidential view")
        db.session.commit()
    juror = as_person(app, reviews.juror)
    hidden = text(juror.get(reviews.review_url(reviews.juror)))

    response = officer.submit(f"/calls/{reviews.call_id}/edit", data)
    shown = text(juror.get(reviews.review_url(reviews.juror)))

    assert response.status_code == 302
    assert "Ben's confidential view" not in hidden
    assert "Ben's confidential view" in shown
    with in_app(app):
        assert db.session.get(Call, reviews.call_id).reviews_hidden_until_own is False  # type: ignore[union-attr]
        event = db.session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "call.updated"))
        assert event is not None
        assert (
            event.before["reviews_hidden_until_own"],
            event.after["reviews_hidden_until_own"],
        ) == (
            True,
            False,
        )


def test_a_call_created_on_the_page_keeps_reviews_blind_unless_the_officer_says_otherwise(
    app, setup, officer_browser
):
    url = f"/programmes/{setup.programme_id}/calls/new"
    blind = officer_browser.submit(
        url, {**CALL, "name": "Blind", "round_number": "4", "reference_prefix": "BLD"}
    )
    open_ = officer_browser.submit(
        url,
        {
            **CALL,
            "name": "Open",
            "round_number": "2",
            "reference_prefix": "OPN",
            "other_reviews": "at_once",
        },
    )
    bad = officer_browser.submit(
        url,
        {
            **CALL,
            "name": "Odd",
            "round_number": "3",
            "reference_prefix": "ODD",
            "other_reviews": "never",
        },
    )

    assert blind.status_code == open_.status_code == 302
    assert bad.status_code == 422 and "Choose one of the two." in field_error(bad, "other_reviews")
    with app.app_context():
        hidden = dict(db.session.execute(sa.select(Call.name, Call.reviews_hidden_until_own)).all())
    assert hidden == {"Round one": True, "Blind": True, "Open": False}
    page = text(officer_browser.get(f"/programmes/{setup.programme_id}"))
    assert re.search(r'-other-reviews">Shown at once<', page)
    assert "Shown to a juror only after submitting their own (blind review)" in page


# --- the migration -------------------------------------------------------------------------------


def _stages_as_of_0015(conn: sa.Connection) -> None:
    column = sa.column
    stages = sa.table(
        "stages",
        *(column(name, sa.Integer) for name in ("id", "call_id", "position")),
        *(column(name, sa.Integer) for name in ("reviewers_per_proposal", "max_load_per_juror")),
        column("kind", sa.String),
        column("name", sa.String),
        column("required_sections", sa.JSON),
        column("attachment_rules", sa.JSON),
        column("selection_rules", sa.JSON),
        column("bidding_enabled", sa.Boolean),
        column("min_comment_chars", sa.Integer),
        *(column(name, UTCDateTime()) for name in ("opens_at", "closes_at", "reviews_due_at")),
    )
    closes = dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC)
    due = dt.datetime(2026, 8, 31, 10, tzinfo=dt.UTC)
    # (id, bidding on, reviews due)
    for stage_id, bidding, due_at in [(1, True, due), (2, True, None), (3, False, due)]:
        conn.execute(
            stages.insert().values(
                id=stage_id,
                call_id=1,
                position=stage_id,
                reviewers_per_proposal=3,
                max_load_per_juror=10,
                kind="outline",
                name="S",
                required_sections=[],
                attachment_rules=[],
                selection_rules={},
                bidding_enabled=bidding,
                min_comment_chars=200,
                opens_at=closes - 90 * DAY,
                closes_at=closes,
                reviews_due_at=due_at,
            )
        )


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_stages_that_take_bids_get_a_window_from_the_migration(fresh_url):
    with migrated(
        fresh_url, before="0015_topic_names", after="0016_stage_settings", rows=_stages_as_of_0015
    ):
        with db.engine.connect() as conn:
            windows = {
                row.id: (row.bidding_opens_at, row.bidding_closes_at)
                for row in conn.execute(
                    sa.select(Stage.id, Stage.bidding_opens_at, Stage.bidding_closes_at)
                )
            }
    closes = dt.datetime(2026, 6, 30, 10, tzinfo=dt.UTC)
    assert windows == {
        1: (closes, dt.datetime(2026, 8, 31, 10, tzinfo=dt.UTC)),
        2: (closes, closes + 14 * DAY),
        3: (None, None),
    }
