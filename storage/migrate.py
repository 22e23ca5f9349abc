"""Brings a database to the newest schema with the Alembic revisions in storage/migrations; run on start."""
from __future__ import annotations

from pathlib import Path

from sqlalchemy import Engine, inspect, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def newest_revision() -> str:
    """The newest revision's id, read off the file names: each revision is named after its file's prefix (a test
    holds Alembic to that), so a start on an up-to-date database need not load Alembic at all."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def applied_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    with engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Apply every revision not yet applied (up to `revision`); a no-op on an up-to-date database. Alembic (a fifth
    of a second to import) is loaded only when there is something to apply."""
    if revision == "head" and applied_revision(engine) == newest_revision():
        return
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)
