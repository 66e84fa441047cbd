"""What the report tests share: a running grant of a programme with its officer, its
consortium's coordinator and a contributor, a second grant of another consortium, an officer
of another programme and a juror; helpers to write, attach and submit through the pages."""

from __future__ import annotations

import io
from dataclasses import dataclass

import sqlalchemy as sa

from competition.accounts.models import Role
from competition.extensions import db
from competition.grants.models import Report
from competition.proposals.models import ContributorRole, ProposalContributor, ProposalState
from tests.conftest import Browser
from tests.factories import make_call, make_grant, make_programme, make_proposal, make_user
from tests.helpers import Person, call_run_by, person, text
from tests.integration.submission_world import form_value, post

ANNUAL_TEXT = {
    "progress": "Work packages 1 to 3 ran as planned.",
    "results": "Two prototypes and four publications.",
    "deviations": "The pilot plant started a month late.",
    "next_steps": "Field trials in Saxony.",
}


@dataclass(frozen=True)
class World:
    officer: Person
    other_officer: Person  # runs another programme
    coordinator: Person
    contributor: Person
    other_applicant: Person  # coordinates the other grant
    juror: Person
    programme_id: int
    grant_id: int
    other_grant_id: int
    member_ids: tuple[int, ...]
    reference: str
    acronym: str


def build_world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,), name="Olga Officer")
        other_officer = make_user(roles=(Role.OFFICER,))
        call_run_by(other_officer)
        programme = make_programme(officers=(officer,))
        call = make_call(programme)
        coordinator = make_user(roles=(Role.APPLICANT,), name="Cora Coordinator")
        contributor = make_user(roles=(Role.APPLICANT,))
        other_applicant = make_user(roles=(Role.APPLICANT,))
        juror = make_user(roles=(Role.JUROR,))
        proposal = make_proposal(call, coordinator=coordinator, state=ProposalState.FUNDED)
        db.session.add(
            ProposalContributor(
                proposal_id=proposal.id, user_id=contributor.id, role=ContributorRole.CONTRIBUTOR
            )
        )
        grant = make_grant(proposal)
        other = make_grant(
            make_proposal(call, coordinator=other_applicant, state=ProposalState.FUNDED)
        )
        db.session.commit()
        return World(
            officer=person(officer),
            other_officer=person(other_officer),
            coordinator=person(coordinator),
            contributor=person(contributor),
            other_applicant=person(other_applicant),
            juror=person(juror),
            programme_id=programme.id,
            grant_id=grant.id,
            other_grant_id=other.id,
            member_ids=tuple(member.id for member in proposal.members),
            reference=proposal.reference,
            acronym=proposal.acronym,
        )


def report_url(report_id: int, tail: str = "") -> str:
    return f"/reports/{report_id}{tail}"


def basis_of(browser: Browser, report_id: int) -> str:
    page = text(browser.get(report_url(report_id)))
    return form_value(page, report_url(report_id, "/draft"), "basis")


def send(  # type: ignore[no-untyped-def]
    browser: Browser,
    report_id: int,
    sections: dict[str, str],
    *,
    to: str = "draft",
    basis: str | None = None,
):
    """Post the report's form as its page would: ``to`` "draft" saves, "submit" submits."""
    basis = basis_of(browser, report_id) if basis is None else basis
    return post(browser, report_url(report_id, f"/{to}"), {**sections, "basis": basis})


def attach(browser: Browser, report_id: int, *files: tuple[str, bytes]):  # type: ignore[no-untyped-def]
    return post(
        browser,
        report_url(report_id, "/attachments"),
        {"files": [(io.BytesIO(data), name) for name, data in files]},
        content_type="multipart/form-data",
    )


def load_report(report_id: int) -> Report:
    db.session.expire_all()
    report = db.session.scalar(sa.select(Report).where(Report.id == report_id))
    assert report is not None
    return report
