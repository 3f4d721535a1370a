"""``scripts.services``: the local PostgreSQL keeps its data across stop/start, processes stop by pid,
and a busy MLflow port is refused before anything starts."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from scripts import services

REQUIRE_SERVICES_ENV = "BRIGHTPATH_REQUIRE_SERVICES"
"""As in ``tests/conftest.py``: set by ``.ci/run``, a service that cannot start fails instead of skipping."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _start_or_skip(names: list[str], state_dir: Path) -> dict[str, str]:
    try:
        return services.start(names, state_dir)
    except services.ServiceError as err:
        if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
            raise
        pytest.skip(f"cannot start {names}: {err}")


def test_postgres_keeps_its_data_across_stop_and_start(tmp_path: Path):
    import psycopg

    state_dir = tmp_path / "services"
    variable = services.ENV_VARS["postgres"]
    first = _start_or_skip(["postgres"], state_dir)[variable]
    try:
        pids = {services.read_state(state_dir)["postgres"][key] for key in ("pid", "server_pid")}
        with psycopg.connect(first.replace("postgresql+psycopg", "postgresql")) as connection:
            connection.execute("CREATE TABLE kept (value text)")
            connection.execute("INSERT INTO kept VALUES ('still here')")
    finally:
        assert services.stop(state_dir) == ["postgres"]
    assert not any(_alive(int(pid)) for pid in pids)
    assert services.read_state(state_dir) == {}

    second = services.start(["postgres"], state_dir)[variable]
    try:
        with psycopg.connect(second.replace("postgresql+psycopg", "postgresql")) as connection:
            assert connection.execute("SELECT value FROM kept").fetchall() == [("still here",)]
            databases = {row[0] for row in connection.execute("SELECT datname FROM pg_database").fetchall()}
        assert set(services.PG_DATABASES) <= databases
    finally:
        services.stop(state_dir)


def test_a_busy_mlflow_port_is_refused_before_anything_starts(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(services.ServiceError, match=f"port {port} is already in use"):
            services.start_mlflow(tmp_path, "postgresql+psycopg://nobody@127.0.0.1:1/none", port=port)
    assert not (tmp_path / "mlflow.log").exists()
