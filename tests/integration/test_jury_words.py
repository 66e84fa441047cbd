"""The jury's pages in words, not codes: the officer's jury page names the members' states in
the reader's language, and the bidding list shows a proposal's abstract as prose."""

# ruff: noqa: F811

from __future__ import annotations

import re

import pytest

from competition.accounts.models import User
from competition.extensions import db
from competition.proposals.models import Proposal
from tests.helpers import as_person, in_app, text
from tests.integration.jury_world import (
    conflicted,  # noqa: F401  (a fixture, found by name)
    invite,
    world,  # noqa: F401  (a fixture, found by name)
)

pytestmark = pytest.mark.postgres


def test_a_german_officer_reads_the_jurys_states_in_german(app, conflicted):
    world = conflicted
    invite(app, world, world.stranger)
    with in_app(app):
        db.session.get(User, world.officer.id).locale = "de"
        db.session.commit()

    page = text(as_person(app, world.officer).get(world.jury_url))

    assert "1 eingeladen · 1 zugesagt · 0 abgesagt" in page
    row = re.search(rf'<tr id="juror-{world.juror.id}">(.*?)</tr>', page, re.S)
    assert row and '<span class="badge">Zugesagt</span>' in row.group(1)
    assert not re.search(r">\s*(invited|accepted|declined|Accepted|Invited)\b", page)


def test_the_bidding_list_shows_the_abstract_as_prose(app, conflicted):
    world = conflicted
    with in_app(app):
        proposal = db.session.get(Proposal, world.proposals["free"])
        proposal.abstract = "Drones in the vineyard.\n\n- <em>fewer</em> sprays\n- more grapes"
        db.session.commit()

    page = as_person(app, world.juror).get(world.bids_url).get_data(as_text=True)

    assert "<p>Drones in the vineyard.</p>" in page
    assert "<ul><li>&lt;em&gt;fewer&lt;/em&gt; sprays</li><li>more grapes</li></ul>" in page
