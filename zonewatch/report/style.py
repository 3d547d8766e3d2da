"""The report's stylesheet, inline in the page: A4, tables that break cleanly across pages."""

CSS = """
@page { size: A4; margin: 14mm 12mm 16mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei",
       "SimHei", sans-serif; font-size: 10pt; color: #222; line-height: 1.45;
       max-width: 190mm; margin: 0 auto; padding: 8mm 0; }
h1 { font-size: 17pt; margin: 0 0 4pt; }
h1 .en { display: block; font-size: 10.5pt; font-weight: normal; }
h2 { font-size: 12.5pt; border-bottom: 1.5pt solid #1f4e79; padding-bottom: 2pt;
     margin: 16pt 0 6pt; color: #1f4e79; break-after: avoid; }
h3 { font-size: 10.5pt; margin: 10pt 0 4pt; break-after: avoid; }
.en { color: #666; font-size: 0.86em; font-weight: normal; }
p { margin: 3pt 0; }
.meta { color: #444; font-size: 9pt; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 0.9em; }
table { width: 100%; border-collapse: collapse; margin: 4pt 0 8pt; font-size: 8.6pt; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th { background: #eef2f7; text-align: left; font-weight: 600; vertical-align: bottom; }
th, td { border: 0.5pt solid #b8c2cc; padding: 2.5pt 4pt; }
th .en { display: block; }
td.num, th.num { text-align: right; white-space: nowrap; }
.verdict td { font-size: 9.5pt; }
.verdict td:nth-child(2) { white-space: nowrap; }
.verdict .en { display: block; }
.points td:nth-child(1), .points td:nth-child(3) { white-space: nowrap; }
.met { color: #1e7b34; font-weight: 700; }
.notmet { color: #b3261e; font-weight: 700; }
.nodata { color: #8a6d00; font-weight: 700; }
.na { color: #666; }
.note { color: #555; font-size: 8.6pt; }
.chart { margin: 4pt 0 8pt; break-inside: avoid; }
section { margin-bottom: 6pt; }
section.keep { break-inside: avoid; }
section.page { break-before: page; }
ul { margin: 2pt 0 6pt 14pt; padding: 0; }
footer { margin-top: 14pt; color: #888; font-size: 8pt; text-align: right; }
@media print { body { max-width: none; padding: 0; } }
"""
