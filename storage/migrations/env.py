"""Alembic environment: runs on the connection the daemon hands over (storage.migrate)."""
from alembic import context

from storage.models import Base

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
