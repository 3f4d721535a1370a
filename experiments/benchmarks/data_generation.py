"""Benchmark: generating 100,000 feedback rows (families, schedules, feedback, Parquet). Goal ≤ 30 s on 2 cores."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from brightpath.datasets import generate_datasets


def run(quick: bool = False) -> dict[str, float]:
    n_families, per_family = (1_000, 6) if quick else (16_667, 6)  # 100,002 rows at full size
    with tempfile.TemporaryDirectory() as root:
        started = time.perf_counter()
        card = generate_datasets(Path(root), n_families=n_families, schedules_per_family=per_family,
                                 val_fraction=0.15, test_fraction=0.15, seed=0, version="bench")
        seconds = time.perf_counter() - started
    rows = card["row_counts"]["schedules"]
    return {"data/rows": rows, "data/seconds": seconds, "data/rows_per_s": rows / seconds,
            "data/goal_seconds_per_100k": 30.0, "data/seconds_per_100k": seconds * 100_000 / rows}
