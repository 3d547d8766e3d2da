"""The report as one self-contained, printable HTML file: inline CSS and SVG, no script.

Built with the standard library: every value goes through `markup.h` (escaped) unless it is
markup built here, and the page skeleton is a `string.Template`. Sections are in `sections.py`.
"""

from __future__ import annotations

from string import Template

from zonewatch.report import sections
from zonewatch.report.markup import h
from zonewatch.report.model import ReportData
from zonewatch.report.period import local_text
from zonewatch.report.style import CSS

PAGE = Template("""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>$title</title>
<style>
$css
</style>
</head>
<body>
<header>
<h1>$zone_name 在线监控与安全覆盖合规报告<span class="en">Compliance report: online monitoring
 and safety coverage — $zone_en</span></h1>
<p class="meta">报告期 <span class="en">Period</span> <b>$first 至 $last</b>（北京时间
 <span class="en">Asia/Shanghai</span>）$as_of</p>
<p class="meta">生成时间 <span class="en">Generated</span> $generated ·
 园区编号 <span class="en">Zone id</span> <code>$zone</code> ·
 登记表版本 <span class="en">Registry</span> <code>sha256:$digest</code></p>
</header>
$body
<footer>zonewatch · $zone · $first – $last</footer>
</body>
</html>
""")


def render_html(data: ReportData) -> str:
    p = data.period
    as_of = ""
    if p.cut_short:
        as_of = (f'，数据截至 {h(local_text(p.end))} <span class="en">figures as of '
                 f"{h(local_text(p.end))}</span>")
    return PAGE.substitute(
        title=h(f"{data.zone_name} 合规报告 {p.first}–{p.last}"), css=CSS,
        zone_name=h(data.zone_name), zone_en=h(data.zone_name_en or data.zone),
        first=h(str(p.first)), last=h(str(p.last)), as_of=as_of,
        generated=h(local_text(data.generated_at)), zone=h(data.zone),
        digest=h(data.registry_digest[:16]), body=sections.body(data))
