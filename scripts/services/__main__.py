"""``python -m scripts.services {start,stop,env} [service ...] [--state-dir DIR]`` (see the package docstring)."""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from scripts.services import SERVICES, ServiceError, environment, start, stop


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.services", description=__doc__)
    parser.add_argument("action", choices=("start", "stop", "env"))
    parser.add_argument("services", nargs="*", choices=[*SERVICES, []], metavar="service",
                        help=f"some of {', '.join(SERVICES)} (default: all)")
    parser.add_argument("--state-dir", type=Path, default=Path(".services"),
                        help="where data, logs and pid files live (default: .services)")
    args = parser.parse_args(argv)
    names = args.services or list(SERVICES)
    try:
        if args.action == "start":
            env = start(names, args.state_dir)
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
    return 0


if __name__ == "__main__":
    sys.exit(main())
