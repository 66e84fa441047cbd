"""What grants commit of a programme's budget and a round's envelope, read from the database
into the core's rule (``core.grants``: a project grant replaces its "fund" decision's request,
concept grants add theirs, ended grants keep only their released phases).

The line of a stage counts it through ``selection.line.queries.register_commitments`` (selection
sits below grants); offering or adjusting a grant checks it here, with the decisions' requests
read by the line's own query (``fund_requests``).
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from competition.core import grants as rules
from competition.extensions import db
from competition.grants.models import Grant, GrantAmount, GrantPhase
from competition.programmes.models import Call, Stage
from competition.selection.line.queries import Commitments, fund_requests
from competition.selection.models import Decision


def money_of(grant: Grant) -> rules.GrantMoney:
    """A grant as the count sees it, from its loaded amounts and phases."""
    by_year: dict[int, Decimal] = defaultdict(Decimal)
    for cell in grant.amounts:
        by_year[cell.year] += Decimal(cell.amount)
    return rules.GrantMoney(
        proposal_id=grant.proposal_id,
        kind=grant.kind.value,
        state=grant.state.value,
        by_year=dict(by_year),
        phases=tuple(
            rules.Phase(p.first_year, p.last_year, p.released_at is not None) for p in grant.phases
        ),
    )


def grants_in(
    where: sa.ColumnElement[bool], *, except_stage_id: int | None = None
) -> list[rules.GrantMoney]:
    """The grants of the calls ``where`` selects (on ``Call``), but those offered for a decision
    at ``except_stage_id``, in three queries (none more when there is no grant)."""
    return [grant for _, grant in _grants(where, except_stage_id)]


def _grants(
    where: sa.ColumnElement[bool], except_stage_id: int | None = None
) -> list[tuple[int, rules.GrantMoney]]:
    """(call id, grant) for ``grants_in``."""
    query = (
        sa.select(Grant.id, Grant.call_id, Grant.proposal_id, Grant.kind, Grant.state)
        .join(Call, Call.id == Grant.call_id)
        .where(where)
    )
    if except_stage_id is not None:
        query = query.outerjoin(Decision, Decision.id == Grant.decision_id).where(
            sa.or_(Decision.stage_id.is_(None), Decision.stage_id != except_stage_id)
        )
    found = db.session.execute(query).all()
    if not found:
        return []
    ids = [row.id for row in found]
    by_year: dict[int, dict[int, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for grant_id, year, amount in db.session.execute(
        sa.select(GrantAmount.grant_id, GrantAmount.year, sa.func.sum(GrantAmount.amount))
        .where(GrantAmount.grant_id.in_(ids))
        .group_by(GrantAmount.grant_id, GrantAmount.year)
    ):
        by_year[grant_id][year] += Decimal(amount)
    phases: dict[int, list[rules.Phase]] = defaultdict(list)
    for grant_id, first, last, released in db.session.execute(
        sa.select(
            GrantPhase.grant_id,
            GrantPhase.first_year,
            GrantPhase.last_year,
            GrantPhase.released_at.is_not(None),
        )
        .where(GrantPhase.grant_id.in_(ids))
        .order_by(GrantPhase.grant_id, GrantPhase.number)
    ):
        phases[grant_id].append(rules.Phase(first, last, bool(released)))
    return [
        (
            row.call_id,
            rules.GrantMoney(
                proposal_id=row.proposal_id,
                kind=str(row.kind.value if hasattr(row.kind, "value") else row.kind),
                state=str(row.state.value if hasattr(row.state, "value") else row.state),
                by_year=dict(by_year[row.id]),
                phases=tuple(phases[row.id]),
            ),
        )
        for row in found
    ]


def correction(stage: Stage | None, where: sa.ColumnElement[bool]) -> Decimal:
    """For the line: what grants add to the requests of confirmed "fund" decisions at stages
    other than ``stage`` in the calls ``where`` selects."""
    except_stage_id = stage.id if stage is not None else None
    grants = grants_in(where, except_stage_id=except_stage_id)
    if not grants:
        return Decimal(0)
    return rules.correction(fund_requests(where, except_stage_id=except_stage_id), grants)


def _mark() -> sa.Select[Any]:
    # A grant is created by a publication (a gateway step) and adjusted without one; each
    # change of its money touches ``updated_at``.
    return sa.select(sa.func.max(Grant.updated_at))


COMMITMENTS = Commitments(correction=correction, mark=_mark)


def committed(where: sa.ColumnElement[bool]) -> Decimal:
    """The money committed in the calls ``where`` selects, by decisions and grants together."""
    return rules.committed(fund_requests(where), grants_in(where))


def corrections_by_call(call_ids: list[int]) -> dict[int, Decimal]:
    """Per call, what its grants add to the requests of its confirmed "fund" decisions (the
    dashboard sums those itself): one query without grants, four with. A proposal belongs to
    one call, so only the requests of proposals with a grant take part."""
    if not call_ids:
        return {}
    scope = Call.id.in_(call_ids)
    found = _grants(scope)
    if not found:
        return {}
    granted = {grant.proposal_id for _, grant in found}
    requests = [r for r in fund_requests(scope) if r.proposal_id in granted]
    by_call: dict[int, list[rules.GrantMoney]] = defaultdict(list)
    for call_id, grant in found:
        by_call[call_id].append(grant)
    corrections = {}
    for call_id, grants in by_call.items():
        mine = {grant.proposal_id for grant in grants}
        corrections[call_id] = rules.correction(
            [r for r in requests if r.proposal_id in mine], grants
        )
    return corrections


def budgets_for(call: Call) -> list[rules.Budget]:
    """The limits a grant of ``call`` must fit into: the programme's total and, where the round
    has one, its envelope, each with what is counted against it."""
    programme = Call.programme_id == call.programme_id
    budgets = [
        rules.Budget(
            "programme",
            call.programme.total_budget,
            fund_requests(programme),
            grants_in(programme),
        )
    ]
    if call.budget_envelope is not None:
        budgets.append(
            rules.Budget(
                "envelope",
                call.budget_envelope,
                fund_requests(Call.id == call.id),
                grants_in(Call.id == call.id),
            )
        )
    return budgets
