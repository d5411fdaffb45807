"""Embedded default: SQLite in the instance folder, jobs in-process, mail in the local outbox.

Every key here can be overridden by an environment variable of the same name
(see vocloop/settings.py for the list, their types and how they are checked).
"""

VOCLOOP_ENV = "development"

# None: SQLite file in the instance folder. postgres:// and postgresql:// URLs are accepted.
DATABASE_URL = None
# None: jobs run in-process right after the request that created them.
REDIS_URL = None
# None outside production: a random key is generated once and kept in the instance folder.
SECRET_KEY = None

# No key: mail stays in the local outbox, readable at /dev/outbox.
SENDGRID_API_KEY = None
SENDGRID_API_HOST = None
SENDGRID_TIMEOUT_SECONDS = 10
# Base64 ECDSA public key of SendGrid's signed Event Webhook; None: the event endpoint refuses all.
SENDGRID_WEBHOOK_PUBLIC_KEY = None
# Secret path segment of the Inbound Parse URL (/webhooks/sendgrid/inbound/<secret>); None: disabled.
INBOUND_PARSE_SECRET = None
# Domain whose MX points at SendGrid Inbound Parse; closing messages then carry a per-item
# Reply-To (reply+<item>.<signature>@REPLY_DOMAIN) so customer replies land on the item.
REPLY_DOMAIN = None
# Recipients per Mail Send request (SendGrid allows at most 1,000 personalizations).
MAIL_BATCH_SIZE = 1000
# A relay owns claimed rows this long; then another may take them over.
MAIL_LEASE_SECONDS = 120
# With the event webhook on, rows whose relay died wait this long for the provider's events
# (which prove they were accepted) before they are sent again.
MAIL_SETTLE_SECONDS = 600
# The first pause after a refused or failed send (5xx, timeout, 429 without a reset time); each next
# one doubles, with jitter, up to an hour.
MAIL_RETRY_BASE_SECONDS = 30
# How often the clock runs the sweep (late answers, lost jobs, due retries, stalled work).
SWEEP_SECONDS = 60

VOCLOOP_BASE_URL = "http://127.0.0.1:5000"
MAIL_FROM = "feedback@example.com"
MAIL_FROM_NAME = "vocloop"

# Who takes an item that no routing rule matches; None: the earliest active admin.
FALLBACK_OWNER_EMAIL = None
# Name of the sentiment analyzer in vocloop.classify's registry.
CLASSIFIER = "vocloop"  # or "textblob" for plain TextBlob
# An account's annual value at or above which an unhappy answer is raised one priority; None: off.
HIGH_VALUE_ACCOUNT = 50000
# How many of the metrics dashboard's queries run at once on PostgreSQL (each takes a connection);
# about the number of cores the database has to spare.
METRICS_QUERY_WORKERS = 2
# PostgreSQL's own parallel workers for each of those queries while they run side by side (its setting
# max_parallel_workers_per_gather, for those sessions only): 0, as the queries already share the cores.
METRICS_WORKERS_PER_QUERY = 0
# Minutes to wait for a comment after a one-click score before the response is processed as is.
COMMENT_GRACE_MINUTES = 30
# Seconds a one-click score waits (unless a person shows themselves on the page) before the sweep
# counts it, or holds it as suspected where a mail scanner's signs showed: longer than scanners take
# to fetch an email's links, shorter than the comment grace (see the README's "Answers that count").
ANSWER_SETTLE_SECONDS = 600
# Hours to first action and to the closing message, per priority.
SLA_HOURS = {"P1": [4, 24], "P2": [24, 48], "P3": [48, 96], "P4": [72, 168]}

RATELIMIT_ENABLED = True
# Answer pages are public: a modest per-address limit keeps token guessing and floods out.
RATELIMIT_PUBLIC = "60 per minute"
RATELIMIT_LOGIN = "10 per minute"
# Per API token (per address without one): a runaway integration slows down instead of the service.
RATELIMIT_API = "600 per minute"
# How many reverse proxies (load balancer, router) sit in front: their X-Forwarded-* headers are then
# trusted, so rate limits and logs see the customer's address. 0: none (the embedded default).
TRUSTED_PROXIES = 0
# "json" (one object per line, for log shippers) or "text".
LOG_FORMAT = "text"
# Prometheus text format at /ops/metrics; METRICS_TOKEN, when set, is required as a bearer token.
METRICS_ENABLED = False
METRICS_TOKEN = None
# Days after which customers' free text (comments, replies) is erased; None keeps it.
COMMENT_RETENTION_DAYS = None
# Theme discovery reads at most this many comments of the chosen period, the newest (time and memory
# grow with them: 100,000 take about 20 s and 220 MB of a worker's memory); None: every one.
THEMES_MAX_COMMENTS = 100_000
# Outbound webhooks: a failed delivery is retried with growing pauses for this many hours, then given up
# (it stays in the delivery log, where an admin can replay it).
WEBHOOK_RETRY_HOURS = 24
WEBHOOK_TIMEOUT_SECONDS = 10
# Certificate authorities trusted for https:// webhook receivers (a PEM file); none: certifi's public ones.
WEBHOOK_CA_BUNDLE = None
# Let webhook URLs point at loopback or private addresses (a receiver on this host or this network).
# Off in production: an admin's URL must not reach the database, Redis or a cloud metadata service.
WEBHOOK_ALLOW_PRIVATE_URLS = True
# Run the periodic jobs (retries, late responses) in a thread when there is no Redis.
INLINE_SCHEDULER = True
