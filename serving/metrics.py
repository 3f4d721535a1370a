"""Prometheus metrics of the service (``GET /metrics``), in a registry of its own per app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Metrics:
    """Request counts and latencies per route, fallback schedules, model loads, re-queued jobs."""

    def __init__(self):
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "brightpath_http_requests", "HTTP requests answered", ["endpoint", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "brightpath_http_request_seconds",
            "Time to answer a request",
            ["endpoint"],
            buckets=LATENCY_BUCKETS_S,
            registry=self.registry,
        )
        self.fallback_schedules = Counter(
            "brightpath_fallback_schedules",
            "Schedules written by the rule-based fallback (model missing or corrupt)",
            registry=self.registry,
        )
        self.model_loads = Counter(
            "brightpath_model_loads", "Model load attempts", ["model", "outcome"], registry=self.registry
        )
        self.jobs_requeued = Counter(
            "brightpath_jobs_requeued", "Training jobs re-queued after their worker died", registry=self.registry
        )
        self.jobs_failed_stale = Counter(
            "brightpath_jobs_failed_stale",
            "Training jobs failed after their workers died too often",
            registry=self.registry,
        )

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint, str(status)).inc()
        self.latency.labels(endpoint).observe(seconds)

    def model_loaded(self, name: str, outcome: str) -> None:
        self.model_loads.labels(name, outcome).inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
