"""ScheduleEnv and ScheduleVectorEnv (CONTRACTS §5): registration, Gymnasium's checker, spaces,
reproducible resets, schedules valid by construction, the hidden truth in ``info``, and the
batched path's one reward-model call per step."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import envs
from brightpath import simulator
from brightpath.expert import expert_params
from brightpath.features import profile_features
from brightpath.schedule import (
    N_PARAMS,
    PARAM_SPECS,
    ScheduleParams,
    build_layout,
    json_to_layout,
    layout_to_json,
    params_to_unit,
    summarize_many,
)
from envs.batch import ScheduleVectorEnv
from envs.schedule_env import OBS_DIM, REFERENCE_SLICE, ScheduleEnv, ScheduleRewards


class FakeScorer:
    """A reward model double: satisfaction = share of the day's minutes in subject blocks,
    engagement 0.5, effectiveness 0.25. Records the batch size of every call."""

    def __init__(self) -> None:
        self.calls: list[int] = []

    def score_layouts(self, layouts, answers, child_age, grade_band):
        assert len(layouts) == len(answers) == len(child_age) == len(grade_band)
        self.calls.append(len(layouts))
        subject = np.array([layout[layout[:, 1] == 1, 4].sum() / layout[:, 4].sum() for layout in layouts])
        n = len(layouts)
        return {
            "satisfaction": subject.astype(np.float32),
            "engagement": np.full(n, 0.5, np.float32),
            "effectiveness": np.full(n, 0.25, np.float32),
        }


def test_import_registers_the_environment():
    assert envs.ENV_ID == "BrightPath/Schedule-v0"
    spec = gym.spec(envs.ENV_ID)
    assert spec.entry_point == "envs.schedule_env:ScheduleEnv"
    assert spec.vector_entry_point == "envs.batch:ScheduleVectorEnv"


@pytest.mark.parametrize("reward", [{"reward_source": "oracle"}, {"reward_model": FakeScorer()}])
def test_passes_gymnasium_env_checker(reward):
    from gymnasium.utils.env_checker import check_env

    check_env(gym.make(envs.ENV_ID, **reward).unwrapped)
    check_env(gym.make(envs.ENV_ID, render_mode="ansi", **reward).unwrapped)


def test_reward_model_path_is_loaded_with_the_reward_scorer(tmp_path, monkeypatch):
    """``reward_model=PATH`` goes to ``brightpath.reward.scoring.RewardScorer(PATH)``."""
    import brightpath.reward.scoring as scoring

    opened = []

    class Recording(FakeScorer):
        def __init__(self, directory):
            super().__init__()
            opened.append(directory)

    monkeypatch.setattr(scoring, "RewardScorer", Recording)
    env = gym.make(envs.ENV_ID, reward_model=str(tmp_path / "reward"))
    env.reset(seed=0)
    env.step(env.action_space.sample())
    assert opened == [tmp_path / "reward"]


def test_observation_is_the_profile_and_the_expert_reference():
    env = ScheduleEnv(reward_source="oracle", families=simulator.sample_families(5, np.random.default_rng(3)))
    for seed in range(10):
        obs, info = env.reset(seed=seed)
        family = env.families.take(np.flatnonzero(env.families.family_id == info["family_id"])[:1])
        assert obs.shape == (OBS_DIM,) and obs.dtype == np.float32 and env.observation_space.contains(obs)
        np.testing.assert_allclose(obs[:11], profile_features(family.answers, family.child_age)[0], atol=1e-6)
        np.testing.assert_allclose(
            obs[REFERENCE_SLICE], params_to_unit(expert_params(family.answers, family.child_age))[0], atol=1e-6
        )


def test_same_seed_same_episode_and_randomness_only_from_np_random():
    def episode(seed):
        env = gym.make(envs.ENV_ID, reward_source="oracle")
        obs, info = env.reset(seed=seed)
        action = np.linspace(-0.9, 0.9, N_PARAMS).astype(np.float32)
        _, reward, _, _, info = env.step(action)
        obs2, _ = env.reset()
        return obs, reward, info["true_satisfaction"], obs2

    a, b, c = episode(7), episode(7), episode(8)
    for x, y in zip(a, b):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])


def test_one_step_episode_and_its_info():
    env = ScheduleEnv(reward_source="oracle")
    obs, _ = env.reset(seed=0)
    obs_after, reward, terminated, truncated, info = env.step(obs[REFERENCE_SLICE])
    assert terminated is True and truncated is False
    np.testing.assert_array_equal(obs_after, obs)
    assert set(info) >= {"true_satisfaction", "proxy_satisfaction", "params", "family_id"}
    # The oracle source rewards with the hidden truth itself.
    assert reward == pytest.approx(info["true_satisfaction"], abs=1e-6)
    assert info["proxy_satisfaction"] == pytest.approx(info["true_satisfaction"], abs=1e-6)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(obs[REFERENCE_SLICE])


def test_info_holds_the_simulators_truth_and_the_model_gives_the_reward():
    families = simulator.sample_families(1, np.random.default_rng(11))
    scorer = FakeScorer()
    env = ScheduleEnv(reward_model=scorer, families=families, reward_weights={"satisfaction": 1, "engagement": 1})
    env.reset(seed=0)
    action = np.array([0.2, -0.5, 0.0, 0.3, 0.1, -0.2, 0.4], dtype=np.float32)
    _, reward, _, _, info = env.step(action)
    layout = build_layout(ScheduleParams.from_unit(action), int(families.grade_band[0]))
    truth = simulator.true_scores(families, summarize_many([layout], families.grade_band))
    assert info["true_satisfaction"] == pytest.approx(float(truth["satisfaction"][0]))
    proxy = float(
        scorer.score_layouts([layout], families.answers, families.child_age, families.grade_band)["satisfaction"][0]
    )
    assert info["proxy_satisfaction"] == pytest.approx(proxy)
    assert reward == pytest.approx((proxy + 0.5) / 2)  # weighted mean of satisfaction and engagement
    np.testing.assert_allclose(info["params"], ScheduleParams.from_unit(action).to_vector())


@settings(max_examples=40, deadline=None)
@given(action=arrays(np.float32, N_PARAMS, elements=st.floats(-3.0, 3.0, width=32)), seed=st.integers(0, 2**16))
def test_any_action_gives_a_valid_week(action, seed):
    """Invalid schedules are prevented by construction: any action (even outside the box) is a valid week."""
    env = ScheduleEnv(reward_source="oracle", render_mode="ansi")
    env.reset(seed=seed)
    _, reward, _, _, info = env.step(action)
    assert 0.0 <= reward <= 1.0
    params = info["params"]
    for value, spec in zip(params, PARAM_SPECS):
        assert spec.low <= value <= spec.high
    layout = env._last.layouts[0]
    roundtrip = json_to_layout(layout_to_json(layout, {"source": "ppo"}))
    np.testing.assert_array_equal(roundtrip, layout)
    assert "Monday" in env.render()


def test_fixed_families_are_the_only_ones_drawn():
    families = simulator.sample_families(3, np.random.default_rng(0), first_id=100)
    env = ScheduleEnv(reward_source="oracle", families=families)
    seen = {env.reset(seed=s)[1]["family_id"] for s in range(30)}
    assert seen == {100, 101, 102}


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="reward_source"):
        ScheduleEnv(reward_source="truth")
    with pytest.raises(ValueError, match="reward_weights.*happiness"):
        ScheduleEnv(reward_source="oracle", reward_weights={"happiness": 1.0})
    with pytest.raises(ValueError, match="reward_weights"):
        ScheduleEnv(reward_source="oracle", reward_weights={"satisfaction": 0.0})
    with pytest.raises(ValueError, match="num_envs"):
        ScheduleVectorEnv(0, reward_source="oracle")
    env = ScheduleEnv(reward_source="oracle")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action: expected shape \(7,\).*got shape \(3,\)"):
        env.step(np.zeros(3))


# --- the batched path ------------------------------------------------------------------------


def test_vector_env_scores_the_whole_batch_in_one_reward_model_call():
    scorer = FakeScorer()
    env = gym.make_vec(envs.ENV_ID, num_envs=16, vectorization_mode="vector_entry_point", reward_model=scorer)
    obs, info = env.reset(seed=0)
    assert obs.shape == (16, OBS_DIM) and env.single_observation_space.contains(obs[0])
    actions = np.random.default_rng(0).uniform(-1, 1, (16, N_PARAMS)).astype(np.float32)
    _, reward, terminated, truncated, info = env.step(actions)
    assert scorer.calls == [16]
    assert terminated.all() and not truncated.any() and reward.shape == (16,)

    # Each row is what scoring that family alone computes (the families drawn again from the seed).
    from gymnasium.utils.seeding import np_random

    from envs.schedule_env import draw_families

    families = draw_families(None, 16, np_random(0)[0])
    np.testing.assert_array_equal(families.family_id, info["family_id"])
    for i in (0, 7, 15):
        alone = ScheduleRewards("model", FakeScorer()).score(families.take([i]), actions[i : i + 1])
        assert alone.reward[0] == pytest.approx(reward[i], rel=1e-6)
        assert alone.true["satisfaction"][0] == pytest.approx(info["true_satisfaction"][i])
        np.testing.assert_allclose(info["params"][i], ScheduleParams.from_unit(actions[i]).to_vector())


def test_vector_env_autoresets_on_the_next_step():
    env = ScheduleVectorEnv(4, reward_source="oracle")
    first, _ = env.reset(seed=1)
    env.step(np.zeros((4, N_PARAMS)))
    obs, reward, terminated, truncated, _ = env.step(np.zeros((4, N_PARAMS)))
    assert not terminated.any() and not truncated.any() and (reward == 0).all()
    assert not np.array_equal(obs, first)  # new families
    again, _ = ScheduleVectorEnv(4, reward_source="oracle").reset(seed=1)
    np.testing.assert_array_equal(again, first)


def test_docstring_example_runs():
    import doctest

    import envs.schedule_env

    result = doctest.testmod(envs.schedule_env)
    assert result.attempted > 0 and result.failed == 0
