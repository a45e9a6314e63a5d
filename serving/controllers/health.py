"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from litestar import Controller, Response, get

from serving.errors import documented
from serving.metrics import Metrics
from serving.schemas import Health, Readiness
from serving.services import StoreHealth


class HealthController(Controller):
    tags = ["operations"]

    @get("/health", operation_id="health", summary="The process is up")
    async def health(self) -> Health:
        return Health(status="ok")

    @get("/ready", operation_id="ready", summary="Stores loaded and their versions", responses=documented(503))
    async def ready(self, health: StoreHealth) -> Response[Readiness]:
        stores = {"conversations": {"loaded": True, "engine": health.repository.dialect}, **health.published()}
        # Without its knowledge base, or with an unusable one, the server still answers, but is not ready: a load
        # balancer should prefer a server that grounds its replies.
        ready = health.insights.error is None and not stores["cultural_insights"]["missing"]
        body = Readiness(ready=ready, stores=stores, responder=health.responder.primary)
        return Response(body, status_code=200 if ready else 503)

    @get("/metrics", operation_id="metrics", summary="Prometheus metrics", media_type="text/plain; version=0.0.4")
    async def metrics(self, health: StoreHealth, metrics: Metrics) -> Response[bytes]:
        for name, status in health.published().items():
            metrics.store_loaded.labels(name).set(1 if status["loaded"] else 0)
        for count in health.primer.counts:
            metrics.claude_prefix_tokens.set(count.tokens)
            metrics.claude_prefix_cacheable.labels(count.model).set(1 if count.cacheable else 0)
        return Response(metrics.render(), media_type="text/plain; version=0.0.4")
