"""The multi-week world: temporal effects of the documented sizes, weekly feedback that carries the hidden
traits the way real feedback would (directions, noisy comments, silent families, skipped weeks), history
tokens, and the one-shot world's numbers unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brightpath.expert import expert_params
from brightpath.feedback import ADJUSTMENT_KINDS, parse_feedback
from brightpath.history import (
    FEEDBACK_VALUES,
    OBSERVED_FLAGS,
    SUMMARY_FEATURES,
    TOKEN_DIM,
    TOKEN_HIGH,
    TOKEN_INDEX,
    TOKEN_LOW,
    encode_weeks,
    summarize_history,
)
from brightpath.oracle import oracle_search
from brightpath.reward.targets import sentiment_scores
from brightpath.schedule import N_PARAMS, params_to_unit, summarize_params, unit_to_params
from brightpath.simulator import (
    COMPONENTS,
    SILENT_SHARE,
    generate_feedback,
    ideals,
    live_week,
    sample_families,
    sample_survey_habits,
    temporal_effects,
    true_components,
    true_scores,
    weekly,
)
from brightpath.temporal import morning_darkness, week_context, week_features


@pytest.fixture(scope="module")
def families():
    return sample_families(3000, np.random.default_rng(41))


def _context(monday: str, n: int):
    return week_context(np.full(n, np.datetime64(monday)))


# --- the one-shot world is unchanged -----------------------------------------------------------


def _one_shot_sample():
    rng = np.random.default_rng(5)
    fam = sample_families(1500, rng)
    params = unit_to_params(rng.uniform(-1, 1, (1500, N_PARAMS)))
    return fam, summarize_params(params, fam.grade_band)


def test_one_shot_truth_feedback_and_oracle_keep_their_numbers():
    """Values recorded before the weekly world existed (commit 9bc22c1): a week without a date scores as before."""
    fam, summaries = _one_shot_sample()
    satisfaction = true_scores(fam, summaries)["satisfaction"]
    assert satisfaction[:4].tolist() == [
        0.4723254801890864,
        0.24208168864027743,
        0.4037048959323288,
        0.37187611077921456,
    ]
    assert float(satisfaction.sum()) == pytest.approx(571.0413139520192, abs=1e-9)
    feedback = generate_feedback(fam, summaries, np.random.default_rng(3))
    np.testing.assert_array_equal(feedback["stars"][:8], [np.nan, 1, 3, 2, 2, 3, 3, 4])
    assert list(feedback["adjustment_kind"][:6]) == [
        "reduce_load",
        "reduce_load",
        "group_subjects",
        "none",
        "reduce_load",
        "group_subjects",
    ]
    oracle = oracle_search(fam.take(np.arange(60)), np.random.default_rng(1), n_random=128, n_rounds=2, n_local=8)
    assert float(oracle.satisfaction.sum()) == pytest.approx(49.36603512433618, abs=1e-9)


# --- temporal effects, each of its documented size ---------------------------------------------


def test_winter_mornings_move_the_ideal_start_later_by_up_to_45_minutes(families):
    n = len(families)
    dateless = ideals(families)["start"]
    december = _context("2025-12-15", n)  # the week of the solstice
    september = _context("2025-09-08", n)
    february = _context("2026-02-02", n)
    np.testing.assert_allclose(
        ideals(families, december)["start"] - dateless, 0.75 * morning_darkness(december.day_of_year), atol=1e-12
    )
    assert float((ideals(families, december)["start"] - dateless)[0]) == pytest.approx(0.75, abs=0.01)
    assert float((ideals(families, february)["start"] - dateless)[0]) == pytest.approx(0.53, abs=0.03)
    np.testing.assert_allclose(ideals(families, september)["start"], dateless, atol=1e-12)


def test_the_weeks_before_a_holiday_want_a_lighter_load(families):
    n = len(families)
    dateless = ideals(families)["load"]
    for monday, factor in (("2025-11-17", 0.8), ("2025-11-10", 0.9), ("2025-11-03", 1.0), ("2026-05-25", 0.8)):
        np.testing.assert_allclose(ideals(families, _context(monday, n))["load"], factor * dateless, rtol=1e-12)


def test_the_first_weeks_back_want_shorter_blocks_and_more_pauses(families):
    n = len(families)
    dateless = ideals(families)
    for monday, factor in (("2026-01-05", 0.8), ("2026-01-12", 0.9), ("2025-08-25", 0.8), ("2026-01-19", 1.0)):
        shifted = ideals(families, _context(monday, n))
        np.testing.assert_allclose(shifted["pauses"], factor * dateless["pauses"], rtol=1e-12)
        unclipped = (dateless["block"] > 15.0) & (dateless["block"] < 60.0)
        np.testing.assert_allclose(
            shifted["block"][unclipped & (shifted["block"] > 12.0)],
            factor * dateless["block"][unclipped & (shifted["block"] > 12.0)],
            rtol=1e-12,
        )


def test_spring_afternoons_end_the_day_half_an_hour_earlier(families):
    n = len(families)
    dateless = ideals(families)["end"]
    np.testing.assert_allclose(ideals(families, _context("2026-05-04", n))["end"], dateless - 0.5)
    np.testing.assert_allclose(ideals(families, _context("2026-04-27", n))["end"], dateless)


def test_a_lighter_week_pays_off_before_a_holiday_not_mid_term(families):
    """The effect reaches the truth: cutting the expert's load by 20 % gains more in the last week before a break."""
    fam = families.take(np.arange(600))
    base = expert_params(fam.answers, fam.child_age).astype(np.float64)
    base[:, 4] = np.clip(np.round(1.1 * (90 + 15 * (fam.age - 5)) / 5) * 5, 60, 300)  # near the usual load
    lighter = base.copy()
    lighter[:, 4] = np.clip(np.round(0.8 * base[:, 4] / 5) * 5, 60, 300)

    def gain(monday):
        context = _context(monday, len(fam))
        light = true_scores(fam, summarize_params(lighter, fam.grade_band), context)["satisfaction"]
        usual = true_scores(fam, summarize_params(base, fam.grade_band), context)["satisfaction"]
        return float((light - usual).mean())

    assert gain("2025-11-17") > gain("2025-10-06") + 0.01


def test_a_dateless_context_is_neutral_and_contexts_must_align(families):
    effects = temporal_effects(None)
    assert (effects.start_delay_hours, effects.load_factor, effects.attention_factor) == (0.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="context"):
        ideals(families, _context("2025-09-08", 3))


# --- weekly feedback ---------------------------------------------------------------------------


def _live(fam, params, monday="2025-10-06", seed=0, weeks_lived=0, habits=None):
    rng = np.random.default_rng(seed)
    habits = habits if habits is not None else sample_survey_habits(len(fam), np.random.default_rng(seed + 1))
    return live_week(fam, habits, _context(monday, len(fam)), params, weeks_lived, rng)


def _kind_counts(feedback, kinds):
    names = np.array(ADJUSTMENT_KINDS)[np.maximum(feedback.adjustment_kind, 0)]
    recorded = feedback.adjustment_kind >= 0
    return {kind: int(((names == kind) & recorded).sum()) for kind in kinds}


def test_adjustments_point_the_right_way(families):
    """A family whose blocks are far too long says "shorten", never by how much; too late a start → "earlier"."""
    young = families.take(np.flatnonzero(families.age <= 7))
    old = families.take(np.flatnonzero(families.age >= 15))
    long_blocks = expert_params(young.answers, young.child_age).astype(np.float64)
    long_blocks[:, 1] = 60
    short_blocks = expert_params(old.answers, old.child_age).astype(np.float64)
    short_blocks[:, 1] = 15
    counts = _kind_counts(_live(young, long_blocks).feedback, ("shorten_blocks", "lengthen_blocks"))
    assert counts["shorten_blocks"] > 30 and counts["lengthen_blocks"] <= 0.05 * counts["shorten_blocks"]
    counts = _kind_counts(_live(old, short_blocks).feedback, ("shorten_blocks", "lengthen_blocks"))
    assert counts["lengthen_blocks"] > 30 and counts["shorten_blocks"] <= 0.05 * counts["lengthen_blocks"]
    late = expert_params(families.answers, families.child_age).astype(np.float64)
    late[:, 3], late[:, 4] = 10, 300
    counts = _kind_counts(
        _live(families, late).feedback, ("move_start_earlier", "move_start_later", "reduce_load", "add_load")
    )
    assert counts["move_start_earlier"] > 5 * max(counts["move_start_later"], 1)
    assert counts["reduce_load"] > 5 * max(counts["add_load"], 1)


def test_adjustment_kinds_and_counts_agree_and_are_missing_without_the_app(families):
    fam = families.take(np.arange(2000))
    params = unit_to_params(np.random.default_rng(2).uniform(-1, 1, (2000, N_PARAMS)))
    fb = _live(fam, params).feedback
    used = fb.app_used
    assert 0.93 < used.mean() < 0.97
    for name in ("completion_rate", "adherence", "n_adjustments"):
        assert np.all(np.isnan(getattr(fb, name)[~used]))
    assert np.all((fb.adjustment_kind[used] == 0) == (fb.n_adjustments[used] == 0))
    assert np.all((fb.adjustment_kind >= -1) & (fb.adjustment_kind < len(ADJUSTMENT_KINDS)))
    kinds = set(np.unique(fb.adjustment_kind[used & (fb.n_adjustments > 0)]).tolist())
    assert len(kinds) >= 8


def test_silent_families_never_answer_and_others_skip_weeks(families):
    fam = families.take(np.arange(3000))
    params = expert_params(fam.answers, fam.child_age)
    habits = sample_survey_habits(len(fam), np.random.default_rng(9))
    assert abs(habits.silent.mean() - SILENT_SHARE) < 3 * np.sqrt(SILENT_SHARE * (1 - SILENT_SHARE) / len(fam))
    first = _live(fam, params, habits=habits, weeks_lived=0)
    late = _live(fam, params, habits=habits, weeks_lived=7)
    for week in (first, late):
        fb = week.feedback
        silent = habits.silent
        assert np.all(np.isnan(fb.stars[silent]) & np.isnan(fb.likert_satisfaction[silent]))
        assert np.all(fb.comment_code[silent] == -1)
        assert not np.all(np.isnan(fb.completion_rate[silent]))  # the app still records what they do
    sat = first.true["satisfaction"]
    expected = (fam.responsiveness * (0.75 + 0.5 * np.abs(sat - 0.5)))[~habits.silent].mean()
    answered = ~np.isnan(first.feedback.stars[~habits.silent])
    assert abs(answered.mean() - expected) < 0.035
    assert 0.3 < answered.mean() < 0.9  # the talking families still skip weeks
    late_answered = ~np.isnan(late.feedback.stars[~habits.silent])
    assert late_answered.mean() < answered.mean() - 0.05  # survey fatigue: 0.97^7 ≈ 0.81


def test_comments_are_noisy_but_mostly_about_the_worst_part(families):
    fam = families.take(np.arange(3000))
    params = unit_to_params(np.random.default_rng(4).uniform(-1, 1, (3000, N_PARAMS)))
    week = _live(fam, params, seed=5)
    codes = week.feedback.comment_code
    written = np.flatnonzero(codes >= 0)
    stacked = np.stack(
        [true_components(fam, week.summaries, _context("2025-10-06", len(fam)))[c] for c in COMPONENTS], axis=1
    )
    decoded = np.array([weekly._decode(c) for c in codes[written]])
    tone, main = decoded[:, 0], decoded[:, 2]
    complaint = tone >= 2
    on_topic = main[complaint] == stacked[written[complaint]].argmin(axis=1)
    assert complaint.sum() > 300
    assert abs(on_topic.mean() - weekly.COMMENT_ON_TOPIC) < 0.05
    assert np.isin(codes[written], weekly.writable_comment_codes()).all()  # so the sentiment table covers them
    assert not np.isnan(week.feedback.sentiment[written]).any()


def test_comment_sentiment_is_the_reward_models_reading_of_the_text():
    writable = weekly.writable_comment_codes()
    codes = np.random.default_rng(0).choice(writable, 300, replace=False)
    table = weekly.comment_sentiment(codes)
    for phrase in range(5):  # whichever way the parent names the child
        np.testing.assert_allclose(
            sentiment_scores([weekly.comment_text(c, phrase) for c in codes.tolist()]), table, atol=1e-12
        )
    assert np.isnan(weekly.comment_sentiment(np.array([-1]))[0])


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 40))
def test_a_weeks_feedback_is_valid_feedback_and_reproducible(seed, n):
    rng = np.random.default_rng(seed)
    fam = sample_families(n, rng)
    params = unit_to_params(rng.uniform(-1, 1, (n, N_PARAMS)))
    a, b = _live(fam, params, seed=seed % 1000), _live(fam, params, seed=seed % 1000)
    for name in ("stars", "likert_satisfaction", "completion_rate", "n_adjustments"):
        np.testing.assert_array_equal(getattr(a.feedback, name), getattr(b.feedback, name))
    for i in range(n):
        row = a.feedback.row(i)
        parse_feedback(row)
        assert row["stars"] is None or 1 <= row["stars"] <= 5
    assert np.all((a.true["satisfaction"] >= 0) & (a.true["satisfaction"] <= 1))


# --- history tokens ----------------------------------------------------------------------------


def test_tokens_encode_observed_feedback_and_flag_what_is_missing(families):
    fam = families.take(np.arange(500))
    params = expert_params(fam.answers, fam.child_age)
    week = _live(fam, params)
    now = week_features(_context("2025-10-06", len(fam)))
    tokens = encode_weeks(params_to_unit(week.params), now, week.feedback)
    assert tokens.shape == (500, TOKEN_DIM) and np.all(tokens >= TOKEN_LOW) and np.all(tokens <= TOKEN_HIGH)
    assert not np.isnan(tokens).any()
    fb = week.feedback
    stars_seen = ~np.isnan(fb.stars)
    np.testing.assert_array_equal(tokens[:, TOKEN_INDEX["stars_observed"]], stars_seen)
    np.testing.assert_allclose(tokens[stars_seen, TOKEN_INDEX["stars"]], (fb.stars[stars_seen] - 1) / 4)
    assert np.all(tokens[~stars_seen, TOKEN_INDEX["stars"]] == 0)
    kinds = tokens[:, TOKEN_INDEX["kind_none"] : TOKEN_INDEX["kind_none"] + len(ADJUSTMENT_KINDS)]
    np.testing.assert_array_equal(kinds.sum(axis=1), fb.app_used)
    np.testing.assert_array_equal(kinds[fb.app_used].argmax(axis=1), fb.adjustment_kind[fb.app_used])


def test_the_summary_averages_each_signal_over_the_weeks_it_was_seen():
    history = np.zeros((1, 4, TOKEN_DIM), dtype=np.float32)
    for week, stars in enumerate((0.5, None, 1.0)):
        history[0, week, TOKEN_INDEX["lived"]] = 1
        history[0, week, TOKEN_INDEX["app_used"]] = 1
        history[0, week, TOKEN_INDEX["kind_shorten_blocks" if week else "kind_none"]] = 1
        if stars is not None:
            history[0, week, TOKEN_INDEX["stars"]] = stars
            history[0, week, TOKEN_INDEX["stars_observed"]] = 1
    summary = dict(zip(SUMMARY_FEATURES, summarize_history(history)[0]))
    assert summary["weeks_lived"] == pytest.approx(0.75)
    assert summary["mean_stars"] == pytest.approx(0.75)
    assert summary["share_stars_observed"] == pytest.approx(2 / 3)
    assert summary["share_kind_shorten_blocks"] == pytest.approx(2 / 3)
    assert summarize_history(np.zeros((2, 3, TOKEN_DIM))).sum() == 0
    assert len(FEEDBACK_VALUES) == 8 and len(OBSERVED_FLAGS) == 6
