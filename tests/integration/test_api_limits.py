"""The API's rate limit: counted per live token (else per client address) over every API
blueprint together, answered 429 as a problem document with Retry-After, the count kept in
Redis when REDIS_URL is set; the pages are not limited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask import url_for
from werkzeug.routing import IntegerConverter

from competition.access import policy_of
from competition.api.models import ApiToken
from competition.extensions import db
from config import ConfigError, Settings
from tests.factories import make_user
from tests.integration.api_world import bearer, token_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def app(make_app):  # type: ignore[no-untyped-def]
    return make_app(api_rate_limit="3 per minute")


def dummy_url(app, rule) -> str:  # type: ignore[no-untyped-def]
    values = {
        name: 1 if isinstance(converter, IntegerConverter) else "x"
        for name, converter in rule._converters.items()
    }
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def tokens(app, count: int) -> list[str]:  # type: ignore[no-untyped-def]
    with app.app_context():
        made = [token_for(make_user(), "proposals:read") for _ in range(count)]
        db.session.commit()
        return made


def test_the_fourth_call_of_a_token_is_refused_while_another_token_still_passes(app):
    first, second = tokens(app, 2)
    client = app.test_client()

    answers = [client.get("/api/v1/me", headers=bearer(first)) for _ in range(4)]
    other = client.get("/api/v1/me", headers=bearer(second))

    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    refused = answers[-1]
    assert refused.mimetype == "application/problem+json"
    assert refused.get_json()["status"] == 429
    assert "3 per minute" in refused.get_json()["detail"]
    assert 1 <= int(refused.headers["Retry-After"]) <= 61
    assert refused.headers["X-RateLimit-Limit"] == "3"
    assert refused.headers["X-RateLimit-Remaining"] == "0"
    assert refused.headers["RateLimit-Policy"] == '"api";q=3;w=60'
    assert refused.headers["RateLimit"].startswith('"api";r=0;t=')
    assert other.status_code == 200


def test_every_answer_tells_how_many_calls_are_left(app):
    (token,) = tokens(app, 1)
    client = app.test_client()

    left = [
        client.get("/api/v1/me", headers=bearer(token)).headers["X-RateLimit-Remaining"]
        for _ in range(3)
    ]

    assert left == ["2", "1", "0"]


def test_calls_without_a_live_token_share_the_count_of_their_address(app):
    client = app.test_client()

    anonymous = [client.get("/api/v1/openapi.json").status_code for _ in range(3)]
    made_up = client.get("/api/v1/me", headers=bearer("cmp_made-up-token"))

    assert anonymous == [200, 200, 200]
    assert made_up.status_code == 429


def test_one_count_covers_every_api_operation(app):
    (token,) = tokens(app, 1)
    client = app.test_client()
    for _ in range(3):
        client.get("/api/v1/me", headers=bearer(token))

    passed = []
    for rule in app.url_map.iter_rules():
        policy = policy_of(app.view_functions[rule.endpoint])
        if policy is None or not policy.api:
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            answer = client.open(dummy_url(app, rule), method=method, headers=bearer(token))
            if answer.status_code != 429:
                passed.append(f"{method} {rule.rule}: {answer.status_code}")

    assert passed == []


def test_the_pages_are_not_limited(app):
    client = app.test_client()

    answers = [client.get("/login") for _ in range(5)]

    assert {answer.status_code for answer in answers} == {200}
    assert "X-RateLimit-Limit" not in answers[-1].headers


@pytest.mark.redis
def test_with_redis_every_web_process_shares_the_count(make_app, redis_url):
    one = make_app(api_rate_limit="3 per minute", redis_url=redis_url)
    two = make_app(api_rate_limit="3 per minute", redis_url=redis_url)
    (token,) = tokens(one, 1)

    first = [one.test_client().get("/api/v1/me", headers=bearer(token)) for _ in range(2)]
    third = two.test_client().get("/api/v1/me", headers=bearer(token))
    fourth = one.test_client().get("/api/v1/me", headers=bearer(token))

    assert [answer.status_code for answer in (*first, third, fourth)] == [200, 200, 200, 429]
    import redis

    with one.app_context():
        token_hash = db.session.scalar(sa.select(ApiToken.token_hash))
    keys = redis.Redis.from_url(redis_url).keys(f"*{token_hash}*")
    assert keys, "the count is not in Redis"


def test_the_limit_is_a_setting_read_from_the_environment():
    assert Settings.from_env({}).api_rate_limit == "300 per minute"
    assert Settings.from_env({"API_RATE_LIMIT": "20/second"}).api_rate_limit == "20/second"
    with pytest.raises(ConfigError, match="API_RATE_LIMIT"):
        Settings.from_env({"API_RATE_LIMIT": "lots"})
