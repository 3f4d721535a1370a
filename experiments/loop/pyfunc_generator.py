"""The generator as an MLflow pyfunc model (models-from-code: MLflow runs this file to build the model).

``mlflow.pyfunc.load_model("models:/brightpath-generator@champion").predict(frame)``: ``frame`` has the
questionnaire ``q1`` … ``q25`` (Likert 1–5, 0 or NaN for missing) and ``child_age`` (years); the result
has one column per schedule parameter (``brightpath.schedule.PARAM_NAMES``, their units). The model
is the exported generator SavedModel (CONTRACTS §6), artifact ``saved_model``; TensorFlow only.
"""

from __future__ import annotations

import mlflow.models
import mlflow.pyfunc
import numpy as np
import pandas as pd

ANSWER_COLUMNS = tuple(f"q{i}" for i in range(1, 26))


class GeneratorModel(mlflow.pyfunc.PythonModel):
    """Questionnaires in, schedule parameters out (module docstring)."""

    def load_context(self, context) -> None:
        import tensorflow as tf

        self._loaded = tf.saved_model.load(context.artifacts["saved_model"])
        self._serve = self._loaded.signatures["serving_default"]

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        import tensorflow as tf

        frame = pd.DataFrame(model_input)
        answers = frame[list(ANSWER_COLUMNS)].astype("float32").fillna(0.0).to_numpy(np.float32)
        ages = frame["child_age"].astype("float32").to_numpy(np.float32)
        out = self._serve(answers=tf.constant(answers), child_age=tf.constant(ages))
        return pd.DataFrame({name: value.numpy().astype(np.float64) for name, value in sorted(out.items())})


mlflow.models.set_model(GeneratorModel())
