"""The benchmark runner writes a result file per benchmark (quick sizes; speed itself is not asserted)."""

import json

from experiments.benchmarks.__main__ import available, main


def test_runner_lists_and_writes_results(tmp_path):
    assert {"data_generation", "expert_oracle"} <= set(available())
    assert main(["data_generation", "expert_oracle", "--quick", "--no-mlflow", "--out", str(tmp_path)]) == 0
    record = json.loads((tmp_path / "data_generation_quick.json").read_text())
    assert record["metrics"]["data/rows"] == 6000 and record["metrics"]["data/seconds"] > 0
    ratio = json.loads((tmp_path / "expert_oracle_quick.json").read_text())["metrics"]["truth/expert_to_oracle"]
    assert 0 < ratio <= 0.9
