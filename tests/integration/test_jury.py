"""The jury of a call on PostgreSQL: an officer invites jurors; a juror accepts or declines, keeps
a profile, declares conflicts (nothing of the call opens before), and bids; conflicts come from
the juror's organisations (any consortium member, current or former), the juror's declaration,
an officer and the consortium's exclusion requests. The core rule: a conflicted juror never sees
the proposal, on any page of the jury area. And who may use which page."""

# ruff: noqa: F811

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User, UserStatus
from competition.assignment import operations as ops
from competition.assignment.models import (
    Bid,
    BidLevel,
    Conflict,
    ConflictSource,
    MembershipState,
)
from competition.audit.models import AuditEvent
from competition.core.texts import load
from competition.errors import PermissionDenied
from competition.extensions import db
from competition.notifications.models import Notification
from competition.programmes.models import Call, Stage
from competition.proposals.models import (
    Proposal,
)
from tests.factories import (
    NOW,
    make_proposal,
    make_topic,
)
from tests.helpers import (
    as_person,
    in_app,
    queries_for_page,
    text,
)
from tests.integration.jury_world import (
    ACRONYMS,
    TITLES,
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


# --- invitations --------------------------------------------------------------------------------


def test_officer_invites_a_new_person_who_gets_the_account_and_the_jury_mail(app, world):
    browser = as_person(app, world.officer)

    response = browser.submit(
        world.jury_url, {"invite-name": "Dr. Ada Reviewer", "invite-email": "Ada@Example.org"}
    )

    assert response.status_code == 302
    with in_app(app):
        user = db.session.scalar(sa.select(User).where(User.email == "ada@example.org"))
        assert user is not None and user.status == UserStatus.INVITED
        assert user.has_role(Role.JUROR)
        assert membership_of(user.id, world.call_id).state == MembershipState.INVITED
        mails = db.session.scalars(
            sa.select(Notification).where(Notification.to_address == "ada@example.org")
        ).all()
        assert sorted(m.template for m in mails) == ["accounts/invitation", "jury/invitation"]
        jury_mail = next(m for m in mails if m.template == "jury/invitation")
        assert "/jury" in jury_mail.body_text
        assert jury_mail.subject == "You are invited to a competition jury"
    page = text(browser.get(world.jury_url))
    assert "Dr. Ada Reviewer" in page and "ada@example.org" in page


def test_an_existing_juror_gets_only_the_jury_mail(app, world):
    browser = as_person(app, world.officer)

    response = browser.submit(
        world.jury_url, {"invite-name": "", "invite-email": world.juror.email}
    )

    assert response.status_code == 302
    with in_app(app):
        templates = db.session.scalars(
            sa.select(Notification.template).where(Notification.to_address == world.juror.email)
        ).all()
        assert templates == ["jury/invitation"]
        assert (
            db.session.scalar(
                sa.select(AuditEvent.action).where(AuditEvent.action == "jury.invited")
            )
            == "jury.invited"
        )


def test_an_applicant_account_gains_the_juror_role_when_invited(app, world):
    browser = as_person(app, world.officer)

    response = browser.submit(
        world.jury_url, {"invite-name": "", "invite-email": world.stranger.email}
    )

    assert response.status_code == 302
    with in_app(app):
        user = db.session.get(User, world.stranger.id)
        assert user.has_role(Role.JUROR) and user.has_role(Role.APPLICANT)
        templates = sorted(
            db.session.scalars(
                sa.select(Notification.template).where(Notification.user_id == user.id)
            )
        )
        assert templates == ["accounts/role_granted", "jury/invitation"]


def test_inviting_twice_is_refused_at_the_field(app, world):
    browser = as_person(app, world.officer)
    browser.submit(world.jury_url, {"invite-name": "", "invite-email": world.juror.email})

    response = browser.submit(
        world.jury_url, {"invite-name": "", "invite-email": world.juror.email.upper()}
    )

    assert response.status_code == 422
    assert re.search(
        r'id="invite-email-error">[^<]*has already been invited to this jury', text(response)
    )
    with in_app(app):
        assert (
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(Notification)
                .where(Notification.template == "jury/invitation")
            )
            == 1
        )


def test_a_new_person_without_a_name_is_refused_at_the_field(app, world):
    response = as_person(app, world.officer).submit(
        world.jury_url, {"invite-name": "", "invite-email": "nameless@example.org"}
    )

    assert response.status_code == 422
    assert re.search(r'id="invite-name-error">Enter the person', text(response))


# --- answering, the profile, declaring ------------------------------------------------------------


def test_juror_accepts_and_is_sent_to_declare_conflicts(app, world):
    invite(app, world, world.juror)
    browser = as_person(app, world.juror)
    page = text(browser.get("/jury"))
    assert "You are invited to this call's jury" in page

    response = browser.submit(
        f"/jury/calls/{world.call_id}/respond", {"answer": "accept"}, page="/jury"
    )

    assert response.status_code == 302
    assert response.location.endswith(world.conflicts_url)
    with in_app(app):
        place = membership_of(world.juror.id, world.call_id)
        assert place.state == MembershipState.ACCEPTED and place.responded_at is not None
        assert place.conflicts_declared_at is None
    assert "Declare conflicts of interest" in text(browser.get("/jury"))


def test_juror_declines(app, world):
    invite(app, world, world.juror)
    browser = as_person(app, world.juror)

    browser.submit(f"/jury/calls/{world.call_id}/respond", {"answer": "decline"}, page="/jury")

    with in_app(app):
        assert membership_of(world.juror.id, world.call_id).state == MembershipState.DECLINED
    assert "You declined this invitation" in text(browser.get("/jury"))
    # A declined place opens nothing.
    assert browser.get(world.conflicts_url).status_code == 404
    again = browser.submit(
        f"/jury/calls/{world.call_id}/respond", {"answer": "accept"}, page="/jury"
    )
    assert again.status_code == 303
    with in_app(app):
        assert membership_of(world.juror.id, world.call_id).state == MembershipState.DECLINED


def test_an_invited_juror_cannot_open_the_call_before_accepting(app, world):
    invite(app, world, world.juror)
    browser = as_person(app, world.juror)

    assert browser.get(world.conflicts_url).status_code == 404
    assert browser.get(world.bids_url).status_code == 404


def test_bidding_before_declaring_redirects_to_the_declaration_with_a_message(app, world):
    accept_and_profile(app, world, declare=None)
    browser = as_person(app, world.juror)

    response = browser.get(world.bids_url)
    post = browser.submit(
        world.bids_url, {f"bid_{world.proposals['free']}": "eager"}, page=world.conflicts_url
    )

    for answer in (response, post):
        assert answer.status_code == 302
        assert answer.location.endswith(world.conflicts_url)
    page = text(browser.get(response.location))
    assert "Declare your conflicts of interest first" in page
    with in_app(app):
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Bid)) == 0


def test_profile_page_saves_and_sets_automatic_conflicts_for_a_partner_and_a_former_org(app, world):
    invite(app, world, world.juror)
    browser = as_person(app, world.juror)
    browser.submit(f"/jury/calls/{world.call_id}/respond", {"answer": "accept"}, page="/jury")
    with in_app(app):
        topic_id = db.session.get(Proposal, world.proposals["free"]).topics[0].id

    response = browser.submit(
        "/jury/profile",
        {
            # Typed as a juror without JavaScript would: another case, extra spaces.
            "affiliation": "  partner  INSTITUTE ",
            "add_former": "Former Institute",
            "topic_ids": [str(topic_id)],
            "max_load": "6",
            "expertise_text": "Harbours, shipping, supply chains.",
        },
    )

    assert response.status_code == 302
    with in_app(app):
        conflicts = db.session.scalars(
            sa.select(Conflict).where(Conflict.user_id == world.juror.id)
        ).all()
        by_proposal = {c.proposal_id: c for c in conflicts}
        # "partner" has the juror's organisation as a partner, not as coordinator.
        assert set(by_proposal) == {
            world.proposals["partner"],
            world.proposals["former"],
            world.proposals["draft"],
        }
        assert {c.source for c in conflicts} == {ConflictSource.AUTOMATIC}
        reasons = {p: str(load(c.reason)) for p, c in by_proposal.items()}
        assert "Partner Institute is a partner" in reasons[world.proposals["partner"]]
        assert (
            "Former organisation Former Institute is the coordinator"
            in reasons[world.proposals["former"]]
        )
    # The declaration page shows them as already set, with why.
    page = text(browser.get(world.conflicts_url))
    assert "Set automatically: Affiliation Partner Institute is a partner" in plain(page)
    assert f'name="conflict_{world.proposals["partner"]}"' not in page
    assert f'name="conflict_{world.proposals["declared"]}"' in page
    # The profile form shows what was saved.
    profile = text(browser.get("/jury/profile"))
    assert "Harbours, shipping, supply chains." in profile
    assert 'value="6"' in profile
    assert 'value="Partner Institute"' in profile
    assert re.search(
        rf'<input checked [^>]*value="{world.organisations["former"]}">\s*<label[^>]*>'
        "Former Institute",
        profile,
    )


def test_profile_with_an_unknown_organisation_is_refused_at_the_field(app, world):
    browser = as_person(app, world.juror)

    response = browser.submit(
        "/jury/profile", {"affiliation": "Nowhere Institute", "max_load": "500"}
    )

    assert response.status_code == 422
    page = text(response)
    assert re.search(r'id="affiliation-error">No organisation in the registry is called', page)
    assert re.search(r'id="max_load-error">Enter a number from 1 to 100', page)


def test_automatic_conflicts_disappear_when_the_profile_changes(app, world):
    accept_and_profile(app, world, declare={})
    browser = as_person(app, world.juror)
    assert world.proposals["partner"] not in listed_ids(text(browser.get(world.bids_url)))

    browser.submit("/jury/profile", {"affiliation": "New_home Institute"})

    with in_app(app):
        assert conflicts_of(world.juror.id) == {}
    listed = listed_ids(text(browser.get(world.bids_url)))
    assert {world.proposals["partner"], world.proposals["former"]} <= listed


def test_declaring_without_a_reason_is_refused_at_the_field(app, world):
    accept_and_profile(app, world, declare=None)
    browser = as_person(app, world.juror)
    declared_id = world.proposals["declared"]

    response = browser.submit(
        world.conflicts_url, {f"conflict_{declared_id}": "y", f"reason_{declared_id}": "  "}
    )

    assert response.status_code == 422
    assert re.search(
        rf'id="reason_{declared_id}-error">Say why you have a conflict', text(response)
    )
    with in_app(app):
        assert membership_of(world.juror.id, world.call_id).conflicts_declared_at is None
        assert ConflictSource.DECLARED not in conflicts_of(world.juror.id).get(declared_id, set())


def test_declaring_a_conflict_with_a_reason_opens_the_call(app, world):
    accept_and_profile(app, world, declare=None)
    browser = as_person(app, world.juror)
    declared_id = world.proposals["declared"]

    response = browser.submit(
        world.conflicts_url,
        {f"conflict_{declared_id}": "y", f"reason_{declared_id}": "I advise the coordinator."},
    )

    assert response.status_code == 302
    with in_app(app):
        assert membership_of(world.juror.id, world.call_id).conflicts_declared_at is not None
        conflict = db.session.scalar(
            sa.select(Conflict).where(
                Conflict.user_id == world.juror.id, Conflict.proposal_id == declared_id
            )
        )
        assert conflict.source == ConflictSource.DECLARED
        assert conflict.reason == "I advise the coordinator."
        assert db.session.scalar(
            sa.select(AuditEvent.id).where(AuditEvent.action == "conflicts.declared")
        )
    page = text(browser.get(world.bids_url))
    assert TITLES["free"] in page and TITLES["declared"] not in page
    declaration = text(browser.get(world.conflicts_url))
    assert "Declared by you" in declaration and "I advise the coordinator." in declaration


def test_declaring_none_is_a_declaration(app, world):
    accept_and_profile(app, world, declare=None)
    browser = as_person(app, world.juror)

    response = browser.submit(world.conflicts_url, {})

    assert response.status_code == 302
    with in_app(app):
        assert membership_of(world.juror.id, world.call_id).conflicts_declared_at is not None
    assert browser.get(world.bids_url).status_code == 200


def test_declaration_lists_submitted_proposals_with_their_organisations(app, world):
    accept_and_profile(app, world, declare=None)

    page = text(as_person(app, world.juror).get(world.conflicts_url))

    for name in ("partner", "former", "declared", "officer", "applicant", "free"):
        assert TITLES[name] in page and ACRONYMS[name] in page
    assert "Coordinator Institute, Partner Institute" in page
    assert TITLES["draft"] not in page and TITLES["withdrawn"] not in page


# --- bidding ------------------------------------------------------------------------------------


def test_bids_are_saved_and_updated(app, world):
    accept_and_profile(app, world, declare={})
    browser = as_person(app, world.juror)
    free, declared = world.proposals["free"], world.proposals["declared"]

    first = browser.submit(world.bids_url, {f"bid_{free}": "eager", f"bid_{declared}": ""})
    page = text(browser.get(world.bids_url))
    second = browser.submit(world.bids_url, {f"bid_{free}": "not_willing"})

    assert first.status_code == second.status_code == 302
    assert re.search(rf'<select id="bid_{free}"[^>]*>.*?value="eager" selected', page, re.S)
    with in_app(app):
        bids = db.session.scalars(sa.select(Bid)).all()
        assert [(b.proposal_id, b.stage_id, b.user_id, b.level) for b in bids] == [
            (free, world.stage_id, world.juror.id, BidLevel.NOT_WILLING)
        ]
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action == "bid.saved")
        ).all()
        assert len(actions) == 2


def test_an_unknown_bid_level_is_refused(app, world):
    accept_and_profile(app, world, declare={})

    response = as_person(app, world.juror).submit(
        world.bids_url, {f"bid_{world.proposals['free']}": "desperate"}
    )

    assert response.status_code == 422
    assert "Choose one of the bid levels" in text(response)


def test_bidding_search_finds_by_title_acronym_abstract_and_topic(app, world):
    accept_and_profile(app, world, declare={})
    browser = as_person(app, world.juror)
    free = world.proposals["free"]

    for query in (
        "photonic vineyard",
        ACRONYMS["free"].lower(),
        "abstract of photonic",
        "viticulture",
    ):
        page = text(browser.get(world.bids_url, query_string={"q": query}))
        assert listed_ids(page) == {free}, query
        assert "1 proposal" in page


def test_bidding_list_is_paginated(app, world):
    with in_app(app):
        call = db.session.get(Call, world.call_id)
        stage = db.session.get(Stage, world.stage_id)
        for n in range(26):
            submitted(make_proposal(call, title=f"Filler {n}"), stage)
        db.session.commit()
    accept_and_profile(app, world, declare={})
    browser = as_person(app, world.juror)

    first = text(browser.get(world.bids_url))
    second = text(browser.get(world.bids_url, query_string={"page": 2}))

    # 26 fillers and the four without a conflict here ("partner" and "former" are automatic).
    assert len(listed_ids(first)) == 25
    assert len(listed_ids(second)) == 5
    assert not listed_ids(first) & listed_ids(second)
    assert "(30 in all)" in first and 'rel="next"' in first


def test_bidding_list_costs_the_same_queries_for_few_and_many_proposals(app, world):
    accept_and_profile(app, world, declare={})
    browser = as_person(app, world.juror)

    few = queries_for_page(app, browser, world.bids_url)
    with in_app(app):
        call = db.session.get(Call, world.call_id)
        stage = db.session.get(Stage, world.stage_id)
        for n in range(5):
            proposal = submitted(make_proposal(call, title=f"More {n}"), stage)
            proposal.topics.append(make_topic())
        db.session.commit()
    many = queries_for_page(app, browser, world.bids_url)

    assert many == few


def test_bidding_on_a_stage_without_bidding_is_not_found(app, world):
    accept_and_profile(app, world, declare={})
    browser = as_person(app, world.juror)
    url = f"/jury/calls/{world.call_id}/stages/{world.closed_stage_id}/bids"

    assert browser.get(url).status_code == 404
    post = browser.submit(url, {f"bid_{world.proposals['free']}": "eager"}, page=world.bids_url)
    assert post.status_code == 404
    with in_app(app):
        stage = db.session.get(Stage, world.closed_stage_id)
        with pytest.raises(PermissionDenied):
            ops.save_bid(
                db.session.get(Proposal, world.proposals["free"]),
                stage,
                actor=db.session.get(User, world.juror.id),
                level=BidLevel.EAGER,
                now=NOW,
            )
