"""one ticket per incident on a tracker (tickets)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""
from alembic import op
import sqlalchemy as sa

from storage.db import UtcDateTime


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reviewed by hand.
    op.create_table(
        'tickets',
        sa.Column('channel', sa.String(length=64), nullable=False),
        sa.Column('incident', sa.String(length=200), nullable=False),
        sa.Column('dedup_key', sa.String(length=160), nullable=False),
        sa.Column('ticket_id', sa.String(length=64), nullable=False),
        sa.Column('url', sa.Text(), nullable=False),
        sa.Column('level', sa.String(length=16), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('opened_at', UtcDateTime(), nullable=False),
        sa.Column('closed_at', UtcDateTime(), nullable=True),
        sa.Column('commenting', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('channel', 'incident'),
    )
    op.create_index('ix_tickets_key', 'tickets', ['channel', 'dedup_key', 'opened_at'])


def downgrade() -> None:
    op.drop_index('ix_tickets_key', table_name='tickets')
    op.drop_table('tickets')
