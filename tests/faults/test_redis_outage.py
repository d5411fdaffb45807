"""Redis stopped for 60 seconds while 1,000 customers answer through gunicorn: every answer is stored
(the database first), and classification and routing catch up once Redis is back, none twice."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests
from sqlalchemy import func, select

from tests.faults.conftest import wait_for
from vocloop.accounts import service as accounts
from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.responses.models import Response
from vocloop.security import new_secret_token
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation, Survey

CUSTOMERS = 1000
OUTAGE_SECONDS = 60


def invitations(count: int) -> list[tuple[str, int]]:
    """Invitations whose tokens this test knows (the real ones are only ever in the emails)."""
    if db.session.scalar(select(accounts.User.id).limit(1)) is None:
        accounts.create_user("admin@faults.example", role="admin")
    survey = surveys.create_survey(name="Outage NPS", kind="nps", company="Acme")
    db.session.execute(Contact.__table__.insert(), [
        {"email": f"outage{i}@faults.example", "name": "", "attributes": {}, "created_at": utcnow()}
        for i in range(count)])
    contact_ids = list(db.session.scalars(select(Contact.id).where(Contact.email.like("outage%"))
                                          .order_by(Contact.id)))
    tokens = [new_secret_token() for _ in contact_ids]
    db.session.execute(Invitation.__table__.insert(), [
        {"survey_id": survey.id, "contact_id": contact_id, "token_hash": token_hash, "status": "delivered",
         "expires_at": utcnow().replace(year=utcnow().year + 1), "created_at": utcnow()}
        for contact_id, (_, token_hash) in zip(contact_ids, tokens, strict=True)])
    db.session.commit()
    return [(token, i % 11) for i, (token, _) in enumerate(tokens)]


def customer_answers(base_url: str, token: str, score: int) -> int:
    """What a customer does: one click in the email, then the comment form."""
    with requests.Session() as session:
        page = session.get(f"{base_url}/s/{token}", params={"score": score}, timeout=30)
        page.raise_for_status()
        comment = "Billing is a mess again" if score <= 6 else ("Fine" if score % 2 else "")
        sent = session.post(f"{base_url}/s/{token}", data={"score": score, "comment": comment},
                            allow_redirects=False, timeout=30)
        return sent.status_code


def counts() -> tuple[int, int, int, int]:
    """This survey's answers stored, answers processed, items, and distinct answers with an item."""
    db.session.rollback()
    mine = select(Survey.id).where(Survey.name == "Outage NPS").scalar_subquery()
    answers = select(func.count()).select_from(Response).where(Response.survey_id == mine)
    answered = db.session.scalar(answers.where(Response.completed_at.is_not(None)))
    processed = db.session.scalar(answers.where(Response.processed_at.is_not(None)))
    items = db.session.scalar(select(func.count()).select_from(FeedbackItem).where(FeedbackItem.survey_id == mine))
    distinct = db.session.scalar(select(func.count(func.distinct(FeedbackItem.response_id))).where(
        FeedbackItem.survey_id == mine))
    return answered, processed, items, distinct


def test_redis_down_for_a_minute_while_1000_customers_answer(app, stack):
    answers = invitations(CUSTOMERS)
    stack.stop_redis()
    stopped_at = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda pair: customer_answers(stack.web_url, *pair), answers))
    answering = time.monotonic() - stopped_at
    assert statuses.count(303) == CUSTOMERS, stack.logs()
    answered, processed, _, _ = counts()
    assert answered == CUSTOMERS and processed == 0  # every answer stored while Redis is down
    time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - stopped_at)))
    stack.start_redis()
    back_at = time.monotonic()
    wait_for(lambda: counts()[1] == CUSTOMERS, 180, "classification and routing to catch up", every=1)
    caught_up = time.monotonic() - back_at
    answered, processed, items, distinct = counts()
    expected = sum(1 for _, score in answers if score <= 6 or score % 2)  # unhappy, or with a comment
    assert items == distinct == expected  # one item per response that needs one, none twice
    assert all(process.poll() is None for process in [stack.clock, *stack.workers[-1:]]), stack.logs()
    print(f"\nredis outage: {CUSTOMERS} answers in {answering:.1f}s with Redis down, "
          f"caught up {caught_up:.1f}s after it returned")
