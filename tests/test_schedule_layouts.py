"""The batched layout builder (``build_layouts``) against the one-week definition (``build_layout``),
and the ragged ``LayoutBatch`` read by the summary, the tokens and the reward model's inputs."""

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from brightpath.reward.inputs import build_inputs
from brightpath.schedule import (
    DAY_END_MINUTE,
    N_PARAMS,
    PARAM_SPECS,
    TYPE_LUNCH,
    TYPE_SUBJECT,
    LayoutBatch,
    ScheduleParams,
    build_layout,
    build_layouts,
    encode_layouts,
    summarize_many,
)
from brightpath.simulator import sample_families

# Weeks chosen to exercise each branch of build_layout (checked by test_edge_examples_hit_their_edge).
TRUNCATED_AT_18 = ScheduleParams(1.0, 15, 2, 10, 300, 0.5, 20)  # 20 blocks + 9 breaks + lunch from 10:00
LUNCH_REPLACES_BREAK = ScheduleParams(0.0, 15, 2, 7, 240, 0.5, 5)  # lunch falls after an even block
TRAILING_PAUSE_DROPPED = ScheduleParams(0.0, 15, 2, 10, 300, 0.5, 20)  # cut right after a break's block
EDGE_EXAMPLES = (TRUNCATED_AT_18, LUNCH_REPLACES_BREAK, TRAILING_PAUSE_DROPPED)


def _on_grid(spec):
    """Values on a parameter's grid, plus the continuous parameters' rounding boundaries:
    structure at multiples of 0.2 (where a day starts keeping Monday's order) and rotation at
    quarters (where the run length rounds half to even)."""
    if spec.step:
        return st.sampled_from(list(np.arange(spec.low, spec.high + spec.step / 2, spec.step)))
    return st.one_of(st.sampled_from([0.0, 0.2, 0.25, 0.4, 0.5, 0.6, 0.75, 0.8, 1.0]), st.floats(0.0, 1.0))


grid_vectors = st.tuples(*(_on_grid(spec) for spec in PARAM_SPECS)).map(lambda v: np.array(v, dtype=np.float64))
raw_vectors = arrays(np.float64, N_PARAMS, elements=st.floats(-50.0, 500.0, allow_nan=False))
weeks = st.lists(st.tuples(st.one_of(grid_vectors, raw_vectors), st.integers(0, 3)), min_size=1, max_size=40)


def _assert_equals_one_at_a_time(vectors, bands):
    batch = build_layouts(vectors, bands)
    assert len(batch) == len(vectors)
    assert batch.rows.dtype == np.int32 and batch.offsets[0] == 0 and batch.offsets[-1] == len(batch.rows)
    for i, (vector, band) in enumerate(zip(vectors, bands)):
        expected = build_layout(ScheduleParams.from_vector(vector), int(band))
        assert batch[i].dtype == expected.dtype
        np.testing.assert_array_equal(batch[i], expected, err_msg=f"week {i}: {vector.tolist()}, band {band}")


@settings(max_examples=300, deadline=None)
@given(weeks=weeks)
@example(weeks=[(p.to_vector(), band) for p in EDGE_EXAMPLES for band in range(4)])
def test_batched_layouts_equal_build_layout_row_for_row(weeks):
    vectors = np.stack([vector for vector, _ in weeks])
    bands = np.array([band for _, band in weeks])
    _assert_equals_one_at_a_time(vectors, bands)


def test_batched_layouts_equal_build_layout_on_many_random_weeks():
    rng = np.random.default_rng(0)
    low, high = (np.array([getattr(s, k) for s in PARAM_SPECS]) for k in ("low", "high"))
    vectors = low + rng.uniform(-0.2, 1.2, (3_000, N_PARAMS)) * (high - low)
    _assert_equals_one_at_a_time(vectors, rng.integers(0, 4, len(vectors)))


def _subject_counts(layout):
    return [int(((layout[:, 0] == day) & (layout[:, 1] == TYPE_SUBJECT)).sum()) for day in range(5)]


def test_edge_examples_hit_their_edge():
    planned = round(300 / 15)
    truncated = build_layout(TRUNCATED_AT_18, 1)
    assert min(_subject_counts(truncated)) < planned
    assert (truncated[:, 3] + truncated[:, 4]).max() <= DAY_END_MINUTE

    lunch_week = build_layout(LUNCH_REPLACES_BREAK, 1)
    replaced = 0
    for day in range(5):
        rows = lunch_week[lunch_week[:, 0] == day]
        for lunch in np.flatnonzero(rows[:, 1] == TYPE_LUNCH):
            blocks_before = int((rows[:lunch, 1] == TYPE_SUBJECT).sum())
            assert rows[lunch - 1, 1] == rows[lunch + 1, 1] == TYPE_SUBJECT  # never beside a break
            replaced += blocks_before % LUNCH_REPLACES_BREAK.breaks_frequency == 0  # a break was due here
    assert replaced > 0

    trailing = build_layout(TRAILING_PAUSE_DROPPED, 1)
    cut_days = [(day, count) for day, count in enumerate(_subject_counts(trailing)) if count < planned]
    assert any(count % TRAILING_PAUSE_DROPPED.breaks_frequency == 0 for _, count in cut_days)
    for day, _ in cut_days:
        assert trailing[trailing[:, 0] == day][-1, 1] == TYPE_SUBJECT  # the due break was dropped


def test_layout_batch_is_a_sequence_of_read_only_weeks():
    rng = np.random.default_rng(1)
    vectors, bands = rng.uniform(-1, 400, (6, N_PARAMS)), rng.integers(0, 4, 6)
    batch = build_layouts(vectors, bands)
    separate = [build_layout(ScheduleParams.from_vector(v), int(b)) for v, b in zip(vectors, bands)]
    assert [len(week) for week in batch] == [len(week) for week in separate] == batch.lengths.tolist()
    np.testing.assert_array_equal(batch[-1], separate[-1])
    np.testing.assert_array_equal(batch.owner, np.repeat(np.arange(6), batch.lengths))
    with pytest.raises(IndexError):
        batch[6]
    with pytest.raises(ValueError):
        batch[0][0, 0] = 3
    for part, index in ((batch[1:5:2], [1, 3]), (batch.take([4, 0, 4]), [4, 0, 4])):
        assert len(part) == len(index)
        for week, i in zip(part, index):
            np.testing.assert_array_equal(week, separate[i])
    joined = LayoutBatch.from_layouts(separate)
    np.testing.assert_array_equal(joined.rows, batch.rows)
    np.testing.assert_array_equal(joined.offsets, batch.offsets)
    assert LayoutBatch.from_layouts(batch) is batch
    empty = build_layouts(np.zeros((0, N_PARAMS)), np.zeros(0, np.int64))
    assert len(empty) == 0 and list(empty) == [] and summarize_many(empty, np.zeros(0)).shape == (0, 18)


def test_layout_batch_rejects_offsets_that_do_not_fit_the_rows():
    with pytest.raises(ValueError, match="offsets"):
        LayoutBatch(np.zeros((4, 5), np.int32), np.array([0, 3]))
    with pytest.raises(ValueError, match="grade_bands"):
        build_layouts(np.zeros((2, N_PARAMS)), np.array([0, 4]))


def test_readers_give_the_same_from_a_batch_as_from_a_list():
    rng = np.random.default_rng(2)
    families = sample_families(40, rng)
    vectors = rng.uniform(-1, 400, (40, N_PARAMS))
    batch = build_layouts(vectors, families.grade_band)
    separate = [np.array(week) for week in batch]
    np.testing.assert_array_equal(
        summarize_many(batch, families.grade_band), summarize_many(separate, families.grade_band)
    )
    for from_batch, from_list in zip(encode_layouts(batch), encode_layouts(separate)):
        np.testing.assert_array_equal(from_batch, from_list)
    args = (families.answers, families.child_age, families.grade_band)
    for name, value in build_inputs(batch, *args).as_dict().items():
        np.testing.assert_array_equal(value, getattr(build_inputs(separate, *args), name), err_msg=name)
