"""A juror in a real browser: from the jury page, a declaration of conflicts, to a submitted
review, with the draft saved by the page's script as they go and still there after a reload."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from competition.accounts.models import Role
from competition.assignment.models import Conflict, ConflictSource, JuryMembership, MembershipState
from competition.db import utcnow
from competition.extensions import db
from tests.e2e.languages import LANGUAGES, Words
from tests.factories import PASSWORD, make_assignment, make_call, make_programme, make_user
from tests.integration.reviews_world import (
    GOOD_COMMENT,
    review_stage,
    submitted_proposal,
)

pytestmark = pytest.mark.browser

REASON = "I advise the coordinator of this consortium."


@dataclass(frozen=True)
class World:
    email: str
    juror_id: int
    call_name: str
    reference: str
    conflicted_id: int
    conflicted_reference: str
    conflicted_assignment: int


def assigned_proposal(app, language: str = "en") -> World:  # type: ignore[no-untyped-def]
    """A juror on a call's jury who accepted the place but has not declared conflicts yet, with
    two submitted proposals: one to review, and one they will declare a conflict with. Both are
    assigned and released, so the conflict alone must keep the second one away. The juror reads
    the pages in ``language``."""
    with app.app_context():
        call = make_call(make_programme(officers=(make_user(roles=(Role.OFFICER,)),)))
        stage = review_stage(call, due_at=utcnow() + dt.timedelta(days=10))
        proposal, _ = submitted_proposal(call, stage, with_attachment=True)
        conflicted, _ = submitted_proposal(call, stage)
        juror = make_user(roles=(Role.JUROR,), name="Ada Juror", locale=language)
        db.session.add(
            JuryMembership(
                call_id=call.id,
                user_id=juror.id,
                state=MembershipState.ACCEPTED,
                invited_at=utcnow() - dt.timedelta(days=30),
                responded_at=utcnow() - dt.timedelta(days=29),
                conflicts_declared_at=None,
            )
        )
        make_assignment(stage, proposal, juror)
        conflicted_assignment = make_assignment(stage, conflicted, juror)
        db.session.commit()
        return World(
            email=juror.email,
            juror_id=juror.id,
            call_name=call.name,
            reference=proposal.reference,
            conflicted_id=conflicted.id,
            conflicted_reference=conflicted.reference,
            conflicted_assignment=conflicted_assignment.id,
        )


def conflicts_of(app, juror_id: int) -> list[tuple[int, ConflictSource, str]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.execute(
            sa.select(Conflict.proposal_id, Conflict.source, Conflict.reason).where(
                Conflict.user_id == juror_id
            )
        )
        return [(proposal_id, source, reason) for proposal_id, source, reason in rows]


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_juror_declares_a_conflict_scores_a_proposal_and_submits_the_review(  # type: ignore[no-untyped-def]
    live_server, page, tmp_path, language
):
    live_server.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    world = assigned_proposal(live_server, language)
    base = live_server.base_url
    conflicted_reference = world.conflicted_reference
    say = Words(language)
    main = page.get_by_role("navigation", name=say("Main"))

    # The login page is the visitor's (English); the juror's language shows once logged in.
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(world.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name=say("Welcome, %(name)s", name="Ada Juror")).wait_for()

    # Nothing of the call opens before the declaration.
    main.get_by_role("link", name=say("Reviews")).click()
    expect(
        page.get_by_text(
            say(
                "No proposals are assigned to you at the moment. You are told by e-mail when "
                "the programme office releases your assignments."
            )
        )
    ).to_be_visible()

    main.get_by_role("link", name=say("Jury")).click()
    expect(page.get_by_role("heading", name=say("Your jury work"))).to_be_visible()
    expect(
        page.get_by_text(
            say.pattern(
                "%(next_step)s declare your conflicts of interest. Nothing else of this call "
                "opens before you have."
            )
        )
    ).to_be_visible()
    page.get_by_role("link", name=say("Declare conflicts of interest")).click()
    expect(
        page.get_by_role(
            "heading", name=say("Conflicts of interest: %(call)s", call=world.call_name)
        )
    ).to_be_visible()
    # Each field names its proposal, so a screen reader tells the rows apart.
    conflict = say(
        "I have a conflict of interest with %(reference)s", reference=conflicted_reference
    )
    page.get_by_label(conflict).check()
    page.get_by_label(say("Reason for %(reference)s", reference=conflicted_reference)).fill(REASON)
    page.get_by_role("button", name=say("Send my declaration")).click()

    expect(
        page.get_by_text(say("Your declaration is recorded. The call's proposals are open to you."))
    ).to_be_visible()
    expect(
        page.get_by_text(say.pattern("You declared your conflicts of interest on %(when)s."))
    ).to_be_visible()
    page.get_by_role("link", name=say("Declare another conflict")).click()
    row = page.get_by_role("row").filter(has_text=conflicted_reference)
    expect(row).to_contain_text(say("Declared by you"))
    expect(row).to_contain_text(REASON)
    expect(page.get_by_label(conflict)).to_have_count(0)
    assert conflicts_of(live_server, world.juror_id) == [
        (world.conflicted_id, ConflictSource.DECLARED, REASON)
    ]

    progress = "%(submitted)s of %(num)d review submitted."
    progresses = "%(submitted)s of %(num)d reviews submitted."
    main.get_by_role("link", name=say("Reviews")).click()
    expect(page.get_by_text(say.plural(progress, progresses, 1, submitted=0))).to_be_visible()
    expect(page.get_by_role("link", name=world.reference)).to_be_visible()
    expect(page.get_by_text(conflicted_reference)).to_have_count(0)
    # Not by its address either: the conflict wins over the assignment.
    response = page.goto(f"{base}/reviews/assignments/{world.conflicted_assignment}")
    assert response is not None and response.status == 404
    page.goto(f"{base}/reviews")
    page.get_by_role("link", name=world.reference).click()
    expect(page.get_by_role("heading", name=say("The proposal as submitted"))).to_be_visible()
    expect(page.get_by_text("Is the cluster's strategy ambitious and sound?")).to_be_visible()

    # Scores are saved by the page's script a moment after they are chosen: it shows the time.
    page.get_by_label("Excellence").select_option("4.5")
    page.get_by_label("Impact").select_option("3")
    expect(page.locator("#review-save-status")).to_contain_text(
        re.compile(r"\d:\d\d"), timeout=15_000
    )

    page.reload()
    expect(page.get_by_label("Excellence")).to_have_value("4.5")
    expect(page.get_by_label("Impact")).to_have_value("3")
    expect(page.locator("#review-state")).to_have_text(say("Draft"))

    page.get_by_label("Implementation").select_option("5")
    page.get_by_label(say("Comments for the applicant")).fill(GOOD_COMMENT)
    expect(page.locator("#applicant-count")).to_contain_text(str(len(GOOD_COMMENT)))
    page.get_by_label(say("Confidential comments for the jury")).fill("Solid, if a little long.")
    page.locator("#confidence-4").check()
    page.get_by_role("button", name=say("Submit the review")).click()

    expect(page.get_by_text(say("Your review is submitted."))).to_be_visible()
    expect(page.locator("#review-state")).to_have_text(say("Submitted"))
    expect(page.locator("#weighted-total")).to_have_text(say.number("4.15"))
    page.goto(f"{base}/reviews")
    expect(page.get_by_text(say.plural(progress, progresses, 1, submitted=1))).to_be_visible()
    expect(page.get_by_text(conflicted_reference)).to_have_count(0)
