"""Summary features of a week: the structure metrics the simulator and the reward model read.

``SUMMARY_FEATURES`` names them (units in the comments); ``summarize_many`` computes
them for many layouts in one vectorised NumPy pass, reading a ``LayoutBatch``'s rows as
they are (a list of layouts is joined once).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brightpath.child import REQUIREMENT_MATRIX, SUBJECTS
from brightpath.schedule.layout import N_DAYS, TYPE_BREAK, TYPE_LUNCH, TYPE_SUBJECT, LayoutBatch, build_layouts

SUMMARY_FEATURES: tuple[str, ...] = (
    "block_minutes",  # mean subject-block length, minutes
    "learning_minutes_per_day",  # mean subject minutes per day
    "subject_blocks_per_day",
    "switch_rate",  # share of consecutive subject blocks that change subject, 0–1
    "minutes_between_pauses",  # mean subject minutes between breaks/lunch
    "break_minutes",  # mean short-break length, minutes (0 if none)
    "breaks_per_day",
    "start_hour_mean",  # hours, 24 h clock
    "start_hour_std",  # hours; 0 = same start every day
    "end_hour_mean",  # hours
    "regularity",  # share of slots whose subject matches Monday's, 0–1
    "coverage",  # requirement-weighted share of weekly minutes met, 0–1
) + tuple(f"share_{s}" for s in SUBJECTS)  # weekly minutes / required minutes, per subject
N_SUMMARY = len(SUMMARY_FEATURES)
SUMMARY_INDEX: dict[str, int] = {name: i for i, name in enumerate(SUMMARY_FEATURES)}
"""Column of each summary feature in a summary vector."""


def summarize(layout: np.ndarray, grade_band: int) -> np.ndarray:
    """Schedule features of one layout (``SUMMARY_FEATURES``, float64 vector); see ``summarize_many``."""
    return summarize_many([layout], np.array([grade_band]))[0]


def summarize_many(layouts: LayoutBatch | Sequence[np.ndarray], grade_bands: np.ndarray) -> np.ndarray:
    """Schedule features of many layouts at once, ``float64 [len(layouts), N_SUMMARY]``.

    These are the seed plan's 'structure metrics, subject distribution, break
    frequency and duration, daily learning load'; the family simulator's hidden
    satisfaction and the reward model's engineered inputs both read them.
    Vectorised over all blocks of all layouts (one NumPy pass, no per-schedule loop).

    Args:
        layouts: a ``LayoutBatch`` (``build_layouts``), or a sequence of layouts.
        grade_bands: int ``[len(layouts)]``, 0–3.
    """
    batch = LayoutBatch.from_layouts(layouts)
    n = len(batch)
    grade_bands = np.asarray(grade_bands, dtype=np.int64).reshape(n)
    owner = batch.owner
    day, kind, subject, start, duration = np.ascontiguousarray(batch.rows.T)  # one contiguous int32 row per column
    key = owner * N_DAYS + day  # one bucket per (schedule, day)
    n_keys = n * N_DAYS
    is_subject = kind == TYPE_SUBJECT
    is_break = kind == TYPE_BREAK
    is_pause = is_break | (kind == TYPE_LUNCH)

    def per_day(mask, weights=None):
        return (
            np.bincount(key[mask], weights=None if weights is None else weights[mask], minlength=n_keys)
            .reshape(n, N_DAYS)
            .astype(np.float64)
        )

    subj_minutes = per_day(is_subject, duration)
    subj_blocks = per_day(is_subject)
    pauses = per_day(is_pause)
    breaks = per_day(is_break)
    blocks = per_day(np.ones_like(is_subject))
    active = blocks > 0
    # Rows arrive ordered by day then start time, so each (schedule, day) bucket is one run of
    # rows and reduceat finds its first start and last end (ufunc.at is about 10x slower).
    first = np.full(n_keys, np.inf)
    last = np.full(n_keys, -np.inf)
    if len(key):
        run_starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
        first[key[run_starts]] = np.minimum.reduceat(start, run_starts)
        last[key[run_starts]] = np.maximum.reduceat(start + duration, run_starts)
    first = np.where(active, first.reshape(n, N_DAYS) / 60.0, np.nan)
    last = np.where(active, last.reshape(n, N_DAYS) / 60.0, np.nan)

    # Subject sequence per (schedule, day): rows arrive ordered by day then start time.
    s_key, s_subject = key[is_subject], subject[is_subject]
    same_day = s_key[1:] == s_key[:-1]
    switches = np.bincount(s_key[1:][same_day & (s_subject[1:] != s_subject[:-1])] // N_DAYS, minlength=n)
    boundaries = np.maximum(subj_blocks - 1.0, 0.0).sum(axis=1)
    day_starts = np.flatnonzero(np.r_[True, ~same_day]) if len(s_key) else np.zeros(0, np.int64)
    slot = np.arange(len(s_key)) - np.repeat(day_starts, np.diff(np.r_[day_starts, len(s_key)]))
    # Subject ids (1–6) of each day's slots, only as wide as the fullest day.
    grid = np.zeros((n, N_DAYS, int(slot.max(initial=-1)) + 1), dtype=np.int8)
    grid[s_key // N_DAYS, s_key % N_DAYS, slot] = s_subject
    monday = grid[:, :1, :]
    matches = ((grid[:, 1:, :] == monday) & (monday > 0)).sum(axis=(1, 2))
    slots = np.maximum(subj_blocks[:, 1:], subj_blocks[:, :1]).sum(axis=1)

    weekly = np.bincount(
        owner[is_subject] * len(SUBJECTS) + subject[is_subject] - 1,
        weights=duration[is_subject],
        minlength=n * len(SUBJECTS),
    ).reshape(n, len(SUBJECTS))
    required = REQUIREMENT_MATRIX[grade_bands]
    share = weekly / required
    coverage = (np.minimum(share, 1.0) * required).sum(axis=1) / required.sum(axis=1)
    total_blocks = subj_blocks.sum(axis=1)
    total_breaks = breaks.sum(axis=1)
    break_minutes = np.bincount(owner[is_break], weights=duration[is_break], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        columns = [
            np.where(total_blocks > 0, subj_minutes.sum(axis=1) / np.maximum(total_blocks, 1), 0.0),
            subj_minutes.mean(axis=1),
            subj_blocks.mean(axis=1),
            np.where(boundaries > 0, switches / np.maximum(boundaries, 1), 0.0),
            (subj_minutes / (pauses + 1.0)).mean(axis=1),
            np.where(total_breaks > 0, break_minutes / np.maximum(total_breaks, 1), 0.0),
            breaks.mean(axis=1),
            np.nanmean(first, axis=1),
            np.nanstd(first, axis=1),
            np.nanmean(last, axis=1),
            np.where(slots > 0, matches / np.maximum(slots, 1), 1.0),
            coverage,
        ]
    return np.column_stack(columns + [share])


def summarize_params(param_vectors: np.ndarray, grade_bands: np.ndarray) -> np.ndarray:
    """Summary features ``[n, N_SUMMARY]`` of the weeks that parameter vectors lay out."""
    return summarize_many(build_layouts(param_vectors, grade_bands), grade_bands)
