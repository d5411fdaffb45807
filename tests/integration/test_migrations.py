"""The migrations are the schema: head matches the models exactly, on this database."""

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from vocloop.extensions import db


def empty_database(name: str, tmp_path) -> str:
    """The URL of a new, empty database of this run's kind (PostgreSQL or SQLite)."""
    from tests.conftest import TEST_DATABASE_URL

    if not TEST_DATABASE_URL:
        return f"sqlite:///{tmp_path / name}.db"
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(TEST_DATABASE_URL)
    name = f"{url.database}_{name}"  # runs against different databases of one server never meet
    with psycopg.connect(url.set(drivername="postgresql", database="postgres").render_as_string(False),
                         autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    return url.set(database=name).render_as_string(False)


def test_the_migrated_database_matches_the_models(app):
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_an_existing_database_with_data_upgrades_to_head(settings, tmp_path):
    """Each migration runs on a database in use (rows referencing the tables it alters)."""
    from flask_migrate import upgrade
    from sqlalchemy import func, select, text

    from vocloop import create_app

    url = empty_database("vocloop_migration_test", tmp_path)
    app = create_app({**settings, "DATABASE_URL": url, "REDIS_URL": None})
    with app.app_context():
        upgrade(revision="0002")
        rows = [  # the schema as it was at 0002, in plain SQL: the models describe head
            "INSERT INTO users (id, email, name, role, active, created_at) VALUES "
            "(1, 'admin@example.com', 'Admin', 'admin', true, '2026-01-01')",
            "INSERT INTO accounts (id, name, created_at) VALUES (1, 'Customer Co', '2026-01-01')",
            "INSERT INTO contacts (id, email, name, account_id, attributes, created_at) VALUES "
            "(1, 'ann@customer.example', 'Ann', 1, '{}', '2026-01-01')",
            "INSERT INTO surveys (id, name, kind, question, comment_prompt, subject, intro, quarantine_days, "
            "link_expiry_days, active, created_at) VALUES (1, 'NPS', 'nps', 'q', 'c', 's', '', 90, 30, true, "
            "'2026-01-01')",
            "INSERT INTO invitations (id, survey_id, contact_id, token_hash, status, expires_at, created_at) "
            "VALUES (1, 1, 1, 'h', 'sent', '2030-01-01', '2026-01-01')",
            "INSERT INTO responses (id, invitation_id, survey_id, contact_id, score, answered_at, topics, created_at) "
            "VALUES (1, 1, 1, 1, 2, '2026-01-01', '[]', '2026-01-01')",
            "INSERT INTO feedback_items (id, response_id, contact_id, survey_id, owner_id, status, priority, "
            "first_action_due_at, close_due_at, created_at, updated_at) VALUES (1, 1, 1, 1, 1, 'open', 'P2', "
            "'2026-01-02', '2026-01-03', '2026-01-01', '2026-01-01')",
            "INSERT INTO item_events (item_id, kind, body, data, created_at) VALUES (1, 'created', '', '{}', "
            "'2026-01-01')",
        ]
        for row in rows:
            db.session.execute(text(row))
        db.session.commit()
        db.session.remove()
        upgrade()
        from vocloop.items.models import FeedbackItem
        from vocloop.routing.models import SlaPolicy
        assert db.session.scalar(select(func.count()).select_from(FeedbackItem)) == 1
        assert {p.priority for p in db.session.scalars(select(SlaPolicy))} == {"P1", "P2", "P3", "P4"}
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, db.metadata) == []
        db.session.remove()
        db.engine.dispose()


def test_webhook_secrets_stored_in_clear_are_sealed_by_the_upgrade_and_opened_by_the_downgrade(settings, tmp_path):
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from vocloop import create_app
    from vocloop.outbound.models import WebhookEndpoint

    url = empty_database("vocloop_migration_secrets", tmp_path)
    app = create_app({**settings, "DATABASE_URL": url, "REDIS_URL": None, "SECRET_KEY": "k" * 40})
    with app.app_context():
        upgrade(revision="0014")
        db.session.execute(text("INSERT INTO webhook_endpoints (id, url, description, events, secret, active, "
                                "created_at) VALUES (1, 'https://crm.example.com/h', '', '[]', 'whsec_plain', true, "
                                "'2026-01-01')"))
        db.session.commit()
        db.session.remove()
        upgrade()
        endpoint = db.session.get(WebhookEndpoint, 1)
        assert endpoint.secret == "whsec_plain" and "whsec_plain" not in endpoint.sealed_secret
        db.session.remove()
        downgrade(revision="0014")
        assert db.session.execute(text("SELECT secret FROM webhook_endpoints")).scalar() == "whsec_plain"
        db.session.remove()
        db.engine.dispose()


def test_the_relays_state_moves_to_the_queue_and_back_with_every_message_and_lease_kept(settings, tmp_path):
    """0030: unsettled messages get their queue row (a relay's lease kept, so a crash in the middle of the
    upgrade sends nothing twice); settled ones none; the downgrade puts the state back on the messages."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import text

    from vocloop import create_app

    url = empty_database("vocloop_migration_queue", tmp_path)
    app = create_app({**settings, "DATABASE_URL": url, "REDIS_URL": None})
    with app.app_context():
        upgrade(revision="0029")
        for n, (status, lease, attempts) in enumerate(
                [("pending", None, 0), ("sending", "2026-01-01 10:05:00", 1), ("pending", None, 2), ("sent", None, 1)],
                start=1):
            db.session.execute(text(
                "INSERT INTO messages (id, idempotency_key, kind, to_email, to_name, from_email, from_name, subject, "
                "substitutions, headers, status, attempts, next_attempt_at, lease_until, created_at) VALUES "
                "(:id, :key, 'survey', 'ann@customer.example', '', 'us@example.com', '', 's', '{}', '{}', :status, "
                ":attempts, '2026-01-01 10:00:00', :lease, '2026-01-01')"),
                {"id": n, "key": f"survey:{n}", "status": status, "attempts": attempts, "lease": lease})
        db.session.commit()
        db.session.remove()
        upgrade()
        queue = db.session.execute(text("SELECT message_id, lease_until, attempts FROM message_queue "
                                        "ORDER BY message_id")).all()
        assert [(row[0], row[1] is not None, row[2]) for row in queue] == [(1, False, 0), (2, True, 1), (3, False, 2)]
        assert db.session.execute(text("SELECT status FROM messages ORDER BY id")).scalars().all() == [
            "pending", "pending", "pending", "sent"]
        db.session.remove()
        downgrade(revision="0029")
        rows = db.session.execute(text("SELECT status, lease_until IS NOT NULL, attempts FROM messages "
                                       "ORDER BY id")).all()
        assert [tuple(row) for row in rows] == [("pending", False, 0), ("sending", True, 1), ("pending", False, 2),
                                                ("sent", False, 1)]
        db.session.remove()
        db.engine.dispose()
