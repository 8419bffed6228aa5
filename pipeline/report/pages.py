"""The report's own pages as HTML strings: the entry page (index.html) and the findings page (findings.html)."""

from __future__ import annotations

import html
from collections import defaultdict
from typing import Callable

from pipeline.warehouse.gate import GateResult
from pipeline.report.findings import REVIEW_STATUSES, Finding, counts_per_rule, evidence_span, highlight

RawHref = Callable[[str, "int | None"], str]  # (raw file, PDF page) -> relative link

STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", sans-serif; margin: 1.5em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; text-align: left; }
th { background: #f3f3f3; }
td.num { text-align: right; }
mark { background: #ffe066; padding: 0 1px; }
.error, .critical, .FAILED { color: #b3261e; font-weight: bold; }
.warning { color: #8a5300; font-weight: bold; }
.info { color: #555; }
.passed { color: #1a7f37; font-weight: bold; }
.status-open { color: #8a5300; } .status-accepted, .status-corrected { color: #1a7f37; } .status-rejected { color: #555; }
.cell { max-width: 48em; }
.empty { color: #999; }
.muted { color: #666; font-size: 90%; }
"""


def _e(value: object) -> str:
    return "" if value is None else html.escape(str(value))


def page(title: str, body: str) -> str:
    """Wrap a body in a UTF-8 HTML page with the report's style."""
    return (f'<!DOCTYPE html>\n<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n<title>{_e(title)}</title>\n'
            f"<style>{STYLE}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def rule_anchor(rule: str) -> str:
    return f"rule-{rule}"


def counts_table(findings: list[Finding], link_prefix: str = "") -> str:
    """Tabulate findings per rule and severity, split by review status."""
    rows = counts_per_rule(findings)
    head = "".join(f"<th>{s}</th>" for s in REVIEW_STATUSES)
    body = "".join(
        f'<tr class="rule-count" data-rule="{_e(r["rule"])}"><td><a href="{link_prefix}#{rule_anchor(r["rule"])}">'
        f'{_e(r["rule"])}</a></td><td class="{_e(r["severity"])}">{_e(r["severity"])}</td>'
        f'<td class="num total">{r["total"]}</td><td class="num">{r["notices"]}</td>'
        + "".join(f'<td class="num">{r[s]}</td>' for s in REVIEW_STATUSES) + "</tr>"
        for r in rows)
    total = sum(r["total"] for r in rows)
    return (f'<table id="counts"><tr><th>rule</th><th>severity</th><th>findings</th><th>notices</th>{head}</tr>'
            f'{body}<tr><th colspan="2">all rules</th><td class="num">{total}</td><td colspan="{1 + len(REVIEW_STATUSES)}">'
            f"</td></tr></table>")


def _source_cell(f: Finding, raw_href: RawHref) -> str:
    s = f.source
    link = f'<a class="source" href="{_e(raw_href(s.raw_file, s.page))}">{_e(s.raw_file)}</a>'
    where = s.text()
    column = f"{f.cell_table}.{f.cell_column}" + (f" [{f.flag['span_start']}:{f.flag['span_end']}]"
                                                   if f.flag.get("span_start") is not None else "")
    locator = f.flag.get("locator") or s.locator
    return (f"{link}<br>{_e(where)}<br>column {_e(column)}"
            + (f'<br><span class="muted">{_e(locator)}</span>' if locator else ""))


def _review_cell(flag: dict) -> str:
    status = flag.get("review_status") or "open"
    out = f'<span class="review status-{_e(status)}">{_e(status)}</span>'
    if flag.get("canonical_value") is not None:
        out += f"<br>canonical: {_e(flag['canonical_value'])}"
    if flag.get("reviewer"):
        out += f'<br><span class="muted">{_e(flag["reviewer"])} {_e(flag.get("decided_on"))}</span>'
    return out


def finding_row(f: Finding, raw_href: RawHref) -> str:
    """Render one finding: its cell with the evidence marked, the source link, suggestion and review status."""
    flag = f.flag
    if f.cell_text is None:
        cell = (f'<span class="muted">record {_e(f.cell_table)} {_e(f.cell_id)} is not in the warehouse; '
                f"evidence:</span> <mark>{_e(flag['evidence'])}</mark>")
    else:
        span = evidence_span(f.cell_text, flag["evidence"] or "", flag.get("span_start"), flag.get("span_end"))
        cell = highlight(f.cell_text, span)
        if span is None:
            cell += f'<br><span class="muted">evidence not found in the cell:</span> <mark>{_e(flag["evidence"])}</mark>'
    record = f"{flag['record_table']} {flag['record_id']}" + (f" · {flag['column_name']}" if flag.get("column_name") else "")
    return (f'<tr class="finding" id="flag-{_e(flag["flag_id"])}" data-rule="{_e(flag["rule"])}">'
            f'<td><code>{_e(flag["flag_id"])}</code><br><span class="{_e(flag["severity"])}">{_e(flag["severity"])}</span></td>'
            f"<td>{_e(record)}</td>"
            f'<td class="cell">{cell}<br><span class="muted">{_e(flag.get("message"))}</span></td>'
            f'<td class="suggestion">{_e(flag.get("suggestion"))}</td>'
            f"<td>{_source_cell(f, raw_href)}</td><td>{_review_cell(flag)}</td></tr>")


def findings_page(findings: list[Finding], raw_href: RawHref) -> str:
    """Render every finding grouped by rule, then notice, after the counts per rule."""
    by_rule: dict[str, dict[str, list[Finding]]] = defaultdict(lambda: defaultdict(list))
    for f in findings:
        by_rule[f.flag["rule"]][f.flag["notice_id"]].append(f)
    order = [r["rule"] for r in counts_per_rule(findings)]
    sections = []
    head = ("<tr><th>flag</th><th>record</th><th>published cell (evidence marked)</th><th>suggestion</th>"
            "<th>source</th><th>review</th></tr>")
    for rule in dict.fromkeys(order):
        notices = by_rule[rule]
        parts = [f'<section class="rule" id="{rule_anchor(rule)}"><h2>{_e(rule)} '
                 f'<span class="muted">({sum(len(v) for v in notices.values())})</span></h2>']
        for notice_id in sorted(notices):
            rows = "".join(finding_row(f, raw_href) for f in notices[notice_id])
            parts.append(f'<h3 class="notice">{_e(notice_id)} <span class="muted">({len(notices[notice_id])})</span></h3>'
                         f"<table>{head}{rows}</table>")
        sections.append("".join(parts) + "</section>")
    body = (f'<p><a href="index.html">QA report</a> › findings</p><h1>Findings from dq_flags</h1>'
            f"<p>{len(findings)} finding(s). Each shows the published cell with the evidence marked, where it sits in "
            "the raw file, the rule's suggestion and the QA review status (decisions go in reviews/*.csv).</p>"
            f"<h2>Counts per rule</h2>{counts_table(findings)}" + "".join(sections))
    return page("Findings - policy-tables QA", body)


def gate_table(gate: GateResult, suite_pages: dict[str, str]) -> str:
    """Tabulate each suite's expectations: evaluated, failed critical, failed warnings, with its Data Docs page."""
    per_suite: dict[str, list] = defaultdict(list)
    for o in gate.outcomes:
        per_suite[o.suite].append(o)
    rows = []
    for suite, outcomes in per_suite.items():
        crit = sum(not o.success and o.severity == "critical" for o in outcomes)
        warn = sum(not o.success and o.severity != "critical" for o in outcomes)
        name = (f'<a href="{_e(suite_pages[suite])}">{_e(suite)}</a>' if suite in suite_pages else _e(suite))
        rows.append(f'<tr class="suite"><td>{name}</td><td class="num">{len(outcomes)}</td>'
                    f'<td class="num{" critical" if crit else ""}">{crit}</td>'
                    f'<td class="num{" warning" if warn else ""}">{warn}</td></tr>')
    return ("<table id=\"suites\"><tr><th>suite (table or check)</th><th>expectations</th><th>failed critical</th>"
            f"<th>failed warnings</th></tr>{''.join(rows)}</table>")


def withheld_section(quarantined: list[dict], rows: list[dict], failed: list[dict], raw_href: RawHref) -> str:
    """Render what the gate withheld (each quarantined notice version with its offending rows) and the files that
    could not be read, each with its stage and reason."""
    by_notice: dict[tuple, list[dict]] = {}
    for r in rows:
        by_notice.setdefault((r["notice_id"], r["raw_file"]), []).append(r)
    parts = [f'<h2 id="quarantined">Quarantined notices ({len(quarantined)})</h2>']
    if not quarantined:
        parts.append("<p>None: every notice version that changed passed its expectations.</p>")
    for q in quarantined:
        offending = by_notice.get((q["notice_id"], q["raw_file"]), [])
        trs = "".join(f"<tr><td>{_e(r['suite'])}</td><td>{_e(r['expectation'])}</td><td>{_e(r['row_key'])}</td>"
                      f"<td>{_e(r['detail'])}</td><td>{_e(r['why'])}</td></tr>" for r in offending)
        parts.append(
            f'<section class="quarantined"><h3 class="notice">{_e(q["notice_id"])} version {_e(q["version"])} '
            f'(<a href="{_e(raw_href(q["raw_file"]))}">{_e(q["raw_file"])}</a>)</h3>'
            f"<p>{_e(q['status_reason'])}</p>"
            f"<table><tr><th>suite</th><th>expectation</th><th>offending row</th><th>values</th><th>why</th></tr>"
            f"{trs}</table></section>")
    parts.append(f'<h2 id="failed-files">Files that could not be read ({len(failed)})</h2>')
    if failed:
        parts.append("<table><tr><th>file</th><th>stage</th><th>reason</th></tr>" + "".join(
            f'<tr><td><a href="{_e(raw_href(f["raw_file"]))}">{_e(f["raw_file"])}</a></td><td>{_e(f["stage"])}</td>'
            f"<td>{_e(f['reason'])}</td></tr>" for f in failed) + "</table>")
    return "".join(parts)


def index_page(gate: GateResult, findings: list[Finding], suite_pages: dict[str, str], docs_index: str,
               build_info: dict[str, str], warehouse: str, withheld: str = "") -> str:
    """Render the entry page: gate verdict per suite, failures, counts per rule and links onward."""
    status = "passed" if gate.passed else "FAILED"
    failed = "".join(f'<li class="critical">{_e(x)}</li>' for x in gate.failures)
    failed += "".join(f'<li class="warning">{_e(x)}</li>' for x in gate.warnings)
    info = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in sorted(build_info.items()))
    body = (
        "<h1>policy-tables QA report</h1>"
        f"<p>Warehouse <code>{_e(warehouse)}</code></p><table>{info}</table>"
        f'<ul><li><a id="data-docs" href="{_e(docs_index)}">GX Data Docs</a>: every expectation suite and its '
        'validation result</li><li><a id="findings" href="findings.html">Findings</a>: every dq_flags row with its '
        "evidence, source and review status</li></ul>"
        f'<h2>Expectations <span class="{status}" id="gate-status">{status}</span></h2>'
        f"<p>{len(gate.outcomes)} expectations from expectations/*.toml; a failed critical one stops a refresh "
        "from publishing, a failed warning is reported.</p>"
        + (f'<ul id="failed-expectations">{failed}</ul>' if failed else "")
        + gate_table(gate, suite_pages)
        + withheld
        + f'<h2>Findings per rule</h2>{counts_table(findings, "findings.html")}'
    )
    return page("policy-tables QA report", body)
