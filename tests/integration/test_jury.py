"""The jury of a call on PostgreSQL: an officer invites jurors; a juror accepts or declines, keeps
a profile, declares conflicts (nothing of the call opens before), and bids; conflicts come from
the juror's organisations (any consortium member, current or former), the juror's declaration,
an officer and the consortium's exclusion requests. The core rule: a conflicted juror never sees
the proposal, on any page of the jury area. And who may use which page."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User, UserStatus
from competition.assignment import operations as ops
from competition.assignment.models import (
    Bid,
    BidLevel,
    Conflict,
    ConflictSource,
    ExclusionRequest,
    JuryMembership,
    MembershipState,
)
from competition.audit.models import AuditEvent
from competition.errors import DomainError, PermissionDenied
from competition.extensions import db
from competition.notifications.models import Notification
from competition.organisations.models import Organisation
from competition.programmes.models import Call, Stage
from competition.proposals.models import (
    ContributorRole,
    Proposal,
    ProposalContributor,
    ProposalState,
    StageSubmission,
    SubmissionState,
)
from tests.conftest import Browser
from tests.factories import (
    NOW,
    make_organisation,
    make_proposal,
    make_stage,
    make_topic,
    make_user,
)
from tests.helpers import (
    Person,
    as_person,
    call_run_by,
    in_app,
    person,
    queries_for_page,
    text,
)

pytestmark = pytest.mark.postgres

# Distinct words, so that a title found in a page is that proposal's and no other's.
TITLES = {
    "partner": "Quantum harbour logistics",
    "former": "Tidal membrane desalination",
    "declared": "Alpine glacier sensing network",
    "officer": "Neuromorphic textile looms",
    "applicant": "Biochar soil vault",
    "free": "Photonic vineyard drones",
    "draft": "Unfinished lantern foundry",
    "withdrawn": "Retracted cobalt lattice",
}
ACRONYMS = {name: name.upper()[:8] + "X" for name in TITLES}


# --- the world ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class World:
    call_id: int
    stage_id: int  # bidding enabled
    closed_stage_id: int  # bidding not enabled
    other_call_id: int
    other_stage_id: int
    officer: Person
    other_officer: Person
    juror: Person
    other_juror: Person  # on the other call's jury only
    applicant: Person  # coordinator of "applicant" and "free"
    contributor: Person  # a contributor (not coordinator) of "applicant"
    stranger: Person  # an applicant without a relation to any proposal
    proposals: dict[str, int]
    organisations: dict[str, int]
    topic_name: str

    @property
    def bids_url(self) -> str:
        return f"/jury/calls/{self.call_id}/stages/{self.stage_id}/bids"

    @property
    def conflicts_url(self) -> str:
        return f"/jury/calls/{self.call_id}/conflicts"

    @property
    def jury_url(self) -> str:
        return f"/calls/{self.call_id}/jury"

    def exclusions_url(self, name: str = "applicant") -> str:
        return f"/proposals/{self.proposals[name]}/exclusions"


def submitted(proposal: Proposal, stage: Stage) -> Proposal:
    db.session.add(
        StageSubmission(
            proposal=proposal,
            stage=stage,
            state=SubmissionState.SUBMITTED,
            submitted_at=NOW - dt.timedelta(days=1),
            content_hash="0" * 64,
        )
    )
    db.session.flush()
    return proposal


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,))
        other_officer = make_user(roles=(Role.OFFICER,))
        juror = make_user(roles=(Role.JUROR,))
        other_juror = make_user(roles=(Role.JUROR,))
        applicant = make_user(roles=(Role.APPLICANT,))
        contributor = make_user(roles=(Role.APPLICANT,))
        stranger = make_user(roles=(Role.APPLICANT,))
        orgs = {
            name: make_organisation(name=f"{name.capitalize()} Institute")
            for name in ("coordinator", "partner", "former", "elsewhere", "new_home", "other")
        }
        call = call_run_by(officer)
        stage = make_stage(call, bidding_enabled=True, name="Outline")
        closed = make_stage(call, name="Full proposal")
        other_call = call_run_by(other_officer)
        other_stage = make_stage(other_call, bidding_enabled=True)
        topic = make_topic(name="Viticulture robotics")

        def proposal(name: str, *members: str, **overrides: object) -> Proposal:
            members = members or ("coordinator", "other")
            return make_proposal(
                call,
                title=TITLES[name],
                acronym=ACRONYMS[name],
                abstract=f"The abstract of {TITLES[name].lower()}.",
                organisations=tuple(orgs[m] for m in members),
                **overrides,
            )

        proposals = {
            # The juror's affiliation will be a partner here, not the coordinator.
            "partner": submitted(proposal("partner", "coordinator", "partner"), stage),
            # A former organisation of the juror's coordinates this one.
            "former": submitted(proposal("former", "former", "other"), stage),
            "declared": submitted(proposal("declared"), stage),
            "officer": submitted(proposal("officer"), stage),
            "applicant": submitted(proposal("applicant", coordinator=applicant), stage),
            "free": submitted(proposal("free", coordinator=applicant), stage),
            "draft": proposal("draft", "partner", "other", state=ProposalState.DRAFT),
            "withdrawn": proposal("withdrawn", state=ProposalState.WITHDRAWN),
        }
        proposals["free"].topics.append(topic)
        proposals["applicant"].contributors.append(
            ProposalContributor(user_id=contributor.id, role=ContributorRole.CONTRIBUTOR)
        )
        other_proposal = submitted(
            make_proposal(other_call, title="Someone else's call"), other_stage
        )
        # The other juror sits on the other call's jury, with a declaration.
        db.session.add(
            JuryMembership(
                call_id=other_call.id,
                user_id=other_juror.id,
                state=MembershipState.ACCEPTED,
                invited_by_id=other_officer.id,
                invited_at=NOW,
                responded_at=NOW,
                conflicts_declared_at=NOW,
            )
        )
        assert other_proposal.id
        db.session.commit()
        return World(
            call_id=call.id,
            stage_id=stage.id,
            closed_stage_id=closed.id,
            other_call_id=other_call.id,
            other_stage_id=other_stage.id,
            officer=person(officer),
            other_officer=person(other_officer),
            juror=person(juror),
            other_juror=person(other_juror),
            applicant=person(applicant),
            contributor=person(contributor),
            stranger=person(stranger),
            proposals={name: p.id for name, p in proposals.items()},
            organisations={name: o.id for name, o in orgs.items()},
            topic_name=topic.name,
        )


def plain(page: str) -> str:
    """The page's words without markup."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page))


def listed_ids(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'<tr id="proposal-(\d+)">', page)}


def conflicts_of(user_id: int) -> dict[int, set[ConflictSource]]:
    found: dict[int, set[ConflictSource]] = {}
    for proposal_id, source in db.session.execute(
        sa.select(Conflict.proposal_id, Conflict.source).where(Conflict.user_id == user_id)
    ):
        found.setdefault(proposal_id, set()).add(source)
    return found


def membership_of(user_id: int, call_id: int) -> JuryMembership | None:
    return db.session.scalar(
        sa.select(JuryMembership).where(
            JuryMembership.user_id == user_id, JuryMembership.call_id == call_id
        )
    )


def invite(app, world: World, who: Person) -> None:  # type: ignore[no-untyped-def]
    with in_app(app):
        ops.invite_juror_to_call(
            db.session.get(Call, world.call_id),
            actor=db.session.get(User, world.officer.id),
            email=who.email,
            name="",
            now=NOW,
        )


def accept_and_profile(app, world: World, *, declare: dict[str, str] | None = None) -> None:  # type: ignore[no-untyped-def]
    """The juror joins: accepts, works at "partner" and used to work at "former"; and, unless
    ``declare`` is None, declares conflicts with the named proposals."""
    invite(app, world, world.juror)
    with in_app(app):
        juror = db.session.get(User, world.juror.id)
        call = db.session.get(Call, world.call_id)
        ops.respond_to_jury_invitation(
            membership_of(juror.id, call.id), actor=juror, accept=True, now=NOW
        )
        ops.update_juror_profile(
            juror,
            actor=juror,
            affiliation_id=world.organisations["partner"],
            former_organisation_ids=[world.organisations["former"]],
            topic_ids=[],
            max_load=5,
            expertise_text="Maritime logistics.",
            now=NOW,
        )
        if declare is not None:
            ops.declare_conflicts(
                call,
                actor=juror,
                proposal_ids_with_reasons={world.proposals[n]: r for n, r in declare.items()},
                now=NOW,
            )


@pytest.fixture
def conflicted(app, world) -> World:  # type: ignore[no-untyped-def]
    """The juror on the jury with one conflict from each source: automatic ("partner" by
    affiliation, "former" by a former organisation), declared, officer and applicant."""
    accept_and_profile(app, world, declare={"declared": "I advise the coordinator."})
    with in_app(app):
        officer = db.session.get(User, world.officer.id)
        juror = db.session.get(User, world.juror.id)
        ops.add_officer_conflict(
            db.session.get(Proposal, world.proposals["officer"]),
            actor=officer,
            juror=juror,
            reason="Co-author of the coordinator.",
            now=NOW,
        )
        ops.request_exclusion(
            db.session.get(Proposal, world.proposals["applicant"]),
            actor=db.session.get(User, world.applicant.id),
            juror_email=juror.email,
            reason="Works for our direct competitor.",
            now=NOW,
        )
    with in_app(app):
        assert conflicts_of(world.juror.id) == {
            world.proposals["partner"]: {ConflictSource.AUTOMATIC},
            world.proposals["former"]: {ConflictSource.AUTOMATIC},
            world.proposals["declared"]: {ConflictSource.DECLARED},
            world.proposals["officer"]: {ConflictSource.OFFICER},
            world.proposals["applicant"]: {ConflictSource.APPLICANT},
            # Drafts count too (only withdrawn proposals do not): set before they are submitted.
            world.proposals["draft"]: {ConflictSource.AUTOMATIC},
        }
    return world


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
            "affiliation_id": str(world.organisations["partner"]),
            "former_organisation_ids": [str(world.organisations["former"])],
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
        assert "Partner Institute is a partner" in by_proposal[world.proposals["partner"]].reason
        assert (
            "Former organisation Former Institute is the coordinator"
            in by_proposal[world.proposals["former"]].reason
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


def test_profile_with_an_unknown_organisation_is_refused_at_the_field(app, world):
    browser = as_person(app, world.juror)

    response = browser.submit("/jury/profile", {"affiliation_id": "999999", "max_load": "500"})

    assert response.status_code == 422
    page = text(response)
    assert re.search(r'id="affiliation_id-error">Choose your organisation', page)
    assert re.search(r'id="max_load-error">Enter a number from 1 to 100', page)


def test_automatic_conflicts_disappear_when_the_profile_changes(app, world):
    accept_and_profile(app, world, declare={})
    browser = as_person(app, world.juror)
    assert world.proposals["partner"] not in listed_ids(text(browser.get(world.bids_url)))

    browser.submit("/jury/profile", {"affiliation_id": str(world.organisations["new_home"])})

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


# --- the core rule: a conflicted juror never sees the proposal ----------------------------------

SOURCES = ("partner", "former", "declared", "officer", "applicant")


def _page(browser: Browser, world: World, name: str, where: str):  # type: ignore[no-untyped-def]
    title = TITLES[name]
    if where == "jury home":
        return browser.get("/jury")
    if where == "bidding list":
        return browser.get(world.bids_url)
    if where == "bidding search by title":
        return browser.get(world.bids_url, query_string={"q": title})
    if where == "bidding search by acronym":
        return browser.get(world.bids_url, query_string={"q": ACRONYMS[name]})
    if where == "bidding page 2":
        return browser.get(world.bids_url, query_string={"page": 2})
    if where == "profile":
        return browser.get("/jury/profile")
    if where == "bid post":
        return browser.submit(world.bids_url, {f"bid_{world.proposals[name]}": "eager"})
    raise AssertionError(where)


WHERE = (
    "jury home",
    "bidding list",
    "bidding search by title",
    "bidding search by acronym",
    "bidding page 2",
    "profile",
    "bid post",
)


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
        assert event.after == {"reason": "Lab closed in 2019."}
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


# --- who may use which page ---------------------------------------------------------------------

JUROR_PAGES = ["/jury", "/jury/profile", "CONFLICTS", "BIDS"]
OFFICER_PAGES = ["JURY"]


def _resolve(world: World, path: str) -> str:
    return {"CONFLICTS": world.conflicts_url, "BIDS": world.bids_url, "JURY": world.jury_url}.get(
        path, path
    )


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
