"""Gymnasium environments of BrightPath (CONTRACTS §5).

``import envs`` registers ``BrightPath/Schedule-v0`` (one decision per family) and
``BrightPath/ScheduleWeeks-v0`` (a family over several school weeks, adapting from its feedback):

    gymnasium.make("BrightPath/Schedule-v0", reward_model=PATH)        # learned reward
    gymnasium.make("BrightPath/Schedule-v0", reward_source="oracle")   # hidden truth (ablations)
    gymnasium.make_vec("BrightPath/Schedule-v0", num_envs=256,
                       vectorization_mode="vector_entry_point", reward_source="oracle")

    gymnasium.make("BrightPath/ScheduleWeeks-v0", reward_source="oracle", weeks=8)
    gymnasium.make("BrightPath/ScheduleWeeks-v0", reward_model=WEEK_SCORER)  # envs.weeks_env.WeekScorer
    gymnasium.make_vec("BrightPath/ScheduleWeeks-v0", num_envs=1024,
                       vectorization_mode="vector_entry_point", reward_source="oracle")

The vector entry points ``envs.batch.ScheduleVectorEnv`` and ``envs.weeks_batch.ScheduleWeeksVectorEnv``
score all ``num_envs`` schedules of a step with one reward-model call.
"""

from __future__ import annotations

# isort: off
import brightpath  # noqa: F401  (sets TF_USE_LEGACY_KERAS before anything loads TensorFlow)
import gymnasium
# isort: on

ENV_ID = "BrightPath/Schedule-v0"
WEEKS_ENV_ID = "BrightPath/ScheduleWeeks-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(
        id=ENV_ID, entry_point="envs.schedule_env:ScheduleEnv", vector_entry_point="envs.batch:ScheduleVectorEnv"
    )
if WEEKS_ENV_ID not in gymnasium.registry:
    gymnasium.register(
        id=WEEKS_ENV_ID,
        entry_point="envs.weeks_env:ScheduleWeeksEnv",
        vector_entry_point="envs.weeks_batch:ScheduleWeeksVectorEnv",
    )

__all__ = ["ENV_ID", "WEEKS_ENV_ID"]
