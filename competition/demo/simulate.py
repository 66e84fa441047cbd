"""Run the seeded demo programme to its end: officers screen, jurors review, the jury's ranking
draws the line, two officers decide, letters go out and finalists submit the next stage, round
after round, on a simulated calendar inside the stages' windows.

Everything goes through the operations the pages use, with the accounts the demo gives each
role, so the database ends as if people had done it: audit trail, outbox, receipts and letters
included. Background work (assignment runs, rankings, publication) goes through the task queue,
in-process or to a worker; the driver waits for it by reading the database.

What the people would know and the system cannot see is simulated and kept out of the database:
each proposal has a hidden quality (which a finalist may improve or lose between stages), each
juror a hidden harshness and noise. Reviews are drawn from them, so the calibrated ranking can
be compared with the truth (Spearman). The truth is a function of ``seed`` and the references
and e-mail addresses, so a run that stopped half-way continues with the same people.

After a stage's publication the life after the decisions goes on beside the rounds, on the
same calendar (``competition.demo.after_decision``): concept phases, the winners' grants with
their reports and payments, and the interim evaluation that ends their first phase.

Steps already done (a screened proposal, a submitted review, confirmed decisions…) are skipped;
a programme with nothing left to do is left as it is.
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import TYPE_CHECKING, Any, TypeVar
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import ngettext
from scipy.stats import spearmanr  # type: ignore[import-untyped]

from competition.accounts.models import Role, User
from competition.accounts.operations import find_user_by_email
from competition.assignment import operations as jury
from competition.assignment import runs
from competition.assignment.models import (
    Assignment,
    AssignmentRun,
    JuryMembership,
    MembershipState,
    RunState,
)
from competition.assignment.queries import HIDDEN_FROM_JURORS, in_stage
from competition.core import scoring
from competition.demo.memberships import simulate_memberships
from competition.demo.seed import PROGRAMME_SLUG
from competition.errors import DomainError, StaleState
from competition.extensions import db
from competition.grants.models import GrantKind
from competition.i18n import current_language, say
from competition.i18n import gettext as _
from competition.i18n import number as local_number
from competition.jobs import operations as jobs
from competition.jobs.models import Job
from competition.programmes.models import Call, Programme, Stage, StageKind
from competition.proposals import operations as proposals
from competition.proposals.models import (
    BudgetLine,
    MemberRole,
    Proposal,
    ProposalState,
    StageSubmission,
    SubmissionState,
)
from competition.proposals.queries import coordinator_of
from competition.reviews import operations as reviews
from competition.reviews.models import Review, ReviewState
from competition.reviews.queries import scoring_criteria
from competition.screening.models import ScreeningResult, Verdict
from competition.screening.operations import record_verdict, screening_checks
from competition.selection.decisions.operations import confirm_decisions, propose_decisions
from competition.selection.line import queries as line_queries
from competition.selection.models import Decision, Outcome, Ranking, RankingMethod, SnapshotState
from competition.selection.publication import operations as publication_operations
from competition.selection.publication import queries as publication_queries
from competition.selection.ranking import operations as ranking_operations
from competition.selection.ranking import queries as ranking_queries

if TYPE_CHECKING:
    from competition.demo.after_decision import Afterwards

log = logging.getLogger(__name__)

DEFAULT_SEED = 2021
OFFICER = "officer@demo.test"  # screens, runs the jury, proposes and publishes
SECOND_OFFICER = "officer2@demo.test"  # confirms: four eyes
# The demo's reference day is Saturday 2026-11-21; the simulated calendar starts the Monday
# after, so nothing is dated before what the seeded demo shows as the present.
START = dt.datetime(2026, 11, 23, 8, tzinfo=dt.UTC)
BERLIN = ZoneInfo("Europe/Berlin")
# How long jurors take, from release to the last review.
REVIEW_DAYS = {StageKind.OUTLINE: 21, StageKind.FULL_PROPOSAL: 28, StageKind.HEARING: 2}
# Time the invited consortia get at least for their next-stage submission.
SUBMISSION_DAYS = 14
# At most this long for a task (an assignment run, a ranking, a publication) to finish.
WAIT_SECONDS = 900.0

# The hidden truth, as shares of a criterion's scale: a proposal of average quality scores at
# CENTRE; one standard deviation of quality is SPREAD.
CENTRE = 0.55
SPREAD = 0.16
JUROR_BIAS = 0.09  # standard deviation of the jurors' harshness
JUROR_NOISE = (0.05, 0.12)  # each juror's noise lies in this range
PROFILE = 0.3  # a proposal's strengths and weaknesses per criterion, in units of quality
GROWTH = 0.3  # how much a finalist's quality changes from one stage to the next
# A full proposal's budget is the outline's indicative budget times a factor in this range.
BUDGET_GROWTH = (1.0, 1.6)


class SimulationError(Exception):
    """The simulation cannot go on; the message says what did not happen."""


# --- the hidden truth ------------------------------------------------------------------------


@dataclass(frozen=True)
class JurorTrait:
    bias: float  # share of the scale added to every score (negative: harsh)
    noise: float  # standard deviation of a score, as a share of the scale
    confidence: int  # the confidence the juror usually states, 1..5


@dataclass(frozen=True)
class ProposalTrait:
    quality: float  # in standard deviations, at the first stage
    growth: tuple[float, ...]  # the change before each later stage
    profile: tuple[float, ...]  # strength per criterion position (1, 2, …)


class HiddenTruth:
    """What the simulated people are like. Each value comes from its own random stream, keyed
    by the seed and a reference or an e-mail address, so the order of questions never matters."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def stream(self, *key: object) -> random.Random:
        return random.Random("/".join(str(k) for k in (self.seed, *key)))

    def juror(self, email: str) -> JurorTrait:
        rng = self.stream("juror", email)
        noise = rng.uniform(*JUROR_NOISE)
        low, high = JUROR_NOISE
        # Careful jurors (little noise) tend to say they are sure.
        usual = 5 - round(3 * (noise - low) / (high - low) + rng.uniform(-0.5, 0.5))
        return JurorTrait(
            bias=rng.gauss(0, JUROR_BIAS), noise=noise, confidence=min(5, max(2, usual))
        )

    def proposal(self, reference: str) -> ProposalTrait:
        rng = self.stream("proposal", reference)
        return ProposalTrait(
            quality=rng.gauss(0, 1),
            growth=tuple(rng.gauss(0, GROWTH) for _ in range(4)),
            profile=tuple(rng.gauss(0, PROFILE) for _ in range(8)),
        )

    def quality(self, reference: str, position: int) -> float:
        """The proposal's quality at the stage of ``position`` (1 = the first stage)."""
        trait = self.proposal(reference)
        return trait.quality + sum(trait.growth[: max(0, position - 1)])

    def criterion_level(self, reference: str, position: int, criterion: int, single: bool) -> float:
        """Quality on one criterion, in standard deviations; a lone criterion is the whole."""
        level = self.quality(reference, position)
        if not single:
            profile = self.proposal(reference).profile
            level += profile[(criterion - 1) % len(profile)]
        return level

    def true_total(self, reference: str, stage: Stage) -> float:
        """The weighted quality the ranking tries to find (in standard deviations)."""
        criteria = stage.criteria
        weights = [float(c.weight) for c in criteria]
        total = sum(weights) or 1.0
        single = len(criteria) == 1
        return sum(
            w / total * self.criterion_level(reference, stage.position, c.position, single)
            for w, c in zip(weights, criteria, strict=True)
        )

    def review(self, reference: str, email: str, stage: Stage) -> tuple[dict[str, Decimal], int]:
        """The scores (criterion id as text → a value on the criterion's grid) and the
        confidence this juror gives this proposal at this stage."""
        juror = self.juror(email)
        rng = self.stream("review", email, reference, stage.call_id, stage.position)
        impression = rng.gauss(0, juror.noise)  # the same mood colours every criterion
        single = len(stage.criteria) == 1
        scores = {}
        for row, criterion in zip(stage.criteria, scoring_criteria(stage), strict=True):
            level = self.criterion_level(reference, stage.position, row.position, single)
            share = CENTRE + SPREAD * level + juror.bias + impression
            share += rng.gauss(0, juror.noise / 2)
            scores[criterion.key] = nearest_on_grid(share, criterion)
        confidence = min(5, max(1, juror.confidence + rng.choice((-1, 0, 0, 0, 1))))
        return scores, confidence


def nearest_on_grid(share: float, criterion: scoring.Criterion) -> Decimal:
    """The allowed value nearest to ``share`` of the way up the criterion's scale."""
    span = float(criterion.scale_max - criterion.scale_min)
    wanted = float(criterion.scale_min) + span * min(1.0, max(0.0, share))
    return min(scoring.allowed_values(criterion), key=lambda v: (abs(float(v) - wanted), v))


# --- what the simulated people write ---------------------------------------------------------

_LEVELS = (0.75, 0.6, 0.45)  # shares of the scale: excellent, good, fair; below: weak
# The demo's jurors and officers write German, as in the programmes this product is for.
_JUDGEMENTS = (
    (
        "„{criterion}“ ist eine klare Stärke: Die Pläne sind konkret, ehrgeizig und gut begründet.",
        "Beim Kriterium „{criterion}“ gehört der Antrag zu den besten, die ich gelesen habe; der "
        "Beitrag jedes Partners ist klar und glaubwürdig.",
    ),
    (
        "„{criterion}“ überzeugt insgesamt, auch wenn einige Meilensteine schärfer sein könnten.",
        "Beim Kriterium „{criterion}“ ist der Antrag solide; einige Aussagen würden durch Zahlen "
        "oder Belege gewinnen.",
    ),
    (
        "„{criterion}“ ist angemessen, bleibt aber stellenweise allgemein; der Antrag sollte "
        "genauer sagen, wer was wann tut.",
        "Beim Kriterium „{criterion}“ sind die Ideen tragfähig, doch der Weg zu Ergebnissen ist "
        "nur skizziert.",
    ),
    (
        "„{criterion}“ ist der schwächste Teil: Der Antrag zeigt noch nicht, wie seine Ziele "
        "erreicht werden sollen.",
        "Beim Kriterium „{criterion}“ bleibt der Antrag zurück; die Argumente sind dünn und die "
        "Risiken nicht behandelt.",
    ),
)
_OPENINGS = (
    "{acronym} will ein regionales Innovationscluster zum Thema „{title}“ aufbauen.",
    "Der Verbund hinter {acronym} schlägt ein Cluster zum Thema „{title}“ vor.",
    "Ich habe die Unterlagen der Stufe „{stage}“ von {acronym} („{title}“) mit Interesse gelesen.",
)
_CLOSINGS = (
    "Insgesamt ein herausragender Antrag, den ich ohne Vorbehalt empfehle.",
    "Insgesamt ein starker Antrag mit kleineren Punkten, an denen noch zu arbeiten ist.",
    "Insgesamt ein Antrag mit Potenzial, der vor einer Förderung erheblich überarbeitet werden "
    "muss.",
    "Insgesamt ist der Antrag für eine Förderung in diesem Wettbewerb noch nicht reif.",
)
_MORE = (
    "Die Steuerung des Clusters, und wie die Partner untereinander entscheiden, sollte genauer "
    "beschrieben werden.",
    "Die Beteiligung kleiner und mittlerer Unternehmen könnte sichtbarer werden.",
    "Die Pläne zur Ausbildung von Nachwuchswissenschaftler*innen und Fachkräften sind zu begrüßen.",
    "Der Antrag würde von klareren Indikatoren zur Messung des Fortschritts profitieren.",
    "Wie sich das Cluster nach dem Ende der Förderung selbst trägt, sollte weiter ausgearbeitet "
    "werden.",
)
_FOR_JURY = (
    "Ich kenne das Feld gut; die Marktzahlen im Antrag erscheinen mir optimistisch.",
    "Zwei der Partner haben bereits erfolgreich zusammengearbeitet, was für den Plan spricht.",
    "Ich möchte das Budget dieses Antrags in der Jurysitzung besprechen.",
    "Für mich ein Grenzfall; ich bin offen für die Sicht der anderen Jurymitglieder.",
)


def _level(share: float) -> int:
    return next((i for i, bound in enumerate(_LEVELS) if share >= bound), len(_LEVELS))


def review_comment(
    scores: dict[str, Decimal],
    criteria: Sequence[scoring.Criterion],
    *,
    acronym: str,
    title: str,
    stage_name: str,
    minimum: int,
    rng: random.Random,
) -> str:
    """A comment for the applicant that follows the scores, at least ``minimum`` characters."""
    shares = []
    parts = [
        rng.choice(_OPENINGS).format(acronym=acronym, title=title.rstrip("."), stage=stage_name)
    ]
    for criterion in criteria:
        span = criterion.scale_max - criterion.scale_min
        share = float((scores[criterion.key] - criterion.scale_min) / span)
        shares.append(share)
        parts.append(rng.choice(_JUDGEMENTS[_level(share)]).format(criterion=criterion.name))
    parts.append(_CLOSINGS[_level(sum(shares) / len(shares))])
    extra = list(_MORE)
    rng.shuffle(extra)
    while len(" ".join(parts)) < minimum:
        if extra:
            parts.insert(-1, extra.pop())
            continue
        # A stage that asks for a long comment: each criterion's score, in words.
        for criterion in criteria:
            parts.insert(
                -1,
                f"Beim Kriterium „{criterion.name}“ vergebe ich {_german(scores[criterion.key])} "
                f"auf einer Skala von {_german(criterion.scale_min)} bis "
                f"{_german(criterion.scale_max)}.",
            )
    return " ".join(parts)


def _german(value: Decimal) -> str:
    return scoring.plain(value).replace(".", ",")


def work_plan(proposal: Proposal) -> str:
    """The work plan a consortium adds for its full proposal."""
    members = sorted(proposal.members, key=lambda m: (m.role != MemberRole.COORDINATOR, m.id))
    lead = members[0].organisation.name
    packages = [
        f"Work package 1, cluster management, led by {lead}: governance, the cluster office, "
        "quality assurance and reporting to the programme, from the first month to the last."
    ]
    themes = (
        "joint research and development on the cluster's core technologies",
        "pilot applications with the industrial partners",
        "transfer, start-up support and the regional innovation ecosystem",
        "training, skilled staff and exchange between science and industry",
        "dialogue with society, communication and evaluation",
    )
    for number, (theme, member) in enumerate(zip(themes, members[1:], strict=False), start=2):
        packages.append(
            f"Work package {number}, {theme}, led by {member.organisation.name}, with "
            "milestones at the end of each year and a deliverable that the interim evaluation "
            "can check."
        )
    return (
        f"The work of {proposal.acronym} is organised in {len(packages)} work packages over "
        "three years.\n\n" + "\n\n".join(packages)
    )


def attachment_pdf(title: str, lines_of_text: Sequence[str]) -> bytes:
    """A small, plain PDF document (text only, no active content)."""
    from fpdf import FPDF

    def latin(text: str) -> str:  # the PDF core fonts know Latin-1 only
        return text.replace("–", "-").encode("latin-1", "replace").decode("latin-1")

    pdf = FPDF()
    pdf.set_creation_date(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    pdf.add_page()
    pdf.set_font("helvetica", style="B", size=14)
    pdf.multi_cell(0, 8, latin(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", size=10)
    for text in lines_of_text:
        pdf.multi_cell(0, 5, latin(text), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


def _attachment(kind: str, submission: StageSubmission) -> tuple[str, bytes]:
    proposal = submission.proposal
    if kind == "budget_plan":
        names = {m.id: m.organisation.name for m in proposal.members}
        rows = [
            f"{names.get(line.member_id, 'Partner')}, year {line.year}: public funding "
            f"{line.public_funding:,.2f} EUR, own contribution {line.own_contribution:,.2f} EUR"
            for line in sorted(submission.budget_lines, key=lambda b: (b.member_id, b.year))
        ]
        return "budget-plan.pdf", attachment_pdf(f"{proposal.acronym}: detailed budget plan", rows)
    if kind == "cvs":
        rows = [
            f"{m.contact_name}, {m.organisation.name}: short CV and five selected publications "
            "or projects."
            for m in proposal.members
        ]
        return "cvs.pdf", attachment_pdf(f"{proposal.acronym}: CVs of key persons", rows)
    return f"{kind}.pdf", attachment_pdf(f"{proposal.acronym}: {kind.replace('_', ' ')}", [])


# --- the calendar ----------------------------------------------------------------------------


def _morning(moment: dt.datetime) -> dt.datetime:
    """08:00 UTC on the day after ``moment``."""
    day = (moment + dt.timedelta(days=1)).date()
    return dt.datetime.combine(day, dt.time(8), tzinfo=dt.UTC)


@dataclass(frozen=True)
class StagePlan:
    """When the officers and jurors act on one stage."""

    screening: dt.datetime
    jury: dt.datetime
    assignment: dt.datetime
    release: dt.datetime
    reviews: tuple[dt.datetime, dt.datetime]
    ranking: dt.datetime
    proposal: dt.datetime
    confirmation: dt.datetime
    publication: dt.datetime
    # When the invited consortia work on the next stage's submission.
    next_submissions: tuple[dt.datetime, dt.datetime] | None


def plan_stage(stage: Stage, next_stage: Stage | None) -> StagePlan:
    """Screening the morning after the deadline, the assignment two days later, the reviews
    inside the review period (and before its due date), then the ranking, two days of
    decisions and the publication, early enough for the next stage's deadline."""
    screening = max(START, _morning(stage.closes_at))
    assignment = screening + dt.timedelta(days=2)
    release = assignment + dt.timedelta(hours=2)
    first = release + dt.timedelta(days=1)
    last = first + dt.timedelta(days=REVIEW_DAYS.get(stage.kind, 14))
    if stage.reviews_due_at is not None:
        last = min(last, stage.reviews_due_at - dt.timedelta(hours=1))
    if next_stage is not None:
        latest_publication = next_stage.closes_at - dt.timedelta(days=SUBMISSION_DAYS)
        last = min(last, latest_publication - dt.timedelta(days=3))
    if last <= first + dt.timedelta(hours=1):
        raise SimulationError(
            _(
                "The calendar of %(call)s, %(stage)s, leaves no time for the reviews between "
                "%(first)s and %(last)s.",
                call=stage.call.name,
                stage=stage.name,
                first=_day(first),
                last=_day(last),
            )
        )
    ranking = _morning(last)
    proposal = ranking + dt.timedelta(days=1, hours=1)
    confirmation = proposal + dt.timedelta(days=1)
    publication = confirmation + dt.timedelta(hours=2)
    submissions = None
    if next_stage is not None:
        begin = max(publication + dt.timedelta(days=1), next_stage.opens_at + dt.timedelta(hours=1))
        end = min(begin + dt.timedelta(days=30), next_stage.closes_at - dt.timedelta(days=1))
        if end <= begin + dt.timedelta(hours=2):
            raise SimulationError(
                _(
                    "The calendar of %(call)s leaves no time to submit the %(next)s after "
                    "publishing the %(stage)s.",
                    call=stage.call.name,
                    next=next_stage.name.lower(),
                    stage=stage.name.lower(),
                )
            )
        submissions = (begin, end)
    return StagePlan(
        screening=screening,
        jury=screening + dt.timedelta(days=1),
        assignment=assignment,
        release=release,
        reviews=(first, last),
        ranking=ranking,
        proposal=proposal,
        confirmation=confirmation,
        publication=publication,
        next_submissions=submissions,
    )


def _day(moment: dt.datetime) -> str:
    shape = "%d.%m.%Y" if current_language() == "de" else "%Y-%m-%d"
    return moment.astimezone(BERLIN).strftime(shape)


def _spread(start: dt.datetime, end: dt.datetime, share: float) -> dt.datetime:
    share = min(1.0, max(0.0, share))
    return start + dt.timedelta(seconds=int((end - start).total_seconds() * share))


# --- the report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Agreement:
    """How a stage's ranking compares with the hidden truth (Spearman's rank correlation)."""

    stage: str
    proposals: int
    calibrated: float | None  # the bias model's scores
    raw: float | None  # the plain weighted means, for comparison
    # Of the ``best`` truly best proposals, how many the line selected (target stages).
    best: int | None = None
    found: int | None = None


@dataclass(frozen=True)
class RoundResult:
    number: int
    name: str
    outlines: int
    finalists: int
    full_proposals: int
    heard: int
    winners: int
    committed: Decimal
    agreements: tuple[Agreement, ...]


@dataclass(frozen=True)
class Report:
    seed: int | None  # None when nothing was simulated now
    budget: Decimal
    currency: str
    rounds: tuple[RoundResult, ...]
    already_done: bool
    # Memberships held in the demo's membership programme (go-cluster) at the end.
    memberships: int = 0
    # The grants, reports, payments and interim evaluations after the decisions.
    after: Afterwards | None = None

    def total(self, field: str) -> Any:
        return sum(
            (getattr(r, field) for r in self.rounds), Decimal(0) if field == "committed" else 0
        )

    def lines(self) -> list[str]:
        def money(amount: Decimal) -> str:
            return _money(amount, self.currency)

        out = []
        if self.already_done:
            out.append(
                _("The demo programme has already been simulated to its end; nothing changed.")
            )
        for result in self.rounds:
            out.append(
                _(
                    "Round %(number)s: %(funnel)s; the winners requested %(amount)s.",
                    number=result.number,
                    funnel=_funnel(result),
                    amount=money(result.committed),
                )
            )
            for a in result.agreements:
                values = {
                    "stage": a.stage,
                    "num": a.proposals,
                    "calibrated": _rho(a.calibrated),
                    "raw": _rho(a.raw),
                }
                if a.best is None:
                    text = _(
                        "%(stage)s: ranking vs hidden quality over %(num)s proposals, Spearman "
                        "%(calibrated)s calibrated (raw means %(raw)s).",
                        **values,
                    )
                else:
                    text = _(
                        "%(stage)s: ranking vs hidden quality over %(num)s proposals, Spearman "
                        "%(calibrated)s calibrated (raw means %(raw)s); the line picked "
                        "%(found)s of the %(best)s truly best.",
                        found=a.found,
                        best=a.best,
                        **values,
                    )
                out.append("  " + text)
        committed = self.total("committed")
        out.append(
            _(
                "In all: %(funnel)s; the winners requested %(committed)s of the %(budget)s "
                "budget (%(left)s left).",
                funnel=_funnel(self),
                committed=money(committed),
                budget=money(self.budget),
                left=money(self.budget - committed),
            )
        )
        rhos = [a.calibrated for r in self.rounds for a in r.agreements if a.calibrated is not None]
        raws = [a.raw for r in self.rounds for a in r.agreements if a.raw is not None]
        if rhos:
            out.append(
                _(
                    "Calibrated rankings vs hidden quality: mean Spearman %(mean)s over "
                    "%(num)s rankings (raw means %(raw)s).",
                    mean=_rho(sum(rhos) / len(rhos)),
                    num=len(rhos),
                    raw=_rho(sum(raws) / len(raws)),
                )
            )
        if self.after is not None and self.after.grants:
            out.extend(self.after.lines(self.budget, money))
        out.append(self.figures_line())
        return out

    def figures_line(self) -> str:
        """The report's last line: its figures as ``key=value`` pairs, for scripts and tests."""
        after = self.after or _no_afterwards()
        figures = {
            "outlines": self.outlines,
            "finalists": self.finalists,
            "winners": self.winners,
            "grants": after.grants_of(),
            "concept_grants": after.grants_of(GrantKind.CONCEPT),
            "project_grants": after.grants_of(GrantKind.PROJECT),
            "interim_evaluations": after.interim_evaluations,
            "grants_stopped": after.grants_stopped,
            "reports_accepted": after.reports_accepted,
            "reminders": after.reminders,
            "payments": after.payments,
            "committed_eur": f"{after.committed:.2f}",
            "paid_eur": f"{after.paid:.2f}",
            "memberships": self.memberships,
        }
        return " ".join(f"{key}={value}" for key, value in figures.items())

    @property
    def outlines(self) -> int:
        return int(self.total("outlines"))

    @property
    def finalists(self) -> int:
        return int(self.total("finalists"))

    @property
    def full_proposals(self) -> int:
        return int(self.total("full_proposals"))

    @property
    def heard(self) -> int:
        return int(self.total("heard"))

    @property
    def winners(self) -> int:
        return int(self.total("winners"))


def _funnel(r: RoundResult | Report) -> str:
    return _(
        "%(outlines)s outlines → %(finalists)s finalists → %(full)s full proposals → "
        "%(heard)s heard → %(winners)s winners",
        outlines=r.outlines,
        finalists=r.finalists,
        full=r.full_proposals,
        heard=r.heard,
        winners=r.winners,
    )


def _money(amount: Decimal, currency: str = "EUR") -> str:
    return _(
        "%(millions)s M %(currency)s",
        millions=local_number(Decimal(amount) / 1_000_000, 1),
        currency=currency,
    )


def _rho(value: float | None) -> str:
    return _("n/a") if value is None else local_number(round(value, 2), 2)


def _count(query: sa.Select[Any]) -> int:
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0)


def _submitted(stage: Stage) -> int:
    return _count(
        sa.select(StageSubmission.id).where(
            StageSubmission.stage_id == stage.id,
            StageSubmission.state == SubmissionState.SUBMITTED,
        )
    )


def _published(stage: Stage, outcome: Outcome) -> int:
    return _count(
        sa.select(Decision.id).where(
            Decision.stage_id == stage.id,
            Decision.outcome == outcome,
            Decision.published_at.is_not(None),
        )
    )


def funded_amount(call: Call) -> Decimal:
    """Public funding requested at the last stage by the call's proposals published as funded."""
    last = call.competition_stages[-1]
    amount = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(BudgetLine.public_funding), 0))
        .join(StageSubmission, StageSubmission.id == BudgetLine.submission_id)
        .join(
            Decision,
            sa.and_(
                Decision.proposal_id == StageSubmission.proposal_id,
                Decision.stage_id == StageSubmission.stage_id,
            ),
        )
        .where(
            StageSubmission.stage_id == last.id,
            Decision.outcome == Outcome.FUND,
            Decision.published_at.is_not(None),
        )
    )
    return Decimal(amount or 0).quantize(Decimal("0.01"))


def round_result(call: Call, truth: HiddenTruth | None) -> RoundResult:
    """The call's funnel as the database has it; with the truth, how each ranking agreed."""
    # The competition's stages; interim evaluations of its grants are no part of its funnel.
    stages = call.competition_stages
    first, second, last = stages[0], stages[1], stages[-1]
    agreements = []
    if truth is not None:
        for stage in call.competition_stages:
            found = agreement(stage, truth)
            if found is not None:
                agreements.append(found)
    return RoundResult(
        number=call.round_number,
        name=call.name,
        outlines=_submitted(first),
        finalists=_published(first, Outcome.ADVANCE),
        full_proposals=_submitted(second),
        heard=_submitted(last),
        winners=_published(last, Outcome.FUND),
        committed=funded_amount(call),
        agreements=tuple(agreements),
    )


def agreement(stage: Stage, truth: HiddenTruth) -> Agreement | None:
    """Spearman's rank correlation of the ranking the decisions used with the hidden quality."""
    ranking_id = db.session.scalar(
        sa.select(sa.func.max(Decision.ranking_id)).where(Decision.stage_id == stage.id)
    )
    ranking = db.session.get(Ranking, ranking_id) if ranking_id is not None else None
    if ranking is None:
        return None
    rows = ranking.result.get("proposals", [])
    reference = dict(
        db.session.execute(
            sa.select(Proposal.id, Proposal.reference).where(
                Proposal.id.in_([r["proposal_id"] for r in rows])
            )
        ).all()
    )
    hidden = [truth.true_total(reference[r["proposal_id"]], stage) for r in rows]
    calibrated = _spearman([r["score"] for r in rows], hidden)
    raw = _spearman([r["weighted_total"] for r in rows], hidden)
    best = found = None
    target = stage.selection_target
    if target is not None and len(rows) > target:
        advanced = set(
            db.session.scalars(
                sa.select(Decision.proposal_id).where(
                    Decision.stage_id == stage.id, Decision.outcome == Outcome.ADVANCE
                )
            )
        )
        order = sorted(range(len(rows)), key=lambda i: -hidden[i])[:target]
        best, found = target, sum(1 for i in order if rows[i]["proposal_id"] in advanced)
    return Agreement(stage.name, len(rows), calibrated, raw, best, found)


def _spearman(a: Sequence[float], b: Sequence[float]) -> float | None:
    if len(a) < 3:
        return None
    value = float(spearmanr(a, b).statistic)
    return None if math.isnan(value) else value


# --- driving the programme -------------------------------------------------------------------

T = TypeVar("T")
Steps = Generator[dt.datetime, None, T]


def demo_programme() -> Programme | None:
    return db.session.scalar(sa.select(Programme).where(Programme.slug == PROGRAMME_SLUG))


def competing_calls(programme: Programme) -> list[Call]:
    """The programme's rounds with outlines submitted (a round added later without any is left
    alone)."""
    return [
        call
        for call in programme.calls
        if len(call.competition_stages) >= 3 and _submitted(call.competition_stages[0]) > 0
    ]


def is_finished(programme: Programme) -> bool:
    """Every round's last stage has its decisions, all published, and nothing is left of the
    life after the decisions (``after_decision.is_finished``)."""
    from competition.demo import after_decision

    for call in competing_calls(programme):
        last = call.competition_stages[-1]
        counts = db.session.execute(
            sa.select(sa.func.count(), sa.func.count(Decision.published_at)).where(
                Decision.stage_id == last.id
            )
        ).one()
        if counts[0] == 0 or counts[0] != counts[1]:
            return False
    return after_decision.is_finished(programme)


def report_of(programme: Programme, truth: HiddenTruth | None) -> Report:
    from competition.demo.after_decision import figures

    return Report(
        seed=truth.seed if truth is not None else None,
        budget=programme.total_budget,
        currency=programme.currency,
        rounds=tuple(round_result(call, truth) for call in competing_calls(programme)),
        already_done=truth is None,
        after=figures(programme),
    )


def _no_afterwards() -> Afterwards:
    from competition.demo.after_decision import Afterwards

    return Afterwards()


def simulate(
    *,
    seed: int = DEFAULT_SEED,
    echo: Callable[[str], None] = print,
    timeout: float = WAIT_SECONDS,
) -> Report:
    """Run the seeded demo programme to its end (or to the end of what is left) and report.

    Raises SimulationError when the demo is missing, a task does not finish within
    ``timeout`` seconds, or the data no longer allow a step (the message names it).
    Side effects: everything the officers', jurors' and applicants' operations write.
    """
    programme = demo_programme()
    if programme is None:
        raise SimulationError(_("The demo programme is not there; seed it first."))
    if is_finished(programme):
        report = report_of(programme, None)
    else:
        driver = _Driver(HiddenTruth(seed), echo=echo, timeout=timeout)
        driver.run([call.id for call in competing_calls(programme)])
        db.session.expire_all()
        programme = demo_programme()
        assert programme is not None
        report = report_of(programme, driver.truth)
    return replace(report, memberships=simulate_memberships(seed=seed, echo=echo))


class _Driver:
    def __init__(self, truth: HiddenTruth, *, echo: Callable[[str], None], timeout: float) -> None:
        # The life after the decisions (grants, reports, payments, interim evaluations).
        from competition.demo.after_decision import AfterDecision

        self.truth = truth
        self.echo = echo
        self.timeout = timeout
        self.clock = START
        self.user_ids: dict[str, int] = {}
        self.after = AfterDecision(self)
        self.heap: list[tuple[dt.datetime, int, Iterator[dt.datetime]]] = []
        self.orders = itertools.count()

    # -- the scheduler: rounds overlap in time, so their steps are interleaved by date --

    def run(self, call_ids: Sequence[int]) -> None:
        for call_id in call_ids:
            self.spawn(self._round(call_id))
        if call_ids:
            self.spawn(self.after.payment_exports(self._get(Call, call_ids[0]).programme_id))
        while self.heap:
            when, order, steps = heapq.heappop(self.heap)
            self.clock = when
            self._advance(self.heap, order, steps)

    def spawn(self, steps: Iterator[dt.datetime]) -> None:
        """Run ``steps`` beside the others, from its first step on."""
        self._advance(self.heap, next(self.orders), steps)

    def _advance(
        self,
        heap: list[tuple[dt.datetime, int, Iterator[dt.datetime]]],
        order: int,
        steps: Iterator[dt.datetime],
    ) -> None:
        when = next(steps, None)
        if when is None:
            return
        if when < self.clock:
            raise SimulationError(
                _("The simulated calendar went back to %(when)s.", when=when.isoformat())
            )
        heapq.heappush(heap, (when, order, steps))

    # -- people --

    def user(self, email: str) -> User:
        if email not in self.user_ids:
            found = find_user_by_email(email)
            if found is None:
                raise SimulationError(_("The demo account %(email)s is missing.", email=email))
            self.user_ids[email] = found.id
        return self._get(User, self.user_ids[email])

    def say(self, call: Call, stage: Stage | None, when: dt.datetime, text: str) -> None:
        if stage is None:
            where = _("round %(number)s", number=call.round_number)
        else:
            where = _("round %(number)s, %(stage)s", number=call.round_number, stage=stage.name)
        self.echo(f"{_day(when)}  {where}: {text}")

    # -- waiting for the task queue --

    def wait(self, what: str, done: Callable[[], T | None]) -> T:
        """Poll ``done`` (reading committed data) until it answers; SimulationError after the
        timeout. In-process tasks have finished already, so the first look succeeds."""
        deadline = time.monotonic() + self.timeout
        pause = 0.05
        while True:
            db.session.expire_all()
            value = done()
            db.session.rollback()  # end the read, so the next look sees new commits
            if value is not None:
                return value
            if time.monotonic() > deadline:
                raise SimulationError(
                    _(
                        "%(what)s did not finish within %(seconds)s seconds. Is a worker "
                        "running for this queue?",
                        what=what,
                        seconds=f"{self.timeout:.0f}",
                    )
                )
            time.sleep(pause)
            # A worker's task takes seconds: looking every quarter second, the simulation
            # goes on at most that long after it finished.
            pause = min(pause * 2, 0.25)

    # -- one round, stage after stage --

    def _round(self, call_id: int) -> Steps[None]:
        call = db.session.get(Call, call_id)
        assert call is not None
        stage_ids = [s.id for s in call.competition_stages]
        for index, stage_id in enumerate(stage_ids):
            following = stage_ids[index + 1] if index + 1 < len(stage_ids) else None
            yield from self._stage(call_id, stage_id, following)

    def _stage(self, call_id: int, stage_id: int, next_id: int | None) -> Steps[None]:
        stage = self._get(Stage, stage_id)
        plan = plan_stage(stage, self._get(Stage, next_id) if next_id else None)
        # Each step does only what is left of it, so a run that stopped goes on from there.
        yield from self._screen(call_id, stage_id, plan.screening)
        if stage.position == 1:
            yield from self._jury(call_id, plan.jury)
        yield from self._assign(call_id, stage_id, plan)
        yield from self._review(call_id, stage_id, plan)
        ranking_id = yield from self._rank(call_id, stage_id, plan.ranking)
        yield from self._propose(call_id, stage_id, ranking_id, plan.proposal)
        yield from self._confirm(call_id, stage_id, plan.confirmation)
        yield from self._publish(call_id, stage_id, plan.publication)
        self.spawn(self.after.after_publication(call_id, stage_id))
        if next_id is not None and plan.next_submissions is not None:
            yield from self._submit(call_id, next_id, plan.next_submissions)

    def _get(self, model: type[T], ident: int) -> T:
        found = db.session.get(model, ident)
        assert found is not None
        return found

    # -- screening --

    def _screen(self, call_id: int, stage_id: int, start: dt.datetime) -> Steps[None]:
        stage = self._get(Stage, stage_id)
        screened = sa.select(ScreeningResult.proposal_id).where(
            ScreeningResult.stage_id == stage_id
        )
        todo = list(
            db.session.scalars(
                sa.select(Proposal.id)
                .where(
                    Proposal.call_id == call_id,
                    in_stage(stage),
                    Proposal.state != ProposalState.WITHDRAWN,
                    Proposal.id.not_in(screened),
                )
                .order_by(Proposal.reference)
            )
        )
        verdicts: Counter[Verdict] = Counter()
        for index, proposal_id in enumerate(todo):
            when = start + dt.timedelta(minutes=2 * index)
            yield when
            proposal = self._get(Proposal, proposal_id)
            stage = self._get(Stage, stage_id)
            checks = screening_checks(proposal, stage)
            failed = [m for check in checks.all_checks if not check.ok for m in check.messages]
            verdict = Verdict.ELIGIBLE if checks.all_ok else Verdict.INELIGIBLE
            record_verdict(
                proposal,
                stage,
                actor=self.user(OFFICER),
                verdict=verdict,
                reason=" ".join(failed)
                or ("" if checks.all_ok else "Die formalen Prüfungen sind nicht bestanden."),
                now=when,
            )
            verdicts[verdict] += 1
        if todo:
            stage = self._get(Stage, stage_id)
            self.say(
                stage.call,
                stage,
                start,
                ngettext(
                    "%(num)s screened, %(eligible)s eligible.",
                    "%(num)s screened, %(eligible)s eligible.",
                    len(todo),
                    eligible=verdicts[Verdict.ELIGIBLE],
                ),
            )

    # -- the jury --

    def _jury(self, call_id: int, when: dt.datetime) -> Steps[None]:
        """Invite the programme's jurors who are not on this call's jury yet (the same panel
        for every round); each accepts and declares conflicts (none beyond the automatic)."""
        call = self._get(Call, call_id)
        on_jury = set(
            db.session.scalars(
                sa.select(JuryMembership.user_id).where(JuryMembership.call_id == call_id)
            )
        )
        panel = list(
            db.session.execute(
                sa.select(User.id, User.email, User.name)
                .join(JuryMembership, JuryMembership.user_id == User.id)
                .join(Call, Call.id == JuryMembership.call_id)
                .where(
                    Call.programme_id == call.programme_id,
                    JuryMembership.state == MembershipState.ACCEPTED,
                )
                .distinct()
                .order_by(User.id)
            )
        )
        invited = 0
        for index, (user_id, email, name) in enumerate(panel):
            if user_id in on_jury:
                continue
            at = when + dt.timedelta(minutes=index)
            yield at
            jury.invite_juror_to_call(
                self._get(Call, call_id), actor=self.user(OFFICER), email=email, name=name, now=at
            )
            invited += 1
        waiting = list(
            db.session.execute(
                sa.select(JuryMembership.id, User.email)
                .join(User, User.id == JuryMembership.user_id)
                .where(
                    JuryMembership.call_id == call_id,
                    sa.or_(
                        JuryMembership.state == MembershipState.INVITED,
                        sa.and_(
                            JuryMembership.state == MembershipState.ACCEPTED,
                            JuryMembership.conflicts_declared_at.is_(None),
                        ),
                    ),
                )
                .order_by(User.id)
            )
        )
        for index, (place_id, email) in enumerate(waiting):
            at = when + dt.timedelta(hours=2, minutes=7 * index)
            yield at
            place = self._get(JuryMembership, place_id)
            juror = self.user(email)
            if place.state == MembershipState.INVITED:
                jury.respond_to_jury_invitation(place, actor=juror, accept=True, now=at)
            jury.declare_conflicts(
                self._get(Call, call_id),
                actor=juror,
                proposal_ids_with_reasons={},
                now=at + dt.timedelta(minutes=3),
            )
        if invited or waiting:
            done = _(
                "%(num)s jurors accepted their places and declared their conflicts.",
                num=len(waiting),
            )
            if invited:
                done = _(
                    "%(num)s jurors of the programme invited to the jury; %(done)s",
                    num=invited,
                    done=done,
                )
            self.say(self._get(Call, call_id), None, when, done)

    # -- assignment --

    def _assign(self, call_id: int, stage_id: int, plan: StagePlan) -> Steps[None]:
        stage = self._get(Stage, stage_id)
        if runs.released_at(stage) is not None:
            return
        yield plan.assignment
        stage = self._get(Stage, stage_id)
        run = runs.active_run(stage)
        latest = runs.latest_run(stage)
        # In-process, a run still under way was left by an earlier run that stopped.
        orphaned = run is not None and _in_process()
        if orphaned or (run is None and not (latest is not None and latest.state == RunState.DONE)):
            try:
                run = runs.start_run(
                    stage, actor=self.user(OFFICER), options=runs.Options(), now=plan.assignment
                )
            except StaleState as error:
                raise SimulationError(
                    _(
                        "%(stage)s: %(error)s Start the simulation again once its worker has "
                        "been silent for JOB_TIMEOUT_SECONDS.",
                        stage=stage.name,
                        error=error,
                    )
                ) from error
        run_id = (run or latest).id  # type: ignore[union-attr]
        state = self.wait(
            _("The assignment run of %(call)s, %(stage)s,", call=stage.call.name, stage=stage.name),
            lambda: _finished_run(run_id),
        )
        if state == RunState.FAILED:
            failed = self._get(AssignmentRun, run_id)
            reasons = " ".join(say(r) for r in failed.result.get("reasons", []))
            raise SimulationError(
                _(
                    "The assignment of %(stage)s failed: %(message)s %(reasons)s",
                    stage=stage.name,
                    message=say(failed.message),
                    reasons=reasons,
                )
            )
        yield plan.release
        stage = self._get(Stage, stage_id)
        count = runs.release(stage, actor=self.user(OFFICER), now=plan.release)
        jurors = _count(
            sa.select(Assignment.user_id).where(Assignment.stage_id == stage_id).distinct()
        )
        stage = self._get(Stage, stage_id)
        self.say(
            stage.call,
            stage,
            plan.release,
            _("%(num)s assignments released to %(jurors)s jurors.", num=count, jurors=jurors),
        )

    # -- reviews --

    def _review(self, call_id: int, stage_id: int, plan: StagePlan) -> Steps[None]:
        rows = db.session.execute(
            sa.select(Assignment.id, User.email, Proposal.reference)
            .join(User, User.id == Assignment.user_id)
            .join(Proposal, Proposal.id == Assignment.proposal_id)
            .outerjoin(Review, Review.assignment_id == Assignment.id)
            .where(
                Assignment.stage_id == stage_id,
                Assignment.released_at.is_not(None),
                Assignment.declined_at.is_(None),
                Proposal.state.not_in(HIDDEN_FROM_JURORS),
                sa.or_(Review.id.is_(None), Review.state != ReviewState.SUBMITTED),
                ~ranking_queries.conflicted(),
            )
            .order_by(Assignment.id)
        ).all()
        first, last = plan.reviews
        stage = self._get(Stage, stage_id)
        events: list[tuple[dt.datetime, int, int, str, str]] = []
        for assignment_id, email, reference in rows:
            # Each juror has a pace: some review early, some in the last days.
            pace = self.truth.stream("pace", email, call_id, stage.position).random()
            jitter = self.truth.stream("when", email, reference, stage.position).random()
            at = _spread(first, last - dt.timedelta(hours=1), 0.75 * pace + 0.25 * jitter)
            events.append((at, 0, assignment_id, email, reference))
            events.append((at + dt.timedelta(minutes=25), 1, assignment_id, email, reference))
        events.sort()
        latest = first
        for at, submit, assignment_id, email, reference in events:
            yield at
            latest = at
            assignment = self._get(Assignment, assignment_id)
            juror = self.user(email)
            if submit:
                reviews.submit_review(assignment, actor=juror, now=at)
            else:
                self._write_review(assignment, juror, reference, email, stage_id, at)
        if rows:
            stage = self._get(Stage, stage_id)
            self.say(stage.call, stage, latest, _("%(num)s reviews submitted.", num=len(rows)))

    def _write_review(
        self,
        assignment: Assignment,
        juror: User,
        reference: str,
        email: str,
        stage_id: int,
        at: dt.datetime,
    ) -> None:
        stage = self._get(Stage, stage_id)
        proposal = self._get(Proposal, assignment.proposal_id)
        scores, confidence = self.truth.review(reference, email, stage)
        rng = self.truth.stream("comment", email, reference, stage.call_id, stage.position)
        comment = review_comment(
            scores,
            scoring_criteria(stage),
            acronym=proposal.acronym,
            title=proposal.title,
            stage_name=stage.name,
            minimum=stage.min_comment_chars,
            rng=rng,
        )
        for_jury = rng.choice(_FOR_JURY) if rng.random() < 0.3 else ""
        existing = db.session.scalar(
            sa.select(Review.revision).where(Review.assignment_id == assignment.id)
        )
        saved = reviews.save_review_draft(
            assignment,
            actor=juror,
            scores={key: scoring.plain(value) for key, value in scores.items()},
            comment_for_applicant=comment,
            comment_for_jury=for_jury,
            confidence=confidence,
            base_revision=existing or 0,
            now=at,
        )
        if saved.problems:
            messages = "; ".join(m for ms in saved.problems.values() for m in ms)
            raise SimulationError(
                _(
                    "A simulated review of %(reference)s was refused: %(messages)s",
                    reference=reference,
                    messages=messages,
                )
            )

    # -- ranking --

    def _rank(self, call_id: int, stage_id: int, when: dt.datetime) -> Steps[int]:
        stage = self._get(Stage, stage_id)
        last_review = db.session.scalar(
            sa.select(sa.func.max(Review.submitted_at))
            .join(Assignment, Assignment.id == Review.assignment_id)
            .where(Assignment.stage_id == stage_id)
        )
        done = ranking_queries.latest_done(stage)
        if done is not None and (last_review is None or done.created_at >= last_review):
            return done.id
        yield when
        stage = self._get(Stage, stage_id)
        active = db.session.scalar(
            sa.select(Ranking.id)
            .join(Job, Job.id == Ranking.job_id)
            .where(
                Ranking.stage_id == stage_id,
                Job.state.in_((SnapshotState.QUEUED, SnapshotState.RUNNING)),
            )
        )
        # A ranking whose worker stopped is set aside by starting a new one.
        if active is not None and jobs.is_dead(self._get(Ranking, active).job):
            active = None
        if active is None:
            active = ranking_operations.start_ranking(
                stage, actor=self.user(OFFICER), method=RankingMethod.BIAS_MODEL, now=when
            ).id
        elif _in_process():
            # Left by an earlier run that stopped: a queued one can still be computed here.
            ranking = self._get(Ranking, active)
            if ranking.state != SnapshotState.QUEUED:
                raise SimulationError(
                    _(
                        "A ranking of %(stage)s stopped while being computed and is still "
                        "marked as running; nothing will finish it.",
                        stage=stage.name,
                    )
                )
            current_app.extensions["celery"].tasks["selection.rank"].apply(
                kwargs={"ranking_id": active}
            )
        ranking_id = active
        state = self.wait(
            _("The ranking of %(call)s, %(stage)s,", call=stage.call.name, stage=stage.name),
            lambda: _finished_ranking(ranking_id),
        )
        ranking = self._get(Ranking, ranking_id)
        if state == SnapshotState.FAILED:
            raise SimulationError(
                _(
                    "The ranking of %(stage)s failed: %(message)s",
                    stage=stage.name,
                    message=say(ranking.message),
                )
            )
        stage = self._get(Stage, stage_id)
        self.say(
            stage.call,
            stage,
            when,
            _(
                "ranked by the bias model (%(num)s proposals).",
                num=len(ranking.result.get("proposals", [])),
            ),
        )
        return ranking_id

    # -- the line and the decisions --

    def _propose(
        self, call_id: int, stage_id: int, ranking_id: int, when: dt.datetime
    ) -> Steps[None]:
        stage = self._get(Stage, stage_id)
        decided = sa.select(Decision.proposal_id).where(Decision.stage_id == stage_id)
        undecided = set(
            db.session.scalars(
                sa.select(Proposal.id).where(
                    Proposal.call_id == call_id,
                    in_stage(stage),
                    Proposal.state.not_in(HIDDEN_FROM_JURORS),
                    Proposal.id.not_in(decided),
                )
            )
        )
        if not undecided:
            return
        yield when
        stage = self._get(Stage, stage_id)
        ranking = self._get(Ranking, ranking_id)
        line = line_queries.draw(stage, ranking)
        missing = undecided - set(line.suggested)
        if missing:
            raise SimulationError(
                _(
                    "%(num)s proposals of %(stage)s are not in the ranking; they need reviews "
                    "before the line can be drawn.",
                    num=len(missing),
                    stage=stage.name,
                )
            )
        groups: dict[Outcome, list[int]] = {}
        for proposal_id, outcome in line.suggested.items():
            if proposal_id in undecided:
                groups.setdefault(outcome, []).append(proposal_id)
        order = (Outcome.ADVANCE, Outcome.FUND, Outcome.RESERVE, Outcome.REJECT)
        for index, outcome in enumerate(o for o in order if o in groups):
            stage = self._get(Stage, stage_id)
            propose_decisions(
                stage,
                sorted(groups[outcome]),
                outcome=outcome,
                rationale=_rationale(stage, outcome, line, ranking),
                actor=self.user(OFFICER),
                now=when + dt.timedelta(minutes=10 * index),
                ranking_id=ranking_id,
            )
        stage = self._get(Stage, stage_id)
        counts = ", ".join(
            _(
                "%(outcome)s: %(num)s",
                outcome=publication_queries.OUTCOME_LABELS[o],
                num=len(groups[o]),
            )
            for o in order
            if o in groups
        )
        if line.funding:
            text = _(
                "the line suggests %(counts)s; proposed by %(officer)s, committing %(committed)s "
                "of the %(left)s left.",
                counts=counts,
                officer=OFFICER,
                committed=_money(line.committed),
                left=_money(line.budget or Decimal(0)),
            )
        else:
            text = _(
                "the line suggests %(counts)s; proposed by %(officer)s.",
                counts=counts,
                officer=OFFICER,
            )
        self.say(stage.call, stage, when, text)

    def _confirm(self, call_id: int, stage_id: int, when: dt.datetime) -> Steps[None]:
        waiting = list(
            db.session.scalars(
                sa.select(Decision.id)
                .where(Decision.stage_id == stage_id, Decision.confirmed_at.is_(None))
                .order_by(Decision.id)
            )
        )
        if not waiting:
            return
        yield when
        stage = self._get(Stage, stage_id)
        confirm_decisions(stage, waiting, actor=self.user(SECOND_OFFICER), now=when)
        self.say(
            stage.call,
            stage,
            when,
            _(
                "%(num)s decisions confirmed by %(officer)s.",
                num=len(waiting),
                officer=SECOND_OFFICER,
            ),
        )

    def _publish(self, call_id: int, stage_id: int, when: dt.datetime) -> Steps[None]:
        stage = self._get(Stage, stage_id)
        status = publication_queries.publication_status(stage)
        if status.waiting == 0:
            return
        yield when
        stage = self._get(Stage, stage_id)
        # Publishing twice publishes nothing twice; in-process, one under way was left by an
        # earlier run that stopped.
        if _in_process() or not publication_queries.publication_status(stage).in_progress:
            try:
                publication_operations.start_publication(stage, actor=self.user(OFFICER), now=when)
            except DomainError:
                # Published meanwhile by another officer's run: nothing left is fine.
                if publication_queries.publication_status(self._get(Stage, stage_id)).waiting:
                    raise
        self.wait(
            _("The publication of %(call)s, %(stage)s,", call=stage.call.name, stage=stage.name),
            lambda: _published_all(stage_id),
        )
        stage = self._get(Stage, stage_id)
        self.say(
            stage.call,
            stage,
            when,
            _("%(num)s decisions published, letters sent.", num=status.waiting),
        )

    # -- the next stage's submissions --

    def _submit(
        self, call_id: int, next_id: int, window: tuple[dt.datetime, dt.datetime]
    ) -> Steps[None]:
        stage = self._get(Stage, next_id)
        rows = db.session.execute(
            sa.select(StageSubmission.id, Proposal.reference)
            .join(Proposal, Proposal.id == StageSubmission.proposal_id)
            .where(
                StageSubmission.stage_id == next_id,
                StageSubmission.state == SubmissionState.DRAFT,
                Proposal.state == ProposalState.ADVANCED,
            )
            .order_by(Proposal.reference)
        ).all()
        first, last = window
        events: list[tuple[dt.datetime, int, int, str]] = []
        for submission_id, reference in rows:
            share = self.truth.stream("submit", reference, stage.call_id, stage.position).random()
            at = _spread(first, last - dt.timedelta(hours=2), share)
            for step, minutes in enumerate((0, 10, 20, 60)):
                events.append((at + dt.timedelta(minutes=minutes), step, submission_id, reference))
        events.sort()
        latest = first
        for at, step, submission_id, reference in events:
            yield at
            latest = at
            submission = self._get(StageSubmission, submission_id)
            coordinator = self._coordinator(submission.proposal)
            if step == 0:
                self._write_sections(submission, coordinator, at)
            elif step == 1:
                self._revise_budget(submission, coordinator, reference, at)
            elif step == 2:
                self._attach(submission, coordinator, at)
            else:
                self._submit_one(submission, coordinator, reference, at)
        if rows:
            stage = self._get(Stage, next_id)
            self.say(
                stage.call,
                stage,
                latest,
                _("%(num)s submitted by the invited consortia.", num=len(rows)),
            )

    def _coordinator(self, proposal: Proposal) -> User:
        user = coordinator_of(proposal)
        if user is None or not user.has_role(Role.APPLICANT):
            raise SimulationError(
                _(
                    "%(reference)s has no coordinator account to submit it.",
                    reference=proposal.reference,
                )
            )
        return user

    def _write_sections(self, submission: StageSubmission, actor: User, at: dt.datetime) -> None:
        for section in submission.stage.required_sections or ():
            key = section["key"]
            if (submission.sections or {}).get(key, "").strip():
                continue
            text = (
                work_plan(submission.proposal)
                if key == "work_plan"
                else _section_text(submission.proposal, section["title"])
            )
            proposals.save_section(
                submission,
                actor=actor,
                key=key,
                text=text[: int(section.get("max_chars", len(text)))],
                base_revision=int((submission.section_revisions or {}).get(key, 0)),
                now=at,
            )
            submission = self._get(StageSubmission, submission.id)

    def _revise_budget(
        self, submission: StageSubmission, actor: User, reference: str, at: dt.datetime
    ) -> None:
        """The full proposal's budget: the outline's indicative one worked out, usually larger,
        never above the call's cap (public funding rounded down, own contributions up, so the
        call's shares and rates hold as they did)."""
        if submission.stage.kind != StageKind.FULL_PROPOSAL or submission.revision:
            return
        budget = list(submission.budget_lines)
        public = sum((line.public_funding for line in budget), Decimal(0))
        if not public:
            return
        rng = self.truth.stream("budget", reference)
        factor = Decimal(str(round(rng.uniform(*BUDGET_GROWTH), 3)))
        cap = submission.proposal.call.max_public_funding_per_proposal
        if cap is not None:
            factor = min(factor, cap / public)
        rows = [
            proposals.BudgetInput(
                member_id=line.member_id,
                year=line.year,
                public_funding=str(_thousands(line.public_funding * factor, ROUND_FLOOR)),
                own_contribution=str(_thousands(line.own_contribution * factor, ROUND_CEILING)),
            )
            for line in budget
        ]
        proposals.save_budget(
            submission, actor=actor, rows=rows, base_revision=submission.revision, now=at
        )

    def _attach(self, submission: StageSubmission, actor: User, at: dt.datetime) -> None:
        present = {a.kind for a in submission.attachments if a.removed_at is None}
        for rule in submission.stage.attachment_rules or ():
            if not rule.get("required") or rule["key"] in present:
                continue
            filename, data = _attachment(rule["key"], submission)
            proposals.add_attachment(
                submission, actor=actor, kind=rule["key"], filename=filename, data=data, now=at
            )
            submission = self._get(StageSubmission, submission.id)

    def _submit_one(
        self, submission: StageSubmission, actor: User, reference: str, at: dt.datetime
    ) -> None:
        problems = proposals.checklist(submission.proposal, submission, now=at)
        if problems:
            raise SimulationError(
                _(
                    "%(reference)s cannot be submitted for %(stage)s: %(problems)s",
                    reference=reference,
                    stage=submission.stage.name,
                    problems=" ".join(say(p.message) for p in problems),
                )
            )
        proposals.submit_stage(
            submission,
            actor=actor,
            idempotency_key=f"simulated-{reference}-stage-{submission.stage.position}",
            now=at,
        )


def _thousands(amount: Decimal, rounding: str) -> Decimal:
    return (amount / 1000).quantize(Decimal(1), rounding=rounding) * 1000


def _section_text(proposal: Proposal, title: str) -> str:
    return (
        f"{title} of {proposal.acronym}, worked out during the concept phase: {proposal.abstract}"
    )


def _rationale(stage: Stage, outcome: Outcome, line: line_queries.Line, ranking: Ranking) -> str:
    """The simulated officer's reasons, written in German as the programme office writes them."""
    when = ranking.created_at.astimezone(BERLIN).strftime("%d.%m.%Y")
    source = f"Grundlage: die kalibrierte Rangliste der Jury vom {when}, Rangliste {ranking.id}"
    target = stage.selection_target
    if outcome == Outcome.ADVANCE:
        following = next(
            (s for s in stage.call.competition_stages if s.position > stage.position), None
        )
        where = f"zur Stufe „{following.name}“" if following is not None else "zur nächsten Stufe"
        return (
            f"Unter den {target} bestplatzierten Anträgen, die jede Schwelle erfüllen ({source}); "
            f"eingeladen {where}."
        )
    if outcome == Outcome.FUND:
        budget = f"{Decimal(line.budget or 0) / 1_000_000:.1f}".replace(".", ",")
        return (
            f"Gefördert: innerhalb des verbleibenden Programmbudgets von {budget} Mio. € in der "
            f"Rangfolge der Bewertung ({source})."
        )
    if outcome == Outcome.RESERVE:
        return (
            f"Auf der Nachrückliste: förderfähig ({source}), doch das Budget ist für besser "
            "platzierte Anträge gebunden; Förderung, sobald Mittel frei werden."
        )
    if line.funding:
        return (
            "Nicht gefördert: unterhalb der Förderlinie, die sich aus dem Budget des Programms "
            f"ergibt ({source})."
        )
    return (
        f"Nicht ausgewählt: außerhalb der {target} bestplatzierten Anträge oder unterhalb einer "
        f"Schwelle ({source}). Die Gutachten nennen die Gründe im Einzelnen."
    )


def _in_process() -> bool:
    return bool(current_app.extensions["settings"].tasks_in_process)


def _finished_run(run_id: int) -> RunState | None:
    state = db.session.scalar(
        sa.select(Job.state)
        .join(AssignmentRun, AssignmentRun.job_id == Job.id)
        .where(AssignmentRun.id == run_id)
    )
    return state if state in (RunState.DONE, RunState.FAILED) else None


def _finished_ranking(ranking_id: int) -> SnapshotState | None:
    state = db.session.scalar(
        sa.select(Job.state).join(Ranking, Ranking.job_id == Job.id).where(Ranking.id == ranking_id)
    )
    return state if state in (SnapshotState.DONE, SnapshotState.FAILED) else None


def _published_all(stage_id: int) -> bool | None:
    stage = db.session.get(Stage, stage_id)
    assert stage is not None
    status = publication_queries.publication_status(stage)
    if status.failures:
        raise SimulationError(
            _(
                "Some decisions of %(stage)s could not be published: %(failures)s",
                stage=stage.name,
                failures="; ".join(f"{f.reference}: {f.reason}" for f in status.failures),
            )
        )
    return True if status.waiting == 0 else None
