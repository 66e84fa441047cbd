"""The line on PostgreSQL: a target stage, a funding stage under the budget the programme has
left (what does not fit is skipped and the explanation says so), constraints and their cost,
the target capping a funding line, and the grey zone's lottery recorded once and re-run from
its record with ``flask selection verify-draw``.

The rankings here are snapshots written from plain ranked proposals, so each test fixes the
ranks, intervals and thresholds it is about; test_selection_pages.py ranks real reviews."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal

import pytest
import sqlalchemy as sa

from competition.accounts.models import Role, User
from competition.audit.models import AuditEvent
from competition.core import line as standing
from competition.core import ranking as core
from competition.core.texts import Text
from competition.db import operation, utcnow
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.i18n import say
from competition.organisations.models import FederalState, OrganisationKind
from competition.programmes.models import Criterion, Stage
from competition.proposals.models import BudgetLine, Proposal, ProposalState, StageSubmission
from competition.selection.cli import selection_cli
from competition.selection.line import operations as line_operations
from competition.selection.line import queries as line_queries
from competition.selection.models import (
    Decision,
    DecisionState,
    LotteryRecord,
    Outcome,
    Ranking,
    RankingMethod,
    SnapshotState,
)
from competition.workflow import apply_step
from tests.factories import (
    make_call,
    make_job,
    make_organisation,
    make_programme,
    make_proposal,
    make_stage,
    make_user,
)
from tests.integration.test_assignment_runs import submit

M = Decimal("1000000.00")
SEED = "DAX close 2026-11-20: 19,432.17"


@dataclass(frozen=True)
class Spec:
    """One proposal of the world, listed best first: its rank is its place in the list."""

    requested: Decimal = M
    eastern: bool = False
    sme: bool = False
    fundable: bool = True
    interval: tuple[int, int] | None = None  # the rank interval; (rank, rank) if None


@dataclass(frozen=True)
class LineWorld:
    call_id: int
    stage_id: int
    ranking_id: int
    officer: str
    other_officer: str  # of another programme
    second_officer: str  # of the same programme
    applicant: str
    proposals: list[int]  # by rank
    references: list[str]

    @property
    def page(self) -> str:
        return f"/calls/{self.call_id}/stages/{self.stage_id}/selection"

    def stage(self) -> Stage:
        return db.session.get(Stage, self.stage_id)

    def ranking(self) -> Ranking:
        return db.session.get(Ranking, self.ranking_id)

    def user(self, email: str) -> User:
        return db.session.scalar(sa.select(User).where(User.email == email))


def snapshot_result(stage: Stage, proposals: list[Proposal], specs: list[Spec]) -> core.Ranking:
    """A ranking as the core returns it, with the ranks, intervals and thresholds given."""
    criterion = stage.criteria[0]
    ranked = []
    for index, (proposal, spec) in enumerate(zip(proposals, specs, strict=True)):
        rank = index + 1
        score = 4.5 - 0.25 * index
        ranked.append(
            core.RankedProposal(
                proposal_id=proposal.id,
                n_reviews=3,
                criterion_means={criterion.id: score},
                criterion_spreads={criterion.id: 0.5},
                weighted_total=score,
                score=score,
                rank=rank,
                tie_broken_by=None,
                expected_rank=float(rank),
                score_interval=(score - 0.3, score + 0.3),
                rank_interval=spec.interval or (rank, rank),
                fundable=spec.fundable,
                below_thresholds=(
                    () if spec.fundable else (f"{criterion.name} mean {score:.2f} < threshold 4",)
                ),
                flags=(),
                outlier_jurors=(),
                overridden=(),
            )
        )
    return core.Ranking(
        method="raw",
        options=core.RankingOptions(method="raw"),
        parameters={"algorithm": core.ALGORITHM},
        proposals=tuple(ranked),
        juror_biases=(),
        inputs_hash="a" * 64,
    )


def build_line_world(
    specs: list[Spec],
    *,
    rules: dict[str, object] | None = None,
    target: int | None = None,
    budget: Decimal = 10 * M,
) -> LineWorld:
    now = utcnow()
    officer = make_user(roles=(Role.OFFICER,), email="olivia@office.test")
    second = make_user(roles=(Role.OFFICER,), email="paul@office.test")
    other = make_user(roles=(Role.OFFICER,), email="oskar@office.test")
    make_call(make_programme(officers=(other,)))
    applicant = make_user(roles=(Role.APPLICANT,), email="anna@consortium.test")
    programme = make_programme(officers=(officer, second), total_budget=budget)
    call = make_call(programme)
    stage = make_stage(
        call,
        opens_at=now - dt.timedelta(days=60),
        closes_at=now - dt.timedelta(days=20),
        selection_target=target,
        selection_rules=rules or {},
    )
    stage.criteria.append(
        Criterion(
            position=1,
            name="Excellence",
            weight=Decimal("1"),
            scale_min=Decimal("0"),
            scale_max=Decimal("5"),
            scale_step=Decimal("0.5"),
            threshold=Decimal("4"),
        )
    )
    proposals = []
    for n, spec in enumerate(specs):
        coordinator = make_organisation(
            federal_state=FederalState.TH if spec.eastern else FederalState.BY
        )
        partner = make_organisation(
            kind=OrganisationKind.SME if spec.sme else OrganisationKind.UNIVERSITY,
            federal_state=FederalState.BW,
        )
        proposal = make_proposal(
            call,
            coordinator=applicant if n == 0 else None,
            organisations=(coordinator, partner),
            title=f"Cluster {n}",
        )
        submit(proposal, stage)
        submission = db.session.scalar(
            sa.select(StageSubmission).where(StageSubmission.proposal_id == proposal.id)
        )
        # Two partners' lines: the requested amount is their sum.
        half = (spec.requested / 2).quantize(Decimal("0.01"))
        for member, amount in zip(proposal.members, (half, spec.requested - half), strict=True):
            submission.budget_lines.append(
                BudgetLine(member=member, year=1, public_funding=amount, own_contribution=M)
            )
        proposals.append(proposal)
    db.session.flush()
    result = snapshot_result(stage, proposals, specs)
    ranking = Ranking(
        stage_id=stage.id,
        method=RankingMethod.RAW,
        params={"seed": 1},
        job=make_job(
            "selection.rank",
            stage.id,
            state=SnapshotState.DONE,
            message="Done.",
            progress=100,
            started_by_id=officer.id,
            created_at=now,
            finished_at=now,
        ),
        inputs_hash=result.inputs_hash,
        code_version="test",
        result=json.loads(result.to_json()),
        created_by_id=officer.id,
        created_at=now,
    )
    db.session.add(ranking)
    db.session.commit()
    return LineWorld(
        call_id=call.id,
        stage_id=stage.id,
        ranking_id=ranking.id,
        officer=officer.email,
        other_officer=other.email,
        second_officer=second.email,
        applicant=applicant.email,
        proposals=[p.id for p in proposals],
        references=[p.reference for p in proposals],
    )


def shown(why: Text | None) -> str:
    """A proposal's why as the line's page shows it."""
    return say(why, capital=True)


def line_of(world: LineWorld) -> line_queries.Line:
    return line_queries.draw(world.stage(), world.ranking())


def outcomes(world: LineWorld, line: line_queries.Line) -> list[Outcome]:
    return [line.suggested[pid] for pid in world.proposals]


def lottery_rules(**more: object) -> dict[str, object]:
    return {"funding": True, "lottery": True, "lottery_seed": SEED, **more}


# --- target stages --------------------------------------------------------------------------


def test_a_target_stage_advances_the_best_fundable_proposals(ctx):
    world = build_line_world(
        [Spec(), Spec(fundable=False), Spec(), Spec(), Spec(), Spec()],
        rules={"funding": False},
        target=3,
    )

    line = line_of(world)

    assert not line.funding and line.budget is None and line.committed == 0
    A, R = Outcome.ADVANCE, Outcome.REJECT
    assert outcomes(world, line) == [A, R, A, A, R, R]
    below = shown(line.explanations[world.proposals[1]])
    assert below.startswith("Below a threshold: Excellence mean 4.25 < threshold 4")
    assert "outside the target" in shown(line.explanations[world.proposals[4]]).lower()
    assert world.proposals[0] not in line.explanations
    assert [row.proposal_id for row in line.rows] == world.proposals
    assert [row.group for row in line.rows] == [
        standing.SELECTED,
        standing.NOT_SELECTED,
        standing.SELECTED,
        standing.SELECTED,
        standing.NOT_SELECTED,
        standing.NOT_SELECTED,
    ]


def test_without_a_target_every_fundable_proposal_advances(ctx):
    world = build_line_world([Spec(), Spec(fundable=False), Spec()], rules={"funding": False})

    line = line_of(world)

    assert outcomes(world, line) == [Outcome.ADVANCE, Outcome.REJECT, Outcome.ADVANCE]
    assert any("no selection target" in note for note in map(say, line.notes))


def test_a_withdrawn_proposal_gets_no_suggestion(ctx):
    world = build_line_world([Spec(), Spec(), Spec()], rules={"funding": False}, target=2)
    db.session.get(Proposal, world.proposals[0]).state = ProposalState.WITHDRAWN
    db.session.commit()

    line = line_of(world)

    assert world.proposals[0] not in line.suggested
    assert line.rows[0].group == standing.OUT
    # Its place goes to the next ones.
    assert [line.suggested[p] for p in world.proposals[1:]] == [Outcome.ADVANCE] * 2


def test_the_pages_line_is_drawn_again_exactly_when_what_it_is_drawn_from_changes(ctx):
    world = build_line_world([Spec(), Spec(), Spec()], rules={"funding": False}, target=2)

    first, _ = line_queries.draw_or_why(world.stage(), world.ranking())
    again, _ = line_queries.draw_or_why(world.stage(), world.ranking())
    assert again is first  # kept: nothing changed
    assert [first.suggested[p] for p in world.proposals] == [Outcome.ADVANCE] * 2 + [Outcome.REJECT]

    # A state change (through the gateway, as every one is).
    operation(apply_step)(
        db.session.get(Proposal, world.proposals[0]),
        "withdraw",
        actor=world.user(world.officer),
        now=utcnow(),
    )
    withdrawn, _ = line_queries.draw_or_why(world.stage(), world.ranking())
    assert world.proposals[0] not in withdrawn.suggested
    assert [withdrawn.suggested[p] for p in world.proposals[1:]] == [Outcome.ADVANCE] * 2

    # A rule of the stage.
    world.stage().selection_target = 1
    db.session.commit()
    narrower, _ = line_queries.draw_or_why(world.stage(), world.ranking())
    assert narrower is not withdrawn
    assert [narrower.suggested[p] for p in world.proposals[1:]] == [
        Outcome.ADVANCE,
        Outcome.REJECT,
    ]


# --- funding stages -------------------------------------------------------------------------


def test_a_proposal_that_does_not_fit_the_budget_is_skipped_and_the_line_says_why(ctx):
    world = build_line_world(
        [
            Spec(requested=4 * M),
            Spec(requested=5 * M),
            Spec(requested=3 * M),  # 1 M left when its turn comes
            Spec(requested=1 * M),
            Spec(requested=2 * M),
            Spec(requested=2 * M, fundable=False),
        ],
        budget=10 * M,
    )

    line = line_of(world)

    assert line.funding  # the call's last stage
    F, S, R = Outcome.FUND, Outcome.RESERVE, Outcome.REJECT
    # The skipped one fits the whole budget: first in line if money frees up.
    assert outcomes(world, line) == [F, F, S, F, S, R]
    assert [row.group for row in line.rows][:5] == [
        standing.SELECTED,
        standing.SELECTED,
        standing.SKIPPED,
        standing.SELECTED,
        standing.RESERVE,
    ]
    assert shown(line.explanations[world.proposals[2]]) == "Requested 3.0 M€, only 1.0 M€ left"
    assert shown(line.explanations[world.proposals[5]]).startswith("Below a threshold: Excellence")
    assert line.budget == 10 * M
    assert line.committed == 10 * M and line.remaining == 0


def test_a_constraint_brings_in_an_eastern_proposal_and_reports_what_it_cost(ctx):
    world = build_line_world(
        [
            Spec(requested=4 * M),
            Spec(requested=5 * M),
            Spec(requested=3 * M),
            Spec(requested=1 * M),
            Spec(requested=2 * M, eastern=True),
            Spec(requested=2 * M),
        ],
        rules={"constraints": [{"attribute": "eastern", "count": 1}]},
        budget=10 * M,
    )

    line = line_of(world)

    F, S = Outcome.FUND, Outcome.RESERVE
    # Rank 5 comes in for rank 2 (the fewest places that free enough money); the money freed
    # beyond that funds rank 3, skipped before.
    assert outcomes(world, line) == [F, S, F, F, F, S]
    assert shown(line.explanations[world.proposals[1]]) == (
        f"Displaced by {world.references[4]} (rank 5) to meet: at least 1 funded proposal with "
        "'eastern'"
    )
    [report] = line.constraint_reports
    assert report.met and report.funded_count == 1
    assert report.places == 3
    assert world.references[1] in say(report.message)
    assert line.committed <= line.budget


def test_the_target_caps_a_funding_line_and_money_reasons_above_it_stay(ctx):
    world = build_line_world(
        [
            Spec(requested=2 * M),
            Spec(requested=6 * M),
            Spec(requested=3 * M),  # 2 M left at its turn
            Spec(requested=1 * M),
            Spec(requested=1 * M),
            Spec(requested=1 * M),
        ],
        target=3,
        budget=10 * M,
    )

    line = line_of(world)

    F, S = Outcome.FUND, Outcome.RESERVE
    assert outcomes(world, line) == [F, F, S, F, S, S]
    assert line.rows[2].group == standing.SKIPPED
    assert shown(line.explanations[world.proposals[2]]) == "Requested 3.0 M€, only 2.0 M€ left"
    for pid in world.proposals[4:]:
        assert shown(line.explanations[pid]) == "Outside the target: at most 3 proposals are funded"
    assert line.committed == 9 * M and line.remaining == 1 * M


def test_the_target_caps_a_funding_line_and_a_constraint_keeps_its_place(ctx):
    world = build_line_world(
        [Spec(), Spec(), Spec(), Spec(eastern=True), Spec(), Spec()],
        rules={"constraints": [{"attribute": "eastern", "count": 1}]},
        target=2,
        budget=100 * M,
    )

    line = line_of(world)

    F, S = Outcome.FUND, Outcome.RESERVE
    assert outcomes(world, line) == [F, S, S, F, S, S]
    assert line.rows[1].group == standing.SKIPPED
    assert shown(line.explanations[world.proposals[1]]) == (
        f"Displaced by {world.references[3]} (rank 4) to meet: at least 1 funded proposal "
        "with 'eastern'"
    )
    assert shown(line.explanations[world.proposals[2]]) == (
        "Outside the target: at most 2 proposals are funded"
    )
    [report] = line.constraint_reports
    assert report.met and report.funded_count == 1
    assert report.places == 2  # rank 4 instead of rank 2
    assert say(report.message) == (
        "At least 1 funded proposal with 'eastern': met within the target of 2 by 1 swap, "
        f"costing 2 places in the ranking: {world.references[3]} (rank 4) funded instead of "
        f"{world.references[1]} (rank 2): 2 places."
    )
    assert line.committed == 2 * M


def test_remaining_budget_subtracts_only_confirmed_funding_at_other_stages(ctx):
    world = build_line_world([Spec(requested=3 * M)], budget=50 * M)
    stage = world.stage()
    officer, second = world.user(world.officer), world.user(world.second_officer)
    now = utcnow()

    def funded_elsewhere(
        stage_of: Stage, amount: Decimal, *, outcome=Outcome.FUND, confirmed=True
    ) -> None:
        proposal = make_proposal(stage_of.call)
        submit(proposal, stage_of)
        submission = db.session.scalar(
            sa.select(StageSubmission).where(StageSubmission.proposal_id == proposal.id)
        )
        submission.budget_lines.append(
            BudgetLine(
                member=proposal.members[0], year=1, public_funding=amount, own_contribution=0
            )
        )
        db.session.add(
            Decision(
                stage_id=stage_of.id,
                proposal_id=proposal.id,
                outcome=outcome,
                rationale="Decided by the panel.",
                proposed_by_id=officer.id,
                proposed_at=now,
                confirmed_by_id=second.id if confirmed else None,
                confirmed_at=now if confirmed else None,
                state=DecisionState.CONFIRMED if confirmed else DecisionState.PROPOSED,
            )
        )
        db.session.flush()

    earlier_call = make_call(stage.call.programme)
    earlier = make_stage(
        earlier_call, closes_at=now - dt.timedelta(days=400), opens_at=now - dt.timedelta(days=500)
    )
    elsewhere = make_stage(make_call(make_programme()))
    funded_elsewhere(earlier, 7 * M)  # counts
    funded_elsewhere(earlier, Decimal("1234.56"))  # counts
    funded_elsewhere(earlier, 5 * M, confirmed=False)  # only proposed
    funded_elsewhere(earlier, 6 * M, outcome=Outcome.REJECT)
    funded_elsewhere(earlier, 6 * M, outcome=Outcome.RESERVE)
    funded_elsewhere(elsewhere, 9 * M)  # another programme
    funded_elsewhere(stage, 8 * M)  # this stage: the line itself decides
    db.session.commit()

    assert line_queries.remaining_budget(stage) == 50 * M - 7 * M - Decimal("1234.56")
    assert line_of(world).budget == 50 * M - 7 * M - Decimal("1234.56")


def test_candidates_carry_the_requested_funding_and_the_attributes(ctx):
    world = build_line_world(
        [Spec(requested=Decimal("2500000.01"), eastern=True), Spec(sme=True), Spec()]
    )

    found = line_queries.candidates(world.stage(), world.ranking())

    assert [c.proposal_id for c in found] == world.proposals
    assert [c.requested for c in found] == [Decimal("2500000.01"), M, M]
    assert [{a for a in c.attributes if ":" not in a} for c in found] == [
        {"eastern"},
        {"sme"},
        set(),
    ]
    assert {"coordinator_state:DE-TH", "region:east"} <= found[0].attributes
    assert {"coordinator_state:DE-BY", "region:west", "member_kind:sme"} <= found[1].attributes
    assert "member_kind:sme" not in found[2].attributes


# --- the lottery ------------------------------------------------------------------------------


def zone_world(**rules: object) -> LineWorld:
    """Six proposals of 2 M under 10 M: ranks 1–5 are funded; 4, 5 and 6 could be 6th."""
    return build_line_world(
        [
            Spec(requested=2 * M),
            Spec(requested=2 * M),
            Spec(requested=2 * M),
            Spec(requested=2 * M, interval=(3, 6)),
            Spec(requested=2 * M, interval=(4, 6)),
            Spec(requested=2 * M, interval=(5, 6)),
        ],
        rules=rules or lottery_rules(),
        budget=10 * M,
    )


def test_the_grey_zone_is_drawn_by_lot_once_and_the_winners_come_from_it(ctx):
    world = zone_world()
    before = line_of(world)
    assert before.grey_zone == world.proposals[3:]
    assert before.draw_plan is not None and before.draw_plan.places == 2
    assert before.draw_plan.budget == 4 * M  # 10 M less the three secure ones
    officer = world.user(world.officer)

    record = line_operations.record_lottery(
        world.stage(), world.ranking(), actor=officer, now=utcnow()
    )

    drawn = record.record["drawn"]
    assert len(drawn) == 2 and set(drawn) <= set(world.references[3:])
    assert record.record["candidates"] == world.references[3:]
    assert record.seed == SEED
    after = line_of(world)
    assert after.lottery is not None and after.lottery.id == record.id
    winners = {world.proposals[world.references.index(ref)] for ref in drawn}
    [loser] = set(world.proposals[3:]) - winners
    for pid in world.proposals[:3]:
        assert after.suggested[pid] == Outcome.FUND
    for pid in winners:
        assert after.suggested[pid] == Outcome.FUND
    assert after.suggested[loser] == Outcome.RESERVE
    assert shown(after.explanations[loser]).startswith("Lost the draw among the grey zone")
    assert after.committed == 10 * M
    [event] = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "lottery.drawn"))
    assert event.after["drawn"] == drawn and event.after["seed"] == SEED

    with pytest.raises(StaleState, match="already recorded"):
        line_operations.record_lottery(world.stage(), world.ranking(), actor=officer, now=utcnow())
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LotteryRecord)) == 1


def test_a_proposal_a_constraint_needs_is_held_out_of_the_draw(ctx):
    world = build_line_world(
        [
            Spec(requested=2 * M),
            Spec(requested=2 * M),
            Spec(requested=2 * M),
            Spec(requested=2 * M, interval=(3, 6), eastern=True),
            Spec(requested=2 * M, interval=(4, 6)),
            Spec(requested=2 * M, interval=(5, 6)),
        ],
        rules=lottery_rules(constraints=[{"attribute": "eastern", "count": 1}]),
        budget=10 * M,
    )

    line = line_of(world)

    assert line.grey_zone == world.proposals[4:]
    assert line.draw_plan.places == 1 and line.draw_plan.budget == 2 * M
    assert any(world.references[3] in note for note in map(say, line.notes))
    record = line_operations.record_lottery(
        world.stage(), world.ranking(), actor=world.user(world.officer), now=utcnow()
    )
    assert world.references[3] not in record.record["candidates"]
    assert line_of(world).suggested[world.proposals[3]] == Outcome.FUND


def test_a_target_stage_draws_its_grey_zone_without_money(ctx):
    world = build_line_world(
        [Spec(), Spec(interval=(1, 3)), Spec(interval=(2, 4)), Spec(interval=(2, 4))],
        rules={"funding": False, "lottery": True, "lottery_seed": SEED},
        target=2,
    )
    before = line_of(world)
    assert before.grey_zone == world.proposals[1:]
    assert before.draw_plan.places == 1 and before.draw_plan.budget is None

    record = line_operations.record_lottery(
        world.stage(), world.ranking(), actor=world.user(world.officer), now=utcnow()
    )

    [winner] = record.record["drawn"]
    assert record.record["budget"] is None
    after = line_of(world)
    advancing = [pid for pid in world.proposals if after.suggested[pid] == Outcome.ADVANCE]
    assert advancing == [world.proposals[0], world.proposals[world.references.index(winner)]]
    for pid in set(world.proposals[1:]) - set(advancing):
        assert after.suggested[pid] == Outcome.REJECT
        assert shown(after.explanations[pid]).startswith("Lost the draw")


def test_a_lottery_is_refused_when_the_rules_do_not_provide_for_one(ctx):
    world = zone_world(funding=True)

    with pytest.raises(DomainError, match="do not provide for a lottery"):
        line_operations.record_lottery(
            world.stage(), world.ranking(), actor=world.user(world.officer), now=utcnow()
        )
    assert line_of(world).draw_plan is None


def test_a_draw_confirmed_on_another_grey_zone_is_refused(ctx):
    world = zone_world()

    with pytest.raises(StaleState, match="grey zone has changed"):
        line_operations.record_lottery(
            world.stage(),
            world.ranking(),
            actor=world.user(world.officer),
            now=utcnow(),
            candidates=world.proposals[4:],
            places=2,
        )


def test_a_draw_made_for_another_line_is_not_applied(ctx):
    world = zone_world()
    line_operations.record_lottery(
        world.stage(), world.ranking(), actor=world.user(world.officer), now=utcnow()
    )
    # The seed in the rules changes after the draw: the record no longer fits the line.
    world.stage().selection_rules = lottery_rules(lottery_seed="another seed")
    db.session.commit()

    line = line_of(world)

    assert any("not applied" in note for note in map(say, line.notes))
    assert [line.suggested[p] for p in world.proposals[3:]] == [
        Outcome.FUND,
        Outcome.FUND,
        Outcome.RESERVE,
    ]


def test_the_recorded_draw_is_re_run_by_the_command(ctx, tmp_path):
    world = zone_world()
    record = line_operations.record_lottery(
        world.stage(), world.ranking(), actor=world.user(world.officer), now=utcnow()
    )
    exported = line_queries.export_record(record)
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(exported))
    runner = ctx.test_cli_runner()

    result = runner.invoke(selection_cli, ["verify-draw", str(path)])

    assert result.exit_code == 0, result.output
    winners = ", ".join(record.record["drawn"])
    assert f"Recorded winners: {winners}" in result.output
    assert f"Winners when re-run: {winners}" in result.output
    assert "They match" in result.output
    assert "Every field of the file is the recorded draw's." in result.output

    checked = runner.invoke(selection_cli, ["verify-draw", str(path), "--seed", SEED])
    assert checked.exit_code == 0, checked.output

    wrong_seed = runner.invoke(selection_cli, ["verify-draw", str(path), "--seed", "other"])
    assert wrong_seed.exit_code == 1

    [loser] = set(exported["candidates"]) - set(exported["drawn"])
    tampered = {**exported, "drawn": [exported["drawn"][0], loser]}
    path.write_text(json.dumps(tampered))
    result = runner.invoke(selection_cli, ["verify-draw", str(path)])
    assert result.exit_code == 1
    assert "do NOT match" in result.output
    assert f"Winners when re-run: {winners}" in result.output


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stage_id", 999),
        ("ranking_id", 999),
        ("drawn_at", "2020-01-01T00:00:00+00:00"),
        ("proposal_ids", {}),
        ("draw_id", 999),
        ("comment", "added"),
    ],
)
def test_the_command_refuses_a_record_whose_other_fields_were_altered(ctx, tmp_path, field, value):
    world = zone_world()
    record = line_operations.record_lottery(
        world.stage(), world.ranking(), actor=world.user(world.officer), now=utcnow()
    )
    exported = line_queries.export_record(record)
    path = tmp_path / "draw.json"
    runner = ctx.test_cli_runner()
    path.write_text(json.dumps(exported))
    assert runner.invoke(selection_cli, ["verify-draw", str(path)]).exit_code == 0

    path.write_text(json.dumps({**exported, field: value}))
    result = runner.invoke(selection_cli, ["verify-draw", str(path)])

    assert result.exit_code == 1, result.output
    assert field in result.output.splitlines()[-1]


def test_offline_the_command_re_runs_the_draw_and_names_what_it_did_not_check(ctx, tmp_path):
    world = zone_world()
    record = line_operations.record_lottery(
        world.stage(), world.ranking(), actor=world.user(world.officer), now=utcnow()
    )
    path = tmp_path / "draw.json"
    path.write_text(json.dumps(line_queries.export_record(record)))

    result = ctx.test_cli_runner().invoke(selection_cli, ["verify-draw", str(path), "--offline"])

    assert result.exit_code == 0, result.output
    assert "They match" in result.output
    assert result.output.splitlines()[-1] == (
        "Not checked (they need this instance's database): "
        "draw_id, stage_id, ranking_id, drawn_at, proposal_ids."
    )


def test_the_command_refuses_a_file_that_is_no_record(ctx, tmp_path):
    path = tmp_path / "draw.json"
    path.write_text(json.dumps({"seed": "x"}))

    result = ctx.test_cli_runner().invoke(selection_cli, ["verify-draw", str(path)])

    assert result.exit_code != 0 and "Not a lottery record" in result.output


def test_a_kept_line_shows_its_recorded_draw_after_the_session_that_drew_it_committed(ctx):
    world = zone_world()
    record = line_operations.record_lottery(
        world.stage(), world.ranking(), actor=world.user(world.officer), now=utcnow()
    )
    drawn_at, record_id = record.created_at, record.id

    line, _ = line_queries.draw_or_why(world.stage(), world.ranking())
    db.session.commit()  # expires everything still in the session
    db.session.remove()
    again, _ = line_queries.draw_or_why(world.stage(), world.ranking())

    assert again is line
    assert again.lottery is not None
    assert (again.lottery.id, again.lottery.created_at) == (record_id, drawn_at)
    assert again.lottery.record["drawn"]
