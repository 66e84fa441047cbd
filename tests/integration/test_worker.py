"""Mail delivery through Redis and a real Celery worker process to a real SMTP server: one mail per
outbox row, even when the task arrives twice or the worker is killed in the middle of sending."""

from __future__ import annotations

import asyncio
import json
import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from email import message_from_bytes
from email.message import Message
from typing import Any

import pytest
import sqlalchemy as sa

from competition.db import utcnow
from competition.extensions import db
from competition.notifications import mailer
from competition.notifications.models import Notification, NotificationState
from tests.conftest import Browser, mail_text
from tests.factories import make_user

pytestmark = [pytest.mark.worker, pytest.mark.redis]

WAIT = 60.0  # generous: a slow machine must not fail these tests
PASSWORD = "a long enough passphrase 42"
# Claims run out quickly here, so that a killed worker's message is taken over within seconds.
SHORT_LEASE = 3


# --- helpers ------------------------------------------------------------------------------


def wait_until(predicate: Callable[[], Any], *, timeout: float = WAIT, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}")


def outbox(app) -> list[Any]:
    """The outbox as committed right now (each call reads in a fresh session)."""
    with app.app_context():
        return list(
            db.session.execute(
                sa.select(
                    Notification.id,
                    Notification.dedup_key,
                    Notification.state,
                    Notification.attempts,
                    Notification.message_id,
                    Notification.backend,
                ).order_by(Notification.id)
            )
        )


def row_is_sent(app) -> bool:
    rows = outbox(app)
    return len(rows) == 1 and rows[0].state == NotificationState.SENT


def finished_deliveries(*workers) -> int:
    """Delivery tasks the workers have finished (sent, skipped, or put back for a retry)."""
    pattern = re.compile(r"Task notifications\.deliver\[[^\]]+\] (succeeded|retry)")
    return sum(len(pattern.findall(worker.log())) for worker in workers)


def web_app(make_app, redis_url, worker_factory, server, **overrides):
    """The web app as deployed: tasks go through Redis to this test's workers."""
    return make_app(
        redis_url=redis_url,
        task_queue=worker_factory.queue,
        mail_server=server.host,
        mail_port=server.port,
        **overrides,
    )


def register(browser: Browser, *, email: str, name: str = "Ada Lovelace") -> None:
    response = browser.submit(
        "/register", {"name": name, "email": email, "password": PASSWORD, "confirm": PASSWORD}
    )
    assert response.status_code == 200, response.get_data(as_text=True)


class ScriptedSmtp:
    """A real SMTP server (aiosmtpd) that can hold the first message before answering, or turn
    the first recipient away with a temporary error. A message counts as delivered only once the
    server has answered 250 to it, as in SMTP itself."""

    HOLD_SECONDS = 120.0  # far longer than the test waits: only the kill ends the first hold

    def __init__(self, *, hold_first: bool = False, refuse_first: bool = False) -> None:
        self.hold_first = hold_first
        self.refuse_first = refuse_first
        self.host = "127.0.0.1"
        self.port = 0
        self.delivered: list[Message] = []
        self.transactions = 0  # DATA commands received, answered or not
        self.refusals = 0
        self.holding = threading.Event()  # the first message is in, and not yet answered
        self.abandoned = threading.Event()  # the client went away before the answer
        self.abandoned_message: Message | None = None
        self._lock = threading.Lock()
        self._controller: Any = None

    async def handle_RCPT(self, server, session, envelope, address, options):
        with self._lock:
            refuse = self.refuse_first and self.refusals == 0
            if refuse:
                self.refusals += 1
        if refuse:
            return "451 4.3.0 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            self.transactions += 1
            first = self.transactions == 1
        if first and self.hold_first:
            self.holding.set()
            try:
                await asyncio.sleep(self.HOLD_SECONDS)
            except asyncio.CancelledError:
                # aiosmtpd cancels the handler when the connection drops.
                self.abandoned_message = message_from_bytes(envelope.original_content)
                self.abandoned.set()
                raise
        with self._lock:
            self.delivered.append(message_from_bytes(envelope.original_content))
        return "250 Message accepted for delivery"

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Message]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.delivered) < count:
            time.sleep(0.05)
        return list(self.delivered)

    def __enter__(self) -> ScriptedSmtp:
        from aiosmtpd.controller import Controller

        with socket.socket() as probe:  # aiosmtpd needs a real port number to check it is up
            probe.bind((self.host, 0))
            self.port = probe.getsockname()[1]
        self._controller = Controller(self, hostname=self.host, port=self.port)
        self._controller.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._controller.stop()


@pytest.fixture
def app(make_app, redis_url, worker_factory, smtp_server):
    """Overrides the default app (and so `browser`): tasks go to this test's worker."""
    return web_app(make_app, redis_url, worker_factory, smtp_server)


@pytest.fixture
def forget_killed_tasks(redis_url, worker_factory) -> Iterator[None]:
    """A killed worker leaves its message in Redis' shared unacknowledged-message index, where any
    worker on this database would restore it an hour later. Take this test's entries out."""
    yield
    import redis

    client = redis.Redis.from_url(redis_url)
    for tag, raw in client.hgetall("unacked").items():
        _message, _exchange, routing_key = json.loads(raw)
        if routing_key == worker_factory.queue:
            client.zrem("unacked_index", tag)
            client.hdel("unacked", tag)


# --- tests --------------------------------------------------------------------------------


def test_registration_mail_is_delivered_once_by_the_worker(
    app, browser, worker_factory, smtp_server
):
    worker = worker_factory(smtp_server)

    register(browser, email="ada@example.org")

    [mail] = smtp_server.wait_for(1, timeout=WAIT)
    wait_until(lambda: row_is_sent(app), what="the outbox row to be marked sent")
    [row] = outbox(app)
    assert mail["To"] == "ada@example.org"
    assert mail["Subject"] == "Confirm your e-mail address"
    assert row.dedup_key.startswith("accounts.confirm:")
    assert mail["Message-ID"] == row.message_id == mailer.message_id(row.dedup_key)
    assert row.attempts == 1
    assert row.backend == "smtp"
    # The worker sent it: the web process only queued the task.
    wait_until(lambda: finished_deliveries(worker) == 1, what="the worker to finish the task")
    assert f"notification {row.id} sent via smtp" in worker.log()
    time.sleep(2)
    assert len(smtp_server.messages) == 1


def test_delivery_task_sent_twice_for_one_notification_gives_one_mail(
    app, worker_factory, smtp_server
):
    # Two workers on the queue, so the two tasks may also run at the same moment.
    workers = [worker_factory(smtp_server), worker_factory(smtp_server)]
    with app.app_context():
        user = make_user(email="ada@example.org")
        dedup_key = f"test.twice:{user.id}"
        # A committed row whose own dispatch never happened: only the two tasks below send it.
        notification = Notification(
            dedup_key=dedup_key,
            user_id=user.id,
            to_address=user.email,
            template="accounts/role_granted",
            context={"name": user.name, "role": "juror", "inviter": "An Officer"},
            state=NotificationState.PENDING,
            created_at=utcnow(),
        )
        db.session.add(notification)
        db.session.commit()
        notification_id = notification.id

    deliver_task = app.extensions["celery"].tasks["notifications.deliver"]
    deliver_task.apply_async(kwargs={"notification_id": notification_id})
    deliver_task.apply_async(kwargs={"notification_id": notification_id})

    [mail] = smtp_server.wait_for(1, timeout=WAIT)
    wait_until(lambda: finished_deliveries(*workers) == 2, what="both tasks to be handled")
    time.sleep(3)  # a second mail, were one coming, would be on its way by now
    assert len(smtp_server.messages) == 1
    assert mail["Message-ID"] == mailer.message_id(dedup_key)
    [row] = outbox(app)
    assert row.state == NotificationState.SENT
    assert row.attempts == 1  # one claim won; the other task found it taken or already sent


def test_worker_killed_while_sending_is_replaced_and_the_mail_is_delivered_once(
    make_app, redis_url, worker_factory, monkeypatch, forget_killed_tasks
):
    monkeypatch.setenv("NOTIFICATION_CLAIM_LEASE_SECONDS", str(SHORT_LEASE))  # for the workers
    with ScriptedSmtp(hold_first=True) as server:
        first = worker_factory(server)
        app = web_app(
            make_app,
            redis_url,
            worker_factory,
            server,
            notification_claim_lease_seconds=SHORT_LEASE,
        )
        register(Browser(app.test_client()), email="ada@example.org")

        # The worker has handed the whole message to the server, which has not answered yet.
        assert server.holding.wait(WAIT), "the worker never reached the SMTP DATA stage"
        first.stop(kill=True)
        assert first.process.returncode == -9
        assert server.abandoned.wait(WAIT), "the server did not see the connection drop"
        assert server.delivered == []
        [row] = outbox(app)
        assert row.state == NotificationState.SENDING  # claimed by a worker that is gone
        assert row.attempts == 1

        second = worker_factory(server)
        # Beat runs the sweep every minute; here the test plays beat, every second, until the
        # claim of the dead worker has run out and the sweep has handed the row to a new task.
        sweep_task = app.extensions["celery"].tasks["notifications.sweep"]

        def swept_and_delivered() -> bool:
            if not server.delivered:
                sweep_task.apply_async()
                time.sleep(1)
            return bool(server.delivered)

        wait_until(swept_and_delivered, what="the message to be delivered by the new worker")
        wait_until(lambda: row_is_sent(app), what="the outbox row to be marked sent")
        time.sleep(3)  # any further delivery task that the sweeps queued has run by now

        [mail] = server.delivered
        assert server.transactions == 2  # the abandoned one and the delivered one
        [row] = outbox(app)
        assert mail["To"] == "ada@example.org"
        assert mail["Message-ID"] == row.message_id == mailer.message_id(row.dedup_key)
        # The same id as the attempt that was cut off, so a client that got both shows one.
        assert server.abandoned_message is not None
        assert server.abandoned_message["Message-ID"] == mail["Message-ID"]
        assert row.state == NotificationState.SENT
        assert row.attempts == 2
        assert f"notification {row.id} sent via smtp" in second.log()


def test_worker_log_carries_ids_but_no_addresses_names_or_tokens(
    make_app, redis_url, worker_factory
):
    address = "ada.lovelace.4711@mail.example.net"
    name = "Augusta Ada Lovelace"
    # The server turns the first attempt away, so the retry path is logged too.
    with ScriptedSmtp(refuse_first=True) as server:
        worker = worker_factory(server)
        app = web_app(make_app, redis_url, worker_factory, server)
        register(Browser(app.test_client()), email=address, name=name)

        [mail] = server.wait_for(1, timeout=WAIT)
        wait_until(lambda: row_is_sent(app), what="the outbox row to be marked sent")
        wait_until(lambda: finished_deliveries(worker) == 2, what="the attempt and its retry")

    [row] = outbox(app)
    token = re.search(r"/confirm/(\S+)", mail_text(mail)).group(1)
    log = worker.log()
    assert server.refusals == 1
    assert f"notification {row.id} not delivered" in log
    assert f"notification {row.id} sent via smtp" in log
    for secret in (address, "ada.lovelace.4711", "mail.example.net", name, token):
        assert secret not in log
    for part in token.split("."):
        if len(part) >= 10:  # the payload and the signature; the short timestamp is not secret
            assert part not in log
