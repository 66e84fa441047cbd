"""The API's own endpoints: its description, and who the token belongs to."""

from __future__ import annotations

from typing import Any

from flask import jsonify
from marshmallow import Schema, fields

from competition.api import API_PREFIX, ApiBlueprint, spec_dict
from competition.api.auth import api_public, api_token, api_user, token_in_request

blp = ApiBlueprint("api_meta", __name__, url_prefix=API_PREFIX, description="About the API")


@blp.route("/openapi.json")
@blp.doc(
    responses={
        "200": {
            "description": "the OpenAPI 3.1 description",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    }
)
@api_public
def openapi_json() -> Any:
    """This description of the API, as OpenAPI 3.1."""
    return jsonify(spec_dict())


class MeSchema(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    roles = fields.List(fields.String(), required=True)
    scopes = fields.List(fields.String(), required=True)


@blp.route("/me")
@blp.doc(security=[{"token": []}])
@blp.etag
@blp.response(200, MeSchema)
@api_token(None)
def me() -> dict[str, Any]:
    """The person the token belongs to, with the token's scopes."""
    user = api_user()
    token = token_in_request()
    assert token is not None
    return {
        "id": user.id,
        "name": user.name,
        "roles": sorted(role.value for role in user.roles),
        "scopes": sorted(token.scopes),
    }
