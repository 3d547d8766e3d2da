"""The report body, section by section: verdicts, daily figures, completeness, end state, notes.

Units, points and alerts are long tables and live in `gaps.py`.
"""

from __future__ import annotations

from zonewatch.report import gaps, svg
from zonewatch.report.markup import Html, bi, join, table, tag
from zonewatch.report.model import MEASURES, Figure, ReportData, Verdict
from zonewatch.report.words import MEASURE, en, hm, pct, zh

VERDICT_CLASS = {Verdict.MET: "met", Verdict.NOT_MET: "notmet", Verdict.NO_DATA: "nodata",
                 Verdict.NOT_APPLICABLE: "na"}
COLORS = {"monitoring_rate": "#1f4e79", "assessment_rate": "#e08a00",
          "platform_rate": "#2e8b57"}
SHORT = {"monitoring_rate": "在线监控率（日均）", "assessment_rate": "安全评估率",
         "platform_rate": "平台建成率"}


def body(data: ReportData) -> Html:
    return join([verdicts(data), daily(data), completeness(data), gaps.units(data),
                 gaps.points(data), end_state(data), gaps.alerts(data), notes(data)], "\n")


def section(title_zh: str, title_en: str, *content: Html, cls: str = "") -> Html:
    return tag("section", join([tag("h2", bi(title_zh, title_en)), *content]), cls)


def verdict_cell(v: Verdict) -> Html:
    return tag("span", bi(v.value, v.en), VERDICT_CLASS[v])


def verdicts(data: ReportData) -> Html:
    head = [bi("指标", "Target"), bi("目标", "Goal"), bi("期间平均", "Average"),
            bi("最低", "Lowest"), bi("期末", "At end"), bi("数据覆盖", "Time with figures"),
            bi("结论", "Verdict")]
    rows = [[bi(zh(MEASURE, f.measure), en(MEASURE, f.measure)), "100 %", pct(f.average),
             pct(f.low), pct(f.at_end), _covered(f, data.period.seconds),
             verdict_cell(f.verdict)] for f in data.figures]
    met = sum(f.verdict is Verdict.MET for f in data.figures)
    due = sum(f.verdict is not Verdict.NOT_APPLICABLE for f in data.figures)
    return section(
        "结论", "Verdict",
        tag("p", bi(f"依据宁政发〔2021〕20号，三项指标目标均为 100 %。本期达标 {met} / {due} 项。",
                    f"Policy 宁政发〔2021〕20号 sets all three targets at 100 %. Met: {met} of "
                    f"{due}.")),
        table(head, rows, "verdict", numeric=(2, 3, 4, 5)),
        tag("p", bi(f"按已存数据（含补发）复核的在线监控率：{pct(data.recomputed_rate)}。",
                    "Online-monitoring rate rebuilt from the stored readings, late data "
                    f"included: {pct(data.recomputed_rate)}."), "note"),
        tag("p", bi("平均值按时间加权：每个覆盖率数值计入其持续的时长。"
                    "只要期间内任一时刻低于 100 %，即为未达标。",
                    "Averages are time-weighted: each figure counts for as long as it held. "
                    "Any time under 100 % means the target was not met."), "note"),
        cls="keep")


def _covered(f: Figure, period_s: float) -> str:
    if f.registered == 0:
        return "—"
    return pct(min(1.0, f.seconds / period_s)) if period_s else "—"


def daily(data: ReportData) -> Html:
    days = [d.day for d in data.days]
    series = [svg.Series(SHORT[m], COLORS[m], [d.average[m] for d in data.days])
              for m in MEASURES if _applies(data, m)]
    if _applies(data, "monitoring_rate"):
        series.append(svg.Series("在线监控率（日最低）", "#7fa7d0",
                                 [d.low["monitoring_rate"] for d in data.days], dashed=True))
    chart = svg.line_chart(days, series, "每日覆盖率 Daily figures")
    return section("每日覆盖率", "Daily figures", tag("div", Html(chart), "chart"),
                   tag("p", bi("虚线红线为 100 % 目标；断开处为该日无数据。",
                               "Dashed red: the 100 % target. Breaks: days without figures."),
                       "note"), cls="keep")


def _applies(data: ReportData, measure: str) -> bool:
    return any(f.measure == measure and f.registered for f in data.figures)


def completeness(data: ReportData) -> Html:
    c = data.completeness
    if c is None:
        return section("数据传输完整率", "Transmission completeness",
                       tag("p", bi("本园区无登记监测点。", "No monitoring points registered.")))
    head = [bi("应报", "Expected"), bi("按时", "On time"), bi("补发", "Filled late"),
            bi("缺失", "Missing"), bi("完整率", "Completeness"), bi("按时率", "On time")]
    row = [c.expected, c.on_time, c.filled_late, c.missing, pct(c.rate), pct(c.on_time_rate)]
    return section(
        "数据传输完整率", "Transmission completeness",
        table(head, [row], numeric=range(6)),
        tag("p", bi("按监测点的报送间隔计：有有效数据（N/T）的间隔 ÷ 应报间隔。"
                    "补发指数据在该点已判为离线之后才到达（如 HJ 212 补发），"
                    "计入完整率，但不属于实时在线。",
                    "Per reporting interval of each point: intervals with valid data (N/T) ÷ "
                    "expected. Filled late: data that arrived after the point already counted "
                    "as offline (e.g. an HJ 212 resend); complete, but not online in real "
                    "time."), "note"), cls="keep")


def end_state(data: ReportData) -> Html:
    def names(ids: tuple[str, ...]) -> Html:
        if not ids:
            return tag("p", bi("无", "none"))
        return tag("ul", join(tag("li", f"{data.name(i)}（{i}）") for i in ids))
    return section("期末状态", "At the end of the period",
                   tag("h3", bi("未完成安全风险评估的企业", "Enterprises not safety-assessed")),
                   names(data.unassessed),
                   tag("h3", bi("离线的安全监管平台", "Safety platforms offline")),
                   names(data.platforms_offline), cls="keep")


def notes(data: ReportData) -> Html:
    items = [
        bi("在线：监测点在其离线阈值（默认 3 × 报送间隔）内有有效数据（标记 N 或 T）。",
           "Online: valid data (flag N or T) within the point's gap threshold "
           "(3 × its interval by default)."),
        bi("单位覆盖：其全部必报监测点在线；停产（F）与维护（M/C）单列为豁免，不计为在线。",
           "A unit is covered when all its required points are online; stopped (F) and "
           "maintenance (M/C) are reported apart, never counted as online."),
        bi("三项比率取自系统实时记录的覆盖率；单位与点位的中断时长由已存数据按事件时间逐秒重建，"
           "已计入补发数据。", "The three rates are the figures recorded live; dark time of units "
           "and points is rebuilt to the second from the stored readings in event time, "
           "late data included."),
        bi(f"时长格式为 时:分。最长缺口 {hm(_longest(data))}。",
           f"Durations are hours:minutes. Longest dark stretch: {hm(_longest(data))}."),
    ]
    return section("说明", "Notes", tag("ul", join(tag("li", i) for i in items)), cls="keep")


def _longest(data: ReportData) -> float:
    return max((u.shortfall.longest for u in data.units), default=0.0)
