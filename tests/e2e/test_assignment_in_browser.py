"""An officer in a real browser runs the assignment of a stage, changes one seat by hand and
releases it; a juror then finds their proposals on the reviews page."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from playwright.sync_api import Page, expect

from competition.assignment.models import Assignment
from competition.extensions import db
from competition.notifications.models import Notification
from competition.proposals.models import Proposal
from tests.e2e.languages import Words
from tests.factories import PASSWORD
from tests.integration.test_assignment_runs import World, build_world

pytestmark = pytest.mark.browser


def log_in(page: Page, base: str, email: str, say: Words | None = None) -> None:
    """Logging in from the visitor's (English) page; the account's language shows after."""
    page.goto(f"{base}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name=(say or Words("en"))("Log out"))).to_be_visible()


def stage_assignments(app, world: World) -> list[Assignment]:  # type: ignore[no-untyped-def]
    with app.app_context():
        found = list(
            db.session.scalars(
                sa.select(Assignment)
                .where(Assignment.stage_id == world.stage_id, Assignment.declined_at.is_(None))
                .order_by(Assignment.proposal_id, Assignment.user_id)
            )
        )
        db.session.expunge_all()
        return found


def notified(app) -> list[int]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return sorted(
            db.session.scalars(
                sa.select(Notification.user_id).where(Notification.template == "jury/assignments")
            )
        )


def test_an_officer_runs_changes_and_releases_the_assignment(live_server, page):  # type: ignore[no-untyped-def]
    with live_server.app_context():
        world = build_world()
    base = live_server.base_url
    names = {juror_id: email.split("@")[0].title() for email, juror_id in world.jurors.items()}

    log_in(page, base, world.officer)
    page.goto(f"{base}/calls/{world.call_id}/jury")
    page.locator("p", has_text="Assign proposals to jurors").get_by_role(
        "link", name="Outline"
    ).click()
    expect(page.get_by_role("heading", name="Assignment: Outline")).to_be_visible()
    expect(page.locator("#assignment-facts")).to_contain_text("6 proposals × 2 jurors = 12 seats")

    page.get_by_role("button", name="Start the assignment").click()
    expect(page.get_by_text("The assignment has started.")).to_be_visible()
    # The run goes on in the background; the page follows it and shows the result.
    expect(page.get_by_text("proven optimal")).to_be_visible(timeout=30_000)
    expect(page.locator("#run-message")).to_contain_text("12 assignments")
    loads = page.get_by_role("table", name="Proposals per juror")
    expect(loads).to_be_visible()
    for name in names.values():
        expect(loads.get_by_role("cell", name=name, exact=True)).to_have_count(1)
    assert len(stage_assignments(live_server, world)) == 12

    # One of the weakest matches, one juror swapped for the best alternate.
    weakest = page.get_by_role("table", name="Proposals whose jurors match them least")
    weakest.get_by_role("link").first.click()
    expect(page.get_by_role("heading", name="Jurors", exact=True)).to_be_visible()
    expect(page.locator("#seat-count")).to_have_text("2 of 2 jurors.")
    proposal_id = int(re.search(r"/proposals/(\d+)$", page.url).group(1))  # type: ignore[union-attr]
    seat = page.get_by_role("row").filter(has=page.get_by_role("button", name="Swap")).first
    leaving = seat.get_by_role("cell").first.inner_text().strip()
    replacement = seat.get_by_label("Replace with")
    coming = replacement.locator("option:checked").inner_text().split(" (")[0]
    seat.get_by_role("button", name="Swap").click()

    expect(page.get_by_text("The assignment is changed.")).to_be_visible()
    expect(page.locator("#seat-count")).to_have_text("2 of 2 jurors.")
    jurors = page.get_by_role("region", name="Jurors")
    expect(jurors.get_by_role("cell", name=coming, exact=True)).to_have_count(1)
    expect(jurors.get_by_role("cell", name=leaving, exact=True)).to_have_count(0)
    on_proposal = {
        names[a.user_id]
        for a in stage_assignments(live_server, world)
        if a.proposal_id == proposal_id
    }
    assert coming in on_proposal and leaving not in on_proposal and len(on_proposal) == 2

    page.get_by_role("link", name="Assignment: Outline").click()
    page.get_by_role("link", name="Release to the jurors…").click()
    expect(
        page.get_by_role("heading", name="Release the assignment to the jurors?")
    ).to_be_visible()
    expect(page.get_by_text("12 assignments go out now.")).to_be_visible()
    page.get_by_role("button", name="Release and notify the jurors").click()

    expect(
        page.get_by_text("12 assignments released; each juror is told by e-mail.")
    ).to_be_visible()
    expect(page.locator("#released")).to_contain_text("Released to the jurors on")
    expect(page.get_by_role("button", name="Start the assignment")).to_have_count(0)
    assigned = stage_assignments(live_server, world)
    assert len(assigned) == 12
    assert all(a.released_at is not None for a in assigned)
    assigned_jurors = sorted({a.user_id for a in assigned})
    assert notified(live_server) == assigned_jurors

    # A juror who got proposals sees them on their reviews page.
    juror_id = assigned_jurors[0]
    theirs = [a.proposal_id for a in assigned if a.user_id == juror_id]
    email = next(e for e, i in world.jurors.items() if i == juror_id)
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    log_in(page, base, email)
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Reviews").click()
    count = len(theirs)
    expect(
        page.get_by_text(f"0 of {count} review{'' if count == 1 else 's'} submitted.")
    ).to_be_visible()
    with live_server.app_context():
        references = list(
            db.session.scalars(sa.select(Proposal.reference).where(Proposal.id.in_(theirs)))
        )
    for reference in references:
        expect(page.get_by_role("link", name=reference)).to_be_visible()
