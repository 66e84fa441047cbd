"""What the integration tests share besides the factories: people known by id and address,
logging in as one of them, reading pages, counting a page's queries, and the pieces most test
worlds are built of (calls run by officers, frozen submitted versions)."""

from __future__ import annotations

import datetime as dt
import html
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.extensions import db
from competition.programmes.models import Call
from competition.proposals import snapshot
from competition.proposals.models import (
    Proposal,
    StageSubmission,
    SubmissionState,
    SubmissionVersion,
)
from tests.conftest import Browser
from tests.factories import PASSWORD, make_call, make_programme, make_user

# --- people and pages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Person:
    """A user as tests hold them across app contexts: plain values, no session."""

    id: int
    email: str


def person(user: User) -> Person:
    return Person(user.id, user.email)


@contextmanager
def in_app(app) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """An app context whose unfinished changes are rolled back at the end."""
    with app.app_context():
        yield
        db.session.rollback()


def as_person(app, who: Person | str) -> Browser:  # type: ignore[no-untyped-def]
    """A browser of its own, logged in as ``who`` (a person or an e-mail address)."""
    browser = Browser(app.test_client())
    email = who if isinstance(who, str) else who.email
    assert browser.login(email, PASSWORD).status_code == 302
    return browser


def text(response) -> str:  # type: ignore[no-untyped-def]
    return html.unescape(response.get_data(as_text=True))


def queries_for_page(app, browser: Browser, url: str) -> int:  # type: ignore[no-untyped-def]
    """How many SQL statements showing ``url`` runs; the page must answer 200."""
    count = 0

    def counter(*args: object) -> None:
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        assert browser.get(url).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
    return count


# --- pieces of a world (inside an app context) --------------------------------------------------


def call_run_by(*officers: User, **overrides: Any) -> Call:
    """A call of a new programme that ``officers`` run."""
    return make_call(make_programme(officers=officers), **overrides)


def officer_and_outsider() -> tuple[User, User]:
    """An officer, and an officer of another programme with a call of its own."""
    officer = make_user(roles=(Role.OFFICER,))
    outsider = make_user(roles=(Role.OFFICER,))
    call_run_by(outsider)
    return officer, outsider


def freeze_version(
    proposal: Proposal, submission: StageSubmission, *, submitted_at: dt.datetime, by: User
) -> SubmissionVersion:
    """Freeze the submission's content as its next version and mark it submitted, as the
    submission operation leaves it."""
    content = snapshot.snapshot(proposal, submission)
    number = len(submission.versions) + 1
    version = SubmissionVersion(
        number=number,
        content=content,
        content_hash=snapshot.content_hash(content),
        receipt_code=f"{proposal.reference}-V{number}-{uuid.uuid4().hex[:6].upper()}",
        idempotency_key=uuid.uuid4().hex,
        submitted_at=submitted_at,
        submitted_by_id=by.id,
    )
    submission.versions.append(version)
    submission.state = SubmissionState.SUBMITTED
    submission.submitted_at = submitted_at
    submission.content_hash = version.content_hash
    db.session.flush()
    return version
