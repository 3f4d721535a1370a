"""The automated retraining trigger: when monitoring says the next training round should start.

The trigger fires on any of (``TriggerConfig``):

* **significant drift** of the incoming families (a ``dataset_drift`` or ``feature_drift`` alert);
* **degradation**: a statistically significant drop of observed satisfaction (``satisfaction_degradation``);
* any other **critical** alert (e.g. a fallback rate above its ceiling);
* **N new feedback rows** since the serving models' training data ended.

What starts the round is the caller's: the continuous loop goes on with its retraining steps,
``python -m experiments.monitor`` submits a training job to the model service
(``POST /api/ml/train-models/`` with task ``loop``, run by its Celery worker) or runs the loop's
command line itself. The decision is a record (``RetrainingTrigger``) and an ``info`` alert, so the
dashboard and the logs say why a round started.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brightpath.errors import ValidationError
from brightpath.monitoring.alerts import Alert, most_severe

DRIFT_KINDS: tuple[str, ...] = ("dataset_drift", "feature_drift")
DEGRADATION_KINDS: tuple[str, ...] = ("satisfaction_degradation",)


@dataclass  # not frozen: Hydra composes ``loop.trigger`` onto it
class TriggerConfig:
    """When the next training round starts.

    Attributes:
        on_drift: fire on a drift alert of the incoming families.
        on_degradation: fire on a significant drop of observed satisfaction.
        on_critical: fire on any other critical alert.
        min_new_feedback: fire once this many feedback rows arrived since the serving models'
            training data ended (≥ 1); None: never for the count alone.
    """

    on_drift: bool = True
    on_degradation: bool = True
    on_critical: bool = True
    min_new_feedback: int | None = 1000

    def __post_init__(self) -> None:
        value = self.min_new_feedback
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
            raise ValidationError("trigger.min_new_feedback", value, "None or a whole number ≥ 1")


@dataclass(frozen=True)
class RetrainingTrigger:
    """The decision.

    Attributes:
        fired: start the next training round.
        reasons: one sentence per cause (empty when it did not fire).
        new_feedback: feedback rows since the training data ended.
    """

    fired: bool
    reasons: tuple[str, ...]
    new_feedback: int

    def alert(self) -> Alert:
        """An ``info`` alert ``retraining_triggered`` (or ``retraining_not_triggered``) saying why."""
        return Alert(
            kind="retraining_triggered" if self.fired else "retraining_not_triggered",
            severity="info",
            metric="new_feedback_rows",
            value=float(self.new_feedback),
            threshold=float("nan"),
            message=("retraining: " + "; ".join(self.reasons))
            if self.fired
            else f"no retraining: no drift, degradation or critical alert, {self.new_feedback} new feedback rows",
        )

    def to_dict(self) -> dict[str, Any]:
        return {"fired": self.fired, "reasons": list(self.reasons), "new_feedback": self.new_feedback}


def retraining_trigger(
    alerts: list[Alert], new_feedback: int, config: TriggerConfig | None = None
) -> RetrainingTrigger:
    """Decide from the monitors' ``alerts`` and the count of new feedback rows (module docstring)."""
    config = config or TriggerConfig()
    reasons = []
    drift = [a for a in alerts if a.kind in DRIFT_KINDS]
    degradation = [a for a in alerts if a.kind in DEGRADATION_KINDS]
    other_critical = [a for a in alerts if a.severity == "critical" and a.kind not in DRIFT_KINDS + DEGRADATION_KINDS]
    if config.on_drift and drift:
        reasons.append(f"drift of the incoming families ({', '.join(a.message for a in drift)})")
    if config.on_degradation and degradation:
        reasons.append(f"degradation ({', '.join(a.message for a in degradation)})")
    if config.on_critical and other_critical and most_severe(other_critical) == "critical":
        reasons.append(f"critical alerts ({', '.join(a.message for a in other_critical)})")
    if config.min_new_feedback is not None and new_feedback >= config.min_new_feedback:
        reasons.append(f"{new_feedback} new feedback rows (≥ {config.min_new_feedback})")
    return RetrainingTrigger(bool(reasons), tuple(reasons), int(new_feedback))


__all__ = ["DEGRADATION_KINDS", "DRIFT_KINDS", "RetrainingTrigger", "TriggerConfig", "retraining_trigger"]
