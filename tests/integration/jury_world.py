"""What the jury tests share: a call with a jury, jurors with profiles, proposals, and a juror
with a conflict."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.assignment import operations as ops
from competition.assignment.models import (
    Conflict,
    ConflictSource,
    JuryMembership,
    MembershipState,
)
from competition.extensions import db
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
    call_run_by,
    in_app,
    person,
)

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


# --- who may use which page ---------------------------------------------------------------------

JUROR_PAGES = ["/jury", "/jury/profile", "CONFLICTS", "BIDS"]


OFFICER_PAGES = ["JURY"]


def _resolve(world: World, path: str) -> str:
    return {"CONFLICTS": world.conflicts_url, "BIDS": world.bids_url, "JURY": world.jury_url}.get(
        path, path
    )
