"""Programmes, their calls (rounds), the calls' ordered stages and the stages' criteria."""

from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.core import workflow
from competition.db import JSONData, enum_type, utcnow
from competition.extensions import db
from competition.i18n import current_language
from competition.i18n import lazy_gettext as _


class TopicKind(enum.StrEnum):
    """The two families of a programme's taxonomy: thematic clusters and the themes that cut
    across them."""

    CLUSTER = "cluster"
    THEME = "theme"

    @property
    def label(self) -> str:
        return str(TOPIC_KIND_LABELS[self.value])

    @property
    def plural(self) -> str:
        return str(TOPIC_KIND_PLURALS[self.value])


TOPIC_KIND_LABELS = {"cluster": _("Cluster"), "theme": _("Cross-cutting theme")}
TOPIC_KIND_PLURALS = {"cluster": _("Clusters"), "theme": _("Cross-cutting themes")}


class Topic(db.Model):
    """A thematic cluster or cross-cutting theme that proposals name and jurors claim as
    expertise. It belongs to a programme (its officers manage it) or, without one, is shared by
    every programme. A sub-topic has a top-level topic of the same programme as its parent: the
    taxonomy has two levels. A topic in use is retired, not deleted."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Unique over every programme: submitted versions freeze topics by their slug.
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(200))
    # Empty until someone gives it: the English name stands in for German readers meanwhile.
    name_de: Mapped[str] = mapped_column(sa.String(200), default="", server_default="")
    programme_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("programmes.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[TopicKind] = mapped_column(
        enum_type(TopicKind, "topic_kind"), default=TopicKind.CLUSTER, server_default="cluster"
    )
    parent_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("topics.id", ondelete="RESTRICT"), index=True
    )
    position: Mapped[int] = mapped_column(default=0, server_default="0")
    retired_at: Mapped[dt.datetime | None]

    def name_in(self, language: str) -> str:
        """The topic's name in ``language`` (``de`` or ``en``), else in the other one."""
        if language == "de":
            return self.name_de or self.name_en
        return self.name_en or self.name_de

    @property
    def name(self) -> str:
        """The name in the reader's language."""
        return self.name_in(current_language())

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


class ProgrammeKind(enum.StrEnum):
    """A competition runs calls that proposals apply to; a membership programme (go-cluster)
    has no calls: organisations hold a membership that is re-evaluated every year."""

    COMPETITION = "competition"
    MEMBERSHIP = "membership"

    @property
    def label(self) -> str:
        return str(PROGRAMME_KIND_LABELS[self.value])


PROGRAMME_KIND_LABELS = {
    "competition": _("Competition: calls with proposals"),
    "membership": _("Membership programme: organisations hold a membership"),
}


class PublicField(enum.StrEnum):
    """What the portal and the open data may show of a funded consortium beyond its title and
    acronym, which are always public once its decision is published."""

    SUMMARY = "summary"
    COORDINATOR = "coordinator"
    PARTNERS = "partners"
    TOPICS = "topics"
    FUNDING = "funding"
    PERIOD = "period"
    STATE = "state"

    @property
    def label(self) -> str:
        return str(PUBLIC_FIELD_LABELS[self])


PUBLIC_FIELD_LABELS = {
    PublicField.SUMMARY: _("Summary"),
    PublicField.COORDINATOR: _("Coordinator"),
    PublicField.PARTNERS: _("Partners with federal state and kind"),
    PublicField.TOPICS: _("Topics"),
    PublicField.FUNDING: _("Funding per year and phase"),
    PublicField.PERIOD: _("Period of the grant"),
    PublicField.STATE: _("State of the grant"),
}


class Programme(db.Model):
    __tablename__ = "programmes"
    __table_args__ = (sa.CheckConstraint("total_budget >= 0", name="total_budget_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[ProgrammeKind] = mapped_column(
        enum_type(ProgrammeKind, "programme_kind"),
        default=ProgrammeKind.COMPETITION,
        server_default="competition",
    )
    description: Mapped[str] = mapped_column(sa.Text, default="")
    total_budget: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(sa.String(3), default="EUR")
    # A disbursement above this amount needs a second officer's confirmation; None: one
    # officer approves any amount.
    payment_threshold: Mapped[Decimal | None]
    # Whether a disbursement is refused while one of the grant's reports is overdue.
    payments_wait_for_reports: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # The fields of a funded consortium the portal shows (``PublicField`` values).
    public_fields: Mapped[list[str]] = mapped_column(
        JSONData, default=lambda: [f.value for f in PublicField]
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Years the records of a proposal are kept: unsuccessful ones after the decision, funded
    # ones after the grant closes (defaults: docs/architecture.md "Retention and erasure").
    retention_years_unsuccessful: Mapped[int] = mapped_column(
        default=5, server_default=sa.text("5")
    )
    retention_years_funded: Mapped[int] = mapped_column(default=10, server_default=sa.text("10"))

    calls: Mapped[list[Call]] = relationship(
        back_populates="programme", order_by="Call.round_number"
    )
    officer_rows: Mapped[list[ProgrammeOfficer]] = relationship(
        back_populates="programme", cascade="all, delete-orphan"
    )

    @property
    def is_membership(self) -> bool:
        return self.kind == ProgrammeKind.MEMBERSHIP


class ProgrammeOfficer(db.Model):
    """An officer who runs a programme."""

    __tablename__ = "programme_officers"
    __table_args__ = (sa.UniqueConstraint("programme_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)

    programme: Mapped[Programme] = relationship(back_populates="officer_rows")


class CallState(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class Call(db.Model):
    """One competition round of a programme, with the rules every proposal is checked against."""

    __tablename__ = "calls"
    __workflow__ = workflow.CALL
    __table_args__ = (
        sa.UniqueConstraint("programme_id", "round_number"),
        sa.CheckConstraint(
            "min_private_share IS NULL OR (min_private_share >= 0 AND min_private_share <= 1)",
            name="min_private_share_is_a_share",
        ),
        sa.CheckConstraint("budget_years BETWEEN 1 AND 9", name="budget_years_one_to_nine"),
        sa.CheckConstraint("phase_years BETWEEN 1 AND 9", name="phase_years_one_to_nine"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(sa.ForeignKey("programmes.id", ondelete="CASCADE"))
    round_number: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    reference_prefix: Mapped[str] = mapped_column(sa.String(20))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    state: Mapped[CallState] = mapped_column(
        enum_type(CallState, "call_state"), default=CallState.DRAFT
    )
    max_public_funding_per_proposal: Mapped[Decimal | None]
    min_private_share: Mapped[Decimal | None] = mapped_column(sa.Numeric(5, 4))
    # Funding rate per organisation kind, e.g. {"sme": "0.5"}; empty means no rate rule.
    funding_rates: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    # Federal state codes a consortium must be based in; empty means nationwide.
    region_scope: Mapped[list[str]] = mapped_column(JSONData, default=list)
    # Jurors see the other reviews of a proposal only after submitting their own.
    reviews_hidden_until_own: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Project years a budget runs over (1 to 9).
    budget_years: Mapped[int] = mapped_column(default=3, server_default="3")
    # [{"key": "personnel", "name_en": "Personnel", "name_de": "Personal"}, ...]; empty: one
    # budget line per partner and year.
    cost_categories: Mapped[list[dict[str, Any]]] = mapped_column(
        JSONData, default=list, server_default=sa.text("'[]'")
    )
    # This round's share of the programme's total budget; None: the programme's remainder.
    budget_envelope: Mapped[Decimal | None]
    # Per proposal and project year; None: no yearly cap.
    max_public_funding_per_year: Mapped[Decimal | None]
    # Years of each phase of a funded project; an interim evaluation ends every phase but the
    # last.
    phase_years: Mapped[int] = mapped_column(default=3, server_default="3")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    programme: Mapped[Programme] = relationship(back_populates="calls")
    stages: Mapped[list[Stage]] = relationship(
        back_populates="call", order_by="Stage.position", cascade="all, delete-orphan"
    )

    @property
    def competition_stages(self) -> list[Stage]:
        """The stages of the competition, in order: every stage but the interim evaluations of
        funded grants, which come after them."""
        return [s for s in self.stages if not s.is_evaluation]

    def category_names(self, language: str | None = None) -> dict[str, str]:
        """The cost categories' names by key, in ``language`` (the reader's by default), the
        English name standing in where there is no German."""
        language = language or current_language()
        return {
            str(c["key"]): str(
                (c.get("name_de") if language == "de" else None) or c.get("name_en") or c["key"]
            )
            for c in self.cost_categories or ()
        }


class StageKind(enum.StrEnum):
    OUTLINE = "outline"
    FULL_PROPOSAL = "full_proposal"
    HEARING = "hearing"
    # The interim evaluation at the end of a funded grant's phase: not a stage of the
    # competition, appended after its stages (``Stage.evaluates_phase`` says which phase).
    INTERIM_EVALUATION = "interim_evaluation"

    @property
    def label(self) -> str:
        return str(STAGE_KIND_LABELS[self.value])


STAGE_KIND_LABELS = {
    "outline": _("Outline"),
    "full_proposal": _("Full proposal"),
    "hearing": _("Hearing"),
    "interim_evaluation": _("Interim evaluation"),
}
# The kinds an officer chooses for a stage of the competition on the call's set-up pages.
COMPETITION_KINDS = (StageKind.OUTLINE, StageKind.FULL_PROPOSAL, StageKind.HEARING)


class Stage(db.Model):
    __tablename__ = "stages"
    __table_args__ = (
        sa.UniqueConstraint("call_id", "position"),
        sa.CheckConstraint("closes_at > opens_at", name="window_is_ordered"),
        sa.CheckConstraint("reviewers_per_proposal >= 1", name="reviewers_per_proposal_positive"),
        sa.CheckConstraint("max_load_per_juror >= 1", name="max_load_per_juror_positive"),
        sa.CheckConstraint(
            "(bidding_opens_at IS NULL AND bidding_closes_at IS NULL) OR "
            "(bidding_opens_at IS NOT NULL AND bidding_closes_at IS NOT NULL "
            "AND bidding_closes_at > bidding_opens_at)",
            name="bidding_window_is_ordered",
        ),
        sa.CheckConstraint("min_comment_chars >= 0", name="min_comment_chars_not_negative"),
        sa.CheckConstraint(
            "(concept_grant_amount IS NULL) = (concept_grant_months IS NULL)",
            name="concept_grant_is_whole",
        ),
        sa.CheckConstraint(
            "concept_grant_months IS NULL OR concept_grant_months BETWEEN 1 AND 24",
            name="concept_grant_months_in_range",
        ),
        sa.CheckConstraint(
            "(kind = 'interim_evaluation') = (evaluates_phase IS NOT NULL)",
            name="evaluation_names_its_phase",
        ),
        sa.CheckConstraint(
            "evaluates_phase IS NULL OR evaluates_phase BETWEEN 1 AND 8",
            name="evaluates_phase_in_range",
        ),
        # One interim evaluation of each phase per call (NULLs, the competition's stages, are
        # distinct on both databases).
        sa.UniqueConstraint("call_id", "evaluates_phase"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(sa.ForeignKey("calls.id", ondelete="CASCADE"))
    position: Mapped[int]
    kind: Mapped[StageKind] = mapped_column(enum_type(StageKind, "stage_kind"))
    name: Mapped[str] = mapped_column(sa.String(200))
    opens_at: Mapped[dt.datetime]
    closes_at: Mapped[dt.datetime]
    # [{"key": "strategy", "title": "Cluster strategy", "max_chars": 20000}, ...]
    required_sections: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, default=list)
    # [{"key": "cv", "title": "CVs", "required": true, "max_pages": 10, "max_bytes": 10485760}]
    attachment_rules: Mapped[list[dict[str, Any]]] = mapped_column(JSONData, default=list)
    reviewers_per_proposal: Mapped[int] = mapped_column(default=3)
    max_load_per_juror: Mapped[int] = mapped_column(default=10)
    selection_target: Mapped[int | None]
    bidding_enabled: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # When jurors may bid (set whenever bidding is on; migration 0016). A stage made without one
    # by code takes bids whenever bidding is on.
    bidding_opens_at: Mapped[dt.datetime | None]
    bidding_closes_at: Mapped[dt.datetime | None]
    # When reviews are due; reminders count back from it.
    reviews_due_at: Mapped[dt.datetime | None]
    min_comment_chars: Mapped[int] = mapped_column(default=200, server_default="200")
    # How the stage's selection is made: see competition.selection.rules.SelectionRules.
    selection_rules: Mapped[dict[str, Any]] = mapped_column(
        JSONData, default=dict, server_default="{}"
    )
    # Advancing from this stage funds a concept phase (Clusters4Future: six months) of this
    # amount per proposal; None: advancing carries no money.
    concept_grant_amount: Mapped[Decimal | None]
    concept_grant_months: Mapped[int | None]
    # The phase of the call's funded grants an interim evaluation stage evaluates (1: the first
    # phase, deciding on the second); None for the competition's stages.
    evaluates_phase: Mapped[int | None]

    call: Mapped[Call] = relationship(back_populates="stages")
    criteria: Mapped[list[Criterion]] = relationship(
        back_populates="stage", order_by="Criterion.position", cascade="all, delete-orphan"
    )

    @property
    def is_evaluation(self) -> bool:
        """An interim evaluation of funded grants, not a stage of the competition."""
        return self.kind == StageKind.INTERIM_EVALUATION

    @property
    def budget_years(self) -> tuple[int, int]:
        """The project years a submission's budget covers at this stage: the call's years at
        the competition's stages; at an interim evaluation, those of the phase after the
        evaluated one (its plan and budget are what the evaluation decides on)."""
        if self.evaluates_phase is None:
            return 1, self.call.budget_years
        length = self.call.phase_years
        first = self.evaluates_phase * length + 1
        return first, min(first + length - 1, 9)


class Criterion(db.Model):
    __tablename__ = "criteria"
    __table_args__ = (
        sa.UniqueConstraint("stage_id", "position"),
        sa.CheckConstraint("scale_max > scale_min", name="scale_is_ordered"),
        sa.CheckConstraint("scale_step > 0", name="scale_step_positive"),
        sa.CheckConstraint("weight > 0", name="weight_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    position: Mapped[int]
    name: Mapped[str] = mapped_column(sa.String(200))
    description: Mapped[str] = mapped_column(sa.Text, default="")
    weight: Mapped[Decimal] = mapped_column(sa.Numeric(6, 3))
    scale_min: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    scale_max: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    scale_step: Mapped[Decimal] = mapped_column(sa.Numeric(6, 2))
    threshold: Mapped[Decimal | None] = mapped_column(sa.Numeric(6, 2))

    stage: Mapped[Stage] = relationship(back_populates="criteria")
