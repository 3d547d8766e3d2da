"""The dashboard's files (no build step: HTML, JS, CSS as they are) and the health check."""

from __future__ import annotations

from importlib import resources
from typing import ClassVar

from faust import web

from streams.web.api import Backend

TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
         ".css": "text/css; charset=utf-8", ".svg": "image/svg+xml"}
NO_STORE = {"Cache-Control": "no-cache"}


def static_files() -> dict[str, bytes]:
    """Every file of `static/`, read once: only these names are ever served (no paths)."""
    folder = resources.files("streams.web") / "static"
    return {f.name: f.read_bytes() for f in folder.iterdir()
            if f.is_file() and any(f.name.endswith(ext) for ext in TYPES)}


class StaticView(web.View):
    """GET /static/{name}: the dashboard's scripts and styles."""

    files: ClassVar[dict[str, bytes]] = {}

    async def get(self, request: web.Request, name: str) -> web.Response:
        body = self.files.get(name)
        if body is None:
            raise self.NotFound(f"no file {name!r}")
        ctype = next(t for ext, t in TYPES.items() if name.endswith(ext))
        return self.bytes(body, headers={**NO_STORE, "Content-Type": ctype})


class IndexView(StaticView):
    """GET /: the dashboard; it asks for a token before it fetches anything."""

    async def get(self, request: web.Request) -> web.Response:  # type: ignore[override]
        return await super().get(request, "index.html")


class HealthView(web.View):
    """GET /healthz: up, and whether the registry and the maintenance windows are read yet
    (alerts are not delivered before: a window declared earlier must hold them), and whether
    the worker streams (not while a rebalance moves partitions or tables recover)."""

    backend: ClassVar[Backend]

    async def get(self, request: web.Request) -> web.Response:
        registry = self.backend.ctx.index is not None
        windows = self.backend.maintenance.ready.is_set()
        streaming = self.backend.ctx.streaming()
        return self.json({"status": "ok" if registry and windows and streaming else "starting",
                          "registry": registry, "maintenance": windows,
                          "streaming": streaming})
