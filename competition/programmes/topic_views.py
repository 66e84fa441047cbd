"""Officers of a programme manage its topic taxonomy: list, add, edit, reorder, retire,
reinstate and delete (after a confirmation, and only when nobody names the topic)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, g, redirect, render_template, request, url_for
from flask_login import current_user

from competition import params
from competition.access import current_person, roles_required
from competition.accounts.models import Role
from competition.forms import attempt, perform
from competition.i18n import gettext as _
from competition.programmes import queries, topic_queries
from competition.programmes import topic_operations as ops
from competition.programmes.forms import DeleteForm, MoveForm
from competition.programmes.models import Programme, Topic, TopicKind
from competition.programmes.permissions import can_manage_programme
from competition.programmes.topic_forms import TopicForm

bp = Blueprint("topics", __name__)


def _programme_or_404(programme_id: int) -> Programme:
    # Programmes the officer does not run look the same as ones that do not exist.
    programme = queries.find_programme(programme_id)
    if programme is None or not can_manage_programme(current_user, programme):
        abort(404)
    return programme


def _topic_or_404(topic_id: int) -> Topic:
    """A topic of a programme the officer runs; shared topics are nobody's to manage here."""
    topic = topic_queries.find_topic(topic_id)
    if topic is None or topic.programme_id is None:
        abort(404)
    _programme_or_404(topic.programme_id)
    return topic


def _to_list(programme_id: int, topic_id: int | None = None) -> Any:
    anchor = f"topic-{topic_id}" if topic_id else None
    return redirect(url_for(".list_topics", programme_id=programme_id, _anchor=anchor))


def _form_page(form: TopicForm, programme: Programme, topic: Topic | None, status: int) -> Any:
    form.offer_parents(
        topic_queries.parent_choices(programme.id, topic),
        top_level=_("None: a top-level topic"),
    )
    return render_template(
        "programmes/topic_form.html", form=form, programme=programme, topic=topic
    ), status


@bp.route("/programmes/<int:programme_id>/topics")
@roles_required(Role.OFFICER)
def list_topics(programme_id: int):  # type: ignore[no-untyped-def]
    programme = _programme_or_404(programme_id)
    return render_template(
        "programmes/topics.html",
        programme=programme,
        groups=topic_queries.taxonomy(programme.id),
        move_form=MoveForm(),
        state_form=DeleteForm(),
    )


@bp.route("/programmes/<int:programme_id>/topics/new", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def new_topic(programme_id: int):  # type: ignore[no-untyped-def]
    programme = _programme_or_404(programme_id)
    form = TopicForm()
    if request.method == "GET":
        form.kind.data = (params.choice("kind", TopicKind) or TopicKind.CLUSTER).value
        form.parent_id.data = params.number("parent")
    saved = attempt(
        form, lambda: ops.add_topic(programme, actor=current_person(), now=g.now, **form.values())
    )
    if saved.done:
        flash(_("Topic “%(name)s” added.", name=saved.result.name), "success")
        return _to_list(programme.id, saved.result.id)
    return _form_page(form, programme, None, saved.status)


@bp.route("/topics/<int:topic_id>/edit", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def edit_topic(topic_id: int):  # type: ignore[no-untyped-def]
    topic = _topic_or_404(topic_id)
    programme = _programme_or_404(topic.programme_id or 0)
    form = TopicForm()
    if request.method == "GET":
        form.fill(topic)
    saved = attempt(
        form, lambda: ops.update_topic(topic, actor=current_person(), now=g.now, **form.values())
    )
    if saved.done:
        flash(_("Topic saved."), "success")
        return _to_list(programme.id, topic.id)
    return _form_page(form, programme, topic, saved.status)


@bp.route("/topics/<int:topic_id>/move", methods=["POST"])
@roles_required(Role.OFFICER)
def move_topic(topic_id: int):  # type: ignore[no-untyped-def]
    topic = _topic_or_404(topic_id)
    form = MoveForm()
    if not form.validate_on_submit():
        abort(400)
    ops.move_topic(topic, actor=current_person(), offset=form.offset, now=g.now)
    return _to_list(topic.programme_id or 0, topic.id)


@bp.route("/topics/<int:topic_id>/retire", methods=["POST"])
@roles_required(Role.OFFICER)
def retire_topic(topic_id: int):  # type: ignore[no-untyped-def]
    topic = _topic_or_404(topic_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    ops.retire_topic(topic, actor=current_person(), now=g.now)
    flash(
        _("“%(name)s” is retired: it is no longer offered for new choices.", name=topic.name),
        "success",
    )
    return _to_list(topic.programme_id or 0, topic.id)


@bp.route("/topics/<int:topic_id>/reinstate", methods=["POST"])
@roles_required(Role.OFFICER)
def reinstate_topic(topic_id: int):  # type: ignore[no-untyped-def]
    topic = _topic_or_404(topic_id)
    if not DeleteForm().validate_on_submit():
        abort(400)
    done = perform(lambda: ops.reinstate_topic(topic, actor=current_person(), now=g.now))
    if done.error is not None:
        flash(str(done.error), "error")
    else:
        flash(_("“%(name)s” is offered again.", name=topic.name), "success")
    return _to_list(topic.programme_id or 0, topic.id)


@bp.route("/topics/<int:topic_id>/delete", methods=["GET", "POST"])
@roles_required(Role.OFFICER)
def delete_topic(topic_id: int):  # type: ignore[no-untyped-def]
    topic = _topic_or_404(topic_id)
    programme_id = topic.programme_id or 0
    name = topic.name
    form = DeleteForm()
    removed = attempt(form, lambda: ops.remove_topic(topic, actor=current_person(), now=g.now))
    if removed.done:
        flash(_("Topic “%(name)s” deleted.", name=name), "success")
        return _to_list(programme_id)
    return render_template(
        "programmes/topic_delete.html",
        form=form,
        topic=topic,
        refused=ops.removal_refused(topic),
        retire_form=DeleteForm(),
        cancel_url=url_for(".list_topics", programme_id=programme_id, _anchor=f"topic-{topic.id}"),
    ), removed.status
