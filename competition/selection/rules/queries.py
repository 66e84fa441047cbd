"""A stage's selection rules, read from ``Stage.selection_rules`` (JSON set up with the call).

Every key is optional. Unknown keys are refused, so a typo never silently changes a selection.

    {
      "tie_rule": [12, 13],            criterion ids: higher mean on the first, then the second
      "confidence_weighted": false,    weight each review by the juror's stated confidence
      "overall_threshold": 3.0,        a weighted total below this is not fundable
      "min_reviews": 3,                fewer reviews than this are flagged
      "funding": true,                 the line is drawn by budget (default: the call's last stage)
      "line_method": "merit",          "merit" (rank order) or "optimal" (exact optimiser)
      "constraints": [{"attribute": "eastern", "count": 3}],
      "lottery": false,                draw the grey zone's places by lot
      "lottery_seed": "…",             fixed in advance and published; required when lottery is on
    }

Attributes a constraint may name are those ``candidate_attributes`` gives a proposal: "eastern"
(the coordinator is in an eastern federal state) and "sme" (an SME is a partner).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from competition.core.selection import MinimumCount
from competition.errors import DomainError
from competition.programmes.models import Stage

ATTRIBUTES = {
    "eastern": _l("led from an eastern federal state"),
    "sme": _l("with an SME partner"),
}
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
    constraints: tuple[MinimumCount, ...] = field(default_factory=tuple)
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
    return stage.position == max(s.position for s in stage.call.stages)


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
        attribute = item.get("attribute")
        if attribute not in ATTRIBUTES:
            raise DomainError(
                _(
                    "A constraint of %(stage)s names %(attribute)s; known: %(known)s.",
                    stage=stage.name,
                    attribute=repr(attribute),
                    known=", ".join(sorted(ATTRIBUTES)),
                )
            )
        constraints.append(MinimumCount(attribute=attribute, count=int(item.get("count", 0))))
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
