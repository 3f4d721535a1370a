"""Weekly schedules: the parameter set a generator chooses, the week it lays out, and its JSON.

Three representations of one schedule, each with one job:

* ``ScheduleParams`` — the handful of numbers a generator (expert rule,
  regressor, PPO policy) decides. ``PARAM_SPECS`` gives each one's range
  (``schedule.params``).
* a *layout* — an ``int32`` array ``[n_blocks, 5]`` with columns
  ``(day, type, subject, start_minute, duration_minutes)``; the form the
  simulator, the feature extractors and the reward model's tokens are computed
  from. ``build_layout`` defines how parameters turn into a week, one week at a
  time; ``build_layouts`` computes the same for many weeks at once and returns a
  ``LayoutBatch`` (all rows in one array plus per-week offsets), which
  ``schedule.summary`` and ``schedule.tokens`` read without re-joining
  (``schedule.layout``).
* Schedule JSON (CONTRACTS §2) — what the backend stores. ``layout_to_json`` and
  ``json_to_layout`` convert both ways; the latter validates untrusted JSON
  (``schedule.schedule_json``).

Every parameter vector inside the ranges yields a valid week: blocks are
ordered, never overlap and stay inside the school day (``DAY_END_MINUTE``);
blocks that would run past it are dropped, and the summary shows the loss.

The public names of the submodules are re-exported here: ``from brightpath.schedule import X``.
"""

from __future__ import annotations

from brightpath.schedule.layout import (
    BLOCK_TYPES,
    DAY_END_MINUTE,
    DAY_NAMES,
    DAY_START_MINUTE,
    LAYOUT_COLUMNS,
    LUNCH_EARLIEST_MINUTE,
    LUNCH_MINUTES,
    MAX_BLOCKS_PER_DAY,
    N_DAYS,
    TYPE_BREAK,
    TYPE_LUNCH,
    TYPE_SUBJECT,
    LayoutBatch,
    build_layout,
    build_layouts,
    layouts_for,
)
from brightpath.schedule.params import (
    N_PARAMS,
    PARAM_NAMES,
    PARAM_SPECS,
    ParamSpec,
    ScheduleParams,
    clip_params,
    params_to_unit,
    unit_to_params,
)
from brightpath.schedule.schedule_json import (
    build_schedule,
    json_to_layout,
    layout_to_json,
    schedule_for,
    schedule_meta,
    validate_schedule,
)
from brightpath.schedule.summary import (
    N_SUMMARY,
    SUMMARY_FEATURES,
    SUMMARY_INDEX,
    summarize,
    summarize_many,
    summarize_params,
)
from brightpath.schedule.tokens import (
    MAX_TOKENS,
    N_TOKEN_FEATURES,
    TOKEN_FEATURES,
    encode_layout,
    encode_layouts,
    encode_schedule,
)

__all__ = [
    "BLOCK_TYPES",
    "DAY_END_MINUTE",
    "DAY_NAMES",
    "DAY_START_MINUTE",
    "LAYOUT_COLUMNS",
    "LUNCH_EARLIEST_MINUTE",
    "LUNCH_MINUTES",
    "MAX_BLOCKS_PER_DAY",
    "MAX_TOKENS",
    "N_DAYS",
    "N_PARAMS",
    "N_SUMMARY",
    "N_TOKEN_FEATURES",
    "PARAM_NAMES",
    "PARAM_SPECS",
    "SUMMARY_FEATURES",
    "SUMMARY_INDEX",
    "TOKEN_FEATURES",
    "TYPE_BREAK",
    "TYPE_LUNCH",
    "TYPE_SUBJECT",
    "LayoutBatch",
    "ParamSpec",
    "ScheduleParams",
    "build_layout",
    "build_layouts",
    "build_schedule",
    "clip_params",
    "encode_layout",
    "encode_layouts",
    "encode_schedule",
    "json_to_layout",
    "layout_to_json",
    "layouts_for",
    "params_to_unit",
    "schedule_for",
    "schedule_meta",
    "summarize",
    "summarize_many",
    "summarize_params",
    "unit_to_params",
    "validate_schedule",
]
