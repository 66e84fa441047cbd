"""A juror in a real browser: from the dashboard to a submitted review, with the draft saved by
the page's script as they go and still there after a reload."""

from __future__ import annotations

import datetime as dt

import pytest
from playwright.sync_api import expect

from competition.accounts.models import Role
from competition.db import utcnow
from competition.extensions import db
from tests.factories import PASSWORD, make_call, make_programme, make_user
from tests.integration.test_reviews import (
    GOOD_COMMENT,
    assign,
    juror_on,
    review_stage,
    submitted_proposal,
)

pytestmark = pytest.mark.browser


def assigned_proposal(app) -> dict[str, object]:  # type: ignore[no-untyped-def]
    with app.app_context():
        call = make_call(make_programme(officers=(make_user(roles=(Role.OFFICER,)),)))
        stage = review_stage(call, due_at=utcnow() + dt.timedelta(days=10))
        proposal, _ = submitted_proposal(call, stage, with_attachment=True)
        juror = juror_on(call, name="Ada Juror")
        assign(stage, proposal, juror)
        db.session.commit()
        return {"email": juror.email, "reference": proposal.reference}


def test_a_juror_scores_a_proposal_and_submits_the_review(live_server, page, tmp_path):  # type: ignore[no-untyped-def]
    live_server.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    world = assigned_proposal(live_server)
    base = live_server.base_url

    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(str(world["email"]))
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name="Welcome, Ada Juror").wait_for()

    page.goto(f"{base}/reviews")
    expect(page.get_by_text("0 of 1 review submitted.")).to_be_visible()
    page.get_by_role("link", name=str(world["reference"])).click()
    expect(page.get_by_role("heading", name="The proposal as submitted")).to_be_visible()
    expect(page.get_by_text("Is the cluster's strategy ambitious and sound?")).to_be_visible()

    # Scores are saved by the page's script a moment after they are chosen.
    page.get_by_label("Excellence").select_option("4.5")
    page.get_by_label("Impact").select_option("3")
    expect(page.locator("#review-save-status")).to_contain_text("Saved at", timeout=15_000)

    page.reload()
    expect(page.get_by_label("Excellence")).to_have_value("4.5")
    expect(page.get_by_label("Impact")).to_have_value("3")
    expect(page.locator("#review-state")).to_have_text("Draft")

    page.get_by_label("Implementation").select_option("5")
    page.get_by_label("Comments for the applicant").fill(GOOD_COMMENT)
    expect(page.locator("#applicant-count")).to_contain_text(f"{len(GOOD_COMMENT)} characters")
    page.get_by_label("Confidential comments for the jury").fill("Solid, if a little long.")
    page.locator("#confidence-4").check()
    page.get_by_role("button", name="Submit the review").click()

    expect(page.get_by_text("Your review is submitted.")).to_be_visible()
    expect(page.locator("#review-state")).to_have_text("Submitted")
    expect(page.locator("#weighted-total")).to_have_text("4.15")
    page.goto(f"{base}/reviews")
    expect(page.get_by_text("1 of 1 review submitted.")).to_be_visible()
