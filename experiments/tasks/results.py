"""Task ``results``: the table every reviewer asks for — which generator writes the best schedules.

    python -m experiments.train +exp=results [results.n_families=1000 seed=0]

Rows (``results.rows``): the expert rule, the RF, GBR and Keras MLP imitation regressors,
PPO-MLP, PPO-Transformer and the oracle, all planning for the same held-out families
(``experiments.artifacts.held_out_families``). A row whose model is not available is shown as
"not trained yet" — never filled in — and the table still renders. Models come from
``results.models.<row>`` when set, else the default location (``<paths.model_dir>/baselines/``),
else the latest FINISHED MLflow run (task ``imitation`` with ``imitation.name``, task ``ppo``
with ``model.name``; its generator artifact is downloaded): ``experiments.artifacts`` decides.

Columns, each from ``brightpath.evaluation.evaluate_generator``:

* mean true satisfaction (the simulator's hidden truth, 0–1) with a seeded bootstrap 95 % CI;
* % of oracle: the mean as a percentage of the oracle's mean on the same families;
* mean reward-model score and the proxy − true gap (reward model minus truth; positive =
  the reward model flatters the generator); "n/a" without a reward model;
* invalid-schedule rate: Schedule JSON failing ``schedule.json_to_layout`` or the coverage
  checks (a subject with no time, coverage below ``results.min_coverage``);
* inference time per family: the batched ``params`` call over all families / n, in ms
  (after a warm-up call; the oracle's is its search's, cached or not; the only column that
  varies between identical runs).

A second table compares each row with the expert rule (paired t-test, bootstrap CI); a third
gives mean true satisfaction by grade band. Written to ``<paths.reports_dir>/results.md``,
``results.csv`` and ``results_distributions.png``, all logged to MLflow.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from experiments import artifacts
from experiments.schemas import RESULT_ROWS, RunConfig
from experiments.tracking import Tracker

log = logging.getLogger(__name__)

CONFIG_GROUPS = ("data", "results")

ROW_LABELS: dict[str, str] = dict(
    zip(RESULT_ROWS, ("expert rule", "RF", "GBR", "Keras MLP", "PPO-MLP", "PPO-Transformer", "oracle"))
)
"""Row key (``experiments.schemas.RESULT_ROWS``) → label, in the table's order."""
NOT_TRAINED = "not trained yet"
CSV_COLUMNS: tuple[str, ...] = (
    "row",
    "label",
    "status",
    "n_families",
    "true_satisfaction",
    "true_ci_low",
    "true_ci_high",
    "pct_of_oracle",
    "proxy_satisfaction",
    "proxy_true_gap",
    "invalid_rate",
    "ms_per_family",
    "diff_vs_expert",
    "diff_vs_expert_ci_low",
    "diff_vs_expert_ci_high",
    "p_vs_expert",
    "source",
    "model_version",
)


@dataclass
class Row:
    """One table row: its generator and evaluation, or why there is none (``status`` not "ok")."""

    key: str
    label: str
    status: str
    generator: Any = None
    origin: str = ""
    evaluation: Any = None


def run(config: RunConfig, tracker: Tracker) -> dict[str, float]:
    """Evaluate every row on the same families; write and log the table; return its headline numbers."""
    spec = config.results
    seed = config.seed
    families, info = artifacts.held_out_families(config, spec.n_families, split=spec.split, seed=seed)
    tracker.log_params({f"results.families.{k}": v for k, v in info.items()})
    scorer = artifacts.reward_model(config, tracker, None) if spec.proxy else None

    rows = []
    for key in spec.rows:
        row = _resolve(key, config, families)
        if row.generator is not None:
            log.info("evaluating %s (%s) on %d families", row.label, row.origin, len(families))
            row.evaluation = artifacts.evaluate(row.generator, families, scorer=scorer, min_coverage=spec.min_coverage)
        rows.append(row)

    table = _table(rows, families, seed=seed, n_bootstrap=spec.n_bootstrap)
    reports = Path(config.paths.reports_dir)
    reports.mkdir(parents=True, exist_ok=True)
    csv_path, md_path, png_path = reports / "results.csv", reports / "results.md", reports / "results_distributions.png"
    table.to_csv(csv_path, index=False, float_format="%.6g")
    md_path.write_text(_markdown(table, rows, families, info, config, scorer is not None))
    fig = _distribution_figure(rows)
    fig.savefig(png_path, dpi=120, bbox_inches="tight")
    for path in (csv_path, md_path):
        tracker.log_artifact(path, "reports")
    tracker.log_figure(fig, "results_distributions.png")

    metrics: dict[str, float] = {"results/n_families": float(len(families))}
    for record in table.to_dict("records"):
        if record["status"] != "ok":
            continue
        for column in (
            "true_satisfaction",
            "true_ci_low",
            "true_ci_high",
            "pct_of_oracle",
            "proxy_satisfaction",
            "proxy_true_gap",
            "invalid_rate",
            "ms_per_family",
            "diff_vs_expert",
            "p_vs_expert",
        ):
            value = record[column]
            if value is not None and np.isfinite(value):
                metrics[f"results/{record['row']}/{column}"] = float(value)
    tracker.log_metrics(metrics)
    print(md_path.read_text())
    return {k: v for k, v in metrics.items() if k.endswith("/true_satisfaction") or k == "results/n_families"}


def _resolve(key: str, config: RunConfig, families) -> Row:
    """The row with its generator, or with the reason it has none."""
    from brightpath.errors import ModelLoadError
    from brightpath.generators import BASELINES_SUBDIR

    label = ROW_LABELS[key]
    spec = config.results

    def resolve(source):
        return artifacts.generator(config, source, families, seed=config.seed, oracle_config=spec.oracle, name=key)

    try:
        if key in ("expert", "oracle"):
            return Row(key, label, "ok", resolve(key), "rule" if key == "expert" else "hidden-truth search")
        configured = spec.models.get(key)
        if configured:
            return Row(key, label, "ok", resolve(configured), configured)
        default_dir = Path(config.paths.model_dir) / BASELINES_SUBDIR / key
        if key in ("rf", "gbr", "mlp") and default_dir.exists():
            return Row(key, label, "ok", resolve(str(default_dir)), str(default_dir))
        found = artifacts.latest_run_generator(config, key)
        if found is None:
            return Row(key, label, NOT_TRAINED)
        run_id, directory = found
        return Row(key, label, "ok", resolve(str(directory)), f"runs:/{run_id}")
    except ModelLoadError as exc:
        log.warning("%s: model unusable: %s", label, exc)
        return Row(key, label, f"model unusable: {exc.reason}")


def _table(rows: list[Row], families, *, seed: int, n_bootstrap: int):
    """One record per row (``CSV_COLUMNS``); statistics of missing rows are NaN."""
    import pandas as pd

    from brightpath.abtest import paired_test
    from brightpath.stats import bootstrap_ci

    by_key = {row.key: row.evaluation for row in rows if row.evaluation is not None}
    oracle = by_key.get("oracle")
    expert = by_key.get("expert")
    nan = float("nan")
    records = []
    for row in rows:
        ev = row.evaluation
        record: dict[str, Any] = {c: nan for c in CSV_COLUMNS}
        record.update(
            row=row.key, label=row.label, status=row.status, n_families=len(families), source="", model_version=""
        )
        if ev is not None:
            true = ev.true_satisfaction
            low, high = bootstrap_ci(true, seed=seed, n_bootstrap=n_bootstrap)
            record.update(
                true_satisfaction=float(true.mean()),
                true_ci_low=low,
                true_ci_high=high,
                invalid_rate=ev.invalid_rate,
                ms_per_family=ev.ms_per_family,
                source=ev.source,
                model_version=ev.model_version,
            )
            if oracle is not None:
                record["pct_of_oracle"] = 100.0 * float(true.mean()) / float(oracle.true_satisfaction.mean())
            if ev.proxy_satisfaction is not None:
                record["proxy_satisfaction"] = float(ev.proxy_satisfaction.mean())
                record["proxy_true_gap"] = float((ev.proxy_satisfaction - true).mean())
            if expert is not None and row.key != "expert":
                versus = paired_test(true, expert.true_satisfaction, seed=seed, n_bootstrap=n_bootstrap)
                record.update(
                    diff_vs_expert=versus.mean_difference,
                    diff_vs_expert_ci_low=versus.ci_low,
                    diff_vs_expert_ci_high=versus.ci_high,
                    p_vs_expert=versus.p_value,
                )
        records.append(record)
    return pd.DataFrame.from_records(records, columns=list(CSV_COLUMNS))


def _fmt(value: float, spec: str, missing: str = "n/a") -> str:
    return missing if value is None or not np.isfinite(value) else format(value, spec)


def _markdown(table, rows: list[Row], families, info: dict, config: RunConfig, proxy: bool) -> str:
    from brightpath.child import GRADE_BANDS

    rc = config.results
    source = f"{info['split_families']} families of the {rc.split} split (data {config.data.version})"
    if info["fresh_families"]:
        source += f" + {info['fresh_families']} fresh simulated families"
    lines = [
        "# Results: which generator writes the best schedules",
        "",
        f"{len(families)} held-out families: {source}; seed {config.seed}. "
        f"True satisfaction is the family simulator's hidden score (0–1); the reward-model score is the "
        f"learned proxy{'' if proxy else ' (not available in this run)'}. CIs: bootstrap 95 % "
        f"({rc.n_bootstrap} resamples). Invalid: Schedule JSON failing validation, a subject with no time, "
        f"or coverage below {rc.min_coverage}. Time: batched inference per family.",
        "",
        "| generator | mean true satisfaction (95% CI) | % of oracle | mean reward-model score | proxy − true gap "
        "| invalid schedules | inference ms / family |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        if r["status"] != "ok":
            lines.append(f"| {r['label']} | {r['status']} | | | | | |")
            continue
        lines.append(
            f"| {r['label']} | {r['true_satisfaction']:.4f} [{r['true_ci_low']:.4f}, {r['true_ci_high']:.4f}] "
            f"| {_fmt(r['pct_of_oracle'], '.1f')}{'' if not np.isfinite(r['pct_of_oracle']) else ' %'} "
            f"| {_fmt(r['proxy_satisfaction'], '.4f')} | {_fmt(r['proxy_true_gap'], '+.4f')} "
            f"| {100 * r['invalid_rate']:.1f} % | {r['ms_per_family']:.3g} |"
        )
    lines += [
        "",
        "## Against the expert rule (paired t-test on the same families)",
        "",
        "| generator | Δ true satisfaction (95% CI) | p-value | verdict |",
        "|---|---|---|---|",
    ]
    for r in table.to_dict("records"):
        if r["status"] != "ok" or r["row"] == "expert" or not np.isfinite(r["diff_vs_expert"]):
            continue
        verdict = "no significant difference"
        if r["p_vs_expert"] < 0.05 and r["diff_vs_expert"] != 0:
            verdict = "better than the rule" if r["diff_vs_expert"] > 0 else "worse than the rule"
        lines.append(
            f"| {r['label']} | {r['diff_vs_expert']:+.4f} [{r['diff_vs_expert_ci_low']:+.4f}, "
            f"{r['diff_vs_expert_ci_high']:+.4f}] | {r['p_vs_expert']:.4g} | {verdict} |"
        )
    lines += [
        "",
        "## Mean true satisfaction by grade band",
        "",
        "| generator | "
        + " | ".join(f"{b} (n={int((families.grade_band == i).sum())})" for i, b in enumerate(GRADE_BANDS))
        + " |",
        "|---|" + "---|" * len(GRADE_BANDS),
    ]
    for row in rows:
        if row.evaluation is None:
            continue
        cells = []
        for i in range(len(GRADE_BANDS)):
            mask = families.grade_band == i
            cells.append(f"{row.evaluation.true_satisfaction[mask].mean():.4f}" if mask.any() else "n/a")
        lines.append(f"| {row.label} | " + " | ".join(cells) + " |")
    origins = [
        f"- {row.label}: {row.origin} ({row.evaluation.source}, version {row.evaluation.model_version})"
        for row in rows
        if row.evaluation is not None
    ]
    lines += ["", "## Where each row's model came from", "", *origins, ""]
    return "\n".join(lines)


def _distribution_figure(rows: list[Row]):
    """Box plots of per-family true satisfaction (and reward-model scores when present) per row."""
    import matplotlib.figure

    present = [row for row in rows if row.evaluation is not None]
    has_proxy = any(row.evaluation.proxy_satisfaction is not None for row in present)
    fig = matplotlib.figure.Figure(figsize=(max(6.0, 1.5 * len(present)), 8 if has_proxy else 4.5))
    axes = fig.subplots(2 if has_proxy else 1, 1, squeeze=False)[:, 0]
    labels = [row.label for row in present]
    panels = [("true satisfaction (hidden truth)", [row.evaluation.true_satisfaction for row in present])]
    if has_proxy:
        panels.append(
            (
                "reward-model satisfaction (proxy)",
                [
                    row.evaluation.proxy_satisfaction
                    if row.evaluation.proxy_satisfaction is not None
                    else np.array([np.nan])
                    for row in present
                ],
            )
        )
    for ax, (title, data) in zip(axes, panels):
        if data:
            ax.boxplot(data, showmeans=True, whis=(5, 95))
            ax.set_xticks(range(1, len(labels) + 1), labels, rotation=20)
        ax.set_ylabel(title)
        ax.set_ylim(0.0, 1.0)
        ax.grid(axis="y", alpha=0.3)
    missing = [row.label for row in rows if row.evaluation is None]
    if missing:
        fig.text(0.01, 0.005, "not shown: " + ", ".join(f"{m}" for m in missing), fontsize=8)
    fig.suptitle("Per-family satisfaction by generator (box 25–75 %, whiskers 5–95 %, triangle = mean)")
    fig.tight_layout()
    return fig
