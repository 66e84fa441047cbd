"""Memberships: an applicant applies for the cluster management organisation with its member
organisations and services; officers set up criteria and evaluators; evaluators record
evaluations; a second officer grants, refuses, renews or withdraws; the annual re-evaluation
opens when a period nears its end.

Every operation is one transaction (competition.db.operation): permission, validation (one
DomainError with every message keyed by form field), change, audit event, outbox rows. A
membership's state moves only through the workflow gateway; operations that change a
membership lock its row first, so an evaluation and a decision on it queue up, not race.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.audit.operations import record_event
from competition.core import memberships as rules
from competition.core import registry, scoring
from competition.core import workflow as tables
from competition.core.texts import N_
from competition.db import add_unique, operation
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import number, say
from competition.memberships import permissions, queries
from competition.memberships.models import (
    EVALUATED_STATES,
    DecisionAction,
    Membership,
    MembershipCriterion,
    MembershipDecision,
    MembershipEvaluation,
    MembershipEvaluator,
    MembershipMember,
    MembershipScore,
    MembershipState,
    Recommendation,
)
from competition.notifications.operations import notify
from competition.organisations.models import Organisation
from competition.organisations.operations import RowOrganisations, RowsReport, read_rows
from competition.organisations.queries import in_use_by_names, normalise_name
from competition.permissions import require
from competition.programmes.models import Programme
from competition.workflow import apply_step

log = logging.getLogger(__name__)

SERVICES_MAX_CHARS = 10_000
COMMENT_MAX_CHARS = 10_000
REASON_MAX_CHARS = 5_000


def _lock(membership: Membership) -> None:
    """One change at a time per membership; then see it as it is now."""
    db.session.execute(
        sa.select(Membership.id).where(Membership.id == membership.id).with_for_update()
    )
    db.session.refresh(membership, ["state", "round", "valid_from", "valid_until"])


def _touch(membership: Membership, now: dt.datetime) -> None:
    membership.updated_at = now


def _text_error(text: str, limit: int) -> str | None:
    if len(text) > limit:
        return _(
            "The text has %(count)s characters; use at most %(limit)s.",
            count=number(len(text), 0),
            limit=number(limit, 0),
        )
    return None


def _event(
    membership: Membership,
    action: str,
    *,
    actor: User | None,
    now: dt.datetime,
    after: Mapping[str, object],
    before: Mapping[str, object] | None = None,
) -> None:
    record_event(
        actor=actor,
        action=f"membership.{action}",
        object_type="membership",
        object_id=membership.id,
        before=dict(before) if before else None,
        after=dict(after),
        now=now,
    )


# --- the cluster management organisation and single members ------------------------------------


def _organisation_named(
    name: str,
    *,
    kind: str | None,
    federal_state: str | None,
    field_name: str,
    now: dt.datetime,
) -> tuple[Organisation | None, dict[str, list[str]]]:
    """The registry's organisation of that name (any case, spaces collapsed; a merged duplicate
    stands for the one kept), or, when the registry does not know it, a new one in Germany of
    the kind and federal state given, added as the file import adds one."""
    name = normalise_name(name)
    if not name:
        return None, {field_name: [_("Enter the organisation's name.")]}
    found = in_use_by_names([name]).get(name.lower(), [])
    if len(found) == 1:
        return found[0], {}
    if len(found) > 1:
        return None, {
            field_name: [
                _(
                    "Several organisations in the registry are called “%(name)s”; ask the "
                    "programme office which one to name.",
                    name=name,
                )
            ]
        }
    errors: dict[str, list[str]] = {}
    if len(name) > registry.NAME_MAX:
        errors[field_name] = [_("The name is too long.")]
    kind_code = registry.read_kind(kind) if kind else None
    state_code = registry.read_state(federal_state) if federal_state else None
    if kind_code is None:
        errors.setdefault(field_name, []).append(
            _("Not in the registry: choose its kind and federal state to add it as new.")
        )
    elif state_code is None:
        errors["federal_state"] = [_("Choose the federal state (required for Germany).")]
    if errors:
        return None, errors
    assert kind_code is not None
    row = registry.OrganisationRow(0, name, kind_code, state_code, "DE")
    named = RowOrganisations([row])
    organisation, _reasons = named.find(row)
    return organisation or named.create(row, now=now), {}


@operation
def apply_for_membership(
    programme: Programme,
    *,
    actor: User,
    organisation_name: str,
    kind: str | None = None,
    federal_state: str | None = None,
    services: str,
    now: dt.datetime,
) -> Membership:
    """An applicant applies for membership for the cluster management organisation they act
    for (named from the registry, or added to it with its kind and federal state), with the
    cluster's services; its member organisations follow on the membership's page.

    Side effects: possibly an organisation row; the membership (applied); audit
    ``membership.applied``.
    """
    require(permissions.can_apply(actor, programme))
    services = services.strip()
    errors: dict[str, list[str]] = {}
    if (problem := _text_error(services, SERVICES_MAX_CHARS)) is not None:
        errors["services"] = [problem]
    # A new organisation this adds is rolled back with the rest when anything is refused.
    organisation, found_errors = _organisation_named(
        organisation_name,
        kind=kind,
        federal_state=federal_state,
        field_name="organisation",
        now=now,
    )
    errors |= found_errors
    if errors:
        raise DomainError(errors)
    assert organisation is not None
    membership = Membership(
        programme_id=programme.id,
        organisation_id=organisation.id,
        applicant_id=actor.id,
        services=services,
        state=MembershipState.APPLIED,
        applied_at=now,
        updated_at=now,
        round=0,
    )
    add_unique(
        membership,
        taken=DomainError(
            _(
                "%(organisation)s already applies for or holds a membership of %(programme)s.",
                organisation=organisation.name,
                programme=programme.name,
            ),
            field="organisation",
        ),
    )
    _event(
        membership,
        "applied",
        actor=actor,
        now=now,
        after={
            "programme_id": programme.id,
            "organisation_id": organisation.id,
            "services": services,
            "state": MembershipState.APPLIED,
        },
    )
    log.info("membership %s applied for in programme %s", membership.id, programme.id)
    return membership


@operation
def update_services(
    membership: Membership, *, actor: User, services: str, now: dt.datetime
) -> None:
    """The applicant describes the cluster's services anew.

    Side effects: audit ``membership.services_updated`` (nothing when nothing changed).
    """
    require(permissions.can_edit_profile(actor, membership))
    services = services.strip()
    if (problem := _text_error(services, SERVICES_MAX_CHARS)) is not None:
        raise DomainError({"services": [problem]})
    if services == membership.services:
        return
    before = membership.services
    membership.services = services
    _touch(membership, now)
    db.session.flush()
    _event(
        membership,
        "services_updated",
        actor=actor,
        now=now,
        before={"services": before},
        after={"services": services},
    )


@operation
def add_member(
    membership: Membership,
    *,
    actor: User,
    name: str,
    kind: str | None = None,
    federal_state: str | None = None,
    now: dt.datetime,
) -> MembershipMember:
    """Add one member organisation, chosen from the registry by name (or added to it with its
    kind and federal state).

    Side effects: possibly an organisation row; a member row; audit ``membership.member_added``.
    """
    require(permissions.can_edit_profile(actor, membership))
    _lock(membership)
    require(permissions.can_edit_profile(actor, membership))
    organisation, errors = _organisation_named(
        name, kind=kind, federal_state=federal_state, field_name="name", now=now
    )
    if organisation is not None:
        if organisation.id == membership.organisation_id:
            errors["name"] = [_("The cluster management organisation is not its own member.")]
        elif organisation.id in queries.member_ids(membership):
            errors["name"] = [
                _("%(organisation)s is already a member.", organisation=organisation.name)
            ]
    if errors:
        raise DomainError(errors)
    assert organisation is not None
    member = MembershipMember(
        membership_id=membership.id, organisation_id=organisation.id, added_at=now
    )
    db.session.add(member)
    _touch(membership, now)
    db.session.flush()
    _event(
        membership,
        "member_added",
        actor=actor,
        now=now,
        after={"organisation_id": organisation.id, "kind": organisation.kind.value},
    )
    return member


@operation
def remove_member(
    membership: Membership, *, actor: User, organisation_id: int, now: dt.datetime
) -> None:
    """Take an organisation off the cluster's member list.

    Side effects: the member row; audit ``membership.member_removed``.
    """
    require(permissions.can_edit_profile(actor, membership))
    _lock(membership)
    removed = db.session.execute(
        sa.delete(MembershipMember).where(
            MembershipMember.membership_id == membership.id,
            MembershipMember.organisation_id == organisation_id,
        )
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise DomainError(_("That organisation is not on the member list."))
    _touch(membership, now)
    db.session.flush()
    _event(
        membership,
        "member_removed",
        actor=actor,
        now=now,
        after={"organisation_id": organisation_id},
    )


@operation
def add_members_from_file(
    membership: Membership, *, actor: User, data: bytes, now: dt.datetime
) -> RowsReport:
    """Add the member organisations of a CSV or XLSX table (the registry's columns: name, kind,
    federal state, country), as the consortium's partner file is read: an organisation the
    registry knows needs only its name (a merged duplicate stands for the one kept); an unknown
    one is added to the registry from its kind and federal state. Refused with the reasons: an
    unreadable row, an organisation already a member or earlier in the file, the cluster
    management organisation itself. The valid rows are added together; a file that cannot be
    read adds nothing.

    Side effects: organisation rows for new organisations; member rows (in bulk); audit
    ``membership.members_imported``.
    """
    require(permissions.can_edit_profile(actor, membership))
    # One change of the member list at a time: the checks below hold until the rows are in.
    _lock(membership)
    require(permissions.can_edit_profile(actor, membership))
    header, rows = read_rows(data, wanted=registry.REGISTRY_COLUMNS)
    report = RowsReport()
    parsed: list[registry.OrganisationRow] = []
    for row_number, values in enumerate(rows[1:], start=2):
        if registry.is_blank(values):
            continue
        report.rows += 1
        row = registry.read_organisation(row_number, values, header, kind_required=False)
        if isinstance(row, registry.Refused):
            report.refused.append(row)
        else:
            parsed.append(row)
    organisations = RowOrganisations(parsed)
    already = queries.member_ids(membership)
    first_row: dict[int, int] = {}
    added: list[int] = []
    for row in parsed:
        organisation, reasons = organisations.find(row)
        if organisation is not None:
            if organisation.id in first_row:
                seen = first_row[organisation.id]
                reasons.append(N_("The same organisation is already in row %(row)s.", row=seen))
            elif organisation.id in already:
                reasons.append(
                    N_("%(organisation)s is already a member.", organisation=organisation.name)
                )
            elif organisation.id == membership.organisation_id:
                reasons.append(N_("The cluster management organisation is not its own member."))
        if reasons:
            report.refused.append(registry.Refused(row.row, row.name, tuple(reasons)))
            continue
        if organisation is None:
            organisation = organisations.create(row, now=now)
            report.created.append(organisation.name)
        first_row[organisation.id] = row.row
        added.append(organisation.id)
        report.added.append(organisation.name)
    report.refused.sort(key=lambda r: r.row)
    if not added:
        return report
    db.session.execute(
        sa.insert(MembershipMember),
        [
            {"membership_id": membership.id, "organisation_id": organisation_id, "added_at": now}
            for organisation_id in added
        ],
    )
    _touch(membership, now)
    db.session.flush()
    _event(
        membership,
        "members_imported",
        actor=actor,
        now=now,
        after={
            "rows": report.rows,
            "added": len(added),
            "created_organisations": len(report.created),
            "refused_rows": [r.row for r in report.refused],
        },
    )
    return report


@operation
def retract_application(membership: Membership, *, actor: User, now: dt.datetime) -> None:
    """The applicant takes back an application that has not been decided.

    Side effects: the membership retracted (audit ``membership.retracted``).
    """
    require(permissions.can_retract(actor, membership))
    _lock(membership)
    apply_step(membership, "retract", actor=actor, now=now, values={"updated_at": now})


# --- the programme's criteria and evaluators ------------------------------------------------


def _decimal(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        found = Decimal(str(value).replace(",", "."))
    except InvalidOperation:
        return None
    return found if found.is_finite() else None


def _criterion_values(
    *,
    name: str,
    description: str,
    weight: object,
    scale_min: object,
    scale_max: object,
    scale_step: object,
) -> dict[str, object]:
    errors: dict[str, list[str]] = {}
    name = " ".join(name.split())
    if not name:
        errors["name"] = [_("Enter a name for the criterion.")]
    elif len(name) > 200:
        errors["name"] = [_("Use at most 200 characters.")]
    if len(description) > 5000:
        errors["description"] = [_("Use at most 5,000 characters.")]
    values = {
        "weight": _decimal(weight),
        "scale_min": _decimal(scale_min),
        "scale_max": _decimal(scale_max),
        "scale_step": _decimal(scale_step),
    }
    for key, value in values.items():
        if value is None:
            errors[key] = [_("Enter a number, like 2.5.")]
        elif abs(value) >= 1000 or value.as_tuple().exponent < -2:  # type: ignore[operator]
            errors[key] = [_("Use a number below 1,000 with at most two decimals.")]
    weight_value = values["weight"]
    if weight_value is not None and "weight" not in errors and weight_value <= 0:
        errors["weight"] = [_("The weight must be greater than 0.")]
    low, high, step = values["scale_min"], values["scale_max"], values["scale_step"]
    if low is not None and high is not None and "scale_max" not in errors and high <= low:
        errors["scale_max"] = [_("The highest score must be above the lowest.")]
    if step is not None and "scale_step" not in errors and step <= 0:
        errors["scale_step"] = [_("The step must be greater than 0.")]
    if not errors and low is not None and high is not None and step is not None:
        try:
            grid = scoring.Criterion("x", name, Decimal(1), low, high, step)
        except ValueError:
            grid = None
        if grid is None or len(scoring.allowed_values(grid)) >= scoring.MAX_GRID_VALUES:
            errors["scale_step"] = [_("The scale has too many steps; choose a larger step.")]
    if errors:
        raise DomainError(errors)
    return {"name": name, "description": description.strip(), **values}


def _criterion_state(criterion: MembershipCriterion) -> dict[str, object]:
    return {
        "name": criterion.name,
        "description": criterion.description,
        "weight": scoring.plain(criterion.weight),
        "scale_min": scoring.plain(criterion.scale_min),
        "scale_max": scoring.plain(criterion.scale_max),
        "scale_step": scoring.plain(criterion.scale_step),
    }


@operation
def add_criterion(
    programme: Programme,
    *,
    actor: User,
    name: str,
    description: str = "",
    weight: object,
    scale_min: object,
    scale_max: object,
    scale_step: object,
    now: dt.datetime,
) -> MembershipCriterion:
    """An officer adds a criterion memberships are evaluated against (a weight and a scale).

    Side effects: the criterion; audit ``membership_criterion.created``.
    """
    require(permissions.can_set_up(actor, programme))
    values = _criterion_values(
        name=name,
        description=description,
        weight=weight,
        scale_min=scale_min,
        scale_max=scale_max,
        scale_step=scale_step,
    )
    position = (
        db.session.scalar(
            sa.select(sa.func.max(MembershipCriterion.position)).where(
                MembershipCriterion.programme_id == programme.id
            )
        )
        or 0
    ) + 1
    criterion = MembershipCriterion(programme_id=programme.id, position=position, **values)
    db.session.add(criterion)
    db.session.flush()
    record_event(
        actor=actor,
        action="membership_criterion.created",
        object_type="membership_criterion",
        object_id=criterion.id,
        after={"programme_id": programme.id, **_criterion_state(criterion)},
        now=now,
    )
    return criterion


@operation
def update_criterion(
    criterion: MembershipCriterion,
    *,
    actor: User,
    name: str,
    description: str = "",
    weight: object,
    scale_min: object,
    scale_max: object,
    scale_step: object,
    now: dt.datetime,
) -> None:
    """An officer changes a criterion. Its scale stays while evaluations have scored it (their
    scores would fall off it); name, description and weight may change.

    Side effects: audit ``membership_criterion.updated``.
    """
    programme = db.session.get(Programme, criterion.programme_id)
    assert programme is not None
    require(permissions.can_set_up(actor, programme))
    values = _criterion_values(
        name=name,
        description=description,
        weight=weight,
        scale_min=scale_min,
        scale_max=scale_max,
        scale_step=scale_step,
    )
    scale = ("scale_min", "scale_max", "scale_step")
    if criterion.id in queries.scored_criterion_ids(programme.id) and any(
        values[key] != getattr(criterion, key) for key in scale
    ):
        raise DomainError(
            {"scale_step": [_("Evaluations have scored this criterion; its scale stays.")]}
        )
    before = _criterion_state(criterion)
    for key, value in values.items():
        setattr(criterion, key, value)
    db.session.flush()
    after = _criterion_state(criterion)
    if after != before:
        record_event(
            actor=actor,
            action="membership_criterion.updated",
            object_type="membership_criterion",
            object_id=criterion.id,
            before=before,
            after=after,
            now=now,
        )


@operation
def remove_criterion(criterion: MembershipCriterion, *, actor: User, now: dt.datetime) -> None:
    """An officer removes a criterion no evaluation has scored.

    Side effects: the criterion; audit ``membership_criterion.removed``.
    """
    programme = db.session.get(Programme, criterion.programme_id)
    assert programme is not None
    require(permissions.can_set_up(actor, programme))
    if criterion.id in queries.scored_criterion_ids(programme.id):
        raise DomainError(_("Evaluations have scored this criterion; it cannot be removed."))
    before = _criterion_state(criterion)
    criterion_id = criterion.id
    db.session.delete(criterion)
    db.session.flush()
    record_event(
        actor=actor,
        action="membership_criterion.removed",
        object_type="membership_criterion",
        object_id=criterion_id,
        before=before,
        now=now,
    )


@operation
def add_evaluator(
    programme: Programme, *, actor: User, email: str, now: dt.datetime
) -> MembershipEvaluator:
    """An officer asks a juror (an account with the juror role, by its e-mail address) to
    evaluate the programme's memberships.

    Side effects: the evaluator row; audit ``membership_evaluator.added``.
    """
    require(permissions.can_set_up(actor, programme))
    email = email.strip().lower()
    person = db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email))
    if person is None or not person.has_role(Role.JUROR):
        raise DomainError(
            {"email": [_("No juror has this address. Invite the person as a juror first.")]}
        )
    evaluator = MembershipEvaluator(programme_id=programme.id, user_id=person.id, added_at=now)
    add_unique(
        evaluator,
        taken=DomainError({"email": [_("%(name)s evaluates already.", name=person.name)]}),
    )
    record_event(
        actor=actor,
        action="membership_evaluator.added",
        object_type="programme",
        object_id=programme.id,
        after={"user_id": person.id},
        now=now,
    )
    return evaluator


@operation
def remove_evaluator(programme: Programme, *, actor: User, user_id: int, now: dt.datetime) -> None:
    """An officer takes a juror off the programme's evaluators (their evaluations stay).

    Side effects: the evaluator row; audit ``membership_evaluator.removed``.
    """
    require(permissions.can_set_up(actor, programme))
    removed = db.session.execute(
        sa.delete(MembershipEvaluator).where(
            MembershipEvaluator.programme_id == programme.id,
            MembershipEvaluator.user_id == user_id,
        )
    )
    if not removed.rowcount:  # type: ignore[attr-defined]
        raise DomainError(_("That person is not an evaluator."))
    record_event(
        actor=actor,
        action="membership_evaluator.removed",
        object_type="programme",
        object_id=programme.id,
        before={"user_id": user_id},
        now=now,
    )


# --- evaluations ---------------------------------------------------------------------------


def score_field(criterion_id: int) -> str:
    """The form field (and error key) of a criterion's score."""
    return f"score-{criterion_id}"


@operation
def record_evaluation(
    membership: Membership,
    *,
    actor: User,
    scores: Mapping[str, str],
    comment: str,
    recommendation: str,
    now: dt.datetime,
) -> MembershipEvaluation:
    """An evaluator (an officer of the programme or a listed juror without a conflict) scores
    the membership on every criterion, comments and recommends. The first evaluation of an
    application opens its evaluation; recording again in the same round replaces one's own
    evaluation (its revision goes up), until the round is decided. ``scores`` are by criterion
    id as text.

    Side effects: the evaluation and its scores; the membership in evaluation (audit
    ``membership.evaluation_started``) for the first; audit ``membership.evaluation_recorded``.
    """
    require(permissions.can_evaluate(actor, membership))
    _lock(membership)
    require(permissions.can_evaluate(actor, membership))
    criteria = queries.criteria_of(membership.programme_id)
    grid = [
        scoring.Criterion(str(c.id), c.name, c.weight, c.scale_min, c.scale_max, c.scale_step)
        for c in criteria
    ]
    errors: dict[str, list[str]] = {}
    if not criteria:
        errors[""] = [_("The programme has no criteria yet; its officers set them up first.")]
    for key, score_problem in scoring.validate_scores(scores, grid).items():
        errors[score_field(int(key))] = [say(score_problem)]
    allowed = rules.RECOMMENDATIONS.get(membership.state.value, ())
    if recommendation not in allowed:
        errors["recommendation"] = [_("Choose your recommendation.")]
    comment = comment.strip()
    if (problem := _text_error(comment, COMMENT_MAX_CHARS)) is not None:
        errors["comment"] = [problem]
    if errors:
        raise DomainError(errors)
    if membership.state == MembershipState.APPLIED:
        apply_step(
            membership,
            "start_evaluation",
            actor=actor,
            now=now,
            values={"round": membership.round + 1, "updated_at": now},
        )
    values = {c.key: scoring.parse_score(scores.get(c.key)) for c in grid}
    total = scoring.weighted_total(scores, grid).quantize(Decimal("0.001"))
    counts = queries.counts_of(membership).as_dict()
    evaluation = queries.find_evaluation(membership, actor)
    replaced = evaluation is not None
    if evaluation is None:
        evaluation = MembershipEvaluation(
            membership_id=membership.id,
            round=membership.round,
            evaluator_id=actor.id,
            revision=1,
        )
        db.session.add(evaluation)
    else:
        evaluation.revision += 1
        evaluation.scores.clear()
        db.session.flush()
    evaluation.recommendation = Recommendation(recommendation)
    evaluation.comment = comment
    evaluation.total = total
    evaluation.counts = counts
    evaluation.recorded_at = now
    for key, value in values.items():
        assert value is not None
        evaluation.scores.append(MembershipScore(criterion_id=int(key), score=scoring.plain(value)))
    db.session.flush()
    _event(
        membership,
        "evaluation_recorded",
        actor=actor,
        now=now,
        after={
            "evaluation_id": evaluation.id,
            "round": evaluation.round,
            "revision": evaluation.revision,
            "replaced": replaced,
            "recommendation": recommendation,
            "scores": {key: scoring.plain(v) for key, v in values.items() if v is not None},
            "total": scoring.plain(total),
            "counts": counts,
        },
    )
    return evaluation


# --- re-evaluation --------------------------------------------------------------------------


def _mail(
    membership: Membership, template: str, *, key: str, now: dt.datetime, **extra: object
) -> None:
    notify(
        to=membership.applicant,
        template=f"memberships/{template}",
        context={
            "name": membership.applicant.name,
            "organisation": membership.organisation.name,
            "programme": membership.programme.name,
            "membership_id": membership.id,
            "valid_from": membership.valid_from.isoformat() if membership.valid_from else None,
            "valid_until": membership.valid_until.isoformat() if membership.valid_until else None,
            **extra,
        },
        dedup_key=key,
        now=now,
    )


def _open_reevaluation(membership: Membership, *, actor: User | None, now: dt.datetime) -> bool:
    """The membership into its re-evaluation, and the holder told once for this period."""
    moved = apply_step(
        membership,
        "start_reevaluation",
        actor=actor,
        now=now,
        values={
            "round": membership.round + 1,
            "updated_at": now,
            "reevaluation_notice_for": membership.valid_until,
        },
    )
    if moved:
        assert membership.valid_until is not None
        _mail(
            membership,
            "reevaluation",
            key=f"memberships.reevaluation:{membership.id}:{membership.valid_until.isoformat()}",
            now=now,
        )
    return moved


@operation
def start_reevaluation(membership: Membership, *, actor: User, now: dt.datetime) -> None:
    """An officer opens the annual re-evaluation before the beat task does (or to look at a
    membership again during its period).

    Side effects: the membership in re-evaluation (audit ``membership.reevaluation_started``);
    an e-mail to the holder.
    """
    require(permissions.can_manage(actor, membership))
    _lock(membership)
    _open_reevaluation(membership, actor=actor, now=now)


@operation
def start_due_reevaluations(*, now: dt.datetime, days_before: int) -> int:
    """Every granted membership whose period ends within ``days_before`` days goes into its
    annual re-evaluation, and its holder is told by mail. Each membership moves once however
    often this runs and even when two runs overlap: the step is a compare-and-set, the loser
    of a race skips that membership (in a savepoint), and the mail's key names the period.
    Returns how many moved.

    Side effects: memberships in re-evaluation (audit ``membership.reevaluation_started``);
    one e-mail each.
    """
    today = queries.today_in_berlin(now)
    moved = 0
    for membership in queries.due_for_reevaluation(today=today, days_before=days_before):
        assert membership.valid_until is not None
        if not rules.reevaluation_due(membership.valid_until, today, days_before=days_before):
            continue
        try:
            with db.session.begin_nested():
                moved += _open_reevaluation(membership, actor=None, now=now)
        except StaleState:
            continue  # another run, or an officer, moved it meanwhile
    log.info("memberships put in re-evaluation: %s", moved)
    return moved


# --- decisions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DecisionPlan:
    """What a decision would do, once every check passed (the withdrawal's preview shows it)."""

    action: str
    evaluation: MembershipEvaluation
    valid_from: dt.date | None
    valid_until: dt.date | None
    reason: str


def plan_decision(
    membership: Membership,
    *,
    actor: User,
    action: str,
    evaluation_id: int | None,
    seen_revision: int | None,
    valid_from: dt.date | None,
    valid_until: dt.date | None,
    reason: str,
) -> DecisionPlan:
    """Every check of a decision, without changing anything: the preview of a withdrawal and
    the decision itself judge by it. Raises the one DomainError with every problem, or
    StaleState when the evaluation changed since the officer looked at it."""
    require(permissions.can_manage(actor, membership))
    errors: dict[str, list[str]] = {}
    try:
        tables.next_state(tables.CLUSTER_MEMBERSHIP, membership.state.value, action)
    except tables.IllegalStep:
        errors["action"] = [
            say(tables.refusal(tables.CLUSTER_MEMBERSHIP, membership.state.value, action))
        ]
    evaluation = (
        db.session.get(MembershipEvaluation, evaluation_id) if evaluation_id is not None else None
    )
    if (
        evaluation is None
        or evaluation.membership_id != membership.id
        or evaluation.round != membership.round
        or membership.state not in EVALUATED_STATES
    ):
        errors["evaluation_id"] = [_("Choose an evaluation of this round.")]
        evaluation = None
    elif evaluation.evaluator_id == actor.id:
        errors["evaluation_id"] = [
            _("Four eyes: you recorded this evaluation, so another officer decides on it.")
        ]
    elif "action" not in errors and (
        mismatch := rules.decision_problem(action, evaluation.recommendation.value)
    ):
        errors["evaluation_id"] = [say(mismatch)]
    reason = reason.strip()
    if action in rules.NEEDS_PERIOD:
        previous = membership.valid_until if action == "renew" else None
        for key, text in rules.period_problems(
            valid_from, valid_until, previous_until=previous
        ).items():
            errors[key] = [say(text)]
    else:
        valid_from = valid_until = None
    if action in rules.NEEDS_REASON and not reason:
        errors["reason"] = [_("Give the reason; the organisation reads it.")]
    if (problem := _text_error(reason, REASON_MAX_CHARS)) is not None:
        errors["reason"] = [problem]
    if errors:
        raise DomainError(errors)
    assert evaluation is not None
    if seen_revision is not None and evaluation.revision != seen_revision:
        raise StaleState(
            _("The evaluation was recorded again since you looked at it. Read it and decide again.")
        )
    return DecisionPlan(action, evaluation, valid_from, valid_until, reason)


PAST = {"grant": "granted", "refuse": "refused", "renew": "renewed", "withdraw": "withdrawn"}


@operation
def decide(
    membership: Membership,
    *,
    actor: User,
    action: str,
    evaluation_id: int | None,
    seen_revision: int | None = None,
    valid_from: dt.date | None = None,
    valid_until: dt.date | None = None,
    reason: str = "",
    now: dt.datetime,
) -> MembershipDecision:
    """An officer grants or refuses an application in evaluation, or renews or withdraws a
    membership in re-evaluation, on an evaluation of the round that recommends it and that
    another person recorded (four eyes: refused here, and by the database's CHECK). A grant or
    renewal sets the period; a refusal or withdrawal gives the reason the holder reads.

    Side effects: the decision; the membership's step (audit ``membership.granted``,
    ``.refused``, ``.renewed`` or ``.withdrawn``); an e-mail to the holder in their language.
    """
    require(permissions.can_manage(actor, membership))
    _lock(membership)
    plan = plan_decision(
        membership,
        actor=actor,
        action=action,
        evaluation_id=evaluation_id,
        seen_revision=seen_revision,
        valid_from=valid_from,
        valid_until=valid_until,
        reason=reason,
    )
    decision = MembershipDecision(
        membership_id=membership.id,
        evaluation_id=plan.evaluation.id,
        evaluated_by_id=plan.evaluation.evaluator_id,
        decided_by_id=actor.id,
        action=DecisionAction(action),
        round=membership.round,
        reason=plan.reason,
        valid_from=plan.valid_from,
        valid_until=plan.valid_until,
        decided_at=now,
    )
    db.session.add(decision)
    db.session.flush()
    values: dict[str, object] = {"updated_at": now}
    before: dict[str, object] = {}
    if action == "grant":
        values |= {"valid_from": plan.valid_from, "valid_until": plan.valid_until}
    elif action == "renew":
        # The membership runs on without a break: it keeps the day it began, and its end moves
        # to the end of the renewed period (the decision keeps the period itself).
        values |= {"valid_until": plan.valid_until}
        before = {"valid_until": membership.valid_until}
    apply_step(
        membership,
        action,
        actor=actor,
        now=now,
        reason=plan.reason or None,
        values=values,
        before=before,
        detail={
            "decision_id": decision.id,
            "evaluation_id": plan.evaluation.id,
            "evaluated_by_id": plan.evaluation.evaluator_id,
            "valid_from": plan.valid_from,
            "valid_until": plan.valid_until,
        },
    )
    _mail(
        membership,
        PAST[action],
        key=f"memberships.decision:{decision.id}",
        now=now,
        reason=plan.reason,
    )
    log.info("membership %s %s (decision %s)", membership.id, PAST[action], decision.id)
    return decision


def recommendations_for(membership: Membership) -> list[Recommendation]:
    """What an evaluation of the membership's current (or first) round may recommend."""
    return [Recommendation(r) for r in rules.RECOMMENDATIONS.get(membership.state.value, ())]


def decisions_offered(membership: Membership) -> list[str]:
    return [
        a
        for a in tables.actions_from(tables.CLUSTER_MEMBERSHIP, membership.state.value)
        if a in rules.DECISIONS
    ]
