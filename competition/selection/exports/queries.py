"""Exports of a stage's selection for spreadsheets: the latest finished ranking, the reviews that
count, and the decisions. Each is built as one :class:`Table` of typed cells and written as CSV
(UTF-8 with a byte-order mark, so Excel reads the accents) or as XLSX (numbers as numbers, times
as times, frozen header; a ranking also gets an "About" sheet saying how it was computed).

Text that a spreadsheet would run as a formula (starting with =, +, -, @, tab or carriage
return) is neutralised: quoted in CSV, stored as plain text in XLSX. Times are shown in
Europe/Berlin, as everywhere a person reads them, and the column header says so.
"""

from __future__ import annotations

import csv
import datetime as dt
import enum
import io
import math
import re
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlalchemy as sa
import xlsxwriter
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from sqlalchemy.orm import aliased

from competition.accounts.models import User
from competition.accounts.queries import names_of
from competition.assignment.models import Assignment
from competition.berlin import BERLIN
from competition.core.ranking import note_text
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.i18n import say
from competition.programmes.models import Call, Stage
from competition.proposals.models import Proposal
from competition.reviews.models import Review, ReviewScore
from competition.selection.models import Decision, Ranking, RankingMethod
from competition.selection.ranking import queries as ranking_queries

Cell = str | int | float | Decimal | bool | dt.datetime | None

WHATS = ("rankings", "reviews", "decisions")
FORMATS = ("csv", "xlsx")
CSV_MIMETYPE = "text/csv; charset=utf-8"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# What spreadsheets read as the start of a formula (OWASP "CSV injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TIME_ZONE_NOTE = "(Europe/Berlin)"

METHOD_LABELS = {
    RankingMethod.RAW: _l("Raw means"),
    RankingMethod.ZSCORE: _l("Each juror's scores on a common scale"),
    RankingMethod.BIAS_MODEL: _l("Bias model (quality + juror bias + noise)"),
}


class Kind(enum.Enum):
    """How a column is shown in XLSX: its number format and width."""

    TEXT = "text"
    LONG_TEXT = "long_text"  # comments, rationales: wrapped in a wide column
    INTEGER = "integer"
    NUMBER = "number"  # computed values with many decimals
    SCORE = "score"  # scores as the jurors gave them
    TIME = "time"
    YES_NO = "yes_no"
    AMOUNT = "amount"  # money in euro, with its cents


NUMBER_FORMATS = {
    Kind.INTEGER: "0",
    Kind.NUMBER: "0.000",
    Kind.SCORE: "General",
    Kind.TIME: "yyyy-mm-dd hh:mm",
    Kind.AMOUNT: "#,##0.00",
}
# Widths in characters: text columns fit their longest value within these bounds; long text
# wraps at a width that still shows a SHA-256 hash on one line.
MIN_WIDTH, MAX_WIDTH, LONG_TEXT_WIDTH = 8, 50, 66
FIXED_WIDTHS = {Kind.TIME: 17, Kind.YES_NO: 9}


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = Kind.TEXT


@dataclass(frozen=True)
class Table:
    """One export: a sheet of typed cells, and for a ranking what produced it. Every text a
    person reads is plain ``str`` in the language of the request that built the table: the
    writers run while the file streams, after the request."""

    name: str
    columns: tuple[Column, ...]
    rows: list[tuple[Cell, ...]]
    about: tuple[tuple[str, Cell], ...] = field(default=())
    # The "About" sheet's name and its two column headers.
    about_names: tuple[str, str, str] = ("About", "Item", "Value")


# --- cells -----------------------------------------------------------------------------------


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def neutralise(text: str) -> str:
    """Text a spreadsheet would run as a formula, quoted so it shows as typed."""
    return "'" + text if is_formula_like(text) else text


def berlin_wall_time(value: dt.datetime) -> dt.datetime:
    """Spreadsheets have no time zones: the Berlin wall-clock time, without zone."""
    if value.tzinfo is None:  # stored naive only by SQLite; the app's times are UTC
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(BERLIN).replace(tzinfo=None)


def csv_text(value: Cell) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dt.datetime):
        return berlin_wall_time(value).strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, int | float):
        return repr(value)
    return neutralise(value)


# --- writers ---------------------------------------------------------------------------------


CHUNK = 64 * 1024


def csv_chunks(table: Table) -> Iterator[bytes]:
    """A plain table, streamed: a header row, then one row per line; no comment rows to trip
    parsers. UTF-8 with a byte order mark, so spreadsheet programs read the umlauts."""
    return rows_csv_chunks(table.columns, table.rows)


def rows_csv_chunks(columns: Sequence[Column], rows: Iterable[Sequence[Cell]]) -> Iterator[bytes]:
    """The same for rows made while the file streams."""
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    out.write("\ufeff")
    writer.writerow([neutralise(c.header) for c in columns])
    for row in rows:
        writer.writerow([csv_text(v) for v in row])
        if out.tell() >= CHUNK:
            yield out.getvalue().encode("utf-8")
            out.seek(0)
            out.truncate()
    yield out.getvalue().encode("utf-8")


def to_csv(table: Table) -> bytes:
    return b"".join(csv_chunks(table))


def xlsx_chunks(table: Table) -> Iterator[bytes]:
    """The workbook, written row by row into a temporary file (XlsxWriter's constant-memory
    mode: memory stays flat at 20,000 rankings or 80,000 reviews), then streamed."""
    with tempfile.TemporaryFile() as file:
        workbook = xlsxwriter.Workbook(file, {"constant_memory": True})
        styles = _Styles(workbook)
        _fill(workbook.add_worksheet(table.name), styles, table.columns, table.rows)
        if table.about:
            sheet_name, item_header, value_header = table.about_names
            _fill(
                workbook.add_worksheet(sheet_name),
                styles,
                (Column(item_header), Column(value_header, Kind.LONG_TEXT)),
                [(name, value) for name, value in table.about],
            )
        workbook.close()
        file.seek(0)
        while chunk := file.read(CHUNK):
            yield chunk


def to_xlsx(table: Table) -> bytes:
    return b"".join(xlsx_chunks(table))


class _Styles:
    """The workbook's cell formats, each made once: a cell's number format, whether it wraps
    (long text), whether it is bold (the header) and whether it starts with a quote prefix
    (text a spreadsheet would otherwise run as a formula)."""

    def __init__(self, workbook: Any) -> None:
        self.workbook = workbook
        self.made: dict[tuple[str, bool, bool, bool], Any] = {}

    def get(
        self,
        number_format: str = "",
        *,
        wrap: bool = False,
        bold: bool = False,
        quote: bool = False,
    ) -> Any:
        key = (number_format, wrap, bold, quote)
        if key not in self.made:
            properties: dict[str, Any] = {}
            if number_format:
                properties["num_format"] = number_format
            if wrap:
                properties.update(text_wrap=True, valign="top")
            if bold:
                properties["bold"] = True
            if quote:
                properties["quote_prefix"] = True
            self.made[key] = self.workbook.add_format(properties) if properties else None
        return self.made[key]


def _fill(
    sheet: Any, styles: _Styles, columns: Sequence[Column], rows: Sequence[Sequence[Cell]]
) -> None:
    """A sheet written in row order: the widths come from a first pass, since a written row is
    gone."""
    widths = [len(c.header) for c in columns]
    for row in rows:
        for j, value in enumerate(row):
            if isinstance(value, str):
                widths[j] = max(widths[j], _longest_line(value))
            elif value is not None and not isinstance(value, bool | dt.datetime):
                widths[j] = max(widths[j], len(csv_text(value)))
    for j, column in enumerate(columns):
        if column.kind is Kind.LONG_TEXT:
            width = LONG_TEXT_WIDTH
        elif column.kind in FIXED_WIDTHS:
            width = max(FIXED_WIDTHS[column.kind], len(column.header) + 2)
        else:
            width = min(max(widths[j] + 2, MIN_WIDTH), MAX_WIDTH)
        sheet.set_column(j, j, width)
    sheet.freeze_panes(1, 0)
    for j, column in enumerate(columns):
        header = _xlsx_text(column.header)
        sheet.write_string(0, j, header, styles.get(bold=True, quote=is_formula_like(header)))
    # Each column's formats, looked up once rather than for every cell.
    wrapped = [column.kind is Kind.LONG_TEXT for column in columns]
    text = [styles.get(wrap=w) for w in wrapped]
    quoted = [styles.get(wrap=w, quote=True) for w in wrapped]
    numbers = [
        # "General" where a column mixes kinds (About: counts, seeds, estimates).
        styles.get(NUMBER_FORMATS.get(column.kind, "General"), wrap=w)
        for column, w in zip(columns, wrapped, strict=True)
    ]
    times = [styles.get(NUMBER_FORMATS[Kind.TIME], wrap=w) for w in wrapped]
    for i, row in enumerate(rows, 1):
        for j, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, str):
                value = _xlsx_text(value)
                # Written as text, never as a formula; the prefix keeps it so when edited.
                sheet.write_string(i, j, value, quoted[j] if is_formula_like(value) else text[j])
            elif isinstance(value, bool):
                sheet.write_boolean(i, j, value, text[j])
            elif isinstance(value, dt.datetime):
                sheet.write_datetime(i, j, berlin_wall_time(value), times[j])
            elif math.isfinite(value):
                sheet.write_number(i, j, value, numbers[j])
            # A number that is not one (NaN, infinite) has no cell in XLSX: left empty.
    if rows:
        sheet.autofilter(0, 0, len(rows), len(columns) - 1)


def _xlsx_text(text: str) -> str:
    # XLSX cannot hold most control characters; openpyxl refuses them.
    return ILLEGAL_CHARACTERS_RE.sub("", text)


def _longest_line(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def export_filename(call: Call, stage: Stage, what: str, fmt: str, today: dt.date) -> str:
    """E.g. ``C4F-stage1-rankings-2025-03-01.xlsx``: ASCII only, so every browser keeps it."""
    prefix = re.sub(r"[^A-Za-z0-9_]+", "-", call.reference_prefix).strip("-") or "call"
    return f"{prefix}-stage{stage.position}-{what}-{today.isoformat()}.{fmt}"


# --- rankings --------------------------------------------------------------------------------


def rankings_table(stage: Stage, ranking: Ranking) -> Table:
    """One row per ranked proposal, best first, from the snapshot's stored JSON."""
    result: dict[str, Any] = ranking_queries.result_of(ranking)
    ranked: list[dict[str, Any]] = result.get("proposals", [])
    names = _criterion_names(stage)
    criterion_ids = (
        [k for k, _ in ranked[0]["criterion_means"]] if ranked else [c.id for c in stage.criteria]
    )
    headers = _unique([names[k] if k in names else _criterion(k) for k in criterion_ids])
    proposals = _proposals({p["proposal_id"] for p in ranked})
    jurors = names_of({j for p in ranked for j in p["outlier_jurors"]})
    columns = [
        Column(_("Rank"), Kind.INTEGER),
        Column(_("Expected rank"), Kind.NUMBER),
        Column(_("Rank interval from"), Kind.INTEGER),
        Column(_("Rank interval to"), Kind.INTEGER),
        Column(_("Reference")),
        Column(_("Acronym")),
        Column(_("Title")),
        Column(_("Reviews"), Kind.INTEGER),
        Column(_("Score"), Kind.NUMBER),
        Column(_("Score interval from"), Kind.NUMBER),
        Column(_("Score interval to"), Kind.NUMBER),
        Column(_("Weighted total"), Kind.NUMBER),
    ]
    for header in headers:
        columns += [
            Column(_("%(criterion)s mean", criterion=header), Kind.NUMBER),
            Column(_("%(criterion)s spread", criterion=header), Kind.NUMBER),
        ]
    columns += [
        Column(_("Fundable"), Kind.YES_NO),
        Column(_("Below thresholds")),
        Column(_("Flags")),
        Column(_("Outlier jurors")),
        Column(_("Tie broken by")),
        Column(_("Consensus overrides")),
    ]
    rows: list[tuple[Cell, ...]] = []
    for p in ranked:
        proposal = proposals.get(p["proposal_id"])
        means = dict((k, v) for k, v in p["criterion_means"])
        spreads = dict((k, v) for k, v in p["criterion_spreads"])
        per_criterion: list[Cell] = []
        for k in criterion_ids:
            per_criterion += [means.get(k), spreads.get(k)]
        rows.append(
            (
                p["rank"],
                p["expected_rank"],
                *p["rank_interval"],
                proposal.reference if proposal else None,
                proposal.acronym if proposal else None,
                proposal.title if proposal else None,
                p["n_reviews"],
                p["score"],
                *p["score_interval"],
                p["weighted_total"],
                *per_criterion,
                p["fundable"],
                "; ".join(say(note_text(b)) for b in p["below_thresholds"]),
                "; ".join(say(note_text(f)) for f in p["flags"]),
                "; ".join(
                    jurors[j] if j in jurors else _("juror %(id)s", id=j)
                    for j in p["outlier_jurors"]
                ),
                say(note_text(p["tie_broken_by"])) if p["tie_broken_by"] else None,
                "; ".join(names[k] if k in names else _criterion(k) for k in p["overridden"]),
            )
        )
    return Table(
        _("Rankings"),
        tuple(columns),
        rows,
        _about(stage, ranking, names),
        (_("About"), _("Item"), _("Value")),
    )


def _about(stage: Stage, ranking: Ranking, names: dict[int, str]) -> tuple[tuple[str, Cell], ...]:
    result = ranking_queries.result_of(ranking)
    about: list[tuple[str, Cell]] = [
        (_("Call"), stage.call.name),
        (_("Stage"), stage.name),
        (_("Ranking"), ranking.id),
        (_("Method"), str(METHOD_LABELS.get(ranking.method, ranking.method.value))),
        (_("Computed at %(zone)s", zone=TIME_ZONE_NOTE), ranking.finished_at),
        (_("Inputs hash (SHA-256)"), ranking.inputs_hash),
        (_("Code version"), ranking.code_version),
        (_("Proposals ranked"), len(result.get("proposals", []))),
    ]
    for key, value in sorted(result.get("options", {}).items()):
        if key == "tie_rule":
            then = " " + _("then") + " "
            value = then.join(names[k] if k in names else _criterion(k) for k in value) or None
        about.append((_("Option: %(key)s", key=key), _plain(value)))
    for key, value in sorted(result.get("parameters", {}).items()):
        about.append((_("Estimated: %(key)s", key=key), _plain(value)))
    return tuple(about)


def _plain(value: Any) -> Cell:
    if value is None or isinstance(value, str | int | float | Decimal | bool):
        return value
    return str(value)


# --- reviews ---------------------------------------------------------------------------------


def reviews_table(stage: Stage) -> Table:
    """One row per review that counts (``ranking_queries.counted_reviews``)."""
    criteria = list(stage.criteria)
    headers = _unique([c.name for c in criteria])
    # Plain columns, not review objects: 80,000 reviews of a large call export in seconds.
    counted = (
        sa.select(Review.id)
        .join(Assignment, Review.assignment_id == Assignment.id)
        .where(*ranking_queries.counted_reviews(stage))
    )
    # Read in batches (a server-side cursor on PostgreSQL), so that no copy of all 80,000
    # reviews waits in the driver beside the rows built from them.
    batches = {"yield_per": 5000}
    scores: dict[int, dict[str, str]] = {}
    for review_id, criterion_id, score in db.session.execute(
        sa.select(ReviewScore.review_id, ReviewScore.criterion_id, ReviewScore.score)
        .where(ReviewScore.review_id.in_(counted))
        .execution_options(**batches)
    ):
        scores.setdefault(review_id, {})[str(criterion_id)] = score
    found = db.session.execute(
        sa.select(
            Review.id,
            Review.confidence,
            Review.comment_for_applicant,
            Review.comment_for_jury,
            Review.submitted_at,
            Proposal.reference,
            Proposal.acronym,
            User.name,
            User.email,
        )
        .join(Assignment, Review.assignment_id == Assignment.id)
        .join(Proposal, Proposal.id == Assignment.proposal_id)
        .join(User, User.id == Assignment.user_id)
        .where(*ranking_queries.counted_reviews(stage))
        .order_by(Proposal.reference, User.name, User.id)
        .execution_options(**batches)
    )
    columns = (
        Column(_("Reference")),
        Column(_("Acronym")),
        Column(_("Juror")),
        Column(_("Juror e-mail")),
        *(Column(header, Kind.SCORE) for header in headers),
        Column(_("Confidence"), Kind.INTEGER),
        Column(_("Comment for the applicant"), Kind.LONG_TEXT),
        Column(_("Comment for the jury"), Kind.LONG_TEXT),
        Column(_("Submitted at %(zone)s", zone=TIME_ZONE_NOTE), Kind.TIME),
    )
    rows: list[tuple[Cell, ...]] = [
        (
            r.reference,
            r.acronym,
            r.name,
            r.email,
            *(_score(scores.get(r.id, {}).get(str(c.id))) for c in criteria),
            r.confidence,
            r.comment_for_applicant,
            r.comment_for_jury,
            r.submitted_at,
        )
        for r in found
    ]
    return Table(_("Reviews"), columns, rows)


def _score(value: Any) -> Decimal | None:
    """Scores are stored as decimal strings; anything else is left empty rather than guessed."""
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


# --- decisions -------------------------------------------------------------------------------


def decisions_table(stage: Stage) -> Table:
    proposer, confirmer = aliased(User), aliased(User)
    found = db.session.execute(
        sa.select(Decision, Proposal.reference, Proposal.acronym, proposer.name, confirmer.name)
        .join(Proposal, Proposal.id == Decision.proposal_id)
        .join(proposer, proposer.id == Decision.proposed_by_id)
        .outerjoin(confirmer, confirmer.id == Decision.confirmed_by_id)
        .where(Decision.stage_id == stage.id)
        .order_by(Proposal.reference)
    ).all()
    columns = (
        Column(_("Reference")),
        Column(_("Acronym")),
        Column(_("Outcome")),
        Column(_("Rationale"), Kind.LONG_TEXT),
        Column(_("Proposed by")),
        Column(_("Proposed at %(zone)s", zone=TIME_ZONE_NOTE), Kind.TIME),
        Column(_("Confirmed by")),
        Column(_("Confirmed at %(zone)s", zone=TIME_ZONE_NOTE), Kind.TIME),
        Column(_("Published at %(zone)s", zone=TIME_ZONE_NOTE), Kind.TIME),
    )
    rows: list[tuple[Cell, ...]] = [
        (
            reference,
            acronym,
            decision.outcome.value,
            decision.rationale,
            proposed_by,
            decision.proposed_at,
            confirmed_by,
            decision.confirmed_at,
            decision.published_at,
        )
        for decision, reference, acronym, proposed_by, confirmed_by in found
    ]
    return Table(_("Decisions"), columns, rows)


# --- shared ----------------------------------------------------------------------------------


def _criterion(criterion_id: object) -> str:
    """A criterion no longer in the stage, by its id."""
    return _("criterion %(id)s", id=criterion_id)


def _criterion_names(stage: Stage) -> dict[int, str]:
    return {c.id: c.name for c in stage.criteria}


def _unique(headers: list[str]) -> list[str]:
    """Two criteria with one name still get two columns a reader can tell apart."""
    seen: dict[str, int] = {}
    out = []
    for header in headers:
        seen[header] = seen.get(header, 0) + 1
        out.append(header if seen[header] == 1 else f"{header} ({seen[header]})")
    return out


def _proposals(ids: set[int]) -> dict[int, Proposal]:
    if not ids:
        return {}
    return {p.id: p for p in db.session.scalars(sa.select(Proposal).where(Proposal.id.in_(ids)))}
