"""Starting and stopping the real service and worker processes for the integration tests (by their own pids)."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Process:
    """A ``python -m <module>`` child leading its own process group, output in ``log``."""

    def __init__(self, module: str, env: dict[str, str], log: Path, cwd: Path):
        self.log = log
        with open(log, "ab") as handle:  # the child keeps its own copy of the descriptor
            self.popen = subprocess.Popen(
                [sys.executable, "-m", module],
                env=env,
                cwd=cwd,
                stdout=handle,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self, timeout_s: float = 15.0) -> None:
        """SIGTERM the group this process leads, then SIGKILL what is left."""
        if self.alive():
            os.killpg(self.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(self.pid, signal.SIGKILL)
                self.popen.wait()
        self.kill_group()

    def kill_group(self) -> None:
        """SIGKILL every process still in the group (a worker's pool children, their training runs)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)
        if self.alive():
            self.popen.wait()


def wait_until(condition, timeout_s: float, what: str, interval_s: float = 0.1, process: Process | None = None):
    """Poll ``condition()`` until it returns something truthy; fail naming ``what`` (and the log) after the timeout."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        if process is not None and not process.alive():
            raise AssertionError(f"{what}: the process exited; log:\n{process.output()[-3000:]}")
        time.sleep(interval_s)
    tail = f"; log:\n{process.output()[-3000:]}" if process is not None else ""
    raise AssertionError(f"{what}: not after {timeout_s} s{tail}")


def healthy(base_url: str) -> bool:
    try:
        return httpx.get(f"{base_url}/healthz", timeout=1.0).status_code == 200
    except httpx.HTTPError:
        return False


def pids_with_env(name: str, value: str) -> list[int]:
    """Processes of this user whose environment holds ``name=value`` (read from /proc)."""
    needle = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found
