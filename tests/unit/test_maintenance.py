"""Maintenance windows outside the routes file: the book every worker keeps (registry windows
plus the API's, from the compacted topic) and the API's checks of a declared window."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from faust import web

from alerts.lifecycle import Incident, Scope, open_alert
from alerts.routing import in_maintenance
from schemas import Alert, AlertKind, MaintenanceWindow, Registry, Summary
from streams.maintenance import MaintenanceBook
from streams.web.auth import Principal, Role
from streams.web.maintenance_views import check_span, new_window, visible, zone_of
from tests.factories import tiny_registry

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)  # 08:00 in Nanjing
HOUR = timedelta(hours=1)
ECO = Principal("eco", Role.ECOLOGY)
JN = Principal("jn", Role.ZONE, "jiangning-edz")
PK = Principal("pk", Role.ZONE, "pukou-edz")


def _registry(*windows: MaintenanceWindow) -> Registry:
    return tiny_registry().model_copy(update={"maintenance": list(windows)})


def _gap(point: str) -> Alert:
    inc = Incident(AlertKind.DATA_GAP, point, "jiangning-edz", T0, point[:7], point,
                   scope=Scope.ENV_COUNTED)
    return open_alert(inc, Summary(zh="数据中断", en="silent"), T0)


def _record(window: MaintenanceWindow) -> tuple[bytes, bytes]:
    return window.key.encode(), window.model_dump_json().encode()


def test_book_holds_registry_and_api_windows_and_follows_the_topic() -> None:
    planned = MaintenanceWindow(point="jn-0001-ww1", start=T0, end=T0 + 4 * HOUR)
    book = MaintenanceBook(lambda: _registry(planned))
    adhoc = MaintenanceWindow(id="mw-1", enterprise="jn-0002", start=T0, end=T0 + HOUR,
                              declared_by="值班员")
    book.apply(*_record(adhoc))
    assert book.windows() == [planned, adhoc]
    assert in_maintenance(_gap("jn-0001-ww1"), book.windows(), T0 + HOUR)
    assert in_maintenance(_gap("jn-0002-ww1"), book.windows(), T0)
    assert not in_maintenance(_gap("jn-0003-ww1"), book.windows(), T0)
    moved = adhoc.model_copy(update={"end": T0 + 2 * HOUR})
    book.apply(*_record(moved))
    assert book.declared == {"mw-1": moved}, "a newer record of the same id replaces it"
    book.apply(b"mw-1", None)
    assert book.windows() == [planned], "a tombstone withdraws it"
    book.apply(b"mw-1", None)  # twice: still nothing, no error


def test_book_skips_a_bad_record_and_works_before_the_registry() -> None:
    book = MaintenanceBook(lambda: None)
    book.apply(b"mw-x", b'{"point": "p"}')
    book.apply(None, b"{}")
    assert book.windows() == [] and book.listed() == []
    window = MaintenanceWindow(id="mw-2", point="gone", start=T0, end=T0 + HOUR)
    book.apply(*_record(window))
    assert [x.zone for x in book.listed()] == [None], "no registry: zone unknown"


def test_listing_says_where_a_window_comes_from_and_its_zone() -> None:
    planned = MaintenanceWindow(point="jn-0001-ww1", start=T0, end=T0 + HOUR)
    book = MaintenanceBook(lambda: _registry(planned))
    book.apply(*_record(MaintenanceWindow(id="mw-3", enterprise="pk-0001", start=T0,
                                          end=T0 + HOUR)))
    found = {x.window.key: (x.source, x.zone) for x in book.listed()}
    assert found == {planned.key: ("registry", "jiangning-edz"), "mw-3": ("api", "pukou-edz")}
    assert book.find("mw-3").as_json()["source"] == "api"  # type: ignore[union-attr]
    assert book.find("mw-nope") is None


def test_visible_by_zone_ended_and_order() -> None:
    book = MaintenanceBook(lambda: _registry())
    for i, (what, start, end) in enumerate([
            ({"point": "jn-0001-ww1"}, T0 + HOUR, T0 + 2 * HOUR),
            ({"enterprise": "jn-0002"}, T0, T0 + 3 * HOUR),
            ({"enterprise": "pk-0001"}, T0, T0 + HOUR),
            ({"point": "jn-0003-ww1"}, T0 - 2 * HOUR, T0 - HOUR),   # ended
            ({"point": "left-the-registry"}, T0, T0 + HOUR)]):
        book.apply(*_record(MaintenanceWindow(id=f"mw-{i}", start=start, end=end, **what)))
    now = T0 + timedelta(minutes=1)
    assert [x.window.id for x in visible(book.listed(), ECO, now)] == ["mw-1", "mw-2", "mw-4",
                                                                       "mw-0"]
    assert [x.window.id for x in visible(book.listed(), JN, now)] == ["mw-1", "mw-0"]
    assert [x.window.id for x in visible(book.listed(), JN, now, ended=True)] == [
        "mw-3", "mw-1", "mw-0"]
    assert [x.window.id for x in visible(book.listed(), PK, now)] == ["mw-2"]


def test_a_declared_window_is_checked_by_the_one_model() -> None:
    body = {"point": "jn-0001-ww1", "start": "2026-12-01T09:00", "end": "2026-12-01T11:00",
            "reason": "更换采样泵"}
    window = new_window(body, JN, T0)
    assert window.id is not None and window.id.startswith("mw-")
    assert window.start == datetime(2026, 12, 1, 1, 0, tzinfo=UTC), "no offset: Shanghai"
    assert (window.declared_by, window.declared_at, window.kinds) == ("jn", T0, ["data_gap"])
    assert new_window({**body, "by": "张工"}, JN, T0).declared_by == "张工"
    for bad, message in [
            ({**body, "enterprise": "jn-0001"}, "either a point or an enterprise"),
            ({**body, "end": "2026-12-01T08:00"}, "must end after it starts"),
            ({**body, "id": "mw-mine"}, r"unknown field\(s\): id"),
            ({**body, "kinds": ["nonsense"]}, "kinds.0"),
            ({"point": "jn-0001-ww1", "end": "2026-12-01T11:00"}, "start is required"),
            ({**body, "start": "soon"}, "not an ISO 8601 date or time"),
            ({**body, "start": "0001-01-01T00:00:00+05:00"}, "out of range|between 1970")]:
        with pytest.raises(web.View.ValidationError) as e:
            new_window(bad, JN, T0)
        assert re.search(message, str(e.value.detail)), (bad, e.value.detail)


def test_span_and_zone_checks() -> None:
    window = MaintenanceWindow(point="jn-0001-ww1", start=T0, end=T0 + HOUR)
    check_span(window, T0 + HOUR / 2, max_days=31)
    with pytest.raises(web.View.ValidationError, match="already ended"):
        check_span(window, T0 + HOUR, max_days=31)
    long = window.model_copy(update={"end": T0 + timedelta(days=32)})
    with pytest.raises(web.View.ValidationError, match="at most 31 days"):
        check_span(long, T0, max_days=31)
    assert zone_of(_registry(), window) == "jiangning-edz"
    with pytest.raises(web.View.ValidationError, match="no enterprise 'jn-9999'"):
        zone_of(_registry(), MaintenanceWindow(enterprise="jn-9999", start=T0, end=T0 + HOUR))


def test_every_api_route_and_method_is_in_the_openapi_description() -> None:
    """The description is written by hand: a route added without it would be undocumented."""
    from streams.web import API_ROUTES
    from streams.web.openapi import PATHS

    for path, view in API_ROUTES:
        methods = {m for m in ("get", "post", "delete", "put", "patch") if m in vars(view)}
        assert path in PATHS, path
        assert methods <= set(PATHS[path]), (path, methods - set(PATHS[path]))
