"""the orders behind each metric (order_defects) and each shipment's carrier, service and tracking number

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""
import json
from datetime import date

from alembic import op
import sqlalchemy as sa

from alerts.metrics.contributions import Contribution, counts_against


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

CHUNK = 5000


def upgrade() -> None:
    # Reviewed by hand. Shipments stored before this revision have no carrier until searchOrders shows them again.
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('carrier', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('shipping_service', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('tracking_number', sa.String(length=120), nullable=True))
    defects = op.create_table(
        'order_defects',
        sa.Column('account', sa.String(length=64), nullable=False),
        sa.Column('marketplace_id', sa.String(length=20), nullable=False),
        sa.Column('metric', sa.String(length=64), nullable=False),
        sa.Column('fulfillment', sa.String(length=3), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('order_id', sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint('account', 'marketplace_id', 'metric', 'fulfillment', 'day', 'order_id'),
    )
    _fill_from_stored_contributions(defects)


def _fill_from_stored_contributions(defects: sa.Table) -> None:
    """Every stored order's contributions already say what it counts against: one pass over the orders, by key."""
    connection = op.get_bind()
    orders = sa.table('orders', sa.column('account'), sa.column('order_id'), sa.column('marketplace_id'),
                      sa.column('contributions'))
    after = ('', '')
    while True:
        rows = connection.execute(
            sa.select(orders.c.account, orders.c.order_id, orders.c.marketplace_id, orders.c.contributions)
            .where(sa.tuple_(orders.c.account, orders.c.order_id) > sa.tuple_(*after))
            .order_by(orders.c.account, orders.c.order_id).limit(CHUNK)
        ).all()
        if not rows:
            return
        entries = []
        for account, order_id, marketplace_id, encoded in rows:
            for metric, fulfillment, day, num, den in json.loads(encoded or "[]"):
                if counts_against(Contribution(metric, fulfillment, date.fromisoformat(day), num, den)):
                    entries.append({"account": account, "marketplace_id": marketplace_id, "metric": metric,
                                    "fulfillment": fulfillment, "day": date.fromisoformat(day), "order_id": order_id})
        if entries:
            connection.execute(defects.insert(), entries)
        after = (rows[-1].account, rows[-1].order_id)


def downgrade() -> None:
    op.drop_table('order_defects')
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_column('tracking_number')
        batch_op.drop_column('shipping_service')
        batch_op.drop_column('carrier')
