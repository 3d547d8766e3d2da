"""The report's tables as CSV, one file each, for Excel and for scripts.

UTF-8 with a byte-order mark: without it Excel on Windows reads the Chinese as GBK and garbles
it. Headers carry the Chinese label and a stable English key ("单位编号 enterprise_id"); numbers
are plain (percent and hours as decimals), times Asia/Shanghai wall time. Text that a spreadsheet
would run as a formula (=, +, -, @ first) is quoted with a leading apostrophe.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path

from streams.coverage import Completeness
from zonewatch.report.model import ReportData, alert_seconds, fell_short
from zonewatch.report.period import local_text
from zonewatch.report.timeline import Shortfall
from zonewatch.report.words import KIND, MEASURE, hours, pct_number, zh

Row = Sequence[object]

TRANSMISSION = ("应报间隔 expected", "按时 on_time", "补发 filled_late", "缺失 missing",
                "完整率% completeness_pct")
SHORTFALL = ("中断次数 episodes", "最长中断小时 longest_h", "期末仍中断自 dark_since")


def write_csvs(data: ReportData, folder: Path, stem: str) -> list[Path]:
    tables = {"figures": figures(data), "daily": daily(data), "units": units(data),
              "points": points(data), "alerts": alerts(data)}
    paths = []
    for name, rows in tables.items():
        path = folder / f"{stem}_{name}.csv"
        write(path, rows)
        paths.append(path)
    return paths


def write(path: Path, rows: Iterable[Row]) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        writer = csv.writer(f)
        writer.writerows([_safe(c) for c in r] for r in rows)


def _safe(cell: object) -> object:
    if isinstance(cell, str) and cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + cell
    return cell


def _yes(flag: bool) -> str:
    return "是" if flag else "否"


def _time(t: datetime | float | None) -> str:
    if isinstance(t, float | int):
        t = datetime.fromtimestamp(t, UTC)
    return local_text(t, seconds=True)


def figures(data: ReportData) -> list[Row]:
    head = ("指标 measure", "指标名称 name", "登记数 registered", "期间平均% average_pct",
            "最低% lowest_pct", "期末% at_end_pct", "有数据时长% figures_pct", "结论 verdict",
            "verdict_en")
    rows: list[Row] = [head]
    for f in data.figures:
        share = f.seconds / data.period.seconds if data.period.seconds else None
        rows.append((f.measure, zh(MEASURE, f.measure), f.registered, pct_number(f.average),
                     pct_number(f.low), pct_number(f.at_end), pct_number(share),
                     f.verdict.value, f.verdict.en))
    c = data.completeness
    rows.append(("monitoring_rate_rebuilt", "在线监控率（按已存数据复核）", len(data.units),
                 pct_number(data.recomputed_rate), "", "", "", "", ""))
    rows.append(("transmission_completeness", "数据传输完整率", c.expected if c else "",
                 pct_number(c.rate if c else None), "", "", "", "", ""))
    return rows


def daily(data: ReportData) -> list[Row]:
    head = ("日期 date", "在线监控率日均% monitoring_avg_pct",
            "在线监控率日最低% monitoring_low_pct", "安全评估率日均% assessment_avg_pct",
            "平台建成率日均% platform_avg_pct")
    return [head, *[(str(d.day), pct_number(d.average["monitoring_rate"]),
                     pct_number(d.low["monitoring_rate"]), pct_number(d.average["assessment_rate"]),
                     pct_number(d.average["platform_rate"])) for d in data.days]]


def _shortfall(s: Shortfall) -> list[object]:
    return [s.episodes, hours(s.longest), _time(s.dark_since)]


def _transmission(c: Completeness | None) -> list[object]:
    if c is None or not c.expected:
        return ["", "", "", "", ""]
    return [c.expected, c.on_time, c.filled_late, c.missing, pct_number(c.rate)]


def units(data: ReportData) -> list[Row]:
    head = ("单位编号 enterprise_id", "单位名称 name", "必报点位 points", "中断小时 dark_h",
            "停产维护小时 excused_h", *SHORTFALL, *TRANSMISSION, "未达标 fell_short")
    return [head, *[(u.enterprise, u.name, ";".join(u.points), hours(u.shortfall.dark_s),
                     hours(u.shortfall.excused_s), *_shortfall(u.shortfall),
                     *_transmission(u.completeness), _yes(fell_short(u))) for u in data.units]]


def points(data: ReportData) -> list[Row]:
    head = ("点位编号 point_id", "单位编号 enterprise_id", "单位名称 enterprise_name",
            "类型 kind", "报送间隔秒 interval_s", "计入在线监控率 counted", "离线小时 offline_h",
            "故障小时 fault_h", "维护小时 maintenance_h", "停产小时 stopped_h", *SHORTFALL,
            *TRANSMISSION, "未达标 fell_short")
    rows: list[Row] = [head]
    for p in data.points:
        sec = p.shortfall.seconds
        rows.append((p.point, p.enterprise, data.name(p.enterprise), p.kind, p.interval_s,
                     _yes(p.counted), *(hours(sec.get(k, 0.0)) for k in
                                        ("offline", "fault", "maintenance", "stopped")),
                     *_shortfall(p.shortfall), *_transmission(p.completeness),
                     _yes(fell_short(p))))
    return rows


def alerts(data: ReportData) -> list[Row]:
    head = ("告警编号 id", "类型 kind", "类型名称 kind_name", "级别 severity",
            "单位编号 enterprise_id", "单位名称 enterprise_name", "点位 point", "对象 subject",
            "摘要 summary_zh", "summary_en", "发生时间 opened_at", "确认人 acknowledged_by",
            "确认时间 acknowledged_at", "关闭时间 resolved_at", "持续小时 lasted_h",
            "期末状态 status_at_end")
    return [head, *[(a.id, a.kind.value, zh(KIND, a.kind), a.severity.value, a.enterprise or "",
                     data.name(a.enterprise) if a.enterprise else "", a.point or "",
                     a.subject or "", a.summary.zh, a.summary.en, _time(a.opened_at),
                     a.acknowledged_by or "", _time(a.acknowledged_at),
                     _time(a.resolved_at) if a.status == "resolved" else "",
                     hours(alert_seconds(a, data.period.end)), a.status.value)
                    for a in data.alerts]]
