"""A request that only read ends its transaction with COMMIT, so the database connection keeps
its prepared statements from one request to the next; a request that wrote and did not commit
keeps nothing, however it wrote. A search is never prepared: it is planned for its words."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from competition.access import public
from competition.accounts.models import User, UserStatus
from competition.extensions import db


@public
def count_users() -> str:
    return str(db.session.scalar(sa.select(sa.func.count(User.id))))


def new_user(email: str) -> User:
    return User(email=email, name="Not kept", status=UserStatus.ACTIVE)


def flushed(email: str) -> None:
    db.session.add(new_user(email))
    db.session.flush()


def pending(email: str) -> None:
    db.session.add(new_user(email))  # not flushed: a COMMIT through the session would flush it


def inserted(email: str) -> None:
    db.session.execute(
        sa.insert(User).values(email=email, name="Not kept", status=UserStatus.ACTIVE)
    )


def written_by_hand(email: str) -> None:
    db.session.connection().exec_driver_sql(
        "INSERT INTO users (email, name, status, created_at) "
        "VALUES (%s, 'Not kept', 'active', now())",
        (email,),
    )


def written_after_a_select(email: str) -> None:
    db.session.connection().exec_driver_sql(
        "SELECT 1; INSERT INTO users (email, name, status, created_at) "
        f"VALUES ('{email}', 'Not kept', 'active', now())"
    )


def written_through_a_common_table_expression(email: str) -> None:
    db.session.connection().exec_driver_sql(
        "WITH kept AS (INSERT INTO users (email, name, status, created_at) "
        "VALUES (%s, 'Not kept', 'active', now()) RETURNING id) SELECT id FROM kept",
        (email,),
    )


def written_in_a_savepoint(email: str) -> None:
    with db.session.begin_nested():
        db.session.add(new_user(email))


def prepared_statements() -> list[str]:
    return list(db.session.scalars(sa.text("SELECT statement FROM pg_prepared_statements")).all())


def test_a_page_read_again_and_again_is_answered_from_prepared_statements(app):
    app.add_url_rule("/counted", "counted", count_users)
    client = app.test_client()
    for _ in range(8):
        assert client.get("/counted").status_code == 200
    with app.app_context():
        assert any("count(users.id)" in s for s in prepared_statements())


def test_a_search_is_never_prepared_so_it_is_planned_for_its_words(app):
    @public
    def searched() -> str:
        names = User.name.contains("hydrogen", autoescape=True)
        return str(db.session.scalar(sa.select(sa.func.count(User.id)).where(names)))

    app.add_url_rule("/counted", "counted", count_users)
    app.add_url_rule("/searched", "searched", searched)
    client = app.test_client()
    for _ in range(8):
        assert client.get("/searched").get_data(as_text=True) == "0"
        assert client.get("/counted").get_data(as_text=True) == "0"
    with app.app_context():
        statements = prepared_statements()
    assert any("count(users.id)" in s for s in statements)
    assert not any("LIKE" in s for s in statements)


@pytest.mark.parametrize(
    "write",
    [
        flushed,
        pending,
        inserted,
        written_by_hand,
        written_after_a_select,
        written_through_a_common_table_expression,
        written_in_a_savepoint,
    ],
)
def test_a_request_that_wrote_and_did_not_commit_keeps_nothing(app, write):
    email = f"{write.__name__}@example.org"

    @public
    def view() -> str:
        write(email)
        return "answered"

    app.add_url_rule("/wrote", "wrote", view)
    assert app.test_client().get("/wrote").get_data(as_text=True) == "answered"
    with app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.email == email)) is None


def test_a_request_whose_transaction_failed_is_answered_and_the_next_one_reads(app):
    @public
    def failed() -> str:
        try:
            db.session.connection().exec_driver_sql("SELECT 1 / 0")
        except sa.exc.DataError:
            return "answered"
        return "not failed"

    app.add_url_rule("/failed", "failed", failed)
    app.add_url_rule("/counted", "counted", count_users)
    client = app.test_client()
    assert client.get("/failed").get_data(as_text=True) == "answered"
    assert client.get("/counted").get_data(as_text=True) == "0"
