"""An applicant in a real browser: from the open calls to a receipt, with autosave, the
organisation field filled from the registry's search, the budget grid and a PDF upload; and a
submit pressed after the server's deadline."""

from __future__ import annotations

import datetime as dt
import re
import time
from decimal import Decimal

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from competition.accounts.models import Role, User
from competition.berlin import BERLIN
from competition.db import utcnow
from competition.extensions import db
from competition.programmes.models import Call, Stage
from competition.proposals import operations as ops
from competition.proposals.models import StageSubmission, SubmissionVersion
from tests.conftest import mail_text
from tests.e2e.languages import LANGUAGES, Words
from tests.factories import (
    PASSWORD,
    make_call,
    make_organisation,
    make_programme,
    make_stage,
    make_topic,
    make_user,
)
from tests.unit import upload_samples

pytestmark = pytest.mark.browser

SECTIONS = [{"key": "strategy", "title": "Strategy", "max_chars": 2000}]
ATTACHMENTS = [
    {"key": "cv", "title": "CVs", "required": True, "max_pages": 3, "max_bytes": 1_000_000}
]
REFUSED = "The deadline has passed; the proposal can no longer be changed."


def open_call(  # type: ignore[no-untyped-def]
    app, *, closes_in: dt.timedelta = dt.timedelta(days=14), language: str = "en"
) -> dict[str, object]:
    """A published call open for two weeks, a topic, a registry organisation and an applicant
    who reads the pages in ``language``."""
    with app.app_context():
        now = utcnow()
        call = make_call(
            make_programme(),
            name="Clusters for the Future",
            max_public_funding_per_proposal=Decimal("500000"),
            min_private_share=Decimal("0.2500"),
        )
        stage = make_stage(
            call,
            opens_at=now - dt.timedelta(days=1),
            closes_at=now + closes_in,
            required_sections=SECTIONS,
            attachment_rules=ATTACHMENTS,
        )
        topic = make_topic(name="Energy systems")
        organisation = make_organisation(name="Universität Leipzig")
        applicant = make_user(roles=(Role.APPLICANT,), name="Clara Coordinator", locale=language)
        db.session.commit()
        return {
            "call": call.name,
            "call_id": call.id,
            "stage_id": stage.id,
            "topic_id": topic.id,
            "organisation_id": organisation.id,
            "email": applicant.email,
        }


def log_in(page, base: str, email: str, say: Words | None = None) -> None:  # type: ignore[no-untyped-def]
    """Logging in from the visitor's (English) page; the account's language shows after."""
    say = say or Words("en")
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.get_by_role("heading", name=say("Welcome, %(name)s", name="Clara Coordinator")).wait_for()


# Amounts typed the way the applicant's language writes them.
AMOUNTS = {
    "en": ("100000", "50000", "80000", "40000"),
    "de": ("100.000,00", "50.000,00", "80.000", "40.000,00"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_applicant_goes_from_the_open_calls_to_a_receipt(
    live_server, smtp_server, page, tmp_path, language
):  # type: ignore[no-untyped-def]
    live_server.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    world = open_call(live_server, language=language)
    base = live_server.base_url
    # A common office laptop's screen.
    page.set_viewport_size({"width": 1366, "height": 768})
    say = Words(language)
    log_in(page, base, world["email"], say)

    page.get_by_role("navigation", name=say("Main")).get_by_role(
        "link", name=say("Open calls")
    ).click()
    page.get_by_role("link", name="Clusters for the Future").click()
    page.get_by_label(say("Acronym")).fill("GRID")
    page.get_by_label(say("Title")).fill("Smart grids for Saxony")
    page.get_by_role("button", name=say("Start the proposal")).click()
    expect(
        page.get_by_text(
            say.pattern("Proposal %(reference)s started. Your work is saved as you go.")
        )
    ).to_be_visible()

    general = page.locator("#general")
    general.get_by_label(say("Abstract")).fill("Grids that balance themselves.")
    general.get_by_label("Energy systems").check()
    general.get_by_role("button", name=say("Save"), exact=True).click()
    expect(page.get_by_text(say("Saved."), exact=True)).to_be_visible()

    # The section is saved by the page's script a moment after typing stops: it shows the time.
    page.locator("#text-strategy").fill("We connect the region's grids.")
    status = page.locator("#status-strategy")
    saved_at = say("Saved at %(time)s", time="")
    expect(status).to_have_text(
        re.compile("^" + re.escape(saved_at) + r"\d\d:\d\d:\d\d$"), timeout=15_000
    )
    # The server's time in Berlin, 24-hour, whatever the browser's clock and zone.
    saved = dt.datetime.strptime(status.inner_text().removeprefix(saved_at), "%H:%M:%S").time()
    berlin = dt.datetime.now(BERLIN)
    moments = [
        dt.datetime.combine(berlin.date() + dt.timedelta(days=d), saved, BERLIN) for d in (-1, 0)
    ]
    assert min(abs((berlin - moment).total_seconds()) for moment in moments) < 120

    consortium = page.locator("#consortium")
    organisation = consortium.get_by_role("combobox", name=say("Organisation"), exact=True)
    # The registry's search endpoint offers matches as the name is typed.
    assert organisation.get_attribute("list") == "organisation-matches"
    organisation.fill("Universität")
    expect(page.locator("#organisation-matches option[value='Universität Leipzig']")).to_have_count(
        1
    )
    organisation.fill("Universität Leipzig")
    consortium.get_by_label(say("Role"), exact=True).select_option("coordinator")
    consortium.get_by_label(say("Contact person"), exact=True).fill("Clara Coordinator")
    consortium.get_by_role("button", name=say("Add to the consortium")).click()
    added = "%(organisation)s added to the consortium."
    expect(page.get_by_text(say(added, organisation="Universität Leipzig"))).to_be_visible()

    consortium = page.locator("#consortium")
    consortium.get_by_role("combobox", name=say("Organisation"), exact=True).fill("Neue Netze GmbH")
    consortium.get_by_label(say("Kind (for a new organisation)")).select_option("sme")
    consortium.get_by_label(say("Federal state (for a new organisation)")).select_option("DE-SN")
    consortium.get_by_label(say("Role"), exact=True).select_option("partner")
    consortium.get_by_role("button", name=say("Add to the consortium")).click()
    expect(page.get_by_text(say(added, organisation="Neue Netze GmbH"))).to_be_visible()

    public = "%(organisation)s, year %(year)s, public funding"
    own = "%(organisation)s, year %(year)s, own contribution"
    for (organisation, label), typed in zip(
        [
            ("Universität Leipzig", public),
            ("Universität Leipzig", own),
            ("Neue Netze GmbH", public),
            ("Neue Netze GmbH", own),
        ],
        AMOUNTS[language],
        strict=True,
    ):
        page.get_by_label(say(label, organisation=organisation, year=1)).fill(typed)
    page.get_by_role("button", name=say("Save the budget")).click()
    expect(page.get_by_text(say("Budget saved."))).to_be_visible()
    # 90,000 of 270,000 in all come from the partners themselves.
    shown = say.number("33.3") + ("%" if language == "en" else "\u00a0%")
    share = say.pattern("Total %(amount)s; private share %(share)s.", share=shown)
    expect(page.get_by_text(share)).to_be_visible()
    # Three years for two partners fit in the budget's card: what does not fit scrolls inside it.
    edges = page.evaluate(
        """() => ({
            card: document.getElementById("budget").getBoundingClientRect().right,
            table: document.querySelector("#budget .scroll").getBoundingClientRect().right,
            page: document.documentElement.scrollWidth,
            window: window.innerWidth,
        })"""
    )
    assert edges["table"] <= edges["card"] and edges["page"] <= edges["window"], edges

    cv = tmp_path / "cv.pdf"
    cv.write_bytes(upload_samples.pdf_with_pages(2))
    attachment = page.locator("#attachment-cv")
    attachment.locator("#file-cv").set_input_files(str(cv))
    attachment.get_by_role("button", name=say("Upload")).click()
    expect(page.get_by_text(say("%(filename)s uploaded.", filename="cv.pdf"))).to_be_visible()
    # Far down the page, the list of its parts is still in view.
    page.locator("#exclusions").scroll_into_view_if_needed()
    parts = page.get_by_role("navigation", name=say("Parts of the proposal"))
    expect(parts).to_be_in_viewport()
    parts.get_by_role("link", name=say("Budget"), exact=True).click()
    expect(page.locator("#budget-h")).to_be_in_viewport()

    complete = say("Everything the call asks for is there.")
    checklist = page.locator("aside.editor-side")
    expect(checklist).to_contain_text(complete)
    checklist.get_by_role("link", name=say("Review and submit")).click()
    expect(page.get_by_text(complete)).to_be_visible()
    page.get_by_role("button", name=say("Submit the proposal")).click()
    page.get_by_role("heading", name=say("Receipt: your proposal was received")).wait_for()

    with live_server.app_context():
        version = db.session.scalar(sa.select(SubmissionVersion))
        assert version is not None
        assert version.content["sections"] == {"strategy": "We connect the region's grids."}
        assert [m["name"] for m in version.content["members"]] == [
            "Universität Leipzig",
            "Neue Netze GmbH",
        ]
        assert sorted(
            (line["public_funding"], line["own_contribution"]) for line in version.content["budget"]
        ) == [("100000.00", "50000.00"), ("80000.00", "40000.00")]
        code, digest = version.receipt_code, version.content_hash
    assert page.locator("#receipt-code").inner_text() == code
    assert page.locator("#content-hash").inner_text() == digest
    assert re.fullmatch(
        r"\d\d\.\d\d\.\d{4} \d\d:\d\d:\d\d (CES?T|MES?Z)", page.locator("#received-at").inner_text()
    )

    (mail,) = smtp_server.wait_for(1)
    assert mail["To"] == world["email"]
    assert code in mail_text(mail) and digest in mail_text(mail)


def complete_draft(app, world: dict[str, object], *, with_attachment: bool = True) -> int:  # type: ignore[no-untyped-def]
    """A proposal with nothing missing (but the CVs, without the attachment), written through
    the operations; returns its id."""
    with app.app_context():
        now = utcnow()
        actor = db.session.scalar(sa.select(User).where(User.email == world["email"]))
        call = db.session.get(Call, world["call_id"])
        proposal = ops.start_proposal(
            call, actor=actor, acronym="LATE", title="Finished at the last second", now=now
        )
        submission = ops.current_submission(proposal)
        ops.update_general(
            proposal,
            actor=actor,
            acronym="LATE",
            title="Finished at the last second",
            abstract="Almost too late.",
            topic_ids=[world["topic_id"]],
            now=now,
        )
        ops.save_section(
            submission, actor=actor, key="strategy", text="A strategy.", base_revision=0, now=now
        )
        members = [
            ops.add_member(
                proposal,
                actor=actor,
                organisation_id=world["organisation_id"],
                new_organisation=None,
                role="coordinator",
                contact_name="",
                contact_email="",
                now=now,
            ),
            ops.add_member(
                proposal,
                actor=actor,
                organisation_id=None,
                new_organisation=ops.NewOrganisation("Neue Netze GmbH", "sme", "DE-SN"),
                role="partner",
                contact_name="",
                contact_email="",
                now=now,
            ),
        ]
        ops.save_budget(
            submission,
            actor=actor,
            rows=[ops.BudgetInput(m.id, 1, "100000", "50000") for m in members],
            base_revision=submission.revision,
            now=now,
        )
        if with_attachment:
            ops.add_attachment(
                submission,
                actor=actor,
                kind="cv",
                filename="cv.pdf",
                data=upload_samples.pdf_with_pages(1),
                now=now,
            )
        return proposal.id


def test_a_submit_pressed_after_the_deadline_is_refused(live_server, page, tmp_path):  # type: ignore[no-untyped-def]
    live_server.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    world = open_call(live_server)
    proposal_id = complete_draft(live_server, world)
    log_in(page, live_server.base_url, world["email"])

    with live_server.app_context():
        closes_at = utcnow() + dt.timedelta(seconds=1)
        db.session.get(Stage, world["stage_id"]).closes_at = closes_at
        db.session.commit()
    page.goto(f"{live_server.base_url}/proposals/{proposal_id}/submit")
    button = page.get_by_role("button", name="Submit the proposal")
    expect(button).to_be_visible()

    # By the server's clock, not the browser's: wait until the deadline has passed there.
    time.sleep(max(0.0, (closes_at - utcnow()).total_seconds()) + 0.3)
    button.click()
    expect(page.get_by_text(REFUSED).first).to_be_visible()
    expect(button).to_be_hidden()

    with live_server.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(SubmissionVersion)) == 0
        submission = db.session.scalar(
            sa.select(StageSubmission).where(StageSubmission.proposal_id == proposal_id)
        )
        assert submission.submitted_at is None
