"""The applicant's submission with the keyboard alone, and focus visible at every stop.

Tab and Shift+Tab move, typing fills, Space presses a button, Enter follows a link or sends a
form; nothing is clicked. The one exception is the file itself: the system's file dialog is not
part of the page, so the focused file input is given the file directly."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from competition.extensions import db
from competition.proposals.models import SubmissionVersion
from tests.e2e.test_submission_in_browser import complete_draft, open_call
from tests.factories import PASSWORD
from tests.unit import upload_samples

pytestmark = pytest.mark.browser

Focus = dict[str, Any]

FOCUSED = """() => {
  const element = document.activeElement;
  const style = getComputedStyle(element);
  return {
    tag: element.tagName.toLowerCase(),
    id: element.id,
    type: element.getAttribute("type"),
    text: (element.innerText || element.value || "").trim(),
    outline: style.outlineStyle,
    width: parseFloat(style.outlineWidth),
  };
}"""


def tab_to(page: Page, wanted: Callable[[Focus], bool], *, back: bool = False) -> Focus:
    """Press Tab (or Shift+Tab) until the wanted element has the focus; every element passed on
    the way must show a visible focus ring."""
    for _ in range(200):
        page.keyboard.press("Shift+Tab" if back else "Tab")
        focus: Focus = page.evaluate(FOCUSED)
        if focus["tag"] == "body":
            continue  # the focus left the page for the browser's own controls, and comes back
        assert focus["outline"] != "none" and focus["width"] >= 2, f"no visible focus: {focus}"
        if wanted(focus):
            return focus
    raise AssertionError("the element was never reached with the keyboard")


def element(id_: str) -> Callable[[Focus], bool]:
    return lambda focus: focus["id"] == id_


def control(tag: str, text: str) -> Callable[[Focus], bool]:
    return lambda focus: focus["tag"] == tag and focus["text"] == text


def test_an_applicant_submits_a_proposal_with_the_keyboard_alone(live_server, page, tmp_path):  # type: ignore[no-untyped-def]
    live_server.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    world = open_call(live_server)
    proposal_id = complete_draft(live_server, world, with_attachment=False)
    base = live_server.base_url

    page.goto(f"{base}/login")
    tab_to(page, element("password"))
    page.keyboard.type(PASSWORD)
    tab_to(page, element("email"), back=True)
    page.keyboard.type(str(world["email"]))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Welcome, Clara Coordinator")).to_be_visible()

    tab_to(page, lambda focus: focus["tag"] == "a" and "LATE" in focus["text"])
    page.keyboard.press("Enter")
    expect(page.locator("#file-cv")).to_be_visible()

    cv = tmp_path / "cv.pdf"
    cv.write_bytes(upload_samples.pdf_with_pages(2))
    tab_to(page, element("file-cv"))
    page.locator(":focus").set_input_files(str(cv))
    tab_to(page, control("button", "Upload"))
    page.keyboard.press("Space")
    expect(page.get_by_text("cv.pdf uploaded.")).to_be_visible()

    # The checklist stands before the parts of the proposal in the page: back up to it.
    tab_to(page, control("a", "Review and submit"), back=True)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Everything the call asks for is there.")).to_be_visible()
    tab_to(page, control("button", "Submit the proposal"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Receipt: your proposal was received")).to_be_visible()

    with live_server.app_context():
        version = db.session.scalar(sa.select(SubmissionVersion))
        assert version is not None and version.submission.proposal_id == proposal_id
        assert [a["filename"] for a in version.content["attachments"]] == ["cv.pdf"]
