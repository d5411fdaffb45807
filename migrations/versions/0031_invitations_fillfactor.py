"""invitations' pages half full on PostgreSQL (fillfactor 50), so that an invitation's status changes stay on its page

An invitation changes status after it is written (sent, then delivered, opened, clicked). On a full page each
change is a new row version on another page, with an entry in each of the table's seven indexes; with room
on its page, none of them is indexed, and PostgreSQL writes it there alone (a HOT update): the relay's
"sent" for 1,000 invitations 25-80 ms -> 9 ms (issue #25). The price is twice the table's pages (not its
indexes'). Rows written from now on; a VACUUM FULL would lay out the old ones so too.

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-03 08:10:00

"""
from alembic import op


revision = '0031'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade():
    if op.get_bind().dialect.name == "postgresql":  # SQLite has no such setting
        op.execute("ALTER TABLE invitations SET (fillfactor = 50)")


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE invitations RESET (fillfactor)")
