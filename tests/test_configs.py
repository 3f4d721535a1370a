"""The Hydra configs themselves: every experiment file and every option of every group launches
(tiny budgets, in-process; the real command line once), and the YAML files agree with the
dataclasses that are the one source of defaults: a component built from a composed config equals
the one built from its dataclass defaults plus the YAML's deliberate overrides."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from agents.config import NetworkConfig, PPOConfig
from brightpath.regressors import REGRESSOR_CONFIGS
from brightpath.reward.models import AttentionConfig, GBRConfig, MLPConfig
from experiments import config_check, schemas
from experiments.loop.config import LoopConfig
from tests.test_loop import TINY_LOOP
from tests.test_ppo_task import TINY as TINY_PPO_TASK
from tests.test_reward_task import TINY as TINY_REWARD_TASK
from tests.test_reward_task import TINY_DATA as TINY_REWARD_TASK_DATA
from tests.test_weeks_task import ORACLE as TINY_WEEKS_ORACLE
from tests.test_weeks_task import RNN_ORACLE as TINY_WEEKS_RNN_ORACLE
from tests.test_weeks_task import TINY_REWARD as TINY_WEEKLY_REWARD
from tests.test_weeks_task import WITH_REWARD_MODEL as TINY_WEEKS_WITH_REWARD_MODEL

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "configs"
TEAMMATE_GROUPS = ("logger", "hydra", "hparams_search")
"""Groups whose options this project does not type (``configs/logger/``; Hydra's own and its sweepers',
typed by the Hydra plugins: ``hparams_search`` is checked by ``tests/test_optuna_search.py``)."""

TINY_DATA = ["data.n_families=40", "data.schedules_per_family=2"]
TINY_ORACLE = ["oracle.n_random=16", "oracle.n_rounds=1", "oracle.n_local=4"]
TINY_PPO = [
    "env.num_envs=32",
    "agent.minibatch_size=32",
    "agent.num_iterations=1",
    "eval.n_families=8",
    *(f"eval.{o}" for o in TINY_ORACLE),
]
TINY_ATTENTION = [
    "reward_model.d_model=4",
    "reward_model.ff_dim=4",
    "reward_model.head_units=[8]",
    "reward_model.max_epochs=1",
    "reward_model.batch_size=64",
]
LAUNCHES: dict[str, list[str]] = {
    "data": ["+exp=data", *TINY_DATA],
    "reward": ["+exp=reward", *TINY_DATA, *TINY_ATTENTION],
    "baseline": ["+exp=baseline", "imitation.n_estimators=4", "imitation.cv_folds=2", *TINY_DATA],
    "baseline gbr": ["+exp=baseline", "imitation=gbr", "imitation.n_estimators=4", "imitation.cv_folds=2", *TINY_DATA],
    "baseline mlp": [
        "+exp=baseline",
        "imitation=mlp",
        "imitation.hidden_units=[8]",
        "imitation.epochs=1",
        "imitation.cv_folds=2",
        *TINY_DATA,
    ],
    "ppo": ["+exp=ppo", "env.reward_source=oracle", *TINY_PPO, *TINY_DATA],
    "results": [
        "+exp=results",
        "results.n_families=8",
        "results.proxy=false",
        "results.n_bootstrap=100",
        *(f"results.{o}" for o in TINY_ORACLE),
        *TINY_DATA,
    ],
    "weekly_reward": ["+exp=weekly_reward", *TINY_WEEKLY_REWARD],
    "weeks transformer": [*TINY_WEEKS_ORACLE, "model=weeks_transformer", "agent.num_iterations=1"],
}
"""One tiny launch per experiment file and per group option the experiments do not select themselves."""
LAUNCHED_BY_THEIR_OWN_TESTS: dict[str, list[str]] = {
    "tests/test_ppo_task.py (transformer)": [*TINY_PPO_TASK, "model=transformer"],
    "tests/test_loop.py": TINY_LOOP,
    "tests/test_weeks_task.py": TINY_WEEKS_WITH_REWARD_MODEL,
    "tests/test_weeks_task.py (rnn)": TINY_WEEKS_RNN_ORACLE,
    "tests/test_reward_task.py (gbr)": ["+exp=reward", *TINY_REWARD_TASK_DATA, *TINY_REWARD_TASK["gbr"]],
    "tests/test_reward_task.py (mlp)": ["+exp=reward", *TINY_REWARD_TASK_DATA, *TINY_REWARD_TASK["mlp"]],
}
"""Launches the dedicated test modules make anyway, with the overrides they use (imported, so they cannot drift):
counted as covering their experiment and options instead of launching them a second time here."""


def _options() -> dict[str, list[str]]:
    """Every option of every config group in ``configs/`` (``group -> option names``)."""
    return {
        group.name: sorted(p.stem for p in group.glob("*.yaml"))
        for group in sorted(CONFIG_DIR.iterdir())
        if group.is_dir() and group.name not in (*TEAMMATE_GROUPS, "exp")
    }


def _selected(overrides: list[str]) -> dict[str, str]:
    """``group -> option`` that a launch selects, from its experiment file and its overrides."""
    choices: dict[str, str] = {}
    for override in overrides:
        if override.startswith("+exp="):
            defaults = OmegaConf.load(CONFIG_DIR / "exp" / f"{override[5:]}.yaml").get("defaults", [])
            for entry in defaults:
                ((key, option),) = dict(entry).items()
                choices[key.removeprefix("override /")] = option
        key, _, value = override.partition("=")
        if key in schemas.GROUP_SCHEMAS:
            choices[key] = value
    return choices


def test_the_launches_cover_every_experiment_and_every_group_option():
    launches = [*LAUNCHES.values(), *LAUNCHED_BY_THEIR_OWN_TESTS.values()]
    experiments = {p.stem for p in (CONFIG_DIR / "exp").glob("*.yaml")}
    launched = {o[5:] for overrides in launches for o in overrides if o.startswith("+exp=")}
    assert launched == experiments
    covered = {(group, option) for overrides in launches for group, option in _selected(overrides).items()}
    covered |= {("paths", "default")}  # every launch
    missing = {(group, option) for group, options in _options().items() for option in options} - covered
    assert missing == set()


@pytest.mark.parametrize("name", list(LAUNCHES))
def test_every_experiment_and_option_runs(name, tmp_home, run_experiment, mlflow_store):
    metrics = run_experiment(LAUNCHES[name], tmp_home)
    assert metrics
    finished = mlflow_store.runs("attributes.status = 'FINISHED'")
    assert finished and all(run.data.metrics for run in finished)
    selected = _selected(LAUNCHES[name])
    for run in finished:
        logged_groups = {key.split(".")[0] for key in run.data.params} & set(schemas.GROUP_SCHEMAS)
        if run.data.tags.get("mlflow.parentRunId") is None:
            assert logged_groups == set(selected), name  # unused groups are neither loaded nor logged


def test_the_real_command_line_runs_an_experiment(tmp_home, mlflow_store):
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT), "BRIGHTPATH_HOME": str(tmp_home)}
    overrides = [o for o in LAUNCHES["results"] if o != "+exp=results"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "experiments.train",
            "+exp=results",
            "results.rows=[expert,oracle]",
            *overrides,
            f"paths.root={tmp_home}",
            f"logger.tracking_uri=sqlite:///{tmp_home}/mlflow.db",
        ],
        cwd=tmp_home,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "results-s0 (task results, seed 0) done" in done.stdout
    (run,) = mlflow_store.runs()
    assert run.info.status == "FINISHED" and run.data.metrics["final/results/n_families"] == 8


# --- the YAML files agree with the dataclasses -------------------------------------------------

SCHEMAS: dict[tuple[str, str], type] = {
    ("paths", "default"): schemas.PathsConfig,
    ("data", "default"): schemas.DatasetConfig,
    ("env", "schedule"): schemas.EnvConfig,
    ("eval", "default"): schemas.EvalConfig,
    ("results", "default"): schemas.ResultsConfig,
    ("agent", "ppo"): PPOConfig,
    ("model", "mlp"): NetworkConfig,
    ("model", "transformer"): NetworkConfig,
    ("model", "weeks_mlp"): NetworkConfig,
    ("model", "weeks_transformer"): NetworkConfig,
    ("model", "weeks_rnn"): NetworkConfig,
    ("agent", "weeks_ppo"): PPOConfig,
    ("loop", "default"): LoopConfig,
    ("weeks", "default"): schemas.WeeksConfig,
    ("reward_model", "attention"): AttentionConfig,
    ("reward_model", "gbr"): GBRConfig,
    ("reward_model", "mlp"): MLPConfig,
    **{("imitation", name): schema for name, schema in REGRESSOR_CONFIGS.items()},
}


def _deliberate_overrides(path: Path) -> dict:
    """What a YAML option sets on top of its schema: every key but its defaults list."""
    values = OmegaConf.to_container(OmegaConf.load(path))
    defaults = values.pop("defaults")
    assert defaults[-1] == "_self_" and defaults[0].endswith("_schema"), f"{path}: extend the schema first"
    return values


def test_every_option_has_a_schema():
    assert set(SCHEMAS) == {(group, option) for group, options in _options().items() for option in options}


@pytest.mark.parametrize(("group", "option"), sorted(SCHEMAS))
def test_a_composed_component_is_its_dataclass_defaults_plus_the_yaml_overrides(group, option, compose_config):
    schema = SCHEMAS[(group, option)]
    overrides = _deliberate_overrides(CONFIG_DIR / group / f"{option}.yaml")
    experiment = {
        "data": "data",
        "reward_model": "reward",
        "imitation": "baseline",
        "results": "results",
        "loop": "loop",
        "weeks": "weeks",
    }.get(group, "ppo")
    if option.startswith("weeks_"):
        experiment = "weeks"
    config = config_check.load_run(compose_config("train", [f"+exp={experiment}", f"{group}={option}"]))
    composed = getattr(config, group)
    if group == "paths":  # its defaults are interpolations, resolved in the composed config
        expected = OmegaConf.to_object(
            OmegaConf.merge(OmegaConf.structured(schema), overrides, {"root": composed.root})
        )
    else:
        expected = schema(**overrides)
    assert composed == expected


def test_the_primary_configs_hold_no_values_but_their_schemas():
    for name in ("train", "evaluate"):
        values = OmegaConf.to_container(OmegaConf.load(CONFIG_DIR / f"{name}.yaml"))
        assert set(values) == {"defaults", "hydra"}, name
