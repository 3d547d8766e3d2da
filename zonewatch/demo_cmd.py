"""`zonewatch demo`: the whole loop on the local services, and what lands, as it lands."""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import urllib3
import yaml
from influxdb_client import InfluxDBClient
from influxdb_client.rest import ApiException

from schemas.registry_check import load_registry
from zonewatch import query
from zonewatch.settings import InfluxSettings


def _spawn(name: str, args: list[str], log_dir: Path,
           env: dict[str, str]) -> subprocess.Popen[bytes]:
    log = (log_dir / f"demo-{name}.log").open("ab")
    return subprocess.Popen([sys.executable, "-m", "zonewatch", *args], stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, env=env)


def _landed(client: InfluxDBClient, bucket: str) -> dict[str, int]:
    """Readings stored per zone over the last 10 minutes of event time."""
    flux = f'''from(bucket: "{bucket}") |> range(start: -10m)
      |> filter(fn: (r) => r._measurement == "reading" and r._field == "source")
      |> group(columns: ["zone"]) |> count()'''
    tables = client.query_api().query(flux)
    return {rec.values["zone"]: int(rec.get_value()) for t in tables for rec in t.records}


def _pct(rate: float | None) -> str:
    return "   —" if rate is None else f"{rate * 100:3.0f}%"


def _open_alerts(client: InfluxDBClient, bucket: str) -> Counter[str]:
    live = [a for a in query.alerts(client.query_api(), bucket, limit=100_000)
            if a.status != "resolved"]
    return Counter(a.zone for a in live)


def _print_table(names: dict[str, str], client: InfluxDBClient, bucket: str,
                 started: float) -> None:
    """The live table of zones: the three 100 % targets, open alerts, readings landed."""
    figures = query.latest_coverage(client.query_api(), bucket)
    alerts, landed = _open_alerts(client, bucket), _landed(client, bucket)
    running = time.monotonic() - started
    print(f"\n— zonewatch demo, {running:.0f} s — 在线监控率 online · 评估率 assessed · "
          f"平台接入率 platforms · 未结告警 open alerts · 近10分钟入库 readings (10 min)")
    print(f"  {'zone':<15}{'名称':<12}{'online':>8}{'units':>8}{'assessed':>9}{'platforms':>10}"
          f"{'alerts':>7}{'readings':>9}")
    ranked = sorted(names, key=lambda z: (figures[z].rates["monitoring_rate"] or 0)
                    if z in figures else -1, reverse=True)
    for zone in ranked:
        f = figures.get(zone)
        rates = f.rates if f else {}
        units = f"{f.counts['units_covered']}/{f.counts['units_total']}" if f else "—"
        short = [r for r in rates.values() if r is not None and r < 1]  # any of the three
        mark = " ✗" if short else "  "
        print(f"{mark}{zone:<15}{names[zone]:<{12 - _wide(names[zone])}}"
              f"{_pct(rates.get('monitoring_rate')):>8}{units:>8}"
              f"{_pct(rates.get('assessment_rate')):>9}{_pct(rates.get('platform_rate')):>10}"
              f"{alerts.get(zone, 0):>7}{landed.get(zone, 0):>9}")
    print(f"  {'total':<27}{'':>35}{sum(alerts.values()):>7}{sum(landed.values()):>9}",
          flush=True)


def _wide(text: str) -> int:
    """How many more columns `text` takes than characters: CJK characters are two wide."""
    return sum(1 for ch in text if ord(ch) > 0x2E80)


def _demo_tokens(run_dir: Path, zone: str) -> tuple[Path, dict[str, str]]:
    """Fresh tokens for the demo (an admin and one zone's committee): only their SHA-256
    goes into the tokens file, the tokens themselves are printed once. A third, for the local
    Prometheus to scrape the worker's /metrics, goes where its config reads it
    (deploy/prometheus/prometheus.yml: `$ZW_RUN/conf/metrics-token`)."""
    tokens = {name: secrets.token_urlsafe(24) for name in ("admin", zone, "prometheus")}
    entries = [{"name": "demo-admin", "role": "admin",
                "sha256": hashlib.sha256(tokens["admin"].encode()).hexdigest()},
               {"name": f"demo-{zone}", "role": "zone", "zone": zone,
                "sha256": hashlib.sha256(tokens[zone].encode()).hexdigest()},
               {"name": "demo-prometheus", "role": "metrics",
                "sha256": hashlib.sha256(tokens["prometheus"].encode()).hexdigest()}]
    path = run_dir / "demo-tokens.yaml"
    path.write_text(yaml.safe_dump(entries))
    path.chmod(0o600)
    scrape = run_dir / "conf" / "metrics-token"
    scrape.parent.mkdir(parents=True, exist_ok=True)
    scrape.write_text(tokens["prometheus"] + "\n")
    scrape.chmod(0o600)
    return path, tokens


def _interrupt(signum: int, frame: object) -> None:
    """SIGTERM stops the demo as Ctrl-C does, so its children are stopped with it."""
    raise KeyboardInterrupt


def run_demo(args: argparse.Namespace) -> int:
    signal.signal(signal.SIGTERM, _interrupt)
    registry = load_registry(args.registry)
    names = {z.id: z.name for z in registry.zones}
    log_dir = Path(os.environ.get("ZW_RUN", "/tmp/zonewatch-run")) / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    if subprocess.run([sys.executable, "-m", "zonewatch", "registry", "load",
                       str(args.registry)]).returncode != 0:
        return 1
    tokens_file, tokens = _demo_tokens(log_dir.parent, registry.zones[0].id)
    # The demo's broker session is the dev machine's shared one: a week's expiry would keep
    # queueing every message the tests publish while no demo runs (Mosquitto then runs out of
    # its 1 GiB per client). An hour keeps what a paused demo needs.
    env = {"ZW_MQTT_SESSION_EXPIRY_S": "3600", **os.environ, "ZW_TOKENS_FILE": str(tokens_file)}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    influx = InfluxSettings()
    client = InfluxDBClient(url=influx.url, token=influx.token.get_secret_value(),
                            org=influx.org)
    try:
        for name, argv in (("ingest", ["ingest"]), ("worker", ["worker"]),
                           ("simulate", ["simulate", "--registry", str(args.registry),
                                         "--history", str(args.history)])):
            procs[name] = _spawn(name, argv, log_dir, env)
        print(f"demo: ingest, worker and simulator running; logs in {log_dir}/demo-*.log")
        port = os.environ.get("ZW_WEB_PORT", "6066")
        print(f"demo: dashboard 仪表盘 http://127.0.0.1:{port}/ — paste a token to sign in:\n"
              f"      admin (all zones):        {tokens['admin']}\n"
              f"      zone {registry.zones[0].id}: {tokens[registry.zones[0].id]}")
        print(f"demo: the simulator first replays the last {args.history:g} min, so the first "
              "figures take a minute or two")
        started = time.monotonic()
        while not args.duration or time.monotonic() - started < args.duration:
            time.sleep(10)
            for name, proc in procs.items():
                if proc.poll() is not None:
                    print(f"demo: {name} exited ({proc.returncode}); see {log_dir}/demo-{name}.log")
                    return 1
            try:
                _print_table(names, client, influx.bucket, started)
            except (ApiException, OSError, urllib3.exceptions.HTTPError) as e:
                print(f"demo: InfluxDB did not answer ({e.__class__.__name__}); the table "
                      "follows when it does", flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM must not cut this short
        _stop(procs)
        client.close()
    return 0


def _stop(procs: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM to each child's session, then up to 30 s for each, then SIGKILL."""
    for proc in procs.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    for name, proc in procs.items():
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            print(f"demo: {name} did not stop within 30 s; killing it")
            os.killpg(proc.pid, signal.SIGKILL)
