"""Tests: the same settings as the default, quiet and deterministic."""

VOCLOOP_ENV = "testing"
SECRET_KEY = "testing-secret-key-not-for-production-use"
RATELIMIT_ENABLED = False
INLINE_SCHEDULER = False
WTF_CSRF_ENABLED = True
TESTING = True
