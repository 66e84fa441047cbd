"""A person's data export: the job that builds it and the file it leaves."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from competition.extensions import db
from competition.jobs.models import Job


class DataExport(db.Model):
    """One request of a person for all their data. The job builds the ZIP into the upload
    store (``storage_key``); it can be downloaded until ``expires_at``, then the beat task
    deletes the file and sets ``deleted_at``."""

    __tablename__ = "data_exports"
    __table_args__ = (
        sa.CheckConstraint(
            "(storage_key IS NULL) OR (ready_at IS NOT NULL AND expires_at IS NOT NULL)",
            name="stored_has_times",
        ),
        sa.CheckConstraint("deleted_at IS NULL OR storage_key IS NULL", name="deleted_has_no_file"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    job_id: Mapped[int] = mapped_column(sa.ForeignKey("jobs.id"), unique=True)
    created_at: Mapped[dt.datetime]
    storage_key: Mapped[str | None] = mapped_column(sa.String(64))
    size_bytes: Mapped[int | None]
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    files: Mapped[int | None]
    ready_at: Mapped[dt.datetime | None]
    expires_at: Mapped[dt.datetime | None]
    deleted_at: Mapped[dt.datetime | None]

    job: Mapped[Job] = relationship(lazy="joined", innerjoin=True)
