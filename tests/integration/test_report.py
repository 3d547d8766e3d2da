"""`zonewatch report` against a real InfluxDB bucket holding one known day of a zone.

The day, in Asia/Shanghai: unit 2's outlet is silent 10:00–12:00 (dark 10:02–12:00 once the
3-minute threshold has passed), unit 3's reports maintenance 14:00–15:00 (excused 14:02–15:00),
unit 4's data for 16:00–17:00 arrives two hours late (filled late, never dark). The coverage
figures say 3 of 4 units over those stretches; one gap alert is acknowledged and resolved.
"""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from influxdb_client import InfluxDBClient
from influxdb_client.client.write_api import SYNCHRONOUS

from schemas import Alert, ReadingEvent
from streams.coverage import Rate, UnitCoverage, UnitState, ZoneCoverage
from streams.point_state import PointStatus
from streams.storage import alert_point, coverage_point, reading_line
from streams.zones import dark_json
from tests.integration.helpers import own_zone, write_registry
from zonewatch.report.period import local_date, local_midnight

ROOT = Path(__file__).resolve().parents[2]
MIN = 60


@pytest.fixture
def day(zw_env: dict[str, str], influx: InfluxDBClient) -> datetime:
    """Three days ago in Shanghai, written into this test's bucket; returns its midnight."""
    zone = own_zone(zw_env)
    start = local_midnight(local_date(datetime.now(UTC)) - timedelta(days=3))
    write = influx.write_api(write_options=SYNCHRONOUS)
    bucket, org = zw_env["ZW_INFLUX_BUCKET"], zw_env["ZW_INFLUX_ORG"]
    write.write(bucket, org, list(readings(zone, start)), write_precision="s")
    write.write(bucket, org, [coverage_point(c, dark_json(c)) for c in figures(zone, start)])
    write.write(bucket, org, [alert_point(a) for a in alerts(zone, start)])
    return start


def readings(zone: str, start: datetime):
    for k in range(-1, 1440):
        for unit in range(1, 5):
            if unit == 2 and 600 <= k < 720:
                continue
            ts = start + timedelta(minutes=k)
            flag = "M" if unit == 3 and 840 <= k < 900 else "N"
            lag = 7200 if unit == 4 and 960 <= k < 1020 else 0.5
            yield reading_line(ReadingEvent(
                point=f"jn-{unit:04d}-ww1", zone=zone, enterprise=f"jn-{unit:04d}", ts=ts,
                values={"w01018": 20.0, "w21003": 1.0}, flags={"w01018": flag},
                received_at=ts + timedelta(seconds=lag)))


def figures(zone: str, start: datetime):
    for k in range(1440):
        dark = ((UnitCoverage("jn-0002", UnitState.DARK, {"jn-0002-ww1": PointStatus.OFFLINE}),)
                if 602 <= k < 720 else ())
        excused = ((UnitCoverage("jn-0003", UnitState.EXCUSED,
                                 {"jn-0003-ww1": PointStatus.MAINTENANCE}),)
                   if 842 <= k < 900 else ())
        covered = 4 - len(dark) - len(excused)
        yield ZoneCoverage(zone, (start + timedelta(minutes=k)).timestamp(), Rate(covered, 4),
                           excused, dark, Rate(4, 4), (), Rate(1, 1), ())


def alerts(zone: str, start: datetime) -> list[Alert]:
    def alert(aid: str, at: datetime, status: str, opened: datetime, z: str = zone,
              **more: object) -> Alert:
        return Alert(id=aid, kind="data_gap", status=status, severity="critical", zone=z,
                     enterprise="jn-0002", point="jn-0002-ww1", subject="jn-0002-ww1",
                     opened_at=opened, updated_at=at, summary={"zh": "数据中断", "en": "gap"},
                     audience=["zone"], **more)
    t = start + timedelta(hours=10, minutes=2)
    acked = {"acknowledged_by": "值班员张三", "acknowledged_at": t + timedelta(minutes=28)}
    early = start - timedelta(days=10)
    return [alert("dg-00000000000000a1", t, "open", t),
            alert("dg-00000000000000a1", t + timedelta(minutes=28), "acknowledged", t, **acked),
            alert("dg-00000000000000a1", start + timedelta(hours=12), "resolved", t, **acked,
                  resolved_at=start + timedelta(hours=12)),
            alert("dg-00000000000000a2", early + timedelta(days=1), "resolved", early,
                  resolved_at=early + timedelta(days=1)),
            alert("dg-00000000000000a3", t, "open", t, z="pukou-edz"),
            alert("dg-00000000000000a4", start - timedelta(hours=4), "open",
                  start - timedelta(hours=4))]


def report(zw_env: dict[str, str], tmp_path: Path, zone: str, first: str, last: str,
           ) -> subprocess.CompletedProcess:
    registry = write_registry(tmp_path / "registry.yaml", own_zone(zw_env))
    env = {**os.environ, **zw_env}
    env.pop("ZW_REGISTRY", None)
    return subprocess.run(
        [sys.executable, "-m", "zonewatch", "report", "--zone", zone, "--from", first, "--to",
         last, "--out", str(tmp_path / "out"), "--registry", str(registry)],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)


def table(path: Path) -> dict[str, dict[str, str]]:
    """A CSV as first column → {header: value}; the file must start with a UTF-8 BOM."""
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(path.open(encoding="utf-8-sig")))
    return {r[0]: dict(zip(rows[0], r, strict=True)) for r in rows[1:]}


def test_report_of_a_known_day(zw_env: dict[str, str], day: datetime, tmp_path: Path) -> None:
    zone, d = own_zone(zw_env), str(local_date(day))
    done = report(zw_env, tmp_path, zone, d, d)
    assert done.returncode == 0, done.stderr
    files = [Path(line) for line in done.stdout.split()]
    assert files[0].name == f"{zone}_{d}_{d}.html" and len(files) == 6
    page = files[0].read_text(encoding="utf-8")
    assert "96.94 %" in page and page.count('class="notmet"') == 1
    assert page.count('class="met"') == 2 and "值班员张三" in page
    assert "1:58" in page and "0:58" in page  # unit 2 dark, unit 3 excused

    figures_csv, units_csv, alerts_csv = (table(f) for f in (files[1], files[3], files[5]))
    monitoring = figures_csv["monitoring_rate"]
    assert monitoring["期间平均% average_pct"] == "96.9444"
    assert monitoring["最低% lowest_pct"] == "75.0000"
    assert monitoring["有数据时长% figures_pct"] == "100.0000"
    assert figures_csv["monitoring_rate_rebuilt"]["期间平均% average_pct"] == "96.9444"
    assert figures_csv["transmission_completeness"]["期间平均% average_pct"] == "96.8750"
    assert units_csv["jn-0002"]["中断小时 dark_h"] == "1.967"
    assert units_csv["jn-0003"]["停产维护小时 excused_h"] == "0.967"
    assert units_csv["jn-0004"]["补发 filled_late"] == "60"
    assert units_csv["jn-0004"]["中断小时 dark_h"] == "0.000"
    assert units_csv["jn-0001"]["未达标 fell_short"] == "否"
    assert set(alerts_csv) == {"dg-00000000000000a1", "dg-00000000000000a4"}
    gap = alerts_csv["dg-00000000000000a1"]
    assert gap["确认人 acknowledged_by"] == "值班员张三" and gap["持续小时 lasted_h"] == "1.967"
    assert gap["期末状态 status_at_end"] == "resolved"
    assert alerts_csv["dg-00000000000000a4"]["期末状态 status_at_end"] == "open"


def test_report_refuses_an_unknown_zone_and_a_period_without_data(
        zw_env: dict[str, str], day: datetime, tmp_path: Path) -> None:
    d = str(local_date(day))
    unknown = report(zw_env, tmp_path, "nowhere", d, d)
    assert unknown.returncode == 1 and "unknown zone 'nowhere'" in unknown.stderr
    empty = str(local_date(day - timedelta(days=20)))
    nothing = report(zw_env, tmp_path, own_zone(zw_env), empty, empty)
    assert nothing.returncode == 1 and "no data for zone" in nothing.stderr
    assert nothing.stdout == ""
