"""The typed schemas of the Hydra configs, registered in Hydra's ConfigStore on import.

Every config group has a dataclass schema, and the dataclass is the one source of its
defaults and types: the YAML options in ``configs/<group>/`` extend it
(``defaults: [<schema>, _self_]``) and keep only deliberate overrides. OmegaConf then
rejects a misspelt key or a value of the wrong type (``seed=abc``) while the config is
composed, and each dataclass's ``__post_init__`` checks ranges when
``experiments.config_check.load_run`` turns the config into objects, before any work.

================  ==================================================  ==========================
group             schema                                              registered as
================  ==================================================  ==========================
(primary)         ``RunConfig`` (``configs/train.yaml``)              ``run_schema``
(primary)         ``ABTestConfig`` (``configs/evaluate.yaml``)        ``ab_test_schema``
``paths``         ``PathsConfig``                                     ``paths/paths_schema``
``data``          ``DatasetConfig``                                   ``data/dataset_schema``
``env``           ``EnvConfig``                                       ``env/env_schema``
``model``         ``agents.networks.NetworkConfig``                   ``model/network_schema``
``agent``         ``agents.ppo.PPOConfig``                            ``agent/ppo_schema``
``reward_model``  ``brightpath.reward.models.AttentionConfig``,       ``reward_model/attention_schema``,
                  ``GBRConfig``, ``MLPConfig``                        ``gbr_schema``, ``mlp_schema``
``imitation``     ``brightpath.regressors.RandomForestConfig``,       ``imitation/rf_schema``,
                  ``GradientBoostingConfig``, ``KerasMLPConfig``      ``gbr_schema``, ``mlp_schema``
``eval``          ``EvalConfig`` (with ``brightpath.oracle.OracleConfig``)  ``eval/eval_schema``
``results``       ``ResultsConfig``                                   ``results/results_schema``
``loop``          ``experiments.loop.config.LoopConfig`` (with           ``loop/loop_schema``
                  ``brightpath.gate.GateConfig``, ``TriggerConfig``)
``weeks``         ``WeeksConfig`` (with ``WeeklyLogsConfig``,             ``weeks/weeks_schema``
                  ``brightpath.reward.weekly_model.WeeklyRewardConfig``,
                  ``brightpath.oracle.OracleConfig``)
``logger``        untyped (``configs/logger/mlflow.yaml``)
================  ==================================================  ==========================

The schemas of the library's components live next to the code that reads them (agents,
reward models, regressors, oracle); the ones defined here configure experiments.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from agents.config import NetworkConfig, PPOConfig
from brightpath.abtest import ALPHA
from brightpath.datasets import SPLITS
from brightpath.errors import ValidationError
from brightpath.evaluation import MIN_COVERAGE
from brightpath.oracle import OracleConfig
from brightpath.regressors import REGRESSOR_CONFIGS
from brightpath.reproducibility import MAX_SEED
from brightpath.reward.models import AttentionConfig, GBRConfig, MLPConfig
from brightpath.reward.weekly_model import WeeklyRewardConfig
from brightpath.stats import N_BOOTSTRAP
from envs.schedule_env import DEFAULT_REWARD_WEIGHTS, HEADS, REWARD_SOURCES
from envs.weeks_env import ACTION_MODES
from experiments.loop.config import LoopConfig

FAMILY_SOURCES: tuple[str, ...] = ("population", "train")
"""``env.families``: fresh simulated families each step, or the dataset's train split."""
RESULT_ROWS: tuple[str, ...] = ("expert", "rf", "gbr", "mlp", "ppo_mlp", "ppo_transformer", "oracle")
"""Rows of the results table, in its order."""


@dataclass
class PathsConfig:
    """Where runs read and write files. Everything hangs off ``root``: ``$BRIGHTPATH_HOME`` when
    set, else the directory the run is launched from.

    Attributes:
        root: the home of everything below.
        data_dir: generated datasets, ``{raw,processed,synthetic}/<version>/`` and
            ``data_card_<version>.json``.
        model_dir: exported models (``brightpath.registry``: ``versions/<name>/<N>/`` and the
            champion links ``generator``, ``reward``, ``policy``); ``brightpath.inference`` reads it.
        reports_dir: figures and tables written for people.
        checkpoint_dir: training checkpoints, one folder per run name (what ``resume=true``
            continues from).
        cache_dir: results computed once and reused across runs (the oracle on the held-out
            families: ``oracle/``).
    """

    root: str = "${oc.env:BRIGHTPATH_HOME,.}"
    data_dir: str = "${.root}/data"
    model_dir: str = "${.root}/models"
    reports_dir: str = "${.root}/reports"
    checkpoint_dir: str = "${.root}/checkpoints"
    cache_dir: str = "${.root}/cache"


@dataclass
class DatasetConfig:
    """The synthetic dataset (``brightpath.datasets.generate_datasets``), written by ``+exp=data``
    and generated on the fly by any task that needs it and finds none.

    Attributes:
        version: tag of the dataset: files go to ``<paths.data_dir>/{raw,processed,synthetic}/<version>/``.
        n_families: simulated families (questionnaire answers + hidden profile), ≥ 3.
        schedules_per_family: schedules each family rates, ≥ 1 (rated schedules = n_families × this).
        val_fraction, test_fraction: shares of the families held out for validation and testing,
            each in [0, 1) and together below 1.
    """

    version: str = "v1"
    n_families: int = 4000
    schedules_per_family: int = 6
    val_fraction: float = 0.15
    test_fraction: float = 0.15

    def __post_init__(self) -> None:
        _require(self, "data.n_families", self.n_families >= 3, "an integer ≥ 3")
        _require(self, "data.schedules_per_family", self.schedules_per_family >= 1, "an integer ≥ 1")
        _require(self, "data.val_fraction", 0 <= self.val_fraction < 1, "a share in [0, 1)")
        _require(self, "data.test_fraction", 0 <= self.test_fraction < 1, "a share in [0, 1)")
        _require(
            self,
            "data.test_fraction",
            self.val_fraction + self.test_fraction < 1,
            f"a share below 1 - val_fraction = {1 - self.val_fraction:g}",
        )


@dataclass
class EnvConfig:
    """The schedule bandit PPO trains in: ``envs.schedule_env.ScheduleEnv`` batched as
    ``envs.batch.ScheduleVectorEnv`` (``BrightPath/Schedule-v0``); one family, one decision per episode.

    Attributes:
        reward_source: ``model``: the exported attention reward model scores each week (the
            learned proxy); ``oracle``: the simulator's hidden satisfaction does (an ablation:
            no deployed generator can see it).
        reward_model_uri: the reward model with ``reward_source=model``: a model directory,
            ``runs:/<run_id>[/<path>]`` or ``models:/<name>/<version>``; None: the registry's
            champion ``<paths.model_dir>/reward``, trained now (a child run) when there is none
            (``experiments.artifacts.reward_model``).
        reward_weights: weight of each head (``satisfaction``, ``engagement``, ``effectiveness``)
            in the reward, their weighted mean (0–1); satisfaction is what families feel, so it
            alone is rewarded by default.
        families: where training episodes draw families from: ``population`` (fresh simulated
            families each step, never the evaluation families) or ``train`` (the dataset's train
            split, with replacement).
        num_envs: families scored per environment step with one reward-model call (≥ 1); also
            the PPO batch per iteration, a multiple of ``agent.minibatch_size``. Batched scoring
            runs ~6,000 decisions/s against ~230/s one family at a time
            (``experiments/benchmarks/env_steps.py``, 2 cores); 2,048 (minibatch 512) learned no
            better than 1,024 (95.8 % of the oracle at 200 iterations either way).
    """

    reward_source: str = "model"
    reward_model_uri: str | None = None
    reward_weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_REWARD_WEIGHTS))
    families: str = "population"
    num_envs: int = 1024

    def __post_init__(self) -> None:
        _require(self, "env.reward_source", self.reward_source in REWARD_SOURCES, f"one of {', '.join(REWARD_SOURCES)}")
        _require(self, "env.families", self.families in FAMILY_SOURCES, f"one of {', '.join(FAMILY_SOURCES)}")
        _require(self, "env.num_envs", self.num_envs >= 1, "an integer ≥ 1")
        unknown = sorted(set(self.reward_weights) - set(HEADS))
        _require(self, "env.reward_weights", not unknown, f"weights of {', '.join(HEADS)} (not {unknown})")
        weights = list(self.reward_weights.values())
        _require(
            self,
            "env.reward_weights",
            all(w >= 0 for w in weights) and sum(weights) > 0,
            "non-negative weights summing above 0",
        )


@dataclass
class EvalConfig:
    """The final evaluation of a trained PPO generator, next to the expert rule and the oracle.

    Attributes:
        n_families: held-out families (≥ 2): the first n of the dataset's ``split``, topped up
            with fresh simulated families (``brightpath.datasets.held_out_families``).
        split: the dataset split they come from.
        family_seed: seeds the top-up families and the oracle's search; fixed, so runs with
            different training seeds are compared on the same families against the same
            ceiling (and the oracle is computed once, ``experiments.artifacts.oracle``).
        min_coverage: a week below this requirement-weighted coverage (0–1) counts as invalid.
        oracle: the oracle's search budget.
    """

    n_families: int = 1000
    split: str = "test"
    family_seed: int = 0
    min_coverage: float = MIN_COVERAGE
    oracle: OracleConfig = field(default_factory=OracleConfig)

    def __post_init__(self) -> None:
        _check_evaluation(self, "eval.")


@dataclass
class ResultsConfig:
    """The results table (``+exp=results``): every generator on the same held-out families.

    Attributes:
        rows: rows in table order, some of ``RESULT_ROWS``.
        n_families: held-out families (≥ 2): the first n of ``split``, topped up with fresh
            simulated families when the split is smaller (the default dataset's test split holds 600).
        split: the dataset split they come from.
        models: where a row's model comes from: a model directory, ``runs:/<run_id>`` or
            ``models:/...``; None looks in the default place (``<paths.model_dir>/baselines/<row>``
            for rf, gbr, mlp) and then for the latest FINISHED MLflow run (task ``imitation``
            with ``imitation.name``, or task ``ppo`` with ``model.name``).
        proxy: also score every schedule with the reward model (the proxy columns); one is
            trained first (a child run) when there is none.
        min_coverage: a week below this requirement-weighted coverage (0–1) counts as invalid.
        n_bootstrap: bootstrap resamples for the 95 % CIs (≥ 100).
        oracle: the oracle's search budget.
    """

    rows: list[str] = field(default_factory=lambda: list(RESULT_ROWS))
    n_families: int = 1000
    split: str = "test"
    models: dict[str, str | None] = field(
        default_factory=lambda: {row: None for row in ("rf", "gbr", "mlp", "ppo_mlp", "ppo_transformer")}
    )
    proxy: bool = True
    min_coverage: float = MIN_COVERAGE
    n_bootstrap: int = N_BOOTSTRAP
    oracle: OracleConfig = field(default_factory=OracleConfig)

    def __post_init__(self) -> None:
        unknown = [row for row in self.rows if row not in RESULT_ROWS]
        _require(self, "results.rows", not unknown, f"rows among {', '.join(RESULT_ROWS)} (not {unknown})")
        _require(self, "results.n_bootstrap", self.n_bootstrap >= 100, "an integer ≥ 100")
        _check_evaluation(self, "results.")


@dataclass
class WeeklyLogsConfig:
    """The simulated multi-week logs the history-aware reward model learns from (``brightpath.reward.weekly_data``).

    Attributes:
        n_families: simulated families (≥ 3), each logged over ``weeks.weeks`` school weeks under the
            product-like logging policy; 4,000 × 8 weeks = 32,000 logged weeks, as many as the one-shot
            dataset's 4,000 × 6 schedules plus the weeks that carry history.
        val_fraction, test_fraction: shares of the families held out for early stopping and for the
            evaluation (Spearman with the hidden truth), each in [0, 1), together below 1.
        candidates_per_row: candidate weeks scored per (family, week) of the test logs' off-distribution
            set (``candidate_set``; ≥ 3, so rankings within a family can be measured).
        candidate_rows_per_week: test families per week that get candidates (≥ 1).
    """

    n_families: int = 4000
    val_fraction: float = 0.125
    test_fraction: float = 0.125
    candidates_per_row: int = 8
    candidate_rows_per_week: int = 100

    def __post_init__(self) -> None:
        _require(self, "weeks.logs.n_families", self.n_families >= 3, "an integer ≥ 3")
        _require(self, "weeks.logs.val_fraction", 0 <= self.val_fraction < 1, "a share in [0, 1)")
        _require(self, "weeks.logs.test_fraction", 0 <= self.test_fraction < 1, "a share in [0, 1)")
        _require(
            self,
            "weeks.logs.test_fraction",
            self.val_fraction + self.test_fraction < 1,
            f"a share below 1 - val_fraction = {1 - self.val_fraction:g}",
        )
        _require(self, "weeks.logs.candidates_per_row", self.candidates_per_row >= 3, "an integer ≥ 3")
        _require(self, "weeks.logs.candidate_rows_per_week", self.candidate_rows_per_week >= 1, "an integer ≥ 1")


@dataclass
class WeeksConfig:
    """The multi-week task (``+exp=weeks``): ``BrightPath/ScheduleWeeks-v0``, its reward model, the evaluation.

    Attributes:
        weeks: episode length W in school weeks (2–36); the policy and its exported generator plan up to W
            weeks, reading at most W − 1 lived ones. 8: two months, the issue's weeks 1–8.
        action_mode: ``absolute`` (each week's parameters) or ``adjust`` (changes to last week's);
            ``envs.weeks_env.ScheduleWeeksEnv`` documents why absolute is the default (measured).
        school_year: episodes start in the school year from August of this year (1900–2999).
        num_envs: families per PPO batch, stepped together with one reward-model call per step (≥ 1,
            a multiple of ``agent.minibatch_size``): each iteration collects ``num_envs × weeks`` decisions.
        reward_source: ``model`` (the history-aware reward model: what a deployed system has) or
            ``oracle`` (the hidden truth; an ablation, the reference of what the same PPO budget reaches).
        reward_model_uri: the weekly reward model: a directory, ``runs:/...`` or ``models:/...``; None:
            the registry's champion ``<paths.model_dir>/weekly_reward``, trained now (a child run,
            ``+exp=weekly_reward``) when there is none.
        logs: the reward model's training logs (``WeeklyLogsConfig``).
        reward_model: the reward model's size and training (``WeeklyRewardConfig``).
        eval_families: held-out families of the evaluation cohort (``adaptive.evaluation_cohort``, ≥ 2).
        eval_seed: the cohort's seed (families, start weeks, the world's feedback noise, the oracle's
            search); fixed, so every run and every policy meet the same families and the same ceiling.
        one_shot_generator: the one-shot PPO generator repeated every week (a baseline): a generator
            spec of ``experiments.artifacts.generator`` (``ppo`` = the registry's champion); None or a
            missing model leaves the row out (logged).
        examples: families shown in the report's examples of adaptation, per adjustment kind (≥ 0).
        oracle: the per-week oracle's search budget (``brightpath.oracle.OracleConfig``).
    """

    weeks: int = 8
    action_mode: str = "absolute"
    school_year: int = 2025
    num_envs: int = 256
    reward_source: str = "model"
    reward_model_uri: str | None = None
    logs: WeeklyLogsConfig = field(default_factory=WeeklyLogsConfig)
    reward_model: WeeklyRewardConfig = field(default_factory=WeeklyRewardConfig)
    eval_families: int = 1000
    eval_seed: int = 0
    one_shot_generator: str | None = "ppo"
    examples: int = 2
    oracle: OracleConfig = field(default_factory=OracleConfig)

    def __post_init__(self) -> None:
        _require(self, "weeks.weeks", 2 <= self.weeks <= 36, "an integer number of school weeks in 2-36")
        _require(self, "weeks.action_mode", self.action_mode in ACTION_MODES, f"one of {', '.join(ACTION_MODES)}")
        _require(self, "weeks.school_year", 1900 <= self.school_year <= 2999, "a calendar year 1900-2999")
        _require(self, "weeks.num_envs", self.num_envs >= 1, "an integer ≥ 1")
        _require(
            self, "weeks.reward_source", self.reward_source in REWARD_SOURCES, f"one of {', '.join(REWARD_SOURCES)}"
        )
        _require(self, "weeks.eval_families", self.eval_families >= 2, "an integer ≥ 2")
        _require(self, "weeks.examples", self.examples >= 0, "an integer ≥ 0")


GROUP_SCHEMAS: dict[str, tuple[type, ...]] = {
    "data": (DatasetConfig,),
    "env": (EnvConfig,),
    "model": (NetworkConfig,),
    "agent": (PPOConfig,),
    "reward_model": (AttentionConfig, GBRConfig, MLPConfig),
    "imitation": tuple(REGRESSOR_CONFIGS.values()),
    "eval": (EvalConfig,),
    "results": (ResultsConfig,),
    "loop": (LoopConfig,),
    "weeks": (WeeksConfig,),
}
"""Config group → the schemas of its options."""


@dataclass
class RunConfig:
    """The primary config of ``python -m experiments.train`` (``configs/train.yaml``).

    Attributes:
        task: which experiment task runs, a module in ``experiments/tasks/`` (the
            ``+exp=<name>`` files set it).
        seed: the one seed every component seeds its own random stream from (Python, NumPy,
            TensorFlow, the environment, data generation), an integer in [0, 2**32 − 1].
        run_name: the MLflow run name; experiment files extend it with the model name
            (``ppo-transformer-s0``).
        resume: True reopens the latest MLflow run with this ``run_name`` and appends to it
            (tasks with checkpoints continue from ``<paths.checkpoint_dir>/<run_name>``).
        optimize_metric: name of a returned final metric the entry point hands to a Hydra
            sweeper (e.g. Optuna) as its objective; None returns nothing.
        paths, logger: where files go; how runs are recorded (``configs/logger/``).
        data, env, model, agent, reward_model, imitation, eval, results, loop, weeks: the config groups
            each typed by its options' schemas (``GROUP_SCHEMAS``); None when the
            experiment does not select one. (Composed, an unselected group is an empty mapping,
            so overriding a key in it fails with Hydra's "Could not override" message.)
    """

    task: str = MISSING
    seed: int = 0
    run_name: str = "${task}-s${seed}"
    resume: bool = False
    optimize_metric: str | None = None
    paths: PathsConfig = field(default_factory=PathsConfig)
    logger: Any = None
    data: Any = field(default_factory=dict)
    env: Any = field(default_factory=dict)
    model: Any = field(default_factory=dict)
    agent: Any = field(default_factory=dict)
    reward_model: Any = field(default_factory=dict)
    imitation: Any = field(default_factory=dict)
    eval: Any = field(default_factory=dict)
    results: Any = field(default_factory=dict)
    loop: Any = field(default_factory=dict)
    weeks: Any = field(default_factory=dict)

    def __post_init__(self) -> None:
        _check_seed(self)
        for group, schemas in GROUP_SCHEMAS.items():
            value = getattr(self, group)
            if isinstance(value, dict) and not value:
                setattr(self, group, None)
            elif value is not None and not isinstance(value, schemas):
                raise ValidationError(group, value, f"one of its options, chosen with {group}=<option>")
        if self.env is not None and self.agent is not None and self.env.num_envs % self.agent.minibatch_size:
            raise ValidationError(
                "env.num_envs", self.env.num_envs, f"a multiple of agent.minibatch_size={self.agent.minibatch_size}"
            )


@dataclass
class ABTestConfig:
    """The primary config of the A/B test ``python -m experiments.evaluate a=<generator> b=<generator>``
    (``configs/evaluate.yaml``).

    Attributes:
        a, b: the two arms: a generator name (expert, oracle, rf, gbr, mlp, ppo; ppo_mlp and
            ppo_transformer = the latest finished PPO run of that model), a model directory,
            or an MLflow model (``runs:/<run_id>[/<artifact path>]``, ``models:/...``).
        n_families: held-out families both arms plan for (≥ 2): the first n of the dataset's
            ``split``, topped up with fresh simulated families when the split is smaller.
        split: the dataset split they come from.
        seed: seeds the bootstrap, the oracle's search, the two-group randomisation and any
            top-up families.
        proxy: also score both arms with the reward model (when there is a usable one).
        reward_model_uri: the reward model (as ``env.reward_model_uri``); None: the registry's
            champion ``<paths.model_dir>/reward``.
        paired: True: the same families under both arms, paired t-test (primary); False:
            families randomised into two independent groups, one per arm, Welch's t-test
            (the seed plan's design).
        alpha: significance level; a winner is declared only when p < alpha.
        n_bootstrap: bootstrap resamples for the 95 % CI of the mean difference (≥ 100).
        min_coverage: a week below this requirement-weighted coverage (0–1) counts as invalid.
        min_segment_size: segments (grade band, high/low preference) with fewer families are
            listed but not tested.
        oracle: the oracle's search budget.
        task, run_name: MLflow bookkeeping.
        paths, logger, data: as in ``RunConfig``.
    """

    a: str = "expert"
    b: str = "rf"
    n_families: int = 1000
    split: str = "test"
    seed: int = 0
    proxy: bool = True
    reward_model_uri: str | None = None
    paired: bool = True
    alpha: float = ALPHA
    n_bootstrap: int = N_BOOTSTRAP
    min_coverage: float = MIN_COVERAGE
    min_segment_size: int = 10
    oracle: OracleConfig = field(default_factory=OracleConfig)
    task: str = "evaluate"
    run_name: str = "ab-${a}-vs-${b}-s${seed}"
    paths: PathsConfig = field(default_factory=PathsConfig)
    logger: Any = None
    data: DatasetConfig = field(default_factory=DatasetConfig)

    def __post_init__(self) -> None:
        _check_seed(self)
        _require(self, "alpha", 0 < self.alpha < 1, "a level in (0, 1)")
        _require(self, "n_bootstrap", self.n_bootstrap >= 100, "an integer ≥ 100")
        _check_evaluation(self, "")


def _require(config: Any, key: str, ok: bool, expected: str) -> None:
    """Raise ``ValidationError`` naming ``key`` (``"data.n_families"``: the group, then the field) unless ``ok``."""
    if not ok:
        raise ValidationError(key, getattr(config, key.rsplit(".", 1)[-1]), expected)


def _check_seed(config: Any) -> None:
    _require(config, "seed", 0 <= config.seed <= MAX_SEED, f"an integer in [0, {MAX_SEED}]")


def _check_evaluation(config: Any, prefix: str) -> None:
    """The held-out families and the coverage rule every evaluation config shares (keys named ``<prefix><key>``)."""
    _require(config, f"{prefix}n_families", config.n_families >= 2, "an integer ≥ 2")
    _require(config, f"{prefix}split", config.split in SPLITS, f"one of {', '.join(SPLITS)}")
    _require(config, f"{prefix}min_coverage", 0 <= config.min_coverage <= 1, "a share in [0, 1]")


def register(store: ConfigStore | None = None) -> None:
    """Put every schema into Hydra's ConfigStore (done on import; repeating it is harmless)."""
    store = store or ConfigStore.instance()
    store.store(name="run_schema", node=RunConfig)
    store.store(name="ab_test_schema", node=ABTestConfig)
    store.store(group="paths", name="paths_schema", node=PathsConfig)
    store.store(group="data", name="dataset_schema", node=DatasetConfig)
    store.store(group="env", name="env_schema", node=EnvConfig)
    store.store(group="model", name="network_schema", node=NetworkConfig)
    store.store(group="agent", name="ppo_schema", node=PPOConfig)
    for name, schema in {"attention": AttentionConfig, "gbr": GBRConfig, "mlp": MLPConfig}.items():
        store.store(group="reward_model", name=f"{name}_schema", node=schema)
    for name, schema in REGRESSOR_CONFIGS.items():
        store.store(group="imitation", name=f"{name}_schema", node=schema)
    store.store(group="eval", name="eval_schema", node=EvalConfig)
    store.store(group="results", name="results_schema", node=ResultsConfig)
    store.store(group="loop", name="loop_schema", node=LoopConfig)
    store.store(group="weeks", name="weeks_schema", node=WeeksConfig)


register()
