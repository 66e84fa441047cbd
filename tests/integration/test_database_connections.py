"""Pooled database connections: one that ended while it waited (a restart, a cut network) is
replaced before a request notices; one used a moment ago is handed out without a test, which
would cost every request of a busy worker a round trip. And a list's walk, planned for the
statements that need it only. On PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

import competition
from competition.extensions import db
from tests.conftest import _admin_connection

pytestmark = [pytest.mark.postgres]


def backend_pid() -> int:
    return db.session.scalar(sa.text("SELECT pg_backend_pid()"))


def test_a_connection_ended_while_it_waited_is_replaced_unnoticed(app, monkeypatch):
    with app.app_context():
        ended = backend_pid()
        db.session.remove()  # back to the pool
        with _admin_connection() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (ended,))
        monkeypatch.setattr(competition, "IDLE_BEFORE_PING", 0.0)

        assert backend_pid() != ended


def test_a_connection_used_a_moment_ago_is_not_tested_again(app, monkeypatch):
    tested = []
    with app.app_context():
        ping = db.engine.dialect.do_ping
        monkeypatch.setattr(db.engine.dialect, "do_ping", lambda c: tested.append(1) or ping(c))
        backend_pid()
        db.session.remove()

        backend_pid()
        db.session.remove()
        assert tested == []

        monkeypatch.setattr(competition, "IDLE_BEFORE_PING", 0.0)
        backend_pid()
        assert tested == [1]


def test_rows_are_walked_inside_and_joins_planned_freely_after(app):
    from competition.db import walking_rows

    def joins() -> tuple[str, str]:
        return (
            db.session.scalar(sa.text("SHOW enable_hashjoin")),
            db.session.scalar(sa.text("SHOW enable_mergejoin")),
        )

    with app.app_context():
        before = joins()
        with walking_rows():
            inside = joins()
        after = joins()

        # A transaction that set a join off itself keeps it so after the walk.
        db.session.execute(sa.text("SELECT set_config('enable_mergejoin', 'off', true)"))
        with walking_rows():
            inside_again = joins()
        kept = joins()

    assert before == after == ("on", "on")
    assert inside == inside_again == ("off", "off")
    assert kept == ("on", "off")
