"""a reopened item gets new due times; its earlier breach and in-SLA closure are kept

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02 06:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('feedback_items') as batch_op:
        batch_op.add_column(sa.Column('loop_closed_in_sla', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('sla_started_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('first_breached_at', sa.DateTime(), nullable=True))
        batch_op.drop_index('ix_feedback_items_breached', postgresql_where=sa.text("sla_breached_at IS NOT NULL"),
                            sqlite_where=sa.text("sla_breached_at IS NOT NULL"))
    # Until now due times never moved after a loop closed, nor were breach flags cleared: both read as they are.
    op.execute("UPDATE feedback_items SET loop_closed_in_sla = (loop_closed_at <= close_due_at) "
               "WHERE loop_closed_at IS NOT NULL")
    op.execute("UPDATE feedback_items SET first_breached_at = sla_breached_at")
    with op.batch_alter_table('feedback_items') as batch_op:
        batch_op.create_index('ix_feedback_items_breached', ['first_breached_at'], unique=False,
                              postgresql_where=sa.text("first_breached_at IS NOT NULL"),
                              sqlite_where=sa.text("first_breached_at IS NOT NULL"))


def downgrade():
    with op.batch_alter_table('feedback_items') as batch_op:
        batch_op.drop_index('ix_feedback_items_breached', postgresql_where=sa.text("first_breached_at IS NOT NULL"),
                            sqlite_where=sa.text("first_breached_at IS NOT NULL"))
        batch_op.create_index('ix_feedback_items_breached', ['sla_breached_at'], unique=False,
                              postgresql_where=sa.text("sla_breached_at IS NOT NULL"),
                              sqlite_where=sa.text("sla_breached_at IS NOT NULL"))
        batch_op.drop_column('first_breached_at')
        batch_op.drop_column('sla_started_at')
        batch_op.drop_column('loop_closed_in_sla')
