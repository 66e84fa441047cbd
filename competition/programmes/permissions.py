"""Who may set up programmes, calls, stages and criteria. Pure predicates over loaded objects."""

from __future__ import annotations

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.db import remembered
from competition.extensions import db
from competition.i18n import gettext as _
from competition.permissions import Decision
from competition.programmes.models import Programme, ProgrammeOfficer


def runs_programme(user: User, programme_id: int) -> bool:
    """Whether ``user`` is one of the officers who run the programme."""
    return remembered(
        ("runs_programme", user.id, programme_id),
        lambda: (
            db.session.scalar(
                sa.select(ProgrammeOfficer.id).where(
                    ProgrammeOfficer.user_id == user.id,
                    ProgrammeOfficer.programme_id == programme_id,
                )
            )
            is not None
        ),
    )


def is_programme_officer(user: User, programme_id: int) -> bool:
    """An officer who runs the programme: the one rule behind every officer's page of it."""
    return user.has_role(Role.OFFICER) and runs_programme(user, programme_id)


def can_create_programme(user: User) -> Decision:
    if not user.has_role(Role.OFFICER):
        return Decision(False, _("only officers set up programmes"))
    return Decision(True)


def can_manage_programme(user: User, programme: Programme) -> Decision:
    """Change the programme, its calls, stages and criteria: an officer who runs it."""
    if not is_programme_officer(user, programme.id):
        return Decision(False, _("only officers of this programme set it up"))
    return Decision(True)
