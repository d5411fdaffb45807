"""the relay's queue rows with room on their pages (fillfactor 50), so that a claim stays on its page

A relay claims a queue row (its lease and attempts) before sending, and deletes it once the message is
settled. The rows are written packed by the send that queues them; on a full page each claim is a new row
version on another page with a new primary-key entry, on a half-full one PostgreSQL writes it beside the
old one, unindexed (a HOT update). The table is narrow (four columns), so the room costs little (issue #25).

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-03 14:10:00

"""
from alembic import op


revision = '0032'
down_revision = '0031'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":  # SQLite has no such setting
        op.execute("ALTER TABLE message_queue SET (fillfactor = 50)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE message_queue RESET (fillfactor)")
