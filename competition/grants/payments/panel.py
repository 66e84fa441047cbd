"""What the payments panel of a grant shows its reader, loaded before the page renders: the money
per partner and year, the requests with the actions the reader may take, and whether the
coordinator may request now (and why not)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask_wtf import FlaskForm

from competition.accounts.models import User
from competition.core import payments as rules
from competition.grants.models import Disbursement, Grant
from competition.grants.payments import queries
from competition.grants.payments.permissions import can_request_payment
from competition.grants.permissions import is_grant_officer
from competition.grants.reports.queries import has_overdue_report
from competition.i18n import lazy_gettext as _l
from competition.i18n import say
from competition.paging import Page
from competition.proposals.forms import ButtonForm
from competition.workflow import offered

# The buttons of the lifecycle's actions (reject needs a reason: its form is on the request's
# page), and the route each posts to.
ACTION_LABELS = {
    "approve": _l("Approve"),
    "propose": _l("Approve, for a second officer to confirm"),
    "confirm": _l("Confirm the payment"),
    "withdraw": _l("Withdraw the payment request"),
    "pay": _l("Mark paid"),
}
ACTION_ENDPOINTS = {
    "approve": "grants.approve_payment",
    "propose": "grants.approve_payment",
    "confirm": "grants.confirm_payment",
    "withdraw": "grants.withdraw_payment",
    "pay": "grants.mark_payment_paid",
}


# Requests shown at once; a grant of twenty partners over nine years may have hundreds.
PER_PAGE = 25


@dataclass(frozen=True)
class Panel:
    grant: Grant
    rows: list[queries.BudgetRow]
    # The page of requests shown, newest first.
    requests: Page[Disbursement]
    # The actions offered on each request, by its id.
    actions: dict[int, list[str]]
    is_officer: bool
    may_request: bool
    # Why the coordinator cannot request a payment now (the grant does not run, a report is
    # overdue); empty when nothing stands in the way.
    blocked: list[str]
    threshold: Decimal | None
    wait_for_reports: bool
    button_form: FlaskForm = field(default_factory=lambda: ButtonForm(formdata=None))

    labels = ACTION_LABELS
    endpoints = ACTION_ENDPOINTS

    @property
    def left(self) -> Decimal:
        return sum((row.left for row in self.rows if row.released), rules.ZERO)


def actions_for(disbursement: Disbursement, viewer: User, *, officer: bool) -> list[str]:
    """The lifecycle's actions the viewer may take on the request now."""
    grant = disbursement.grant
    two = rules.needs_second_officer(disbursement.amount, grant.call.programme.payment_threshold)
    coordinator = bool(can_request_payment(viewer, grant))
    return offered(
        disbursement,
        {
            "approve": officer and not two,
            "propose": officer and two,
            "confirm": officer and disbursement.decided_by_id != viewer.id,
            "reject": officer,
            "withdraw": coordinator,
            "pay": officer,
        },
    )


def panel(grant: Grant, viewer: User, *, now: dt.datetime, page: int = 1) -> Panel:
    """What the reader sees of the grant's payments; ``page``: which page of its requests."""
    programme = grant.call.programme
    disbursements = queries.disbursements_of(grant)
    shown = disbursements[(page - 1) * PER_PAGE : page * PER_PAGE]
    officer = is_grant_officer(viewer, grant)
    may_request = bool(can_request_payment(viewer, grant))
    blocked: list[str] = []
    if may_request:
        overdue = (
            int(has_overdue_report(grant.id, now=now)) if programme.payments_wait_for_reports else 0
        )
        # Only what stands in the way of any request; the rest is said at the form's fields.
        blocked = [
            say(problem.message)
            for problem in rules.check_request(
                rules.Request(None, None, None, None, None),
                terms=queries.terms_of(grant),
                approved={},
                drawings=[],
                overdue_reports=overdue,
                wait_for_reports=programme.payments_wait_for_reports,
            )
            if problem.field == ""
        ]
    return Panel(
        grant=grant,
        rows=queries.budget_rows(grant, disbursements),
        requests=Page(shown, page=page, per_page=PER_PAGE, total=len(disbursements)),
        actions={d.id: actions_for(d, viewer, officer=officer) for d in shown},
        is_officer=officer,
        may_request=may_request,
        blocked=blocked,
        threshold=programme.payment_threshold,
        wait_for_reports=programme.payments_wait_for_reports,
    )
