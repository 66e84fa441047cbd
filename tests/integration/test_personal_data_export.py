"""A person downloads all their data: the job gathers it into a ZIP that holds their own rows
and files and nothing of others', only that person can download it, and it is deleted when it
expires."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from competition.accounts import totp
from competition.accounts.models import Role, TotpFactor
from competition.accounts.sso_models import SsoIdentity
from competition.assignment.models import Conflict, ConflictSource
from competition.clarifications.models import (
    ClarificationAttachment,
    ClarificationMessage,
    ClarificationRequest,
    MessageKind,
)
from competition.db import utcnow
from competition.extensions import db
from competition.grants.models import ReportAttachment
from competition.jobs.models import Job, JobState
from competition.notifications.models import Notification
from competition.personal_data import contents, operations
from competition.personal_data.models import DataExport
from competition.proposals import storage
from competition.reviews.models import ReviewState
from tests.conftest import app_for_module
from tests.factories import make_assignment, make_grant, make_report, make_review, make_user
from tests.helpers import Person, as_person, call_run_by, person
from tests.integration.reviews_world import (
    PDF,
    STRATEGY,
    juror_on,
    review_stage,
    submitted_proposal,
)

OWN_REVIEW = "Ada's own view: a strong consortium with a credible hydrogen plan."
OTHER_REVIEW = "Ben's view, which Ada must never receive: the budget is inflated."
CONFLICTED_ABSTRACT = "A secret plan that a conflicted juror never saw."


@dataclass(frozen=True)
class World:
    coordinator: Person
    juror: Person
    admin: Person
    reference: str
    conflicted_reference: str


@pytest.fixture(scope="module")
def app(pg_url, tmp_path_factory):  # type: ignore[no-untyped-def]
    for app in app_for_module(pg_url):
        app.config["UPLOAD_FOLDER"] = str(tmp_path_factory.mktemp("uploads"))
        yield app


@pytest.fixture(scope="module")
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,))
        call = call_run_by(officer)
        stage = review_stage(call, due_at=utcnow() + dt.timedelta(days=10))
        coordinator = make_user(roles=(Role.APPLICANT,), name="Clara Coordinator")
        proposal, _ = submitted_proposal(call, stage, coordinator=coordinator, with_attachment=True)
        conflicted, _ = submitted_proposal(call, stage)
        conflicted.abstract = CONFLICTED_ABSTRACT
        ada = juror_on(call, name="Ada Juror")
        ben = juror_on(call, name="Ben Juror")
        make_review(
            make_assignment(stage, proposal, ada), state=ReviewState.SUBMITTED, comment=OWN_REVIEW
        )
        make_review(
            make_assignment(stage, proposal, ben), state=ReviewState.SUBMITTED, comment=OTHER_REVIEW
        )
        db.session.add(
            Conflict(
                user_id=ada.id,
                proposal_id=conflicted.id,
                source=ConflictSource.DECLARED,
                reason="I advised this consortium.",
                created_by_id=ada.id,
                created_at=utcnow(),
            )
        )
        admin = make_user(roles=(Role.ADMIN,))
        made = World(
            person(coordinator),
            person(ada),
            person(admin),
            proposal.reference,
            conflicted.reference,
        )
        db.session.commit()
        return made


def export_of(app, who: Person) -> tuple[int, dict[str, Any], zipfile.ZipFile]:  # type: ignore[no-untyped-def]
    browser = as_person(app, who)
    started = browser.submit("/account/data/export", {}, page="/account/data")
    assert started.status_code == 303
    with app.app_context():
        export = db.session.scalar(
            sa.select(DataExport).where(DataExport.user_id == who.id).order_by(DataExport.id.desc())
        )
        assert export is not None
        export_id = export.id
    response = browser.get(f"/account/data/exports/{export_id}/download")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "private, no-store"
    archive = zipfile.ZipFile(io.BytesIO(response.get_data()))
    return export_id, json.loads(archive.read("data.json")), archive


def test_the_coordinators_export_holds_the_account_the_submitted_version_and_the_files(app, world):  # type: ignore[no-untyped-def]
    _id, data, archive = export_of(app, world.coordinator)
    assert data["account"]["name"] == "Clara Coordinator"
    assert data["account"]["email"] == world.coordinator.email
    assert data["account"]["roles"] == ["applicant"]
    assert data["account"]["sessions"] and "token_hash" not in json.dumps(data)
    [proposal] = data["proposals"]
    assert proposal["reference"] == world.reference
    assert proposal["your_part"] == ["coordinator", "submitter"]
    [version] = proposal["stages"][0]["submitted_versions"]
    assert STRATEGY in json.dumps(version["content"])
    [attachment] = data["attachments"]
    assert archive.read(attachment["path"]) == PDF
    assert attachment["path"].startswith(f"attachments/proposal {world.reference}/")
    readme = archive.read("README.txt").decode()
    assert "Ihre Daten" in readme and "Your data" in readme


def test_the_export_says_how_the_person_signs_in_but_never_a_key(app):  # type: ignore[no-untyped-def]
    secret = totp.new_secret()
    with app.app_context():
        someone = make_user(email="sign-in@example.org")
        db.session.add(TotpFactor(user_id=someone.id, secret=secret, created_at=utcnow()))
        db.session.add(
            SsoIdentity(
                provider="uni",
                subject="someone-7",
                user_id=someone.id,
                email=someone.email,
                linked_at=utcnow(),
            )
        )
        db.session.commit()
        data = contents.collect(someone)
    assert data["sign_in"]["authenticator_app_set_up_at"]
    assert [link["subject"] for link in data["sign_in"]["sign_in_providers"]] == ["someone-7"]
    assert secret not in json.dumps(data, default=str)


def test_the_files_a_person_uploaded_to_a_proposal_a_report_and_a_clarification_are_exported(  # type: ignore[no-untyped-def]
    app,
):
    with app.app_context():
        uploader, officer = make_user(), make_user(roles=(Role.OFFICER,))
        call = call_run_by(officer)
        stage = review_stage(call, due_at=utcnow() + dt.timedelta(days=10))
        proposal, _ = submitted_proposal(call, stage, coordinator=uploader, with_attachment=True)
        report = make_report(make_grant(proposal))
        request = ClarificationRequest(
            proposal_id=proposal.id,
            stage_id=stage.id,
            asked_by_id=officer.id,
            question="Which lab?",
            asked_at=utcnow(),
            due_at=utcnow() + dt.timedelta(days=7),
        )
        answer = ClarificationMessage(
            request=request, kind=MessageKind.ANSWER, author_id=uploader.id, created_at=utcnow()
        )
        db.session.add_all([request, answer])
        db.session.flush()
        stored = {
            "content_type": "application/pdf",
            "size_bytes": len(PDF),
            "sha256": "0" * 64,
            "uploaded_by_id": uploader.id,
        }
        db.session.add_all(
            [
                ClarificationAttachment(
                    message_id=answer.id,
                    filename="lab.pdf",
                    storage_key=storage.store(PDF),
                    **stored,
                ),
                ReportAttachment(
                    report_id=report.id,
                    filename="results.pdf",
                    storage_key=storage.store(PDF),
                    removed_at=utcnow(),
                    **stored,
                ),
                ReportAttachment(
                    report_id=report.id,
                    filename="gone.pdf",
                    storage_key="0" * 64,  # lost from the store
                    **stored,
                ),
            ]
        )
        db.session.commit()
        files, listed = contents.read_files(contents.uploaded_files(uploader))
        reference = proposal.reference

    assert [(e["folder"], e["filename"], bool(e["removed_at"])) for e in listed] == [
        (f"proposal {reference}", "cvs.pdf", False),
        (f"report {reference}", "results.pdf", True),
        (f"report {reference}", "gone.pdf", False),
        (f"clarification {reference}", "lab.pdf", False),
    ]
    assert [e.get("missing", False) for e in listed] == [False, False, True, False]
    assert [f.filename for f in files] == ["cvs.pdf", "results.pdf", "lab.pdf"]
    assert {f.data for f in files} == {PDF}


def test_a_jurors_export_holds_their_own_review_and_nothing_of_others_or_of_a_conflict(app, world):  # type: ignore[no-untyped-def]
    _id, data, archive = export_of(app, world.juror)
    everything = b"".join(archive.read(name) for name in archive.namelist()).decode()
    assert [r["comment_for_applicant"] for r in data["jury"]["reviews"]] == [OWN_REVIEW]
    assert OTHER_REVIEW not in everything
    [conflict] = data["jury"]["conflicts_declared"]
    assert conflict["proposal"] == world.conflicted_reference
    assert CONFLICTED_ABSTRACT not in everything
    assert STRATEGY not in everything  # the reviewed proposal's content is not the juror's
    assert data["proposals"] == [] and data["attachments"] == []


def test_the_job_reports_progress_ends_and_mails_the_person(app, world, monkeypatch):  # type: ignore[no-untyped-def]
    reported: list[int] = []
    report = operations.jobs.report

    def recording(job_id, claimed, percent, message):  # type: ignore[no-untyped-def]
        reported.append(percent)
        return report(job_id, claimed, percent, message)

    monkeypatch.setattr(operations.jobs, "report", recording)
    export_id, _data, _archive = export_of(app, world.coordinator)
    assert reported == sorted(reported) and len(reported) >= 2
    with app.app_context():
        export = db.session.get(DataExport, export_id)
        assert export is not None
        job = db.session.get(Job, export.job_id)
        assert job is not None
        assert (job.state, job.progress, job.subject) == (
            JobState.DONE,
            100,
            f"user:{world.coordinator.id}",
        )
        mail = db.session.scalar(
            sa.select(Notification).where(
                Notification.dedup_key == f"personal_data/export_ready:{export_id}"
            )
        )
        assert mail is not None and mail.user_id == world.coordinator.id
    page = as_person(app, world.coordinator).get("/account/data").get_data(as_text=True)
    assert f"/account/data/exports/{export_id}/download" in page


def test_only_the_person_can_download_their_export_not_even_an_administrator(app, world):  # type: ignore[no-untyped-def]
    export_id, _data, _archive = export_of(app, world.coordinator)
    for other in (world.juror, world.admin):
        browser = as_person(app, other)
        assert browser.get(f"/account/data/exports/{export_id}/download").status_code == 404
        assert browser.get(f"/account/data/exports/{export_id}.json").status_code == 404


def test_a_second_export_while_one_is_gathered_is_refused(app, world, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setattr(operations, "enqueue", lambda *args, **kwargs: None)  # stays queued
    browser = as_person(app, world.juror)
    assert browser.submit("/account/data/export", {}, page="/account/data").status_code == 303
    page = browser.get("/account/data").get_data(as_text=True)
    assert 'id="export-building"' in page and 'id="start-export"' not in page
    again = browser.submit("/account/data/export", {}, page="/account/data")
    assert again.status_code == 303
    with app.app_context():
        jobs = db.session.scalars(
            sa.select(Job).where(Job.subject == f"user:{world.juror.id}", Job.state == "queued")
        ).all()
        assert len(jobs) == 1
        for job in jobs:  # let the later tests start their own
            operations.jobs.end(job, "fail", now=utcnow(), message=operations.jobs.DEAD)
        db.session.commit()


def test_an_expired_export_is_deleted_with_its_file(app, world):  # type: ignore[no-untyped-def]
    export_id, _data, _archive = export_of(app, world.coordinator)
    with app.app_context():
        export = db.session.get(DataExport, export_id)
        assert export is not None and export.expires_at is not None
        path = Path(app.config["UPLOAD_FOLDER"]) / export.storage_key[:2] / export.storage_key
        assert path.exists()
        assert operations.delete_expired(now=export.expires_at - dt.timedelta(minutes=1)) == 0
        assert path.exists()
        assert operations.delete_expired(now=export.expires_at) >= 1
        assert not path.exists()
        export = db.session.get(DataExport, export_id, populate_existing=True)
        assert export is not None
        assert export.storage_key is None and export.deleted_at is not None
    browser = as_person(app, world.coordinator)
    assert browser.get(f"/account/data/exports/{export_id}/download").status_code == 404


def test_the_records_of_processing_are_for_administrators_and_the_privacy_policy_lists_them(
    app, world
):  # type: ignore[no-untyped-def]
    records = as_person(app, world.admin).get("/admin/processing")
    assert records.status_code == 200
    page = records.get_data(as_text=True)
    assert 'id="record-jury"' in page and "data_exports" in page
    assert as_person(app, world.juror).get("/admin/processing").status_code == 403
    notice = app.test_client().get("/datenschutz").get_data(as_text=True)
    assert 'id="what-we-store"' in notice and "Jury, conflicts of interest and reviews" in notice
