"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from competition import create_app
from competition.extensions import db
from tests import services
from tests.conftest import ROOT, _admin_connection, testing_settings

MIGRATIONS = str(ROOT / "migrations")


def differences(app) -> list:  # type: ignore[no-untyped-def]
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "render_as_batch": True}
        )
        return compare_metadata(context, db.metadata)


def check_round_trip(url: str) -> None:
    app = create_app(testing_settings(database_url=url))
    with app.app_context():
        upgrade(directory=MIGRATIONS)
    assert differences(app) == []
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
    assert {"users", "proposals", "audit_events", "notifications"} <= tables
    # Downgrading to nothing and up again works: a release can be rolled back.
    with app.app_context():
        downgrade(directory=MIGRATIONS, revision="base")
        assert set(sa.inspect(db.engine).get_table_names()) <= {"alembic_version"}
        upgrade(directory=MIGRATIONS)
    assert differences(app) == []
    with app.app_context():
        db.engine.dispose()


def test_migrations_match_the_models_on_sqlite(tmp_path: Path):
    check_round_trip(f"sqlite:///{tmp_path / 'fresh.sqlite3'}")


def test_migrations_match_the_models_on_postgresql():
    if not services.port_open(services.PG_HOST, services.PG_PORT):
        services.unavailable("PostgreSQL")
    name = f"competition_migrations_{uuid.uuid4().hex[:8]}"
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        check_round_trip(
            f"postgresql+psycopg://{services.PG_USER}@{services.PG_HOST}:{services.PG_PORT}/{name}"
        )
    finally:
        with _admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_the_database_refuses_to_change_an_audit_event(dialect, tmp_path, pg_url):
    url = pg_url if dialect == "postgresql" else f"sqlite:///{tmp_path / 'audit.sqlite3'}"
    app = create_app(testing_settings(database_url=url))
    with app.app_context():
        if dialect == "sqlite":
            upgrade(directory=MIGRATIONS)
        from competition.audit.operations import record_event
        from competition.db import operation, utcnow

        operation(record_event)(
            actor=None, action="test.event", object_type="test", object_id=1, now=utcnow()
        )
        for statement in ("UPDATE audit_events SET action = 'x'", "DELETE FROM audit_events"):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                db.session.execute(sa.text(statement))
            db.session.rollback()
        if dialect == "postgresql":
            db.session.execute(sa.text("TRUNCATE audit_events"))
            db.session.commit()
        db.engine.dispose()
