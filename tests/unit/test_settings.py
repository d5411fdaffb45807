import pytest

from vocloop.settings import ConfigError, load_settings, local_secret_key

PRODUCTION = {
    "VOCLOOP_ENV": "production", "DATABASE_URL": "postgres://u@db/vocloop", "REDIS_URL": "redis://r:6379/0",
    "SECRET_KEY": "x" * 40, "SENDGRID_API_KEY": "SG.key", "VOCLOOP_BASE_URL": "https://feedback.example.com",
    "MAIL_FROM": "feedback@example.com",
}


def test_production_settings_load_and_pick_the_psycopg_driver():
    settings = load_settings(environ=PRODUCTION)
    assert settings["DATABASE_URL"] == "postgresql+psycopg://u@db/vocloop"
    assert settings["SESSION_COOKIE_SECURE"] is True


@pytest.mark.parametrize("missing", ["DATABASE_URL", "REDIS_URL", "SECRET_KEY", "SENDGRID_API_KEY",
                                     "VOCLOOP_BASE_URL", "MAIL_FROM"])
def test_production_refuses_to_start_without_a_required_setting(missing):
    environ = {key: value for key, value in PRODUCTION.items() if key != missing}
    with pytest.raises(ConfigError, match=missing):
        load_settings(environ=environ)


@pytest.mark.parametrize("name, value, message", [
    ("SECRET_KEY", "short", "SECRET_KEY is too short"),
    ("VOCLOOP_BASE_URL", "http://feedback.example.com", "https"),
    ("REDIS_URL", "localhost:6379", "REDIS_URL"),
    ("DATABASE_URL", "mysql://u@db/x", "DATABASE_URL"),
    ("MAIL_FROM", "not-an-address", "MAIL_FROM"),
    ("SENDGRID_API_HOST", "sendgrid-proxy", "SENDGRID_API_HOST"),
    ("COMMENT_GRACE_MINUTES", "soon", "COMMENT_GRACE_MINUTES is malformed"),
    ("SLA_HOURS", '{"P1": [4, 24]}', r"SLA_HOURS\[P2\]"),
    ("RATELIMIT_ENABLED", "maybe", "RATELIMIT_ENABLED is malformed"),
    ("CLASSIFIER", "naive-bayes", "CLASSIFIER 'naive-bayes' is not a registered analyzer; choose one of textblob"),
    ("HIGH_VALUE_ACCOUNT", "lots", "HIGH_VALUE_ACCOUNT is malformed"),
    ("METRICS_WORKERS_PER_QUERY", "-1", "METRICS_WORKERS_PER_QUERY must be between 0 and 16"),
    ("METRICS_WORKERS_PER_QUERY", "all", "METRICS_WORKERS_PER_QUERY is malformed"),
    ("HIGH_VALUE_ACCOUNT", "-1", "HIGH_VALUE_ACCOUNT must be 0 or more"),
    ("THEMES_MAX_COMMENTS", "50", "THEMES_MAX_COMMENTS must be at least 100"),
    ("THEMES_MAX_COMMENTS", "many", "THEMES_MAX_COMMENTS is malformed"),
    ("WEBHOOK_CA_BUNDLE", "/etc/no-such-ca.pem", "WEBHOOK_CA_BUNDLE must be a PEM file"),
    ("SECRET_KEY_FALLBACKS", '"old-key"', "SECRET_KEY_FALLBACKS must be a JSON list"),
    ("SECRET_KEY_FALLBACKS", "[old-key]", "SECRET_KEY_FALLBACKS is malformed"),
])
def test_a_malformed_setting_is_named_in_the_error(name, value, message):
    with pytest.raises(ConfigError, match=message):
        load_settings(environ={**PRODUCTION, name: value})


def test_every_missing_production_setting_is_named_at_once():
    with pytest.raises(ConfigError, match="DATABASE_URL, REDIS_URL, SECRET_KEY, SENDGRID_API_KEY, "
                                          "VOCLOOP_BASE_URL, MAIL_FROM are required in production"):
        load_settings(environ={"VOCLOOP_ENV": "production"})


def test_unknown_environment_is_refused():
    with pytest.raises(ConfigError, match="VOCLOOP_ENV"):
        load_settings(environ={"VOCLOOP_ENV": "staging"})


def test_theme_discovery_reads_the_newest_100000_comments_unless_told_otherwise():
    assert load_settings(environ={})["THEMES_MAX_COMMENTS"] == 100_000
    assert load_settings(environ={"THEMES_MAX_COMMENTS": "none"})["THEMES_MAX_COMMENTS"] is None  # every one
    assert load_settings(environ={"THEMES_MAX_COMMENTS": "250000"})["THEMES_MAX_COMMENTS"] == 250_000


def test_embedded_default_needs_no_settings_at_all():
    settings = load_settings(environ={})
    assert settings["VOCLOOP_ENV"] == "development"
    assert settings["DATABASE_URL"] is None and settings["REDIS_URL"] is None


def test_development_secret_key_is_generated_once_and_kept(tmp_path):
    first = local_secret_key(tmp_path)
    assert len(first) >= 32 and local_secret_key(tmp_path) == first
    assert (tmp_path / "secret_key").stat().st_mode & 0o077 == 0


def test_a_redis_socket_url_serves_the_rate_limits_too(tmp_path):
    """REDIS_URL=unix://... (redis-py's spelling) used to stop the app at start: the rate limits'
    storage only knows redis+unix://."""
    from vocloop import create_app
    app = create_app({"VOCLOOP_ENV": "testing", "DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}",
                      "REDIS_URL": "unix:///run/redis/redis.sock"})
    assert app.config["RATELIMIT_STORAGE_URI"] == "redis+unix:///run/redis/redis.sock"
