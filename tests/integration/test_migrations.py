"""The migrations build exactly the schema the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from competition import create_app
from competition.db import described_by_models
from competition.extensions import db
from tests import services
from tests.conftest import ROOT, _admin_connection, testing_settings

MIGRATIONS = str(ROOT / "migrations")


@contextmanager
def migrated(url: str, *, before: str, after: str, rows: Callable[[sa.Connection], None]):  # type: ignore[no-untyped-def]
    """A database at revision ``before`` holding ``rows`` (only the rows under test: foreign
    keys are not checked while they go in, the rest of the world would be hundreds of columns of
    set-up; on PostgreSQL the session keeps it so for the migration that moves them), then
    migrated to ``after``. The test reads it and may downgrade it again."""
    app = create_app(testing_settings(database_url=url))
    with app.app_context():
        upgrade(directory=MIGRATIONS, revision=before)
        with db.engine.begin() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
            else:
                conn.exec_driver_sql("SET session_replication_role = replica")
            rows(conn)
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("PRAGMA foreign_keys=ON")
        upgrade(directory=MIGRATIONS, revision=after)
        try:
            yield
        finally:
            db.engine.dispose()


def differences(app) -> list:  # type: ignore[no-untyped-def]
    with app.app_context(), db.engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "render_as_batch": True,
                "include_name": described_by_models,
            },
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


@pytest.fixture
def fresh_url(request, tmp_path):  # type: ignore[no-untyped-def]
    """An empty database of the dialect named by the test's parameter."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
        return
    if not services.port_open(services.PG_HOST, services.PG_PORT):
        services.unavailable("PostgreSQL")
    name = f"competition_migrations_{uuid.uuid4().hex[:8]}"
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://{services.PG_USER}@{services.PG_HOST}:{services.PG_PORT}/{name}"
    finally:
        with _admin_connection() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_migrations_match_the_models(fresh_url):
    check_round_trip(fresh_url)


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
        assert db.session.execute(sa.text("SELECT seq FROM audit_events")).scalar_one() == 1
        for statement in (
            "UPDATE audit_events SET action = 'x'",
            "UPDATE audit_events SET seq = 2",
            "UPDATE audit_events SET seq = NULL, prev_hash = NULL, hash = NULL",
            "DELETE FROM audit_events",
        ):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"):
                db.session.execute(sa.text(statement))
            db.session.rollback()
        db.session.execute(
            sa.text(
                "INSERT INTO audit_events (occurred_at, action, object_type, object_id)"
                " VALUES (:at, 'test.waiting', 'test', '2')"
            ),
            {"at": utcnow() if dialect == "postgresql" else "2026-12-05 10:00:00.000000"},
        )
        db.session.commit()
        waiting = "UPDATE audit_events SET seq = 2, prev_hash = 'a', hash = 'b'"
        # An unchained event gets its place once, and nothing else of it may change with it.
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(sa.text(waiting + ", action = 'x' WHERE seq IS NULL"))
        db.session.rollback()
        db.session.execute(sa.text(waiting + " WHERE seq IS NULL"))
        db.session.commit()
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(sa.text("UPDATE audit_events SET hash = 'c' WHERE seq = 2"))
        db.session.rollback()
        if dialect == "postgresql":
            db.session.execute(sa.text("TRUNCATE audit_events"))
            db.session.commit()
        db.engine.dispose()


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_events_left_unchained_are_chained_by_a_downgrade(fresh_url):
    from competition.audit.operations import verify_chain

    app = create_app(testing_settings(database_url=fresh_url))
    with app.app_context():
        upgrade(directory=MIGRATIONS)
        with db.engine.begin() as conn:
            for n in range(3):
                conn.execute(
                    sa.text(
                        "INSERT INTO audit_events (occurred_at, action, object_type, object_id)"
                        " VALUES (:at, 'test.waiting', 'test', :n)"
                    ),
                    {"at": f"2026-12-05 10:00:0{n}", "n": str(n)},
                )
        downgrade(directory=MIGRATIONS, revision="0011_dispatched")
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT seq FROM audit_events ORDER BY id")).all()
        assert [r.seq for r in rows] == [1, 2, 3]
        assert verify_chain() == (3, None)
        db.session.remove()
        upgrade(directory=MIGRATIONS)
        db.engine.dispose()


# Scores as reviews held them in JSON before 0008; criterion 99 had been removed since.
JSON_SCORES = {
    1: {"11": "4.5", "12": "3"},
    2: {"11": "10", "13": "0.25", "12": "0"},
    3: {},
    4: {"11": "1", "99": "5"},
}


def _insert_reviews_as_of_0007(conn: sa.Connection) -> None:
    for criterion_id in (11, 12, 13):
        conn.execute(
            sa.text(
                "INSERT INTO criteria (id, stage_id, position, name, description, weight,"
                " scale_min, scale_max, scale_step) VALUES (:id, 1, :id, :name, '', 1, 0, 10, 0.25)"
            ),
            {"id": criterion_id, "name": f"Criterion {criterion_id}"},
        )
    for review_id, scores in JSON_SCORES.items():
        conn.execute(
            sa.text(
                "INSERT INTO reviews (id, assignment_id, scores, comment_for_applicant,"
                " comment_for_jury, state, revision, updated_at)"
                " VALUES (:id, :id, :scores, '', '', 'draft', 1, :now)"
            ).bindparams(sa.bindparam("scores", type_=sa.JSON)),
            {"id": review_id, "scores": scores, "now": "2026-12-01 10:00:00"},
        )


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_review_scores_move_from_json_into_rows_and_back_without_loss(fresh_url):
    with migrated(
        fresh_url,
        before="0007_selection_rules",
        after="0008_review_scores",
        rows=_insert_reviews_as_of_0007,
    ):
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT review_id, criterion_id, score FROM review_scores")
            ).all()
        moved = {(review, str(criterion)): score for review, criterion, score in rows}
        expected = {
            (review, key): score
            for review, scores in JSON_SCORES.items()
            for key, score in scores.items()
            if key != "99"
        }
        assert moved == expected

        downgrade(directory=MIGRATIONS, revision="0007_selection_rules")
        with db.engine.connect() as conn:
            back = dict(
                conn.execute(sa.text("SELECT id, scores FROM reviews")).all()
                if conn.dialect.name == "postgresql"
                else [
                    (review, json.loads(text))
                    for review, text in conn.execute(sa.text("SELECT id, scores FROM reviews"))
                ]
            )
        assert back == {
            review: {k: v for k, v in scores.items() if k != "99"}
            for review, scores in JSON_SCORES.items()
        }


def _insert_runs_and_rankings_as_of_0009(conn: sa.Connection) -> None:
    at, later = "2026-12-01 10:00:00", "2026-12-01 10:05:00"
    for run_id, state, progress, finished in ((1, "done", 100, later), (2, "running", 50, None)):
        conn.execute(
            sa.text(
                "INSERT INTO assignment_runs (id, stage_id, state, progress, message, params,"
                " result, started_by_id, created_at, started_at, finished_at)"
                " VALUES (:id, 1, :state, :progress, :message, '{}', '{}', 7, :at, :at, :end)"
            ),
            {
                "id": run_id,
                "state": state,
                "progress": progress,
                "message": f"run {run_id}",
                "at": at,
                "end": finished,
            },
        )
    conn.execute(
        sa.text(
            "INSERT INTO rankings (id, stage_id, method, params, state, message, inputs_hash,"
            " code_version, result, created_by_id, created_at, finished_at)"
            " VALUES (1, 1, 'raw', '{}', 'failed', 'cannot rank', NULL, 'v', '{}', 7, :at, NULL)"
        ),
        {"at": at},
    )


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_runs_and_rankings_move_their_state_into_jobs_and_back(fresh_url):
    with migrated(
        fresh_url,
        before="0009_workflow",
        after="0010_jobs",
        rows=_insert_runs_and_rankings_as_of_0009,
    ):
        with db.engine.connect() as conn:
            jobs = conn.execute(
                sa.text(
                    "SELECT r.id, j.kind, j.subject, j.state, j.progress, j.message,"
                    " j.started_by_id, j.finished_at IS NOT NULL FROM jobs j"
                    " JOIN assignment_runs r ON r.job_id = j.id ORDER BY r.id"
                )
            ).all()
            ranking = conn.execute(
                sa.text(
                    "SELECT j.kind, j.state, j.message, j.finished_at IS NOT NULL FROM jobs j"
                    " JOIN rankings r ON r.job_id = j.id"
                )
            ).one()
        assert [tuple(row) for row in jobs] == [
            (1, "assignment.run", "stage:1", "done", 100, "run 1", 7, True),
            (2, "assignment.run", "stage:1", "running", 50, "run 2", 7, False),
        ]
        # A ranking that ended without an end time gets its creation time as one.
        assert tuple(ranking) == ("selection.rank", "failed", "cannot rank", True)

        downgrade(directory=MIGRATIONS, revision="0009_workflow")
        with db.engine.connect() as conn:
            runs = conn.execute(
                sa.text("SELECT id, state, progress, message FROM assignment_runs ORDER BY id")
            ).all()
            back = conn.execute(sa.text("SELECT state, message FROM rankings")).one()
        assert [tuple(r) for r in runs] == [(1, "done", 100, "run 1"), (2, "running", 50, "run 2")]
        assert tuple(back) == ("failed", "cannot rank")


def _insert_topics_as_of_0014(conn: sa.Connection) -> None:
    conn.execute(
        sa.text("INSERT INTO topics (id, slug, name) VALUES (1, 'lasers', 'Laser technology')")
    )
    conn.execute(
        sa.text("INSERT INTO topics (id, slug, name) VALUES (2, 'weaving', 'Smart textiles')")
    )


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_topic_names_become_english_and_the_demo_topics_get_their_german_names(fresh_url):
    with migrated(
        fresh_url,
        before="0014_user_locale",
        after="0015_topic_names",
        rows=_insert_topics_as_of_0014,
    ):
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT slug, name_en, name_de FROM topics ORDER BY id")
            ).all()
        assert [tuple(row) for row in rows] == [
            ("lasers", "Laser technology", "Lasertechnik"),
            ("weaving", "Smart textiles", ""),
        ]

        downgrade(directory=MIGRATIONS, revision="0014_user_locale")
        with db.engine.connect() as conn:
            back = conn.execute(sa.text("SELECT slug, name FROM topics ORDER BY id")).all()
        assert [tuple(row) for row in back] == [
            ("lasers", "Laser technology"),
            ("weaving", "Smart textiles"),
        ]


def _insert_topics_as_of_0015(conn: sa.Connection) -> None:
    for topic_id, slug, name in ((1, "weaving", "Smart textiles"), (2, "lasers", "Lasers")):
        conn.execute(
            sa.text("INSERT INTO topics (id, slug, name_en, name_de) VALUES (:i, :s, :n, '')"),
            {"i": topic_id, "s": slug, "n": name},
        )


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_existing_topics_stay_shared_as_clusters_in_the_order_of_their_english_names(fresh_url):
    with migrated(
        fresh_url,
        before="0015_topic_names",
        after="0018_topic_taxonomy",
        rows=_insert_topics_as_of_0015,
    ):
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text(
                    "SELECT slug, programme_id, kind, parent_id, position, retired_at "
                    "FROM topics ORDER BY id"
                )
            ).all()
        assert [tuple(row) for row in rows] == [
            ("weaving", None, "cluster", None, 2, None),
            ("lasers", None, "cluster", None, 1, None),
        ]

        downgrade(directory=MIGRATIONS, revision="0015_topic_names")
        with db.engine.connect() as conn:
            back = conn.execute(sa.text("SELECT slug, name_en FROM topics ORDER BY id")).all()
        assert [tuple(row) for row in back] == [("weaving", "Smart textiles"), ("lasers", "Lasers")]


OLD_HEAD: dict[str, str] = {}


def _insert_events_as_of_0028(conn: sa.Connection) -> None:
    """Three chained events as 0028 hashed them, a reason and a question in the images, and
    one event still waiting for its place."""
    import datetime as dt

    from competition.core.audit_chain import GENESIS_HASH, event_hash

    prev = GENESIS_HASH
    images = [
        (None, {"state": "withdrawn", "reason": "Dr. Erika Muster left the consortium."}),
        ({"due_at": None}, {"question": "Ask erika@example.org", "message_id": 4}),
        ({"state": "draft"}, {"state": "submitted"}),
    ]
    for seq, (before, after) in enumerate(images, start=1):
        at = dt.datetime(2026, 12, 5, 10, 0, seq, tzinfo=dt.UTC)
        digest = event_hash(
            prev_hash=prev,
            seq=seq,
            occurred_at=at,
            actor_id=None,
            action="test.event",
            object_type="proposal",
            object_id="7",
            before=before,
            after=after,
        )
        conn.execute(
            sa.text(
                "INSERT INTO audit_events (seq, occurred_at, action, object_type, object_id,"
                " before, after, prev_hash, hash) VALUES (:seq, :at, 'test.event', 'proposal',"
                " '7', :before, :after, :prev, :hash)"
            ),
            {
                "seq": seq,
                "at": at
                if conn.dialect.name == "postgresql"
                else at.strftime("%Y-%m-%d %H:%M:%S.%f"),
                "before": json.dumps(before),
                "after": json.dumps(after),
                "prev": prev,
                "hash": digest,
            },
        )
        prev = digest
    OLD_HEAD["hash"] = prev
    conn.execute(
        sa.text(
            "INSERT INTO audit_events (occurred_at, action, object_type, object_id, after)"
            " VALUES ('2026-12-05 10:00:09', 'test.waiting', 'proposal', '7', :after)"
        ),
        {"after": json.dumps({"note": "Call Erika back."})},
    )


@pytest.mark.parametrize("fresh_url", ["sqlite", "postgresql"], indirect=True)
def test_personal_details_leave_the_hashed_events_and_the_chain_still_verifies(fresh_url):
    from competition.audit.operations import chain_pending, verify_chain

    with migrated(
        fresh_url,
        before="0028_portal_and_api",
        after="0033_retention_and_pseudonyms",
        rows=_insert_events_as_of_0028,
    ):
        chain_pending(db.engine)
        with db.engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT seq, action, after, personal FROM audit_events ORDER BY seq")
            ).all()
        loaded = [
            (r.seq, r.action, *(json.loads(v) if isinstance(v, str) else v for v in r[2:]))
            for r in rows
        ]
        assert loaded[0][2:] == (
            {"state": "withdrawn"},
            {"after": {"reason": "Dr. Erika Muster left the consortium."}},
        )
        assert loaded[1][3] == {"after": {"question": "Ask erika@example.org"}}
        # The migration says what it did and names the head the old anchors hold.
        rechained = next(r for r in loaded if r[1] == "audit.rechained")
        assert rechained[2] == {"events": 3, "old_head_seq": 3, "old_head_hash": OLD_HEAD["hash"]}
        assert loaded[-1][1:] == ("test.waiting", {}, {"after": {"note": "Call Erika back."}})
        assert verify_chain() == (5, None)
        db.session.remove()

        # Clearing the personal part is the one more change the database allows (on a new
        # connection: the one that inserted the rows does not run triggers).
        db.engine.dispose()
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE audit_events SET personal = NULL"))
        for statement in (
            "UPDATE audit_events SET after = NULL WHERE seq = 1",
            "UPDATE audit_events SET personal = NULL, action = 'x' WHERE seq = 2",
        ):
            with pytest.raises(sa.exc.DatabaseError, match="append-only"), db.engine.begin() as c:
                c.execute(sa.text(statement))
        assert verify_chain() == (5, None)
        with db.engine.connect() as conn:
            text = " ".join(
                str(tuple(r)) for r in conn.execute(sa.text("SELECT * FROM audit_events"))
            )
        assert "Erika" not in text and "erika@" not in text
        db.session.remove()

        downgrade(directory=MIGRATIONS, revision="0028_portal_and_api")
        assert verify_chain() == (5, None)
        db.session.remove()
