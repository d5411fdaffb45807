"""What a fetch of a survey link looks like: the signals that no person clicked it.

Corporate mail security (Microsoft Defender for Office 365 Safe Links, Mimecast URL Protect,
Proofpoint URL Defense, Barracuda, Cisco) fetches every link of an incoming email within seconds of
delivery, from data-centre addresses, often with a browser's User-Agent, sometimes HEAD first. No
single sign is proof, so each is a bit in Response.signals and vocloop.responses.counting decides:
an answer with any signal counts only once a person shows themselves (a comment, the page's
"yes, that is my answer", a real key press, touch or pointer movement on the page).

Networks and User-Agent patterns are rows (ScannerRule) that admins extend without a deploy; each
process keeps them CACHE_SECONDS, so a change applies within that time.
"""

from __future__ import annotations

import ipaddress
import re
import time
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select

from vocloop.errors import Conflict, Invalid, NotFound
from vocloop.extensions import db
from vocloop.responses.models import ScannerRule

# One bit each in Response.signals; the names are the API's.
ALL_LINKS = 1  # a different score link of the same email fetched within BURST_SECONDS of the last
AT_DELIVERY = 2  # fetched within DELIVERY_SECONDS of the email being sent
HEAD_FIRST = 4  # a HEAD on the email's links shortly before (browsers never send one)
SCANNER_NETWORK = 8  # from a network listed as a mail scanner's
SCANNER_USER_AGENT = 16  # a User-Agent listed as a scanner's (or none at all)
NO_INTERACTION = 32  # added when the settle window passed without any sign of a person
SIGNALS = {ALL_LINKS: "all_links", AT_DELIVERY: "at_delivery", HEAD_FIRST: "head_first",
           SCANNER_NETWORK: "scanner_network", SCANNER_USER_AGENT: "scanner_user_agent",
           NO_INTERACTION: "no_interaction"}
BURST_SECONDS = 30
DELIVERY_SECONDS = 120
HEAD_SECONDS = 60
CACHE_SECONDS = 30
MAX_VERDICTS = 10_000  # addresses and User-Agents remembered per rule set
_CACHE = "vocloop.scanner_rules"
KINDS = ("network", "user_agent")


def describe(signals: int) -> list[str]:
    """The names of the signals set in a bitmask, in a stable order."""
    return [name for bit, name in SIGNALS.items() if signals & bit]


def reason(signals: int) -> str:
    """The signals in words, for the survey page."""
    words = {ALL_LINKS: f"several score links of the email fetched within {BURST_SECONDS} s",
             AT_DELIVERY: f"fetched within {DELIVERY_SECONDS} s of sending",
             HEAD_FIRST: "HEAD request before the GET",
             SCANNER_NETWORK: "from a mail scanner's network", SCANNER_USER_AGENT: "a mail scanner's User-Agent",
             NO_INTERACTION: "no sign of a person on the page"}
    return "; ".join(words[bit] for bit in SIGNALS if signals & bit)


@dataclass(frozen=True)
class Rules:
    """The rules in force, with the verdict per address and User-Agent remembered while they are (a
    send's clicks come from a few thousand of each at most; a browser's User-Agent took the pattern
    search 50 us, and every click asks)."""

    networks: tuple
    agents: re.Pattern | None
    verdicts: dict = field(default_factory=dict, compare=False, repr=False)

    def signals(self, address: str | None, user_agent: str | None) -> int:
        key = (address, user_agent)
        bits = self.verdicts.get(key)
        if bits is None:
            if len(self.verdicts) >= MAX_VERDICTS:
                self.verdicts.clear()
            bits = self.verdicts[key] = self._signals(address, user_agent)
        return bits

    def _signals(self, address: str | None, user_agent: str | None) -> int:
        bits = 0
        if not user_agent or (self.agents is not None and self.agents.search(user_agent)):
            bits |= SCANNER_USER_AGENT
        if address and self.networks and _in_networks(address, self.networks):
            bits |= SCANNER_NETWORK
        return bits


def _in_networks(address: str, networks: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip.version == network.version and ip in network for network in networks)


def compile_rules(rows) -> Rules:
    networks, agents = [], []
    for kind, pattern in rows:
        if kind == "network":
            networks.append(ipaddress.ip_network(pattern, strict=False))
        else:
            agents.append(f"(?:{pattern})")
    return Rules(tuple(networks), re.compile("|".join(agents), re.IGNORECASE) if agents else None)


def cached_rules() -> Rules:
    """The rules for the answer path, kept CACHE_SECONDS per process: no query on a send's clicks."""
    cached = current_app.extensions.get(_CACHE)
    if cached is not None and cached[1] > time.monotonic():
        return cached[0]
    rules = compile_rules(db.session.execute(select(ScannerRule.kind, ScannerRule.pattern)).all())
    current_app.extensions[_CACHE] = (rules, time.monotonic() + CACHE_SECONDS)
    return rules


def request_signals(address: str | None, user_agent: str | None) -> int:
    return cached_rules().signals(address, user_agent)


# --- the rules as data: admins' page and API -------------------------------------------------------

def list_rules() -> list[ScannerRule]:
    return list(db.session.scalars(select(ScannerRule).order_by(ScannerRule.kind, ScannerRule.id)))


def checked_pattern(kind: str, pattern: str) -> str:
    pattern = (pattern or "").strip()
    if kind not in KINDS:
        raise Invalid("kind must be network or user_agent.")
    if not pattern or len(pattern) > 200:
        raise Invalid("pattern must be 1 to 200 characters.")
    if kind == "network":
        try:
            return str(ipaddress.ip_network(pattern, strict=False))
        except ValueError:
            raise Invalid(f"{pattern!r} is not a network (CIDR, like 203.0.113.0/24).") from None
    try:
        re.compile(pattern)
    except re.error as exc:
        raise Invalid(f"{pattern!r} is not a regular expression: {exc}.") from None
    return pattern


def add_rule(kind: str, pattern: str, label: str = "") -> ScannerRule:
    pattern = checked_pattern(kind, pattern)
    if db.session.scalar(select(ScannerRule.id).where(ScannerRule.kind == kind, ScannerRule.pattern == pattern)):
        raise Conflict("That rule is already there.")
    rule = ScannerRule(kind=kind, pattern=pattern, label=(label or "").strip()[:120])
    db.session.add(rule)
    db.session.commit()
    current_app.extensions.pop(_CACHE, None)
    return rule


def delete_rule(rule_id: int) -> None:
    rule = db.session.get(ScannerRule, rule_id)
    if rule is None:
        raise NotFound("No such rule.")
    db.session.delete(rule)
    db.session.commit()
    current_app.extensions.pop(_CACHE, None)


# The defaults a new installation starts with (migration 0019 inserts the same rows; the tests seed
# them with seed_default_rules). Networks are the vendors' published service ranges; check them
# against the vendors' current lists, and add your customers' own gateways.
DEFAULT_RULES = (
    ("network", "40.92.0.0/15", "Microsoft Exchange Online Protection (Safe Links)"),
    ("network", "40.107.0.0/16", "Microsoft Exchange Online Protection (Safe Links)"),
    ("network", "52.100.0.0/14", "Microsoft Exchange Online Protection (Safe Links)"),
    ("network", "104.47.0.0/17", "Microsoft Exchange Online Protection (Safe Links)"),
    ("network", "205.139.110.0/24", "Mimecast (US)"),
    ("network", "207.211.30.0/24", "Mimecast (US)"),
    ("network", "216.205.24.0/24", "Mimecast (US)"),
    ("network", "91.220.42.0/24", "Mimecast (UK)"),
    ("network", "195.130.217.0/24", "Mimecast (UK)"),
    ("network", "67.231.144.0/20", "Proofpoint"),
    ("network", "148.163.128.0/19", "Proofpoint (pphosted)"),
    ("network", "208.84.64.0/22", "Proofpoint"),
    ("network", "208.86.200.0/22", "Proofpoint"),
    ("network", "64.235.144.0/20", "Barracuda Email Security Service"),
    ("network", "209.222.80.0/21", "Barracuda Email Security Service"),
    ("network", "68.232.128.0/19", "Cisco Secure Email (IronPort) cloud"),
    ("user_agent", r"Microsoft Office|ms-office|BingPreview|SafeLinks", "Microsoft (Office link checks, Safe Links)"),
    ("user_agent", r"Mimecast", "Mimecast"),
    ("user_agent", r"Proofpoint|urldefense", "Proofpoint"),
    ("user_agent", r"Barracuda", "Barracuda"),
    ("user_agent", r"IronPort|Cisco", "Cisco"),
    ("user_agent", r"HeadlessChrome|PhantomJS|Puppeteer|Playwright", "headless browsers"),
    ("user_agent", r"^(curl|Wget|python-requests|python-urllib|Python-urllib|Go-http-client|Java|okhttp|libwww)",
     "scripts and HTTP libraries"),
    ("user_agent", r"(bot|crawler|spider|scanner)\b|preview", "bots and link previews"),
)


def seed_default_rules() -> None:
    for kind, pattern, label in DEFAULT_RULES:
        known = select(ScannerRule.id).where(ScannerRule.kind == kind, ScannerRule.pattern == pattern)
        if not db.session.scalar(known):
            db.session.add(ScannerRule(kind=kind, pattern=pattern, label=label))
    db.session.commit()
    current_app.extensions.pop(_CACHE, None)
