"""The seed plan's rule-based expert generator: questionnaire and age in, schedule parameters out.

It is the fallback of ``ScheduleGeneratorModel``, the rule the seed's regressors
imitate, and the baseline every learned generator is compared with. Like the
profile features it reads (``features.category_scores``), it is written once for
NumPy and TensorFlow: ``xp`` is ``numpy`` or ``brightpath.tf_namespace.tf_namespace()``
inside an exported SavedModel.
"""

from __future__ import annotations

import numpy as np

from brightpath.child import MIN_AGE
from brightpath.features import category_scores
from brightpath.schedule.params import N_PARAMS, clip_params

EXPERT_VERSION = "expert-rule-1"
"""``meta.model_version`` of the schedules the rule writes."""


def expert_params(answers, child_age, xp=np):
    """The seed plan's rule-based 'expert-designed' schedule parameters, ``[batch, N_PARAMS]``.

    The seed's ``generate_synthetic_schedules`` rule, completed for the
    parameters it does not set:

    * structure = 1 - flexibility
    * block = 20 + 2·(age - 5) - 15·rotation minutes, within 15–60
    * breaks after every 2 + int(3·rotation) blocks
    * start hour = 8 + int(2·(1 - time management))
    * daily learning minutes: a flat 60 + 15·(age - 5) (the seed leaves load unset;
      a cautious planner's guideline, shorter than the usual 90 + 15·(age - 5))
    * subject rotation = the rotation score; 10-minute breaks
    """
    scores, _ = category_scores(answers, xp)
    flexibility, rotation, time_management = scores[:, 0], scores[:, 1], scores[:, 2]
    age = xp.reshape(child_age, (-1,))
    raw = xp.stack(
        [
            1.0 - flexibility,
            20.0 + (age - MIN_AGE) * 2.0 - rotation * 15.0,
            2.0 + xp.floor(rotation * 3.0),
            8.0 + xp.floor((1.0 - time_management) * 2.0),
            60.0 + 15.0 * (age - MIN_AGE),
            rotation,
            10.0 + 0.0 * age,
        ],
        axis=-1,
    )
    assert raw.shape[-1] == N_PARAMS
    return clip_params(raw, xp)
