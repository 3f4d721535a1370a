"""The continuous-improvement loop (issue 10): serve → feedback → reward refresh → PPO retrain → A/B gate →
promote, watched by monitoring, with a research view from the hidden truth.

=====================  =========================================================================
module                 what it does
=====================  =========================================================================
``config``             ``LoopConfig``, the ``loop`` config group's schema (TensorFlow-free)
``world``              the simulated families who are served and answer (the only simulator use)
``cohorts``            the store's traffic: the logged history, served cohorts, feedback
``reward``             the reward model refreshed on every stored feedback row
``policy``             PPO retrained against it; the policy's distribution and √KL
``ab``                 the gate's A/B cohort, scores, segments and rates from the store
``mlflow_registry``    the models as MLflow pyfunc models, registered with aliases and verdict tags
``research``           the hidden truth's view of every round; ``reports/loop.md`` and its plot
``runner``             ``Loop``: the rounds step by step, resumable after a crash
=====================  =========================================================================

Entry points: ``python -m experiments.train +exp=loop`` (``experiments.tasks.loop``) and
``python -m experiments.monitor``.
"""
