"""Loading programmes for the pages that show them."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from competition.accounts.models import User
from competition.db import built_once
from competition.extensions import db
from competition.programmes.models import Call, Criterion, Programme, ProgrammeOfficer, Stage


def list_programmes_run_by(officer: User) -> list[Programme]:
    return list(
        db.session.scalars(
            sa.select(Programme)
            .join(ProgrammeOfficer)
            .where(ProgrammeOfficer.user_id == officer.id)
            .options(selectinload(Programme.calls).selectinload(Call.stages))
            .order_by(Programme.name)
        )
    )


@built_once
def _calls_run_by() -> sa.Select[tuple[int, str]]:
    # Asked on every visit of the officers' list: built once, the officer bound when it runs.
    return (
        sa.select(Call.id, Call.name)
        .join(Programme, Programme.id == Call.programme_id)
        .where(Call.programme_id.in_(programme_ids_run_by(sa.bindparam("officer_id"))))
        .order_by(Programme.name, Call.round_number, Call.id)
    )


def list_calls_run_by(officer: User) -> list[tuple[int, str]]:
    """(id, name) of the calls in the officer's programmes, for a filter's choices."""
    return [
        (row.id, row.name)
        for row in db.session.execute(_calls_run_by(), {"officer_id": officer.id})
    ]


def find_programme(programme_id: int) -> Programme | None:
    return db.session.get(Programme, programme_id)


def find_programme_for_page(programme_id: int) -> Programme | None:
    """The programme with its calls, their stages and the stages' criteria."""
    return db.session.scalar(
        sa.select(Programme)
        .where(Programme.id == programme_id)
        .options(
            selectinload(Programme.calls).selectinload(Call.stages).selectinload(Stage.criteria)
        )
    )


def find_call(call_id: int) -> Call | None:
    return db.session.get(Call, call_id)


def find_stage(stage_id: int) -> Stage | None:
    return db.session.get(Stage, stage_id)


def find_criterion(criterion_id: int) -> Criterion | None:
    return db.session.get(Criterion, criterion_id)


def programme_ids_run_by(officer_id: int | sa.BindParameter[int]) -> sa.Select[tuple[int]]:
    """The programmes the officer runs; ``officer_id`` may be bound when the statement runs."""
    return sa.select(ProgrammeOfficer.programme_id).where(ProgrammeOfficer.user_id == officer_id)
