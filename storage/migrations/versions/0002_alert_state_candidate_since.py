"""alert state remembers when a lower level began

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa
import storage.db


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Reviewed by hand: one nullable column, no data to move.
    with op.batch_alter_table('alert_states', schema=None) as batch_op:
        batch_op.add_column(sa.Column('candidate_since', storage.db.UtcDateTime(), nullable=True))



def downgrade() -> None:
    # Reviewed by hand: one nullable column, no data to move.
    with op.batch_alter_table('alert_states', schema=None) as batch_op:
        batch_op.drop_column('candidate_since')

