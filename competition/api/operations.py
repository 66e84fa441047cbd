"""How an API view calls an operation: as a page does through ``forms.perform``, with the
refusal answered as a problem document instead of messages at a form's fields, so views stay
thin (no view catches a domain error itself) and every refusal reads the same to a program.

A ``DomainError`` is 422 with ``errors`` keyed by the body's field names (``fields`` renames
the operation's names; its messages for the whole request, keyed ``""``, go under
``_schema``, marshmallow's key for the body as a whole), ``PermissionDenied`` 403, and
``StaleState`` or a step the object's state does not allow 409, each with the operation's own
sentence as ``detail``."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar, cast

from flask_babel import force_locale

from competition.api.problems import ApiProblem
from competition.errors import DomainError
from competition.forms import perform as perform_on_page
from competition.forms import status_for
from competition.workflow import StepRefused

T = TypeVar("T")
WHOLE_BODY = "_schema"
# Problem documents are read by programs: the operations' sentences in English, whatever the
# deployment's default language (an API request has no person's language loaded for it).
API_LANGUAGE = "en"


def status_of(error: DomainError) -> int:
    if isinstance(error, StepRefused):
        return 409
    return status_for(error)


def perform(operation: Callable[[], T], *, fields: Mapping[str, str] | None = None) -> T:
    """Run ``operation``; a refusal rolls back and raises the matching ``ApiProblem``."""
    with force_locale(API_LANGUAGE):
        outcome = perform_on_page(operation)
    if outcome.error is None:
        return cast(T, outcome.result)
    error = outcome.error
    status = status_of(error)
    if status != 422:
        raise ApiProblem(status, detail=str(error))
    names = {"": WHOLE_BODY, **(fields or {})}
    errors: dict[str, list[str]] = {}
    for name, messages in error.errors.items():
        errors.setdefault(names.get(name, name), []).extend(str(m) for m in messages)
    raise ApiProblem(422, detail=str(error), errors=errors)
