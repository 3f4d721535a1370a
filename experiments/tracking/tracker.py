"""``Tracker``: the one thing tasks record results through (metrics, params, tags, figures, files)."""

from __future__ import annotations

import logging
import math
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from experiments.tracking.params import MAX_PARAM_VALUE_CHARS, MAX_TAG_VALUE_CHARS, flatten, param_text, plain, truncate

if TYPE_CHECKING:
    from mlflow.tracking import MlflowClient

log = logging.getLogger(__name__)


class Tracker:
    """Records one MLflow run; ``Tracker()`` with no arguments is the no-op tracker (logging off).

    Use ``experiments.tracking.start_run`` to get one.

    Attributes:
        run_id: the MLflow run id, or None when logging is disabled.
    """

    def __init__(
        self,
        run_id: str | None = None,
        client: MlflowClient | None = None,
        logged_params: Mapping[str, str] | None = None,
    ) -> None:
        self.run_id = run_id
        self._client = client
        self._params: dict[str, str] = dict(logged_params or {})

    @property
    def enabled(self) -> bool:
        """False for the no-op tracker (``logger.enabled=false``)."""
        return self._client is not None

    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        """Log numbers under namespaced names (``losses/policy``) at ``step`` (default 0).

        NumPy scalars, 0-d arrays and eager tensors are cast to float; None and NaN
        values are skipped (with a debug message) so a missing evaluation never fails a run.

        Raises:
            TypeError: a value is not a number.
        """
        clean: dict[str, float] = {}
        for key, value in metrics.items():
            number = _as_float(key, value)
            if number is None or math.isnan(number):
                log.debug("metric %s skipped at step %s: value is %r", key, step, value)
                continue
            clean[str(key)] = number
        if not self.enabled or not clean:
            return
        from mlflow.entities import Metric

        timestamp = int(time.time() * 1000)
        step = 0 if step is None else int(step)
        self._client.log_batch(
            self.run_id, metrics=[Metric(key, value, timestamp, step) for key, value in clean.items()]
        )

    def log_params(self, params: Mapping[str, Any]) -> None:
        """Log params; nested mappings are flattened to dotted keys, values over 6000 chars truncated.

        MLflow params are immutable: a key already logged with the same value is skipped,
        one with a different value (possible on resume) is kept and a warning says so.
        """
        new: dict[str, str] = {}
        for key, value in flatten(params).items():
            text = truncate(param_text(value), MAX_PARAM_VALUE_CHARS)
            old = self._params.get(key)
            if old is None:
                new[key] = text
            elif old != text:
                log.warning("param %s was logged as %r; MLflow params cannot change, %r not logged", key, old, text)
        if not new:
            return
        self._params.update(new)
        if not self.enabled:
            return
        from mlflow.entities import Param

        self._client.log_batch(self.run_id, params=[Param(key, value) for key, value in new.items()])

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        """Set run tags (values become strings, truncated to MLflow's 8000 chars)."""
        if not self.enabled or not tags:
            return
        from mlflow.entities import RunTag

        self._client.log_batch(
            self.run_id, tags=[RunTag(str(k), truncate(str(v), MAX_TAG_VALUE_CHARS)) for k, v in tags.items()]
        )

    def log_figure(self, fig: Any, filename: str) -> None:
        """Save a matplotlib figure as PNG under the run's ``plots/`` artifacts, then close it.

        Args:
            fig: a ``matplotlib.figure.Figure``.
            filename: e.g. ``"learning_curve.png"`` or ``"eval/calibration"``; the suffix
                becomes ``.png``.
        """
        try:
            if not self.enabled:
                return
            relative = Path(filename).with_suffix(".png")
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / relative.name
                fig.savefig(path, format="png", dpi=120, bbox_inches="tight")
                self._client.log_artifact(self.run_id, str(path), _join("plots", relative.parent))
        finally:
            if "matplotlib.pyplot" in sys.modules:
                sys.modules["matplotlib.pyplot"].close(fig)

    def log_dict(self, obj: Any, filename: str) -> None:
        """Log a mapping or list as a JSON (``.json``) or YAML (``.yaml``/``.yml``) artifact.

        Configs and dataclasses become plain values; NumPy scalars and paths too.
        """
        if not self.enabled:
            return
        self._client.log_dict(self.run_id, plain(obj), filename)

    def log_text(self, text: str, filename: str) -> None:
        """Log a string as a text artifact at ``filename`` (e.g. ``"reports/summary.md"``)."""
        if not self.enabled:
            return
        self._client.log_text(self.run_id, text, filename)

    def log_artifact(self, local_path: str | Path, artifact_path: str | None = None) -> None:
        """Log one local file under ``artifact_path`` (a folder in the run's artifacts)."""
        path = Path(local_path)
        if not path.is_file():
            raise FileNotFoundError(f"log_artifact: {path} is not a file")
        if self.enabled:
            self._client.log_artifact(self.run_id, str(path), artifact_path)

    def log_artifacts(self, local_dir: str | Path, artifact_path: str | None = None) -> None:
        """Log a local directory's contents, e.g. a SavedModel with ``artifact_path="model"``."""
        path = Path(local_dir)
        if not path.is_dir():
            raise FileNotFoundError(f"log_artifacts: {path} is not a directory")
        if self.enabled:
            self._client.log_artifacts(self.run_id, str(path), artifact_path)


def _as_float(key: Any, value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"metric {key!r}: expected a number, got {value!r} ({type(value).__name__})") from None


def _join(base: str, sub: Path) -> str:
    return base if str(sub) in ("", ".") else f"{base}/{sub.as_posix()}"
