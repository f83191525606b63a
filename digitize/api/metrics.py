"""Prometheus metrics: processing totals read from the index at scrape time, plus HTTP request metrics."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from storage.index import Index

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class IndexCollector:
    """Reads the index on every scrape (counts are cheap aggregate queries)."""

    def __init__(self, index: Index, queue_depth: Callable[[], int] | None) -> None:
        self.index = index
        self.queue_depth = queue_depth

    def collect(self) -> Iterator[Metric]:
        """Yield the processing metrics."""
        counts = self.index.counts()
        yield CounterMetricFamily("digitize_pages_processed", "Pages processed successfully",
                                  value=counts["pages"] - counts["pages_failed"])
        yield CounterMetricFamily("digitize_pages_failed", "Pages that failed", value=counts["pages_failed"])
        yield CounterMetricFamily("digitize_files_failed", "Input files that failed", value=counts["files_failed"])
        yield GaugeMetricFamily("digitize_documents", "Result documents in the index", value=counts["documents"])
        yield GaugeMetricFamily("digitize_review_backlog", "Result documents waiting for a clerk's review",
                                value=counts["needs_review"])
        by_status = GaugeMetricFamily("digitize_files", "Input files by status", labels=["status"])
        for status, n in self.index.files_by_status().items():
            by_status.add_metric([status], n)
        yield by_status
        if self.queue_depth is not None:
            yield GaugeMetricFamily("digitize_queue_depth", "Jobs waiting in the processing queues",
                                    value=self.queue_depth())


class Metrics:
    """One registry per app (tests build many apps in one process)."""

    def __init__(self, index: Index, queue_depth: Callable[[], int] | None) -> None:
        self.registry = CollectorRegistry()
        self.registry.register(IndexCollector(index, queue_depth))  # type: ignore[arg-type]
        self.requests = Counter("digitize_http_requests", "HTTP requests", ["method", "route", "status"],
                                registry=self.registry)
        self.latency = Histogram("digitize_http_request_duration_seconds", "HTTP request latency", ["route"],
                                 registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Pure ASGI middleware counting requests by route template (not raw path: bounded labels)."""

    def __init__(self, app: Any, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = {"code": 500}

        async def send_wrapper(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            self.metrics.requests.labels(scope["method"], route, str(status["code"])).inc()
            self.metrics.latency.labels(route).observe(time.perf_counter() - start)
