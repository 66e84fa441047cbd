"""The officer's start page: each call's current stage and how many proposals were handed in."""

from __future__ import annotations

import datetime as dt

import pytest

from competition.accounts.models import Role
from competition.db import utcnow
from competition.extensions import db
from competition.programmes.models import StageKind
from competition.proposals.models import ProposalState
from tests.factories import make_call, make_programme, make_proposal, make_stage, make_user
from tests.helpers import as_person, text

pytestmark = pytest.mark.postgres


def test_the_start_page_shows_the_open_stage_and_counts_decided_proposals_as_handed_in(app):
    now = utcnow()
    with app.app_context():
        officer = make_user(roles=(Role.OFFICER,))
        call = make_call(make_programme(officers=(officer,)), name="Round one")
        make_stage(
            call,
            name="Outline",
            opens_at=now - dt.timedelta(days=90),
            closes_at=now - dt.timedelta(days=30),
        )
        make_stage(
            call,
            name="Full proposal",
            kind=StageKind.FULL_PROPOSAL,
            opens_at=now - dt.timedelta(days=10),
            closes_at=now + dt.timedelta(days=20),
        )
        for state in (
            ProposalState.ADVANCED,
            ProposalState.REJECTED,
            ProposalState.FUNDED,
            ProposalState.DRAFT,
            ProposalState.WITHDRAWN,
        ):
            make_proposal(call, state=state)
        db.session.commit()
        email = officer.email

    page = text(as_person(app, email).get("/"))

    row = page[page.index(">Round one</a>") :].split("</tr>")[0]
    assert "Full proposal: until" in row and "Outline" not in row
    assert [cell.split("</td>")[0] for cell in row.split("<td>")[2:4]] == ["5", "3"]
