"""The Flask commands an admin runs."""

from datetime import timedelta

from sqlalchemy import func, select

from vocloop.accounts.models import User
from vocloop.extensions import db
from vocloop.items.models import FeedbackItem
from vocloop.mail.models import Message


def test_create_user_reads_the_password_from_stdin_and_can_sign_in(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-user", "Lee@Example.com", "--role", "lead", "--team", "Support",
                                 "--password-stdin"], input="a long enough password\n")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User))
    assert user.email == "lee@example.com" and user.teams[0].name == "Support" and user.teams[0].lead_id == user.id
    assert "a long enough password" not in user.password_hash
    from vocloop.accounts.service import authenticate
    assert authenticate("lee@example.com", "a long enough password") == user


def test_create_user_refuses_bad_input_clearly(app):
    runner = app.test_cli_runner()
    assert "not a valid email" in runner.invoke(args=["create-user", "nobody", "--role", "owner"]).output.lower()
    short = runner.invoke(args=["create-user", "a@example.com", "--role", "owner", "--password-stdin"], input="short\n")
    assert short.exit_code != 0 and "at least 10" in short.output
    runner.invoke(args=["create-user", "a@example.com", "--role", "owner"])
    again = runner.invoke(args=["create-user", "a@example.com", "--role", "owner"])
    assert again.exit_code != 0 and "already exists" in again.output


def test_create_token_prints_a_working_token_as_its_last_line(app, client):
    runner = app.test_cli_runner()
    runner.invoke(args=["create-user", "admin@example.com", "--role", "admin"])
    result = runner.invoke(args=["create-token", "admin@example.com"])
    assert result.exit_code == 0
    token = result.output.strip().splitlines()[-1]
    assert client.get("/api/v1/items", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert runner.invoke(args=["create-token", "nobody@example.com"]).exit_code != 0


def test_demo_seeds_a_believable_month_once(app, drain):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["demo"])
    assert first.exit_code == 0, first.output
    assert "Sign in as admin@example.com" in first.output
    drain()
    items = db.session.scalar(select(func.count()).select_from(FeedbackItem))
    loop_closed = db.session.scalar(select(func.count()).select_from(FeedbackItem)
                                    .where(FeedbackItem.loop_closed_at.is_not(None)))
    assert items >= 100 and 0.5 * items < loop_closed < items
    from vocloop.db import utcnow
    from vocloop.metrics.effect import loop_effect
    effect = {group["key"]: group for group in loop_effect(utcnow() - timedelta(days=30), utcnow())["outcomes"]}
    assert effect["closed_in_sla"]["enough"]  # the Metrics page has a loop effect to show, computed from answers
    survey_emails = db.session.scalar(select(func.count()).select_from(Message).where(Message.kind == "survey",
                                                                                      Message.status == "sent"))
    assert survey_emails == 20
    second = runner.invoke(args=["demo"])
    assert "already there" in second.output
    assert db.session.scalar(select(func.count()).select_from(FeedbackItem)) == items
