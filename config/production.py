"""Production: every setting that has no safe default must come from the environment."""

VOCLOOP_ENV = "production"
INLINE_SCHEDULER = False
SESSION_COOKIE_SECURE = True
REMEMBER_COOKIE_SECURE = True
PREFERRED_URL_SCHEME = "https"
# The embedded defaults of these make no sense in production: they must come from the environment.
VOCLOOP_BASE_URL = None
MAIL_FROM = None
LOG_FORMAT = "json"
WEBHOOK_ALLOW_PRIVATE_URLS = False
