"""Who may do what in the selection of a stage. Each intention has its own predicate, so that a
page, an operation and a test name what they allow; today every one of them belongs to the
officers who run the stage's programme, and the four-eyes rule of confirming is checked against
the decisions themselves (competition.selection.operations)."""

from __future__ import annotations

from competition.accounts.models import User
from competition.i18n import gettext as _
from competition.permissions import ALLOWED, Decision
from competition.programmes.models import Stage
from competition.programmes.permissions import is_programme_officer


def _officer(user: User, stage: Stage, refusal: str) -> Decision:
    if not is_programme_officer(user, stage.call.programme_id):
        return Decision(False, refusal)
    return ALLOWED


def can_see_selection(user: User, stage: Stage) -> Decision:
    """The selection pages of a stage (rankings, line, panel, decisions, letters' status)."""
    return _officer(user, stage, _("Only officers of this programme see its selection."))


def can_set_rules(user: User, stage: Stage) -> Decision:
    return _officer(user, stage, _("Only officers of this programme set its selection rules."))


def can_rank(user: User, stage: Stage) -> Decision:
    return _officer(user, stage, _("Only officers of this programme rank its proposals."))


def can_draw_line(user: User, stage: Stage) -> Decision:
    """Draw the funding line and record the lottery of its grey zone."""
    return _officer(user, stage, _("Only officers of this programme draw its funding line."))


def can_hold_panel(user: User, stage: Stage) -> Decision:
    """Write panel notes and record or remove consensus scores."""
    return _officer(user, stage, _("Only officers of this programme keep its panel's record."))


def can_propose_decision(user: User, stage: Stage) -> Decision:
    return _officer(user, stage, _("Only officers of this programme propose its decisions."))


def can_confirm_decision(user: User, stage: Stage) -> Decision:
    """A second officer confirms; that it is not the proposer is checked per decision."""
    return _officer(user, stage, _("Only officers of this programme confirm its decisions."))


def can_publish(user: User, stage: Stage) -> Decision:
    return _officer(user, stage, _("Only officers of this programme publish its decisions."))


def can_export(user: User, stage: Stage) -> Decision:
    """Rankings, reviews (with jurors' names) and decisions as files."""
    return _officer(user, stage, _("Only officers of this programme export its selection."))
