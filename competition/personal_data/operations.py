"""A person's download of all their data: started from their account's data page, built by a
job into one ZIP in the upload store, mailed about when ready, downloadable by that person
alone until it expires, then deleted by a beat task."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging

import sqlalchemy as sa
from flask import current_app

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.core import data_export
from competition.core.texts import N_
from competition.db import on_commit, operation, utcnow
from competition.extensions import db
from competition.i18n import gettext as _
from competition.jobs import operations as jobs
from competition.jobs.models import JobState
from competition.notifications.operations import notify
from competition.personal_data import contents
from competition.personal_data.models import DataExport
from competition.proposals import storage
from competition.tasks import enqueue

log = logging.getLogger(__name__)

KIND = "personal_data.export"

README = """\
Ihre Daten / Your data
======================

Deutsch
-------
Dieses Archiv enthält alle Daten, die das System über Sie gespeichert hat (Art. 15 und 20 DSGVO):

- data.json: Ihr Konto (Name, E-Mail-Adresse, Rollen, Sprache, Anlage, Status, die Zeiten Ihrer
  Anmeldungen), Ihre Organisation, die Anträge, an denen Sie mitwirken, mit dem eingefrorenen
  Inhalt jeder eingereichten Fassung, die Konsortien, die Sie als Ansprechperson nennen, Ihre
  Jury-Mitgliedschaften, von Ihnen erklärte Befangenheiten, Ihre eigenen Gutachten (Ihre
  Bewertungen und Texte), Ihre Nachrichten in Rückfragen, Ihre Verfügbarkeit für Anhörungen,
  Ihre Berichte und Mittelabrufe, Mitgliedschaftsanträge, die Ihnen gesandten Nachrichten
  (Betreff und Zeit), Ihre API-Tokens (Namen, Rechte, Daten; nie das Geheimnis), wie Sie sich
  anmelden (Authenticator-App, Passkeys, verknüpfte Anmeldedienste; nie ein Schlüssel) und die
  Ereignisse des Prüfprotokolls, die Sie ausgelöst haben (Aktion, Objekt, Zeit).
- attachments/: die Dateien, die Sie hochgeladen haben, je Antrag, Bericht oder Rückfrage.

Zeiten stehen in UTC (ISO 8601), Beträge in Euro als Dezimalzahl. Gutachten anderer Personen und
Inhalte von Anträgen, die Sie nicht sehen durften, sind nicht enthalten.

English
-------
This archive holds all the data the system keeps about you (Art. 15 and 20 GDPR):

- data.json: your account (name, e-mail address, roles, language, created, status, the times of
  your sessions), your organisation, the proposals you work on with the frozen content of each
  submitted version, the consortia that name you as contact, your jury memberships, the
  conflicts you declared, your own reviews (your scores and texts), your messages in
  clarification requests, your availability for hearings, your reports and payment requests,
  membership applications, the messages sent to you (subject and time), your API tokens (names,
  scopes, dates; never the secret), how you sign in (authenticator app, passkeys, linked sign-in
  providers; never a key) and the audit events you caused (action, object, time).
- attachments/: the files you uploaded, by proposal, report or clarification.

Times are in UTC (ISO 8601), amounts in euros as decimal numbers. Other people's reviews and the
content of proposals you were not allowed to see are not included.
"""


def days_kept() -> int:
    return int(current_app.extensions["settings"].data_export_days)


def latest_export(user: User) -> DataExport | None:
    return db.session.scalar(
        sa.select(DataExport).where(DataExport.user_id == user.id).order_by(DataExport.id.desc())
    )


def find_download(user: User, export_id: int, *, now: dt.datetime) -> DataExport | None:
    """The export if it is this person's and its file is still there; None for anyone else,
    administrators included."""
    export = db.session.get(DataExport, export_id)
    if (
        export is None
        or export.user_id != user.id
        or export.storage_key is None
        or export.expires_at is None
        or export.expires_at <= now
    ):
        return None
    return export


def download_name(export: DataExport) -> str:
    assert export.ready_at is not None
    return f"my-data-{export.ready_at:%Y-%m-%d}.zip"


@operation
def start_export(person: User, *, now: dt.datetime) -> DataExport:
    """Queue the export of everything about ``person``; one at a time per person.

    Side effects: a job ``personal_data.export`` on ``user:<id>``, a ``data_exports`` row;
    audit ``data_export.started``; a ``personal_data.export`` task after the commit."""
    job = jobs.open_job(
        KIND,
        f"user:{person.id}",
        actor=person,
        now=now,
        taken=_("Your data are already being gathered; the page shows when they are ready."),
    )
    export = DataExport(user_id=person.id, job=job, created_at=now)
    db.session.add(export)
    db.session.flush()
    record_event(
        actor=person,
        action="data_export.started",
        object_type="user",
        object_id=person.id,
        after={"export": export.id},
        now=now,
    )
    enqueue("personal_data.export", export_id=export.id)
    return export


def _finish(
    export_id: int, claimed: dt.datetime, *, data: bytes, files: int, now: dt.datetime
) -> bool:
    export = db.session.get(DataExport, export_id, populate_existing=True)
    assert export is not None
    job = jobs.mine(export.job_id, claimed)
    if job is None:  # given up as dead meanwhile, and perhaps taken over
        return False
    key = storage.store(data)
    expires = now + dt.timedelta(days=days_kept())
    export.storage_key = key
    export.size_bytes = len(data)
    export.sha256 = hashlib.sha256(data).hexdigest()
    export.files = files
    export.ready_at = now
    export.expires_at = expires
    jobs.end(job, "finish", now=now, message=N_("Ready to download."))
    person = db.session.get(User, export.user_id)
    assert person is not None
    record_event(
        actor=None,
        action="data_export.finished",
        object_type="user",
        object_id=export.user_id,
        after={"export": export.id, "files": files, "size": len(data), "sha256": export.sha256},
        now=now,
    )
    notify(
        to=person,
        template="personal_data/export_ready",
        context={
            "name": person.name,
            "expires_at": expires.isoformat(),
            "base_url": current_app.extensions["settings"].base_url,
        },
        dedup_key=f"personal_data/export_ready:{export.id}",
        now=now,
    )
    return True


def execute_export(export_id: int) -> bool:
    """The worker's part. A second delivery finds the job taken or ended and does nothing."""
    job_id = db.session.scalar(sa.select(DataExport.job_id).where(DataExport.id == export_id))
    claimed = jobs.claim(job_id, now=utcnow()) if job_id is not None else None
    if job_id is None or claimed is None:
        return False
    with jobs.heartbeat(job_id, claimed):
        export = db.session.get(DataExport, export_id)
        assert export is not None
        person = db.session.get(User, export.user_id)
        assert person is not None
        jobs.report(job_id, claimed, 20, N_("Gathering your data."))
        data = contents.collect(person)
        jobs.report(job_id, claimed, 50, N_("Reading the files you uploaded."))
        files, listed = contents.read_files(contents.uploaded_files(person))
        for entry, path in zip(
            (e for e in listed if not e.get("missing")), data_export.file_paths(files), strict=True
        ):
            entry["path"] = path
        data["attachments"] = listed
        data["exported_at"] = utcnow()
        jobs.report(job_id, claimed, 80, N_("Packing the archive."))
        archive, _paths = data_export.archive(data, README, files)
        db.session.rollback()  # nothing read above is changed; the finish reads afresh
        done = operation(_finish)(export_id, claimed, data=archive, files=len(files), now=utcnow())
    log.info("data export %s %s", export_id, "ready" if done else "overtaken")
    return done


@operation
def delete_expired(*, now: dt.datetime) -> int:
    """Delete every export file past its expiry; returns how many. The rows stay (when an
    export was made is itself kept, like any audit fact); the files go after the commit, so a
    rolled-back run deletes nothing.

    Side effects: ``deleted_at`` set and the storage key cleared; the files removed after the
    commit; audit ``data_export.deleted`` per export."""
    expired = list(
        db.session.scalars(
            sa.select(DataExport)
            .where(DataExport.storage_key.is_not(None), DataExport.expires_at <= now)
            .with_for_update(skip_locked=True, of=DataExport)
        )
    )
    keys = []
    for export in expired:
        assert export.storage_key is not None
        keys.append(export.storage_key)
        export.storage_key = None
        export.deleted_at = now
        record_event(
            actor=None,
            action="data_export.deleted",
            object_type="user",
            object_id=export.user_id,
            after={"export": export.id},
            now=now,
        )

    def remove() -> None:
        for key in keys:
            storage.remove(key)

    if keys:
        on_commit(remove)
    return len(expired)


def is_building(export: DataExport | None) -> bool:
    return export is not None and jobs.is_live(export.job)


def ended_without_file(export: DataExport | None) -> bool:
    """The latest export failed or its worker died."""
    if export is None:
        return False
    return export.job.state == JobState.FAILED or jobs.is_dead(export.job)
