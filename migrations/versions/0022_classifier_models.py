"""the install's own sentiment models, retrained from the shipped one plus the team's corrections

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-02 04:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('classifier_models',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.String(length=40), nullable=False),
    sa.Column('weights', sa.JSON(), nullable=False),
    sa.Column('corrections', sa.Integer(), nullable=False),
    sa.Column('folds', sa.Integer(), nullable=False),
    sa.Column('f1_before', sa.Float(), nullable=False),
    sa.Column('f1_after', sa.Float(), nullable=False),
    sa.Column('in_use', sa.Boolean(), nullable=False),
    sa.Column('previous_id', sa.Integer(), nullable=True),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('in_use_from', sa.DateTime(), nullable=True),
    sa.Column('in_use_until', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['previous_id'], ['classifier_models.id'],
                            name=op.f('fk_classifier_models_previous_id_classifier_models'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'],
                            name=op.f('fk_classifier_models_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classifier_models')),
    sa.UniqueConstraint('version', name=op.f('uq_classifier_models_version'))
    )
    with op.batch_alter_table('classifier_models', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_classifier_models_in_use'), ['in_use'], unique=False)


def downgrade():
    with op.batch_alter_table('classifier_models', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_classifier_models_in_use'))
    op.drop_table('classifier_models')
