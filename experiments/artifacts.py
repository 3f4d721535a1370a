"""The one place that decides which artefact a run uses: its dataset, reward model, generators,
held-out families and oracle; and how a run's models are written (the same metadata for all).

=====================  ======================================================================
``dataset``            ``<paths.data_dir>`` with the ``data`` config's dataset version as found
                       (its sizes checked), generated first if missing, with ``+exp=data``'s
                       default seed (``DATASET_SEED``), never the run's own
``held_out_families``  the first n families of a split, topped up with fresh simulated ones
                       (``brightpath.datasets.held_out_families``)
``reward_model``       a ``RewardScorer``: the given directory or MLflow URI (``runs:/``,
                       ``models:/``), else the registry's champion ``<paths.model_dir>/reward``,
                       else one trained now, explicitly: the reward experiment run as a child
                       run of the caller's run, published and promoted
``generator``          a generator by name (expert, oracle, rf, gbr, mlp, ppo, ppo_mlp,
                       ppo_transformer), model directory or MLflow URI
``oracle``             the oracle's search on fixed families, computed once and cached under
                       ``<paths.cache_dir>/oracle/`` (key: the families, the search budget and
                       seed, the simulator and expert versions, the search's code)
``model_metadata``     what every saved model records (``kind`` and ``source`` are added by its
                       writer): ``model_version``, ``run_id``, ``run_name``, ``data_version``,
                       ``seed``, ``created_at``
=====================  ======================================================================

``weekly_reward_model`` is ``reward_model``'s counterpart for the multi-week task (``+exp=weeks``):
the history-aware ``WeeklyRewardScorer`` from ``weeks.reward_model_uri``, else the registry's
``weekly_reward``, else one trained now (``+exp=weekly_reward`` as a child run).

Every component that draws randomness seeds its own stream from the run's seed (data
generation, reward-model training, the networks, the environment, the oracle's search);
nothing here re-seeds a global generator.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import inspect
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from brightpath.generators import OracleGenerator
from experiments.schemas import RunConfig
from experiments.tracking import Tracker

log = logging.getLogger(__name__)

REWARD_MODEL = "reward"
"""Registry name of the reward model the environment and ``brightpath.inference`` read."""
DOWNLOADS_SUBDIR = "outputs/mlflow_downloads"
"""Under ``paths.root``: where models fetched from MLflow are downloaded."""
ORACLE_CACHE_SUBDIR = "oracle"
RUN_LOOKUP: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    "rf": ("imitation", {"imitation.name": "rf"}, ("model",)),
    "gbr": ("imitation", {"imitation.name": "gbr"}, ("model",)),
    "mlp": ("imitation", {"imitation.name": "mlp"}, ("model",)),
    "ppo_mlp": ("ppo", {"model.name": "mlp"}, ("generator",)),
    "ppo_transformer": ("ppo", {"model.name": "transformer"}, ("generator",)),
}
"""Generator name → (task, params, artifact folder) of the MLflow runs that train it; the latest
FINISHED one is used when no model directory is given."""


# --- data -------------------------------------------------------------------------------------

DATASET_SEED: int = RunConfig.seed
"""The seed a run other than ``+exp=data`` generates a missing dataset with: ``+exp=data``'s default
(``RunConfig.seed``), not the run's own, so runs with different seeds (a sweep) share one dataset
(the same reward-model data, the same held-out families) and no run's result depends on which
seed happened to create the dataset first."""


def generate_dataset(config: Any) -> dict[str, Any]:
    """Write the ``config.data`` dataset for ``config.seed`` under ``config.paths.data_dir``; return its card.

    Written once per version (``brightpath.datasets.generate_datasets``: parallel jobs wait for
    the first writer and get its dataset).

    Raises:
        experiments.config_check.ConfigError: the version exists there with other settings
            (another seed, other sizes), naming ``data.version``.
    """
    from brightpath.datasets import DatasetConflictError

    try:
        return _generate(config, seed=config.seed)
    except DatasetConflictError as err:
        raise _config_error(err) from None


def dataset(config: Any) -> Path:
    """``<paths.data_dir>``, holding the ``data`` config's dataset version.

    The version is used as found, whatever seed made it (its card records it), once its sizes
    and split fractions are checked against the ``data`` config; a missing one is generated
    first with ``DATASET_SEED``.

    Raises:
        experiments.config_check.ConfigError: the version on disk has other sizes or fractions
            than the ``data`` config, naming ``data.version``.
    """
    from brightpath.datasets import DatasetConflictError, read_card, require_settings

    root = Path(config.paths.data_dir)
    version = config.data.version
    wanted = _settings(config, seed=DATASET_SEED)
    del wanted["seed"]
    try:
        card = read_card(root, version)
        if card is None:
            log.info("no dataset %s under %s; generating it (as +exp=data seed=%d would)", version, root, DATASET_SEED)
            try:
                card = _generate(config, seed=DATASET_SEED)
            except DatasetConflictError:  # another process wrote this version meanwhile, with another seed
                card = read_card(root, version)
        require_settings(root, card, wanted)
    except DatasetConflictError as err:
        raise _config_error(err) from None
    return root


def _settings(config: Any, *, seed: int) -> dict[str, Any]:
    from brightpath.datasets import generator_settings

    data = config.data
    return generator_settings(
        n_families=data.n_families,
        schedules_per_family=data.schedules_per_family,
        val_fraction=data.val_fraction,
        test_fraction=data.test_fraction,
        seed=seed,
    )


def _generate(config: Any, *, seed: int) -> dict[str, Any]:
    from brightpath.datasets import generate_datasets

    data = config.data
    return generate_datasets(
        Path(config.paths.data_dir),
        n_families=data.n_families,
        schedules_per_family=data.schedules_per_family,
        val_fraction=data.val_fraction,
        test_fraction=data.test_fraction,
        seed=seed,
        version=data.version,
    )


def _config_error(err: Exception) -> Exception:
    from experiments.config_check import ConfigError

    return ConfigError(f"data.version: {err}")


def held_out_families(config: Any, n_families: int, *, split: str, seed: int):
    """``(families, info)``: ``brightpath.datasets.held_out_families`` of this run's dataset."""
    from brightpath.datasets import held_out_families as from_dataset

    return from_dataset(dataset(config), config.data.version, n_families, split=split, seed=seed)


def training_families(config: RunConfig):
    """The dataset's train split, for ``env.families=train``."""
    from brightpath.datasets import load_families

    return load_families(dataset(config), config.data.version, "train")


# --- models written by runs --------------------------------------------------------------------


def model_version(config: Any, tracker: Tracker) -> str:
    """The version string a run's models carry (``meta.model_version``): the MLflow run id."""
    return tracker.run_id or f"{config.run_name}-untracked"


def model_metadata(config: Any, tracker: Tracker, **extra: Any) -> dict[str, Any]:
    """The entries every saved model's ``brightpath_model.json`` records, plus ``extra``."""
    return {
        "model_version": model_version(config, tracker),
        "run_id": tracker.run_id,
        "run_name": config.run_name,
        "data_version": config.data.version if config.data is not None else None,
        "seed": config.seed,
        "created_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        **extra,
    }


def publish(config: Any, name: str, write_fn, metadata: dict[str, Any]) -> tuple[int, Path]:
    """Publish and promote a new version of registry model ``name`` under ``paths.model_dir``.

    Returns:
        ``(version, its directory)``.
    """
    from brightpath import registry

    model_dir = Path(config.paths.model_dir)
    version = registry.publish(model_dir, name, write_fn, metadata, promote=True)
    path = registry.version_path(model_dir, name, version)
    log.info("published %s version %d (%s)", name, version, path)
    return version, path


# --- the reward model ------------------------------------------------------------------------


def reward_model(config: RunConfig, tracker: Tracker, uri: str | None, *, train_if_missing: bool = True):
    """The reward model of this run as a ``RewardScorer`` (module docstring), or None.

    Args:
        uri: a model directory, ``runs:/...`` or ``models:/...``; None: the registry's champion.
        train_if_missing: with ``uri=None`` and no usable champion, train one now as a child
            run of ``tracker``'s run (the ``reward_model`` config, attention only); False: None.

    Raises:
        brightpath.errors.ModelLoadError: ``uri`` names no usable reward model.
    """
    from brightpath import registry
    from brightpath.errors import ModelLoadError
    from brightpath.reward.scoring import RewardScorer

    if uri is not None:
        return RewardScorer(_local_model(config, uri, prefer=("model",)))
    try:
        version, path = registry.resolve(Path(config.paths.model_dir), REWARD_MODEL)
        scorer = RewardScorer(path)
        log.info("reward model: %s (version %s)", path, version)
        return scorer
    except ModelLoadError as exc:
        if not train_if_missing:
            log.warning("no usable reward model (%s); proxy scores skipped (train one with +exp=reward)", exc)
            return None
        log.info("no usable reward model (%s); training one now as a child run", exc)
    return RewardScorer(train_reward_model(config, tracker))


def train_reward_model(config: RunConfig, tracker: Tracker) -> Path:
    """Run the reward experiment (``+exp=reward``) as a child run of ``tracker``'s run; return the
    promoted model's directory.

    The child's config is this run's with ``task=reward``, the ``reward_model`` group (the
    attention defaults when the run selects none) and no PPO, evaluation or imitation groups.
    """
    from brightpath import registry
    from brightpath.reward.models import AttentionConfig
    from experiments import tasks, tracking

    chosen = config.reward_model if config.reward_model is not None else AttentionConfig()
    if not isinstance(chosen, AttentionConfig):
        raise ValueError(
            f"reward_model={chosen.name}: only the attention reward model exports the SavedModel "
            f"the environment scores with; select reward_model=attention"
        )
    child = dataclasses.replace(
        config,
        task="reward",
        run_name=f"reward-{chosen.name}-s{config.seed}",
        resume=False,
        optimize_metric=None,
        reward_model=chosen,
        **{group: None for group in ("env", "model", "agent", "imitation", "eval", "results")},
    )
    with tracking.start_run(child, parent_run_id=tracker.run_id) as child_tracker:
        tasks.load("reward").run(child, child_tracker)
    return registry.resolve(Path(config.paths.model_dir), REWARD_MODEL)[1]


def weekly_reward_model(config: RunConfig, tracker: Tracker):
    """The history-aware reward model of a ``+exp=weeks`` run, as a ``WeeklyRewardScorer`` (the weeks
    environment's ``WeekScorer``): ``weeks.reward_model_uri`` (a directory, ``runs:/...`` or
    ``models:/...``), else the registry's champion ``<paths.model_dir>/weekly_reward``, else one trained
    now: the ``weekly_reward`` experiment as a child run of the caller's run, published and promoted.

    Raises:
        brightpath.errors.ModelLoadError: ``weeks.reward_model_uri`` names no usable weekly reward model.
    """
    from brightpath import registry
    from brightpath.errors import ModelLoadError
    from brightpath.reward.weekly_scoring import MODEL_KIND, WeeklyRewardScorer
    from experiments import tasks, tracking

    uri = config.weeks.reward_model_uri
    if uri is not None:
        return WeeklyRewardScorer(_local_model(config, uri, prefer=("model",)))
    model_dir = Path(config.paths.model_dir)
    try:
        version, path = registry.resolve(model_dir, MODEL_KIND)
        scorer = WeeklyRewardScorer(path)
        log.info("weekly reward model: %s (version %s)", path, version)
        return scorer
    except ModelLoadError as exc:
        log.info("no usable weekly reward model (%s); training one now as a child run", exc)
    child = dataclasses.replace(
        config,
        task="weekly_reward",
        run_name=f"weekly_reward-s{config.seed}",
        resume=False,
        optimize_metric=None,
        model=None,
        agent=None,
    )
    with tracking.start_run(child, parent_run_id=tracker.run_id) as child_tracker:
        tasks.load("weekly_reward").run(child, child_tracker)
    return WeeklyRewardScorer(registry.resolve(model_dir, MODEL_KIND)[1])


class TimedScorer:
    """A reward scorer that adds up the seconds spent inside ``score_layouts`` (``seconds``)."""

    def __init__(self, scorer: Any) -> None:
        self.scorer = scorer
        self.seconds = 0.0

    def score_layouts(self, *args: Any, **kwargs: Any):
        started = time.perf_counter()
        try:
            return self.scorer.score_layouts(*args, **kwargs)
        finally:
            self.seconds += time.perf_counter() - started


# --- generators and the oracle ---------------------------------------------------------------


def generator(config: Any, spec: str, families, *, seed: int, oracle_config, name: str | None = None):
    """A ``brightpath.generators.Generator`` for ``spec``.

    Args:
        spec: ``expert``; ``oracle`` (for ``families``, cached: ``oracle``); ``rf``, ``gbr``,
            ``mlp`` (``<paths.model_dir>/baselines/<name>``); ``ppo`` (the registry's champion
            generator); ``ppo_mlp``, ``ppo_transformer`` (the latest FINISHED PPO run of that
            model in MLflow); a model directory; ``runs:/...`` or ``models:/...``.
        families: the families it will plan for (the oracle needs their hidden traits).
        seed, oracle_config: the oracle's search seed and budget.
        name: row label; default the spec, or the model's source for a directory or URI.

    Raises:
        brightpath.errors.ModelLoadError: the model is missing or unusable (naming it).
    """
    from brightpath.errors import ModelLoadError
    from brightpath.generators import load_generator
    from experiments.tracking import models

    text = str(spec)
    if text == "oracle":
        return oracle_generator(config, families, seed=seed, oracle_config=oracle_config, name=name or "oracle")
    if text in ("ppo_mlp", "ppo_transformer"):
        found = latest_run_generator(config, text)
        if found is None:
            task, params, _ = RUN_LOOKUP[text]
            raise ModelLoadError(
                text,
                f"no FINISHED MLflow run of task {task!r} with {params} in experiment "
                f"{config.logger['experiment_name']!r} at {config.logger['tracking_uri']}",
            )
        return load_generator(found[1], name=name or text)
    if models.is_mlflow_uri(text):
        loaded = load_generator(_local_model(config, text, prefer=("generator", "model")), name=name)
        if name is None:
            loaded.name = f"{loaded.source}-{text.split(':/', 1)[1].strip('/').split('/')[0][:8]}"
        return loaded
    return load_generator(text, model_dir=config.paths.model_dir, name=name)


def latest_run_generator(config: Any, row: str) -> tuple[str, Path] | None:
    """``(run_id, local directory)`` of ``row``'s generator from its latest FINISHED MLflow run (``RUN_LOOKUP``)."""
    from experiments.tracking import models

    task, params, prefer = RUN_LOOKUP[row]
    return models.latest_run_model(config, task, params, Path(config.paths.root) / DOWNLOADS_SUBDIR, prefer=prefer)


def _local_model(config: Any, spec: str, *, prefer: tuple[str, ...]) -> Path:
    """A local directory for a model directory or an MLflow URI (downloaded first)."""
    from experiments.tracking import models

    if models.is_mlflow_uri(spec):
        return models.download_model(config, spec, Path(config.paths.root) / DOWNLOADS_SUBDIR, prefer=prefer)
    return Path(spec)


def oracle(config: Any, families, *, seed: int, oracle_config):
    """The oracle's search (``brightpath.oracle.oracle_search``) on ``families``, cached on disk.

    The families and the search are fixed across runs (the held-out families do not depend on
    the training seed), so the search runs once per key and later runs read its result from
    ``<paths.cache_dir>/oracle/<key>.npz``.

    Returns:
        ``(OracleResult, search_seconds)``: the search's own wall time, also for a cached result.
    """
    from brightpath.oracle import OracleResult, oracle_search

    path = Path(config.paths.cache_dir) / ORACLE_CACHE_SUBDIR / f"{_oracle_key(families, seed, oracle_config)}.npz"
    if path.is_file():
        with np.load(path) as cached:
            log.info("oracle: cached search %s", path)
            return OracleResult(params=cached["params"], satisfaction=cached["satisfaction"]), float(cached["seconds"])
    started = time.perf_counter()
    result = oracle_search(families, np.random.default_rng(seed), oracle_config)
    seconds = time.perf_counter() - started
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as handle:
        np.savez(handle, params=result.params, satisfaction=result.satisfaction, seconds=seconds)
    os.replace(handle.name, path)
    log.info("oracle: searched %d families in %.1f s; cached in %s", len(families), seconds, path)
    return result, seconds


def _oracle_key(families, seed: int, oracle_config) -> str:
    import brightpath.oracle
    from brightpath.expert import EXPERT_VERSION
    from brightpath.simulator import SIMULATOR_VERSION

    digest = hashlib.sha256()
    for f in dataclasses.fields(families):
        array = np.ascontiguousarray(getattr(families, f.name))
        digest.update(f"{f.name}:{array.dtype}:{array.shape}".encode())
        digest.update(array.tobytes())
    settings = {
        "seed": int(seed),
        "budget": dataclasses.asdict(oracle_config),
        "simulator": SIMULATOR_VERSION,
        "expert": EXPERT_VERSION,
        "search": hashlib.sha256(inspect.getsource(brightpath.oracle).encode()).hexdigest(),
    }
    digest.update(repr(sorted(settings.items())).encode())
    return digest.hexdigest()[:24]


def oracle_generator(config: Any, families, *, seed: int, oracle_config, name: str = "oracle") -> CachedOracleGenerator:
    """The oracle as a generator for ``families``, its search result from ``oracle`` (cached)."""
    result, seconds = oracle(config, families, seed=seed, oracle_config=oracle_config)
    return CachedOracleGenerator(families, result, seconds, seed=seed, oracle_config=oracle_config, name=name)


class CachedOracleGenerator(OracleGenerator):
    """``OracleGenerator`` that answers for exactly its families from a search already made.

    Any other batch (a subset, say) is searched afresh, as ``OracleGenerator`` does.

    Attributes:
        search_seconds: the search's own wall time: what planning for these families costs,
            reported as the oracle's inference time (``evaluate``).
    """

    def __init__(self, families, result, search_seconds: float, *, seed: int, oracle_config, name: str = "oracle"):
        super().__init__(families, seed=seed, name=name, **dataclasses.asdict(oracle_config))
        self.result = result
        self.search_seconds = float(search_seconds)

    def params(self, answers, child_age):
        if np.array_equal(answers, self.families.answers) and np.array_equal(child_age, self.families.child_age):
            return self.result.params.copy()
        return super().params(answers, child_age)


def evaluate(generator, families, *, scorer=None, min_coverage: float):
    """``brightpath.evaluation.evaluate_generator``, with a cached oracle billed its search time."""
    from brightpath.evaluation import evaluate_generator

    evaluation = evaluate_generator(generator, families, scorer=scorer, min_coverage=min_coverage)
    if isinstance(generator, CachedOracleGenerator):
        evaluation = dataclasses.replace(evaluation, seconds=generator.search_seconds)
    return evaluation
