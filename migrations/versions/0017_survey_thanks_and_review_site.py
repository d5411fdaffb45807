"""a survey's thank-you message by score band and a review site for promoters

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01 23:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('thanks', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('review_url', sa.String(length=500), nullable=True))


def downgrade():
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.drop_column('review_url')
        batch_op.drop_column('thanks')
