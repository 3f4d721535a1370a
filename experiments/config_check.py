"""Fail-fast checks on a composed config, run before any work starts.

Hydra already rejects unknown keys (the composed config is in struct mode: ``foo=1``
fails with "Key 'foo' is not in struct"; adding a key needs an explicit ``+foo=1``).
Hydra does not check types: ``seed=abc`` would compose and fail minutes later, deep in a
task. ``validate`` closes that gap generically: it composes the reference config from the
same config-group choices (``+exp=ppo``, ``model=transformer``) without the value
overrides, and checks that each value override keeps its default's type.

Type rules: an int is fine where a float is expected; a None default accepts anything;
bools, lists and dicts must stay bools, lists and dicts; nothing else converts.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from brightpath.reproducibility import MAX_SEED
from experiments import tasks

log = logging.getLogger(__name__)

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs"
_ABSENT = object()


class ConfigError(ValueError):
    """The composed config cannot run; the message names each offending key."""


def validate(cfg: DictConfig, overrides: Sequence[str] | None = None, *, config_name: str | None = None) -> None:
    """Check ``cfg`` before a run starts; raise ``ConfigError`` naming every problem.

    Args:
        cfg: the composed config (without the ``hydra`` section).
        overrides: the command-line overrides (``["+exp=ppo", "seed=3"]``); default: the
            current Hydra job's (``hydra.overrides.task``), or none outside a Hydra job.
        config_name: primary config to compose the reference from; default: the current
            Hydra job's, else ``"train"``.

    Checks, in order: struct mode is on, no mandatory value is missing, every
    interpolation resolves, value overrides keep their default's type, ``seed`` is in
    [0, 2**32 - 1], ``task`` names a module in ``experiments/tasks/``.
    """
    hydra_cfg = _hydra_config()
    if overrides is None:
        overrides = job_overrides()
    if config_name is None:
        config_name = (hydra_cfg.job.config_name if hydra_cfg is not None else None) or "train"

    if not OmegaConf.is_struct(cfg):
        raise ConfigError("the config is not in struct mode, so misspelt keys would pass silently")
    missing = sorted(OmegaConf.missing_keys(cfg))
    if missing:
        raise ConfigError("missing mandatory values (???): " + ", ".join(missing))
    try:
        OmegaConf.to_container(cfg, resolve=True)
    except OmegaConfBaseException as err:
        raise ConfigError(f"{err.full_key or 'config'}: cannot resolve: {err.msg}") from None

    problems = override_type_errors(cfg, overrides, config_name=config_name)
    if problems:
        raise ConfigError("invalid override" + ("s" if len(problems) > 1 else "") + ":\n  " + "\n  ".join(problems))

    seed = cfg.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"seed: expected an integer in [0, {MAX_SEED}], got {seed!r}")

    names = tasks.available()
    if cfg.task not in names:
        raise ConfigError(f"task: unknown task {cfg.task!r}; available tasks: {', '.join(names) or '(none)'}")


def override_type_errors(cfg: DictConfig, overrides: Sequence[str], *, config_name: str = "train") -> list[str]:
    """One message per value override whose type differs from its default's.

    E.g. ``["seed: expected int, got 'abc' (from seed=abc)"]``. Config-group selections,
    ``hydra.*`` overrides, deletions (``~key``) and new keys (``+key=...``) are not checked.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType

    parsed = OverridesParser.create().parse_overrides(list(overrides))
    is_group = _group_test()
    group_choices = [o.input_line for o in parsed if is_group(o)]
    checked = [
        o for o in parsed
        if not is_group(o)
        and not o.is_hydra_override()
        and o.type in (OverrideType.CHANGE, OverrideType.FORCE_ADD)
    ]
    if not checked:
        return []
    try:
        reference = _compose(config_name, group_choices)
    except Exception as err:  # e.g. a defaults list that interpolates a value override
        log.warning("override types not checked: the reference config does not compose (%s)", err)
        return []

    problems = []
    for override in checked:
        key = override.key_or_group
        expected = _select(reference, key)
        if expected is _ABSENT or expected is None:
            continue
        try:
            got = _select(cfg, key)
        except OmegaConfBaseException as err:
            problems.append(f"{key}: cannot resolve {override.input_line!r}: {err.msg}")
            continue
        if got is _ABSENT or _same_kind(expected, got):
            continue
        message = f"{key}: expected {_kind(expected)}, got {_show(got)} (from {override.input_line})"
        if isinstance(expected, str) and isinstance(got, (int, float, bool)) and "${" not in override.input_line:
            message += f"; quote it to pass a string: {key}=\"'{got}'\""
        problems.append(message)
    return problems


def _same_kind(expected: Any, got: Any) -> bool:
    if isinstance(expected, bool):
        return isinstance(got, bool)
    if isinstance(expected, int):
        return isinstance(got, int) and not isinstance(got, bool)
    if isinstance(expected, float):
        return isinstance(got, (int, float)) and not isinstance(got, bool)
    if isinstance(expected, str):
        return isinstance(got, str)
    if isinstance(expected, (list, tuple, ListConfig)):
        return isinstance(got, (list, tuple, ListConfig))
    if isinstance(expected, (Mapping, DictConfig)):
        return isinstance(got, (Mapping, DictConfig))
    return isinstance(got, type(expected))


def _kind(value: Any) -> str:
    if isinstance(value, (list, tuple, ListConfig)):
        return "list"
    if isinstance(value, (Mapping, DictConfig)):
        return "dict"
    return type(value).__name__


def _show(value: Any) -> str:
    if isinstance(value, (DictConfig, ListConfig)):
        value = OmegaConf.to_container(value, resolve=True)
    return repr(value)


def _select(cfg: DictConfig, key: str) -> Any:
    """The resolved value at dotted ``key``, ``_ABSENT`` if the key is not there or is ``???``.

    Resolution errors propagate (the caller decides whether they matter).
    """
    value = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False)
    if value is not _ABSENT and value is None:
        parent_key, _, leaf = key.rpartition(".")
        parent = OmegaConf.select(cfg, parent_key, default=None) if parent_key else cfg
        if isinstance(parent, DictConfig) and leaf in parent and OmegaConf.is_missing(parent, leaf):
            return _ABSENT
    return value


def job_overrides() -> list[str]:
    """The current Hydra job's command-line overrides as typed (``[]`` outside a Hydra job).

    Read unresolved: ``hydra.overrides.task`` is a config node, so an override such as
    ``data.n_families=${seed}`` would otherwise come back with ``${seed}`` substituted.
    """
    hydra_cfg = _hydra_config()
    if hydra_cfg is None:
        return []
    return [str(o) for o in OmegaConf.to_container(hydra_cfg.overrides.task, resolve=False)]


def _hydra_config() -> Any:
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get() if HydraConfig.initialized() else None


def _group_test():
    """A predicate: is this override a config-group selection (``model=mlp``, ``+exp=ppo``)?"""
    from hydra.core.global_hydra import GlobalHydra

    known: dict[str, list[str]] = {}

    def groups(parent: str) -> list[str]:
        if parent not in known:
            if GlobalHydra.instance().is_initialized():
                known[parent] = list(GlobalHydra.instance().config_loader().list_groups(parent))
            else:
                known[parent] = [p.name for p in (CONFIG_DIR / parent).iterdir() if p.is_dir()] \
                    if (CONFIG_DIR / parent).is_dir() else []
        return known[parent]

    def is_group(override: Any) -> bool:
        key = override.key_or_group
        if override.package is not None:
            return True
        parent, _, name = key.rpartition("/")
        return name in groups(parent)

    return is_group


def _compose(config_name: str, overrides: list[str]) -> DictConfig:
    """Compose ``config_name`` with ``overrides`` inside the running Hydra app, or standalone."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        return compose(config_name=config_name, overrides=overrides)
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        return compose(config_name=config_name, overrides=overrides)
