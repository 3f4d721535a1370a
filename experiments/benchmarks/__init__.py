"""Speed and memory benchmarks, run on demand (never as timed assertions in the tests).

Each module here exposes ``run(quick: bool = False) -> dict[str, float]``. The runner
``python -m experiments.benchmarks [name ...] [--quick]`` calls them, writes each result
to ``reports/benchmarks/<name>.json`` (with the machine, the git commit and a timestamp)
and logs it to MLflow as a run of task ``benchmark``.
"""
