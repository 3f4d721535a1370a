"""The one generator interface: family profiles in, schedule parameters and Schedule JSON out, batched.

Every schedule writer the project compares — the rule-based expert, the oracle,
the scikit-learn regressors, the Keras MLP and the PPO policies — is a
``Generator``: ``params(answers, child_age)`` maps a batch of raw questionnaires
(``answers`` float ``[B, 25]``, Likert 1–5 with 0 for missing; ``child_age`` float
``[B]`` in years) to parameter vectors ``float64 [B, N_PARAMS]`` in parameter units
(``schedule.PARAM_SPECS``), and ``schedules`` turns those into Schedule JSON
(CONTRACTS §2) with ``meta.source`` naming the writer.

``evaluate_generator`` scores one generator on a batch of simulated families: the
hidden truth (``simulator.true_scores``, gold), optionally a reward model (proxy),
the share of invalid schedules and the batched inference time. The A/B test
(``brightpath.abtest``) and the results table compare generators through it, so
every generator is judged by one code path.

``load_generator`` resolves a name or a model directory; MLflow run URIs
(``runs:/<id>``) are resolved to a directory in ``experiments/`` (this library
never imports MLflow).
"""
from __future__ import annotations

import copy
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Protocol, runtime_checkable

import numpy as np

from brightpath.child import ChildProfile
from brightpath.errors import ModelLoadError, ValidationError
from brightpath.export import GENERATOR_SUBDIR, METADATA_FILE, default_model_dir, read_metadata
from brightpath.expert import EXPERT_VERSION, expert_params
from brightpath.features import profile_features
from brightpath.inference import ScheduleGeneratorModel
from brightpath.questionnaire import N_ITEMS, FamilyInput
from brightpath.schedule import (
    N_PARAMS,
    SUMMARY_FEATURES,
    ScheduleParams,
    json_to_layout,
    schedule_for,
    summarize_many,
    unit_to_params,
)
from brightpath.simulator import Families, true_scores

log = logging.getLogger(__name__)

BASELINES_SUBDIR = "baselines"
"""``<model_dir>/baselines/<rf|gbr|mlp>``: where ``+exp=baseline`` writes its models."""
NAMED_GENERATORS: tuple[str, ...] = ("expert", "oracle", "rf", "gbr", "mlp", "ppo")
"""Names ``load_generator`` understands without a path."""
MIN_COVERAGE = 0.25
"""Default coverage check: a week meeting under a quarter of the grade's requirement-weighted
weekly minutes is not a school week (the expert rule's lowest coverage is about 0.35)."""


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
        raise ValidationError("answers", f"<array of shape {list(answers.shape)}>",
                              f"an array of shape [batch, {N_ITEMS}]")
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
        out.append(schedule_for(family, ScheduleParams.from_vector(vector), source=source,
                                model_version=model_version))
    return out


def schedules(generator: Generator, answers: np.ndarray, child_age: np.ndarray) -> list[dict]:
    """Schedule JSON (CONTRACTS §2) for a batch of families, written by ``generator``."""
    return schedules_from_params(generator.params(answers, child_age), answers, child_age,
                                 source=generator.source, model_version=generator.model_version)


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
        families: simulated families, hidden traits included (``data.load_families``).
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
            for i, (row, age) in reversed(list(enumerate(zip(families.answers.astype(np.float32),
                                                             families.child_age))))
        }

    def _rows(self, answers: np.ndarray, child_age: np.ndarray) -> np.ndarray:
        if answers.shape == self.families.answers.shape and np.array_equal(answers, self.families.answers) \
                and np.array_equal(child_age, self.families.child_age):
            return np.arange(len(self.families))
        rows = []
        for i, (row, age) in enumerate(zip(answers, child_age)):
            index = self._index.get((row.tobytes(), float(age)))
            if index is None:
                raise ValidationError(f"answers[{i}]", row.tolist(),
                                      "a family the oracle was built with (it needs the hidden traits)")
            rows.append(index)
        return np.array(rows, dtype=np.int64)

    def params(self, answers: np.ndarray, child_age: np.ndarray) -> np.ndarray:
        from brightpath.oracle import oracle_search

        answers, child_age = _check_batch(answers, child_age)
        families = self.families.take(self._rows(answers, child_age))
        return oracle_search(families, np.random.default_rng(self.seed), **self.search).params


class RegressorGenerator(_BatchedSchedules):
    """A fitted regressor from profile features to unit-scale parameters (``brightpath.baselines``).

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
    def from_dir(cls, directory: str | Path, name: str | None = None) -> "RegressorGenerator":
        """Load an rf/gbr directory written by ``baselines.save_baseline`` (``ModelLoadError`` if unusable)."""
        from brightpath.baselines import load_baseline

        loaded = load_baseline(Path(directory))
        return cls(loaded.estimator, name=name or loaded.source, source=loaded.source,
                   model_version=loaded.model_version)

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
        raise ValueError(f"generator {text!r}: MLflow run URIs are resolved by experiments.evaluate, "
                         f"not by brightpath; pass the downloaded model directory")
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
    raise ModelLoadError(directory, "neither a generator SavedModel (saved_model.pb) nor a baseline model "
                                    f"directory ({METADATA_FILE} with kind 'baseline')")


# ---------------------------------------------------------------------------
# Evaluation
# ---------------------------------------------------------------------------


@runtime_checkable
class Scorer(Protocol):
    """A reward model (proxy): ``brightpath.reward.scoring.RewardScorer`` or a test double."""

    def score_layouts(self, layouts, answers, child_age, grade_band) -> Mapping[str, np.ndarray]:
        """``{"satisfaction": [n], ...}`` in [0, 1] for layouts and the families living with them."""
        ...


INVALID_REASONS: tuple[str, ...] = ("non_finite_params", "schedule_json", "missing_subject", "low_coverage")
"""Why a generated schedule counts as invalid, in the order they are checked."""


@dataclass(frozen=True)
class Evaluation:
    """One generator on one batch of families; arrays are aligned with the families.

    Attributes:
        name, source, model_version: the generator's.
        family_id: int64 ``[n]``.
        params: float64 ``[n, N_PARAMS]`` parameters as generated (NaN rows stay NaN).
        invalid_reason: object ``[n]``, None for a valid schedule, else one of ``INVALID_REASONS``.
        true_satisfaction: float64 ``[n]`` hidden satisfaction in [0, 1]; 0 for a schedule
            that cannot be built or fails JSON validation (the family gets no usable week).
        proxy_satisfaction: float64 ``[n]`` the reward model's satisfaction (same convention),
            or None without a scorer.
        seconds: wall time of the batched ``params`` call, seconds (after a warm-up call).
    """

    name: str
    source: str
    model_version: str
    family_id: np.ndarray
    params: np.ndarray
    invalid_reason: np.ndarray
    true_satisfaction: np.ndarray
    proxy_satisfaction: np.ndarray | None
    seconds: float

    @property
    def valid(self) -> np.ndarray:
        return np.array([r is None for r in self.invalid_reason], dtype=bool)

    @property
    def invalid_rate(self) -> float:
        """Share of families whose schedule is invalid, 0–1."""
        return float(1.0 - self.valid.mean()) if len(self.valid) else 0.0

    @property
    def ms_per_family(self) -> float:
        """Inference time per family, milliseconds (batched call / batch size)."""
        return 1000.0 * self.seconds / max(len(self.family_id), 1)


def evaluate_generator(
    generator: Generator,
    families: Families,
    *,
    scorer: Scorer | None = None,
    min_coverage: float = MIN_COVERAGE,
    warmup_rows: int = 8,
) -> Evaluation:
    """Generate schedules for ``families`` and score them by the hidden truth (and the proxy).

    Steps: a warm-up ``params`` call on the first ``warmup_rows`` families (so a SavedModel's
    first-call tracing is not billed as inference); the timed batched ``params`` call; Schedule
    JSON for every finite row (``schedules_from_params``); validation of each JSON with
    ``schedule.json_to_layout`` (what is scored is what would be served); the coverage checks
    (every subject of the grade gets time, requirement-weighted coverage ≥ ``min_coverage``);
    the simulator's hidden satisfaction and, with ``scorer``, the reward model's.

    Args:
        min_coverage: in [0, 1]; see ``MIN_COVERAGE``.
    """
    if not 0.0 <= min_coverage <= 1.0:
        raise ValueError(f"min_coverage: expected a share in [0, 1], got {min_coverage!r}")
    answers, child_age = families.answers, families.child_age
    n = len(families)
    if warmup_rows > 0 and n:
        generator.params(answers[:warmup_rows], child_age[:warmup_rows])
    started = time.perf_counter()
    params = np.asarray(generator.params(answers, child_age), dtype=np.float64).reshape(n, N_PARAMS)
    seconds = time.perf_counter() - started

    reason = np.full(n, None, dtype=object)
    finite = np.all(np.isfinite(params), axis=1)
    reason[~finite] = "non_finite_params"
    rows = np.flatnonzero(finite)
    jsons = schedules_from_params(params[rows], answers[rows], child_age[rows],
                                  source=generator.source, model_version=generator.model_version)
    layouts: dict[int, np.ndarray] = {}
    for i, schedule in zip(rows, jsons):
        try:
            layouts[int(i)] = json_to_layout(schedule)
        except ValidationError as err:
            reason[i] = "schedule_json"
            log.debug("%s: family %d: invalid schedule JSON: %s", generator.name, families.family_id[i], err)
    built = np.array(sorted(layouts), dtype=np.int64)
    true = np.zeros(n)
    proxy = None if scorer is None else np.zeros(n)
    if len(built):
        sub = families.take(built)
        built_layouts = [layouts[int(i)] for i in built]
        summaries = summarize_many(built_layouts, sub.grade_band)
        shares = summaries[:, [j for j, f in enumerate(SUMMARY_FEATURES) if f.startswith("share_")]]
        coverage = summaries[:, SUMMARY_FEATURES.index("coverage")]
        reason[built[(shares <= 0).any(axis=1)]] = "missing_subject"
        reason[built[(coverage < min_coverage) & (shares > 0).all(axis=1)]] = "low_coverage"
        true[built] = true_scores(sub, summaries)["satisfaction"]
        if scorer is not None:
            scored = scorer.score_layouts(built_layouts, sub.answers, sub.child_age, sub.grade_band)
            proxy[built] = np.asarray(scored["satisfaction"], dtype=np.float64).reshape(len(built))
    return Evaluation(
        name=generator.name, source=generator.source, model_version=generator.model_version,
        family_id=families.family_id.copy(), params=params, invalid_reason=reason,
        true_satisfaction=true, proxy_satisfaction=proxy, seconds=seconds,
    )


__all__ = [
    "BASELINES_SUBDIR", "Evaluation", "ExpertGenerator", "Generator", "INVALID_REASONS", "MIN_COVERAGE",
    "NAMED_GENERATORS", "OracleGenerator", "RegressorGenerator", "SavedModelGenerator", "Scorer",
    "evaluate_generator", "load_generator", "schedules", "schedules_from_params",
]
