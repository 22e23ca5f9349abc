"""leases: several daemons on one PostgreSQL database split the accounts; metric names up to 64 characters;
open orders indexed by ship-by date

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
import storage.db


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


# (table, length before): policy sections ("policy:suspectedIntellectualPropertyViolations") passed 40 too.
METRIC_COLUMNS = (('metric_buckets', 16, False), ('metric_history', 16, False), ('amazon_figures', 16, False),
                  ('alert_states', 40, False), ('alerts', 40, False), ('silences', 40, True))


def upgrade() -> None:
    # Reviewed by hand: two new tables, and the metric columns widened. PostgreSQL enforced their lengths and
    # refused "odr_granted_claims" (SQLite never checks lengths, so SQLite databases held it all along).
    for table, before, nullable in METRIC_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('metric', existing_type=sa.String(length=before), type_=sa.String(length=64),
                                  existing_nullable=nullable)
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_open_mfn')
        batch_op.create_index('ix_orders_open_ship_by', ['account', 'channel', 'status', 'latest_ship_at'], unique=False)
    op.create_table('account_leases',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('holder', sa.String(length=120), nullable=True),
    sa.Column('expires_at', storage.db.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('account')
    )
    op.create_table('lease_holders',
    sa.Column('holder', sa.String(length=120), nullable=False),
    sa.Column('expires_at', storage.db.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('holder')
    )


def downgrade() -> None:
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_open_ship_by')
        batch_op.create_index('ix_orders_open_mfn', ['account', 'channel', 'status'], unique=False)
    op.drop_table('lease_holders')
    op.drop_table('account_leases')
    for table, before, nullable in METRIC_COLUMNS:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('metric', existing_type=sa.String(length=64), type_=sa.String(length=before),
                                  existing_nullable=nullable)
