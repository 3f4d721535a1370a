"""A quiet first run: the README's default command prints our progress and summaries but no third-party
noise; ``brightpath.console`` silences exactly the known messages and recognises any third-party line."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from brightpath.console import third_party_noise
from experiments.benchmarks.first_run import QUICK_OVERRIDES, REPO_ROOT, first_run

# Lines a run printed before brightpath.console existed (commit 90aeb07), one of each kind.
NOISY_OUTPUT = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1795622873.763203   27922 port.cc:153] oneDNN custom operations are on. You may see slightly different
I0000 00:00:1795622873.763523   27922 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not be
To enable the following instructions: AVX2 AVX512F FMA, in other operations, rebuild TensorFlow with the compiler flags.
E0000 00:00:1795622880.554786   27922 cuda_platform.cc:52] failed call to cuInit: INTERNAL: CUDA error
2026/11/25 16:07:58 INFO mlflow.store.db.utils: Creating initial MLflow database tables...
/x/.venv/lib/python3.11/site-packages/tf_agents/policies/tf_policy.py:258: SyntaxWarning: "is" with a literal.
  if policy_state is ():  # pylint: disable=literal-comparison
Gym has been unmaintained since 2022 and does not support NumPy 2.0 amongst other critical functionality.
Please upgrade to Gymnasium, the maintained drop-in replacement of Gym, or contact the authors.
See the migration guide at https://gymnasium.farama.org/introduction/migration_guide/ for additional information.
[2026-11-25 16:08:04,967][tensorflow][INFO] - Assets written to: /tmp/q1/models/.reward-rioa_n7g/assets
[2026-11-25 16:08:07,548][absl][WARNING] - `0/reward` is not a valid tf.function parameter name. Sanitizing.
/x/.venv/lib/python3.11/site-packages/tensorflow/python/saved_model/nested_structure_coder.py:458: UserWarning: Enc
  warnings.warn("Encoding a StructuredValue with type %s; loading this "
WARNING:py.warnings:some library warned through logging.captureWarnings
"""
OUR_OUTPUT = """\
[2026-11-25 16:07:58,808][experiments.tracking][INFO] - MLflow run d6a1 (ppo-mlp-s0) in experiment 'brightpath'
[2026-11-25 16:08:00,490][brightpath.datasets][INFO] - wrote 80 schedules for 40 families to /tmp/q1/data
ppo-mlp-s0:  50%|█████     | 1/2 [00:01<00:01,  1.22s/it, ret=0.591, true=0.451]\rppo-mlp-s0: 100%|██████████| 2/2
{root}/agents/ppo.py:12: UserWarning: a warning raised in this repository is ours to act on
  warnings.warn("a warning raised in this repository is ours to act on")
ppo-mlp-s0 (task ppo, seed 0) done; MLflow run d6a115db8d7f4a04a0c61d484b7177ab in experiment 'brightpath'
  eval/pct_of_oracle                       70.8964
"""


def test_third_party_noise_finds_every_third_party_line_and_none_of_ours():
    ours = OUR_OUTPUT.format(root=REPO_ROOT)
    noisy = NOISY_OUTPUT.splitlines()
    assert third_party_noise(NOISY_OUTPUT + ours, REPO_ROOT) == noisy
    assert third_party_noise(ours, REPO_ROOT) == []


QUIETED_PROCESS = r"""
import logging, os, sys, warnings
from brightpath import console
console.quiet_third_party()
logging.basicConfig(level=logging.INFO, format="[%(name)s][%(levelname)s] - %(message)s", stream=sys.stderr)
assert os.environ["TF_CPP_MIN_LOG_LEVEL"] == "3"

sys.path.insert(0, sys.argv[1])
import tf_agents_lookalike.tf_agents.literal   # SyntaxWarning while compiling: dropped (a tf_agents file)
import elsewhere_literal                         # the same warning from any other file: shown

warnings.warn_explicit("Encoding a StructuredValue with type X; loading it needs the type", UserWarning,
                       "nested_structure_coder.py", 1, module="tensorflow.python.saved_model.nested_structure_coder")
warnings.warn_explicit("Encoding a StructuredValue with type X; loading it needs the type", UserWarning,
                       "mine.py", 1, module="mine")

with console._native_stderr_filtered():
    os.write(2, b"WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n")
    os.write(2, b"I0000 00:00:1795622873.763203   27922 port.cc:153] oneDNN custom operations are on.\n")
    os.write(2, b"a native line that means something\n")

logging.getLogger("mlflow.store.db.utils").info("Creating initial MLflow database tables...")  # before TF loads
logging.getLogger("mlflow.tracking.fluent").info("Experiment with name 'x' does not exist. Creating a new experiment.")
logging.getLogger("mlflow.tracking.fluent").info("an MLflow record that is not noise")

import tensorflow as tf                          # its native load lines: dropped
tf.constant(1.0) + 1.0                           # cuInit on a CPU machine: an ERROR line below level 3
import gym                                       # its "unmaintained" notice: dropped
tf.get_logger().info("Assets written to: /tmp/x/assets")
tf.get_logger().info("a TensorFlow record that is not noise")
from absl import logging as absl_logging
absl_logging.warning("`0/reward` is not a valid tf.function parameter name. Sanitizing to `arg_0_reward`.")
absl_logging.warning("an absl warning that is not noise")
absl_logging.set_verbosity(absl_logging.INFO)
absl_logging.info("Saved checkpoint: /tmp/x/ckpt-2")
absl_logging.info("Sharding callback duration: 15 microseconds")
absl_logging.info("Function `serve` contains input name(s) resource with unsupported characters which will be "
                  "renamed to dense_biasadd_readvariableop_resource in the SavedModel.")
print("done", file=sys.stderr)
"""


def test_quiet_third_party_silences_only_the_known_messages(tmp_path):
    (tmp_path / "tf_agents_lookalike" / "tf_agents").mkdir(parents=True)
    for package in ("tf_agents_lookalike", "tf_agents_lookalike/tf_agents"):
        (tmp_path / package / "__init__.py").write_text("")
    literal = "def empty(state):\n    return state is ()\n"
    (tmp_path / "tf_agents_lookalike" / "tf_agents" / "literal.py").write_text(literal)
    (tmp_path / "elsewhere_literal.py").write_text(literal)
    done = subprocess.run(
        [sys.executable, "-c", QUIETED_PROCESS, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
        env=_env_without_log_level(),
        cwd=REPO_ROOT,
    )
    assert done.returncode == 0, done.stderr
    err = done.stderr
    assert err.count("SyntaxWarning") == 1 and "elsewhere_literal.py" in err
    assert err.count("Encoding a StructuredValue") == 1 and "mine.py" in err
    assert "a native line that means something" in err
    assert "a TensorFlow record that is not noise" in err and "an absl warning that is not noise" in err
    assert "an MLflow record that is not noise" in err
    for silenced in (
        "Assets written to",
        "is not a valid tf.function parameter name",
        "InitializeLog",
        "oneDNN",
        "cuda",
        "Gym has been unmaintained",
        "Creating initial MLflow",
        "does not exist. Creating a new experiment",
        "Saved checkpoint",
        "Sharding callback",
        "unsupported characters",
    ):
        assert silenced not in err
    assert err.rstrip().endswith("done")


def _env_without_log_level() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in ("TF_CPP_MIN_LOG_LEVEL", "MLFLOW_TRACKING_URI")}


@pytest.mark.slow
def test_default_command_prints_no_third_party_noise(tmp_path):
    """``python -m experiments.train +exp=ppo`` on a tiny budget in a fresh home, as a user runs it."""
    result = first_run(tmp_path, QUICK_OVERRIDES)
    output = result.stdout + "\n" + result.stderr
    assert result.returncode == 0, result.stderr[-3000:]
    assert third_party_noise(output, REPO_ROOT) == []
    assert "ppo-mlp-s0" in result.stderr  # our progress bar
    assert "eval/pct_of_oracle" in result.stdout  # our summary
    assert (tmp_path / "models" / "generator").exists()
    assert len(output.splitlines()) < 80  # a page, not pages
