from __future__ import annotations

import datetime as dt
import enum

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from competition.core import workflow
from competition.db import enum_type
from competition.extensions import db


class JobState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


ACTIVE = (JobState.QUEUED, JobState.RUNNING)


class Job(db.Model):
    """One piece of long work on a subject ("stage:12"). The page polls its progress; a worker
    that holds it beats its heart; one active job per kind and subject."""

    __tablename__ = "jobs"
    __workflow__ = workflow.JOB
    __table_args__ = (
        sa.Index(
            "uq_jobs_active_subject",
            "kind",
            "subject",
            unique=True,
            sqlite_where=sa.text("state IN ('queued', 'running')"),
            postgresql_where=sa.text("state IN ('queued', 'running')"),
        ),
        sa.CheckConstraint("progress >= 0 AND progress <= 100", name="progress_is_a_percentage"),
        sa.CheckConstraint(
            "state IN ('queued', 'running') OR finished_at IS NOT NULL", name="ended_has_time"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    subject: Mapped[str] = mapped_column(sa.String(60))
    state: Mapped[JobState] = mapped_column(enum_type(JobState, "job_state"))
    progress: Mapped[int] = mapped_column(default=0)
    message: Mapped[str] = mapped_column(sa.Text, default="")
    error: Mapped[str] = mapped_column(sa.Text, default="")
    attempts: Mapped[int] = mapped_column(default=0)
    started_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[dt.datetime]
    # The claim of the worker that holds the job; a step of an overtaken worker changes nothing.
    started_at: Mapped[dt.datetime | None]
    heartbeat_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]

    @property
    def active(self) -> bool:
        return self.state in ACTIVE
