#!/usr/bin/env python3
"""Writes the demo registry: Nanjing's ten economic development zones, with invented enterprises.

The zones, their levels and their lead industries are those of 宁政发〔2021〕20号; the enterprises,
their monitoring points and device numbers are invented from syllable and trade lists, so any
likeness to a real company is chance. The seed is fixed, so the committed file can be regenerated
and diffed:

    python deploy/demo/make_registry.py > deploy/demo/registry.yaml
"""

from __future__ import annotations

import random
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

SEED = 20210223
"""The policy's date (23 Feb 2021): a fixed seed makes the output byte-for-byte repeatable."""


@dataclass(frozen=True)
class ZoneSpec:
    """One zone and the shape of its enterprises: how many, how polluting, how hazardous."""

    id: str
    name: str
    name_en: str
    level: str
    prefix: str
    industry: str
    size: int
    key_share: float
    """Share of the zone's enterprises on the bureau's key polluter list."""
    assess_share: float
    """Share of the other enterprises that handle hazards and must be safety-assessed."""
    air_share: float
    vocs_share: float
    dirty_trades: tuple[str, ...]
    clean_trades: tuple[str, ...]


ZONES = (
    ZoneSpec("nanjing-edz", "南京经开区", "Nanjing Economic and Technological Development Zone",
             "national", "nj", "artificial intelligence", 42, 0.25, 0.45, 0.4, 0.5,
             ("光电", "显示科技", "新材料", "生物医药", "电子材料"),
             ("智能科技", "人工智能", "电子", "软件", "精密机械")),
    ZoneSpec("jiangning-edz", "江宁经开区", "Jiangning Economic and Technological Development Zone",
             "national", "jn", "smart grid", 46, 0.25, 0.45, 0.4, 0.5,
             ("制药", "新材料", "汽车零部件", "电缆"),
             ("电气", "电力设备", "智能电网", "自动化", "电力科技")),
    ZoneSpec("pukou-edz", "浦口经开区", "Pukou Economic Development Zone",
             "provincial", "pk", "integrated circuits", 28, 0.35, 0.55, 0.3, 0.7,
             ("半导体", "集成电路", "电子化学品", "封装测试"),
             ("微电子", "芯片设计", "电子科技")),
    ZoneSpec("lishui-edz", "溧水经开区", "Lishui Economic Development Zone",
             "provincial", "ls", "new-energy vehicles", 32, 0.3, 0.5, 0.4, 0.7,
             ("汽车", "动力电池", "汽车涂装", "橡塑制品"),
             ("新能源科技", "汽车零部件", "智能驾驶")),
    ZoneSpec("binjiang-edz", "滨江经开区", "Binjiang Economic Development Zone",
             "provincial", "bj", "new-generation information technology", 26, 0.2, 0.4, 0.4, 0.4,
             ("光电", "电子", "金属制品"),
             ("信息技术", "通信设备", "智能终端", "软件")),
    ZoneSpec("luhe-edz", "六合经开区", "Luhe Economic Development Zone",
             "provincial", "lh", "energy-saving and environmental equipment", 26, 0.3, 0.5,
             0.6, 0.4, ("铸造", "金属制品", "环保科技", "化工"),
             ("环保设备", "节能科技", "环境工程", "机械制造")),
    ZoneSpec("gaochun-edz", "高淳经开区", "Gaochun Economic Development Zone",
             "provincial", "gc", "medical devices", 22, 0.3, 0.45, 0.3, 0.5,
             ("制药", "医用材料", "陶瓷", "生物科技"),
             ("医疗器械", "卫生材料", "医疗科技")),
    ZoneSpec("yuhua-edz", "雨花经开区", "Yuhua Economic Development Zone",
             "provincial", "yh", "intelligent manufacturing", 20, 0.15, 0.4, 0.3, 0.5,
             ("精密制造", "表面处理"),
             ("智能装备", "机器人", "数控", "自动化", "软件")),
    ZoneSpec("jiangbei-nmp", "江北新材料科技园",
             "Jiangbei New Materials Science and Technology Park", "provincial", "jb",
             "new materials and chemicals", 84, 0.65, 1.0, 0.65, 0.85,
             ("化工", "石化", "精细化工", "化学", "高分子材料", "涂料", "医药化工", "树脂"),
             ("气体", "新材料", "化工物流", "仓储")),
    ZoneSpec("eco-island", "南京生态科技岛开发区", "Nanjing Eco-Tech Island Development Zone",
             "provincial", "ei", "digital economy and green technology", 10, 0.1, 0.2, 0.0, 1.0,
             ("检测技术", "环境科技"),
             ("数字科技", "人工智能", "信息科技", "生态科技")),
)

SYLLABLES = (
    "恒瑞华金鑫泰达宏博信德凯创远盛源润嘉立中新锦天海安宁江扬荣隆通明佳永丰昌晟汇睿航晶"
    "诚正弘康辉腾祥鼎和兴科益普美威佳雅同万润沃钧"
)

WATER = ("w01018", "w21003", "w01001", "w00000")
"""COD, ammonia nitrogen, pH, flow (HJ 212-2017 Appendix B)."""
AIR = ("a21026", "a21002", "a34013", "a01012")
"""SO2, NOx, particulate matter, flue gas temperature."""
GASES = {"gas_lel": 25.0, "gas_h2s": 10.0, "gas_nh3": 30.0, "gas_co": 30.0, "gas_cl2": 1.0}
"""Gas detectors: combustible gas in %LEL (first alarm at 25 %), toxic gases in mg/m3 (OEL)."""
TANK = {"tank_level": 90.0, "tank_temp": 40.0}
"""Storage tanks: level in % of capacity, temperature in °C (high alarms)."""


def company_name(rng: random.Random, trade: str, taken: set[str]) -> str:
    """南京 + two invented syllables + trade + legal form; unique across the registry."""
    while True:
        brand = "".join(rng.sample(SYLLABLES, 2))
        city = "南京" if rng.random() < 0.85 else "江苏"
        form = rng.choices(("有限公司", "股份有限公司", "科技有限公司"), (7, 2, 1))[0]
        if trade.endswith(("科技", "技术")) and form == "科技有限公司":
            form = "有限公司"
        name = f"{city}{brand}{trade}{form}"
        if name not in taken:
            taken.add(name)
            return name


def enterprises(zone: ZoneSpec, rng: random.Random, taken: set[str]) -> list[dict[str, Any]]:
    """The zone's enterprises; exact key polluter counts so every zone has at least one."""
    key = set(rng.sample(range(zone.size), max(1, round(zone.size * zone.key_share))))
    result = []
    for index in range(zone.size):
        is_key = index in key
        trades = zone.dirty_trades if is_key else zone.dirty_trades + zone.clean_trades
        assessed = rng.random() < (0.9 if is_key else zone.assess_share) or zone.assess_share == 1
        result.append({
            "id": f"{zone.prefix}-{index + 1:04d}",
            "zone": zone.id,
            "name": company_name(rng, rng.choice(trades), taken),
            "key_polluter": is_key,
            "assessment_required": assessed,
        })
    return result


def interval(rng: random.Random) -> int:
    """Most points report every minute; some older devices every 5 minutes or hourly."""
    return rng.choices((60, 300, 3600), (85, 10, 5))[0]


def environment_points(zone: ZoneSpec, enterprise: dict[str, Any], zone_no: int,
                       rng: random.Random) -> list[dict[str, Any]]:
    """Outlets of a key polluter: wastewater, flue gas, VOCs; at least one is required."""
    strict = rng.random() < 0.5
    wastewater = ("ww1", "wastewater", list(WATER), {"w01018": 50.0 if strict else 100.0,
                  "w21003": 5.0 if strict else 8.0, "w01001": 9.0}, True)
    points = [wastewater] if rng.random() < 0.9 or zone.air_share == 0 else []
    for n in range(1, 3 if zone.prefix == "jb" else 2):
        if rng.random() < zone.air_share / n:
            points.append((f"fg{n}", "flue_gas", list(AIR),
                           {"a21026": 35.0 if strict else 50.0,
                            "a21002": 50.0 if strict else 100.0,
                            "a34013": 10.0 if strict else 20.0}, True))
    if rng.random() < zone.vocs_share:
        points.append(("vo1", "vocs", ["a24088"], {"a24088": 60.0}, True))
    if not points:
        points.append(wastewater)
    if zone.prefix == "jb" and rng.random() < 0.3:
        points.append(("ww2", "wastewater", ["w01018", "w01001"], {"w01018": 40.0}, False))
    return [environment_point(enterprise, zone_no, n, spec, rng) for n, spec in enumerate(points)]


def environment_point(enterprise: dict[str, Any], zone_no: int, number: int,
                      spec: tuple[str, str, list[str], dict[str, float], bool],
                      rng: random.Random) -> dict[str, Any]:
    """One HJ 212 point; its 24-character MN is unique by construction (zone, unit, outlet)."""
    suffix, kind, factors, limits, required = spec
    unit_no = int(enterprise["id"].rsplit("-", 1)[1])
    mn = f"3201{zone_no:02d}{unit_no:04d}{number + 1:02d}{rng.getrandbits(48):012X}"
    point: dict[str, Any] = {
        "id": f"{enterprise['id']}-{suffix}", "enterprise": enterprise["id"],
        "domain": "environment", "kind": kind, "mn": mn,
        "interval_s": 3600 if not required else interval(rng), "required": required,
        "factors": factors, "limits": limits,
    }
    if not required:
        point["gap_threshold_s"] = 7200
    return point


def safety_points(zone: ZoneSpec, enterprise: dict[str, Any],
                  rng: random.Random) -> list[dict[str, Any]]:
    """Gas detectors and tanks of an enterprise that handles hazardous substances."""
    chemical = zone.prefix == "jb"
    points = []
    for n in range(1, rng.randint(2, 5) + 1 if chemical else rng.randint(1, 2) + 1):
        gas = "gas_lel" if rng.random() < 0.6 else rng.choice(list(GASES)[1:])
        points.append(safety_point(enterprise, f"gd{n}", "gas_detector", {gas: GASES[gas]}, 60))
    tanks = rng.randint(1, 4) if chemical else int(rng.random() < 0.3)
    for n in range(1, tanks + 1):
        points.append(safety_point(enterprise, f"tk{n}", "tank", dict(TANK),
                                   rng.choice((60, 60, 300))))
    return points


def safety_point(enterprise: dict[str, Any], suffix: str, kind: str, limits: dict[str, float],
                 interval_s: int) -> dict[str, Any]:
    return {
        "id": f"{enterprise['id']}-{suffix}", "enterprise": enterprise["id"], "domain": "safety",
        "kind": kind, "interval_s": interval_s, "required": True,
        "factors": list(limits), "limits": limits,
    }


def platform(zone: ZoneSpec) -> dict[str, Any]:
    """The zone's safety-supervision information platform (集约化可视化安全监管信息平台)."""
    return {"id": f"{zone.prefix}-safety", "zone": zone.id, "heartbeat_s": 60,
            "name": f"{zone.name}安全生产智慧监管平台"}


def flow(entry: dict[str, Any]) -> str:
    """One entry on one line, quoted by PyYAML wherever YAML would misread it."""
    text = yaml.safe_dump(entry, default_flow_style=True, allow_unicode=True,
                          sort_keys=False, width=1_000_000)
    return f"  - {text.strip()}"


def render() -> Iterator[str]:
    """The registry as YAML text, grouped and commented per zone and per enterprise."""
    rng, taken = random.Random(SEED), set()
    yield "# zonewatch demo registry: generated by deploy/demo/make_registry.py; do not edit."
    yield "# Zones and industries from 宁政发〔2021〕20号; enterprises and devices are invented."
    zone_units = [(zone, enterprises(zone, rng, taken)) for zone in ZONES]
    yield "zones:"
    for zone in ZONES:
        yield flow({"id": zone.id, "name": zone.name, "name_en": zone.name_en, "level": zone.level})
    yield "enterprises:"
    for zone, units in zone_units:
        polluters = sum(u["key_polluter"] for u in units)
        yield f"  # {zone.name} {zone.id} ({zone.industry}): {len(units)} units, {polluters} key"
        yield from (flow(unit) for unit in units)
    yield "points:"
    for zone_no, (zone, units) in enumerate(zone_units, start=1):
        for unit in units:
            yield from unit_points(zone, zone_no, unit, rng)
    yield "platforms:"
    yield from (flow(platform(zone)) for zone in ZONES)


def unit_points(zone: ZoneSpec, zone_no: int, unit: dict[str, Any],
                rng: random.Random) -> Iterator[str]:
    points = []
    if unit["key_polluter"]:
        points += environment_points(zone, unit, zone_no, rng)
    if unit["assessment_required"]:
        points += safety_points(zone, unit, rng)
    if points:
        yield f"  # {unit['id']} {unit['name']}"
        yield from (flow(point) for point in points)


def main() -> None:
    text = "\n".join(render()) + "\n"
    sys.stdout.buffer.write(text.encode("utf-8"))


if __name__ == "__main__":
    main()
