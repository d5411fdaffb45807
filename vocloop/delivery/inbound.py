"""Customer replies through SendGrid Inbound Parse: find the item, keep only the new text, attach it once."""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from email.utils import parseaddr

from sqlalchemy import select

from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.items.service import record_customer_reply
from vocloop.mail.html_text import html_to_text
from vocloop.mail.models import InboundEmail
from vocloop.mail.reply_address import item_id_from
from vocloop.text import without_control_characters

log = logging.getLogger(__name__)
MAX_BODY_CHARS = 20_000
MAX_SOURCE_CHARS = 512 * 1024  # of a plain-text body read for the reply: its new part is at the top
# Where quoted history starts in the common clients' replies.
_QUOTE_STARTS = [
    re.compile(r"^\s*On\b.{0,300}\bwrote:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Le\b.{0,300}\ba écrit\s*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^\s*Am\b.{0,300}\bschrieb\b.*:\s*$", re.IGNORECASE | re.DOTALL),
    re.compile(r"^-{2,}\s*Original Message\s*-{2,}", re.IGNORECASE),
    re.compile(r"^_{5,}\s*$"),
    re.compile(r"^From:\s.+", re.IGNORECASE),
]


@dataclass(frozen=True)
class InboundReply:
    item_id: int | None
    from_email: str
    subject: str
    body: str
    dedupe_key: str


def strip_quoted(text: str) -> str:
    """The new part of a reply: drop quoted lines, the quoted history and the signature."""
    lines = (text or "").replace("\r\n", "\n").split("\n")
    kept: list[str] = []
    for index, line in enumerate(lines):
        two_lines = line + " " + (lines[index + 1] if index + 1 < len(lines) else "")
        if any(pattern.match(line) for pattern in _QUOTE_STARTS) or _QUOTE_STARTS[0].match(two_lines):
            break
        if line.rstrip() == "--":  # the signature separator
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line)
    return "\n".join(kept).strip()[:MAX_BODY_CHARS]


MAX_ADDRESS_CHARS = 998  # a header line's limit (RFC 5322); longer is not an address


def _address(value: str) -> str:
    """The address in a From field; nothing for junk (the standard parser recurses on nested '(')."""
    if len(value) > MAX_ADDRESS_CHARS:
        return ""
    try:
        return parseaddr(value)[1][:320]
    except RecursionError:
        return ""


def parse(form) -> InboundReply:
    """Read Inbound Parse's multipart fields (to, from, subject, text, html, headers, envelope)."""
    field = {name: without_control_characters(form.get(name))
             for name in ("to", "from", "subject", "text", "html", "headers", "envelope")}
    addresses = " ".join(filter(None, [field["to"][:MAX_ADDRESS_CHARS * 10], _envelope_to(field["envelope"])]))
    text = field["text"][:MAX_SOURCE_CHARS] or html_to_text(field["html"])
    message_id = _header(field["headers"], "Message-ID")
    dedupe_key = message_id or hashlib.sha256("\x00".join([field["from"], field["subject"], text]).encode()).hexdigest()
    return InboundReply(item_id=item_id_from(addresses), from_email=_address(field["from"]),
                        subject=field["subject"][:300], body=strip_quoted(text), dedupe_key=dedupe_key[:300])


def record(reply: InboundReply) -> InboundEmail | None:
    """Store the reply once; None when it was seen before (Inbound Parse retries)."""
    if db.session.scalar(select(InboundEmail.id).where(InboundEmail.dedupe_key == reply.dedupe_key)):
        return None
    inbound = InboundEmail(dedupe_key=reply.dedupe_key, item_id=reply.item_id, from_email=reply.from_email,
                           subject=reply.subject, body=reply.body)
    db.session.add(inbound)
    db.session.flush()
    return inbound


def receive(reply: InboundReply) -> dict:
    """Store a customer's reply once and put it on its item's timeline (the owner is told), committed;
    returns what the webhook answers SendGrid. A reply to no item of ours is kept and acknowledged, or
    SendGrid would retry it for days."""
    if record(reply) is None:
        return {"status": "duplicate"}
    item = db.session.get(FeedbackItem, reply.item_id) if reply.item_id else None
    if item is None:
        db.session.commit()
        log.info("inbound email from %s matches no item", reply.from_email)
        return {"status": "unmatched"}
    event = record_customer_reply(item, reply.body or "(empty reply)", reply.from_email)
    db.session.commit()
    answer = {"status": "attached", "item_id": item.id}
    if event.data.get("from_another_address"):
        answer["flag"] = "from_another_address"
    return answer


def _envelope_to(envelope: str | None) -> str:
    """The envelope's recipients (SendGrid: {"to": ["a@b", ...], "from": ...}); an envelope of any
    other shape adds none, the reply is still read from its To field."""
    try:
        parsed = json.loads(envelope or "{}")
    except (ValueError, RecursionError):
        return ""
    recipients = parsed.get("to") if isinstance(parsed, dict) else None
    if isinstance(recipients, str):
        recipients = [recipients]
    if not isinstance(recipients, list):
        return ""
    return " ".join(recipient for recipient in recipients if isinstance(recipient, str))


def _header(headers: str, name: str) -> str | None:
    match = re.search(rf"^{name}:\s*(.+)$", headers, re.IGNORECASE | re.MULTILINE)
    return match.group(1).strip() if match else None
