"""Settings: read once at start-up from config/ and the environment, typed and checked.

A bad or missing setting stops the app with an error that names it, instead of
failing later in a request or a job.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from email_validator import EmailNotValidError, validate_email
from flask import Config

from vocloop.values import PRIORITIES

CONFIG_DIR = Path(__file__).resolve().parent.parent / "config"
ENVIRONMENTS = ("development", "testing", "production")


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it and says what is expected."""


def _text(value: str) -> str:
    return value.strip()


def _int(value: str) -> int:
    return int(value)


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ValueError("expected true or false")


def _json(value: str) -> Any:
    return json.loads(value)


@dataclass(frozen=True)
class Setting:
    name: str
    parse: Callable[[str], Any] = _text
    required_in_production: bool = False


SETTINGS = [
    Setting("VOCLOOP_ENV"),
    Setting("DATABASE_URL", required_in_production=True),
    Setting("REDIS_URL", required_in_production=True),
    Setting("SECRET_KEY", required_in_production=True),
    Setting("SECRET_KEY_FALLBACKS", _json),
    Setting("SENDGRID_API_KEY", required_in_production=True),
    Setting("SENDGRID_API_HOST"),
    Setting("SENDGRID_TIMEOUT_SECONDS", _int),
    Setting("SENDGRID_WEBHOOK_PUBLIC_KEY"),
    Setting("INBOUND_PARSE_SECRET"),
    Setting("REPLY_DOMAIN"),
    Setting("MAIL_BATCH_SIZE", _int),
    Setting("MAIL_LEASE_SECONDS", _int),
    Setting("MAIL_SETTLE_SECONDS", _int),
    Setting("MAIL_RETRY_BASE_SECONDS", _int),
    Setting("SWEEP_SECONDS", _int),
    Setting("VOCLOOP_BASE_URL", required_in_production=True),
    Setting("MAIL_FROM", required_in_production=True),
    Setting("MAIL_FROM_NAME"),
    Setting("FALLBACK_OWNER_EMAIL"),
    Setting("CLASSIFIER"),
    Setting("METRICS_QUERY_WORKERS", _int),
    Setting("METRICS_WORKERS_PER_QUERY", _int),
    Setting("HIGH_VALUE_ACCOUNT", lambda v: None if v.strip().lower() in ("", "none") else int(v)),
    Setting("COMMENT_GRACE_MINUTES", _int),
    Setting("ANSWER_SETTLE_SECONDS", _int),
    Setting("SLA_HOURS", _json),
    Setting("RATELIMIT_ENABLED", _bool),
    Setting("RATELIMIT_API"),
    Setting("RATELIMIT_PUBLIC"),
    Setting("RATELIMIT_LOGIN"),
    Setting("LOG_FORMAT"),
    Setting("TRUSTED_PROXIES", _int),
    Setting("METRICS_ENABLED", _bool),
    Setting("METRICS_TOKEN"),
    Setting("COMMENT_RETENTION_DAYS", _int),
    Setting("THEMES_MAX_COMMENTS", lambda v: None if v.strip().lower() in ("", "none") else int(v)),
    Setting("INLINE_SCHEDULER", _bool),
    Setting("WEBHOOK_RETRY_HOURS", _int),
    Setting("WEBHOOK_TIMEOUT_SECONDS", _int),
    Setting("WEBHOOK_ALLOW_PRIVATE_URLS", _bool),
    Setting("WEBHOOK_CA_BUNDLE"),
]


def load_settings(environ: dict[str, str] | None = None, overrides: dict | None = None) -> dict:
    """Merge config/default.py, config/<env>.py, environment variables and explicit overrides."""
    environ = os.environ if environ is None else environ
    overrides = overrides or {}
    env_name = overrides.get("VOCLOOP_ENV") or environ.get("VOCLOOP_ENV") or "development"
    if env_name not in ENVIRONMENTS:
        raise ConfigError(f"VOCLOOP_ENV is {env_name!r}; expected one of {', '.join(ENVIRONMENTS)}")

    settings: dict[str, Any] = {}
    _read_config_file(CONFIG_DIR / "default.py", settings)
    if env_name != "development":
        _read_config_file(CONFIG_DIR / f"{env_name}.py", settings)
    for setting in SETTINGS:
        raw = environ.get(setting.name)
        if raw is None or raw.strip() == "":
            continue
        try:
            settings[setting.name] = setting.parse(raw)
        except ValueError as exc:
            raise ConfigError(f"{setting.name} is malformed ({exc}): {raw[:40]!r}") from None
    settings.update(overrides)
    settings["VOCLOOP_ENV"] = env_name
    validate(settings)
    return settings


def _read_config_file(path: Path, into: dict) -> None:
    config = Config(str(CONFIG_DIR))
    config.from_pyfile(str(path))
    into.update(config)


def validate(settings: dict) -> None:
    """Raise ConfigError for the first setting that is missing in production or malformed anywhere."""
    if settings["VOCLOOP_ENV"] == "production":
        missing = [s.name for s in SETTINGS if s.required_in_production and not settings.get(s.name)]
        if missing:
            raise ConfigError(f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} required in "
                              "production and not set")
        if len(settings["SECRET_KEY"]) < 32:
            raise ConfigError("SECRET_KEY is too short: production needs at least 32 random characters")
        if urlparse(settings["VOCLOOP_BASE_URL"]).scheme != "https":
            raise ConfigError("VOCLOOP_BASE_URL must be an https:// URL in production")

    database_url = settings.get("DATABASE_URL")
    if database_url:
        settings["DATABASE_URL"] = normalize_database_url(database_url)
    redis_url = settings.get("REDIS_URL")
    if redis_url and urlparse(redis_url).scheme not in ("redis", "rediss", "unix"):
        raise ConfigError(f"REDIS_URL must start with redis://, rediss:// or unix://: {redis_url[:40]!r}")
    for name in ("VOCLOOP_BASE_URL", "SENDGRID_API_HOST"):
        value = settings.get(name)
        if value:
            parsed = urlparse(value)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ConfigError(f"{name} must be an http(s) URL with a host: {value[:60]!r}")
            settings[name] = value.rstrip("/")
    for name in ("MAIL_FROM", "FALLBACK_OWNER_EMAIL"):
        value = settings.get(name)
        if value:
            try:
                validate_email(value, check_deliverability=False, test_environment=True)
            except EmailNotValidError as exc:
                raise ConfigError(f"{name} is not a valid email address: {exc}") from None
    sla = settings.get("SLA_HOURS") or {}
    for priority in PRIORITIES:
        hours = sla.get(priority)
        if not (isinstance(hours, (list, tuple)) and len(hours) == 2 and all(
                isinstance(h, (int, float)) and h > 0 for h in hours)):
            raise ConfigError(f"SLA_HOURS[{priority}] must be [first_action_hours, close_hours], both > 0")
    if settings.get("COMMENT_GRACE_MINUTES", 0) < 0:
        raise ConfigError("COMMENT_GRACE_MINUTES must be 0 or more")
    if settings.get("ANSWER_SETTLE_SECONDS", 0) < 0:
        raise ConfigError("ANSWER_SETTLE_SECONDS must be 0 or more")
    if not 1 <= settings.get("MAIL_BATCH_SIZE", 1000) <= 1000:
        raise ConfigError("MAIL_BATCH_SIZE must be between 1 and 1000 (SendGrid's limit per request)")
    if settings.get("MAIL_LEASE_SECONDS", 120) < 1 or settings.get("MAIL_SETTLE_SECONDS", 0) < 0:
        raise ConfigError("MAIL_LEASE_SECONDS must be at least 1 and MAIL_SETTLE_SECONDS 0 or more")
    if settings.get("LOG_FORMAT", "text") not in ("text", "json"):
        raise ConfigError("LOG_FORMAT must be text or json")
    from vocloop.classify import registered  # importing vocloop.classify registers the analyzers

    if settings.get("CLASSIFIER", "vocloop") not in registered():
        raise ConfigError(f"CLASSIFIER {settings.get('CLASSIFIER')!r} is not a registered analyzer; "
                          f"choose one of {', '.join(registered())}")
    if not 1 <= settings.get("METRICS_QUERY_WORKERS", 2) <= 16:
        raise ConfigError("METRICS_QUERY_WORKERS must be between 1 and 16")
    if not 0 <= settings.get("METRICS_WORKERS_PER_QUERY", 0) <= 16:
        raise ConfigError("METRICS_WORKERS_PER_QUERY must be between 0 and 16")
    value_floor = settings.get("HIGH_VALUE_ACCOUNT")
    if value_floor is not None and value_floor < 0:
        raise ConfigError("HIGH_VALUE_ACCOUNT must be 0 or more (or none to turn it off)")
    retention = settings.get("COMMENT_RETENTION_DAYS")
    if retention is not None and retention < 1:
        raise ConfigError("COMMENT_RETENTION_DAYS must be at least 1 (or unset to keep comments)")
    themes_cap = settings.get("THEMES_MAX_COMMENTS")
    if themes_cap is not None and themes_cap < 100:
        raise ConfigError("THEMES_MAX_COMMENTS must be at least 100 (or none for every comment of the period)")
    key = settings.get("SENDGRID_WEBHOOK_PUBLIC_KEY")
    if key:
        _check_public_key(key)
    secret = settings.get("INBOUND_PARSE_SECRET")
    if secret and len(secret) < 24:
        raise ConfigError("INBOUND_PARSE_SECRET must be at least 24 random characters")
    domain = settings.get("REPLY_DOMAIN")
    if domain and not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)+", domain.lower()):
        raise ConfigError(f"REPLY_DOMAIN must be a domain name like reply.example.com: {domain[:60]!r}")
    fallbacks = settings.get("SECRET_KEY_FALLBACKS")
    if fallbacks is not None and not (isinstance(fallbacks, list) and all(
            isinstance(key, str) and key for key in fallbacks)):
        raise ConfigError('SECRET_KEY_FALLBACKS must be a JSON list of earlier keys, like ["old-key"]')
    bundle = settings.get("WEBHOOK_CA_BUNDLE")
    if bundle and not Path(bundle).is_file():
        raise ConfigError(f"WEBHOOK_CA_BUNDLE must be a PEM file of certificate authorities: {bundle[:80]!r} "
                          "is not a file")


def _check_public_key(key: str) -> None:
    from sendgrid.helpers.eventwebhook import EventWebhook

    try:
        EventWebhook().convert_public_key_to_ecdsa(key)
    except Exception as exc:  # any parse failure means the key cannot verify anything
        raise ConfigError(f"SENDGRID_WEBHOOK_PUBLIC_KEY is not a base64 EC public key: {exc}") from None


def normalize_database_url(url: str) -> str:
    """Accept the URLs hosting platforms hand out and pick the psycopg 3 driver for PostgreSQL."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise ConfigError(f"DATABASE_URL is not a URL: {url[:40]!r}")
    if scheme in ("postgres", "postgresql"):
        return f"postgresql+psycopg://{rest}"
    if scheme.startswith("postgresql+") or scheme.startswith("sqlite"):
        return url
    raise ConfigError(f"DATABASE_URL must be a PostgreSQL or SQLite URL, not {scheme}://")


def local_secret_key(instance_path: Path) -> str:
    """A development secret key kept in the instance folder, so sessions survive restarts."""
    path = instance_path / "secret_key"
    if path.exists():
        return path.read_text().strip()
    instance_path.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key)
    path.chmod(0o600)
    return key
