"""orders remember leaving Pending; shipments keep the bounds of a delivery

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
import storage.db


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reviewed by hand. Rows stored before this revision keep the meaning they had: a cancel counted unless the
    # order is still Pending, and a delivery instant taken as exact.
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('left_pending', sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.create_index('ix_orders_delivery_due', ['account', 'latest_delivery_at'], unique=False)
    op.execute("UPDATE orders SET left_pending = (status NOT IN ('Pending', 'PendingAvailability'))")
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('in_transit_seen_at', storage.db.UtcDateTime(), nullable=True))
        batch_op.add_column(sa.Column('delivered_after', storage.db.UtcDateTime(), nullable=True))
    op.execute("UPDATE shipments SET delivered_after = delivered_at")


def downgrade() -> None:
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_column('delivered_after')
        batch_op.drop_column('in_transit_seen_at')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_delivery_due')
        batch_op.drop_column('left_pending')
