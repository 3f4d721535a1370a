"""The monitoring dashboard of the service's own store: ``GET /dashboard`` (one self-contained HTML page).

The page is ``brightpath.monitoring.render_dashboard`` of ``brightpath.monitoring.store_report.monitor_store``
on the store the service writes: drift of the latest week's families against those served before,
observed satisfaction per model version over the weeks, satisfaction by segment, model health from the
audit log. Feedback is read with the served reward model's calibration (the default one when none is
served), and new feedback is counted after that model's training data ends. Computed on each request
(seconds on a large store); the loop logs the same page to MLflow every round.
"""

from __future__ import annotations

import datetime

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from brightpath.monitoring import render_dashboard
from brightpath.monitoring.store_report import monitor_store
from serving.dependencies import ModelsDep, StoreDep

router = APIRouter(tags=["monitoring"])


@router.get("/dashboard", response_class=HTMLResponse, responses={200: {"content": {"text/html": {}}}})
def dashboard(store: StoreDep, models: ModelsDep) -> HTMLResponse:
    """The monitoring dashboard of this service's store (module docstring)."""
    reward = models.reward
    scorer = reward.scorer if reward.available else None
    since = None
    if scorer is not None and scorer.metadata.get("feedback_through"):
        since = datetime.datetime.fromisoformat(scorer.metadata["feedback_through"])
    found = monitor_store(
        store,
        feedback_since=since,
        calibration=None if scorer is None else scorer.calibration,
        title="BrightPath model service: monitoring",
    )
    return HTMLResponse(render_dashboard(found.report))
