"""The receipt of a submission as a PDF (defect 13): the page's content and hash, for those who may
see the receipt and nobody else, and a print style that leaves the navigation off the paper."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from competition.berlin import berlin_time
from competition.extensions import db
from competition.proposals.models import SubmissionVersion
from tests.integration.submission_world import (
    add_applicant,
    build_world,
    log_in,
    post,
    submit_key,
    text,
    write_draft,
)

pytestmark = pytest.mark.postgres

CSS = Path(__file__).resolve().parents[2] / "competition" / "static" / "app.css"


def _submitted(app):  # type: ignore[no-untyped-def]
    with app.app_context():
        world = build_world()
        draft = write_draft(world)
    browser = log_in(app, world.coordinator)
    response = post(
        browser,
        f"/proposals/{draft.proposal_id}/submit",
        {"idempotency_key": submit_key(browser, draft)},
    )
    return world, draft, browser, response.headers["Location"]


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_the_receipt_page_offers_a_pdf_with_the_same_code_time_and_hash(app):
    world, draft, browser, receipt_url = _submitted(app)
    page = text(browser.get(receipt_url))
    pdf_url = f"/proposals/{draft.proposal_id}/versions/1.pdf"
    assert pdf_url in page

    answer = browser.get(pdf_url)

    assert answer.status_code == 200 and answer.mimetype == "application/pdf"
    assert "no-store" in answer.headers["Cache-Control"]
    with app.app_context():
        version = db.session.scalar(sa.select(SubmissionVersion))
        code, digest = version.receipt_code, version.content_hash
        received = berlin_time(version.submitted_at, "%d.%m.%Y %H:%M:%S")
        attachment = version.content["attachments"][0]
    assert f"receipt-{code}.pdf" in answer.headers["Content-Disposition"]
    content = pdf_text(answer.data)
    assert "Receipt: your proposal was received" in content
    assert code in content and received in content
    assert digest in content.replace("\n", "")
    assert attachment["filename"] in content and attachment["sha256"] in content.replace("\n", "")


def test_the_receipt_pdf_is_for_those_who_may_see_the_receipt_and_nobody_else(app):
    world, draft, coordinator, _receipt_url = _submitted(app)
    officer = log_in(app, world.officer)
    stranger = log_in(app, add_applicant(app))
    url = f"/proposals/{draft.proposal_id}/versions/1.pdf"

    for who in (coordinator, officer):
        answer = who.get(url)
        assert answer.status_code == 200 and answer.data.startswith(b"%PDF-")
    # As for the receipt page: the stranger does not learn that the proposal exists.
    assert stranger.get(url).status_code == 404
    assert stranger.get(f"/proposals/{draft.proposal_id}/versions/1").status_code == 404


def test_printing_a_page_leaves_out_the_navigation_and_the_buttons():
    css = CSS.read_text(encoding="utf-8")
    printed = css[css.index("@media print") :]
    hidden = printed[: printed.index("display: none")]

    for selector in (".top", "button", "form", ".actions"):
        assert selector in hidden, selector
