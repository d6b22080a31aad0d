"""Alembic environment: migrations run online against the URL the caller passes."""
from alembic import context
from sqlalchemy import create_engine, pool

config = context.config

engine = create_engine(config.attributes["database_url"], poolclass=pool.NullPool)
with engine.connect() as connection:
    context.configure(connection=connection, transactional_ddl=True)
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
