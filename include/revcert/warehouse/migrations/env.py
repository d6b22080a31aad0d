"""Alembic environment: migrations run online on the connection the caller passes.

The caller (revcert.warehouse.migrate) holds an advisory lock on that
connection, so two runs migrating at once take turns; each migration runs in
one transaction, so no run ever sees a half-migrated warehouse.
"""
from alembic import context

context.configure(connection=context.config.attributes["connection"], transactional_ddl=True)
with context.begin_transaction():
    context.run_migrations()
