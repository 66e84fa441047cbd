"""Changing a stage's selection rules: checked against the stage's criteria and scale, audited,
and with the lottery and its seed locked once the stage has a finished ranking."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation
from typing import Any

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.db import operation
from competition.errors import DomainError
from competition.extensions import db
from competition.i18n import gettext as _
from competition.permissions import require
from competition.programmes.models import Stage
from competition.selection.permissions import can_set_rules
from competition.selection.rules.queries import (
    KEYS,
    LINE_METHODS,
    MAX_SEED,
    read_constraint,
    rules_for,
    topic_names,
    total_scale,
    value_is_known,
)


def _whole(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def _check(stage: Stage, rules: dict[str, Any]) -> dict[str, list[str]]:
    """Every problem with ``rules``, keyed by rule (``constraints.<attribute>`` for a
    constraint). ``rules_for`` is the final word; these checks say where the problem is."""
    errors: dict[str, list[str]] = {}
    names = {c.id: c.name for c in stage.criteria}
    seen: set[object] = set()
    for item in rules.get("tie_rule", ()):
        if item not in names:
            errors.setdefault("tie_rule", []).append(
                _("The tie rule may only name this stage's criteria.")
            )
        elif item in seen:
            errors.setdefault("tie_rule", []).append(
                _("%(criterion)s is named twice; name each criterion once.", criterion=names[item])
            )
        seen.add(item)
    threshold = rules.get("overall_threshold")
    if threshold is not None:
        try:
            value = Decimal(str(threshold))
        except InvalidOperation:
            value = None
        scale = total_scale(stage)
        if value is None or not value.is_finite():
            errors["overall_threshold"] = [_("The threshold must be a number.")]
        elif scale is not None and not scale[0] <= value <= scale[1]:
            errors["overall_threshold"] = [
                _(
                    "The threshold must lie on the weighted-total scale, %(low)s to %(high)s.",
                    low=format(scale[0], "g"),
                    high=format(scale[1], "g"),
                )
            ]
    if "min_reviews" in rules:
        count = _whole(rules["min_reviews"])
        if count is None or count < 1:
            errors["min_reviews"] = [
                _("The minimum number of reviews is a whole number, 1 or more.")
            ]
    if rules.get("line_method", "merit") not in LINE_METHODS:
        errors["line_method"] = [
            _("Choose merit order or the highest total score within the budget.")
        ]
    slugs: set[str] | None = None
    for n, item in enumerate(rules.get("constraints", ())):
        rule, where, wrong = read_constraint(item)
        if rule is None:
            errors.setdefault(_row_key(n, where), []).append(wrong)
            continue
        if rule.attribute == "topic":
            if slugs is None:
                slugs = set(topic_names(stage.call.programme_id))
            if not value_is_known("topic", rule.value or "", slugs):
                errors.setdefault(_row_key(n, "value"), []).append(
                    _("There is no topic %(value)s.", value=repr(rule.value))
                )
        if rule.maximum is not None and rule.minimum > rule.maximum:
            errors.setdefault(_row_key(n, "maximum"), []).append(
                _(
                    "At most %(maximum)s is below at least %(minimum)s: no line could meet it.",
                    maximum=rule.maximum,
                    minimum=rule.minimum,
                )
            )
        elif rule.value is not None and not rule.minimum and rule.maximum is None:
            errors.setdefault(_row_key(n, "minimum"), []).append(
                _("Give at least, at most or both.")
            )
    seed = rules.get("lottery_seed")
    if seed is not None and (not isinstance(seed, str) or len(seed) > MAX_SEED):
        errors["lottery_seed"] = [
            _("The seed is text of at most %(count)d characters.", count=MAX_SEED)
        ]
    elif rules.get("lottery") and not seed:
        errors["lottery_seed"] = [
            _("A lottery needs its seed, fixed now and published in advance.")
        ]
    return errors


def _row_key(n: int, field: str) -> str:
    """Where a constraint's problem is: ``constraints.<n>`` (its attribute) or
    ``constraints.<n>.<field>``, n counting the constraints given."""
    return f"constraints.{n}.{field}" if field else f"constraints.{n}"


@operation
def update_rules(
    stage: Stage, values: dict[str, Any], *, actor: User, now: dt.datetime
) -> dict[str, Any]:
    """Change the stage's selection rules: each key of ``values`` replaces the stored one (None
    removes it, so the default applies). They take effect for the next ranking and line. Once
    the stage has a finished ranking, the lottery and its seed are fixed.
    Side effects: ``stage.selection_rules``; audit ``stage.selection_rules_updated`` with before
    and after (nothing when nothing changes).
    """
    # rankings reads these rules to start a ranking, so it is imported here, not at the top.
    from competition.selection.ranking.queries import latest_done

    require(can_set_rules(actor, stage))
    unknown = sorted(set(values) - KEYS)
    if unknown:
        raise DomainError(_("Unknown selection rules: %(keys)s.", keys=", ".join(unknown)))
    before = {k: v for k, v in (stage.selection_rules or {}).items() if k in KEYS}
    after = dict(before)
    for key, value in values.items():
        if value is None:
            after.pop(key, None)
        else:
            after[key] = value
    errors = _check(stage, after)
    if latest_done(stage) is not None:
        fixed = _("A ranking has finished: the lottery and its seed are fixed.")
        if bool(after.get("lottery", False)) != bool(before.get("lottery", False)):
            errors.setdefault("lottery", []).append(fixed)
        if (after.get("lottery_seed") or None) != (before.get("lottery_seed") or None):
            errors.setdefault("lottery_seed", []).append(fixed)
    if errors:
        raise DomainError(errors)
    if after == (stage.selection_rules or {}):
        return after
    stage.selection_rules = after
    try:
        rules_for(stage)
    except DomainError:
        stage.selection_rules = before
        raise
    db.session.flush()
    record_event(
        actor=actor,
        action="stage.selection_rules_updated",
        object_type="stage",
        object_id=stage.id,
        before=before,
        after=after,
        now=now,
    )
    return after
