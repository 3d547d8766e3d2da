"""Schemathesis against a real worker's HTTP API, driven by the API's own OpenAPI description
(`/api/v1/openapi.json`): valid and invalid requests, with and without tokens, never get a 500,
and every answer has a documented status, content type and schema. Bounded: a hundred
requests per operation, under half a minute of fuzzing after the worker is up."""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from pathlib import Path

import schemathesis
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from streams.web.auth import digest
from tests.integration.helpers import load_registry_and_start_ingest, own_zone
from tests.integration.mqtt import Fleet
from tests.integration.procs import wait_until
from tests.integration.test_api import Api

ECO, MINE, ADMIN = "eco-token-fuzz", "zone-token-fuzz", "admin-token-fuzz"
EXAMPLES = 50
"""Per operation, twice: ~11 operations × 100 ≈ 1,100 requests, about 25 s."""
EDGES = ["0001-01-01", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "9999-12-31",
         "2026-02-30", "2026-11-27T08:00:00+08:00", "nan", "inf", "-inf", "1e309", "0", "-1",
         "744", "744.0000001", "1e-320", "5e-324", " ", ",", "open,,resolved", "\x00", "%00",
         "9" * 40, "true", "0x10", "１２"]
"""Values random strings seldom hit: dates at the calendar's ends, floats at theirs."""
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]


def write_tokens(path: Path, zone: str) -> Path:
    path.write_text(yaml.safe_dump([
        {"name": "eco", "sha256": digest(ECO), "role": "ecology"},
        {"name": "admin", "sha256": digest(ADMIN), "role": "admin"},
        {"name": "committee", "sha256": digest(MINE), "role": "zone", "zone": zone}]))
    return path


def test_the_api_answers_every_generated_request_as_documented(
        zw_env: dict[str, str], spawn, tmp_path: Path) -> None:
    zone = own_zone(zw_env)
    load_registry_and_start_ingest(spawn, zw_env, tmp_path, interval_s=2)
    worker = spawn("worker", "worker", ZW_TOKENS_FILE=str(write_tokens(tmp_path / "t.yaml", zone)),
                   ZW_ZONE_INTERVAL_S="1")
    api = Api(zw_env["ZW_WEB_PORT"])
    fleet = Fleet(zw_env["ZW_MQTT_URL"], zone, [f"jn-{i:04d}-ww1" for i in (1, 2, 3)])
    try:
        wait_until(lambda: worker.assert_alive() or (api.call("/healthz")[1] or {}).get(
            "status") == "ok", timeout=90, what="the worker's web server")
        alert = wait_until(lambda: worker.assert_alive() or next(iter(api.call(
            "/api/v1/alerts?status=open", ECO)[1]["alerts"]), None), timeout=60,
            what="an open alert to aim at")
        for edge in ("to=0001-01-01", "from=9999-12-31T23:59:59-23:59"):  # the first was a 500
            assert api.call(f"/api/v1/zones/{zone}/coverage?{edge}", ECO)[0] == 400, edge
        failures = fuzz(api.base, {"zone": zone, "alert_id": alert["id"]})
        worker.assert_alive()
    finally:
        fleet.close()
    assert not failures, "\n\n".join(failures)


def fuzz(base: str, known: dict[str, str]) -> list[str]:
    """Every operation, positive and negative; the failures (one per operation), not the
    first only, so a run shows all that is wrong."""
    with urllib.request.urlopen(f"{base}/api/v1/openapi.json", timeout=15) as r:
        schema = schemathesis.openapi.from_dict(json.load(r))
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        cases = cases_for(operation, known)
        started, statuses = time.monotonic(), Counter[int]()
        try:
            run_operation(cases, base, statuses)
        except (Exception, BaseExceptionGroup) as e:  # a failed check, with its request
            failures.append(f"{operation.label}: {e}")
        print(f"{operation.label}: {time.monotonic() - started:.1f} s {dict(statuses)}")
    return failures


def cases_for(operation: schemathesis.APIOperation,
              known: dict[str, str]) -> st.SearchStrategy[schemathesis.Case]:
    """Positive and negative requests, with random and with real path parameters (a zone
    and an alert that exist), and with edge values in one or two query parameters."""
    names = {p.name for p in operation.path_parameters}
    real = {k: v for k, v in known.items() if k in names}
    query = sorted(p.name for p in operation.query)
    edges = (st.dictionaries(st.sampled_from(query), st.sampled_from(EDGES), max_size=2)
             if query else st.just({}))
    return st.one_of(
        *(operation.as_strategy(mode, path_parameters=fixed)
          for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
          for fixed in ([{}, real] if real else [{}])),
        edges.flatmap(lambda q: operation.as_strategy(path_parameters=real, query=q)))


def run_operation(cases: st.SearchStrategy, base: str, statuses: Counter[int]) -> None:
    @settings(max_examples=2 * EXAMPLES, deadline=None, database=None,
              phases=[Phase.explicit, Phase.generate],
              suppress_health_check=list(HealthCheck))
    @given(case=cases, token=st.sampled_from([ECO, ADMIN, MINE, ADMIN, None, "wrong"]))
    def one(case: schemathesis.Case, token: str | None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = case.call(base_url=base, headers=headers, timeout=30)
        statuses[response.status_code] += 1
        case.validate_response(response, checks=CHECKS)
    one()
