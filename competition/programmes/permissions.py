"""Who may set up programmes, calls, stages and criteria. Pure predicates over loaded objects."""

from __future__ import annotations

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.extensions import db
from competition.permissions import Decision
from competition.programmes.models import Programme, ProgrammeOfficer


def runs_programme(user: User, programme_id: int) -> bool:
    """Whether ``user`` is one of the officers who run the programme."""
    return (
        db.session.scalar(
            sa.select(ProgrammeOfficer.id).where(
                ProgrammeOfficer.user_id == user.id,
                ProgrammeOfficer.programme_id == programme_id,
            )
        )
        is not None
    )


def can_create_programme(user: User) -> Decision:
    if not user.has_role(Role.OFFICER):
        return Decision(False, "only officers set up programmes")
    return Decision(True)


def can_manage_programme(user: User, programme: Programme) -> Decision:
    """Change the programme, its calls, stages and criteria: an officer who runs it."""
    if not user.has_role(Role.OFFICER):
        return Decision(False, "only officers set up programmes")
    if not runs_programme(user, programme.id):
        return Decision(False, "not an officer of this programme")
    return Decision(True)
