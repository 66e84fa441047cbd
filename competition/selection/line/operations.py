"""Drawing the grey zone's places by lot: ``record_lottery`` records one draw per ranking with
the seed fixed in the stage's rules, refusing a grey zone that changed since the officer looked."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.core.selection import draw_lottery
from competition.db import operation
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.i18n import gettext as _
from competition.permissions import require
from competition.programmes.models import Stage
from competition.selection.line.queries import check_ranking, draw, recorded_draw
from competition.selection.models import (
    LotteryRecord,
    Ranking,
)
from competition.selection.permissions import can_draw_line
from competition.selection.ranking.queries import latest_done
from competition.selection.rules.queries import rules_for

# --- the lottery --------------------------------------------------------------------------


@operation
def record_lottery(
    stage: Stage,
    ranking: Ranking,
    *,
    actor: User,
    now: dt.datetime,
    candidates: Sequence[int] | None = None,
    places: int | None = None,
) -> LotteryRecord:
    """Draw the grey zone's places by lot with the seed fixed in the stage's rules, and record
    the draw so anyone can re-run it. ``candidates`` and ``places``, when given, are what the
    officer confirmed: a grey zone that has changed since is refused.
    Refused when the rules enable no lottery, the ranking is not the stage's newest finished
    one, a draw is already recorded for it, or there is nothing to draw.
    Side effects: a ``LotteryRecord``; audit ``lottery.drawn``."""
    require(can_draw_line(actor, stage))
    rules = rules_for(stage)
    if not rules.lottery or not rules.lottery_seed:
        raise DomainError(_("The selection rules of this stage do not provide for a lottery."))
    # Locks the ranking so two officers confirming at once record one draw.
    locked = db.session.get(Ranking, ranking.id, with_for_update=True)
    if locked is None:
        raise StaleState(_("This ranking no longer exists."))
    check_ranking(stage, locked)
    newest = latest_done(stage)
    if newest is None or newest.id != locked.id:
        raise StaleState(_("A newer ranking exists; draw on the line of the newest one."))
    if recorded_draw(locked) is not None:
        raise StaleState(_("A draw is already recorded for this ranking."))
    line = draw(stage, locked)
    plan = line.draw_plan
    if plan is None:
        raise DomainError(
            _("No place on the line is uncertain enough to draw: the grey zone is empty.")
        )
    if candidates is not None and sorted(candidates) != sorted(plan.candidates):
        raise StaleState(_("The grey zone has changed since you opened this page; check it again."))
    if places is not None and places != plan.places:
        raise StaleState(_("The number of places has changed since you opened this page."))
    reference = {row.proposal_id: row.reference for row in line.rows}
    result = draw_lottery(
        [reference[pid] for pid in plan.candidates],
        plan.places,
        plan.seed,
        budget=plan.budget,
        requested=(
            {reference[pid]: amount for pid, amount in plan.requested.items()}
            if plan.budget is not None
            else None
        ),
    )
    record = LotteryRecord(
        stage_id=stage.id,
        ranking_id=locked.id,
        seed=plan.seed,
        record=result.as_record(),
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(record)
    db.session.flush()
    record_event(
        actor=actor,
        action="lottery.drawn",
        object_type="stage",
        object_id=stage.id,
        after={
            "draw": record.id,
            "ranking": locked.id,
            "seed": plan.seed,
            "candidates": list(result.candidates),
            "places": result.places,
            "drawn": list(result.drawn),
        },
        now=now,
    )
    return record
