"""Programmes, calls, stages, proposals, submitted versions and screening through the API:
what each endpoint answers, paging and ETags, the screening write, and who may reach what
(the access matrix: every endpoint × role × the world's own and a foreign object)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from flask import session
from flask_babel import gettext

from competition.api.operations import perform
from competition.api.problems import ApiProblem
from competition.errors import DomainError, PermissionDenied, StaleState
from competition.extensions import db
from competition.notifications.models import Notification
from competition.proposals.models import Proposal, ProposalState
from tests.conftest import app_for_module
from tests.integration.api_proposals_world import (
    CONTACT,
    ROLES,
    World,
    build_world,
    proposal_to_screen,
)
from tests.integration.api_world import bearer

pytestmark = pytest.mark.postgres

COVERED_OPERATIONS = {
    ("get", "/api/v1/programmes"),
    ("get", "/api/v1/programmes/{programme_id}"),
    ("get", "/api/v1/calls"),
    ("get", "/api/v1/calls/{call_id}"),
    ("get", "/api/v1/stages/{stage_id}"),
    ("get", "/api/v1/proposals"),
    ("get", "/api/v1/proposals/{proposal_id}"),
    ("get", "/api/v1/proposals/{proposal_id}/versions"),
    ("get", "/api/v1/proposals/{proposal_id}/versions/{number}"),
    ("post", "/api/v1/proposals/{proposal_id}/screening"),
}


@pytest.fixture(scope="module")
def app(pg_url) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """One app and one world for the module: the matrix reads it a few hundred times."""
    yield from app_for_module(pg_url)


@pytest.fixture(scope="module")
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_world()


def call_api(app, token: str | None, path: str, *, body: Any = None, **headers: str):  # type: ignore[no-untyped-def]
    client = app.test_client()
    sent = {**(bearer(token) if token else {}), **headers}
    if body is not None:
        return client.post(path, json=body, headers=sent)
    return client.get(path, headers=sent)


def get(app, world: World, role: str, path: str, **headers: str) -> Any:  # type: ignore[no-untyped-def]
    response = call_api(app, world.tokens[role], path, **headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def ids(body: dict[str, Any]) -> set[int]:
    return {item["id"] for item in body["items"]}


# --- programmes, calls, stages -------------------------------------------------------------------


def test_a_call_shows_its_stages_with_criteria_and_rules(app, world):
    call = get(app, world, "applicant owner", f"/api/v1/calls/{world.call_id}")

    assert call["state"] == "published"
    assert [s["id"] for s in call["stages"]] == [world.stage_id, world.full_stage_id]
    outline = call["stages"][0]
    assert [(c["name"], c["weight"]) for c in outline["criteria"]] == [
        ("Excellence", "0.500"),
        ("Impact", "0.300"),
        ("Implementation", "0.200"),
    ]
    criterion = outline["criteria"][0]
    assert (criterion["scale_min"], criterion["scale_max"], criterion["scale_step"]) == (
        "0.00",
        "5.00",
        "0.50",
    )
    assert criterion["threshold"] is None
    rules = outline["rules"]
    assert rules["budget_years"] == {"first": 1, "last": 3}
    assert rules["max_public_funding_per_proposal"] == "15000000.00"
    assert rules["max_public_funding_per_year"] is None
    assert rules["sections"] == [
        {"key": "strategy", "title": "Cluster strategy", "max_chars": 5000, "required": True}
    ]
    assert rules["attachments"][0]["key"] == "cv"
    assert outline["reviews_due_at"].endswith("+00:00")


def test_a_stage_is_shown_on_its_own(app, world):
    stage = get(app, world, "juror assigned", f"/api/v1/stages/{world.full_stage_id}")

    assert (stage["call_id"], stage["kind"], stage["criteria"]) == (
        world.call_id,
        "full_proposal",
        [],
    )


def test_a_programme_lists_only_the_calls_its_reader_may_see(app, world):
    path = f"/api/v1/programmes/{world.programme_id}"

    public = get(app, world, "other applicant", path)
    own = get(app, world, "officer of the programme", path)

    public_calls = {c["id"] for c in public["calls"]}
    assert world.call_id in public_calls and world.draft_call_id not in public_calls
    assert world.draft_call_id in {c["id"] for c in own["calls"]}
    assert public["total_budget"] == "100000000.00"


def test_calls_are_filtered_by_programme(app, world):
    body = get(app, world, "applicant owner", f"/api/v1/calls?programme_id={world.programme_id}")

    assert ids(body) == {world.call_id, world.screening_call_id}


# --- proposals and versions ----------------------------------------------------------------------


def test_a_proposal_shows_consortium_topics_and_submissions(app, world):
    proposal = get(app, world, "applicant owner", f"/api/v1/proposals/{world.proposal_id}")

    assert proposal["state"] == "advanced"
    assert proposal["call"]["id"] == world.call_id
    assert [m["role"] for m in proposal["consortium"]] == ["coordinator", "partner"]
    assert proposal["consortium"][0]["organisation"]["federal_state"] == "DE-SN"
    assert len(proposal["topics"]) == 1
    assert [(s["stage_id"], s["state"]) for s in proposal["submissions"]] == [
        (world.stage_id, "submitted"),
        (world.full_stage_id, "submitted"),
    ]
    assert len(proposal["submissions"][0]["sha256"]) == 64


def test_a_juror_sees_only_the_stage_they_review(app, world):
    base = f"/api/v1/proposals/{world.proposal_id}"

    proposal = get(app, world, "juror assigned", base)
    versions = get(app, world, "juror assigned", f"{base}/versions")
    later = call_api(
        app,
        world.tokens["juror assigned"],
        f"{base}/versions/1?stage_id={world.full_stage_id}",
    )

    assert [s["stage_id"] for s in proposal["submissions"]] == [world.stage_id]
    assert [(v["stage_id"], v["number"]) for v in versions["items"]] == [(world.stage_id, 1)]
    assert later.status_code == 404


def test_a_version_carries_its_receipt_and_frozen_content(app, world):
    base = f"/api/v1/proposals/{world.proposal_id}/versions"

    listed = get(app, world, "applicant owner", base)
    latest = get(app, world, "applicant owner", f"{base}/1")
    outline = get(app, world, "applicant owner", f"{base}/1?stage_id={world.stage_id}")

    assert [v["stage_id"] for v in listed["items"]] == [world.stage_id, world.full_stage_id]
    # Without a stage: the latest stage's version of that number, as the receipt page.
    assert latest["stage_id"] == world.full_stage_id
    assert outline["receipt_code"] == listed["items"][0]["receipt_code"]
    assert len(outline["sha256"]) == 64
    assert outline["content"]["sections"] == {"strategy": "Hydrogen hubs."}
    assert outline["content"]["members"][0]["contact_email"] == CONTACT


def test_a_juror_reads_the_frozen_content_without_the_partners_contacts(app, world):
    path = f"/api/v1/proposals/{world.proposal_id}/versions/1?stage_id={world.stage_id}"

    version = get(app, world, "juror assigned", path)

    assert version["content"]["sections"] == {"strategy": "Hydrogen hubs."}
    assert CONTACT not in str(version)
    assert version["content"]["members"][0]["name"]


def test_proposals_are_filtered_by_call_stage_and_state(app, world):
    def listed(query: str) -> set[int]:
        return ids(get(app, world, "officer of the programme", f"/api/v1/proposals?{query}"))

    assert listed(f"call_id={world.call_id}") == {world.proposal_id, *world.more_proposal_ids}
    assert listed(f"stage_id={world.full_stage_id}") == {world.proposal_id}
    assert listed(f"call_id={world.call_id}&state=advanced") == {world.proposal_id}


def test_an_unknown_state_filter_is_refused(app, world):
    response = call_api(
        app, world.tokens["officer of the programme"], "/api/v1/proposals?state=approved"
    )

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_answers_conform_to_the_description(app, world):
    spec = schemathesis.openapi.from_dict(app.test_client().get("/api/v1/openapi.json").get_json())
    p, s = world.proposal_id, world.stage_id
    cases = [
        ("/api/v1/programmes", "/api/v1/programmes", "officer of the programme"),
        (
            "/api/v1/programmes/{programme_id}",
            f"/api/v1/programmes/{world.programme_id}",
            "juror assigned",
        ),
        ("/api/v1/calls", "/api/v1/calls", "administrator"),
        ("/api/v1/calls/{call_id}", f"/api/v1/calls/{world.call_id}", "officer of the programme"),
        ("/api/v1/stages/{stage_id}", f"/api/v1/stages/{s}", "applicant owner"),
        ("/api/v1/proposals", "/api/v1/proposals", "officer of the programme"),
        ("/api/v1/proposals/{proposal_id}", f"/api/v1/proposals/{p}", "juror assigned"),
        ("/api/v1/proposals/{proposal_id}", f"/api/v1/proposals/{p}", "applicant owner"),
        (
            "/api/v1/proposals/{proposal_id}/versions",
            f"/api/v1/proposals/{p}/versions",
            "juror assigned",
        ),
        (
            "/api/v1/proposals/{proposal_id}/versions/{number}",
            f"/api/v1/proposals/{p}/versions/1?stage_id={s}",
            "officer of the programme",
        ),
    ]
    for template, url, role in cases:
        response = call_api(app, world.tokens[role], url)
        assert response.status_code == 200, url
        spec[template]["GET"].validate_response(response)


# --- paging and ETags ----------------------------------------------------------------------------


def pages(app, world: World, role: str, path: str) -> list[list[int]]:  # type: ignore[no-untyped-def]
    """Every page of a list, following the Link header."""
    found: list[list[int]] = []
    response = call_api(app, world.tokens[role], path)
    while True:
        assert response.status_code == 200
        body = response.get_json()
        found.append([item["id"] for item in body["items"]])
        if body["next_cursor"] is None:
            assert "Link" not in response.headers
            return found
        link = response.headers["Link"]
        assert link.endswith('>; rel="next"')
        response = call_api(app, world.tokens[role], link[1 : link.index(">")])


def test_proposals_page_by_cursor_without_overlap(app, world):
    found = pages(
        app, world, "officer of the programme", f"/api/v1/proposals?call_id={world.call_id}&limit=2"
    )

    assert [len(page) for page in found] == [2, 2]
    assert set(found[0]).isdisjoint(found[1])
    assert set(found[0]) | set(found[1]) == {world.proposal_id, *world.more_proposal_ids}


def test_programmes_and_calls_page_by_cursor(app, world):
    programmes = pages(app, world, "administrator", "/api/v1/programmes?limit=2")
    calls = pages(app, world, "officer of the programme", "/api/v1/calls?limit=3")

    assert [len(page) for page in programmes] == [2, 1]
    assert sorted(sum(programmes, [])) == sorted(set(sum(programmes, [])))
    assert len(calls) == 2 and set(calls[0]).isdisjoint(calls[1])


def statements(app, token: str | None, path: str) -> int:  # type: ignore[no-untyped-def]
    """How many SQL statements answering ``path`` runs (it must answer 200)."""
    count = 0

    def counter(*args: object) -> None:
        nonlocal count
        count += 1

    with app.app_context():
        engine = db.engine
    call_api(app, token, path)  # the token's use is recorded at most once a minute
    sa.event.listen(engine, "before_cursor_execute", counter)
    try:
        assert call_api(app, token, path).status_code == 200
    finally:
        sa.event.remove(engine, "before_cursor_execute", counter)
    return count


@pytest.mark.parametrize(
    "path",
    ["/api/v1/programmes", "/api/v1/calls", "/api/v1/proposals", "/api/v1/proposals/{p}/versions"],
)
def test_a_longer_page_runs_no_more_queries(app, world, path):
    token = world.tokens["officer of the programme"]
    path = path.format(p=world.proposal_id)

    short = statements(app, token, f"{path}?limit=1")
    long = statements(app, token, f"{path}?limit=3")

    assert short == long


def test_an_unchanged_proposal_is_not_sent_again(app, world):
    path = f"/api/v1/proposals/{world.proposal_id}"
    token = world.tokens["applicant owner"]

    first = call_api(app, token, path)
    again = call_api(app, token, path, **{"If-None-Match": first.headers["ETag"]})
    listed = call_api(app, token, "/api/v1/proposals")
    listed_again = call_api(
        app, token, "/api/v1/proposals", **{"If-None-Match": listed.headers["ETag"]}
    )

    assert (first.status_code, again.status_code) == (200, 304)
    assert (listed.status_code, listed_again.status_code) == (200, 304)


# --- screening -----------------------------------------------------------------------------------


def screen(
    app,
    world: World,
    proposal_id: int,
    body: dict[str, Any],
    role: str = "officer of the programme",
):  # type: ignore[no-untyped-def]
    return call_api(
        app, world.tokens[role], f"/api/v1/proposals/{proposal_id}/screening", body=body
    )


def test_an_officer_finds_a_proposal_ineligible_and_then_corrects_it(app, world):
    with app.app_context():
        proposal_id = proposal_to_screen(world)
    stage = world.screening_stage_id

    first = screen(
        app, world, proposal_id, {"stage_id": stage, "verdict": "ineligible", "reason": "Late."}
    )
    corrected = screen(app, world, proposal_id, {"stage_id": stage, "verdict": "eligible"})

    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["state"] == "ineligible"
    assert [
        (r["stage_id"], r["verdict"], r["reason"], r["version_number"])
        for r in first.get_json()["results"]
    ] == [(stage, "ineligible", "Late.", 1)]
    assert corrected.status_code == 200
    assert corrected.get_json()["state"] == "submitted"
    assert corrected.get_json()["results"][0]["verdict"] == "eligible"
    with app.app_context():
        mails = db.session.scalars(
            sa.select(Notification.template).where(
                Notification.dedup_key.like(f"screening.ineligible:{proposal_id}:%")
            )
        ).all()
        assert mails == ["screening/ineligible"]


def test_an_ineligible_verdict_without_reason_is_refused_at_the_reason(app, world):
    with app.app_context():
        proposal_id = proposal_to_screen(world)

    response = screen(
        app, world, proposal_id, {"stage_id": world.screening_stage_id, "verdict": "ineligible"}
    )

    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["errors"] == {
        "reason": ["Give the reason; the coordinator receives it by e-mail."]
    }
    with app.app_context():
        proposal = db.session.get(Proposal, proposal_id)
        assert proposal is not None and proposal.state == ProposalState.SUBMITTED


def field_errors(response) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The problem document's errors per body field (webargs nests them by location)."""
    errors = response.get_json().get("errors") or {}
    return errors.get("json", errors)


def test_a_verdict_the_screening_page_does_not_offer_is_refused(app, world):
    response = screen(
        app,
        world,
        world.proposal_id,
        {"stage_id": world.stage_id, "verdict": "maybe", "reason": "Unsure."},
    )

    assert response.status_code == 422
    assert "verdict" in field_errors(response)


def test_a_stage_of_another_call_is_refused_at_the_stage(app, world):
    response = screen(
        app, world, world.proposal_id, {"stage_id": world.other_stage_id, "verdict": "eligible"}
    )

    assert response.status_code == 422
    assert set(field_errors(response)) == {"stage_id"}


def test_nothing_submitted_for_the_stage_is_refused_for_the_whole_body(app, world):
    # Submitted at the outline only: the full proposal stage has nothing to screen.
    nothing = screen(
        app,
        world,
        world.more_proposal_ids[0],
        {"stage_id": world.full_stage_id, "verdict": "eligible"},
    )

    assert nothing.status_code == 422
    assert list(field_errors(nothing)) == ["_schema"]


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (DomainError({"reason": ["Say why."]}), 422),
        (PermissionDenied("Only officers."), 403),
        (StaleState("Changed meanwhile."), 409),
    ],
    ids=["refused input", "denied", "stale"],
)
def test_an_operations_refusal_becomes_a_problem(app, error, status):
    def refuse() -> None:
        raise error

    with (
        app.test_request_context("/api/v1/proposals/1/screening"),
        pytest.raises(ApiProblem) as raised,
    ):
        perform(refuse, fields={"reason": "why"})

    assert raised.value.status == status
    assert raised.value.detail == str(error)
    if status == 422:
        assert raised.value.errors == {"why": ["Say why."]}


def test_problem_texts_stay_english_for_a_german_reader(app):
    def refuse() -> None:
        raise DomainError(gettext("Give the reason; the coordinator receives it by e-mail."))

    with app.test_request_context("/api/v1/proposals/1/screening"):
        session["locale"] = "de"
        assert gettext("Reason") != "Reason"  # the request speaks German
        with pytest.raises(ApiProblem) as raised:
            perform(refuse)

    assert raised.value.errors == {
        "_schema": ["Give the reason; the coordinator receives it by e-mail."]
    }


# --- the access matrix ---------------------------------------------------------------------------

OK = "ok"  # 200, or 201 for a write that created something
PUBLIC_READS = {
    "anonymous": (401, 401),
    "applicant owner": (200, 404),
    "other applicant": (200, 404),
    "juror assigned": (200, 404),
    "juror conflicted": (200, 404),
    "officer of the programme": (200, 200),
    "officer of another programme": (200, 404),
    "administrator": (200, 404),
    "token without the scope": (403, 403),
}
PROPOSAL_READS = {
    "anonymous": (401, 401),
    "applicant owner": (200, 404),
    "other applicant": (404, 404),
    "juror assigned": (200, 404),
    "juror conflicted": (404, 404),
    "officer of the programme": (200, 404),
    "officer of another programme": (404, 200),
    "administrator": (404, 404),
    "token without the scope": (403, 403),
}
SCREENING = {
    **PROPOSAL_READS,
    "applicant owner": (403, 404),
    "juror assigned": (403, 404),
    "officer of the programme": (OK, 404),
    "officer of another programme": (404, OK),
}


def _paths(world: World) -> dict[str, tuple[str, str]]:
    p, q = world.proposal_id, world.other_proposal_id
    return {
        "programme": (
            f"/api/v1/programmes/{world.programme_id}",
            f"/api/v1/programmes/{world.draft_programme_id}",
        ),
        "call": (f"/api/v1/calls/{world.call_id}", f"/api/v1/calls/{world.draft_call_id}"),
        "stage": (f"/api/v1/stages/{world.stage_id}", f"/api/v1/stages/{world.draft_stage_id}"),
        "proposal": (f"/api/v1/proposals/{p}", f"/api/v1/proposals/{q}"),
        "versions": (f"/api/v1/proposals/{p}/versions", f"/api/v1/proposals/{q}/versions"),
        "version": (
            f"/api/v1/proposals/{p}/versions/1?stage_id={world.stage_id}",
            f"/api/v1/proposals/{q}/versions/1",
        ),
        "screening": (f"/api/v1/proposals/{p}/screening", f"/api/v1/proposals/{q}/screening"),
    }


MATRIX = {
    "programme": {**PUBLIC_READS, "administrator": (200, 200)},
    "call": PUBLIC_READS,
    "stage": PUBLIC_READS,
    "proposal": PROPOSAL_READS,
    "versions": PROPOSAL_READS,
    "version": PROPOSAL_READS,
    "screening": SCREENING,
}


def token_of(world: World, endpoint: str, role: str) -> str | None:
    if role != "token without the scope":
        return world.tokens[role]
    if endpoint in ("programme", "call", "stage", "programmes", "calls"):
        return world.proposals_read_only
    if endpoint == "screening":
        return world.proposals_read_only  # read, not write
    return world.programmes_only


@pytest.mark.parametrize("which", ["own", "foreign"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_access_matrix(app, world, endpoint, role, which):
    index = 0 if which == "own" else 1
    path = _paths(world)[endpoint][index]
    expected = MATRIX[endpoint][role][index]
    body = None
    if endpoint == "screening":
        stage = world.stage_id if which == "own" else world.other_stage_id
        body = {"stage_id": stage, "verdict": "eligible", "reason": ""}

    response = call_api(app, token_of(world, endpoint, role), path, body=body)

    if expected == OK:
        assert response.status_code in (200, 201), response.get_data(as_text=True)
    else:
        assert response.status_code == expected, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"


# Which of the world's objects each role finds in the lists (None: the list is refused).
LISTED = {
    "programmes": {
        "anonymous": None,
        "applicant owner": {"programme", "other programme"},
        "other applicant": {"programme", "other programme"},
        "juror assigned": {"programme", "other programme"},
        "juror conflicted": {"programme", "other programme"},
        "officer of the programme": {"programme", "draft programme", "other programme"},
        "officer of another programme": {"programme", "other programme"},
        "administrator": {"programme", "draft programme", "other programme"},
        "token without the scope": None,
    },
    "calls": {
        "anonymous": None,
        "applicant owner": {"call", "other call"},
        "other applicant": {"call", "other call"},
        "juror assigned": {"call", "other call"},
        "juror conflicted": {"call", "other call"},
        "officer of the programme": {"call", "draft call", "other call"},
        "officer of another programme": {"call", "other call"},
        "administrator": {"call", "other call"},
        "token without the scope": None,
    },
    "proposals": {
        "anonymous": None,
        "applicant owner": {"proposal"},
        "other applicant": set(),
        "juror assigned": {"proposal"},
        "juror conflicted": set(),
        "officer of the programme": {"proposal"},
        "officer of another programme": {"other proposal"},
        "administrator": set(),
        "token without the scope": None,
    },
}


def _named(world: World) -> dict[str, dict[str, int]]:
    return {
        "programmes": {
            "programme": world.programme_id,
            "draft programme": world.draft_programme_id,
            "other programme": world.other_programme_id,
        },
        "calls": {
            "call": world.call_id,
            "draft call": world.draft_call_id,
            "other call": world.other_call_id,
        },
        "proposals": {"proposal": world.proposal_id, "other proposal": world.other_proposal_id},
    }


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("listing", list(LISTED))
def test_lists_hold_what_the_role_may_see_and_omit_the_rest(app, world, listing, role):
    expected = LISTED[listing][role]

    response = call_api(app, token_of(world, listing, role), f"/api/v1/{listing}?limit=200")

    if expected is None:
        assert response.status_code in (401, 403)
        return
    assert response.status_code == 200
    listed = ids(response.get_json())
    for name, object_id in _named(world)[listing].items():
        assert (object_id in listed) is (name in expected), name
