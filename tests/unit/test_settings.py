import pytest

from config import ConfigError, Settings

STRONG = "k" * 48


def test_nothing_set_gives_the_embedded_development_defaults():
    settings = Settings.from_env({})
    assert settings.env == "development"
    assert settings.database_url is None
    assert settings.tasks_in_process
    assert not settings.tasks_inline  # long tasks leave the request for a thread of their own
    assert Settings.from_env({"TASKS_INLINE": "yes"}).tasks_inline
    assert settings.audit_anchor_file is None  # no anchors unless a place outside is named
    anchors = Settings.from_env({"AUDIT_ANCHOR_FILE": "/srv/anchors/audit.jsonl"})
    assert anchors.audit_anchor_file == "/srv/anchors/audit.jsonl"
    assert settings.mail_backend == "dev"
    assert settings.demo_mode
    assert settings.default_locale == "de"
    assert Settings.from_env({"DEFAULT_LOCALE": "DE"}).default_locale == "de"


def test_production_refuses_to_start_without_a_secret_key():
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env({"APP_ENV": "production", "DATABASE_URL": "postgresql://x/y"})


@pytest.mark.parametrize("secret", ["dev", "change-me", "short-but-random-123"])
def test_production_refuses_a_weak_or_short_secret(secret):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        Settings.from_env(
            {"APP_ENV": "production", "SECRET_KEY": secret, "DATABASE_URL": "postgresql://x/y"}
        )


def test_production_needs_a_database_url():
    with pytest.raises(ConfigError, match="DATABASE_URL"):
        Settings.from_env({"APP_ENV": "production", "SECRET_KEY": STRONG})


def test_production_with_real_settings_starts_without_demo_mode():
    settings = Settings.from_env(
        {"APP_ENV": "production", "SECRET_KEY": STRONG, "DATABASE_URL": "postgresql://x/y"}
    )
    assert settings.production
    assert not settings.demo_mode


def test_services_and_mail_come_from_the_environment():
    settings = Settings.from_env(
        {
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "MAIL_SERVER": "mail.example.org",
            "MAIL_PORT": "587",
            "MAIL_USE_TLS": "yes",
            "DEMO_PASSWORD": "another",
            "BASE_URL": "https://competition.example.org/",
        }
    )
    assert not settings.tasks_in_process
    assert settings.mail_backend == "smtp"
    assert settings.mail_port == 587
    assert settings.mail_use_tls
    assert settings.demo_password == "another"
    assert settings.base_url == "https://competition.example.org"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("APP_ENV", "staging", "APP_ENV"),
        ("MAIL_PORT", "twenty-five", "MAIL_PORT"),
        ("MAIL_USE_TLS", "perhaps", "yes/no"),
        ("TASKS_INLINE", "sometimes", "yes/no"),
        ("SESSION_IDLE_MINUTES", "0", "positive"),
        ("TRUSTED_PROXIES", "-1", "TRUSTED_PROXIES"),
        ("DEFAULT_LOCALE", "fr", "DEFAULT_LOCALE"),
        ("WEBAUTHN_ORIGIN", "foerderung.example.de", "WEBAUTHN_ORIGIN"),
        ("WEBAUTHN_RP_ID", "https://foerderung.example.de", "WEBAUTHN_RP_ID"),
    ],
)
def test_malformed_values_are_refused_with_the_setting_named(name, value, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({name: value})


def test_the_mail_password_never_appears_in_the_settings_repr():
    settings = Settings.from_env({"MAIL_PASSWORD": "hunter2-secret"})
    assert "hunter2-secret" not in repr(settings)
