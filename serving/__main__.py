"""``python -m serving``: the model service under uvicorn on ``BRIGHTPATH_SERVICE_HOST:BRIGHTPATH_SERVICE_PORT``
(default 127.0.0.1:8001). One process: the models are loaded in it once and served from memory."""

from __future__ import annotations

import logging
import sys

import uvicorn

from brightpath.console import quiet_third_party
from serving.app import create_app
from serving.settings import Settings, SettingsError


def main() -> int:
    quiet_third_party()  # TensorFlow's and MLflow's start-up lines mean nothing to an operator
    try:
        settings = Settings.from_env()
    except SettingsError as err:
        print(f"settings error: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,
        log_level=settings.log_level.lower(),
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
