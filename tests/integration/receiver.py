"""A real HTTP receiver for alert deliveries, run inside the test on a free loopback port:
what a duty system's webhook endpoint does, with a switch to make it fail."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aiohttp import web

SECRET = "it-hook-secret"
"""The webhook key of every test routes file (`secret: env:ZW_IT_KEY`)."""
T = TypeVar("T")


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float
    """time.monotonic() when it arrived."""

    @property
    def doc(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class Receiver:
    """Records every request with its answer: 500 to the first `fail[path]` ones (-1: all),
    204 (delivered) to the others."""

    base: str = ""
    fail: dict[str, int] = field(default_factory=dict)
    log: list[Request] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        left = self.fail.get(request.path, 0)
        if left:
            self.fail[request.path] = left - 1 if left > 0 else left
        status = 500 if left else 204
        self.log.append(Request(request.path, dict(request.headers), body, status,
                                time.monotonic()))
        return web.Response(status=status, text="down for the test" if left else None)

    def at(self, path: str) -> list[tuple[dict[str, str], bytes]]:
        """(headers, body) of every request to `path`, failed or not."""
        return [(r.headers, r.body) for r in self.log if r.path == path]

    def tried(self, path: str, **match: str) -> list[Request]:
        """Requests to `path` whose payload has every `match` field."""
        return [r for r in self.log if r.path == path
                and all(r.doc.get(k) == v for k, v in match.items())]

    def delivered(self, path: str, **match: str) -> list[Request]:
        """Those of `tried` answered 2xx."""
        return [r for r in self.tried(path, **match) if r.status < 300]


async def serve() -> tuple[Receiver, web.AppRunner]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/{name}", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    rec.base = f"http://127.0.0.1:{runner.addresses[0][1]}"
    return rec, runner


def verified(headers: dict[str, str], body: bytes) -> dict:
    """The payload, after checking its HMAC signature and that the headers name its id and
    status (what a receiver de-duplicates on)."""
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Zonewatch-Signature"], expected)
    doc = json.loads(body)
    assert headers["X-Zonewatch-Alert-Id"] == doc["id"]
    assert headers["X-Zonewatch-Alert-Status"] == doc["status"]
    return doc


async def eventually(predicate: Callable[[], T | Awaitable[T]], timeout: float, what: str,
                     interval: float = 0.25) -> T:
    """`procs.wait_until` for async tests: polls (a plain or an async predicate) without
    blocking the loop the receiver answers on."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        result = predicate()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return result
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        await asyncio.sleep(interval)
