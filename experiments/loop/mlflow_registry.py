"""The MLflow side of the loop's models: logged as pyfunc models, registered, aliased and tagged.

Each round's run logs its generator and reward model as MLflow models (``mlflow.pyfunc``
wrappers around their SavedModels, ``pyfunc_generator.py`` / ``pyfunc_reward.py``, so the run
page's model column lists them and ``mlflow.pyfunc.load_model("models:/<name>@champion")`` loads
them) with the store tables they learned from as the run's dataset inputs (``mlflow.data``).
Both are registered in the Model Registry (``loop.generator_model``, ``loop.reward_model``) as new
versions tagged with their lineage (loop run, round, registry version, data); the alias
``challenger`` points at the round's versions, ``champion`` at the promoted ones, and the gate's
verdict is a version tag (``gate_verdict``, the verdict's JSON; ``gate_decision``). A rejected
challenger stays registered, tagged ``gate_decision=reject``.

Registration is idempotent: a version tagged with the round's ``LOOP_KEY_TAG`` is found and
reused, so a resumed round registers nothing twice.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger(__name__)

LOOP_KEY_TAG = "brightpath.loop_key"
"""Version tag: ``<loop run name>/round-<r>``, what makes registration idempotent."""
CHAMPION, CHALLENGER = "champion", "challenger"
PYFUNC_FILES = {"generator": "pyfunc_generator.py", "reward": "pyfunc_reward.py"}
PIP_REQUIREMENTS = ["mlflow", "tensorflow", "numpy", "pandas"]
"""Written into the logged models (pinned versions come from this project's lock)."""
MAX_TAG_CHARS = 5000


def _signature(kind: str):
    from mlflow.models import ModelSignature
    from mlflow.types import ColSpec, Schema

    from brightpath.questionnaire import ITEM_KEYS
    from brightpath.reward.targets import TARGET_NAMES
    from brightpath.schedule import PARAM_NAMES

    family = [ColSpec("double", key) for key in ITEM_KEYS] + [ColSpec("double", "child_age")]
    params = [ColSpec("double", name) for name in PARAM_NAMES]
    if kind == "generator":
        return ModelSignature(Schema(family), Schema(sorted(params, key=lambda c: c.name)))
    return ModelSignature(Schema(family + params), Schema([ColSpec("double", name) for name in TARGET_NAMES]))


def log_model(tracking_uri: str, run_id: str, kind: str, model_dir: Path, *, name: str) -> Any:
    """Log a generator or reward SavedModel directory as a pyfunc model of run ``run_id``; returns its ``ModelInfo``."""
    import mlflow
    import mlflow.pyfunc
    from mlflow.models import Model

    # MLflow draws a tqdm bar per artifact copy; in logs it is noise.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    mlflow.set_tracking_uri(tracking_uri)
    with warnings.catch_warnings():
        # Advice for models without a signature or an input example (this one has its signature; an example
        # would make MLflow load TensorFlow to run it) and for type hints (the signature says the types).
        warnings.filterwarnings("ignore", message=r".*(input example|type hints|input_example)", category=UserWarning)
        return Model.log(
            artifact_path=None,
            name=name,
            flavor=mlflow.pyfunc,
            run_id=run_id,
            python_model=str(Path(__file__).with_name(PYFUNC_FILES[kind])),
            artifacts={"saved_model": str(model_dir)},
            pip_requirements=PIP_REQUIREMENTS,
            signature=_signature(kind),
        )


def log_store_input(
    client, run_id: str, frame: pd.DataFrame, *, name: str, store_url: str, table: str, context: str = "training"
) -> None:
    """Record a store table read by the run as its dataset input (name, digest, schema, profile, source)."""
    import mlflow.data
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.entities import DatasetInput, InputTag

    plain = frame.drop(
        columns=[c for c in frame.columns if frame[c].dtype == object and c != "family_key"], errors="ignore"
    )
    # Integer columns as floats: what a later row with a missing value would need (MLflow warns otherwise).
    plain = plain.astype({c: "float64" for c in plain.columns if pd.api.types.is_integer_dtype(plain[c].dtype)})
    dataset = mlflow.data.from_pandas(
        plain, name=name, source=CodeDatasetSource(tags={"store": store_url, "table": table})
    )
    client.log_inputs(
        run_id, datasets=[DatasetInput(dataset._to_mlflow_entity(), [InputTag("mlflow.data.context", context)])]
    )


def find_version(client, name: str, loop_key: str):
    """The registered version of ``name`` tagged with ``loop_key``, or None."""
    from mlflow.exceptions import MlflowException

    try:
        found = client.search_model_versions(f"name = '{name}' and tags.`{LOOP_KEY_TAG}` = '{loop_key}'")
    except MlflowException:
        return None
    return found[0] if found else None


def register(client, name: str, model_info, *, run_id: str, loop_key: str, tags: dict[str, Any]):
    """Register a logged model as a new version of ``name`` (created if new), once per ``loop_key``."""
    from mlflow.exceptions import MlflowException

    existing = find_version(client, name, loop_key)
    if existing is not None:
        return existing
    with contextlib.suppress(MlflowException):  # it exists
        client.create_registered_model(name, description="BrightPath continuous loop (experiments.loop)")
    version = client.create_model_version(
        name,
        source=model_info.model_uri,
        run_id=run_id,
        tags={LOOP_KEY_TAG: loop_key, **{k: str(v) for k, v in tags.items()}},
        model_id=model_info.model_id,
    )
    log.info("registered %s version %s (%s)", name, version.version, loop_key)
    return version


def set_alias(client, name: str, alias: str, version: str | int) -> None:
    client.set_registered_model_alias(name, alias, str(version))


def tag_verdict(client, name: str, version: str | int, verdict: dict[str, Any]) -> None:
    """The gate's verdict on a version: ``gate_decision`` and ``gate_verdict`` (JSON, trimmed to the tag limit)."""
    text = json.dumps(verdict, sort_keys=True, default=str)
    if len(text) > MAX_TAG_CHARS:
        short = {
            k: verdict[k]
            for k in (
                "decision",
                "passed",
                "champion",
                "challenger",
                "metric",
                "test",
                "champion_mean",
                "challenger_mean",
                "failed_checks",
                "reasons",
            )
        }
        text = json.dumps(short, sort_keys=True, default=str)[:MAX_TAG_CHARS]
    client.set_model_version_tag(name, str(version), "gate_decision", str(verdict["decision"]))
    client.set_model_version_tag(name, str(version), "gate_verdict", text)


def registry_state(client, names: tuple[str, ...]) -> dict[str, Any]:
    """Versions (with their loop tags and gate decision) and aliases of ``names``: what a resumed run must
    reproduce (run ids and times left out)."""
    state: dict[str, Any] = {}
    for name in names:
        try:
            model = client.get_registered_model(name)
        except Exception:  # noqa: BLE001 (not registered: nothing to compare)
            continue
        versions = client.search_model_versions(f"name = '{name}'")
        state[name] = {
            "aliases": dict(sorted((alias, str(v)) for alias, v in (model.aliases or {}).items())),
            "versions": {
                str(v.version): {
                    k: v.tags.get(k)
                    for k in sorted(v.tags)
                    if k in (LOOP_KEY_TAG, "gate_decision", "round", "registry_version")
                }
                for v in sorted(versions, key=lambda v: int(v.version))
            },
        }
    return state


__all__ = [
    "CHALLENGER",
    "CHAMPION",
    "LOOP_KEY_TAG",
    "find_version",
    "log_model",
    "log_store_input",
    "register",
    "registry_state",
    "set_alias",
    "tag_verdict",
]
