"""Benchmark: generating 100,000 feedback rows (families, schedules, feedback, Parquet). Goal ≤ 30 s on 2 cores."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from brightpath.datasets import generate_datasets
from experiments.schemas import DatasetConfig


def run(quick: bool = False) -> dict[str, float]:
    data = DatasetConfig()  # the default dataset's splits and schedules per family, more families
    n_families = 1_000 if quick else 16_667  # 100,002 rows at full size
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        card = generate_datasets(
            Path(root),
            n_families=n_families,
            schedules_per_family=data.schedules_per_family,
            val_fraction=data.val_fraction,
            test_fraction=data.test_fraction,
            seed=0,
            version="bench",
        )
        seconds = time.perf_counter() - started
    rows = card["row_counts"]["schedules"]
    return {
        "data/rows": rows,
        "data/seconds": seconds,
        "data/rows_per_s": rows / seconds,
        "data/goal_seconds_per_100k": 30.0,
        "data/seconds_per_100k": seconds * 100_000 / rows,
    }
