"""``python -m experiments.benchmarks [name ...] [--quick] [--no-mlflow]``: run benchmarks, save and log results."""

from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import pkgutil
import platform
import sys
from pathlib import Path

import brightpath  # noqa: F401  (sets TF_USE_LEGACY_KERAS before any benchmark imports TF)
import experiments.benchmarks as package
from experiments.tracking import git_state


def available() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__) if not m.name.startswith("_"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {available()})")
    parser.add_argument("--quick", action="store_true", help="small sizes, for smoke-testing the benchmark itself")
    parser.add_argument("--out", default=os.path.join(os.environ.get("BRIGHTPATH_HOME", "."), "reports", "benchmarks"))
    parser.add_argument("--no-mlflow", action="store_true", help="write the JSON files only")
    parser.add_argument(
        "--tracking-uri",
        default=os.environ.get("MLFLOW_TRACKING_URI", "sqlite:///mlflow.db"),
        help="MLflow store for the results (default: $MLFLOW_TRACKING_URI, else sqlite:///mlflow.db)",
    )
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(available()))
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; available: {available()}")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    git = git_state()
    for name in args.names or available():
        module = importlib.import_module(f"experiments.benchmarks.{name}")
        print(f"benchmark {name} …", flush=True)
        metrics = {k: float(v) for k, v in module.run(quick=args.quick).items()}
        record = {
            "benchmark": name,
            "quick": args.quick,
            "metrics": metrics,
            "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0]},
            "git": git,
            "timestamp": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        }
        path = out / f"{name}{'_quick' if args.quick else ''}.json"
        path.write_text(json.dumps(record, indent=2, sort_keys=True))
        for key, value in metrics.items():
            print(f"  {key:40s} {value:,.3f}")
        if not args.no_mlflow:
            import mlflow

            mlflow.set_tracking_uri(args.tracking_uri)
            mlflow.set_experiment("brightpath-benchmarks")
            with mlflow.start_run(run_name=f"bench-{name}{'-quick' if args.quick else ''}"):
                mlflow.set_tags({"task": "benchmark", "benchmark": name, **git})
                mlflow.log_metrics(metrics)
                mlflow.log_artifact(str(path))
        print(f"  -> {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
