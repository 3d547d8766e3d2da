"""The long tables: units and points that fell short, and the alerts of the period."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from alerts.summary import POINT_KINDS
from schemas import Alert
from streams.coverage import Completeness
from zonewatch.report import svg
from zonewatch.report.markup import Cell, Html, bi, join, table, tag
from zonewatch.report.model import (
    ReportData,
    UnitRow,
    ack_seconds,
    alert_seconds,
    fell_short,
)
from zonewatch.report.period import local_text
from zonewatch.report.timeline import Shortfall
from zonewatch.report.words import ALERT_STATUS, KIND, SEVERITY, en, hm, pct, zh

BARS = 25
"""Units drawn in the bar chart; the table lists all that fell short."""


def _section(title_zh: str, title_en: str, *content: Html, cls: str = "") -> Html:
    return tag("section", join([tag("h2", bi(title_zh, title_en)), *content]), cls)


def _since(s: Shortfall) -> str:
    if s.dark_since is None:
        return ""
    return local_text(datetime.fromtimestamp(s.dark_since, UTC))


def _transmission(c: Completeness | None) -> list[Cell]:
    if c is None or not c.expected:
        return ["—", "", ""]
    return [pct(c.rate), c.filled_late, c.missing]


def units(data: ReportData) -> Html:
    title = ("未达标重点排污单位", "Key polluter units that fell short")
    if not data.units:
        return _section(*title, tag("p", bi("本园区无登记的重点排污单位。",
                                            "No key polluter unit is registered.")))
    short = [u for u in data.units if fell_short(u)]
    lead = tag("p", bi(f"共 {len(data.units)} 家重点排污单位，{len(short)} 家在报告期内曾中断、"
                       "停产/维护或数据不完整。", f"{len(short)} of {len(data.units)} key polluter "
                       "units were dark, stopped/under maintenance, or incomplete at some time."))
    if not short:
        return _section(*title, lead, cls="keep")
    head = [bi("单位", "Unit"), bi("中断", "Dark"), bi("停产/维护", "Excused"),
            bi("中断次数", "Episodes"), bi("最长", "Longest"), bi("期末仍中断，自", "Dark since"),
            bi("完整率", "Complete"), bi("补发", "Late"), bi("缺失", "Missing")]
    rows = [[join([u.name, tag("div", u.enterprise, "en")]), hm(u.shortfall.dark_s),
             hm(u.shortfall.excused_s), u.shortfall.episodes, hm(u.shortfall.longest),
             _since(u.shortfall), *_transmission(u.completeness)] for u in short]
    return _section(*title, lead, _bars(short), table(head, rows, numeric=range(1, 9)),
                    tag("p", bi("时长为 时:分；补发、缺失为报送间隔数。",
                                "Durations in hours:minutes; late and missing in reporting "
                                "intervals."), "note"))


def _bars(short: Sequence[UnitRow]) -> Html:
    drawn = [u for u in short if u.shortfall.dark_s + u.shortfall.excused_s > 0][:BARS]
    if not drawn:
        return Html("")
    rows = [(u.name, [u.shortfall.dark_s / 3600, u.shortfall.excused_s / 3600]) for u in drawn]
    chart = svg.bar_chart(rows, [("中断 dark", "#b3261e"), ("停产/维护 excused", "#c9a227")],
                          "各单位中断时长 Dark time per unit", unit="h")
    return tag("div", Html(chart), "chart")


def points(data: ReportData) -> Html:
    counted = [p for p in data.points if p.counted]
    short = [p for p in counted if fell_short(p)]
    others = sum(1 for p in data.points if not p.counted and fell_short(p))
    lead = tag("p", bi(f"计入在线监控率的必报监测点 {len(counted)} 个，其中 {len(short)} 个未达标。"
                       f"其他监测点（安全等）未达标 {others} 个，见 points.csv。",
                       f"{len(short)} of {len(counted)} points counted toward the rate fell "
                       f"short; {others} other points (safety etc.) did: see points.csv."))
    if not short:
        return _section("未达标监测点", "Points that fell short", lead)
    head = [bi("点位", "Point"), bi("单位", "Unit"), bi("类型", "Kind"), bi("离线", "Offline"),
            bi("故障", "Fault"), bi("停产/维护", "Excused"), bi("次数", "Episodes"),
            bi("最长", "Longest"), bi("期末仍中断，自", "Dark since"), bi("完整率", "Complete"),
            bi("补发", "Late"), bi("缺失", "Missing")]
    rows = [[p.point, data.name(p.enterprise), POINT_KINDS.get(p.kind, (p.kind,))[0],
             hm(p.shortfall.seconds.get("offline", 0)), hm(p.shortfall.seconds.get("fault", 0)),
             hm(p.shortfall.excused_s), p.shortfall.episodes, hm(p.shortfall.longest),
             _since(p.shortfall), *_transmission(p.completeness)] for p in short]
    return _section("未达标监测点", "Points that fell short", lead,
                    table(head, rows, "points", numeric=range(3, 12)), cls="page")


def alerts(data: ReportData) -> Html:
    title = ("报告期内告警", "Alerts of the period")
    items = data.alerts
    if not items:
        return _section(*title, tag("p", bi("报告期内无告警。", "No alerts in the period.")))
    new = sum(a.opened_at >= data.period.start for a in items)
    acked = sum(a.acknowledged_at is not None for a in items)
    closed = sum(a.status == "resolved" for a in items)
    lead = tag("p", bi(f"共 {len(items)} 条（期内新发 {new}，期初已存在 {len(items) - new}）；"
                       f"已确认 {acked}，已关闭 {closed}，期末未关闭 {len(items) - closed}。",
                       f"{len(items)} alerts ({new} opened in the period); {acked} "
                       f"acknowledged, {closed} resolved, {len(items) - closed} still open "
                       "at the end."))
    head = [bi("发生", "Opened"), bi("类型", "Kind"), bi("级别", "Severity"),
            bi("对象", "Subject"), bi("摘要", "Summary"), bi("确认", "Acknowledged"),
            bi("关闭", "Resolved"), bi("持续", "Lasted"), bi("期末状态", "Status at end")]
    rows = [_alert_row(a, data) for a in items]
    return _section(*title, lead, table(head, rows, "alerts", numeric=(7,)), cls="page")


def _alert_row(a: Alert, data: ReportData) -> list[Cell]:
    subject = join([data.name(a.enterprise) if a.enterprise else (a.subject or ""),
                    tag("div", a.point or a.subject or "", "en")])
    ack = ack_seconds(a)
    acked = join([a.acknowledged_by or "", tag("div", f"{local_text(a.acknowledged_at)}"
                  f"（{hm(ack)}）" if ack is not None else "", "en")])
    resolved = local_text(a.resolved_at) if a.status == "resolved" else ""
    return [local_text(a.opened_at), bi(zh(KIND, a.kind), en(KIND, a.kind)),
            zh(SEVERITY, a.severity), subject,
            join([a.summary.zh, tag("div", a.summary.en, "en")]), acked, resolved,
            hm(alert_seconds(a, data.period.end)),
            bi(zh(ALERT_STATUS, a.status), en(ALERT_STATUS, a.status))]
