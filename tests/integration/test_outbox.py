"""The mail outbox on PostgreSQL, with tasks run in-process (no broker): rows are written in the
caller's transaction, delivered after commit, at most once per row, and resent after failures."""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import socket
import threading
from collections.abc import Iterator
from email import message_from_bytes
from email.message import Message

import pytest
import sqlalchemy as sa
from celery.signals import task_prerun
from markupsafe import escape

from competition.accounts import operations as accounts
from competition.accounts.models import Role, User, UserStatus
from competition.db import operation, utcnow
from competition.errors import DomainError
from competition.extensions import db
from competition.notifications import mailer
from competition.notifications.models import Notification, NotificationState
from competition.notifications.operations import DeliveryBusy, claim_lease, deliver, notify, sweep
from tests.conftest import Browser, mail_text
from tests.factories import NOW, PASSWORD, make_user

pytestmark = [pytest.mark.postgres]

NEW_PASSWORD = "a long enough passphrase 42"


# --- helpers ------------------------------------------------------------------------------


@pytest.fixture
def deliveries() -> Iterator[list[int]]:
    """The notification ids of every ``notifications.deliver`` task that ran (in-process)."""
    ran: list[int] = []

    def record(sender=None, kwargs=None, **_):
        if sender is not None and sender.name == "notifications.deliver":
            ran.append(kwargs["notification_id"])

    task_prerun.connect(record, weak=False)
    yield ran
    task_prerun.disconnect(record)


@pytest.fixture
def smtp_app(make_app, smtp_server):
    """An app that sends through the local SMTP server, with its context pushed."""
    app = make_app(mail_server=smtp_server.host, mail_port=smtp_server.port)
    with app.app_context():
        yield app


def rows() -> list[Notification]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Notification).order_by(Notification.id)))


def row(notification_id: int) -> Notification:
    db.session.expire_all()
    found = db.session.get(Notification, notification_id)
    assert found is not None
    return found


def committed_user(**overrides) -> User:
    user = make_user(**overrides)
    db.session.commit()
    return user


def outbox_row(user: User, *, dedup_key: str, **overrides) -> Notification:
    """A committed outbox row whose delivery was never dispatched (as after a lost dispatch)."""
    values = {
        "dedup_key": dedup_key,
        "user_id": user.id,
        "to_address": user.email,
        "template": "accounts/role_granted",
        "context": {"name": user.name, "role": "juror", "inviter": "An Officer"},
        "state": NotificationState.PENDING,
        "created_at": utcnow(),
    }
    values.update(overrides)
    # Handed to the queue when written, and in any case before a worker claimed it.
    claimed_at = values.get("claimed_at") or values["created_at"]
    values.setdefault("dispatched_at", min(values["created_at"], claimed_at))
    notification = Notification(**values)
    db.session.add(notification)
    db.session.commit()
    return notification


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def smtp_server_on(port: int) -> Iterator[list[Message]]:
    """A real SMTP server on a given port (the one an app was configured with while it was down)."""
    from aiosmtpd.controller import Controller

    received: list[Message] = []
    lock = threading.Lock()

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            with lock:
                received.append(message_from_bytes(envelope.original_content))
            return "250 Message accepted for delivery"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield received
    finally:
        controller.stop()


def register(*, email: str) -> User:
    return accounts.register_applicant(
        email=email, name="Ada Applicant", password=NEW_PASSWORD, now=utcnow()
    )


# --- the outbox row belongs to the transaction of the change --------------------------------


def test_notify_in_a_failing_operation_leaves_neither_change_nor_outbox_row_nor_delivery(
    ctx, deliveries
):
    @operation
    def register_then_fail() -> None:
        register(email="ada@example.org")  # a nested operation: it joins this transaction
        assert len(rows()) == 1  # written, but only inside this transaction
        raise DomainError("something after the outbox write went wrong")

    with pytest.raises(DomainError):
        register_then_fail()

    assert accounts.find_user_by_email("ada@example.org") is None
    assert rows() == []
    assert deliveries == []


def test_notify_in_a_successful_operation_commits_change_and_row_then_delivers_it(ctx, deliveries):
    @operation
    def register_and_more() -> User:
        user = register(email="ada@example.org")
        # Nothing is dispatched before the commit: the task would not find the row yet.
        assert deliveries == []
        return user

    user = register_and_more()

    assert accounts.find_user_by_email("ada@example.org") is not None
    [message] = rows()
    assert message.user_id == user.id
    assert message.dedup_key == f"accounts.confirm:{user.id}:registered"
    assert deliveries == [message.id]
    assert message.state == NotificationState.SENT


def test_notify_twice_with_the_same_dedup_key_writes_one_row(ctx, deliveries):
    user = committed_user()

    @operation
    def tell(*, now: dt.datetime) -> Notification | None:
        return notify(
            to=user,
            template="accounts/role_granted",
            context={"name": user.name, "role": "juror", "inviter": "An Officer"},
            dedup_key=f"test.role:{user.id}:juror",
            now=now,
        )

    first = tell(now=NOW)
    second = tell(now=NOW + dt.timedelta(minutes=1))

    assert first is not None
    assert second is None
    assert [r.id for r in rows()] == [first.id]
    assert deliveries == [first.id]


# --- delivery happens at most once per row ---------------------------------------------------


def test_deliver_twice_for_the_same_row_marks_it_sent_once(ctx):
    user = committed_user()
    message = outbox_row(user, dedup_key="test.twice:dev")
    first_at = utcnow()

    assert deliver(message.id, now=first_at) == "sent"
    assert deliver(message.id, now=first_at + dt.timedelta(seconds=5)) == "skipped"

    sent = row(message.id)
    assert sent.state == NotificationState.SENT
    assert sent.attempts == 1
    assert sent.sent_at == first_at
    assert sent.backend == "dev"
    assert sent.message_id == mailer.message_id("test.twice:dev")


def test_deliver_twice_for_the_same_row_sends_one_smtp_message(smtp_app, smtp_server):
    user = committed_user()
    message = outbox_row(user, dedup_key="test.twice:smtp")

    assert deliver(message.id, now=utcnow()) == "sent"
    assert deliver(message.id, now=utcnow()) == "skipped"

    assert len(smtp_server.wait_for(2, timeout=2)) == 1
    assert row(message.id).state == NotificationState.SENT
    assert row(message.id).attempts == 1


def test_failed_smtp_delivery_leaves_the_row_pending_and_a_later_deliver_sends_it(
    make_app, deliveries
):
    port = free_port()  # nothing listens here yet: the mail server is down
    app = make_app(mail_server="127.0.0.1", mail_port=port)
    with app.app_context():
        user = register(email="ada@example.org")

        [message] = rows()
        assert deliveries == [message.id]  # it was tried once, in-process, after the commit
        assert message.state == NotificationState.PENDING
        assert message.claimed_at is None
        assert message.sent_at is None
        assert message.attempts == 1
        assert message.last_error and "Connection" in message.last_error

        with smtp_server_on(port) as received:
            assert deliver(message.id, now=utcnow()) == "sent"

        [mail] = received
        expected_id = mailer.message_id(f"accounts.confirm:{user.id}:registered")
        assert mail["Message-ID"] == expected_id
        assert mail["To"] == "ada@example.org"
        sent = row(message.id)
        assert sent.state == NotificationState.SENT
        assert sent.message_id == expected_id
        assert sent.last_error is None
        assert sent.attempts == 2


def test_sweep_redelivers_a_row_whose_claim_outlived_the_lease_exactly_once(
    smtp_app, smtp_server, deliveries
):
    user = committed_user()
    # A worker claimed the row and died before it could send or give it back.
    stuck = outbox_row(
        user,
        dedup_key="test.stuck",
        state=NotificationState.SENDING,
        attempts=1,
        claimed_at=utcnow() - claim_lease() - dt.timedelta(seconds=1),
    )

    assert sweep(now=utcnow()) == 1
    assert deliveries == [stuck.id]
    assert sweep(now=utcnow()) == 0  # sent now: nothing left to sweep
    assert deliver(stuck.id, now=utcnow()) == "skipped"

    [mail] = smtp_server.wait_for(2, timeout=2)
    assert mail["Message-ID"] == mailer.message_id("test.stuck")
    sent = row(stuck.id)
    assert sent.state == NotificationState.SENT
    assert sent.attempts == 2


def test_a_row_with_a_fresh_claim_is_not_resent(smtp_app, smtp_server, deliveries):
    user = committed_user()
    claimed_at = utcnow() - claim_lease() / 2  # a live worker is in the middle of sending it
    busy = outbox_row(
        user,
        dedup_key="test.busy",
        state=NotificationState.SENDING,
        attempts=1,
        claimed_at=claimed_at,
    )

    assert sweep(now=utcnow()) == 0
    with pytest.raises(DeliveryBusy):
        deliver(busy.id, now=utcnow())

    assert deliveries == []
    assert smtp_server.wait_for(1, timeout=1) == []
    untouched = row(busy.id)
    assert untouched.state == NotificationState.SENDING
    assert untouched.claimed_at == claimed_at
    assert untouched.attempts == 1


# --- what is sent -----------------------------------------------------------------------------


def test_smtp_message_has_text_and_html_parts_to_subject_and_derived_message_id(
    smtp_app, smtp_server
):
    settings = smtp_app.extensions["settings"]
    user = register(email="ada@example.org")

    [mail] = smtp_server.wait_for(1, timeout=10)

    assert mail["To"] == "ada@example.org"
    assert mail["From"] == settings.mail_sender
    assert mail["Subject"] == "Confirm your e-mail address"
    expected_id = mailer.message_id(f"accounts.confirm:{user.id}:registered")
    assert mail["Message-ID"] == expected_id
    assert mail.get_content_type() == "multipart/alternative"
    parts = {part.get_content_type(): part for part in mail.walk() if not part.is_multipart()}
    assert set(parts) == {"text/plain", "text/html"}
    link = re.escape(settings.base_url) + r"/confirm/[\w.-]+"
    assert re.search(link, mail_text(mail))
    html = parts["text/html"].get_payload(decode=True).decode()
    assert re.search(r'<a href="' + link + '">', html)

    [message] = rows()
    assert message.message_id == expected_id
    assert message.backend == "smtp"
    # With a real mail server the content is not kept in the database.
    assert (message.subject, message.body_text, message.body_html) == (None, None, None)


# --- the development mailbox ------------------------------------------------------------------


def test_dev_mailbox_lists_sent_mail_and_shows_its_text_with_a_clickable_link(ctx, browser):
    admin = committed_user(roles=(Role.ADMIN,))
    registered = browser.submit(
        "/register",
        {
            "name": "Ada Applicant",
            "email": "ada@example.org",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert registered.status_code == 200
    [message] = rows()
    assert browser.login(admin.email, PASSWORD).status_code == 302

    listing = browser.get("/dev/mailbox")
    assert listing.status_code == 200
    page = listing.get_data(as_text=True)
    assert "ada@example.org" in page
    assert f'href="/dev/mailbox/{message.id}">Confirm your e-mail address</a>' in page

    shown = browser.get(f"/dev/mailbox/{message.id}")
    assert shown.status_code == 200
    text = shown.get_data(as_text=True)
    assert "Hello Ada Applicant," in text
    assert str(escape(message.message_id)) in text
    match = re.search(r'<a href="(http://127\.0\.0\.1:5000(/confirm/[\w.-]+))">\1</a>', text)
    assert match, "the confirmation link is not clickable"

    # The link is the real one: opening it confirms the account.
    assert browser.get(match.group(2)).status_code == 302
    user = accounts.find_user_by_email("ada@example.org")
    assert user is not None
    db.session.refresh(user)
    assert user.status == UserStatus.ACTIVE


def test_dev_mailbox_is_404_when_a_mail_server_is_configured(smtp_app, smtp_server):
    admin = committed_user(roles=(Role.ADMIN,))
    user = register(email="ada@example.org")
    assert len(smtp_server.wait_for(1, timeout=10)) == 1
    [message] = rows()
    assert message.user_id == user.id

    browser = Browser(smtp_app.test_client())
    assert browser.login(admin.email, PASSWORD).status_code == 302
    assert browser.get("/dev/mailbox").status_code == 404
    assert browser.get(f"/dev/mailbox/{message.id}").status_code == 404
    assert browser.get("/").status_code == 200  # logged in: the 404s are not a login redirect
