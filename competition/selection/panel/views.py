"""The panel pages for the jury meeting: the latest ranking with each proposal's notes,
consensus scores and the jurors absent because of a conflict of interest; and one proposal's
reviews per juror, its discussion notes and the consensus scores the panel agrees on.

Stages of another programme's calls answer 404, like missing ones.
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for

from competition import params
from competition.access import roles_required
from competition.accounts.models import Role
from competition.core.scoring import plain
from competition.forms import attempt
from competition.i18n import gettext as _
from competition.programmes.models import Criterion, Stage
from competition.proposals.models import Proposal
from competition.selection.blueprint import PREFIX, bp, me, officer_stage
from competition.selection.decisions import queries as decisions_queries
from competition.selection.forms import ConsensusForm, NoteForm, RemoveConsensusForm
from competition.selection.panel import operations as panel_operations
from competition.selection.panel import queries as panel_queries


@bp.route(f"{PREFIX}/panel", endpoint="panel")
@roles_required(Role.OFFICER)
def panel_overview(call_id: int, stage_id: int):  # type: ignore[no-untyped-def]
    _call, stage = officer_stage(call_id, stage_id)
    q = params.text("q")
    page = params.page()
    return render_template(
        "selection/panel.html",
        call=stage.call,
        stage=stage,
        listing=panel_queries.panel_list(stage, q=q, page=page),
        q=q,
    )


def _prefix(criterion: Criterion) -> str:
    return f"criterion-{criterion.id}"


# One form per criterion, told apart by a prefix. CSRFProtect has checked the request's token
# before any view runs; a prefixed form would look for a token under its own prefix.
_CHECKED = {"csrf": False}


def _detail(
    stage: Stage,
    proposal: Proposal,
    *,
    note_form: NoteForm | None = None,
    failed: dict[int, ConsensusForm | RemoveConsensusForm] | None = None,
    status: int = 200,
):  # type: ignore[no-untyped-def]
    detail = panel_queries.panel_detail(stage, proposal)
    consensus_forms: dict[int, ConsensusForm] = {}
    remove_forms: dict[int, RemoveConsensusForm] = {}
    for line in detail.criteria:
        criterion = line.criterion
        prefix = _prefix(criterion)
        given = (failed or {}).get(criterion.id)
        if isinstance(given, ConsensusForm):
            consensus_forms[criterion.id] = given
        else:
            form = ConsensusForm(formdata=None, prefix=prefix, meta=_CHECKED)
            if line.consensus is not None:
                form.score.data = plain(line.consensus.consensus.score)
                form.reason.data = line.consensus.consensus.reason
            consensus_forms[criterion.id] = form
        if isinstance(given, RemoveConsensusForm):
            remove_forms[criterion.id] = given
        else:
            remove_forms[criterion.id] = RemoveConsensusForm(
                formdata=None, prefix=f"remove-{prefix}", meta=_CHECKED
            )
    return render_template(
        "selection/panel_proposal.html",
        call=stage.call,
        stage=stage,
        proposal=proposal,
        detail=detail,
        note_form=note_form or NoteForm(formdata=None),
        consensus_forms=consensus_forms,
        remove_forms=remove_forms,
    ), status


def _criterion(stage: Stage) -> Criterion:
    wanted = request.form.get("criterion", type=int)
    found = next((c for c in stage.criteria if c.id == wanted), None)
    if found is None:
        abort(404)
    return found


def _panel_proposal(call_id: int, stage_id: int, proposal_id: int) -> tuple[Stage, Proposal]:
    _call, stage = officer_stage(call_id, stage_id)
    proposal = decisions_queries.find_stage_proposal(stage, proposal_id)
    if proposal is None:
        abort(404)
    return stage, proposal


def _back(stage: Stage, proposal: Proposal, message: str):  # type: ignore[no-untyped-def]
    flash(message, "success")
    return redirect(
        url_for(
            "selection.panel_proposal",
            call_id=stage.call_id,
            stage_id=stage.id,
            proposal_id=proposal.id,
        ),
        303,
    )


@bp.route(f"{PREFIX}/panel/proposals/<int:proposal_id>")
@roles_required(Role.OFFICER)
def panel_proposal(call_id: int, stage_id: int, proposal_id: int):  # type: ignore[no-untyped-def]
    stage, proposal = _panel_proposal(call_id, stage_id, proposal_id)
    return _detail(stage, proposal)


@bp.route(f"{PREFIX}/panel/proposals/<int:proposal_id>/notes", methods=["POST"])
@roles_required(Role.OFFICER)
def add_note(call_id: int, stage_id: int, proposal_id: int):  # type: ignore[no-untyped-def]
    stage, proposal = _panel_proposal(call_id, stage_id, proposal_id)
    form = NoteForm()
    added = attempt(
        form,
        lambda: panel_operations.add_note(
            stage, proposal, text=form.text.data or "", actor=me(), now=g.now
        ),
    )
    if not added.done:
        return _detail(stage, proposal, note_form=form, status=added.status)
    return _back(stage, proposal, _("The note is added."))


@bp.route(f"{PREFIX}/panel/proposals/<int:proposal_id>/consensus", methods=["POST"])
@roles_required(Role.OFFICER)
def record_consensus(call_id: int, stage_id: int, proposal_id: int):  # type: ignore[no-untyped-def]
    stage, proposal = _panel_proposal(call_id, stage_id, proposal_id)
    criterion = _criterion(stage)
    form = ConsensusForm(prefix=_prefix(criterion), meta=_CHECKED)
    recorded = attempt(
        form,
        lambda: panel_operations.record_consensus(
            stage,
            proposal,
            criterion,
            score=form.score.data or "",
            reason=form.reason.data or "",
            actor=me(),
            now=g.now,
        ),
    )
    if not recorded.done:
        return _detail(stage, proposal, failed={criterion.id: form}, status=recorded.status)
    return _back(
        stage,
        proposal,
        _(
            "The consensus score for %(criterion)s is recorded. It counts once a new ranking "
            "is computed.",
            criterion=criterion.name,
        ),
    )


@bp.route(f"{PREFIX}/panel/proposals/<int:proposal_id>/consensus/remove", methods=["POST"])
@roles_required(Role.OFFICER)
def remove_consensus(call_id: int, stage_id: int, proposal_id: int):  # type: ignore[no-untyped-def]
    stage, proposal = _panel_proposal(call_id, stage_id, proposal_id)
    criterion = _criterion(stage)
    form = RemoveConsensusForm(prefix=f"remove-{_prefix(criterion)}", meta=_CHECKED)
    removed = attempt(
        form,
        lambda: panel_operations.remove_consensus(
            stage,
            proposal,
            criterion,
            reason=form.reason.data or "",
            actor=me(),
            now=g.now,
        ),
    )
    if not removed.done:
        return _detail(stage, proposal, failed={criterion.id: form}, status=removed.status)
    return _back(
        stage,
        proposal,
        _(
            "The consensus score for %(criterion)s is removed. The jurors' mean counts again "
            "once a new ranking is computed.",
            criterion=criterion.name,
        ),
    )
