"""How an API view calls an operation: one helper, so that views stay thin (no view catches a
domain error itself) and every refusal reads the same to a program."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar, cast

from flask_babel import force_locale

from competition.api.problems import ApiProblem
from competition.errors import DomainError
from competition.forms import perform as perform_for_page
from competition.forms import status_for
from competition.workflow import StepRefused

T = TypeVar("T")


def status_of(error: DomainError) -> int:
    """403 for what the caller may not do; 409 for what changed meanwhile or what the object's
    state does not allow; 422 for refused input."""
    if isinstance(error, StepRefused):
        return 409
    return status_for(error)


def problem_of(error: DomainError) -> ApiProblem:
    """The refusal as a problem document: messages at named fields under ``errors``, the rest
    (said of the whole request) as ``detail``."""
    fields = {name: list(messages) for name, messages in error.errors.items() if name}
    general = " ".join(error.errors.get("", [])) or None
    if general is None and not fields:
        general = str(error)
    return ApiProblem(status_of(error), detail=general, errors=fields or None)


def perform(operation: Callable[[], T]) -> T:
    """Run ``operation`` and return its result; a domain error rolls the session back and is
    raised as an ``ApiProblem`` (422, 403 or 409). Operations speak English here: programs,
    not people, read the API's problems."""
    with force_locale("en"):
        done = perform_for_page(operation)
    if done.error is not None:
        raise problem_of(done.error)
    return cast(T, done.result)
