"""The officers' ranking pages of a stage: the hub (rankings, starting one and following it,
the line in brief) and one ranking (the table and the interval chart with the provisional line,
its provenance, recomputing it).

Stages of another programme's calls answer 404, like missing ones."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, g, jsonify, redirect, render_template, url_for
from markupsafe import Markup

from competition import params
from competition.access import roles_required
from competition.accounts.models import Role
from competition.accounts.queries import names_of
from competition.core import line as standing
from competition.core.ranking import InvalidRankingInput
from competition.extensions import db
from competition.forms import attempt
from competition.i18n import current_language, number, percent, say, written
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.jobs import operations as jobs
from competition.kept import fragment, kept
from competition.paging import Page
from competition.programmes.models import Stage
from competition.proposals.models import Proposal
from competition.selection.blueprint import PREFIX, bp, me, officer_stage
from competition.selection.forms import (
    METHOD_EXPLANATIONS,
    METHOD_LABELS,
    RANKING_METHODS,
    RecomputeForm,
    StartRankingForm,
)
from competition.selection.line import queries as line_queries
from competition.selection.models import (
    Ranking,
    RankingMethod,
    SnapshotState,
)
from competition.selection.ranking import operations as ranking_operations
from competition.selection.ranking import queries as ranking_queries

RANKINGS_PER_PAGE = 20
# Rows of one ranking's table per page: a call of 20,000 proposals is 200 pages, not 20 MB.
ROWS_PER_PAGE = 100
STATE_LABELS = {
    SnapshotState.QUEUED: _l("Waiting"),
    SnapshotState.RUNNING: _l("Computing"),
    SnapshotState.DONE: _l("Done"),
    SnapshotState.FAILED: _l("Failed"),
}
# A ranking still marked queued or running whose worker has not been heard of for longer than
# the timeout (killed, or the process that would have run it stopped).
INTERRUPTED = _l("Interrupted")


def _state_label(ranking: Ranking) -> str:
    return str(INTERRUPTED if jobs.is_dead(ranking.job) else STATE_LABELS[ranking.state])


def _ranking_of(stage: Stage, ranking_id: int) -> Ranking:
    ranking = db.session.get(Ranking, ranking_id)
    if ranking is None or ranking.stage_id != stage.id:
        abort(404)
    return ranking


# --- the hub --------------------------------------------------------------------------------


def _overview(stage: Stage, *, form: StartRankingForm | None = None, status: int = 200):  # type: ignore[no-untyped-def]
    page = params.page()
    listing = db.paginate(
        sa.select(Ranking).where(Ranking.stage_id == stage.id).order_by(Ranking.id.desc()),
        page=page,
        per_page=RANKINGS_PER_PAGE,
        error_out=False,
    )
    newest = db.session.scalar(
        sa.select(Ranking).where(Ranking.stage_id == stage.id).order_by(Ranking.id.desc()).limit(1)
    )
    # A ranking whose worker stopped blocks nothing: the page says so and offers to start again.
    active = newest if newest is not None and jobs.is_live(newest.job) else None
    interrupted = newest if newest is not None and jobs.is_dead(newest.job) else None
    done = ranking_queries.latest_done(stage)
    line, problem = line_queries.draw_or_why(stage, done)
    return render_template(
        "selection/overview.html",
        call=stage.call,
        stage=stage,
        dead_after_seconds=int(jobs.timeout().total_seconds()),
        form=form or StartRankingForm(formdata=None),
        methods=RANKING_METHODS,
        method_labels=METHOD_LABELS,
        state_label=_state_label,
        listing=listing,
        names=names_of([r.created_by_id for r in [*listing.items, *([newest] if newest else [])]]),
        counts=ranking_queries.proposal_counts([r.id for r in listing.items]),
        newest=newest,
        active=active,
        interrupted=interrupted,
        done=done,
        line=line,
        line_problem=problem,
    ), status


@bp.route(PREFIX, endpoint="overview")
@roles_required(Role.OFFICER)
def overview(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    return _overview(stage)


@bp.route(f"{PREFIX}/rankings", methods=["POST"], endpoint="start_ranking")
@roles_required(Role.OFFICER)
def start_ranking(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    form = StartRankingForm()
    started = attempt(
        form,
        lambda: ranking_operations.start_ranking(
            stage, actor=me(), method=RankingMethod(form.method.data), now=g.now
        ),
    )
    if not started.done:
        return _overview(stage, form=form, status=started.status)
    flash(_("The ranking has started. This page shows its progress."), "success")
    return redirect(url_for("selection.overview", call_id=call_id, stage_id=stage_id))


@bp.route(f"{PREFIX}/rankings/<int:ranking_id>.json", endpoint="ranking_status")
@roles_required(Role.OFFICER)
def ranking_status(call_id: int, stage_id: int, ranking_id: int):  # type: ignore[no-untyped-def]
    """Polled by the hub while a ranking is under way."""
    _call, stage = officer_stage(call_id, stage_id)
    ranking = _ranking_of(stage, ranking_id)
    dead = jobs.is_dead(ranking.job)
    return jsonify(
        state=ranking.state.value,
        label=_state_label(ranking),
        message=say(jobs.DEAD if dead else ranking.message),
        finished=not jobs.is_live(ranking.job),
    )


# --- one ranking ----------------------------------------------------------------------------


@dataclass(frozen=True)
class CriterionCell:
    name: str
    mean: float
    spread: float | None
    consensus: bool


@dataclass(frozen=True)
class RankingRow:
    proposal_id: int
    reference: str
    acronym: str
    title: str
    rank: int
    expected_rank: float
    rank_interval: tuple[int, int]
    score: float
    score_interval: tuple[float, float]
    weighted_total: float
    n_reviews: int
    criteria: tuple[CriterionCell, ...]
    flags: tuple[str, ...]
    below_thresholds: tuple[str, ...]
    tie_broken_by: str | None
    group: str | None  # where the line puts it


def _flag_words(flag: str, row: dict[str, Any], min_reviews: int, names: dict[int, str]) -> str:
    if flag == "few reviews":
        return _(
            "Few reviews: %(count)s, fewer than %(minimum)s",
            count=row["n_reviews"],
            minimum=min_reviews,
        )
    if flag == "disagreement":
        return _("The jurors disagree: their totals are far apart")
    if flag.startswith("outlier juror "):
        juror = flag.removeprefix("outlier juror ")
        who = names.get(int(juror)) if juror.isdigit() else None
        if not who:
            return _("A juror scored far from the other jurors")
        return _("%(name)s scored far from the other jurors", name=who)
    return flag


def _criterion_name(names: dict[int, str], key: int) -> str:
    """The criterion's name; a criterion deleted since the ranking by its id."""
    return names[key] if key in names else _("Criterion %(id)s", id=key)


def _table(
    stage: Stage, ranking: Ranking, line: line_queries.Line | None, proposals: list[dict[str, Any]]
) -> tuple[list[str], list[RankingRow]]:
    """The rows of ``proposals`` (one page of the ranking's result, in rank order)."""
    result = ranking_queries.result_of(ranking)
    criterion_names = {c.id: c.name for c in stage.criteria}
    columns = [k for k, _ in proposals[0]["criterion_means"]] if proposals else []
    headers = [_criterion_name(criterion_names, k) for k in columns]
    ids = [p["proposal_id"] for p in proposals]
    found = {
        p.id: p
        for p in db.session.execute(
            sa.select(Proposal.id, Proposal.reference, Proposal.acronym, Proposal.title).where(
                Proposal.id.in_(ids)
            )
        )
    }
    jurors = names_of([j for p in proposals for j in p.get("outlier_jurors", [])])
    min_reviews = int(result.get("options", {}).get("min_reviews", 0))
    row_of = line.row_of if line else {}
    rows = []
    for p in proposals:
        known = found.get(p["proposal_id"])
        spreads = dict((k, v) for k, v in p["criterion_spreads"])
        overridden = set(p.get("overridden", []))
        rows.append(
            RankingRow(
                proposal_id=p["proposal_id"],
                reference=known.reference if known else _("Proposal %(id)s", id=p["proposal_id"]),
                acronym=known.acronym if known else "",
                title=known.title if known else "",
                rank=p["rank"],
                expected_rank=p["expected_rank"],
                rank_interval=tuple(p["rank_interval"]),  # type: ignore[arg-type]
                score=p["score"],
                score_interval=tuple(p["score_interval"]),  # type: ignore[arg-type]
                weighted_total=p["weighted_total"],
                n_reviews=p["n_reviews"],
                criteria=tuple(
                    CriterionCell(
                        name=_criterion_name(criterion_names, k),
                        mean=mean,
                        spread=spreads.get(k),
                        consensus=k in overridden,
                    )
                    for k, mean in p["criterion_means"]
                ),
                flags=tuple(_flag_words(f, p, min_reviews, jurors) for f in p.get("flags", [])),
                below_thresholds=tuple(p.get("below_thresholds", [])),
                tie_broken_by=p.get("tie_broken_by"),
                group=row_of[p["proposal_id"]].group if p["proposal_id"] in row_of else None,
            )
        )
    return headers, rows


@dataclass(frozen=True)
class Mark:
    x: float
    y: float
    y_low: float
    y_high: float
    selected: bool
    label: str


@dataclass(frozen=True)
class Chart:
    """An SVG of score intervals in rank order, laid out here so the template only prints."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    marks: list[Mark]
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    line_x: float | None
    line_after: int | None
    zone: tuple[float, float] | None  # x and width of the grey zone's band
    description: str

    # Where the labels go.
    @property
    def y_label_x(self) -> float:
        return self.left - 6

    @property
    def x_label_y(self) -> float:
        return self.bottom + 14

    @property
    def axis_title(self) -> tuple[float, float]:
        return round((self.left + self.right) / 2, 2), self.bottom + 30

    @property
    def line_top(self) -> float:
        return self.top - 8

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top


_PLOT_HEIGHT = 240.0


def _value_step(span: float) -> float:
    """A round step giving at most six gridlines over ``span``."""
    for step in (0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0, 25.0, 50.0):
        if span / step <= 6:
            return step
    return 10 ** math.ceil(math.log10(span))


def _value_axis(low: float, high: float) -> tuple[float, float, float]:
    """The score axis: ``low`` and ``high`` widened to whole steps, and the step."""
    tick = _value_step(high - low)
    low, high = math.floor(low / tick) * tick, math.ceil(high / tick) * tick
    return low, max(high, low + tick), tick


def _tick_step(count: int, most: int = 15) -> int:
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500):
        if count / step <= most:
            return step
    return max(1, count // most)


def _chart(rows: list[RankingRow], interval: float, funding: bool, line_after: int | None,
           zone_ranks: Sequence[int]) -> Chart | None:  # fmt: skip
    """The detailed chart of ``rows`` (one page, consecutive ranks); the line and the grey
    zone where they fall within it."""
    if not rows:
        return None
    n = len(rows)
    offset = rows[0].rank - 1
    if line_after is not None and not offset <= line_after <= offset + n:
        line_after = None
    zone_ranks = [r for r in zone_ranks if offset < r <= offset + n]
    step = min(36.0, max(5.0, 720.0 / n))
    left, top = 52.0, 16.0
    right = left + n * step
    bottom = top + _PLOT_HEIGHT
    low, high, tick = _value_axis(
        min(r.score_interval[0] for r in rows), max(r.score_interval[1] for r in rows)
    )

    def x(rank: float) -> float:
        return round(left + (rank - offset - 0.5) * step, 2)

    def y(value: float) -> float:
        return round(top + (high - value) / (high - low) * _PLOT_HEIGHT, 2)

    noun = _("funded") if funding else _("advancing")
    language = current_language()

    def score(value: float) -> str:
        return written(value, language, digits=2, fixed=True)

    marks = [
        Mark(
            x=x(r.rank),
            y=y(r.score),
            y_low=y(r.score_interval[0]),
            y_high=y(r.score_interval[1]),
            selected=r.group == standing.SELECTED,
            label=(
                _(
                    "%(reference)s %(acronym)s: rank %(rank)s, score %(score)s (%(low)s–%(high)s)",
                    reference=r.reference,
                    acronym=r.acronym,
                    rank=r.rank,
                    score=score(r.score),
                    low=score(r.score_interval[0]),
                    high=score(r.score_interval[1]),
                )
                + (f", {noun}" if r.group == standing.SELECTED else "")
            ),
        )
        for r in rows
    ]
    values = [low + i * tick for i in range(round((high - low) / tick) + 1)]
    y_ticks = [(y(v), number(v, 2)) for v in values]
    every = _tick_step(n)
    shown = [offset + 1, *range(offset + every, offset + n + 1, every)]
    x_ticks = list(dict.fromkeys((x(rank), str(rank)) for rank in shown if rank <= offset + n))
    line_x = round(left + (line_after - offset) * step, 2) if line_after is not None else None
    zone = None
    if zone_ranks:
        zone = (
            round(left + (min(zone_ranks) - offset - 1) * step, 2),
            round((max(zone_ranks) - min(zone_ranks) + 1) * step, 2),
        )
    share = percent(interval * 100, 1)
    sentences = [
        _("%(count)s proposals in rank order, best on the left.", count=n)
        if offset == 0
        else _(
            "Ranks %(first)s–%(last)s in rank order, best on the left.",
            first=offset + 1,
            last=offset + n,
        ),
        _(
            "Each dot is a proposal's score and each bar its %(share)s interval; filled dots "
            "are funded.",
            share=share,
        )
        if funding
        else _(
            "Each dot is a proposal's score and each bar its %(share)s interval; filled dots "
            "are advancing.",
            share=share,
        ),
    ]
    if line_after is not None:
        sentences.append(_provisional_line(line_after))
        if any(mark.selected and r.rank > line_after for mark, r in zip(marks, rows, strict=True)):
            sentences.append(
                _("Filled dots below it are funded to meet a constraint.")
                if funding
                else _("Filled dots below it are advancing to meet a constraint.")
            )
    if zone is not None:
        sentences.append(
            _(
                "The shaded band marks the grey zone (ranks %(first)s–%(last)s).",
                first=min(zone_ranks),
                last=max(zone_ranks),
            )
        )
    description = " ".join(sentences)
    return Chart(
        width=round(right + 16, 2),
        height=bottom + 36,
        left=left,
        right=round(right, 2),
        top=top,
        bottom=bottom,
        marks=marks,
        y_ticks=y_ticks,
        x_ticks=x_ticks,
        line_x=line_x,
        line_after=line_after,
        zone=zone,
        description=description,
    )


def _provisional_line(line_after: int) -> str:
    return _("The dashed line after rank %(rank)s is the provisional line.", rank=line_after)


@dataclass(frozen=True)
class Summary:
    """All proposals at a glance when the table is paged: the scores by rank as a line, their
    intervals as a band, the provisional line, the grey zone and the page on show."""

    width: float
    height: float
    left: float
    right: float
    top: float
    bottom: float
    scores: str  # polyline points
    band: str  # polygon points
    y_ticks: list[tuple[float, str]]
    x_ticks: list[tuple[float, str]]
    line_x: float | None
    zone: tuple[float, float] | None
    page: tuple[float, float]
    description: str

    @property
    def plot_height(self) -> float:
        return self.bottom - self.top


SUMMARY_COLUMNS = 240
# Rankings whose rank order and summary columns are kept per process.
RANKED_KEPT = 4


@dataclass(frozen=True)
class Ranked:
    """A ranking's proposals in rank order and the columns of its summary chart: the same for
    every page of a finished ranking, so made once per process (shared: never changed)."""

    proposals: list[dict[str, Any]]
    ranks: dict[int, int]
    per: int
    means: list[float]
    upper: list[float]
    lower: list[float]


def _ranked(ranking: Ranking, result: dict[str, Any]) -> Ranked:
    def make() -> Ranked:
        proposals = sorted(result.get("proposals", []), key=lambda p: p["rank"])
        per = max(1, math.ceil(len(proposals) / SUMMARY_COLUMNS))
        groups = [proposals[i : i + per] for i in range(0, len(proposals), per)]
        return Ranked(
            proposals=proposals,
            ranks={p["proposal_id"]: p["rank"] for p in proposals},
            per=per,
            means=[sum(p["score"] for p in g) / len(g) for g in groups],
            upper=[max(p["score_interval"][1] for p in g) for g in groups],
            lower=[min(p["score_interval"][0] for p in g) for g in groups],
        )

    if ranking.state != SnapshotState.DONE or not ranking.inputs_hash:
        return make()
    return kept("ranked", _ranked_key(ranking), make, size=RANKED_KEPT)


def _ranked_key(ranking: Ranking) -> tuple[Any, ...]:
    """What identifies a finished ranking's result."""
    return (ranking.id, ranking.inputs_hash, ranking.code_version, ranking.created_at)


# Rendered pages of rankings kept per process (about 120 KB each at 100 rows).
PARTS_KEPT = 8


@dataclass(frozen=True)
class Parts:
    """The costly parts of a ranking's page, rendered: the table's rows and the two charts. A
    hundred rows write about a thousand numbers; officers open the same page again and again."""

    rows: Markup
    chart: Markup | None
    summary: Markup | None


def _summary(
    ranked: Ranked,
    interval: float,
    line_after: int | None,
    zone_ranks: Sequence[int],
    page: tuple[int, int],
) -> Summary:
    """One column per group of neighbouring ranks (at most ``SUMMARY_COLUMNS``): the mean
    score of the group and the widest interval in it."""
    n, per = len(ranked.proposals), ranked.per
    means, upper, lower = ranked.means, ranked.upper, ranked.lower
    step = 3.0
    left, top = 52.0, 16.0
    right = left + len(means) * step
    bottom = top + 160.0
    low, high, tick = _value_axis(min(lower), max(upper))

    def x_rank(rank: float) -> float:
        return round(left + (rank - 1) / per * step, 2)

    def y(value: float) -> float:
        return round(top + (high - value) / (high - low) * (bottom - top), 2)

    centres = [round(left + (i + 0.5) * step, 2) for i in range(len(means))]
    band = [f"{cx},{y(v)}" for cx, v in zip(centres, upper, strict=True)]
    band += [f"{cx},{y(v)}" for cx, v in reversed(list(zip(centres, lower, strict=True)))]
    values = [low + i * tick for i in range(round((high - low) / tick) + 1)]
    every = _tick_step(n, most=10)
    ranks = [1, *range(every, n + 1, every)]
    share = percent(interval * 100, 1)
    sentences = [
        _(
            "All %(count)s proposals in rank order, best on the left: the line is their score, "
            "the band their %(share)s intervals, %(per)s neighbouring ranks to a column.",
            count=n,
            share=share,
            per=per,
        ),
        _(
            "The table below shows ranks %(first)s–%(last)s, marked in the chart.",
            first=page[0],
            last=page[1],
        ),
    ]
    if line_after is not None:
        sentences.append(_provisional_line(line_after))
    description = " ".join(sentences)
    return Summary(
        width=round(right + 16, 2),
        height=bottom + 36,
        left=left,
        right=round(right, 2),
        top=top,
        bottom=bottom,
        scores=" ".join(f"{cx},{y(v)}" for cx, v in zip(centres, means, strict=True)),
        band=" ".join(band),
        y_ticks=[(y(v), number(v, 2)) for v in values],
        x_ticks=list(dict.fromkeys((x_rank(r + 0.5), str(r)) for r in ranks)),
        line_x=x_rank(line_after + 1) if line_after is not None else None,
        zone=_span(x_rank, min(zone_ranks), max(zone_ranks), per, step) if zone_ranks else None,
        page=_span(x_rank, page[0], page[1], per, step),
        description=description,
    )


def _span(
    x_rank: Callable[[float], float], first: int, last: int, per: float, step: float
) -> tuple[float, float]:
    """Where ranks ``first``–``last`` start in the summary chart, and how wide they are."""
    return x_rank(first), round((last - first + 1) / per * step, 2)


def _line_after(line: line_queries.Line | None) -> int | None:
    return line.line_rank if line is not None and line.line_rank else None


@bp.route(f"{PREFIX}/rankings/<int:ranking_id>", endpoint="show_ranking")
@roles_required(Role.OFFICER)
def show_ranking(call_id: int, stage_id: int, ranking_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    ranking = _ranking_of(stage, ranking_id)
    line, problem = (None, "")
    if ranking.state == SnapshotState.DONE:
        line, problem = line_queries.draw_or_why(stage, ranking)
    result = ranking_queries.result_of(ranking)
    ranked = _ranked(ranking, result)
    proposals = ranked.proposals
    line_after = _line_after(line)
    # The page with the line on it unless another is asked for: that is where decisions fall.
    around_line = (line_after - 1) // ROWS_PER_PAGE + 1 if line_after else 1
    number = params.number("page") or around_line
    number = min(number, max(1, math.ceil(len(proposals) / ROWS_PER_PAGE)))
    start = (number - 1) * ROWS_PER_PAGE
    shown = proposals[start : start + ROWS_PER_PAGE]
    table = Page(shown, number, ROWS_PER_PAGE, len(proposals))
    headers, rows = _table(stage, ranking, line, shown)
    interval = float(result.get("options", {}).get("interval", 0.9))
    ranks = ranked.ranks
    zone_ranks = [ranks[pid] for pid in line.grey_zone if pid in ranks] if line else []
    funding = line.funding if line else False
    interval_shown = percent(interval * 100, 0)

    def make() -> Parts:
        chart = _chart(rows, interval, funding, line_after, zone_ranks)
        summary = None
        if len(proposals) > ROWS_PER_PAGE and rows:
            page = (rows[0].rank, rows[-1].rank)
            summary = _summary(ranked, interval, line_after, zone_ranks, page)
        return Parts(
            rows=fragment(
                "selection/_ranking_rows.html",
                rows=rows,
                line_shown=line is not None,
                funding=funding,
            ),
            chart=fragment("selection/_chart.html", chart=chart, interval=interval_shown)
            if chart
            else None,
            summary=fragment(
                "selection/_summary_chart.html", summary=summary, interval=interval_shown
            )
            if summary
            else None,
        )

    if ranking.state == SnapshotState.DONE and ranking.inputs_hash:
        # Everything the parts show is in the key: the page's rows as read now (names, groups on
        # the line), the line and grey zone, the language; the rest (the interval, the rank
        # order) is the finished ranking's.
        key = (
            _ranked_key(ranking),
            current_language(),
            tuple(rows),
            line is not None,
            funding,
            line_after,
            tuple(zone_ranks),
        )
        parts = kept("ranking_parts", key, make, size=PARTS_KEPT)
    else:
        parts = make()
    return render_template(
        "selection/ranking.html",
        call=stage.call,
        stage=stage,
        ranking=ranking,
        method_label=METHOD_LABELS.get(ranking.method.value, ranking.method.value),
        method_explained=METHOD_EXPLANATIONS.get(ranking.method.value, ""),
        state_label=_state_label(ranking),
        created_by=names_of([ranking.created_by_id]).get(ranking.created_by_id, ""),
        headers=headers,
        rows=rows,
        table=table,
        parts=parts,
        interval=interval_shown,
        parameters=result.get("parameters", {}),
        line=line,
        line_problem=problem,
        newest_done=ranking_queries.latest_done(stage),
        form=RecomputeForm(formdata=None),
    )


def _recompute_message(ranking: Ranking) -> tuple[str, str]:
    """What recomputing the ranking found, and the flash category to say it with."""
    if ranking.state != SnapshotState.DONE:
        return _("Only a finished ranking can be recomputed."), "error"
    try:
        same = ranking_operations.recompute(ranking)
    except InvalidRankingInput as error:
        # The criteria or consensus scores have changed so that today's inputs cannot be ranked.
        return (
            _(
                "Today's reviews and consensus scores cannot be ranked: %(problem)s",
                problem=str(error),
            ),
            "error",
        )
    if same:
        return (
            _(
                "Recomputed from today's reviews and consensus scores: the same inputs and the "
                "same numbers, to the last digit."
            ),
            "success",
        )
    return (
        _(
            "Recomputed from today's reviews and consensus scores: the result differs. The "
            "reviews, consensus scores or criteria have changed since this ranking, or the "
            "code that computes it has."
        ),
        "error",
    )


@bp.route(
    f"{PREFIX}/rankings/<int:ranking_id>/recompute", methods=["POST"], endpoint="recompute_ranking"
)
@roles_required(Role.OFFICER)
def recompute_ranking(call_id: int, stage_id: int, ranking_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    ranking = _ranking_of(stage, ranking_id)
    if not RecomputeForm().validate_on_submit():
        abort(400)
    flash(*_recompute_message(ranking))
    db.session.rollback()
    return redirect(
        url_for("selection.show_ranking", call_id=call_id, stage_id=stage_id, ranking_id=ranking_id)
    )
