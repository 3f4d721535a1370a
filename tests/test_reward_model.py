"""The reward models, their training loop, the exported SavedModel and the scorer (brightpath.reward)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.errors import ModelLoadError, ValidationError
from brightpath.export import METADATA_FILE
from brightpath.reward.evaluation import calibration_figure, regression_metrics, residual_figure, simulated_set
from brightpath.reward.inputs import N_FLAT_FEATURES, Preprocessing, RewardInputs, build_inputs, length_chunks
from brightpath.reward.models import build_attention_model, model_config, predict_attention
from brightpath.reward.targets import TARGET_NAMES
from brightpath.reward.training import fit_with_early_stopping, train_reward_model
from brightpath.schedule import MAX_TOKENS, SUMMARY_FEATURES, layouts_for
from brightpath.simulator import sample_families

TINY = {
    "attention": {"d_model": 8, "ff_dim": 8, "head_units": [16], "max_epochs": 2, "batch_size": 32},
    "gbr": {"max_trees": 10, "trees_per_round": 5},
    "mlp": {"hidden_layer_sizes": [16], "max_epochs": 3, "batch_size": 32},
}


def config(name: str, **overrides):
    """A reward model's config: its dataclass defaults (the one source of values) with ``overrides``."""
    return model_config(name, overrides)


def simulated(n_families: int, per_family: int, seed: int, mix: str = "logged"):
    rng = np.random.default_rng(seed)
    return simulated_set(sample_families(n_families, rng), rng, per_family=per_family, mix=mix)


@pytest.fixture(scope="module")
def splits():
    return {"train": simulated(40, 3, 0), "val": simulated(10, 3, 1), "test": simulated(10, 4, 2, "off_distribution")}


@pytest.fixture(scope="module")
def trained(splits):
    return train_reward_model(config("attention", **TINY["attention"]), splits["train"], splits["val"], seed=0)


@pytest.fixture(scope="module")
def exported(trained, tmp_path_factory):
    from brightpath.reward.scoring import export_reward_model

    directory = tmp_path_factory.mktemp("models") / "reward"
    return export_reward_model(
        trained.model, trained.preprocessing, directory, model_version="test-v1", metadata={"note": "tiny"}
    )


# --- inputs -------------------------------------------------------------------------------


def test_build_inputs_pads_to_the_longest_week_and_take_trims_padding():
    rng = np.random.default_rng(0)
    families = sample_families(6, rng)
    layouts = layouts_for(rng.uniform(-5, 400, (6, 7)), families.grade_band)
    inputs = build_inputs(layouts, families.answers, families.child_age, families.grade_band)
    lengths = [len(layout) for layout in layouts]
    assert inputs.tokens.shape == (6, max(lengths), 5)
    assert inputs.summary.shape == (6, len(SUMMARY_FEATURES))
    np.testing.assert_array_equal(inputs.lengths, lengths)
    shortest = int(np.argmin(lengths))
    assert inputs.take([shortest]).tokens.shape == (1, lengths[shortest], 5)


def test_build_inputs_rejects_misaligned_arrays_naming_them():
    rng = np.random.default_rng(0)
    families = sample_families(3, rng)
    layouts = layouts_for(np.zeros((3, 7)), families.grade_band)
    with pytest.raises(ValidationError) as err:
        build_inputs(layouts, families.answers[:2], families.child_age, families.grade_band)
    assert err.value.field == "answers"
    with pytest.raises(ValidationError) as err:
        build_inputs(layouts, families.answers, families.child_age, families.grade_band[:1])
    assert err.value.field == "grade_band"


@settings(max_examples=50, deadline=None)
@given(lengths=st.lists(st.integers(1, MAX_TOKENS), max_size=60), chunk=st.integers(1, 20))
def test_length_chunks_cover_every_schedule_once_in_length_order(lengths, chunk):
    chunks = length_chunks(np.array(lengths, dtype=np.int64), chunk)
    flat = np.concatenate(chunks) if chunks else np.zeros(0, int)
    assert sorted(flat.tolist()) == list(range(len(lengths)))
    assert all(len(c) <= chunk for c in chunks)
    assert np.all(np.diff(np.array(lengths)[flat]) >= 0) if len(flat) else True


def test_flat_features_are_the_same_in_numpy_and_in_the_tensorflow_graph(splits):
    from brightpath.tf_namespace import tf_namespace

    inputs = splits["train"].inputs
    preprocessing = Preprocessing.fit(inputs)
    numpy_features = preprocessing.flat_features(inputs.summary, inputs.answers, inputs.child_age)
    graph_features = preprocessing.flat_features(inputs.summary, inputs.answers, inputs.child_age, tf_namespace())
    assert numpy_features.shape == (len(inputs), N_FLAT_FEATURES)
    np.testing.assert_allclose(graph_features.numpy(), numpy_features, atol=1e-5)
    np.testing.assert_allclose(numpy_features.mean(axis=0)[:5], 0.0, atol=1e-4)  # standardised on train


def test_preprocessing_round_trips_and_rejects_malformed_state(splits):
    preprocessing = Preprocessing.fit(splits["train"].inputs)
    again = Preprocessing.from_dict(json.loads(json.dumps(preprocessing.to_dict())))
    np.testing.assert_array_equal(again.flat_mean, preprocessing.flat_mean)
    broken = preprocessing.to_dict()
    broken["token_std"] = [1.0]
    with pytest.raises(ValidationError, match="preprocessing.token_std"):
        Preprocessing.from_dict(broken)


# --- configs ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "overrides", "field"),
    [
        ("attention", {"d_model": 10, "num_heads": 4}, "reward_model.d_model"),
        ("attention", {"dropout": 1.0}, "reward_model.dropout"),
        ("attention", {"learning_rate": "fast"}, "reward_model.learning_rate"),
        ("attention", {"head_units": []}, "reward_model.head_units"),
        ("attention", {"depth": 3}, "reward_model.depth"),
        ("gbr", {"subsample": 1.5}, "reward_model.subsample"),
        ("gbr", {"max_trees": 0}, "reward_model.max_trees"),
        ("mlp", {"activation": "swish"}, "reward_model.activation"),
        ("mlp", {"batch_size": True}, "reward_model.batch_size"),
    ],
)
def test_bad_model_settings_are_rejected_naming_the_key(name, overrides, field):
    with pytest.raises(ValidationError) as err:
        config(name, **overrides)
    assert err.value.field == field


def test_unknown_settings_and_models_are_rejected():
    with pytest.raises(ValidationError, match="reward_model.num_head"):
        model_config("attention", {"num_head": 2})
    with pytest.raises(ValidationError, match="reward_model.name"):
        model_config("forest", {})


# --- the attention model ------------------------------------------------------------------


def test_scores_ignore_padding_and_the_other_schedules_in_the_batch(splits):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(0)
    inputs = splits["test"].inputs
    model = build_attention_model(config("attention", **TINY["attention"]), Preprocessing.fit(inputs))
    together = model(inputs.as_dict()).numpy()
    padded = RewardInputs(
        np.pad(inputs.tokens, ((0, 0), (0, 7), (0, 0))),
        np.pad(inputs.mask, ((0, 0), (0, 7))),
        inputs.summary,
        inputs.answers,
        inputs.child_age,
    )
    np.testing.assert_allclose(model(padded.as_dict()).numpy(), together, atol=1e-5)
    for i in (0, 5, len(inputs) - 1):
        alone = model(inputs.take([i]).as_dict()).numpy()
        np.testing.assert_allclose(alone[0], together[i], atol=1e-5)
    assert together.shape == (len(inputs), len(TARGET_NAMES))
    assert ((together > 0) & (together < 1)).all()


def test_the_schedule_changes_the_score(splits):
    inputs = splits["test"].inputs
    model = build_attention_model(config("attention", **TINY["attention"]), Preprocessing.fit(inputs))
    first = inputs.take([0, 0])
    swapped = RewardInputs(
        inputs.take([1]).tokens, inputs.take([1]).mask, inputs.summary[[1]], inputs.answers[[0]], inputs.child_age[[0]]
    )
    assert not np.allclose(predict_attention(model, first)[0], predict_attention(model, swapped)[0])


# --- training -----------------------------------------------------------------------------


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    val_losses = iter([0.5, 0.3, 0.4, 0.35, 0.31, 0.2, 0.1])
    state = {"weights": 0}
    seen = []
    history = fit_with_early_stopping(
        run_epoch=lambda epoch: state.__setitem__("weights", epoch) or 1.0 / epoch,
        validation_loss=lambda: next(val_losses),
        snapshot=lambda: state["weights"],
        restore=lambda w: state.__setitem__("weights", w),
        max_epochs=10,
        patience=3,
        on_epoch=lambda epoch, metrics: seen.append((epoch, metrics["val_loss"])),
    )
    assert [e for e, _ in seen] == [1, 2, 3, 4, 5]
    assert history.best_epoch == 2 and history.best_val_loss == 0.3 and history.stopped_early
    assert state["weights"] == 2


@pytest.mark.parametrize("name", ["attention", "gbr", "mlp"])
def test_training_is_reproducible_and_reports_every_epoch(name, splits):
    epochs = []
    first = train_reward_model(
        config(name, **TINY[name]),
        splits["train"],
        splits["val"],
        seed=3,
        on_epoch=lambda epoch, metrics: epochs.append(epoch),
    )
    again = train_reward_model(config(name, **TINY[name]), splits["train"], splits["val"], seed=3)
    other = train_reward_model(config(name, **TINY[name]), splits["train"], splits["val"], seed=4)
    test = splits["test"].inputs
    np.testing.assert_array_equal(first.predict(test), again.predict(test))
    assert not np.array_equal(first.predict(test), other.predict(test))
    assert epochs == list(range(1, len(first.history.epochs) + 1)) and len(epochs) >= 1
    assert {"train_loss", "val_loss"} <= set(first.history.epochs[0])
    predictions = first.predict(test)
    assert predictions.shape == (len(test), 3) and ((predictions >= 0) & (predictions <= 1)).all()


@pytest.mark.parametrize("name", ["attention", "gbr"])
def test_a_trained_model_ranks_unseen_families_schedules_by_true_satisfaction(name):
    train, val, test = simulated(300, 4, 10), simulated(60, 4, 11), simulated(60, 4, 12, "off_distribution")
    overrides = (
        {**TINY[name], "max_epochs": 8, "head_units": [64]}
        if name == "attention"
        else {"max_trees": 100, "trees_per_round": 25}
    )
    model = train_reward_model(config(name, **overrides), train, val, seed=0)
    metrics = regression_metrics(model.predict(test.inputs), observed=test.targets, truth=test.truth)
    assert metrics["spearman_true_satisfaction"] > 0.6
    assert model.history.epochs[-1]["train_loss"] < model.history.epochs[0]["train_loss"]


# --- export and scoring -------------------------------------------------------------------


def test_exported_model_scores_like_the_trained_model_in_chunks(trained, exported, splits):
    from brightpath.reward.scoring import RewardScorer

    scorer = RewardScorer(exported)
    assert scorer.model_version == "test-v1"
    test = splits["test"].inputs
    expected = trained.predict(test)
    calls = []
    serve = scorer._serve
    scorer._serve = lambda **kw: calls.append(kw["tokens"].shape) or serve(**kw)
    scorer.chunk_size = 8
    scores = scorer.score_inputs(test)
    assert len(calls) == -(-len(test) // 8)
    assert max(shape[1] for shape in calls) == test.lengths.max() > min(shape[1] for shape in calls)
    for j, name in enumerate(TARGET_NAMES):
        assert scores[name].dtype == np.float32 and scores[name].shape == (len(test),)
        np.testing.assert_allclose(scores[name], expected[:, j], atol=1e-5)


def test_score_layouts_takes_raw_layouts_and_families(exported):
    from brightpath.reward.scoring import RewardScorer

    rng = np.random.default_rng(5)
    families = sample_families(5, rng)
    layouts = layouts_for(rng.uniform(-1, 1, (5, 7)) * 100, families.grade_band)
    scores = RewardScorer(exported).score_layouts(layouts, families.answers, families.child_age, families.grade_band)
    assert set(scores) == set(TARGET_NAMES)
    assert all(((v >= 0) & (v <= 1)).all() and v.shape == (5,) for v in scores.values())


def test_metadata_documents_the_signature_and_the_preprocessing(exported):
    metadata = json.loads((exported / METADATA_FILE).read_text())
    assert metadata["kind"] == "reward" and metadata["model_version"] == "test-v1"
    assert set(metadata["inputs"]) == {"tokens", "mask", "summary", "answers", "child_age"}
    assert metadata["inputs"]["tokens"]["shape"] == [None, None, 5]
    assert metadata["outputs"] == list(TARGET_NAMES)
    assert Preprocessing.from_dict(metadata["preprocessing"]) is not None
    assert metadata["note"] == "tiny"


def test_the_saved_model_holds_the_weights_and_the_signature_not_the_keras_layers(exported, trained):
    """Saving the Keras model itself traces every layer (4x slower to save, 9x to load, 3x the files); the
    signature needs only the weights."""
    import tensorflow as tf

    loaded = tf.saved_model.load(str(exported))
    assert not hasattr(loaded, "model")
    assert len(loaded.model_variables) == len(trained.model.variables)
    assert list(loaded.signatures) == ["serving_default"]


def test_the_saved_model_runs_in_a_process_that_never_imports_this_repository(exported, splits, trained, tmp_path):
    batch = splits["test"].inputs.take(np.arange(3))
    np.savez(tmp_path / "batch.npz", **batch.as_dict())
    script = f"""
import sys, json, numpy as np, tensorflow as tf
loaded = tf.saved_model.load({str(exported)!r})
batch = np.load({str(tmp_path / "batch.npz")!r})
out = loaded.signatures["serving_default"](**{{k: tf.constant(batch[k]) for k in batch.files}})
assert not any(m.split(".")[0] in ("brightpath", "experiments", "envs", "agents") for m in sys.modules)
print(json.dumps({{k: v.numpy().tolist() for k, v in out.items()}}))
"""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TF_USE_LEGACY_KERAS")}
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    expected = trained.predict(batch)
    for j, name in enumerate(TARGET_NAMES):
        np.testing.assert_allclose(out[name], expected[:, j], atol=1e-5)


def test_a_missing_or_corrupt_model_directory_raises_model_load_error_naming_it(exported, tmp_path):
    import shutil

    from brightpath.reward.scoring import RewardScorer

    missing = tmp_path / "nowhere"
    empty = tmp_path / "empty"
    empty.mkdir()
    no_graph = tmp_path / "no_graph"
    shutil.copytree(exported, no_graph)
    (no_graph / "saved_model.pb").unlink()
    corrupt = tmp_path / "corrupt"
    shutil.copytree(exported, corrupt)
    (corrupt / "saved_model.pb").write_bytes(b"not a protobuf")
    generator = tmp_path / "generator"
    shutil.copytree(exported, generator)
    (generator / METADATA_FILE).write_text(json.dumps({"kind": "generator"}))
    for directory in (missing, empty, no_graph, corrupt, generator):
        with pytest.raises(ModelLoadError) as err:
            RewardScorer(directory)
        assert str(directory) in str(err.value)


# --- evaluation ---------------------------------------------------------------------------


def test_metrics_of_perfect_and_of_reversed_predictions(splits):
    data = splits["test"]
    truth = np.stack([data.truth[t] for t in TARGET_NAMES], axis=1)
    perfect = regression_metrics(truth, observed=data.targets, truth=data.truth)
    assert perfect["spearman_true_satisfaction"] == pytest.approx(1.0)
    assert perfect["mse_true_engagement"] == pytest.approx(0.0) and perfect["r2_true_effectiveness"] == pytest.approx(1)
    assert 0 < perfect["spearman_observed_satisfaction"] < 1  # feedback is noisy
    reversed_ = regression_metrics(1 - truth, truth=data.truth)
    assert reversed_["spearman_true_satisfaction"] == pytest.approx(-1.0)
    assert "mse_observed" in perfect and "mse_observed" not in reversed_


def test_calibration_and_residual_figures_have_a_panel_per_target(splits, tmp_path):
    data = splits["test"]
    predictions = np.full((len(data), 3), 0.5, dtype=np.float32) + np.linspace(0, 0.3, len(data))[:, None]
    for make in (calibration_figure, residual_figure):
        fig = make(predictions, data, "test")
        assert len(fig.axes) == 3
        fig.savefig(tmp_path / "figure.png")
        assert (tmp_path / "figure.png").stat().st_size > 1000


def test_the_simulated_set_is_reproducible_from_its_seed():
    a, b = simulated(5, 2, 7, "off_distribution"), simulated(5, 2, 7, "off_distribution")
    np.testing.assert_array_equal(a.inputs.tokens, b.inputs.tokens)
    np.testing.assert_array_equal(a.truth["satisfaction"], b.truth["satisfaction"])
    np.testing.assert_array_equal(a.targets.values, b.targets.values)
