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
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api
from flask_smorest import Blueprint as ApiBlueprint

from competition.api.problems import ApiProblem, from_exception

API_PREFIX = "/api/v1"


class ProductApi(Api):  # type: ignore[misc]
    def _register_error_handlers(self) -> None:
        """The app's own handlers answer every error (problem documents under /api/)."""


api = ProductApi()


def blueprints() -> list[ApiBlueprint]:
    from competition.api import grants, meta, programmes, proposals, reviews, selection

    return [meta.blp, programmes.blp, proposals.blp, reviews.blp, selection.blp, grants.blp]


def init_app(app: Flask) -> None:
    from competition.api import schemas

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
                    "and sent as 'Authorization: Bearer <token>'. Lists are paged by cursor; "
                    "errors are application/problem+json (RFC 9457)."
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
    api.init_app(app)
    schemas.register_fields(api)
    for blp in blueprints():
        api.register_blueprint(blp)
    from competition.extensions import csrf

    for blp in blueprints():
        csrf.exempt(blp)
    app.register_error_handler(ApiProblem, from_exception)


def spec_dict() -> dict[str, Any]:
    return api.spec.to_dict()  # type: ignore[no-any-return]
