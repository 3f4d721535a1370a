"""``python serving/child.py PARENT_PID COMMAND [ARG ...]``: run COMMAND so that it dies with PARENT_PID.

The worker starts training runs through this launcher: it asks Linux to send it SIGKILL when its
parent (the worker process) dies (``PR_SET_PDEATHSIG``, kept across ``exec``), checks the parent
is still there, and replaces itself with COMMAND. A worker killed with SIGKILL so leaves no
orphaned training run behind. (Setting this from the worker itself would need ``preexec_fn``,
which is unsafe in a process with threads.)
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def main(argv: list[str]) -> int:
    if len(argv) < 2 or not argv[0].isdigit():
        print("usage: python serving/child.py PARENT_PID COMMAND [ARG ...]", file=sys.stderr)
        return 2
    parent, command = int(argv[0]), argv[1:]
    if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL) != 0:
        print(f"serving.child: prctl failed (errno {ctypes.get_errno()})", file=sys.stderr)
        return 1
    if os.getppid() != parent:  # the parent died before prctl took effect
        return 1
    os.execvp(command[0], command)
    return 1  # not reached: execvp replaces this process or raises


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
