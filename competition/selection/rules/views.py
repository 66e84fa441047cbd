"""The officers' page for a stage's selection rules: the tie rule, confidence weighting, the
overall threshold, the minimum number of reviews, how the line is drawn, the constraints and
the lottery with its seed. Changes count from the next ranking and line on.

Stages of another programme's calls answer 404, like missing ones.
"""

from __future__ import annotations

from flask import flash, g, redirect, render_template, request, url_for

from competition.access import roles_required
from competition.accounts.models import Role
from competition.errors import DomainError
from competition.forms import perform, show_errors
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.organisations.models import FederalState, OrganisationKind
from competition.programmes.models import Stage
from competition.selection.blueprint import PREFIX, bp, me, officer_stage
from competition.selection.forms import SelectionRulesForm
from competition.selection.ranking import queries as ranking_queries
from competition.selection.rules import operations as rules_operations
from competition.selection.rules import queries as rules_queries
from competition.selection.rules.queries import (
    EACH,
    KINDS,
    REGIONS,
    VALUED,
    SelectionRules,
    is_last_stage,
    stored_rules,
    topic_names,
)

TIE_FIELDS = ("tie_rule_1", "tie_rule_2", "tie_rule_3")
CONSTRAINT_MESSAGE = _l("Give a whole number, 0 or more, or leave it empty.")
# Empty constraint rows the page offers for adding constraints.
BLANK_ROWS = 2


def _form(stage: Stage, formdata: object = None) -> SelectionRulesForm:
    """The form with the stage's criteria to choose from; on GET filled from the stored rules,
    with what is wrong with them if they do not make sense."""
    problem = ""
    if formdata is None:
        stored, wrong = stored_rules(stage)
        current = stored or SelectionRules(funding=is_last_stage(stage))
        if stored is None:
            problem = _(
                "The stored rules do not make sense (%(problem)s); saving this form replaces them.",
                problem=wrong,
            )
        rows = [
            {
                "attribute": c.attribute,
                "value": c.value or "",
                "minimum": str(c.minimum) if c.minimum or c.maximum is None else "",
                "maximum": "" if c.maximum is None else str(c.maximum),
            }
            for c in current.constraints
        ]
        form = SelectionRulesForm(
            formdata=None,
            confidence_weighted=current.confidence_weighted,
            overall_threshold=(
                f"{current.overall_threshold:g}" if current.overall_threshold is not None else ""
            ),
            min_reviews=str(current.min_reviews),
            line_by="budget" if current.funding else "target",
            line_method=current.line_method,
            constraints=[*rows, *([{}] * BLANK_ROWS)],
            lottery=current.lottery,
            lottery_seed=current.lottery_seed or "",
        )
        for name, criterion in zip(TIE_FIELDS, current.tie_rule, strict=False):
            getattr(form, name).data = str(criterion)
    else:
        form = SelectionRulesForm()
    choices = [("", _("None")), *((str(c.id), c.name) for c in stage.criteria)]
    for name in TIE_FIELDS:
        getattr(form, name).choices = choices
    attributes = [("", _("No constraint")), *((k, str(label)) for k, label in KINDS.items())]
    values = _value_choices(stage.call.programme_id)
    for entry in form.constraints.entries:
        entry.form.attribute.choices = attributes
        entry.form.value.choices = values
    if problem:
        form.form_errors.append(problem)
    return form


def _value_choices(programme_id: int) -> dict[str, list[tuple[str, str]]]:
    """The values a constraint may take, grouped by attribute, named in the reader's language:
    the federal states, the regions, the topics and the organisation kinds, or each value."""
    return {
        _("Any attribute"): [
            ("", _("No value (led from the east, SME partner)")),
            (EACH, _("Each value: one constraint per value")),
        ],
        _("Federal states"): sorted(((s.value, s.label) for s in FederalState), key=lambda c: c[1]),
        _("Regions"): [(k, str(label)) for k, label in REGIONS.items()],
        _("Topics"): [(slug, str(name)) for slug, name in topic_names(programme_id).items()],
        _("Organisation kinds"): [(k.value, k.label) for k in OrganisationKind],
    }


def _rows(form: SelectionRulesForm) -> list[int]:
    """The form's rows that name a constraint, in order: the n-th constraint is row _rows[n]."""
    return [n for n, entry in enumerate(form.constraints.entries) if entry.form.attribute.data]


def _values(form: SelectionRulesForm) -> dict[str, object]:
    """The rules as ``update_rules`` takes them; the form has checked their shape. Raises
    DomainError at a constraint's field for digits ``int`` cannot read: ``str.isdigit``, which
    the form checks with, accepts "²"."""
    errors: dict[str, list[str]] = {}

    def whole(n: int, name: str, text: str) -> int | None:
        if not text:
            return None
        if not text.isdecimal():
            errors[f"constraints.{n}.{name}"] = [str(CONSTRAINT_MESSAGE)]
            return 0
        return int(text)

    tie = [getattr(form, name).data for name in TIE_FIELDS]
    constraints: list[dict[str, object]] = []
    for n, at in enumerate(_rows(form)):
        row = form.constraints.entries[at].form
        item: dict[str, object] = {"attribute": row.attribute.data}
        if row.attribute.data in VALUED or row.value.data:
            item["value"] = row.value.data
        item["minimum"] = whole(n, "minimum", row.minimum.data or "") or 0
        maximum = whole(n, "maximum", row.maximum.data or "")
        if maximum is not None:
            item["maximum"] = maximum
        constraints.append(item)
    if errors:
        raise DomainError(errors)
    return {
        "tie_rule": [int(value) for value in tie if value],
        "confidence_weighted": bool(form.confidence_weighted.data),
        "overall_threshold": form.threshold(),
        "min_reviews": int(form.min_reviews.data),
        "funding": form.line_by.data == "budget",
        "line_method": form.line_method.data,
        "constraints": constraints,
        "lottery": bool(form.lottery.data),
        "lottery_seed": form.lottery_seed.data or None,
    }


def _at_fields(form: SelectionRulesForm, error: DomainError) -> DomainError:
    """The operation names rules; the form has fields. A repeated criterion is shown at the
    select that repeats it."""
    tie = [getattr(form, name).data for name in TIE_FIELDS]
    repeated = next(
        (name for i, name in enumerate(TIE_FIELDS) if tie[i] and tie[i] in tie[:i]), TIE_FIELDS[0]
    )
    renamed = {"tie_rule": repeated, "funding": "line_by"}
    rows = _rows(form)
    errors: dict[str, list[str]] = {}
    for key, messages in error.errors.items():
        parts = key.split(".")
        if parts[0] == "constraints" and len(parts) > 1 and parts[1].isdecimal():
            n = int(parts[1])
            if n < len(rows):
                row = form.constraints.entries[rows[n]].form
                field = getattr(row, parts[2] if len(parts) > 2 else "attribute")
                field.errors = [*list(field.errors), *messages]
                continue
        errors.setdefault(renamed.get(key, key), []).extend(messages)
    return DomainError(errors)


def _page(stage: Stage, form: SelectionRulesForm, *, status: int = 200):  # type: ignore[no-untyped-def]
    done = ranking_queries.latest_done(stage)
    return render_template(
        "selection/rules.html",
        call=stage.call,
        stage=stage,
        form=form,
        tie_fields=[getattr(form, name) for name in TIE_FIELDS],
        scale=rules_queries.total_scale(stage),
        last_stage=is_last_stage(stage),
        fixed_by=done,
        constraint_rows=[entry.form for entry in form.constraints.entries],
    ), status


@bp.route(f"{PREFIX}/rules", methods=["GET", "POST"], endpoint="rules")
@roles_required(Role.OFFICER)
def edit_rules(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    if request.method == "GET":
        return _page(stage, _form(stage))
    form = _form(stage, request.form)
    if form.validate_on_submit():
        saved = perform(
            lambda: rules_operations.update_rules(stage, _values(form), actor=me(), now=g.now)
        )
        if saved.error is not None:
            show_errors(form, _at_fields(form, saved.error))
        else:
            flash(
                _("The selection rules are saved. They take effect for the next ranking and line."),
                "success",
            )
            return redirect(url_for("selection.rules", call_id=call_id, stage_id=stage_id))
    if ranking_queries.latest_done(stage) is not None:
        # The lottery's fields are read-only now: show what is fixed, next to any refusal.
        stored = stage.selection_rules or {}
        form.lottery.data = bool(stored.get("lottery", False))
        form.lottery_seed.data = stored.get("lottery_seed") or ""
    return _page(stage, form, status=422)
