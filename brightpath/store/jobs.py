"""How a training run started by the worker reports progress: one line on its standard output.

The worker (``serving.tasks``) starts ``python -m experiments.train`` with ``BRIGHTPATH_JOB_ID``
(and ``BRIGHTPATH_DATABASE_URL``) in its environment and reads its output line by line; a line

    BRIGHTPATH_JOB_PROGRESS {"progress": 0.4, "message": "PPO iteration 80/200"}

updates the job's progress (0–1) and message in the database. ``report_progress`` writes such a
line, and does nothing outside a job, so a training loop may call it unconditionally.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import TextIO

JOB_ID_ENV = "BRIGHTPATH_JOB_ID"
PROGRESS_PREFIX = "BRIGHTPATH_JOB_PROGRESS "


def report_progress(progress: float, message: str | None = None, *, stream: TextIO | None = None) -> None:
    """Tell the worker running this process how far it is (``progress`` 0–1, clipped); no-op outside a job."""
    if not os.environ.get(JOB_ID_ENV):
        return
    payload = {"progress": min(1.0, max(0.0, float(progress)))}
    if message is not None:
        payload["message"] = str(message)
    print(PROGRESS_PREFIX + json.dumps(payload), file=stream or sys.stdout, flush=True)


def parse_progress(line: str) -> tuple[float, str | None] | None:
    """``(progress, message)`` from a progress line; None for any other line or a malformed one."""
    if not line.startswith(PROGRESS_PREFIX):
        return None
    try:
        payload = json.loads(line[len(PROGRESS_PREFIX) :])
        progress = float(payload["progress"])
    except (ValueError, KeyError, TypeError):
        return None
    if not math.isfinite(progress):
        return None
    message = payload.get("message")
    return min(1.0, max(0.0, progress)), None if message is None else str(message)[:500]


__all__ = ["JOB_ID_ENV", "PROGRESS_PREFIX", "parse_progress", "report_progress"]
