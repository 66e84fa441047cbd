import pytest
from itsdangerous import URLSafeTimedSerializer

from competition.accounts import tokens
from competition.accounts.tokens import Purpose, TokenError, make_token, read_token

SECRET = "s" * 48


def test_a_token_names_its_user_and_binding():
    token = make_token(SECRET, Purpose.CONFIRM_EMAIL, user_id=7, bound_to="ada@example.org")
    content = read_token(SECRET, Purpose.CONFIRM_EMAIL, token)
    assert content.user_id == 7
    assert content.fingerprint == tokens.fingerprint("ada@example.org")


def test_a_token_for_one_purpose_is_refused_for_another():
    token = make_token(SECRET, Purpose.CONFIRM_EMAIL, user_id=7, bound_to="a")
    with pytest.raises(TokenError) as caught:
        read_token(SECRET, Purpose.RESET_PASSWORD, token)
    assert not caught.value.expired


def test_a_tampered_token_is_refused():
    token = make_token(SECRET, Purpose.RESET_PASSWORD, user_id=7, bound_to="hash")
    forged = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
    with pytest.raises(TokenError, match="not valid"):
        read_token(SECRET, Purpose.RESET_PASSWORD, forged)


def test_a_token_signed_with_another_key_is_refused():
    token = make_token("other" * 10, Purpose.INVITATION, user_id=7, bound_to="a")
    with pytest.raises(TokenError, match="not valid"):
        read_token(SECRET, Purpose.INVITATION, token)


def test_an_old_token_has_expired(monkeypatch):
    token = make_token(SECRET, Purpose.RESET_PASSWORD, user_id=7, bound_to="hash")
    import time

    real = time.time
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: real() + 3601)
    with pytest.raises(TokenError) as caught:
        read_token(SECRET, Purpose.RESET_PASSWORD, token)
    assert caught.value.expired
    assert "expired" in str(caught.value)


def test_a_signed_payload_of_the_wrong_shape_is_refused():
    serializer = URLSafeTimedSerializer(SECRET, salt="competition.confirm-email")
    token = serializer.dumps({"u": "seven"})
    with pytest.raises(TokenError, match="not valid"):
        read_token(SECRET, Purpose.CONFIRM_EMAIL, token)
