"""The assignment of a stage in the app, on PostgreSQL with tasks in-process: the officer starts
a run and sees its result (loads, affinities, weakest matches), changes it juror by juror within
the rules, releases it (one e-mail per juror), and a juror who gives an assignment back is
replaced from the ranked alternates. The real worker is in test_assignment_worker.py."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.assignment import runs, stage_problem
from competition.assignment.models import (
    Assignment,
    AssignmentMethod,
    AssignmentRun,
    Conflict,
    ConflictSource,
    JurorProfile,
    JuryMembership,
    MembershipState,
    RunState,
)
from competition.audit.models import AuditEvent
from competition.core import assignment as engine
from competition.core.texts import N_, load
from competition.db import utcnow
from competition.extensions import db
from competition.jobs import operations as jobs
from competition.notifications.models import Notification
from competition.programmes.models import Call, Stage, StageKind, Topic
from competition.proposals.models import Proposal, StageSubmission, SubmissionState
from competition.reviews.models import ReviewState
from tests.conftest import Browser
from tests.factories import (
    make_call,
    make_job,
    make_organisation,
    make_programme,
    make_proposal,
    make_review,
    make_stage,
    make_topic,
    make_user,
)
from tests.helpers import as_person, text

# --- the world ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    call_id: int
    stage_id: int
    officer: str
    other_officer: str
    applicant: str
    proposals: list[int]  # ids, by reference
    jurors: dict[str, int]  # e-mail → id
    # The juror whose organisation is a partner of proposals[0]; no conflict row exists yet.
    partner_juror: int

    @property
    def page(self) -> str:
        return f"/calls/{self.call_id}/stages/{self.stage_id}/assignment"

    def proposal_page(self, proposal_id: int) -> str:
        return f"{self.page}/proposals/{proposal_id}"


JUROR_TOPICS = {
    "ada@jury.test": ("Hydrogen", "Batteries"),
    "ben@jury.test": ("Hydrogen",),
    "cleo@jury.test": ("Robotics", "Batteries"),
    "dan@jury.test": ("Robotics",),
    "eve@jury.test": ("Medicine",),
}


def juror_on(call: Call, email: str, topics: list[Topic], **profile: object) -> User:
    juror = make_user(roles=(Role.JUROR,), email=email, name=email.split("@")[0].title())
    now = utcnow()
    db.session.add(
        JuryMembership(
            call_id=call.id,
            user_id=juror.id,
            state=MembershipState.ACCEPTED,
            invited_at=now - dt.timedelta(days=30),
            responded_at=now - dt.timedelta(days=29),
            conflicts_declared_at=now - dt.timedelta(days=29),
        )
    )
    values: dict[str, object] = {"expertise_text": "", "updated_at": now}
    values.update(profile)
    db.session.add(JurorProfile(user_id=juror.id, topics=topics, **values))
    db.session.flush()
    return juror


def submit(proposal: Proposal, stage: Stage) -> None:
    db.session.add(
        StageSubmission(
            proposal=proposal,
            stage=stage,
            sections={},
            updated_at=utcnow(),
            state=SubmissionState.SUBMITTED,
            submitted_at=stage.closes_at - dt.timedelta(days=1),
            content_hash="0" * 64,
        )
    )
    db.session.flush()


def build_world(*, seats: int = 2, max_load: int = 3, proposals: int = 6) -> World:
    now = utcnow()
    officer = make_user(roles=(Role.OFFICER,), email="olivia@office.test")
    other_officer = make_user(roles=(Role.OFFICER,), email="oskar@office.test")
    make_call(make_programme(officers=(other_officer,)))
    call = make_call(make_programme(officers=(officer,)))
    stage = make_stage(
        call,
        opens_at=now - dt.timedelta(days=60),
        closes_at=now - dt.timedelta(days=20),
        reviewers_per_proposal=seats,
        max_load_per_juror=max_load,
        reviews_due_at=now + dt.timedelta(days=10),
    )
    # A later stage, so proposals can advance from the one under test.
    make_stage(
        call,
        kind=StageKind.FULL_PROPOSAL,
        name="Full proposal",
        opens_at=now + dt.timedelta(days=30),
        closes_at=now + dt.timedelta(days=90),
    )
    topics = {
        name: make_topic(name=name) for name in ("Hydrogen", "Batteries", "Robotics", "Medicine")
    }
    partner = make_organisation(name="Fraunhofer Partner Institute")
    applicant = make_user(roles=(Role.APPLICANT,), email="anna@consortium.test")
    made: list[Proposal] = []
    subjects = ["Hydrogen", "Batteries", "Robotics", "Hydrogen", "Robotics", "Batteries"]
    for n in range(proposals):
        subject = subjects[n % len(subjects)]
        proposal = make_proposal(
            call,
            coordinator=applicant if n == 0 else None,
            organisations=(make_organisation(), partner) if n == 0 else (),
            title=f"{subject} cluster {n}",
            abstract=f"A regional {subject.lower()} cluster.",
        )
        proposal.topics.append(topics[subject])
        submit(proposal, stage)
        made.append(proposal)
    jurors = {}
    for email, names in JUROR_TOPICS.items():
        jurors[email] = juror_on(
            call,
            email,
            [topics[name] for name in names],
            affiliation_id=partner.id if email == "ada@jury.test" else make_organisation().id,
            expertise_text=" ".join(names) + " research",
        ).id
    db.session.commit()
    return World(
        call_id=call.id,
        stage_id=stage.id,
        officer=officer.email,
        other_officer=other_officer.email,
        applicant=applicant.email,
        proposals=[p.id for p in made],
        jurors=jurors,
        partner_juror=jurors["ada@jury.test"],
    )


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_world()


def pairs(app, world: World) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [
            (p, j)
            for p, j in db.session.execute(
                sa.select(Assignment.proposal_id, Assignment.user_id)
                .where(Assignment.stage_id == world.stage_id, Assignment.declined_at.is_(None))
                .order_by(Assignment.proposal_id, Assignment.user_id)
            )
        ]


def runs_of(app, world: World) -> list[AssignmentRun]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = list(
            db.session.scalars(
                sa.select(AssignmentRun)
                .where(AssignmentRun.stage_id == world.stage_id)
                .order_by(AssignmentRun.id)
            )
        )
        db.session.expunge_all()
        return found


def start(browser: Browser, world: World, **fields: str):  # type: ignore[no-untyped-def]
    return browser.submit(f"{world.page}/runs", fields, page=world.page)


def mails(app, template: str) -> list[Notification]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = list(
            db.session.scalars(
                sa.select(Notification)
                .where(Notification.template == template)
                .order_by(Notification.id)
            )
        )
        db.session.expunge_all()
        return found


def events(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return found


# --- running --------------------------------------------------------------------------------------


def test_the_officer_runs_the_assignment_and_sees_the_proposed_result(app, world):
    officer = as_person(app, world.officer)

    response = start(officer, world)

    assert response.status_code == 302
    [run] = runs_of(app, world)
    assert run.state == RunState.DONE and run.progress == 100
    assert run.result["optimal"] is True and run.result["pairs"] == 12
    assigned = pairs(app, world)
    assert len(assigned) == 12
    per_proposal = {p: sum(1 for q, _ in assigned if q == p) for p in world.proposals}
    assert set(per_proposal.values()) == {2}
    loads = {j: sum(1 for _, k in assigned if k == j) for j in world.jurors.values()}
    assert max(loads.values()) <= 3
    # The run brought the automatic conflict up to date before matching.
    assert (world.proposals[0], world.partner_juror) not in assigned
    with app.app_context():
        assert db.session.scalar(
            sa.select(Conflict.id).where(
                Conflict.user_id == world.partner_juror,
                Conflict.proposal_id == world.proposals[0],
                Conflict.source == ConflictSource.AUTOMATIC,
            )
        )
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Assignment.released_at.is_not(None)))
            == 0
        )

    page = text(officer.get(world.page))
    assert "proven optimal" in page
    assert 'id="loads"' in page and 'id="histogram"' in page and 'id="weakest"' in page
    # In an officer's words; the solver and its sums only behind "Details".
    seen = re.sub(r"<details.*?</details>", "", page, flags=re.S)
    assert "The best possible match of expertise, proven optimal." in seen
    assert "fits their proposals by" in seen
    for record in ("total affinity", "Total affinity", run.result["method"]):
        assert record not in seen, record
    details = page[page.index('<details id="run-details">') :]
    assert "<summary>Details</summary>" in details and run.result["method"] in details
    assert "Release to the jurors" in page
    assert [e.after["run"] for e in events(app, "assignment.run_finished")] == [run.id]


def test_every_proposal_gets_a_juror_who_knows_its_topic(app):
    with app.app_context():
        world = build_world(max_load=4)
    start(as_person(app, world.officer), world)
    with app.app_context():
        for proposal_id in world.proposals:
            proposal = db.session.get(Proposal, proposal_id)
            topics = {t.id for t in proposal.topics}
            experts = {
                profile.user_id
                for profile in db.session.scalars(sa.select(JurorProfile))
                if topics & {t.id for t in profile.topics}
            }
            on = {j for p, j in pairs(app, world) if p == proposal_id}
            assert on & experts, proposal.title


def test_the_same_input_gives_the_same_assignment_and_a_new_run_replaces_the_old(app, world):
    officer = as_person(app, world.officer)
    start(officer, world)
    first = pairs(app, world)

    start(officer, world)

    assert pairs(app, world) == first
    assert [r.state for r in runs_of(app, world)] == [RunState.DONE, RunState.DONE]


def test_the_engine_in_the_app_agrees_with_a_direct_solve(app, world):
    start(as_person(app, world.officer), world)
    with app.app_context():
        stage = db.session.get(Stage, world.stage_id)
        built = stage_problem.build(stage, stage_problem.Options())
        direct = engine.solve(built.problem)
    assert sorted(direct.pairs) == pairs(app, world)


def test_an_impossible_assignment_fails_with_reasons_the_officer_can_act_on(app):
    with app.app_context():
        world = build_world(seats=5)  # 5 jurors, one with a conflict on the first proposal
    officer = as_person(app, world.officer)

    start(officer, world)

    [run] = runs_of(app, world)
    assert run.state == RunState.FAILED
    # Kept as texts, said in each reader's language.
    reasons = [str(load(r)) for r in run.result["reasons"]]
    assert any("only 4 jurors without a conflict for 5 seats" in r for r in reasons)
    assert pairs(app, world) == []
    page = text(officer.get(world.page))
    assert "No assignment obeys all the rules" in page
    assert "only 4 jurors without a conflict for 5 seats" in page


def test_options_reach_the_engine_and_bad_ones_are_refused_at_the_field(app, world):
    officer = as_person(app, world.officer)

    response = start(officer, world, min_non_academic_seats="7")

    assert response.status_code == 422
    assert "Choose between 0 and 2 seats" in text(response)
    assert runs_of(app, world) == []

    start(officer, world, fairness="y", one_per_organisation="y")
    [run] = runs_of(app, world)
    assert run.params == {
        "fairness": True,
        "one_per_organisation": True,
        "min_non_academic_seats": 0,
    }
    assert run.result["fairness_threshold"] is not None


def test_only_one_run_at_a_time_but_an_abandoned_run_can_be_started_again(app, world):
    with app.app_context():
        officer_id = db.session.scalar(sa.select(User.id).where(User.email == world.officer))
        db.session.add(
            AssignmentRun(
                stage_id=world.stage_id,
                job=make_job(
                    "assignment.run",
                    world.stage_id,
                    state=RunState.RUNNING,
                    progress=50,
                    message="Finding the best assignment.",
                    started_by_id=officer_id,
                    started_at=utcnow(),
                    heartbeat_at=utcnow(),
                ),
                params={},
                result={},
                started_by_id=officer_id,
                created_at=utcnow(),
            )
        )
        db.session.commit()
    officer = as_person(app, world.officer)

    refused = start(officer, world)

    assert refused.status_code == 409  # one is under way: a conflict, not a bad form
    assert "already under way" in text(refused)

    # Its heartbeat stopped two minutes ago: the run belongs to a dead worker.
    with app.app_context():
        run = db.session.scalar(sa.select(AssignmentRun))
        run.job.heartbeat_at = utcnow() - dt.timedelta(minutes=2)
        db.session.commit()
    assert "stopped without finishing" in text(officer.get(world.page))

    start(officer, world)

    first, second = runs_of(app, world)
    assert first.state == RunState.FAILED and "stopped without finishing" in first.message
    assert second.state == RunState.DONE


def test_the_page_polls_a_run_under_way(app, world):
    with app.app_context():
        officer_id = db.session.scalar(sa.select(User.id).where(User.email == world.officer))
        run = AssignmentRun(
            stage_id=world.stage_id,
            job=make_job(
                "assignment.run",
                world.stage_id,
                state=RunState.RUNNING,
                progress=50,
                message="Finding the best assignment of 6 proposals to 5 jurors.",
                started_by_id=officer_id,
                started_at=utcnow(),
                heartbeat_at=utcnow(),
            ),
            params={},
            result={},
            started_by_id=officer_id,
            created_at=utcnow(),
        )
        db.session.add(run)
        db.session.commit()
        run_id = run.id
    officer = as_person(app, world.officer)

    page = text(officer.get(world.page))
    status = officer.get(f"{world.page}/runs/{run_id}").get_json()

    assert f'data-status-url="{world.page}/runs/{run_id}"' in page
    assert '<progress id="run-progress" max="100" value="50"' in page
    assert status == {
        "state": "running",
        "progress": 50,
        "message": "Finding the best assignment of 6 proposals to 5 jurors.",
        "finished": False,
    }


def test_a_german_officer_follows_a_run_in_german_and_reads_why_it_was_given_up(app, world):
    progress = N_(
        "Finding the best assignment of %(proposals)s proposals to %(jurors)s jurors.",
        proposals=12000,
        jurors=60,
    )
    with app.app_context():
        officer_id = db.session.scalar(sa.select(User.id).where(User.email == world.officer))
        run = AssignmentRun(
            stage_id=world.stage_id,
            job=make_job(
                "assignment.run",
                world.stage_id,
                state=RunState.RUNNING,
                progress=50,
                message=progress.dumps(),
                started_by_id=officer_id,
                started_at=utcnow(),
                heartbeat_at=utcnow(),
            ),
            params={},
            result={},
            started_by_id=officer_id,
            created_at=utcnow(),
        )
        db.session.add(run)
        db.session.commit()
        run_id = run.id
    english = as_person(app, world.officer)
    assert english.get(f"{world.page}/runs/{run_id}").get_json()["message"] == (
        "Finding the best assignment of 12,000 proposals to 60 jurors."
    )
    with app.app_context():
        db.session.get(User, officer_id).locale = "de"
        db.session.commit()
    german = as_person(app, world.officer)

    running = german.get(f"{world.page}/runs/{run_id}").get_json()["message"]
    running_page = text(german.get(world.page))
    with app.app_context():
        run = db.session.get(AssignmentRun, run_id)
        run.job.heartbeat_at = utcnow() - dt.timedelta(minutes=2)
        db.session.commit()
    abandoned = german.get(f"{world.page}/runs/{run_id}").get_json()["message"]
    abandoned_page = text(german.get(world.page))
    start(german, world)
    given_up, done = runs_of(app, world)
    finished = german.get(f"{world.page}/runs/{done.id}").get_json()["message"]

    assert running == "Die beste Zuteilung von 12.000 Anträgen an 60 Gutachter*innen wird gesucht."
    assert running in running_page
    assert abandoned.startswith("Der Vorgang endete unvollendet") and abandoned in abandoned_page
    assert load(given_up.message) == jobs.DEAD
    assert finished == "Fertig."


# --- access ---------------------------------------------------------------------------------------


def officer_urls(world: World) -> list[str]:
    return [
        world.page,
        world.proposal_page(world.proposals[1]),
        f"{world.page}/release",
    ]


def test_an_officer_of_another_programme_sees_nothing(app, world):
    start(as_person(app, world.officer), world)
    other = as_person(app, world.other_officer)
    run_id = runs_of(app, world)[0].id

    for url in [*officer_urls(world), f"{world.page}/runs/{run_id}"]:
        assert other.get(url).status_code == 404, url
    assert other.submit(f"{world.page}/runs", {}, page="/").status_code == 404
    assert other.submit(f"{world.page}/release", {}, page="/").status_code == 404


@pytest.mark.parametrize("who", ["juror", "applicant"])
def test_jurors_and_applicants_are_refused(app, world, who):
    email = "ben@jury.test" if who == "juror" else world.applicant
    browser = as_person(app, email)
    for url in officer_urls(world):
        assert browser.get(url).status_code == 403, url
    assert browser.submit(f"{world.page}/runs", {}, page="/").status_code == 403
    assert runs_of(app, world) == []


# --- changes by hand ------------------------------------------------------------------------------


def juror_id(world: World, email: str) -> int:
    return world.jurors[email]


def change(browser: Browser, world: World, proposal_id: int, **fields: object):  # type: ignore[no-untyped-def]
    return browser.submit(
        world.proposal_page(proposal_id),
        {k: str(v) for k, v in fields.items()},
        page=world.proposal_page(proposal_id),
    )


def test_the_proposal_page_shows_jurors_and_ranked_alternates_with_reasons(app, world):
    officer = as_person(app, world.officer)
    start(officer, world)
    target = world.proposals[1]  # a batteries proposal

    page = text(officer.get(world.proposal_page(target)))

    assert 'id="current"' in page and 'id="alternates"' in page
    assert "Batteries" in page  # the shared topic is named
    current = {j for p, j in pairs(app, world) if p == target}
    alternates = re.findall(r'id="alternate-(\d+)"', page)
    assert alternates and not current & {int(a) for a in alternates}


def test_the_proposal_pages_fit_the_text_model_once_until_a_text_changes(app, world, monkeypatch):
    from competition.core import affinity

    fitted: list[int] = []

    class Counted(affinity.Affinities):
        def __init__(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            fitted.append(1)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(affinity, "Affinities", Counted)
    officer = as_person(app, world.officer)
    start(officer, world)  # the run fits them once
    after_run = len(fitted)

    for target in world.proposals[:3]:
        assert officer.get(world.proposal_page(target)).status_code == 200
    assert len(fitted) == after_run  # the pages reuse the run's fit

    with app.app_context():
        proposal = db.session.get(Proposal, world.proposals[0])
        proposal.abstract = (proposal.abstract or "") + " Hydrogen storage in salt caverns."
        db.session.commit()
    assert officer.get(world.proposal_page(world.proposals[0])).status_code == 200
    assert len(fitted) == after_run + 1


def test_adding_a_conflicted_juror_is_refused_with_names_not_ids(app, world):
    officer = as_person(app, world.officer)
    start(officer, world)
    before = pairs(app, world)

    response = change(officer, world, world.proposals[0], kind="add", juror_in=world.partner_juror)

    assert response.status_code == 422
    page = text(response)
    assert "Ada has a conflict of interest with proposal" in page
    assert f"juror {world.partner_juror}" not in page
    assert pairs(app, world) == before


def test_adding_above_the_maximum_load_is_refused(app):
    with app.app_context():
        world = build_world(seats=1, max_load=1, proposals=5)
    officer = as_person(app, world.officer)
    start(officer, world)
    assigned = pairs(app, world)
    busy = next(j for _, j in assigned)
    free_proposal = next(p for p, j in assigned if j != busy)

    response = change(officer, world, free_proposal, kind="add", juror_in=busy)

    assert response.status_code == 422
    assert "above their maximum load of 1" in text(response)


def test_removing_asks_for_confirmation_when_a_seat_would_stay_empty(app, world):
    officer = as_person(app, world.officer)
    start(officer, world)
    target = world.proposals[2]
    out = next(j for p, j in pairs(app, world) if p == target)

    asked = change(officer, world, target, kind="remove", juror_out=out)

    assert asked.status_code == 422
    assert "now has 1 of 2 jurors" in text(asked)
    assert "Make the change anyway" in text(asked)
    assert (target, out) in pairs(app, world)

    done = change(officer, world, target, kind="remove", juror_out=out, confirmed="yes")

    assert done.status_code == 302
    assert (target, out) not in pairs(app, world)
    [event] = events(app, "assignment.changed")
    assert event.after["change"] == "remove" and event.after["warnings"]


def test_a_swap_keeps_the_seat_count(app, world):
    officer = as_person(app, world.officer)
    start(officer, world)
    target = world.proposals[3]
    out = next(j for p, j in pairs(app, world) if p == target)
    page = text(officer.get(world.proposal_page(target)))
    candidate = int(re.findall(r'id="alternate-(\d+)"', page)[0])

    response = change(officer, world, target, kind="swap", juror_out=out, juror_in=candidate)

    assert response.status_code == 302
    on = {j for p, j in pairs(app, world) if p == target}
    assert candidate in on and out not in on and len(on) == 2
    with app.app_context():
        added = db.session.scalar(
            sa.select(Assignment).where(
                Assignment.proposal_id == target, Assignment.user_id == candidate
            )
        )
        stage = db.session.get(Stage, world.stage_id)
        built = stage_problem.build(stage, stage_problem.Options())
        assert added.method == AssignmentMethod.MANUAL
        assert added.affinity == built.explain(target, candidate).total


# --- release --------------------------------------------------------------------------------------


def release(browser: Browser, world: World):  # type: ignore[no-untyped-def]
    return browser.submit(f"{world.page}/release", {}, page=f"{world.page}/release")


def test_release_tells_each_juror_once_and_ends_re_running(app, world):
    officer = as_person(app, world.officer)
    start(officer, world)
    confirm = text(officer.get(f"{world.page}/release"))
    assert "12 assignments go out now" in confirm

    assert release(officer, world).status_code == 302

    with app.app_context():
        assert (
            db.session.scalar(sa.select(sa.func.count()).where(Assignment.released_at.is_(None)))
            == 0
        )
    assigned_jurors = {j for _, j in pairs(app, world)}
    sent = mails(app, "jury/assignments")
    assert sorted(m.user_id for m in sent) == sorted(assigned_jurors)
    counts = {j: sum(1 for _, k in pairs(app, world) if k == j) for j in assigned_jurors}
    for message in sent:
        assert len(message.context["proposals"]) == counts[message.user_id]

    again = release(officer, world)
    assert again.status_code == 302
    assert len(mails(app, "jury/assignments")) == len(sent)
    refused = start(officer, world)
    assert refused.status_code == 422
    assert "released to the jurors" in text(refused)
    # The jurors now see their proposals.
    ben = as_person(app, "ben@jury.test")
    if juror_id(world, "ben@jury.test") in assigned_jurors:
        assert "Give back" in text(ben.get("/reviews"))


def test_a_juror_added_after_release_is_notified_at_once(app, world):
    officer = as_person(app, world.officer)
    start(officer, world)
    release(officer, world)
    before = len(mails(app, "jury/assignments"))
    target = world.proposals[4]
    page = text(officer.get(world.proposal_page(target)))
    candidate = int(re.findall(r'id="alternate-(\d+)"', page)[0])

    change(officer, world, target, kind="add", juror_in=candidate, confirmed="yes")

    sent = mails(app, "jury/assignments")
    assert len(sent) == before + 1 and sent[-1].user_id == candidate
    with app.app_context():
        added = db.session.scalar(
            sa.select(Assignment).where(
                Assignment.proposal_id == target, Assignment.user_id == candidate
            )
        )
        assert added.released_at is not None


def test_a_juror_who_began_a_review_cannot_be_taken_off(app, world):
    officer = as_person(app, world.officer)
    start(officer, world)
    release(officer, world)
    target = world.proposals[1]
    with app.app_context():
        assignment = db.session.scalar(
            sa.select(Assignment).where(Assignment.proposal_id == target).limit(1)
        )
        make_review(assignment, state=ReviewState.DRAFT)
        db.session.commit()
        out = assignment.user_id

    response = change(officer, world, target, kind="remove", juror_out=out, confirmed="yes")

    assert response.status_code == 422
    assert "has already begun a review" in text(response)
    assert (target, out) in pairs(app, world)


# --- a juror gives an assignment back -------------------------------------------------------------


def released_world(app, world: World) -> None:  # type: ignore[no-untyped-def]
    officer = as_person(app, world.officer)
    start(officer, world)
    release(officer, world)


def assignment_of(app, proposal_id: int, user_id: int) -> Assignment:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = db.session.scalar(
            sa.select(Assignment).where(
                Assignment.proposal_id == proposal_id, Assignment.user_id == user_id
            )
        )
        db.session.expunge_all()
        return found


def email_of(world: World, user_id: int) -> str:
    return next(e for e, i in world.jurors.items() if i == user_id)


def test_a_juror_gives_an_assignment_back_and_the_best_alternate_takes_the_seat(app, world):
    released_world(app, world)
    target = world.proposals[1]
    before = pairs(app, world)
    leaver = next(j for p, j in before if p == target)
    original = assignment_of(app, target, leaver)
    with app.app_context():
        stage = db.session.get(Stage, world.stage_id)
        built = stage_problem.build(stage, stage_problem.Options(), only_proposals=[target])
        expected = engine.alternates(built.problem, before, target, k=1, replacing=leaver)[0]
    juror = as_person(app, email_of(world, leaver))
    url = f"/reviews/assignments/{original.id}/decline"
    assert "Give back" in text(juror.get(url))
    mails_before = len(mails(app, "jury/assignments"))

    empty = juror.submit(url, {"reason": "  "})
    assert empty.status_code == 422 and "Say briefly why" in text(empty)

    response = juror.submit(url, {"reason": "I co-authored with the coordinator last year."})

    assert response.status_code == 302
    after = pairs(app, world)
    assert (target, leaver) not in after and (target, expected) in after
    replacement = assignment_of(app, target, expected)
    assert replacement.replaces_id == original.id and replacement.released_at is not None
    sent = mails(app, "jury/assignments")
    assert len(sent) == mails_before + 1 and sent[-1].user_id == expected
    # The leaver no longer sees the proposal; the officer sees who left and who took over.
    assert f'/reviews/assignments/{original.id}"' not in text(juror.get("/reviews"))
    assert juror.get(f"/reviews/assignments/{original.id}").status_code == 404
    page = text(as_person(app, world.officer).get(world.page))
    assert "I co-authored with the coordinator last year." in page
    [event] = events(app, "assignment.declined")
    assert "co-authored" not in str(event.after)
    [replaced] = events(app, "assignment.replaced")
    assert replaced.after["replacement_juror"] == expected


def test_when_nobody_can_take_the_seat_the_officer_is_shown_it(app):
    with app.app_context():
        world = build_world(seats=4, max_load=6, proposals=2)
    released_world(app, world)
    target = world.proposals[1]
    on = {j for p, j in pairs(app, world) if p == target}
    # Everyone else without a conflict is already on it; the fifth juror is the one left.
    spare = [j for j in world.jurors.values() if j not in on]
    with app.app_context():
        for j in spare:
            db.session.add(
                Conflict(
                    user_id=j,
                    proposal_id=target,
                    source=ConflictSource.OFFICER,
                    reason="Reviewer of the consortium's last grant.",
                    created_at=utcnow(),
                )
            )
        db.session.commit()
    leaver = sorted(on)[0]
    original = assignment_of(app, target, leaver)

    as_person(app, email_of(world, leaver)).submit(
        f"/reviews/assignments/{original.id}/decline", {"reason": "Ill for a month."}
    )

    assert len({j for p, j in pairs(app, world) if p == target}) == 3
    page = text(as_person(app, world.officer).get(world.page))
    assert "Nobody could take the seat" in page
    assert "3 of 4 jurors" in page


def test_a_submitted_review_cannot_be_given_back(app, world):
    released_world(app, world)
    target = world.proposals[2]
    leaver = next(j for p, j in pairs(app, world) if p == target)
    original = assignment_of(app, target, leaver)
    with app.app_context():
        make_review(original.id, state=ReviewState.SUBMITTED)
        db.session.commit()

    response = as_person(app, email_of(world, leaver)).submit(
        f"/reviews/assignments/{original.id}/decline", {"reason": "Too busy."}
    )

    assert response.status_code == 422
    assert "You have submitted your review" in text(response)
    assert (target, leaver) in pairs(app, world)


def test_nobody_gives_back_another_jurors_assignment(app, world):
    released_world(app, world)
    target = world.proposals[2]
    on = {j for p, j in pairs(app, world) if p == target}
    owner = sorted(on)[0]
    other = next(j for j in world.jurors.values() if j not in on)
    original = assignment_of(app, target, owner)

    response = as_person(app, email_of(world, other)).submit(
        f"/reviews/assignments/{original.id}/decline", {"reason": "Mischief."}, page="/reviews"
    )

    assert response.status_code == 404
    assert (target, owner) in pairs(app, world)


def test_execute_run_is_a_no_op_for_a_finished_run(app, world):
    start(as_person(app, world.officer), world)
    [run] = runs_of(app, world)
    before = pairs(app, world)
    with app.app_context():
        assert runs.execute_run(run.id) is None
    assert pairs(app, world) == before
