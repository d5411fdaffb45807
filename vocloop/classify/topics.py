"""Topics by keyword: the default taxonomy, and the editable one kept in the database.

Matching is in keywords.py: phrases as phrases, words as words and their inflections, each topic with
the phrase that matched.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from vocloop.classify.keywords import Taxonomy, TopicMatch, find_topics, words_of
from vocloop.classify.models import Topic
from vocloop.db import utcnow
from vocloop.errors import Conflict, Invalid, NotFound
from vocloop.extensions import db

DEFAULT_TAXONOMY: dict[str, list[str]] = {
    "pricing": ["price", "pricing", "expensive", "cheap", "cost", "plan", "discount"],
    "billing": ["bill", "billing", "invoice", "charge", "refund", "payment", "overcharged"],
    "support": ["support", "agent", "ticket", "help desk", "response time", "waiting", "reply"],
    "product quality": ["quality", "reliable", "unreliable", "broken", "outage", "downtime"],
    "bugs": ["bug", "crash", "error", "glitch", "freeze", "not working"],
    "delivery": ["delivery", "shipping", "shipped", "arrive", "late", "package", "courier"],
    "onboarding": ["onboarding", "setup", "set up", "getting started", "training", "migration"],
    "usability": ["easy", "intuitive", "confusing", "hard to use", "interface", "ui", "ux"],
    "documentation": ["documentation", "docs", "guide", "tutorial", "manual", "help article"],
    "staff": ["staff", "friendly", "rude", "helpful", "team", "manager", "representative"],
}
MAX_TOPICS = 200
MAX_KEYWORDS = 200
NAME_PATTERN = re.compile(r"^[\w][\w &/+-]{0,59}$")

DEFAULT = Taxonomy.compile(DEFAULT_TAXONOMY)


def match_topics(text: str, taxonomy: Taxonomy | dict[str, list[str]] | None = None) -> list[str]:
    """Topics whose keyword or phrase occurs in the text (see keywords.py), in taxonomy order."""
    return [match.topic for match in topic_matches(text, taxonomy)]


def topic_matches(text: str, taxonomy: Taxonomy | dict[str, list[str]] | None = None) -> list[TopicMatch]:
    """The topics of the text, each with the keyword and the words of the text that matched."""
    if taxonomy is None:
        taxonomy = DEFAULT
    elif isinstance(taxonomy, dict):
        taxonomy = Taxonomy.compile(taxonomy)
    return find_topics(text, taxonomy)


# -- the editable taxonomy, kept in the database ------------------------------------------------

def all_topics() -> list[Topic]:
    return list(db.session.scalars(select(Topic).order_by(Topic.position, Topic.id)))


def current_taxonomy() -> Taxonomy:
    return Taxonomy.compile({topic.name: topic.keywords for topic in all_topics()})


def seed_default_topics() -> None:
    """The default taxonomy, for a database that has never had topics (the migration does the same)."""
    if db.session.scalar(select(Topic.id).limit(1)) is None:
        for position, (name, keywords) in enumerate(DEFAULT_TAXONOMY.items()):
            db.session.add(Topic(name=name, keywords=keywords, position=(position + 1) * 10))
        db.session.commit()


def clean_keywords(keywords: list[str] | str) -> list[str]:
    """Keywords from a list or from text (one per line or comma-separated), trimmed, lower-cased, unique."""
    if isinstance(keywords, str):
        keywords = re.split(r"[,\n]", keywords)
    seen: list[str] = []
    for keyword in keywords:
        if not isinstance(keyword, str):
            raise Invalid("keywords must be text")
        cleaned = " ".join(keyword.lower().split())
        if not cleaned:
            continue
        if len(cleaned) > 80:
            raise Invalid(f"keyword {cleaned[:20]!r}… is longer than 80 characters")
        if not words_of(cleaned):
            raise Invalid(f"keyword {cleaned!r} has no letters or digits to match")
        if cleaned not in seen:
            seen.append(cleaned)
    if not seen:
        raise Invalid("a topic needs at least one keyword")
    if len(seen) > MAX_KEYWORDS:
        raise Invalid(f"a topic has at most {MAX_KEYWORDS} keywords")
    return seen


def _clean_name(name: str) -> str:
    cleaned = " ".join((name or "").lower().split())
    if not NAME_PATTERN.match(cleaned):
        raise Invalid("a topic name is 1-60 letters, digits, spaces or & / + -")
    return cleaned


def create_topic(name: str, keywords: list[str] | str, position: int | None = None) -> Topic:
    name = _clean_name(name)
    existing = all_topics()
    if any(topic.name == name for topic in existing):
        raise Conflict(f"a topic named {name!r} exists")
    if len(existing) >= MAX_TOPICS:
        raise Invalid(f"the taxonomy holds at most {MAX_TOPICS} topics")
    topic = Topic(name=name, keywords=clean_keywords(keywords),
                  position=position if position is not None else max((t.position for t in existing), default=0) + 10)
    db.session.add(topic)
    db.session.commit()
    return topic


def update_topic(topic_id: int, *, name: str | None = None, keywords: list[str] | str | None = None,
                 position: int | None = None) -> Topic:
    """Renaming a topic keeps answers' old labels until a re-classification applies the new one."""
    topic = db.session.get(Topic, topic_id)
    if topic is None:
        raise NotFound("no such topic")
    if name is not None:
        name = _clean_name(name)
        if name != topic.name and db.session.scalar(select(Topic.id).where(Topic.name == name)) is not None:
            raise Conflict(f"a topic named {name!r} exists")
        topic.name = name
    if keywords is not None:
        topic.keywords = clean_keywords(keywords)
    if position is not None:
        topic.position = position
    topic.updated_at = utcnow()
    db.session.commit()
    return topic


def delete_topic(topic_id: int) -> None:
    topic = db.session.get(Topic, topic_id)
    if topic is None:
        raise NotFound("no such topic")
    db.session.delete(topic)
    db.session.commit()
