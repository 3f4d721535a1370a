"""A/B test of two schedule generators: ``python -m experiments.evaluate a=<generator> b=<generator>``.

    python -m experiments.evaluate a=expert b=rf
    python -m experiments.evaluate a=ppo b=mlp n_families=500 proxy=false
    python -m experiments.evaluate a=runs:/<run_id> b=models/baselines/gbr paired=false

``a`` and ``b`` each name a generator (``expert``, ``oracle``, ``rf``, ``gbr``, ``mlp``,
``ppo``: see ``brightpath.generators.load_generator``; ``ppo_mlp``, ``ppo_transformer``: the
latest finished PPO run of that model in MLflow), a model directory, or an MLflow
run (``runs:/<run_id>`` or ``runs:/<run_id>/<artifact path>``; its generator artifact is
downloaded under ``<paths.root>/outputs/mlflow_downloads/``).

Both generators write schedules for the same held-out families (``held_out_families``):
scored by the simulator's hidden truth (gold) and, with ``proxy=true``, by the reward
model in ``<paths.model_dir>/reward`` (proxy). ``paired=true`` (default) runs the paired
t-test on per-family differences; ``paired=false`` randomises the families into two
independent groups, one per arm, and runs Welch's t-test as in the seed plan. The report
prints as the seed's does, plus the bootstrap CI, the effect size and a segment view
(grade band, high/low preference per category); it is written to
``<paths.reports_dir>/ab_<a>_vs_<b>.json`` and logged to MLflow (task ``evaluate``).

This module also holds what ``experiments/tasks/results.py`` shares with it: the held-out
families, MLflow run → model directory resolution, and the reward-model scorer.
"""
from __future__ import annotations

import json
import logging
import os
import re
import sys
from dataclasses import fields
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig

from experiments import config_check, tracking

log = logging.getLogger(__name__)

RUN_URI_PREFIX = "runs:/"
RUN_LOOKUP: dict[str, tuple[str, dict[str, str]]] = {
    "rf": ("baseline", {"baseline.name": "rf"}),
    "gbr": ("baseline", {"baseline.name": "gbr"}),
    "mlp": ("baseline", {"baseline.name": "mlp"}),
    "ppo_mlp": ("ppo", {"model.name": "mlp"}),
    "ppo_transformer": ("ppo", {"model.name": "transformer"}),
}
"""Generator name → (task, params) of the MLflow runs that train it; the latest FINISHED one is used
when no model directory is given (``ppo_mlp``, ``ppo_transformer`` are resolved only this way)."""
DOWNLOADS_SUBDIR = "outputs/mlflow_downloads"
_MAX_ARTIFACT_DEPTH = 3


# ---------------------------------------------------------------------------
# Shared with the results task
# ---------------------------------------------------------------------------


def held_out_families(cfg: DictConfig, n_families: int, *, split: str = "test", seed: int | None = None):
    """The first ``n_families`` families of the dataset's ``split``, hidden traits included.

    The dataset is generated first if it is missing (``tasks.data.ensure_dataset``). When the
    split holds fewer families than asked for, the rest are drawn fresh from the family
    simulator with ``np.random.default_rng([seed, 1])`` (ids after the dataset's), so they are
    held out too and the same seed gives the same families.

    Returns:
        ``(families, info)`` with ``info = {"split_families": k, "fresh_families": n - k}``.
    """
    from brightpath.datasets import load_families
    from brightpath.simulator import Families, sample_families
    from experiments.tasks.data import ensure_dataset

    if int(n_families) < 2:
        raise config_check.ConfigError(f"n_families: expected an integer ≥ 2, got {n_families!r}")
    root = ensure_dataset(cfg)
    seed = int(cfg.seed if seed is None else seed)
    families = load_families(root, str(cfg.data.version), split)
    n_split = min(len(families), int(n_families))
    families = families.take(np.arange(n_split))
    n_fresh = int(n_families) - n_split
    if n_fresh:
        all_ids = load_families(root, str(cfg.data.version)).family_id
        extra = sample_families(n_fresh, np.random.default_rng([seed, 1]), first_id=int(all_ids.max()) + 1)
        families = Families(**{f.name: np.concatenate([getattr(families, f.name), getattr(extra, f.name)])
                               for f in fields(Families)})
        log.info("split %r has %d families; %d more drawn fresh from the simulator", split, n_split, n_fresh)
    return families, {"split_families": n_split, "fresh_families": n_fresh}


def _client(cfg: DictConfig):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=str(cfg.logger.tracking_uri))


def _find_generator_artifact(client: Any, run_id: str, path: str = "", depth: int = 0) -> str | None:
    """The artifact folder of a run holding a generator SavedModel or a baseline model, or None.

    Prefers ``generator/`` and ``model/``; searches at most ``_MAX_ARTIFACT_DEPTH`` levels.
    """
    entries = client.list_artifacts(run_id, path or None)
    names = {Path(e.path).name for e in entries if not e.is_dir}
    if "brightpath_model.json" in names and ("saved_model.pb" in names or "model.joblib" in names):
        return path
    if depth >= _MAX_ARTIFACT_DEPTH:
        return None
    folders = sorted((e.path for e in entries if e.is_dir),
                     key=lambda p: (Path(p).name not in ("generator", "model"), p))
    for folder in folders:
        found = _find_generator_artifact(client, run_id, folder, depth + 1)
        if found is not None:
            return found
    return None


def download_run_generator(cfg: DictConfig, uri: str) -> Path:
    """Download the generator of ``runs:/<run_id>[/<artifact path>]`` and return its local directory.

    Raises:
        brightpath.errors.ModelLoadError: the run does not exist or logged no generator.
    """
    from mlflow.exceptions import MlflowException

    from brightpath.errors import ModelLoadError

    # MLflow draws a tqdm bar per download; in logs and test output it is noise.
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    rest = uri[len(RUN_URI_PREFIX):].strip("/")
    run_id, _, artifact = rest.partition("/")
    if not run_id:
        raise ModelLoadError(uri, "expected runs:/<run_id>[/<artifact path>]")
    client = _client(cfg)
    try:
        client.get_run(run_id)
        if not artifact:
            artifact = _find_generator_artifact(client, run_id)
            if artifact is None:
                raise ModelLoadError(uri, "the run logged no generator SavedModel or baseline model artifact")
        destination = Path(cfg.paths.root) / DOWNLOADS_SUBDIR / run_id
        destination.mkdir(parents=True, exist_ok=True)
        local = client.download_artifacts(run_id, artifact, str(destination))
    except MlflowException as exc:
        raise ModelLoadError(uri, f"MLflow cannot provide it ({exc.message})") from exc
    return Path(local)


def latest_run_generator(cfg: DictConfig, task: str, params: dict[str, str]) -> tuple[str, Path] | None:
    """``(run_id, local directory)`` of the generator of the latest FINISHED run of ``task`` whose
    params match ``params`` (e.g. ``{"model.name": "mlp"}``), or None if there is none."""
    from mlflow.exceptions import MlflowException

    from brightpath.errors import ModelLoadError

    try:
        client = _client(cfg)
        experiment = client.get_experiment_by_name(str(cfg.logger.experiment_name))
        if experiment is None:
            return None
        query = " AND ".join([f"tags.task = '{task}'", "attributes.status = 'FINISHED'",
                              *(f"params.`{k}` = '{v}'" for k, v in params.items())])
        runs = client.search_runs([experiment.experiment_id], filter_string=query,
                                  order_by=["attributes.start_time DESC"], max_results=20)
    except MlflowException as exc:
        log.warning("cannot search MLflow for %s runs (%s)", task, exc.message)
        return None
    for run in runs:
        try:
            return run.info.run_id, download_run_generator(cfg, f"{RUN_URI_PREFIX}{run.info.run_id}")
        except ModelLoadError as exc:
            log.info("run %s: %s", run.info.run_id, exc)
    return None


def resolve_generator(spec: str, cfg: DictConfig, families, *, oracle_search: dict | None = None, name=None):
    """A ``Generator`` for a CLI/config spec: a name (``load_generator``'s, or ``ppo_mlp``/``ppo_transformer``:
    the latest finished PPO run of that model), a directory, or ``runs:/...`` (downloaded first)."""
    from brightpath.generators import load_generator

    from brightpath.errors import ModelLoadError

    text = str(spec)
    if text in ("ppo_mlp", "ppo_transformer"):
        task, params = RUN_LOOKUP[text]
        found = latest_run_generator(cfg, task, params)
        if found is None:
            raise ModelLoadError(text, f"no FINISHED MLflow run of task {task!r} with {params} in experiment "
                                       f"{cfg.logger.experiment_name!r} at {cfg.logger.tracking_uri}")
        return load_generator(found[1], name=name or text)
    if text.startswith(RUN_URI_PREFIX):
        directory = download_run_generator(cfg, text)
        run_id = text[len(RUN_URI_PREFIX):].strip("/").split("/")[0]
        generator = load_generator(directory, name=name)
        if name is None:
            generator.name = f"{generator.source}-{run_id[:8]}"
        return generator
    return load_generator(text, model_dir=cfg.paths.model_dir, families=families, seed=int(cfg.seed),
                          name=name, oracle_search=oracle_search)


def load_scorer(model_dir: Path | str | None, reward_dir: Path | str | None = None):
    """The reward model scorer of ``reward_dir`` (default ``<model_dir>/reward``), or None with a
    warning when there is no usable one (proxy results then read 'n/a'; train one with +exp=reward)."""
    from brightpath.errors import ModelLoadError
    from brightpath.export import REWARD_SUBDIR
    from brightpath.reward.scoring import RewardScorer

    directory = Path(reward_dir) if reward_dir else Path(model_dir) / REWARD_SUBDIR
    try:
        return RewardScorer(directory)
    except ModelLoadError as exc:
        log.warning("no usable reward model (%s); proxy scores skipped (train one with +exp=reward)", exc)
        return None


def slug(text: str) -> str:
    """A file-name-safe form of a generator name (``ppo-1a2b3c4d``, ``mlp``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "generator"


# ---------------------------------------------------------------------------
# The A/B test
# ---------------------------------------------------------------------------


def run(cfg: DictConfig) -> dict[str, Any]:
    """Run the A/B test of ``cfg.a`` vs ``cfg.b`` (config ``configs/evaluate.yaml``); return the JSON report."""
    from brightpath.abtest import ab_test, format_report, format_segments, segment_view
    from brightpath.evaluation import evaluate_generator
    from brightpath.reproducibility import seed_everything
    from brightpath.segments import family_segments

    problems = config_check.override_type_errors(cfg, config_check.job_overrides(), config_name="evaluate")
    if problems:
        raise config_check.ConfigError("invalid override" + ("s" if len(problems) > 1 else "") + ":\n  "
                                       + "\n  ".join(problems))
    seed = int(cfg.seed)
    seed_everything(seed)
    families, family_info = held_out_families(cfg, int(cfg.n_families), split=str(cfg.split), seed=seed)
    search = dict(cfg.oracle)
    generators = [resolve_generator(str(cfg[arm]), cfg, families, oracle_search=search) for arm in ("a", "b")]
    if generators[0].name == generators[1].name:
        generators[0].name, generators[1].name = f"{generators[0].name} (A)", f"{generators[1].name} (B)"
    scorer = load_scorer(cfg.paths.model_dir, cfg.reward_model_dir) if cfg.proxy else None

    paired = bool(cfg.paired)
    if paired:
        groups = [families, families]
    else:  # a randomised two-group experiment: each family sees one arm
        order = np.random.default_rng([seed, 2]).permutation(len(families))
        half = len(families) // 2
        groups = [families.take(np.sort(order[:half])), families.take(np.sort(order[half:]))]
    evaluations = [evaluate_generator(g, fam, scorer=scorer, min_coverage=float(cfg.min_coverage))
                   for g, fam in zip(generators, groups)]
    names = (evaluations[0].name, evaluations[1].name)
    test_kwargs = dict(paired=paired, names=names, alpha=float(cfg.alpha), seed=seed,
                       n_bootstrap=int(cfg.n_bootstrap))
    gold = ab_test(evaluations[0].true_satisfaction, evaluations[1].true_satisfaction,
                   metric="true_satisfaction", **test_kwargs)
    proxy = None
    if scorer is not None:
        proxy = ab_test(evaluations[0].proxy_satisfaction, evaluations[1].proxy_satisfaction,
                        metric="reward_model_satisfaction", **test_kwargs)
    segments = []
    if paired:
        segments = segment_view(evaluations[0].true_satisfaction, evaluations[1].true_satisfaction,
                                family_segments(families.answers, families.child_age), alpha=float(cfg.alpha),
                                seed=seed, n_bootstrap=int(cfg.n_bootstrap), min_size=int(cfg.min_segment_size))

    text = [format_report(gold)]
    if proxy is not None:
        text += ["", format_report(proxy)]
    if segments:
        text += ["", "True satisfaction by segment (paired; p Holm-adjusted over segments):",
                 format_segments(segments, names)]
    print("\n".join(text))

    report = {
        "a": _arm(cfg.a, evaluations[0]), "b": _arm(cfg.b, evaluations[1]),
        "families": {"n": len(families), "split": str(cfg.split), "data_version": str(cfg.data.version),
                     "seed": seed, "paired": paired, **family_info},
        "gold": gold.to_dict(), "proxy": None if proxy is None else proxy.to_dict(),
        "segments": [row.to_dict() for row in segments],
        "report": "\n".join(text),
    }
    path = Path(cfg.paths.reports_dir) / f"ab_{slug(names[0])}_vs_{slug(names[1])}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    report["path"] = str(path)

    with tracking.start_run(cfg) as tracker:
        tracker.set_tags({"ab.a": names[0], "ab.b": names[1]})
        metrics = {f"ab/{k}": getattr(gold, k) for k in
                   ("mean_a", "mean_b", "mean_difference", "ci_low", "ci_high", "t_stat", "p_value", "effect_size")}
        metrics["ab/significant"] = float(gold.significant)
        if proxy is not None:
            metrics.update({f"ab/proxy_{k}": getattr(proxy, k) for k in
                            ("mean_a", "mean_b", "mean_difference", "p_value")})
        for arm, evaluation in zip("ab", evaluations):
            metrics[f"ab/{arm}_invalid_rate"] = evaluation.invalid_rate
            metrics[f"perf/{arm}_ms_per_family"] = evaluation.ms_per_family
        tracker.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
        tracker.log_artifact(path, "reports")
        tracker.log_figure(_difference_figure(evaluations, paired, segments), "ab/true_satisfaction.png")
    print(f"report written to {path}")
    return report


def _arm(spec: str, evaluation) -> dict[str, Any]:
    return {"spec": str(spec), "name": evaluation.name, "source": evaluation.source,
            "model_version": evaluation.model_version, "n": len(evaluation.family_id),
            "invalid_rate": evaluation.invalid_rate, "ms_per_family": evaluation.ms_per_family}


def _difference_figure(evaluations, paired: bool, segments):
    """Per-family differences (paired) or both arms' distributions, and segment differences with CIs."""
    import matplotlib.figure

    fig = matplotlib.figure.Figure(figsize=(12, 4.5))
    left, right = fig.subplots(1, 2)
    a, b = evaluations
    if paired:
        left.hist(a.true_satisfaction - b.true_satisfaction, bins=40, color="tab:blue")
        left.axvline(0.0, color="black", lw=0.8)
        left.set_xlabel(f"true satisfaction: {a.name} − {b.name} (per family)")
    else:
        left.hist([a.true_satisfaction, b.true_satisfaction], bins=30, label=[a.name, b.name])
        left.legend()
        left.set_xlabel("true satisfaction")
    left.set_ylabel("families")
    tested = [s for s in segments if np.isfinite(s.p_value)]
    if tested:
        y = np.arange(len(tested))
        diffs = np.array([s.mean_difference for s in tested])
        err = np.array([[s.mean_difference - s.ci_low for s in tested],
                        [s.ci_high - s.mean_difference for s in tested]])
        right.errorbar(diffs, y, xerr=err, fmt="o", capsize=3)
        right.axvline(0.0, color="black", lw=0.8)
        right.set_yticks(y, [f"{s.segment}={s.level}" for s in tested], fontsize=8)
        right.set_xlabel(f"mean difference {a.name} − {b.name}, 95% CI")
    else:
        right.axis("off")
    fig.tight_layout()
    return fig


@hydra.main(version_base="1.3", config_path=str(config_check.CONFIG_DIR), config_name="evaluate")
def main(cfg: DictConfig) -> None:
    """Hydra entry point; a config error exits with status 2, an unusable generator with status 1."""
    from brightpath.errors import ModelLoadError

    try:
        run(cfg)
    except config_check.ConfigError as err:
        print(f"config error: {err}", file=sys.stderr)
        sys.exit(2)
    except (ModelLoadError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
