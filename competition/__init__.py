"""Funding competition management: the Flask application factory."""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from config import Settings

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)


def _instance_secret(instance_path: Path) -> str:
    """A random key kept in the instance folder, so development sessions survive restarts."""
    path = instance_path / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip()


def database_uri(settings: Settings, instance_path: Path) -> str:
    url = settings.database_url
    if not url:
        return f"sqlite:///{instance_path / 'competition.sqlite3'}"
    # Plain postgresql:// URLs (as hosting platforms give them) use the psycopg 3 driver.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


# A pooled connection unused for longer than this is tested before a request gets it: a
# database restart or a cut network ends connections while they wait in the pool. One used a
# moment ago is not, which spares a busy worker a round trip on every request.
IDLE_BEFORE_PING = 1.0  # seconds


def engine_options(uri: str) -> dict[str, Any]:
    options: dict[str, Any] = {}
    if uri.startswith("postgresql"):
        # The app's queries are short. PostgreSQL compiles with its JIT any query whose
        # estimate is high, and a search capped at 1,001 matches is estimated as if it read
        # every match: compiling took 15–20 ms of a 30 ms search.
        options["connect_args"] = {"options": "-c jit=off"}
    return options


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        instance_relative_config=True,
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    instance = Path(app.instance_path)
    instance.mkdir(parents=True, exist_ok=True)
    upload_folder = Path(settings.upload_folder or instance / "uploads")
    app.config.update(
        SECRET_KEY=settings.secret_key or _instance_secret(instance),
        SQLALCHEMY_DATABASE_URI=database_uri(settings, instance),
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(database_uri(settings, instance)),
        SESSION_COOKIE_NAME="competition_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        PERMANENT_SESSION_LIFETIME=dt.timedelta(hours=settings.session_absolute_hours),
        # The cookie only names a server-side session, which keeps its own idle and absolute
        # limits: signing it again for every answer would cost each page and tell nothing.
        SESSION_REFRESH_EACH_REQUEST=False,
        # The server-side session already expires; a form open for long must still post.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=64 * 1024 * 1024,
        UPLOAD_FOLDER=str(upload_folder),
        TESTING=settings.env == "testing",
    )
    app.extensions["settings"] = settings
    app.url_map.converters["int"] = RowId
    if settings.trusted_proxies:
        # Only hops we run ourselves may set the client address; anyone can forge the header.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app,
            x_for=settings.trusted_proxies,
            x_proto=settings.trusted_proxies,
            x_host=settings.trusted_proxies,
        )

    from competition.db import end_reading_transaction, note_what_may_write
    from competition.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    # Registered after the session's own teardown, so it runs before the session closes.
    app.teardown_appcontext(end_reading_transaction)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    _import_models()
    # Passkeys register as a kind of second factor when their module loads; workers and the
    # CLI, which load no views, must count them too.
    import competition.accounts.passkeys  # noqa: F401

    with app.app_context():
        _configure_sqlite(db.engine)
        _ping_after_idle(db.engine)
        _searches_planned_for_their_words(db.engine)
        note_what_may_write(db.engine)

    from competition.tasks import celery_init_app

    celery_init_app(app)

    from competition import i18n, web

    i18n.init_app(app)
    web.init_app(app)
    return app


class RowId(IntegerConverter):
    """``<int:…>`` in every route: ids beyond the database's integer answer 404 like any
    unknown id, instead of failing in the database."""

    def __init__(self, map, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


def _import_models() -> None:
    """Every model module, so that metadata (and Alembic) sees every table."""
    import competition.accounts.models  # noqa: F401
    import competition.accounts.passkey_models  # noqa: F401
    import competition.accounts.sso_models  # noqa: F401
    import competition.api.models  # noqa: F401
    import competition.assignment.models  # noqa: F401
    import competition.audit.models  # noqa: F401
    import competition.clarifications.models  # noqa: F401
    import competition.grants.models  # noqa: F401
    import competition.hearings.models  # noqa: F401
    import competition.jobs.models  # noqa: F401
    import competition.memberships.models  # noqa: F401
    import competition.notifications.models  # noqa: F401
    import competition.organisations.models  # noqa: F401
    import competition.personal_data.models  # noqa: F401
    import competition.programmes.models  # noqa: F401
    import competition.proposals.models  # noqa: F401
    import competition.retention.models  # noqa: F401
    import competition.reviews.models  # noqa: F401
    import competition.screening.models  # noqa: F401
    import competition.selection.models  # noqa: F401


def _ping_after_idle(engine: sa.Engine) -> None:
    """SQLAlchemy's ``pool_pre_ping``, only for connections that waited (``IDLE_BEFORE_PING``).
    A connection that fails the test is dropped and the pool hands out a fresh one."""

    @sa.event.listens_for(engine, "checkin")
    def _returned(_dbapi_connection, record):  # type: ignore[no-untyped-def]
        record.info["returned_at"] = time.monotonic()

    @sa.event.listens_for(engine, "checkout")
    def _test(dbapi_connection, record, _proxy):  # type: ignore[no-untyped-def]
        returned = record.info.get("returned_at")  # none yet: connected just now
        if returned is None or time.monotonic() - returned < IDLE_BEFORE_PING:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise sa.exc.DisconnectionError(str(error)) from error


def _searches_planned_for_their_words(engine: sa.Engine) -> None:
    """On PostgreSQL a statement that matches a text pattern (``LIKE``) is never prepared,
    and so is planned for the words searched each time. A prepared statement is planned once
    for any value, and blind to the pattern PostgreSQL expects few matches: the officers'
    search for a word in a fifth of 20,000 proposals took 8 ms instead of 5."""
    if engine.dialect.name != "postgresql":
        return

    @sa.event.listens_for(engine, "do_execute")
    def _execute(cursor, statement, parameters, _context):  # type: ignore[no-untyped-def]
        if "LIKE " not in statement:
            return None
        cursor.execute(statement, parameters, prepare=False)
        return True


def _configure_sqlite(engine: sa.Engine) -> None:
    if engine.dialect.name != "sqlite":
        return

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection, _record):  # type: ignore[no-untyped-def]
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.close()
