"""Officers' eligibility verdicts per proposal and stage."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from competition.db import JSONData, enum_type
from competition.extensions import db


class Verdict(enum.StrEnum):
    ELIGIBLE = "eligible"
    INELIGIBLE = "ineligible"


class ScreeningResult(db.Model):
    __tablename__ = "screening_results"
    __table_args__ = (
        sa.UniqueConstraint("proposal_id", "stage_id"),
        sa.CheckConstraint(
            "verdict = 'eligible' OR length(reason) > 0", name="ineligible_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("proposals.id", ondelete="CASCADE"))
    stage_id: Mapped[int] = mapped_column(sa.ForeignKey("stages.id", ondelete="CASCADE"))
    verdict: Mapped[Verdict] = mapped_column(enum_type(Verdict, "verdict"))
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    # The checklist the officer saw: {"complete": true, "on_time": true, ...}
    checks: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
    # Which submitted version was screened.
    version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("submission_versions.id"))
    decided_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime]
