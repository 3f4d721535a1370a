"""The promotion gate: equal or better challengers pass, a clearly worse one and one that fails a
single segment are blocked with the failing threshold named, rises in invalid or fallback
schedules block, and the verdict is a machine-readable record of every threshold."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.errors import ValidationError
from brightpath.expert import expert_params
from brightpath.gate import CHECKS, ArmRates, GateConfig, evaluate_gate
from brightpath.monitoring.degradation import observed_scores
from brightpath.schedule import summarize_params
from brightpath.segments import family_segments
from brightpath.simulator import generate_feedback, sample_families

CLEAN = ArmRates(invalid_rate=0.0, fallback_rate=0.01, n_schedules=2000)
FAST = GateConfig(n_bootstrap=200)


@pytest.fixture(scope="module")
def population():
    """2,000 families, the weeks the expert rule writes them, and their segments."""
    families = sample_families(2000, np.random.default_rng(60))
    summaries = summarize_params(expert_params(families.answers, families.child_age), families.grade_band)
    return families, summaries, family_segments(families.answers, families.child_age)


def _stars(families, summaries, seed: int) -> np.ndarray:
    """Observed satisfaction: the stars each family gives its week, 0–1, NaN without a rating."""
    return observed_scores(generate_feedback(families, summaries, np.random.default_rng(seed)))["stars"].to_numpy()


def _mixed_up(summaries: np.ndarray, share: float, seed: int, among: np.ndarray | None = None) -> np.ndarray:
    """Weeks with ``share`` of the families (of ``among``) served another family's week: a broken model."""
    rng = np.random.default_rng(seed)
    pool = np.flatnonzero(among) if among is not None else np.arange(len(summaries))
    chosen = rng.choice(pool, int(share * len(pool)), replace=False)
    out = summaries.copy()
    out[chosen] = summaries[rng.permutation(chosen)]
    return out


@pytest.mark.parametrize("paired", [True, False], ids=["paired", "welch"])
def test_an_equal_challenger_passes(population, paired):
    families, summaries, segments = population
    champion, challenger = _stars(families, summaries, 1), _stars(families, summaries, 2)
    if paired:
        verdict = evaluate_gate(
            champion,
            challenger,
            champion_rates=CLEAN,
            challenger_rates=CLEAN,
            segments=segments,
            paired=True,
            config=FAST,
        )
    else:  # a randomised split of the families into two arms
        arm = np.random.default_rng(3).random(len(families)) < 0.5
        verdict = evaluate_gate(
            champion[arm],
            challenger[~arm],
            champion_rates=CLEAN,
            challenger_rates=CLEAN,
            segments={k: v[arm] for k, v in segments.items()},
            challenger_segments={k: v[~arm] for k, v in segments.items()},
            config=FAST,
        )
    assert verdict.passed and verdict.decision == "promote" and verdict.reasons == []
    assert verdict.test == ("paired t-test" if paired else "Welch's t-test")


def test_a_better_challenger_passes(population):
    families, summaries, segments = population
    champion = _stars(families, _mixed_up(summaries, 0.3, seed=4), 5)
    challenger = _stars(families, summaries, 6)
    verdict = evaluate_gate(
        champion, challenger, champion_rates=CLEAN, challenger_rates=CLEAN, segments=segments, paired=True, config=FAST
    )
    assert verdict.passed
    overall = next(c for c in verdict.checks if c.name == "overall_regression")
    assert overall.value > 0.02 and overall.margin > 0


def test_a_clearly_worse_challenger_is_blocked_and_the_verdict_says_by_how_much(population):
    families, summaries, segments = population
    champion = _stars(families, summaries, 7)
    challenger = _stars(families, _mixed_up(summaries, 0.6, seed=8), 9)
    verdict = evaluate_gate(
        champion, challenger, champion_rates=CLEAN, challenger_rates=CLEAN, segments=segments, paired=True, config=FAST
    )
    assert not verdict.passed and verdict.decision == "reject"
    record = verdict.to_dict()
    assert "overall_regression" in record["failed_checks"]
    overall = next(c for c in verdict.checks if c.name == "overall_regression")
    assert overall.value < -0.05 and overall.margin == pytest.approx(overall.value + 0.01)
    assert overall.p_value < 1e-6 and overall.ci_high < 0
    assert any("regressed" in reason for reason in verdict.reasons)


def test_a_challenger_that_fails_one_segment_is_blocked_on_that_segment_alone(population):
    """Better for most families, clearly worse for teenagers: the overall mean barely moves."""
    families, summaries, segments = population
    rng = np.random.default_rng(10)
    champion = _stars(families, summaries, 11)
    teen = segments["age_band"] == "9-12"
    challenger = np.clip(champion + np.where(teen, -0.10, 0.05) + rng.normal(0, 0.05, len(champion)), 0, 1)
    verdict = evaluate_gate(
        champion, challenger, champion_rates=CLEAN, challenger_rates=CLEAN, segments=segments, paired=True, config=FAST
    )
    assert verdict.to_dict()["failed_checks"] == ["segment_regression:age_band=9-12"]
    (failed,) = verdict.failed
    assert failed.value < -0.03 and failed.p_holm < failed.alpha == 0.025 and "age_band=9-12" in failed.message


def test_rises_in_invalid_or_fallback_schedules_and_a_low_value_block(population):
    families, summaries, _ = population
    champion, challenger = _stars(families, summaries, 12), _stars(families, summaries, 13)
    flaky = ArmRates(invalid_rate=0.02, fallback_rate=0.05, n_schedules=2000)
    verdict = evaluate_gate(
        champion, challenger, champion_rates=CLEAN, challenger_rates=flaky, paired=True, config=FAST
    )
    assert verdict.to_dict()["failed_checks"] == ["invalid_rate_rise", "fallback_rate_rise"]
    fallback = verdict.failed[1]
    assert fallback.value == pytest.approx(0.04) and fallback.margin == pytest.approx(0.005 - 0.04)
    strict = GateConfig(value_floor=0.95, n_bootstrap=200)
    verdict = evaluate_gate(
        champion, challenger, champion_rates=CLEAN, challenger_rates=CLEAN, paired=True, config=strict
    )
    assert [c.name for c in verdict.failed] == ["value_floor"]


def test_the_verdict_records_every_threshold_and_serialises(population):
    families, summaries, segments = population
    champion, challenger = _stars(families, summaries, 14), _stars(families, summaries, 15)
    verdict = evaluate_gate(
        champion,
        challenger,
        champion_rates=CLEAN,
        challenger_rates=CLEAN,
        segments=segments,
        paired=True,
        config=FAST,
        names=("3", "4"),
    )
    record = json.loads(json.dumps(verdict.to_dict()))
    assert (record["champion"], record["challenger"], record["decision"]) == ("3", "4", "promote")
    names = [c["name"] for c in record["checks"]]
    assert list(dict.fromkeys(names)) == list(CHECKS)
    n_levels = sum(len(set(labels.tolist())) for labels in segments.values())
    assert names.count("segment_regression") == n_levels
    assert record["config"]["max_regression"] == 0.01
    assert all({"value", "threshold", "margin", "passed"} <= set(c) for c in record["checks"])


def test_small_segment_levels_are_skipped_and_never_block():
    rng = np.random.default_rng(16)
    champion = rng.uniform(0.5, 0.9, 200)
    challenger = champion.copy()
    labels = np.where(np.arange(200) < 5, "rare", "common")
    challenger[labels == "rare"] = 0.0  # dreadful, but only five families
    verdict = evaluate_gate(
        champion, challenger, champion_rates=CLEAN, challenger_rates=CLEAN, segments={"kind": labels}, paired=True
    )
    rare = next(c for c in verdict.checks if c.level == "rare")
    assert rare.skipped and rare.passed and "too few" in rare.message
    assert "segment_regression:kind=rare" not in verdict.to_dict()["failed_checks"]


def test_an_equal_challenger_is_rarely_blocked_over_repeated_randomised_tests(population):
    """Independent arms of 600 families (~330 scored) each, one generator: blocked ≤ 5 % (+3.5 sd)."""
    families, summaries, segments = population
    stars = np.concatenate([_stars(families, summaries, 17), _stars(families, summaries, 18)])
    labels = {k: np.concatenate([v, v]) for k, v in segments.items()}
    rng = np.random.default_rng(19)
    repetitions, blocked = 300, 0
    config = GateConfig(n_bootstrap=100)
    for _ in range(repetitions):
        index = rng.permutation(len(stars))[:1200]
        a, b = index[:600], index[600:]
        verdict = evaluate_gate(
            stars[a],
            stars[b],
            champion_rates=CLEAN,
            challenger_rates=CLEAN,
            segments={k: v[a] for k, v in labels.items()},
            challenger_segments={k: v[b] for k, v in labels.items()},
            config=config,
        )
        blocked += not verdict.passed
    print(f"equal challenger blocked in {blocked}/{repetitions} randomised tests")
    assert blocked <= repetitions * 0.05 + 3.5 * math.sqrt(repetitions * 0.05 * 0.95)


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.one_of(st.floats(0.0, 1.0), st.just(float("nan"))), min_size=2, max_size=60),
    paired=st.booleans(),
    seed=st.integers(0, 3),
)
def test_any_scores_give_a_verdict_or_an_error_naming_the_argument(scores, paired, seed):
    rng = np.random.default_rng(seed)
    other = np.clip(np.array(scores) + rng.normal(0, 0.1, len(scores)), 0, 1)
    labels = rng.choice(["a", "b"], len(scores))
    kwargs = (
        {"segments": {"s": labels}} if paired else {"segments": {"s": labels}, "challenger_segments": {"s": labels}}
    )
    try:
        verdict = evaluate_gate(
            scores, other, champion_rates=CLEAN, challenger_rates=CLEAN, paired=paired, config=FAST, **kwargs
        )
    except ValueError as err:
        assert isinstance(err, ValidationError) and err.field in ("champion_scores", "challenger_scores")
        return
    json.dumps(verdict.to_dict())
    assert verdict.passed == all(c.passed for c in verdict.checks)


@settings(max_examples=40, deadline=None)
@given(scores=st.lists(st.floats(0.0, 1.0), min_size=2, max_size=60))
def test_a_challenger_identical_to_the_champion_never_regresses(scores):
    verdict = evaluate_gate(
        scores, scores, champion_rates=CLEAN, challenger_rates=CLEAN, paired=True, config=GateConfig(value_floor=0.0)
    )
    assert verdict.passed


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"champion_scores": [0.5, 0.6], "challenger_scores": [0.5, 1.2]}, "challenger_scores"),
        ({"champion_scores": [0.5, "x"], "challenger_scores": [0.5, 0.6]}, "champion_scores"),
        ({"champion_scores": [0.5, np.nan], "challenger_scores": [0.5, 0.6]}, "champion_scores"),
        ({"champion_scores": [0.5, 0.6, 0.7], "challenger_scores": [0.5, 0.6], "paired": True}, "challenger_scores"),
        (
            {"champion_scores": [0.5, 0.6], "challenger_scores": [0.5, 0.6], "segments": {"s": ["a", "b"]}},
            "challenger_segments",
        ),
        (
            {"champion_scores": [0.5, 0.6], "challenger_scores": [0.5, 0.6], "segments": {"s": ["a"]}, "paired": True},
            "segments['s']",
        ),
        (
            {"champion_scores": [0.5, 0.6], "challenger_scores": [0.5, 0.6], "champion_rates": (0.0, 0.0)},
            "champion_rates",
        ),
    ],
)
def test_bad_input_raises_a_validation_error_naming_the_argument(kwargs, field):
    arguments = {"champion_rates": CLEAN, "challenger_rates": CLEAN, **kwargs}
    with pytest.raises(ValidationError) as info:
        evaluate_gate(**arguments)
    assert info.value.field == field


@pytest.mark.parametrize(
    ("make", "field"),
    [
        (lambda: ArmRates(invalid_rate=1.5, fallback_rate=0.0), "invalid_rate"),
        (lambda: ArmRates(invalid_rate=0.0, fallback_rate=0.0, n_schedules=-1), "n_schedules"),
        (lambda: GateConfig(max_regression=-0.1), "gate.max_regression"),
        (lambda: GateConfig(alpha=1.0), "gate.alpha"),
        (lambda: GateConfig(min_segment_size=1), "gate.min_segment_size"),
    ],
)
def test_bad_thresholds_are_rejected_naming_the_field(make, field):
    with pytest.raises(ValidationError) as info:
        make()
    assert info.value.field == field
