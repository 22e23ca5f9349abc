"""quarantined records remember how to be read again, and when they were

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""
from alembic import op
import sqlalchemy as sa
import storage.db


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reviewed by hand: two nullable columns and an index; rows quarantined before stay as they were (no retry key).
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.add_column(sa.Column('retry_key', sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column('resolved_at', storage.db.UtcDateTime(), nullable=True))
        batch_op.create_index('ix_quarantine_waiting', ['account', 'resolved_at', 'retry_key'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('quarantine', schema=None) as batch_op:
        batch_op.drop_index('ix_quarantine_waiting')
        batch_op.drop_column('resolved_at')
        batch_op.drop_column('retry_key')
