"""What the programme set-up tests share: an officer, the officer's browser, a programme set up
through the pages, and one submitted proposal to break."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.audit.models import AuditEvent
from competition.extensions import db
from competition.organisations.models import OrganisationKind
from competition.programmes.models import (
    Criterion,
    Stage,
)
from competition.proposals.models import BudgetLine, StageSubmission
from competition.proposals.snapshot import content_problems
from tests.conftest import Browser
from tests.factories import (
    NOW,
    make_call,
    make_organisation,
    make_programme,
    make_proposal,
    make_stage,
    make_topic,
    make_user,
)
from tests.helpers import Person, as_person, freeze_version, person, text

UTC = dt.UTC


# --- helpers ------------------------------------------------------------------------------


def create_person(app, *roles: Role) -> Person:  # type: ignore[no-untyped-def]
    with app.app_context():
        user = make_user(roles=roles)
        db.session.commit()
        return person(user)


def field_error(response, field: str) -> str:  # type: ignore[no-untyped-def]
    """The message shown under a form field (the forms macro gives it the id <field>-error)."""
    match = re.search(rf'id="{field}-error">(.*?)</p>', text(response), re.S)
    return match.group(1).strip() if match else ""


def id_from(location: str, pattern: str) -> int:
    match = re.search(pattern, location)
    assert match, location
    return int(match.group(1))


def count(app, model) -> int:  # type: ignore[no-untyped-def]
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


def events(app, action: str) -> list[AuditEvent]:  # type: ignore[no-untyped-def]
    with app.app_context():
        rows = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        ).all()
        db.session.expunge_all()
        return list(rows)


PROGRAMME = {
    "name": "Clusters4Future",
    "slug": "",
    "description": "Future clusters.",
    "total_budget": "630,000,000",
}


CALL = {
    "name": "Clusters4Future, first round",
    "round_number": "1",
    "reference_prefix": "c4f1",
    "description": "",
    "max_public_funding_per_proposal": "45,000,000",
    "min_private_share": "15",
    "funding_rate_sme": "50",
    "funding_rate_university": "100",
    "eastern_states": "y",
}


OUTLINE = {
    "kind": "outline",
    "name": "Outline",
    "opens_at": "2026-03-01T09:00",
    "closes_at": "2026-06-30T12:00",
    "sections": (
        "Cluster strategy | 12000\nConsortium and partners | 6,000\n\nOutlook | 3000 | optional"
    ),
    "attachment_rules": "Letters of intent | optional | 20 | 10\nCVs | required | - | 2.5",
    "reviewers_per_proposal": "4",
    "max_load_per_juror": "12",
    "selection_target": "16",
}


CRITERION = {
    "name": "Quality of the cluster strategy",
    "description": "Vision, goals and fit.",
    "weight": "2",
    "scale_min": "0",
    "scale_max": "5",
    "scale_step": "0.5",
    "threshold": "3",
}


@pytest.fixture
def officer(app) -> Person:  # type: ignore[no-untyped-def]
    return create_person(app, Role.OFFICER)


@pytest.fixture
def officer_browser(app, officer) -> Browser:  # type: ignore[no-untyped-def]
    return as_person(app, officer)


@dataclass(frozen=True)
class Setup:
    programme_id: int
    call_id: int
    stage_id: int
    criterion_id: int


@pytest.fixture
def setup(app, officer) -> Setup:  # type: ignore[no-untyped-def]
    """A programme run by ``officer`` with one call, one stage and one criterion."""
    with app.app_context():
        user = db.session.get(User, officer.id)
        programme = make_programme(officers=(user,))
        call = make_call(programme, round_number=1, reference_prefix="SET1", name="Round one")
        stage = make_stage(
            call,
            required_sections=[{"key": "strategy", "title": "Cluster strategy", "max_chars": 1000}],
        )
        criterion = Criterion(
            stage=stage,
            position=1,
            name="Excellence",
            weight=Decimal(1),
            scale_min=Decimal(0),
            scale_max=Decimal(5),
            scale_step=Decimal("0.5"),
        )
        db.session.add(criterion)
        db.session.commit()
        return Setup(programme.id, call.id, stage.id, criterion.id)


# --- bad input: the message at the field, 422, nothing saved ------------------------------

PROGRAMME_ERRORS = [
    ({"name": ""}, "name", "Enter a name for the programme."),
    ({"total_budget": "lots"}, "total_budget", "Enter an amount in euro"),
    ({"total_budget": "-5"}, "total_budget", "Enter a total budget of 0 euro or more."),
    ({"total_budget": "1.005"}, "total_budget", "Use at most two decimal places"),
    ({"slug": "Not a slug!"}, "slug", "lower-case letters, digits and single hyphens"),
]


CALL_ERRORS = [
    ({"name": ""}, "name", "Enter a name for the call."),
    ({"round_number": "first"}, "round_number", "Enter the round as a whole number"),
    ({"round_number": "1"}, "round_number", "Round 1 of this programme is already “Round one”"),
    ({"reference_prefix": "C 4!"}, "reference_prefix", "Use at most 20 letters, digits"),
    ({"reference_prefix": "set1"}, "reference_prefix", "“Round one” already uses SET1"),
    ({"max_public_funding_per_proposal": "45.000.000"}, "max_public_funding_per_proposal",
     "Enter an amount in euro"),
    ({"max_public_funding_per_proposal": "-1"}, "max_public_funding_per_proposal",
     "Enter a maximum of 0 euro or more."),
    ({"min_private_share": "120"}, "min_private_share", "Enter a percentage between 0 and 100 %."),
    ({"min_private_share": "-1"}, "min_private_share", "Enter a percentage between 0 and 100 %."),
    ({"min_private_share": "85.555"}, "min_private_share", "at most two decimal places"),
    ({"funding_rate_sme": "101"}, "funding_rate_sme", "Enter a percentage between 0 and 100 %."),
    ({"funding_rate_start_up": "half"}, "funding_rate_start_up", "Enter a percentage"),
    ({"region_scope": "DE-XX", "eastern_states": ""}, "region_scope",
     "Not a German federal state: DE-XX."),
]  # fmt: skip


STAGE_ERRORS = [
    ({"name": ""}, "name", "Enter a name for the stage."),
    ({"kind": "lottery"}, "kind", "Not a valid choice"),
    ({"closes_at": "2026-02-01T12:00"}, "closes_at", "The window must close after it opens."),
    ({"closes_at": "2026-03-01T09:00"}, "closes_at", "The window must close after it opens."),
    ({"opens_at": "tomorrow"}, "opens_at", "Enter a date and time, like 30.06.2026 12:00."),
    ({"opens_at": "2026-03-29T02:30"}, "opens_at", "This time does not exist in Berlin"),
    ({"sections": "Cluster strategy 12000"}, "sections",
     "Line 1: write 'Title | max characters', e.g. 'Cluster strategy | 12000'."),
    ({"sections": "Strategy | 100\nImpact | many"}, "sections",
     "Line 2: the maximum must be a whole number of characters, e.g. 'Impact | 12000'."),
    ({"sections": "Strategy | 100\nstrategy | 200"}, "sections", "“strategy” is listed twice"),
    ({"sections": "Strategy | 0"}, "sections", "Line 1: the maximum must be a whole number"),
    ({"attachment_rules": "CVs | sometimes | 10 | 5"}, "attachment_rules",
     "Line 1: the second part must be 'required' or 'optional'"),
    ({"attachment_rules": "CVs | required | ten | 5"}, "attachment_rules",
     "Line 1: the page limit must be a whole number of pages"),
    ({"attachment_rules": "CVs | required | 10 | 0"}, "attachment_rules",
     "Line 1: the size limit must be a number of MB"),
    ({"attachment_rules": "CVs"}, "attachment_rules",
     "Line 1: write 'Title | required or optional | max pages | max MB'"),
    ({"reviewers_per_proposal": "0"}, "reviewers_per_proposal",
     "Jurors per proposal must be at least 1."),
    ({"reviewers_per_proposal": ""}, "reviewers_per_proposal",
     "Enter how many jurors review each proposal."),
    ({"max_load_per_juror": "0"}, "max_load_per_juror", "The maximum load must be at least 1."),
    ({"selection_target": "0"}, "selection_target", "The selection target must be at least 1."),
]  # fmt: skip


CRITERION_ERRORS = [
    ({"name": ""}, "name", "Enter a name for the criterion."),
    ({"name": "excellence"}, "name", "This stage already has a criterion “excellence”."),
    ({"weight": "0"}, "weight", "The weight must be more than 0."),
    ({"weight": "-2"}, "weight", "The weight must be more than 0."),
    ({"weight": "heavy"}, "weight", "Enter a number"),
    ({"scale_max": "0"}, "scale_max", "The highest score must be above the lowest (0)."),
    ({"scale_step": "0"}, "scale_step", "The step must be more than 0."),
    ({"scale_step": "0.7"}, "scale_step", "The step must divide the range from 0 to 5 evenly"),
    ({"threshold": "6"}, "threshold", "The threshold must lie on the scale, from 0 to 5."),
    ({"threshold": "-1"}, "threshold", "The threshold must lie on the scale, from 0 to 5."),
]


# --- who may do it ------------------------------------------------------------------------


def set_up_urls(s: Setup) -> list[str]:
    return [
        f"/programmes/{s.programme_id}",
        f"/programmes/{s.programme_id}/edit",
        f"/programmes/{s.programme_id}/calls/new",
        f"/calls/{s.call_id}/edit",
        f"/calls/{s.call_id}/stages/new",
        f"/calls/{s.call_id}/stages/{s.stage_id}/edit",
        f"/stages/{s.stage_id}/criteria/new",
        f"/stages/{s.stage_id}/delete",
        f"/criteria/{s.criterion_id}/edit",
        f"/criteria/{s.criterion_id}/delete",
    ]


# --- changes that would break submitted proposals -----------------------------------------


@dataclass(frozen=True)
class Submitted:
    reference: str
    acronym: str


def submit_version(stage: Stage, submitter, *, public: str, own: str, strategy: str) -> Submitted:  # type: ignore[no-untyped-def]
    """A proposal with a frozen version, as the submission operation would leave it."""
    proposal = make_proposal(
        stage.call,
        organisations=(
            make_organisation(kind=OrganisationKind.UNIVERSITY),
            make_organisation(kind=OrganisationKind.SME),
        ),
    )
    proposal.topics.append(make_topic())
    submission = StageSubmission(proposal=proposal, stage=stage, sections={"strategy": strategy})
    db.session.add(submission)
    db.session.flush()
    coordinator, partner = proposal.members
    for member, share in ((coordinator, Decimal("0.5")), (partner, Decimal("0.5"))):
        submission.budget_lines.append(
            BudgetLine(
                member=member,
                year=1,
                public_funding=Decimal(public) * share,
                own_contribution=Decimal(own) * share,
            )
        )
    db.session.flush()
    version = freeze_version(proposal, submission, submitted_at=NOW, by=submitter)
    assert content_problems(version.content, stage, stage.call) == [], "the fixture must pass today"
    return Submitted(proposal.reference, proposal.acronym)


@pytest.fixture
def submitted(app, officer, setup) -> tuple[Submitted, Submitted]:  # type: ignore[no-untyped-def]
    """Two submitted proposals: one with 20 % private funding, one with 60 %."""
    with app.app_context():
        stage = db.session.get(Stage, setup.stage_id)
        stage.call.min_private_share = Decimal("0.1")
        applicant = make_user()
        low = submit_version(stage, applicant, public="800000", own="200000", strategy="x" * 800)
        high = submit_version(stage, applicant, public="400000", own="600000", strategy="short")
        db.session.commit()
        return low, high


def call_form(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Round one",
        "round_number": "1",
        "reference_prefix": "SET1",
        "description": "",
        "min_private_share": "10",
        **changes,
    }
