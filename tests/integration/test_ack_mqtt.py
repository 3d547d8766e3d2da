"""Acknowledging over MQTT: who and when recorded, and only by the alert's own zone."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from schemas import DeadLetter
from tests.integration.helpers import load_registry_and_start_ingest, own_zone, read_all
from tests.integration.mqtt import Collector, publish_all
from tests.integration.procs import wait_until


def test_ack_over_mqtt_is_recorded_and_another_zone_cannot_ack(
        zw_env: dict[str, str], spawn, tmp_path: Path) -> None:
    zone = own_zone(zw_env)
    collector = Collector(zw_env["ZW_MQTT_URL"], f"zw/v1/alerts/{zone}/data_gap")
    load_registry_and_start_ingest(spawn, zw_env, tmp_path, interval_s=2)
    worker = spawn("worker", "worker")
    try:
        def opened() -> list[dict]:
            worker.assert_alive()
            return [m for _, m in collector.messages if m["point"] == "jn-0004-ww1"]
        alert_id = wait_until(opened, timeout=90, what="a data gap to acknowledge")[0]["id"]

        wrong = {"alert": alert_id, "by": "someone else"}
        publish_all(zw_env["ZW_MQTT_URL"], [("zw/v1/pukou-edz/ack", wrong),
                                            (f"zw/v1/{zone}/ack", {"alert": alert_id,
                                                                   "by": "值班员 李"})])
        acked = wait_until(lambda: [m for m in opened() if m["status"] == "acknowledged"],
                           timeout=60, what="the acknowledgement")[0]
    finally:
        collector.close()
    assert acked["id"] == alert_id and acked["acknowledged_by"] == "值班员 李"
    assert acked["acknowledged_at"]

    def refused(values: list[bytes]) -> list[DeadLetter]:
        letters = map(DeadLetter.model_validate_json, values)
        return [d for d in letters if d.code == "zone_mismatch"
                and json.loads(base64.b64decode(d.raw_b64)).get("alert") == alert_id]
    assert refused(read_all(zw_env, "ZW_TOPIC_DEADLETTER", refused))
