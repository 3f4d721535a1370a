"""Alembic environment of the BrightPath store: runs migrations on the connection
``brightpath.store.engine.upgrade`` passes in, or on ``sqlalchemy.url`` (the Alembic CLI)."""

from __future__ import annotations

from alembic import context

from brightpath.store.engine import create_engine
from brightpath.store.models import Base


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url"))
    try:
        with engine.begin() as connection:
            run_migrations(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("brightpath.store migrations run online only (they need a connection)")
main()
