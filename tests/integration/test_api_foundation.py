"""What every API endpoint shares: tokens, problem documents, the description, ETags."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from competition.accounts.models import Role
from competition.api.models import ApiToken
from competition.api.tokens import revoke_token
from competition.db import utcnow
from competition.extensions import db
from tests.factories import PASSWORD, make_user
from tests.integration.api_world import bearer, token_for

# /me answers any live token with its own person: no object of anyone else to reach.
COVERED_OPERATIONS = {("get", "/api/v1/me")}


def test_description_is_openapi_3_1_generated_from_the_endpoints(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()

    assert spec["openapi"].startswith("3.1")
    assert "/api/v1/me" in spec["paths"]
    assert spec["components"]["securitySchemes"]["token"]["scheme"] == "bearer"


def test_call_without_token_is_refused_with_a_problem_document(app):
    response = app.test_client().get("/api/v1/me")

    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_the_session_cookie_does_not_open_the_api(app, ctx):
    user = make_user(roles=(Role.OFFICER,))
    db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": user.email, "password": PASSWORD})

    assert client.get("/api/v1/me").status_code == 401


def test_a_live_token_names_its_person_and_scopes(app, ctx):
    user = make_user(roles=(Role.OFFICER,))
    token = token_for(user, "programmes:read", "grants:write")

    body = app.test_client().get("/api/v1/me", headers=bearer(token)).get_json()

    assert body["id"] == user.id
    assert body["scopes"] == ["grants:write", "programmes:read"]
    assert body["roles"] == ["officer"]


def test_only_the_tokens_hash_is_kept(app, ctx):
    user = make_user()
    token = token_for(user, "proposals:read")

    stored = db.session.execute(sa.select(ApiToken)).scalar_one()
    assert token not in (stored.token_hash, stored.prefix)
    assert token.startswith(stored.prefix)


def test_revoked_expired_and_disabled_tokens_are_refused(app, ctx):
    client = app.test_client()
    revoked_owner, expired_owner, disabled_owner = make_user(), make_user(), make_user()
    revoked = token_for(revoked_owner, "proposals:read")
    expired = token_for(expired_owner, "proposals:read")
    disabled = token_for(disabled_owner, "proposals:read")
    revoke_token(
        revoked_owner,
        db.session.execute(
            sa.select(ApiToken).where(ApiToken.user_id == revoked_owner.id)
        ).scalar_one(),
        now=utcnow(),
    )
    db.session.execute(
        sa.update(ApiToken)
        .where(ApiToken.user_id == expired_owner.id)
        .values(
            created_at=utcnow() - dt.timedelta(days=3), expires_at=utcnow() - dt.timedelta(days=1)
        )
    )
    from competition.accounts.models import UserStatus

    disabled_owner.status = UserStatus.DISABLED
    db.session.commit()

    for token in (revoked, expired, disabled, "cmp_not-a-token"):
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_unchanged_answer_is_not_sent_again(app, ctx):
    token = token_for(make_user(), "proposals:read")
    client = app.test_client()

    first = client.get("/api/v1/me", headers=bearer(token))
    again = client.get(
        "/api/v1/me", headers={**bearer(token), "If-None-Match": first.headers["ETag"]}
    )

    assert first.status_code == 200
    assert again.status_code == 304


def test_unknown_api_address_is_a_problem_document(app):
    response = app.test_client().get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
