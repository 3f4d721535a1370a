"""Baseline regressors: they imitate the expert rule (R² ≥ 0.9), cross-validate, persist, fail
loudly on bad files, and the Keras MLP exports as a generator SavedModel."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from brightpath.errors import ModelLoadError
from brightpath.export import METADATA_FILE
from brightpath.generators import RegressorGenerator, SavedModelGenerator, load_generator
from brightpath.regressors import (
    MODEL_FILE,
    cross_validate,
    expert_training_arrays,
    export_mlp,
    load_baseline,
    make_regressor,
    regression_scores,
    save_baseline,
)
from brightpath.schedule import PARAM_NAMES, params_to_unit
from brightpath.simulator import sample_families

SMALL = {"rf": {"n_estimators": 60, "n_jobs": 1}, "gbr": {"n_estimators": 150, "n_jobs": 1}}
CONSTANT_PARAM = PARAM_NAMES.index("break_duration_minutes")  # the rule always gives 10-minute breaks


@pytest.fixture(scope="module")
def data():
    train = sample_families(1500, np.random.default_rng(0))
    test = sample_families(200, np.random.default_rng(1))
    return expert_training_arrays(train.answers, train.child_age), expert_training_arrays(test.answers, test.child_age)


@pytest.fixture(scope="module")
def fitted(data):
    (X, Y), _ = data
    return {source: make_regressor(source, hp, seed=0).fit(X, Y) for source, hp in SMALL.items()}


@pytest.mark.parametrize("source", ["rf", "gbr"])
def test_regressors_imitate_the_expert_rule_with_r2_at_least_0_9(source, fitted, data):
    _, (Xt, Yt) = data
    scores = regression_scores(Yt, fitted[source].predict(Xt))
    defined = np.delete(scores.r2, CONSTANT_PARAM)
    assert np.all(defined >= 0.9), dict(zip(PARAM_NAMES, scores.r2.round(3)))
    assert scores.mean_r2 >= 0.95
    assert np.isnan(scores.r2[CONSTANT_PARAM])


def test_cross_validation_scores_every_fold_and_is_reproducible(data):
    (X, Y), _ = data
    factory = lambda: make_regressor("rf", {"n_estimators": 20, "n_jobs": 1}, seed=3)  # noqa: E731
    cv = cross_validate(factory, X, Y, n_splits=3, seed=3)
    assert len(cv.folds) == 3 and cv.mse.shape == (len(PARAM_NAMES),)
    assert np.isnan(cv.r2[CONSTANT_PARAM]) and np.all(np.delete(cv.r2, CONSTANT_PARAM) > 0.8)
    metrics = cv.scores.as_metrics("cv")
    assert f"cv/r2_{PARAM_NAMES[CONSTANT_PARAM]}" not in metrics  # undefined R² is not logged as a number
    assert set(f"cv/mse_{p}" for p in PARAM_NAMES) <= set(metrics) and "cv/r2" in metrics
    again = cross_validate(factory, X, Y, n_splits=3, seed=3)
    np.testing.assert_array_equal(cv.mse, again.mse)
    with pytest.raises(ValueError, match="cv_folds"):
        cross_validate(factory, X, Y, n_splits=1, seed=0)


def test_regression_scores_are_exact_for_perfect_predictions_and_quiet_for_constants():
    Y = params_to_unit(np.tile([0.5, 30, 3, 8, 120, 0.5, 10], (5, 1)).astype(float))
    Y[:, 0] = np.linspace(-1, 1, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scores = regression_scores(Y, Y)
    assert scores.r2[0] == 1.0 and np.all(scores.mse == 0.0)
    assert np.isnan(scores.r2[1:]).all()


def test_joblib_round_trip_gives_the_same_schedules(tmp_path, fitted, data):
    _, (Xt, _) = data
    directory = save_baseline(
        fitted["gbr"], tmp_path / "gbr", source="gbr", model_version="run-1", metadata={"cv_r2": 0.99}
    )
    loaded = load_baseline(directory)
    np.testing.assert_array_equal(loaded.estimator.predict(Xt), fitted["gbr"].predict(Xt))
    meta = json.loads((directory / METADATA_FILE).read_text())
    assert meta["source"] == "gbr" and meta["kind"] == "baseline" and meta["cv_r2"] == 0.99
    families = sample_families(20, np.random.default_rng(5))
    generator = load_generator(directory)
    assert isinstance(generator, RegressorGenerator) and generator.source == "gbr"
    assert generator.model_version == "run-1"
    in_memory = RegressorGenerator(fitted["gbr"], name="gbr")
    np.testing.assert_array_equal(
        generator.params(families.answers, families.child_age), in_memory.params(families.answers, families.child_age)
    )
    schedule = generator.schedules(families.answers[:1], families.child_age[:1])[0]
    assert schedule["meta"]["source"] == "gbr" and schedule["meta"]["model_version"] == "run-1"


def test_a_corrupt_model_file_raises_model_load_error_naming_it(tmp_path, fitted):
    directory = save_baseline(fitted["rf"], tmp_path / "rf", source="rf", model_version="v")
    (directory / MODEL_FILE).write_bytes(b"not a pickle at all")
    with pytest.raises(ModelLoadError, match=MODEL_FILE) as info:
        load_baseline(directory)
    assert info.value.path == str(directory / MODEL_FILE)
    (directory / MODEL_FILE).unlink()
    with pytest.raises(ModelLoadError, match="model file is missing"):
        load_baseline(directory)
    (directory / METADATA_FILE).write_text("{broken json")
    with pytest.raises(ModelLoadError, match=METADATA_FILE):
        load_baseline(directory)
    (directory / METADATA_FILE).write_text(json.dumps({"kind": "generator", "source": "ppo"}))
    with pytest.raises(ModelLoadError, match="expected kind 'baseline'"):
        load_baseline(directory)


def test_unknown_regressor_or_hyperparameter_is_named():
    with pytest.raises(ValueError, match="imitation.name: expected one of rf, gbr, mlp"):
        make_regressor("svm", {}, seed=0)
    with pytest.raises(ValueError, match="imitation.learning_rate"):
        make_regressor("rf", {"learning_rate": 0.1}, seed=0)
    with pytest.raises(ValueError, match="save_baseline writes scikit-learn"):
        save_baseline(object(), "unused", source="mlp", model_version="v")


@pytest.mark.slow
def test_keras_mlp_learns_the_rule_and_exports_a_generator_savedmodel(tmp_path, data):
    import tensorflow as tf

    (X, Y), (Xt, Yt) = data
    mlp = make_regressor(
        "mlp", {"hidden_units": [64, 64], "epochs": 60, "batch_size": 32, "learning_rate": 3e-3}, seed=0
    ).fit(X, Y)
    assert len(mlp.loss_history) == 60 and mlp.loss_history[-1] < mlp.loss_history[0]
    assert regression_scores(Yt, mlp.predict(Xt)).mean_r2 > 0.85
    directory = export_mlp(mlp, tmp_path / "mlp", model_version="run-mlp")
    generator = load_generator(directory)
    assert isinstance(generator, SavedModelGenerator) and generator.source == "mlp"
    families = sample_families(64, np.random.default_rng(9))
    exported = generator.params(families.answers, families.child_age)
    in_memory = RegressorGenerator(mlp, name="mlp").params(families.answers, families.child_age)
    continuous = [PARAM_NAMES.index("structure_level"), PARAM_NAMES.index("subject_rotation")]
    np.testing.assert_allclose(exported[:, continuous], in_memory[:, continuous], atol=1e-5)
    assert np.isclose(exported, in_memory, atol=1e-4).mean() > 0.97  # stepped ones may differ at float32 ties
    signature = tf.saved_model.load(str(directory)).signatures["serving_default"]
    out = signature(answers=tf.constant(families.answers), child_age=tf.constant(families.child_age))
    assert sorted(out) == sorted(PARAM_NAMES)
    (directory / "saved_model.pb").write_bytes(b"corrupt")
    with pytest.raises(ModelLoadError, match="corrupt"):
        SavedModelGenerator(directory)
