"""each announcement email's own unsubscribe link, stored as a hash like a survey link's

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-06 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0033'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('announcement_recipients') as batch_op:
        batch_op.add_column(sa.Column('unsubscribe_token_hash', sa.String(length=64), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_announcement_recipients_unsubscribe_token_hash'),
                                          ['unsubscribe_token_hash'])


def downgrade():
    with op.batch_alter_table('announcement_recipients') as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_announcement_recipients_unsubscribe_token_hash'), type_='unique')
        batch_op.drop_column('unsubscribe_token_hash')
