"""Fixtures shared by every test: settings, apps on PostgreSQL, a client that speaks CSRF,
a local SMTP server and a real Celery worker."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from competition.accounts import passwords
from config import Settings
from tests import services

# Checking a password at argon2's full strength takes ~0.13 s on purpose, a sixth of the time of
# the suites that sign people in. The tests hash with the same argon2id at little cost (one pass
# over 1 MiB); the application keeps argon2-cffi's defaults (a test checks them in a process of
# its own).
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
passwords._DUMMY_HASH = passwords.hash_password("not-a-real-password")

ROOT = Path(__file__).resolve().parent.parent
TEST_SECRET = "test-secret-" + "x" * 40
RUN_ID = uuid.uuid4().hex[:10]


def testing_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "testing",
        "secret_key": TEST_SECRET,
        "demo_password": "demo",
        # Tests read a task's result right after the request that queued it.
        "tasks_inline": True,
        # The tests read the English pages; the German ones are tested by name.
        "default_locale": "en",
        # High enough for the suites that call the API many times (the schema's fuzzing);
        # test_api_limits sets its own low limit.
        "api_rate_limit": "100000 per minute",
    }
    values.update(overrides)
    return Settings(**values)


testing_settings.__test__ = False  # type: ignore[attr-defined]  (a helper, not a test)


# --- PostgreSQL ---------------------------------------------------------------------------


def _admin_connection():  # type: ignore[no-untyped-def]
    import psycopg

    return psycopg.connect(
        host=services.PG_HOST,
        port=services.PG_PORT,
        user=services.PG_USER,
        dbname=services.PG_ADMIN_DB,
        autocommit=True,
        connect_timeout=5,
    )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of this run's own, built by the migrations and dropped at the end."""
    if not services.port_open(services.PG_HOST, services.PG_PORT):
        services.unavailable(f"PostgreSQL at {services.PG_HOST}:{services.PG_PORT}")
    name = f"competition_test_{RUN_ID}"
    with _admin_connection() as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = f"postgresql+psycopg://{services.PG_USER}@{services.PG_HOST}:{services.PG_PORT}/{name}"
    from flask_migrate import upgrade

    from competition import create_app

    app = create_app(testing_settings(database_url=url))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        from competition.extensions import db

        db.engine.dispose()
    yield url
    with _admin_connection() as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def truncate_all(app) -> None:  # type: ignore[no-untyped-def]
    """Empty every table and restart every sequence, as in a new database. Only the tables
    holding rows are emptied, children first, with DELETE: TRUNCATE costs a few milliseconds
    per table whatever it holds and must name every table referring to one, so emptying all
    of them after each test took about a fifth of a second. A table whose trigger refuses
    DELETE (the append-only audit log) is truncated."""
    from competition.extensions import db

    with app.app_context():
        tables = [t.name for t in db.metadata.sorted_tables]
        db.session.remove()
        with db.engine.begin() as conn:
            filled = set(
                conn.exec_driver_sql(
                    " UNION ALL ".join(f"(SELECT '{t}' FROM \"{t}\" LIMIT 1)" for t in tables)
                ).scalars()
            )
            guarded = filled & set(
                conn.exec_driver_sql(
                    "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal"
                ).scalars()
            )
            if guarded:
                conn.exec_driver_sql(
                    "TRUNCATE " + ", ".join(f'"{t}"' for t in guarded) + " CASCADE"
                )
            for table in reversed(tables):
                if table in filled and table not in guarded:
                    conn.exec_driver_sql(f'DELETE FROM "{table}"')
            # Every sequence used, an empty table's too (an insert rolled back moves it on).
            conn.exec_driver_sql(
                "SELECT setval((quote_ident(schemaname) || '.' || quote_ident(sequencename))"
                "::regclass, start_value, false) FROM pg_sequences WHERE last_value IS NOT NULL"
            )


def app_for_module(pg_url: str) -> Iterator[Any]:
    """One app for a module whose tests share one world, built once and read many times (a
    module-scoped ``app`` fixture yields from this); its tables are emptied when it is done."""
    from competition import create_app
    from competition.extensions import db

    app = create_app(testing_settings(database_url=pg_url))
    yield app
    truncate_all(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def make_app(pg_url: str) -> Iterator[Callable[..., Any]]:
    """Build apps on the run's PostgreSQL database; tables are emptied after the test."""
    apps: list[Any] = []

    def build(**overrides: Any):  # type: ignore[no-untyped-def]
        from competition import create_app

        overrides.setdefault("database_url", pg_url)
        app = create_app(testing_settings(**overrides))
        apps.append(app)
        return app

    yield build
    if apps:
        truncate_all(apps[0])
    from competition.extensions import db

    for app in apps:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    return make_app()


@pytest.fixture
def ctx(app):  # type: ignore[no-untyped-def]
    """An app context, for tests that call operations and queries directly."""
    with app.app_context():
        yield app


# --- HTTP client --------------------------------------------------------------------------

_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no form with a CSRF token"
    return match.group(1)


class Browser:
    """A test client that posts forms the way a browser does: with the page's CSRF token."""

    def __init__(self, client) -> None:  # type: ignore[no-untyped-def]
        self.client = client

    def get(self, url: str, **kwargs: Any):  # type: ignore[no-untyped-def]
        return self.client.get(url, **kwargs)

    def submit(self, url: str, data: dict[str, Any], *, page: str | None = None, **kw: Any):  # type: ignore[no-untyped-def]
        token = csrf_from(self.client.get(page or url).get_data(as_text=True))
        return self.client.post(url, data={**data, "csrf_token": token}, **kw)

    def login(self, email: str, password: str):  # type: ignore[no-untyped-def]
        return self.submit("/login", {"email": email, "password": password})

    def logout(self):  # type: ignore[no-untyped-def]
        return self.submit("/logout", {}, page="/")


@pytest.fixture
def browser(app) -> Browser:  # type: ignore[no-untyped-def]
    return Browser(app.test_client())


# --- SMTP ---------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)

    def wait_for(self, count: int, timeout: float = 30.0) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.messages) < count:
            time.sleep(0.05)
        return list(self.messages)

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["To"] == address]


@pytest.fixture
def smtp_server() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) on a free local port that keeps what it receives."""
    from aiosmtpd.controller import Controller

    box = Mailbox(host="127.0.0.1", port=0)
    lock = threading.Lock()

    class Handler:
        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            with lock:
                box.messages.append(message_from_bytes(envelope.original_content))
            return "250 Message accepted for delivery"

    box.port = free_port()
    controller = Controller(Handler(), hostname=box.host, port=box.port)
    controller.start()
    yield box
    controller.stop()


def mail_text(message: Message) -> str:
    if message.is_multipart():
        for part in message.walk():
            if part.get_content_type() == "text/plain":
                return part.get_payload(decode=True).decode()
    return message.get_payload(decode=True).decode()


# --- Redis and the Celery worker ----------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    if not services.port_open(services.REDIS_HOST, services.REDIS_PORT):
        services.unavailable(f"Redis at {services.REDIS_HOST}:{services.REDIS_PORT}")
    import redis

    url = f"redis://{services.REDIS_HOST}:{services.REDIS_PORT}/{services.REDIS_DB}"
    redis.Redis.from_url(url).ping()
    return url


@dataclass
class Worker:
    process: subprocess.Popen[str]
    log_path: Path
    queue: str

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, *, kill: bool = False) -> None:
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def worker_env(*, pg_url: str, redis_url: str, queue: str, smtp: Mailbox | None) -> dict[str, str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("MAIL_", "DATABASE_", "REDIS_"))
    }
    env.update(
        APP_ENV="testing",
        SECRET_KEY=TEST_SECRET,
        DATABASE_URL=pg_url,
        REDIS_URL=redis_url,
        TASK_QUEUE=queue,
        PYTHONUNBUFFERED="1",
        DEFAULT_LOCALE="en",
    )
    if smtp is not None:
        env.update(MAIL_SERVER=smtp.host, MAIL_PORT=str(smtp.port))
    return env


def start_worker(env: dict[str, str], log_path: Path, queue: str) -> Worker:
    log_file = log_path.open("a")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "workers",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
            f"--hostname=test-{queue}@%h",
        ],
        cwd=ROOT,
        env=env,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        text=True,
    )
    worker = Worker(process, log_path, queue)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the worker exited early:\n{worker.log()}")
        if " ready." in worker.log():
            return worker
        time.sleep(0.2)
    worker.stop(kill=True)
    raise RuntimeError(f"the worker did not start in time:\n{worker.log()}")


@pytest.fixture
def worker_factory(pg_url, redis_url, tmp_path):  # type: ignore[no-untyped-def]
    """Start real Celery workers (separate processes) on a queue of this test's own."""
    import redis

    queue = f"test-{RUN_ID}-{uuid.uuid4().hex[:6]}"
    workers: list[Worker] = []

    def start(smtp: Mailbox | None = None) -> Worker:
        env = worker_env(pg_url=pg_url, redis_url=redis_url, queue=queue, smtp=smtp)
        worker = start_worker(env, tmp_path / f"worker-{len(workers)}.log", queue)
        workers.append(worker)
        return worker

    start.queue = queue  # type: ignore[attr-defined]
    yield start
    for worker in workers:
        worker.stop()
    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(f"*{queue}*"):
        client.delete(key)
