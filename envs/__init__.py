"""Gymnasium environments of BrightPath (CONTRACTS §5).

``import envs`` registers ``BrightPath/Schedule-v0``:

    gymnasium.make("BrightPath/Schedule-v0", reward_model=PATH)        # learned reward
    gymnasium.make("BrightPath/Schedule-v0", reward_source="oracle")   # hidden truth (ablations)
    gymnasium.make_vec("BrightPath/Schedule-v0", num_envs=256,
                       vectorization_mode="vector_entry_point", reward_source="oracle")

The vector entry point is ``envs.batch.ScheduleVectorEnv``, which scores all
``num_envs`` schedules of a step with one reward-model call.
"""
from __future__ import annotations

import brightpath  # noqa: F401  (sets TF_USE_LEGACY_KERAS before anything loads TensorFlow)
import gymnasium

ENV_ID = "BrightPath/Schedule-v0"

if ENV_ID not in gymnasium.registry:
    gymnasium.register(
        id=ENV_ID,
        entry_point="envs.schedule_env:ScheduleEnv",
        vector_entry_point="envs.batch:ScheduleVectorEnv",
    )

__all__ = ["ENV_ID"]
