"""What the description says of every operation without its module saying it: read from the
view's policy (``auth.api_public`` / ``auth.api_token``) and its route, so an endpoint added
later is described the same way.

- ``security``: ``[{"token": []}]`` for a token endpoint, ``[]`` (none) for a public one, and
  ``x-scope``: the scope the token needs (``proposals:read``; ``null``: any live token);
- the problem responses the operation can give: 401 and 403 (token endpoints), 404 (an id in
  the path), 400 and 422 (a query or a body to refuse), 409 (a change that can find the object
  changed), 429 (always: every call is counted), each ``application/problem+json``;
- an error response a module describes without a body (``alt_response(403, description=…)``)
  gets the problem document's;
- an ``operationId`` from the endpoint's name."""

from __future__ import annotations

import copy
import http
from typing import Any

from apispec import APISpec, BasePlugin
from flask import Flask
from werkzeug.routing import Rule

from competition.access import policy_of
from competition.api.problems import MEDIA_TYPE, ProblemSchema

CHANGING = {"post", "put", "patch", "delete"}
RATE_HEADERS = {
    "Retry-After": {
        "description": "seconds until the count starts again",
        "schema": {"type": "integer"},
        "required": True,
    },
    "RateLimit-Policy": {
        "description": 'the limit, e.g. "api";q=300;w=60 (300 calls a 60 seconds)',
        "schema": {"type": "string"},
    },
    "RateLimit": {
        "description": 'where the caller stands, e.g. "api";r=0;t=42 (none left, 42 seconds)',
        "schema": {"type": "string"},
    },
}


PROBLEM = {MEDIA_TYPE: {"schema": {"$ref": "#/components/schemas/Problem"}}}


def register_responses(spec: APISpec) -> None:
    """The problem document's schema, and a response per error status, named as flask-smorest
    names them (``NOT_FOUND``), each a problem document; 304 without a body."""
    spec.components.schema("Problem", schema=ProblemSchema)
    for status in http.HTTPStatus:
        if status < 400 and status != 304:
            continue
        response: dict[str, Any] = {"description": status.phrase}
        if status >= 400:
            response["content"] = {MEDIA_TYPE: {"schema": ProblemSchema}}
        if status == 429:
            response["headers"] = RATE_HEADERS
        spec.components.response(status.name, response, lazy=True)


class Describe(BasePlugin):  # type: ignore[misc]
    def __init__(self, app: Flask) -> None:
        super().__init__()
        self.app = app

    def operation_helper(
        self,
        path: str | None = None,
        operations: dict[str, Any] | None = None,
        *,
        rule: Rule | None = None,
        **kwargs: Any,
    ) -> None:
        if rule is None or not operations:
            return
        view = self.app.view_functions.get(rule.endpoint)
        policy = policy_of(view) if view is not None else None
        if policy is None or not policy.api:
            return  # no API policy: the security test names the endpoint
        scope = getattr(view, "api_scope", None)
        methods = [m for m in operations if m in {"get", "post", "put", "patch", "delete"}]
        for method in methods:
            operation = operations[method]
            statuses = [429]
            if policy.public:
                operation.setdefault("security", [])
            else:
                operation.setdefault("security", [{"token": []}])
                area, write = scope if scope is not None else (None, False)
                needed = None if area is None else f"{area.value}:{'write' if write else 'read'}"
                operation.setdefault("x-scope", needed)
                statuses += [401, 403]
            if rule.arguments:
                statuses.append(404)
            parameters = operation.get("parameters", [])
            queried = any(isinstance(p, dict) and p.get("in") == "query" for p in parameters)
            if queried or "requestBody" in operation:
                statuses += [400, 422]
            if method in CHANGING:
                statuses.append(409)
            responses: dict[Any, Any] = operation.setdefault("responses", {})
            for status in statuses:
                if status not in responses and str(status) not in responses:
                    responses[status] = http.HTTPStatus(status).name
            for status, response in responses.items():
                # An error a module described in its own words is still a problem document.
                error = str(status).isdigit() and int(status) >= 400
                if error and isinstance(response, dict) and "content" not in response:
                    response["content"] = copy.deepcopy(PROBLEM)
            endpoint = rule.endpoint if len(methods) == 1 else f"{rule.endpoint}.{method}"
            operation.setdefault("operationId", endpoint)
