"""A permission asked several times in one transaction is read once, and read again after the
transaction writes: a page and the operation it calls ask the same questions."""

from __future__ import annotations

import sqlalchemy as sa

from competition.extensions import db
from competition.proposals.models import ContributorRole, ProposalContributor
from competition.proposals.permissions import contributor_role
from tests.factories import make_proposal, make_user


def statements_while(action) -> int:  # type: ignore[no-untyped-def]
    count = 0

    def counter(*args: object) -> None:
        nonlocal count
        count += 1

    sa.event.listen(db.engine, "before_cursor_execute", counter)
    try:
        action()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", counter)
    return count


def test_a_role_asked_twice_is_read_once_and_again_after_it_changed(ctx):
    coordinator = make_user()
    proposal = make_proposal(coordinator=coordinator)
    db.session.commit()
    assert coordinator.id and proposal.id  # loaded again after the commit, before counting

    def ask_twice() -> None:
        assert contributor_role(coordinator, proposal) == ContributorRole.COORDINATOR
        assert contributor_role(coordinator, proposal) == ContributorRole.COORDINATOR

    assert statements_while(ask_twice) == 1

    row = db.session.scalar(
        sa.select(ProposalContributor).where(ProposalContributor.user_id == coordinator.id)
    )
    row.role = ContributorRole.CONTRIBUTOR
    db.session.flush()
    assert contributor_role(coordinator, proposal) == ContributorRole.CONTRIBUTOR

    db.session.rollback()
    assert contributor_role(coordinator, proposal) == ContributorRole.COORDINATOR
