"""The training-run launcher (``serving/child.py``): the command it starts dies with the process that started it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import serving

LAUNCHER = str(Path(serving.__file__).with_name("child.py"))


def test_it_runs_the_command_in_its_place():
    done = subprocess.run(
        [sys.executable, LAUNCHER, str(os.getpid()), sys.executable, "-c", "print('ran')"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (done.returncode, done.stdout) == (0, "ran\n")


def test_it_refuses_bad_arguments_and_a_parent_that_is_not_its_own():
    assert subprocess.run([sys.executable, LAUNCHER], capture_output=True, timeout=30).returncode == 2
    not_my_parent = subprocess.run([sys.executable, LAUNCHER, "1", "true"], capture_output=True, timeout=30)
    assert not_my_parent.returncode == 1


def test_the_command_dies_when_its_parent_is_killed(tmp_path):
    pid_file = tmp_path / "sleeper.pid"
    sleeper_code = f"import os, time; open({str(pid_file)!r}, 'w').write(str(os.getpid())); time.sleep(120)"
    parent_code = (
        "import os, subprocess, sys, time\n"
        f"subprocess.Popen([sys.executable, {LAUNCHER!r}, str(os.getpid()), sys.executable, '-c', {sleeper_code!r}])\n"
        "time.sleep(120)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", parent_code])
    deadline = time.monotonic() + 30
    while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
        time.sleep(0.05)
    sleeper = int(pid_file.read_text())
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{sleeper}").exists() and _state(sleeper) != "Z" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{sleeper}").exists() or _state(sleeper) == "Z"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "gone"
