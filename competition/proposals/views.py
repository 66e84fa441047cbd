"""Proposals: the public call pages, the applicant's editor and submission, the officers' list.

Views are thin: load (404 for what the user may not know about), check, validate the form, call
one operation, flash, redirect. Domain errors come back as messages at the fields (422).
"""

from __future__ import annotations

import re
import secrets
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import ngettext
from flask_login import current_user

from competition import params
from competition.access import current_person, public, roles_required, signed_in, wants_json
from competition.accounts import pending
from competition.accounts.models import Role
from competition.accounts.tokens import Purpose, TokenError, read_token
from competition.berlin import BERLIN, berlin_to_utc
from competition.core import rules
from competition.db import operation
from competition.downloads import download
from competition.errors import DomainError, PermissionDenied, StaleState
from competition.extensions import db
from competition.forms import attempt, messages_of, perform, show_errors, status_for
from competition.i18n import current_language, say
from competition.i18n import gettext as _
from competition.i18n import lazy_gettext as _l
from competition.kept import kept_fragment
from competition.organisations.models import FederalState
from competition.programmes import topic_queries
from competition.programmes.models import Stage
from competition.programmes.queries import list_calls_run_by
from competition.proposals import operations as ops
from competition.proposals import partners, permissions, queries, receipt, snapshot, storage
from competition.proposals.forms import (
    AttachmentForm,
    BudgetForm,
    ButtonForm,
    ExtensionForm,
    GeneralForm,
    InviteContributorForm,
    MemberForm,
    PartnersFileForm,
    SectionForm,
    StartProposalForm,
    SubmitForm,
    WithdrawForm,
)
from competition.proposals.list_marks import list_marks
from competition.proposals.models import (
    Attachment,
    ConsortiumMember,
    ContributorRole,
    Proposal,
    ProposalInvitation,
    ProposalState,
    SubmissionState,
)
from competition.proposals.panels import load_panels, other_reader
from competition.workflow import history, offered

bp = Blueprint("proposals", __name__)
# A budget cell's inputs: "public-m12-y3", or "own-m12-cpersonnel-y3" in a cost category. Years
# up to 10, one more than a call may have, so that a year outside every call is refused at a
# cell the page can show.
BUDGET_FIELD = re.compile(r"^(public|own)-m(\d{1,9})(?:-c([a-z0-9_]{1,60}))?-y([1-9]|10)$")


# --- Public call pages -------------------------------------------------------------------------


@bp.route("/calls")
@public
def list_open_calls():  # type: ignore[no-untyped-def]
    return render_template("proposals/calls.html", entries=queries.list_open_stages(now=g.now))


@bp.route("/calls/<int:call_id>")
@public
def show_call(call_id: int):  # type: ignore[no-untyped-def]
    call = queries.find_published_call(call_id)
    if call is None:
        abort(404)
    stage = queries.open_stage(call, now=g.now)
    return render_template(
        "proposals/call.html",
        call=call,
        open_stage=stage,
        rules=snapshot.call_rules(call),
        form=StartProposalForm(),
    )


@bp.route("/calls/<int:call_id>/proposals", methods=["POST"])
@roles_required(Role.APPLICANT)
def start_proposal(call_id: int):  # type: ignore[no-untyped-def]
    call = queries.find_published_call(call_id)
    if call is None:
        abort(404)
    form = StartProposalForm()
    started = attempt(
        form,
        lambda: ops.start_proposal(
            call,
            actor=current_person(),
            acronym=form.acronym.data,
            title=form.title.data,
            now=g.now,
        ),
    )
    if started.done and started.result is not None:
        proposal = started.result
        flash(
            _(
                "Proposal %(reference)s started. Your work is saved as you go.",
                reference=proposal.reference,
            ),
            "success",
        )
        return redirect(url_for("proposals.edit_proposal", proposal_id=proposal.id))
    stage = queries.open_stage(call, now=g.now)
    return (
        render_template(
            "proposals/call.html",
            call=call,
            open_stage=stage,
            rules=snapshot.call_rules(call),
            form=form,
        ),
        422,
    )


# --- Loading with the object check ---------------------------------------------------------------


def _load(
    proposal_id: int,
    *,
    for_submit: bool = False,
    find: Callable[[int], Proposal | None] = queries.find_proposal_for_page,
) -> Proposal:
    if for_submit:
        me = current_person()
        found = queries.find_proposal_to_submit(proposal_id, user=me)
        proposal = None if found is None else found[0]
        if found is not None:
            permissions.known_contributor_role(me, *found)
    else:
        proposal = find(proposal_id)
    # Not found and not allowed look the same: nobody learns which proposals exist.
    if proposal is None or not permissions.can_view_proposal(current_user, proposal):
        abort(404)
    return proposal


def _submission(proposal: Proposal):  # type: ignore[no-untyped-def]
    submission = ops.current_submission(proposal)
    if submission is None:
        abort(404)
    return submission


def _back(proposal: Proposal, anchor: str):  # type: ignore[no-untyped-def]
    return redirect(url_for("proposals.edit_proposal", proposal_id=proposal.id, _anchor=anchor))


def _refused(error: DomainError, proposal: Proposal, anchor: str):  # type: ignore[no-untyped-def]
    if wants_json():
        return {"error": str(error)}, status_for(error)
    flash(str(error), "error")
    return _back(proposal, anchor), 303


# --- The editor ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class BudgetTableRow:
    """A row of the budget table: a partner, in one cost category where the call has them.
    ``outside`` marks a category the call no longer has, shown so its lines can be cleared."""

    member: ConsortiumMember
    category: str
    category_name: str
    outside: bool


def _budget_table(proposal: Proposal, submission, typed: dict[str, str] | None):  # type: ignore[no-untyped-def]
    """The editor's budget table: its rows, its years (the call's, and any later one a line
    or a refused input still uses), the amounts by (member, category, year) and each row's sum
    over the years."""
    call = proposal.call
    names = call.category_names()
    used: dict[int, set[str]] = defaultdict(set)
    typed_years = []
    for name in typed or {}:
        matched = BUDGET_FIELD.match(name)
        if matched:
            used[int(matched[2])].add(matched[3] or "")
            typed_years.append(int(matched[4]))
    grid: dict[tuple[int, str, int], tuple[Decimal, Decimal]] = {}
    row_totals: dict[tuple[int, str], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    for line in submission.budget_lines:
        used[line.member_id].add(line.category)
        grid[(line.member_id, line.category, line.year)] = (
            line.public_funding,
            line.own_contribution,
        )
        row_totals[(line.member_id, line.category)][0] += line.public_funding
        row_totals[(line.member_id, line.category)][1] += line.own_contribution
    rows = []
    for member in proposal.members:
        categories = list(names) or [""]
        extra = sorted(used[member.id] - set(categories))
        for category in [*categories, *extra]:
            if category in names or not names:
                name = names.get(category, "")
            else:
                name = category or _("Without a cost category")
            rows.append(BudgetTableRow(member, category, name, outside=category in extra))
    # The call's years; at an interim evaluation, those of the next phase.
    first, last = submission.stage.budget_years
    used = [*typed_years, *(line.year for line in submission.budget_lines)]
    first, last = min([first, *used]), max([last, *used])
    return {
        "budget_rows": rows,
        "years": range(first, last + 1),
        "call_years": submission.stage.budget_years[1],
        "phase_years": submission.stage.budget_years if submission.stage.is_evaluation else None,
        "grid": grid,
        "row_totals": row_totals,
        "categories": names,
    }


# What a closed proposal's editor says instead of its controls: the state in the applicant's
# words, where the permission's reason ("The proposal is rejected; it is read-only.") only names it.
READ_ONLY_BECAUSE = {
    ProposalState.WITHDRAWN: _l("This proposal was withdrawn; it can no longer be changed."),
    ProposalState.REJECTED: _l("This proposal was not selected; it can no longer be changed."),
    ProposalState.INELIGIBLE: _l(
        "This proposal did not pass the formal check; it can no longer be changed."
    ),
    ProposalState.FUNDED: _l(
        "This proposal was selected for funding; it can no longer be changed."
    ),
}


def _read_only_because(proposal: Proposal, submission, can_edit) -> str | None:  # type: ignore[no-untyped-def]
    """One sentence saying why the editor is read-only, or None while it can be edited."""
    if can_edit:
        return None
    if submission.state == SubmissionState.WITHDRAWN:
        return str(READ_ONLY_BECAUSE[ProposalState.WITHDRAWN])
    if submission.stage.is_evaluation and proposal.state == ProposalState.FUNDED:
        # An interim evaluation's submission: its window says it best.
        return str(can_edit.reason)
    because = READ_ONLY_BECAUSE.get(proposal.state)
    # Otherwise the stage's window (not yet open, deadline passed) says it best.
    return str(because) if because is not None else str(can_edit.reason)


def _to_do(problems: list) -> str:  # type: ignore[type-arg]
    """The checklist's first line, shown on the page and sent with each autosave."""
    if not problems:
        return _("Everything the call asks for is there.")
    return ngettext("%(num)d thing to do:", "%(num)d things to do:", len(problems))


def _editor_texts() -> dict[str, str]:
    """What the editor's script writes, in the reader's language: the page hands them over,
    the script never has words of its own."""
    return {
        "saving": _("Saving…"),
        "unsaved": _("Not saved yet"),
        "not_saved": _("Not saved."),
        "offline": _(
            "Not saved: no connection. Your text stays here; it is saved when you press Save."
        ),
        "session_ended": _(
            "Your session has ended. Your text stays here; press Save to log in and keep it."
        ),
    }


def _editor(proposal: Proposal, *, status: int = 200, forms: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    """The editing page: every part of the proposal with the checklist beside it."""
    submission = _submission(proposal)
    me = current_person()
    kept = pending.take(f"/proposals/{proposal.id}/", user_id=me.id, now=g.now)
    problems = ops.checklist(proposal, submission, now=g.now)
    by_anchor: dict[str, list[str]] = defaultdict(list)
    for problem in problems:
        by_anchor[problem.anchor].append(say(problem.message))
    can_edit = permissions.can_edit_submission(me, proposal, submission, now=g.now)
    forms = dict(forms or {})
    general = forms.get("general") or GeneralForm(
        data={
            "acronym": proposal.acronym,
            "title": proposal.title,
            "abstract": proposal.abstract,
            "topics": [t.id for t in proposal.topics],
        }
    )
    topic_groups = _topic_groups(proposal)
    general.topics.choices = topic_queries.flat(topic_groups)
    content = snapshot.snapshot(proposal, submission)
    totals = rules.budget_totals(snapshot.draft_from_snapshot(content).budget)
    member_totals = {
        m.id: totals.per_member.get(snapshot.member_key(m.id), (Decimal(0), Decimal(0)))
        for m in proposal.members
    }
    return (
        render_template(
            "proposals/edit.html",
            proposal=proposal,
            submission=submission,
            stage=submission.stage,
            deadline=permissions.deadline_for(proposal, submission.stage),
            can_edit=can_edit,
            can_change_consortium=permissions.can_change_consortium(
                me, proposal, submission, now=g.now
            ),
            read_only_because=_read_only_because(proposal, submission, can_edit),
            can_submit=permissions.can_submit(me, proposal, submission, now=g.now),
            is_coordinator=permissions.contributor_role(me, proposal)
            == ContributorRole.COORDINATOR,
            # The lifecycle's next steps from here that this person may take.
            actions=offered(proposal, {"withdraw": bool(permissions.can_withdraw(me, proposal))}),
            problems=problems,
            to_do=_to_do(problems),
            problems_at=by_anchor,
            script_texts=_editor_texts(),
            abstract_max_chars=ops.ABSTRACT_MAX_CHARS,
            general=general,
            topic_groups=topic_groups,
            section_forms=forms.get("sections", {}),
            member_form=forms.get("member") or _member_form(proposal),
            partners_form=forms.get("partners") or PartnersFileForm(prefix="partners"),
            partners_report=forms.get("partners_report"),
            budget_form=forms.get("budget") or BudgetForm(),
            budget_input=forms.get("budget_input"),
            budget_errors=forms.get("budget_errors", {}),
            attachment_form=forms.get("attachment") or AttachmentForm(),
            attachment_errors=forms.get("attachment_errors", {}),
            invite_form=forms.get("invite") or InviteContributorForm(),
            button=ButtonForm(),
            **_budget_table(proposal, submission, forms.get("budget_input")),
            totals=totals,
            member_totals=member_totals,
            invitations=queries.list_invitations(proposal),
            contributors=queries.list_contributors(proposal),
            kept=kept,
            federal_states=list(FederalState),
            **load_panels(proposal),
        ),
        status,
    )


def _topic_groups(proposal: Proposal) -> list[topic_queries.TopicGroup]:
    """The call's programme's topics and the shared ones, grouped; retired ones only where the
    proposal names them already."""
    return topic_queries.offered([proposal.call.programme_id], keep=[t.id for t in proposal.topics])


def _member_form(proposal: Proposal) -> MemberForm:
    form = MemberForm()
    # The first organisation added is usually the coordinating one.
    if not any(m.role.value == "coordinator" for m in proposal.members):
        form.role.data = "coordinator"
    return form


@bp.route("/proposals/<int:proposal_id>/edit")
@roles_required(Role.APPLICANT)
def edit_proposal(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    if not permissions.is_contributor(current_person(), proposal):
        abort(404)
    return _editor(proposal)


@bp.route("/proposals/<int:proposal_id>/general", methods=["POST"])
@roles_required(Role.APPLICANT)
def save_general(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    form = GeneralForm()
    form.topics.choices = topic_queries.flat(_topic_groups(proposal))
    saved = attempt(
        form,
        lambda: ops.update_general(
            proposal,
            actor=current_person(),
            acronym=form.acronym.data,
            title=form.title.data,
            abstract=form.abstract.data or "",
            topic_ids=list(form.topics.data or []),
            now=g.now,
        ),
    )
    if saved.denied:
        return _refused(saved.error, proposal, "general")
    if saved.done:
        flash(_("Saved."), "success")
        return _back(proposal, "general")
    return _editor(proposal, status=422, forms={"general": form})


@bp.route("/proposals/<int:proposal_id>/sections/<key>", methods=["POST"])
@roles_required(Role.APPLICANT)
def save_section(proposal_id: int, key: str):  # type: ignore[no-untyped-def]
    """Saves one section; answers JSON to the autosave script, a page to everyone else."""
    proposal = _load(proposal_id)
    submission = _submission(proposal)
    form = SectionForm()
    if not form.validate_on_submit() or not (form.base_revision.data or "").isdigit():
        if wants_json():
            return {"error": _("The form is incomplete. Reload the page.")}, 400
        abort(400)
    saved = perform(
        lambda: ops.save_section(
            submission,
            actor=current_person(),
            key=key,
            text=form.text.data or "",
            base_revision=int(form.base_revision.data),
            now=g.now,
        )
    )
    error = saved.error
    if isinstance(error, PermissionDenied):
        return _refused(error, proposal, f"section-{key}")
    if isinstance(error, StaleState):
        if wants_json():
            return {"error": str(error), "conflict": True}, 409
        show_errors(form, DomainError({"text": error.errors.get(key, [str(error)])}))
        return _editor(proposal, status=409, forms={"sections": {key: form}})
    if error is not None:
        if wants_json():
            return {"error": str(error)}, 422
        flash(str(error), "error")
        return _back(proposal, f"section-{key}"), 303
    revision = saved.result
    if wants_json():
        answer: dict[str, object] = {
            "revision": revision,
            "saved_at": g.now.isoformat(),
            # The server's clock in Berlin, 24-hour: the browser's clock and zone may differ.
            "saved_note": _(
                "Saved at %(time)s", time=g.now.astimezone(BERLIN).strftime("%H:%M:%S")
            ),
        }
        try:
            problems = ops.checklist(proposal, submission, now=g.now)
        except sa.exc.DBAPIError:
            # Saved; only the list of what is missing could not be read. The answer must say
            # what was stored, or the next save would conflict with the person's own text.
            db.session.rollback()
        else:
            answer["problems"] = [{"anchor": p.anchor, "message": say(p.message)} for p in problems]
            answer["to_do"] = _to_do(problems)
        return answer
    flash(_("Section saved."), "success")
    return _back(proposal, f"section-{key}")


@bp.route("/proposals/<int:proposal_id>/members", methods=["POST"])
@roles_required(Role.APPLICANT)
def add_member(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    form = MemberForm()
    added = attempt(
        form,
        lambda: ops.add_member(
            proposal,
            actor=current_person(),
            organisation_id=None,
            new_organisation=ops.NewOrganisation(
                name=form.organisation.data,
                kind=form.new_kind.data,
                federal_state=form.new_federal_state.data or None,
            ),
            role=form.role.data,
            contact_name=form.contact_name.data or "",
            contact_email=form.contact_email.data or "",
            now=g.now,
        ),
        # The form names the organisation in one field, the operation in two.
        fields={"new_name": "organisation", "organisation_id": "organisation"},
    )
    if added.denied:
        return _refused(added.error, proposal, "consortium")
    if added.done:
        flash(
            _(
                "%(organisation)s added to the consortium.",
                organisation=form.organisation.data.strip(),
            ),
            "success",
        )
        return _back(proposal, "consortium")
    return _editor(proposal, status=422, forms={"member": form})


@bp.route("/proposals/<int:proposal_id>/members/import", methods=["POST"])
@roles_required(Role.APPLICANT)
def import_members(proposal_id: int):  # type: ignore[no-untyped-def]
    """Partners from a CSV or XLSX file; the page shows what was added and what was refused."""
    proposal = _load(proposal_id)
    # Prefixed: the attachments' form on the same page has a field named "file" too.
    form = PartnersFileForm(prefix="partners")
    done = attempt(
        form,
        lambda: partners.add_members_from_file(
            proposal, actor=current_person(), data=form.file.data.read(), now=g.now
        ),
    )
    if done.denied:
        return _refused(done.error, proposal, "consortium")
    if done.done and done.result is not None:
        report = done.result
        flash(
            ngettext(
                "%(num)d organisation added to the consortium.",
                "%(num)d organisations added to the consortium.",
                len(report.added),
            ),
            "success" if report.added else "error",
        )
        # The list of refused rows is shown on the page itself, with the consortium.
        return _editor(proposal, forms={"partners_report": report})
    return _editor(proposal, status=done.status, forms={"partners": form})


@bp.route("/proposals/<int:proposal_id>/members/<int:member_id>/remove", methods=["POST"])
@roles_required(Role.APPLICANT)
def remove_member(proposal_id: int, member_id: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    member = db.session.get(ConsortiumMember, member_id)
    if member is None or member.proposal_id != proposal.id or not ButtonForm().validate_on_submit():
        abort(404)
    name = member.organisation.name
    removed = perform(lambda: ops.remove_member(member, actor=current_person(), now=g.now))
    if removed.error is not None:
        return _refused(removed.error, proposal, "consortium")
    flash(
        _(
            "%(organisation)s removed from the consortium, with its budget lines.",
            organisation=name,
        ),
        "success",
    )
    return _back(proposal, "consortium")


@bp.route("/proposals/<int:proposal_id>/budget", methods=["POST"])
@roles_required(Role.APPLICANT)
def save_budget(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    submission = _submission(proposal)
    form = BudgetForm()
    if not form.validate_on_submit() or not (form.base_revision.data or "").isdigit():
        abort(400)
    cells: set[tuple[int, str, int]] = set()
    for name in request.form:
        matched = BUDGET_FIELD.match(name)
        if matched:
            cells.add((int(matched[2]), matched[3] or "", int(matched[4])))
    rows = []
    typed: dict[str, str] = {}
    for member_id, category, year in sorted(cells):
        cell = ops.budget_cell(member_id, year, category)
        public_name, own_name = f"public-{cell}", f"own-{cell}"
        typed[public_name] = request.form.get(public_name, "")
        typed[own_name] = request.form.get(own_name, "")
        rows.append(
            ops.BudgetInput(
                member_id=member_id,
                year=year,
                category=category,
                public_funding=typed[public_name],
                own_contribution=typed[own_name],
            )
        )
    saved = perform(
        lambda: ops.save_budget(
            submission,
            actor=current_person(),
            rows=rows,
            base_revision=int(form.base_revision.data),
            now=g.now,
            locale=current_language(),
        )
    )
    if saved.denied:
        return _refused(saved.error, proposal, "budget")
    if saved.error is not None:
        # Messages about one amount go to its cell ("m<member>[-c<category>]-y<year>"); the rest
        # above the table.
        cells = {k: v for k, v in saved.error.errors.items() if k}
        summary = list(saved.error.errors.get("", []))
        if cells:
            summary.append(_("Nothing was saved: correct the amounts marked in the table."))
        show_errors(form, DomainError({"": summary}))
        return _editor(
            proposal,
            status=saved.status,
            forms={"budget": form, "budget_input": typed, "budget_errors": cells},
        )
    flash(_("Budget saved."), "success")
    return _back(proposal, "budget")


@bp.route("/proposals/<int:proposal_id>/attachments/<kind>", methods=["POST"])
@roles_required(Role.APPLICANT)
def upload_attachment(proposal_id: int, kind: str):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    submission = _submission(proposal)
    form = AttachmentForm()
    if form.validate_on_submit():
        upload = form.file.data
        added = perform(
            lambda: ops.add_attachment(
                submission,
                actor=current_person(),
                kind=kind,
                filename=upload.filename or "document.pdf",
                data=upload.read(),
                now=g.now,
            )
        )
        if added.denied:
            return _refused(added.error, proposal, f"attachment-{kind}")
        if added.error is not None:
            messages = messages_of(added.error)
            return _editor(proposal, status=422, forms={"attachment_errors": {kind: messages}})
        flash(_("%(filename)s uploaded.", filename=upload.filename), "success")
        return _back(proposal, f"attachment-{kind}")
    messages = [m for ms in form.errors.values() for m in ms]
    return _editor(proposal, status=422, forms={"attachment_errors": {kind: messages}})


@bp.route("/proposals/<int:proposal_id>/attachments/<int:attachment_id>/remove", methods=["POST"])
@roles_required(Role.APPLICANT)
def remove_attachment(proposal_id: int, attachment_id: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    attachment = db.session.get(Attachment, attachment_id)
    if (
        attachment is None
        or attachment.submission.proposal_id != proposal.id
        or not ButtonForm().validate_on_submit()
    ):
        abort(404)
    removed = perform(lambda: ops.remove_attachment(attachment, actor=current_person(), now=g.now))
    if removed.error is not None:
        return _refused(removed.error, proposal, f"attachment-{attachment.kind}")
    flash(_("%(filename)s removed.", filename=attachment.filename), "success")
    return _back(proposal, f"attachment-{attachment.kind}")


@bp.route("/attachments/<int:attachment_id>")
@signed_in
def download_attachment(attachment_id: int):  # type: ignore[no-untyped-def]
    attachment = db.session.get(Attachment, attachment_id)
    if attachment is None:
        abort(404)
    proposal = attachment.submission.proposal
    allowed = permissions.can_view_proposal(current_user, proposal) or other_reader(
        current_user, attachment
    )
    if not allowed:
        abort(404)
    return download(
        storage.read(attachment.storage_key),
        filename=attachment.filename,
        mimetype="application/pdf",
        private=True,
    )


# --- Contributors -------------------------------------------------------------------------------


@bp.route("/proposals/<int:proposal_id>/contributors", methods=["POST"])
@roles_required(Role.APPLICANT)
def invite_contributor(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    form = InviteContributorForm()
    invited = attempt(
        form,
        lambda: ops.invite_contributor(
            proposal, actor=current_person(), email=form.email.data, now=g.now
        ),
    )
    if invited.denied:
        return _refused(invited.error, proposal, "contributors")
    if invited.done:
        flash(
            _("Invitation sent to %(address)s.", address=form.email.data.strip().lower()),
            "success",
        )
        return _back(proposal, "contributors")
    return _editor(proposal, status=422, forms={"invite": form})


@bp.route("/contributions/<token>", methods=["GET", "POST"])
@signed_in
def accept_contribution(token: str):  # type: ignore[no-untyped-def]
    from flask import current_app

    try:
        content = read_token(str(current_app.config["SECRET_KEY"]), Purpose.CONTRIBUTOR, token)
    except TokenError as error:
        flash(str(error), "error")
        return redirect(url_for("dashboard.home"))
    invitation = db.session.get(ProposalInvitation, content.user_id)
    if invitation is None:
        abort(404)
    form = ButtonForm()
    if request.method == "POST" and form.validate_on_submit():
        accepted = perform(
            lambda: ops.accept_contributor_invitation(invitation, actor=current_person(), now=g.now)
        )
        if accepted.result is None:
            flash(str(accepted.error), "error")
            return redirect(url_for("dashboard.home"))
        proposal = accepted.result
        flash(_("You now work on %(reference)s.", reference=proposal.reference), "success")
        return redirect(url_for("proposals.edit_proposal", proposal_id=proposal.id))
    return render_template("proposals/accept_contribution.html", invitation=invitation, form=form)


# --- Submission, receipts, withdrawal -----------------------------------------------------------


@bp.route("/proposals/<int:proposal_id>/submit", methods=["GET", "POST"])
@roles_required(Role.APPLICANT)
def submit_proposal(proposal_id: int):  # type: ignore[no-untyped-def]
    form = SubmitForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            # At a deadline everyone posts at once: the submit itself reads only what it
            # freezes; the whole page is loaded only when it has to be shown again.
            proposal = _load(proposal_id, for_submit=True)
            submission = _submission(proposal)
            # The version's number is read before the commit, which would expire it.
            submitted = perform(
                operation(
                    lambda: (
                        ops.submit_stage(
                            submission,
                            actor=current_person(),
                            idempotency_key=form.idempotency_key.data,
                            now=g.now,
                        ).number
                    )
                )
            )
            if submitted.result is not None:
                return redirect(
                    url_for(
                        "proposals.show_receipt", proposal_id=proposal_id, number=submitted.result
                    )
                )
            if submitted.denied:
                flash(str(submitted.error), "error")
                status = 403
            elif submitted.error is not None:
                # The checklist above the button says what is missing; so does a refusal.
                show_errors(form, submitted.error)
                status = 422
        else:
            status = 400
    proposal = _load(proposal_id)
    submission = _submission(proposal)
    form.idempotency_key.data = secrets.token_urlsafe(24)
    return (
        render_template(
            "proposals/submit.html",
            proposal=proposal,
            submission=submission,
            deadline=permissions.deadline_for(proposal, submission.stage),
            problems=ops.checklist(proposal, submission, now=g.now),
            can_submit=permissions.can_submit(current_person(), proposal, submission, now=g.now),
            form=form,
        ),
        status,
    )


@bp.route("/proposals/<int:proposal_id>/versions")
@signed_in
def list_versions(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    return render_template(
        "proposals/versions.html", proposal=proposal, versions=queries.list_versions(proposal)
    )


@bp.route("/proposals/<int:proposal_id>/versions/<int:number>")
@signed_in
def show_receipt(proposal_id: int, number: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    stage_id = params.number("stage")
    version = queries.find_version(proposal, number=number, stage_id=stage_id)
    if version is None:
        abort(404)
    return render_template("proposals/receipt.html", proposal=proposal, version=version)


@bp.route("/proposals/<int:proposal_id>/versions/<int:number>.pdf")
@signed_in
def download_receipt(proposal_id: int, number: int):  # type: ignore[no-untyped-def]
    # Whoever may see the receipt page, and nobody else (404 as there).
    proposal = _load(proposal_id)
    version = queries.find_version(proposal, number=number, stage_id=params.number("stage"))
    if version is None:
        abort(404)
    return download(
        receipt.render_receipt_pdf(proposal, version),
        filename=receipt.receipt_filename(version),
        mimetype="application/pdf",
        inline=True,
        private=True,
    )


@bp.route("/proposals/<int:proposal_id>/withdraw", methods=["GET", "POST"])
@roles_required(Role.APPLICANT)
def withdraw_proposal(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    form = WithdrawForm()
    decision = permissions.can_withdraw(current_person(), proposal)
    status = 200
    if request.method == "POST" and form.validate_on_submit():
        withdrawn = perform(
            lambda: ops.withdraw_proposal(
                proposal, actor=current_person(), reason=form.reason.data or "", now=g.now
            )
        )
        if withdrawn.done:
            flash(_("%(reference)s is withdrawn.", reference=proposal.reference), "success")
            return redirect(url_for("dashboard.home"))
        if withdrawn.denied:
            # The page states the reason; no flash repeats it.
            decision = permissions.Decision(False, str(withdrawn.error))
            status = 403
        else:
            flash(str(withdrawn.error), "error")
            status = 409
    return (
        render_template("proposals/withdraw.html", proposal=proposal, form=form, decision=decision),
        status,
    )


# --- Officers -----------------------------------------------------------------------------------


# The list's sortable columns in their order on the page and in the export.
SORT_LABELS = {
    queries.ProposalSort.REFERENCE: _l("Reference"),
    queries.ProposalSort.ACRONYM: _l("Acronym"),
    queries.ProposalSort.TITLE: _l("Title"),
    queries.ProposalSort.COORDINATOR: _l("Coordinator"),
    queries.ProposalSort.STATE: _l("State"),
    queries.ProposalSort.REQUESTED: _l("Requested funding"),
    queries.ProposalSort.SUBMITTED: _l("Submitted at"),
}


@dataclass(frozen=True)
class SortHeader:
    """A column header of the list: the link that sorts by it and its ``aria-sort``."""

    label: str
    url: str
    aria_sort: str  # "ascending", "descending" or "none"


def read_list_query() -> tuple[queries.ProposalFilters, queries.ProposalOrder, dict[str, str]]:
    """The officers' list as its query string asks for it: the filters, the order, and the
    query string's values that name both (for links that keep them: headers, pages, export)."""
    filters = queries.ProposalFilters(
        q=params.text("q"),
        call_id=params.number("call"),
        topic=params.text("topic"),
        state=params.choice("state", ProposalState),
        federal_state=params.choice("federal_state", FederalState),
        marks=tuple(mark.key for mark in list_marks() if params.text(mark.key) == "1"),
    )
    order = queries.ProposalOrder(
        params.choice("sort", queries.ProposalSort) or queries.ProposalSort.REFERENCE,
        params.choice("dir", queries.SortDirection) or queries.SortDirection.ASC,
    )
    named = {
        "q": filters.q,
        "call": str(filters.call_id or ""),
        "topic": filters.topic,
        "state": filters.state.value if filters.state else "",
        "federal_state": filters.federal_state.value if filters.federal_state else "",
        "sort": order.sort.value,
        "dir": order.direction.value,
        **{key: "1" for key in filters.marks},
    }
    return filters, order, {name: value for name, value in named.items() if value}


def sort_headers(order: queries.ProposalOrder, args: dict[str, str]) -> dict[str, SortHeader]:
    """Each sortable column's header: sorted by it, the link turns the direction round."""
    headers = {}
    for sort, label in SORT_LABELS.items():
        current = order.sort is sort
        ascending = order.direction is queries.SortDirection.ASC
        direction = "desc" if current and ascending else "asc"
        headers[sort.value] = SortHeader(
            label=str(label),
            url=url_for(".list_proposals", **{**args, "sort": sort.value, "dir": direction}),
            aria_sort=("ascending" if ascending else "descending") if current else "none",
        )
    return headers


# Rendered pages of the officers' list kept per process (about 15 KB each).
LIST_PAGES_KEPT = 64


@bp.route("/proposals")
@roles_required(Role.OFFICER)
def list_proposals():  # type: ignore[no-untyped-def]
    filters, order, args = read_list_query()
    page = queries.list_proposals_for_officer(
        current_user, filters, page=params.page(), order=order, now=g.now
    )
    marks = list_marks()
    rows = tuple(page.items)
    # The rows as read for this officer now are the key: any change to what they show (a
    # title, a state, a mark, the funding) renders them afresh; the same rows are shown alike.
    # The marks offered are registered once per process.
    shown = kept_fragment(
        "proposal_list_rows",
        rows,
        "proposals/_list_rows.html",
        rows=rows,
        marks=marks,
        size=LIST_PAGES_KEPT,
    )
    return render_template(
        "proposals/list.html",
        page=page,
        rows=shown,
        filters=filters,
        headers=sort_headers(order, args),
        list_args=args,
        calls=list_calls_run_by(current_user),
        topics=topic_queries.filter_choices_for_officer(current_user),
        states=list(ProposalState),
        federal_states=list(FederalState),
        marks=marks,
    )


# How each step of a proposal's lifecycle reads in its history.
STEP_LABELS = {
    "submit": _l("Submitted"),
    "withdraw": _l("Withdrawn by the coordinator"),
    "screen_out": _l("Found ineligible at screening"),
    "readmit": _l("Re-admitted to the review"),
    "advance": _l("Invited to the next stage"),
    "reject": _l("Not selected"),
    "fund": _l("Selected for funding"),
}


@bp.route("/proposals/<int:proposal_id>")
@signed_in
def show_proposal(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id, find=queries.find_proposal_to_show)
    me = current_person()
    is_officer = bool(permissions.can_oversee(me, proposal))
    return render_template(
        "proposals/show.html",
        proposal=proposal,
        submissions=queries.submissions_shown(proposal.id),
        is_contributor=permissions.is_contributor(me, proposal),
        is_officer=is_officer,
        extensions=queries.list_extensions(proposal) if is_officer else [],
        extension_form=ExtensionForm() if is_officer else None,
        history=history("proposal", [proposal.id]),
        step_labels=STEP_LABELS,
        **load_panels(proposal),
    )


@bp.route("/proposals/<int:proposal_id>/extensions", methods=["POST"])
@roles_required(Role.OFFICER)
def grant_extension(proposal_id: int):  # type: ignore[no-untyped-def]
    proposal = _load(proposal_id)
    form = ExtensionForm()
    if form.validate_on_submit():
        stage = db.session.get(Stage, form.stage_id.data)
        if stage is None or stage.call_id != proposal.call_id:
            abort(404)
        granted = perform(
            lambda: ops.grant_extension(
                proposal,
                stage,
                actor=current_person(),
                closes_at=berlin_to_utc(form.closes_at.data),
                reason=form.reason.data,
                now=g.now,
            )
        )
        if granted.denied:
            abort(403)
        if granted.error is not None:
            for message in messages_of(granted.error):
                flash(message, "error")
        else:
            flash(_("Deadline extended; the coordinator is told by e-mail."), "success")
    else:
        for message in (m for ms in form.errors.values() for m in ms):
            flash(str(message), "error")
    return redirect(
        url_for("proposals.show_proposal", proposal_id=proposal.id, _anchor="extension")
    )


# The consortium's requests to withhold a partner's name are routes of this blueprint too.
from competition.proposals import withholding_views  # noqa: E402, F401
