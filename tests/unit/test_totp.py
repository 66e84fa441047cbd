"""The pure parts of second factors: which step a code belongs to, recovery codes, the setting."""

from __future__ import annotations

import datetime as dt

import pyotp
import pytest

from competition.accounts import totp
from config import ConfigError, Settings

T = dt.datetime(2027, 3, 1, 9, 0, 10, tzinfo=dt.UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def app_code(seconds_from_t: int) -> str:
    return pyotp.TOTP(SECRET).at(T + dt.timedelta(seconds=seconds_from_t))


@pytest.mark.parametrize(
    ("offset", "accepted"), [(-60, False), (-30, True), (0, True), (30, True), (60, False)]
)
def test_a_code_is_accepted_one_step_either_side_and_no_further(offset, accepted):
    found = totp.matching_step(SECRET, app_code(offset), now=T, after=None)

    assert (found == totp.step_at(T) + offset // 30) if accepted else found is None


def test_a_code_of_a_step_already_used_or_earlier_is_refused():
    used = totp.step_at(T)

    assert totp.matching_step(SECRET, app_code(0), now=T, after=used) is None
    assert totp.matching_step(SECRET, app_code(-30), now=T, after=used) is None
    assert totp.matching_step(SECRET, app_code(30), now=T, after=used) == used + 1


def test_a_code_typed_with_a_space_is_read_and_letters_are_not():
    spaced = app_code(0)[:3] + " " + app_code(0)[3:]

    assert totp.matching_step(SECRET, spaced, now=T, after=None) == totp.step_at(T)
    assert totp.matching_step(SECRET, "12345a", now=T, after=None) is None


def test_recovery_codes_are_ten_different_ones_and_match_however_typed():
    codes = totp.new_recovery_codes()

    assert len(set(codes)) == 10
    code = codes[0]
    assert totp.recovery_code_hash(code.upper().replace("-", " ")) == totp.recovery_code_hash(code)
    assert totp.recovery_code_hash(codes[1]) != totp.recovery_code_hash(code)


def test_a_secret_from_a_cookie_is_checked_before_use():
    assert totp.is_secret(totp.new_secret())
    assert not totp.is_secret("too-short")
    assert not totp.is_secret("1" * 32)  # not base32
    assert not totp.is_secret(None)


def test_the_qr_code_is_an_svg_image_the_pages_policy_allows():
    assert totp.qr_data_url("otpauth://totp/x").startswith("data:image/svg+xml;base64,")


STRONG = {"SECRET_KEY": "k" * 48, "DATABASE_URL": "postgresql://x/y"}


def test_production_requires_a_second_factor_of_officers_and_administrators_by_default():
    assert Settings.from_env({"APP_ENV": "production", **STRONG}).second_factor_required_roles == (
        "officer",
        "admin",
    )
    assert Settings.from_env({}).second_factor_required_roles == ()
    assert Settings.from_env(
        {"SECOND_FACTOR_REQUIRED_ROLES": "Juror, officer"}
    ).second_factor_required_roles == ("juror", "officer")
    unset = {"APP_ENV": "production", "SECOND_FACTOR_REQUIRED_ROLES": "none", **STRONG}
    assert Settings.from_env(unset).second_factor_required_roles == ()


def test_an_unknown_role_in_the_second_factor_setting_stops_the_start():
    with pytest.raises(ConfigError, match="SECOND_FACTOR_REQUIRED_ROLES"):
        Settings.from_env({"SECOND_FACTOR_REQUIRED_ROLES": "officers"})
