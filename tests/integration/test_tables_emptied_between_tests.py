"""Every test on PostgreSQL starts as on a new database: the tables the test before it filled are
emptied after it, the append-only audit log included, and every id starts again from 1."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from competition.audit.operations import record_event
from competition.extensions import db
from tests.conftest import truncate_all
from tests.factories import NOW, make_proposal, make_user


def filled_tables() -> set[str]:
    return {
        table.name
        for table in db.metadata.sorted_tables
        if db.session.scalar(sa.select(sa.literal(1)).select_from(table).limit(1)) is not None
    }


@pytest.mark.postgres
def test_a_filled_database_is_left_with_no_rows_and_every_id_from_one(make_app):
    app = make_app()
    with app.app_context():
        proposal = make_proposal(coordinator=make_user())
        record_event(
            actor=None, action="test", object_type="proposal", object_id=proposal.id, now=NOW
        )
        db.session.commit()
        # An insert rolled back leaves its table empty and its sequence moved on.
        make_user()
        db.session.rollback()
        filled = filled_tables()
        assert {"audit_events", "proposals", "consortium_members", "organisations"} <= filled
        assert "users" in filled

    truncate_all(app)

    with app.app_context():
        assert filled_tables() == set()
        assert make_user().id == 1
        assert make_proposal().id == 1
        db.session.rollback()
