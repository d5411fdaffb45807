"""the relay's state of unsettled outbox messages in a narrow table of its own (message_queue), not the wide messages row

Taking a message for sending, and its outcome, each wrote a new version of the whole outbox row (content,
substitutions, headers, seven indexes); now a claim rewrites a row of four numbers and the message row is
written once, when it is settled (issue #25). Messages a relay was sending keep their lease.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 08:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('message_queue',
    sa.Column('message_id', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(), nullable=False),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_message_queue_message_id_messages'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('message_id', name=op.f('pk_message_queue'))
    )
    op.execute("INSERT INTO message_queue (message_id, next_attempt_at, lease_until, attempts) "
               "SELECT id, next_attempt_at, CASE WHEN status = 'sending' THEN lease_until END, attempts "
               "FROM messages WHERE status IN ('pending', 'sending')")
    op.execute("UPDATE messages SET status = 'pending' WHERE status = 'sending'")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_status_next_attempt')
        batch_op.drop_column('next_attempt_at')
        batch_op.drop_column('lease_until')
        batch_op.create_index(batch_op.f('ix_messages_status'), ['status'], unique=False)


def downgrade():
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_messages_status'))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_attempt_at', sa.DateTime(), nullable=True))
    queued = "(SELECT q.{} FROM message_queue q WHERE q.message_id = messages.id)"
    op.execute(f"UPDATE messages SET next_attempt_at = COALESCE({queued.format('next_attempt_at')}, created_at), "
               f"lease_until = {queued.format('lease_until')}, "
               f"attempts = COALESCE({queued.format('attempts')}, attempts)")
    op.execute("UPDATE messages SET status = 'sending' "
               "WHERE id IN (SELECT message_id FROM message_queue WHERE lease_until IS NOT NULL)")
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.alter_column('next_attempt_at', existing_type=sa.DateTime(), nullable=False)
        batch_op.create_index('ix_messages_status_next_attempt', ['status', 'next_attempt_at'], unique=False)
    op.drop_table('message_queue')
