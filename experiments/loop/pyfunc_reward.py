"""The reward model as an MLflow pyfunc model (models-from-code: MLflow runs this file to build the model).

``mlflow.pyfunc.load_model("models:/brightpath-reward@champion").predict(frame)``: ``frame`` has the
questionnaire ``q1`` … ``q25`` (Likert 1–5, 0 or NaN for missing), ``child_age`` (years) and the week's
schedule parameters (``brightpath.schedule.PARAM_NAMES``); the result has the predicted
``satisfaction``, ``engagement`` and ``effectiveness`` (0–1). The week is laid out from its
parameters and scored by the exported reward SavedModel (artifact ``saved_model``) with
``brightpath.reward.scoring.RewardScorer``.
"""

from __future__ import annotations

import mlflow.models
import mlflow.pyfunc
import numpy as np
import pandas as pd


class RewardModel(mlflow.pyfunc.PythonModel):
    """Families and weeks in, predicted scores out (module docstring)."""

    def load_context(self, context) -> None:
        from brightpath.reward.scoring import RewardScorer

        self._scorer = RewardScorer(context.artifacts["saved_model"])

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from brightpath.child import grade_band_index, grade_for_age
        from brightpath.questionnaire import ITEM_KEYS
        from brightpath.schedule import PARAM_NAMES, build_layouts

        frame = pd.DataFrame(model_input)
        answers = frame[list(ITEM_KEYS)].astype("float32").fillna(0.0).to_numpy(np.float32)
        ages = frame["child_age"].to_numpy(np.float32)
        bands = grade_band_index(grade_for_age(np.round(ages).astype(np.int64)))
        layouts = build_layouts(frame[list(PARAM_NAMES)].to_numpy(np.float64), bands)
        scores = self._scorer.score_layouts(layouts, answers, ages, bands)
        return pd.DataFrame({name: np.asarray(value, np.float64) for name, value in scores.items()})


mlflow.models.set_model(RewardModel())
