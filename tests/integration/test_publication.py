"""Publishing decisions on PostgreSQL: the officer confirms on a page that counts the letters per
outcome; each confirmed decision gets a frozen letter (mean score per criterion of the reviews
that count, the jurors' comments for the applicant as "Juror A/B", nobody's name), its outcome is
applied to the proposal, and the coordinator gets exactly one e-mail with the letter as a PDF,
even when the task runs twice or on two workers at once. Letters are for the consortium and the
programme's officers only, and only once published."""

from __future__ import annotations

import datetime as dt
import io
import re
import threading
from dataclasses import dataclass
from email.message import Message

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from competition.accounts.models import Role, User
from competition.assignment.models import (
    Assignment,
    Conflict,
    ConflictSource,
)
from competition.audit.models import AuditEvent
from competition.core.texts import load
from competition.db import utcnow
from competition.errors import DomainError
from competition.extensions import db
from competition.jobs import operations as jobs
from competition.jobs.models import Job
from competition.notifications import mailer
from competition.notifications.models import Notification, NotificationState
from competition.programmes.models import ProgrammeOfficer, Stage, StageKind
from competition.proposals.models import (
    ContributorRole,
    Proposal,
    ProposalContributor,
    ProposalState,
    StageSubmission,
)
from competition.reviews.models import Review, ReviewState
from competition.selection.decisions import operations as decisions_operations
from competition.selection.models import Decision, Outcome
from competition.selection.publication import operations as publication_operations
from competition.selection.publication import queries as publication_queries
from tests.conftest import Browser, mail_text
from tests.factories import make_assignment, make_review, make_user
from tests.helpers import as_person, text
from tests.integration.test_assignment_runs import World
from tests.integration.test_rankings import reviewed_world
from tests.integration.test_worker import WAIT, wait_until

pytestmark = [pytest.mark.postgres]

RATIONALE = "Decided on the panel's recommendation after the ranking."
SECOND_OFFICER = "otto@office.test"
# Distinctive names, so that finding one in a letter cannot be a coincidence.
JUROR_NAMES = {
    "ada@jury.test": "Wilhelmina Quastorf",
    "ben@jury.test": "Bartholomew Zinnecker",
    "cleo@jury.test": "Cornelia Vrablecova",
    "dan@jury.test": "Desmond Okonkwo-Lindqvist",
    "eve@jury.test": "Evangelina Thorbecke",
}
# proposals[0]'s two counted reviews: Excellence and Impact.
P0_SCORES = [("4.5", "3"), ("3.5", "2.5")]
OUTCOMES = [Outcome.ADVANCE, Outcome.REJECT, Outcome.FUND, Outcome.RESERVE]  # proposals[0..3]


@dataclass(frozen=True)
class Letters:
    world: World
    next_stage_id: int
    coordinators: dict[int, str]  # proposal id → the coordinator's e-mail
    decisions: dict[int, int]  # proposal id → decision id
    unconfirmed: int  # proposals[4]'s decision, proposed only
    applicant_comments: list[str]  # of proposals[0]'s counted reviews
    hidden_texts: list[str]  # jury-only comments, and the comment of a conflicted review

    @property
    def publish_page(self) -> str:
        w = self.world
        return f"/calls/{w.call_id}/stages/{w.stage_id}/selection/publish"

    def letter_url(self, proposal_id: int, decision_id: int | None = None) -> str:
        decision = decision_id if decision_id is not None else self.decisions[proposal_id]
        return f"/proposals/{proposal_id}/letters/{decision}"


def build_letters() -> Letters:
    """reviewed_world, with a next stage, a coordinator per proposal, comments, a conflicted
    review of proposals[0] that must not count, and decisions: proposals[0..3] confirmed
    (advance, reject, fund, reserve), proposals[4] proposed only."""
    world = reviewed_world()
    stage = db.session.get(Stage, world.stage_id)
    now = utcnow()
    after = stage.call.stages[-1]  # the world's full-proposal stage, open now
    assert after.kind == StageKind.FULL_PROPOSAL
    after.opens_at = now - dt.timedelta(days=1)
    after.closes_at = now + dt.timedelta(days=90)
    second = make_user(roles=(Role.OFFICER,), email=SECOND_OFFICER)
    db.session.add(ProgrammeOfficer(programme_id=stage.call.programme_id, user_id=second.id))
    for email, name in JUROR_NAMES.items():
        db.session.scalar(sa.select(User).where(User.email == email)).name = name
    coordinators = {world.proposals[0]: world.applicant}
    for n, proposal_id in enumerate(world.proposals[1:], 1):
        coordinator = make_user(roles=(Role.APPLICANT,), email=f"coord{n}@consortium.test")
        db.session.add(
            ProposalContributor(
                proposal_id=proposal_id, user_id=coordinator.id, role=ContributorRole.COORDINATOR
            )
        )
        coordinators[proposal_id] = coordinator.email
    reviews = db.session.scalars(
        sa.select(Review).join(Assignment).order_by(Assignment.proposal_id, Review.id)
    ).all()
    hidden = []
    for review in reviews:
        review.comment_for_applicant = f"The work plan of review {review.id} is convincing."
        review.comment_for_jury = f"Jury only {review.id}: discuss at the panel."
        hidden.append(review.comment_for_jury)
    excellence, impact = (c.id for c in stage.criteria)
    p0_reviews = [
        r
        for r in reviews
        if db.session.get(Assignment, r.assignment_id).proposal_id == world.proposals[0]
    ]
    assert len(p0_reviews) == len(P0_SCORES)
    for review, (e, i) in zip(p0_reviews, P0_SCORES, strict=True):
        review.scores = {str(excellence): e, str(impact): i}
    # A juror found conflicted after reviewing: the scores (all zero) and comment must not count.
    assigned = {db.session.get(Assignment, r.assignment_id).user_id for r in p0_reviews}
    outsider = next(j for e, j in world.jurors.items() if j not in assigned)
    late = make_assignment(
        stage,
        db.session.get(Proposal, world.proposals[0]),
        db.session.get(User, outsider),
        released_at=now,
    )
    make_review(
        late,
        state=ReviewState.SUBMITTED,
        scores={str(excellence): "0", str(impact): "0"},
        comment="Conflicted reviewer's comment.",
        confidence=3,
    )
    if not db.session.scalar(
        sa.select(Conflict.id).where(
            Conflict.user_id == outsider, Conflict.proposal_id == world.proposals[0]
        )
    ):
        db.session.add(
            Conflict(
                user_id=outsider,
                proposal_id=world.proposals[0],
                source=ConflictSource.OFFICER,
                reason="Found after the review.",
                created_at=now,
            )
        )
    hidden.append("Conflicted reviewer's comment.")
    db.session.commit()
    applicant_comments = [r.comment_for_applicant for r in p0_reviews]

    officer = db.session.scalar(sa.select(User).where(User.email == world.officer))
    made = {}
    for proposal_id, outcome in zip(world.proposals[:4], OUTCOMES, strict=True):
        [decision] = decisions_operations.propose_decisions(
            stage, [proposal_id], outcome=outcome, rationale=RATIONALE, actor=officer, now=now
        )
        made[proposal_id] = decision.id
    decisions_operations.confirm_decisions(stage, list(made.values()), actor=second, now=now)
    [unconfirmed] = decisions_operations.propose_decisions(
        stage,
        [world.proposals[4]],
        outcome=Outcome.REJECT,
        rationale=RATIONALE,
        actor=officer,
        now=now,
    )
    return Letters(
        world=world,
        next_stage_id=after.id,
        coordinators=coordinators,
        decisions=made,
        unconfirmed=unconfirmed.id,
        applicant_comments=applicant_comments,
        hidden_texts=hidden,
    )


@pytest.fixture
def letters(app) -> Letters:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_letters()


def start(letters: Letters) -> int:
    """The officer starts the publication; in-process, it is done when this returns."""
    stage = db.session.get(Stage, letters.world.stage_id)
    officer = db.session.scalar(sa.select(User).where(User.email == letters.world.officer))
    return publication_operations.start_publication(stage, actor=officer, now=utcnow())


def letter_mails(app) -> list[Notification]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = list(
            db.session.scalars(
                sa.select(Notification)
                .where(Notification.template == "selection/letter")
                .order_by(Notification.id)
            )
        )
        db.session.expunge_all()
        return found


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def assert_no_juror_identity(content: str) -> None:
    for email, name in JUROR_NAMES.items():
        assert name not in content
        for part in name.split():
            assert part not in content
        assert email not in content
    assert "jury.test" not in content


# --- the letter ---------------------------------------------------------------------------------


def test_the_letter_gives_means_per_criterion_and_anonymous_comments_and_no_juror_identity(
    app, letters
):
    with app.app_context():
        assert start(letters) == 4
    p0 = letters.world.proposals[0]
    applicant = as_person(app, letters.coordinators[p0])

    page = applicant.get(letters.letter_url(p0))
    pdf = applicant.get(letters.letter_url(p0) + ".pdf")
    [mail] = [m for m in letter_mails(app) if m.to_address == letters.coordinators[p0]]

    assert page.status_code == 200
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert mail.state == NotificationState.SENT
    with app.app_context():
        rendered = mailer.render(mail.template, {**mail.context, "base_url": "http://x"})
    [attachment] = rendered.attachments
    assert attachment.content_type == "application/pdf"
    with app.app_context():
        reference = db.session.get(Proposal, p0).reference
    assert attachment.filename == f"decision-{reference}.pdf"
    versions = {
        "page": text(page),
        "pdf": pdf_text(pdf.data),
        "mail text": mail.body_text,
        "mail html": mail.body_html,
        "attachment": pdf_text(attachment.data),
    }
    for where, content in versions.items():
        assert content, where
        # Means of the two reviews that count; the conflicted review's zeros would pull them down.
        assert re.search(r"Excellence.{0,80}?4\.00", content, re.S), where
        assert re.search(r"Impact.{0,80}?2\.75", content, re.S), where
        assert "2 submitted reviews" in content, where
        assert "Your proposal advances to the next stage" in content, where
        assert "Full proposal" in content, where
        for comment in letters.applicant_comments:
            assert comment in content, where
        assert "Juror A" in content and "Juror B" in content, where
        assert "Juror C" not in content, where
        for hidden in letters.hidden_texts:
            assert hidden not in content, where
        assert_no_juror_identity(content)
    with app.app_context():
        frozen = db.session.get(Decision, letters.decisions[p0]).letter
    assert [set(c) for c in frozen["comments"]] == [{"juror", "text"}] * 2


def test_an_english_officer_publishes_and_a_german_coordinator_gets_a_german_letter(app, letters):
    p0, p1 = letters.world.proposals[:2]
    with app.app_context():
        for email, locale in ((letters.world.officer, "en"), (letters.coordinators[p0], "de")):
            db.session.scalar(sa.select(User).where(User.email == email)).locale = locale
        db.session.commit()
    officer = as_person(app, letters.world.officer)

    assert officer.submit(letters.publish_page, {}).status_code == 303

    applicant = as_person(app, letters.coordinators[p0])
    page = text(applicant.get(letters.letter_url(p0)))
    pdf = pdf_text(applicant.get(letters.letter_url(p0) + ".pdf").data)
    mails = {m.to_address: m for m in letter_mails(app)}
    mail = mails[letters.coordinators[p0]]
    with app.app_context():
        rendered = mailer.render(mail.template, {**mail.context, "base_url": "http://x"})
    attachment = pdf_text(rendered.attachments[0].data)
    for where, content in {
        "page": page,
        "pdf": pdf,
        "mail text": mail.body_text,
        "mail html": mail.body_html,
        "attachment": attachment,
    }.items():
        assert "Ihr Antrag kommt in die nächste Stufe" in content, where
        assert " je kriterium" in content.lower(), where
        assert "Your proposal advances" not in content, where
    # The officer reads the letter as it was sent, on a page of their own language.
    seen = text(officer.get(letters.letter_url(p0)))
    assert '<article class="letter" lang="de">' in seen and "Ihr Antrag kommt" in seen
    assert "Download as PDF" in seen
    # A coordinator who chose no language gets the deployment's (English here).
    assert "Your proposal has not been selected" in mails[letters.coordinators[p1]].body_text


def test_the_proposal_page_links_to_published_letters_only(app, letters):
    p0 = letters.world.proposals[0]
    applicant = as_person(app, letters.coordinators[p0])
    assert letters.letter_url(p0) not in text(applicant.get(f"/proposals/{p0}"))

    with app.app_context():
        start(letters)

    shown = text(applicant.get(f"/proposals/{p0}"))
    assert f'href="{letters.letter_url(p0)}"' in shown
    assert "Your proposal advances to the next stage" in shown


def test_the_dev_mailbox_names_the_attachment(app, letters):
    with app.app_context():
        start(letters)
        admin = make_user(roles=(Role.ADMIN,)).email
        db.session.commit()
        reference = db.session.get(Proposal, letters.world.proposals[1]).reference
    [mail] = [
        m
        for m in letter_mails(app)
        if m.to_address == letters.coordinators[letters.world.proposals[1]]
    ]

    shown = text(as_person(app, admin).get(f"/dev/mailbox/{mail.id}"))

    assert f"decision-{reference}.pdf" in shown


# --- outcomes -----------------------------------------------------------------------------------


def test_outcomes_are_applied_and_each_coordinator_gets_one_letter_and_nothing_else(app, letters):
    with app.app_context():
        start(letters)

    p = letters.world.proposals
    with app.app_context():
        states = {pid: db.session.get(Proposal, pid).state for pid in p[:5]}
        next_drafts = db.session.scalars(
            sa.select(StageSubmission.proposal_id).where(
                StageSubmission.stage_id == letters.next_stage_id
            )
        ).all()
        templates = db.session.scalars(sa.select(Notification.template)).all()
        reserve = db.session.get(Decision, letters.decisions[p[3]]).letter
        unconfirmed = db.session.get(Decision, letters.unconfirmed)
        assert unconfirmed.published_at is None and unconfirmed.letter is None
    assert states == {
        p[0]: ProposalState.ADVANCED,
        p[1]: ProposalState.REJECTED,
        p[2]: ProposalState.FUNDED,
        p[3]: ProposalState.SUBMITTED,  # on the reserve list: unchanged
        p[4]: ProposalState.SUBMITTED,  # not confirmed: not published
    }
    assert next_drafts == [p[0]]
    assert "proposals/next_stage" not in templates  # the letter is the invitation
    assert sorted(m.to_address for m in letter_mails(app)) == sorted(
        letters.coordinators[pid] for pid in p[:4]
    )
    assert "reserve list" in reserve["explanation"]


def test_a_publication_started_on_a_simulated_day_dates_its_letters_on_that_day(app, letters):
    """The demo's simulation publishes on its own calendar: the letters, the publication and
    its job's end carry the simulated day, not the machine's."""
    simulated = utcnow() + dt.timedelta(days=15)
    with app.app_context():
        stage = db.session.get(Stage, letters.world.stage_id)
        officer = db.session.scalar(sa.select(User).where(User.email == letters.world.officer))
        publication_operations.start_publication(stage, actor=officer, now=simulated)

        published = db.session.scalars(
            sa.select(Decision).where(Decision.published_at.is_not(None))
        ).all()
        job = db.session.scalar(sa.select(Job).order_by(Job.id.desc()).limit(1))
        stamps = [d.published_at for d in published] + [job.finished_at]
        letter_dates = {d.letter["published_at"] for d in published}
    assert len(published) == 4
    assert all(simulated <= stamp < simulated + dt.timedelta(minutes=5) for stamp in stamps)
    assert letter_dates == {d.isoformat() for d in stamps[:-1]}


def test_a_rejected_proposal_can_no_longer_be_edited(app, letters):
    with app.app_context():
        start(letters)
    p1 = letters.world.proposals[1]
    coordinator = as_person(app, letters.coordinators[p1])

    response = coordinator.submit(
        f"/proposals/{p1}/general",
        {"acronym": "NEW", "title": "A new title", "abstract": ""},
        page=f"/proposals/{p1}/edit",
        headers={"Accept": "application/json"},
    )

    assert response.status_code == 403
    assert "rejected; it is read-only" in response.get_json()["error"]


# --- visibility and access ----------------------------------------------------------------------


def test_unconfirmed_and_unpublished_decisions_have_no_letter(app, letters):
    p = letters.world.proposals
    coordinator = as_person(app, letters.coordinators[p[0]])
    # Confirmed but not yet published.
    assert coordinator.get(letters.letter_url(p[0])).status_code == 404
    assert coordinator.get(letters.letter_url(p[0]) + ".pdf").status_code == 404

    with app.app_context():
        start(letters)

    proposer = as_person(app, letters.coordinators[p[4]])
    assert proposer.get(letters.letter_url(p[4], letters.unconfirmed)).status_code == 404
    assert proposer.get(letters.letter_url(p[4], letters.unconfirmed) + ".pdf").status_code == 404
    assert coordinator.get(letters.letter_url(p[0])).status_code == 200


def test_letters_are_for_the_consortium_and_the_programmes_officers_only(app, letters):
    with app.app_context():
        start(letters)
    p = letters.world.proposals
    url = letters.letter_url(p[0])
    juror = next(iter(JUROR_NAMES))

    assert as_person(app, letters.coordinators[p[0]]).get(url).status_code == 200
    assert as_person(app, letters.world.officer).get(url).status_code == 200
    for outsider in (letters.coordinators[p[1]], letters.world.other_officer, juror):
        browser = as_person(app, outsider)
        assert browser.get(url).status_code == 404, outsider
        assert browser.get(url + ".pdf").status_code == 404, outsider
    # Another proposal's published decision under this proposal's address.
    own = as_person(app, letters.coordinators[p[1]])
    assert own.get(letters.letter_url(p[0], letters.decisions[p[1]])).status_code == 404
    assert own.get(letters.letter_url(p[1])).status_code == 200


# --- the officer's pages ------------------------------------------------------------------------


def test_the_officer_confirms_on_a_page_that_counts_the_letters_and_then_sees_progress(
    app, letters
):
    officer = as_person(app, letters.world.officer)

    confirm = text(officer.get(letters.publish_page))
    table = confirm[confirm.index('id="letters-per-outcome"') :]
    table = table[: table.index("</table>")]
    assert "Publish 4 letters" in confirm
    assert "cannot be undone" in confirm
    assert "1 decision is not confirmed" in confirm
    for label in ("Advance", "Reject", "Fund", "Reserve list"):
        assert re.search(rf">{label}</th><td class=\"num\">1</td>", table), label
    before = officer.get(letters.publish_page, headers={"Accept": "application/json"}).get_json()
    assert before == {"confirmed": 4, "published": 0, "waiting": 4, "in_progress": False}

    posted = officer.submit(letters.publish_page, {})
    assert posted.status_code == 303
    assert posted.headers["Location"].endswith(letters.publish_page)

    after = text(officer.get(letters.publish_page))
    assert "4 of 4 confirmed decisions published." in after
    assert "Publish 4 letters" not in after
    assert "nothing to publish" in after
    again = officer.submit(letters.publish_page, {})
    assert again.status_code == 422
    assert "no confirmed decisions waiting" in text(again)
    with app.app_context():
        actions = db.session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("decisions.publication_started") == 1
    assert actions.count("decision.published") == 4


def test_other_programmes_officers_do_not_see_the_publication_page(app, letters):
    outsider = as_person(app, letters.world.other_officer)
    assert outsider.get(letters.publish_page).status_code == 404


def test_nothing_to_publish_is_refused(app, letters):
    with app.app_context():
        start(letters)
        with pytest.raises(DomainError, match="no confirmed decisions waiting"):
            start(letters)


def publication_job(letters) -> int:  # type: ignore[no-untyped-def]
    """A queued publication job, as starting the publication leaves one for the worker."""
    job = jobs.open_job(
        publication_queries.KIND,
        f"stage:{letters.world.stage_id}",
        actor=None,
        now=utcnow(),
        taken="under way",
    )
    db.session.commit()
    return job.id


def latest_job_id() -> int:
    return db.session.scalar(
        sa.select(sa.func.max(Job.id)).where(Job.kind == publication_queries.KIND)
    )


def test_publishing_twice_publishes_and_mails_nothing_twice(app, letters):
    with app.app_context():
        officer = db.session.scalar(sa.select(User).where(User.email == letters.world.officer))
        first, second = (
            publication_operations.publish_stage(
                letters.world.stage_id, actor_id=officer.id, job_id=publication_job(letters)
            )
            for _ in range(2)
        )
        published = (
            db.session.scalars(sa.select(AuditEvent.action)).all().count("decision.published")
        )
    assert (first, second) == (4, 0)
    assert published == 4
    assert len(letter_mails(app)) == 4


def test_a_proposal_withdrawn_after_the_decision_is_reported_and_the_others_go_out(app, letters):
    p = letters.world.proposals
    with app.app_context():
        db.session.get(Proposal, p[1]).state = ProposalState.WITHDRAWN
        db.session.commit()
        assert start(letters) == 4
        status = publication_queries.publication_status(
            db.session.get(Stage, letters.world.stage_id)
        )
        reference = db.session.get(Proposal, p[1]).reference

    assert (status.published, status.waiting, status.in_progress) == (3, 1, False)
    officer = as_person(app, letters.world.officer)
    shown = text(officer.get(letters.publish_page))
    assert f"{reference}: The proposal is withdrawn" in shown
    assert sorted(m.to_address for m in letter_mails(app)) == sorted(
        letters.coordinators[pid] for pid in (p[0], p[2], p[3])
    )


# --- a real worker and a real SMTP server -------------------------------------------------------


def finished(workers, task: str) -> int:  # type: ignore[no-untyped-def]
    pattern = re.compile(rf"Task {re.escape(task)}\[[^\]]+\] succeeded")
    return sum(len(pattern.findall(worker.log())) for worker in workers)


def pdf_parts(message: Message) -> list[tuple[str, bytes]]:
    return [
        (part.get_filename(), part.get_payload(decode=True))
        for part in message.walk()
        if part.get_content_type() == "application/pdf"
    ]


@pytest.mark.worker
@pytest.mark.redis
def test_the_task_run_three_times_on_two_workers_sends_one_letter_per_applicant(
    make_app, redis_url, worker_factory, smtp_server
):
    workers = [worker_factory(smtp_server), worker_factory(smtp_server)]
    with make_app().app_context():
        letters = build_letters()
    app = make_app(
        redis_url=redis_url,
        task_queue=worker_factory.queue,
        mail_server=smtp_server.host,
        mail_port=smtp_server.port,
    )
    with app.app_context():
        assert start(letters) == 4  # queues the task once
        officer_id = db.session.scalar(
            sa.select(User.id).where(User.email == letters.world.officer)
        )
        job_id = latest_job_id()
    task = app.extensions["celery"].tasks["selection.publish"]
    for _ in range(2):  # and twice more, as a redelivery would
        task.apply_async(
            kwargs={"stage_id": letters.world.stage_id, "actor_id": officer_id, "job_id": job_id}
        )

    wait_until(lambda: finished(workers, "selection.publish") == 3, what="the three runs")
    wait_until(
        lambda: finished(workers, "notifications.deliver") == len(letter_mails(app)) + 1,
        what="every letter's delivery, and the funded proposal's grant offer",
    )
    # Besides the letters, the funded proposal's coordinator is offered its grant.
    everything = smtp_server.wait_for(5, timeout=WAIT)
    received = [m for m in everything if m["Subject"] == "The decision on your proposal"]
    [offer] = [m for m in everything if m not in received]
    assert offer["To"] == letters.coordinators[letters.world.proposals[2]]

    expected = sorted(letters.coordinators[p] for p in letters.world.proposals[:4])
    assert sorted(m["To"] for m in received) == expected
    with app.app_context():
        references = {
            letters.coordinators[p]: db.session.get(Proposal, p).reference
            for p in letters.world.proposals[:4]
        }
        drafts = db.session.scalar(
            sa.select(sa.func.count()).where(StageSubmission.stage_id == letters.next_stage_id)
        )
        published = (
            db.session.scalars(sa.select(AuditEvent.action)).all().count("decision.published")
        )
    for message in received:
        [(filename, data)] = pdf_parts(message)
        reference = references[message["To"]]
        assert filename == f"decision-{reference}.pdf"
        assert reference in pdf_text(data)
        assert reference in mail_text(message)
        assert message["Subject"] == "The decision on your proposal"
    assert drafts == 1
    assert published == 4
    assert all(m.state == NotificationState.SENT for m in letter_mails(app))


def test_a_signed_out_visitor_is_asked_to_log_in(app, letters):
    response = Browser(app.test_client()).get(letters.letter_url(letters.world.proposals[0]))
    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.redis
def test_the_page_follows_a_publication_under_way_until_every_letter_is_out(
    make_app, redis_url, worker_factory
):
    with make_app().app_context():
        letters = build_letters()
    # Tasks go to this test's queue, where no worker listens: the publication waits there.
    app = make_app(redis_url=redis_url, task_queue=worker_factory.queue)
    officer = as_person(app, letters.world.officer)
    assert officer.submit(letters.publish_page, {}).status_code == 303

    waiting = officer.get(letters.publish_page)
    polled = officer.get(letters.publish_page, headers={"Accept": "application/json"})
    assert "Refresh" in waiting.headers
    assert "is under way" in text(waiting)
    assert "Publish 4 letters" not in text(waiting)
    assert polled.get_json() == {"confirmed": 4, "published": 0, "waiting": 4, "in_progress": True}

    with app.app_context():  # what the worker does
        officer_id = db.session.scalar(
            sa.select(User.id).where(User.email == letters.world.officer)
        )
        job_id = latest_job_id()
        assert (
            publication_operations.publish_stage(
                letters.world.stage_id, actor_id=officer_id, job_id=job_id
            )
            == 4
        )

    done = officer.get(letters.publish_page)
    assert "Refresh" not in done.headers
    assert "4 of 4 confirmed decisions published." in text(done)
    assert (
        officer.get(letters.publish_page, headers={"Accept": "application/json"}).get_json()[
            "in_progress"
        ]
        is False
    )


@pytest.mark.worker
@pytest.mark.redis
def test_the_page_shows_the_jobs_progress_while_a_real_worker_publishes(
    make_app, redis_url, worker_factory, pg_url
):
    with make_app().app_context():
        letters = build_letters()
    app = make_app(redis_url=redis_url, task_queue=worker_factory.queue)
    officer = as_person(app, letters.world.officer)
    # No worker listens yet: the publication waits in the queue.
    assert officer.submit(letters.publish_page, {}).status_code == 303
    # The worker records an audit event for each letter; a lock that lets nobody add one keeps
    # the worker in the middle of the publication for as long as the test looks.
    holder = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with holder.connect() as lock:
        lock.execute(sa.text("LOCK TABLE audit_events IN SHARE MODE"))
        worker = worker_factory()

        def running() -> bool:
            with app.app_context():
                job = db.session.get(Job, latest_job_id())
                return job.state == "running"

        wait_until(running, what="the worker to take the publication")
        during = officer.get(letters.publish_page)
        lock.commit()
    holder.dispose()

    assert "Refresh" in during.headers
    assert re.search(r'<progress id="publication-bar" max="100" value="5">', text(during))
    assert "Started." in text(during)
    wait_until(
        lambda: "4 of 4 confirmed decisions published." in text(officer.get(letters.publish_page)),
        what="every letter",
    )
    done = text(officer.get(letters.publish_page))
    assert 'id="publication-bar"' not in done, worker.log()
    with app.app_context():
        job = db.session.get(Job, latest_job_id())
        assert (job.state, job.progress, str(load(job.message))) == (
            "done",
            100,
            "4 letters published.",
        )


def test_without_a_broker_the_publication_runs_beside_the_request_not_inside_it(make_app, pg_url):
    with make_app().app_context():
        letters = build_letters()
    app = make_app(tasks_inline=False)  # the embedded default: no broker, no worker
    officer = as_person(app, letters.world.officer)
    # Each letter locks its decision: while the test holds those locks, the publication cannot
    # get past its first letter, so a request that waited for it would never return.
    # The locks go after a few seconds at the latest, so a request that waits fails the test
    # below rather than hanging it.
    holder = sa.create_engine(pg_url, poolclass=sa.pool.NullPool)
    with holder.connect() as lock:
        lock.execute(sa.select(Decision.id).with_for_update()).all()
        release = threading.Timer(5, lock.rollback)
        release.start()
        assert officer.submit(letters.publish_page, {}).status_code == 303
        during = officer.get(letters.publish_page)
        release.cancel()
        release.join()
        lock.rollback()  # nothing left to end when the timer did it
    holder.dispose()

    assert "Refresh" in during.headers
    assert 'id="publication-bar"' in text(during)
    wait_until(
        lambda: "4 of 4 confirmed decisions published." in text(officer.get(letters.publish_page)),
        what="the publication's thread",
    )

    def finished() -> tuple[str, int, str | None]:
        with app.app_context():
            job = db.session.get(Job, latest_job_id())
            return (job.state, job.progress, str(load(job.message)))

    wait_until(lambda: finished()[0] != "running", what="the publication's job to end")
    assert finished() == ("done", 100, "4 letters published.")
