"""Clarification requests: an officer asks, the consortium answers (text and PDFs), the officer
asks again, extends the deadline, closes or withdraws; reminders a day before the deadline.

Every operation is one transaction (competition.db.operation): permission, validation (one
DomainError with every message keyed by form field), change, audit event, outbox rows. The
request's state moves only through the workflow gateway.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.clarifications import permissions
from competition.clarifications.models import (
    ClarificationAttachment,
    ClarificationMessage,
    ClarificationRequest,
    ClarificationState,
    MessageKind,
)
from competition.clarifications.queries import consortium_of
from competition.core.uploads import UploadLimits, UploadRefused, check_pdf
from competition.db import operation
from competition.errors import DomainError
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import local_time, number, say
from competition.notifications.operations import notify
from competition.permissions import require
from competition.programmes.models import Stage
from competition.proposals import storage
from competition.proposals.models import Proposal
from competition.workflow import apply_step

log = logging.getLogger(__name__)

TEXT_MAX_CHARS = 10_000
FILES_MAX = 5
# An answer's PDFs: five of them stay under the app's limit for one request (64 MB).
ANSWER_LIMITS = UploadLimits(max_bytes=10_000_000, max_pages=200)
REMIND_BEFORE = dt.timedelta(days=1)


@dataclass(frozen=True)
class Upload:
    filename: str
    data: bytes


def _text_errors(text: str, field: str, *, empty: str) -> dict[str, list[str]]:
    if not text:
        return {field: [empty]}
    if len(text) > TEXT_MAX_CHARS:
        return {
            field: [
                _(
                    "The text has %(count)s characters; use at most %(limit)s.",
                    count=number(len(text), 0),
                    limit=number(TEXT_MAX_CHARS, 0),
                )
            ]
        }
    return {}


def _deadline_errors(due_at: dt.datetime | None, *, now: dt.datetime) -> dict[str, list[str]]:
    if due_at is None:
        return {"due_at": [_("Enter the deadline.")]}
    if due_at <= now:
        return {"due_at": [_("The deadline must be in the future.")]}
    return {}


def _lock(clarification: ClarificationRequest) -> None:
    """One change at a time per request; then see its state as it is now."""
    db.session.execute(
        sa.select(ClarificationRequest.id)
        .where(ClarificationRequest.id == clarification.id)
        .with_for_update()
    )
    db.session.refresh(clarification, ["state", "due_at"])


def _context(clarification: ClarificationRequest, person: User) -> dict[str, object]:
    proposal = clarification.proposal
    return {
        "name": person.name,
        "reference": proposal.reference,
        "acronym": proposal.acronym,
        "stage": clarification.stage.name,
        "due_at": clarification.due_at.isoformat(),
        "request_id": clarification.id,
    }


def _tell_consortium(
    clarification: ClarificationRequest,
    *,
    template: str,
    key: str,
    now: dt.datetime,
    **extra: object,
) -> None:
    for person in consortium_of(clarification.proposal):
        notify(
            to=person,
            template=template,
            context={**_context(clarification, person), **extra},
            dedup_key=f"{key}:{person.id}",
            now=now,
        )


@operation
def ask_clarification(
    proposal: Proposal,
    stage: Stage,
    *,
    actor: User,
    question: str,
    due_at: dt.datetime | None,
    now: dt.datetime,
) -> ClarificationRequest:
    """An officer of the programme asks the consortium a question, to be answered by
    ``due_at``.

    Side effects: the request (open); audit ``clarification_request.asked``; an e-mail to each
    member of the consortium with an account (in their language).
    """
    require(permissions.can_ask(actor, proposal))
    question = question.strip()
    errors: dict[str, list[str]] = {}
    if stage.call_id != proposal.call_id:
        errors["stage_id"] = [_("That stage belongs to another call.")]
    errors |= _text_errors(question, "question", empty=_("Write the question."))
    errors |= _deadline_errors(due_at, now=now)
    if errors:
        raise DomainError(errors)
    assert due_at is not None
    clarification = ClarificationRequest(
        proposal_id=proposal.id,
        stage_id=stage.id,
        asked_by_id=actor.id,
        question=question,
        asked_at=now,
        due_at=due_at,
        state=ClarificationState.OPEN,
    )
    db.session.add(clarification)
    db.session.flush()
    record_event(
        actor=actor,
        action="clarification_request.asked",
        object_type="clarification_request",
        object_id=clarification.id,
        after={
            "proposal_id": proposal.id,
            "stage_id": stage.id,
            "question": question,
            "due_at": due_at,
            "state": ClarificationState.OPEN,
        },
        now=now,
    )
    _tell_consortium(
        clarification,
        template="clarifications/asked",
        key=f"clarifications.asked:{clarification.id}",
        now=now,
        question=question,
    )
    log.info("clarification %s asked on proposal %s", clarification.id, proposal.id)
    return clarification


@operation
def answer_clarification(
    clarification: ClarificationRequest,
    *,
    actor: User,
    text: str,
    files: Sequence[Upload],
    now: dt.datetime,
) -> ClarificationMessage:
    """A member of the consortium answers with text, PDFs or both, before the deadline.

    Side effects: the answer and its files (on disk and as rows); the request answered
    (audit ``clarification_request.answered``; a further answer is audited as
    ``clarification_request.answer_added``); an e-mail to each officer who asked in the
    thread.
    """
    require(permissions.can_answer(actor, clarification))
    _lock(clarification)
    require(permissions.can_answer(actor, clarification))
    text = text.strip()
    files = [upload for upload in files if upload.data or upload.filename]
    errors: dict[str, list[str]] = {}
    if now > clarification.due_at:
        errors["body"] = [
            _(
                "The deadline of this request passed at %(deadline)s; answers are no longer "
                "accepted. Ask the programme office to extend it.",
                deadline=local_time(clarification.due_at),
            )
        ]
    elif not text and not files:
        errors["body"] = [_("Write an answer or attach a PDF.")]
    elif text:
        errors |= _text_errors(text, "body", empty="")
    checked = []
    if len(files) > FILES_MAX:
        errors["files"] = [_("Attach at most %(count)s files.", count=FILES_MAX)]
    for upload in files:
        try:
            checked.append(check_pdf(upload.data, filename=upload.filename, limits=ANSWER_LIMITS))
        except UploadRefused as refused:
            errors.setdefault("files", []).append(f"{upload.filename}: {say(refused.message)}")
    if errors:
        raise DomainError(errors)

    message = ClarificationMessage(
        request_id=clarification.id,
        kind=MessageKind.ANSWER,
        author_id=actor.id,
        body=text,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    for upload, result in zip(files, checked, strict=True):
        db.session.add(
            ClarificationAttachment(
                message_id=message.id,
                filename=_safe_filename(upload.filename),
                content_type=result.content_type,
                size_bytes=result.size_bytes,
                page_count=result.page_count,
                sha256=result.sha256,
                storage_key=storage.store(upload.data),
                uploaded_by_id=actor.id,
                uploaded_at=now,
            )
        )
    db.session.flush()
    detail = {
        "message_id": message.id,
        "text_chars": len(text),
        "attachments": [result.sha256 for result in checked],
    }
    moved = apply_step(clarification, "answer", actor=actor, now=now, detail=detail)
    if not moved:
        record_event(
            actor=actor,
            action="clarification_request.answer_added",
            object_type="clarification_request",
            object_id=clarification.id,
            after=detail,
            now=now,
        )
    # The officers who asked in this thread: the first question's and any follow-up's.
    officers = {clarification.asked_by_id: clarification.asked_by}
    for earlier in clarification.messages:
        if earlier.kind == MessageKind.QUESTION:
            officers.setdefault(earlier.author_id, earlier.author)
    for officer in officers.values():
        notify(
            to=officer,
            template="clarifications/answered",
            context={
                **_context(clarification, officer),
                "author": actor.name,
                "files": len(checked),
            },
            dedup_key=f"clarifications.answered:{message.id}:{officer.id}",
            now=now,
        )
    db.session.expire(clarification, ["messages"])
    return message


def _safe_filename(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip() or "answer.pdf"
    name = "".join(c for c in name if c.isprintable())
    return name[:200]


@operation
def ask_again(
    clarification: ClarificationRequest,
    *,
    actor: User,
    question: str,
    due_at: dt.datetime | None,
    now: dt.datetime,
) -> ClarificationMessage:
    """The officer asks a follow-up question in the same thread, with a new deadline.

    Side effects: the question; the request open again with that deadline (audit
    ``clarification_request.asked_again``, or ``clarification_request.question_added`` when
    it was still open); an e-mail to each member of the consortium.
    """
    require(permissions.can_manage(actor, clarification))
    _lock(clarification)
    question = question.strip()
    errors: dict[str, list[str]] = {}
    if clarification.state not in permissions.ANSWERABLE:
        errors[""] = [_("This request is closed; ask a new one instead.")]
    errors |= _text_errors(question, "question", empty=_("Write the question."))
    errors |= _deadline_errors(due_at, now=now)
    if errors:
        raise DomainError(errors)
    assert due_at is not None
    message = ClarificationMessage(
        request_id=clarification.id,
        kind=MessageKind.QUESTION,
        author_id=actor.id,
        body=question,
        created_at=now,
    )
    db.session.add(message)
    db.session.flush()
    before_due = clarification.due_at
    detail = {"message_id": message.id, "question": question, "due_at": due_at}
    moved = apply_step(
        clarification,
        "ask_again",
        actor=actor,
        now=now,
        values={"due_at": due_at},
        before={"due_at": before_due},
        detail=detail,
    )
    if not moved:
        clarification.due_at = due_at
        record_event(
            actor=actor,
            action="clarification_request.question_added",
            object_type="clarification_request",
            object_id=clarification.id,
            before={"due_at": before_due},
            after=detail,
            now=now,
        )
    db.session.flush()
    _tell_consortium(
        clarification,
        template="clarifications/asked",
        key=f"clarifications.follow_up:{message.id}",
        now=now,
        question=question,
        follow_up=True,
    )
    db.session.expire(clarification, ["messages"])
    return message


@operation
def extend_deadline(
    clarification: ClarificationRequest,
    *,
    actor: User,
    due_at: dt.datetime | None,
    now: dt.datetime,
) -> ClarificationRequest:
    """The officer gives the consortium more time to answer.

    Side effects: the new deadline; audit ``clarification_request.deadline_extended``; an
    e-mail to each member of the consortium.
    """
    require(permissions.can_manage(actor, clarification))
    _lock(clarification)
    errors: dict[str, list[str]] = {}
    if clarification.state not in permissions.ANSWERABLE:
        errors[""] = [_("This request is closed; its deadline no longer matters.")]
    errors |= _deadline_errors(due_at, now=now)
    if due_at is not None and "due_at" not in errors and due_at <= clarification.due_at:
        errors["due_at"] = [_("The new deadline must be later than the current one.")]
    if errors:
        raise DomainError(errors)
    assert due_at is not None
    before = clarification.due_at
    clarification.due_at = due_at
    db.session.flush()
    record_event(
        actor=actor,
        action="clarification_request.deadline_extended",
        object_type="clarification_request",
        object_id=clarification.id,
        before={"due_at": before},
        after={"due_at": due_at},
        now=now,
    )
    _tell_consortium(
        clarification,
        template="clarifications/extended",
        key=f"clarifications.extended:{clarification.id}:{due_at.isoformat()}",
        now=now,
    )
    return clarification


def _end(
    clarification: ClarificationRequest, action: str, *, actor: User, now: dt.datetime
) -> None:
    require(permissions.can_manage(actor, clarification))
    _lock(clarification)
    if not apply_step(clarification, action, actor=actor, now=now):
        return
    _tell_consortium(
        clarification,
        template="clarifications/ended",
        key=f"clarifications.{action}:{clarification.id}",
        now=now,
        withdrawn=action == "withdraw",
    )


@operation
def close_request(clarification: ClarificationRequest, *, actor: User, now: dt.datetime) -> None:
    """The officer has what was asked for and closes an answered request.

    Side effects: the request closed (audit ``clarification_request.closed``); an e-mail to
    each member of the consortium.
    """
    _end(clarification, "close", actor=actor, now=now)


@operation
def withdraw_request(clarification: ClarificationRequest, *, actor: User, now: dt.datetime) -> None:
    """The officer takes back a request nobody has answered.

    Side effects: the request withdrawn (audit ``clarification_request.withdrawn``); an e-mail
    to each member of the consortium.
    """
    _end(clarification, "withdraw", actor=actor, now=now)


@operation
def send_due_reminders(*, now: dt.datetime) -> int:
    """Remind the consortium of an open request a day before its deadline.

    Once per deadline (an extended one is reminded again), however often this runs and even
    when two runs overlap: ``reminded_for`` is set by compare-and-set first and the run that
    loses skips. Requests asked less than a day before their deadline are not reminded (the
    question's own mail is as fresh). Returns how many requests were reminded.
    Side effects: audit ``clarification_request.reminder_sent``; one e-mail per member.
    """
    due = list(
        db.session.scalars(
            sa.select(ClarificationRequest)
            .where(
                ClarificationRequest.state == ClarificationState.OPEN,
                ClarificationRequest.due_at > now,
                ClarificationRequest.due_at <= now + REMIND_BEFORE,
                sa.or_(
                    ClarificationRequest.reminded_for.is_(None),
                    ClarificationRequest.reminded_for != ClarificationRequest.due_at,
                ),
            )
            .order_by(ClarificationRequest.id)
        )
    )
    count = 0
    for clarification in due:
        if clarification.asked_at >= clarification.due_at - REMIND_BEFORE:
            continue
        claimed = db.session.execute(
            sa.update(ClarificationRequest)
            .where(
                ClarificationRequest.id == clarification.id,
                ClarificationRequest.due_at == clarification.due_at,
                sa.or_(
                    ClarificationRequest.reminded_for.is_(None),
                    ClarificationRequest.reminded_for != clarification.due_at,
                ),
            )
            .values(reminded_for=clarification.due_at)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            continue  # another run reminded first, or the deadline moved meanwhile
        record_event(
            actor=None,
            action="clarification_request.reminder_sent",
            object_type="clarification_request",
            object_id=clarification.id,
            after={"due_at": clarification.due_at},
            now=now,
        )
        _tell_consortium(
            clarification,
            template="clarifications/reminder",
            key=f"clarifications.reminder:{clarification.id}:{clarification.due_at.isoformat()}",
            now=now,
        )
        count += 1
    log.info("clarification reminders queued: %s", count)
    return count
