"""`zonewatch demo`, what `make demo` runs, met as a user meets it: it prints the dashboard's
address and a token that opens it, every zone of the demo registry gets figures, and SIGTERM
stops it with everything it started."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from tests.integration.procs import wait_until
from tests.integration.test_api import Api

DEMO_ZONES = 10  # deploy/demo/registry.yaml: the policy's ten zones


def _started_by(app_id: str) -> set[int]:
    """Processes whose environment names this test's Faust app id: the demo's children."""
    found = set()
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            env = (proc / "environ").read_bytes().split(b"\0")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if f"ZW_APP_ID={app_id}".encode() in env:
            found.add(int(proc.name))
    return found


def test_demo_prints_a_working_dashboard_shows_every_zone_and_stops_with_its_children(
        zw_env: dict[str, str], spawn, tmp_path: Path) -> None:
    demo = spawn("demo", "demo", "--history", "3", ZW_RUN=str(tmp_path / "run"))
    said = re.compile(r"dashboard 仪表盘 (http://127\.0\.0\.1:(\d+)/)"
                      r".*?admin \(all zones\):\s+(\S+)", re.S)

    def printed() -> re.Match[str] | None:
        demo.assert_alive()
        return said.search(demo.log_path.read_text(errors="replace"))

    url, port, token = wait_until(printed, timeout=60, what="the dashboard's address").groups()
    assert port == zw_env["ZW_WEB_PORT"], url
    api = Api(port)
    wait_until(lambda: demo.assert_alive() or api.call("/healthz")[0] == 200, timeout=90,
               what="the dashboard to answer")
    assert api.call("/api/v1/coverage")[0] == 401
    scrape = (tmp_path / "run" / "conf" / "metrics-token").read_text().strip()
    status, metrics = api.call("/metrics", scrape)  # what the local Prometheus sends
    assert status == 200 and "zw_worker_readings_stored_total" in metrics
    assert api.call("/metrics")[0] == 401

    def every_zone_figured() -> list[dict] | None:
        demo.assert_alive()
        status, body = api.call("/api/v1/coverage", token)
        zones = [z for z in (body or {}).get("zones", []) if z.get("at")] if status == 200 else []
        return zones if len(zones) == DEMO_ZONES else None

    zones = wait_until(every_zone_figured, timeout=240, interval=3,
                       what="figures for every demo zone through the printed token")
    assert all(z["units_total"] > 0 for z in zones)
    assert any(z["units_covered"] > 0 for z in zones), zones

    def readings_in_table() -> bool:
        totals = re.findall(r"^  total\s+(\d+)\s+(\d+)$",
                            demo.log_path.read_text(errors="replace"), re.M)
        return bool(totals) and int(totals[-1][1]) > 0  # (open alerts, readings landed)

    wait_until(readings_in_table, timeout=30, what="readings landed in the demo's table")

    children = _started_by(zw_env["ZW_APP_ID"]) - {demo.proc.pid}
    assert len(children) >= 3, children  # ingest, worker, simulator
    demo.proc.send_signal(signal.SIGTERM)  # to the demo alone, as `make` passes it on
    assert demo.proc.wait(60) == 0, demo.log_tail()
    wait_until(lambda: not (_started_by(zw_env["ZW_APP_ID"]) & children), timeout=30,
               what="the demo's ingest, worker and simulator to stop")
