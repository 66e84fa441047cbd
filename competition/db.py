"""Declarative base, column types shared by every area, and the transaction helper."""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import functools
import logging
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import DeclarativeBase, registry

log = logging.getLogger(__name__)

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def described_by_models(name: str | None, type_: str, parent_names: Any) -> bool:
    """For comparing the database with the models: the search's trigram indexes (PostgreSQL
    only, on expressions; migration 0034) are the migrations' alone."""
    return not (type_ == "index" and name is not None and name.endswith("_trgm"))


class UTCDateTime(sa.TypeDecorator[dt.datetime]):
    """A timezone-aware UTC datetime on every database (SQLite keeps no zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; pass a UTC-aware datetime")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


Money = sa.Numeric(14, 2)
JSONData = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


class Base(DeclarativeBase):
    registry = registry(
        metadata=sa.MetaData(naming_convention=NAMING_CONVENTION),
        type_annotation_map={dt.datetime: UTCDateTime(), Decimal: Money},
    )


def enum_type(enum_class: type[enum.Enum], name: str) -> sa.Enum:
    """A string enum stored as text with a CHECK constraint (same on SQLite and PostgreSQL)."""
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in enum_class),
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


P = ParamSpec("P")
R = TypeVar("R")

_DEPTH = "operation_depth"
_AFTER_COMMIT = "after_commit"

# How far the last operation of this session got, for a page that must say whether the work
# was kept when the database went away: WORKING (nothing kept), COMMITTING (in doubt: the
# connection broke during the commit), COMMITTED (kept).
COMMIT = "commit"
WORKING, COMMITTING, COMMITTED = "working", "committing", "committed"


def commit_state() -> str | None:
    """How far this session's last operation got, or None when none ran."""
    state = _session().info.get(COMMIT)
    return str(state) if state is not None else None


def _session() -> Any:
    from competition.extensions import db

    return db.session


def add_unique(row: Any, *, taken: Exception) -> None:
    """Insert a row that a unique constraint guards (one invitation per person, one active run
    per stage…); raise ``taken`` when the row exists already or a concurrent request got there
    first. Only the insert is undone: the caller's transaction stays usable."""
    session = _session()
    try:
        with session.begin_nested():
            session.add(row)
    except sa.exc.IntegrityError:
        raise taken from None


# Shapes of one statement kept: a list's filters, set or not, give a few hundred at most.
BUILT_SHAPES = 256


def built_once(make: Callable[P, R]) -> Callable[P, R]:
    """``make``'s statement, built on the first call and kept for every later one: for a
    statement a page asks on every visit. Building a ``select()`` and its cache key took about
    0.2 ms, more than PostgreSQL takes to answer a prepared statement. Every value a request
    brings is a bound parameter (``sa.bindparam``), given when the statement runs; ``make``'s
    own arguments (the database, a sort order, which filters are set) say which shape is
    built, each once; beyond ``BUILT_SHAPES`` of them the least used is built again."""
    return functools.lru_cache(maxsize=BUILT_SHAPES)(make)  # type: ignore[return-value]


def end_reading_transaction(error: BaseException | None = None) -> None:
    """At the end of a request or task on PostgreSQL, a transaction that wrote nothing ends
    with COMMIT rather than the ROLLBACK the session sends when it closes. psycopg forgets its
    prepared statements on every ROLLBACK, so with one transaction per request none was ever
    kept, and PostgreSQL parsed and planned every statement again: 0.6 ms of planning for a
    juror's assignments, a third of a small page. PostgreSQL itself says whether the
    transaction wrote (it has a transaction id only then); one that wrote and was not
    committed is rolled back as before. The COMMIT goes to the driver, past the session, so no
    session event runs as if an operation had committed. Searches are never prepared
    (``competition._searches_planned_for_their_words``). Only a transaction that ran some
    statement other than a ``SELECT`` (``note_what_may_write``) asks PostgreSQL whether it
    wrote: a page's transaction is committed without that round trip."""
    from competition.extensions import db

    if error is not None or not db.session.registry.has():
        return
    session = db.session()
    if (
        not session.in_transaction()
        or session.in_nested_transaction()
        or session.new
        or session.dirty
        or session.deleted
    ):
        return
    if not on_postgresql():
        return
    from psycopg.pq import TransactionStatus

    try:
        connection = session.connection()
        driver = connection.connection.dbapi_connection
        if driver is None or driver.info.transaction_status != TransactionStatus.INTRANS:
            return  # failed or already ended: the session's close deals with it
        if connection.info.get(MAY_HAVE_WRITTEN) and (
            driver.execute("SELECT txid_current_if_assigned()").fetchone()[0] is not None
        ):
            return
        driver.commit()
    except Exception:  # the answer is sent; the session's close ends the transaction as before
        log.debug("a reading transaction could not be committed", exc_info=True)


MAY_HAVE_WRITTEN = "may_have_written"


def note_what_may_write(engine: sa.Engine) -> None:
    """Mark a connection's transaction once it runs any statement that does not start with
    ``SELECT`` (an insert, an update, a savepoint, a ``WITH``) or holds a semicolon (a second
    statement may follow, though no statement of the product's does): ``end_reading_transaction``
    asks PostgreSQL whether such a transaction wrote before it commits. Nothing here calls a
    function that writes from a ``SELECT``, and every statement goes through SQLAlchemy except
    ``end_reading_transaction``'s own."""
    if engine.dialect.name != "postgresql":
        return

    @sa.event.listens_for(engine, "begin")
    def _began(connection: sa.Connection) -> None:
        connection.info.pop(MAY_HAVE_WRITTEN, None)

    @sa.event.listens_for(engine, "before_cursor_execute")
    def _statement(connection: sa.Connection, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.startswith("SELECT") or ";" in statement:
            connection.info[MAY_HAVE_WRITTEN] = True


def on_postgresql() -> bool:
    """Whether this request's database is PostgreSQL (else the embedded SQLite): the few
    statements written for one of them ask this."""
    return bool(_session().get_bind().dialect.name == "postgresql")


def among(column: Any, ids: sa.Select[Any]) -> sa.ColumnElement[bool]:
    """``column`` is one of ``ids``, a small set (a few calls, a few hundred organisations):
    on PostgreSQL one array read once before the rows, then a cheap test of each row. As
    ``IN (SELECT …)`` PostgreSQL may join the set again for every row it tests (a search of
    1,000 funded projects read the organisations 1,300 times) or expect too many rows."""
    if on_postgresql():
        return column == sa.any_(sa.func.array(ids.scalar_subquery()))
    return column.in_(ids)


@contextlib.contextmanager
def walking_rows() -> Iterator[None]:
    """Statements inside are planned to walk the rows in their order and stop once they have
    enough (nested loops, no hash or merge joins); statements after are planned as before.
    For a capped search that most rows match: PostgreSQL takes its text tests for cheap and
    plans to join and test every row before sorting (160 ms at 20,000 funded projects,
    against 20 ms walking the newest first). Elsewhere nothing changes; an error inside
    leaves the settings to the end of the transaction."""
    if not on_postgresql():
        yield
        return
    # The settings as they were are read in the same statement, before it changes them (the
    # subquery is planned apart, OFFSET 0); reading them from pg_settings afterwards took
    # 1.4 ms, a tenth of a search's own statements.
    before = (
        _session()
        .execute(
            sa.text(
                "SELECT hashjoin, mergejoin, set_config('enable_hashjoin', 'off', true), "
                "set_config('enable_mergejoin', 'off', true) FROM (SELECT "
                "current_setting('enable_hashjoin') AS hashjoin, "
                "current_setting('enable_mergejoin') AS mergejoin OFFSET 0) AS settings"
            )
        )
        .one()
    )
    yield
    _session().execute(
        sa.text(
            "SELECT set_config('enable_hashjoin', :hashjoin, true), "
            "set_config('enable_mergejoin', :mergejoin, true)"
        ),
        {"hashjoin": before.hashjoin, "mergejoin": before.mergejoin},
    )


_REMEMBERED = "remembered"


def remembered(key: tuple[Any, ...], read: Callable[[], R]) -> R:
    """``read()`` once per session until the session next writes, commits or rolls back: a
    page and the operation it calls ask the same permission question several times."""
    answers = _session().info.setdefault(_REMEMBERED, {})
    if key not in answers:
        answers[key] = read()
    return answers[key]  # type: ignore[no-any-return]


@sa.event.listens_for(sa.orm.Session, "after_flush")
@sa.event.listens_for(sa.orm.Session, "after_commit")
@sa.event.listens_for(sa.orm.Session, "after_soft_rollback")
def _forget_remembered(session: sa.orm.Session, *_: Any) -> None:
    session.info.pop(_REMEMBERED, None)


def on_commit(callback: Callable[[], None]) -> None:
    """Run ``callback`` once the outermost operation has committed; drop it on rollback."""
    session = _session()
    if session.info.get(_DEPTH, 0) == 0:
        raise RuntimeError("on_commit() is for use inside an operation")
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def operation(fn: Callable[P, R]) -> Callable[P, R]:
    """Make ``fn`` one transaction: the outermost operation commits, nested ones join it.

    Work registered with :func:`on_commit` (task dispatch, mail) runs only after the commit, so
    nothing outside the database ever sees a change that was rolled back.
    """

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        session = _session()
        depth = session.info.get(_DEPTH, 0)
        session.info[_DEPTH] = depth + 1
        if depth == 0:
            session.info[COMMIT] = WORKING
        try:
            result = fn(*args, **kwargs)
            if depth == 0:
                session.info[COMMIT] = COMMITTING
                session.commit()
                session.info[COMMIT] = COMMITTED
        except BaseException:
            if depth == 0:
                session.rollback()
                session.info.pop(_AFTER_COMMIT, None)
            raise
        finally:
            session.info[_DEPTH] = depth
        if depth == 0:
            callbacks = session.info.pop(_AFTER_COMMIT, [])
            for callback in callbacks:
                try:
                    callback()
                except Exception:
                    # The change is committed; a failed dispatch is picked up by the outbox sweep.
                    log.exception("after-commit work failed")
        return result

    return wrapper
