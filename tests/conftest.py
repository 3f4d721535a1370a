"""Shared test fixtures: a throwaway BRIGHTPATH_HOME with its own MLflow store, and an
in-process runner for ``experiments.train`` (the same code path as the CLI, minus argv).

Fixtures:
    tmp_home: a fresh directory that is ``BRIGHTPATH_HOME`` and the working directory,
        with an MLflow store at ``sqlite:///<tmp_home>/mlflow.db``.
    run_experiment: ``run_experiment(overrides, tmp_home) -> dict[str, float]`` composes
        ``configs/train.yaml`` with ``overrides`` and runs ``experiments.train.run``.
    compose_config: ``compose_config(config_name, overrides) -> DictConfig`` for ``tmp_home``.
    mlflow_store: ``MlflowStore`` of ``tmp_home``: its runs, metric histories and artifacts.
"""

from __future__ import annotations

import os

# Before anything can import TensorFlow or matplotlib.
os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

# Under pytest-xdist, the cores shared out between the workers: every worker's TensorFlow (and OpenMP) pool
# the size of the whole machine would make each worker's tiny training runs fight the others' for the
# same cores. Subprocesses the tests start inherit it; an explicit setting wins.
_WORKERS = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _WORKERS > 1:
    _THREADS = str(max(1, (os.cpu_count() or 1) // _WORKERS))
    for _variable in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(_variable, _THREADS)

import copy  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
from collections.abc import Callable, Sequence  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO_ROOT / "configs"


@pytest.fixture(autouse=True)
def _restore_logging():
    """Hydra's job logging (``dictConfig`` with ``disable_existing_loggers``) outlives the
    in-process runs that install it; put every logger back so later tests see their records."""
    import logging

    manager = logging.Logger.manager
    root_level = logging.root.level
    yield
    logging.root.setLevel(root_level)
    for logger in list(manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            logger.disabled = False


def tracking_uri(home: Path) -> str:
    """The MLflow store of a ``tmp_home``."""
    return f"sqlite:///{home}/mlflow.db"


@pytest.fixture(scope="session")
def _mlflow_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty MLflow SQLite store with its schema: creating one costs ~2.5 s, copying it ~1 ms."""
    from mlflow.tracking import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def tmp_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, _mlflow_db_template: Path) -> Path:
    """A fresh BRIGHTPATH_HOME, also the cwd, with MLflow tracking at ``sqlite:///<tmp>/mlflow.db``."""
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(_mlflow_db_template, home / "mlflow.db")
    monkeypatch.setenv("BRIGHTPATH_HOME", str(home))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_uri(home))
    monkeypatch.chdir(home)
    if "mlflow" in sys.modules:  # an earlier test may have pointed MLflow elsewhere
        sys.modules["mlflow"].set_tracking_uri(tracking_uri(home))
    return home


def _run_experiment(
    overrides: Sequence[str], tmp_home: Path, *, sweep_dir: Path | None = None, job_num: int = 0
) -> dict[str, float]:
    """Run ``experiments.train`` in-process, as ``python -m experiments.train <overrides>`` would.

    Always adds ``logger.tracking_uri=sqlite:///<tmp_home>/mlflow.db`` and
    ``paths.root=<tmp_home>``. With ``sweep_dir``, the job runs as job ``job_num`` of a
    multirun whose ``hydra.sweep.dir`` is ``sweep_dir``.

    Raises what the CLI would report: ``hydra.errors.ConfigCompositionException`` for
    unknown keys, ``experiments.config_check.ConfigError`` for wrong types or tasks.
    """
    from hydra import compose, initialize_config_dir
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import open_dict, read_write

    from experiments import train

    overrides = [*overrides, f"logger.tracking_uri={tracking_uri(tmp_home)}", f"paths.root={tmp_home}"]
    output_dir = tmp_home / "outputs" / "run"
    hydra_overrides = [f"hydra.run.dir={output_dir}"]
    if sweep_dir is not None:
        output_dir = sweep_dir / str(job_num)
        hydra_overrides = ["hydra.mode=MULTIRUN", f"hydra.sweep.dir={sweep_dir}", f"hydra.job.num={job_num}"]
    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3", job_name="train"):
        cfg = compose(config_name="train", overrides=[*overrides, *hydra_overrides], return_hydra_config=True)
        # What hydra.core.utils.run_job does before calling the task function.
        with read_write(cfg.hydra.runtime), open_dict(cfg.hydra.runtime):
            cfg.hydra.runtime.output_dir = str(output_dir)
        HydraConfig.instance().set_config(cfg)
        try:
            job_cfg = copy.deepcopy(cfg)
            with read_write(job_cfg), open_dict(job_cfg):
                del job_cfg["hydra"]
            return train.run(job_cfg)
        finally:
            HydraConfig.instance().cfg = None


@pytest.fixture
def run_experiment() -> Callable[..., dict[str, float]]:
    """``run_experiment(overrides, tmp_home, *, sweep_dir=None, job_num=0) -> final metrics``."""
    return _run_experiment


def _compose(config_name: str, overrides: Sequence[str], home: Path):
    """``configs/<config_name>.yaml`` composed with ``overrides`` (no ``hydra`` section), its files
    and MLflow store in ``home``."""
    from hydra import compose as hydra_compose
    from hydra import initialize_config_dir
    from omegaconf import open_dict

    import experiments.schemas  # noqa: F401  (registers the schemas the configs extend)

    with initialize_config_dir(config_dir=str(CONFIG_DIR), version_base="1.3"):
        cfg = hydra_compose(
            config_name=config_name,
            overrides=[*overrides, f"paths.root={home}", f"logger.tracking_uri={tracking_uri(home)}"],
        )
    with open_dict(cfg):
        cfg.pop("hydra", None)
    return cfg


@pytest.fixture
def compose_config(tmp_home: Path) -> Callable[..., object]:
    """``compose_config(config_name, overrides) -> DictConfig`` with ``tmp_home``'s paths and MLflow store."""
    return lambda config_name, overrides: _compose(config_name, overrides, tmp_home)


class MlflowStore:
    """The MLflow store of a ``tmp_home``, read back for assertions."""

    def __init__(self, home: Path) -> None:
        from mlflow.tracking import MlflowClient

        self.client = MlflowClient(tracking_uri=tracking_uri(home))

    def runs(self, filter_string: str = "") -> list:
        """Runs of experiment ``brightpath`` matching ``filter_string``, oldest first."""
        experiment = self.client.get_experiment_by_name("brightpath")
        if experiment is None:
            return []
        return self.client.search_runs(
            [experiment.experiment_id], filter_string=filter_string, order_by=["attributes.start_time ASC"]
        )

    def history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        """``(step, value)`` of every logged value of metric ``key``, by step."""
        return sorted((m.step, m.value) for m in self.client.get_metric_history(run_id, key))

    def artifacts(self, run_id: str, path: str = "") -> set[str]:
        """Paths of every artifact file of the run under ``path``."""
        found: set[str] = set()
        for item in self.client.list_artifacts(run_id, path or None):
            found |= self.artifacts(run_id, item.path) if item.is_dir else {item.path}
        return found


@pytest.fixture
def mlflow_store(tmp_home: Path) -> MlflowStore:
    """``MlflowStore`` of ``tmp_home``."""
    return MlflowStore(tmp_home)


# --- real services (Redis, PostgreSQL, an MLflow tracking server) ------------------------------

REQUIRE_SERVICES_ENV = "BRIGHTPATH_REQUIRE_SERVICES"
"""Set to 1 by ``.ci/run``: a service that cannot be started fails its tests instead of skipping them."""


@pytest.fixture(scope="session")
def _service_env(tmp_path_factory: pytest.TempPathFactory):
    """``get(name) -> url`` for ``scripts.services`` names: the URL exported by ``.ci/run`` (or the
    developer's shell), else a service this session starts and stops (by pid) itself."""
    from scripts import services

    state_dir = tmp_path_factory.mktemp("services")
    started: list[str] = []
    cache: dict[str, str] = {}

    def get(name: str) -> str:
        variable = services.ENV_VARS[name]
        if os.environ.get(variable):
            return os.environ[variable]
        if name not in cache:
            try:
                cache.update(services.start([name], state_dir))
            except services.ServiceError as err:
                if os.environ.get(REQUIRE_SERVICES_ENV) == "1":
                    pytest.fail(f"{name} is required ({REQUIRE_SERVICES_ENV}=1) but cannot start: {err}")
                pytest.skip(f"{name} not available here: {err}")
            started.append(name)
        return cache[variable]

    yield get
    if started:
        services.stop(state_dir)


@pytest.fixture(scope="session")
def redis_url(_service_env) -> str:
    """``redis://127.0.0.1:<port>/0`` of a real redis-server."""
    return _service_env("redis")


@pytest.fixture(scope="session")
def postgres_url(_service_env) -> str:
    """``postgresql+psycopg://brightpath@127.0.0.1:<port>/brightpath`` of a real PostgreSQL 15 cluster."""
    return _service_env("postgres")


@pytest.fixture(scope="session")
def mlflow_server_uri(_service_env) -> str:
    """``http://127.0.0.1:<port>`` of a real ``mlflow server`` backed by PostgreSQL, artifacts proxied."""
    return _service_env("mlflow")
