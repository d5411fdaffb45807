"""themes found in comments, proposed to leads; dismissed ones are not proposed again

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-02 07:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('theme_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_from', sa.Date(), nullable=True),
    sa.Column('created_to', sa.Date(), nullable=True),
    sa.Column('only_untagged', sa.Boolean(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('comments', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name=op.f('ck_theme_runs_status')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_theme_runs_created_by_id_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_theme_runs'))
    )
    op.create_table('proposed_themes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('run_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('key_phrases', sa.JSON(), nullable=False),
    sa.Column('comments', sa.Integer(), nullable=False),
    sa.Column('sentiment', sa.JSON(), nullable=False),
    sa.Column('trend', sa.JSON(), nullable=False),
    sa.Column('example_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('topic_name', sa.String(length=60), nullable=True),
    sa.Column('merged_into_id', sa.Integer(), nullable=True),
    sa.CheckConstraint("status IN ('proposed', 'accepted', 'merged', 'dismissed')",
                       name=op.f('ck_proposed_themes_status')),
    sa.ForeignKeyConstraint(['merged_into_id'], ['proposed_themes.id'],
                            name=op.f('fk_proposed_themes_merged_into_id_proposed_themes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['run_id'], ['theme_runs.id'], name=op.f('fk_proposed_themes_run_id_theme_runs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_proposed_themes'))
    )
    with op.batch_alter_table('proposed_themes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_proposed_themes_run_id'), ['run_id'], unique=False)
    op.create_table('dismissed_theme_phrases',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('phrase', sa.String(length=120), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'],
                            name=op.f('fk_dismissed_theme_phrases_created_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dismissed_theme_phrases')),
    sa.UniqueConstraint('phrase', name=op.f('uq_dismissed_theme_phrases_phrase'))
    )


def downgrade():
    op.drop_table('dismissed_theme_phrases')
    with op.batch_alter_table('proposed_themes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_proposed_themes_run_id'))
    op.drop_table('proposed_themes')
    op.drop_table('theme_runs')
