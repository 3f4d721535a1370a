"""The seed plan's Phase 1 generators: regressors that imitate the rule-based expert.

Three regressors map a family's profile features (``features.profile_features``:
five composite questionnaire scores 0–1, the share of each category left
unanswered 0–1, and the child's scaled age 0–1) to the expert's schedule
parameters in unit scale ([-1, 1] per parameter, ``schedule.params_to_unit``):

* ``rf``  — scikit-learn ``RandomForestRegressor`` (natively multi-output);
* ``gbr`` — one ``GradientBoostingRegressor`` per parameter (``MultiOutputRegressor``);
* ``mlp`` — a small ``tf.keras`` MLP (``KerasMLPRegressor``), exported as a generator
  SavedModel with the CONTRACTS §6 signature.

They are baselines for the learned generators: the expert rule is deterministic, so
a good regressor reaches R² ≈ 1 on it; what they cannot do is beat the rule, which the
results table (``experiments/tasks/results.py``) makes visible.

Persistence: an rf/gbr model directory holds ``model.joblib`` and
``brightpath_model.json`` (``kind: "baseline"``); ``load_baseline`` raises
``ModelLoadError`` naming the file when either is missing or corrupt. The mlp is
written as a SavedModel (``export_mlp``) and loaded like any generator SavedModel.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from brightpath.errors import ModelLoadError, ValidationError
from brightpath.expert import expert_params
from brightpath.export import atomic_directory_write, read_metadata, write_metadata
from brightpath.features import N_PROFILE_FEATURES, PROFILE_FEATURES, profile_features
from brightpath.schedule import N_PARAMS, PARAM_NAMES, params_to_unit

log = logging.getLogger(__name__)

BASELINE_SOURCES: tuple[str, ...] = ("rf", "gbr", "mlp")
"""Regressor kinds; each is also the ``meta.source`` of the schedules it writes."""
MODEL_FILE = "model.joblib"
BASELINE_KIND = "baseline"
CONSTANT_TARGET_VARIANCE = 1e-10
"""Per-output target variance (unit scale²) below which R² is undefined (reported as NaN).

The expert rule gives every family 10-minute breaks; its unit-scale target differs
only by float round-off (variance ~1e-28), and R² of a constant is meaningless."""


def expert_training_arrays(answers: np.ndarray, child_age: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Features and targets for imitating the expert rule.

    Args:
        answers: float ``[n, 25]`` Likert 1–5, 0 for missing.
        child_age: float ``[n]`` years, 5–18.

    Returns:
        ``(X, Y)``: float32 ``[n, N_PROFILE_FEATURES]`` profile features and float64
        ``[n, N_PARAMS]`` expert parameters in unit scale ([-1, 1]).
    """
    answers = np.asarray(answers, dtype=np.float32)
    child_age = np.asarray(child_age, dtype=np.float32)
    features = profile_features(answers, child_age).astype(np.float32)
    targets = params_to_unit(expert_params(answers, child_age).astype(np.float64))
    return features, targets


# ---------------------------------------------------------------------------
# Regressors
# ---------------------------------------------------------------------------


N_JOBS = 2
"""Cores a forest or boosting fit uses (CI and the reference machine have 2). Fits are
deterministic for a seed whatever the number of jobs; prediction runs on one thread
(``generators.RegressorGenerator``)."""


@dataclass
class ImitationConfig:
    """What every imitation regressor's config holds (the ``imitation`` config group).

    Attributes:
        cv_folds: k of the shuffled k-fold cross-validation on the training split (≥ 2).
    """

    cv_folds: int = 5

    def __post_init__(self) -> None:
        _check_int(self, "cv_folds", 2)


@dataclass
class RandomForestConfig(ImitationConfig):
    """``rf``: ``sklearn.ensemble.RandomForestRegressor``, natively multi-output (the seed plan's Phase 1).

    Attributes:
        name: ``"rf"``.
        n_estimators: trees (≥ 1); R² on the expert parameters stops improving past ~100 (measured).
        max_depth: deepest a tree grows; None grows until leaves are pure (the rule is
            deterministic, so there is no noise to smooth).
        min_samples_leaf: fewest training families per leaf (≥ 1).
        n_jobs: parallel tree builders (``N_JOBS``).
    """

    name: str = "rf"
    n_estimators: int = 200
    max_depth: int | None = None
    min_samples_leaf: int = 1
    n_jobs: int = N_JOBS

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_name(self, "rf")
        for key in ("n_estimators", "min_samples_leaf", "n_jobs"):
            _check_int(self, key, 1)
        if self.max_depth is not None:
            _check_int(self, "max_depth", 1)


@dataclass
class GradientBoostingConfig(ImitationConfig):
    """``gbr``: one ``sklearn.ensemble.GradientBoostingRegressor`` per parameter (``MultiOutputRegressor``;
    the seed plan's Phase 1).

    Attributes:
        name: ``"gbr"``.
        n_estimators: boosting stages per parameter (≥ 1).
        max_depth: depth of each tree (≥ 1); 3 is scikit-learn's default and enough for the rule's steps.
        learning_rate: shrinkage per stage, in (0, 1].
        subsample: share of training rows per stage, in (0, 1]; 1.0 is plain (deterministic)
            gradient boosting.
        n_jobs: parameters fitted in parallel (``N_JOBS``).
    """

    name: str = "gbr"
    n_estimators: int = 300
    max_depth: int = 3
    learning_rate: float = 0.1
    subsample: float = 1.0
    n_jobs: int = N_JOBS

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_name(self, "gbr")
        for key in ("n_estimators", "max_depth", "n_jobs"):
            _check_int(self, key, 1)
        for key in ("learning_rate", "subsample"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
                raise ValidationError(f"imitation.{key}", value, "a number in (0, 1]")


@dataclass
class KerasMLPConfig(ImitationConfig):
    """``mlp``: a small ``tf.keras`` MLP (``KerasMLPRegressor``; the seed plan's Phase 2 'Neural
    Network (MLP)'), exported as a generator SavedModel with the preprocessing in the graph.

    Attributes:
        name: ``"mlp"``.
        hidden_units: width of each ReLU hidden layer.
        epochs: passes over the training families (≥ 1); 150 at batch 64 reaches R² ≥ 0.97
            (measured, ~10 s on 2 cores).
        batch_size: families per Adam step (≥ 1).
        learning_rate: Adam step size (> 0).
    """

    name: str = "mlp"
    hidden_units: tuple[int, ...] = (128, 128)
    epochs: int = 150
    batch_size: int = 64
    learning_rate: float = 3e-3

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_name(self, "mlp")
        units = self.hidden_units
        if (
            isinstance(units, (str, bytes))
            or not isinstance(units, (list, tuple))
            or not units
            or any(isinstance(u, bool) or not isinstance(u, int) or u < 1 for u in units)
        ):
            raise ValidationError("imitation.hidden_units", units, "a non-empty list of positive integers")
        self.hidden_units = tuple(units)
        for key in ("epochs", "batch_size"):
            _check_int(self, key, 1)
        if (
            isinstance(self.learning_rate, bool)
            or not isinstance(self.learning_rate, (int, float))
            or not self.learning_rate > 0
        ):
            raise ValidationError("imitation.learning_rate", self.learning_rate, "a positive number")


REGRESSOR_CONFIGS: dict[str, type[ImitationConfig]] = {
    "rf": RandomForestConfig,
    "gbr": GradientBoostingConfig,
    "mlp": KerasMLPConfig,
}
"""Regressor kind → its config dataclass (``BASELINE_SOURCES`` order)."""


def _check_name(config: Any, expected: str) -> None:
    if config.name != expected:
        raise ValidationError("imitation.name", config.name, f"{expected!r} ({type(config).__name__})")


def _check_int(config: Any, key: str, lowest: int) -> None:
    value = getattr(config, key)
    if isinstance(value, bool) or not isinstance(value, int) or value < lowest:
        raise ValidationError(f"imitation.{key}", value, f"an integer ≥ {lowest}")


class KerasMLPRegressor:
    """A ``tf.keras`` MLP with a scikit-learn-style ``fit``/``predict``: profile features → unit params.

    Args:
        config: its size and training (``KerasMLPConfig``; default: the defaults).
        seed: seeds the weight initialisers and the shuffling (results repeat for a seed on CPU).
    """

    def __init__(self, config: KerasMLPConfig | None = None, seed: int = 0):
        config = config or KerasMLPConfig()
        self.config = config
        self.hidden_units = tuple(int(u) for u in config.hidden_units)
        self.epochs = int(config.epochs)
        self.batch_size = int(config.batch_size)
        self.learning_rate = float(config.learning_rate)
        self.seed = int(seed)
        self.model = None
        self.loss_history: list[float] = []

    def _build(self):
        import tensorflow as tf

        layers = [tf.keras.layers.InputLayer(input_shape=(N_PROFILE_FEATURES,))]
        for i, units in enumerate(self.hidden_units):
            layers.append(
                tf.keras.layers.Dense(
                    units,
                    activation="relu",
                    name=f"hidden_{i}",
                    kernel_initializer=tf.keras.initializers.GlorotUniform(seed=self.seed + i),
                )
            )
        # Linear head: targets fill [-1, 1] up to the edges, which a tanh head reaches only slowly;
        # the export clips into range anyway (schedule.unit_to_params).
        layers.append(
            tf.keras.layers.Dense(
                N_PARAMS,
                name="unit_params",
                kernel_initializer=tf.keras.initializers.GlorotUniform(seed=self.seed + len(self.hidden_units)),
            )
        )
        model = tf.keras.Sequential(layers, name="mlp_regressor")
        model.compile(optimizer=tf.keras.optimizers.Adam(self.learning_rate), loss="mse")
        return model

    def fit(self, X: np.ndarray, Y: np.ndarray) -> KerasMLPRegressor:
        """Train from scratch on features ``[n, N_PROFILE_FEATURES]`` and unit targets ``[n, N_PARAMS]``."""
        import tensorflow as tf

        X, Y = _check_xy(X, Y)
        self.model = self._build()
        data = (
            tf.data.Dataset.from_tensor_slices((X.astype(np.float32), Y.astype(np.float32)))
            .shuffle(len(X), seed=self.seed, reshuffle_each_iteration=True)
            .batch(self.batch_size)
        )
        history = self.model.fit(data, epochs=self.epochs, verbose=0)
        self.loss_history = [float(v) for v in history.history["loss"]]
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Unit-scale parameters ``float64 [n, N_PARAMS]`` for features ``[n, N_PROFILE_FEATURES]``."""
        if self.model is None:
            raise RuntimeError("KerasMLPRegressor.predict: call fit first")
        X = np.asarray(X, dtype=np.float32).reshape(-1, N_PROFILE_FEATURES)
        return self.model.predict(X, batch_size=4096, verbose=0).astype(np.float64)

    def unit_action_fn(self, answers, child_age):
        """TF-traceable ``(answers [B,25], child_age [B]) -> unit params [B, N_PARAMS]``, preprocessing in-graph."""
        from brightpath.tf_namespace import tf_namespace

        return self.model(profile_features(answers, child_age, xp=tf_namespace()), training=False)


def regressor_config(source: str, values: Mapping[str, Any] | None = None) -> ImitationConfig:
    """The config of regressor kind ``source``: its dataclass defaults updated with ``values``.

    Raises:
        ValidationError: an unknown kind, an unknown key or a bad value, named ``imitation.<key>``.
    """
    if source not in REGRESSOR_CONFIGS:
        raise ValidationError("imitation.name", source, f"one of {', '.join(BASELINE_SOURCES)}")
    cls = REGRESSOR_CONFIGS[source]
    known = [f.name for f in dataclasses.fields(cls)]
    values = dict(values or {})
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValidationError(
            f"imitation.{unknown[0]}", values[unknown[0]], f"a hyper-parameter of {source!r}: {', '.join(known)}"
        )
    return cls(**{"name": source, **values})


def build_regressor(config: ImitationConfig, seed: int):
    """A fresh, unfitted regressor for ``config``; ``seed`` is its ``random_state`` (or the MLP's seed)."""
    if isinstance(config, RandomForestConfig):
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(
            n_estimators=config.n_estimators,
            max_depth=config.max_depth,
            min_samples_leaf=config.min_samples_leaf,
            n_jobs=config.n_jobs,
            random_state=seed,
        )
    if isinstance(config, GradientBoostingConfig):
        from sklearn.ensemble import GradientBoostingRegressor
        from sklearn.multioutput import MultiOutputRegressor

        return MultiOutputRegressor(
            GradientBoostingRegressor(
                n_estimators=config.n_estimators,
                max_depth=config.max_depth,
                learning_rate=float(config.learning_rate),
                subsample=float(config.subsample),
                random_state=seed,
            ),
            n_jobs=config.n_jobs,
        )
    if isinstance(config, KerasMLPConfig):
        return KerasMLPRegressor(config, seed=seed)
    raise TypeError(
        f"config: expected one of {', '.join(c.__name__ for c in REGRESSOR_CONFIGS.values())}, "
        f"got {type(config).__name__}"
    )


def make_regressor(source: str, hparams: Mapping[str, Any] | None, seed: int):
    """``build_regressor(regressor_config(source, hparams), seed)``: a fresh regressor from a mapping.

    Args:
        source: ``"rf"``, ``"gbr"`` or ``"mlp"``.
        hparams: fields of its config dataclass to change (``RandomForestConfig``,
            ``GradientBoostingConfig``, ``KerasMLPConfig``); the rest keep their defaults.
        seed: the estimator's ``random_state`` (or the MLP's seed).
    """
    return build_regressor(regressor_config(source, hparams), seed)


# ---------------------------------------------------------------------------
# Scores and cross-validation
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RegressionScores:
    """Per-output errors of unit-scale predictions (order ``schedule.PARAM_NAMES``).

    Attributes:
        mse: float64 ``[N_PARAMS]`` mean squared error in unit scale² (a unit is half a range).
        r2: float64 ``[N_PARAMS]`` coefficient of determination; NaN where the target is
            constant (``CONSTANT_TARGET_VARIANCE``).
    """

    mse: np.ndarray
    r2: np.ndarray

    @property
    def mean_r2(self) -> float:
        """Uniform mean R² over outputs where it is defined (NaN if none is)."""
        defined = self.r2[np.isfinite(self.r2)]
        return float(defined.mean()) if defined.size else float("nan")

    @property
    def mean_mse(self) -> float:
        return float(self.mse.mean())

    def as_metrics(self, prefix: str) -> dict[str, float]:
        """``{<prefix>/mse_<param>, <prefix>/r2_<param>, <prefix>/mse, <prefix>/r2}``; NaN R² left out."""
        out = {f"{prefix}/mse_{name}": float(v) for name, v in zip(PARAM_NAMES, self.mse)}
        out.update({f"{prefix}/r2_{name}": float(v) for name, v in zip(PARAM_NAMES, self.r2) if np.isfinite(v)})
        out[f"{prefix}/mse"] = self.mean_mse
        out[f"{prefix}/r2"] = self.mean_r2
        return out


def regression_scores(y_true: np.ndarray, y_pred: np.ndarray) -> RegressionScores:
    """MSE and R² per output for ``[n, N_PARAMS]`` arrays (no warnings for constant targets)."""
    y_true, y_pred = _check_xy(np.asarray(y_true, np.float64), np.asarray(y_pred, np.float64), x_width=N_PARAMS)
    sse = ((y_true - y_pred) ** 2).sum(axis=0)
    sst = ((y_true - y_true.mean(axis=0)) ** 2).sum(axis=0)
    defined = sst > CONSTANT_TARGET_VARIANCE * len(y_true)
    r2 = np.full(N_PARAMS, np.nan)
    r2[defined] = 1.0 - sse[defined] / sst[defined]
    return RegressionScores(mse=sse / len(y_true), r2=r2)


@dataclass(frozen=True)
class CrossValidation:
    """k-fold cross-validation of one regressor kind.

    Attributes:
        folds: the held-out fold scores, one per fold.
        mse, r2: per-output means over folds (``[N_PARAMS]``; R² NaN for constant targets).
    """

    folds: tuple[RegressionScores, ...]
    mse: np.ndarray = field(init=False)
    r2: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "mse", np.mean([f.mse for f in self.folds], axis=0))
        # Mean over the folds where R² is defined (a tiny fold can hold a constant target).
        r2 = np.array([f.r2 for f in self.folds])
        defined = np.isfinite(r2)
        count = defined.sum(axis=0)
        total = np.where(defined, r2, 0.0).sum(axis=0)
        object.__setattr__(self, "r2", np.where(count > 0, total / np.maximum(count, 1), np.nan))

    @property
    def scores(self) -> RegressionScores:
        return RegressionScores(mse=self.mse, r2=self.r2)


def cross_validate(
    factory: Callable[[], Any], X: np.ndarray, Y: np.ndarray, *, n_splits: int, seed: int
) -> CrossValidation:
    """Shuffled k-fold cross-validation: fit ``factory()`` on k−1 folds, score the held-out one.

    Args:
        factory: returns a fresh unfitted regressor (``fit(X, Y)``, ``predict(X)``).
        n_splits: k ≥ 2, at most the number of rows.
        seed: the fold assignment's shuffle seed.
    """
    from sklearn.model_selection import KFold

    X, Y = _check_xy(X, Y)
    if not 2 <= int(n_splits) <= len(X):
        raise ValueError(f"cv_folds: expected an integer in [2, {len(X)}] (the number of rows), got {n_splits!r}")
    folds = []
    for train_idx, test_idx in KFold(n_splits=int(n_splits), shuffle=True, random_state=seed).split(X):
        model = factory().fit(X[train_idx], Y[train_idx])
        folds.append(regression_scores(Y[test_idx], model.predict(X[test_idx])))
    return CrossValidation(folds=tuple(folds))


def _check_xy(X: np.ndarray, Y: np.ndarray, *, x_width: int = N_PROFILE_FEATURES) -> tuple[np.ndarray, np.ndarray]:
    X, Y = np.asarray(X), np.asarray(Y)
    if X.ndim != 2 or X.shape[1] != x_width:
        raise ValueError(f"X: expected shape [n, {x_width}], got {list(X.shape)}")
    if Y.ndim != 2 or Y.shape != (len(X), N_PARAMS):
        raise ValueError(f"Y: expected shape [{len(X)}, {N_PARAMS}], got {list(Y.shape)}")
    if len(X) == 0:
        raise ValueError("X: expected at least one row, got none")
    return X, Y


# ---------------------------------------------------------------------------
# Persistence and export
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class LoadedBaseline:
    """A fitted rf/gbr regressor read back from disk, with its ``brightpath_model.json``."""

    estimator: Any
    metadata: dict[str, Any]
    directory: Path

    @property
    def source(self) -> str:
        return str(self.metadata["source"])

    @property
    def model_version(self) -> str:
        return str(self.metadata.get("model_version", "unknown"))


def save_baseline(
    estimator: Any, directory: Path, *, source: str, model_version: str, metadata: Mapping[str, Any] | None = None
) -> Path:
    """Write a fitted scikit-learn regressor to ``directory`` (replaced atomically).

    Writes ``model.joblib`` and ``brightpath_model.json`` (``kind``, ``source``,
    ``model_version``, feature and parameter names, the scikit-learn version, plus
    ``metadata`` such as cross-validation scores).
    """
    import joblib
    import sklearn

    if source not in ("rf", "gbr"):
        raise ValueError(
            f"source: save_baseline writes scikit-learn models ('rf', 'gbr'), got {source!r}; "
            f"the mlp is exported with export_mlp"
        )

    def write(tmp: Path) -> None:
        joblib.dump(estimator, tmp / MODEL_FILE)
        write_metadata(
            tmp,
            {
                "kind": BASELINE_KIND,
                "source": source,
                "model_version": model_version,
                "model_file": MODEL_FILE,
                "features": list(PROFILE_FEATURES),
                "targets": "unit-scale parameters (schedule.params_to_unit)",
                "param_names": list(PARAM_NAMES),
                "sklearn_version": sklearn.__version__,
                **dict(metadata or {}),
            },
        )

    log.info("saving %s baseline to %s", source, directory)
    return atomic_directory_write(Path(directory), write)


def load_baseline(directory: Path) -> LoadedBaseline:
    """Read a directory written by ``save_baseline``.

    Raises:
        ModelLoadError: naming ``brightpath_model.json`` or ``model.joblib`` when the file is
            missing, corrupt, of another kind, or does not hold a usable regressor.
    """
    import joblib

    directory = Path(directory)
    metadata = read_metadata(directory)
    meta_path = directory / "brightpath_model.json"
    if metadata.get("kind") != BASELINE_KIND or metadata.get("source") not in ("rf", "gbr"):
        raise ModelLoadError(
            meta_path,
            f"expected kind 'baseline' with source 'rf' or 'gbr', got kind "
            f"{metadata.get('kind')!r} and source {metadata.get('source')!r}",
        )
    path = directory / str(metadata.get("model_file", MODEL_FILE))
    if not path.is_file():
        raise ModelLoadError(path, "model file is missing")
    try:
        estimator = joblib.load(path)
    except Exception as exc:  # unpickling raises many types (EOFError, UnpicklingError, KeyError, ...)
        raise ModelLoadError(path, f"model file is corrupt or incompatible ({type(exc).__name__}: {exc})") from exc
    if not callable(getattr(estimator, "predict", None)):
        raise ModelLoadError(path, f"holds a {type(estimator).__name__}, not a fitted regressor")
    n_features = getattr(estimator, "n_features_in_", N_PROFILE_FEATURES)
    if n_features != N_PROFILE_FEATURES:
        raise ModelLoadError(path, f"regressor expects {n_features} features, this code computes {N_PROFILE_FEATURES}")
    return LoadedBaseline(estimator=estimator, metadata=metadata, directory=directory)


def export_mlp(
    regressor: KerasMLPRegressor, directory: Path, *, model_version: str, metadata: Mapping[str, Any] | None = None
) -> Path:
    """Export a fitted ``KerasMLPRegressor`` as a generator SavedModel (source ``"mlp"``, CONTRACTS §6)."""
    from brightpath.export import export_generator

    if regressor.model is None:
        raise ValueError("regressor: export_mlp needs a fitted KerasMLPRegressor (call fit first)")
    return export_generator(
        regressor.unit_action_fn,
        {"model": regressor.model},
        Path(directory),
        source="mlp",
        model_version=model_version,
        metadata={
            "features": list(PROFILE_FEATURES),
            "hidden_units": list(regressor.hidden_units),
            **dict(metadata or {}),
        },
    )


__all__ = [
    "BASELINE_SOURCES",
    "CONSTANT_TARGET_VARIANCE",
    "CrossValidation",
    "GradientBoostingConfig",
    "ImitationConfig",
    "KerasMLPConfig",
    "KerasMLPRegressor",
    "LoadedBaseline",
    "MODEL_FILE",
    "N_JOBS",
    "REGRESSOR_CONFIGS",
    "RandomForestConfig",
    "RegressionScores",
    "build_regressor",
    "cross_validate",
    "expert_training_arrays",
    "export_mlp",
    "load_baseline",
    "make_regressor",
    "regression_scores",
    "regressor_config",
    "save_baseline",
]
