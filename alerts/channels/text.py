"""The markdown a person reads in a DingTalk or WeCom group: each Chinese line, the English under.

Times in Asia/Shanghai (SPEC "Users"); the id at the end, so a reply can name the alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from alerts.channels.base import Notice, Reason
from alerts.summary import SHANGHAI
from schemas import Alert, AlertKind, AlertStatus, Severity

Words = tuple[str, str]

SEVERITY: Mapping[Severity, Words] = {
    Severity.CRITICAL: ("严重", "Critical"), Severity.WARNING: ("警告", "Warning"),
    Severity.INFO: ("提示", "Info"),
}
STATUS: Mapping[AlertStatus, Words] = {
    AlertStatus.OPEN: ("未确认", "open"), AlertStatus.ACKNOWLEDGED: ("已确认", "acknowledged"),
    AlertStatus.RESOLVED: ("已恢复", "resolved"),
}
KIND: Mapping[AlertKind, Words] = {
    AlertKind.DATA_GAP: ("数据中断", "data gap"),
    AlertKind.INVALID_DATA: ("数据无效", "invalid data"),
    AlertKind.EXCEEDANCE: ("超标", "exceedance"),
    AlertKind.SUSPECT_DATA: ("数据存疑", "suspect data"),
    AlertKind.PLATFORM_OFFLINE: ("平台离线", "platform offline"),
    AlertKind.ASSESSMENT_MISSING: ("未完成安全评估", "assessment missing"),
    AlertKind.ASSESSMENT_EXPIRING: ("安全评估即将到期", "assessment expiring"),
    AlertKind.HAZARD_OVERDUE: ("隐患逾期未整改", "hazard overdue"),
    AlertKind.COVERAGE_BELOW_TARGET: ("在线监控率未达标", "coverage below target"),
    AlertKind.PIPELINE_STALLED: ("数据管道停滞", "pipeline stalled"),
}
REASON: Mapping[Reason, Words] = {
    Reason.REPEAT: ("重复提醒：告警仍未确认", "Reminder: still not acknowledged"),
    Reason.ESCALATION: ("告警升级：超时未确认", "Escalated: not acknowledged in time"),
    Reason.FLAPPING: ("频繁波动：暂停通知，稳定后再发", "Flapping: held until it settles"),
}


def title(alert: Alert) -> str:
    """One short line for the chat list preview."""
    sev, kind, status = SEVERITY[alert.severity], KIND[alert.kind], STATUS[alert.status]
    return f"【{sev[0]}】{kind[0]} · {status[0]} {alert.zone}"


def lines(alert: Alert, notice: Notice) -> list[str]:
    """The message body as lines; the channel joins them its own way."""
    sev, kind, status = SEVERITY[alert.severity], KIND[alert.kind], STATUS[alert.status]
    out = [f"### 【{sev[0]}】{kind[0]} · {status[0]}",
           f"### [{sev[1]}] {kind[1]} · {status[1]}"]
    if notice.reason in REASON:
        zh, en = REASON[notice.reason]
        out += [f"> **{zh}**", f"> {en}"]
    out += [f"**{alert.summary.zh}**", alert.summary.en]
    where = [("园区", "Zone", alert.zone), ("企业", "Enterprise", alert.enterprise),
             ("监测点", "Point", alert.point)]
    shown = [(zh, en, v) for zh, en, v in where if v]
    out += ["，".join(f"{zh}：{v}" for zh, _, v in shown),
            ", ".join(f"{en}: {v}" for _, en, v in shown)]
    out += [f"发生时间：{_local(alert.opened_at)}（北京时间）",
            f"Opened: {_local(alert.opened_at)} (UTC+8)"]
    if alert.acknowledged_by and alert.status is not AlertStatus.OPEN:
        out += [f"确认人：{alert.acknowledged_by}", f"Acknowledged by: {alert.acknowledged_by}"]
    if alert.resolved_at is not None:
        out += [f"恢复时间：{_local(alert.resolved_at)}", f"Resolved: {_local(alert.resolved_at)}"]
    return [*out, f"告警编号 Alert id：{alert.id}"]


def _local(t: datetime) -> str:
    return t.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
