"""What the retention page shows."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from competition.extensions import db
from competition.jobs.models import Job
from competition.retention.models import ErasureRequest, RetentionRun

SHOWN = 30


@dataclass(frozen=True)
class RetentionPage:
    job: Job | None
    runs: list[RetentionRun]
    requests: list[ErasureRequest]


def retention_page() -> RetentionPage:
    from competition.retention.operations import JOB_KIND

    job = db.session.scalar(
        sa.select(Job).where(Job.kind == JOB_KIND).order_by(Job.id.desc()).limit(1)
    )
    runs = db.session.scalars(
        sa.select(RetentionRun).order_by(RetentionRun.id.desc()).limit(SHOWN)
    ).all()
    requests = db.session.scalars(
        sa.select(ErasureRequest)
        .options(joinedload(ErasureRequest.user), joinedload(ErasureRequest.recorded_by))
        .order_by(ErasureRequest.id.desc())
        .limit(SHOWN)
    ).all()
    return RetentionPage(job, list(runs), list(requests))
