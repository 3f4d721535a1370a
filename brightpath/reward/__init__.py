"""The reward model: how satisfied a family will be with a schedule, learned from its feedback.

``targets``     feedback (stars, Likert, comment sentiment, completion, adherence, adjustments)
                → satisfaction, engagement, effectiveness in [0, 1] with sample weights
``inputs``      model inputs of a schedule and its family; normalisation fitted on train
``models``      the Keras attention model and the scikit-learn baselines (gbr, mlp)
``training``    fitting with a validation split, early stopping and a per-epoch hook
``evaluation``  MSE, R², Spearman and Pearson against feedback and hidden truth; plots
``scoring``     the exported SavedModel: ``export_reward_model`` and ``RewardScorer``

No Hydra or MLflow here: experiments (``experiments/tasks/reward.py``) wire these together.
"""
