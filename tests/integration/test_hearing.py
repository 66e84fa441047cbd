"""The hearing on PostgreSQL, through the pages where a person would act: officers create,
change and remove slots (a slot overlapping another in the same room, or ending before it
starts, is refused at its field and nothing is saved), put finalists into slots, see the
jurors' availability and who sits each slot (never a juror with a conflict); jurors state
their availability and do not learn which consortium a conflicted slot holds; the coordinator
confirms the slot (audited, the officer sees who); the timetable goes out by mail once and as
iCalendar with Berlin times; the sitting jurors score the pitch on the review page."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import icalendar
import pytest
import sqlalchemy as sa

from competition.accounts.models import Role
from competition.assignment.models import Assignment, AssignmentState, Conflict, ConflictSource
from competition.audit.models import AuditEvent
from competition.berlin import BERLIN
from competition.db import utcnow
from competition.extensions import db
from competition.hearings.models import HearingSlot, JurorAvailability
from competition.notifications.mailer import render
from competition.notifications.models import Notification
from competition.programmes.models import Criterion, StageKind
from competition.reviews.models import Review, ReviewState
from tests.factories import make_stage, make_user
from tests.helpers import Person, as_person, call_run_by, officer_and_outsider, person, text
from tests.integration.reviews_world import GOOD_COMMENT, juror_on, submitted_proposal


@dataclass(frozen=True)
class World:
    call_id: int
    stage_id: int
    criteria: tuple[int, ...]
    alpha: int  # finalists, by reference
    beta: int
    alpha_ref: str
    beta_ref: str
    officer: Person
    other_officer: Person
    coordinator: Person
    partner: Person
    juror: Person
    second_juror: Person
    conflicted_juror: Person

    @property
    def hearing_url(self) -> str:
        return f"/calls/{self.call_id}/stages/{self.stage_id}/hearing"

    @property
    def availability_url(self) -> str:
        return f"/jury/stages/{self.stage_id}/hearing"


@pytest.fixture
def world(app, tmp_path) -> World:  # type: ignore[no-untyped-def]
    app.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    with app.app_context():
        officer, other_officer = officer_and_outsider()
        call = call_run_by(officer)
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
            max_load_per_juror=8,
        )
        for position, name in enumerate(["Pitch", "Answers"], start=1):
            stage.criteria.append(
                Criterion(
                    position=position,
                    name=name,
                    description=f"How convincing was the {name.lower()}?",
                    weight=Decimal("0.5"),
                    scale_min=Decimal("0"),
                    scale_max=Decimal("5"),
                    scale_step=Decimal("0.5"),
                )
            )
        db.session.flush()
        coordinator = make_user(roles=(Role.APPLICANT,), name="Clara Coordinator")
        partner = make_user(roles=(Role.APPLICANT,))
        alpha, _ = submitted_proposal(call, stage, coordinator=coordinator)
        from competition.proposals.models import ContributorRole, ProposalContributor

        alpha.contributors.append(
            ProposalContributor(user_id=partner.id, role=ContributorRole.CONTRIBUTOR)
        )
        beta, _ = submitted_proposal(call, stage)
        juror = juror_on(call, name="Ada Juror")
        second = juror_on(call, name="Ben Juror")
        conflicted = juror_on(call, name="Dan Conflicted")
        db.session.add(
            Conflict(
                user_id=conflicted.id,
                proposal_id=alpha.id,
                source=ConflictSource.DECLARED,
                reason="Former employer.",
                created_at=now,
            )
        )
        db.session.commit()
        return World(
            call_id=call.id,
            stage_id=stage.id,
            criteria=tuple(c.id for c in stage.criteria),
            alpha=alpha.id,
            beta=beta.id,
            alpha_ref=alpha.reference,
            beta_ref=beta.reference,
            officer=person(officer),
            other_officer=person(other_officer),
            coordinator=person(coordinator),
            partner=person(partner),
            juror=person(juror),
            second_juror=person(second),
            conflicted_juror=person(conflicted),
        )


def _later(days: int, hour: int, minute: int = 0) -> str:
    """A Berlin wall-clock time ``days`` from now, as the form takes it."""
    day = (utcnow() + dt.timedelta(days=days)).astimezone(BERLIN).date()
    return f"{day.isoformat()}T{hour:02d}:{minute:02d}"


def _berlin(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value).replace(tzinfo=BERLIN)


def add_slot(browser, world: World, start: str, end: str, room: str = "A 101", video: str = ""):  # type: ignore[no-untyped-def]
    return browser.submit(
        f"{world.hearing_url}/slots",
        {"starts_at": start, "ends_at": end, "room": room, "video_url": video},
        page=world.hearing_url,
    )


def slots(app) -> list[HearingSlot]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = list(db.session.scalars(sa.select(HearingSlot).order_by(HearingSlot.starts_at)))
        db.session.expunge_all()
        return rows


def field_error(page: str, field: str) -> str:
    match = re.search(rf'<p class="error" id="{re.escape(field)}-error">(.*?)</p>', page, re.S)
    return match.group(1) if match else ""


def set_up_two_slots(app, world: World):  # type: ignore[no-untyped-def]
    """Two slots, the finalists in order, both jurors available for both; returns the officer's
    browser and the slots."""
    officer = as_person(app, world.officer)
    assert add_slot(officer, world, _later(5, 9), _later(5, 10)).status_code == 302
    assert (
        add_slot(
            officer,
            world,
            _later(5, 10),
            _later(5, 11),
            room="",
            video="https://meet.example.org/hearing",
        ).status_code
        == 302
    )
    assert (
        officer.submit(
            f"{world.hearing_url}/assign-in-order", {}, page=world.hearing_url
        ).status_code
        == 303
    )
    first, second = slots(app)
    for who in (world.juror, world.second_juror, world.conflicted_juror):
        browser = as_person(app, who)
        response = browser.submit(
            world.availability_url, {f"slot-{first.id}": "yes", f"slot-{second.id}": "yes"}
        )
        assert response.status_code == 302
    return officer, first, second


# --- slots ---


def test_officer_adds_a_slot_in_berlin_time_and_it_is_stored_in_utc(app, world) -> None:  # type: ignore[no-untyped-def]
    officer = as_person(app, world.officer)
    response = add_slot(officer, world, _later(5, 9, 30), _later(5, 10, 15), room="Saal 2")
    assert response.status_code == 302
    [slot] = slots(app)
    assert slot.starts_at == _berlin(_later(5, 9, 30)).astimezone(dt.UTC)
    assert slot.ends_at - slot.starts_at == dt.timedelta(minutes=45)
    assert slot.room == "Saal 2"
    page = text(officer.get(world.hearing_url))
    assert "Saal 2" in page and "09:30" in page


def test_a_slot_overlapping_another_in_the_same_room_is_refused_at_the_room_and_nothing_is_saved(
    app, world
) -> None:  # type: ignore[no-untyped-def]
    officer = as_person(app, world.officer)
    assert add_slot(officer, world, _later(5, 9), _later(5, 10), room="A 101").status_code == 302
    with app.app_context():
        events = db.session.scalar(sa.select(sa.func.count(AuditEvent.id)))
    response = add_slot(officer, world, _later(5, 9, 30), _later(5, 10, 30), room=" a 101 ")
    assert response.status_code == 422
    page = text(response)
    assert "Room a 101 is taken by another slot" in field_error(page, "room")
    assert len(slots(app)) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(AuditEvent.id))) == events
    # Back to back is no overlap, and another room at the same time is free.
    assert add_slot(officer, world, _later(5, 10), _later(5, 11), room="A 101").status_code == 302
    assert add_slot(officer, world, _later(5, 9), _later(5, 10), room="B 2").status_code == 302
    assert len(slots(app)) == 3


def test_a_slot_on_the_same_video_link_at_the_same_time_is_refused_at_the_link(app, world) -> None:  # type: ignore[no-untyped-def]
    officer = as_person(app, world.officer)
    link = "https://meet.example.org/jury"
    assert (
        add_slot(officer, world, _later(5, 9), _later(5, 10), room="", video=link).status_code
        == 302
    )
    response = add_slot(officer, world, _later(5, 9, 45), _later(5, 10, 30), room="", video=link)
    assert response.status_code == 422
    assert "video link is used by another slot" in field_error(text(response), "video_url")
    assert len(slots(app)) == 1


@pytest.mark.parametrize(
    ("start", "end", "room", "video", "field", "message"),
    [
        ((5, 10), (5, 9), "A 1", "", "ends_at", "The slot must end after it starts."),
        ((5, 10), (5, 10), "A 1", "", "ends_at", "The slot must end after it starts."),
        ((5, 9), (5, 10), "", "", "room", "Give a room, a video link or both."),
        ((5, 9), (5, 10), "", "http://meet.example.org/x", "video_url", "full https address"),
        ((5, 9), (5, 10), "", "javascript:alert(1)", "video_url", "full https address"),
    ],
)
def test_a_slot_with_bad_times_or_place_is_refused_at_the_field(  # type: ignore[no-untyped-def]
    app, world, start, end, room, video, field, message
) -> None:
    officer = as_person(app, world.officer)
    response = add_slot(officer, world, _later(*start), _later(*end), room=room, video=video)
    assert response.status_code == 422
    assert message in field_error(text(response), field)
    assert slots(app) == []


def test_officer_moves_a_slot_onto_another_and_is_refused_then_moves_it_elsewhere(
    app, world
) -> None:  # type: ignore[no-untyped-def]
    officer = as_person(app, world.officer)
    add_slot(officer, world, _later(5, 9), _later(5, 10))
    add_slot(officer, world, _later(5, 11), _later(5, 12))
    first, second = slots(app)
    url = f"{world.hearing_url}/slots/{second.id}/edit"
    refused = officer.submit(
        url,
        {
            "starts_at": _later(5, 9, 30),
            "ends_at": _later(5, 10, 30),
            "room": "A 101",
            "video_url": "",
        },
    )
    assert refused.status_code == 422
    assert "taken by another slot" in field_error(text(refused), "room")
    assert slots(app)[1].starts_at == second.starts_at
    moved = officer.submit(
        url, {"starts_at": _later(6, 9), "ends_at": _later(6, 10), "room": "A 101", "video_url": ""}
    )
    assert moved.status_code == 302
    assert slots(app)[1].starts_at == _berlin(_later(6, 9)).astimezone(dt.UTC)


def test_officer_removes_a_slot_and_its_answers_go_with_it(app, world) -> None:  # type: ignore[no-untyped-def]
    officer, first, _second = set_up_two_slots(app, world)
    response = officer.submit(
        f"{world.hearing_url}/slots/{first.id}/delete", {}, page=world.hearing_url
    )
    assert response.status_code == 303
    assert [s.id for s in slots(app)] != [first.id] and len(slots(app)) == 1
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(JurorAvailability.id)).where(
                    JurorAvailability.slot_id == first.id
                )
            )
            == 0
        )
    assert (
        world.alpha_ref in text(officer.get(world.hearing_url)).split("Finalists without a slot")[1]
    )


@pytest.mark.parametrize("who", ["other_officer", "juror", "coordinator"])
def test_only_the_programme_s_officers_see_the_hearing_page(app, world, who) -> None:  # type: ignore[no-untyped-def]
    browser = as_person(app, getattr(world, who))
    assert browser.get(world.hearing_url).status_code in (403, 404)
    assert browser.get(f"{world.hearing_url}.ics").status_code in (403, 404)


def test_the_hearing_page_of_a_stage_that_is_no_hearing_is_not_found(app, world) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        from competition.programmes.models import Call

        call = db.session.get(Call, world.call_id)
        outline = make_stage(call, name="Outline")
        db.session.commit()
        url = f"/calls/{world.call_id}/stages/{outline.id}/hearing"
    assert as_person(app, world.officer).get(url).status_code == 404


# --- finalists in slots ---


def test_assign_in_order_puts_the_finalists_into_the_free_slots_by_time(app, world) -> None:  # type: ignore[no-untyped-def]
    officer, first, second = set_up_two_slots(app, world)
    assert (first.proposal_id, second.proposal_id) == (world.alpha, world.beta)


def test_a_finalist_already_in_a_slot_is_refused_at_the_field_for_another(app, world) -> None:  # type: ignore[no-untyped-def]
    officer, first, second = set_up_two_slots(app, world)
    response = officer.submit(
        f"{world.hearing_url}/slots/{second.id}/proposal",
        {f"slot-{second.id}-proposal_id": str(world.alpha)},
        page=world.hearing_url,
    )
    assert response.status_code == 422
    assert "already pitches in the slot" in field_error(
        text(response), f"slot-{second.id}-proposal_id"
    )
    assert slots(app)[1].proposal_id == world.beta


def test_a_proposal_not_submitted_for_the_hearing_cannot_take_a_slot(app, world) -> None:  # type: ignore[no-untyped-def]
    officer = as_person(app, world.officer)
    add_slot(officer, world, _later(5, 9), _later(5, 10))
    [slot] = slots(app)
    with app.app_context():
        from competition.programmes.models import Call
        from tests.factories import make_proposal

        outsider = make_proposal(db.session.get(Call, world.call_id))
        db.session.commit()
        outsider_id = outsider.id
    response = officer.submit(
        f"{world.hearing_url}/slots/{slot.id}/proposal",
        {f"slot-{slot.id}-proposal_id": str(outsider_id)},
        page=world.hearing_url,
    )
    assert response.status_code == 422
    assert "Choose a finalist" in field_error(text(response), f"slot-{slot.id}-proposal_id")
    assert slots(app)[0].proposal_id is None


# --- availability and conflicts ---


def test_jurors_state_availability_and_the_officer_sees_who_sits_each_slot(app, world) -> None:  # type: ignore[no-untyped-def]
    officer, first, second = set_up_two_slots(app, world)
    as_person(app, world.second_juror).submit(
        world.availability_url, {f"slot-{first.id}": "no", f"slot-{second.id}": "yes"}
    )
    page = text(officer.get(world.hearing_url))
    first_row = page.split(f'id="slot-{first.id}"')[1].split("</tr>")[0]
    second_row = page.split(f'id="slot-{second.id}"')[1].split("</tr>")[0]
    assert "Ada Juror" in first_row and "Ben Juror" not in first_row
    # The conflicted juror said yes to both but never sits the conflicted proposal's slot.
    assert "Never sits (conflict of interest): Dan Conflicted" in first_row
    assert "Dan Conflicted" not in first_row.split("Never sits")[0]
    assert "Dan Conflicted" in second_row and "Never sits" not in second_row
    assert "Ben Juror" in second_row


def test_a_conflicted_juror_sees_another_consortium_and_not_the_proposal(app, world) -> None:  # type: ignore[no-untyped-def]
    _officer, first, second = set_up_two_slots(app, world)
    page = text(as_person(app, world.conflicted_juror).get(world.availability_url))
    assert world.alpha_ref not in page
    assert "Another consortium" in page.split(f'id="slot-{first.id}"')[1].split("</tr>")[0]
    assert world.beta_ref in page
    ics = icalendar.Calendar.from_ical(
        as_person(app, world.conflicted_juror).get(f"{world.availability_url}.ics").data
    )
    summaries = [str(e["summary"]) for e in ics.walk("VEVENT")]
    assert summaries == [f"Hearing: {world.beta_ref} " + summaries[0].split(" ", 2)[2]]
    assert all(world.alpha_ref not in s for s in summaries)


def test_availability_is_only_for_the_call_s_jurors(app, world) -> None:  # type: ignore[no-untyped-def]
    assert as_person(app, world.coordinator).get(world.availability_url).status_code in (403, 404)
    with app.app_context():
        stranger = make_user(roles=(Role.JUROR,))
        db.session.commit()
        who = person(stranger)
    assert as_person(app, who).get(world.availability_url).status_code == 404


# --- the consortium's confirmation ---


def test_coordinator_confirms_the_slot_and_the_officer_sees_who(app, world) -> None:  # type: ignore[no-untyped-def]
    officer, first, _second = set_up_two_slots(app, world)
    coordinator = as_person(app, world.coordinator)
    assert "Hearing before the jury" in text(coordinator.get(f"/proposals/{world.alpha}"))
    page_url = f"/proposals/{world.alpha}/hearing"
    response = coordinator.submit(f"{page_url}/{first.id}/confirm", {}, page=page_url)
    assert response.status_code == 303
    assert "Confirmed by Clara Coordinator" in text(coordinator.get(page_url))
    row = text(officer.get(world.hearing_url)).split(f'id="slot-{first.id}"')[1].split("</tr>")[0]
    assert "Clara Coordinator on" in row
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "hearing.slot_confirmed")
        )
        assert event is not None and event.actor_id == world.coordinator.id


def test_a_partner_sees_the_slot_but_cannot_confirm_it(app, world) -> None:  # type: ignore[no-untyped-def]
    _officer, first, _second = set_up_two_slots(app, world)
    partner = as_person(app, world.partner)
    page_url = f"/proposals/{world.alpha}/hearing"
    assert "Confirm this slot" not in text(partner.get(page_url))
    response = partner.submit(
        f"{page_url}/{first.id}/confirm", {}, page=f"/proposals/{world.alpha}"
    )
    assert response.status_code == 303
    assert slots(app)[0].confirmed_at is None


def test_another_consortium_cannot_see_or_confirm_the_slot(app, world) -> None:  # type: ignore[no-untyped-def]
    _officer, first, _second = set_up_two_slots(app, world)
    with app.app_context():
        from competition.proposals.models import Proposal
        from competition.proposals.queries import coordinator_of

        other = coordinator_of(db.session.get(Proposal, world.beta))
        assert other is not None
        who = person(other)
    browser = as_person(app, who)
    assert browser.get(f"/proposals/{world.alpha}/hearing").status_code == 404
    assert browser.get(f"/proposals/{world.alpha}/hearing.ics").status_code == 404


def test_moving_a_confirmed_slot_asks_the_consortium_to_confirm_again(app, world) -> None:  # type: ignore[no-untyped-def]
    officer, first, _second = set_up_two_slots(app, world)
    page_url = f"/proposals/{world.alpha}/hearing"
    as_person(app, world.coordinator).submit(f"{page_url}/{first.id}/confirm", {}, page=page_url)
    assert slots(app)[0].confirmed_at is not None
    officer.submit(
        f"{world.hearing_url}/slots/{first.id}/edit",
        {"starts_at": _later(7, 9), "ends_at": _later(7, 10), "room": "A 101", "video_url": ""},
    )
    moved = next(s for s in slots(app) if s.id == first.id)
    assert moved.confirmed_at is None and moved.confirmed_by_id is None


# --- timetable: mail and iCalendar ---


def test_the_timetable_is_mailed_once_to_each_consortium_and_each_sitting_juror(app, world) -> None:  # type: ignore[no-untyped-def]
    officer, _first, _second = set_up_two_slots(app, world)
    send = f"{world.hearing_url}/send"
    assert officer.submit(send, {}, page=world.hearing_url).status_code == 303
    with app.app_context():
        rows = list(
            db.session.scalars(
                sa.select(Notification).where(Notification.template == "hearings/timetable")
            )
        )
        by_address = {row.to_address: row for row in rows}
        assert len(rows) == 5  # two coordinators, three sitting jurors
        assert {
            s["reference"] for s in by_address[world.conflicted_juror.email].context["slots"]
        } == {world.beta_ref}
        assert len(by_address[world.juror.email].context["slots"]) == 2
        message = render(
            "hearings/timetable",
            {**by_address[world.coordinator.email].context, "base_url": "http://x"},
            with_attachments=False,
        )
        assert world.alpha_ref in message.text and "Room: A 101" in message.text
        assert world.beta_ref not in message.text
    # Sent again unchanged: nobody gets it twice.
    officer.submit(send, {}, page=world.hearing_url)
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Notification.id)).where(
                    Notification.template == "hearings/timetable"
                )
            )
            == 5
        )


def test_the_ics_files_parse_and_carry_berlin_times(app, world) -> None:  # type: ignore[no-untyped-def]
    officer, first, second = set_up_two_slots(app, world)
    whole = officer.get(f"{world.hearing_url}.ics")
    assert whole.status_code == 200 and whole.mimetype == "text/calendar"
    events = icalendar.Calendar.from_ical(whole.data).walk("VEVENT")
    assert len(events) == 2
    start = events[0]["dtstart"]
    assert start.params["TZID"] == "Europe/Berlin"
    assert start.dt == _berlin(_later(5, 9))
    assert start.dt.astimezone(dt.UTC) == first.starts_at
    assert b"BEGIN:VTIMEZONE" in whole.data and b"TZID:Europe/Berlin" in whole.data
    assert events[1]["url"] == "https://meet.example.org/hearing"
    mine = icalendar.Calendar.from_ical(
        as_person(app, world.coordinator).get(f"/proposals/{world.alpha}/hearing.ics").data
    )
    [event] = mine.walk("VEVENT")
    assert world.alpha_ref in str(event["summary"]) and event["location"] == "A 101"


# --- scoring the pitch ---


def test_seating_the_jury_releases_review_assignments_to_the_sitting_jurors_only(
    app, world
) -> None:  # type: ignore[no-untyped-def]
    officer, _first, _second = set_up_two_slots(app, world)
    response = officer.submit(f"{world.hearing_url}/jury", {}, page=world.hearing_url)
    assert response.status_code == 303
    with app.app_context():
        pairs = {
            (a.proposal_id, a.user_id, a.state)
            for a in db.session.scalars(
                sa.select(Assignment).where(Assignment.stage_id == world.stage_id)
            )
        }
    released = AssignmentState.RELEASED
    assert pairs == {
        (world.alpha, world.juror.id, released),
        (world.alpha, world.second_juror.id, released),
        (world.beta, world.juror.id, released),
        (world.beta, world.second_juror.id, released),
        (world.beta, world.conflicted_juror.id, released),
    }
    # A juror who then says no is taken off the next time the jury is seated.
    as_person(app, world.second_juror).submit(world.availability_url, {f"slot-{_first.id}": "no"})
    officer.submit(f"{world.hearing_url}/jury", {}, page=world.hearing_url)
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(Assignment.id).where(
                    Assignment.proposal_id == world.alpha,
                    Assignment.user_id == world.second_juror.id,
                )
            )
            is None
        )


def test_a_sitting_juror_scores_the_pitch_on_the_review_page(app, world) -> None:  # type: ignore[no-untyped-def]
    officer, _first, _second = set_up_two_slots(app, world)
    officer.submit(f"{world.hearing_url}/jury", {}, page=world.hearing_url)
    with app.app_context():
        assignment_id = db.session.scalar(
            sa.select(Assignment.id).where(
                Assignment.proposal_id == world.alpha, Assignment.user_id == world.juror.id
            )
        )
    juror = as_person(app, world.juror)
    url = f"/reviews/assignments/{assignment_id}"
    page = text(juror.get(url))
    assert "Pitch" in page and "Answers" in page
    data = {
        f"score-{world.criteria[0]}": "4.5",
        f"score-{world.criteria[1]}": "4",
        "comment_for_applicant": GOOD_COMMENT,
        "confidence": "4",
        "action": "submit",
        "base_revision": "0",
    }
    response = juror.submit(url, data)
    assert response.status_code in (302, 303), text(response)[:2000]
    with app.app_context():
        review = db.session.scalar(sa.select(Review).where(Review.assignment_id == assignment_id))
        assert review is not None and review.state == ReviewState.SUBMITTED
        assert review.scores == {str(world.criteria[0]): "4.5", str(world.criteria[1]): "4"}
    # The conflicted juror never gets the conflicted proposal to review.
    with app.app_context():
        assert (
            db.session.scalar(
                sa.select(Assignment.id).where(
                    Assignment.proposal_id == world.alpha,
                    Assignment.user_id == world.conflicted_juror.id,
                )
            )
            is None
        )


# --- pages ---


def test_the_timetable_page_reads_the_same_few_queries_for_more_slots(app, world) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers import queries_for_page

    officer, _first, _second = set_up_two_slots(app, world)
    few = queries_for_page(app, officer, world.hearing_url)
    for hour in (12, 13, 14):
        add_slot(officer, world, _later(5, hour), _later(5, hour + 1))
    many = queries_for_page(app, officer, world.hearing_url)
    assert many == few


def test_a_german_officer_reads_the_hearing_and_its_refusals_in_german(app, world) -> None:  # type: ignore[no-untyped-def]
    with app.app_context():
        from competition.accounts.models import User

        db.session.get(User, world.officer.id).locale = "de"  # type: ignore[union-attr]
        db.session.commit()
    officer = as_person(app, world.officer)
    assert add_slot(officer, world, _later(5, 9), _later(5, 10)).status_code == 302
    page = text(officer.get(world.hearing_url))
    assert "Anhörung: Jury hearing" in page
    assert "MEZ" in page or "MESZ" in page
    refused = text(add_slot(officer, world, _later(5, 9, 30), _later(5, 10, 30)))
    assert "ist zu dieser Zeit durch einen anderen Termin" in field_error(refused, "room")
