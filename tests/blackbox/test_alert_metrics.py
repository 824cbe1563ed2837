"""Every metric the docs' alert rules use is one the programs export.

Issue 13: docs/operations.md told sysadmins to install an alert on
`bridge_lag_seconds`, which no program exported (the bridge had only
`bridge_lag_milliseconds`), so the alert could never fire. This test reads
every `expr:` of every alert rule in docs/*.md, takes the metric names out
of the PromQL, and checks each against /metrics of a running crm-service,
erp-service and bridge. Metrics of other exporters are listed below with
where they come from.
"""

import glob
import os
import re

import requests

from conftest import REPO

#  Metrics an alert rule may use that none of our programs exports.
EXTERNAL = {
    "probe_success": "Prometheus blackbox_exporter probing /readyz",
}

#  PromQL words that are not metric names.
KEYWORDS = {
    "and", "or", "unless", "by", "without", "on", "ignoring", "group_left", "group_right",
    "bool", "offset", "sum", "avg", "min", "max", "count", "stddev", "stdvar", "topk",
    "bottomk", "quantile", "count_values", "group", "inf", "nan", "atan2",
}


def alert_exprs(text):
    """[(line number, expr)] of the `expr:` entries in the fenced code
    blocks of a Markdown text (block scalars `expr: |` included)."""
    out = []
    lines = text.splitlines()
    fenced = False
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif fenced:
            m = re.match(r"^(\s*)(?:-\s+)?expr:\s*(.*)$", line)
            if m:
                indent, value = len(m.group(1)), m.group(2).strip()
                start = i + 1
                if value in ("|", ">", "|-", ">-"):
                    parts = []
                    while i + 1 < len(lines) and (not lines[i + 1].strip()
                                                  or len(lines[i + 1]) - len(lines[i + 1].lstrip()) > indent):
                        i += 1
                        parts.append(lines[i].strip())
                    value = " ".join(p for p in parts if p)
                out.append((start, value.strip("'\"") if value[:1] == value[-1:] and value[:1] in "'\"" else value))
        i += 1
    return out


def metric_names(expr):
    """The metric names a PromQL expression reads."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)       # strings
    expr = re.sub(r"\{[^}]*\}", " ", expr)                # label matchers
    expr = re.sub(r"\[[^\]]*\]", " ", expr)               # ranges
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    names = set()
    for m in re.finditer(r"[A-Za-z_:][A-Za-z0-9_:]*", expr):
        word = m.group(0)
        if word.lower() in KEYWORDS:
            continue
        if expr[m.end():].lstrip().startswith("("):
            continue                                       # a function
        if m.start() > 0 and (expr[m.start() - 1].isdigit() or expr[m.start() - 1] == "."):
            continue                                       # 1e3, 5m
        names.add(word)
    return names


def exported(url):
    text = requests.get(url + "/metrics", timeout=10).text
    names = set()
    for line in text.splitlines():
        m = re.match(r"^# TYPE (\S+) ", line) or re.match(r"^([A-Za-z_:][A-Za-z0-9_:]*)[{ ]", line)
        if m:
            names.add(m.group(1))
    return names


def test_the_promql_reader_finds_the_metrics_and_nothing_else():
    assert metric_names('bridge_lag_seq > 1000 and deriv(bridge_lag_seq[10m]) >= 0') == {"bridge_lag_seq"}
    assert metric_names('rate(bridge_command_retries_total{target="erp"}[5m]) > 1') == \
        {"bridge_command_retries_total"}
    assert metric_names('sum by (source) (rate(x_total[1m])) / on(source) y_seconds > 1e3') == \
        {"x_total", "y_seconds"}
    assert metric_names('probe_success{job="bridge-readyz"} == 0') == {"probe_success"}
    text = "```yaml\n  - alert: A\n    expr: |\n      a_total\n        > 2\n    for: 1m\n  - alert: B\n" \
           "    expr: b_gauge > 0\n```\nexpr: not_in_a_block\n"
    assert [e for _, e in alert_exprs(text)] == ["a_total > 2", "b_gauge > 0"]


def test_every_metric_in_the_docs_alert_rules_is_exported(start_service):
    rules = []
    for path in sorted(glob.glob(os.path.join(REPO, "docs", "*.md"))):
        with open(path, encoding="utf-8") as f:
            for line, expr in alert_exprs(f.read()):
                rules.append((os.path.relpath(path, REPO), line, expr))
    # docs/operations.md has the bridge's rules: the reader must see them.
    assert len(rules) >= 5, rules
    used = {}
    for where, line, expr in rules:
        for name in metric_names(expr):
            used.setdefault(name, []).append("%s:%d" % (where, line))
    assert "bridge_lag_seconds" in used, sorted(used)

    crm = start_service("crm-service", "CRM")
    erp = start_service("erp-service", "ERP")
    bridge = start_service("bridge", "BRIDGE", sockets=(), extra_args=[
        "--crm-pub", crm.pub, "--crm-cmd", crm.cmd, "--erp-pub", erp.pub, "--erp-cmd", erp.cmd])
    have = exported(crm.url) | exported(erp.url) | exported(bridge.url)
    missing = {name: where for name, where in used.items() if name not in have and name not in EXTERNAL}
    assert not missing, "alert rules use metrics no program exports: %s" % missing
    unused = set(EXTERNAL) - set(used)
    assert not unused, "EXTERNAL lists metrics no rule uses any more: %s" % unused
