"""The juror's conflict form for a call with many proposals: twenty to a page, the juror's own
conflicts first, a search and filters that tell nothing beyond the form's titles, acronyms and
organisations, and a page saved on its own without losing what was declared on another."""

# ruff: noqa: F811

from __future__ import annotations

import re

import pytest

from competition.accounts.models import User
from competition.assignment import operations as ops
from competition.assignment.models import ConflictSource
from competition.extensions import db
from competition.programmes.models import Call
from competition.proposals.models import Proposal
from tests.factories import NOW, make_proposal, make_topic
from tests.helpers import as_person, in_app, text
from tests.integration.jury_world import (
    ACRONYMS,
    TITLES,
    accept_and_profile,
    conflicted,  # noqa: F401  (a fixture, found by name)
    conflicts_of,
    listed_ids,
    membership_of,
    world,  # noqa: F401  (a fixture, found by name)
)

pytestmark = pytest.mark.postgres


def more_proposals(app, world, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """``count`` further submitted proposals of the call, after the world's by reference."""
    with in_app(app):
        call = db.session.get(Call, world.call_id)
        ids = [make_proposal(call, title=f"Extra proposal {n}").id for n in range(count)]
        db.session.commit()
        return ids


def textareas(page: str) -> int:
    return len(re.findall(r"<textarea", page))


def test_a_long_call_shows_twenty_proposals_a_page_with_the_jurors_conflicts_first(app, conflicted):
    world = conflicted
    extra = more_proposals(app, world, 30)
    with in_app(app):
        # The last proposal by reference, declared: it comes first all the same.
        ops.declare_conflicts(
            db.session.get(Call, world.call_id),
            actor=db.session.get(User, world.juror.id),
            proposal_ids_with_reasons={extra[-1]: "I wrote part of it."},
            now=NOW,
        )
    browser = as_person(app, world.juror)

    first = text(browser.get(world.conflicts_url))
    second = text(browser.get(world.conflicts_url, query_string={"page": 2}))

    conflicts = {world.proposals[n] for n in ("partner", "former", "declared")} | {extra[-1]}
    first_ids = [int(i) for i in re.findall(r'<tr id="proposal-(\d+)">', first)]
    assert len(first_ids) == 20 and set(first_ids[:4]) == conflicts
    assert textareas(first) == 16
    # 34 proposals listed: the officer's and the consortium's exclusions are not.
    assert "34 proposals" in first and "Page 1 of 2" in first
    assert len(listed_ids(second)) == 14 and not listed_ids(second) & set(first_ids)
    assert "I wrote part of it." in first


def test_the_search_finds_titles_acronyms_and_organisations_and_nothing_else(app, world):
    accept_and_profile(app, world, declare=None)
    browser = as_person(app, world.juror)

    def found(**query: str) -> set[int]:
        response = browser.get(world.conflicts_url, query_string=query)
        assert response.status_code == 200
        return listed_ids(text(response))

    assert found(q=TITLES["free"].upper()) == {world.proposals["free"]}
    assert found(q=ACRONYMS["declared"]) == {world.proposals["declared"]}
    assert found(q="partner institute") == {world.proposals["partner"]}
    assert found(organisation=str(world.organisations["former"])) == {world.proposals["former"]}
    # The abstract is not what the form shows, so it is not searched.
    assert found(q="the abstract of") == set()
    assert found(q="100%_") == set()


def test_the_topic_filter_never_finds_a_proposal_the_juror_has_a_conflict_with(app, conflicted):
    world = conflicted
    with in_app(app):
        topic = make_topic(name="Tidal energy")
        for name in ("free", "declared", "partner", "officer"):
            proposal = db.session.get(Proposal, world.proposals[name])
            proposal.topics.append(topic)
        db.session.commit()
        topic_id = topic.id
    browser = as_person(app, world.juror)

    page = text(browser.get(world.conflicts_url, query_string={"topic": topic_id}))
    mine = text(browser.get(world.conflicts_url, query_string={"conflicts": "1"}))

    assert listed_ids(page) == {world.proposals["free"]}
    assert TITLES["officer"] not in page and TITLES["declared"] not in page
    assert listed_ids(mine) == {world.proposals[n] for n in ("partner", "former", "declared")}
    assert "Only proposals I have a conflict with (3)" in mine


def test_saving_a_page_keeps_what_was_declared_on_another_and_the_call_stays_closed(app, world):
    accept_and_profile(app, world, declare=None)
    extra = more_proposals(app, world, 30)
    browser = as_person(app, world.juror)
    on_second = extra[-1]
    second = f"{world.conflicts_url}?page=2"
    assert on_second in listed_ids(text(browser.get(second)))

    saved = browser.submit(
        second,
        {
            f"conflict_{on_second}": "y",
            f"reason_{on_second}": "My former student.",
            "save_page": "1",
        },
    )
    assert saved.status_code == 302 and saved.location.endswith(second)
    with in_app(app):
        assert membership_of(world.juror.id, world.call_id).conflicts_declared_at is None
    # The first page, sent as it stands: the second page's conflict stays.
    declared_id = world.proposals["declared"]
    sent = browser.submit(
        world.conflicts_url,
        {f"conflict_{declared_id}": "y", f"reason_{declared_id}": "I advise the coordinator."},
    )

    assert sent.status_code == 302
    with in_app(app):
        assert membership_of(world.juror.id, world.call_id).conflicts_declared_at is not None
        conflicts = conflicts_of(world.juror.id)
        assert conflicts[on_second] == {ConflictSource.DECLARED}
        assert conflicts[declared_id] == {ConflictSource.DECLARED}
    first = text(browser.get(world.conflicts_url))
    assert "My former student." in first and "I advise the coordinator." in first


def test_a_post_naming_a_proposal_the_juror_cannot_declare_declares_nothing_there(app, conflicted):
    world = conflicted
    hidden = world.proposals["officer"]
    browser = as_person(app, world.juror)

    response = browser.submit(
        world.conflicts_url, {f"conflict_{hidden}": "y", f"reason_{hidden}": "Curious."}
    )

    assert response.status_code == 302
    with in_app(app):
        assert conflicts_of(world.juror.id)[hidden] == {ConflictSource.OFFICER}
