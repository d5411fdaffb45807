"""why each topic: the keyword and the comment's phrase that matched, per answer

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-02 04:00:00

Answers classified before keep an empty list: their topics show without a phrase until they are
re-classified.
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('topic_matches', sa.JSON(), nullable=False, server_default='[]'))


def downgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_column('topic_matches')
