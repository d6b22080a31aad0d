"""Apply the warehouse's versioned migrations with Alembic, one migrator at a time."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, pool, text

from revcert.warehouse.connection import connect

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number: the key of the advisory lock every migrator takes first.
_MIGRATION_LOCK = 7_301_2026


def engine(dsn: str) -> Engine:
    """A SQLAlchemy engine over the warehouse's own connect() (every libpq form and extra works)."""
    return create_engine("postgresql+psycopg://", creator=lambda: connect(dsn), poolclass=pool.NullPool)


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def upgrade(dsn: str, revision: str = "head") -> None:
    """Bring the warehouse to `revision`; running it again (or twice at once) is harmless."""
    warehouse = engine(dsn)
    try:
        with warehouse.connect() as conn:
            # A session lock: it outlives the statement's transaction and ends with the connection.
            conn.execute(text("select pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            conn.commit()
            config = alembic_config()
            config.attributes["connection"] = conn
            command.upgrade(config, revision)
    finally:
        warehouse.dispose()


def current_revision(dsn: str) -> str | None:
    warehouse = engine(dsn)
    try:
        with warehouse.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        warehouse.dispose()


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()
