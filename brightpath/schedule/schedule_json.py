"""Schedule JSON (CONTRACTS §2): build it from parameters, read and validate it when untrusted.

``build_schedule`` and ``schedule_for`` write it (validated by construction);
``json_to_layout`` validates what a client sends and returns its layout;
``validate_schedule`` adds an optional coverage check of the grade's requirements.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from brightpath.child import SUBJECTS
from brightpath.errors import ValidationError
from brightpath.schedule.layout import (
    BLOCK_TYPES,
    DAY_END_MINUTE,
    DAY_NAMES,
    DAY_START_MINUTE,
    LAYOUT_COLUMNS,
    MAX_BLOCKS_PER_DAY,
    N_DAYS,
    TYPE_SUBJECT,
    build_layout,
)
from brightpath.schedule.params import ScheduleParams
from brightpath.schedule.summary import SUMMARY_FEATURES, summarize

if TYPE_CHECKING:
    from brightpath.questionnaire import FamilyInput


def _hhmm(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def layout_to_json(layout: np.ndarray, meta: Mapping[str, Any]) -> dict[str, Any]:
    """Schedule JSON (CONTRACTS §2) for a layout; ``meta`` is copied in as given."""
    days: list[dict[str, Any]] = [{"day": d, "day_name": DAY_NAMES[d], "blocks": []} for d in range(N_DAYS)]
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


def schedule_for(family: FamilyInput, params: ScheduleParams, *, source: str, model_version: str) -> dict:
    """Schedule JSON for a family; ``meta.family`` carries what the reward model needs to score it later."""
    return build_schedule(
        params,
        family.child.grade_band_index,
        source=source,
        model_version=model_version,
        family={
            "answers": [int(a) for a in family.answers],
            "child_age": int(family.child_age),
            "grade": int(family.child.grade),
        },
    )


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
        if "day_name" in day and not _is_text(day["day_name"], DAY_NAMES[index : index + 1]):
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


def _is_text(value: Any, allowed: Sequence[str]) -> bool:
    """``value`` is one of the ``allowed`` strings (compared as text only: ``in`` would compare an
    array elementwise and fail, or match a non-string that equals a string)."""
    return isinstance(value, str) and value in allowed


def _parse_block(block: Any, where: str, day: int, previous_end: int) -> tuple[int, int, int, int, int]:
    if not isinstance(block, Mapping):
        raise ValidationError(where, block, "a block mapping")
    kind = block.get("type")
    if not _is_text(kind, BLOCK_TYPES[1:]):
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
        if not _is_text(subject, SUBJECTS):
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
