"""The Grafana files under deploy/grafana: well-formed, wired to the provisioned data sources, and
asking only for measurements, fields and metrics that zonewatch writes (README is the reference).
Pure: reads files, runs no Grafana."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GRAFANA = ROOT / "deploy" / "grafana"
DASHBOARDS = sorted((GRAFANA / "dashboards").glob("*.json"))
STANDARD = {"_time", "_value", "_field", "_measurement", "_start", "_stop"}
CJK = re.compile(r"[\u4e00-\u9fff]")


def readme_schema() -> dict[str, set[str]]:
    """measurement → its tags and fields, from the README table "Data in InfluxDB"."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Data in InfluxDB", 1)[1].split("\n## ", 1)[0]
    schema: dict[str, set[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        names = [re.findall(r"`([^`]+)`", c) for c in cells]
        if len(cells) >= 3 and names[0]:
            schema[names[0][0]] = {*names[1], *names[2]}
    return schema


def readme_metrics() -> set[str]:
    """Metric names documented in README "Operating it" (without `_total`)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    names = set(re.findall(r"`(zw_[a-z_]+)", text.split("## Operating it", 1)[1]))
    return {n.removesuffix("_total") for n in names}


def exported_metrics() -> set[str]:
    """Metric names the code registers (ingest, workers, alert delivery)."""
    names = set()
    for path in [*ROOT.glob("ingest/*.py"), *ROOT.glob("streams/*.py"), *ROOT.glob("alerts/*.py")]:
        names |= set(re.findall(r'(?:Counter|Gauge|Histogram)\(\s*"(zw_[a-z_]+)"',
                                path.read_text(encoding="utf-8")))
    return names


def datasources() -> dict[str, str]:
    """uid → type of every provisioned data source."""
    out = {}
    for path in (GRAFANA / "provisioning" / "datasources").glob("*.yaml"):
        for ds in yaml.safe_load(path.read_text(encoding="utf-8"))["datasources"]:
            out[ds["uid"]] = ds["type"]
    return out


def load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def panels(board: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for p in board["panels"]:
        yield p
        yield from p.get("panels", [])


def fluxes(board: dict[str, Any]) -> Iterator[str]:
    for p in panels(board):
        for t in p.get("targets", []):
            if "query" in t:
                yield t["query"]
    for var in board.get("templating", {}).get("list", []):
        if var.get("datasource", {}).get("type") == "influxdb":
            yield var["query"]


def test_the_three_dashboards_are_there_and_provisioned() -> None:
    assert [p.name for p in DASHBOARDS] == ["city-overview.json", "pipeline.json", "zone.json"]
    providers = yaml.safe_load((GRAFANA / "provisioning" / "dashboards" / "zonewatch.yaml")
                               .read_text(encoding="utf-8"))["providers"]
    assert providers[0]["type"] == "file" and providers[0]["options"]["path"]
    boards = [load(p) for p in DASHBOARDS]
    assert len({b["uid"] for b in boards}) == 3


def test_datasources_take_their_settings_from_the_environment() -> None:
    """As deploy/compose/compose.yaml hands them to Grafana: variables, the token as a file."""
    text = (GRAFANA / "provisioning" / "datasources" / "influxdb.yaml").read_text("utf-8")
    influx = yaml.safe_load(text)["datasources"][0]
    assert influx["jsonData"]["version"] == "Flux"
    for value in (influx["url"], influx["jsonData"]["organization"],
                  influx["jsonData"]["defaultBucket"]):
        assert re.fullmatch(r"\$\{[A-Z_]+\}", value)
    assert re.fullmatch(r"\$__file\{/run/secrets/\w+\}", influx["secureJsonData"]["token"])
    assert datasources() == {"zw-influxdb": "influxdb", "zw-prometheus": "prometheus"}


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_dashboard_structure(path: Path) -> None:
    board = load(path)
    assert board["timezone"] == "Asia/Shanghai" and CJK.match(board["title"])
    found = list(panels(board))
    assert found and len({p["id"] for p in found}) == len(found)
    for p in found:
        pos = p["gridPos"]
        assert pos["w"] > 0 and pos["x"] + pos["w"] <= 24 and pos["h"] > 0, p["title"]
        assert CJK.match(p["title"]) and re.search(r"[A-Za-z]", p["title"]), p["title"]
        if p["type"] not in ("row", "text"):
            assert p["targets"], p["title"]
            refs = [t["refId"] for t in p["targets"]]
            assert len(set(refs)) == len(refs), p["title"]


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda p: p.stem)
def test_every_query_uses_a_provisioned_datasource(path: Path) -> None:
    known = datasources()
    board = load(path)
    for p in panels(board):
        if p["type"] in ("row", "text"):
            continue
        ds = p["datasource"]
        assert known.get(ds["uid"]) == ds["type"], p["title"]
        for t in p["targets"]:
            assert t["datasource"] == ds, p["title"]
            assert ("query" in t) == (ds["type"] == "influxdb"), p["title"]
    for var in board["templating"]["list"]:
        assert known.get(var["datasource"]["uid"]) == var["datasource"]["type"]


def _defined(flux: str) -> set[str]:
    """Columns a query makes itself: record keys (`held:`), `columnName: "x"`, join suffixes."""
    names = set(re.findall(r"\b([A-Za-z_]\w*):", flux))
    return names | set(re.findall(r'columnName: "(\w+)"', flux))


@pytest.mark.parametrize("path", [p for p in DASHBOARDS if p.stem != "pipeline"],
                         ids=lambda p: p.stem)
def test_flux_asks_only_for_measurements_and_fields_that_exist(path: Path) -> None:
    schema = readme_schema()
    assert {"reading", "coverage", "alert"} <= schema.keys()
    for flux in fluxes(load(path)):
        measurements = set(re.findall(r'_measurement == "([^"]+)"', flux))
        assert measurements and measurements <= schema.keys(), flux
        columns = set().union(*(schema[m] for m in measurements))
        for field in re.findall(r'_field == "([^"]+)"', flux):
            assert field in columns, f"{field} is not a field of {measurements}"
        allowed = columns | STANDARD | _defined(flux)
        for column in set(re.findall(r"\br\.([A-Za-z_]\w*)", flux)):
            assert column in allowed, f"r.{column} is not in {measurements}"
        assert "from(bucket: v.defaultBucket)" in flux or "bucket: v.defaultBucket" in flux
        assert 'bucket: "' not in flux


def test_the_zone_dashboard_is_templated_by_zone() -> None:
    board = load(GRAFANA / "dashboards" / "zone.json")
    assert [v["name"] for v in board["templating"]["list"]] == ["zone"]
    for flux in list(fluxes(board))[:-1]:  # the last is the variable's own query
        assert 'r.zone == "${zone}"' in flux, flux


def test_the_readme_documents_every_metric_exported_and_no_other() -> None:
    exported, documented = exported_metrics(), readme_metrics()
    assert {"zw_ingest_deadletters", "zw_worker_kafka_lag", "zw_alert_delivery_seconds"} \
        <= exported
    assert not sorted(exported - documented), "exported, not in README \"Operating it\""
    assert not sorted(documented - exported), "in README \"Operating it\", not exported"


def test_prometheus_queries_use_metrics_zonewatch_exports() -> None:
    known = exported_metrics()
    board = load(GRAFANA / "dashboards" / "pipeline.json")
    used = set()
    for p in panels(board):
        for t in p.get("targets", []):
            for name in re.findall(r"\b(zw_[a-z_]+)", t["expr"]):
                base = re.sub(r"_(total|bucket|sum|count)$", "", name)
                assert base in known, f"{name} in {p['title']}"
                used.add(base)
    assert {"zw_ingest_messages_received", "zw_ingest_deadletters",
            "zw_worker_readings_stored", "zw_worker_watermark_lag_seconds",
            "zw_worker_influx_write_failures", "zw_alert_deliveries"} <= used
