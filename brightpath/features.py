"""Family profile features, written once for NumPy and TensorFlow.

Every function takes an array namespace ``xp``: ``numpy`` for training and
simulation, ``brightpath.tf_namespace.tf_namespace()`` inside an exported SavedModel, so the
backend's graph computes exactly what training saw (no second copy of the
preprocessing to drift out of sync).

Inputs are the raw arrays of CONTRACTS §6: ``answers`` ``[batch, 25]`` Likert
1–5 with 0 for a missing answer, and ``child_age`` ``[batch]`` in years.
"""

from __future__ import annotations

import numpy as np

from brightpath.child import MAX_AGE, MIN_AGE
from brightpath.questionnaire import CATEGORY_NAMES, N_ITEMS

N_CATEGORIES = len(CATEGORY_NAMES)
ITEMS_PER_CATEGORY = N_ITEMS // N_CATEGORIES

DEFAULT_CATEGORY_SCORE = 0.5
"""Score of a category with no answers: the neutral answer (3 of 5) normalised to 0–1."""

PROFILE_FEATURES: tuple[str, ...] = (
    tuple(f"score_{c}" for c in CATEGORY_NAMES)  # composite 0–1 (mean of answered items)
    + tuple(f"missing_{c}" for c in CATEGORY_NAMES)  # share of the category's items unanswered, 0–1
    + ("age_scaled",)  # (age - 5) / 13, 0–1
)
N_PROFILE_FEATURES = len(PROFILE_FEATURES)


def category_scores(answers, xp=np):
    """Composite score per category and share of missing items.

    Each answered item is normalised (x - 1) / 4 to 0–1; a category's score is
    the mean over its answered items, or ``DEFAULT_CATEGORY_SCORE`` if none.

    Returns:
        ``(scores, missing)``, each ``[batch, 5]`` in 0–1, category order ``CATEGORY_NAMES``.
    """
    grouped = xp.reshape(answers, (-1, N_CATEGORIES, ITEMS_PER_CATEGORY))
    answered = xp.where(grouped > 0, xp.ones_like(grouped), xp.zeros_like(grouped))
    n_answered = xp.sum(answered, axis=-1)
    total = xp.sum((grouped - 1.0) / 4.0 * answered, axis=-1)
    scores = xp.where(n_answered > 0, total / xp.maximum(n_answered, 1.0), DEFAULT_CATEGORY_SCORE + 0.0 * total)
    return scores, 1.0 - n_answered / ITEMS_PER_CATEGORY


def profile_features(answers, child_age, xp=np):
    """Feature vector ``[batch, N_PROFILE_FEATURES]`` (names in ``PROFILE_FEATURES``)."""
    scores, missing = category_scores(answers, xp)
    age = xp.reshape((child_age - MIN_AGE) / (MAX_AGE - MIN_AGE), (-1, 1))
    return xp.concatenate([scores, missing, age], axis=-1)
