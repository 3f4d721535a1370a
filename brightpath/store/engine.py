"""Connecting to the store: the database URL, the engine, and schema migrations (Alembic).

The default database is an embedded SQLite file, ``$BRIGHTPATH_HOME/brightpath.db`` (``./brightpath.db``
without ``BRIGHTPATH_HOME``), in WAL mode so readers never wait for the writer;
``BRIGHTPATH_DATABASE_URL`` selects another, e.g.
``postgresql+psycopg://user:password@host:5432/brightpath``.

SQLite transactions that may write start with ``BEGIN IMMEDIATE``: a transaction that reads and
then writes holds the write lock from its start, so two processes (the service and the worker)
never fail with "database is locked" while upgrading a read lock; waiting writers retry for
``SQLITE_BUSY_TIMEOUT_S``. Connections marked read-only (``READ_ONLY_OPTION``) begin deferred and
never wait for the writer (WAL). Migrations live in ``brightpath/store/migrations`` and run under a
lock (that write lock on SQLite, an advisory lock on PostgreSQL), so processes that start
together migrate once.
"""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import sqlalchemy
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url

DATABASE_URL_ENV = "BRIGHTPATH_DATABASE_URL"
DEFAULT_DATABASE_FILE = "brightpath.db"
SQLITE_BUSY_TIMEOUT_S = 30.0
MIGRATIONS_DIR = Path(__file__).with_name("migrations")
READ_ONLY_OPTION = "brightpath_read_only"
"""Execution option of connections that only read: on SQLite they begin a deferred transaction,
which takes no write lock (``Store.reading()``)."""
_MIGRATION_LOCK_KEY = 0x42505354  # "BPST": the PostgreSQL advisory lock held while migrating


def database_url() -> str:
    """``$BRIGHTPATH_DATABASE_URL``, else ``sqlite:///<$BRIGHTPATH_HOME or .>/brightpath.db``."""
    if os.environ.get(DATABASE_URL_ENV):
        return os.environ[DATABASE_URL_ENV]
    home = Path(os.environ.get("BRIGHTPATH_HOME", "."))
    return f"sqlite:///{home.resolve() / DEFAULT_DATABASE_FILE}"


def create_engine(url: str | None = None, *, autocheckpoint: bool = True, **kwargs) -> Engine:
    """An engine for ``url`` (default ``database_url()``); SQLite gets WAL, foreign keys and IMMEDIATE transactions.

    A SQLite file's directory is created if missing. ``autocheckpoint=False`` (SQLite): commits never
    copy the WAL back into the database file themselves; the owner runs ``checkpoint`` instead (off the
    request path: a checkpoint's fsync can take tens of milliseconds).
    """
    url = make_url(url or database_url())
    if url.get_backend_name() != "sqlite":
        return sqlalchemy.create_engine(url, pool_pre_ping=True, **kwargs)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sqlalchemy.create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}, **kwargs
    )

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy, not the driver, begins transactions
        cursor = dbapi_connection.cursor()
        _enable_wal(cursor)
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes; WAL's usual setting
        cursor.execute("PRAGMA foreign_keys=ON")
        if not autocheckpoint:
            cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        deferred = connection.get_execution_options().get(READ_ONLY_OPTION, False)
        connection.exec_driver_sql("BEGIN" if deferred else "BEGIN IMMEDIATE")

    return engine


def _enable_wal(cursor) -> None:
    """``PRAGMA journal_mode=WAL``, retried for up to ``SQLITE_BUSY_TIMEOUT_S``: switching a new file to WAL
    needs an exclusive lock, and SQLite answers processes that open a new file together with an immediate
    "database is locked" there instead of waiting on its busy timeout."""
    deadline = time.monotonic() + SQLITE_BUSY_TIMEOUT_S
    while True:
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def checkpoint(engine: Engine) -> None:
    """Copy a SQLite database's WAL back into its file without blocking readers or writers (no-op elsewhere)."""
    if engine.dialect.name == "sqlite":
        connection = engine.raw_connection()  # outside any transaction: a checkpoint cannot run inside one
        try:
            connection.cursor().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        finally:
            connection.close()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Migrate the schema to ``revision`` (default: the newest), once even if several processes call it."""
    from alembic import command

    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK_KEY})")
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at (None: not migrated yet)."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def head_revision() -> str:
    """The newest revision in ``brightpath/store/migrations``."""
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def alembic_config(url: str | None = None):
    """An Alembic ``Config`` for the migrations in this package (no ``alembic.ini`` needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return config


__all__ = [
    "DATABASE_URL_ENV",
    "DEFAULT_DATABASE_FILE",
    "checkpoint",
    "MIGRATIONS_DIR",
    "alembic_config",
    "create_engine",
    "current_revision",
    "database_url",
    "head_revision",
    "upgrade",
]
