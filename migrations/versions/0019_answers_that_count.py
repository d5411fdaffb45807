"""answers that count: a status and the scanner signals per answer, HEADs on invitations, scanner rules

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 12:00:00

Answers already stored were counted as they came and stay counted. The scanner rules start with the
defaults of vocloop.responses.scanners.DEFAULT_RULES (copied here: a migration never changes).
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

DEFAULT_RULES = (
    ("network", "40.92.0.0/15", "Microsoft Exchange Online Protection (Safe Links)"),
    ("network", "40.107.0.0/16", "Microsoft Exchange Online Protection (Safe Links)"),
    ("network", "52.100.0.0/14", "Microsoft Exchange Online Protection (Safe Links)"),
    ("network", "104.47.0.0/17", "Microsoft Exchange Online Protection (Safe Links)"),
    ("network", "205.139.110.0/24", "Mimecast (US)"),
    ("network", "207.211.30.0/24", "Mimecast (US)"),
    ("network", "216.205.24.0/24", "Mimecast (US)"),
    ("network", "91.220.42.0/24", "Mimecast (UK)"),
    ("network", "195.130.217.0/24", "Mimecast (UK)"),
    ("network", "67.231.144.0/20", "Proofpoint"),
    ("network", "148.163.128.0/19", "Proofpoint (pphosted)"),
    ("network", "208.84.64.0/22", "Proofpoint"),
    ("network", "208.86.200.0/22", "Proofpoint"),
    ("network", "64.235.144.0/20", "Barracuda Email Security Service"),
    ("network", "209.222.80.0/21", "Barracuda Email Security Service"),
    ("network", "68.232.128.0/19", "Cisco Secure Email (IronPort) cloud"),
    ("user_agent", r"Microsoft Office|ms-office|BingPreview|SafeLinks", "Microsoft (Office link checks, Safe Links)"),
    ("user_agent", r"Mimecast", "Mimecast"),
    ("user_agent", r"Proofpoint|urldefense", "Proofpoint"),
    ("user_agent", r"Barracuda", "Barracuda"),
    ("user_agent", r"IronPort|Cisco", "Cisco"),
    ("user_agent", r"HeadlessChrome|PhantomJS|Puppeteer|Playwright", "headless browsers"),
    ("user_agent", r"^(curl|Wget|python-requests|python-urllib|Python-urllib|Go-http-client|Java|okhttp|libwww)",
     "scripts and HTTP libraries"),
    ("user_agent", r"(bot|crawler|spider|scanner)\b|preview", "bots and link previews"),
)


def upgrade():
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('status', sa.String(length=10), nullable=False, server_default='counted'))
        batch_op.add_column(sa.Column('signals', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('counted_by', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('counted_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('counted_by_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_responses_counted_by_user_id_users'), 'users',
                                    ['counted_by_user_id'], ['id'], ondelete='SET NULL')
        batch_op.create_check_constraint(batch_op.f('ck_responses_status'),
                                         "status IN ('pending', 'counted', 'suspected')")
        batch_op.create_index('ix_responses_unsettled', ['answered_at'], unique=False,
                              postgresql_where=sa.text("status = 'pending'"),
                              sqlite_where=sa.text("status = 'pending'"))
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.add_column(sa.Column('head_at', sa.DateTime(), nullable=True))
    rules = op.create_table(
        'scanner_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=12), nullable=False),
        sa.Column('pattern', sa.String(length=200), nullable=False),
        sa.Column('label', sa.String(length=120), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.CheckConstraint("kind IN ('network', 'user_agent')", name=op.f('ck_scanner_rules_kind')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_scanner_rules')),
        sa.UniqueConstraint('kind', 'pattern', name=op.f('uq_scanner_rules_kind')),
    )
    now = datetime.now(timezone.utc).replace(tzinfo=None)  # stored naive UTC, as vocloop.db does
    op.bulk_insert(rules, [{"kind": kind, "pattern": pattern, "label": label, "created_at": now}
                           for kind, pattern, label in DEFAULT_RULES])


def downgrade():
    op.drop_table('scanner_rules')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_column('head_at')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index('ix_responses_unsettled', postgresql_where=sa.text("status = 'pending'"),
                            sqlite_where=sa.text("status = 'pending'"))
        batch_op.drop_constraint(batch_op.f('ck_responses_status'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_responses_counted_by_user_id_users'), type_='foreignkey')
        batch_op.drop_column('counted_by_user_id')
        batch_op.drop_column('counted_at')
        batch_op.drop_column('counted_by')
        batch_op.drop_column('signals')
        batch_op.drop_column('status')
