"""Weekly schedules: the parameter set a generator chooses, the week it lays out, and its JSON.

Three representations of one schedule, each with one job:

* ``ScheduleParams`` — the handful of numbers a generator (expert rule,
  regressor, PPO policy) decides. ``PARAM_SPECS`` gives each one's range.
* a *layout* — an ``int32`` array ``[n_blocks, 5]`` with columns
  ``(day, type, subject, start_minute, duration_minutes)``; the form the
  simulator, the feature extractors and the reward model's tokens are computed
  from. ``build_layout`` is the only place that turns parameters into a week.
* Schedule JSON (CONTRACTS §2) — what the backend stores. ``layout_to_json`` and
  ``json_to_layout`` convert both ways; the latter validates untrusted JSON.

Every parameter vector inside the ranges yields a valid week: blocks are
ordered, never overlap and stay inside the school day (``DAY_END_MINUTE``);
blocks that would run past it are dropped, and the summary shows the loss.
"""
from __future__ import annotations

import re
from dataclasses import astuple, dataclass, fields
from typing import Any, Mapping, NamedTuple, Sequence

import numpy as np

from brightpath.child import REQUIREMENT_MATRIX, SUBJECTS
from brightpath.errors import ValidationError


class ParamSpec(NamedTuple):
    """One schedule parameter: name, inclusive range, rounding step (0 = continuous), meaning."""

    name: str
    low: float
    high: float
    step: float
    doc: str


PARAM_SPECS: tuple[ParamSpec, ...] = (
    ParamSpec("structure_level", 0.0, 1.0, 0.0, "how alike the days are; 1 = same start and order daily"),
    ParamSpec("block_duration_minutes", 15, 60, 5, "length of one subject block, minutes"),
    ParamSpec("breaks_frequency", 2, 5, 1, "a break after every N subject blocks"),
    ParamSpec("start_hour", 7, 10, 1, "hour the school day starts (24 h clock)"),
    ParamSpec("daily_learning_minutes", 60, 300, 5, "planned subject minutes per day"),
    ParamSpec("subject_rotation", 0.0, 1.0, 0.0, "0 = long same-subject runs, 1 = switch every block"),
    ParamSpec("break_duration_minutes", 5, 20, 5, "length of one short break, minutes"),
)
PARAM_NAMES: tuple[str, ...] = tuple(spec.name for spec in PARAM_SPECS)
N_PARAMS = len(PARAM_SPECS)
_LOW = np.array([s.low for s in PARAM_SPECS], dtype=np.float64)
_HIGH = np.array([s.high for s in PARAM_SPECS], dtype=np.float64)
_STEP = np.array([s.step for s in PARAM_SPECS], dtype=np.float64)

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
MAX_TOKENS = N_DAYS * MAX_BLOCKS_PER_DAY

# Day-to-day start shifts (minutes) of a fully flexible family, scaled by (1 - structure):
# a flexible week starts at different times, a structured one at the same time daily.
_FLEX_START_OFFSETS = (0, 30, 15, 45, 0)

LAYOUT_COLUMNS = ("day", "type", "subject", "start_minute", "duration_minutes")


@dataclass(frozen=True)
class ScheduleParams:
    """A generator's decision. Ranges and units are in ``PARAM_SPECS``."""

    structure_level: float
    block_duration_minutes: int
    breaks_frequency: int
    start_hour: int
    daily_learning_minutes: int
    subject_rotation: float
    break_duration_minutes: int

    @classmethod
    def from_vector(cls, vector: Sequence[float]) -> "ScheduleParams":
        """Snap a raw vector (any real numbers) into range and onto each parameter's step."""
        v = clip_params(np.asarray(vector, dtype=np.float64).reshape(N_PARAMS))
        return cls(*(float(x) if s.step == 0 else int(round(x)) for x, s in zip(v, PARAM_SPECS)))

    @classmethod
    def from_unit(cls, unit: Sequence[float]) -> "ScheduleParams":
        """From a normalised vector in [-1, 1] per parameter (a policy's action)."""
        return cls.from_vector(unit_to_params(np.asarray(unit, dtype=np.float64)))

    def to_vector(self) -> np.ndarray:
        return np.array(astuple(self), dtype=np.float64)

    def to_unit(self) -> np.ndarray:
        return params_to_unit(self.to_vector())

    def as_dict(self) -> dict[str, float | int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def clip_params(vectors, xp=np):
    """Clip ``[..., N_PARAMS]`` raw parameter vectors into range and round the stepped ones.

    ``xp`` is the array namespace: NumPy, or ``tf_namespace.tf_namespace()`` inside an
    exported TensorFlow graph, so both share this one definition.
    """
    low, high, step = (xp.asarray(a, dtype=vectors.dtype) for a in (_LOW, _HIGH, _STEP))
    v = xp.clip(vectors, low, high)
    stepped = step > 0
    safe_step = xp.where(stepped, step, xp.ones_like(step))
    rounded = xp.clip(low + xp.round((v - low) / safe_step) * safe_step, low, high)
    return xp.where(stepped, rounded, v)


def params_to_unit(vectors, xp=np):
    """Map parameter vectors linearly onto [-1, 1] per parameter (no rounding)."""
    low, high = (xp.asarray(a, dtype=vectors.dtype) for a in (_LOW, _HIGH))
    return 2.0 * (vectors - low) / (high - low) - 1.0


def unit_to_params(unit, xp=np):
    """Inverse of ``params_to_unit`` followed by ``clip_params``: always a valid parameter vector."""
    low, high = (xp.asarray(a, dtype=unit.dtype) for a in (_LOW, _HIGH))
    return clip_params(low + (xp.clip(unit, -1.0, 1.0) + 1.0) / 2.0 * (high - low), xp)


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


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def layout_to_json(layout: np.ndarray, meta: Mapping[str, Any]) -> dict[str, Any]:
    """Schedule JSON (CONTRACTS §2) for a layout; ``meta`` is copied in as given."""
    days: list[dict[str, Any]] = [
        {"day": d, "day_name": DAY_NAMES[d], "blocks": []} for d in range(N_DAYS)
    ]
    for day, kind, subject, start, duration in layout.tolist():
        block: dict[str, Any] = {
            "type": BLOCK_TYPES[kind],
            "start_time": _hhmm(start),
            "duration_minutes": int(duration),
        }
        if kind == TYPE_SUBJECT:
            block["subject"] = SUBJECTS[subject - 1]
        days[day]["blocks"].append(block)
    return {"meta": dict(meta), "days": days}


def schedule_meta(params: ScheduleParams, *, source: str, model_version: str, **extra: Any) -> dict[str, Any]:
    """The ``meta`` section: the parameters (plain JSON types), source and model version."""
    meta: dict[str, Any] = {k: (float(v) if isinstance(v, float) else int(v)) for k, v in params.as_dict().items()}
    meta["source"] = source
    meta["model_version"] = model_version
    meta.update(extra)
    return meta


def build_schedule(
    params: ScheduleParams, grade_band: int, *, source: str, model_version: str, **meta_extra: Any
) -> dict[str, Any]:
    """Parameters → validated-by-construction Schedule JSON."""
    meta = schedule_meta(params, source=source, model_version=model_version, **meta_extra)
    return layout_to_json(build_layout(params, grade_band), meta)


_TIME_RE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def json_to_layout(schedule: Any) -> np.ndarray:
    """Validate untrusted Schedule JSON and return its layout.

    Raises:
        ValidationError: naming the offending path (``days[2].blocks[0].start_time``)
            for a wrong container, a missing key, an unknown block type or subject,
            a bad time, blocks that overlap or leave the school day, an empty week.
    """
    if not isinstance(schedule, Mapping):
        raise ValidationError("schedule", schedule, "a mapping with 'meta' and 'days'")
    days = schedule.get("days")
    if not isinstance(days, Sequence) or isinstance(days, (str, bytes)):
        raise ValidationError("days", days, "a list of five day objects (Monday–Friday)")
    if len(days) != N_DAYS:
        raise ValidationError("days", f"<{len(days)} days>", "exactly five days, Monday to Friday")
    if "meta" in schedule and not isinstance(schedule["meta"], Mapping):
        raise ValidationError("meta", schedule["meta"], "a mapping")
    rows: list[tuple[int, int, int, int, int]] = []
    seen_days: set[int] = set()
    for i, day in enumerate(days):
        where = f"days[{i}]"
        if not isinstance(day, Mapping):
            raise ValidationError(where, day, "a mapping with 'day', 'day_name' and 'blocks'")
        index = day.get("day")
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or not 0 <= index < N_DAYS:
            raise ValidationError(f"{where}.day", index, "an integer 0 (Monday) to 4 (Friday)")
        if index in seen_days:
            raise ValidationError(f"{where}.day", index, "each weekday exactly once")
        seen_days.add(int(index))
        if "day_name" in day and day["day_name"] != DAY_NAMES[index]:
            raise ValidationError(f"{where}.day_name", day["day_name"], f"{DAY_NAMES[index]!r} for day {index}")
        blocks = day.get("blocks")
        if not isinstance(blocks, Sequence) or isinstance(blocks, (str, bytes)):
            raise ValidationError(f"{where}.blocks", blocks, "a list of blocks")
        if len(blocks) > MAX_BLOCKS_PER_DAY:
            raise ValidationError(f"{where}.blocks", f"<{len(blocks)} blocks>", f"at most {MAX_BLOCKS_PER_DAY}")
        previous_end = DAY_START_MINUTE
        for j, block in enumerate(blocks):
            rows.append(_parse_block(block, f"{where}.blocks[{j}]", int(index), previous_end))
            previous_end = rows[-1][3] + rows[-1][4]
    if not any(row[1] == TYPE_SUBJECT for row in rows):
        raise ValidationError("days", "<no subject blocks>", "at least one subject block in the week")
    layout = np.array(rows, dtype=np.int32).reshape(-1, len(LAYOUT_COLUMNS))
    return layout[np.lexsort((layout[:, 3], layout[:, 0]))]


def _parse_block(block: Any, where: str, day: int, previous_end: int) -> tuple[int, int, int, int, int]:
    if not isinstance(block, Mapping):
        raise ValidationError(where, block, "a block mapping")
    kind = block.get("type")
    if kind not in BLOCK_TYPES[1:]:
        raise ValidationError(f"{where}.type", kind, "one of 'subject', 'break', 'lunch'")
    start = block.get("start_time")
    match = _TIME_RE.match(start) if isinstance(start, str) else None
    if match is None:
        raise ValidationError(f"{where}.start_time", start, "a 'HH:MM' time")
    start_minute = int(match.group(1)) * 60 + int(match.group(2))
    duration = block.get("duration_minutes")
    if isinstance(duration, bool) or not isinstance(duration, (int, np.integer)) or not 1 <= duration <= 240:
        raise ValidationError(f"{where}.duration_minutes", duration, "an integer number of minutes, 1–240")
    if start_minute < previous_end:
        raise ValidationError(f"{where}.start_time", start, f"no earlier than {_hhmm(previous_end)} (blocks overlap)")
    if start_minute + int(duration) > DAY_END_MINUTE:
        raise ValidationError(f"{where}.duration_minutes", duration, f"a block ending by {_hhmm(DAY_END_MINUTE)}")
    subject_id = 0
    if kind == "subject":
        subject = block.get("subject")
        if subject not in SUBJECTS:
            raise ValidationError(f"{where}.subject", subject, f"one of {', '.join(SUBJECTS)}")
        subject_id = SUBJECTS.index(subject) + 1
    elif "subject" in block:
        raise ValidationError(f"{where}.subject", block["subject"], f"no subject on a {kind} block")
    return (day, BLOCK_TYPES.index(kind), subject_id, start_minute, int(duration))


def validate_schedule(schedule: Any, *, grade_band: int | None = None, min_coverage: float = 0.0) -> np.ndarray:
    """Validate Schedule JSON; optionally require a share of the grade's weekly requirements.

    Args:
        schedule: Schedule JSON.
        grade_band: index into ``child.GRADE_BANDS``; needed only with ``min_coverage``.
        min_coverage: minimum requirement-weighted coverage in [0, 1] (see ``summarize``).

    Returns:
        The schedule's layout.
    """
    layout = json_to_layout(schedule)
    if min_coverage > 0.0:
        if grade_band is None:
            raise ValidationError("grade_band", None, "a grade band index when min_coverage > 0")
        coverage = summarize(layout, grade_band)[SUMMARY_FEATURES.index("coverage")]
        if coverage < min_coverage:
            raise ValidationError("days", f"<coverage {coverage:.2f}>", f"weekly requirement coverage ≥ {min_coverage}")
    return layout


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


def summarize(layout: np.ndarray, grade_band: int) -> np.ndarray:
    """Schedule features of one layout (``SUMMARY_FEATURES``, float64 vector); see ``summarize_many``."""
    return summarize_many([layout], np.array([grade_band]))[0]


def summarize_many(layouts: Sequence[np.ndarray], grade_bands: np.ndarray) -> np.ndarray:
    """Schedule features of many layouts at once, ``float64 [len(layouts), N_SUMMARY]``.

    These are the seed plan's 'structure metrics, subject distribution, break
    frequency and duration, daily learning load'; the family simulator's hidden
    satisfaction and the reward model's engineered inputs both read them.
    Vectorised over all blocks of all layouts (one NumPy pass, no per-schedule loop).
    """
    n = len(layouts)
    grade_bands = np.asarray(grade_bands, dtype=np.int64).reshape(n)
    lengths = np.array([len(layout) for layout in layouts], dtype=np.int64)
    rows = np.concatenate(layouts).astype(np.int64) if n else np.zeros((0, 5), np.int64)
    owner = np.repeat(np.arange(n), lengths)
    day, kind, subject, start, duration = (rows[:, i] for i in range(len(LAYOUT_COLUMNS)))
    key = owner * N_DAYS + day  # one bucket per (schedule, day)
    n_keys = n * N_DAYS
    is_subject = kind == TYPE_SUBJECT
    is_break = kind == TYPE_BREAK
    is_pause = is_break | (kind == TYPE_LUNCH)

    def per_day(mask, weights=None):
        return np.bincount(key[mask], weights=None if weights is None else weights[mask], minlength=n_keys).reshape(
            n, N_DAYS
        ).astype(np.float64)

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
    slot = np.arange(len(s_key)) - np.searchsorted(s_key, s_key, side="left")
    grid = np.zeros((n, N_DAYS, MAX_BLOCKS_PER_DAY), dtype=np.int64)
    grid[s_key // N_DAYS, s_key % N_DAYS, slot] = s_subject
    monday = grid[:, :1, :]
    matches = ((grid[:, 1:, :] == monday) & (monday > 0)).sum(axis=(1, 2))
    slots = np.maximum(subj_blocks[:, 1:], subj_blocks[:, :1]).sum(axis=1)

    weekly = np.bincount(owner[is_subject] * len(SUBJECTS) + subject[is_subject] - 1, weights=duration[is_subject],
                         minlength=n * len(SUBJECTS)).reshape(n, len(SUBJECTS))
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


TOKEN_FEATURES = ("type", "subject", "day", "start_hour", "duration_hours")
N_TOKEN_FEATURES = len(TOKEN_FEATURES)


def encode_layout(layout: np.ndarray, max_tokens: int = MAX_TOKENS) -> tuple[np.ndarray, np.ndarray]:
    """Block tokens for the attention reward model.

    Returns:
        tokens: float32 ``[max_tokens, 5]`` — block type id (1–3), subject id
            (0–6), day (0–4), start time in hours, duration in hours; zeros past
            the last block.
        mask: float32 ``[max_tokens]``, 1 for real blocks.
    """
    tokens, mask = encode_layouts([layout], max_tokens)
    return tokens[0], mask[0]


def encode_layouts(layouts: Sequence[np.ndarray], max_tokens: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Block tokens of many layouts at once (one NumPy scatter, no per-layout loop); see ``encode_layout``.

    Args:
        max_tokens: padded length; ``None`` pads only to the longest layout given.

    Returns:
        tokens float32 ``[len(layouts), T, 5]`` and mask float32 ``[len(layouts), T]``.

    Raises:
        ValidationError: a layout has more than ``max_tokens`` blocks.
    """
    lengths = np.array([len(layout) for layout in layouts], dtype=np.int64)
    longest = int(lengths.max()) if len(lengths) else 0
    width = longest if max_tokens is None else int(max_tokens)
    if longest > width:
        raise ValidationError("days", f"<{longest} blocks>", f"at most {width} blocks in a week")
    tokens = np.zeros((len(lengths), width, N_TOKEN_FEATURES), dtype=np.float32)
    mask = np.zeros((len(lengths), width), dtype=np.float32)
    if longest == 0:
        return tokens, mask
    rows = np.concatenate(layouts)
    owner = np.repeat(np.arange(len(lengths)), lengths)
    slot = np.arange(len(rows)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    tokens[owner, slot] = np.column_stack([rows[:, 1], rows[:, 2], rows[:, 0], rows[:, 3] / 60.0, rows[:, 4] / 60.0])
    mask[owner, slot] = 1.0
    return tokens, mask


def encode_schedule(schedule: Any, max_tokens: int = MAX_TOKENS) -> tuple[np.ndarray, np.ndarray]:
    """Validate Schedule JSON and encode it as block tokens (see ``encode_layout``)."""
    return encode_layout(json_to_layout(schedule), max_tokens)


def layouts_for(param_vectors: np.ndarray, grade_bands: np.ndarray) -> list[np.ndarray]:
    """Layouts of many raw parameter vectors ``[n, N_PARAMS]`` (snapped into range first)."""
    return [
        build_layout(ScheduleParams.from_vector(v), int(b))
        for v, b in zip(np.asarray(param_vectors), np.asarray(grade_bands))
    ]


def summarize_params(param_vectors: np.ndarray, grade_bands: np.ndarray) -> np.ndarray:
    """Summary features ``[n, N_SUMMARY]`` of the weeks that parameter vectors lay out."""
    return summarize_many(layouts_for(param_vectors, grade_bands), grade_bands)
