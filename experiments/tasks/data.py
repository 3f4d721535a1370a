"""Task ``data``: generate the synthetic datasets and their data card (``+exp=data``).

Writes Parquet files under ``<paths.data_dir>/{raw,processed,synthetic}/<version>/`` and
``<paths.data_dir>/data_card_<version>.json`` (``experiments.artifacts.generate_dataset``:
``brightpath.datasets.generate_datasets`` with the ``data`` config and the run's seed). Logs
the card (as params and as an artifact) and one ``data/rows_<table>`` metric per table;
returns the row counts. TensorFlow-free: it never imports TensorFlow, so it runs in seconds.
"""

from __future__ import annotations

import logging
from typing import Any

from experiments import artifacts
from experiments.schemas import RunConfig
from experiments.tracking import Tracker

log = logging.getLogger(__name__)

CONFIG_GROUPS = ("data",)


def run(config: RunConfig, tracker: Tracker) -> dict[str, float]:
    """Generate the datasets for ``config.data`` and ``config.seed``; return ``{"data/rows_<table>": n}``."""
    card = artifacts.generate_dataset(config)
    rows = {f"data/rows_{table}": float(count) for table, count in card["row_counts"].items()}
    tracker.log_params(_card_params(card))
    tracker.log_metrics(rows)
    tracker.log_dict(card, f"data/data_card_{config.data.version}.json")
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
