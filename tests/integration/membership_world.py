"""What the membership tests share: a membership programme (go-cluster) run by two officers, with
criteria and a juror who evaluates, an applicant acting for a cluster management organisation
with member organisations of every kind in the registry, and helpers that take a membership
through its lifecycle with the operations the pages call."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.audit.models import AuditEvent, StateTransition
from competition.db import utcnow
from competition.extensions import db
from competition.memberships import operations as ops
from competition.memberships.models import Membership, MembershipCriterion, MembershipEvaluator
from competition.notifications.models import Notification
from competition.organisations.models import FederalState, OrganisationKind
from competition.programmes.models import ProgrammeKind
from tests.factories import make_organisation, make_programme, make_user
from tests.helpers import Person, person

K = OrganisationKind
# The cluster's members in the registry: 3 SMEs (one a start-up), 1 large firm, 2 research
# partners, 1 society.
MEMBER_KINDS = (K.SME, K.SME, K.START_UP, K.LARGE_ENTERPRISE, K.UNIVERSITY, K.RESEARCH_INSTITUTE,
                K.SOCIETY)  # fmt: skip


@dataclass(frozen=True)
class World:
    programme_id: int
    slug: str
    officer: Person
    second_officer: Person
    juror: Person
    applicant: Person
    cluster_id: int
    cluster_name: str
    member_ids: tuple[int, ...]
    criteria: tuple[int, ...]


def build_world(*, slug: str = "go-cluster") -> World:
    """Inside an app context; commits."""
    officer = make_user(roles=(Role.OFFICER,), name="Olga Officer")
    second = make_user(roles=(Role.OFFICER,), name="Otto Second")
    juror = make_user(roles=(Role.JUROR,), name="Jana Juror")
    applicant = make_user(roles=(Role.APPLICANT,), name="Anna Applicant", locale="en")
    programme = make_programme(
        officers=(officer, second),
        slug=slug,
        name="go-cluster",
        kind=ProgrammeKind.MEMBERSHIP,
        total_budget=Decimal("0"),
    )
    cluster = make_organisation(
        name="Cluster Management Sachsen e.V.", kind=K.SOCIETY, federal_state=FederalState.SN
    )
    members = [make_organisation(kind=kind) for kind in MEMBER_KINDS]
    criteria = []
    for position, (name, weight) in enumerate((("Services", "2"), ("Reach", "1")), start=1):
        criterion = MembershipCriterion(
            programme_id=programme.id,
            position=position,
            name=name,
            weight=Decimal(weight),
            scale_min=Decimal("0"),
            scale_max=Decimal("5"),
            scale_step=Decimal("0.5"),
        )
        db.session.add(criterion)
        db.session.flush()
        criteria.append(criterion.id)
    db.session.add(
        MembershipEvaluator(programme_id=programme.id, user_id=juror.id, added_at=utcnow())
    )
    db.session.commit()
    return World(
        programme_id=programme.id,
        slug=programme.slug,
        officer=person(officer),
        second_officer=person(second),
        juror=person(juror),
        applicant=person(applicant),
        cluster_id=cluster.id,
        cluster_name=cluster.name,
        member_ids=tuple(m.id for m in members),
        criteria=tuple(criteria),
    )


def user(who: Person) -> User:
    found = db.session.get(User, who.id)
    assert found is not None
    return found


def membership(membership_id: int) -> Membership:
    db.session.expire_all()
    found = db.session.get(Membership, membership_id)
    assert found is not None
    return found


def applied(world: World, *, now: dt.datetime | None = None, members: bool = True) -> int:
    """An application with every member organisation of the world; its id."""
    from competition.organisations.models import Organisation
    from competition.programmes.models import Programme

    now = now or utcnow()
    programme = db.session.get(Programme, world.programme_id)
    assert programme is not None
    created = ops.apply_for_membership(
        programme,
        actor=user(world.applicant),
        organisation_name=world.cluster_name,
        services="Matchmaking, training and trade fairs.",
        now=now,
    )
    if members:
        for organisation_id in world.member_ids:
            organisation = db.session.get(Organisation, organisation_id)
            assert organisation is not None
            ops.add_member(
                membership(created.id), actor=user(world.applicant), name=organisation.name, now=now
            )
    return created.id


def evaluate(
    world: World, membership_id: int, who: Person, recommendation: str, *, now=None
) -> int:  # type: ignore[no-untyped-def]
    evaluation = ops.record_evaluation(
        membership(membership_id),
        actor=user(who),
        scores={str(c): "4.5" for c in world.criteria},
        comment="A lively cluster.",
        recommendation=recommendation,
        now=now or utcnow(),
    )
    return evaluation.id


def granted(world: World, *, now: dt.datetime | None = None, until: dt.date | None = None) -> int:
    """A membership evaluated by the first officer and granted by the second; its id."""
    now = now or utcnow()
    membership_id = applied(world, now=now)
    evaluation_id = evaluate(world, membership_id, world.officer, "grant", now=now)
    start = now.date()
    ops.decide(
        membership(membership_id),
        actor=user(world.second_officer),
        action="grant",
        evaluation_id=evaluation_id,
        valid_from=start,
        valid_until=until or start.replace(year=start.year + 1) - dt.timedelta(days=1),
        now=now,
    )
    return membership_id


def mails(template: str) -> list[Notification]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            sa.select(Notification)
            .where(Notification.template == f"memberships/{template}")
            .order_by(Notification.id)
        )
    )


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def steps(membership_id: int) -> list[tuple[str, str, str]]:
    return [
        (row.from_state, row.action, row.to_state)
        for row in db.session.scalars(
            sa.select(StateTransition)
            .where(
                StateTransition.object_type == "membership",
                StateTransition.object_id == membership_id,
            )
            .order_by(StateTransition.id)
        )
    ]
