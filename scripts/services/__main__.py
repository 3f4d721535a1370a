"""``python -m scripts.services {start,stop,env} [service ...] [--state-dir DIR]`` (see the package docstring).

``start`` prints ``export NAME=value`` lines on stdout (for ``eval``) and, when it started the
MLflow server, how to point runs at it on stderr.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from scripts.services import ENV_VARS, SERVICES, ServiceError, environment, start, stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.services", description=__doc__)
    parser.add_argument("action", choices=("start", "stop", "env"))
    parser.add_argument(
        "services",
        nargs="*",
        choices=[*SERVICES, []],
        metavar="service",
        help=f"some of {', '.join(SERVICES)} (default: all)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=Path(".services"),
        help="where data, logs and pid files live (default: .services)",
    )
    parser.add_argument("--mlflow-port", type=int, default=None, help="port of the MLflow server (default: a free one)")
    parser.add_argument(
        "--mlflow-host",
        default="127.0.0.1",
        help="interface the MLflow server listens on (default: 127.0.0.1; "
        "0.0.0.0 to serve Ray workers on other machines)",
    )
    args = parser.parse_args(argv)
    names = args.services or list(SERVICES)
    try:
        if args.action == "start":
            env = start(names, args.state_dir, mlflow_port=args.mlflow_port, mlflow_host=args.mlflow_host)
        elif args.action == "env":
            env = environment(args.state_dir)
        else:
            stopped = stop(args.state_dir, None if not args.services else names)
            print(f"stopped: {', '.join(stopped) or 'nothing was running'}", file=sys.stderr)
            return 0
    except ServiceError as err:
        print(f"services: {err}", file=sys.stderr)
        return 1
    for key, value in env.items():
        print(f"export {key}={shlex.quote(value)}")
    sys.stdout.flush()  # the exports first, then the note on stderr
    mlflow_uri = env.get(ENV_VARS["mlflow"])
    if args.action == "start" and mlflow_uri:
        elsewhere = (
            " (other machines: this machine's address instead of 127.0.0.1)" if args.mlflow_host != "127.0.0.1" else ""
        )
        print(
            f"MLflow server (PostgreSQL backend, proxied artifacts) at {mlflow_uri}{elsewhere}.\n"
            f"Point runs at it:  export MLFLOW_TRACKING_URI={mlflow_uri}\n"
            f"Stop it:           python -m scripts.services stop --state-dir {shlex.quote(str(args.state_dir))}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
