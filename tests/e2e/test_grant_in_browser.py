"""A running grant in a real browser, one journey: the coordinator opens the grant from the
proposal's page, writes the year's progress report with a PDF, submits it and reads the
receipt, then switches to German and requests a payment above the programme's threshold. One
officer accepts the report and approves the payment, which then waits for a second officer;
she cannot confirm it herself. The second officer follows the e-mail's link and confirms it.
The coordinator comes back and finds the report accepted and the payment approved, in German
and in English."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from competition.accounts.models import Role
from competition.extensions import db
from competition.grants.models import Disbursement, DisbursementState
from competition.proposals.models import ProposalState, StageSubmission
from tests.conftest import mail_text
from tests.e2e.languages import Words
from tests.factories import (
    PASSWORD,
    make_call,
    make_grant,
    make_organisation,
    make_programme,
    make_proposal,
    make_report,
    make_stage,
    make_user,
)
from tests.helpers import freeze_version
from tests.unit import upload_samples

pytestmark = pytest.mark.browser

COORDINATOR = "clara@cluster.test"
FIRST_OFFICER = "olga@office.test"
SECOND_OFFICER = "otto@office.test"
PARTNER = "Werkstoffwerk Chemnitz GmbH"
# The grant began on 1 January 2026: its first project year is the calendar year 2026.
STARTS_ON = dt.date(2026, 1, 1)
SECTIONS = {
    "Progress of the work": "Work packages 1 and 2 are done; the pilot line runs.",
    "Results": "Two publications and a patent application on the new alloy.",
    "Deviations from the plan": "The clean room opened three weeks late.",
    "Next steps": "Scale the pilot line up and train twelve technicians.",
}
EN, DE = Words("en"), Words("de")


@dataclass(frozen=True)
class GrantWorld:
    programme: str
    reference: str
    acronym: str
    first_officer_id: int
    second_officer_id: int


def grant_world() -> GrantWorld:
    """A programme with two officers and a threshold of 500,000 euro, and a grant running
    since 1 January 2026 for a proposal Clara coordinates, a million euro a year per partner,
    owing its first progress report in a month."""
    first = make_user(roles=(Role.OFFICER,), email=FIRST_OFFICER, name="Olga Erstprüferin")
    second = make_user(roles=(Role.OFFICER,), email=SECOND_OFFICER, name="Otto Zweitsicht")
    programme = make_programme(
        officers=(first, second), name="Zukunftscluster", payment_threshold=Decimal("500000.00")
    )
    call = make_call(programme)
    stage = make_stage(
        call,
        opens_at=dt.datetime(2025, 3, 1, tzinfo=dt.UTC),
        closes_at=dt.datetime(2025, 6, 1, tzinfo=dt.UTC),
    )
    coordinator = make_user(email=COORDINATOR, name="Clara Coordinator")
    proposal = make_proposal(
        call,
        coordinator=coordinator,
        state=ProposalState.FUNDED,
        acronym="LEICHTBAU",
        title="Lightweight construction for Saxony",
        organisations=(
            make_organisation(name="Technische Universität Chemnitz"),
            make_organisation(name=PARTNER),
        ),
    )
    submission = StageSubmission(proposal=proposal, stage=stage, updated_at=stage.closes_at)
    db.session.add(submission)
    db.session.flush()
    freeze_version(
        proposal, submission, submitted_at=stage.closes_at - dt.timedelta(days=1), by=coordinator
    )
    grant = make_grant(proposal, per_member_year=Decimal("1000000.00"), starts_on=STARTS_ON)
    make_report(grant, kind="annual", year=1)
    db.session.commit()
    return GrantWorld(
        programme=programme.name,
        reference=proposal.reference,
        acronym=proposal.acronym,
        first_officer_id=first.id,
        second_officer_id=second.id,
    )


def log_in(page: Page, email: str, say: Words = EN) -> None:
    """On the login page (the visitor's, in English); the account's language shows after."""
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=say("Log out"))).to_be_visible()


def log_out(page: Page, say: Words = EN) -> None:
    page.get_by_role("button", name=say("Log out")).click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()


def open_grant(page: Page, world: GrantWorld, say: Words) -> None:
    """From the start page: the proposal, then its grant."""
    page.get_by_role("link", name=re.compile(f"^{re.escape(world.reference)} · ")).click()
    page.get_by_role("region", name=say("Grants")).get_by_role("link", name=say("Project")).click()
    expect(
        page.get_by_role("heading", name=re.compile(f"^{say('Project')}: {world.acronym}"))
    ).to_be_visible()


def test_a_report_and_a_payment_go_from_the_coordinator_through_two_officers_and_back(
    live_server, page, smtp_server, tmp_path
):  # type: ignore[no-untyped-def]
    live_server.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    with live_server.app_context():
        world = grant_world()
    base = live_server.base_url

    # --- the coordinator writes, attaches and submits the report ----------------------------
    page.goto(f"{base}/login")
    log_in(page, COORDINATOR)
    open_grant(page, world, EN)
    page.get_by_role("link", name="Open the milestones and reports").click()
    reports = page.get_by_role("table", name="The grant's reports by due date")
    expect(
        reports.get_by_role("row", name=re.compile("Progress report for project year 1"))
    ).to_contain_text("Due")
    reports.get_by_role("link", name="Progress report for project year 1").click()
    expect(
        page.get_by_role("heading", name=f"Progress report for project year 1: {world.acronym}")
    ).to_be_visible()
    for label, text in SECTIONS.items():
        page.get_by_label(label).fill(text)
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_text("Draft saved.")).to_be_visible()

    pdf = tmp_path / "annex.pdf"
    pdf.write_bytes(upload_samples.pdf_with_pages(2))
    files = page.get_by_role("region", name="PDF files")
    files.get_by_label("PDF files").set_input_files(str(pdf))
    files.get_by_role("button", name="Attach").click()
    expect(page.get_by_text("Files attached.")).to_be_visible()
    expect(page.locator("#report-files")).to_contain_text("annex.pdf (2 pages)")
    # The draft kept what was typed before the upload.
    expect(page.get_by_label("Results")).to_have_value(SECTIONS["Results"])

    page.get_by_role("button", name="Submit the report").click()
    submitted = page.get_by_text(
        EN.pattern(
            "The report is submitted. Your receipt: %(code)s; it is also sent to you by e-mail."
        )
    )
    expect(submitted).to_be_visible()
    receipt = page.get_by_role("region", name="Receipt")
    code = receipt.locator("dd").first.inner_text()
    assert code.startswith(world.reference), code
    expect(submitted).to_contain_text(code)
    expect(page.get_by_role("region", name="The report")).to_contain_text(SECTIONS["Next steps"])
    expect(page.get_by_role("button", name="Submit the report")).to_have_count(0)

    # --- in German, a payment above the threshold -------------------------------------------
    page.get_by_role("link", name=f"Milestones and reports: {world.acronym}").click()
    page.get_by_role("link", name="Project", exact=True).click()
    page.get_by_role("button", name="Deutsch").click()
    page.get_by_role("region", name=DE("Payments")).get_by_role(
        "link", name=DE("Request a payment")
    ).click()
    expect(page.get_by_role("heading", name=DE("Request a payment"))).to_be_visible()
    page.get_by_label(DE("Partner")).select_option(label=PARTNER)
    page.get_by_label(DE("Project year")).select_option(
        label=DE(
            "Project year %(year)s: %(start)s – %(end)s",
            year=1,
            start="01.01.2026",
            end="31.12.2026",
        )
    )
    page.get_by_label(DE("Period from")).fill("2026-10-01")
    page.get_by_label(DE("Period to")).fill("2026-12-31")
    page.get_by_label(DE("Amount (EUR)")).fill("600.000,00")
    page.get_by_role("button", name=DE("Send the request")).click()
    expect(
        page.get_by_text(DE("Your payment request is sent; the programme office decides on it."))
    ).to_be_visible()
    requested = page.get_by_role("table", name=DE("Payment requests, newest first"))
    row = requested.get_by_role("row").filter(has_text=PARTNER)
    expect(row).to_contain_text("600.000,00")
    expect(row).to_contain_text("01.10.2026 – 31.12.2026")
    expect(row).to_contain_text(DE("Requested"))
    log_out(page, DE)

    # --- the first officer accepts the report and approves the payment ----------------------
    log_in(page, FIRST_OFFICER)
    page.get_by_role("link", name=re.compile(f"^Dashboard.*{world.programme}$")).click()
    page.get_by_role("link", name="All reports of the programme's grants").click()
    page.get_by_label("Show").select_option(label="Waiting for review")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#result-count")).to_have_text("1 report")
    page.get_by_role("link", name="Progress report for project year 1").click()
    expect(page.get_by_role("region", name="Receipt")).to_contain_text(code)
    for text in SECTIONS.values():
        expect(page.get_by_role("region", name="The report")).to_contain_text(text)
    expect(page.locator("#report-files")).to_contain_text("annex.pdf")
    page.get_by_label("Note to the consortium (optional)").fill("Thank you: a clear report.")
    page.get_by_role("button", name="Accept the report").click()
    expect(page.get_by_text("Report accepted; the coordinator is told by e-mail.")).to_be_visible()
    expect(page.get_by_role("region", name="Report accepted")).to_be_visible()

    page.goto(f"{base}/")
    page.get_by_role("link", name=re.compile(f"^Dashboard.*{world.programme}$")).click()
    page.get_by_role("link", name="Payments", exact=True).click()
    page.get_by_role("link", name=re.compile(r"^Waiting for approval \(1\)")).click()
    page.get_by_role("table").get_by_role("link", name=re.compile(r"^No\. \d+$")).click()
    expect(page.locator("#payment-amount")).to_have_text("600 000.00 EUR")
    expect(page.locator("#payment")).to_contain_text(PARTNER)
    # Above the threshold, approving is only the first of two signatures.
    expect(page.get_by_role("button", name="Approve", exact=True)).to_have_count(0)
    page.get_by_role("button", name="Approve, for a second officer to confirm").click()
    expect(
        page.get_by_text(
            "The payment is above the programme's threshold: it waits for a second officer's "
            "confirmation, and the other officers are told by e-mail."
        )
    ).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Awaiting a second officer")
    expect(page.locator("#payment")).to_contain_text(
        "Above the programme's threshold: a second officer confirms."
    )
    expect(page.locator("#four-eyes")).to_have_text(
        "You approved this payment; a second officer of the programme must confirm it."
    )
    expect(page.get_by_role("button", name="Confirm the payment")).to_have_count(0)
    log_out(page)

    # --- the second officer follows the e-mail's link and confirms --------------------------
    # Mail goes out right after the commit, before the officer's page comes back.
    [waiting] = smtp_server.to(SECOND_OFFICER)
    link = re.search(r"https?://\S+/payments/\d+", mail_text(waiting))
    assert link, mail_text(waiting)
    page.goto(link.group(0))
    log_in(page, SECOND_OFFICER)
    expect(page.get_by_role("heading", level=1)).to_contain_text("Awaiting a second officer")
    expect(page.locator("#payment")).to_contain_text("by Olga Erstprüferin")
    page.get_by_role("button", name="Confirm the payment").click()
    expect(
        page.get_by_text(
            "The payment is confirmed and approved; the coordinator is told by e-mail."
        )
    ).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Approved")
    expect(page.locator("#payment")).to_contain_text("by Otto Zweitsicht")
    log_out(page)

    # --- the coordinator finds both, in German and in English -------------------------------
    log_in(page, COORDINATOR, DE)
    open_grant(page, world, DE)
    payments = page.get_by_role("region", name=DE("Payments"))
    row = (
        payments.get_by_role("table", name=DE("Payment requests, newest first"))
        .get_by_role("row")
        .filter(has_text=PARTNER)
    )
    expect(row).to_contain_text(DE("Approved"))
    page.get_by_role("link", name=DE("Open the milestones and reports")).click()
    reports = page.get_by_role("table", name=DE("The grant's reports by due date"))
    expect(reports).to_contain_text(DE("Report accepted"))
    expect(reports).to_contain_text(code)

    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("table", name="The grant's reports by due date")).to_contain_text(
        "Report accepted"
    )
    page.get_by_role("link", name="Progress report for project year 1").click()
    expect(page.get_by_role("region", name="Report accepted")).to_contain_text(
        "Thank you: a clear report."
    )
    page.get_by_role("link", name=f"Milestones and reports: {world.acronym}").click()
    page.get_by_role("link", name="Project", exact=True).click()
    row = (
        page.get_by_role("table", name="Payment requests, newest first")
        .get_by_role("row")
        .filter(has_text=PARTNER)
    )
    expect(row).to_contain_text("Approved")
    expect(row).to_contain_text("600 000.00 EUR")
    row.get_by_role("link").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Approved")
    # Who decided is the programme office's business.
    for officer in ("Olga Erstprüferin", "Otto Zweitsicht"):
        expect(page.locator("main")).not_to_contain_text(officer)

    with live_server.app_context():
        payment = db.session.scalars(sa.select(Disbursement)).one()
        assert payment.state == DisbursementState.APPROVED
        assert payment.amount == Decimal("600000.00")
        assert (payment.decided_by_id, payment.confirmed_by_id) == (
            world.first_officer_id,
            world.second_officer_id,
        )
