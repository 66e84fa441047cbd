"""The hearing timetable mailed to the minute in the reader's language; a hearing with slots is
neither turned into another kind of stage nor removed; the programme page lists an attachment
rule made in code without limits; the officer is warned that bidding is still open before
releasing an assignment; the officers' list marks and filters proposals with an open
clarification request."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from competition.accounts.models import User
from competition.clarifications.models import ClarificationRequest, ClarificationState
from competition.db import utcnow
from competition.errors import DomainError
from competition.extensions import db
from competition.hearings.models import HearingSlot
from competition.notifications.mailer import render
from competition.programmes import operations as programme_ops
from competition.programmes.models import Stage, StageKind
from tests.factories import make_proposal, make_stage
from tests.helpers import as_person, call_run_by, officer_and_outsider, person, text
from tests.integration.test_assignment_runs import build_world, start

# --- the timetable mail -------------------------------------------------------------------------

# 08:00 UTC on a summer day: 10:00 in Berlin (MESZ / CEST).
SLOT = {
    "starts_at": dt.datetime(2027, 6, 24, 8, 0, tzinfo=dt.UTC).isoformat(),
    "ends_at": dt.datetime(2027, 6, 24, 8, 45, tzinfo=dt.UTC).isoformat(),
    "reference": "H2-2027-0001",
    "acronym": "HYDRA",
    "room": "A 101",
    "video_url": "",
}


def timetable_mail(app, language: str) -> str:  # type: ignore[no-untyped-def]
    context = {
        "call": "Hydrogen 2027",
        "stage": "Jury hearing",
        "name": "Clara",
        "consortium": True,
        "slots": [SLOT],
        "base_url": "http://x",
    }
    with app.app_context(), force_locale(language):
        message = render("hearings/timetable", context, with_attachments=False)
    return message.text + message.html


@pytest.mark.parametrize(
    ("language", "start", "end"),
    [
        ("de", "24.06.2027 10:00 MESZ", "24.06.2027 10:45 MESZ"),
        ("en", "24.06.2027 10:00 CEST", "24.06.2027 10:45 CEST"),
    ],
)
def test_the_timetable_mail_shows_slot_times_to_the_minute_in_the_reader_s_language(
    app, language, start, end
) -> None:  # type: ignore[no-untyped-def]
    mail = timetable_mail(app, language)
    assert start in mail and end in mail
    assert "10:00:00" not in mail and "10:45:00" not in mail


# --- a hearing with slots keeps its kind --------------------------------------------------------


def hearing_with_slots(count: int) -> tuple[User, Stage]:
    officer, _ = officer_and_outsider()
    call = call_run_by(officer)
    stage = make_stage(call, kind=StageKind.HEARING, name="Jury hearing")
    now = utcnow()
    for n in range(count):
        starts = now + dt.timedelta(days=5, hours=n)
        db.session.add(
            HearingSlot(
                stage_id=stage.id,
                starts_at=starts,
                ends_at=starts + dt.timedelta(minutes=45),
                room="A 101",
                created_at=now,
                updated_at=now,
            )
        )
    db.session.commit()
    return officer, stage


def change_kind(stage: Stage, officer: User, kind: StageKind) -> Stage:
    return programme_ops.update_stage(
        stage,
        actor=officer,
        kind=kind,
        name=stage.name,
        opens_at=stage.opens_at,
        closes_at=stage.closes_at,
        reviewers_per_proposal=stage.reviewers_per_proposal,
        max_load_per_juror=stage.max_load_per_juror,
        min_comment_chars=stage.min_comment_chars,
        now=utcnow(),
    )


def test_a_hearing_with_slots_keeps_its_kind_saying_how_many_slots_until_they_are_removed(
    app,
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer, stage = hearing_with_slots(2)
        with pytest.raises(DomainError) as refused:
            change_kind(stage, officer, StageKind.FULL_PROPOSAL)
        assert "2 slots" in " ".join(refused.value.errors["kind"])
        db.session.expire_all()
        stage = db.session.get(Stage, stage.id)
        assert stage.kind == StageKind.HEARING
        # Once the officer has removed the slots, the stage may become another kind.
        db.session.execute(sa.delete(HearingSlot).where(HearingSlot.stage_id == stage.id))
        db.session.commit()
        change_kind(stage, officer, StageKind.FULL_PROPOSAL)
        db.session.expire_all()
        assert db.session.get(Stage, stage.id).kind == StageKind.FULL_PROPOSAL


def test_a_hearing_with_slots_is_not_removed_and_the_officer_is_told_how_many(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer, stage = hearing_with_slots(1)
        with pytest.raises(DomainError, match="1 slot"):
            programme_ops.remove_stage(stage, actor=officer, now=utcnow())
        db.session.expire_all()
        assert db.session.get(Stage, stage.id) is not None
        count = sa.select(sa.func.count(HearingSlot.id)).where(HearingSlot.stage_id == stage.id)
        assert db.session.scalar(count) == 1


def test_the_removal_page_of_a_hearing_with_slots_says_why_and_offers_no_button(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer, stage = hearing_with_slots(2)
        who, stage_id = person(officer), stage.id
    page = text(as_person(app, who).get(f"/stages/{stage_id}/delete"))
    assert "has 2 slots; remove them on the hearing page before the stage" in page
    assert "Yes, remove it" not in page


def test_the_german_officer_reads_the_refusal_in_german(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer, stage = hearing_with_slots(3)
        with force_locale("de"), pytest.raises(DomainError) as refused:
            change_kind(stage, officer, StageKind.OUTLINE)
        assert "3 Termine" in " ".join(refused.value.errors["kind"])


# --- attachment rules made in code --------------------------------------------------------------


def test_the_programme_page_lists_a_document_rule_without_limits_as_no_limit(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer, _ = officer_and_outsider()
        call = call_run_by(officer)
        make_stage(call, attachment_rules=[{"key": "cv", "title": "CVs", "required": True}])
        db.session.commit()
        programme_id, who = call.programme_id, person(officer)
    response = as_person(app, who).get(f"/programmes/{programme_id}")
    assert response.status_code == 200
    page = text(response)
    row = page[page.index("CVs") :]
    assert row.index("no limit") < row.index("</tr>")


# --- bidding still open at the release ----------------------------------------------------------


def open_bidding(app, stage_id: int, closes: dt.datetime | None) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        stage = db.session.get(Stage, stage_id)
        stage.bidding_enabled = True
        if closes is not None:
            stage.bidding_opens_at = utcnow() - dt.timedelta(days=3)
            stage.bidding_closes_at = closes
        db.session.commit()


def test_the_release_page_warns_that_bidding_is_still_open_until_it_closes(app) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
    open_bidding(app, world.stage_id, dt.datetime(2099, 1, 15, 16, 30, tzinfo=dt.UTC))
    officer = as_person(app, world.officer)
    start(officer, world)
    page = text(officer.get(f"{world.page}/release"))
    assert (
        "Bidding is still open until 15.01.2099 17:30 CET; bids made after the release do not "
        "change the assignment." in page
    )
    # Once bidding has closed, the page says nothing of it.
    open_bidding(app, world.stage_id, utcnow() - dt.timedelta(days=1))
    page = text(officer.get(f"{world.page}/release"))
    assert "assignments go out now" in page
    assert "Bidding is still open" not in page


# --- open clarification requests on the officers' proposal list ---------------------------------


def test_officer_filters_the_list_to_proposals_with_an_open_clarification_and_sees_the_marker(
    app,
) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer, _ = officer_and_outsider()
        call = call_run_by(officer)
        stage = make_stage(call)
        asked, answered, quiet = (
            make_proposal(call, acronym=a) for a in ("ASKED", "ANSWERD", "QUIET")
        )
        now = utcnow()
        for proposal, state in (
            (asked, ClarificationState.OPEN),
            (answered, ClarificationState.ANSWERED),
        ):
            db.session.add(
                ClarificationRequest(
                    proposal_id=proposal.id,
                    stage_id=stage.id,
                    asked_by_id=officer.id,
                    question="Which partner leads work package 2?",
                    asked_at=now,
                    due_at=now + dt.timedelta(days=7),
                    state=state,
                )
            )
        db.session.commit()
        who, marked = person(officer), f"mark-open_clarification-{asked.id}"
        others = (f"mark-open_clarification-{answered.id}", f"mark-open_clarification-{quiet.id}")
    browser = as_person(app, who)
    every = text(browser.get("/proposals"))
    assert "3 proposals" in every
    assert marked in every and not any(other in every for other in others)
    assert "Clarification open" in every

    filtered = text(browser.get("/proposals?open_clarification=1"))
    assert "1 proposal" in filtered and "ASKED" in filtered
    assert "ANSWERD" not in filtered and "QUIET" not in filtered
    # The export takes the same filter.
    assert "open_clarification=1" in filtered[filtered.index("Export this list") :]
