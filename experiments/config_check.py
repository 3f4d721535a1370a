"""Turn a composed config into its typed objects, checking what OmegaConf cannot, before any work.

OmegaConf already checks keys and types while Hydra composes (the schemas of
``experiments.schemas``): ``data.n_familys=3`` and ``seed=abc`` fail there, naming the key.
What is left, in ``load_run`` (and ``load`` for other primary configs):

* mandatory values (``???``) and interpolations that do not resolve;
* value ranges: each dataclass's ``__post_init__``, reported with the full dotted key
  (``agent.learning_rate: expected > 0, got -1``), nested ones included (``eval.oracle.n_random``);
* ``task`` names a module in ``experiments/tasks/``, and the groups that task reads are selected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from brightpath.errors import ValidationError
from experiments import schemas, tasks

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"


class ConfigError(ValueError):
    """The composed config cannot run; the message names the offending key."""


def load(cfg: DictConfig) -> Any:
    """The config's dataclass object (e.g. ``schemas.ABTestConfig``), every value checked.

    Raises:
        ConfigError: a missing mandatory value, an interpolation that does not resolve, or a
            value out of range, naming its dotted key.
    """
    try:
        missing = sorted(OmegaConf.missing_keys(cfg))
    except OmegaConfBaseException as err:  # an interpolation to a missing value
        raise ConfigError(f"{err.full_key or 'config'}: cannot resolve: {err.msg}") from None
    if missing:
        raise ConfigError("missing mandatory value" + ("s" if len(missing) > 1 else "") + ": " + ", ".join(missing))
    try:
        OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as err:
        raise ConfigError(f"{err.full_key or 'config'}: cannot resolve: {err.msg}") from None
    _check_nodes(cfg, "")
    return _to_object(cfg, "")


def load_run(cfg: DictConfig) -> schemas.RunConfig:
    """``load`` for ``configs/train.yaml``, plus the task's checks (module docstring).

    Raises:
        ConfigError: naming the offending key.
    """
    if OmegaConf.is_missing(cfg, "task"):
        experiments = sorted(path.stem for path in (CONFIG_DIR / "exp").glob("*.yaml"))
        raise ConfigError(f"task: missing; choose an experiment with +exp=<name> ({', '.join(experiments)})")
    names = tasks.available()
    if cfg.task not in names:
        raise ConfigError(f"task: unknown task {cfg.task!r}; available tasks: {', '.join(names) or '(none)'}")
    config = load(cfg)
    task = tasks.load(config.task)
    needed = [group for group in getattr(task, "CONFIG_GROUPS", ()) if getattr(config, group) is None]
    if needed:
        raise ConfigError(
            f"task {config.task!r} reads the config group{'s' if len(needed) > 1 else ''} "
            f"{', '.join(needed)}, which this run does not select; use +exp={config.task} "
            f"or select {' '.join(f'{g}=<option>' for g in needed)}"
        )
    if callable(getattr(task, "check", None)):
        try:
            task.check(config)
        except ValueError as err:
            raise ConfigError(str(err)) from None
    return config


def _check_nodes(node: DictConfig, path: str) -> None:
    """Instantiate every structured node depth-first, so a bad value deep inside is named by its full key."""
    for key in node:
        child = node[key]
        if isinstance(child, DictConfig):
            _check_nodes(child, f"{path}{key}.")
    if path and OmegaConf.get_type(node) not in (dict, None):
        _to_object(node, path)


def _to_object(node: DictConfig, path: str) -> Any:
    """The node's object. A schema of a config group names its keys with the group
    (``agent.learning_rate``); a nested one (``OracleConfig``) names the field alone, and gets
    the node's path (``eval.oracle.n_random``)."""
    try:
        return OmegaConf.to_object(node)
    except ValidationError as err:
        key = err.field if err.field.startswith(path.split(".")[0] + ".") else path + err.field
        raise ConfigError(f"{key}: expected {err.expected}, got {err.value!r}") from None
