"""ScheduleWeeksEnv and ScheduleWeeksVectorEnv: registration, Gymnasium's checker, reproducible resets, the
observation's named slices and masks, both action modes, the pluggable reward (oracle, a stub WeekScorer),
episode ends, the batched path's one scorer call per step, and a trained actor through the adaptive harness."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import envs
from brightpath.adaptive import RepeatedGenerator, evaluate_weekly_policy
from brightpath.generators import ExpertGenerator
from brightpath.history import TOKEN_DIM, TOKEN_INDEX
from brightpath.schedule import N_PARAMS, params_to_unit
from brightpath.simulator import sample_families, true_scores
from brightpath.temporal import draw_start_weeks, week_context
from envs.weeks_batch import ScheduleWeeksVectorEnv
from envs.weeks_env import (
    ADJUST_STEP,
    ObservationPolicy,
    ScheduleWeeksEnv,
    WeekScoringRequest,
    observation_layout,
    observation_size,
    split_observation,
)


class StubScorer:
    """A history-aware reward model double: satisfaction = 0.2 + 0.1 · lived weeks seen in the history,
    engagement 0.5. Records every request."""

    def __init__(self) -> None:
        self.requests: list[WeekScoringRequest] = []

    def score_weeks(self, request: WeekScoringRequest):
        self.requests.append(request)
        n = len(request.params)
        assert len(request.layouts) == len(request.answers) == len(request.history) == n
        return {"satisfaction": 0.2 + 0.1 * request.history_mask.sum(axis=1), "engagement": np.full(n, 0.5)}


def test_import_registers_the_environment():
    spec = gym.spec(envs.WEEKS_ENV_ID)
    assert envs.WEEKS_ENV_ID == "BrightPath/ScheduleWeeks-v0"
    assert spec.entry_point == "envs.weeks_env:ScheduleWeeksEnv"
    assert spec.vector_entry_point == "envs.weeks_batch:ScheduleWeeksVectorEnv"


@pytest.mark.parametrize("render_mode", [None, "ansi", "rgb_array"])
@pytest.mark.parametrize("reward", [{"reward_source": "oracle"}, {"reward_model": StubScorer()}])
def test_passes_gymnasium_env_checker(reward, render_mode):
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make(envs.WEEKS_ENV_ID, render_mode=render_mode, weeks=3, **reward).unwrapped)


def _episode(seed, weeks=4, **kwargs):
    env = gym.make(envs.WEEKS_ENV_ID, reward_source="oracle", weeks=weeks, **kwargs)
    obs, info = env.reset(seed=seed)
    out = [obs, info["start_date"]]
    action = np.linspace(-0.8, 0.8, N_PARAMS).astype(np.float32)
    for _ in range(weeks):
        obs, reward, _, _, step_info = env.step(action)
        out += [obs, reward, step_info["true_satisfaction"]]
    return out


def test_same_seed_same_episode_other_seed_other_family():
    a, b, c = _episode(7), _episode(7), _episode(8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_observation_slices_and_masks_follow_the_weeks_lived():
    weeks = 5
    layout = observation_layout(weeks)
    assert observation_size(weeks) == 111 + 47 * weeks == layout["history_mask"].stop
    env = ScheduleWeeksEnv(weeks=weeks, reward_source="oracle")
    obs, _ = env.reset(seed=3)
    parts = split_observation(obs, weeks)
    assert parts["history"].shape == (weeks, TOKEN_DIM)
    assert parts["history_mask"].sum() == 0 and not parts["last"].any() and not parts["summary"].any()
    np.testing.assert_array_equal(parts["base"], parts["reference"])
    for week in range(weeks):
        action = np.full(N_PARAMS, 0.1 * week - 0.2, dtype=np.float32)
        obs, _, terminated, _, info = env.step(action)
        parts = split_observation(obs, weeks)
        assert env.observation_space.contains(obs) and not np.isnan(obs).any()
        assert parts["history_mask"].tolist() == [1.0] * (week + 1) + [0.0] * (weeks - week - 1)
        token = parts["history"][week]
        np.testing.assert_array_equal(parts["last"], token)
        np.testing.assert_allclose(token[:N_PARAMS], params_to_unit(info["params"]), atol=1e-6)
        np.testing.assert_allclose(parts["base"], params_to_unit(info["params"]), atol=1e-6)
        stars = info["feedback"]["stars"]
        assert token[TOKEN_INDEX["stars_observed"]] == (stars is not None)
        assert token[TOKEN_INDEX["stars"]] == (0.0 if stars is None else pytest.approx((stars - 1) / 4))
        kind = info["feedback"]["adjustment_kind"]
        assert token[TOKEN_INDEX["app_used"]] == (kind is not None)
        if kind is not None:
            assert token[TOKEN_INDEX[f"kind_{kind}"]] == 1.0
        assert terminated == (week == weeks - 1)
    assert parts["now"][-1] == 1.0 and not parts["now"][:-1].any()  # after the last week
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(N_PARAMS))


def test_the_truth_in_info_is_the_dated_weeks_truth():
    families = sample_families(3, np.random.default_rng(5))
    env = ScheduleWeeksEnv(weeks=3, reward_source="oracle", families=families)
    _, reset_info = env.reset(seed=0)
    family = families.take(np.flatnonzero(families.family_id == reset_info["family_id"]))
    for _ in range(3):
        _, reward, _, _, info = env.step(np.full(N_PARAMS, 0.3, dtype=np.float32))
        from brightpath.schedule import summarize_params

        truth = true_scores(
            family, summarize_params(info["params"][None], family.grade_band), week_context([info["date"]])
        )
        assert info["true_satisfaction"] == pytest.approx(float(truth["satisfaction"][0]), abs=1e-12)
        assert reward == pytest.approx(info["true_satisfaction"], abs=1e-6)


def test_adjust_mode_keeps_the_schedule_on_a_zero_action_and_moves_it_by_a_bounded_step():
    env = ScheduleWeeksEnv(weeks=4, reward_source="oracle", action_mode="adjust")
    obs, _ = env.reset(seed=11)
    reference = split_observation(obs, 4)["reference"].astype(np.float64)
    served = []
    for _ in range(2):
        served.append(env.step(np.zeros(N_PARAMS, dtype=np.float32))[4]["params"])
    np.testing.assert_array_equal(served[0], served[1])
    np.testing.assert_allclose(params_to_unit(served[0]), reference, atol=0.12)  # the expert, snapped to steps
    moved = env.step(np.ones(N_PARAMS, dtype=np.float32))[4]["params"]
    change = params_to_unit(moved) - params_to_unit(served[1])
    # Stepped parameters round to their step after the change: at most half a step (1/3 action unit
    # for breaks and start hour) beyond ADJUST_STEP.
    assert np.all(change >= -1e-9) and np.all(change <= ADJUST_STEP + 1 / 3 + 1e-9) and change.max() > 0.2


def test_model_reward_comes_from_the_scorer_with_the_history_before_the_week():
    scorer = StubScorer()
    env = ScheduleWeeksEnv(weeks=3, reward_model=scorer, reward_weights={"satisfaction": 1, "engagement": 1})
    env.reset(seed=0)
    for week in range(3):
        _, reward, _, _, info = env.step(np.zeros(N_PARAMS, dtype=np.float32))
        request = scorer.requests[-1]
        assert request.week_index.tolist() == [week] and request.history_mask.sum() == week
        assert reward == pytest.approx(((0.2 + 0.1 * week) + 0.5) / 2)
        assert info["proxy_satisfaction"] == pytest.approx(0.2 + 0.1 * week)
        assert 0.0 <= info["true_satisfaction"] <= 1.0
    assert len(scorer.requests) == 3


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="reward_model"):
        ScheduleWeeksEnv(reward_source="model")  # no history-aware scorer given
    with pytest.raises(ValueError, match="reward_source"):
        ScheduleWeeksEnv(reward_source="truth")
    with pytest.raises(ValueError, match="reward_weights"):
        ScheduleWeeksEnv(reward_source="oracle", reward_weights={"joy": 1.0})
    with pytest.raises(ValueError, match="weeks"):
        ScheduleWeeksEnv(reward_source="oracle", weeks=0)
    with pytest.raises(ValueError, match="action_mode"):
        ScheduleWeeksEnv(reward_source="oracle", action_mode="relative")
    with pytest.raises(ValueError, match="render_mode"):
        ScheduleWeeksEnv(reward_source="oracle", render_mode="human")
    with pytest.raises(ValueError, match="num_envs"):
        ScheduleWeeksVectorEnv(0, reward_source="oracle")
    env = ScheduleWeeksEnv(reward_source="oracle")
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(N_PARAMS))
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action: expected shape \(7,\)"):
        env.step(np.zeros(3))


@settings(max_examples=20, deadline=None)
@given(
    action=arrays(np.float32, N_PARAMS, elements=st.floats(-3.0, 3.0, width=32)),
    seed=st.integers(0, 2**16),
    mode=st.sampled_from(["absolute", "adjust"]),
)
def test_any_action_lives_a_valid_week_and_stays_in_the_observation_box(action, seed, mode):
    env = ScheduleWeeksEnv(weeks=2, reward_source="oracle", action_mode=mode)
    env.reset(seed=seed)
    obs, reward, _, _, info = env.step(action)
    assert env.observation_space.contains(obs) and 0.0 <= reward <= 1.0
    assert np.all(np.isfinite(info["params"]))


# --- the batched path --------------------------------------------------------------------------


def test_vector_env_calls_the_scorer_once_per_step_with_every_family():
    scorer = StubScorer()
    env = gym.make_vec(
        envs.WEEKS_ENV_ID, num_envs=16, vectorization_mode="vector_entry_point", weeks=3, reward_model=scorer
    )
    obs, info = env.reset(seed=0)
    assert obs.shape == (16, observation_size(3)) and env.single_observation_space.contains(obs[0])
    actions = np.random.default_rng(0).uniform(-1, 1, (16, N_PARAMS)).astype(np.float32)
    for week in range(3):
        _, reward, terminated, truncated, info = env.step(actions)
        assert [len(r.params) for r in scorer.requests] == [16] * (week + 1)
        assert terminated.all() == (week == 2) and not truncated.any() and reward.shape == (16,)
        assert info["true_satisfaction"].shape == (16,) and info["params"].shape == (16, N_PARAMS)
    obs, reward, terminated, _, _ = env.step(actions)  # next-step autoreset
    assert not terminated.any() and (reward == 0).all() and len(scorer.requests) == 3
    assert not split_observation(obs, 3)["history_mask"].any()


def test_a_one_family_vector_env_runs_the_single_envs_episode():
    single = ScheduleWeeksEnv(weeks=3, reward_source="oracle")
    vector = ScheduleWeeksVectorEnv(1, weeks=3, reward_source="oracle")
    a, _ = single.reset(seed=4)
    b, _ = vector.reset(seed=4)
    np.testing.assert_array_equal(a, b[0])
    for week in range(3):
        action = np.full(N_PARAMS, 0.2 * week - 0.3, dtype=np.float32)
        a, ra, _, _, ia = single.step(action)
        b, rb, _, _, ib = vector.step(action[None])
        np.testing.assert_array_equal(a, b[0])
        assert ra == pytest.approx(float(rb[0])) and ia["true_satisfaction"] == ib["true_satisfaction"][0]


def test_an_actor_runs_through_the_same_harness_as_the_baselines():
    """ObservationPolicy: an actor that plays the expert's reference is scored exactly like the repeated expert."""
    families = sample_families(40, np.random.default_rng(8))
    starts = draw_start_weeks(40, 4, np.random.default_rng(9), 2025)
    seen = []

    def reference_actor(obs):
        seen.append(obs)
        return split_observation(obs, 4)["reference"]

    actor = evaluate_weekly_policy(ObservationPolicy(reference_actor, weeks=4), families, starts, 4, seed=1)
    expert = evaluate_weekly_policy(RepeatedGenerator(ExpertGenerator()), families, starts, 4, seed=1)
    np.testing.assert_array_equal(actor, expert)
    assert [split_observation(o, 4)["history_mask"].sum(axis=1).max() for o in seen] == [0, 1, 2, 3]


def test_docstring_example_runs():
    import doctest

    import envs.weeks_env

    result = doctest.testmod(envs.weeks_env)
    assert result.attempted > 0 and result.failed == 0
