"""Simulated feedback: noisy, partial, in the feedback schema, and tracking the hidden satisfaction."""

import numpy as np
import pytest

from brightpath.feedback import ADJUSTMENT_KINDS, FEEDBACK_COLUMNS
from brightpath.schedule import N_PARAMS, summarize_params, unit_to_params
from brightpath.simulator import Families, generate_feedback, sample_families, true_scores


@pytest.fixture(scope="module")
def families() -> Families:
    return sample_families(400, np.random.default_rng(7))


def test_feedback_is_noisy_partial_and_tracks_satisfaction(families):
    rng = np.random.default_rng(1)
    params = unit_to_params(rng.uniform(-1, 1, (len(families), N_PARAMS)))
    summaries = summarize_params(params, families.grade_band)
    feedback = generate_feedback(families, summaries, rng)
    assert set(feedback) == set(FEEDBACK_COLUMNS)
    truth = true_scores(families, summaries)["satisfaction"]
    stars = feedback["stars"]
    answered = ~np.isnan(stars)
    assert 0.3 < answered.mean() < 0.9  # realistic non-response
    assert set(np.unique(stars[answered])) <= {1, 2, 3, 4, 5}
    assert np.corrcoef(stars[answered], truth[answered])[0, 1] > 0.7
    assert np.corrcoef(feedback["n_adjustments"], truth)[0, 1] < -0.3
    comments = [c for c in feedback["comment"] if c is not None]
    assert len(set(comments)) > 0.5 * len(comments)  # varied text
    assert set(feedback["adjustment_kind"]) <= set(ADJUSTMENT_KINDS)
    assert np.all(feedback["adjustment_kind"][feedback["n_adjustments"] == 0] == "none")
