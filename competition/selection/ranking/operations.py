"""Ranking snapshots of a stage: started by an officer, computed as a background job by
``competition.core.ranking`` and stored once, with the method, its parameters, the hash of every
input and the code version. ``recompute`` proves a snapshot: the same inputs give the same
numbers, to the last digit of the stored JSON."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from competition.accounts.models import User
from competition.audit.operations import record_event
from competition.core import ranking as core
from competition.core.texts import N_, Text
from competition.db import operation, utcnow
from competition.extensions import db
from competition.i18n import gettext as _
from competition.jobs import operations as jobs
from competition.permissions import require
from competition.programmes.models import Stage
from competition.selection.clock import on_callers_clock
from competition.selection.models import Ranking, RankingMethod, SnapshotState
from competition.selection.permissions import can_rank
from competition.selection.ranking.queries import code_version, stage_inputs
from competition.selection.rules.queries import rules_for
from competition.tasks import enqueue

log = logging.getLogger(__name__)

KIND = "selection.rank"


def _options(ranking: Ranking) -> core.RankingOptions:
    params = dict(ranking.params)
    params["tie_rule"] = tuple(params.get("tie_rule", ()))
    return core.RankingOptions(method=ranking.method.value, **params)  # type: ignore[arg-type]


@operation
def start_ranking(
    stage: Stage,
    *,
    actor: User,
    method: RankingMethod,
    now: dt.datetime,
    options: dict[str, Any] | None = None,
) -> Ranking:
    """Queue a ranking of the stage's submitted reviews. Options are those of
    ``core.ranking.RankingOptions`` except the method; the stage's selection rules fill the
    rest; the seed is fixed here and recorded.
    Side effects: the snapshot row; audit ``ranking.started``; a ``selection.rank`` task."""
    require(can_rank(actor, stage))
    # The stage's rules (tie rule, thresholds) come first; a caller may only add to them.
    params = {
        "seed": int(now.timestamp()) % 2**31,
        **rules_for(stage).ranking_options(),
        **(options or {}),
    }
    # Checked now, so a bad option is refused at the form, not in the worker.
    core.RankingOptions(
        method=method.value, **{**params, "tie_rule": tuple(params.get("tie_rule", ()))}
    )  # type: ignore[arg-type]
    job = jobs.open_job(
        KIND,
        f"stage:{stage.id}",
        actor=actor,
        now=now,
        taken=_("A ranking of this stage is already being computed."),
    )
    ranking = Ranking(
        stage_id=stage.id,
        method=method,
        params=params,
        job=job,
        code_version=code_version(),
        result={},
        created_by_id=actor.id,
        created_at=now,
    )
    db.session.add(ranking)
    db.session.flush()
    record_event(
        actor=actor,
        action="ranking.started",
        object_type="stage",
        object_id=stage.id,
        after={"ranking": ranking.id, "method": method.value, **params},
        now=now,
    )
    enqueue("selection.rank", ranking_id=ranking.id)
    return ranking


def _finish(
    ranking_id: int,
    claimed: dt.datetime,
    result: core.Ranking | None,
    problems: Sequence[Text | str],
) -> None:
    ranking = db.session.get(Ranking, ranking_id, populate_existing=True)
    assert ranking is not None
    job = jobs.mine(ranking.job_id, claimed)
    if job is None:  # given up as dead meanwhile, and perhaps taken over
        return
    now = on_callers_clock(ranking.created_at, job.created_at)
    if result is None:
        message = N_("The reviews cannot be ranked: %(problems)s", problems=jobs.joined(problems))
        jobs.end(job, "fail", now=now, message=message)
    else:
        ranking.result = json.loads(result.to_json())
        ranking.inputs_hash = result.inputs_hash
        jobs.end(job, "finish", now=now, message=jobs.DONE)
    record_event(
        actor=None,
        action="ranking.finished",
        object_type="stage",
        object_id=ranking.stage_id,
        after={
            "ranking": ranking.id,
            "state": ranking.state.value,
            "inputs_hash": ranking.inputs_hash,
            "proposals": len(result.proposals) if result else 0,
        },
        now=now,
    )


def compute(ranking: Ranking) -> core.Ranking:
    stage = db.session.get(Stage, ranking.stage_id)
    assert stage is not None
    criteria, reviews, overrides = stage_inputs(stage)
    return core.rank_proposals(criteria, reviews, overrides=overrides, options=_options(ranking))


def execute_ranking(ranking_id: int) -> SnapshotState | None:
    """The worker's part. Running it twice does nothing the second time. Whatever goes wrong,
    the ranking ends failed with the reason, so the stage is never left blocked."""
    job_id = db.session.scalar(sa.select(Ranking.job_id).where(Ranking.id == ranking_id))
    claimed = jobs.claim(job_id, now=utcnow()) if job_id is not None else None
    if job_id is None or claimed is None:
        return None
    with jobs.heartbeat(job_id, claimed):
        ranking = db.session.get(Ranking, ranking_id)
        assert ranking is not None
        try:
            jobs.report(job_id, claimed, 20, N_("Computing."))
            result = compute(ranking)
        except core.InvalidRankingInput as error:
            db.session.rollback()
            operation(_finish)(ranking_id, claimed, None, list(error.problems))
            return SnapshotState.FAILED
        except Exception:
            log.exception("ranking %s failed", ranking_id)
            db.session.rollback()
            operation(_finish)(ranking_id, claimed, None, [N_("an internal error; start it again")])
            return SnapshotState.FAILED
        operation(_finish)(ranking_id, claimed, result, [])
        return SnapshotState.DONE


def recompute(ranking: Ranking) -> bool:
    """Whether the stored snapshot is what its inputs give today (same hash, same numbers)."""
    if ranking.state != SnapshotState.DONE:
        return False
    again = compute(ranking)
    return (
        again.inputs_hash == ranking.inputs_hash and json.loads(again.to_json()) == ranking.result
    )
