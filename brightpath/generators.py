"""The one generator interface: family profiles in, schedule parameters and Schedule JSON out, batched.

Every schedule writer the project compares — the rule-based expert, the oracle,
the scikit-learn regressors, the Keras MLP and the PPO policies — is a
``Generator``: ``params(answers, child_age)`` maps a batch of raw questionnaires
(``answers`` float ``[B, 25]``, Likert 1–5 with 0 for missing; ``child_age`` float
``[B]`` in years) to parameter vectors ``float64 [B, N_PARAMS]`` in parameter units
(``schedule.PARAM_SPECS``), and ``schedules`` turns those into Schedule JSON
(CONTRACTS §2) with ``meta.source`` naming the writer. ``brightpath.evaluation``
scores any of them by one code path.

``load_generator`` resolves a name or a model directory; MLflow run URIs
(``runs:/<id>``) are resolved to a directory in ``experiments/`` (this library
never imports MLflow).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np

from brightpath.child import ChildProfile
from brightpath.errors import ModelLoadError, ValidationError
from brightpath.expert import EXPERT_VERSION, expert_params
from brightpath.export import GENERATOR_SUBDIR, METADATA_FILE, default_model_dir, read_metadata
from brightpath.features import profile_features
from brightpath.inference import ScheduleGeneratorModel
from brightpath.questionnaire import N_ITEMS, FamilyInput
from brightpath.schedule import N_PARAMS, ScheduleParams, schedule_for, unit_to_params
from brightpath.simulator import Families

log = logging.getLogger(__name__)

BASELINES_SUBDIR = "baselines"
"""``<model_dir>/baselines/<rf|gbr|mlp>``: where ``+exp=baseline`` writes its models."""
NAMED_GENERATORS: tuple[str, ...] = ("expert", "oracle", "rf", "gbr", "mlp", "ppo")
"""Names ``load_generator`` understands without a path."""


@runtime_checkable
class Generator(Protocol):
    """A schedule writer. Attributes: ``name`` (a row label such as ``"rf"``, ``"ppo-mlp"``),
    ``source`` (``meta.source`` of its schedules) and ``model_version``."""

    name: str
    source: str
    model_version: str

    def params(self, answers: np.ndarray, child_age: np.ndarray) -> np.ndarray:
        """Parameter vectors ``float64 [B, N_PARAMS]`` (parameter units, in range) for a batch."""
        ...


def _check_batch(answers: Any, child_age: Any) -> tuple[np.ndarray, np.ndarray]:
    answers = np.asarray(answers, dtype=np.float32)
    child_age = np.asarray(child_age, dtype=np.float32).reshape(-1)
    if answers.ndim != 2 or answers.shape[1] != N_ITEMS:
        raise ValidationError(
            "answers", f"<array of shape {list(answers.shape)}>", f"an array of shape [batch, {N_ITEMS}]"
        )
    if len(child_age) != len(answers):
        raise ValidationError("child_age", f"<{len(child_age)} ages>", f"one age per row of answers ({len(answers)})")
    return answers, child_age


def schedules_from_params(
    params: np.ndarray, answers: np.ndarray, child_age: np.ndarray, *, source: str, model_version: str
) -> list[dict]:
    """Schedule JSON for each row of parameter vectors ``[B, N_PARAMS]`` (snapped into range).

    ``meta.family`` of each schedule carries the family's answers, age and grade, so a
    reward model can score it later (as ``schedule.schedule_for`` does).

    Raises:
        ValidationError: a parameter row is not finite (``params[i]``), or a family's
            answers or age are out of range (``answers[i]``).
    """
    answers, child_age = _check_batch(answers, child_age)
    params = np.asarray(params, dtype=np.float64).reshape(-1, N_PARAMS)
    if len(params) != len(answers):
        raise ValidationError("params", f"<{len(params)} rows>", f"one parameter vector per family ({len(answers)})")
    out = []
    for i, (vector, row, age) in enumerate(zip(params, answers, child_age)):
        if not np.all(np.isfinite(vector)):
            raise ValidationError(f"params[{i}]", vector.tolist(), "finite schedule parameters")
        family = FamilyInput(answers=row, child=ChildProfile.from_age(int(round(float(age)))))
        out.append(schedule_for(family, ScheduleParams.from_vector(vector), source=source, model_version=model_version))
    return out


def schedules(generator: Generator, answers: np.ndarray, child_age: np.ndarray) -> list[dict]:
    """Schedule JSON (CONTRACTS §2) for a batch of families, written by ``generator``."""
    return schedules_from_params(
        generator.params(answers, child_age),
        answers,
        child_age,
        source=generator.source,
        model_version=generator.model_version,
    )


class _BatchedSchedules:
    """Gives a generator ``schedules(answers, child_age)`` through the shared helper."""

    def schedules(self, answers: np.ndarray, child_age: np.ndarray) -> list[dict]:
        return schedules(self, answers, child_age)  # type: ignore[arg-type]


class ExpertGenerator(_BatchedSchedules):
    """The seed plan's rule-based expert (``expert.expert_params``)."""

    def __init__(self, name: str = "expert"):
        self.name = name
        self.source = "expert"
        self.model_version = EXPERT_VERSION

    def params(self, answers: np.ndarray, child_age: np.ndarray) -> np.ndarray:
        answers, child_age = _check_batch(answers, child_age)
        return expert_params(answers, child_age).astype(np.float64)


class OracleGenerator(_BatchedSchedules):
    """The ceiling: per-family search of the simulator's hidden satisfaction (``oracle.oracle_search``).

    It cheats on purpose — it reads hidden traits no deployed generator can see — so it
    only works for the ``families`` it was built with: ``params`` looks each row of
    ``answers``/``child_age`` up among them (the whole batch at once when it is exactly those
    families; otherwise row by row, a repeated questionnaire and age mapping to its first
    family). Each call searches afresh from ``seed``,
    so its inference time is the search's.

    Args:
        families: simulated families, hidden traits included (``datasets.load_families``).
        seed: the search's random design.
        search: keyword arguments of ``oracle_search`` (``n_random``, ``n_rounds``, ``n_local``).
    """

    def __init__(self, families: Families, *, seed: int = 0, name: str = "oracle", **search: int):
        self.families = families
        self.seed = int(seed)
        self.search = dict(search)
        self.name = name
        self.source = "oracle"
        self.model_version = f"oracle-search-s{self.seed}"
        self._index = {
            (row.tobytes(), float(age)): i
            for i, (row, age) in reversed(list(enumerate(zip(families.answers.astype(np.float32), families.child_age))))
        }

    def _rows(self, answers: np.ndarray, child_age: np.ndarray) -> np.ndarray:
        if (
            answers.shape == self.families.answers.shape
            and np.array_equal(answers, self.families.answers)
            and np.array_equal(child_age, self.families.child_age)
        ):
            return np.arange(len(self.families))
        rows = []
        for i, (row, age) in enumerate(zip(answers, child_age)):
            index = self._index.get((row.tobytes(), float(age)))
            if index is None:
                raise ValidationError(
                    f"answers[{i}]", row.tolist(), "a family the oracle was built with (it needs the hidden traits)"
                )
            rows.append(index)
        return np.array(rows, dtype=np.int64)

    def params(self, answers: np.ndarray, child_age: np.ndarray) -> np.ndarray:
        from brightpath.oracle import oracle_search

        answers, child_age = _check_batch(answers, child_age)
        families = self.families.take(self._rows(answers, child_age))
        return oracle_search(families, np.random.default_rng(self.seed), **self.search).params


class RegressorGenerator(_BatchedSchedules):
    """A fitted regressor from profile features to unit-scale parameters (``brightpath.regressors``).

    Args:
        estimator: anything with ``predict(features [B, N_PROFILE_FEATURES]) -> [B, N_PARAMS]``
            in unit scale (a scikit-learn regressor, a ``KerasMLPRegressor``).
        name, source, model_version: as ``Generator``; ``source`` defaults to ``name``.
    """

    def __init__(self, estimator: Any, *, name: str, source: str | None = None, model_version: str = "unknown"):
        if "n_jobs" in getattr(estimator, "get_params", dict)():
            # A forest predicting in parallel threads sums its trees in whatever order they finish;
            # the float round-off can flip a parameter sitting on a rounding step, so the same model
            # would write different weeks from run to run. One thread keeps schedules reproducible
            # (on a shallow copy: the caller's estimator keeps its setting, the trees are shared).
            estimator = copy.copy(estimator)
            estimator.set_params(n_jobs=1)
        self.estimator = estimator
        self.name = name
        self.source = source or name
        self.model_version = model_version

    @classmethod
    def from_dir(cls, directory: str | Path, name: str | None = None) -> RegressorGenerator:
        """Load an rf/gbr directory written by ``regressors.save_baseline`` (``ModelLoadError`` if unusable)."""
        from brightpath.regressors import load_baseline

        loaded = load_baseline(Path(directory))
        return cls(
            loaded.estimator, name=name or loaded.source, source=loaded.source, model_version=loaded.model_version
        )

    def params(self, answers: np.ndarray, child_age: np.ndarray) -> np.ndarray:
        answers, child_age = _check_batch(answers, child_age)
        unit = np.asarray(self.estimator.predict(profile_features(answers, child_age)), dtype=np.float64)
        return unit_to_params(unit.reshape(len(answers), N_PARAMS))


class SavedModelGenerator(_BatchedSchedules):
    """A generator SavedModel (CONTRACTS §6): the Keras MLP regressor or a PPO policy.

    Unlike ``ScheduleGeneratorModel`` (which the backend uses), a missing or corrupt model
    is an error here, never a silent fall-back to the expert: a comparison must not
    report the rule's scores under a model's name.

    Args:
        directory: a generator SavedModel directory, or a model root holding ``generator/``.
        name: row label; default the model's ``source`` (``"mlp"``, ``"ppo"``).

    Raises:
        ModelLoadError: naming the directory or file that could not be used.
    """

    def __init__(self, directory: str | Path, name: str | None = None):
        self._model = ScheduleGeneratorModel(Path(directory))
        if self._model.load_error is not None:
            raise self._model.load_error
        self.directory = Path(directory)
        self.source = self._model.source
        self.model_version = self._model.model_version
        self.name = name or self.source

    def params(self, answers: np.ndarray, child_age: np.ndarray) -> np.ndarray:
        answers, child_age = _check_batch(answers, child_age)
        return self._model.predict_params(answers, child_age)


def load_generator(
    spec: str | Path,
    *,
    model_dir: str | Path | None = None,
    families: Families | None = None,
    seed: int = 0,
    name: str | None = None,
    oracle_search: Mapping[str, int] | None = None,
) -> Generator:
    """Resolve a generator by name or model directory.

    Args:
        spec: ``"expert"``; ``"oracle"`` (needs ``families``); ``"rf"``, ``"gbr"``, ``"mlp"``
            (``<model_dir>/baselines/<name>``); ``"ppo"`` (``<model_dir>/generator``); or the
            path of a model directory (a baseline joblib directory or a generator SavedModel).
            ``runs:/<run_id>`` URIs are resolved by ``experiments.evaluate``.
        model_dir: the model root for names; default ``export.default_model_dir()``.
        families: the families the oracle plans for (with hidden traits).
        seed: the oracle's search seed.
        name: row label; default the name, or the model's source for a directory.
        oracle_search: keyword arguments of ``oracle.oracle_search``.

    Raises:
        ModelLoadError: the model directory is missing or unusable (names it).
        ValueError: ``"oracle"`` without ``families``, or a ``runs:/`` URI.
    """
    text = str(spec)
    root = Path(model_dir) if model_dir is not None else default_model_dir()
    if text.startswith("runs:/"):
        raise ValueError(
            f"generator {text!r}: MLflow run URIs are resolved by experiments.evaluate, "
            f"not by brightpath; pass the downloaded model directory"
        )
    if text == "expert":
        return ExpertGenerator(name or "expert")
    if text == "oracle":
        if families is None:
            raise ValueError("generator 'oracle': needs the families with their hidden traits (families=...)")
        return OracleGenerator(families, seed=seed, name=name or "oracle", **dict(oracle_search or {}))
    if text in ("rf", "gbr", "mlp"):
        return _load_directory(root / BASELINES_SUBDIR / text, name or text)
    if text == "ppo":
        return _load_directory(root / GENERATOR_SUBDIR, name or "ppo")
    return _load_directory(Path(text), name)


def _load_directory(directory: Path, name: str | None) -> Generator:
    if not directory.is_dir():
        raise ModelLoadError(directory, "directory does not exist (train the model first, or check the path)")
    if not (directory / "saved_model.pb").is_file() and (directory / GENERATOR_SUBDIR).is_dir():
        directory = directory / GENERATOR_SUBDIR
    if (directory / "saved_model.pb").is_file():
        return SavedModelGenerator(directory, name=name)
    if (directory / METADATA_FILE).is_file() and read_metadata(directory).get("kind") == "baseline":
        return RegressorGenerator.from_dir(directory, name=name)
    raise ModelLoadError(
        directory,
        "neither a generator SavedModel (saved_model.pb) nor a baseline model "
        f"directory ({METADATA_FILE} with kind 'baseline')",
    )


__all__ = [
    "BASELINES_SUBDIR",
    "ExpertGenerator",
    "Generator",
    "NAMED_GENERATORS",
    "OracleGenerator",
    "RegressorGenerator",
    "SavedModelGenerator",
    "load_generator",
    "schedules",
    "schedules_from_params",
]
