"""retraining runs: the install's model retrained as a job (Topics page, API, weekly clock)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('retrain_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('outcome', sa.String(length=10), nullable=True),
    sa.Column('model_id', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_retrain_runs_status')),
    sa.CheckConstraint("outcome IS NULL OR outcome IN ('in_use', 'kept', 'refused')",
                       name=op.f('ck_retrain_runs_outcome')),
    sa.ForeignKeyConstraint(['model_id'], ['classifier_models.id'], name=op.f('fk_retrain_runs_model_id_classifier_models'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_retrain_runs_requested_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_retrain_runs'))
    )


def downgrade():
    op.drop_table('retrain_runs')
