"""The demo after the winners: the finalists' concept phases, the winners' first phase with its
annual reports and payments, and the interim evaluation that decides on the second phase.

The driver of ``competition.demo.simulate`` starts these steps as a round's decisions are
published; they run on the same simulated calendar, interleaved by date with the rounds' own
steps (each step a ``yield`` of the moment it happens). Everything goes through the operations
the pages use, as the demo's accounts:

- a concept phase (an advance from an outline stage that funds one): the coordinator accepts
  it, an officer starts it on its first day, the coordinator requests its money, an officer
  approves it, and an officer closes it once it is over (after the full proposal's deadline);
- a project grant (a "fund" at the hearing): accepted, started on its first day with its
  reports planned; in each year of phase 1 one payment per partner, approved by an officer or,
  above the programme's threshold, proposed by one and confirmed by the second; the annual
  reports of years 1 and 2 submitted weeks before they are due and accepted, except that in
  round 1 one consortium is late with its second report (the reminders operation runs at the
  simulated times and sends each reminder, then the report comes in and is accepted) and in
  round 2 one report is returned for changes once;
- the interim evaluation at the end of phase 1, per round: started by an officer, each
  consortium submits its report, its plan and the next phase's budget, three jurors review
  each, the bias model ranks; the officer proposes that the cluster with the lowest score
  stops (one cluster in the whole programme: the first evaluation's), the one above it
  continues with conditions and the others continue, a second officer confirms, the
  publication releases the second phase;
- once a year (1 December) an officer exports the approved payments for the ministry's payment
  system, and marks the file paid two weeks later.

Each step does only what is left of it, so a run that stopped goes on from there, and
``is_finished`` says when nothing is left. ``figures`` reads what the report prints from the
database: the money view, the grants' states and the counts of the final ``key=value`` line.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from competition.accounts.models import User
from competition.core import grants as grant_rules
from competition.core import payments as payment_rules
from competition.core import reports as report_rules
from competition.demo.simulate import (
    OFFICER,
    SECOND_OFFICER,
    Steps,
    _day,
    _money,
    _morning,
    _spread,
    attachment_pdf,
    competing_calls,
    plan_stage,
)
from competition.extensions import db
from competition.grants import operations as grants
from competition.grants.evaluations import operations as evaluations
from competition.grants.evaluations import queries as evaluation_queries
from competition.grants.models import (
    Disbursement,
    DisbursementState,
    Grant,
    GrantKind,
    GrantPhase,
    GrantState,
    PaymentExport,
    PhaseOutcome,
    Report,
    ReportKind,
    ReportReminderSent,
    ReportState,
)
from competition.grants.payments import operations as payments
from competition.grants.payments import queries as payment_queries
from competition.grants.reports import operations as reports
from competition.i18n import gettext as _
from competition.programmes.models import Call, Programme, Stage, StageKind
from competition.proposals import operations as proposals
from competition.proposals.models import (
    Proposal,
    StageSubmission,
    SubmissionState,
)
from competition.selection.decisions.operations import propose_decisions
from competition.selection.models import Decision, Outcome, Ranking
from competition.selection.publication.queries import OUTCOME_LABELS

if TYPE_CHECKING:
    from competition.demo.simulate import _Driver

# From the second phase on, the partners carry more of the cost: each asks for this share of
# its phase-1 public funding per year. The 630 M EUR must fund the concept phases, the first
# phase of 14 clusters and two more phases of those that continue; at 35 % both later phases
# fit (the first phase commits about 363 M EUR).
NEXT_PHASE_SHARE = Decimal("0.35")
# The interim evaluation: opened seven months before the phase ends, submissions for eight
# weeks, then three jurors per cluster (a few reviews each keep the demo quick).
EVALUATION_MONTHS_BEFORE = 7
EVALUATION_WEEKS = 8
EVALUATION_REVIEWERS = 3
EVALUATION_LOAD = 3
EVALUATION_CRITERIA = (
    evaluations.CriterionSpec(
        "Fortschritt gegenüber dem Arbeitsplan",
        Decimal(2),
        "Was das Cluster in der Phase erreicht hat, gemessen an seinem Arbeitsplan.",
    ),
    evaluations.CriterionSpec(
        "Plan für die nächste Phase",
        Decimal(1),
        "Wie überzeugend und realistisch die Ziele und der Finanzplan der nächsten Phase sind.",
    ),
    evaluations.CriterionSpec(
        "Wirkung und Verstetigung",
        Decimal(1),
        "Wie das Cluster in seiner Region wirkt und wie es sich nach der Förderung trägt.",
    ),
)
# Who is late, and whose report goes back once: one consortium each, in the whole programme.
LATE = (1, 2)  # round 1, the report of project year 2
REVISED = (2, 1)  # round 2, the report of project year 1
ANNUAL_REPORTS = 2  # the annual reports each project grant submits in the simulation
# The annual payment file for the ministry's payment system.
EXPORT_DAY = (12, 1)  # month, day
PAID_AFTER = dt.timedelta(days=14)
EXPORT_FORMAT = "csv"


def _at(day: dt.date, hour: int = 8) -> dt.datetime:
    """``hour`` o'clock UTC on ``day``: the same calendar day in Berlin."""
    return dt.datetime.combine(day, dt.time(hour), tzinfo=dt.UTC)


def _thousands(amount: Decimal, rounding: str) -> Decimal:
    return (amount / 1000).quantize(Decimal(1), rounding=rounding) * 1000


Act = Callable[[dt.datetime], int]  # does what is left of a step; says how many things it did


@dataclass(order=True)
class _Event:
    at: dt.datetime
    order: int
    kind: str = field(compare=False)  # what the report line after the last such event says
    group: int = field(compare=False)  # events of one kind and group are told in one line
    act: Act = field(compare=False)


class AfterDecision:
    """The steps after a round's publications, run by the simulation's driver."""

    def __init__(self, driver: _Driver) -> None:
        self.d = driver
        self._order = itertools.count()

    # -- running a list of dated events --

    def _event(
        self, events: list[_Event], at: dt.datetime, kind: str, act: Act, group: int = 0
    ) -> None:
        events.append(_Event(at, next(self._order), kind, group, act))

    def _run(
        self, events: list[_Event], call_id: int, words: dict[str, Callable[[int], str]]
    ) -> Steps[dt.datetime | None]:
        """Each event at its time, in time order; once the last event of a kind has run, one
        line says how many things of that kind were done. Returns the last event's time."""
        events.sort()
        last_of = {(event.kind, event.group): event for event in events}
        done: Counter[tuple[str, int]] = Counter()
        latest = None
        for event in events:
            yield event.at
            latest = event.at
            key = (event.kind, event.group)
            done[key] += event.act(event.at)
            if last_of[key] is event and done[key]:
                call = self.d._get(Call, call_id)
                self.d.say(call, None, event.at, words[event.kind](done[key]))
        return latest

    def _share(self, *key: object) -> float:
        return self.d.truth.stream("after", *key).random()

    # -- after a publication --

    def after_publication(self, call_id: int, stage_id: int) -> Steps[None]:
        """What follows a stage's publication: the concept phases an outline funds, or the
        project grants' first phase after the competition's last stage."""
        stage = self.d._get(Stage, stage_id)
        call = self.d._get(Call, call_id)
        if stage.concept_grant_amount is not None:
            yield from self.concept_phases(call_id, stage_id)
        elif stage.id == call.competition_stages[-1].id:
            yield from self.project_grants(call_id, stage_id)

    def _grants(self, stage_id: int, kind: GrantKind) -> list[Grant]:
        return sorted(
            db.session.scalars(
                sa.select(Grant)
                .join(Decision, Decision.id == Grant.decision_id)
                .where(Decision.stage_id == stage_id, Grant.kind == kind)
            ),
            key=lambda g: g.proposal.reference,
        )

    def _published_at(self, stage_id: int) -> dt.datetime | None:
        return db.session.scalar(
            sa.select(sa.func.max(Decision.published_at)).where(Decision.stage_id == stage_id)
        )

    # -- the concept phases --

    def concept_phases(self, call_id: int, stage_id: int) -> Steps[None]:
        published = self._published_at(stage_id)
        grant_list = self._grants(stage_id, GrantKind.CONCEPT)
        if published is None or not grant_list:
            return
        call = self.d._get(Call, call_id)
        stage = self.d._get(Stage, stage_id)
        following = next((s for s in call.competition_stages if s.position > stage.position), None)
        deadline = following.closes_at if following is not None else published
        events: list[_Event] = []
        for index, grant in enumerate(grant_list):
            reference = grant.proposal.reference
            accepted = _spread(
                _morning(published),
                _morning(published) + dt.timedelta(days=3),
                self._share("accept", reference),
            )
            started = max(_at(grant.starts_on), accepted + dt.timedelta(days=1))
            started += dt.timedelta(minutes=index)
            closed = max(_at(grant.ends_on), _morning(deadline)) + dt.timedelta(minutes=index)
            self._accept_start_events(events, grant, accepted, started)
            if grant.state != GrantState.CLOSED:
                requested = started + dt.timedelta(
                    days=2, hours=round(6 * self._share("ask", reference))
                )
                approved = started + dt.timedelta(days=5)
                self._payment_events(events, grant.id, 1, requested, approved)
                self._event(events, closed, "closed", self._closer(grant.id))
            closing = closed + dt.timedelta(days=30 + 20 * self._share("closing", reference))
            self._closing_report_events(events, grant.id, closing)
        yield from self._run(events, call_id, self._concept_words())

    def _concept_words(self) -> dict[str, Callable[[int], str]]:
        return {
            "accepted": lambda n: _(
                "%(num)s concept phases accepted by their coordinators.", num=n
            ),
            "started": lambda n: _(
                "%(num)s concept phases started by %(officer)s.", num=n, officer=OFFICER
            ),
            "requested": lambda n: _("%(num)s payments requested by the coordinators.", num=n),
            **self._payment_words(),
            "closed": lambda n: _(
                "%(num)s concept phases closed after the full proposal's deadline.", num=n
            ),
            **self._closing_words(),
        }

    def _payment_words(self) -> dict[str, Callable[[int], str]]:
        return {
            "approved": lambda n: _(
                "%(num)s payments decided by %(officer)s: approved, or above the threshold "
                "proposed to a second officer.",
                num=n,
                officer=OFFICER,
            ),
            "confirmed": lambda n: _(
                "%(num)s payments above the threshold confirmed by %(officer)s.",
                num=n,
                officer=SECOND_OFFICER,
            ),
        }

    def _closing_words(self) -> dict[str, Callable[[int], str]]:
        return {
            "closing": lambda n: _("%(num)s final reports and statements of use submitted.", num=n),
            "closing_accepted": lambda n: _(
                "%(num)s final reports and statements of use accepted by %(officer)s.",
                num=n,
                officer=OFFICER,
            ),
        }

    # -- the grant's own steps --

    def _accept_start_events(
        self, events: list[_Event], grant: Grant, accepted: dt.datetime, started: dt.datetime
    ) -> None:
        grant_id = grant.id
        if grant.state == GrantState.OFFERED:
            self._event(events, accepted, "accepted", lambda at: self._accept(grant_id, at))
        if grant.state in (GrantState.OFFERED, GrantState.ACCEPTED):
            self._event(events, started, "started", lambda at: self._start(grant_id, at))

    def _accept(self, grant_id: int, at: dt.datetime) -> int:
        grant = self.d._get(Grant, grant_id)
        if grant.state != GrantState.OFFERED:
            return 0
        return int(grants.accept_grant(grant, actor=self.d._coordinator(grant.proposal), now=at))

    def _start(self, grant_id: int, at: dt.datetime) -> int:
        """The officer starts the grant, which plans its reports."""
        grant = self.d._get(Grant, grant_id)
        if grant.state != GrantState.ACCEPTED:
            return 0
        return int(grants.start_grant(grant, actor=self.d.user(OFFICER), now=at))

    def _closer(self, grant_id: int) -> Callable[[dt.datetime], int]:
        def close(at: dt.datetime) -> int:
            grant = self.d._get(Grant, grant_id)
            if grant.state not in (GrantState.RUNNING, GrantState.ENDED_EARLY):
                return 0
            return int(grants.close_grant(grant, actor=self.d.user(OFFICER), now=at))

        return close

    # -- payments --

    def _payment_events(
        self,
        events: list[_Event],
        grant_id: int,
        year: int,
        requested: dt.datetime,
        approved: dt.datetime,
    ) -> None:
        """The coordinator requests the year's money, an officer decides, and above the
        threshold the second officer confirms a day later."""
        self._event(
            events, requested, "requested", lambda at: self._request(grant_id, year, at), year
        )
        self._event(events, approved, "approved", lambda at: self._approve(grant_id, at), year)
        confirmed = approved + dt.timedelta(days=1)
        self._event(events, confirmed, "confirmed", lambda at: self._confirm(grant_id, at), year)

    def _request(self, grant_id: int, year: int, at: dt.datetime) -> int:
        """The coordinator asks for each partner's approved money of the project year, for
        the whole year, unless a request for it is there already."""
        grant = self.d._get(Grant, grant_id)
        if grant.state not in (GrantState.RUNNING, GrantState.IN_EVALUATION):
            return 0
        asked = {
            (d.member_id, d.year)
            for d in payment_queries.disbursements_of(grant)
            if d.state not in (DisbursementState.REJECTED, DisbursementState.WITHDRAWN)
        }
        first, last = payment_rules.year_span(payment_queries.terms_of(grant), year)
        coordinator = self.d._coordinator(grant.proposal)
        count = 0
        for (member_id, cell_year), amount in sorted(payment_queries.approved_of(grant).items()):
            if cell_year != year or amount <= 0 or (member_id, year) in asked:
                continue
            payments.request_disbursement(
                self.d._get(Grant, grant_id),
                actor=coordinator,
                member_id=member_id,
                year=year,
                period_from=first,
                period_to=last,
                amount=amount,
                now=at + dt.timedelta(minutes=count),
            )
            count += 1
        return count

    def _waiting(self, grant_id: int, state: DisbursementState) -> list[int]:
        return list(
            db.session.scalars(
                sa.select(Disbursement.id)
                .where(Disbursement.grant_id == grant_id, Disbursement.state == state)
                .order_by(Disbursement.id)
            )
        )

    def _approve(self, grant_id: int, at: dt.datetime) -> int:
        """The officer decides each request: approved, or above the threshold proposed to a
        second officer."""
        officer = self.d.user(OFFICER)
        ids = self._waiting(grant_id, DisbursementState.REQUESTED)
        for index, disbursement_id in enumerate(ids):
            payments.approve_disbursement(
                self.d._get(Disbursement, disbursement_id),
                actor=officer,
                now=at + dt.timedelta(minutes=index),
            )
        return len(ids)

    def _confirm(self, grant_id: int, at: dt.datetime) -> int:
        second = self.d.user(SECOND_OFFICER)
        ids = self._waiting(grant_id, DisbursementState.PROPOSED)
        for index, disbursement_id in enumerate(ids):
            payments.confirm_disbursement(
                self.d._get(Disbursement, disbursement_id),
                actor=second,
                now=at + dt.timedelta(minutes=index),
            )
        return len(ids)

    # -- the project grants' first phase --

    def project_grants(self, call_id: int, stage_id: int) -> Steps[None]:
        published = self._published_at(stage_id)
        grant_list = self._grants(stage_id, GrantKind.PROJECT)
        if published is None or not grant_list:
            return
        call = self.d._get(Call, call_id)
        round_number = call.round_number
        references = [g.proposal.reference for g in grant_list]
        late = self._chosen(LATE, round_number, references, "late")
        revised = self._chosen(REVISED, round_number, references, "revised")
        events: list[_Event] = []
        for index, grant in enumerate(grant_list):
            reference = grant.proposal.reference
            accepted = _spread(
                _morning(published),
                _morning(published) + dt.timedelta(days=2),
                self._share("accept", reference),
            )
            started = max(_at(grant.starts_on), accepted + dt.timedelta(days=1))
            started += dt.timedelta(minutes=index)
            self._accept_start_events(events, grant, accepted, started)
            first_phase = min(grant.phases, key=lambda p: p.number)
            for year in range(first_phase.first_year, first_phase.last_year + 1):
                begins = _at(grant_rules.add_years(grant.starts_on, year - 1))
                requested = begins + dt.timedelta(days=2 + 5 * self._share("ask", reference, year))
                approved = max(begins, started) + dt.timedelta(days=8)
                self._payment_events(events, grant.id, year, max(requested, started), approved)
            annual = report_rules.annual_years(grant.starts_on, grant.ends_on)
            for year in annual[:ANNUAL_REPORTS]:
                due = report_rules.due_at(report_rules.annual_due_on(grant.starts_on, year))
                self._report_events(
                    events,
                    grant.id,
                    year,
                    due,
                    reference,
                    late=(reference, year) == late,
                    revised=(reference, year) == revised,
                )
        last = yield from self._run(events, call_id, self._project_words())
        yield from self.evaluation(call_id, phase=1, not_before=last)
        yield from self._after_a_stop(call_id, stage_id)

    def _after_a_stop(self, call_id: int, stage_id: int) -> Steps[None]:
        """A grant the evaluation stopped ends with its phase; a month later its consortium
        submits the final report and the statement of use."""
        events: list[_Event] = []
        for grant in self._grants(stage_id, GrantKind.PROJECT):
            if grant.state == GrantState.ENDED_EARLY:
                at = max(_at(grant.ends_on) + dt.timedelta(days=30), self.d.clock)
                self._closing_report_events(events, grant.id, at)
        yield from self._run(events, call_id, self._closing_words())

    def _chosen(
        self, which: tuple[int, int], round_number: int, references: list[str], what: str
    ) -> tuple[str, int] | None:
        chosen_round, year = which
        if round_number != chosen_round or not references:
            return None
        return self.d.truth.stream("after", what, round_number).choice(sorted(references)), year

    def _project_words(self) -> dict[str, Callable[[int], str]]:
        return {
            "accepted": lambda n: _(
                "%(num)s project grants accepted by their coordinators.", num=n
            ),
            "started": lambda n: _(
                "%(num)s project grants started by %(officer)s, their reports planned.",
                num=n,
                officer=OFFICER,
            ),
            "requested": lambda n: _(
                "%(num)s payments requested by the coordinators, one per partner and year.", num=n
            ),
            **self._payment_words(),
            "submitted": lambda n: _(
                "%(num)s annual reports submitted before they were due.", num=n
            ),
            "reminded": lambda n: _(
                "%(num)s reminders of a late annual report sent by the reminder task.", num=n
            ),
            "late": lambda n: _("%(num)s late annual report submitted after the reminders.", num=n),
            "returned": lambda n: _(
                "%(num)s annual report returned for changes by %(officer)s.", num=n, officer=OFFICER
            ),
            "resubmitted": lambda n: _("%(num)s annual report submitted again, revised.", num=n),
            "report_accepted": lambda n: _(
                "%(num)s annual reports accepted by %(officer)s.", num=n, officer=OFFICER
            ),
        }

    # -- annual reports --

    def _report_events(
        self,
        events: list[_Event],
        grant_id: int,
        year: int,
        due: dt.datetime,
        reference: str,
        *,
        late: bool,
        revised: bool,
    ) -> None:
        def submit(at: dt.datetime) -> int:
            return self._submit_report(grant_id, year, at)

        def accept(at: dt.datetime) -> int:
            return self._review_report(grant_id, year, at, accept=True)

        if late:
            for step in report_rules.REMINDER_STEPS:
                at = due + step.offset + dt.timedelta(hours=1)
                self._event(events, at, "reminded", self._remind, group=year)
            submitted = due + dt.timedelta(days=16)
            self._event(events, submitted, "late", submit, group=year)
            self._event(
                events, submitted + dt.timedelta(days=4), "report_accepted", accept, group=year
            )
            return
        share = self._share("report", reference, year)
        submitted = due - dt.timedelta(days=21) - dt.timedelta(days=21 * share)
        self._event(events, submitted, "submitted", submit, group=year)
        if revised:
            self._event(
                events,
                submitted + dt.timedelta(days=4),
                "returned",
                lambda at: self._review_report(grant_id, year, at, accept=False),
                group=year,
            )
            submitted += dt.timedelta(days=9)
            self._event(events, submitted, "resubmitted", submit, group=year)
        self._event(
            events,
            submitted + dt.timedelta(days=4, hours=3),
            "report_accepted",
            accept,
            group=year,
        )

    def _closing_report_events(self, events: list[_Event], grant_id: int, at: dt.datetime) -> None:
        """The final report and the statement of use, submitted at ``at`` and accepted five
        days later."""
        self._event(events, at, "closing", lambda t: self._submit_closing(grant_id, t))
        accepted = at + dt.timedelta(days=5, hours=2)
        self._event(
            events, accepted, "closing_accepted", lambda t: self._accept_closing(grant_id, t)
        )

    def _closing_reports(self, grant_id: int) -> list[Report]:
        return list(
            db.session.scalars(
                sa.select(Report)
                .where(
                    Report.grant_id == grant_id,
                    Report.kind.in_((ReportKind.FINAL, ReportKind.STATEMENT_OF_USE)),
                )
                .order_by(Report.id)
            )
        )

    def _submit_closing(self, grant_id: int, at: dt.datetime) -> int:
        count = 0
        for report in self._closing_reports(grant_id):
            if report.state not in (ReportState.DUE, ReportState.CHANGES_REQUESTED):
                continue
            grant = report.grant
            coordinator = self.d._coordinator(grant.proposal)
            if report.kind == ReportKind.STATEMENT_OF_USE and not any(
                a.removed_at is None for a in report.attachments
            ):
                reports.add_report_attachments(
                    report,
                    actor=coordinator,
                    files=[reports.Upload("verwendungsnachweis.pdf", statement_of_use(grant))],
                    now=at,
                )
                report = self.d._get(Report, report.id)
            reports.submit_report(
                report,
                actor=coordinator,
                sections=closing_sections(report.kind, grant),
                basis=report_rules.draft_basis(report.sections or {}),
                now=at + dt.timedelta(minutes=5 + count),
            )
            count += 1
        return count

    def _accept_closing(self, grant_id: int, at: dt.datetime) -> int:
        count = 0
        for report in self._closing_reports(grant_id):
            if report.state == ReportState.SUBMITTED:
                reports.accept_report(
                    report,
                    actor=self.d.user(OFFICER),
                    note="",
                    now=at + dt.timedelta(minutes=count),
                )
                count += 1
        return count

    def _report(self, grant_id: int, year: int) -> Report | None:
        return db.session.scalar(
            sa.select(Report).where(
                Report.grant_id == grant_id, Report.kind == ReportKind.ANNUAL, Report.year == year
            )
        )

    def _remind(self, at: dt.datetime) -> int:
        return reports.send_due_reminders(now=at)

    def _submit_report(self, grant_id: int, year: int, at: dt.datetime) -> int:
        report = self._report(grant_id, year)
        if report is None or report.state not in (ReportState.DUE, ReportState.CHANGES_REQUESTED):
            return 0
        proposal = report.grant.proposal
        revised = report.state == ReportState.CHANGES_REQUESTED
        reports.submit_report(
            report,
            actor=self.d._coordinator(proposal),
            sections=report_sections(proposal, year, revised=revised),
            basis=report_rules.draft_basis(report.sections or {}),
            now=at,
        )
        return 1

    def _review_report(self, grant_id: int, year: int, at: dt.datetime, *, accept: bool) -> int:
        report = self._report(grant_id, year)
        if report is None or report.state != ReportState.SUBMITTED:
            return 0
        officer = self.d.user(OFFICER)
        if accept:
            reports.accept_report(report, actor=officer, note="", now=at)
        else:
            reports.request_report_changes(
                report,
                actor=officer,
                reason=(
                    "Bitte ergänzen Sie im Abschnitt zu den Abweichungen, warum sich das "
                    "Arbeitspaket 2 verzögert hat und wie der Zeitplan gehalten wird."
                ),
                now=at,
            )
        return 1

    # -- the interim evaluation --

    def evaluation(
        self, call_id: int, *, phase: int, not_before: dt.datetime | None
    ) -> Steps[None]:
        call = self.d._get(Call, call_id)
        stage = evaluation_queries.evaluation_stage(call, phase)
        waiting = evaluation_queries.grants_in_phase(call, phase)
        if stage is None and waiting:
            ends = min(p.ends_on for g in waiting for p in g.phases if p.number == phase)
            at = _at(grant_rules.add_months(ends, -EVALUATION_MONTHS_BEFORE))
            if not_before is not None:
                at = max(at, not_before + dt.timedelta(days=1))
            yield at
            closes = at + dt.timedelta(weeks=EVALUATION_WEEKS)
            started = evaluations.start_interim_evaluation(
                self.d._get(Call, call_id),
                actor=self.d.user(OFFICER),
                phase=phase,
                name=f"Zwischenevaluation nach Phase {phase}",
                opens_at=at + dt.timedelta(hours=1),
                closes_at=closes,
                reviews_due_at=closes + dt.timedelta(weeks=5),
                reviewers_per_proposal=EVALUATION_REVIEWERS,
                max_load_per_juror=EVALUATION_LOAD,
                criteria=EVALUATION_CRITERIA,
                report_title=f"Bericht über Phase {phase}",
                plan_title=f"Plan für Phase {phase + 1}",
                now=at,
            )
            self.d.say(
                started.stage.call,
                started.stage,
                at,
                _(
                    "interim evaluation opened by %(officer)s for %(num)s project grants.",
                    officer=OFFICER,
                    num=len(started.grants),
                ),
            )
            stage = started.stage
        if stage is None:
            return
        stage_id = stage.id
        yield from self._evaluation_submissions(call_id, stage_id)
        stage = self.d._get(Stage, stage_id)
        plan = plan_stage(stage, None)
        yield from self.d._assign(call_id, stage_id, plan)
        yield from self.d._review(call_id, stage_id, plan)
        ranking_id = yield from self.d._rank(call_id, stage_id, plan.ranking)
        yield from self._decide(call_id, stage_id, ranking_id, plan.proposal)
        yield from self.d._confirm(call_id, stage_id, plan.confirmation)
        yield from self.d._publish(call_id, stage_id, plan.publication)

    def _evaluation_submissions(self, call_id: int, stage_id: int) -> Steps[None]:
        stage = self.d._get(Stage, stage_id)
        rows = db.session.execute(
            sa.select(StageSubmission.id, Proposal.reference)
            .join(Proposal, Proposal.id == StageSubmission.proposal_id)
            .where(
                StageSubmission.stage_id == stage_id,
                StageSubmission.state == SubmissionState.DRAFT,
            )
            .order_by(Proposal.reference)
        ).all()
        first = stage.opens_at + dt.timedelta(days=1)
        last = stage.closes_at - dt.timedelta(days=3)
        events: list[tuple[dt.datetime, int, int]] = []
        for submission_id, reference in rows:
            at = _spread(first, last, self._share("evaluation", reference, stage.evaluates_phase))
            for step, minutes in enumerate((0, 15, 30)):
                events.append((at + dt.timedelta(minutes=minutes), step, submission_id))
        events.sort()
        latest = first
        for at, step, submission_id in events:
            yield at
            latest = at
            submission = self.d._get(StageSubmission, submission_id)
            coordinator = self.d._coordinator(submission.proposal)
            if step == 0:
                self._write_evaluation(submission, coordinator, at)
            elif step == 1:
                self._next_budget(submission, coordinator, at)
            else:
                self.d._submit_one(submission, coordinator, submission.proposal.reference, at)
        if rows:
            stage = self.d._get(Stage, stage_id)
            self.d.say(
                stage.call,
                stage,
                latest,
                _(
                    "%(num)s reports and plans for the next phase submitted by the funded "
                    "consortia.",
                    num=len(rows),
                ),
            )

    def _write_evaluation(self, submission: StageSubmission, actor: User, at: dt.datetime) -> None:
        proposal = submission.proposal
        for index, section in enumerate(submission.stage.required_sections or ()):
            key = section["key"]
            if (submission.sections or {}).get(key, "").strip():
                continue
            text = evaluation_text(proposal, index, section["title"])
            proposals.save_section(
                submission,
                actor=actor,
                key=key,
                text=text[: int(section.get("max_chars", len(text)))],
                base_revision=int((submission.section_revisions or {}).get(key, 0)),
                now=at,
            )
            submission = self.d._get(StageSubmission, submission.id)

    def _next_budget(self, submission: StageSubmission, actor: User, at: dt.datetime) -> None:
        """The next phase's budget: each partner's phase-1 lines carried to the same year of
        the next phase, public funding at NEXT_PHASE_SHARE (rounded down to thousands), own
        contributions as they were."""
        if submission.budget_lines:
            return
        first, last = submission.stage.budget_years
        offset = first - 1
        previous = max(
            (s for s in submission.proposal.submissions if not s.stage.is_evaluation),
            key=lambda s: s.stage.position,
        )
        rows = [
            proposals.BudgetInput(
                member_id=line.member_id,
                year=line.year + offset,
                public_funding=str(_thousands(line.public_funding * NEXT_PHASE_SHARE, ROUND_FLOOR)),
                own_contribution=str(_thousands(line.own_contribution, ROUND_CEILING)),
                category=line.category,
            )
            for line in previous.budget_lines
            if first <= line.year + offset <= last
        ]
        proposals.save_budget(
            submission, actor=actor, rows=rows, base_revision=submission.revision, now=at
        )

    def _decide(
        self, call_id: int, stage_id: int, ranking_id: int, when: dt.datetime
    ) -> Steps[None]:
        """The officer's proposal on the ranking: the lowest score stops (unless a cluster of
        the programme was stopped already), the next lowest continues with conditions, the
        others continue."""
        decided = sa.select(Decision.proposal_id).where(Decision.stage_id == stage_id)
        ranking = self.d._get(Ranking, ranking_id)
        rows = ranking.result.get("proposals", [])
        undecided = [r["proposal_id"] for r in rows]
        undecided = list(
            db.session.scalars(
                sa.select(Proposal.id).where(
                    Proposal.id.in_(undecided), Proposal.id.not_in(decided)
                )
            )
        )
        if not undecided:
            return
        yield when
        stage = self.d._get(Stage, stage_id)
        order = [
            r["proposal_id"] for r in sorted(rows, key=lambda r: (-r["score"], r["proposal_id"]))
        ]
        outcomes: dict[int, Outcome] = {p: Outcome.CONTINUE for p in order}
        weakest = list(reversed(order))
        if not stopped_in(stage.call.programme_id, besides=stage_id) and len(weakest) > 1:
            outcomes[weakest.pop(0)] = Outcome.STOP
        if weakest:
            outcomes[weakest[0]] = Outcome.CONTINUE_WITH_CONDITIONS
        basis = ranking.created_at.strftime("%d.%m.%Y")
        texts = {
            Outcome.CONTINUE: (
                f"Die Jury bestätigt den Fortschritt des Clusters (Rangliste vom {basis}); die "
                "nächste Phase wird mit dem eingereichten Finanzplan gefördert.",
                "",
            ),
            Outcome.CONTINUE_WITH_CONDITIONS: (
                f"Das Cluster setzt seine Arbeit fort (Rangliste vom {basis}); die Jury sieht "
                "Nachholbedarf beim Transfer in die Region.",
                "Bis zum Ende des ersten Jahres der nächsten Phase legt das Cluster einen "
                "überarbeiteten Transferplan mit messbaren Zielen vor.",
            ),
            Outcome.STOP: (
                f"Das Cluster hat die Ziele der ersten Phase deutlich verfehlt (Rangliste vom "
                f"{basis}, niedrigste Bewertung); eine weitere Phase wird nicht gefördert.",
                "",
            ),
        }
        for index, outcome in enumerate(
            o
            for o in (Outcome.CONTINUE, Outcome.CONTINUE_WITH_CONDITIONS, Outcome.STOP)
            if o in outcomes.values()
        ):
            chosen = sorted(p for p, o in outcomes.items() if o == outcome and p in undecided)
            if not chosen:
                continue
            rationale, conditions = texts[outcome]
            propose_decisions(
                self.d._get(Stage, stage_id),
                chosen,
                outcome=outcome,
                rationale=rationale,
                conditions=conditions,
                actor=self.d.user(OFFICER),
                now=when + dt.timedelta(minutes=10 * index),
                ranking_id=ranking_id,
            )
        counts = Counter(outcomes[p] for p in undecided)
        self.d.say(
            stage.call,
            stage,
            when,
            _(
                "proposed by %(officer)s: %(continued)s continue, %(conditions)s continue with "
                "conditions, %(stopped)s stopped.",
                officer=OFFICER,
                continued=counts[Outcome.CONTINUE],
                conditions=counts[Outcome.CONTINUE_WITH_CONDITIONS],
                stopped=counts[Outcome.STOP],
            ),
        )

    # -- the ministry's payment file, once a year --

    def payment_exports(self, programme_id: int) -> Steps[None]:
        programme = self.d._get(Programme, programme_id)
        calls = competing_calls(programme)
        if not calls:
            return
        first = min(call.competition_stages[0].closes_at for call in calls).year
        last = max(
            grant_rules.add_years(call.competition_stages[-1].closes_at.date(), call.phase_years)
            for call in calls
        ).year
        for year in range(first, last + 1):
            at = dt.datetime(year, *EXPORT_DAY, 9, tzinfo=dt.UTC)
            export_id = db.session.scalar(
                sa.select(PaymentExport.id).where(
                    PaymentExport.programme_id == programme_id,
                    PaymentExport.created_at >= dt.datetime(year, 1, 1, tzinfo=dt.UTC),
                    PaymentExport.created_at < dt.datetime(year + 1, 1, 1, tzinfo=dt.UTC),
                )
            )
            if export_id is None:
                # A run that stopped and goes on from the start of its calendar finds payments
                # approved later than this day: their file is a later one.
                if at < self.d.clock or at < _latest_approval(programme_id):
                    continue
                yield at
                if not payment_queries.exportable_summary(programme_id)[0]:
                    continue
                made = payments.export_payments(
                    self.d._get(Programme, programme_id),
                    actor=self.d.user(OFFICER),
                    file_format=EXPORT_FORMAT,
                    now=at,
                )
                export_id = made.export.id
                self._tell(
                    programme_id,
                    at,
                    _(
                        "%(num)s approved payments (%(total)s) exported by %(officer)s for the "
                        "payment system.",
                        num=made.export.payments,
                        total=_money(made.export.total),
                        officer=OFFICER,
                    ),
                )
            export = self.d._get(PaymentExport, export_id)
            if not payment_queries.unpaid_in([export]).get(export_id):
                continue
            paid_at = max(export.created_at + PAID_AFTER, self.d.clock)
            yield paid_at
            count = payments.mark_export_paid(
                self.d._get(PaymentExport, export_id), actor=self.d.user(OFFICER), now=paid_at
            )
            self._tell(programme_id, paid_at, _("%(num)s payments marked paid.", num=count))

    def _tell(self, programme_id: int, when: dt.datetime, text: str) -> None:
        programme = self.d._get(Programme, programme_id)
        self.d.echo(f"{_day(when)}  {programme.name}: {text}")


def _latest_approval(programme_id: int) -> dt.datetime:
    """When the last of the programme's payments waiting for export was approved."""
    latest = db.session.scalar(
        sa.select(sa.func.max(sa.func.coalesce(Disbursement.confirmed_at, Disbursement.decided_at)))
        .join(Grant, Grant.id == Disbursement.grant_id)
        .join(Call, Call.id == Grant.call_id)
        .where(
            Call.programme_id == programme_id,
            Disbursement.state == DisbursementState.APPROVED,
            Disbursement.export_id.is_(None),
        )
    )
    return latest or dt.datetime.min.replace(tzinfo=dt.UTC)


def stopped_in(programme_id: int, *, besides: int) -> int:
    """Decisions of the programme's interim evaluations, other than stage ``besides``, that stop
    a grant."""
    return int(
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Decision)
            .join(Stage, Stage.id == Decision.stage_id)
            .join(Call, Call.id == Stage.call_id)
            .where(
                Call.programme_id == programme_id,
                Stage.kind == StageKind.INTERIM_EVALUATION,
                Stage.id != besides,
                Decision.outcome == Outcome.STOP,
            )
        )
        or 0
    )


# --- what the simulated consortia write ------------------------------------------------------

_PROGRESS = (
    "Im Projektjahr {year} hat {acronym} die Arbeitspakete planmäßig bearbeitet: Die "
    "Clustergeschäftsstelle ist besetzt, die Partner treffen sich monatlich, und die ersten "
    "gemeinsamen Forschungsprojekte laufen."
)
_RESULTS = (
    "Ergebnisse des Jahres {year}: zwei Demonstratoren, elf gemeinsame Veröffentlichungen, "
    "eine Patentanmeldung und vier neue Partner aus dem Mittelstand."
)
_DEVIATIONS = (
    "Das Arbeitspaket 2 hat sich um drei Monate verzögert, weil eine Stelle spät besetzt "
    "wurde; die Mittel wurden entsprechend später abgerufen."
)
_DEVIATIONS_REVISED = (
    _DEVIATIONS + " Die Stelle ist seit dem Frühjahr besetzt; der Verzug wird bis zum Ende des "
    "folgenden Projektjahres aufgeholt, ohne den Finanzplan zu ändern."
)
_NEXT_STEPS = (
    "Im Projektjahr {next} folgen die Pilotanwendungen mit den Industriepartnern und die "
    "erste Ausgründung aus dem Cluster."
)


def report_sections(proposal: Proposal, year: int, *, revised: bool) -> dict[str, str]:
    """The annual report of project year ``year``, as the demo's consortia write it (in
    German, as the programme's reports are written)."""
    values = {"acronym": proposal.acronym, "year": year, "next": year + 1}
    return {
        "progress": _PROGRESS.format(**values),
        "results": _RESULTS.format(**values),
        "deviations": _DEVIATIONS_REVISED if revised else _DEVIATIONS,
        "next_steps": _NEXT_STEPS.format(**values),
    }


def closing_sections(kind: ReportKind, grant: Grant) -> dict[str, str]:
    """The final report or the statement of use at the end of a grant (in German, as the
    programme's reports are written)."""
    acronym = grant.proposal.acronym
    what = "die Konzeptphase" if grant.kind == GrantKind.CONCEPT else "die geförderte Phase"
    if kind == ReportKind.STATEMENT_OF_USE:
        return {
            "use_of_funds": (
                f"{acronym} hat die Mittel für {what} für Personal, Workshops mit den Partnern "
                "und die Ausarbeitung der Clusterstrategie verwendet; die Aufstellung der "
                "Ausgaben je Partner liegt als PDF bei."
            ),
            "deviations": "Keine Abweichungen vom Finanzierungsplan.",
        }
    return {
        "progress": (
            f"{acronym} hat {what} wie geplant durchgeführt: Die Partner haben die Strategie "
            "gemeinsam ausgearbeitet und die Arbeitspakete abgeschlossen."
        ),
        "results": (
            "Eine abgestimmte Clusterstrategie, ein Arbeitsplan mit Meilensteinen und neue "
            "Partner aus Wirtschaft und Gesellschaft."
        ),
        "deviations": "Keine wesentlichen Abweichungen vom Arbeits- und Zeitplan.",
        "next_steps": (
            "Die Partner führen die begonnenen Vorhaben mit eigenen Mitteln und über weitere "
            "Förderprogramme fort."
        ),
    }


def statement_of_use(grant: Grant) -> bytes:
    """The statement of use's figures as a PDF: what each partner was paid, year by year."""
    rows = db.session.execute(
        sa.select(Disbursement.year, Disbursement.amount, Disbursement.member_id)
        .where(
            Disbursement.grant_id == grant.id,
            Disbursement.state.in_([DisbursementState(s) for s in payment_rules.COUNTED]),
        )
        .order_by(Disbursement.member_id, Disbursement.year)
    ).all()
    names = {m.id: m.organisation.name for m in grant.proposal.members}
    lines = [
        f"{names.get(member, 'Partner')}, Projektjahr {year}: {amount:,.2f} EUR ausgegeben"
        for year, amount, member in rows
    ]
    return attachment_pdf(f"{grant.proposal.acronym}: Verwendungsnachweis", lines)


def evaluation_text(proposal: Proposal, index: int, title: str) -> str:
    """A section of the consortium's submission to the interim evaluation."""
    if index == 0:
        return (
            f"{title}: {proposal.acronym} hat in der ersten Phase die Clusterstrukturen "
            "aufgebaut, die geplanten Forschungsprojekte begonnen und die Jahresberichte "
            "fristgerecht vorgelegt. Die Partner haben gemeinsam Ergebnisse erzielt, die in "
            "Pilotanwendungen überführt werden."
        )
    return (
        f"{title}: {proposal.acronym} will in der nächsten Phase die Pilotanwendungen in die "
        "Breite tragen, den Anteil der Industriepartner an den Kosten erhöhen und das Cluster "
        "auf eine dauerhafte Finanzierung vorbereiten."
    )


# --- whether anything is left, and what the report says --------------------------------------


def is_finished(programme: Programme) -> bool:
    """Every concept phase closed, every payment paid (or refused), the reports of every grant
    that has ended accepted, and every round's interim evaluation of phase 1 decided and
    published."""
    calls = competing_calls(programme)
    call_ids = [call.id for call in calls]
    open_concepts = db.session.scalar(
        sa.select(sa.func.count()).where(
            Grant.call_id.in_(call_ids),
            Grant.kind == GrantKind.CONCEPT,
            Grant.state != GrantState.CLOSED,
            Grant.state != GrantState.DECLINED,
        )
    )
    unpaid = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Disbursement)
        .join(Grant, Grant.id == Disbursement.grant_id)
        .where(
            Grant.call_id.in_(call_ids),
            Disbursement.state.not_in(
                (DisbursementState.PAID, DisbursementState.REJECTED, DisbursementState.WITHDRAWN)
            ),
        )
    )
    owed = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Report)
        .join(Grant, Grant.id == Report.grant_id)
        .where(
            Grant.call_id.in_(call_ids),
            Grant.state.in_((GrantState.CLOSED, GrantState.ENDED_EARLY)),
            Report.state != ReportState.ACCEPTED,
        )
    )
    if open_concepts or unpaid or owed:
        return False
    for call in calls:
        stage = evaluation_queries.evaluation_stage(call, 1)
        if stage is None:
            return False
        total, published = db.session.execute(
            sa.select(sa.func.count(), sa.func.count(Decision.published_at)).where(
                Decision.stage_id == stage.id
            )
        ).one()
        if total == 0 or total != published:
            return False
    return True


@dataclass(frozen=True)
class YearMoney:
    year: int  # budget year
    committed: Decimal
    paid: Decimal

    @property
    def left(self) -> Decimal:
        return self.committed - self.paid


@dataclass(frozen=True)
class Afterwards:
    """The life after the decisions, as the database has it at the end."""

    years: tuple[YearMoney, ...] = ()
    committed: Decimal = Decimal(0)
    paid: Decimal = Decimal(0)
    # (kind, state) → how many grants
    grants: tuple[tuple[GrantKind, GrantState, int], ...] = ()
    interim_evaluations: int = 0
    evaluation_outcomes: tuple[tuple[Outcome, int], ...] = ()
    grants_stopped: int = 0
    reports_accepted: int = 0
    reminders: int = 0
    payments: int = 0
    exports: int = 0

    def grants_of(self, kind: GrantKind | None = None) -> int:
        return sum(n for k, _s, n in self.grants if kind is None or k == kind)

    def lines(self, budget: Decimal, money: Callable[[Decimal], str]) -> list[str]:
        """What the simulation's report says of the grants, in the reader's language."""
        out = [_("The grants' money per budget year (the programme's money view):")]
        for row in self.years:
            if not row.committed and not row.paid:
                continue  # years without money (the third phase is planned later)
            out.append(
                "  "
                + _(
                    "%(year)s: %(committed)s committed, %(paid)s paid, %(left)s left to pay.",
                    year=row.year,
                    committed=money(row.committed),
                    paid=money(row.paid),
                    left=money(row.left),
                )
            )
        out.append(
            _(
                "In all the grants commit %(committed)s of the %(budget)s budget (%(free)s not "
                "yet committed); %(paid)s paid, %(left)s left to pay.",
                committed=money(self.committed),
                budget=money(budget),
                free=money(budget - self.committed),
                paid=money(self.paid),
                left=money(self.committed - self.paid),
            )
        )
        kinds = []
        for kind in dict.fromkeys(k for k, _s, _n in self.grants):
            states = ", ".join(
                _("%(what)s: %(num)s", what=state.label, num=n)
                for k, state, n in self.grants
                if k == kind
            )
            kinds.append(
                _(
                    "%(kind)s %(num)s (%(states)s)",
                    kind=kind.label,
                    num=self.grants_of(kind),
                    states=states,
                )
            )
        out.append(_("Grants: %(grants)s.", grants="; ".join(kinds)))
        outcomes = ", ".join(
            _("%(what)s: %(num)s", what=OUTCOME_LABELS[outcome], num=n)
            for outcome, n in self.evaluation_outcomes
        )
        out.append(
            _(
                "Interim evaluations: %(num)s, deciding on %(grants)s grants (%(outcomes)s); "
                "%(stopped)s stopped.",
                num=self.interim_evaluations,
                grants=sum(n for _o, n in self.evaluation_outcomes),
                outcomes=outcomes or "–",
                stopped=self.grants_stopped,
            )
        )
        out.append(
            _(
                "Reports: %(accepted)s accepted, %(reminders)s reminders sent. Payments: "
                "%(payments)s approved, in %(exports)s payment files.",
                accepted=self.reports_accepted,
                reminders=self.reminders,
                payments=self.payments,
                exports=self.exports,
            )
        )
        return out


def figures(programme: Programme) -> Afterwards:
    """What the report prints of the grants: the programme's money view (committed and paid
    per budget year), the grants by kind and state, the interim evaluations, the reports and
    the payments."""
    view, _calls = payment_queries.money_view(programme)
    calls = sa.select(Call.id).where(Call.programme_id == programme.id)
    grant_rows = db.session.execute(
        sa.select(Grant.kind, Grant.state, sa.func.count())
        .where(Grant.call_id.in_(calls))
        .group_by(Grant.kind, Grant.state)
    ).all()
    evaluation_stages = sa.select(Stage.id).where(
        Stage.call_id.in_(calls), Stage.kind == StageKind.INTERIM_EVALUATION
    )
    outcomes = db.session.execute(
        sa.select(Decision.outcome, sa.func.count())
        .where(Decision.stage_id.in_(evaluation_stages), Decision.published_at.is_not(None))
        .group_by(Decision.outcome)
    ).all()
    grants_of_programme = sa.select(Grant.id).where(Grant.call_id.in_(calls))

    def count(query: sa.Select[Any]) -> int:
        return int(db.session.scalar(query) or 0)

    return Afterwards(
        years=tuple(YearMoney(year, money.committed, money.paid) for year, money in view.years),
        committed=view.total.committed,
        paid=view.total.paid,
        grants=tuple(
            sorted(
                ((GrantKind(k), GrantState(s), int(n)) for k, s, n in grant_rows),
                key=lambda row: (list(GrantKind).index(row[0]), list(GrantState).index(row[1])),
            )
        ),
        interim_evaluations=count(
            sa.select(sa.func.count()).select_from(evaluation_stages.subquery())
        ),
        evaluation_outcomes=tuple(
            sorted(((Outcome(o), int(n)) for o, n in outcomes), key=lambda row: row[0].value)
        ),
        grants_stopped=count(
            sa.select(sa.func.count()).where(
                GrantPhase.grant_id.in_(grants_of_programme),
                GrantPhase.outcome == PhaseOutcome.STOPPED,
            )
        ),
        reports_accepted=count(
            sa.select(sa.func.count()).where(
                Report.grant_id.in_(grants_of_programme), Report.state == ReportState.ACCEPTED
            )
        ),
        reminders=count(
            sa.select(sa.func.count())
            .select_from(ReportReminderSent)
            .join(Report, Report.id == ReportReminderSent.report_id)
            .where(Report.grant_id.in_(grants_of_programme))
        ),
        payments=count(
            sa.select(sa.func.count()).where(
                Disbursement.grant_id.in_(grants_of_programme),
                Disbursement.state.in_([DisbursementState(s) for s in payment_rules.COUNTED]),
            )
        ),
        exports=count(sa.select(sa.func.count()).where(PaymentExport.programme_id == programme.id)),
    )
