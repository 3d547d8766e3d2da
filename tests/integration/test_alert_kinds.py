"""Every alert kind SPEC "Alerts" lists, raised by a real worker and resolved when its cause
goes away, as published on MQTT `zw/v1/alerts/{zone}/{kind}` with SPEC's JSON keys.

One zone of five key polluter units (a point each, reporting every second, threshold 6 s),
one safety platform and five enterprises that must be assessed:

- jn-0001: every reading normal and changing; never alerted.
- jn-0002: COD over its limit (exceedance), then back under it.
- jn-0003: flag D (invalid_data after `ZW_FAULT_READINGS`), then N.
- jn-0004: below its detection limit (suspect_data after `ZW_SUSPECT_AFTER_S`), then above.
- jn-0005: silent from the start (data_gap), then reporting.

The platform has never beaten (platform_offline) until one heartbeat; no enterprise is
assessed (assessment_missing) until four are for a year and jn-0005 for ten days
(assessment_expiring), then renewed; a hazard is reported past its due date
(hazard_overdue), then remediated; the zone is under 100 % (coverage_below_target) until
every unit reports valid data.
"""

from __future__ import annotations

import re
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import yaml

from tests.factories import tiny_registry
from tests.integration.helpers import load_file_and_start_ingest, own_zone
from tests.integration.mqtt import Collector, Fleet, publish_all
from tests.integration.procs import wait_until

UNITS = [f"jn-{i:04d}" for i in range(1, 6)]
NORMAL, OVER, FAULTY, STUCK, SILENT = (f"{u}-ww1" for u in UNITS)
COD = "w01018"
LIMIT, FLOOR = 50.0, 0.5
HAZARD = "hz-0001"
SUSPECT_AFTER_S = 5
WORKER_ENV = {"ZW_ZONE_INTERVAL_S": "1", "ZW_SUSPECT_AFTER_S": str(SUSPECT_AFTER_S),
              "ZW_FAULT_READINGS": "3"}

SPEC_KEYS = {"id", "kind", "status", "severity", "zone", "enterprise", "point", "opened_at",
             "updated_at", "resolved_at", "summary", "audience"}
EXTRA_KEYS = {"acknowledged_by", "acknowledged_at", "subject", "since", "factor"}
"""Keys the worker adds beside SPEC's: who acknowledged and when (the `acknowledged` state
SPEC names), and what the alert is about (subject, factor) since when (since)."""
SAFETY_KINDS = {"platform_offline", "assessment_missing", "assessment_expiring",
                "hazard_overdue"}


def changing(base: float) -> Callable[[int], dict[str, float]]:
    """Values that differ from one reading to the next: never suspect."""
    return lambda n: {COD: base + n % 5}


def write_kinds_registry(path: Path, zone: str) -> Path:
    registry = tiny_registry(units=len(UNITS), zone=zone, interval_s=2).model_dump(mode="json")
    for point in registry["points"]:
        assert point["limits"] == {COD: LIMIT}
        if point["id"] == STUCK:
            point["detection_limits"] = {COD: FLOOR}
    path.write_text(yaml.safe_dump(registry, allow_unicode=True))
    return path


def expected(zone: str) -> dict[tuple[str, str], tuple[str | None, str | None]]:
    """(kind, subject) of each alert this run must raise and resolve → (enterprise, point)."""
    point_ent = {p: p.removesuffix("-ww1") for p in (OVER, FAULTY, STUCK, SILENT)}
    return {
        ("exceedance", f"{OVER}/{COD}"): (point_ent[OVER], OVER),
        ("invalid_data", FAULTY): (point_ent[FAULTY], FAULTY),
        ("suspect_data", f"{STUCK}/{COD}"): (point_ent[STUCK], STUCK),
        ("data_gap", SILENT): (point_ent[SILENT], SILENT),
        ("platform_offline", f"{zone}-safety"): (None, None),
        **{("assessment_missing", u): (u, None) for u in UNITS},
        ("assessment_expiring", UNITS[4]): (UNITS[4], None),
        ("hazard_overdue", HAZARD): (UNITS[1], None),
        ("coverage_below_target", zone): (None, None),
    }


class Alerts:
    """What the collector heard, per (kind, subject), repeats of one (id, status) left out
    (MQTT delivery is at least once)."""

    def __init__(self, collector: Collector) -> None:
        self._collector = collector

    def by_subject(self) -> dict[tuple[str, str], list[dict]]:
        out: dict[tuple[str, str], list[dict]] = defaultdict(list)
        seen: set[tuple[str, str]] = set()
        for _, m in list(self._collector.messages):
            if (m["id"], m["status"]) not in seen:
                seen.add((m["id"], m["status"]))
                out[(m["kind"], m["subject"])].append(m)
        return out

    def has(self, keys, status: str) -> bool:
        held = self.by_subject()
        return all(any(m["status"] == status for m in held.get(k, ())) for k in keys)

    def missing(self, keys, status: str) -> list[tuple[str, str]]:
        held = self.by_subject()
        return [k for k in keys if not any(m["status"] == status for m in held.get(k, ()))]


def iso(t: datetime) -> str:
    return t.isoformat()


def test_every_alert_kind_is_raised_once_and_resolved_over_mqtt(
        zw_env: dict[str, str], spawn, tmp_path: Path) -> None:
    zone, url = own_zone(zw_env), zw_env["ZW_MQTT_URL"]
    want = expected(zone)
    collector = Collector(url, f"zw/v1/alerts/{zone}/#")
    alerts = Alerts(collector)
    load_file_and_start_ingest(spawn, zw_env, write_kinds_registry(tmp_path / "r.yaml", zone))
    fleet = Fleet(url, zone, [NORMAL, OVER, FAULTY, STUCK])
    fleet.values.update({NORMAL: changing(20.0), OVER: changing(LIMIT + 10),
                         FAULTY: changing(20.0), STUCK: lambda n: {COD: 0.1 * (n % 4)}})
    fleet.flags[FAULTY] = "D"
    worker = spawn("worker", "worker", **WORKER_ENV)
    started = time.monotonic()

    def until(status: str, keys, timeout: float, what: str) -> None:
        wait_until(lambda: worker.assert_alive() or alerts.has(keys, status), timeout=timeout,
                   what=f"{what}; still missing {alerts.missing(keys, status)}")

    try:
        first = [("assessment_missing", u) for u in UNITS] + [
            ("platform_offline", f"{zone}-safety"), ("coverage_below_target", zone)]
        until("open", first, 120, "the zone's first alerts")
        now = datetime.now(UTC)
        publish_all(url, [
            *((f"zw/v1/{zone}/assessment", {
                "enterprise": u, "status": "completed", "level": "general",
                "completed_at": iso(now - timedelta(days=2)),
                "valid_until": iso(now + timedelta(days=10 if u == UNITS[4] else 365))})
              for u in UNITS),
            (f"zw/v1/{zone}/hazard", {
                "id": HAZARD, "enterprise": UNITS[1], "status": "reported", "severity": "major",
                "ts": iso(now - timedelta(days=3)), "due": iso(now - timedelta(hours=1))})])
        until("open", want, 60, "every kind raised")
        until("resolved", [("assessment_missing", u) for u in UNITS], 30,
              "assessments to count")
        early = [k for k, ms in alerts.by_subject().items() if k[0] != "assessment_missing"
                 and any(m["status"] == "resolved" for m in ms)]
        assert not early, f"resolved while their cause holds: {early}"
        raised = time.monotonic()

        now = datetime.now(UTC)
        publish_all(url, [
            (f"zw/v1/{zone}/heartbeat", {"platform": f"{zone}-safety", "ts": iso(now)}),
            (f"zw/v1/{zone}/assessment", {
                "enterprise": UNITS[4], "status": "completed", "level": "general",
                "completed_at": iso(now - timedelta(hours=1)),
                "valid_until": iso(now + timedelta(days=365))}),
            (f"zw/v1/{zone}/hazard", {
                "id": HAZARD, "enterprise": UNITS[1], "status": "remediated",
                "ts": iso(now), "due": iso(now - timedelta(hours=1))})])
        fleet.values.update({OVER: changing(LIMIT - 20), STUCK: changing(FLOOR + 10),
                             SILENT: changing(30.0)})
        fleet.flags.pop(FAULTY)
        fleet.live.add(SILENT)
        until("resolved", want, 60, "every cause gone")
        resolved = time.monotonic()
        time.sleep(3)  # three more zone sweeps and many readings: nothing is raised again
    finally:
        fleet.close()
        collector.close()
    print(f"raised {raised - started:.1f} s after the worker started; all resolved "
          f"{resolved - raised:.1f} s after the causes went")
    check_messages(collector.messages, alerts.by_subject(), want, zone)


def check_messages(raw: list[tuple[str, dict]], held: dict[tuple[str, str], list[dict]],
                   want: dict[tuple[str, str], tuple[str | None, str | None]],
                   zone: str) -> None:
    extras: set[str] = set()
    for topic, m in raw:
        assert isinstance(m, dict), (topic, m)
        assert topic == f"zw/v1/alerts/{zone}/{m['kind']}", (topic, m)
        keys = set(m)
        assert keys >= SPEC_KEYS, f"SPEC keys missing: {SPEC_KEYS - keys} in {m}"
        assert keys - SPEC_KEYS <= EXTRA_KEYS, f"unknown keys: {keys - SPEC_KEYS - EXTRA_KEYS}"
        extras |= keys - SPEC_KEYS
        check_one(m, want, zone)
    print(f"keys beside SPEC's: {sorted(extras)}")
    assert set(held) == set(want), (f"unexpected: {sorted(set(held) - set(want))}; "
                                    f"never heard: {sorted(set(want) - set(held))}")
    for key, messages in held.items():
        assert [m["status"] for m in messages] == ["open", "resolved"], (key, messages)
        assert len({m["id"] for m in messages}) == 1, f"{key} raised twice: {messages}"
        opened, closed = messages
        for field in ("opened_at", "severity", "audience", "enterprise", "point"):
            assert opened[field] == closed[field], (key, field, opened, closed)


def check_one(m: dict, want: dict, zone: str) -> None:
    """One message against SPEC: its values, not only its keys."""
    key = (m["kind"], m["subject"])
    assert key in want, f"unexpected alert {m}"
    enterprise, point = want[key]
    assert (m["zone"], m["enterprise"], m["point"]) == (zone, enterprise, point), m
    assert m["status"] in ("open", "resolved"), m
    assert m["severity"] in ("info", "warning", "critical"), m
    assert m["audience"] and set(m["audience"]) <= {"ecology", "emergency", "zone"}, m
    assert ("emergency" if m["kind"] in SAFETY_KINDS else "ecology") in m["audience"], m
    assert set(m["summary"]) == {"zh", "en"} and all(
        isinstance(v, str) and v for v in m["summary"].values()), m
    assert any("\u4e00" <= c <= "\u9fff" for c in m["summary"]["zh"]), m
    if m["kind"] == "coverage_below_target":  # counts of units, not "3.0/5.0"
        assert re.search(rf"（\d/{len(UNITS)} 家重点排污单位）", m["summary"]["zh"]), m
        assert re.search(rf"\(\d/{len(UNITS)} key polluter units\)", m["summary"]["en"]), m
    opened, updated = (datetime.fromisoformat(m[k]) for k in ("opened_at", "updated_at"))
    assert opened.tzinfo is not None and opened <= updated, m
    if m["status"] == "open":
        assert m["resolved_at"] is None and opened == updated, m
    else:
        assert datetime.fromisoformat(m["resolved_at"]) == updated, m
    assert m["id"].isascii() and m["id"], m
