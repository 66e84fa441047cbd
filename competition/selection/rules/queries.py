"""A stage's selection rules, read from ``Stage.selection_rules`` (JSON set up with the call).

Every key is optional. Unknown keys are refused, so a typo never silently changes a selection.

    {
      "tie_rule": [12, 13],            criterion ids: higher mean on the first, then the second
      "confidence_weighted": false,    weight each review by the juror's stated confidence
      "overall_threshold": 3.0,        a weighted total below this is not fundable
      "min_reviews": 3,                fewer reviews than this are flagged
      "funding": true,                 the line is drawn by budget (default: the call's last stage)
      "line_method": "merit",          "merit" (rank order) or "optimal" (exact optimiser)
      "constraints": [{"attribute": "coordinator_state", "value": "*", "maximum": 2},
                      {"attribute": "topic", "value": "energy", "minimum": 1}],
      "lottery": false,                draw the grey zone's places by lot
      "lottery_seed": "…",             fixed in advance and published; required when lottery is on
    }

A constraint counts funded proposals by an attribute (``KINDS``): ``coordinator_state`` (the
coordinator's federal state, "DE-BE"), ``region`` ("east" or "west", of the coordinator),
``topic`` (a topic's slug) and ``member_kind`` (an organisation kind in the consortium), each
with one ``value`` or "*" for each value the candidates carry (one constraint per value), and a
``minimum`` and/or a ``maximum``. The earlier form ``{"attribute": "eastern", "count": 3}`` (and
"sme") is still read: at least ``count``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from competition.core.selection import Candidate, MinimumCount, values_of
from competition.core.texts import N_, Text
from competition.errors import DomainError
from competition.i18n import current_language
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.organisations.models import (
    KIND_LABELS,
    STATE_NAMES,
    FederalState,
    OrganisationKind,
)
from competition.programmes.models import Stage
from competition.programmes.topic_queries import list_topics_for

# The old fixed constraints, still read (at least ``count``).
ATTRIBUTES = {
    "eastern": _l("led from an eastern federal state"),
    "sme": _l("with an SME partner"),
}
# What a constraint may count, as the Rules page names it.
KINDS = {
    "coordinator_state": _l("Federal state of the coordinator"),
    "region": _l("Region of the coordinator (east/west)"),
    "topic": _l("Topic"),
    "member_kind": _l("Organisation kind in the consortium"),
    "eastern": _l("Led from an eastern federal state"),
    "sme": _l("With an SME partner"),
}
VALUED = ("coordinator_state", "region", "topic", "member_kind")
EACH = "*"
REGIONS = {"east": _l("East"), "west": _l("West")}


@dataclass(frozen=True)
class ConstraintRule:
    """One constraint as the rules store it: ``value`` is None for "eastern"/"sme", EACH for
    each value the candidates carry."""

    attribute: str
    value: str | None
    minimum: int = 0
    maximum: int | None = None

    def as_json(self) -> dict[str, Any]:
        item: dict[str, Any] = {"attribute": self.attribute}
        if self.value is not None:
            item["value"] = self.value
        item["minimum"] = self.minimum
        if self.maximum is not None:
            item["maximum"] = self.maximum
        return item


@dataclass(frozen=True)
class Bilingual:
    """A name the data gives in German and English (a topic's), said in the reader's."""

    en: str
    de: str

    def __str__(self) -> str:
        try:
            language = current_language()
        except RuntimeError:
            language = "en"
        return (self.de or self.en) if language == "de" else (self.en or self.de)


def topic_names(programme_id: int) -> dict[str, Bilingual]:
    """The slugs of the topics the programme offers (its own and the shared ones), with their
    names."""
    return {
        t.slug: Bilingual(t.name_en, t.name_de)
        for t in sorted(list_topics_for([programme_id], retired=True), key=lambda t: t.name_en)
    }


def value_is_known(attribute: str, value: str, topic_slugs: set[str]) -> bool:
    if value == EACH:
        return True
    if attribute == "coordinator_state":
        return value in {s.value for s in FederalState}
    if attribute == "region":
        return value in REGIONS
    if attribute == "member_kind":
        return value in {k.value for k in OrganisationKind}
    return attribute == "topic" and value in topic_slugs


def attribute_name(attribute: str, value: str, topics: dict[str, Bilingual]) -> Text:
    """What a proposal counted by the constraint is, in words said in the reader's language."""
    if attribute == "coordinator_state":
        return N_("led from %(state)s", state=STATE_NAMES[FederalState(value)])
    if attribute == "region":
        if value == "east":
            return N_("led from an eastern federal state")
        return N_("led from a western federal state")
    if attribute == "member_kind":
        return N_(
            "with a consortium member of the kind %(kind)s",
            kind=KIND_LABELS[OrganisationKind(value)],
        )
    return N_("on the topic %(topic)s", topic=topics.get(value, value))


def quotas(
    rules: Sequence[ConstraintRule],
    candidates: Sequence[Candidate],
    topics: dict[str, Bilingual],
) -> tuple[MinimumCount, ...]:
    """The core's constraints for the rules: "each value" becomes one per value the
    candidates carry; the candidates' attributes read "kind:value" ("topic:energy")."""
    made: list[MinimumCount] = []
    for rule in rules:
        if rule.value is None:
            made.append(MinimumCount(rule.attribute, rule.minimum, rule.maximum))
            continue
        values = values_of(rule.attribute, candidates) if rule.value == EACH else [rule.value]
        for value in values:
            made.append(
                MinimumCount(
                    f"{rule.attribute}:{value}",
                    rule.minimum,
                    rule.maximum,
                    name=attribute_name(rule.attribute, value, topics),
                )
            )
    return tuple(made)


def read_constraint(item: object) -> tuple[ConstraintRule | None, str, str]:
    """One stored constraint, or None, the field of the Rules page's row the problem is at
    ("" for the attribute, "value", "minimum") and what is wrong."""
    if not isinstance(item, dict):
        return None, "", _("A constraint must name an attribute.")
    attribute = item.get("attribute")
    if attribute not in KINDS:
        return (
            None,
            "",
            _(
                "A constraint names %(attribute)s; known: %(known)s.",
                attribute=repr(attribute),
                known=", ".join(sorted(KINDS)),
            ),
        )
    value = item.get("value")
    if attribute in VALUED:
        if not isinstance(value, str) or not value:
            return None, "value", _("Choose a value for this attribute, or each value.")
        if attribute != "topic" and not value_is_known(attribute, value, set()):
            return (
                None,
                "value",
                _(
                    "%(value)s is not a value of %(attribute)s.",
                    value=repr(value),
                    attribute=KINDS[attribute],
                ),
            )
    elif value is not None:
        return None, "value", _("This attribute takes no value.")
    if "count" in item and "minimum" not in item:
        minimum_raw: object = item.get("count")
    else:
        minimum_raw = item.get("minimum", 0)
    maximum_raw = item.get("maximum")
    minimum = _count(minimum_raw)
    maximum = None if maximum_raw is None else _count(maximum_raw)
    if minimum is None or (maximum_raw is not None and maximum is None):
        return None, "minimum", _("Give whole numbers, 0 or more.")
    return ConstraintRule(str(attribute), value, minimum, maximum), "", ""


def _count(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    if isinstance(value, str) and value.strip().isdecimal():
        return int(value.strip())
    return None


LINE_METHODS = ("merit", "optimal")
KEYS = frozenset(
    {
        "tie_rule",
        "confidence_weighted",
        "overall_threshold",
        "min_reviews",
        "funding",
        "line_method",
        "constraints",
        "lottery",
        "lottery_seed",
    }
)


@dataclass(frozen=True)
class SelectionRules:
    tie_rule: tuple[int, ...] = ()
    confidence_weighted: bool = False
    overall_threshold: float | None = None
    min_reviews: int = 3
    funding: bool = False
    line_method: str = "merit"
    constraints: tuple[ConstraintRule, ...] = field(default_factory=tuple)
    lottery: bool = False
    lottery_seed: str | None = None

    def ranking_options(self) -> dict[str, Any]:
        """The options of ``core.ranking.RankingOptions`` these rules fix (the method apart)."""
        return {
            "tie_rule": list(self.tie_rule),
            "confidence_weighted": self.confidence_weighted,
            "overall_threshold": self.overall_threshold,
            "min_reviews": self.min_reviews,
        }


def is_last_stage(stage: Stage) -> bool:
    """The call's last stage of the competition: funding is decided there and nothing advances
    from it. Interim evaluations of funded grants come after it and are none."""
    if stage.is_evaluation:
        return False
    return stage.position == max(s.position for s in stage.call.competition_stages)


def rules_for(stage: Stage) -> SelectionRules:
    """The stage's rules; a stored value that does not make sense raises DomainError naming it."""
    raw = dict(stage.selection_rules or {})
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        raise DomainError(
            _(
                "Unknown selection rules for %(stage)s: %(keys)s.",
                stage=stage.name,
                keys=", ".join(unknown),
            )
        )
    criterion_ids = {c.id for c in stage.criteria}
    tie_rule = tuple(int(c) for c in raw.get("tie_rule", ()))
    if not set(tie_rule) <= criterion_ids:
        raise DomainError(
            _("The tie rule of %(stage)s names a criterion of another stage.", stage=stage.name)
        )
    method = raw.get("line_method", "merit")
    if method not in LINE_METHODS:
        raise DomainError(
            _("The line method of %(stage)s must be merit or optimal.", stage=stage.name)
        )
    constraints = []
    for item in raw.get("constraints", ()):
        rule, _where, wrong = read_constraint(item)
        if rule is None:
            raise DomainError(
                _("A constraint of %(stage)s: %(problem)s", stage=stage.name, problem=wrong)
            )
        constraints.append(rule)
    lottery = bool(raw.get("lottery", False))
    seed = raw.get("lottery_seed")
    if lottery and not seed:
        raise DomainError(
            _("The lottery of %(stage)s needs a seed fixed in advance.", stage=stage.name)
        )
    threshold = raw.get("overall_threshold")
    return SelectionRules(
        tie_rule=tie_rule,
        confidence_weighted=bool(raw.get("confidence_weighted", False)),
        overall_threshold=float(threshold) if threshold is not None else None,
        min_reviews=int(raw.get("min_reviews", 3)),
        funding=bool(raw.get("funding", is_last_stage(stage))),
        line_method=method,
        constraints=tuple(constraints),
        lottery=lottery,
        lottery_seed=str(seed) if seed else None,
    )


def stored_rules(stage: Stage) -> tuple[SelectionRules | None, str]:
    """The stage's rules, or None and what does not make sense in the stored value, for a page
    that shows the problem instead of failing."""
    try:
        return rules_for(stage), ""
    except DomainError as error:
        return None, str(error)


MAX_SEED = 200


def total_scale(stage: Stage) -> tuple[Decimal, Decimal] | None:
    """The range of the weighted total: the criteria's scales weighted by their normalised
    weights, as ``core.ranking`` computes it. None for a stage without criteria."""
    criteria = list(stage.criteria)
    weight = sum((c.weight for c in criteria), Decimal(0))
    if not criteria or weight <= 0:
        return None
    low = sum((c.weight * c.scale_min for c in criteria), Decimal(0)) / weight
    high = sum((c.weight * c.scale_max for c in criteria), Decimal(0)) / weight
    return low.quantize(Decimal("0.01")), high.quantize(Decimal("0.01"))
