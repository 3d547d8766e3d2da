"""The worker's HTTP side: the API (bearer tokens), its OpenAPI description, the dashboard.

`register(app, ctx, emit, WebSettings())` from `create_app` adds every route.
"""

from __future__ import annotations

import asyncio

import faust

from streams.context import WorkerContext
from streams.emit import Emitter
from streams.maintenance import MaintenanceBook
from streams.web.alert_views import AckView, AlertsView, AlertView
from streams.web.api import Backend, bind
from streams.web.auth import Principal, Role, TokenFileError, Tokens, load_tokens
from streams.web.config import WebSettings
from streams.web.coverage_views import CoverageView, TrendView, ZoneCoverageView
from streams.web.maintenance_views import MaintenanceItemView, MaintenanceView
from streams.web.openapi import OpenApiView
from streams.web.pages import HealthView, IndexView, StaticView, static_files

__all__ = ["Principal", "Role", "TokenFileError", "Tokens", "WebSettings", "register"]

API_ROUTES = (
    ("/api/v1/coverage", CoverageView),
    ("/api/v1/coverage/trend", TrendView),
    ("/api/v1/zones/{zone}/coverage", ZoneCoverageView),
    ("/api/v1/alerts", AlertsView),
    ("/api/v1/alerts/{alert_id}", AlertView),
    ("/api/v1/alerts/{alert_id}/ack", AckView),
    ("/api/v1/maintenance", MaintenanceView),
    ("/api/v1/maintenance/{window_id}", MaintenanceItemView),
)


def register(app: faust.App, ctx: WorkerContext, emit: Emitter, settings: WebSettings,
             maintenance: MaintenanceBook) -> Backend:
    """Load the tokens (a bad file raises `TokenFileError` naming the entry) and add the
    routes; the InfluxDB client opens with the worker and closes with it."""
    backend = Backend(ctx, emit, settings, load_tokens(settings.tokens_file), maintenance)
    for path, view in API_ROUTES:
        app.page(path, name=f"zw-{view.__name__}")(bind(view, backend))
    app.page("/api/v1/openapi.json", name="zw-openapi")(OpenApiView)
    files = static_files()
    app.page("/static/{name}", name="zw-static")(
        type("StaticView", (StaticView,), {"files": files}))
    app.page("/", name="zw-index")(type("IndexView", (IndexView,), {"files": files}))
    app.page("/healthz", name="zw-health")(type("HealthView", (HealthView,),
                                                {"backend": backend}))

    @app.task
    async def web_reader() -> None:
        await backend.start()
        try:
            await asyncio.Event().wait()
        finally:
            await backend.stop()

    return backend
