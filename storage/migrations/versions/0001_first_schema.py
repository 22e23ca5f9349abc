"""first schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import storage.db


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reviewed by hand: the first schema of every table.
    op.create_table('alert_states',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('marketplace_id', sa.String(length=20), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('fulfillment', sa.String(length=3), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('since', storage.db.UtcDateTime(), nullable=False),
    sa.Column('last_notified_at', storage.db.UtcDateTime(), nullable=True),
    sa.Column('candidate_level', sa.String(length=16), nullable=True),
    sa.Column('candidate_count', sa.Integer(), nullable=False),
    sa.Column('sequence', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'marketplace_id', 'metric', 'fulfillment')
    )
    op.create_table('alerts',
    sa.Column('alert_id', sa.String(length=160), nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('marketplace_id', sa.String(length=20), nullable=False),
    sa.Column('metric', sa.String(length=40), nullable=False),
    sa.Column('fulfillment', sa.String(length=3), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=16), nullable=False),
    sa.Column('raised_at', storage.db.UtcDateTime(), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('alert_id')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_raised', ['account', 'raised_at'], unique=False)

    op.create_table('amazon_figures',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('marketplace_id', sa.String(length=20), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('fulfillment', sa.String(length=3), nullable=False),
    sa.Column('fetched_at', storage.db.UtcDateTime(), nullable=False),
    sa.Column('numerator', sa.Integer(), nullable=True),
    sa.Column('denominator', sa.Integer(), nullable=True),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('window_from', storage.db.UtcDateTime(), nullable=True),
    sa.Column('window_to', storage.db.UtcDateTime(), nullable=True),
    sa.Column('details', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'marketplace_id', 'metric', 'fulfillment', 'fetched_at')
    )
    op.create_table('cancellations',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('by', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=True),
    sa.PrimaryKeyConstraint('account', 'order_id')
    )
    op.create_table('cursors',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('updated_at', storage.db.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'source')
    )
    op.create_table('deliveries',
    sa.Column('delivery_id', sa.String(length=200), nullable=False),
    sa.Column('alert_id', sa.String(length=160), nullable=False),
    sa.Column('channel', sa.String(length=64), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('created_at', storage.db.UtcDateTime(), nullable=False),
    sa.Column('next_attempt_at', storage.db.UtcDateTime(), nullable=False),
    sa.Column('claimed_at', storage.db.UtcDateTime(), nullable=True),
    sa.Column('sent_at', storage.db.UtcDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('delivery_id')
    )
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('digest_runs',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('period', sa.String(length=8), nullable=False),
    sa.Column('period_key', sa.String(length=16), nullable=False),
    sa.Column('enqueued_at', storage.db.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'period', 'period_key')
    )
    op.create_table('feed_health',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('last_success_at', storage.db.UtcDateTime(), nullable=True),
    sa.Column('last_failure_at', storage.db.UtcDateTime(), nullable=True),
    sa.Column('failing_since', storage.db.UtcDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('credentials_refused', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'source')
    )
    op.create_table('feedback',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('marketplace_id', sa.String(length=20), nullable=False),
    sa.Column('feedback_day', sa.Date(), nullable=False),
    sa.Column('rating', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('first_seen_at', storage.db.UtcDateTime(), nullable=False),
    sa.Column('removed_at', storage.db.UtcDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('account', 'order_id')
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_day', ['account', 'marketplace_id', 'feedback_day'], unique=False)

    op.create_table('financial_events',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('event_key', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('direction', sa.Integer(), nullable=False),
    sa.Column('posted_at', storage.db.UtcDateTime(), nullable=False),
    sa.Column('amount', sa.Numeric(precision=14, scale=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.PrimaryKeyConstraint('account', 'event_key')
    )
    with op.batch_alter_table('financial_events', schema=None) as batch_op:
        batch_op.create_index('ix_financial_events_order', ['account', 'order_id'], unique=False)

    op.create_table('metric_buckets',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('marketplace_id', sa.String(length=20), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('fulfillment', sa.String(length=3), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('numerator', sa.Integer(), nullable=False),
    sa.Column('denominator', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'marketplace_id', 'metric', 'fulfillment', 'day')
    )
    op.create_table('metric_history',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('marketplace_id', sa.String(length=20), nullable=False),
    sa.Column('metric', sa.String(length=16), nullable=False),
    sa.Column('fulfillment', sa.String(length=3), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('numerator', sa.Integer(), nullable=False),
    sa.Column('denominator', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'marketplace_id', 'metric', 'fulfillment', 'day')
    )
    op.create_table('orders',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('marketplace_id', sa.String(length=20), nullable=False),
    sa.Column('channel', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('purchase_at', storage.db.UtcDateTime(), nullable=False),
    sa.Column('last_update_at', storage.db.UtcDateTime(), nullable=False),
    sa.Column('latest_ship_at', storage.db.UtcDateTime(), nullable=True),
    sa.Column('latest_delivery_at', storage.db.UtcDateTime(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('is_replacement', sa.Boolean(), nullable=False),
    sa.Column('is_business', sa.Boolean(), nullable=False),
    sa.Column('ship_confirmed_at', storage.db.UtcDateTime(), nullable=True),
    sa.Column('cancelled_at', storage.db.UtcDateTime(), nullable=True),
    sa.Column('contributions', sa.Text(), nullable=False),
    sa.Column('first_seen_at', storage.db.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'order_id')
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index('ix_orders_open_mfn', ['account', 'channel', 'status'], unique=False)
        batch_op.create_index('ix_orders_purchase', ['account', 'marketplace_id', 'purchase_at'], unique=False)

    op.create_table('performance_reports',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('fetched_at', storage.db.UtcDateTime(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('quarantine',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('seen_at', storage.db.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('shipments',
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.String(length=40), nullable=False),
    sa.Column('tracking_valid', sa.Boolean(), nullable=True),
    sa.Column('delivered_at', storage.db.UtcDateTime(), nullable=True),
    sa.Column('cancelled_by', sa.String(length=16), nullable=True),
    sa.Column('cancel_reason', sa.String(length=120), nullable=True),
    sa.PrimaryKeyConstraint('account', 'order_id')
    )
    op.create_table('silences',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('account', sa.String(length=64), nullable=False),
    sa.Column('marketplace_id', sa.String(length=20), nullable=True),
    sa.Column('metric', sa.String(length=40), nullable=True),
    sa.Column('until', storage.db.UtcDateTime(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', storage.db.UtcDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )


def downgrade() -> None:
    # Reviewed by hand: the first schema of every table.
    op.drop_table('silences')
    op.drop_table('shipments')
    op.drop_table('quarantine')
    op.drop_table('performance_reports')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_purchase')
        batch_op.drop_index('ix_orders_open_mfn')

    op.drop_table('orders')
    op.drop_table('metric_history')
    op.drop_table('metric_buckets')
    with op.batch_alter_table('financial_events', schema=None) as batch_op:
        batch_op.drop_index('ix_financial_events_order')

    op.drop_table('financial_events')
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.drop_index('ix_feedback_day')

    op.drop_table('feedback')
    op.drop_table('feed_health')
    op.drop_table('digest_runs')
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_due')

    op.drop_table('deliveries')
    op.drop_table('cursors')
    op.drop_table('cancellations')
    op.drop_table('amazon_figures')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('ix_alerts_raised')

    op.drop_table('alerts')
    op.drop_table('alert_states')
