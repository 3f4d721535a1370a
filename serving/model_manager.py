"""Which model versions the service serves, loaded once each and swapped in the background.

TensorFlow Serving's habits: the version to serve comes from the registry
(``brightpath.registry.resolve``: the promoted version, or a pinned one); a poller thread looks
every ``model_poll_s`` seconds, loads a newly promoted version *beside* the one in use (and warms
it with one call), then swaps a single reference. A request that already holds the old model
finishes with it; nothing is unloaded under it. A new version that fails to load is reported
(``/v1/models/<name>``) and the version in use stays.

Served models:

* ``generator`` — ``brightpath.ScheduleGeneratorModel(version_dir)``. Missing or corrupt with
  nothing loaded before: the rule-based generator, schedules marked ``source: "fallback"``.
* ``reward`` — the version directory for ``brightpath.inference.evaluate_schedule(model_dir=...)``
  plus a ``RewardScorer`` for improvement suggestions. Missing: evaluations answer 503.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from brightpath import ScheduleGeneratorModel, registry
from brightpath.errors import ModelLoadError
from brightpath.export import METADATA_FILE

log = logging.getLogger(__name__)

MODEL_NAMES: tuple[str, ...] = ("generator", "reward")
WARM_UP_FAMILY: dict[str, Any] = {"child_age": 9}
"""The family the first call on a freshly loaded model is made for (traces the TF graph before any request)."""


@dataclasses.dataclass(frozen=True)
class LoadedModel:
    """One loaded model version, or the fallback standing in for it.

    Attributes:
        name: ``generator`` or ``reward``.
        version: the registry version (None: a pre-registry directory, or nothing loaded).
        path: the version directory (None when nothing could be resolved).
        stamp: the modification time of its metadata (ns); a re-export in place changes it.
        model_version: the model's own version string (its training run), or the fallback's.
        loaded_at: when it was loaded (UTC).
        generator: the schedule generator (generator only; the rule-based one when falling back).
        scorer: the reward scorer (reward only; None when unavailable).
        error: why the model could not be used (None when it is served).
    """

    name: str
    version: int | None
    path: Path | None
    stamp: int
    model_version: str
    loaded_at: datetime.datetime
    generator: ScheduleGeneratorModel | None = None
    scorer: Any = None
    error: str | None = None

    @property
    def available(self) -> bool:
        return self.error is None


@dataclasses.dataclass(frozen=True)
class LoadFailure:
    """A version that was resolved but did not load while another stayed in use.

    Attributes:
        version: the registry version that failed (None: nothing could be resolved).
        path: its directory and ``stamp`` its metadata time: the same files are not tried again.
        error: why.
        at: when (UTC).
    """

    version: int | None
    path: Path | None
    stamp: int
    error: str
    at: datetime.datetime


def _stamp(path: Path) -> int:
    try:
        return (path / METADATA_FILE).stat().st_mtime_ns
    except OSError:
        return 0


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class ModelManager:
    """Loads, serves and hot-swaps the generator and the reward model.

    Args:
        model_dir: the registry root.
        pinned: ``{"generator": N | None, "reward": N | None}``; a pinned version is served regardless
            of the champion (rollback).
        on_load: called with ``(name, outcome)`` after each load attempt (``"loaded"``, ``"failed"``),
            e.g. to count them.
    """

    def __init__(
        self,
        model_dir: Path,
        pinned: dict[str, int | None] | None = None,
        on_load: Callable[[str, str], None] | None = None,
    ):
        self.model_dir = Path(model_dir)
        self.pinned = {name: (pinned or {}).get(name) for name in MODEL_NAMES}
        self._on_load = on_load or (lambda name, outcome: None)
        self._current: dict[str, LoadedModel] = {}
        self._failures: dict[str, LoadFailure] = {}
        self._lock = threading.Lock()  # one load at a time (poller vs. startup)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # --- what handlers read ------------------------------------------------------------------

    @property
    def generator(self) -> LoadedModel:
        return self._current["generator"]

    @property
    def reward(self) -> LoadedModel:
        return self._current["reward"]

    def get(self, name: str) -> LoadedModel:
        return self._current[name]

    def last_failure(self, name: str) -> LoadFailure | None:
        return self._failures.get(name)

    def problems(self) -> list[str]:
        """Why the service is degraded: models not served (none when everything is loaded)."""
        return [f"{model.name}: {model.error}" for model in self._current.values() if model.error]

    # --- loading -------------------------------------------------------------------------------

    def load_all(self) -> None:
        """Load every model (at startup): a model that cannot be loaded is replaced by its fallback."""
        for name in MODEL_NAMES:
            self.refresh(name)

    def refresh(self, name: str) -> bool:
        """Load ``name`` again if the registry now points elsewhere (or its metadata changed).

        Returns:
            True when a different model (or the fallback) is now served.
        """
        with self._lock:
            try:
                version, path = registry.resolve(self.model_dir, name, self.pinned[name])
            except ModelLoadError as exc:
                return self._unresolvable(name, exc)
            stamp = _stamp(path)
            current = self._current.get(name)
            if current is not None and (current.path, current.stamp) == (path, stamp):
                return False
            failure = self._failures.get(name)
            if failure is not None and (failure.path, failure.stamp) == (path, stamp):
                return False  # these files already failed to load; keep serving the current model
            loaded = self._load(name, version, path, stamp)
            if loaded.error is not None and current is not None and current.available:
                self._failures[name] = LoadFailure(version, path, stamp, loaded.error, loaded.loaded_at)
                log.error(
                    "%s version %s failed to load; still serving version %s: %s",
                    name,
                    version,
                    current.version,
                    loaded.error,
                )
                return False
            self._current[name] = loaded
            self._failures.pop(name, None)
            if loaded.error is None:
                log.info("serving %s version %s (%s) from %s", name, version, loaded.model_version, path)
            else:
                log.warning("%s unusable, serving the fallback: %s", name, loaded.error)
            return True

    def _unresolvable(self, name: str, exc: ModelLoadError) -> bool:
        current = self._current.get(name)
        if current is not None and current.available:
            if self._failures.get(name) is None or self._failures[name].error != str(exc):
                log.error("%s: %s; still serving version %s", name, exc, current.version)
                self._failures[name] = LoadFailure(None, None, 0, str(exc), _now())
            return False
        if current is not None and current.error == str(exc):
            return False
        self._current[name] = self._fallback(name, None, None, 0, str(exc))
        self._on_load(name, "failed")
        log.warning("%s: %s; serving the fallback", name, exc)
        return True

    def _load(self, name: str, version: int | None, path: Path, stamp: int) -> LoadedModel:
        """Load one version and make one call with it; a model that fails either way is unusable."""
        try:
            if name == "generator":
                model = ScheduleGeneratorModel(path)
                if model.load_error is not None:
                    raise model.load_error
                model.predict(WARM_UP_FAMILY)  # traces the graph before any request needs it
                loaded = LoadedModel(name, version, path, stamp, model.model_version, _now(), generator=model)
            else:
                from brightpath.inference import evaluate_schedule
                from brightpath.reward.scoring import RewardScorer

                scorer = RewardScorer(path)
                evaluate_schedule(ScheduleGeneratorModel().predict(WARM_UP_FAMILY), model_dir=path)  # inference's cache
                loaded = LoadedModel(name, version, path, stamp, scorer.model_version, _now(), scorer=scorer)
        except ModelLoadError as exc:
            self._on_load(name, "failed")
            return self._fallback(name, version, path, stamp, str(exc))
        except Exception as exc:  # it loads but cannot run (a wrong signature, say): as unusable as a corrupt file
            self._on_load(name, "failed")
            return self._fallback(
                name,
                version,
                path,
                stamp,
                f"{path}: the model loads but fails on a warm-up call ({type(exc).__name__}: {exc})",
            )
        self._on_load(name, "loaded")
        return loaded

    def _fallback(self, name: str, version: int | None, path: Path | None, stamp: int, error: str) -> LoadedModel:
        """What stands in for an unusable model: for the generator, the rule-based one, its schedules marked
        ``source: "fallback"`` (CONTRACTS §3); for the reward model, nothing (evaluations answer 503)."""
        generator = None
        if name == "generator":
            generator = ScheduleGeneratorModel()
            generator.source = "fallback"
        model_version = generator.model_version if generator is not None else "unavailable"
        return LoadedModel(name, version, path, stamp, model_version, _now(), generator=generator, error=error)

    # --- the poller ------------------------------------------------------------------------------

    def start(self, interval_s: float) -> None:
        """Poll the registry every ``interval_s`` seconds in a daemon thread until ``stop``."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._poll, args=(interval_s,), name="model-poller", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _poll(self, interval_s: float) -> None:
        while not self._stop.wait(interval_s):
            for name in MODEL_NAMES:
                try:
                    self.refresh(name)
                except Exception:  # a broken model file must not stop the poller; the next round retries
                    log.exception("model poller: refreshing %s failed", name)
