"""The jury on PostgreSQL, continued: a conflicted juror never sees the proposal, officers'
conflicts, the consortium's exclusions, and who may use which page. The world is in
jury_world.py."""

# ruff: noqa: F811

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from competition.accounts.models import User
from competition.assignment import operations as ops
from competition.assignment.models import (
    Bid,
    BidLevel,
    Conflict,
    ConflictSource,
    ExclusionRequest,
)
from competition.audit.models import AuditEvent
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.notifications.models import Notification
from competition.organisations.models import Organisation
from competition.programmes.models import Call, Stage
from competition.proposals.models import (
    Proposal,
    ProposalState,
)
from tests.factories import (
    NOW,
    make_organisation,
    make_proposal,
)
from tests.helpers import (
    as_person,
    in_app,
    text,
)
from tests.integration.jury_world import (
    ACRONYMS,
    JUROR_PAGES,
    OFFICER_PAGES,
    SOURCES,
    TITLES,
    WHERE,
    _page,
    _resolve,
    accept_and_profile,
    conflicted,  # noqa: F401  (a fixture, found by name)
    conflicts_of,
    invite,
    listed_ids,
    membership_of,
    plain,
    submitted,
    world,  # noqa: F401  (a fixture, found by name)
)

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("name", SOURCES)
def test_a_conflicted_juror_never_sees_the_proposal(app, conflicted, name, where):
    world = conflicted
    browser = as_person(app, world.juror)

    response = _page(browser, world, name, where)

    body = text(response)
    if where.startswith("bidding search"):
        # The search box shows what the juror typed; nothing else may.
        query = TITLES[name] if where.endswith("title") else ACRONYMS[name]
        assert body.count(f'value="{query}"') == 2
        body = body.replace(f'value="{query}"', "")
    assert TITLES[name] not in body
    assert ACRONYMS[name] not in body
    assert f"proposal-{world.proposals[name]}" not in body
    assert f"bid_{world.proposals[name]}" not in body
    if where == "bid post":
        assert response.status_code == 404
    else:
        assert response.status_code == 200
    if where.startswith("bidding search"):
        assert "0 proposals" in body
    with in_app(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Bid)) == 0


def test_automatic_reasons_read_in_german_for_german_readers_and_typed_ones_as_typed(
    app, conflicted
):
    """The reasons the system sets are stored as texts and said in each reader's language;
    what a person typed stays as typed."""
    world = conflicted
    with in_app(app):
        for person in (world.juror, world.officer):
            db.session.get(User, person.id).locale = "de"
        db.session.commit()

    juror_page = plain(text(as_person(app, world.juror).get(world.conflicts_url)))
    officer_page = plain(text(as_person(app, world.officer).get(world.jury_url)))

    partner = "Die eigene Einrichtung Partner Institute ist Partnerin im Verbund."
    former = "Die frühere Einrichtung Former Institute koordiniert den Verbund."
    assert f"Automatisch gesetzt: {partner}" in juror_page
    assert f"Automatisch gesetzt: {former}" in juror_page
    assert "I advise the coordinator." in juror_page
    assert partner in officer_page and former in officer_page
    assert "Co-author of the coordinator." in officer_page
    assert "is a partner of the consortium" not in juror_page + officer_page
    assert '{"t"' not in juror_page + officer_page


def test_the_declaration_page_shows_only_the_jurors_own_conflicts(app, conflicted):
    """Automatic and declared conflicts are the juror's own knowledge and shown with why; a
    proposal an officer or the consortium kept them off is not listed at all."""
    world = conflicted

    page = text(as_person(app, world.juror).get(world.conflicts_url))

    words = plain(page)
    assert "Set automatically: Affiliation Partner Institute is a partner" in words
    assert "Set automatically: Former organisation Former Institute is the coordinator" in words
    assert "Declared by you" in words and "I advise the coordinator." in words
    for name in ("officer", "applicant"):
        assert TITLES[name] not in page and ACRONYMS[name] not in page
        assert f"proposal-{world.proposals[name]}" not in page
    assert "Co-author of the coordinator." not in page
    assert "Works for our direct competitor." not in page
    assert f'name="conflict_{world.proposals["free"]}"' in page


def test_the_conflicted_juror_still_sees_the_free_proposal(app, conflicted):
    page = text(as_person(app, conflicted.juror).get(conflicted.bids_url))

    assert listed_ids(page) == {conflicted.proposals["free"]}
    assert "1 proposal" in page


def test_a_bid_post_naming_a_conflicted_proposal_among_others_saves_nothing(app, conflicted):
    world = conflicted

    response = as_person(app, world.juror).submit(
        world.bids_url,
        {f"bid_{world.proposals['free']}": "eager", f"bid_{world.proposals['officer']}": "eager"},
    )

    assert response.status_code == 404
    with in_app(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Bid)) == 0


def test_operations_refuse_a_conflicted_bid(app, conflicted):
    with in_app(app):
        for name in SOURCES:
            with pytest.raises(PermissionDenied):
                ops.save_bid(
                    db.session.get(Proposal, conflicted.proposals[name]),
                    db.session.get(Stage, conflicted.stage_id),
                    actor=db.session.get(User, conflicted.juror.id),
                    level=BidLevel.EAGER,
                    now=NOW,
                )


def test_a_proposal_of_the_jurors_organisation_is_hidden_before_the_conflicts_are_refreshed(
    app, conflicted
):
    """Submitted after the juror's last refresh: no conflict row yet, hidden all the same."""
    world = conflicted
    with in_app(app):
        call = db.session.get(Call, world.call_id)
        late = submitted(
            make_proposal(
                call,
                title="Belated kelp refinery",
                acronym="KELPX",
                organisations=(
                    make_organisation(),
                    db.session.get(Organisation, world.organisations["partner"]),
                ),
            ),
            db.session.get(Stage, world.stage_id),
        )
        db.session.commit()
        late_id = late.id
        assert late_id not in conflicts_of(world.juror.id)
    browser = as_person(app, world.juror)

    listing = text(browser.get(world.bids_url, query_string={"q": "kelp"}))
    post = browser.submit(world.bids_url, {f"bid_{late_id}": "eager"})

    assert "Belated kelp refinery" not in listing and late_id not in listed_ids(listing)
    assert post.status_code == 404
    # The officer's refresh then records it.
    officer = as_person(app, world.officer)
    officer.submit(f"/calls/{world.call_id}/jury/conflicts/refresh", {}, page=world.jury_url)
    with in_app(app):
        assert conflicts_of(world.juror.id)[late_id] == {ConflictSource.AUTOMATIC}


def test_a_juror_of_another_call_sees_nothing_of_this_one(app, conflicted):
    world = conflicted
    browser = as_person(app, world.other_juror)

    home = text(browser.get("/jury"))
    assert all(title not in home for title in TITLES.values())
    assert browser.get(world.conflicts_url).status_code == 404
    assert browser.get(world.bids_url).status_code == 404
    assert browser.get(world.bids_url, query_string={"q": TITLES["free"]}).status_code == 404
    own_bids = f"/jury/calls/{world.other_call_id}/stages/{world.other_stage_id}/bids"
    # Their own call's stage with this call's proposal: not found either.
    post = browser.submit(own_bids, {f"bid_{world.proposals['free']}": "eager"})
    assert post.status_code == 404
    post = browser.submit(
        world.bids_url, {f"bid_{world.proposals['free']}": "eager"}, page=own_bids
    )
    assert post.status_code == 404
    respond = browser.submit(
        f"/jury/calls/{world.call_id}/respond", {"answer": "accept"}, page="/jury"
    )
    assert respond.status_code == 404
    own = text(browser.get(own_bids))
    assert "Someone else's call" in own
    assert all(title not in own for title in TITLES.values())


# --- officers' conflicts ------------------------------------------------------------------------


def test_officer_adds_and_removes_a_conflict_with_reasons(app, world):
    accept_and_profile(app, world, declare={})
    officer = as_person(app, world.officer)
    juror = as_person(app, world.juror)
    free = world.proposals["free"]
    assert free in listed_ids(text(juror.get(world.bids_url)))

    missing = officer.submit(
        f"/calls/{world.call_id}/jury/conflicts",
        {"conflict-juror_id": str(world.juror.id), "conflict-proposal_id": str(free)},
        page=world.jury_url,
    )
    added = officer.submit(
        f"/calls/{world.call_id}/jury/conflicts",
        {
            "conflict-juror_id": str(world.juror.id),
            "conflict-proposal_id": str(free),
            "conflict-reason": "Shares a lab with the coordinator.",
        },
        page=world.jury_url,
    )

    assert missing.status_code == 422
    assert re.search(r'id="conflict-reason-error">Give a reason', text(missing))
    assert added.status_code == 302
    assert free not in listed_ids(text(juror.get(world.bids_url)))
    overview = text(officer.get(world.jury_url))
    assert "Shares a lab with the coordinator." in overview
    assert re.search(
        rf'<tr id="juror-{world.juror.id}">.*?class="num conflicts-officer">1<', overview, re.S
    )
    with in_app(app):
        conflict = db.session.scalar(
            sa.select(Conflict).where(
                Conflict.user_id == world.juror.id, Conflict.proposal_id == free
            )
        )
        assert conflict.source == ConflictSource.OFFICER
        conflict_id = conflict.id
    remove_url = f"/calls/{world.call_id}/jury/conflicts/{conflict_id}/remove"

    no_reason = officer.submit(remove_url, {}, page=world.jury_url)
    removed = officer.submit(
        remove_url, {f"remove-{conflict_id}-reason": "Lab closed in 2019."}, page=world.jury_url
    )

    assert no_reason.status_code == 422
    assert re.search(rf'id="remove-{conflict_id}-reason-error">Give a reason', text(no_reason))
    assert removed.status_code == 302
    assert free in listed_ids(text(juror.get(world.bids_url)))
    with in_app(app):
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "conflict.removed")
        )
        assert event.after == {}
        assert event.personal == {
            "before": {"reason": "Shares a lab with the coordinator."},
            "after": {"reason": "Lab closed in 2019."},
        }
        assert event.before["source"] == "officer"


def test_an_automatic_conflict_cannot_be_removed(app, world):
    accept_and_profile(app, world, declare={})
    with in_app(app):
        conflict_id = db.session.scalar(
            sa.select(Conflict.id).where(
                Conflict.user_id == world.juror.id,
                Conflict.proposal_id == world.proposals["partner"],
            )
        )
    officer = as_person(app, world.officer)
    overview = text(officer.get(world.jury_url))
    assert f"/jury/conflicts/{conflict_id}/remove" not in overview

    response = officer.submit(
        f"/calls/{world.call_id}/jury/conflicts/{conflict_id}/remove",
        {f"remove-{conflict_id}-reason": "Please."},
        page=world.jury_url,
    )

    assert response.status_code == 422
    assert "cannot be removed" in text(response)
    with in_app(app):
        assert db.session.get(Conflict, conflict_id) is not None


def test_refreshing_automatic_conflicts_is_idempotent(app, world):
    accept_and_profile(app, world, declare={})
    with in_app(app):
        call = db.session.get(Call, world.call_id)
        before = conflicts_of(world.juror.id)

        assert ops.refresh_automatic_conflicts(call, now=NOW) == (0, 0)
        assert ops.refresh_automatic_conflicts(call, now=NOW) == (0, 0)
        assert conflicts_of(world.juror.id) == before
        # A withdrawn proposal's automatic conflict is stale and goes.
        db.session.get(Proposal, world.proposals["partner"]).state = ProposalState.WITHDRAWN
        db.session.commit()
        assert ops.refresh_automatic_conflicts(call, now=NOW) == (0, 1)
        assert world.proposals["partner"] not in conflicts_of(world.juror.id)


def test_officer_overview_counts_states_conflicts_and_bids(app, conflicted):
    world = conflicted
    invite(app, world, world.stranger)
    as_person(app, world.juror).submit(world.bids_url, {f"bid_{world.proposals['free']}": "eager"})

    page = text(as_person(app, world.officer).get(world.jury_url))

    assert "1 invited · 1 accepted · 0 declined" in page
    assert (
        "Automatic: 3 · Declared by the juror: 1 · Set by an officer: 1 · Asked by the "
        "consortium: 1" in page
    )
    row = re.search(rf'<tr id="juror-{world.juror.id}">(.*?)</tr>', page, re.S)
    assert row
    assert re.findall(r'class="num conflicts-\w+">(\d+)<', row.group(1)) == ["3", "1", "1", "1"]
    assert re.search(r'class="num bids">1<', row.group(1))


# --- the consortium's exclusions ----------------------------------------------------------------


def test_applicant_excludes_an_existing_account(app, world):
    browser = as_person(app, world.applicant)
    edit = text(browser.get(f"/proposals/{world.proposals['applicant']}/edit"))
    assert "Jurors to exclude" in edit

    response = browser.submit(
        world.exclusions_url(),
        {"juror_email": world.juror.email, "reason": "Works for our competitor."},
        page=f"/proposals/{world.proposals['applicant']}/edit",
    )

    assert response.status_code == 302
    notice = text(browser.get(response.location))
    assert "will not review this proposal" in notice
    with in_app(app):
        assert conflicts_of(world.juror.id) == {
            world.proposals["applicant"]: {ConflictSource.APPLICANT}
        }
        conflict = db.session.scalar(sa.select(Conflict))
        assert conflict.reason == "Works for our competitor."
        assert conflict.created_by_id == world.applicant.id
    listing = text(browser.get(world.exclusions_url()))
    assert world.juror.email in listing and "Works for our competitor." in listing


def test_an_unknown_address_is_noted_and_becomes_a_conflict_when_the_person_joins(app, world):
    browser = as_person(app, world.applicant)
    address = "rival.professor@example.org"

    response = browser.submit(
        world.exclusions_url(), {"juror_email": address, "reason": "Our rival."}
    )

    assert response.status_code == 302
    assert "will not review this proposal" in text(browser.get(response.location))
    with in_app(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Conflict)) == 0
        request = db.session.scalar(sa.select(ExclusionRequest))
        assert (request.email, request.reason) == (address, "Our rival.")
    assert address in text(browser.get(world.exclusions_url()))

    officer = as_person(app, world.officer)
    invited = officer.submit(
        world.jury_url, {"invite-name": "Prof. Rival", "invite-email": address}
    )

    assert invited.status_code == 302
    with in_app(app):
        user = db.session.scalar(sa.select(User).where(User.email == address))
        assert conflicts_of(user.id) == {world.proposals["applicant"]: {ConflictSource.APPLICANT}}
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ExclusionRequest)) == 0
    # The applicant's list reads the same as before.
    assert address in text(browser.get(world.exclusions_url()))


def test_the_answer_is_the_same_with_and_without_an_account(app, world):
    browser = as_person(app, world.applicant)

    def notice(address: str) -> tuple[int, str, str]:
        response = browser.submit(world.exclusions_url(), {"juror_email": address, "reason": "R"})
        page = text(browser.get(response.location))
        flash = re.search(r'class="flash flash-success"[^>]*>([^<]+)<', page)
        assert flash
        return response.status_code, response.location, flash.group(1).replace(address, "…")

    assert notice(world.juror.email) == notice("nobody@example.org")


def test_an_exclusion_without_a_reason_or_twice_is_refused_at_the_field(app, world):
    browser = as_person(app, world.applicant)

    no_reason = browser.submit(world.exclusions_url(), {"juror_email": world.juror.email})
    first = browser.submit(world.exclusions_url(), {"juror_email": "x@example.org", "reason": "R"})
    twice = browser.submit(world.exclusions_url(), {"juror_email": "X@example.org", "reason": "R"})

    assert no_reason.status_code == 422
    assert re.search(r'id="reason-error">Give a reason', text(no_reason))
    assert first.status_code == 302
    assert twice.status_code == 422
    assert re.search(r'id="juror_email-error">You have already asked', text(twice))


def test_only_the_coordinator_may_ask_to_exclude(app, world):
    contributor = as_person(app, world.contributor)
    stranger = as_person(app, world.stranger)
    data = {"juror_email": world.juror.email, "reason": "R"}

    refused = contributor.submit(world.exclusions_url(), data)
    hidden = stranger.submit(world.exclusions_url(), data, page="/")

    assert refused.status_code == 303
    assert hidden.status_code == 404
    assert stranger.get(world.exclusions_url()).status_code == 404
    with in_app(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Conflict)) == 0


def test_the_applicants_list_shows_only_their_own_requests(app, conflicted):
    """Declared, officer and automatic conflicts name jurors: never shown to the consortium."""
    world = conflicted
    with in_app(app):
        ops.add_officer_conflict(
            db.session.get(Proposal, world.proposals["free"]),
            actor=db.session.get(User, world.officer.id),
            juror=db.session.get(User, world.juror.id),
            reason="Officer's secret reason.",
            now=NOW,
        )

    page = text(as_person(app, world.applicant).get(world.exclusions_url("free")))

    assert world.juror.email not in page
    assert "Officer's secret reason." not in page


@pytest.mark.parametrize("path", JUROR_PAGES)
@pytest.mark.parametrize("who", ["applicant", "officer"])
def test_applicants_and_officers_may_not_use_juror_pages(app, world, who, path):
    response = as_person(app, getattr(world, who)).get(_resolve(world, path))

    assert response.status_code == 403


@pytest.mark.parametrize("path", OFFICER_PAGES)
@pytest.mark.parametrize("who", ["juror", "applicant"])
def test_jurors_and_applicants_may_not_use_officer_pages(app, world, who, path):
    response = as_person(app, getattr(world, who)).get(_resolve(world, path))

    assert response.status_code == 403


@pytest.mark.parametrize("who", ["juror", "officer"])
def test_jurors_and_officers_may_not_use_the_exclusion_page(app, world, who):
    assert as_person(app, getattr(world, who)).get(world.exclusions_url()).status_code == 403


def test_an_officer_of_another_programme_gets_not_found(app, world):
    browser = as_person(app, world.other_officer)

    assert browser.get(world.jury_url).status_code == 404
    response = browser.submit(
        world.jury_url,
        {"invite-name": "X", "invite-email": "x@example.org"},
        page=f"/calls/{world.other_call_id}/jury",
    )
    assert response.status_code == 404
    with in_app(app):
        with pytest.raises(PermissionDenied):
            ops.invite_juror_to_call(
                db.session.get(Call, world.call_id),
                actor=db.session.get(User, world.other_officer.id),
                email="x@example.org",
                name="X",
                now=NOW,
            )


def test_operations_refuse_jurors_who_are_not_on_the_jury(app, world):
    with in_app(app):
        call = db.session.get(Call, world.call_id)
        other = db.session.get(User, world.other_juror.id)
        with pytest.raises(PermissionDenied):
            ops.declare_conflicts(call, actor=other, proposal_ids_with_reasons={}, now=NOW)
        with pytest.raises(PermissionDenied):
            ops.save_bid(
                db.session.get(Proposal, world.proposals["free"]),
                db.session.get(Stage, world.stage_id),
                actor=other,
                level=BidLevel.EAGER,
                now=NOW,
            )
        place = membership_of(other.id, world.other_call_id)
        with pytest.raises(PermissionDenied):
            ops.respond_to_jury_invitation(
                place, actor=db.session.get(User, world.juror.id), accept=True, now=NOW
            )
        with pytest.raises(PermissionDenied):
            ops.update_juror_profile(
                other,
                actor=db.session.get(User, world.juror.id),
                affiliation_id=None,
                former_organisation_ids=[],
                topic_ids=[],
                max_load=None,
                expertise_text="",
                now=NOW,
            )


def test_the_navigation_and_dashboard_link_jurors_to_their_jury_page(app, world):
    page = text(as_person(app, world.juror).get("/"))

    assert page.count('href="/jury"') == 2


def test_the_jury_invitation_mail_names_the_call(app, world):
    invite(app, world, world.juror)
    with in_app(app):
        mail = db.session.scalar(
            sa.select(Notification).where(Notification.template == "jury/invitation")
        )
        call = db.session.get(Call, world.call_id)
        assert call.name in mail.body_text and call.name in mail.body_html
        assert mail.body_text.count("http://") == 1


def test_declare_conflicts_refuses_proposals_of_another_call(app, world):
    accept_and_profile(app, world, declare=None)
    with in_app(app):
        other_proposal = db.session.scalar(
            sa.select(Proposal.id).where(Proposal.call_id == world.other_call_id)
        )
        with pytest.raises(DomainError):
            ops.declare_conflicts(
                db.session.get(Call, world.call_id),
                actor=db.session.get(User, world.juror.id),
                proposal_ids_with_reasons={other_proposal: "Reason."},
                now=NOW,
            )
