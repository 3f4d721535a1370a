"""Local services for tests, CI and development: Redis, PostgreSQL and an MLflow tracking server.

    python -m scripts.services start redis postgres mlflow --state-dir .services   # prints `export NAME=value`
    python -m scripts.services start mlflow --mlflow-port 5000                     # the team's MLflow server
    python -m scripts.services stop --state-dir .services

Each service listens at a free port (or the one asked for), keeps its data, log and pid file
under ``<state-dir>/<service>/`` and is stopped by its own pid (the process group it leads),
never by name. ``start`` returns (and the CLI prints) the environment variables that point
clients at it; ``ENV_VARS`` lists them. ``.ci/run`` starts every service before the test suite
and stops them afterwards; ``tests/conftest.py`` starts the ones a test needs when the variables
are not set, through the same functions.

PostgreSQL's cluster (with the MLflow backend store) and the MLflow server's artifacts survive
``stop``: a later ``start`` with the same state dir serves the same runs (delete the directory
to start afresh). Redis keeps nothing.

PostgreSQL's server binaries refuse to run as root, so as root the cluster is created and
run as the ``postgres`` user in a directory it owns (``su postgres -s /bin/bash -c ...``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ENV_VARS: dict[str, str] = {
    "redis": "BRIGHTPATH_TEST_REDIS_URL",
    "postgres": "BRIGHTPATH_TEST_POSTGRES_URL",
    "mlflow": "BRIGHTPATH_TEST_MLFLOW_URI",
}
"""Service name → the environment variable ``start`` sets for clients."""
SERVICES: tuple[str, ...] = tuple(ENV_VARS)
"""Start order: the MLflow server stores its runs in the PostgreSQL service."""
PG_BIN = Path(os.environ.get("BRIGHTPATH_PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_USER = "brightpath"
PG_DATABASES = ("brightpath", "mlflow")
"""Databases created in the cluster: the service's store and the MLflow backend store."""
STATE_FILE = "state.json"
START_TIMEOUT_S = 60.0


class ServiceError(RuntimeError):
    """A service could not be started or stopped; the message names it and its log file."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait(ready: Callable[[], bool], what: str, log: Path, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServiceError(f"{what} exited with status {process.returncode}; see {log}:\n{_tail(log)}")
        if ready():
            return
        time.sleep(0.2)
    raise ServiceError(f"{what} not ready after {START_TIMEOUT_S:.0f} s; see {log}:\n{_tail(log)}")


def _tail(log: Path, lines: int = 15) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _spawn(command: list[str], log: Path, **kwargs) -> subprocess.Popen:
    """Start ``command`` as the leader of a new process group, output to ``log``."""
    with open(log, "ab") as handle:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            command, stdout=handle, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True, **kwargs
        )


def _is_root() -> bool:
    return os.geteuid() == 0


def _as_postgres(command: str) -> list[str]:
    """Run a shell command as the ``postgres`` user when we are root (its binaries refuse root)."""
    if _is_root():
        return ["su", "postgres", "-s", "/bin/bash", "-c", command]
    return ["/bin/bash", "-c", command]


# --- Redis -----------------------------------------------------------------------------------


def start_redis(directory: Path) -> dict[str, object]:
    """``redis-server`` without persistence on a free port; returns its state (pid, port, url)."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise ServiceError("redis: redis-server is not installed (Debian: apt-get install redis-server)")
    port = free_port()
    log = directory / "redis.log"
    process = _spawn(
        [
            binary,
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
            "--daemonize",
            "no",
        ],
        log,
    )
    _wait(lambda: _listening(port), "redis-server", log, process)
    return {"pid": process.pid, "port": port, "url": f"redis://127.0.0.1:{port}/0", "log": str(log)}


# --- PostgreSQL --------------------------------------------------------------------------------


def start_postgres(directory: Path) -> dict[str, object]:
    """PostgreSQL on a free port with databases ``PG_DATABASES``, trust auth on loopback.

    The cluster is created (``initdb``) in ``<directory>/data`` unless one is there already,
    which is then started as it is.
    """
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).exists():
            raise ServiceError(f"postgres: {PG_BIN / tool} not found (set BRIGHTPATH_PG_BIN to the server binaries)")
    port = free_port()
    data, log = directory / "data", directory / "postgres.log"
    directory.mkdir(parents=True, exist_ok=True)
    log.touch()
    if _is_root():
        # The postgres user must own the cluster and be able to reach it through the state dir.
        subprocess.run(["chown", "-R", "postgres:postgres", str(directory)], check=True)
        for parent in [directory, *directory.parents]:
            if parent == Path("/"):
                break
            parent.chmod(parent.stat().st_mode | 0o011)  # o+x / g+x: traverse only
    if not (data / "PG_VERSION").exists():
        init = subprocess.run(
            _as_postgres(
                f"{PG_BIN}/initdb -D {data} -U {PG_USER} --auth=trust --encoding=UTF8 --no-instructions >> {log} 2>&1"
            ),
            check=False,
        )
        if init.returncode != 0:
            raise ServiceError(f"postgres: initdb failed; see {log}:\n{_tail(log)}")
    # TCP on loopback only: no Unix-domain socket, whose path (107 bytes at most) a deep state dir
    # such as pytest-xdist's temp dirs would overflow; every client here connects with -h 127.0.0.1.
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories='' -c fsync=off "
        f"-c max_connections=200"
    )
    # su's own messages ("Session terminated, killing shell...") go to the log, not the terminal.
    process = _spawn(_as_postgres(f"exec {PG_BIN}/postgres -D {data} {options} >> {log} 2>&1"), log)
    _wait(lambda: _listening(port), "postgres", log, process)
    for database in PG_DATABASES:
        created = subprocess.run(
            _as_postgres(f"{PG_BIN}/createdb -h 127.0.0.1 -p {port} -U {PG_USER} {database}"),
            check=False,
            capture_output=True,
            text=True,
        )
        if created.returncode != 0 and "already exists" not in created.stderr:
            with open(log, "a") as handle:
                handle.write(created.stdout + created.stderr)
            raise ServiceError(f"postgres: createdb {database} failed; see {log}:\n{_tail(log)}")
    server_pid = int((data / "postmaster.pid").read_text().split()[0])
    base = f"postgresql+psycopg://{PG_USER}@127.0.0.1:{port}"
    return {
        "pid": process.pid,
        "server_pid": server_pid,
        "port": port,
        "url": f"{base}/brightpath",
        "mlflow_url": f"{base}/mlflow",
        "log": str(log),
    }


# --- MLflow tracking server ----------------------------------------------------------------------


def start_mlflow(
    directory: Path, backend_store_uri: str, *, port: int | None = None, host: str = "127.0.0.1"
) -> dict[str, object]:
    """``mlflow server``: runs in ``backend_store_uri`` (after ``mlflow db upgrade``, so its schema is
    current before any writer connects), artifacts proxied by the server (``--serve-artifacts``)
    into ``<directory>/artifacts``.

    Args:
        port: TCP port; None picks a free one.
        host: interface to listen on; ``0.0.0.0`` lets Ray workers on other machines reach it
            (MLflow then accepts requests addressed to localhost or a private IP).
    """
    if port is None:
        port = free_port()
    elif _listening(port):
        raise ServiceError(f"mlflow: port {port} is already in use")
    mlflow = Path(sys.executable).with_name("mlflow")
    log = directory / "mlflow.log"
    upgrade = subprocess.run(
        [str(mlflow), "db", "upgrade", backend_store_uri], check=False, capture_output=True, text=True
    )
    if upgrade.returncode != 0:
        log.write_text(upgrade.stdout + upgrade.stderr)
        raise ServiceError(f"mlflow: `mlflow db upgrade` failed; see {log}:\n{_tail(log)}")
    process = _spawn(
        [
            str(mlflow),
            "server",
            "--backend-store-uri",
            backend_store_uri,
            "--artifacts-destination",
            str(directory / "artifacts"),
            "--serve-artifacts",
            "--host",
            host,
            "--port",
            str(port),
            "--workers",
            "2",
        ],
        log,
        env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        import urllib.request

        try:
            with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    _wait(healthy, "mlflow server", log, process)
    return {"pid": process.pid, "port": port, "url": url, "log": str(log)}


# --- lifecycle ---------------------------------------------------------------------------------


def start(
    names: list[str] | tuple[str, ...],
    state_dir: Path,
    *,
    mlflow_port: int | None = None,
    mlflow_host: str = "127.0.0.1",
) -> dict[str, str]:
    """Start the named services (in ``SERVICES`` order, PostgreSQL before MLflow); return their env vars.

    Already running services (per ``<state_dir>/state.json``) are kept; a stopped PostgreSQL
    cluster and MLflow artifacts under ``state_dir`` are reused. ``mlflow_port``/``mlflow_host``:
    see ``start_mlflow``. On failure, what this call started is stopped again and
    ``ServiceError`` says why.
    """
    unknown = sorted(set(names) - set(SERVICES))
    if unknown:
        raise ServiceError(f"unknown service(s) {unknown}; expected some of {', '.join(SERVICES)}")
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    state = read_state(state_dir)
    wanted = [name for name in SERVICES if name in names or (name == "postgres" and "mlflow" in names)]
    started: list[str] = []
    try:
        for name in wanted:
            if name in state and _alive(int(state[name]["pid"])):
                continue
            directory = state_dir / name
            if name == "redis" and directory.exists():
                shutil.rmtree(directory)
            directory.mkdir(parents=True, exist_ok=True)
            if name == "redis":
                state[name] = start_redis(directory)
            elif name == "postgres":
                state[name] = start_postgres(directory)
            else:
                state[name] = start_mlflow(
                    directory, str(state["postgres"]["mlflow_url"]), port=mlflow_port, host=mlflow_host
                )
            started.append(name)
            _write_state(state_dir, state)
    except BaseException:
        for name in reversed(started):
            _stop_one(state.pop(name))
        _write_state(state_dir, state)
        raise
    return environment(state_dir)


def environment(state_dir: Path) -> dict[str, str]:
    """``{ENV_VARS[name]: url}`` of the services running under ``state_dir``."""
    state = read_state(Path(state_dir))
    return {ENV_VARS[name]: str(state[name]["url"]) for name in SERVICES if name in state}


def stop(state_dir: Path, names: list[str] | tuple[str, ...] | None = None) -> list[str]:
    """Stop the named services (default: all) by their own pids, MLflow first; return the names stopped."""
    state_dir = Path(state_dir).resolve()
    state = read_state(state_dir)
    stopped = []
    for name in reversed(SERVICES):
        if name in state and (names is None or name in names):
            _stop_one(state.pop(name))
            stopped.append(name)
    _write_state(state_dir, state)
    return stopped


def read_state(state_dir: Path) -> dict[str, dict]:
    path = Path(state_dir) / STATE_FILE
    return json.loads(path.read_text()) if path.exists() else {}


def _write_state(state_dir: Path, state: dict) -> None:
    (Path(state_dir) / STATE_FILE).write_text(json.dumps(state, indent=2))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _stop_one(entry: dict) -> None:
    """SIGTERM the process group the service leads (PostgreSQL: SIGINT, its fast shutdown), then SIGKILL."""
    pid = int(entry["pid"])
    server_pid = int(entry.get("server_pid", pid))
    signum = signal.SIGINT if "server_pid" in entry else signal.SIGTERM
    for target in {pid, server_pid}:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(target, signum) if target == pid else os.kill(target, signum)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and (_alive(pid) or _alive(server_pid)):
        time.sleep(0.1)
        for target in (pid,):
            with contextlib.suppress(ChildProcessError):
                os.waitpid(target, os.WNOHANG)
    for target in (pid, server_pid):
        if _alive(target):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(target, signal.SIGKILL)
