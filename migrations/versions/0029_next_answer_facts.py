"""what the customer did after an item's loop ended, kept on the item: the next answer and invitation; its opening score

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-02 09:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None

# The loop ended: the closing message accepted, the item closed without one, or (not closed) the opening answer.
ENDED = ("COALESCE(feedback_items.loop_closed_at, feedback_items.closed_at, "
         "(SELECT o.answered_at FROM responses o WHERE o.id = feedback_items.response_id))")
# The same two statements as vocloop/items/next_answer.py, frozen here as this migration's backfill.
SEARCHES = f"""
UPDATE feedback_items SET
  next_response_id = (SELECT l.id FROM responses l
                      WHERE l.contact_id = feedback_items.contact_id AND l.survey_id = feedback_items.survey_id
                        AND l.answered_at > {ENDED} AND l.status = 'counted'
                      ORDER BY l.answered_at, l.id LIMIT 1),
  next_invitation_id = (SELECT v.id FROM invitations v
                        WHERE v.contact_id = feedback_items.contact_id AND v.created_at > {ENDED}
                        ORDER BY v.created_at, v.id LIMIT 1)"""
VALUES = """
UPDATE feedback_items SET
  opening_score = (SELECT o.score FROM responses o WHERE o.id = feedback_items.response_id),
  next_answered_at = (SELECT a.answered_at FROM responses a WHERE a.id = feedback_items.next_response_id),
  next_score_change = (SELECT a.score - o.score FROM responses a, responses o
                       WHERE a.id = feedback_items.next_response_id AND o.id = feedback_items.response_id),
  next_invitation_answered_at = (SELECT v.answered_at FROM invitations v
                                 WHERE v.id = feedback_items.next_invitation_id)"""


def upgrade():
    with op.batch_alter_table('feedback_items') as batch_op:
        batch_op.add_column(sa.Column('opening_score', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('next_response_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('next_answered_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('next_score_change', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('next_invitation_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('next_invitation_answered_at', sa.DateTime(), nullable=True))
    # A contact's answers to one survey in time order: the search for the next one (it also serves
    # every look-up by contact alone, which the old single-column index did).
    with op.batch_alter_table('responses') as batch_op:
        batch_op.create_index('ix_responses_contact_survey_answered', ['contact_id', 'survey_id', 'answered_at'],
                              unique=False)
        batch_op.drop_index('ix_responses_contact_id')
    op.execute(SEARCHES)
    op.execute(VALUES)
    with op.batch_alter_table('feedback_items') as batch_op:
        batch_op.create_index('ix_feedback_items_loop_closed', ['loop_closed_at'], unique=False,
                              postgresql_where=sa.text("loop_closed_at IS NOT NULL"),
                              sqlite_where=sa.text("loop_closed_at IS NOT NULL"))


def downgrade():
    with op.batch_alter_table('feedback_items') as batch_op:
        batch_op.drop_index('ix_feedback_items_loop_closed', postgresql_where=sa.text("loop_closed_at IS NOT NULL"),
                            sqlite_where=sa.text("loop_closed_at IS NOT NULL"))
    with op.batch_alter_table('responses') as batch_op:
        batch_op.create_index('ix_responses_contact_id', ['contact_id'], unique=False)
        batch_op.drop_index('ix_responses_contact_survey_answered')
    with op.batch_alter_table('feedback_items') as batch_op:
        batch_op.drop_column('next_invitation_answered_at')
        batch_op.drop_column('next_invitation_id')
        batch_op.drop_column('next_score_change')
        batch_op.drop_column('next_answered_at')
        batch_op.drop_column('next_response_id')
        batch_op.drop_column('opening_score')
