"""The deadlines the public may plan by: the stages of published calls, each with its opening
and closing time, for the portal's calendar feed."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from competition.extensions import db
from competition.programmes.models import Call, CallState, Stage, StageKind


def published_stages(*, programme_id: int | None = None) -> list[Stage]:
    """The stages of every published call (of one programme if given), with their call and
    programme loaded, by closing time. Interim evaluations of funded grants are left out: they
    concern the funded consortia only, not the public."""
    where = [Call.state == CallState.PUBLISHED, Stage.kind != StageKind.INTERIM_EVALUATION]
    if programme_id is not None:
        where.append(Call.programme_id == programme_id)
    return list(
        db.session.scalars(
            sa.select(Stage)
            .join(Call, Call.id == Stage.call_id)
            .where(*where)
            .options(joinedload(Stage.call).joinedload(Call.programme))
            .order_by(Stage.closes_at, Stage.id)
        )
    )
