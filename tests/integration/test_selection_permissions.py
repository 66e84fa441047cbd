"""Who may do what in a stage's selection: each intention has its own predicate, and each belongs
to the officers who run the stage's programme, nobody else."""

from __future__ import annotations

import pytest

from competition.accounts.models import Role
from competition.selection import permissions
from tests.factories import make_stage, make_user
from tests.helpers import call_run_by, officer_and_outsider

PREDICATES = [
    permissions.can_see_selection,
    permissions.can_set_rules,
    permissions.can_rank,
    permissions.can_draw_line,
    permissions.can_hold_panel,
    permissions.can_propose_decision,
    permissions.can_confirm_decision,
    permissions.can_publish,
    permissions.can_export,
]
ROLES = {
    "officer of the programme": True,
    "officer of another programme": False,
    "juror": False,
    "applicant": False,
    "administrator": False,
    "programme officer without the officer role": False,
}


@pytest.mark.parametrize("who", list(ROLES))
@pytest.mark.parametrize("predicate", PREDICATES, ids=lambda p: p.__name__)
def test_only_officers_of_the_programme_may_act_in_its_selection(ctx, predicate, who):
    officer, outsider = officer_and_outsider()
    former = make_user(roles=(Role.JUROR,))
    stage = make_stage(call_run_by(officer, former))
    people = {
        "officer of the programme": officer,
        "officer of another programme": outsider,
        "juror": make_user(roles=(Role.JUROR,)),
        "applicant": make_user(roles=(Role.APPLICANT,)),
        "administrator": make_user(roles=(Role.ADMIN,)),
        "programme officer without the officer role": former,
    }
    decision = predicate(people[who], stage)
    assert bool(decision) is ROLES[who]
    if not decision:
        assert "officers of this programme" in decision.reason
