"""The week a parameter set lays out: the school day's constants, block types and ``build_layout``.

A *layout* is an ``int32`` array ``[n_blocks, 5]`` with columns ``LAYOUT_COLUMNS``
``(day, type, subject, start_minute, duration_minutes)``, rows ordered by day and
then start time. ``build_layout`` is the only place that turns parameters into a
week; every parameter vector inside the ranges yields a valid one (blocks ordered,
never overlapping, inside the school day; blocks that would run past
``DAY_END_MINUTE`` are dropped, and the summary shows the loss).
"""
from __future__ import annotations

import numpy as np

from brightpath.child import REQUIREMENT_MATRIX
from brightpath.schedule.params import ScheduleParams

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


def layouts_for(param_vectors: np.ndarray, grade_bands: np.ndarray) -> list[np.ndarray]:
    """Layouts of many raw parameter vectors ``[n, N_PARAMS]`` (snapped into range first)."""
    return [
        build_layout(ScheduleParams.from_vector(v), int(b))
        for v, b in zip(np.asarray(param_vectors), np.asarray(grade_bands))
    ]
