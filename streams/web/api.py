"""What every API view shares: the backend (registry, InfluxDB, Kafka), auth and errors.

Views are `faust.web.View` classes; `register` gives each its own subclass holding the
`Backend`, since Faust builds views itself from `(app, web)`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from http import HTTPStatus
from typing import Any, ClassVar, TypeVar

from aiohttp import ClientError
from faust import web
from faust.web.exceptions import ServiceUnavailable, WebError
from influxdb_client.client.influxdb_client_async import InfluxDBClientAsync
from influxdb_client.rest import ApiException

from alerts.lifecycle import SYSTEM_ZONE
from schemas import Registry
from streams.context import WorkerContext
from streams.emit import Emitter
from streams.maintenance import MaintenanceBook
from streams.web.auth import Principal, Role, Tokens, bearer
from streams.web.config import WebSettings
from zonewatch.query import QueryError

log = logging.getLogger(__name__)
T = TypeVar("T")


class Conflict(WebError):
    code = HTTPStatus.CONFLICT
    detail = "Conflict"


class Backend:
    """The worker's parts the API reads and writes through; the InfluxDB client is opened by
    `start()` (on the worker's loop) and closed by `stop()`."""

    def __init__(self, ctx: WorkerContext, emit: Emitter, settings: WebSettings,
                 tokens: Tokens, maintenance: MaintenanceBook,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.ctx, self.emit, self.settings, self.tokens = ctx, emit, settings, tokens
        self.maintenance = maintenance
        self.clock = clock
        self.bucket = ctx.settings.influx.bucket
        self._client: InfluxDBClientAsync | None = None

    async def start(self) -> None:
        influx = self.ctx.settings.influx
        self._client = InfluxDBClientAsync(url=influx.url, org=influx.org,
                                           token=influx.token.get_secret_value(),
                                           timeout=influx.timeout_ms)

    async def stop(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    def query_api(self) -> Any:
        if self._client is None:
            raise ServiceUnavailable("starting: InfluxDB client not open yet")
        return self._client.query_api()

    def registry(self) -> Registry:
        if self.ctx.index is None:
            raise ServiceUnavailable("starting: no registry yet")
        return self.ctx.registry

    async def read(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """Run a `zonewatch.query` function: bad input is 400, InfluxDB trouble 503."""
        try:
            return await fn(self.query_api(), self.bucket, *args, **kwargs)
        except QueryError as e:
            raise web.View.ValidationError(str(e)) from e
        except ApiException as e:
            log.warning("InfluxDB query failed: %s %s", e.status, e.reason)
            raise ServiceUnavailable(f"InfluxDB answered {e.status}") from e
        except (TimeoutError, ClientError, OSError) as e:
            log.warning("InfluxDB unreachable: %s", e)
            raise ServiceUnavailable("InfluxDB unreachable") from e


class ApiView(web.View):
    """Base of the API views: `principal()` authenticates (401), `zone()` authorises (403)."""

    backend: ClassVar[Backend]
    roles: ClassVar[frozenset[Role]] = frozenset(Role) - {Role.METRICS}
    """The roles this view answers; a valid token of another role gets 403."""

    def principal(self, request: web.Request) -> Principal:
        who = self.backend.tokens.authenticate(bearer(request.headers))
        if who is None:
            raise self.NotAuthenticated("a valid bearer token is required")
        if who.role not in self.roles:
            raise self.PermissionDenied(f"token {who.name!r} (role {who.role.value}) may not "
                                        f"use this")
        return who

    def zone(self, who: Principal, zone: str) -> str:
        """`zone` if `who` may see it (403 otherwise) and it exists (404 otherwise)."""
        if not who.can_see(zone):
            raise self.PermissionDenied(f"token {who.name!r} may not see zone {zone!r}")
        if zone != SYSTEM_ZONE and zone not in self.backend.registry().zone_by_id:
            raise self.NotFound(f"no zone {zone!r}")
        return zone

    def zone_filter(self, who: Principal, zone: str | None) -> str | None:
        """A list's `?zone=`: checked like a path zone; a zone token without one gets its own."""
        if zone:
            return self.zone(who, zone)
        return who.zone if who.limited else None

    async def on_request_error(self, request: web.Request, exc: WebError) -> web.Response:
        headers = {"WWW-Authenticate": 'Bearer realm="zonewatch"'} if exc.code == 401 else None
        return self.error(int(exc.code), exc.detail, headers=headers)

    def query_param(self, request: web.Request, name: str) -> str | None:
        """A query-string value; empty counts as not given."""
        value = (request.query.get(name) or "").strip()  # type: ignore[attr-defined]
        return value or None


def bind(view: type[ApiView], backend: Backend) -> type[ApiView]:
    """A subclass of `view` holding `backend`: Faust instantiates views itself."""
    return type(view.__name__, (view,), {"backend": backend, "__doc__": view.__doc__})
