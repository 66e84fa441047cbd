"""A grant's reports, pure: which reports a grant owes and when, the sections of each kind, what
a submission must hold, its content hash and receipt code, the reminder steps, and lateness.

The calendar follows the German funding practice (NKBF/ANBest-P): a progress report for each
project year, due at the end of the third month after the year ends (a grant starting on
1 January reports on 31 March), and the final report and the statement of use
(Verwendungsnachweis) at the end of the sixth month after the grant ends. The last project year
has no progress report of its own: the final report covers it. A project year n runs from
``starts_on`` plus n - 1 years up to the day before ``starts_on`` plus n years; a grant's
``ends_on`` is read as the first day after its last one (as its phases share that day with the
next phase's start), and a month-end rule makes a last day given inclusively come out the same.

Due dates are days; a report is due until the end of that day in Europe/Berlin.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from competition.core.texts import N_, Text

BERLIN = ZoneInfo("Europe/Berlin")

ANNUAL = "annual"
FINAL = "final"
STATEMENT_OF_USE = "statement_of_use"
KINDS = (ANNUAL, FINAL, STATEMENT_OF_USE)

# States in which the consortium still owes the report (a returned report is owed again).
OPEN_STATES = frozenset({"due", "changes_requested"})

ANNUAL_MONTHS_AFTER = 3
CLOSING_MONTHS_AFTER = 6
# Project years a grant can have (the schema's limit on approved amounts).
MAX_YEARS = 9


# --- the calendar -------------------------------------------------------------------------------


def add_years(day: dt.date, years: int) -> dt.date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def month_end_after(day: dt.date, months: int) -> dt.date:
    """The last day of the month ``months`` after the month holding ``day``."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return dt.date(year, month + 1, calendar.monthrange(year, month + 1)[1])


def annual_due_on(starts_on: dt.date, year: int) -> dt.date:
    """Project year ``year``'s progress report: the end of the third month after the year."""
    last_day = add_years(starts_on, year) - dt.timedelta(days=1)
    return month_end_after(last_day, ANNUAL_MONTHS_AFTER)


def closing_due_on(ends_on: dt.date) -> dt.date:
    """The final report and the statement of use: the end of the sixth month after the grant."""
    return month_end_after(ends_on - dt.timedelta(days=1), CLOSING_MONTHS_AFTER)


def annual_years(starts_on: dt.date, ends_on: dt.date) -> list[int]:
    """The project years with a progress report: each that ends before the grant does."""
    return [year for year in range(1, MAX_YEARS + 1) if add_years(starts_on, year) < ends_on]


@dataclass(frozen=True)
class PlannedReport:
    kind: str
    # The project year of a progress report; 0 for the final report and the statement of use.
    year: int
    due_on: dt.date


def plan(starts_on: dt.date, ends_on: dt.date) -> list[PlannedReport]:
    """Every report a grant running from ``starts_on`` to ``ends_on`` owes, in due order."""
    if ends_on <= starts_on:
        raise ValueError("a grant ends after it starts")
    planned = [
        PlannedReport(ANNUAL, year, annual_due_on(starts_on, year))
        for year in annual_years(starts_on, ends_on)
    ]
    closing = closing_due_on(ends_on)
    planned.append(PlannedReport(FINAL, 0, closing))
    planned.append(PlannedReport(STATEMENT_OF_USE, 0, closing))
    return planned


@dataclass(frozen=True)
class Owed:
    """A report the grant has, as the early end's rule reads it."""

    id: int
    kind: str
    year: int
    state: str


@dataclass(frozen=True)
class AfterEarlyEnd:
    """What an early end changes: the reports no longer owed (progress reports still due for
    years the grant no longer reaches) and the closing reports' new due date."""

    dropped: tuple[int, ...]
    redated: tuple[int, ...]
    closing_due_on: dt.date


def after_early_end(starts_on: dt.date, ends_on: dt.date, owed: Sequence[Owed]) -> AfterEarlyEnd:
    """A grant that now ends on ``ends_on``: progress reports still due (nothing submitted)
    for years it no longer reaches are dropped, and the final report and statement of use still
    due are owed from the new end. Submitted and accepted reports stay as they are."""
    kept_years = set(annual_years(starts_on, ends_on))
    dropped = tuple(
        r.id for r in owed if r.kind == ANNUAL and r.state == "due" and r.year not in kept_years
    )
    redated = tuple(r.id for r in owed if r.kind in (FINAL, STATEMENT_OF_USE) and r.state == "due")
    return AfterEarlyEnd(dropped, redated, closing_due_on(ends_on))


def due_at(due_on: dt.date) -> dt.datetime:
    """The moment a report due on ``due_on`` becomes late: the end of that day in Berlin, UTC."""
    local = dt.datetime.combine(due_on, dt.time(23, 59, 59), tzinfo=BERLIN)
    return local.astimezone(dt.UTC)


def due_day(moment: dt.datetime) -> dt.date:
    """The day in Berlin a due time falls on (the day a person reads as the due date)."""
    return moment.astimezone(BERLIN).date()


def is_overdue(state: str, due: dt.datetime, *, now: dt.datetime) -> bool:
    """Still owed (due, or returned for changes) after its due time."""
    return state in OPEN_STATES and now > due


def days_late(due: dt.datetime, *, now: dt.datetime) -> int:
    """Calendar days in Berlin since the due day: 1 on the day after it, 0 before."""
    return max(0, (due_day(now) - due_day(due)).days)


# --- sections -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Section:
    key: str
    heading: Text
    hint: Text


_PROGRESS = Section(
    "progress",
    N_("Progress of the work"),
    N_("What the consortium did in the period, work package by work package."),
)
_RESULTS = Section(
    "results",
    N_("Results"),
    N_("What came of it: findings, prototypes, publications, patents, people trained."),
)
_DEVIATIONS = Section(
    "deviations",
    N_("Deviations from the plan"),
    N_("Where work, time plan or spending departed from the plan, why, and what follows."),
)
_NEXT_STEPS = Section(
    "next_steps",
    N_("Next steps"),
    N_("What the consortium plans for the coming year."),
)

SECTIONS: Mapping[str, tuple[Section, ...]] = {
    ANNUAL: (_PROGRESS, _RESULTS, _DEVIATIONS, _NEXT_STEPS),
    FINAL: (
        Section(
            "progress",
            N_("Work carried out"),
            N_("What the consortium did over the whole grant, work package by work package."),
        ),
        _RESULTS,
        _DEVIATIONS,
        Section(
            "next_steps",
            N_("Use of the results and next steps"),
            N_("How the results are used and carried on after the grant."),
        ),
    ),
    STATEMENT_OF_USE: (
        Section(
            "use_of_funds",
            N_("Use of the funds"),
            N_("What the money was spent on, partner by partner, and what it achieved."),
        ),
        Section(
            "deviations",
            N_("Deviations from the financing plan"),
            N_("Where spending departed from the approved plan, and why."),
        ),
    ),
}

# Kinds whose submission needs a PDF: the statement of use carries its figures in one.
NEEDS_FILE = frozenset({STATEMENT_OF_USE})
SECTION_MAX_CHARS = 20_000


def section_keys(kind: str) -> tuple[str, ...]:
    return tuple(section.key for section in SECTIONS[kind])


def clean_sections(kind: str, sections: Mapping[str, str]) -> dict[str, str]:
    """The kind's sections, stripped, in their order; anything else left out."""
    return {key: (sections.get(key) or "").strip() for key in section_keys(kind)}


def _too_long(text: str) -> Text | None:
    if len(text) > SECTION_MAX_CHARS:
        return N_(
            "The text has %(count)s characters; use at most %(limit)s.",
            count=len(text),
            limit=SECTION_MAX_CHARS,
        )
    return None


def draft_problems(kind: str, sections: Mapping[str, str]) -> dict[str, list[Text]]:
    """What keeps a draft from being saved: a section over the length limit."""
    problems: dict[str, list[Text]] = {}
    for key, text in clean_sections(kind, sections).items():
        if (long := _too_long(text)) is not None:
            problems[key] = [long]
    return problems


def submission_problems(
    kind: str, sections: Mapping[str, str], *, files: int
) -> dict[str, list[Text]]:
    """What keeps a report from being submitted, at its field: an empty or too long section,
    the statement of use without its PDF."""
    problems = draft_problems(kind, sections)
    for key, text in clean_sections(kind, sections).items():
        if not text:
            problems[key] = [N_("Write this section before you submit the report.")]
    if kind in NEEDS_FILE and files == 0:
        problems["files"] = [N_("Attach the statement of use's figures as a PDF.")]
    return problems


# --- the receipt --------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileEntry:
    name: str
    sha256: str


def content(
    kind: str, year: int, sections: Mapping[str, str], files: Sequence[FileEntry]
) -> dict[str, object]:
    """What a submission freezes: the sections and the files by name and hash."""
    return {
        "kind": kind,
        "year": year,
        "sections": clean_sections(kind, sections),
        "files": [
            {"name": f.name, "sha256": f.sha256}
            for f in sorted(files, key=lambda f: (f.name, f.sha256))
        ],
    }


def content_hash(frozen: Mapping[str, object]) -> str:
    """SHA-256 of the canonical JSON of ``content(...)``: the same report gives the same hash."""
    canonical = json.dumps(frozen, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_KIND_CODES = {ANNUAL: "AR", FINAL: "FR", STATEMENT_OF_USE: "SU"}
RECEIPT_MAX = 40


def receipt_code(reference: str, kind: str, year: int, number: int, digest: str) -> str:
    """``C4F-0007-AR2-1-3FA9C2``: the grant's proposal, the report, the submission's number and
    the start of its hash; at most 40 characters (the reference is shortened if need be)."""
    tail = f"-{_KIND_CODES[kind]}{year or ''}-{number}-{digest[:6].upper()}"
    head = re.sub(r"[^A-Za-z0-9._-]+", "-", reference)[: RECEIPT_MAX - len(tail)]
    return head + tail


# --- reminders ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReminderStep:
    number: int
    # From the due time: negative before it, positive after.
    offset: dt.timedelta

    @property
    def overdue(self) -> bool:
        return self.offset > dt.timedelta(0)


REMINDER_STEPS = (
    ReminderStep(1, -dt.timedelta(days=14)),
    ReminderStep(2, -dt.timedelta(days=3)),
    ReminderStep(3, dt.timedelta(days=1)),
    ReminderStep(4, dt.timedelta(days=14)),
)
FIRST_REMINDER = -min(step.offset for step in REMINDER_STEPS)
LAST_STEP = max(step.number for step in REMINDER_STEPS)


def reminder_step(*, due: dt.datetime, since: dt.datetime, now: dt.datetime) -> ReminderStep | None:
    """The latest step whose time has come. Steps that fell before ``since`` (the report's
    creation, or the officer's request for changes) are skipped, and only the latest is sent, so
    nobody gets two reminders at once nor a stale one after a later one."""
    chosen = None
    for step in REMINDER_STEPS:
        if since <= due + step.offset <= now:
            chosen = step
    return chosen


def draft_basis(sections: Mapping[str, object]) -> str:
    """A short fingerprint of the sections as saved: a form carries the one it was loaded
    with, and a save based on other sections (someone saved meanwhile) is refused."""
    texts = {str(key): str(value) for key, value in sections.items()}
    canonical = json.dumps(texts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
