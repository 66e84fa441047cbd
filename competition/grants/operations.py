"""A grant's life: offered when its decision is published, accepted or declined by the
consortium's coordinator, adjusted by an officer before it starts, started (its first phase
released), ended early or closed.

Every operation is one transaction (``competition.db.operation``; the offer joins the
publication's): permission, validation (one DomainError with every message keyed by form
field), change, audit event, outbox rows. The grant's state moves only through the workflow
gateway; what it commits of the programme's budget and the round's envelope is checked with the
core's rule (``core.grants``) whenever its money is set.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from competition.accounts.models import Role, User, UserStatus
from competition.audit.operations import record_event
from competition.berlin import BERLIN
from competition.core import grants as rules
from competition.core.amounts import AmountError, parse_amount
from competition.db import operation
from competition.errors import DomainError
from competition.extensions import db
from competition.grants import money
from competition.grants.models import (
    Grant,
    GrantAmount,
    GrantKind,
    GrantPhase,
    GrantState,
)
from competition.grants.permissions import (
    can_act_for_consortium,
    can_manage_grant,
    can_offer_grant,
)
from competition.grants.reports.operations import follow_early_end, plan_reports
from competition.i18n import gettext as _
from competition.i18n import local_date, say
from competition.notifications.operations import notify
from competition.permissions import require
from competition.programmes.models import Call, ProgrammeOfficer, Stage
from competition.proposals.models import (
    MemberRole,
    Proposal,
    StageSubmission,
    SubmissionVersion,
)
from competition.proposals.queries import coordinator_of
from competition.selection.models import Decision, Outcome
from competition.workflow import apply_step

log = logging.getLogger(__name__)

REASON_MAX_CHARS = 5_000
CONDITIONS_MAX_CHARS = 20_000
MAX_AMOUNT = Decimal("1e12")


def today_in_berlin(now: dt.datetime) -> dt.date:
    """The calendar day it is in Berlin at ``now``: the day a grant's dates are counted from."""
    return now.astimezone(BERLIN).date()


def amount_field(member_id: int, year: int) -> str:
    """The field a message about one cell of the amounts table is keyed by."""
    return f"m{member_id}-y{year}"


# --- offering, when a decision is published -----------------------------------------------------


def on_publish(
    decision: Decision, proposal: Proposal, stage: Stage, actor: User, now: dt.datetime
) -> None:
    """The publication hook (``selection.publication.hooks``): a published "fund" offers a
    project grant, an "advance" from a stage that funds a concept phase offers a concept grant.
    Runs inside the publication's transaction; a refusal leaves the decision unpublished."""
    if decision.outcome == Outcome.FUND:
        offer_project_grant(decision, proposal=proposal, stage=stage, actor=actor, now=now)
    elif decision.outcome == Outcome.ADVANCE and stage.concept_grant_amount is not None:
        offer_concept_grant(decision, proposal=proposal, stage=stage, actor=actor, now=now)


def _existing(proposal: Proposal, kind: GrantKind) -> Grant | None:
    return db.session.scalar(
        sa.select(Grant).where(Grant.proposal_id == proposal.id, Grant.kind == kind)
    )


def _budget_rows(proposal: Proposal, stage: Stage) -> list[rules.BudgetRow]:
    """The public funding the proposal asked for at ``stage``: its latest submitted version as
    frozen, or the submission's budget lines where no version was kept."""
    submission = db.session.scalar(
        sa.select(StageSubmission).where(
            StageSubmission.proposal_id == proposal.id, StageSubmission.stage_id == stage.id
        )
    )
    if submission is None:
        return []
    version = db.session.scalar(
        sa.select(SubmissionVersion)
        .where(SubmissionVersion.submission_id == submission.id)
        .order_by(SubmissionVersion.number.desc())
        .limit(1)
    )
    if version is None:
        return [
            rules.BudgetRow(line.member_id, line.year, Decimal(line.public_funding))
            for line in submission.budget_lines
        ]
    rows = []
    for line in version.content.get("budget", []):
        key = str(line.get("member_key", ""))
        member_id = int(key[1:]) if key[:1] == "m" and key[1:].isdigit() else 0
        rows.append(rules.BudgetRow(member_id, int(line["year"]), Decimal(line["public_funding"])))
    return rows


def _make_grant(
    proposal: Proposal,
    decision: Decision,
    *,
    kind: GrantKind,
    cells: Mapping[tuple[int, int], Decimal],
    starts_on: dt.date,
    ends_on: dt.date,
    phase_years: int,
    now: dt.datetime,
) -> Grant:
    grant = Grant(
        proposal_id=proposal.id,
        decision_id=decision.id,
        call_id=proposal.call_id,
        kind=kind,
        state=GrantState.OFFERED,
        starts_on=starts_on,
        ends_on=ends_on,
        conditions="",
        offered_at=now,
        created_at=now,
        updated_at=now,
    )
    for plan in rules.plan_phases(starts_on, ends_on, phase_years=phase_years):
        grant.phases.append(
            GrantPhase(
                number=plan.number,
                first_year=plan.first_year,
                last_year=plan.last_year,
                starts_on=plan.starts_on,
                ends_on=plan.ends_on,
            )
        )
    for (member_id, year), amount in sorted(cells.items()):
        grant.amounts.append(GrantAmount(member_id=member_id, year=year, amount=amount))
    db.session.add(grant)
    db.session.flush()
    return grant


def _check_envelope(grant: Grant, call: Call, *, field: str = "") -> None:
    problems = rules.envelope_problems(money.money_of(grant), money.budgets_for(call))
    if problems:
        raise DomainError({field: [say(problem) for problem in problems]})


def _cells_state(grant: Grant) -> dict[str, dict[str, Decimal]]:
    """The amounts for the audit trail: {"m<member>": {"<year>": amount}}."""
    state: dict[str, dict[str, Decimal]] = {}
    for cell in grant.amounts:
        state.setdefault(f"m{cell.member_id}", {})[str(cell.year)] = Decimal(cell.amount)
    return state


def _grant_state(grant: Grant) -> dict[str, Any]:
    return {
        "kind": grant.kind,
        "starts_on": grant.starts_on,
        "ends_on": grant.ends_on,
        "conditions": grant.conditions,
        "total": sum((Decimal(c.amount) for c in grant.amounts), Decimal(0)),
        "amounts": _cells_state(grant),
        "phases": [[p.number, p.first_year, p.last_year] for p in grant.phases],
    }


def _offered(grant: Grant, proposal: Proposal, *, actor: User, now: dt.datetime) -> None:
    record_event(
        actor=actor,
        action="grant.offered",
        object_type="grant",
        object_id=grant.id,
        after={
            **_grant_state(grant),
            "proposal_id": proposal.id,
            "decision_id": grant.decision_id,
            "state": grant.state,
        },
        now=now,
    )
    coordinator = coordinator_of(proposal)
    if coordinator is not None:
        notify(
            to=coordinator,
            template="grants/offered",
            context={
                **_context(grant, proposal, coordinator),
                "total": str(sum((Decimal(c.amount) for c in grant.amounts), Decimal(0))),
            },
            dedup_key=f"grants.offered:{grant.id}",
            now=now,
        )
    log.info("grant %s (%s) offered for proposal %s", grant.id, grant.kind.value, proposal.id)


def _context(grant: Grant, proposal: Proposal, person: User) -> dict[str, object]:
    return {
        "name": person.name,
        "reference": proposal.reference,
        "acronym": proposal.acronym,
        "kind": grant.kind.value,
        "grant_id": grant.id,
    }


@operation
def offer_project_grant(
    decision: Decision, *, proposal: Proposal, stage: Stage, actor: User, now: dt.datetime
) -> Grant:
    """Offer the project grant of a published "fund" decision: the amounts per partner and
    project year from the budget submitted at the decision's stage (its categories summed),
    the call's years in phases of the call's phase length, from the first day of the month
    after publication (Berlin). Nothing new when the proposal has its project grant already.

    Refused (the decision stays unpublished) when the budget has money in a year after the
    call's last or for an organisation no longer in the consortium, or when the grant would
    exceed what is left of the programme's budget or the round's envelope. A budget without
    public funding gives a grant without amounts, for the officer to set before it starts.
    Side effects: the grant (offered), its phases and amounts; audit ``grant.offered``; an
    e-mail to the coordinator saying how to accept it.
    """
    call = proposal.call
    require(can_offer_grant(actor, call.programme_id))
    found = _existing(proposal, GrantKind.PROJECT)
    if found is not None:
        return found
    years = call.budget_years
    asked = rules.summed(_budget_rows(proposal, stage))
    cells = rules.complete(asked, years=years)
    members = {m.id for m in proposal.members}
    errors = []
    outside = rules.money_outside(asked, years=years)
    if outside:
        errors.append(
            _(
                "The budget asks for money in year %(years)s, after the call's %(last)s years.",
                years=", ".join(str(y) for y in outside),
                last=years,
            )
        )
    if any(member not in members for (member, _year), amount in asked.items() if amount):
        errors.append(_("The budget names an organisation that is no longer in the consortium."))
    if errors:
        raise DomainError(" ".join(errors))
    starts_on = rules.first_of_next_month(today_in_berlin(now))
    grant = _make_grant(
        proposal,
        decision,
        kind=GrantKind.PROJECT,
        cells=cells,
        starts_on=starts_on,
        ends_on=rules.add_years(starts_on, years),
        phase_years=call.phase_years,
        now=now,
    )
    _check_envelope(grant, call)
    _offered(grant, proposal, actor=actor, now=now)
    return grant


@operation
def offer_concept_grant(
    decision: Decision, *, proposal: Proposal, stage: Stage, actor: User, now: dt.datetime
) -> Grant:
    """Offer the concept phase an "advance" from ``stage`` funds (Clusters4Future: six months
    of a set amount): the stage's amount on the coordinating organisation, project year 1, one
    phase of the stage's months from the first day of the month after publication (Berlin).
    Nothing new when the proposal has its concept grant already.

    Refused (the decision stays unpublished) when the consortium has no coordinating
    organisation, or the amount exceeds what is left of the programme's budget or the round's
    envelope. Side effects as ``offer_project_grant``.
    """
    call = proposal.call
    require(can_offer_grant(actor, call.programme_id))
    found = _existing(proposal, GrantKind.CONCEPT)
    if found is not None:
        return found
    amount, months = stage.concept_grant_amount, stage.concept_grant_months
    assert amount is not None and months is not None
    coordinator = next((m for m in proposal.members if m.role == MemberRole.COORDINATOR), None)
    if coordinator is None:
        raise DomainError(_("The consortium has no coordinating organisation to fund."))
    starts_on = rules.first_of_next_month(today_in_berlin(now))
    ends_on = rules.add_months(starts_on, months)
    grant = _make_grant(
        proposal,
        decision,
        kind=GrantKind.CONCEPT,
        cells=rules.complete(
            {(coordinator.id, 1): amount}, years=rules.project_years(starts_on, ends_on)
        ),
        starts_on=starts_on,
        ends_on=ends_on,
        # One phase, whatever its length: a concept phase has no interim evaluation.
        phase_years=rules.MAX_YEARS,
        now=now,
    )
    _check_envelope(grant, call)
    _offered(grant, proposal, actor=actor, now=now)
    return grant


# --- the consortium's answer --------------------------------------------------------------------


def officers_of(grant: Grant) -> list[User]:
    """The active officers of the grant's programme: who hears of the consortium's answer."""
    return list(
        db.session.scalars(
            sa.select(User)
            .join(ProgrammeOfficer, ProgrammeOfficer.user_id == User.id)
            .where(
                ProgrammeOfficer.programme_id == grant.call.programme_id,
                User.status == UserStatus.ACTIVE,
            )
            .order_by(User.id)
        )
    )


def _tell_officers(grant: Grant, *, accepted: bool, reason: str, now: dt.datetime) -> None:
    proposal = grant.proposal
    for officer in officers_of(grant):
        if not officer.has_role(Role.OFFICER):
            continue
        notify(
            to=officer,
            template="grants/answered",
            context={
                **_context(grant, proposal, officer),
                "accepted": accepted,
                "reason": reason,
            },
            dedup_key=f"grants.answered:{grant.id}:{officer.id}",
            now=now,
        )


def _reason(text: str, *, missing: str) -> tuple[str, dict[str, list[str]]]:
    text = (text or "").strip()
    if not text:
        return text, {"reason": [missing]}
    if len(text) > REASON_MAX_CHARS:
        return text, {"reason": [_("Use at most %(max)s characters.", max=f"{REASON_MAX_CHARS:,}")]}
    return text, {}


@operation
def accept_grant(grant: Grant, *, actor: User, now: dt.datetime) -> bool:
    """The coordinator accepts the offered grant; False when it was accepted already.

    Side effects: the grant accepted, with who and when (audit ``grant.accepted``); an e-mail
    to each officer of the programme.
    """
    require(can_act_for_consortium(actor, grant))
    moved = apply_step(
        grant,
        "accept",
        actor=actor,
        now=now,
        values={"accepted_at": now, "accepted_by_id": actor.id, "updated_at": now},
    )
    if moved:
        _tell_officers(grant, accepted=True, reason="", now=now)
    return moved


@operation
def decline_grant(grant: Grant, *, actor: User, reason: str, now: dt.datetime) -> bool:
    """The coordinator declines the offered grant, saying why; its money is free again (a
    declined grant commits nothing). False when it was declined already.

    Side effects: the grant declined with the reason (audit ``grant.declined``); an e-mail to
    each officer of the programme.
    """
    require(can_act_for_consortium(actor, grant))
    reason, errors = _reason(reason, missing=_("Say why the consortium declines the grant."))
    if errors:
        raise DomainError(errors)
    moved = apply_step(
        grant, "decline", actor=actor, now=now, reason=reason, values={"updated_at": now}
    )
    if moved:
        _tell_officers(grant, accepted=False, reason=reason, now=now)
    return moved


# --- the officer's steps ------------------------------------------------------------------------


def _tell_coordinator(
    grant: Grant, event: str, *, key: str, now: dt.datetime, **extra: object
) -> None:
    proposal = grant.proposal
    coordinator = coordinator_of(proposal)
    if coordinator is None:
        return
    notify(
        to=coordinator,
        template="grants/changed",
        context={**_context(grant, proposal, coordinator), "event": event, **extra},
        dedup_key=key,
        now=now,
    )


@operation
def start_grant(grant: Grant, *, actor: User, now: dt.datetime) -> bool:
    """An officer starts an accepted grant: its first phase is released, so its money may be
    paid. False when it was started already.

    Side effects: the grant running (audit ``grant.started``); phase 1 released; its reports
    planned (``reports.operations.plan_reports``); an e-mail to the coordinator.
    """
    require(can_manage_grant(actor, grant))
    first = grant.phases[0] if grant.phases else None
    moved = apply_step(
        grant,
        "start",
        actor=actor,
        now=now,
        values={"updated_at": now},
        detail={"phase_released": first.number if first else None},
    )
    if moved:
        if first is not None and first.released_at is None:
            first.released_at = now
        db.session.flush()
        plan_reports(grant, actor=actor, now=now)
        _tell_coordinator(grant, "started", key=f"grants.started:{grant.id}", now=now)
    return moved


@operation
def end_grant_early(
    grant: Grant, *, actor: User, reason: str, ends_on: dt.date | None, now: dt.datetime
) -> bool:
    """An officer ends a running grant before its time, saying why; funding ends on
    ``ends_on`` (today in Berlin when None). Phases not yet released never will be, and no
    longer count as committed. False when it had ended already.

    Side effects: the grant ended early with its new end date (audit ``grant.ended_early``,
    with the end before and after); the reports it no longer owes dropped and the closing
    ones re-dated (``reports.operations.follow_early_end``); an e-mail to the coordinator.
    """
    require(can_manage_grant(actor, grant))
    reason, errors = _reason(reason, missing=_("Say why the grant ends early."))
    ends_on = ends_on or today_in_berlin(now)
    if ends_on <= grant.starts_on:
        errors["ends_on"] = [
            _(
                "The funding must end after the grant's start (%(start)s).",
                start=local_date(grant.starts_on),
            )
        ]
    elif ends_on > grant.ends_on:
        errors["ends_on"] = [
            _(
                "Ending early cannot extend the grant beyond %(end)s.",
                end=local_date(grant.ends_on),
            )
        ]
    if errors:
        raise DomainError(errors)
    before = grant.ends_on
    moved = apply_step(
        grant,
        "end_early",
        actor=actor,
        now=now,
        reason=reason,
        values={"ends_on": ends_on, "updated_at": now},
        before={"ends_on": before},
        detail={"ends_on": ends_on},
    )
    if moved:
        follow_early_end(grant, actor=actor, now=now)
        _tell_coordinator(
            grant,
            "ended_early",
            key=f"grants.ended_early:{grant.id}",
            now=now,
            reason=reason,
            ends_on=ends_on.isoformat(),
        )
    return moved


def may_close(grant: Grant, *, now: dt.datetime) -> bool:
    """A grant is closed once its period is over (``ends_on`` is the first day after it)."""
    return today_in_berlin(now) >= grant.ends_on


@operation
def close_grant(grant: Grant, *, actor: User, now: dt.datetime) -> bool:
    """An officer closes a grant whose period is over (running to its end, or ended early).
    False when it was closed already.

    Side effects: the grant closed (audit ``grant.closed``); an e-mail to the coordinator.
    """
    require(can_manage_grant(actor, grant))
    running = (GrantState.RUNNING, GrantState.ENDED_EARLY)
    if grant.state in running and not may_close(grant, now=now):
        raise DomainError(
            _(
                "The grant runs until %(end)s; it can be closed from that day on.",
                end=local_date(grant.ends_on),
            )
        )
    moved = apply_step(grant, "close", actor=actor, now=now, values={"updated_at": now})
    if moved:
        _tell_coordinator(grant, "closed", key=f"grants.closed:{grant.id}", now=now)
    return moved


# --- adjusting before the start -----------------------------------------------------------------


def _lock(grant: Grant) -> None:
    """One change at a time per grant; then see its state as it is now."""
    db.session.execute(sa.select(Grant.id).where(Grant.id == grant.id).with_for_update())
    db.session.refresh(grant, ["state", "starts_on", "ends_on", "conditions"])


def _read_amounts(
    typed: Mapping[tuple[int, int], str], members: set[int], locale: str
) -> tuple[dict[tuple[int, int], Decimal], dict[str, list[str]]]:
    cells: dict[tuple[int, int], Decimal] = {}
    errors: dict[str, list[str]] = {}
    for (member_id, year), text in sorted(typed.items()):
        field = amount_field(member_id, year)
        if member_id not in members:
            errors[field] = [_("This organisation is not in the consortium.")]
            continue
        if not 1 <= year <= rules.MAX_YEARS:
            errors[field] = [_("A grant has project years 1 to 9.")]
            continue
        try:
            value = parse_amount(text, locale) or Decimal(0)
        except AmountError as error:
            errors[field] = [say(error.text)]
            continue
        if value < 0:
            errors[field] = [_("An amount cannot be negative.")]
        elif value != value.quantize(rules.CENT):
            errors[field] = [_("Give the amount in whole cents at most.")]
        elif value >= MAX_AMOUNT:
            errors[field] = [_("Enter an amount below one trillion euro.")]
        else:
            cells[(member_id, year)] = value
    return cells, errors


def _set_amounts(grant: Grant, cells: Mapping[tuple[int, int], Decimal]) -> None:
    """Rows updated in place (a row deleted and inserted again in one flush would break the
    unique key), added and removed."""
    existing = {(c.member_id, c.year): c for c in grant.amounts}
    for key, cell in existing.items():
        if key not in cells:
            grant.amounts.remove(cell)
        elif cell.amount != cells[key]:
            cell.amount = cells[key]
    for (member_id, year), amount in sorted(cells.items()):
        if (member_id, year) not in existing:
            grant.amounts.append(GrantAmount(member_id=member_id, year=year, amount=amount))


def _set_phases(grant: Grant, phase_years: int) -> None:
    plans = {
        p.number: p
        for p in rules.plan_phases(grant.starts_on, grant.ends_on, phase_years=phase_years)
    }
    for phase in list(grant.phases):
        if phase.number not in plans:
            grant.phases.remove(phase)
    existing = {p.number: p for p in grant.phases}
    for number, plan in sorted(plans.items()):
        found = existing.get(number)
        if found is None:
            grant.phases.append(
                GrantPhase(
                    number=number,
                    first_year=plan.first_year,
                    last_year=plan.last_year,
                    starts_on=plan.starts_on,
                    ends_on=plan.ends_on,
                )
            )
            continue
        found.first_year, found.last_year = plan.first_year, plan.last_year
        found.starts_on, found.ends_on = plan.starts_on, plan.ends_on


@operation
def adjust_grant(
    grant: Grant,
    *,
    actor: User,
    amounts: Mapping[tuple[int, int], str],
    starts_on: dt.date | None,
    ends_on: dt.date | None,
    conditions: str,
    reason: str,
    now: dt.datetime,
    locale: str = "de",
) -> Grant:
    """An officer changes an offered or accepted grant before it starts: the amounts per
    partner and project year (typed as people of ``locale`` write them; empty is 0), the
    start and end (the phases follow), the conditions (Auflagen). A reason is required. The
    amounts are checked against the programme's budget and the round's envelope again.

    Refused once the grant has started, and when nothing would change. A concept grant keeps
    one phase. Side effects: the grant's dates, conditions, amounts and phases; audit
    ``grant.adjusted`` with the before and after and the reason; an e-mail to the coordinator.
    """
    require(can_manage_grant(actor, grant))
    _lock(grant)
    proposal = grant.proposal
    errors: dict[str, list[str]] = {}
    if grant.state.value not in rules.ADJUSTABLE:
        raise DomainError(
            _(
                "This grant is %(state)s; its amounts, dates and conditions no longer change.",
                state=grant.state.label.lower(),
            )
        )
    reason, reason_errors = _reason(reason, missing=_("Say why the grant is adjusted."))
    errors |= reason_errors
    conditions = (conditions or "").strip()
    if len(conditions) > CONDITIONS_MAX_CHARS:
        errors["conditions"] = [
            _("Use at most %(max)s characters.", max=f"{CONDITIONS_MAX_CHARS:,}")
        ]
    if starts_on is None:
        errors["starts_on"] = [_("Enter the day the grant starts.")]
    if ends_on is None:
        errors["ends_on"] = [_("Enter the day the grant ends.")]
    years = 0
    if starts_on is not None and ends_on is not None:
        years = rules.project_years(starts_on, ends_on)
        if ends_on <= starts_on:
            errors["ends_on"] = [_("The grant must end after it starts.")]
        elif years > rules.MAX_YEARS:
            errors["ends_on"] = [_("A grant runs for at most nine years.")]
    cells, cell_errors = _read_amounts(amounts, {m.id for m in proposal.members}, locale)
    errors |= cell_errors
    if years and "ends_on" not in errors:
        for member_id, year in sorted(cells):
            if cells[(member_id, year)] and year > years:
                errors.setdefault(amount_field(member_id, year), []).append(
                    _(
                        "The grant ends after %(num)s project years; move this amount into "
                        "one of them or end the grant later.",
                        num=years,
                    )
                )
    if errors:
        raise DomainError(errors)
    assert starts_on is not None and ends_on is not None
    cells = rules.complete(cells, years=years)
    if not cells:
        raise DomainError(_("A grant needs an amount for at least one partner."))
    before = _grant_state(grant)
    dates_changed = (starts_on, ends_on) != (grant.starts_on, grant.ends_on)
    grant.starts_on, grant.ends_on, grant.conditions = starts_on, ends_on, conditions
    _set_amounts(grant, cells)
    if dates_changed:
        phase_years = rules.MAX_YEARS if grant.kind == GrantKind.CONCEPT else grant.call.phase_years
        _set_phases(grant, phase_years)
    db.session.flush()
    after = _grant_state(grant)
    if after == before:
        raise DomainError(_("Nothing would change: change an amount, a date or the conditions."))
    _check_envelope(grant, grant.call)
    grant.updated_at = now
    db.session.flush()
    record_event(
        actor=actor,
        action="grant.adjusted",
        object_type="grant",
        object_id=grant.id,
        before=before,
        after={**after, "reason": reason},
        now=now,
    )
    digest = hashlib.sha256(
        json.dumps(
            {"after": {k: str(v) for k, v in after.items()}, "at": now.isoformat()},
            sort_keys=True,
        ).encode()
    ).hexdigest()[:16]
    _tell_coordinator(
        grant, "adjusted", key=f"grants.adjusted:{grant.id}:{digest}", now=now, reason=reason
    )
    return grant
