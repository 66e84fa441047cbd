"""Reading accounts for pages and exports."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa

from competition.accounts.models import User
from competition.extensions import db


def names_of(user_ids: Iterable[int]) -> dict[int, str]:
    """The people's names by id, in one query."""
    wanted = set(user_ids)
    if not wanted:
        return {}
    return dict(db.session.execute(sa.select(User.id, User.name).where(User.id.in_(wanted))).all())
