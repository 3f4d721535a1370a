"""The ground-truth family simulator: who the families are, what they truly like, what they tell us.

Like RecSim, the person is kept apart from the system that serves them. Three
separate, individually testable pieces:

1. ``sample_families`` (``simulator.population``) — the population: hidden true
   preferences (correlated across the five questionnaire categories), the child's
   age, hidden traits a questionnaire cannot see (attention, chronotype, rating
   leniency), and the noisy, partly missing questionnaire answers the family would give.
2. ``true_scores`` (``simulator.truth``) — the hidden satisfaction, engagement and
   effectiveness in [0, 1] of a family with a schedule (read through the schedule's
   summary features, ``schedule.SUMMARY_FEATURES``). Only evaluation may look at it;
   the module's docstring documents how satisfaction works.
3. ``generate_feedback`` (``simulator.responses``) — what the family reports after a
   week: stars, Likert responses, a free-text comment, completion, adherence and
   adjustments, all noisy and with realistic non-response. Its columns are the
   feedback schema (``brightpath.feedback``), which the inference API reads too.
4. ``live_week`` (``simulator.weekly``) — the multi-week world: one dated school week
   lived (truth with the week's temporal effects, ``simulator.truth``) and the weekly
   feedback (``generate_week_feedback``: adjustments that say a direction, noisy
   comments, silent families, skipped weeks), from the family's survey habits
   (``sample_survey_habits``).

The public names of the submodules are re-exported here: ``from brightpath.simulator import X``.
"""

from __future__ import annotations

from brightpath.simulator.population import (
    CATEGORY_SKIP_RATE,
    ITEM_MISSING_RATE,
    ITEM_NOISE,
    ITEMS_PER_CATEGORY,
    N_CATEGORIES,
    SILENT_SHARE,
    Families,
    SurveyHabits,
    sample_families,
    sample_survey_habits,
)
from brightpath.simulator.responses import generate_feedback
from brightpath.simulator.truth import (
    COMPONENTS,
    TemporalEffects,
    component_weights,
    ideal_block_minutes,
    ideals,
    temporal_effects,
    true_components,
    true_scores,
)
from brightpath.simulator.weekly import LivedWeek, WeekFeedback, generate_week_feedback, live_week

SIMULATOR_VERSION = "1.0"
"""Version of the simulated population, truth and feedback, recorded in every data card."""

__all__ = [
    "CATEGORY_SKIP_RATE",
    "COMPONENTS",
    "ITEMS_PER_CATEGORY",
    "ITEM_MISSING_RATE",
    "ITEM_NOISE",
    "N_CATEGORIES",
    "SILENT_SHARE",
    "SIMULATOR_VERSION",
    "Families",
    "LivedWeek",
    "SurveyHabits",
    "TemporalEffects",
    "WeekFeedback",
    "component_weights",
    "generate_feedback",
    "generate_week_feedback",
    "ideal_block_minutes",
    "ideals",
    "live_week",
    "sample_families",
    "sample_survey_habits",
    "temporal_effects",
    "true_components",
    "true_scores",
]
