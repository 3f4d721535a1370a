"""Console hygiene: silence the known noise of third-party libraries, and recognise third-party noise in output.

Console output is for people: our progress bars and one-line summaries, and any warning
that means something. TensorFlow, TF-Agents, gym and MLflow print pages of lines on a
first run that mean nothing to a user of this project; ``quiet_third_party()`` silences
exactly those, each by its source and its text (never a blanket ``ignore``), so a new or
unexpected warning from the same libraries still shows:

* TensorFlow's C++ runtime: ``I0000 … port.cc] oneDNN custom operations are on``, ``cudart_stub …
  Could not find cuda drivers``, ``cpu_feature_guard …``, ``failed call to cuInit`` (a CPU-only
  machine) and ``WARNING: All log messages before absl::InitializeLog() …``. Silenced by
  ``TF_CPP_MIN_LOG_LEVEL=3`` (unless already set) and, for the lines written while the native
  library loads (before that level applies), by dropping those matching ``NATIVE_NOISE`` (any
  other line passes through).
* the ``absl`` logger's WARNING "``0/step_type`` is not a valid tf.function parameter name" (policy
  export) and INFO "Function ``serve`` contains input name(s) … with unsupported characters which
  will be renamed to …" (SavedModel export), and TF-Agents' ``Checkpointer`` INFO "Checkpoint
  available: …", "No checkpoint available at …", "Saved checkpoint: …": a filter on that logger.
* the ``tensorflow`` logger's INFO "Assets written to: …" on every SavedModel export: a filter on
  that logger.
* TensorFlow's ``UserWarning`` "Encoding a StructuredValue with type …" (policy export): a
  warnings filter on its module and message.
* TF-Agents' ``SyntaxWarning`` ``"is" with a literal``, printed whenever its ``.pyc`` is compiled:
  a warnings filter on its files and message (``scripts/bootstrap.sh`` also pre-compiles it).
* gym's "Gym has been unmaintained since 2022 …" notice (3 lines; TF-Agents imports gym): the
  notice is dropped from ``gym_notices`` before gym loads.
* MLflow's INFO "Creating initial MLflow database tables…" and "Updating database tables" (a new
  ``mlflow.db``), and "Experiment with name '…' does not exist. Creating a new experiment.":
  filters on the ``mlflow.store.db.utils`` and ``mlflow.tracking.fluent`` loggers.
* MLflow's "🏃 View run … at: …" / "🧪 View experiment at: …" lines, printed whenever a run ends on a
  tracking server: ``MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT=true`` (unless already set).
* Hydra's ``UserWarning`` "'hydra/launcher/ray' is validated against ConfigStore schema with the same
  name": ``configs/hydra/launcher/ray.yaml`` extends hydra-ray-launcher's schema of that name on
  purpose (so ``hydra/launcher=ray`` always means the project's settings); a filter on its message.
* Ray's log deduplication, which merges different sweep jobs' summary lines so some never show:
  ``RAY_DEDUP_LOGS=0`` (read when Ray is imported; unless already set).

Level 3 also hides TensorFlow's C++ ERROR lines (on a CPU-only machine the only one is the
cuInit failure); errors that matter reach Python as exceptions. ``TF_CPP_MIN_LOG_LEVEL=0`` in
the environment brings every C++ line back for debugging. ``third_party_noise(text)`` finds the
lines of output that come from a third party (the benchmark ``experiments/benchmarks/first_run.py``
and the tests count them). This module imports only the standard library.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import importlib.machinery
import logging
import os
import re
import sys
import tempfile
import warnings
from collections.abc import Iterator

OUR_PACKAGES: tuple[str, ...] = (
    "brightpath",
    "envs",
    "agents",
    "experiments",
    "serving",
    "scripts",
    "examples",
    "tests",
    "__main__",
)
"""Top-level packages (and logger names) of this repository: their output is ours, not noise."""

NATIVE_NOISE: tuple[str, ...] = (
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR$",
    r"^[IWE]\d{4} [\d:. ]+\d+ port\.cc:\d+\] oneDNN custom operations are on",
    r"^[IWE]\d{4} [\d:. ]+\d+ cudart_stub\.cc:\d+\] Could not find cuda drivers",
)
"""Lines TensorFlow's native libraries write to stderr while they load, before its log level applies."""

_LOGGER_NOISE: dict[str, tuple[str, ...]] = {
    "absl": (
        r"is not a valid tf\.function parameter name\. Sanitizing to",  # WARNING, exporting the policy
        r"contains input name\(s\) .* with unsupported characters which will be renamed to",  # INFO, SavedModels
        r"^(Checkpoint available: |No checkpoint available at |Saved checkpoint: )",  # INFO, TF-Agents' Checkpointer
        r"^Sharding callback duration: ",  # INFO, TensorFlow's checkpoint writer (once per save in sweeps' jobs)
    ),
    "tensorflow": (r"^Assets written to: ",),
    "mlflow.store.db.utils": (r"^(Creating initial MLflow database tables|Updating database tables)",),
    "mlflow.tracking.fluent": (r"^Experiment with name '.*' does not exist\. Creating a new experiment\.$",),
}
"""Logger name → the messages of it that are noise (regular expressions, ``re.search``)."""

_GYM_NOTICE = "Gym has been unmaintained since 2022"
_NATIVE = re.compile("|".join(NATIVE_NOISE))
_quieted = False


def quiet_third_party() -> None:
    """Silence the known third-party noise (module docstring); call first thing in an entry point.

    Idempotent. Must run before TensorFlow is imported for its C++ lines and before
    TF-Agents/gym are imported for their warnings and notice; the logging filters also
    work when those libraries are already loaded.
    """
    global _quieted
    if _quieted:
        return
    _quieted = True
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")
    warnings.filterwarnings(
        "ignore",
        message=r"\s*'hydra/launcher/ray' is validated against ConfigStore schema with the same name",
        category=UserWarning,
    )
    warnings.filterwarnings(
        "ignore", message=r'"is( not)?" with a literal', category=SyntaxWarning, module=r".*[\\/]tf_agents[\\/]"
    )  # compile-time warnings name the file as module
    warnings.filterwarnings(
        "ignore",
        message="Encoding a StructuredValue with type",
        category=UserWarning,
        module=r"tensorflow\.python\.saved_model\.nested_structure_coder",
    )
    _drop_gym_notice()
    _filter_loggers()  # absl's waits for absl.logging, which TensorFlow imports: again after that import
    if "tensorflow" not in sys.modules:
        sys.meta_path.insert(0, _QuietTensorFlowImport())


class _DropMatching(logging.Filter):
    """Drops the records of one logger whose message matches a pattern."""

    def __init__(self, pattern: str) -> None:
        super().__init__()
        self.pattern = re.compile(pattern)

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.search(record.getMessage())


def _filter_loggers() -> None:
    """Attach ``_LOGGER_NOISE``'s filters. ``absl`` only once ``absl.logging`` has made its own logger
    class for it (asking for the ``absl`` logger earlier would give absl a plain one)."""
    for name, patterns in _LOGGER_NOISE.items():
        if name == "absl" and "absl.logging" not in sys.modules:
            continue
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DropMatching) for f in logger.filters):
            logger.addFilter(_DropMatching("|".join(f"(?:{pattern})" for pattern in patterns)))


def _drop_gym_notice() -> None:
    """gym prints a notice for its version from ``gym_notices`` on import; drop the unmaintained one."""
    if "gym" in sys.modules:
        return
    try:
        from gym_notices import notices
    except ImportError:
        return
    notices.notices = {version: text for version, text in notices.notices.items() if _GYM_NOTICE not in text}


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Imports ``tensorflow`` (the first time only) with its native stderr lines filtered by ``NATIVE_NOISE``."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        spec.loader = _QuietLoader(spec.loader, self)
        return spec


class _QuietLoader(importlib.abc.Loader):
    def __init__(self, loader: importlib.abc.Loader, finder: _QuietTensorFlowImport) -> None:
        self.loader = loader
        self.finder = finder

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module) -> None:
        with contextlib.suppress(ValueError):
            sys.meta_path.remove(self.finder)
        with _native_stderr_filtered():
            self.loader.exec_module(module)
        _filter_loggers()

    def __getattr__(self, name):  # get_resource_reader, is_package, …: the real loader's
        return getattr(self.loader, name)


@contextlib.contextmanager
def _native_stderr_filtered() -> Iterator[None]:
    """Capture file descriptor 2 (what C++ code writes) and write back every line that is not
    ``NATIVE_NOISE``, in order, when the block ends. Without a real descriptor 2, runs the block as is."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    with tempfile.TemporaryFile() as captured:
        os.dup2(captured.fileno(), 2)
        try:
            yield
        finally:
            with contextlib.suppress(OSError, ValueError):
                sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            kept = [
                line
                for line in captured.read().decode("utf-8", "replace").splitlines(keepends=True)
                if not _NATIVE.search(line.rstrip("\n"))
            ]
            if kept:
                sys.stderr.write("".join(kept))
                sys.stderr.flush()


# Shapes of third-party output, for counting it (third_party_noise).
_PY_WARNING = re.compile(r"^(?P<path>\S.*?\.py):\d+: (?P<category>\w*Warning): ")
_HYDRA_LOG = re.compile(r"^\[[^\]]+\]\[(?P<logger>[^\]]+)\]\[(?P<level>[A-Z]+)\] - ")
_MLFLOW_LOG = re.compile(r"^\d{4}/\d\d/\d\d \d\d:\d\d:\d\d (?P<level>[A-Z]+) (?P<logger>[\w.]+): ")
_PLAIN_LOG = re.compile(r"^(?P<level>DEBUG|INFO|WARNING|ERROR|CRITICAL):(?P<logger>[\w.]+):")
_NATIVE_LOG = re.compile(r"^[IWEF]\d{4} [\d:.]+ +\d+ [\w.]+:\d+\] |^WARNING: All log messages before absl")
_NOTICES = re.compile(
    r"^(Gym has been unmaintained|Please upgrade to Gymnasium|See the migration guide at "
    r"https://gymnasium|To enable the following instructions: )"
)


def _ours(logger: str) -> bool:
    return logger.split(".")[0] in OUR_PACKAGES


def third_party_noise(text: str, repo_root: str | os.PathLike | None = None) -> list[str]:
    """The lines of console output that come from third-party libraries, not from this project.

    Counted: Python warnings raised in files outside ``repo_root`` (the warning line and the
    source line printed under it), log records of loggers outside ``OUR_PACKAGES`` (Hydra's,
    MLflow's and logging's default formats), TensorFlow/absl native log lines and the known
    notices (gym, CPU instructions). Our own loggers, progress bars and summaries are not.
    Carriage-return-separated progress-bar updates count as one line each.
    """
    root = None if repo_root is None else os.path.realpath(repo_root)
    lines = re.split(r"\r\n|\r|\n", text)
    noise: list[str] = []
    previous_was_warning = False
    for line in lines:
        warning = _PY_WARNING.match(line)
        if warning:
            path = os.path.realpath(warning["path"])
            third = root is None or not path.startswith(root + os.sep) or f"{os.sep}site-packages{os.sep}" in path
            if third:
                noise.append(line)
            previous_was_warning = third
            continue
        if previous_was_warning and line.startswith("  "):
            noise.append(line)  # the source line Python prints under a warning
            previous_was_warning = False
            continue
        previous_was_warning = False
        record = _HYDRA_LOG.match(line) or _MLFLOW_LOG.match(line) or _PLAIN_LOG.match(line)
        if (record and not _ours(record["logger"])) or _NATIVE_LOG.match(line) or _NOTICES.match(line):
            noise.append(line)
    return noise


__all__ = ["NATIVE_NOISE", "OUR_PACKAGES", "quiet_third_party", "third_party_noise"]
