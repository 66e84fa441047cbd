"""Settings of one running instance, read from the environment.

With nothing set, the app runs in development on SQLite in the instance folder and runs background
tasks in-process. Production (``APP_ENV=production``) refuses to start without a real secret key.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from limits import parse_many

ENVIRONMENTS = ("development", "testing", "production")
# Secrets that appear in docs or examples are never acceptable in production.
KNOWN_WEAK_SECRETS = {"", "dev", "change-me", "changeme", "secret", "development"}
MIN_SECRET_LENGTH = 32


class ConfigError(ValueError):
    """The environment describes an instance that must not start."""


def _flag(value: str | None, default: bool) -> bool:
    if value is None or value.strip() == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"expected a yes/no value, got {value!r}")


def _int(name: str, value: str | None, default: int) -> int:
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from exc


LOCALES = ("de", "en")
ROLES = ("applicant", "juror", "officer", "admin")
# Production asks officers and administrators for a second factor unless told otherwise.
PRODUCTION_SECOND_FACTOR_ROLES = ("officer", "admin")


def _roles(value: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
    """A comma-separated list of roles; unset: ``default``; empty or ``none``: no role."""
    if value is None:
        return default
    names = [name.strip().lower() for name in value.split(",") if name.strip()]
    if names == ["none"]:
        return ()
    unknown = [name for name in names if name not in ROLES]
    if unknown:
        raise ConfigError(
            f"SECOND_FACTOR_REQUIRED_ROLES names roles among {', '.join(ROLES)}, "
            f"got {', '.join(unknown)}"
        )
    return tuple(dict.fromkeys(names))


def _locale(value: str | None) -> str:
    value = (value or Settings.default_locale).strip().lower()
    if value not in LOCALES:
        raise ConfigError(f"DEFAULT_LOCALE must be one of {', '.join(LOCALES)}, got {value!r}")
    return value


PROVIDER_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
DEFAULT_OIDC_SCOPE = "openid email profile"


@dataclass(frozen=True)
class OidcProvider:
    """An OpenID Connect provider people may sign in with: ``name`` is its short name in
    addresses and the database (never change it once people have linked), ``title`` what the
    login page shows ("Sign in with …"), ``issuer`` the address whose
    ``/.well-known/openid-configuration`` describes it."""

    name: str
    title: str
    issuer: str
    client_id: str
    client_secret: str = field(default="", repr=False)
    scope: str = DEFAULT_OIDC_SCOPE


def _oidc_providers(value: str | None, env: Mapping[str, str]) -> tuple[OidcProvider, ...]:
    """``OIDC_PROVIDERS``: a JSON list of objects with name, title, issuer, client_id,
    client_secret (or ``OIDC_<NAME>_CLIENT_SECRET`` in the environment) and an optional scope."""
    if value is None or not value.strip():
        return ()
    try:
        items = json.loads(value)
    except ValueError as exc:
        raise ConfigError(f"OIDC_PROVIDERS must be a JSON list: {exc}") from exc
    if not isinstance(items, list):
        raise ConfigError("OIDC_PROVIDERS must be a JSON list of providers")
    providers: list[OidcProvider] = []
    for item in items:
        if not isinstance(item, dict):
            raise ConfigError("each entry of OIDC_PROVIDERS must be an object")
        name = str(item.get("name") or "").strip().lower()
        secret_variable = "OIDC_" + name.upper().replace("-", "_") + "_CLIENT_SECRET"
        providers.append(
            OidcProvider(
                name=name,
                title=str(item.get("title") or name).strip(),
                issuer=str(item.get("issuer") or "").strip().rstrip("/"),
                client_id=str(item.get("client_id") or "").strip(),
                client_secret=str(item.get("client_secret") or env.get(secret_variable) or ""),
                scope=str(item.get("scope") or DEFAULT_OIDC_SCOPE).strip(),
            )
        )
    return tuple(providers)


@dataclass(frozen=True)
class Settings:
    env: str = "development"
    secret_key: str | None = None
    database_url: str | None = None
    redis_url: str | None = None
    mail_server: str | None = None
    mail_port: int = 25
    mail_username: str | None = None
    mail_password: str | None = field(default=None, repr=False)
    mail_use_tls: bool = False
    mail_sender: str = "Funding competitions <no-reply@competition.local>"
    upload_folder: str | None = None
    base_url: str = "http://127.0.0.1:5000"
    demo_mode: bool = True
    demo_password: str = field(default="demo", repr=False)
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    trusted_proxies: int = 0
    task_queue: str = "competition"
    login_failures_per_account: int = 5
    login_failures_per_address: int = 30
    throttle_window_minutes: int = 15
    # A worker's claim on an outbox message; after this, the sweep takes it to belong to a dead
    # worker and sends the message again. Longer than any SMTP transaction can take.
    notification_claim_lease_seconds: int = 300
    # A running job (assignment run, ranking, publication) beats its heart this often; one whose
    # last beat is older than the timeout belongs to a worker that died: its subject is free
    # again, and a redelivered task may take it over.
    job_heartbeat_seconds: int = 10
    job_timeout_seconds: int = 90
    # A file outside the database (other storage) where the audit chain's latest hash is
    # appended every hour, so that a cut or rewritten chain shows (``audit verify --anchor``).
    audit_anchor_file: str | None = None
    # Without a broker, long tasks (runs, rankings, publication) run on a thread of their own so
    # that no request waits for them; inline runs them right after the commit instead, where a
    # caller needs the result at once (tests, the command line).
    tasks_inline: bool = False
    # The language of pages and mail for anyone who has not chosen one (``de`` or ``en``).
    default_locale: str = "de"
    # Where the operator keeps the texts of the Impressum, the privacy policy and the
    # accessibility statement (``impressum.de.md`` …); the instance folder's ``legal/`` without.
    legal_folder: str | None = None
    # A granted membership goes into its annual re-evaluation this many days before its period
    # ends (the beat task ``memberships.start_reevaluations``).
    membership_reevaluation_days: int = 60
    # How many calls a program may make to the API (per token, or per client address without
    # one), in the notation of the ``limits`` library: "300 per minute", "20/second; 5000/hour".
    # Counted in Redis with REDIS_URL (shared by every web process), else in each process.
    api_rate_limit: str = "300 per minute"
    # The roles whose people must set up a second factor before they use any page but its
    # set-up (``officer,admin`` in production; none in development, the demo and the tests).
    second_factor_required_roles: tuple[str, ...] = ()
    # Passkeys (WebAuthn): the relying party's id (a domain, like "foerderung.example.de") and
    # the origin browsers show ("https://foerderung.example.de"). Without them both are taken
    # from the request's host, which is right unless a proxy rewrites it untrusted.
    webauthn_rp_id: str | None = None
    webauthn_origin: str | None = None
    # Single sign-on: the OpenID Connect providers people may sign in with (``OIDC_PROVIDERS``).
    oidc_providers: tuple[OidcProvider, ...] = ()
    # A person's download of all their data (the ZIP built by the export job) is kept this many
    # days, then deleted by the beat task ``personal_data.delete_expired``.
    data_export_days: int = 7
    # Anonymous visitors' portal pages are kept rendered (in Redis with REDIS_URL, else in each
    # process) under the marks of what is published; ``PORTAL_PAGE_CACHE=off`` renders each.
    portal_page_cache: bool = True

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        app_env = env.get("APP_ENV", "development").strip() or "development"
        if app_env not in ENVIRONMENTS:
            raise ConfigError(f"APP_ENV must be one of {', '.join(ENVIRONMENTS)}, got {app_env!r}")
        production = app_env == "production"
        settings = cls(
            env=app_env,
            secret_key=env.get("SECRET_KEY") or None,
            database_url=env.get("DATABASE_URL") or None,
            redis_url=env.get("REDIS_URL") or None,
            mail_server=env.get("MAIL_SERVER") or None,
            mail_port=_int("MAIL_PORT", env.get("MAIL_PORT"), 25),
            mail_username=env.get("MAIL_USERNAME") or None,
            mail_password=env.get("MAIL_PASSWORD") or None,
            mail_use_tls=_flag(env.get("MAIL_USE_TLS"), False),
            mail_sender=env.get("MAIL_SENDER") or cls.mail_sender,
            upload_folder=env.get("UPLOAD_FOLDER") or None,
            base_url=(env.get("BASE_URL") or cls.base_url).rstrip("/"),
            demo_mode=_flag(env.get("DEMO_MODE"), not production),
            demo_password=env.get("DEMO_PASSWORD") or "demo",
            session_idle_minutes=_int("SESSION_IDLE_MINUTES", env.get("SESSION_IDLE_MINUTES"), 30),
            session_absolute_hours=_int(
                "SESSION_ABSOLUTE_HOURS", env.get("SESSION_ABSOLUTE_HOURS"), 12
            ),
            trusted_proxies=_int("TRUSTED_PROXIES", env.get("TRUSTED_PROXIES"), 0),
            task_queue=env.get("TASK_QUEUE") or "competition",
            notification_claim_lease_seconds=_int(
                "NOTIFICATION_CLAIM_LEASE_SECONDS",
                env.get("NOTIFICATION_CLAIM_LEASE_SECONDS"),
                cls.notification_claim_lease_seconds,
            ),
            job_heartbeat_seconds=_int(
                "JOB_HEARTBEAT_SECONDS",
                env.get("JOB_HEARTBEAT_SECONDS"),
                cls.job_heartbeat_seconds,
            ),
            job_timeout_seconds=_int(
                "JOB_TIMEOUT_SECONDS", env.get("JOB_TIMEOUT_SECONDS"), cls.job_timeout_seconds
            ),
            tasks_inline=_flag(env.get("TASKS_INLINE"), False),
            audit_anchor_file=env.get("AUDIT_ANCHOR_FILE") or None,
            default_locale=_locale(env.get("DEFAULT_LOCALE")),
            legal_folder=env.get("LEGAL_FOLDER") or None,
            membership_reevaluation_days=_int(
                "MEMBERSHIP_REEVALUATION_DAYS",
                env.get("MEMBERSHIP_REEVALUATION_DAYS"),
                cls.membership_reevaluation_days,
            ),
            api_rate_limit=(env.get("API_RATE_LIMIT") or "").strip() or cls.api_rate_limit,
            second_factor_required_roles=_roles(
                env.get("SECOND_FACTOR_REQUIRED_ROLES"),
                PRODUCTION_SECOND_FACTOR_ROLES if production else (),
            ),
            webauthn_rp_id=(env.get("WEBAUTHN_RP_ID") or "").strip().lower() or None,
            webauthn_origin=(env.get("WEBAUTHN_ORIGIN") or "").strip().rstrip("/") or None,
            oidc_providers=_oidc_providers(env.get("OIDC_PROVIDERS"), env),
            data_export_days=_int(
                "DATA_EXPORT_DAYS", env.get("DATA_EXPORT_DAYS"), cls.data_export_days
            ),
            portal_page_cache=_flag(env.get("PORTAL_PAGE_CACHE"), True),
        )
        settings.check()
        return settings

    @property
    def production(self) -> bool:
        return self.env == "production"

    @property
    def mail_backend(self) -> str:
        """``smtp`` with a mail server; otherwise ``dev``: mail is kept for the in-app mailbox."""
        return "smtp" if self.mail_server else "dev"

    @property
    def tasks_in_process(self) -> bool:
        return self.redis_url is None

    def check(self) -> None:
        if self.production:
            secret = self.secret_key or ""
            if secret.lower() in KNOWN_WEAK_SECRETS or len(secret) < MIN_SECRET_LENGTH:
                raise ConfigError(
                    "production needs SECRET_KEY: a random value of at least "
                    f"{MIN_SECRET_LENGTH} characters (e.g. python -c 'import secrets; "
                    "print(secrets.token_urlsafe(48))')"
                )
            if not self.database_url:
                raise ConfigError("production needs DATABASE_URL (PostgreSQL)")
        if self.session_idle_minutes <= 0 or self.session_absolute_hours <= 0:
            raise ConfigError("session timeouts must be positive")
        if self.notification_claim_lease_seconds <= 0:
            raise ConfigError("NOTIFICATION_CLAIM_LEASE_SECONDS must be positive")
        if not 0 < self.job_heartbeat_seconds * 2 <= self.job_timeout_seconds:
            raise ConfigError(
                "JOB_HEARTBEAT_SECONDS must be positive and at most half of JOB_TIMEOUT_SECONDS"
            )
        if self.trusted_proxies < 0:
            raise ConfigError("TRUSTED_PROXIES must be 0 or more")
        if not 0 <= self.membership_reevaluation_days <= 366:
            raise ConfigError("MEMBERSHIP_REEVALUATION_DAYS must be between 0 and 366")
        if self.webauthn_origin and not self.webauthn_origin.startswith(("https://", "http://")):
            raise ConfigError(
                "WEBAUTHN_ORIGIN must be the address browsers show, like https://example.de"
            )
        if self.webauthn_rp_id and ("/" in self.webauthn_rp_id or ":" in self.webauthn_rp_id):
            raise ConfigError("WEBAUTHN_RP_ID must be a domain name, like example.de")
        self._check_oidc_providers()
        if not 1 <= self.data_export_days <= 90:
            raise ConfigError("DATA_EXPORT_DAYS must be between 1 and 90")
        try:
            parse_many(self.api_rate_limit)
        except ValueError as error:
            raise ConfigError(
                f"API_RATE_LIMIT must read like '300 per minute', got {self.api_rate_limit!r}"
            ) from error

    def _check_oidc_providers(self) -> None:
        names = [provider.name for provider in self.oidc_providers]
        if len(set(names)) != len(names):
            raise ConfigError("OIDC_PROVIDERS names each provider once")
        for provider in self.oidc_providers:
            if not PROVIDER_NAME.match(provider.name) or provider.name == "link":
                raise ConfigError(
                    "each provider of OIDC_PROVIDERS needs a name of lower-case letters, digits "
                    f"and hyphens (not 'link'), got {provider.name!r}"
                )
            if not provider.issuer.startswith(("https://", "http://")):
                raise ConfigError(f"OIDC provider {provider.name}: issuer must be an address")
            if self.production and not provider.issuer.startswith("https://"):
                raise ConfigError(f"OIDC provider {provider.name}: production needs https")
            if not provider.client_id:
                raise ConfigError(f"OIDC provider {provider.name}: client_id is missing")
            if "openid" not in provider.scope.split():
                raise ConfigError(f"OIDC provider {provider.name}: the scope must hold openid")

    def provider(self, name: str) -> OidcProvider | None:
        return next((p for p in self.oidc_providers if p.name == name), None)

    def with_overrides(self, **changes: object) -> Settings:
        updated = replace(self, **changes)  # type: ignore[arg-type]
        updated.check()
        return updated
