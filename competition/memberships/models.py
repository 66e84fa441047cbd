"""Memberships of a membership programme (go-cluster): the cluster management organisation's
application with its member organisations and services, the programme's criteria and
evaluators, the evaluations with their scores, and the four-eyes decisions that grant, renew,
refuse or withdraw a membership."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.accounts.models import User
from competition.core import workflow
from competition.db import JSONData, enum_type
from competition.extensions import db
from competition.i18n import lazy_gettext as _l
from competition.organisations.models import Organisation
from competition.programmes.models import Programme


class MembershipState(enum.StrEnum):
    APPLIED = "applied"
    IN_EVALUATION = "in_evaluation"
    GRANTED = "granted"
    IN_REEVALUATION = "in_reevaluation"
    REFUSED = "refused"
    WITHDRAWN = "withdrawn"
    RETRACTED = "retracted"

    @property
    def label(self) -> str:
        return str(MEMBERSHIP_STATE_LABELS[self])


MEMBERSHIP_STATE_LABELS = {
    MembershipState.APPLIED: _l("Applied"),
    MembershipState.IN_EVALUATION: _l("In evaluation"),
    MembershipState.GRANTED: _l("Granted"),
    MembershipState.IN_REEVALUATION: _l("In re-evaluation"),
    MembershipState.REFUSED: _l("Refused"),
    MembershipState.WITHDRAWN: _l("Withdrawn"),
    MembershipState.RETRACTED: _l("Application withdrawn"),
}
# An application or a membership that is still running: one per programme and organisation.
OPEN_STATES = (
    MembershipState.APPLIED,
    MembershipState.IN_EVALUATION,
    MembershipState.GRANTED,
    MembershipState.IN_REEVALUATION,
)
# Holding the membership: granted, and still while the annual re-evaluation runs.
HELD_STATES = (MembershipState.GRANTED, MembershipState.IN_REEVALUATION)
# Being evaluated: the round an evaluation belongs to.
EVALUATED_STATES = (MembershipState.IN_EVALUATION, MembershipState.IN_REEVALUATION)
_OPEN_SQL = "state IN ('applied', 'in_evaluation', 'granted', 'in_reevaluation')"


class Recommendation(enum.StrEnum):
    GRANT = "grant"
    REFUSE = "refuse"
    RENEW = "renew"
    WITHDRAW = "withdraw"

    @property
    def label(self) -> str:
        return str(RECOMMENDATION_LABELS[self])


RECOMMENDATION_LABELS = {
    Recommendation.GRANT: _l("Grant the membership"),
    Recommendation.REFUSE: _l("Refuse the membership"),
    Recommendation.RENEW: _l("Renew the membership"),
    Recommendation.WITHDRAW: _l("Withdraw the membership"),
}


class Membership(db.Model):
    """A cluster management organisation's membership of a programme, from its application to
    its end. ``valid_from`` is the first day of the membership (set by the grant) and
    ``valid_until`` the last day of the period last granted or renewed (days in Europe/Berlin;
    each decision keeps its own period); ``round`` counts the evaluations it went through (the
    first, then one per annual re-evaluation)."""

    __tablename__ = "memberships"
    __workflow__ = workflow.CLUSTER_MEMBERSHIP
    __table_args__ = (
        sa.Index(
            "ix_memberships_one_open_per_organisation",
            "programme_id",
            "organisation_id",
            unique=True,
            sqlite_where=sa.text(_OPEN_SQL),
            postgresql_where=sa.text(_OPEN_SQL),
        ),
        sa.Index("ix_memberships_programme_id_state", "programme_id", "state"),
        sa.Index("ix_memberships_state_valid_until", "state", "valid_until"),
        sa.CheckConstraint("(valid_from IS NULL) = (valid_until IS NULL)", name="period_is_whole"),
        sa.CheckConstraint(
            "valid_until IS NULL OR valid_until >= valid_from", name="period_is_ordered"
        ),
        sa.CheckConstraint(
            "state NOT IN ('granted', 'in_reevaluation') OR valid_until IS NOT NULL",
            name="held_has_a_period",
        ),
        sa.CheckConstraint("round >= 0", name="round_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id", ondelete="CASCADE"))
    # The cluster management organisation, from the registry.
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    # The signed-in applicant acting for the organisation: who applies, edits the profile and
    # is written to.
    applicant_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), index=True)
    services: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[MembershipState] = mapped_column(
        enum_type(MembershipState, "membership_state"), default=MembershipState.APPLIED
    )
    applied_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    round: Mapped[int] = mapped_column(default=0, server_default="0")
    valid_from: Mapped[dt.date | None] = mapped_column(sa.Date)
    valid_until: Mapped[dt.date | None] = mapped_column(sa.Date)
    # The period end the holder was told of when the re-evaluation opened: one mail per period.
    reevaluation_notice_for: Mapped[dt.date | None] = mapped_column(sa.Date)

    programme: Mapped[Programme] = relationship()
    organisation: Mapped[Organisation] = relationship()
    applicant: Mapped[User] = relationship()


class MembershipMember(db.Model):
    """One member organisation of the cluster, from the registry. Its kind is the registry's:
    the profile's counts are computed from it, never typed."""

    __tablename__ = "membership_members"
    __table_args__ = (sa.UniqueConstraint("membership_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(sa.ForeignKey("memberships.id", ondelete="CASCADE"))
    organisation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("organisations.id", ondelete="RESTRICT"), index=True
    )
    added_at: Mapped[dt.datetime]

    organisation: Mapped[Organisation] = relationship()


class MembershipCriterion(db.Model):
    """A criterion memberships of the programme are evaluated against, set up by its officers."""

    __tablename__ = "membership_criteria"
    __table_args__ = (
        sa.UniqueConstraint("programme_id", "position"),
        sa.CheckConstraint("scale_max > scale_min", name="scale_is_ordered"),
        sa.CheckConstraint("scale_step > 0", name="scale_step_positive"),
        sa.CheckConstraint("weight > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    weight: Mapped[Decimal] = mapped_column(sa.Numeric(6, 3))
    scale_min: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    scale_max: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    scale_step: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))


class MembershipEvaluator(db.Model):
    """A juror the programme's officers asked to evaluate its memberships (officers of the
    programme evaluate without being listed)."""

    __tablename__ = "membership_evaluators"
    __table_args__ = (sa.UniqueConstraint("programme_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[dt.datetime]

    user: Mapped[User] = relationship()


class MembershipEvaluation(db.Model):
    """One evaluator's judgement of a membership in one round: a score per criterion, a comment
    and a recommendation. The evaluator may record it again until the round is decided (its
    ``revision`` counts the versions, so a decision knows it rests on the one it was shown)."""

    __tablename__ = "membership_evaluations"
    __table_args__ = (
        sa.UniqueConstraint("membership_id", "round", "evaluator_id"),
        # What a decision's foreign key names, so that it carries the evaluator with it.
        sa.UniqueConstraint("id", "membership_id", "evaluator_id"),
        sa.CheckConstraint("round >= 1", name="round_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        sa.ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    round: Mapped[int]
    evaluator_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recommendation: Mapped[Recommendation] = mapped_column(
        enum_type(Recommendation, "membership_recommendation")
    )
    comment: Mapped[str] = mapped_column(sa.Text, default="")
    # The weighted total of the scores, kept so that lists need not add them up again.
    total: Mapped[Decimal] = mapped_column(sa.Numeric(10, 3))
    # The profile's counts as evaluated (the member list may change afterwards).
    counts: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    recorded_at: Mapped[dt.datetime]
    revision: Mapped[int] = mapped_column(default=1, server_default="1")

    evaluator: Mapped[User] = relationship()
    scores: Mapped[list[MembershipScore]] = relationship(
        back_populates="evaluation",
        cascade="all, delete-orphan",
        order_by="MembershipScore.criterion_id",
        lazy="selectin",
    )


class MembershipScore(db.Model):
    """One score of an evaluation. A scored criterion cannot be removed (the operation says so,
    the foreign key refuses it too)."""

    __tablename__ = "membership_scores"
    __table_args__ = (sa.UniqueConstraint("evaluation_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    evaluation_id: Mapped[int] = mapped_column(
        sa.ForeignKey("membership_evaluations.id", ondelete="CASCADE")
    )
    criterion_id: Mapped[int] = mapped_column(
        sa.ForeignKey("membership_criteria.id", ondelete="RESTRICT"), index=True
    )
    # Decimal text ("4.5"), exact on every database, as review scores keep theirs.
    score: Mapped[str] = mapped_column(sa.String(24))

    evaluation: Mapped[MembershipEvaluation] = relationship(back_populates="scores")


class DecisionAction(enum.StrEnum):
    GRANT = "grant"
    REFUSE = "refuse"
    RENEW = "renew"
    WITHDRAW = "withdraw"


class MembershipDecision(db.Model):
    """A decision on a membership, resting on an evaluation of the round it ends. Four eyes: the
    officer who decides is not the one who recorded the evaluation. The decision carries the
    evaluator through a foreign key to the evaluation's (id, membership, evaluator), so a
    CHECK can compare the two people and no write can claim another evaluator."""

    __tablename__ = "membership_decisions"
    __table_args__ = (
        sa.ForeignKeyConstraint(
            ["evaluation_id", "membership_id", "evaluated_by_id"],
            [
                "membership_evaluations.id",
                "membership_evaluations.membership_id",
                "membership_evaluations.evaluator_id",
            ],
            name="fk_membership_decisions_evaluation",
            ondelete="RESTRICT",
        ),
        sa.CheckConstraint("decided_by_id != evaluated_by_id", name="four_eyes"),
        sa.CheckConstraint(
            "(action IN ('grant', 'renew')) = (valid_until IS NOT NULL)",
            name="period_iff_granted",
        ),
        sa.CheckConstraint(
            "valid_until IS NULL OR (valid_from IS NOT NULL AND valid_until >= valid_from)",
            name="period_is_ordered",
        ),
        sa.CheckConstraint(
            "action IN ('grant', 'renew') OR length(reason) > 0", name="refusal_has_a_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    membership_id: Mapped[int] = mapped_column(
        sa.ForeignKey("memberships.id", ondelete="CASCADE"), index=True
    )
    evaluation_id: Mapped[int]
    evaluated_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    action: Mapped[DecisionAction] = mapped_column(
        enum_type(DecisionAction, "membership_decision_action")
    )
    round: Mapped[int]
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    valid_from: Mapped[dt.date | None] = mapped_column(sa.Date)
    valid_until: Mapped[dt.date | None] = mapped_column(sa.Date)
    decided_at: Mapped[dt.datetime]

    evaluation: Mapped[MembershipEvaluation] = relationship(
        foreign_keys="MembershipDecision.evaluation_id",
        primaryjoin="MembershipDecision.evaluation_id == MembershipEvaluation.id",
        viewonly=True,
    )
    decided_by: Mapped[User] = relationship(foreign_keys=[decided_by_id])
    evaluated_by: Mapped[User] = relationship(foreign_keys=[evaluated_by_id])
