"""Two rq workers classifying and routing the same responses at once (every triage job enqueued
twice): one item per response, one owner, one "created" entry on each timeline."""

from __future__ import annotations

from redis import Redis
from rq import Queue
from sqlalchemy import func, select

from tests.faults.conftest import wait_for
from vocloop.accounts import service as accounts
from vocloop.contacts.models import Contact
from vocloop.db import utcnow
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem, ItemEvent
from vocloop.jobs.tasks import triage_response
from vocloop.responses.models import Response
from vocloop.routing.service import create_rule
from vocloop.security import new_secret_token
from vocloop.surveys import service as surveys
from vocloop.surveys.models import Invitation

RESPONSES = 300


def test_two_workers_triaging_the_same_responses_open_one_item_each_with_one_owner(app, stack):
    team = [accounts.create_user(f"member{i}@faults.example", role="owner", team="Race") for i in range(3)]
    survey = surveys.create_survey(name="Race CSAT", kind="csat", company="Acme")
    create_rule(name="race to the team", action="team", team_id=team[0].teams[0].id, position=1,
                conditions={"survey_ids": [survey.id]})
    db.session.execute(Contact.__table__.insert(), [
        {"email": f"race{i}@faults.example", "name": "", "attributes": {}, "created_at": utcnow()}
        for i in range(RESPONSES)])
    contact_ids = list(db.session.scalars(select(Contact.id).where(Contact.email.like("race%")).order_by(Contact.id)))
    db.session.execute(Invitation.__table__.insert(), [
        {"survey_id": survey.id, "contact_id": contact_id, "token_hash": new_secret_token()[1], "status": "delivered",
         "expires_at": utcnow().replace(year=utcnow().year + 1), "created_at": utcnow()} for contact_id in contact_ids])
    invitations = db.session.execute(select(Invitation.id, Invitation.contact_id).where(
        Invitation.survey_id == survey.id)).all()
    now = utcnow()
    db.session.execute(Response.__table__.insert(), [
        {"invitation_id": invitation_id, "survey_id": survey.id, "contact_id": contact_id, "score": 1,
         "comment": "Broken again", "answered_at": now, "completed_at": now, "created_at": now,
         "sentiment_mismatch": False, "urgent": False, "topics": [], "urgency_flags": []}
        for invitation_id, contact_id in invitations])
    db.session.commit()
    response_ids = list(db.session.scalars(select(Response.id).where(Response.survey_id == survey.id)))
    if len([w for w in stack.workers if w.poll() is None]) < 2:
        stack.start_worker()
    queue = Queue("classify", connection=Redis.from_url(stack.env["REDIS_URL"]))
    for response_id in response_ids:  # each response twice, so both workers take some at the same time
        queue.enqueue(triage_response, response_id)
        queue.enqueue(triage_response, response_id)

    def done() -> bool:
        db.session.rollback()
        return db.session.scalar(select(func.count()).select_from(Response).where(
            Response.id.in_(response_ids), Response.processed_at.is_not(None))) == RESPONSES

    wait_for(done, 120, "both workers to finish", every=0.5)
    items = db.session.execute(select(FeedbackItem.response_id, FeedbackItem.owner_id).where(
        FeedbackItem.survey_id == survey.id)).all()
    assert len(items) == len({response_id for response_id, _ in items}) == RESPONSES
    assert {owner for _, owner in items} <= {member.id for member in team}
    created = db.session.scalar(select(func.count()).select_from(ItemEvent).join(FeedbackItem).where(
        FeedbackItem.survey_id == survey.id, ItemEvent.kind == "created"))
    assert created == RESPONSES
    per_member = sorted(db.session.execute(select(func.count()).select_from(FeedbackItem).where(
        FeedbackItem.survey_id == survey.id).group_by(FeedbackItem.owner_id)).scalars())
    assert per_member == [RESPONSES // 3] * 3  # round-robin stays fair under the race
