"""Block tokens: a week as a padded sequence of blocks, the attention reward model's input."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from brightpath.errors import ValidationError
from brightpath.schedule.layout import MAX_BLOCKS_PER_DAY, N_DAYS, LayoutBatch
from brightpath.schedule.schedule_json import json_to_layout

MAX_TOKENS = N_DAYS * MAX_BLOCKS_PER_DAY
"""Blocks in the fullest possible week: the padded token length."""
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


def encode_layouts(
    layouts: LayoutBatch | Sequence[np.ndarray], max_tokens: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Block tokens of many layouts at once (one NumPy scatter, no per-layout loop); see ``encode_layout``.

    Args:
        layouts: a ``LayoutBatch`` (``build_layouts``; its rows are read as they are), or a
            sequence of layouts.
        max_tokens: padded length; ``None`` pads only to the longest layout given.

    Returns:
        tokens float32 ``[len(layouts), T, 5]`` and mask float32 ``[len(layouts), T]``.

    Raises:
        ValidationError: a layout has more than ``max_tokens`` blocks.
    """
    batch = LayoutBatch.from_layouts(layouts)
    lengths = batch.lengths
    longest = int(lengths.max()) if len(lengths) else 0
    width = longest if max_tokens is None else int(max_tokens)
    if longest > width:
        raise ValidationError("days", f"<{longest} blocks>", f"at most {width} blocks in a week")
    tokens = np.zeros((len(lengths), width, N_TOKEN_FEATURES), dtype=np.float32)
    mask = np.zeros((len(lengths), width), dtype=np.float32)
    if longest == 0:
        return tokens, mask
    rows, owner = batch.rows, batch.owner
    slot = np.arange(len(rows)) - batch.offsets[:-1][owner]
    tokens[owner, slot] = np.column_stack([rows[:, 1], rows[:, 2], rows[:, 0], rows[:, 3] / 60.0, rows[:, 4] / 60.0])
    mask[owner, slot] = 1.0
    return tokens, mask


def encode_schedule(schedule: Any, max_tokens: int = MAX_TOKENS) -> tuple[np.ndarray, np.ndarray]:
    """Validate Schedule JSON and encode it as block tokens (see ``encode_layout``)."""
    return encode_layout(json_to_layout(schedule), max_tokens)
