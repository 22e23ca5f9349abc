"""financial events indexed by posting time: the ODR lag profile reads the last months' grants on every evaluation

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('financial_events', schema=None) as batch_op:
        batch_op.create_index('ix_financial_events_posted', ['account', 'posted_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('financial_events', schema=None) as batch_op:
        batch_op.drop_index('ix_financial_events_posted')
