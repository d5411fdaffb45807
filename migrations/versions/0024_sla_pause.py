"""an item's SLA clock stops while it waits on the customer

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-02 06:15:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

OPEN_ITEM = "status IN ('open', 'in_progress', 'waiting')"


def upgrade():
    # Items already waiting start their pause now: their due times were running until today.
    with op.batch_alter_table('feedback_items') as batch_op:
        batch_op.add_column(sa.Column('sla_paused_at', sa.DateTime(), nullable=True))
        batch_op.drop_index('ix_feedback_items_open_created', postgresql_where=sa.text(OPEN_ITEM),
                            sqlite_where=sa.text(OPEN_ITEM))
        batch_op.create_index('ix_feedback_items_open_created', ['created_at', 'close_due_at', 'sla_paused_at'],
                              unique=False, postgresql_where=sa.text(OPEN_ITEM), sqlite_where=sa.text(OPEN_ITEM))
    now = "now() AT TIME ZONE 'UTC'" if op.get_bind().dialect.name == "postgresql" else "CURRENT_TIMESTAMP"
    op.execute(f"UPDATE feedback_items SET sla_paused_at = {now} WHERE status = 'waiting'")


def downgrade():
    with op.batch_alter_table('feedback_items') as batch_op:
        batch_op.drop_index('ix_feedback_items_open_created', postgresql_where=sa.text(OPEN_ITEM),
                            sqlite_where=sa.text(OPEN_ITEM))
        batch_op.create_index('ix_feedback_items_open_created', ['created_at', 'close_due_at'], unique=False,
                              postgresql_where=sa.text(OPEN_ITEM), sqlite_where=sa.text(OPEN_ITEM))
        batch_op.drop_column('sla_paused_at')
