"""A run's config as MLflow params: resolved, flattened to dotted keys, plain JSON-able values.

Config groups an experiment does not use are ``None`` in the composed config
(``configs/train.yaml`` lists every group as ``null``); they are left out, so a ``+exp=data``
run logs no ``agent.*`` or ``model.*`` params.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from omegaconf import Container, DictConfig, ListConfig, OmegaConf

MAX_PARAM_VALUE_CHARS = 6000
"""MLflow rejects param values longer than this (mlflow.utils.validation.MAX_PARAM_VAL_LENGTH)."""
MAX_TAG_VALUE_CHARS = 8000
"""MLflow's limit for tag values (MAX_TAG_VAL_LENGTH)."""
TRUNCATED = "...[truncated]"


def resolved_config(config: Any) -> dict[str, Any]:
    """The config as plain Python values: interpolations resolved, the ``hydra`` section and
    unused (``None``) config groups left out.

    Args:
        config: a run's config dataclass (``experiments.schemas.RunConfig``) or a composed
            ``DictConfig``.
    """
    from experiments.schemas import GROUP_SCHEMAS

    if dataclasses.is_dataclass(config) and not isinstance(config, type):
        config = OmegaConf.structured(config)
    out: dict[str, Any] = {}
    for key in config:
        if key == "hydra":
            continue
        node = config._get_node(key)
        value = OmegaConf.to_container(config[key], resolve=True) if isinstance(node, Container) else config[key]
        if key in GROUP_SCHEMAS and not value:  # a config group the run does not use
            continue
        out[key] = value
    return out


def config_params(config: Any) -> dict[str, str]:
    """The resolved config flattened to MLflow params: ``{"data.n_families": "4000", ...}``."""
    return {key: param_text(value) for key, value in flatten(resolved_config(config)).items()}


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level of dotted keys (``{"a": {"b": 1}}`` → ``{"a.b": 1}``); empty
    mappings and other values are kept as they are."""
    if isinstance(mapping, DictConfig):
        mapping = OmegaConf.to_container(mapping, resolve=True)
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, DictConfig):
            value = OmegaConf.to_container(value, resolve=True)
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def param_text(value: Any) -> str:
    """A param value as MLflow stores it: strings as they are, anything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(plain(value), default=str)


def plain(obj: Any) -> Any:
    """Plain JSON/YAML-able Python values from configs, dataclasses, NumPy scalars and paths."""
    if isinstance(obj, (DictConfig, ListConfig)):
        return OmegaConf.to_container(obj, resolve=True)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return plain(dataclasses.asdict(obj))
    if isinstance(obj, Mapping):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if hasattr(obj, "item") and callable(obj.item) and getattr(obj, "ndim", 0) == 0:
        return obj.item()
    if hasattr(obj, "tolist") and callable(obj.tolist):
        return obj.tolist()
    return obj


def truncate(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, ending in ``TRUNCATED`` when cut."""
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED
