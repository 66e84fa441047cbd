"""The grants API on PostgreSQL: grants, reports and payments as their officers and consortium
see them on the pages (anyone else 404, a token without the scope 403), paged by cursor with
ETags; an officer decides payments through it (four eyes holds, a rejection needs a reason, a
stale If-Match is refused); and every operation checked for every role on the caller's own
and on a foreign object."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from competition import create_app
from competition.accounts.models import Role, User
from competition.api import spec_dict
from competition.audit.models import StateTransition
from competition.db import utcnow
from competition.extensions import db
from competition.grants.models import Disbursement, Grant
from competition.grants.payments import operations as payment_ops
from competition.grants.permissions import can_see_grant
from competition.programmes.models import Programme
from tests.conftest import testing_settings, truncate_all
from tests.factories import make_grant, make_proposal, make_user
from tests.helpers import call_run_by
from tests.integration.api_grants_world import (
    FINAL_DRAFT,
    RETURNED_NOTE,
    WRITE,
    World,
    build_world,
    new_request,
)
from tests.integration.api_world import bearer, token_for
from tests.integration.reports_world import ANNUAL_TEXT

pytestmark = pytest.mark.postgres

V1 = "/api/v1"
COVERED_OPERATIONS = {
    ("get", "/api/v1/grants"),
    ("get", "/api/v1/grants/{grant_id}"),
    ("get", "/api/v1/grants/{grant_id}/reports"),
    ("get", "/api/v1/reports/{report_id}"),
    ("get", "/api/v1/grants/{grant_id}/payments"),
    ("get", "/api/v1/payments/{payment_id}"),
    ("get", "/api/v1/programmes/{programme_id}/payments"),
    ("post", "/api/v1/payments/{payment_id}/status"),
}


@pytest.fixture(scope="module")
def app(pg_url, tmp_path_factory) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """One app and one world for the module; tests that change payments make their own."""
    app = create_app(
        testing_settings(database_url=pg_url, upload_folder=str(tmp_path_factory.mktemp("uploads")))
    )
    yield app
    truncate_all(app)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(scope="module")
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_world()


@pytest.fixture
def ctx(app) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    with app.app_context():
        yield app
        db.session.rollback()


def api(app, world: World, role: str, method: str, path: str, **kwargs: Any):  # type: ignore[no-untyped-def]
    """``path`` under /api/v1, called with the role's token (none for "anonymous")."""
    headers = dict(kwargs.pop("headers", {}))
    if role != "anonymous":
        headers.update(bearer(world.tokens[role]))
    return app.test_client().open(f"{V1}{path}", method=method, headers=headers, **kwargs)


def get(app, world: World, role: str, path: str, **kwargs: Any) -> Any:  # type: ignore[no-untyped-def]
    response = api(app, world, role, "GET", path, **kwargs)
    assert response.status_code == 200, (path, response.get_json())
    return response.get_json()


def decide(app, world, role: str, payment_id: int, action: str, **body: Any):  # type: ignore[no-untyped-def]
    headers = body.pop("headers", {})
    return api(
        app,
        world,
        role,
        "POST",
        f"/payments/{payment_id}/status",
        json={"action": action, **body},
        headers=headers,
    )


def ids(page: dict[str, Any]) -> list[int]:
    return [item["id"] for item in page["items"]]


# --- grants ---------------------------------------------------------------------------------------


def test_each_caller_lists_exactly_the_grants_the_pages_let_them_see(app, world):
    listed = {
        role: set(ids(get(app, world, role, "/grants")))
        for role in ("coordinator", "other_applicant", "juror", "officer", "other_officer", "admin")
    }

    assert listed["coordinator"] == {world.grant_id, world.concept_grant_id}
    assert listed["other_applicant"] == {world.offered_grant_id, world.other_grant_id}
    assert listed["officer"] == {world.grant_id, world.concept_grant_id, world.offered_grant_id}
    assert listed["other_officer"] == {world.other_grant_id}
    assert listed["juror"] == listed["admin"] == set()
    # The list's SQL and the pages' predicate agree for every person and grant.
    with app.app_context():
        everyone = {
            "coordinator": world.base.coordinator,
            "other_applicant": world.base.other_applicant,
            "juror": world.base.juror,
            "officer": world.base.officer,
            "other_officer": world.base.outsider_officer,
        }
        grants = db.session.scalars(sa.select(Grant)).all()
        for role, email in everyone.items():
            person = db.session.scalar(sa.select(User).where(User.email == email))
            assert {g.id for g in grants if can_see_grant(person, g)} == listed[role], role


def test_grants_page_by_cursor_with_a_link_and_filter_by_programme_state_and_kind(app, world):
    first = api(app, world, "officer", "GET", "/grants?limit=2")
    body = first.get_json()
    assert len(body["items"]) == 2 and body["next_cursor"]
    link = first.headers["Link"]
    assert link.endswith('>; rel="next"') and "limit=2" in link
    target = link[1 : link.index(">")]
    rest = app.test_client().get(target, headers=bearer(world.tokens["officer"])).get_json()
    assert rest["next_cursor"] is None
    assert sorted(ids(body) + ids(rest)) == sorted(
        [world.grant_id, world.concept_grant_id, world.offered_grant_id]
    )
    assert "Link" not in api(app, world, "officer", "GET", target.removeprefix(V1)).headers

    assert ids(get(app, world, "officer", "/grants?kind=concept")) == [world.concept_grant_id]
    assert ids(get(app, world, "officer", "/grants?state=offered")) == [world.offered_grant_id]
    other = f"/grants?programme_id={world.other_programme_id}"
    assert ids(get(app, world, "officer", other)) == []
    assert ids(get(app, world, "other_officer", other)) == [world.other_grant_id]
    refused = api(app, world, "officer", "GET", "/grants?state=flying")
    assert refused.status_code == 422
    assert "state" in refused.get_json()["errors"]
    assert api(app, world, "officer", "GET", "/grants?cursor=nonsense").status_code == 400


def test_a_grant_shows_its_proposal_call_period_phases_amounts_and_conditions(app, world):
    grant = get(app, world, "coordinator", f"/grants/{world.grant_id}")

    assert grant["kind"] == "project" and grant["state"] == "running"
    assert grant["proposal"]["reference"].startswith("C4F-")
    assert grant["programme"]["id"] == world.programme_id
    assert grant["call"]["round"] == 1
    assert (grant["starts_on"], grant["ends_on"]) == ("2027-01-01", "2030-01-01")
    assert grant["total"] == "600000.00"
    assert grant["conditions"].startswith("Report the pilot plant")
    [phase] = grant["phases"]
    assert (phase["number"], phase["first_year"], phase["last_year"]) == (1, 1, 3)
    assert phase["released"] is True and phase["outcome"] is None
    assert phase["released_at"].endswith("+00:00")
    coordinator, partner = grant["amounts"]
    assert coordinator["role"] == "coordinator"
    assert coordinator["organisation"] == "Universität Leipzig"
    assert partner["organisation"] == "=Neue Netze GmbH"
    assert coordinator["years"] == [
        {"year": 1, "amount": "100000.00"},
        {"year": 2, "amount": "100000.00"},
        {"year": 3, "amount": "100000.00"},
    ]
    assert coordinator["total"] == "300000.00"


def test_an_unchanged_grant_is_not_sent_again(app, world):
    path = f"/grants/{world.grant_id}"
    first = api(app, world, "officer", "GET", path)
    again = api(
        app, world, "officer", "GET", path, headers={"If-None-Match": first.headers["ETag"]}
    )
    listed = api(app, world, "officer", "GET", "/grants")
    listed_again = api(
        app, world, "officer", "GET", "/grants", headers={"If-None-Match": listed.headers["ETag"]}
    )

    assert first.status_code == 200 and again.status_code == 304
    assert listed_again.status_code == 304


# --- reports --------------------------------------------------------------------------------------


def test_a_submitted_report_shows_its_receipt_hash_text_and_files_to_the_officer(app, world):
    report = get(app, world, "officer", f"/reports/{world.submitted_report_id}")

    assert (report["kind"], report["year"], report["state"]) == ("annual", 1, "submitted")
    assert report["receipt_code"].startswith(world_reference(app, world))
    assert len(report["content_hash"]) == 64
    assert report["submitted_at"].endswith("+00:00")
    assert report["sections"] == ANNUAL_TEXT
    [attachment] = report["attachments"]
    assert attachment["filename"] == "figures.pdf" and len(attachment["sha256"]) == 64
    assert attachment["page_count"] == 2
    assert report["review"] is None


def world_reference(app, world: World) -> str:  # type: ignore[no-untyped-def]
    return get(app, world, "officer", f"/grants/{world.grant_id}")["proposal"]["reference"]


def test_a_report_returned_for_changes_shows_the_note_and_keeps_the_revision_from_officers(
    app, world
):
    for_officer = get(app, world, "officer", f"/reports/{world.returned_report_id}")
    for_consortium = get(app, world, "coordinator", f"/reports/{world.returned_report_id}")

    assert for_officer["state"] == "changes_requested"
    assert for_officer["review"]["note"] == RETURNED_NOTE
    assert for_consortium["review"]["note"] == RETURNED_NOTE
    # The revision is the consortium's until it is submitted again, as on the report's page.
    assert for_officer["sections"] is None and for_officer["attachments"] is None
    assert for_consortium["sections"] == ANNUAL_TEXT


def test_a_draft_is_read_by_its_consortium_only(app, world):
    for_officer = get(app, world, "officer", f"/reports/{world.draft_report_id}")
    for_consortium = get(app, world, "coordinator", f"/reports/{world.draft_report_id}")

    assert for_officer["state"] == for_consortium["state"] == "due"
    assert for_officer["receipt_code"] is None and for_officer["content_hash"] is None
    assert for_officer["sections"] is None
    assert for_consortium["sections"]["progress"] == FINAL_DRAFT["progress"]
    assert for_consortium["attachments"] == []


def test_a_grants_reports_page_by_cursor(app, world):
    first = api(app, world, "coordinator", "GET", f"/grants/{world.grant_id}/reports?limit=2")
    cursor = first.get_json()["next_cursor"]
    rest = get(app, world, "coordinator", f"/grants/{world.grant_id}/reports?cursor={cursor}")

    assert ids(first.get_json()) + ids(rest) == [
        world.submitted_report_id,
        world.returned_report_id,
        world.draft_report_id,
    ]
    assert 'rel="next"' in first.headers["Link"] and rest["next_cursor"] is None


# --- payments -------------------------------------------------------------------------------------


def test_a_payment_names_who_decided_to_officers_only(app, world):
    path = f"/payments/{world.approved_payment_id}"
    for_officer = get(app, world, "officer", path)
    for_consortium = get(app, world, "coordinator", path)

    assert for_officer["decided_by"]["name"] == "Olga Officer"
    assert for_consortium["decided_by"] is None and for_consortium["confirmed_by"] is None
    for shown in (for_officer, for_consortium):
        assert shown["amount"] == "10000.00" and shown["state"] == "approved"
        assert shown["partner"] == "Universität Leipzig"
        assert (shown["year"], shown["period_from"], shown["period_to"]) == (
            1,
            "2027-01-01",
            "2027-03-31",
        )
        assert shown["needs_second_officer"] is False and shown["export_id"] is None
        assert shown["decided_at"].endswith("+00:00") and shown["paid_at"] is None


def test_a_programmes_payments_page_by_cursor_and_filter_by_state(app, world):
    path = f"/programmes/{world.programme_id}/payments"
    everything = ids(get(app, world, "officer", f"{path}?limit=200"))
    first = api(app, world, "officer", "GET", f"{path}?limit=1")
    second = get(app, world, "officer", f"{path}?limit=1&cursor={first.get_json()['next_cursor']}")
    approved = get(app, world, "officer", f"{path}?state=approved&limit=200")

    assert everything[:2] == [world.approved_payment_id, world.requested_payment_id]
    assert everything == sorted(everything)
    assert ids(first.get_json()) + ids(second) == everything[:2]
    assert world.approved_payment_id in ids(approved)
    assert {item["state"] for item in approved["items"]} == {"approved"}
    assert world.other_payment_id not in everything
    grant_list = get(app, world, "coordinator", f"/grants/{world.grant_id}/payments?limit=200")
    assert ids(grant_list)[:2] == everything[:2]


def test_lists_read_the_same_number_of_queries_for_one_row_as_for_many(app, world):
    paths = [
        "/grants?limit={n}",
        f"/grants/{world.grant_id}/reports?limit={{n}}",
        f"/grants/{world.grant_id}/payments?limit={{n}}",
        f"/programmes/{world.programme_id}/payments?limit={{n}}",
    ]
    with app.app_context():
        engine = db.engine
    for path in paths:
        api(app, world, "officer", "GET", path.format(n=1))  # the token's use is recorded once
        counts = []
        for n in (1, 200):
            seen: list[str] = []

            def count(*args: object, seen: list[str] = seen) -> None:
                seen.append("")

            sa.event.listen(engine, "before_cursor_execute", count)
            try:
                assert api(app, world, "officer", "GET", path.format(n=n)).status_code == 200
            finally:
                sa.event.remove(engine, "before_cursor_execute", count)
            counts.append(len(seen))
        assert counts[0] == counts[1], (path, counts)


def payment_state(app, payment_id: int) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        return str(db.session.get(Disbursement, payment_id).state.value)


def test_an_officer_approves_below_the_threshold_through_the_api(app, world):
    with app.app_context():
        payment_id = new_request(world, "12000.00", year=2)

    answer = decide(app, world, "officer", payment_id, "approve")

    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert body["state"] == "approved" and body["decided_by"]["name"] == "Olga Officer"
    assert body == get(app, world, "officer", f"/payments/{payment_id}")
    assert (
        answer.headers["ETag"]
        == api(app, world, "officer", "GET", f"/payments/{payment_id}").headers["ETag"]
    )
    with app.app_context():
        steps = db.session.scalars(
            sa.select(StateTransition.action).where(
                StateTransition.object_type == "disbursement",
                StateTransition.object_id == payment_id,
            )
        ).all()
    assert steps == ["approve"]


def test_four_eyes_hold_through_the_api(app, world):
    with app.app_context():
        payment_id = new_request(world, "60000.00", year=2, partner=True)

    proposed = decide(app, world, "officer", payment_id, "approve")
    own = decide(app, world, "officer", payment_id, "confirm")
    confirmed = decide(app, world, "second_officer", payment_id, "confirm")

    assert proposed.status_code == 200
    assert proposed.get_json()["state"] == "proposed"
    assert proposed.get_json()["needs_second_officer"] is True
    assert own.status_code == 403
    assert own.mimetype == "application/problem+json"
    assert "second officer" in own.get_json()["detail"]
    assert confirmed.status_code == 200, confirmed.get_json()
    body = confirmed.get_json()
    assert body["state"] == "approved"
    assert body["decided_by"]["name"] == "Olga Officer"
    assert body["confirmed_by"]["name"] == "Sam Second"
    assert body["confirmed_at"] is not None


def test_a_rejection_needs_a_reason(app, world):
    with app.app_context():
        payment_id = new_request(world, "3000.00", year=3)

    without = decide(app, world, "officer", payment_id, "reject", reason="  ")
    rejected = decide(app, world, "officer", payment_id, "reject", reason="Wrong period.")

    assert without.status_code == 422
    assert list(without.get_json()["errors"]) == ["reason"]
    assert rejected.status_code == 200
    assert rejected.get_json()["state"] == "rejected"
    assert rejected.get_json()["reason"] == "Wrong period."


def test_problems_are_english_where_the_deployment_speaks_german(pg_url, app, world):
    german = create_app(testing_settings(database_url=pg_url, default_locale="de"))
    headers = bearer(world.tokens["officer"])
    path = f"{V1}/payments/{world.requested_payment_id}/status"
    try:
        answer = german.test_client().post(path, json={"action": "reject"}, headers=headers)
    finally:
        with german.app_context():
            db.session.remove()
            db.engine.dispose()

    assert answer.status_code == 422
    assert answer.get_json()["errors"] == {"reason": ["Say why the request is rejected."]}
    assert payment_state(app, world.requested_payment_id) == "requested"


def test_an_unknown_action_is_refused_at_its_field(app, world):
    answer = decide(app, world, "officer", world.requested_payment_id, "pay_twice")

    assert answer.status_code == 422
    assert "action" in answer.get_json()["errors"]
    assert payment_state(app, world.requested_payment_id) == "requested"


def test_a_step_the_state_does_not_allow_is_a_conflict(app, world):
    confirm = decide(app, world, "second_officer", world.requested_payment_id, "confirm")
    paid = decide(app, world, "officer", world.approved_payment_id, "paid")

    assert confirm.status_code == 409 and paid.status_code == 409
    assert payment_state(app, world.requested_payment_id) == "requested"
    assert payment_state(app, world.approved_payment_id) == "approved"


def test_if_match_refuses_a_decision_on_a_payment_that_changed_since_it_was_read(app, world):
    with app.app_context():
        payment_id = new_request(world, "4000.00", year=3, partner=True)
    read = api(app, world, "officer", "GET", f"/payments/{payment_id}").headers["ETag"]
    # Meanwhile the other officer's colleague rejects it.
    decide(app, world, "second_officer", payment_id, "reject", reason="Duplicate.")

    stale = decide(app, world, "officer", payment_id, "approve", headers={"If-Match": read})

    assert stale.status_code == 412
    assert payment_state(app, payment_id) == "rejected"


def test_if_match_with_the_current_etag_lets_the_decision_through(app, world):
    with app.app_context():
        payment_id = new_request(world, "5000.00", year=3)
    etag = api(app, world, "officer", "GET", f"/payments/{payment_id}").headers["ETag"]

    answer = decide(app, world, "officer", payment_id, "approve", headers={"If-Match": etag})

    assert answer.status_code == 200
    assert answer.get_json()["state"] == "approved"
    assert answer.headers["ETag"] != etag


def test_an_exported_payment_is_recorded_paid(app, world):
    with app.app_context():
        # A programme of its own, so that its export takes none of the world's payments.
        officer = make_user(roles=(Role.OFFICER,))
        coordinator = make_user()
        call = call_run_by(officer)
        grant = make_grant(make_proposal(call, coordinator=coordinator))
        now = utcnow()
        made = payment_ops.request_disbursement(
            grant,
            actor=coordinator,
            member_id=grant.amounts[0].member_id,
            year=1,
            period_from=dt.date(2027, 1, 1),
            period_to=dt.date(2027, 1, 31),
            amount=Decimal("700.00"),
            now=now,
        )
        payment_ops.approve_disbursement(made, actor=officer, now=now)
        programme = db.session.get(Programme, call.programme_id)
        payment_ops.export_payments(programme, actor=officer, file_format="csv", now=now)
        token, payment_id, programme_id = token_for(officer, WRITE), made.id, call.programme_id
        db.session.commit()
    client = app.test_client()

    exported = client.get(
        f"{V1}/programmes/{programme_id}/payments?state=exported", headers=bearer(token)
    )
    paid = client.post(
        f"{V1}/payments/{payment_id}/status", json={"action": "paid"}, headers=bearer(token)
    )

    assert ids(exported.get_json()) == [payment_id]
    assert exported.get_json()["items"][0]["export_id"] is not None
    assert paid.status_code == 200, paid.get_json()
    assert paid.get_json()["state"] == "paid"
    assert paid.get_json()["paid_at"] is not None


# --- who may call what ----------------------------------------------------------------------------

ROLES = (
    "anonymous",
    "coordinator",  # of grant A
    "other_applicant",  # coordinates grant B, of another programme and consortium
    "juror",
    "officer",  # runs A's programme
    "other_officer",  # runs B's programme
    "admin",
    "read_only",  # the officer, with a token that only reads
    "no_scope",  # the officer, with a token for proposals only
)
# Who sees each object: its grant's consortium and its programme's officers.
SEES = {
    "own": {"coordinator", "officer", "read_only"},
    "foreign": {"other_applicant", "other_officer"},
}
DECIDES = {"own": {"officer"}, "foreign": {"other_officer"}}
RUNS = {"own": {"officer", "read_only"}, "foreign": {"other_officer"}}


def expected(operation: tuple[str, str], role: str, which: str) -> int:
    method, path = operation
    if role == "anonymous":
        return 401
    if role == "no_scope" or (method == "post" and role == "read_only"):
        return 403
    if path == "/api/v1/grants":
        return 200
    if path.startswith("/api/v1/programmes/"):
        return 200 if role in RUNS[which] else 404
    if role not in SEES[which]:
        return 404
    if method == "post":
        # A consortium sees the payment but does not decide it.
        return 200 if role in DECIDES[which] else 403
    return 200


def concrete(world: World, path: str, which: str) -> str:
    own = which == "own"
    values = {
        "grant_id": world.grant_id if own else world.other_grant_id,
        "report_id": world.submitted_report_id if own else world.other_report_id,
        "payment_id": world.approved_payment_id if own else world.other_payment_id,
        "programme_id": world.programme_id if own else world.other_programme_id,
    }
    return path.removeprefix(V1).format(**values)


@pytest.mark.parametrize("which", ["own", "foreign"])
@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("operation", sorted(COVERED_OPERATIONS), ids=" ".join)
def test_access_matrix(app, world, operation, role, which):
    method, path = operation
    # Approving an approved payment changes nothing: the matrix can run in any order.
    body = {"json": {"action": "approve"}} if method == "post" else {}

    answer = api(app, world, role, method.upper(), concrete(world, path, which), **body)

    assert answer.status_code == expected(operation, role, which), answer.get_json()
    if answer.status_code >= 400:
        assert answer.mimetype == "application/problem+json"


def test_the_matrix_covers_every_operation_of_this_area(app):
    with app.app_context():
        spec = spec_dict()
    ours = {
        (method, path)
        for path, item in spec["paths"].items()
        for method, operation in item.items()
        if method != "parameters" and operation.get("tags") == ["api_grants"]
    }

    assert ours == COVERED_OPERATIONS
