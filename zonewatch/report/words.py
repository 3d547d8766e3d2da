"""The report's words and number formats, Chinese first with English beside (SPEC "Users")."""

from __future__ import annotations

import math
from collections.abc import Mapping

Words = Mapping[str, tuple[str, str]]

MEASURE: Words = {
    "monitoring_rate": ("重点排污单位在线监控率", "Online monitoring of key polluter units"),
    "assessment_rate": ("安全风险评估率", "Safety risk assessment"),
    "platform_rate": ("安全监管信息平台建成率", "Safety supervision platform connected"),
}
STATUS: Words = {
    "offline": ("离线", "offline"), "fault": ("故障", "fault"),
    "maintenance": ("维护", "maintenance"), "stopped": ("停产", "stopped"),
    "dark": ("中断", "dark"), "excused": ("停产/维护", "stopped/maintenance"),
}
ALERT_STATUS: Words = {
    "open": ("未处理", "open"), "acknowledged": ("已确认", "acknowledged"),
    "resolved": ("已关闭", "resolved"),
}
SEVERITY: Words = {"critical": ("严重", "critical"), "warning": ("警告", "warning"),
                   "info": ("提示", "info")}
KIND: Words = {
    "data_gap": ("数据中断", "data gap"), "invalid_data": ("数据无效", "invalid data"),
    "exceedance": ("超标", "exceedance"), "suspect_data": ("数据可疑", "suspect data"),
    "platform_offline": ("平台离线", "platform offline"),
    "assessment_missing": ("缺少安全评估", "assessment missing"),
    "assessment_expiring": ("评估即将到期", "assessment expiring"),
    "hazard_overdue": ("隐患逾期", "hazard overdue"),
    "coverage_below_target": ("覆盖率未达标", "coverage below target"),
    "pipeline_stalled": ("系统管道停滞", "pipeline stalled"),
}


def zh(words: Words, key: str) -> str:
    return words.get(key, (key, key))[0]


def en(words: Words, key: str) -> str:
    return words.get(key, (key, key))[1]


def pct(v: float | None) -> str:
    """Truncated, not rounded: 99.996 % shows as 99.99 %, never as a 100 % it did not reach."""
    if v is None:
        return "—"
    return f"{math.floor(v * 10000 + 1e-6) / 100:.2f} %"


def pct_number(v: float | None) -> str:
    """A percentage for a spreadsheet cell: a plain number, empty when there is none."""
    return "" if v is None else f"{v * 100:.4f}"


def hm(seconds: float | None) -> str:
    """A duration as hours:minutes, e.g. 76:05; anything under half a minute shows as <0:01."""
    if seconds is None:
        return "—"
    minutes = round(seconds / 60)
    if seconds > 0 and minutes == 0:
        return "<0:01"
    return f"{minutes // 60}:{minutes % 60:02d}"


def hours(seconds: float | None) -> str:
    return "" if seconds is None else f"{seconds / 3600:.3f}"
