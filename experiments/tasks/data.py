"""Task ``data``: generate the synthetic datasets and their data card (``+exp=data``).

Calls ``brightpath.datasets.generate_datasets`` with the ``data`` config group, writing
Parquet files under ``<paths.data_dir>/{raw,processed,synthetic}/<version>/`` and
``<paths.data_dir>/data_card_<version>.json``. Logs the card (as params and as an
artifact) and one ``data/rows_<table>`` metric per table; returns the row counts.
TensorFlow-free: it never imports TensorFlow, so it runs in seconds.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from experiments.tracking import Tracker

log = logging.getLogger(__name__)


def generate(cfg: DictConfig) -> dict[str, Any]:
    """Write the ``cfg.data`` datasets for ``cfg.seed`` under ``cfg.paths.data_dir``; return the data card."""
    from brightpath.datasets import generate_datasets

    return generate_datasets(
        Path(cfg.paths.data_dir),
        n_families=int(cfg.data.n_families),
        schedules_per_family=int(cfg.data.schedules_per_family),
        val_fraction=float(cfg.data.val_fraction),
        test_fraction=float(cfg.data.test_fraction),
        seed=int(cfg.seed),
        version=str(cfg.data.version),
    )


def ensure_dataset(cfg: DictConfig) -> Path:
    """``<paths.data_dir>``, after generating the ``data`` config's dataset there if it is missing.

    Training tasks call this so each works on a fresh clone; a missing dataset is
    generated exactly as ``+exp=data`` would with this run's ``seed``.
    """
    from brightpath.datasets import SPLITS

    root = Path(cfg.paths.data_dir)
    version = str(cfg.data.version)
    wanted = [root / "processed" / version / f"{split}.parquet" for split in SPLITS]
    wanted.append(root / "synthetic" / version / "truth.parquet")
    if not all(path.exists() for path in wanted):
        log.info("no dataset %s under %s; generating it (as +exp=data would)", version, root)
        generate(cfg)
    return root


def run(cfg: DictConfig, tracker: Tracker) -> dict[str, float]:
    """Generate the datasets for ``cfg.data`` and ``cfg.seed``; return ``{"data/rows_<table>": n}``."""
    card = generate(cfg)
    rows = {f"data/rows_{table}": float(count) for table, count in card["row_counts"].items()}
    tracker.log_params(_card_params(card))
    tracker.log_metrics(rows)
    tracker.log_dict(card, f"data/data_card_{cfg.data.version}.json")
    return rows


def _card_params(card: dict[str, Any]) -> dict[str, Any]:
    """The card as ``data_card.*`` params: scalars, row counts, generator settings, file paths.

    The summary statistics and column lists stay in the card artifact.
    """
    params: dict[str, Any] = {}

    def add(prefix: str, node: dict[str, Any]) -> None:
        for key, value in node.items():
            if isinstance(value, dict):
                add(f"{prefix}{key}.", value)
            elif not isinstance(value, (list, tuple)):
                params[f"{prefix}{key}"] = value

    add("data_card.", {k: v for k, v in card.items() if k != "summary"})
    return params
