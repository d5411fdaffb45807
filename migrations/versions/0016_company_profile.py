"""company profile; a survey's customer-facing title and own sender; contacts' first name and language

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-01 22:43:10

A survey's brand colour becomes an override of the company's: surveys still on the old default
(#1f4e79, never chosen) follow the company profile from now on. A contact's "language" attribute
(what an import's language column made before) moves to the new column; the downgrade moves it back.
"""
import re

from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

OLD_DEFAULT_COLOR = '#1f4e79'
surveys = sa.table('surveys', sa.column('brand_color', sa.String))
contacts = sa.table('contacts', sa.column('id', sa.Integer), sa.column('attributes', sa.JSON),
                    sa.column('language', sa.String))
LANGUAGE_TAG = re.compile(r'^[a-z]{2,3}(-[a-z0-9]{1,8})*$')


def _move_language(to_column: bool) -> None:
    connection = op.get_bind()
    for id_, attributes, language in connection.execute(
            sa.select(contacts.c.id, contacts.c.attributes, contacts.c.language)).all():
        attributes = dict(attributes or {})
        if to_column:
            tag = str(attributes.get('language') or '').strip().replace('_', '-').lower()
            if not (len(tag) <= 10 and LANGUAGE_TAG.match(tag)):
                continue
            attributes.pop('language')
            values = {'attributes': attributes, 'language': tag}
        else:
            if not language:
                continue
            values = {'attributes': {**attributes, 'language': language}, 'language': None}
        connection.execute(contacts.update().where(contacts.c.id == id_).values(values))


def upgrade():
    op.create_table('company_profile',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('company_name', sa.String(length=120), nullable=False),
    sa.Column('logo_url', sa.String(length=500), nullable=True),
    sa.Column('brand_color', sa.String(length=7), nullable=False),
    sa.Column('sender_name', sa.String(length=120), nullable=True),
    sa.Column('sender_email', sa.String(length=320), nullable=True),
    sa.Column('reply_to', sa.String(length=320), nullable=True),
    sa.Column('postal_address', sa.Text(), nullable=False),
    sa.Column('privacy_url', sa.String(length=500), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('id = 1', name=op.f('ck_company_profile_one_row')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_company_profile'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_name', sa.String(length=100), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=10), nullable=True))

    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.add_column(sa.Column('title', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('sender_email', sa.String(length=320), nullable=True))
        batch_op.alter_column('brand_color', existing_type=sa.String(length=7), nullable=True, server_default=None)
    op.execute(surveys.update().where(surveys.c.brand_color == OLD_DEFAULT_COLOR).values(brand_color=None))
    _move_language(to_column=True)


def downgrade():
    _move_language(to_column=False)
    op.execute(surveys.update().where(surveys.c.brand_color.is_(None)).values(brand_color=OLD_DEFAULT_COLOR))
    with op.batch_alter_table('surveys', schema=None) as batch_op:
        batch_op.alter_column('brand_color', existing_type=sa.String(length=7), nullable=False,
                              server_default=OLD_DEFAULT_COLOR)
        batch_op.drop_column('sender_email')
        batch_op.drop_column('title')

    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('language')
        batch_op.drop_column('first_name')

    op.drop_table('company_profile')
