"""The API at ``/api/v1``: flask-smorest blueprints whose marshmallow schemas are the OpenAPI
3.1 description (``/api/v1/openapi.json``), so the description cannot drift from the code.

Each area of endpoints is a module with its ``blp`` (``ApiBlueprint``), registered in
``BLUEPRINTS`` below. Conventions every endpoint follows:

- a policy: ``auth.api_public`` or ``auth.api_token(area, write=)``, then the object checked
  with the pages' permission predicates (``auth.api_user()``); an object the caller may not
  know about is 404, as on the pages;
- lists take ``paging.PageArgs`` and answer ``paging.page_schema(Item)`` with a cursor;
- reads carry an ETag (``@blp.etag``), so ``If-None-Match`` answers 304;
- errors are problem documents (``problems.ApiProblem``; HTTP errors are turned into them by
  the app's error handlers);
- money is a decimal string (``schemas.Amount``), times ISO 8601 in UTC.

What every operation shares is added to the description here, from the view's policy
(``describe.Describe``): its security requirement and scope, and the problem responses it can
give (400, 401, 403, 404, 409, 422, 429 as they apply). Every blueprint of ``blueprints()`` is
rate limited (``limits``). ``/api/v1/docs`` shows the description as a page (``docs``).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, has_app_context
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint

from competition.api.problems import ApiProblem, ProblemSchema, from_exception

API_PREFIX = "/api/v1"
SPEC = "api_spec"


class ProductApi(Api):  # type: ignore[misc]
    ERROR_SCHEMA = ProblemSchema
    # No catch-all "default" response: each operation lists the statuses it can answer
    # (describe.Describe), so a check of the answers against the description means something.
    DEFAULT_ERROR_RESPONSE_NAME = None

    def _register_error_handlers(self) -> None:
        """The app's own handlers answer every error (problem documents under /api/)."""

    def _register_pagination_header(self) -> None:
        """Lists page by cursor (``paging``), not by flask-smorest's page numbers."""

    def _register_responses(self) -> None:
        """The responses operations refer to by status name (``NOT_FOUND``…): every error a
        problem document, ``application/problem+json``."""
        from competition.api.describe import register_responses

        register_responses(self.spec)


api = ProductApi()


def blueprints() -> list[ApiBlueprint]:
    from competition.api import grants, meta, programmes, proposals, public, reviews, selection

    return [
        meta.blp,
        public.blp,
        programmes.blp,
        proposals.blp,
        reviews.blp,
        selection.blp,
        grants.blp,
    ]


def init_app(app: Flask) -> None:
    from competition.api import describe, docs, limits, schemas

    app.config.update(
        API_TITLE="Funding competitions API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX=None,  # meta.py serves the description and its documentation page
        API_SPEC_OPTIONS={
            "info": {
                "description": (
                    "Programmes, calls, proposals, reviews, selection and grants of the funding "
                    "competition system. Public endpoints (under /public) show what the portal "
                    "shows; the others need a personal API token, created on the account page "
                    "(/account/api-tokens) and sent as 'Authorization: Bearer <token>'. Lists "
                    "are paged by cursor; reads carry ETags; errors are application/problem+json "
                    "(RFC 9457); calls are rate limited per token. A readable version of this "
                    "description is at /api/v1/docs."
                ),
            },
            "components": {
                "securitySchemes": {
                    "token": {
                        "type": "http",
                        "scheme": "bearer",
                        "description": "personal API token",
                    }
                }
            },
        },
    )
    api.init_app(app, spec_kwargs={"extra_plugins": [describe.Describe(app)]})
    app.extensions[SPEC] = api.spec
    schemas.register_fields(api)
    areas = blueprints()
    for blp in areas:
        api.register_blueprint(blp)
    from competition.extensions import csrf

    for blp in areas:
        csrf.exempt(blp)
    limits.init_app(app, areas)
    docs.init_app(app)
    app.register_error_handler(ApiProblem, from_exception)


def spec_dict() -> dict[str, Any]:
    """The description of the current app (a process may build several apps: the tests);
    outside an app, that of the app built last."""
    spec = current_app.extensions.get(SPEC, api.spec) if has_app_context() else api.spec
    return spec.to_dict()  # type: ignore[no-any-return]
