"""outbound webhook signing secrets stored sealed with a key derived from SECRET_KEY

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30 14:10:00

Existing secrets are sealed in place, with the SECRET_KEY of the app running the upgrade (flask db
upgrade); a downgrade opens them again with the same key.
"""
from alembic import op
import sqlalchemy as sa

from vocloop.security import seal, unseal

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

endpoints = sa.table('webhook_endpoints', sa.column('id', sa.Integer), sa.column('secret', sa.String),
                     sa.column('sealed_secret', sa.String))


def _convert(source: str, target: str, convert) -> None:
    connection = op.get_bind()
    for id_, value in connection.execute(sa.select(endpoints.c.id, endpoints.c[source])).all():
        connection.execute(endpoints.update().where(endpoints.c.id == id_).values({target: convert(value)}))


def upgrade():
    with op.batch_alter_table('webhook_endpoints') as batch_op:
        batch_op.add_column(sa.Column('sealed_secret', sa.String(length=400), nullable=True))
    _convert('secret', 'sealed_secret', seal)
    with op.batch_alter_table('webhook_endpoints') as batch_op:
        batch_op.alter_column('sealed_secret', existing_type=sa.String(length=400), nullable=False)
        batch_op.drop_column('secret')


def downgrade():
    with op.batch_alter_table('webhook_endpoints') as batch_op:
        batch_op.add_column(sa.Column('secret', sa.String(length=100), nullable=True))
    _convert('sealed_secret', 'secret', unseal)
    with op.batch_alter_table('webhook_endpoints') as batch_op:
        batch_op.alter_column('secret', existing_type=sa.String(length=100), nullable=False)
        batch_op.drop_column('sealed_secret')
