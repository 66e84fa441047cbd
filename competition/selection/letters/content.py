"""What an applicant's decision letter says.

``build_letter`` gathers the content once, when the decision is published; the result is frozen
on ``Decision.letter`` and everything the applicant sees (the page, the e-mail, the PDF) is drawn
from that JSON alone, so the three always agree and never change afterwards.

Scores: per criterion, the mean of the proposal's submitted reviews that count, exactly those
``ranking.queries.counted_reviews`` lets into the rankings (released, not given back, no conflict),
read at publication; a panel's consensus score replaces the mean of its criterion. The jurors'
comments for the applicant come from the same reviews, labelled "Juror A", "Juror B", … in an
order keyed by the application's secret, so neither names nor the order of accounts show through.
Nothing a juror wrote for the jury alone is read here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import ngettext

from competition.assignment.models import Assignment
from competition.errors import DomainError
from competition.extensions import db
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.i18n import local_time
from competition.programmes.models import Stage
from competition.proposals.models import Proposal
from competition.reviews.models import Review
from competition.selection.models import Decision, Outcome
from competition.selection.ranking.queries import counted_reviews, stage_inputs

# Bump when the JSON's shape changes; the templates read letters of every format they know.
LETTER_FORMAT = 1

# The letter's texts are written in the recipient's language (publication forces it) and frozen
# with it (``str`` of the lazy headline), never translated again afterwards.
HEADLINES = {
    Outcome.ADVANCE: _l("Your proposal advances to the next stage"),
    Outcome.REJECT: _l("Your proposal has not been selected"),
    Outcome.FUND: _l("Your proposal has been selected for funding"),
    Outcome.RESERVE: _l("Your proposal is on the reserve list"),
    Outcome.CONTINUE: _l("Your grant continues into its next phase"),
    Outcome.CONTINUE_WITH_CONDITIONS: _l(
        "Your grant continues into its next phase, with conditions"
    ),
    Outcome.STOP: _l("Your grant does not continue into a further phase"),
}


def scores_basis(count: int) -> str:
    """What the letter's scores are, for ``count`` submitted reviews."""
    return ngettext(
        "Each score is the mean of the jurors' scores in the %(num)d submitted review of your "
        "proposal, on the criterion's scale. Where the jury's panel agreed a common score for a "
        "criterion, that score is shown instead and marked as such.",
        "Each score is the mean of the jurors' scores in the %(num)d submitted reviews of your "
        "proposal, on the criterion's scale. Where the jury's panel agreed a common score for a "
        "criterion, that score is shown instead and marked as such.",
        count,
    )


# --- content ----------------------------------------------------------------------------------


def _plain(value: Decimal) -> str:
    """A scale bound or weight without trailing zeros: 5, 0.5, 0.25."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _mean(values: list[Decimal]) -> str | None:
    if not values:
        return None
    mean = sum(values, Decimal(0)) / len(values)
    return str(mean.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def juror_label(index: int) -> str:
    """Juror A … Juror Z, then Juror AA, AB, … (spreadsheet columns)."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return _("Juror %(letters)s", letters=letters)


def _order_key(proposal_id: int, juror_id: int) -> str:
    secret = str(current_app.secret_key or "").encode()
    return hmac.new(secret, f"letter:{proposal_id}:{juror_id}".encode(), hashlib.sha256).hexdigest()


def _next_stage(stage: Stage) -> Stage | None:
    later = sorted(
        (s for s in stage.call.competition_stages if s.position > stage.position),
        key=lambda s: s.position,
    )
    return later[0] if later else None


def _explanation(outcome: Outcome, stage: Stage, after: Stage | None) -> str:
    if outcome == Outcome.ADVANCE:
        assert after is not None
        return _(
            "The jury has assessed your proposal and the programme has decided that it "
            "advances from the stage “%(stage)s” to “%(next_stage)s”. You are invited to "
            "submit the proposal for that stage by %(deadline)s. A draft "
            "has been prepared from your submission: sections that continue are filled in, "
            "and the budget is carried over. Please review and complete it before the deadline.",
            stage=stage.name,
            next_stage=after.name,
            deadline=local_time(after.closes_at),
        )
    if outcome == Outcome.REJECT:
        return _(
            "The jury has assessed your proposal and the programme has decided that it does not "
            "continue beyond the stage “%(stage)s” of %(call)s. The proposal is now "
            "closed and can no longer be changed. The scores and the jurors' comments below "
            "explain the assessment; we hope they are useful for your work.",
            stage=stage.name,
            call=stage.call.name,
        )
    if outcome in (Outcome.CONTINUE, Outcome.CONTINUE_WITH_CONDITIONS):
        first, last = stage.budget_years
        if outcome == Outcome.CONTINUE:
            return _(
                "The jury has evaluated phase %(phase)s of your grant, and the programme has "
                "decided to fund its next phase, the project years %(first)s to %(last)s, with "
                "the budget you submitted for it. The money of that phase is released with "
                "this letter.",
                phase=stage.evaluates_phase,
                first=first,
                last=last,
            )
        return _(
            "The jury has evaluated phase %(phase)s of your grant, and the programme has "
            "decided to fund its next phase, the project years %(first)s to %(last)s, with the "
            "budget you submitted for it and with the conditions below. The money of that phase "
            "is released with this letter; the conditions are part of the grant from now on.",
            phase=stage.evaluates_phase,
            first=first,
            last=last,
        )
    if outcome == Outcome.STOP:
        return _(
            "The jury has evaluated phase %(phase)s of your grant, and the programme has "
            "decided not to fund a further phase. The grant ends early; no money of a later "
            "phase will be paid. The programme office will write to you about the final "
            "report and the statement of use.",
            phase=stage.evaluates_phase,
        )
    if outcome == Outcome.FUND:
        return _(
            "The jury has assessed your proposal and the programme has decided to fund it. "
            "Congratulations. The proposal is now closed for editing; you will receive "
            "separate information about the funding agreement and the next steps."
        )
    return _(
        "The jury has assessed your proposal and the programme has placed it on the reserve "
        "list of the stage “%(stage)s”. It has not been selected for now. Should a place "
        "become free, proposals on the reserve list may still be selected, and we will write "
        "to you again. Until then nothing is required from you.",
        stage=stage.name,
    )


def _scores_and_comments(
    proposal: Proposal, stage: Stage
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    # Only this proposal's reviews: publishing a stage builds one letter per decision.
    _, counted, overrides = stage_inputs(stage, proposal_id=proposal.id)
    consensus = {o.criterion_id: o.score for o in overrides}
    criteria = []
    for criterion in stage.criteria:
        # The review's scores are decimal strings; str() of their float gives the same digits.
        values = [Decimal(str(r.scores[criterion.id])) for r in counted if criterion.id in r.scores]
        agreed = criterion.id in consensus
        mean = (
            str(Decimal(str(consensus[criterion.id])).quantize(Decimal("0.01")))
            if agreed
            else _mean(values)
        )
        criteria.append(
            {
                "name": criterion.name,
                "description": criterion.description,
                "scale_min": _plain(criterion.scale_min),
                "scale_max": _plain(criterion.scale_max),
                "weight": _plain(criterion.weight),
                "score": mean,
                "consensus": agreed,
            }
        )
    rows = db.session.execute(
        sa.select(Assignment.user_id, Review.comment_for_applicant)
        .join(Review, Review.assignment_id == Assignment.id)
        .where(*counted_reviews(stage), Assignment.proposal_id == proposal.id)
    ).all()
    # Line breaks as typed in a browser (CRLF) become plain ones, so paragraphs show as such.
    texts = {juror: text.replace("\r\n", "\n").strip() for juror, text in rows}
    written = sorted(
        (_order_key(proposal.id, juror), text) for juror, text in texts.items() if text
    )
    comments = [
        {"juror": juror_label(index), "text": text} for index, (_, text) in enumerate(written)
    ]
    count = len(counted)
    scores = {
        "reviews": count,
        "basis": scores_basis(count),
        "criteria": criteria,
    }
    return scores, comments


def build_letter(
    decision: Decision, *, proposal: Proposal, stage: Stage, now: dt.datetime, language: str
) -> dict[str, Any]:
    """The letter's content as JSON, to be frozen on the decision at publication; its texts in
    the language of the moment, which the caller sets to ``language``, kept with the letter so
    that its page and PDF head it in the same language."""
    after = _next_stage(stage) if decision.outcome == Outcome.ADVANCE else None
    if decision.outcome == Outcome.ADVANCE and after is None:
        raise DomainError(
            _("%(stage)s is the call's last stage; nothing advances from it.", stage=stage.name)
        )
    scores, comments = _scores_and_comments(proposal, stage)
    return {
        "format": LETTER_FORMAT,
        "reference": proposal.reference,
        "acronym": proposal.acronym,
        "title": proposal.title,
        "programme": stage.call.programme.name,
        "call": stage.call.name,
        "stage": stage.name,
        "outcome": decision.outcome.value,
        "headline": str(HEADLINES[decision.outcome]),
        "explanation": _explanation(decision.outcome, stage, after),
        "next_stage": (
            {
                "name": after.name,
                "closes_at": after.closes_at.isoformat(),
                "deadline": local_time(after.closes_at),
            }
            if after
            else None
        ),
        "scores": scores,
        "comments": comments,
        "published_at": now.isoformat(),
        "language": language,
        # The conditions of a "continue with conditions", as the officers wrote them; only
        # there, so that every other letter keeps its shape.
        **({"conditions": decision.conditions} if decision.conditions else {}),
    }


# --- loading ----------------------------------------------------------------------------------
