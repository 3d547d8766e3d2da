"""The one-line bilingual summary of an alert: Chinese first, as the bureaus read it.

Zones, enterprises, points and platforms are named by their registry names when a registry is
given (ids otherwise, and beside point ids always, since that is what a technician looks up).
Times are shown in Asia/Shanghai; the alert itself stores UTC. Pure: no I/O, no clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from alerts.lifecycle import SYSTEM_ZONE, Incident
from schemas import AlertKind, Registry, Summary

SHANGHAI = ZoneInfo("Asia/Shanghai")

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
"""English month names without the C library's locale."""

POINT_KINDS: Mapping[str, tuple[str, str]] = {
    "wastewater": ("废水排口", "wastewater outlet"),
    "flue_gas": ("废气排口", "flue gas outlet"),
    "vocs": ("VOCs 监测点", "VOCs monitor"),
    "gas_detector": ("气体探测器", "gas detector"),
    "tank": ("储罐", "tank"),
}
"""Registry point kinds in words; other kinds are shown as they are."""

FACTORS: Mapping[str, tuple[str, str]] = {
    "w01018": ("化学需氧量", "COD"), "w21003": ("氨氮", "ammonia nitrogen"),
    "w01001": ("pH 值", "pH"), "w00000": ("废水流量", "wastewater flow"),
    "a21026": ("二氧化硫", "SO2"), "a21002": ("氮氧化物", "NOx"),
    "a34013": ("颗粒物", "particulates"), "a01012": ("烟气温度", "flue gas temperature"),
    "gas_lel": ("可燃气体浓度", "combustible gas"),
}
"""HJ 212 factor codes in words, for the common ones; the code is always shown too."""

_FAULT_FLAGS: Mapping[str, tuple[str, str]] = {
    "D": ("仪器故障", "analyser fault"), "B": ("通讯异常", "communication fault"),
}


@dataclass(frozen=True, slots=True)
class Facts:
    """The numbers a summary quotes; each kind reads only those it needs."""

    threshold_s: float | None = None
    """data_gap, platform_offline, pipeline_stalled: the silence allowed."""
    value: float | None = None
    """exceedance, suspect_data: the value."""
    limit: float | None = None
    """exceedance: the limit it is over."""
    flag: str | None = None
    """invalid_data: the fault flag (D, B)."""
    covered: int | None = None
    total: int | None = None
    """coverage_below_target: covered ÷ registered key polluter units."""
    due: datetime | None = None
    """hazard_overdue: the remediation deadline; assessment_expiring: `valid_until`."""


@dataclass(frozen=True, slots=True)
class _Ctx:
    """What every template needs, worked out once: who, since when, and the facts."""

    inc: Incident
    facts: Facts
    who: tuple[str, str]
    since: tuple[str, str] | None
    registry: Registry | None


def summarize(incident: Incident, facts: Facts | None = None,
              registry: Registry | None = None) -> Summary:
    """The summary of an alert for `incident`, in Chinese and English."""
    since = None if incident.start is None else _when(incident.start)
    ctx = _Ctx(incident, facts or Facts(), _who(incident, registry), since, registry)
    zh, en = _TEMPLATES[incident.kind](ctx)
    return Summary(zh=zh, en=en)


def _who(inc: Incident, registry: Registry | None) -> tuple[str, str]:
    """Zone, enterprise and point, as far as the incident names them."""
    zh: list[str] = []
    en: list[str] = []
    if inc.zone != SYSTEM_ZONE:
        zone = registry.zone_by_id.get(inc.zone) if registry else None
        zh.append(zone.name if zone else inc.zone)
        en.append((zone.name_en or zone.name) if zone else inc.zone)
    if inc.enterprise:
        ent = registry.enterprise_by_id.get(inc.enterprise) if registry else None
        zh.append(ent.name if ent else inc.enterprise)
        en.append(zh[-1])
    if inc.point:
        point = registry.point_by_id.get(inc.point) if registry else None
        kind_zh, kind_en = _label(POINT_KINDS, point.kind if point else None)
        zh.append(f"{kind_zh} {inc.point}".strip())
        en.append(f"{kind_en} {inc.point}".strip())
    return " ".join(zh), ", ".join(en)


def _label(table: Mapping[str, tuple[str, str]], key: str | None) -> tuple[str, str]:
    if key is None:
        return "", ""
    return table.get(key, (key, key))


def _factor(code: str | None) -> tuple[str, str]:
    """`化学需氧量（w01018）` / `COD (w01018)`; the bare code when it has no name here."""
    if code is None:
        return "监测因子", "a factor"
    if code not in FACTORS:
        return code, code
    zh, en = FACTORS[code]
    return f"{zh}（{code}）", f"{en} ({code})"


def _when(t: datetime, year: bool = False) -> tuple[str, str]:
    """`11月27日 08:00` / `27 Nov 08:00`, in Shanghai time; with the year for deadlines."""
    s = t.astimezone(SHANGHAI)
    zh = f"{s.year}年{s.month}月{s.day}日 {s:%H:%M}" if year else f"{s.month}月{s.day}日 {s:%H:%M}"
    en = f"{s.day} {_MONTHS[s.month - 1]}{f' {s.year}' if year else ''} {s:%H:%M}"
    return zh, en


def _date(t: datetime) -> tuple[str, str]:
    s = t.astimezone(SHANGHAI)
    return f"{s.year}年{s.month}月{s.day}日", f"{s.day} {_MONTHS[s.month - 1]} {s.year}"


def _duration(seconds: float) -> tuple[str, str]:
    """180 → `3 分钟` / `3 min`: the largest whole unit."""
    s = round(seconds)
    if s >= 3600 and s % 3600 == 0:
        return f"{s // 3600} 小时", f"{s // 3600} h"
    if s >= 60 and s % 60 == 0:
        return f"{s // 60} 分钟", f"{s // 60} min"
    return f"{s} 秒", f"{s} s"


def _num(v: float) -> str:
    return f"{v:g}"


def _threshold(c: _Ctx) -> tuple[str, str]:
    if c.facts.threshold_s is None:
        return "", ""
    zh, en = _duration(c.facts.threshold_s)
    return f"（超过阈值 {zh}）", f" (threshold {en})"


def _data_gap(c: _Ctx) -> tuple[str, str]:
    (who, who_en), (thr, thr_en) = c.who, _threshold(c)
    if c.since is None:
        return f"{who} 从未上报有效数据", f"{who_en}: no valid data ever received"
    return (f"{who} 自 {c.since[0]} 起无数据{thr}",
            f"{who_en}: no data since {c.since[1]}{thr_en}")


def _invalid_data(c: _Ctx) -> tuple[str, str]:
    label, label_en = _FAULT_FLAGS.get(c.facts.flag or "", ("故障标记", "fault flags"))
    if c.facts.flag:
        label, label_en = f"{label}，标记 {c.facts.flag}", f"{label_en}, flag {c.facts.flag}"
    zh, en = f"{c.who[0]} 数据持续无效（{label}）", f"{c.who[1]}: invalid data ({label_en})"
    return _with_since(c, zh, en)


def _exceedance(c: _Ctx) -> tuple[str, str]:
    (f, f_en), v, lim = _factor(c.inc.factor), c.facts.value, c.facts.limit
    zh, en = f"{c.who[0]} {f} 超标", f"{c.who[1]}: {f_en} over its limit"
    if v is not None and lim is not None:
        zh, en = f"{zh}（{_num(v)}，限值 {_num(lim)}）", f"{en} ({_num(v)}, limit {_num(lim)})"
    return _with_since(c, zh, en)


def _suspect_data(c: _Ctx) -> tuple[str, str]:
    (f, f_en), v = _factor(c.inc.factor), c.facts.value
    zh = f"{c.who[0]} {f} 数值不变{'' if v is None else f'（{_num(v)}）'}，疑似异常"
    en = f"{c.who[1]}: {f_en} unchanged{'' if v is None else f' at {_num(v)}'}, suspect"
    return _with_since(c, zh, en)


def _with_since(c: _Ctx, zh: str, en: str) -> tuple[str, str]:
    """Append `，自 … 起` / `, since …` when the incident start is known."""
    if c.since is None:
        return zh, en
    return f"{zh}，自 {c.since[0]} 起", f"{en}, since {c.since[1]}"


def _platform_offline(c: _Ctx) -> tuple[str, str]:
    platform = c.registry.platform_by_id.get(c.inc.subject) if c.registry else None
    name = (platform.name if platform else None) or c.inc.subject
    thr, thr_en = _threshold(c)
    zh, en = f"{c.who[0]} 安全监测平台 {name}".strip(), f"{c.who[1]}, safety platform {name}"
    if c.since is None:
        return f"{zh} 从未发送心跳", f"{en}: no heartbeat ever received"
    return f"{zh} 自 {c.since[0]} 起无心跳{thr}", f"{en}: no heartbeat since {c.since[1]}{thr_en}"


def _assessment_missing(c: _Ctx) -> tuple[str, str]:
    zh, en = f"{c.who[0]} 无有效的安全评估", f"{c.who[1]}: no valid safety assessment"
    return _with_since(c, zh, en)


def _assessment_expiring(c: _Ctx) -> tuple[str, str]:
    if c.facts.due is None:
        return f"{c.who[0]} 安全评估即将到期", f"{c.who[1]}: safety assessment expires soon"
    zh, en = _date(c.facts.due)
    return f"{c.who[0]} 安全评估将于 {zh} 到期", f"{c.who[1]}: safety assessment expires on {en}"


def _hazard_overdue(c: _Ctx) -> tuple[str, str]:
    due = c.facts.due or c.inc.start
    zh, en = f"{c.who[0]} 隐患 {c.inc.subject} 逾期未整改", f"{c.who[1]}: hazard {c.inc.subject}"
    if not isinstance(due, datetime):
        return zh, f"{en} not remediated by its due date"
    d_zh, d_en = _when(due, year=True)
    return f"{zh}（整改期限 {d_zh}）", f"{en} not remediated by its due date, {d_en}"


def _coverage_below_target(c: _Ctx) -> tuple[str, str]:
    ok, total = c.facts.covered, c.facts.total
    if ok is None or not total:
        zh = f"{c.who[0]} 在线监控率低于 100%"
        en = f"{c.who[1]}: online-monitoring rate below 100%"
    else:
        pct = f"{100 * ok / total:.1f}".rstrip("0").rstrip(".") + "%"
        n = f"{_num(ok)}/{_num(total)}"  # counts arrive as floats (3.0) through a signal
        zh = f"{c.who[0]} 在线监控率 {pct}（{n} 家重点排污单位），低于 100%"
        en = f"{c.who[1]}: online-monitoring rate {pct} ({n} key polluter units), below 100%"
    return _with_since(c, zh, en)


def _pipeline_stalled(c: _Ctx) -> tuple[str, str]:
    zh, en = f"数据处理环节 {c.inc.subject} 停滞", f"pipeline stage {c.inc.subject} stalled"
    if c.facts.threshold_s is not None:
        d_zh, d_en = _duration(c.facts.threshold_s)
        zh, en = f"{zh}（超过 {d_zh}无进展）", f"{en} (no progress for over {d_en})"
    return _with_since(c, zh, en)


_TEMPLATES: Mapping[AlertKind, Callable[[_Ctx], tuple[str, str]]] = {
    AlertKind.DATA_GAP: _data_gap,
    AlertKind.INVALID_DATA: _invalid_data,
    AlertKind.EXCEEDANCE: _exceedance,
    AlertKind.SUSPECT_DATA: _suspect_data,
    AlertKind.PLATFORM_OFFLINE: _platform_offline,
    AlertKind.ASSESSMENT_MISSING: _assessment_missing,
    AlertKind.ASSESSMENT_EXPIRING: _assessment_expiring,
    AlertKind.HAZARD_OVERDUE: _hazard_overdue,
    AlertKind.COVERAGE_BELOW_TARGET: _coverage_below_target,
    AlertKind.PIPELINE_STALLED: _pipeline_stalled,
}
