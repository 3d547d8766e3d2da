"""A synthetic registry of any size: zones of enterprises of four points each.

Benchmarks need 10k to 1M points; the demo registry has a few hundred. Ids are short and
regular so their cost is what a real registry's would be, not more.
"""

from __future__ import annotations

from schemas import Registry

POINTS_PER_ENTERPRISE = 4
FACTORS = ("w01018", "w21003")


def synthetic_registry(points: int, *, zones: int = 10, interval_s: int = 60,
                       prefix: str = "b", gap_threshold_s: int | None = None,
                       probes: int = 0, probe_interval_s: int = 2,
                       probe_threshold_s: int = 10) -> Registry:
    """`points` points spread over `zones` zones; every enterprise a key polluter. `probes`
    more points (ids `{prefix}q{i}`, in the first zone) report often and go offline soon:
    the ones a latency benchmark silences."""
    enterprises = -(-points // POINTS_PER_ENTERPRISE)
    zone_ids = [f"{prefix}z{z}" for z in range(zones)]
    body = {
        "zones": [{"id": z, "name": z, "level": "provincial"} for z in zone_ids],
        "enterprises": [{"id": f"{prefix}e{e}", "zone": zone_ids[e % zones], "name": f"e{e}",
                         "key_polluter": True} for e in range(enterprises)],
        "points": [{"id": point_id(i, prefix),
                    "enterprise": f"{prefix}e{i // POINTS_PER_ENTERPRISE}",
                    "domain": "environment", "kind": "wastewater", "interval_s": interval_s,
                    "factors": list(FACTORS), "limits": {"w01018": 50.0},
                    **({"gap_threshold_s": gap_threshold_s} if gap_threshold_s else {})}
                   for i in range(points)],
    }
    if probes:
        body["enterprises"].append({"id": f"{prefix}eq", "zone": zone_ids[0], "name": "probes",
                                    "key_polluter": True})
        body["points"] += [{"id": f"{prefix}q{i}", "enterprise": f"{prefix}eq",
                            "domain": "environment", "kind": "wastewater",
                            "interval_s": probe_interval_s, "factors": [FACTORS[0]],
                            "gap_threshold_s": probe_threshold_s} for i in range(probes)]
    return Registry.model_validate(body, strict=False)


def point_id(i: int, prefix: str = "b") -> str:
    return f"{prefix}p{i}"
