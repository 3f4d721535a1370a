"""A/B test of two schedule generators: ``python -m experiments.evaluate a=<generator> b=<generator>``.

    python -m experiments.evaluate a=expert b=rf
    python -m experiments.evaluate a=ppo b=mlp n_families=500 proxy=false
    python -m experiments.evaluate a=runs:/<run_id> b=models/baselines/gbr paired=false

``a`` and ``b`` each name a generator (``expert``, ``oracle``, ``rf``, ``gbr``, ``mlp``,
``ppo``; ``ppo_mlp``, ``ppo_transformer``: the latest finished PPO run of that model in
MLflow), a model directory, or an MLflow model (``runs:/<run_id>[/<artifact path>]``,
``models:/...``; downloaded under ``<paths.root>/outputs/mlflow_downloads/``):
``experiments.artifacts.generator`` resolves them.

Both generators write schedules for the same held-out families: scored by the simulator's
hidden truth (gold) and, with ``proxy=true``, by the reward model (proxy; the registry's
champion unless ``reward_model_uri`` says otherwise; skipped with a warning when there is
none). ``paired=true`` (default) runs the paired t-test on per-family differences;
``paired=false`` randomises the families into two independent groups, one per arm, and runs
Welch's t-test as in the seed plan. The report prints as the seed's does, plus the bootstrap
CI, the effect size and a segment view (grade band, high/low preference per category); it is
written to ``<paths.reports_dir>/ab_<a>_vs_<b>.json`` and logged to MLflow (task ``evaluate``).
The MLflow run opens before any work, so a crash leaves a FAILED run.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

import hydra
import numpy as np
from omegaconf import DictConfig

from experiments import artifacts, config_check, schemas, tracking

log = logging.getLogger(__name__)

ARMS_STREAM = 2
"""Second entry of the seed sequence ``[seed, 2]`` that randomises families into two groups
(``paired=false``): a stream of its own."""


def slug(text: str) -> str:
    """A file-name-safe form of a generator name (``ppo-1a2b3c4d``, ``mlp``)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", str(text)).strip("-") or "generator"


def run(cfg: DictConfig) -> dict[str, Any]:
    """Run the A/B test of ``cfg.a`` vs ``cfg.b`` (config ``configs/evaluate.yaml``); return the JSON report.

    Raises:
        experiments.config_check.ConfigError: the config is invalid; nothing has run.
    """
    config: schemas.ABTestConfig = config_check.load(cfg)
    with tracking.start_run(config) as tracker:
        return _ab_test(config, tracker)


def _ab_test(config: schemas.ABTestConfig, tracker: tracking.Tracker) -> dict[str, Any]:
    from brightpath.abtest import ab_test, format_report, format_segments, segment_view
    from brightpath.reproducibility import seed_everything
    from brightpath.segments import family_segments

    seed = config.seed
    seed_everything(seed)
    families, family_info = artifacts.held_out_families(config, config.n_families, split=config.split, seed=seed)
    generators = [
        artifacts.generator(config, spec, families, seed=seed, oracle_config=config.oracle)
        for spec in (config.a, config.b)
    ]
    if generators[0].name == generators[1].name:
        generators[0].name, generators[1].name = f"{generators[0].name} (A)", f"{generators[1].name} (B)"
    tracker.set_tags({"ab.a": generators[0].name, "ab.b": generators[1].name})
    scorer = (
        artifacts.reward_model(config, tracker, config.reward_model_uri, train_if_missing=False)
        if config.proxy
        else None
    )

    paired = config.paired
    if paired:
        groups = [families, families]
    else:  # a randomised two-group experiment: each family sees one arm
        order = np.random.default_rng([seed, ARMS_STREAM]).permutation(len(families))
        half = len(families) // 2
        groups = [families.take(np.sort(order[:half])), families.take(np.sort(order[half:]))]
    evaluations = [
        artifacts.evaluate(g, fam, scorer=scorer, min_coverage=config.min_coverage)
        for g, fam in zip(generators, groups)
    ]
    names = (evaluations[0].name, evaluations[1].name)
    test_kwargs = dict(paired=paired, names=names, alpha=config.alpha, seed=seed, n_bootstrap=config.n_bootstrap)
    gold = ab_test(
        evaluations[0].true_satisfaction, evaluations[1].true_satisfaction, metric="true_satisfaction", **test_kwargs
    )
    proxy = None
    if scorer is not None:
        proxy = ab_test(
            evaluations[0].proxy_satisfaction,
            evaluations[1].proxy_satisfaction,
            metric="reward_model_satisfaction",
            **test_kwargs,
        )
    segments = []
    if paired:
        segments = segment_view(
            evaluations[0].true_satisfaction,
            evaluations[1].true_satisfaction,
            family_segments(families.answers, families.child_age),
            alpha=config.alpha,
            seed=seed,
            n_bootstrap=config.n_bootstrap,
            min_size=config.min_segment_size,
        )

    text = [format_report(gold)]
    if proxy is not None:
        text += ["", format_report(proxy)]
    if segments:
        text += [
            "",
            "True satisfaction by segment (paired; p Holm-adjusted over segments):",
            format_segments(segments, names),
        ]
    print("\n".join(text))

    report = {
        "a": _arm(config.a, evaluations[0]),
        "b": _arm(config.b, evaluations[1]),
        "families": {
            "n": len(families),
            "split": config.split,
            "data_version": config.data.version,
            "seed": seed,
            "paired": paired,
            **family_info,
        },
        "gold": gold.to_dict(),
        "proxy": None if proxy is None else proxy.to_dict(),
        "segments": [row.to_dict() for row in segments],
        "report": "\n".join(text),
    }
    path = Path(config.paths.reports_dir) / f"ab_{slug(names[0])}_vs_{slug(names[1])}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report, indent=2))
    report["path"] = str(path)

    metrics = {
        f"ab/{k}": getattr(gold, k)
        for k in ("mean_a", "mean_b", "mean_difference", "ci_low", "ci_high", "t_stat", "p_value", "effect_size")
    }
    metrics["ab/significant"] = float(gold.significant)
    if proxy is not None:
        metrics.update({f"ab/proxy_{k}": getattr(proxy, k) for k in ("mean_a", "mean_b", "mean_difference", "p_value")})
    for arm, evaluation in zip("ab", evaluations):
        metrics[f"ab/{arm}_invalid_rate"] = evaluation.invalid_rate
        metrics[f"perf/{arm}_ms_per_family"] = evaluation.ms_per_family
    tracker.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
    tracker.log_artifact(path, "reports")
    tracker.log_figure(_difference_figure(evaluations, paired, segments), "ab/true_satisfaction.png")
    print(f"report written to {path}")
    return report


def _arm(spec: str, evaluation) -> dict[str, Any]:
    return {
        "spec": str(spec),
        "name": evaluation.name,
        "source": evaluation.source,
        "model_version": evaluation.model_version,
        "n": len(evaluation.family_id),
        "invalid_rate": evaluation.invalid_rate,
        "ms_per_family": evaluation.ms_per_family,
    }


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
        err = np.array(
            [[s.mean_difference - s.ci_low for s in tested], [s.ci_high - s.mean_difference for s in tested]]
        )
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
