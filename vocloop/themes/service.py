"""Themes a lead did not have to think of: a job finds them in a period's comments (themes/discover.py);
the lead accepts one (it becomes a topic with its key phrases), renames, merges two, or dismisses one
(later runs do not propose it again)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import Row, delete, select

from vocloop.accounts.models import User
from vocloop.classify import topics
from vocloop.db import utcnow
from vocloop.errors import Conflict, Forbidden, Invalid, NotFound
from vocloop.extensions import db
from vocloop.responses.models import Response
from vocloop.themes.discover import discover, subject_terms
from vocloop.themes.models import DismissedPhrase, ProposedTheme, ThemeRun

MAX_THEMES = 10
COMMENTS_PER_THEME = 4
READ_BATCH = 10_000  # comments read from the database at a time
EXAMPLES = 5
NEAR_DUPLICATE = 0.7  # share of words two comments have in common above which they count once
MAX_NAME = 60
_WORDS = re.compile(r"\w+")


def _require_lead(user: User) -> None:
    if user.role not in ("lead", "admin"):
        raise Forbidden("Themes are for leads and admins.")


def start_run(user: User, created_from: date | None = None, created_to: date | None = None,
              only_untagged: bool = True) -> tuple[ThemeRun, bool]:
    """A new run (to be done by the job), or the one already under way; (run, started)."""
    _require_lead(user)
    if created_from and created_to and created_from > created_to:
        raise Invalid("The period's first day is after its last.")
    running = db.session.scalar(select(ThemeRun).where(ThemeRun.status.in_(("queued", "running"))))
    if running is not None:
        return running, False
    run = ThemeRun(created_from=created_from, created_to=created_to, only_untagged=only_untagged,
                   created_by_id=user.id)
    db.session.add(run)
    db.session.commit()
    return run, True


def run_discovery(run_id: int) -> ThemeRun | None:
    """The job's work: find the themes and store them; safe to run again (a rerun replaces them)."""
    run = db.session.get(ThemeRun, run_id)
    if run is None or run.status == "done":
        return run
    run.status = "running"
    db.session.execute(delete(ProposedTheme).where(ProposedTheme.run_id == run.id))
    db.session.commit()
    try:
        answers = _comments(run, current_app.config["THEMES_MAX_COMMENTS"])
        run.comments = len(answers)
        terms = [subject_terms(answer.comment) for answer in answers]
        # about four comments a theme at the least: ten comments are not ten themes
        found, _ = discover([answer.comment for answer in answers],
                            max_themes=max(1, min(MAX_THEMES, len(answers) // COMMENTS_PER_THEME)), terms_of=terms)
        dismissed = set(db.session.scalars(select(DismissedPhrase.phrase)))
        for theme in found:
            if not theme.members or theme.key_phrases[0] in dismissed or theme.name in dismissed:
                continue
            members = [answers[i] for i in theme.members]
            db.session.add(ProposedTheme(
                run_id=run.id, name=theme.name[:MAX_NAME], key_phrases=theme.key_phrases, comments=len(members),
                sentiment=dict(Counter(answer.sentiment_label or "unknown" for answer in members)),
                trend=_weekly(members),
                example_ids=_examples(members, [terms[i] for i in theme.members], theme.key_phrases)))
        run.status, run.finished_at = "done", utcnow()
    except Exception as exc:  # recorded for the page; the job's log has the traceback
        db.session.rollback()
        run = db.session.get(ThemeRun, run_id)
        run.status, run.error, run.finished_at = "failed", str(exc)[:500], utcnow()
        db.session.commit()
        raise
    db.session.commit()
    return run


def _comments(run: ThemeRun, limit: int | None) -> list[Row]:
    """The period's newest comments (without a topic, when the run asks so), at most `limit`: id, comment,
    answered_at and sentiment_label, plain rows (100,000 ORM answers took 600 MB and half the run)."""
    query = (select(Response.id, Response.comment, Response.answered_at, Response.sentiment_label, Response.topics)
             .where(Response.status == "counted", Response.comment.is_not(None), Response.comment != "")
             .order_by(Response.answered_at.desc(), Response.id.desc()))
    if run.created_from:
        query = query.where(Response.answered_at >= datetime.combine(run.created_from, time(), UTC))
    if run.created_to:
        query = query.where(Response.answered_at < datetime.combine(run.created_to + timedelta(days=1), time(), UTC))
    if not run.only_untagged and limit is not None:
        query = query.limit(limit)
    answers: list[Row] = []
    with db.session.execute(query.execution_options(yield_per=READ_BATCH)) as rows:
        for row in rows:  # read in batches until the limit: the untagged ones are told apart here
            if run.only_untagged and row.topics:
                continue
            answers.append(row)
            if len(answers) == limit:
                break
    return answers


def _weekly(members: list[Row]) -> list[dict[str, Any]]:
    weeks = Counter((answer.answered_at.date() - timedelta(days=answer.answered_at.weekday())).isoformat()
                    for answer in members)
    return [{"week": week, "comments": count} for week, count in sorted(weeks.items())]


def _examples(members: list[Row], terms: list[list[str]], key_phrases: list[str]) -> list[int]:
    """Up to five answers that say the theme most plainly, near-duplicates counted once. `terms`: each
    member's subject terms, as discovery read them."""
    phrases = set(key_phrases)
    ranked = sorted(zip(members, terms, strict=True),
                    key=lambda pair: (-len(phrases.intersection(pair[1])), len(pair[0].comment), pair[0].id))
    chosen: list[tuple[int, set[str]]] = []
    for answer, _ in ranked:
        words = set(_WORDS.findall(answer.comment.lower()))
        if any(_overlap(words, other) >= NEAR_DUPLICATE for _, other in chosen):
            continue
        chosen.append((answer.id, words))
        if len(chosen) == EXAMPLES:
            break
    return [answer_id for answer_id, _ in chosen]


def _overlap(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


# -- what a lead does with a proposal ---------------------------------------------------------------

def get_theme(user: User, theme_id: int) -> ProposedTheme:
    _require_lead(user)
    theme = db.session.get(ProposedTheme, theme_id)
    if theme is None:
        raise NotFound("No such theme.")
    return theme


def _proposed(theme: ProposedTheme) -> None:
    if theme.status != "proposed":
        raise Conflict(f"This theme was {theme.status} already.")


def _name(value: Any) -> str:
    name = " ".join(str(value or "").split())
    if not name:
        raise Invalid("A theme needs a name.")
    if len(name) > MAX_NAME:
        raise Invalid(f"A name has at most {MAX_NAME} characters.")
    return name


def rename(user: User, theme: ProposedTheme, name: Any) -> ProposedTheme:
    _require_lead(user)
    _proposed(theme)
    theme.name = _name(name)
    db.session.commit()
    return theme


def accept(user: User, theme: ProposedTheme, name: Any = None):
    """The theme becomes a topic named so, with its key phrases as the topic's phrases; answers get it
    at the next re-classification (the Topics page's button)."""
    _require_lead(user)
    _proposed(theme)
    topic_name = _name(name if name not in (None, "") else theme.name)
    topic = topics.create_topic(topic_name, theme.key_phrases)  # commits; Conflict when the name is taken
    theme.status, theme.topic_name, theme.name = "accepted", topic.name, topic_name
    db.session.commit()
    return topic


def merge(user: User, theme: ProposedTheme, into_id: Any) -> ProposedTheme:
    """Two themes that are one: the other keeps its name and gains this one's phrases, comments and examples."""
    _require_lead(user)
    _proposed(theme)
    try:
        into = db.session.get(ProposedTheme, int(into_id))
    except (TypeError, ValueError):
        into = None
    if into is None or into.run_id != theme.run_id or into.id == theme.id:
        raise Invalid("Merge into another theme of the same run.")
    _proposed(into)
    into.key_phrases = list(dict.fromkeys([*into.key_phrases, *theme.key_phrases]))[:10]
    into.comments += theme.comments
    into.sentiment = dict(Counter(into.sentiment) + Counter(theme.sentiment))
    weeks = Counter({row["week"]: row["comments"] for row in into.trend})
    weeks.update({row["week"]: row["comments"] for row in theme.trend})
    into.trend = [{"week": week, "comments": count} for week, count in sorted(weeks.items())]
    into.example_ids = list(dict.fromkeys([*into.example_ids, *theme.example_ids]))[:EXAMPLES]
    theme.status, theme.merged_into_id = "merged", into.id
    db.session.commit()
    return into


def dismiss(user: User, theme: ProposedTheme) -> None:
    """Not a theme worth having: later runs do not propose it again (by its leading key phrase)."""
    _require_lead(user)
    _proposed(theme)
    theme.status = "dismissed"
    phrase = theme.key_phrases[0] if theme.key_phrases else theme.name
    if db.session.scalar(select(DismissedPhrase.id).where(DismissedPhrase.phrase == phrase)) is None:
        db.session.add(DismissedPhrase(phrase=phrase, created_by_id=user.id))
    db.session.commit()


# -- reading ------------------------------------------------------------------------------------------

def latest_run() -> ThemeRun | None:
    return db.session.scalar(select(ThemeRun).order_by(ThemeRun.id.desc()).limit(1))


def examples_of(theme: ProposedTheme) -> list[Response]:
    found = {answer.id: answer for answer in db.session.scalars(
        select(Response).where(Response.id.in_(theme.example_ids or [0])))}
    return [found[i] for i in theme.example_ids if i in found]


def stalled_run_ids(older_than_seconds: int = 300) -> list[int]:
    """Runs queued or running long after they started: their job was lost (the sweep runs them again)."""
    return list(db.session.scalars(select(ThemeRun.id).where(
        ThemeRun.status.in_(("queued", "running")),
        ThemeRun.created_at < utcnow() - timedelta(seconds=older_than_seconds))))
