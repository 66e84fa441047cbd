"""One world in which every page a person meets has something to show, shared by the
accessibility checks and the screenshots: the seeded demo competition (an open round 2, a
round-1 jury with its conflicts declared), one of its jurors given an outline to review, and a
small stage taken through reviews, a ranking, decisions and published letters, whose officer
and letter are the demo officer's and a demo applicant's, with a quota on its Rules page; a
hearing on round 1 with a slot holding a finalist of that applicant, the juror's availability
and an officer's open question to the consortium; the programme's own topics; the grant
offered to the small stage's funded proposal, which the demo applicant coordinates too, and a
running grant with payments; and a membership programme (go-cluster) with the applicant's
application in evaluation, evaluated by the second officer, and a granted membership on its
public list."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from competition.accounts.models import RecoveryCode, User
from competition.accounts.passkey_models import PasskeyCredential
from competition.accounts.totp import recovery_code_hash
from competition.assignment.models import (
    AssignmentRun,
    Conflict,
    JuryMembership,
    MembershipState,
)
from competition.clarifications import operations as clarifications
from competition.db import utcnow
from competition.demo.seed import PROGRAMME_SLUG
from competition.extensions import db
from competition.grants.models import Grant
from competition.grants.payments import operations as payments
from competition.hearings import operations as hearings
from competition.memberships.models import Membership, MembershipCriterion
from competition.programmes.models import (
    Call,
    Programme,
    ProgrammeOfficer,
    Stage,
    StageKind,
    TopicKind,
)
from competition.proposals import withholding
from competition.proposals.models import ContributorRole, Proposal, ProposalContributor
from competition.selection.models import Decision, RankingMethod
from competition.selection.publication import operations as publication
from competition.selection.ranking import operations as ranking
from tests.factories import make_assignment, make_grant, make_report, make_stage, make_topic
from tests.integration.reviews_world import submitted_proposal
from tests.integration.test_publication import build_letters

DEMO_PASSWORD = "demo"
OFFICER = "officer@demo.test"


RECOVERY_CODES = tuple(f"page-world-code-{n}" for n in range(8))


@dataclass(frozen=True)
class PageWorld:
    logins: dict[str, str]  # role → the demo account that role logs in with (password "demo")
    ids: dict[str, int]  # what the pages' addresses need, by name

    def url(self, template: str) -> str:
        return template.format(
            **self.ids, membership_slug="go-cluster", programme_slug=PROGRAMME_SLUG
        )


def build_page_world(app) -> PageWorld:  # type: ignore[no-untyped-def]
    """Seed the demo into the app's empty database and add what it lacks; returns the logins
    and ids. Needs in-process tasks (the ranking and the publication finish before it returns)
    and the mailbox kept in the database (no mail server), so the officer's mailbox has mail."""
    result = app.test_cli_runner().invoke(args=["demo", "seed"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        return _complete()


def _complete() -> PageWorld:
    now = utcnow()
    officer = db.session.scalar(sa.select(User).where(User.email == OFFICER))
    round_1, round_2 = db.session.scalars(sa.select(Call).order_by(Call.round_number)).all()
    outline = round_1.stages[0]

    # An applicant of the open round 2, whose outline is in and can still be changed.
    draft = db.session.scalar(
        sa.select(Proposal).where(Proposal.call_id == round_2.id).order_by(Proposal.reference)
    )
    applicant = db.session.scalar(
        sa.select(User)
        .join(ProposalContributor, ProposalContributor.user_id == User.id)
        .where(
            ProposalContributor.proposal_id == draft.id,
            ProposalContributor.role == ContributorRole.COORDINATOR,
        )
    )

    # The selection of a small stage, run by the demo officer; the letter of its first
    # proposal goes to the demo applicant. First, since it reads every assignment as its own.
    letters = build_letters()
    world = letters.world
    stage = db.session.get(Stage, world.stage_id)
    programme = db.session.get(Programme, stage.call.programme_id)
    programme.officer_rows.append(ProgrammeOfficer(user_id=officer.id))
    letter_proposal = world.proposals[0]
    # The funded proposal's grant is offered to the demo applicant too.
    funded = world.proposals[2]
    db.session.execute(
        sa.update(ProposalContributor)
        .where(ProposalContributor.proposal_id.in_([letter_proposal, funded]))
        .values(user_id=applicant.id)
    )
    db.session.commit()
    ranked = ranking.start_ranking(
        stage,
        actor=officer,
        method=RankingMethod.RAW,
        now=now,
        options={"draws": 50, "min_reviews": 2},
    )
    ranking_id = ranked.id
    publication.start_publication(stage, actor=officer, now=utcnow())
    run_id = db.session.scalar(
        sa.select(AssignmentRun.id).where(AssignmentRun.stage_id == stage.id)
    )

    # A juror of round 1 who declared their conflicts, given an outline they have none with;
    # the outlines are open to bids, so the juror's bidding page shows them.
    outline.bidding_enabled = True
    juror = db.session.scalar(
        sa.select(User)
        .join(JuryMembership, JuryMembership.user_id == User.id)
        .where(
            JuryMembership.call_id == round_1.id,
            JuryMembership.state == MembershipState.ACCEPTED,
            JuryMembership.conflicts_declared_at.is_not(None),
        )
        .order_by(User.id)
    )
    conflicted = sa.select(Conflict.proposal_id).where(Conflict.user_id == juror.id)
    reviewed = db.session.scalar(
        sa.select(Proposal)
        .where(Proposal.call_id == round_1.id, Proposal.id.not_in(conflicted))
        .order_by(Proposal.reference)
    )
    assignment = make_assignment(outline, reviewed, juror, released_at=now - dt.timedelta(days=3))
    db.session.commit()
    hearing, finalist, clarification = _hearing_and_question(round_1, officer, applicant, juror)
    grant, payment = _payments(finalist, officer, applicant)
    report = make_report(db.session.get(Grant, grant)).id
    db.session.commit()
    # The funded consortium asked that its last partner's name be withheld from the public (the
    # grant's page marks it); the applicant's confirmation page asks about the first.
    partners = db.session.get(Proposal, funded).members
    withholding.withhold_name(partners[-1], actor=applicant, reason="Not yet announced.", now=now)
    partner = partners[0].id
    topic = _topics_of(round_1.programme_id)
    go_cluster, membership = _memberships(officer, applicant)
    # A quota row on the small stage's Rules page: at most one funded proposal per federal state.
    stage.selection_rules = {
        **(stage.selection_rules or {}),
        "constraints": [{"attribute": "coordinator_state", "value": "*", "maximum": 1}],
    }
    # The applicant's passkey (the key itself is never read by the pages).
    passkey = PasskeyCredential(
        user_id=applicant.id,
        credential_id="d29ybGQtcGFzc2tleQ",
        public_key=b"\x00",
        sign_count=0,
        transports=["usb"],
        name="Security key",
        created_at=now,
    )
    db.session.add(passkey)
    # With a passkey, signing in asks for it after the password; the pages' browser answers the
    # second step with these recovery codes instead (one per login).
    db.session.add_all(
        RecoveryCode(user_id=applicant.id, code_hash=recovery_code_hash(code), created_at=now)
        for code in RECOVERY_CODES
    )
    db.session.commit()
    return PageWorld(
        logins={"officer": OFFICER, "applicant": applicant.email, "juror": juror.email},
        ids={
            "programme": round_1.programme_id,
            "round_1": round_1.id,
            "outline": outline.id,
            "round_2": round_2.id,
            "round_2_outline": round_2.stages[0].id,
            "draft": draft.id,
            "reviewed": reviewed.id,
            "assignment": assignment.id,
            "call": world.call_id,
            "stage": world.stage_id,
            "run": run_id,
            "ranked": ranking_id,
            "letter_proposal": letter_proposal,
            "letter": letters.decisions[letter_proposal],
            "decided": db.session.scalar(
                sa.select(Decision.proposal_id).where(Decision.id == letters.unconfirmed)
            ),
            "hearing": hearing,
            "finalist": finalist,
            "clarification": clarification,
            "organisation": db.session.get(Proposal, letter_proposal).members[0].organisation_id,
            "other_organisation": db.session.get(Proposal, world.proposals[1])
            .members[0]
            .organisation_id,
            "topic": topic,
            "grant_programme": programme.id,
            "grant": db.session.scalar(sa.select(Grant.id).where(Grant.proposal_id == funded)),
            "running_grant": grant,
            "funded": funded,
            "partner": partner,
            "payment": payment,
            "report": report,
            "membership_programme": go_cluster,
            "membership": membership,
            "passkey": passkey.id,
        },
    )


def _memberships(officer: User, applicant: User) -> tuple[int, int]:
    """go-cluster with two criteria; the applicant's application for a society of the registry
    with three members, evaluated by the second officer (so the demo officer may decide on
    it); and another cluster's granted membership for the public list."""
    from competition.memberships import operations as memberships
    from competition.organisations.models import Organisation, OrganisationKind
    from competition.programmes.operations import create_programme

    second = db.session.scalar(sa.select(User).where(User.email == "officer2@demo.test"))
    now = utcnow()
    programme = create_programme(
        actor=officer,
        name="go-cluster",
        slug="go-cluster",
        total_budget=Decimal(0),
        kind="membership",
        now=now,
    )
    programme.officer_rows.append(ProgrammeOfficer(user_id=second.id))
    db.session.commit()
    for name in ("Services for members", "Reach and growth"):
        memberships.add_criterion(
            programme,
            actor=officer,
            name=name,
            weight="1",
            scale_min="0",
            scale_max="5",
            scale_step="0.5",
            now=now,
        )
    societies = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.kind == OrganisationKind.SOCIETY)
        .order_by(Organisation.name)
        .limit(2)
    ).all()
    members = db.session.scalars(
        sa.select(Organisation)
        .where(Organisation.kind != OrganisationKind.SOCIETY)
        .order_by(Organisation.name)
        .limit(3)
    ).all()
    ids = []
    for society in societies:
        membership = memberships.apply_for_membership(
            programme,
            actor=applicant,
            organisation_name=society.name,
            services="Matchmaking between SMEs and research partners.",
            now=now,
        )
        for member in members:
            memberships.add_member(membership, actor=applicant, name=member.name, now=now)
        criteria = [c.id for c in programme_criteria(programme.id)]
        evaluation = memberships.record_evaluation(
            membership,
            actor=second,
            scores={str(c): "4" for c in criteria},
            comment="An active cluster.",
            recommendation="grant",
            now=now,
        )
        ids.append((membership.id, evaluation.id))
    granted, evaluation_id = ids[1]
    today = now.date()
    memberships.decide(
        db.session.get(Membership, granted),
        actor=officer,
        action="grant",
        evaluation_id=evaluation_id,
        valid_from=today,
        valid_until=today + dt.timedelta(days=364),
        now=now,
    )
    return programme.id, ids[0][0]


def programme_criteria(programme_id: int) -> list[MembershipCriterion]:
    return list(
        db.session.scalars(
            sa.select(MembershipCriterion).where(MembershipCriterion.programme_id == programme_id)
        )
    )


def _hearing_and_question(
    round_1: Call, officer: User, applicant: User, juror: User
) -> tuple[int, int, int]:
    """A hearing stage on round 1 with one slot holding a finalist the demo applicant
    coordinates, the juror's availability for it, and an officer's open question to that
    consortium. Returns the ids of the stage, the finalist and the question."""
    now = utcnow()
    stage = make_stage(
        round_1,
        kind=StageKind.HEARING,
        name="Jury hearing",
        opens_at=now - dt.timedelta(days=20),
        closes_at=now - dt.timedelta(days=10),
        required_sections=[{"key": "strategy", "title": "Pitch deck", "max_chars": 5000}],
    )
    finalist, _ = submitted_proposal(round_1, stage, coordinator=applicant)
    db.session.commit()
    starts_at = (now + dt.timedelta(days=14)).replace(hour=8, minute=0, second=0, microsecond=0)
    slot = hearings.save_slot(
        stage,
        actor=officer,
        starts_at=starts_at,
        ends_at=starts_at + dt.timedelta(minutes=45),
        room="Room 2.14",
        video_url="",
        now=now,
    )
    hearings.assign_slot(slot, actor=officer, proposal_id=finalist.id, now=now)
    hearings.save_availability(stage, actor=juror, answers={slot.id: True}, now=now)
    question = clarifications.ask_clarification(
        finalist,
        stage,
        actor=officer,
        question="Which partner runs the pilot plant, and from when?",
        due_at=now + dt.timedelta(days=7),
        now=now,
    )
    return stage.id, finalist.id, question.id


def _topics_of(programme_id: int) -> int:
    """The programme's own taxonomy: a cluster with a sub-topic, and a cross-cutting theme.
    Returns the sub-topic's id."""
    cluster = make_topic(
        programme_id=programme_id,
        kind=TopicKind.CLUSTER,
        name_en="Hydrogen economy",
        name_de="Wasserstoffwirtschaft",
    )
    sub_topic = make_topic(
        programme_id=programme_id,
        kind=TopicKind.CLUSTER,
        parent_id=cluster.id,
        name_en="Electrolysis",
        name_de="Elektrolyse",
    )
    make_topic(programme_id=programme_id, kind=TopicKind.THEME, name_en="Transfer to industry")
    return sub_topic.id


def _payments(finalist: int, officer: User, applicant: User) -> tuple[int, int]:
    """A running grant of the finalist the demo applicant coordinates, with a payment approved
    and exported, and one requested that waits for the officer. Returns the ids of the grant
    and the waiting request."""
    now = utcnow()
    grant = make_grant(db.session.get(Proposal, finalist), starts_on=now.date().replace(day=1))
    db.session.commit()
    member = grant.amounts[0].member_id
    period = (grant.starts_on, grant.starts_on + dt.timedelta(days=27))
    done = payments.request_disbursement(
        grant,
        actor=applicant,
        member_id=member,
        year=1,
        period_from=period[0],
        period_to=period[1],
        amount=Decimal("1000.00"),
        now=now,
    )
    payments.approve_disbursement(done, actor=officer, now=now)
    payments.export_payments(grant.call.programme, actor=officer, file_format="csv", now=utcnow())
    waiting = payments.request_disbursement(
        grant,
        actor=applicant,
        member_id=member,
        year=1,
        period_from=period[0],
        period_to=period[1],
        amount=Decimal("2500.50"),
        now=utcnow(),
    )
    return grant.id, waiting.id
