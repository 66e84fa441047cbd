"""Disbursement requests (Mittelabruf) on PostgreSQL, through the pages: the coordinator's
request is checked at its fields (what is left, the grant running, overdue reports); one officer
approves at or below the programme's threshold, a second confirms above it (the operation and
the database refuse the same officer); rejections need a reason; approved payments are exported
once as CSV or XLSX, recorded and downloadable again; the money view equals the approved
payments; every page answers only its grant's officers and consortium."""

# ruff: noqa: F811
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
from decimal import Decimal

import openpyxl
import pytest
import sqlalchemy as sa

from competition import create_app
from competition.accounts.models import Role
from competition.audit.models import AuditEvent, StateTransition
from competition.db import utcnow
from competition.errors import PermissionDenied
from competition.extensions import db
from competition.grants.models import (
    Disbursement,
    DisbursementState,
    GrantState,
    PaymentExport,
    Report,
    ReportKind,
    ReportState,
)
from competition.grants.payments import operations as ops
from competition.programmes.models import Programme
from tests.conftest import testing_settings
from tests.factories import make_grant, make_proposal, make_user
from tests.helpers import queries_for_page
from tests.integration.payments_world import (
    THRESHOLD,
    World,
    app,  # noqa: F401  (a fixture, found by name)
    approved,
    as_person,
    build_world,
    delivered,
    form_data,
    grant_of,
    reload,
    request,
    user,
)
from tests.integration.submission_world import post, text

pytestmark = pytest.mark.postgres


def eur(amount: str) -> str:
    """An amount as the English pages show it: 1 200.50 EUR, thousands apart by a narrow space."""
    return amount.replace(",", "\u202f") + " EUR"


def world_in(app, **kwargs: object) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        return build_world(**kwargs)  # type: ignore[arg-type]


def request_page(browser, world: World, data: dict[str, object]):  # type: ignore[no-untyped-def]
    return post(browser, f"/grants/{world.grant_id}/payments/new", data)


def field_error(page: str, name: str) -> str:
    marker = f'id="{name}-error">'
    assert marker in page, f"no error at {name}"
    return page.split(marker, 1)[1].split("</p>", 1)[0]


def disbursements() -> list[Disbursement]:
    db.session.expire_all()
    return list(db.session.scalars(sa.select(Disbursement).order_by(Disbursement.id)))


# --- the request and its checks ---------------------------------------------------------------


def test_coordinator_requests_a_payment_in_german_format_and_sees_what_is_left(app):
    world = world_in(app)
    with app.app_context():
        user(world.coordinator).locale = "de"
        db.session.commit()
    coordinator = as_person(app, world.coordinator)
    form = text(coordinator.get(f"/grants/{world.grant_id}/payments/new"))
    assert "Universität Leipzig" in form and "Projektjahr 1: 01.01.2027 – 31.12.2027" in form

    sent = request_page(
        coordinator,
        world,
        form_data(world.partner_member, 2, "2028-01-01", "31.03.2028", "12.500,50"),
    )

    assert sent.status_code == 302
    with app.app_context():
        (made,) = disbursements()
        assert (made.member_id, made.year, made.amount) == (
            world.partner_member,
            2,
            Decimal("12500.50"),
        )
        assert (made.period_from, made.period_to) == (dt.date(2028, 1, 1), dt.date(2028, 3, 31))
        assert made.state == DisbursementState.REQUESTED
        (event,) = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "disbursement.requested")
        )
        assert event.after["amount"] == "12500.50"
    panel = text(coordinator.get(f"/grants/{world.grant_id}/payments"))
    # Left of 100.000 € for the partner in year 2: the pending request holds its money.
    assert "87.499,50\u00a0€" in panel and "12.500,50\u00a0€" in panel


def test_a_request_above_what_is_left_for_the_year_is_refused_at_the_amount(app):
    world = world_in(app)
    with app.app_context():
        approved(world, "60000.00")
        request(world, "30000.00")
        db.session.commit()
    coordinator = as_person(app, world.coordinator)

    refused = request_page(
        coordinator,
        world,
        form_data(world.coordinator_member, 1, "2027-04-01", "2027-06-30", "10000.01"),
    )

    assert refused.status_code == 422
    message = field_error(text(refused), "amount")
    assert "At most 10,000.00 EUR is left of the 100,000.00 EUR approved" in message
    with app.app_context():
        assert len(disbursements()) == 2
    # Exactly what is left passes; another partner's money is untouched.
    assert (
        request_page(
            coordinator,
            world,
            form_data(world.coordinator_member, 1, "2027-04-01", "2027-06-30", "10000.00"),
        ).status_code
        == 302
    )


def test_every_problem_of_a_request_is_shown_at_its_field_and_nothing_is_saved(app):
    world = world_in(app)
    coordinator = as_person(app, world.coordinator)

    refused = request_page(
        coordinator, world, form_data(world.partner_member, 1, "2026-12-01", "2027-01-31", "0")
    )

    assert refused.status_code == 422
    page = text(refused)
    assert "Project year 1 runs from Jan 1, 2027 to Dec 31, 2027" in field_error(
        page, "period_from"
    )
    assert field_error(page, "amount") == "Enter an amount above 0 euro."
    empty = request_page(coordinator, world, {"amount": ""})
    for name in ("member_id", "year", "period_from", "period_to", "amount"):
        field_error(text(empty), name)
    with app.app_context():
        assert disbursements() == []


def test_a_request_before_the_grant_runs_is_refused(app):
    world = world_in(app, state=GrantState.ACCEPTED)
    coordinator = as_person(app, world.coordinator)
    panel = text(coordinator.get(f"/grants/{world.grant_id}/payments"))
    assert "The grant has not started yet" in panel
    assert f"/grants/{world.grant_id}/payments/new" not in panel

    refused = request_page(
        coordinator,
        world,
        form_data(world.coordinator_member, 1, "2027-01-01", "2027-01-31", "100"),
    )

    assert refused.status_code == 422
    assert "The grant has not started yet; payments can be requested once it runs." in text(refused)
    with app.app_context():
        assert disbursements() == []


def overdue_report(world: World) -> None:
    db.session.add(
        Report(
            grant_id=world.grant_id,
            kind=ReportKind.ANNUAL,
            year=1,
            due_at=utcnow() - dt.timedelta(days=1),
            state=ReportState.DUE,
        )
    )
    db.session.commit()


def test_a_request_while_a_report_is_overdue_is_refused_where_the_programme_waits_for_reports(app):
    world = world_in(app)
    with app.app_context():
        overdue_report(world)
    coordinator = as_person(app, world.coordinator)
    data = form_data(world.coordinator_member, 1, "2027-01-01", "2027-01-31", "100")

    refused = request_page(coordinator, world, data)

    assert refused.status_code == 422
    assert "A report of this grant is overdue." in text(refused)
    with app.app_context():
        assert disbursements() == []
        db.session.get(Programme, world.programme_id).payments_wait_for_reports = False  # type: ignore[union-attr]
        db.session.commit()
    assert request_page(coordinator, world, data).status_code == 302


def test_a_report_submitted_or_not_yet_due_does_not_hold_payments_back(app):
    world = world_in(app)
    with app.app_context():
        now = utcnow()
        db.session.add_all(
            [
                Report(
                    grant_id=world.grant_id,
                    kind=ReportKind.ANNUAL,
                    year=1,
                    due_at=now - dt.timedelta(days=3),
                    state=ReportState.SUBMITTED,
                    submitted_at=now - dt.timedelta(days=4),
                ),
                Report(
                    grant_id=world.grant_id,
                    kind=ReportKind.ANNUAL,
                    year=2,
                    due_at=now + dt.timedelta(days=3),
                ),
            ]
        )
        db.session.commit()
        request(world, "100.00")
        assert len(disbursements()) == 1


# --- approval, four eyes, rejection ---------------------------------------------------------------


def test_at_or_below_the_threshold_one_officer_approves_and_the_coordinator_is_mailed(app):
    world = world_in(app)
    with app.app_context():
        made = request(world, str(THRESHOLD))
        db.session.commit()
        made_id = made.id
    officer = as_person(app, world.officer)
    page = text(officer.get(f"/payments/{made_id}"))
    assert "Approve, for a second officer" not in page

    approved_now = post(officer, f"/payments/{made_id}/approve", {})

    assert approved_now.status_code == 302
    with app.app_context():
        done = reload(made_id)
        assert done.state == DisbursementState.APPROVED
        assert not done.needs_second_officer and done.confirmed_by_id is None
        assert done.decided_by_id == user(world.officer).id
        (mail,) = delivered("payments/approved")
        assert mail.to_address == world.coordinator
        assert eur("50,000.00") in mail.body_text
        assert delivered("payments/confirmation_waiting") == []


def test_above_the_threshold_a_second_officer_confirms_and_the_first_is_refused(app):
    world = world_in(app)
    with app.app_context():
        made = request(world, "50000.01")
        db.session.commit()
        made_id = made.id
    officer = as_person(app, world.officer)
    assert post(officer, f"/payments/{made_id}/approve", {}).status_code == 302
    with app.app_context():
        proposed = reload(made_id)
        assert proposed.state == DisbursementState.PROPOSED and proposed.needs_second_officer
        (waiting,) = delivered("payments/confirmation_waiting")
        assert waiting.to_address == world.second_officer
        assert f"Olga Officer has approved a payment of {eur('50,000.01')}" in " ".join(
            waiting.body_text.split(" ")
        ).replace("\n", " ")
        assert delivered("payments/approved") == []

    page = text(officer.get(f"/payments/{made_id}"))
    assert "You approved this payment; a second officer" in page
    assert f"/payments/{made_id}/confirm" not in page
    refused = post(officer, f"/payments/{made_id}/confirm", {})
    assert refused.status_code == 403
    assert "You approved this payment yourself; a second officer" in text(refused)
    with app.app_context():
        assert reload(made_id).state == DisbursementState.PROPOSED
        with pytest.raises(PermissionDenied):
            ops.confirm_disbursement(reload(made_id), actor=user(world.officer), now=utcnow())

    second = as_person(app, world.second_officer)
    assert post(second, f"/payments/{made_id}/confirm", {}).status_code == 302
    with app.app_context():
        done = reload(made_id)
        assert done.state == DisbursementState.APPROVED
        assert done.confirmed_by_id == user(world.second_officer).id
        assert len(delivered("payments/approved")) == 1
        steps = db.session.scalars(
            sa.select(StateTransition.action)
            .where(StateTransition.object_type == "disbursement")
            .order_by(StateTransition.id)
        ).all()
        assert steps == ["propose", "confirm"]


@pytest.mark.parametrize("dialect", ["postgresql", "sqlite"])
def test_the_database_refuses_a_confirmation_by_the_approving_officer(dialect, make_app, tmp_path):  # type: ignore[no-untyped-def]
    if dialect == "sqlite":
        from flask_migrate import upgrade

        from tests.conftest import ROOT

        lite = create_app(
            testing_settings(database_url=f"sqlite:///{tmp_path / 'payments.sqlite3'}")
        )
        with lite.app_context():
            upgrade(directory=str(ROOT / "migrations"))
        app_ = lite
    else:
        app_ = make_app()
    with app_.app_context():
        officer = make_user(roles=(Role.OFFICER,))
        grant = make_grant(make_proposal(coordinator=make_user()))
        now = utcnow()
        db.session.add(
            Disbursement(
                grant_id=grant.id,
                member_id=grant.amounts[0].member_id,
                year=1,
                period_from=dt.date(2027, 1, 1),
                period_to=dt.date(2027, 1, 31),
                amount=Decimal("60000.00"),
                state=DisbursementState.PROPOSED,
                requested_by_id=officer.id,
                requested_at=now,
                needs_second_officer=True,
                decided_by_id=officer.id,
                decided_at=now,
            )
        )
        db.session.commit()
        for statement in (
            "UPDATE disbursements SET confirmed_by_id = decided_by_id, confirmed_at = decided_at",
            "UPDATE disbursements SET state = 'approved'",
        ):
            with pytest.raises(sa.exc.IntegrityError, match="four_eyes|second_officer_when_needed"):
                db.session.execute(sa.text(statement))
            db.session.rollback()
        db.session.remove()
        db.engine.dispose()


def test_a_rejection_needs_a_reason_frees_the_money_and_tells_the_coordinator(app):
    world = world_in(app)
    with app.app_context():
        made = request(world, "100000.00")
        db.session.commit()
        made_id = made.id
    officer = as_person(app, world.officer)

    empty = post(officer, f"/payments/{made_id}/reject", {"reason": "  "})
    assert empty.status_code == 422
    assert field_error(text(empty), "reason") == "Say why the request is rejected."

    rejected = post(
        officer, f"/payments/{made_id}/reject", {"reason": "The invoices do not match."}
    )

    assert rejected.status_code == 302
    with app.app_context():
        done = reload(made_id)
        assert done.state == DisbursementState.REJECTED
        assert done.reason == "The invoices do not match."
        (mail,) = delivered("payments/rejected")
        assert "The invoices do not match." in mail.body_text
        # The whole year is free again.
        request(world, "100000.00")


def test_the_coordinator_withdraws_an_undecided_request_and_cannot_decide_one(app):
    world = world_in(app)
    with app.app_context():
        made = request(world, "500.00")
        db.session.commit()
        made_id = made.id
    coordinator = as_person(app, world.coordinator)
    assert post(coordinator, f"/payments/{made_id}/approve", {}).status_code == 403

    assert post(coordinator, f"/payments/{made_id}/withdraw", {}).status_code == 302

    with app.app_context():
        assert reload(made_id).state == DisbursementState.WITHDRAWN
    again = post(coordinator, f"/payments/{made_id}/withdraw", {})
    assert again.status_code == 302  # a repeated click changes nothing


# --- export -------------------------------------------------------------------------------------


def test_an_export_takes_each_approved_payment_once_and_is_recorded(app):
    world = world_in(app)
    with app.app_context():
        first = approved(world, "1000.00").id
        second = approved(world, "60000.00", member=world.partner_member).id
        waiting = request(world, "5.00").id
        db.session.commit()
    officer = as_person(app, world.officer)
    confirm = text(officer.get(f"/programmes/{world.programme_id}/payments/export/csv"))
    assert f"The file will hold 2 approved payments of {eur('61,000.00')} in all." in confirm

    exported = post(officer, f"/programmes/{world.programme_id}/payments/export/csv", {})

    assert exported.status_code == 200
    assert exported.headers["Content-Disposition"].startswith("attachment; filename=")
    data = exported.data
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0][:4] == ["Payment id", "Grant reference", "Acronym", "Partner organisation"]
    by_id = {row[0]: row for row in rows[1:]}
    assert sorted(by_id) == sorted([str(first), str(second)])
    partner = by_id[str(second)]
    # A name a spreadsheet would run as a formula stays text.
    assert partner[3] == "'=Neue Netze GmbH"
    assert partner[4:10] == ["DE-BE", "DE", "1", "2027", "2027-01-01", "2027-03-31"]
    assert partner[10] == "60000.00"
    assert partner[11] == "Olga Officer" and partner[13] == "Sam Second"
    with app.app_context():
        (export,) = db.session.scalars(sa.select(PaymentExport)).all()
        assert (export.file_format, export.payments, export.total) == (
            "csv",
            2,
            Decimal("61000.00"),
        )
        assert export.sha256 == hashlib.sha256(data).hexdigest()
        assert {reload(i).state for i in (first, second)} == {DisbursementState.EXPORTED}
        assert reload(first).export_id == export.id
        assert reload(waiting).state == DisbursementState.REQUESTED
        export_id = export.id

    # A second export finds nothing, in either format.
    again = post(officer, f"/programmes/{world.programme_id}/payments/export/xlsx", {})
    assert again.status_code == 302
    listing = text(officer.get(again.headers["Location"]))
    assert "No approved payments are waiting for export." in listing
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PaymentExport)) == 1

    # The file is kept: the exports list downloads the same bytes.
    exports = text(officer.get(f"/programmes/{world.programme_id}/payments/exports"))
    assert f"/payment-exports/{export_id}" in exports
    assert officer.get(f"/payment-exports/{export_id}").data == data

    # The payment system's answer: the file is paid.
    assert post(officer, f"/payment-exports/{export_id}/paid", {}).status_code == 302
    with app.app_context():
        assert {reload(i).state for i in (first, second)} == {DisbursementState.PAID}
        assert reload(first).paid_at is not None


def test_an_xlsx_export_has_typed_cells_and_neutralised_formulas(app):
    world = world_in(app)
    with app.app_context():
        approved(world, "1234.56", member=world.partner_member)
        db.session.commit()
    officer = as_person(app, world.officer)

    exported = post(officer, f"/programmes/{world.programme_id}/payments/export/xlsx", {})

    assert exported.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(exported.data)).active
    header, row = list(sheet.iter_rows(values_only=True))
    assert header[10] == "Amount (EUR)"
    assert row[3] == "=Neue Netze GmbH"  # stored as text, not as a formula
    assert sheet.cell(row=2, column=4).data_type == "s"
    assert row[10] == pytest.approx(1234.56)
    assert isinstance(row[12], dt.datetime)


# --- the money view -------------------------------------------------------------------------------


def test_the_money_view_equals_the_approved_payments_and_counts_ended_early_grants_right(app):
    world = world_in(app)
    with app.app_context():
        grant = grant_of(world)
        approved(world, "1000.00")
        approved(
            world,
            "60000.00",
            member=world.partner_member,
            year=2,
            period=(dt.date(2028, 1, 1), dt.date(2028, 1, 31)),
        )
        request(world, "7.00")  # pending: not paid
        call = grant.call
        ended = make_grant(
            make_proposal(call),
            state=GrantState.ENDED_EARLY,
            years=3,
            phase_years=1,
            per_member_year=Decimal("10000.00"),
            starts_on=dt.date(2028, 1, 1),
        )
        declined = make_grant(make_proposal(call), state=GrantState.DECLINED, years=2)
        db.session.commit()
        assert [p.released_at is not None for p in ended.phases] == [True, False, False]
        assert declined.state == GrantState.DECLINED
    officer = as_person(app, world.officer)

    page = text(officer.get(f"/programmes/{world.programme_id}/money"))

    # Committed: 600,000 of the running grant, 20,000 of the ended one's released first year.
    total = page.split('id="money-total"', 1)[1]
    assert eur("620,000.00") in total and eur("61,000.00") in total
    assert eur("559,000.00") in total and eur("99,380,000.00") in total
    year_2028 = page.split('id="money-year-2028"', 1)[1].split("</tr>", 1)[0]
    assert eur("220,000.00") in year_2028 and eur("60,000.00") in year_2028
    call_row = page.split(f'id="money-call-{world.call_id}"', 1)[1].split("</tr>", 1)[0]
    assert eur("10,000,000.00") in call_row and eur("9,380,000.00") in call_row
    assert "Y + y − 1" in page
    with app.app_context():
        paid = db.session.scalar(
            sa.select(sa.func.sum(Disbursement.amount)).where(
                Disbursement.state.in_(
                    [DisbursementState.APPROVED, DisbursementState.EXPORTED, DisbursementState.PAID]
                )
            )
        )
        assert paid == Decimal("61000.00")
    dashboard = text(officer.get(f"/programmes/{world.programme_id}/dashboard"))
    assert f"/programmes/{world.programme_id}/money" in dashboard


# --- the programme's settings -------------------------------------------------------------------


def test_the_programme_set_up_page_sets_the_threshold_in_german_and_the_report_rule(app):
    world = world_in(app)
    with app.app_context():
        user(world.officer).locale = "de"
        db.session.commit()
    officer = as_person(app, world.officer)
    url = f"/programmes/{world.programme_id}/edit"
    assert 'value="50000"' in text(officer.get(url))
    base = {"name": "Clusters4Future", "slug": "clusters4future", "total_budget": "630.000.000"}

    refused = post(officer, url, {**base, "payment_threshold": "-1"})
    assert refused.status_code == 422
    assert "Schwellenwert" in field_error(text(refused), "payment_threshold")

    saved = post(officer, url, {**base, "payment_threshold": "75.000,50"})

    assert saved.status_code == 302
    with app.app_context():
        programme = db.session.get(Programme, world.programme_id)
        assert programme.payment_threshold == Decimal("75000.50")
        assert programme.payments_wait_for_reports is False  # the box was not ticked
    shown = text(officer.get(f"/programmes/{world.programme_id}"))
    assert "75.000,50\u00a0€" in shown
    post(officer, url, {**base, "payment_threshold": "", "payments_wait_for_reports": "y"})
    with app.app_context():
        programme = db.session.get(Programme, world.programme_id)
        assert programme.payment_threshold is None and programme.payments_wait_for_reports


# --- who sees what --------------------------------------------------------------------------------

PAGES = {
    "grant": "/grants/{grant}/payments",
    "request_form": "/grants/{grant}/payments/new",
    "payment": "/payments/{payment}",
    "programme": "/programmes/{programme}/payments",
    "export_confirm": "/programmes/{programme}/payments/export/csv",
    "exports": "/programmes/{programme}/payments/exports",
    "download": "/payment-exports/{export}",
    "money": "/programmes/{programme}/money",
}
OFFICER_ONLY = ("programme", "export_confirm", "exports", "download", "money")
# What each person gets on each page: the grant's consortium and officers see the grant's pages,
# the coordinator alone has the request form, the programme's officers alone its pages; others
# are told nothing (404) where their role could reach the page, and 403 where it cannot.
ACCESS = {
    "coordinator": {"grant": 200, "request_form": 200, "payment": 200}
    | dict.fromkeys(OFFICER_ONLY, 403),
    "officer": {"grant": 200, "request_form": 403, "payment": 200}
    | dict.fromkeys(OFFICER_ONLY, 200),
    "second_officer": {"grant": 200, "request_form": 403, "payment": 200}
    | dict.fromkeys(OFFICER_ONLY, 200),
    "outsider_officer": {"grant": 404, "request_form": 403, "payment": 404}
    | dict.fromkeys(OFFICER_ONLY, 404),
    "other_applicant": {"grant": 404, "request_form": 404, "payment": 404}
    | dict.fromkeys(OFFICER_ONLY, 403),
    "juror": {"grant": 404, "request_form": 403, "payment": 404} | dict.fromkeys(OFFICER_ONLY, 403),
}


@pytest.mark.parametrize("who", sorted(ACCESS))
def test_each_payment_page_answers_only_the_grants_officers_and_consortium(app, who):
    world = world_in(app)
    with app.app_context():
        made = approved(world, "100.00")
        db.session.commit()
        export = ops.export_payments(
            db.session.get(Programme, world.programme_id),
            actor=user(world.officer),
            file_format="csv",
            now=utcnow(),
        ).export
        ids = {
            "grant": world.grant_id,
            "payment": made.id,
            "programme": world.programme_id,
            "export": export.id,
        }
    browser = as_person(app, getattr(world, who))
    answers = {
        name: browser.get(pattern.format(**ids)).status_code for name, pattern in PAGES.items()
    }
    assert answers == ACCESS[who]


def test_people_without_a_relation_cannot_act_on_a_payment(app):
    world = world_in(app)
    with app.app_context():
        made_id = request(world, "100.00").id
        db.session.commit()
    for email in (world.outsider_officer, world.other_applicant, world.juror):
        browser = as_person(app, email)
        for action in ("approve", "confirm", "reject", "withdraw", "paid"):
            response = post(browser, f"/payments/{made_id}/{action}", {"reason": "x"})
            assert response.status_code in (403, 404), (email, action)
    with app.app_context():
        assert reload(made_id).state == DisbursementState.REQUESTED
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StateTransition)) == 0


def test_the_grant_page_shows_the_payments_panel(app):
    world = world_in(app)
    with app.app_context():
        made = request(world, "2500.00")
        db.session.commit()
        made_id = made.id
    page = as_person(app, world.coordinator).get(f"/grants/{world.grant_id}").get_data(True)
    assert 'id="payments"' in page
    assert f"/payments/{made_id}" in page
    assert eur("2,500.00") in page
    assert f"/grants/{world.grant_id}/payments/new" in page


def test_the_payment_pages_read_the_same_number_of_queries_for_one_request_or_many(app):
    world = world_in(app)
    with app.app_context():
        approved(world, "100.00")
        db.session.commit()
    officer = as_person(app, world.officer)
    pages = (
        f"/grants/{world.grant_id}/payments",
        f"/programmes/{world.programme_id}/payments",
        f"/programmes/{world.programme_id}/money",
    )
    few = {url: queries_for_page(app, officer, url) for url in pages}
    with app.app_context():
        for year in (1, 2, 3):
            approved(
                world,
                "100.00",
                member=world.partner_member,
                year=year,
                period=(dt.date(2026 + year, 2, 1), dt.date(2026 + year, 2, 28)),
            )
            request(
                world,
                "1.00",
                year=year,
                period=(dt.date(2026 + year, 3, 1), dt.date(2026 + year, 3, 31)),
            )
        db.session.commit()

    many = {url: queries_for_page(app, officer, url) for url in pages}

    assert many == few
