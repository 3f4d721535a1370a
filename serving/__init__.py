"""The BrightPath model service and its worker (the seed plan's "dedicated model service").

* ``python -m serving`` — the HTTP API (FastAPI on uvicorn, default 127.0.0.1:8001, OpenAPI at
  ``/docs``): schedules, evaluations with improvement suggestions, feedback, training jobs,
  health and TF-Serving-style model status. ``serving.app.create_app`` builds it.
* ``python -m serving.worker`` (or ``celery -A serving.worker worker``) — the Celery worker that
  runs training jobs (``python -m experiments.train`` as a subprocess), Redis as broker.

Configuration comes from the environment (``serving.settings``). The service serves models
in-process from the on-disk registry (``brightpath.registry``) and records everything it serves
in the store (``brightpath.store``). It never imports ``experiments``.
"""

from brightpath.console import quiet_third_party

quiet_third_party()  # before anything imports TensorFlow: no native/absl/TF noise around the service's logs
