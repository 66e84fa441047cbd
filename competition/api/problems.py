"""Errors of the API as ``application/problem+json`` (RFC 9457): ``type``, ``title``,
``status``, ``detail``, and ``errors`` (messages per field) where the input was refused.

API texts are English: programs read them, and ``errors`` keys name the fields."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response, json
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

PROBLEM_TYPE = "about:blank"
MEDIA_TYPE = "application/problem+json"

TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    412: "Precondition Failed",
    413: "Content Too Large",
    422: "Unprocessable Content",
    428: "Precondition Required",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


class ProblemSchema(Schema):
    """What every error of the API answers (the description's error schema)."""

    type = fields.String(
        required=True, metadata={"description": "a URI naming the kind; about:blank: see status"}
    )
    title = fields.String(required=True, metadata={"description": "the status in words"})
    status = fields.Integer(required=True, metadata={"description": "the HTTP status code"})
    detail = fields.String(metadata={"description": "what went wrong, for a person to read"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={
            "description": (
                "refused input: messages per field of the body or query (a nested object "
                "for a nested field)"
            )
        },
    )


class ApiProblem(Exception):
    """Raise inside an API view to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str | None = None,
        detail: str | None = None,
        *,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title or TITLES.get(status, "Error")
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


def problem_response(
    status: int,
    title: str | None = None,
    detail: str | None = None,
    *,
    errors: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE,
        "title": title or TITLES.get(status, "Error"),
        "status": status,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype=MEDIA_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_exception(problem: ApiProblem) -> Response:
    return problem_response(
        problem.status,
        problem.title,
        problem.detail,
        errors=problem.errors,
        headers=problem.headers,
    )


def field_errors(messages: Any) -> dict[str, Any] | None:
    """webargs' messages (``{"query": {"limit": [...]}, "json": {...}}``) keyed by field alone;
    a name given in two places keeps its place as a prefix (``query.limit``)."""
    if not isinstance(messages, Mapping):
        return None
    merged: dict[str, Any] = {}
    clashes: set[str] = set()
    for location, fields_ in messages.items():
        if not isinstance(fields_, Mapping):
            merged[str(location)] = fields_
            continue
        for name, errors in fields_.items():
            key = str(name)
            if key in merged or key in clashes:
                clashes.add(key)
                key = f"{location}.{name}"
            merged[key] = errors
    return merged or None


def from_http_error(error: HTTPException) -> Response:
    """An HTTP error under /api/ (a missing route, a refused argument, a rate limit) as a
    problem document."""
    assert error.code is not None
    data = getattr(error, "data", None) or {}
    errors = field_errors(data.get("messages")) if isinstance(data, Mapping) else None
    headers = dict(error.get_headers()) if error.code in (405, 429) else {}
    headers.pop("Content-Type", None)
    if errors:
        detail: str | None = "Some values were refused; errors names them per field."
    elif error.code in (404, 500):
        detail = None
    else:
        detail = error.description
    return problem_response(error.code, detail=detail, errors=errors, headers=headers)
