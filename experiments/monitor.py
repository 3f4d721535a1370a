"""Monitor any BrightPath store, and start the next training round when the trigger fires.

    python -m experiments.monitor                                   # $BRIGHTPATH_DATABASE_URL or ./brightpath.db
    python -m experiments.monitor --database-url postgresql+psycopg://user@host/brightpath --week 2026-09-14
    python -m experiments.monitor --start service --service-url http://127.0.0.1:8001 --token $TOKEN
    python -m experiments.monitor --start cli                       # run the next loop round here

What it does (``brightpath.monitoring.store_report.monitor_store``): drift of the latest week's
families against those served before, degradation of observed satisfaction per model version,
satisfaction by segment, model health from the audit log; feedback is read with the serving
reward model's calibration (the champion of ``--model-dir``), and "new feedback" counts the rows
received after that model's training data ended. It writes the dashboard (``--output``,
default ``<BRIGHTPATH_HOME or .>/reports/monitoring/dashboard.html``) and its JSON next to it,
logs every alert as one JSON line (``brightpath.monitoring.alert``), and decides the retraining
trigger (``brightpath.monitoring.retraining``). With ``--mlflow-run-id`` the dashboard, the JSON
and the alerts (as tags) go to that MLflow run.

When the trigger fires, ``--start`` says what happens: ``none`` (default: report only),
``service`` (``POST /api/ml/train-models/`` ``{"task": "loop", "overrides": {"resume": "true",
"loop.more_rounds": 1}}``: the model service's Celery worker runs the next round), or ``cli``
(``python -m experiments.train +exp=loop resume=true loop.more_rounds=1`` here). Exit status 0
when the report was made (whatever it found), 2 for bad arguments or an unreachable store.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

log = logging.getLogger("experiments.monitor")

NEXT_ROUND_OVERRIDES = {"resume": "true", "loop.more_rounds": 1}
"""What a triggered retraining asks the loop for: continue the run, one more round."""


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    home = Path(os.environ.get("BRIGHTPATH_HOME", "."))
    parser = argparse.ArgumentParser(prog="python -m experiments.monitor", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--database-url",
        help="the store (default: $BRIGHTPATH_DATABASE_URL, else ./brightpath.db under $BRIGHTPATH_HOME)",
    )
    parser.add_argument(
        "--model-dir",
        type=Path,
        default=None,
        help="the model registry whose champion reward model reads the feedback "
        "(default: $BRIGHTPATH_MODEL_DIR, else <BRIGHTPATH_HOME>/models)",
    )
    parser.add_argument(
        "--week",
        type=datetime.date.fromisoformat,
        default=None,
        help="the week to monitor (its Monday, YYYY-MM-DD; default: the latest)",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=home / "reports" / "monitoring" / "dashboard.html",
        help="the dashboard's path; its JSON goes next to it (monitoring.json)",
    )
    parser.add_argument(
        "--min-new-feedback",
        type=int,
        default=None,
        help="fire the trigger after this many new feedback rows (default: TriggerConfig's)",
    )
    parser.add_argument(
        "--start",
        choices=("none", "service", "cli"),
        default="none",
        help="what a fired trigger starts (default: none, report only)",
    )
    parser.add_argument("--service-url", default="http://127.0.0.1:8001", help="the model service (--start service)")
    parser.add_argument(
        "--token",
        default=os.environ.get("BRIGHTPATH_API_TOKEN"),
        help="the service's bearer token (default: $BRIGHTPATH_API_TOKEN)",
    )
    parser.add_argument("--mlflow-run-id", default=None, help="also log the dashboard and alerts to this MLflow run")
    return parser.parse_args(argv)


def _serving_reward(model_dir: Path):
    """The champion reward model of the registry (its calibration and training cut-off), or None."""
    from brightpath import registry
    from brightpath.errors import ModelLoadError
    from brightpath.reward.scoring import RewardScorer

    try:
        _, path = registry.resolve(model_dir, "reward")
        return RewardScorer(path)
    except ModelLoadError as exc:
        log.info("no serving reward model (%s): feedback read with the default calibration", exc)
        return None


def start_next_round(how: str, *, service_url: str, token: str | None) -> dict[str, Any]:
    """Start the loop's next round (module docstring); returns what was started."""
    if how == "service":
        import httpx

        if not token:
            raise SystemExit("--start service needs --token or $BRIGHTPATH_API_TOKEN")
        response = httpx.post(
            f"{service_url.rstrip('/')}/api/ml/train-models/",
            timeout=30,
            json={"task": "loop", "overrides": NEXT_ROUND_OVERRIDES},
            headers={"Authorization": f"Bearer {token}"},
        )
        response.raise_for_status()
        return {"started": "service", **response.json()}
    command = [
        sys.executable,
        "-m",
        "experiments.train",
        "+exp=loop",
        *(f"{key}={value}" for key, value in NEXT_ROUND_OVERRIDES.items()),
    ]
    log.info("starting the next round: %s", " ".join(command))
    status = subprocess.run(command, check=False).returncode
    return {"started": "cli", "command": command, "exit_status": status}


def main(argv: list[str] | None = None) -> int:
    from brightpath.console import quiet_third_party

    quiet_third_party()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    args = _arguments(argv)
    from brightpath.export import default_model_dir
    from brightpath.monitoring import log_alerts, write_dashboard
    from brightpath.monitoring.retraining import TriggerConfig, retraining_trigger
    from brightpath.monitoring.store_report import monitor_store
    from brightpath.store import Store

    try:
        store = Store(args.database_url, migrate=False)
        store.ping()
    except Exception as exc:  # noqa: BLE001 (any driver error: say which store and why)
        print(f"monitor: cannot open the store {args.database_url or '(default)'}: {exc}", file=sys.stderr)
        return 2
    reward = _serving_reward(args.model_dir or default_model_dir())
    since = None
    if reward is not None and reward.metadata.get("feedback_through"):
        since = datetime.datetime.fromisoformat(reward.metadata["feedback_through"])
    found = monitor_store(
        store,
        window=args.week,
        feedback_since=since,
        calibration=None if reward is None else reward.calibration,
        title=f"BrightPath monitoring: {store.url}",
    )
    config = TriggerConfig() if args.min_new_feedback is None else TriggerConfig(min_new_feedback=args.min_new_feedback)
    trigger = retraining_trigger(found.report.alerts(), found.new_feedback, config)
    report = dataclasses.replace(found.report, extra_alerts=(trigger.alert(),))
    alerts = report.alerts()
    log_alerts(alerts)
    path = write_dashboard(report, args.output)
    record = {**found.to_dict(), "alerts": [a.to_dict() for a in alerts], "trigger": trigger.to_dict()}
    started = None
    if trigger.fired and args.start != "none":
        started = start_next_round(args.start, service_url=args.service_url, token=args.token)
        record["started"] = started
    json_path = path.with_name("monitoring.json")
    json_path.write_text(json.dumps(record, indent=2, sort_keys=True, default=str))
    if args.mlflow_run_id:
        _log_to_mlflow(args.mlflow_run_id, path, json_path, alerts)
    print(
        f"week {found.window}: {len(alerts) - 1} alerts, trigger {'fired' if trigger.fired else 'quiet'}"
        + (f" ({'; '.join(trigger.reasons)})" if trigger.fired else "")
        + (f", started the next round ({started['started']})" if started else "")
        + f"; dashboard {path}"
    )
    store.close()
    return 0


def _log_to_mlflow(run_id: str, dashboard: Path, json_path: Path, alerts) -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient()
    client.log_artifact(run_id, str(dashboard), "monitoring")
    client.log_artifact(run_id, str(json_path), "monitoring")
    client.set_tag(run_id, "monitoring.alerts", json.dumps([a.to_log_record() for a in alerts])[:7900])


if __name__ == "__main__":
    sys.exit(main())
