"""The hearing in a real browser, one journey: an officer sets up a slot on a call's hearing
stage and puts the finalist into it, a juror says they can sit it, the officer seats the jury,
and the juror scores the pitch on the review page with the hearing's criteria."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from competition.accounts.models import Role
from competition.berlin import BERLIN
from competition.db import utcnow
from competition.extensions import db
from competition.hearings.models import HearingSlot
from competition.programmes.models import Criterion, StageKind
from competition.reviews.models import Review, ReviewState
from tests.factories import PASSWORD, make_call, make_programme, make_stage, make_user
from tests.integration.reviews_world import GOOD_COMMENT, juror_on, submitted_proposal

pytestmark = pytest.mark.browser


def hearing_world(app) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,), name="Olga Officer")
        call = make_call(make_programme(officers=(officer,)))
        now = utcnow()
        stage = make_stage(
            call,
            kind=StageKind.HEARING,
            name="Jury hearing",
            opens_at=now - dt.timedelta(days=20),
            closes_at=now - dt.timedelta(days=10),
            required_sections=[{"key": "strategy", "title": "Pitch deck", "max_chars": 5000}],
            reviews_due_at=now + dt.timedelta(days=10),
            min_comment_chars=10,
        )
        for position, name in enumerate(["Pitch", "Answers"], start=1):
            stage.criteria.append(
                Criterion(
                    position=position,
                    name=name,
                    description=f"How convincing were the {name.lower()}?",
                    weight=Decimal("0.5"),
                    scale_min=Decimal("0"),
                    scale_max=Decimal("5"),
                    scale_step=Decimal("0.5"),
                )
            )
        db.session.flush()
        proposal, _ = submitted_proposal(call, stage)
        juror = juror_on(call, name="Ada Juror")
        db.session.commit()
        return {
            "officer": officer.email,
            "juror": juror.email,
            "call_id": call.id,
            "stage_id": stage.id,
            "reference": proposal.reference,
            "proposal_id": proposal.id,
        }


def log_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Welcome", exact=False).first.wait_for()


def test_an_officer_schedules_a_hearing_and_a_juror_scores_the_pitch(  # type: ignore[no-untyped-def]
    live_server, chromium, tmp_path
) -> None:
    live_server.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    world = hearing_world(live_server)
    base = live_server.base_url
    day = (utcnow() + dt.timedelta(days=3)).astimezone(BERLIN).date().isoformat()
    officer_context = chromium.new_context()
    juror_context = chromium.new_context()
    officer_context.set_default_timeout(20_000)
    juror_context.set_default_timeout(20_000)
    officer = officer_context.new_page()
    juror = juror_context.new_page()
    try:
        # The officer finds the hearing from the call's jury page and adds a slot.
        log_in(officer, base, str(world["officer"]))
        officer.goto(f"{base}/calls/{world['call_id']}/jury")
        hearings = officer.locator("#stage-links p", has_text="Hearings (slots, timetable, jury)")
        hearings.get_by_role("link", name="Jury hearing").click()
        expect(officer.get_by_role("heading", name="Hearing: Jury hearing")).to_be_visible()
        officer.get_by_label("Starts (Berlin time)").fill(f"{day}T10:00")
        officer.get_by_label("Ends (Berlin time)").fill(f"{day}T09:00")
        officer.get_by_label("Room", exact=True).fill("Saal 1")
        officer.get_by_role("button", name="Add the slot").click()
        expect(officer.locator("#ends_at-error")).to_have_text("The slot must end after it starts.")
        officer.get_by_label("Ends (Berlin time)").fill(f"{day}T11:00")
        officer.get_by_role("button", name="Add the slot").click()
        expect(officer.get_by_text("The slot was added.")).to_be_visible()
        officer.get_by_role(
            "button", name="Put the finalists without a slot into the free slots, in order"
        ).click()
        expect(officer.get_by_text("1 finalist was given a slot.")).to_be_visible()
        with live_server.app_context():
            slot = db.session.scalars(sa.select(HearingSlot)).one()
            assert slot.proposal_id == world["proposal_id"]
            assert slot.starts_at.astimezone(BERLIN).strftime("%H:%M") == "10:00"
            slot_id = slot.id

        # The juror says they can sit it.
        log_in(juror, base, str(world["juror"]))
        juror.goto(f"{base}/jury")
        juror.get_by_role("link", name="Your availability for the hearing: Jury hearing").click()
        row = juror.locator(f"#slot-{slot_id}")
        expect(row).to_contain_text(str(world["reference"]))
        row.get_by_label("available", exact=True).check()
        juror.get_by_role("button", name="Save my availability").click()
        expect(juror.get_by_text("Your availability was saved.")).to_be_visible()

        # The officer sees who sits the slot and seats the jury for scoring.
        officer.reload()
        expect(officer.locator(f"#slot-{slot_id}")).to_contain_text("Ada Juror")
        officer.get_by_role("button", name="Seat the jury for scoring").click()
        expect(officer.get_by_text("1 review assignment was added and released.")).to_be_visible()

        # The juror scores the pitch on the review page, with the hearing's criteria.
        juror.goto(f"{base}/reviews")
        juror.get_by_role("link", name=str(world["reference"])).click()
        juror.get_by_label("Pitch").select_option("4.5")
        juror.get_by_label("Answers").select_option("4")
        juror.get_by_label("Comments for the applicant").fill(GOOD_COMMENT)
        juror.locator("#confidence-4").check()
        juror.get_by_role("button", name="Submit the review").click()
        expect(juror.get_by_text("Your review is submitted.")).to_be_visible()
        with live_server.app_context():
            review = db.session.scalars(sa.select(Review)).one()
            assert review.state == ReviewState.SUBMITTED
            assert sorted(review.scores.values()) == ["4", "4.5"]
    finally:
        officer_context.close()
        juror_context.close()
