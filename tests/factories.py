"""Small registries and messages for tests, built in code so each test shows what it relies on."""

from __future__ import annotations

from typing import Any

from schemas import Registry


def tiny_registry(units: int = 4, zone: str = "jiangning-edz", interval_s: int = 60) -> Registry:
    """One zone (plus a neighbour), `units` key polluter units with one wastewater point each."""
    data: dict[str, Any] = {
        "zones": [{"id": zone, "name": "江宁经开区", "level": "national"},
                  {"id": "pukou-edz", "name": "浦口经开区", "level": "provincial"}],
        "enterprises": [], "points": [],
        "platforms": [{"id": f"{zone}-safety", "zone": zone, "heartbeat_s": 60},
                      {"id": "pukou-safety", "zone": "pukou-edz", "heartbeat_s": 60}],
    }
    for i in range(1, units + 1):
        ent = f"jn-{i:04d}"
        data["enterprises"].append({"id": ent, "zone": zone, "name": f"某某化工{i}有限公司",
                                    "key_polluter": True, "assessment_required": True})
        data["points"].append({"id": f"{ent}-ww1", "enterprise": ent, "domain": "environment",
                               "kind": "wastewater", "mn": f"010000A89000{i:012d}",
                               "interval_s": interval_s, "factors": ["w01018", "w21003"],
                               "limits": {"w01018": 50.0}})
    data["enterprises"].append({"id": "pk-0001", "zone": "pukou-edz", "name": "浦口某公司"})
    return Registry.model_validate(data)


def fleet_registry(units: int = 6) -> Registry:
    """Two zones with what a real fleet has: wastewater and flue gas outlets (with MNs), gas
    detectors and tanks, one platform per zone, enterprises that must be safety-assessed."""
    zones = [("jiangning-edz", "江宁经开区", "jn"), ("pukou-edz", "浦口经开区", "pk")]
    data: dict[str, Any] = {
        "zones": [{"id": z, "name": name, "level": "national"} for z, name, _ in zones],
        "enterprises": [], "points": [],
        "platforms": [{"id": f"{prefix}-safety", "zone": z, "heartbeat_s": 30}
                      for z, _, prefix in zones],
    }
    for n in range(units):
        zone, _, prefix = zones[n % 2]
        ent = f"{prefix}-{n + 1:04d}"
        data["enterprises"].append({"id": ent, "zone": zone, "name": f"某某化工{n + 1}有限公司",
                                    "key_polluter": True, "assessment_required": True})
        data["points"] += [
            {"id": f"{ent}-ww1", "enterprise": ent, "domain": "environment",
             "kind": "wastewater", "mn": f"3201{n + 1:04d}01{n:014d}", "interval_s": 60,
             "factors": ["w01018", "w21003", "w01001", "w00000"],
             "limits": {"w01018": 50.0, "w21003": 5.0, "w01001": 9.0}},
            {"id": f"{ent}-fg1", "enterprise": ent, "domain": "environment",
             "kind": "flue_gas", "mn": f"3201{n + 1:04d}02{n:014d}", "interval_s": 300,
             "factors": ["a21026", "a21002", "a34013", "a01012"],
             "limits": {"a21026": 35.0, "a21002": 50.0, "a34013": 10.0}},
            {"id": f"{ent}-gd1", "enterprise": ent, "domain": "safety", "kind": "gas_detector",
             "interval_s": 60, "factors": ["gas_lel"], "limits": {"gas_lel": 25.0}},
            {"id": f"{ent}-tk1", "enterprise": ent, "domain": "safety", "kind": "tank",
             "interval_s": 120, "factors": ["tank_level", "tank_temp"],
             "limits": {"tank_level": 90.0, "tank_temp": 40.0}},
        ]
    return Registry.model_validate(data)
