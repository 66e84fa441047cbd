"""Selection: ranking snapshots of a stage, the panel's consensus scores and notes, decisions
proposed by one officer and confirmed by another, and recorded lottery draws."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core import workflow
from competition.db import JSONData, enum_type
from competition.extensions import db
from competition.jobs.models import Job, JobState


class RankingMethod(enum.StrEnum):
    RAW = "raw"  # weighted means as the jurors gave them
    ZSCORE = "zscore"  # each juror's scores standardised
    BIAS_MODEL = "bias_model"  # juror harshness estimated jointly with proposal quality


# A ranking's state is its job's.
SnapshotState = JobState


class Ranking(db.Model):
    """An immutable snapshot of a stage's aggregated reviews: the method and its parameters, the
    hash of every input and the code version, so anyone can recompute the same numbers."""

    __tablename__ = "rankings"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(
        sa.ForeignKey("stages.id", ondelete="CASCADE"), index=True
    )
    method: Mapped[RankingMethod] = mapped_column(enum_type(RankingMethod, "ranking_method"))
    params: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), unique=True)
    inputs_hash: Mapped[str | None] = mapped_column(sa.String(64))
    code_version: Mapped[str] = mapped_column(sa.String(80), default="")
    # Megabytes for a large call: read only where it is used (ranking.queries.result_of).
    result: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict, deferred=True)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]

    # Loaded with the ranking, so a page never queries for it while rendering.
    job: Mapped[Job] = relationship(lazy="joined", innerjoin=True)

    @property
    def state(self) -> JobState:
        return self.job.state

    @property
    def message(self) -> str:
        return self.job.message

    @property
    def finished_at(self) -> dt.datetime | None:
        return self.job.finished_at


class Outcome(enum.StrEnum):
    ADVANCE = "advance"
    REJECT = "reject"
    FUND = "fund"
    RESERVE = "reserve"
    # The outcomes of an interim evaluation of a funded grant (and only of one): the next
    # phase is funded, funded with conditions (``Decision.conditions``), or not.
    CONTINUE = "continue"
    CONTINUE_WITH_CONDITIONS = "continue_with_conditions"
    STOP = "stop"


EVALUATION_OUTCOMES = (Outcome.CONTINUE, Outcome.CONTINUE_WITH_CONDITIONS, Outcome.STOP)
COMPETITION_OUTCOMES = (Outcome.ADVANCE, Outcome.REJECT, Outcome.FUND, Outcome.RESERVE)


class DecisionState(enum.StrEnum):
    PROPOSED = "proposed"
    CONFIRMED = "confirmed"
    PUBLISHED = "published"


class Decision(db.Model):
    """What happens to a proposal at a stage. Proposed by one officer, confirmed by another:
    the database itself refuses a confirmation by the proposer. Nothing reaches the applicant
    before confirmation; publication comes after it."""

    __tablename__ = "decisions"
    __workflow__ = workflow.DECISION
    __table_args__ = (
        sa.CheckConstraint(
            "(state = 'proposed') = (confirmed_at IS NULL)", name="confirmed_iff_confirmed_at"
        ),
        sa.CheckConstraint(
            "(state = 'published') = (published_at IS NOT NULL)", name="published_iff_published_at"
        ),
        sa.UniqueConstraint("stage_id", "proposal_id"),
        sa.CheckConstraint(
            "confirmed_by_id IS NULL OR confirmed_by_id != proposed_by_id", name="four_eyes"
        ),
        sa.CheckConstraint(
            "(confirmed_by_id IS NULL AND confirmed_at IS NULL) OR "
            "(confirmed_by_id IS NOT NULL AND confirmed_at IS NOT NULL)",
            name="confirmation_is_whole",
        ),
        sa.CheckConstraint(
            "published_at IS NULL OR confirmed_at IS NOT NULL", name="published_after_confirmed"
        ),
        sa.CheckConstraint(
            "outcome != 'continue_with_conditions' OR length(conditions) > 0",
            name="conditions_when_continued_with_them",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    ranking_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("rankings.id", ondelete="SET NULL")
    )
    outcome: Mapped[Outcome] = mapped_column(enum_type(Outcome, "decision_outcome"))
    state: Mapped[DecisionState] = mapped_column(
        enum_type(DecisionState, "decision_state"), default=DecisionState.PROPOSED
    )
    rationale: Mapped[str] = mapped_column(sa.Text)
    # The conditions (Auflagen) of a "continue with conditions", as the letter states them;
    # empty for every other outcome.
    conditions: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    proposed_at: Mapped[dt.datetime]
    confirmed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    confirmed_at: Mapped[dt.datetime | None]
    published_at: Mapped[dt.datetime | None]
    # What the applicant's letter says, frozen at publication so the e-mail, the page and the
    # PDF always show the same words and figures.
    letter: Mapped[dict[str, Any] | None] = mapped_column(JSONData)


class ConsensusScore(db.Model):
    """A score the jury agreed on at the panel; it replaces the mean for its criterion."""

    __tablename__ = "consensus_scores"
    __table_args__ = (sa.UniqueConstraint("stage_id", "proposal_id", "criterion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    criterion_id: Mapped[int] = mapped_column(sa.ForeignKey("criteria.id", ondelete="CASCADE"))
    score: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    reason: Mapped[str] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime]


class PanelNote(db.Model):
    __tablename__ = "panel_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    proposal_id: Mapped[int] = mapped_column(
        sa.ForeignKey("proposals.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]


class LotteryRecord(db.Model):
    """A draw among the grey zone, with the seed fixed before it and the exact candidate list,
    so anyone can re-run it (``core.selection.verify_draw`` on ``record``)."""

    __tablename__ = "lottery_draws"

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    ranking_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("rankings.id", ondelete="SET NULL")
    )
    seed: Mapped[str] = mapped_column(sa.String(200))
    record: Mapped[dict[str, Any]] = mapped_column(JSONData)
    created_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]
