"""A German juror in a real browser, with a browser set to New York in American English: the
review page's script writes German, with the server's 24-hour Europe/Berlin time; and on the
conflict form a tick box stands on one line with its label, to the label's left."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from competition.accounts.models import Role
from competition.assignment.models import JuryMembership, MembershipState
from competition.berlin import BERLIN
from competition.db import utcnow
from competition.extensions import db
from tests.factories import PASSWORD, make_assignment, make_call, make_programme, make_user
from tests.integration.reviews_world import juror_on, review_stage, submitted_proposal

pytestmark = pytest.mark.browser


@dataclass(frozen=True)
class World:
    email: str
    assignment_id: int
    call_id: int
    proposal_id: int


def german_juror(app, *, declared: bool) -> World:  # type: ignore[no-untyped-def]
    """A German juror assigned one submitted proposal; ``declared``: conflicts declared."""
    with app.app_context():
        call = make_call(make_programme(officers=(make_user(roles=(Role.OFFICER,)),)))
        stage = review_stage(call, due_at=utcnow() + dt.timedelta(days=10))
        proposal, _ = submitted_proposal(call, stage)
        if declared:
            juror = juror_on(call, name="Greta Gutachterin", locale="de")
        else:
            juror = make_user(roles=(Role.JUROR,), name="Greta Gutachterin", locale="de")
            db.session.add(
                JuryMembership(
                    call_id=call.id,
                    user_id=juror.id,
                    state=MembershipState.ACCEPTED,
                    invited_at=utcnow(),
                    responded_at=utcnow(),
                )
            )
        assignment = make_assignment(stage, proposal, juror)
        db.session.commit()
        return World(juror.email, assignment.id, call.id, proposal.id)


@pytest.fixture
def american_browser(chromium):  # type: ignore[no-untyped-def]
    """A browser whose own clock and language would write "5:41:05 PM" and "1,234"."""
    context = chromium.new_context(timezone_id="America/New_York", locale="en-US")
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def log_in(page, base: str, email: str) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/login" not in url)


def test_the_review_pages_script_writes_german_and_the_servers_berlin_time(  # type: ignore[no-untyped-def]
    live_server, american_browser, tmp_path
):
    live_server.config["UPLOAD_FOLDER"] = str(tmp_path / "uploads")
    world = german_juror(live_server, declared=True)
    page = american_browser
    log_in(page, live_server.base_url, world.email)

    page.goto(f"{live_server.base_url}/reviews/assignments/{world.assignment_id}")
    page.locator("#comment_for_jury").fill("x" * 1234)
    expect(page.locator("#jury-count")).to_have_text("1.234 Zeichen")
    page.locator("#comment_for_applicant").fill("Kurz.")
    expect(page.locator("#applicant-count")).to_have_text("5 Zeichen (mindestens 50)")
    status = page.locator("#review-save-status")
    expect(status).to_have_text(re.compile(r"^Noch nicht gespeichert|^Wird gespeichert"))

    before = utcnow().astimezone(BERLIN).strftime("%H:%M")
    expect(status).to_contain_text("Gespeichert um", timeout=15_000)
    after = utcnow().astimezone(BERLIN).strftime("%H:%M")
    shown = re.match(r"Gespeichert um (\d\d:\d\d):\d\d (CET|CEST)", status.inner_text())
    assert shown, status.inner_text()
    assert shown.group(1) in (before, after)


def test_a_tick_box_stands_left_of_its_label_on_one_line(live_server, page):  # type: ignore[no-untyped-def]
    world = german_juror(live_server, declared=False)
    log_in(page, live_server.base_url, world.email)

    page.goto(f"{live_server.base_url}/jury/calls/{world.call_id}/conflicts")

    box = page.locator(f"#conflict_{world.proposal_id}").bounding_box()
    label = page.locator(f"label[for=conflict_{world.proposal_id}]").bounding_box()
    assert box is not None and label is not None
    assert box["width"] < 40, "the tick box is sized as a box, not as a text field"
    assert label["x"] >= box["x"] + box["width"]
    box_middle = box["y"] + box["height"] / 2
    assert label["y"] <= box_middle <= label["y"] + label["height"]
