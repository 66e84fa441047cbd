"""What the account tests share: a clock to travel in time, and helpers to register, confirm and
sign in."""

from __future__ import annotations

import datetime as dt
import html
import re
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from itsdangerous.timed import TimestampSigner

from competition.accounts.models import Role, User, UserSession, UserStatus
from competition.audit.models import AuditEvent
from competition.extensions import db
from competition.notifications.models import Notification, NotificationState
from tests.conftest import Browser
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "a much better passphrase"


SIGNED_IN_PAGE = "/admin/users"


DAY = 24 * 3600


# --- helpers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    id: int
    email: str
    name: str


def create_user(app, **overrides) -> Person:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = make_user(**overrides)
        db.session.commit()
        return Person(user.id, user.email, user.name)


def new_browser(app) -> Browser:  # type: ignore[no-untyped-def]
    return Browser(app.test_client())


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def field_error(response, field: str) -> str | None:  # type: ignore[no-untyped-def]
    """The message shown under a form field (see macros/forms.html), or None."""
    match = re.search(
        rf'<p class="error" id="{field}-error">(.*?)</p>', response.get_data(as_text=True), re.S
    )
    return html.unescape(match.group(1)).strip() if match else None


def redirect_path(response) -> str:  # type: ignore[no-untyped-def]
    assert response.status_code == 302, response.status_code
    return urlsplit(response.location).path


def assert_signed_out(client) -> None:  # type: ignore[no-untyped-def]
    response = client.get(SIGNED_IN_PAGE)
    assert response.status_code == 302, "a signed-in page should send this browser to log in"
    assert urlsplit(response.location).path == "/login"


def assert_signed_in(client, person: Person) -> None:  # type: ignore[no-untyped-def]
    assert f"Welcome, {person.name}" in text(client.get("/"))
    assert client.get(SIGNED_IN_PAGE).status_code != 302


@dataclass(frozen=True)
class Mail:
    template: str
    state: NotificationState
    body: str | None


def mails_to(app, address: str) -> list[Mail]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.scalars(
            sa.select(Notification)
            .where(Notification.to_address == address.lower())
            .order_by(Notification.id)
        ).all()
        return [Mail(row.template, row.state, row.body_text) for row in rows]


def all_mail_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Notification.id))) or 0


def link_in(mail: Mail, prefix: str) -> str:
    """The site-relative path of the link starting with ``prefix`` in a sent mail."""
    assert mail.state == NotificationState.SENT
    assert mail.body is not None
    match = re.search(rf"https?://[^/\s]+({re.escape(prefix)}\S+)", mail.body)
    assert match, f"no {prefix} link in the mail:\n{mail.body}"
    return match.group(1)


def only_link(app, address: str, template: str, prefix: str) -> str:  # type: ignore[no-untyped-def]
    mails = [m for m in mails_to(app, address) if m.template == template]
    assert len(mails) == 1, mails
    return link_in(mails[0], prefix)


def tamper(link: str) -> str:
    """The link with one character of its signature changed (one in the middle: the last
    base64 character carries padding bits, so changing it may not change the signature)."""
    head, dot, signature = link.rpartition(".")
    assert dot, link
    i = len(signature) // 2
    return head + dot + signature[:i] + ("A" if signature[i] != "A" else "B") + signature[i + 1 :]


def user_count(app) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(User.id))) or 0


def load_user(app, user_id: int) -> tuple[UserStatus, frozenset[Role]]:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = db.session.get(User, user_id)
        assert user is not None
        return user.status, user.roles


def find_user_id(app, email: str) -> int | None:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.scalar(sa.select(User.id).where(User.email == email.lower()))


def audit_events(app, action: str) -> list[tuple[int | None, str]]:  # type: ignore[no-untyped-def]
    """(actor id, object id) of every audit event with this action."""
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEvent.actor_id, AuditEvent.object_id)
            .where(AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        ).all()
        return [(row.actor_id, row.object_id) for row in rows]


def shift_sessions(app, user_id: int, **columns: dt.timedelta) -> None:  # type: ignore[no-untyped-def]
    """Move a user's session timestamps back, as if that much time had passed."""
    with app.app_context():
        values = {
            name: getattr(UserSession, name) - sa.literal(delta, sa.Interval())
            for name, delta in columns.items()
        }
        db.session.execute(
            sa.update(UserSession).where(UserSession.user_id == user_id).values(**values)
        )
        db.session.commit()


def register(browser: Browser, *, name: str, email: str, password: str = PASSWORD, confirm=None):  # type: ignore[no-untyped-def]
    return browser.submit(
        "/register",
        {"name": name, "email": email, "password": password, "confirm": confirm or password},
    )


@pytest.fixture
def travel(monkeypatch):  # type: ignore[no-untyped-def]
    """Move the clock of signed links (itsdangerous timestamps) by some seconds."""

    def to(seconds: float) -> None:
        monkeypatch.setattr(
            TimestampSigner, "get_timestamp", lambda self: int(time.time() + seconds)
        )

    return to
