"""What the officers' endpoints of a stage share (reviews, rankings, the line, decisions): the
one access rule and the small schemas that name a proposal or a person.

Access is the selection pages' rule: an officer who runs the stage's programme
(``selection.permissions.can_see_selection``, resting on ``is_programme_officer``). To anyone
else a stage, and everything of it, does not exist: 404, like a missing id, so another
programme's stages stay unseen, as on the pages. A juror is never an officer of the
programme here, so no juror reads a review (their own or another's) or anything of a proposal
they are conflicted with."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask_babel import force_locale
from marshmallow import Schema, fields

from competition.api.auth import api_user
from competition.api.problems import ApiProblem
from competition.programmes.models import Stage
from competition.reviews.queries import find_stage
from competition.selection.permissions import can_see_selection

NOT_FOUND = "No such object, or not one of a programme you run."

# The ``Link`` header of a cursor page, as the description names it.
LINK_HEADER = {
    "Link": {
        "description": 'the next page, as <…>; rel="next"; absent on the last page',
        "schema": {"type": "string"},
    }
}


def not_found() -> ApiProblem:
    return ApiProblem(404, detail=NOT_FOUND)


def may_see(stage: Stage) -> bool:
    return bool(can_see_selection(api_user(), stage))


def officer_stage(stage_id: int) -> Stage:
    """The stage with its call, programme and criteria, for an officer who runs its programme;
    404 for anyone else, as for a missing stage."""
    stage = find_stage(stage_id)
    if stage is None or not may_see(stage):
        raise not_found()
    return stage


@contextmanager
def in_english() -> Iterator[None]:
    """Texts the pages say in the reader's language (why a proposal is not selected, the
    line's notes) are said to programs in English, as the API's other texts."""
    with force_locale("en"):
        yield


class NamedProposalSchema(Schema):
    id = fields.Integer(required=True)
    reference = fields.String(required=True)


class NamedPersonSchema(Schema):
    """A juror or an officer, as the officers' pages name them."""

    id = fields.Integer(required=True)
    name = fields.String(required=True)


def person(user_id: int | None, names: dict[int, str]) -> dict[str, Any] | None:
    if user_id is None:
        return None
    return {"id": user_id, "name": names.get(user_id, "")}
