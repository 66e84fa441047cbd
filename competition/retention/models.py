"""Retention: what the periodic erasure did, and the erasure requests of people."""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.accounts.models import User
from competition.db import JSONData
from competition.extensions import db


class ErasureRequest(db.Model):
    """A person's request to be erased, recorded by an administrator with the reason. Done at
    once for everything outside a retention period; what is still within one (``waiting``:
    proposal ids) is erased by the periodic run when its period ends, which completes it."""

    __tablename__ = "erasure_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    # One request per person: an erased person cannot be erased twice.
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"), unique=True)
    reason: Mapped[str] = mapped_column(sa.Text)
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    recorded_at: Mapped[dt.datetime]
    waiting: Mapped[list[int]] = mapped_column(JSONData, default=list)
    completed_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    recorded_by: Mapped[User] = relationship(foreign_keys=[recorded_by_id])


class RetentionRun(db.Model):
    """One run of the erasure: the periodic one (with its job) or an erasure request's. Keeps
    the counts per kind of data, which administrators read on the retention page."""

    __tablename__ = "retention_runs"
    __table_args__ = (sa.CheckConstraint("kind IN ('periodic', 'request')", name="kind_known"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    job_id: Mapped[int | None] = mapped_column(sa.ForeignKey("jobs.id", ondelete="SET NULL"))
    erasure_request_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("erasure_requests.id", ondelete="SET NULL")
    )
    ran_at: Mapped[dt.datetime]
    counts: Mapped[dict[str, Any]] = mapped_column(JSONData, default=dict)
