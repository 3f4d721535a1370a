"""The week a parameter set lays out: the school day's constants, block types, ``build_layout`` and ``build_layouts``.

A *layout* is an ``int32`` array ``[n_blocks, 5]`` with columns ``LAYOUT_COLUMNS``
``(day, type, subject, start_minute, duration_minutes)``, rows ordered by day and
then start time. ``build_layout`` is the definition of how parameters turn into a
week, written one block at a time; every parameter vector inside the ranges yields a
valid one (blocks ordered, never overlapping, inside the school day; blocks that would
run past ``DAY_END_MINUTE`` are dropped, and the summary shows the loss).

``build_layouts`` lays out many weeks at once with NumPy and returns a ``LayoutBatch``:
all rows in one array plus per-week offsets, which ``summarize_many``,
``encode_layouts`` and the reward model's ``build_inputs`` read without re-joining.
It computes exactly what ``build_layout`` computes (a property test compares them row
for row); the schedules a generator writes and those the environment scores are one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from functools import lru_cache
from typing import overload

import numpy as np

from brightpath.child import GRADE_BANDS, REQUIREMENT_MATRIX
from brightpath.schedule.params import N_PARAMS, PARAM_NAMES, PARAM_SPECS, ScheduleParams, clip_params

BLOCK_TYPES: tuple[str, ...] = ("pad", "subject", "break", "lunch")
"""Token ids of block types; 0 is padding in the encoded tensors."""
TYPE_SUBJECT, TYPE_BREAK, TYPE_LUNCH = 1, 2, 3
DAY_NAMES: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
N_DAYS = len(DAY_NAMES)

DAY_START_MINUTE = 6 * 60  # earliest allowed block start (06:00)
DAY_END_MINUTE = 18 * 60  # nothing may run past 18:00
LUNCH_EARLIEST_MINUTE = 11 * 60 + 45  # lunch goes at the first block boundary from 11:45
LUNCH_MINUTES = 30
MAX_BLOCKS_PER_DAY = 32  # 20 subject blocks (300 min / 15) + 10 breaks + lunch, with headroom

# Day-to-day start shifts (minutes) of a fully flexible family, scaled by (1 - structure):
# a flexible week starts at different times, a structured one at the same time daily.
_FLEX_START_OFFSETS = (0, 30, 15, 45, 0)

LAYOUT_COLUMNS = ("day", "type", "subject", "start_minute", "duration_minutes")


def _deal_subjects(total_blocks_per_day: int, grade_band: int) -> list[list[int]]:
    """Subject ids (0-based) of each day's blocks, before ordering.

    The week's ``5 * n`` blocks are shared out in proportion to the grade band's
    weekly requirements (largest remainder), then each subject's blocks are
    dealt to the days as evenly as possible; remainders are dealt round-robin so
    every day gets exactly ``n`` blocks.
    """
    weights = REQUIREMENT_MATRIX[grade_band] / REQUIREMENT_MATRIX[grade_band].sum()
    week_total = N_DAYS * total_blocks_per_day
    quota = weights * week_total
    counts = np.floor(quota).astype(int)
    for idx in np.argsort(-(quota - counts), kind="stable")[: week_total - counts.sum()]:
        counts[idx] += 1
    days: list[list[int]] = [[] for _ in range(N_DAYS)]
    cursor = 0
    for subject, count in enumerate(counts):
        base, extra = divmod(int(count), N_DAYS)
        for day in range(N_DAYS):
            days[day].extend([subject] * base)
        for _ in range(extra):
            days[cursor % N_DAYS].append(subject)
            cursor += 1
    return days


def _order_day(subjects: list[int], run_length: int, shift: int) -> list[int]:
    """Order one day's subjects round-robin in runs of ``run_length`` same-subject blocks.

    Subjects are visited in curriculum order rotated by ``shift`` (flexible weeks
    vary the order from day to day).
    """
    remaining = {s: subjects.count(s) for s in sorted(set(subjects))}
    order = sorted(remaining)
    if order:
        k = shift % len(order)
        order = order[k:] + order[:k]
    sequence: list[int] = []
    while remaining:
        for subject in list(order):
            if subject not in remaining:
                continue
            take = min(run_length, remaining[subject])
            sequence.extend([subject] * take)
            remaining[subject] -= take
            if remaining[subject] == 0:
                del remaining[subject]
                order.remove(subject)
    return sequence


def build_layout(params: ScheduleParams, grade_band: int) -> np.ndarray:
    """Lay out a Monday–Friday week for a parameter set and a grade band (0–3).

    Returns:
        ``int32`` array ``[n_blocks, 5]`` with columns ``LAYOUT_COLUMNS``; rows are
        ordered by day, then start time. Subject ids are 1-based (0 = none).
    """
    block = int(params.block_duration_minutes)
    n_blocks = int(np.clip(round(params.daily_learning_minutes / block), 1, MAX_BLOCKS_PER_DAY))
    run_length = 1 + int(round((1.0 - params.subject_rotation) * 2.0))
    flexibility = 1.0 - params.structure_level
    rows: list[tuple[int, int, int, int, int]] = []
    for day, subjects in enumerate(_deal_subjects(n_blocks, grade_band)):
        offset = 5 * int(round(flexibility * _FLEX_START_OFFSETS[day] / 5.0))
        t = int(params.start_hour) * 60 + offset
        # Day d keeps Monday's subject order while structure >= 0.2 * d, so the
        # share of days that repeat Monday falls steadily as structure falls.
        shift = day if params.structure_level < 0.2 * day else 0
        sequence = _order_day(subjects, run_length, shift)
        lunch_done = False
        for i, subject in enumerate(sequence):
            if t + block > DAY_END_MINUTE:
                break
            rows.append((day, TYPE_SUBJECT, subject + 1, t, block))
            t += block
            if i == len(sequence) - 1:
                break
            if not lunch_done and t >= LUNCH_EARLIEST_MINUTE:
                rows.append((day, TYPE_LUNCH, 0, t, LUNCH_MINUTES))
                t += LUNCH_MINUTES
                lunch_done = True
            elif (i + 1) % int(params.breaks_frequency) == 0:
                rows.append((day, TYPE_BREAK, 0, t, int(params.break_duration_minutes)))
                t += int(params.break_duration_minutes)
        # Drop a trailing break/lunch left behind when the next subject block did not fit.
        while rows and rows[-1][0] == day and rows[-1][1] != TYPE_SUBJECT:
            rows.pop()
    return np.array(rows, dtype=np.int32).reshape(-1, len(LAYOUT_COLUMNS))


class LayoutBatch(Sequence[np.ndarray]):
    """Many layouts as one ragged array: what ``build_layouts`` returns and the batched readers take.

    A ``Sequence`` of layouts (``len``, indexing, iteration give each week's
    ``[n_blocks, 5]`` rows as a read-only view), so code written for a list of layouts
    keeps working; ``summarize_many``, ``encode_layouts`` and ``build_inputs`` read
    ``rows``/``offsets`` directly instead of concatenating the weeks again.

    Attributes:
        rows: ``int32 [total_blocks, 5]`` (``LAYOUT_COLUMNS``), week after week, read-only.
        offsets: ``int64 [n + 1]``; week ``i`` is ``rows[offsets[i]:offsets[i + 1]]``.
    """

    __slots__ = ("rows", "offsets")

    def __init__(self, rows: np.ndarray, offsets: np.ndarray) -> None:
        rows = np.ascontiguousarray(rows, dtype=np.int32).reshape(-1, len(LAYOUT_COLUMNS))
        offsets = np.asarray(offsets, dtype=np.int64).reshape(-1)
        if len(offsets) == 0 or offsets[0] != 0 or offsets[-1] != len(rows) or np.any(np.diff(offsets) < 0):
            raise ValueError(
                f"offsets: expected a non-decreasing [n + 1] array from 0 to {len(rows)} rows, "
                f"got {offsets.tolist()[:8]}…"
            )
        rows.flags.writeable = False
        offsets.flags.writeable = False
        self.rows = rows
        self.offsets = offsets

    @classmethod
    def from_layouts(cls, layouts: Sequence[np.ndarray]) -> LayoutBatch:
        """Join separate layouts (e.g. from ``json_to_layout``) into one batch; a batch is returned as is."""
        if isinstance(layouts, LayoutBatch):
            return layouts
        lengths = np.array([len(layout) for layout in layouts], dtype=np.int64)
        if len(lengths) == 0:
            return cls(np.zeros((0, len(LAYOUT_COLUMNS)), np.int32), np.zeros(1, np.int64))
        rows = np.concatenate([np.asarray(layout).reshape(-1, len(LAYOUT_COLUMNS)) for layout in layouts])
        return cls(rows, np.r_[0, np.cumsum(lengths)])

    @property
    def lengths(self) -> np.ndarray:
        """Blocks per week, ``int64 [n]``."""
        return np.diff(self.offsets)

    @property
    def owner(self) -> np.ndarray:
        """Week index of every row, ``int64 [total_blocks]``."""
        return np.repeat(np.arange(len(self)), self.lengths)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @overload
    def __getitem__(self, index: int) -> np.ndarray: ...

    @overload
    def __getitem__(self, index: slice) -> LayoutBatch: ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.take(np.arange(len(self))[index])
        i = range(len(self))[index]  # raises IndexError past the end, accepts negative indices
        return self.rows[self.offsets[i] : self.offsets[i + 1]]

    def __iter__(self) -> Iterator[np.ndarray]:
        for start, stop in zip(self.offsets[:-1].tolist(), self.offsets[1:].tolist()):
            yield self.rows[start:stop]

    def take(self, index) -> LayoutBatch:
        """The weeks at ``index`` (integer array, any order, repeats allowed) as a new batch."""
        index = np.asarray(index, dtype=np.int64).reshape(-1)
        lengths = self.lengths[index]
        offsets = np.r_[0, np.cumsum(lengths)]
        positions = np.repeat(self.offsets[:-1][index] - offsets[:-1], lengths) + np.arange(offsets[-1])
        return LayoutBatch(self.rows[positions], offsets)

    def __repr__(self) -> str:
        return f"LayoutBatch({len(self)} weeks, {len(self.rows)} blocks)"


_STEPPED = np.array([spec.step > 0 for spec in PARAM_SPECS])
_COLUMN = {name: i for i, name in enumerate(PARAM_NAMES)}


@lru_cache(maxsize=1)
def _subject_table() -> np.ndarray:
    """Each day's subject sequence for every case ``build_layout`` can meet, from its own helpers.

    ``int8 [MAX_BLOCKS_PER_DAY, bands, 3, N_DAYS, 2, MAX_BLOCKS_PER_DAY]`` indexed by
    (blocks per day − 1, grade band, run length − 1, day, rotated): 0-based subject ids,
    ``-1`` past the day's blocks. ``rotated`` = the day's order is shifted by its index
    (a flexible week); otherwise it keeps Monday's order. Built once (~0.1 s).
    """
    table = np.full((MAX_BLOCKS_PER_DAY, len(GRADE_BANDS), 3, N_DAYS, 2, MAX_BLOCKS_PER_DAY), -1, dtype=np.int8)
    for n_blocks in range(1, MAX_BLOCKS_PER_DAY + 1):
        for band in range(len(GRADE_BANDS)):
            dealt = _deal_subjects(n_blocks, band)
            for run_length in (1, 2, 3):
                for day, subjects in enumerate(dealt):
                    for rotated in (0, 1):
                        sequence = _order_day(subjects, run_length, day if rotated else 0)
                        table[n_blocks - 1, band, run_length - 1, day, rotated, : len(sequence)] = sequence
    return table


def build_layouts(param_vectors: np.ndarray, grade_bands: np.ndarray) -> LayoutBatch:
    """Lay out many weeks at once: ``build_layout`` of every row, computed with NumPy.

    Args:
        param_vectors: ``[n, N_PARAMS]`` raw parameter vectors (snapped into range and onto
            their steps first, as ``ScheduleParams.from_vector`` does).
        grade_bands: int ``[n]``, 0–3.

    Returns:
        A ``LayoutBatch`` whose week ``i`` equals ``build_layout(ScheduleParams.from_vector(
        param_vectors[i]), grade_bands[i])`` row for row.

    All weeks, days and block slots are computed together: a day's subject order comes from
    a table of every (blocks per day, band, run length, day, rotated) case, and the block
    times follow in closed form, because before lunch every pause is a short break (lunch
    goes after the first subject block ending at or after 11:45 that is not the day's last,
    replacing that slot's break), a block is kept while it ends by 18:00, and a pause is
    kept only when a subject block follows it.
    """
    vectors = np.asarray(param_vectors, dtype=np.float64)
    n = len(vectors)
    if vectors.shape != (n, N_PARAMS):
        raise ValueError(f"param_vectors: expected shape (n, {N_PARAMS}), got {vectors.shape}")
    bands = np.asarray(grade_bands, dtype=np.int64).reshape(-1)
    if bands.shape != (n,) or (n and (bands.min() < 0 or bands.max() >= len(GRADE_BANDS))):
        raise ValueError(f"grade_bands: expected {n} integers in 0–{len(GRADE_BANDS) - 1}, got {bands.tolist()[:8]}")
    if n == 0:
        return LayoutBatch.from_layouts([])
    snapped = clip_params(vectors)
    whole = np.where(_STEPPED, np.rint(snapped), 0.0).astype(np.int32)

    def column(name: str) -> np.ndarray:
        return whole[:, _COLUMN[name], None]

    structure = snapped[:, _COLUMN["structure_level"], None]
    block = column("block_duration_minutes")
    every = column("breaks_frequency")
    break_minutes = column("break_duration_minutes")
    # The scalar rules of build_layout, evaluated with the same float64 operations.
    per_day = np.clip(np.rint(snapped[:, _COLUMN["daily_learning_minutes"]] / block[:, 0]), 1, MAX_BLOCKS_PER_DAY)
    per_day = per_day.astype(np.int32)[:, None]  # [n, 1]
    run_length = 1 + np.rint((1.0 - snapped[:, _COLUMN["subject_rotation"]]) * 2.0).astype(np.int64)
    days = np.arange(N_DAYS, dtype=np.int32)
    flex_offset = 5 * np.rint((1.0 - structure) * np.array(_FLEX_START_OFFSETS) / 5.0).astype(np.int32)
    day_start = column("start_hour") * 60 + flex_offset  # [n, 5]
    rotated = (structure < 0.2 * days).astype(np.int64)  # [n, 5]

    width = int(per_day.max())
    slot = np.arange(width, dtype=np.int32)  # subject block i of a day
    subject = _subject_table()[per_day - 1, bands[:, None], run_length[:, None] - 1, days, rotated][..., :width]
    in_day = slot < per_day[:, :, None]  # [n, 1, width]
    last = slot == per_day[:, :, None] - 1
    # Lunch: after the first block (not the day's last) ending at or after LUNCH_EARLIEST_MINUTE;
    # until then every pause is a break after each ``every``-th block.
    blk, brk, evr = block[:, :, None], break_minutes[:, :, None], every[:, :, None]
    end_before_lunch = day_start[:, :, None] + (slot + 1) * blk + (slot // evr) * brk
    lunch_candidate = (end_before_lunch >= LUNCH_EARLIEST_MINUTE) & in_day & ~last
    lunch_slot = np.where(lunch_candidate.any(axis=2), lunch_candidate.argmax(axis=2), -1)[:, :, None]
    is_lunch = slot == lunch_slot
    is_break = ((slot + 1) % evr == 0) & ~is_lunch & in_day & ~last
    pause = np.where(is_lunch, LUNCH_MINUTES, np.where(is_break, brk, 0))
    start = day_start[:, :, None] + slot * blk + np.cumsum(pause, axis=2) - pause
    placed = in_day & (start + blk <= DAY_END_MINUTE)
    placed_next = np.zeros_like(placed)
    placed_next[:, :, :-1] = placed[:, :, 1:]
    pause_kept = (is_lunch | is_break) & placed_next

    # Each subject block followed by its pause: cells [n, day, slot, (block, pause)], whose C
    # order is week, day, then start time; gather only the kept ones.
    kept = np.flatnonzero(np.stack([placed, pause_kept], axis=3))
    cell, is_pause = np.divmod(kept, 2)
    week = cell // (N_DAYS * width)
    rows = np.empty((len(kept), len(LAYOUT_COLUMNS)), dtype=np.int32)
    rows[:, 0] = cell // width % N_DAYS
    rows[:, 1] = np.where(is_pause, np.where(is_lunch.reshape(-1)[cell], TYPE_LUNCH, TYPE_BREAK), TYPE_SUBJECT)
    rows[:, 2] = np.where(is_pause, 0, subject.reshape(-1)[cell] + 1)
    rows[:, 3] = start.reshape(-1)[cell] + is_pause * block[week, 0]
    rows[:, 4] = np.where(is_pause, pause.reshape(-1)[cell], block[week, 0])
    return LayoutBatch(rows, np.searchsorted(week, np.arange(n + 1)))


def layouts_for(param_vectors: np.ndarray, grade_bands: np.ndarray) -> LayoutBatch:
    """Layouts of many raw parameter vectors ``[n, N_PARAMS]`` (snapped into range first); see ``build_layouts``."""
    return build_layouts(param_vectors, grade_bands)
