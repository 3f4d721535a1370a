"""The research view of the loop: what the hidden truth says about each round (never fed back).

Per round, for the champion and the challenger (``view``):

* ``true``: mean true satisfaction of their weeks on the fixed held-out families (the dataset's
  test families, topped up; the same every round), and ``pct_of_oracle``: as a share of the cached
  oracle's on the same families;
* ``proxy``: mean reward-model score of the same weeks (the round's refreshed reward model), and
  ``gap`` = proxy − true;
* ``sqrt_kl``: √KL of the policy from the round-0 policy on the held-out observations
  (``policy.sqrt_kl``);
* the gate's decision and ``truth``: a paired t-test of challenger vs champion true satisfaction on
  the held-out families (``brightpath.abtest.paired_test``): ``better``, ``worse`` or ``equal`` (no
  significant difference); the truth **agrees** with a promotion unless it says worse, with a
  rejection unless it says better.

``write_report`` renders ``reports/loop.md`` and the plot of true vs proxy over rounds and over √KL.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

TRUTH_ALPHA = 0.05


def arm_view(evaluation, oracle_mean: float) -> dict[str, float]:
    """Mean true and proxy satisfaction of one generator's evaluation on the held-out families."""
    true = float(evaluation.true_satisfaction.mean())
    proxy = float(evaluation.proxy_satisfaction.mean()) if evaluation.proxy_satisfaction is not None else math.nan
    return {
        "true": true,
        "pct_of_oracle": 100.0 * true / oracle_mean,
        "proxy": proxy,
        "gap": proxy - true,
        "invalid_rate": evaluation.invalid_rate,
    }


def truth_verdict(champion_true: np.ndarray, challenger_true: np.ndarray, decision: str) -> dict[str, Any]:
    """What the hidden truth says about challenger vs champion, and whether it agrees with ``decision``."""
    from brightpath.abtest import paired_test

    result = paired_test(
        challenger_true, champion_true, names=("challenger", "champion"), metric="true_satisfaction", alpha=TRUTH_ALPHA
    )
    truth = "equal" if result.winner is None else ("better" if result.winner == "A" else "worse")
    agrees = truth != "worse" if decision == "promote" else truth != "better"
    return {
        "truth": truth,
        "difference": result.mean_difference,
        "p_value": result.p_value,
        "ci_low": result.ci_low,
        "ci_high": result.ci_high,
        "agrees": agrees,
    }


def _fmt(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def table_rows(rounds: dict[str, dict[str, Any]]) -> list[list[str]]:
    """The per-round table (markdown cells): champion and challenger of every round."""
    rows = []
    for key in sorted(rounds, key=int):
        record = rounds[key]
        research = record.get("research")
        if not research:
            rows.append([key, "–", "–", "–", "–", "–", "–", "–", record.get("note", "no retraining"), "–", "–"])
            continue
        decision = (record.get("verdict") or {}).get("decision", "bootstrap")
        truth = research.get("truth") or {}
        for arm in ("champion", "challenger"):
            view = research.get(arm)
            if not view:
                continue
            is_challenger = arm == "challenger"
            rows.append(
                [
                    key,
                    arm,
                    f"v{view['version']}",
                    _fmt(view["true"]),
                    f"{view['pct_of_oracle']:.2f} %",
                    _fmt(view["proxy"]),
                    f"{view['gap']:+.4f}",
                    _fmt(view["sqrt_kl"], 3),
                    decision if is_challenger else "",
                    f"{truth['truth']} ({truth['difference']:+.4f}, p = {truth['p_value']:.2g})"
                    if is_challenger and truth
                    else "",
                    ("yes" if truth.get("agrees") else "**no**") if is_challenger and truth else "",
                ]
            )
    return rows


def figure(rounds: dict[str, dict[str, Any]], reference: dict[str, Any] | None):
    """True and proxy satisfaction of champion and challenger over rounds (left) and over √KL (right)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 4), constrained_layout=True)
    by_round, by_kl = fig.subplots(1, 2)
    for arm, marker in (("champion", "o"), ("challenger", "s")):
        points = [
            (int(k), r["research"][arm])
            for k, r in sorted(rounds.items(), key=lambda kv: int(kv[0]))
            if r.get("research") and r["research"].get(arm)
        ]
        if not points:
            continue
        xs = [p[0] for p in points]
        for metric, style in (("true", "-"), ("proxy", "--")):
            ys = [p[1][metric] for p in points]
            by_round.plot(xs, ys, style, marker=marker, label=f"{arm} {metric}")
            by_kl.plot([p[1]["sqrt_kl"] for p in points], ys, style, marker=marker, label=f"{arm} {metric}")
    if reference:
        for ax in (by_round, by_kl):
            ax.axhline(
                reference["true"],
                color="grey",
                linestyle=":",
                label=f"PPO rewarded by the truth ({reference['iterations']} it.)",
            )
    by_round.set(
        xlabel="round",
        ylabel="satisfaction on the held-out families (0-1)",
        title="true (hidden) vs proxy (reward model) over rounds",
    )
    by_kl.set(
        xlabel="√KL from the round-0 policy (nats^½)",
        ylabel="satisfaction (0-1)",
        title="against the policy's distance (Gao et al. 2022)",
    )
    for ax in (by_round, by_kl):
        ax.grid(alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
        else:  # loop.research=false: nothing was measured against the truth
            ax.text(0.5, 0.5, "no research evaluation in this run", ha="center", va="center", transform=ax.transAxes)
    return fig


def markdown(
    state: dict[str, Any],
    *,
    summary: dict[str, Any],
    commands: list[str],
    timings: dict[str, float],
    plot_name: str,
    settings: dict[str, Any],
) -> str:
    """``reports/loop.md``: settings, the per-round table, the bars, wall times and the decisions' records."""
    rounds = state["rounds"]
    header = [
        "round",
        "arm",
        "version",
        "true",
        "% of oracle",
        "proxy",
        "proxy − true",
        "√KL",
        "gate",
        "hidden truth (challenger − champion)",
        "agrees",
    ]
    lines = [
        "# The continuous-improvement loop",
        "",
        "Generated by `experiments.tasks.loop` (issue 10). The loop learns and gates from the store only; the "
        "numbers below come from the hidden truth on held-out families, which it never sees.",
        "",
        "## Settings",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in settings.items()]
    lines += ["", "## Per round", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in table_rows(rounds)]
    served = [
        (key, r["research"]["served"])
        for key, r in sorted(rounds.items(), key=lambda kv: int(kv[0]))
        if (r.get("research") or {}).get("served")
    ]
    if served:
        arms = sorted({arm for _, s in served for arm in s})
        lines += [
            "",
            "True satisfaction of the weeks each round served, by cohort and arm (what exploration "
            "costs the families that week):",
            "",
            "| round | " + " | ".join(arms) + " |",
            "|" + "---|" * (len(arms) + 1),
        ]
        lines += [f"| {key} | " + " | ".join(_fmt(s.get(arm)) for arm in arms) + " |" for key, s in served]
    lines += ["", f"![true vs proxy]({plot_name})", "", "## Bars", ""]
    lines += [f"- {k}: {v}" for k, v in summary.items()]
    lines += [
        "",
        "## Wall time per round (seconds)",
        "",
        "| round | " + " | ".join(_steps(rounds)) + " | total |",
        "|" + "---|" * (len(_steps(rounds)) + 2),
    ]
    for key in sorted(rounds, key=int):
        seconds = rounds[key].get("seconds", {})
        lines.append(
            f"| {key} | "
            + " | ".join(_fmt(seconds.get(s), 1) for s in _steps(rounds))
            + f" | {_fmt(sum(seconds.values()), 1)} |"
        )
    lines += ["", "Wall time: " + ", ".join(f"{k} {v:.0f} s" for k, v in timings.items()), "", "## Commands", ""]
    lines += [f"    {c}" for c in commands]
    return "\n".join(lines) + "\n"


def _steps(rounds: dict[str, dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(step for r in rounds.values() for step in r.get("seconds", {})))


def write_report(path: Path, text: str, fig) -> tuple[Path, Path]:
    """Write the markdown and the plot (PNG next to it); returns both paths."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    plot = path.with_name(path.stem + "_true_vs_proxy.png")
    fig.savefig(plot, dpi=110)
    path.write_text(text)
    return path, plot


__all__ = ["TRUTH_ALPHA", "arm_view", "figure", "markdown", "table_rows", "truth_verdict", "write_report"]
