"""envs.rendering and the render modes of both environments: the week as text and as a timetable image
(uint8 [H, W, 3]) that changes with the schedule; Schedule-v0's numbers are untouched by rendering."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import envs
from brightpath.schedule import DAY_NAMES, N_PARAMS, ScheduleParams, build_layout
from envs.rendering import IMAGE_WIDTH, STRIP_HEIGHT, SUBJECT_COLOURS, TIMETABLE_HEIGHT, render_week, timetable_image
from envs.schedule_env import EMPTY_LAYOUT


def _layout(vector, band=1):
    return build_layout(ScheduleParams.from_vector(vector), band)


def test_the_image_is_rgb_bytes_of_a_fixed_size():
    image = timetable_image(_layout([0.5, 30, 3, 8, 180, 0.5, 10]))
    assert image.shape == (TIMETABLE_HEIGHT, IMAGE_WIDTH, 3) and image.dtype == np.uint8
    with_bars = timetable_image(_layout([0.5, 30, 3, 8, 180, 0.5, 10]), bars=[0.2, np.nan, 3.0])
    assert with_bars.shape == (TIMETABLE_HEIGHT + STRIP_HEIGHT, IMAGE_WIDTH, 3)
    np.testing.assert_array_equal(with_bars[:TIMETABLE_HEIGHT], image)


def test_the_picture_changes_with_the_schedule():
    early = timetable_image(_layout([1.0, 30, 3, 7, 180, 0.5, 10]))
    late = timetable_image(_layout([1.0, 30, 3, 10, 180, 0.5, 10]))
    longer = timetable_image(_layout([1.0, 30, 3, 7, 300, 0.5, 10]))
    empty = timetable_image(EMPTY_LAYOUT)
    assert not np.array_equal(early, late) and not np.array_equal(early, longer)

    def coloured(image):
        return int((np.ptp(image.astype(int), axis=2) > 60).sum())

    assert coloured(empty) == 0 < coloured(early) < coloured(longer)


def test_bars_grow_with_their_values():
    low, high = timetable_image(EMPTY_LAYOUT, bars=[0.1]), timetable_image(EMPTY_LAYOUT, bars=[0.9])
    assert (high[TIMETABLE_HEIGHT:] < 200).sum() > (low[TIMETABLE_HEIGHT:] < 200).sum()


@settings(max_examples=30, deadline=None)
@given(unit=arrays(np.float64, N_PARAMS, elements=st.floats(-1, 1)), band=st.integers(0, 3))
def test_every_week_draws_and_shows_each_of_its_subjects(unit, band):
    from brightpath.child import SUBJECTS
    from brightpath.schedule import unit_to_params

    layout = _layout(unit_to_params(unit), band)
    image = timetable_image(layout)
    packed = np.unique(image.reshape(-1, 3).astype(np.int64) @ np.array([65536, 256, 1]))
    for subject in set(layout[layout[:, 1] == 1, 2].tolist()):
        red, green, blue = SUBJECT_COLOURS[SUBJECTS[subject - 1]]
        assert red * 65536 + green * 256 + blue in packed
    text = render_week(layout, unit_to_params(unit))
    assert all(day in text for day in DAY_NAMES)


def test_schedule_env_renders_rgb_array_without_changing_its_numbers():
    action = np.linspace(-0.5, 0.5, N_PARAMS).astype(np.float32)
    outputs = {}
    for mode in (None, "ansi", "rgb_array"):
        env = gym.make(envs.ENV_ID, reward_source="oracle", render_mode=mode)
        obs, _ = env.reset(seed=2)
        before = env.render()
        _, reward, _, _, info = env.step(action)
        outputs[mode] = (obs, reward, info["true_satisfaction"], before, env.render())
    for mode in ("ansi", "rgb_array"):
        for a, b in zip(outputs[mode][:3], outputs[None][:3]):
            np.testing.assert_array_equal(a, b)
    before, after = outputs["rgb_array"][3:]
    assert before.dtype == np.uint8 and before.shape == after.shape == (TIMETABLE_HEIGHT, IMAGE_WIDTH, 3)
    assert not np.array_equal(before, after)
    assert "Monday" in outputs["ansi"][4] and outputs[None][4] is None


@pytest.mark.parametrize("mode", ["ansi", "rgb_array"])
def test_weeks_env_renders_the_week_just_lived(mode):
    env = gym.make(envs.WEEKS_ENV_ID, reward_source="oracle", weeks=3, render_mode=mode)
    env.reset(seed=0)
    frames = [env.render()]
    for week in range(3):
        env.step(np.full(N_PARAMS, -0.6 + 0.6 * week, dtype=np.float32))
        frames.append(env.render())
    if mode == "ansi":
        assert frames[0].startswith("no week")
        assert all("feedback:" in f and "Friday" in f for f in frames[1:]) and "week 3/3" in frames[-1]
    else:
        assert {f.shape for f in frames} == {(TIMETABLE_HEIGHT + STRIP_HEIGHT, IMAGE_WIDTH, 3)}
        assert all(f.dtype == np.uint8 for f in frames)
        assert len({f.tobytes() for f in frames}) == len(frames)
