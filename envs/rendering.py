"""Drawing a week for people: as text (``render_mode="ansi"``) and as a timetable image (``"rgb_array"``).

Both BrightPath environments render through these two functions, so a week looks the
same whichever environment lived it. The image is drawn with NumPy alone (no fonts, no
matplotlib): a column per school day, time running down from 06:00 to 18:00 with a light
line every hour, each block a coloured box (``SUBJECT_COLOURS``; breaks grey, lunch
sand), and an optional strip of bars under the timetable (e.g. the rewards of the weeks
lived so far).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from brightpath.child import SUBJECTS
from brightpath.schedule import (
    BLOCK_TYPES,
    DAY_END_MINUTE,
    DAY_NAMES,
    DAY_START_MINUTE,
    N_DAYS,
    PARAM_NAMES,
    TYPE_BREAK,
    TYPE_LUNCH,
    TYPE_SUBJECT,
)

PIXELS_PER_HOUR = 24
DAY_WIDTH = 96
MARGIN = 16
STRIP_HEIGHT = 40
"""Height of the bar strip under the timetable, pixels (only when bars are given)."""
HOURS = (DAY_END_MINUTE - DAY_START_MINUTE) // 60
TIMETABLE_HEIGHT = MARGIN + HOURS * PIXELS_PER_HOUR + MARGIN
IMAGE_WIDTH = MARGIN + N_DAYS * DAY_WIDTH + MARGIN

SUBJECT_COLOURS: dict[str, tuple[int, int, int]] = {
    "math": (66, 133, 244),
    "reading": (219, 68, 55),
    "science": (15, 157, 88),
    "social_studies": (244, 160, 0),
    "art_music": (171, 71, 188),
    "pe": (0, 172, 193),
}
BREAK_COLOUR = (190, 190, 190)
LUNCH_COLOUR = (236, 214, 140)
GRID_COLOUR = (232, 232, 232)
AXIS_COLOUR = (120, 120, 120)
BAR_COLOUR = (90, 90, 90)
_BLOCK_COLOURS = np.array(
    [(255, 255, 255), *[SUBJECT_COLOURS[s] for s in SUBJECTS]], dtype=np.uint8
)  # row 0 unused (subject ids are 1-based)


def render_week(layout: np.ndarray, params: np.ndarray) -> str:
    """A week as text: the parameters, then one line per day of ``HH:MM type/subject(minutes)``."""
    head = ", ".join(f"{name}={value:g}" for name, value in zip(PARAM_NAMES, params))
    lines = [head]
    for day, name in enumerate(DAY_NAMES):
        blocks = [
            f"{start // 60:02d}:{start % 60:02d} {SUBJECTS[subject - 1] if subject else BLOCK_TYPES[kind]}({duration})"
            for d, kind, subject, start, duration in np.asarray(layout).tolist()
            if d == day
        ]
        lines.append(f"{name:<9} " + " ".join(blocks))
    return "\n".join(lines)


def _y(minute: float) -> int:
    return MARGIN + round((minute - DAY_START_MINUTE) * PIXELS_PER_HOUR / 60.0)


def timetable_image(layout: np.ndarray, bars: Sequence[float] | None = None) -> np.ndarray:
    """The week as a timetable picture, ``uint8 [H, W, 3]`` (RGB).

    Args:
        layout: ``int [n_blocks, 5]`` (``schedule.LAYOUT_COLUMNS``).
        bars: optional values in [0, 1] drawn as bars in a strip under the timetable, left to
            right (values outside are clipped; NaN draws nothing).

    Returns:
        ``TIMETABLE_HEIGHT × IMAGE_WIDTH`` pixels, plus ``STRIP_HEIGHT`` rows when ``bars`` is given.
    """
    height = TIMETABLE_HEIGHT + (STRIP_HEIGHT if bars is not None else 0)
    image = np.full((height, IMAGE_WIDTH, 3), 255, dtype=np.uint8)
    left, right = MARGIN, MARGIN + N_DAYS * DAY_WIDTH
    for hour in range(HOURS + 1):
        y = _y(DAY_START_MINUTE + 60 * hour)
        image[y, left:right] = GRID_COLOUR
        image[y, left - (6 if hour % 2 == 0 else 3) : left] = AXIS_COLOUR
    for day in range(N_DAYS + 1):
        image[MARGIN : _y(DAY_END_MINUTE) + 1, left + day * DAY_WIDTH] = AXIS_COLOUR
    for day, kind, subject, start, duration in np.asarray(layout, dtype=np.int64).tolist():
        if kind == TYPE_SUBJECT:
            colour = _BLOCK_COLOURS[subject]
        elif kind == TYPE_BREAK:
            colour = np.array(BREAK_COLOUR, dtype=np.uint8)
        elif kind == TYPE_LUNCH:
            colour = np.array(LUNCH_COLOUR, dtype=np.uint8)
        else:
            continue
        x0, x1 = left + day * DAY_WIDTH + 3, left + (day + 1) * DAY_WIDTH - 2
        y0, y1 = _y(start) + 1, max(_y(start + duration), _y(start) + 2)
        image[y0:y1, x0:x1] = colour
        image[y1 - 1, x0:x1] = (colour * 0.6).astype(np.uint8)  # a darker bottom edge separates blocks
    if bars is not None:
        values = np.clip(np.asarray(bars, dtype=np.float64).reshape(-1), 0.0, 1.0)
        top, bottom = TIMETABLE_HEIGHT, height - 4
        image[bottom, left:right] = AXIS_COLOUR
        if len(values):
            width = (right - left) / len(values)
            for i, value in enumerate(values):
                if np.isnan(value):
                    continue
                x0, x1 = int(left + i * width) + 2, int(left + (i + 1) * width) - 2
                image[bottom - round(value * (bottom - top)) : bottom, x0 : max(x1, x0 + 1)] = BAR_COLOUR
    return image


__all__ = ["IMAGE_WIDTH", "SUBJECT_COLOURS", "TIMETABLE_HEIGHT", "render_week", "timetable_image"]
