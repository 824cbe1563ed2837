#!/usr/bin/env python3
"""Draw the curves of bench/curves.sh as SVG line charts and print their
tables (Markdown). Plain Python, no plotting library.

  plot_curves.py CURVES.tsv OUTDIR SYNC

CURVES.tsv holds one measurement a line: a kind (size, catchup, fresh) and
name=value fields. Writes OUTDIR/curves-size.svg (rates against customers),
curves-latency.svg (p99 against customers), curves-catchup.svg (catch-up
time against backlog) and curves-freshness.svg (freshness against write rate).
"""
import math
import os
import sys
from html import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"]
W, H = 760, 480
ML, MR, MT, MB = 80, 30, 50, 60


def nice(v):
    if v >= 1e6 and v % 1e6 == 0:
        return "%gM" % (v / 1e6)
    if v >= 1e3 and v % 1e3 == 0:
        return "%gk" % (v / 1e3)
    return "%g" % v


def ticks(lo, hi, log):
    if log:
        out, e = [], math.floor(math.log10(lo))
        while 10 ** e <= hi * 1.0001:
            for m in (1, 2, 5):
                v = m * 10 ** e
                if lo / 1.0001 <= v <= hi * 1.0001:
                    out.append(v)
            e += 1
        return out if len(out) <= 12 else [v for v in out if str(v).lstrip("0.")[0] == "1"]
    step = 10 ** (math.floor(math.log10((hi - lo) or 1)) - 1)
    for m in (1, 2, 5, 10):
        if (hi - lo) / (step * m) <= 8:
            step *= m
            break
    v, out = math.ceil(lo / step) * step, []
    while v <= hi * 1.0001:
        out.append(v)
        v += step
    return out


def chart(path, title, xlabel, ylabel, series, logx=False, logy=False, note=""):
    """series: [(name, [(x, y), ...]), ...]; draws axes, grid, lines, points,
    value labels and a legend. A point a log scale cannot place (0: a run
    that measured nothing) is left out, not drawn at minus infinity."""
    if logy:
        series = [(name, [p for p in s if p[1] is None or p[1] > 0]) for name, s in series]
    pts = [p for _, s in series for p in s if p[1] is not None]
    if not pts:
        return False
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs), max(xs)
    y0, y1 = min(ys), max(ys)
    if logx:
        # Room for the value labels right of the last point.
        x0, x1 = x0 / 1.25, x1 * 2.5
    else:
        x0, x1 = 0, x1 * 1.12
    if logy:
        y0, y1 = 10 ** math.floor(math.log10(y0)), 10 ** math.ceil(math.log10(y1))
    else:
        y0, y1 = 0, y1 * 1.15
    if x1 == x0:
        x1 = x0 + 1
    if y1 == y0:
        y1 = y0 + 1

    mt = MT + 16 * len(series)

    def fx(x):
        f = (math.log10(x) - math.log10(x0)) / (math.log10(x1) - math.log10(x0)) if logx else (x - x0) / (x1 - x0)
        return ML + f * (W - ML - MR)

    def fy(y):
        f = (math.log10(y) - math.log10(y0)) / (math.log10(y1) - math.log10(y0)) if logy else (y - y0) / (y1 - y0)
        return H - MB - f * (H - mt - MB)

    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
         'font-family="sans-serif" font-size="12">' % (W, H, W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="24" font-size="15" font-weight="bold">%s</text>' % (ML, escape(title))]
    for v in ticks(x0, x1, logx):
        x = fx(v)
        o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#ddd"/>' % (x, mt, x, H - MB))
        o.append('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (x, H - MB + 16, nice(v)))
    for v in ticks(y0, y1, logy):
        y = fy(v)
        o.append('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/>' % (ML, y, W - MR, y))
        o.append('<text x="%d" y="%.1f" text-anchor="end">%s</text>' % (ML - 6, y + 4, nice(v)))
    o.append('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>'
             % (ML, mt, W - ML - MR, H - mt - MB))
    o.append('<text x="%d" y="%d" text-anchor="middle">%s%s</text>'
             % ((ML + W - MR) / 2, H - 22, escape(xlabel), " (log scale)" if logx else ""))
    o.append('<text transform="translate(18,%d) rotate(-90)" text-anchor="middle">%s%s</text>'
             % ((mt + H - MB) / 2, escape(ylabel), " (log scale)" if logy else ""))
    if note:
        o.append('<text x="%d" y="%d" font-size="10" fill="#555">%s</text>' % (ML, H - 6, escape(note)))
    for k, (name, s) in enumerate(series):
        color = COLORS[k % len(COLORS)]
        s = [p for p in s if p[1] is not None]
        if len(s) > 1:
            o.append('<polyline fill="none" stroke="%s" stroke-width="2" points="%s"/>'
                     % (color, " ".join("%.1f,%.1f" % (fx(x), fy(y)) for x, y in s)))
        for x, y in s:
            o.append('<circle cx="%.1f" cy="%.1f" r="3.5" fill="%s"/>' % (fx(x), fy(y), color))
            o.append('<text x="%.1f" y="%.1f" font-size="10" fill="%s">%s</text>'
                     % (fx(x) + 5, fy(y) - 6, color, "{:,.3g}".format(y) if y < 100 else "{:,.0f}".format(y)))
        ly = MT - 4 + 16 * k
        o.append('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="%s" stroke-width="2"/>'
                 % (ML + 10, ly - 4, ML + 30, ly - 4, color))
        o.append('<text x="%d" y="%d">%s</text>' % (ML + 36, ly, escape(name)))
    o.append("</svg>")
    with open(path, "w") as f:
        f.write("\n".join(o) + "\n")
    return True


def read(path):
    rows = {"size": [], "catchup": [], "fresh": []}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if not parts or parts[0] not in rows:
                continue
            d = {}
            for p in parts[1:]:
                k, _, v = p.partition("=")
                try:
                    d[k] = float(v)
                except ValueError:
                    d[k] = v
            rows[parts[0]].append(d)
    return rows


def fit(name, pts):
    """The least-squares line through pts: is catch-up linear in the backlog?"""
    n = len(pts)
    mx, my = sum(x for x, _ in pts) / n, sum(y for _, y in pts) / n
    sxx = sum((x - mx) ** 2 for x, _ in pts)
    b = sum((x - mx) * (y - my) for x, y in pts) / sxx
    a = my - b * mx
    ss = sum((y - my) ** 2 for _, y in pts)
    r2 = 1 - sum((y - a - b * x) ** 2 for x, y in pts) / ss if ss else 1
    return "Straight line through the %s points: %.2f s + %.0f µs per event (R² %.4f)." % (name, a, b * 1e6, r2)


def table(head, rows):
    """A Markdown table, after a blank line; nothing without rows."""
    if not rows:
        return
    print()
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for r in rows:
        print("| " + r + " |")


def ms(us):
    return us / 1000.0


def main():
    tsv, out, sync = sys.argv[1], sys.argv[2], sys.argv[3]
    r = read(tsv)
    size = sorted(r["size"], key=lambda d: d["customers"])
    catch = sorted(r["catchup"], key=lambda d: d["backlog"])
    fresh = sorted(r["fresh"], key=lambda d: d["rate"])
    loaded = "2 cores; BENCH_SECONDS per point; see bench/README.md for what else ran"
    chart(os.path.join(out, "curves-size.svg"), "Rates against the number of customers (--sync %s)" % sync,
          "customers", "per second",
          [("GET /api/v1/customers/{id}, req/s (wrk -c50)", [(d["customers"], d["get_rps"]) for d in size]),
           ("POST /api/v1/customers, rows/s (wrk -c16)", [(d["customers"], d["post_rps"]) for d in size]),
           ("search ?q=, queries/s (one connection)", [(d["customers"], 1e6 / d["search_mean_us"]) for d in size]),
           ("bare insert loop + FTS + outbox, rows/s", [(d["customers"], d.get("bare_rps")) for d in size])],
          logx=True, logy=True, note=loaded)
    chart(os.path.join(out, "curves-latency.svg"), "p99 latency against the number of customers", "customers", "ms",
          [("GET p99", [(d["customers"], ms(d["get_p99_us"])) for d in size]),
           ("POST p99", [(d["customers"], ms(d["post_p99_us"])) for d in size]),
           ("search p99", [(d["customers"], ms(d["search_p99_us"])) for d in size]),
           ("search p50", [(d["customers"], ms(d["search_p50_us"])) for d in size])],
          logx=True, logy=True, note=loaded)
    chart(os.path.join(out, "curves-catchup.svg"), "Bridge catch-up time against backlog (--sync %s)" % sync,
          "backlog, crm.customer.created events", "seconds",
          [("bridge (fresh start to last_applied_seq)", [(d["backlog"], d["seconds"]) for d in catch]),
           ("bare two-database loop, batches of 500", [(d["backlog"], d["bare_seconds"]) for d in catch])],
          note=loaded)
    chart(os.path.join(out, "curves-freshness.svg"), "Bridge freshness against write rate (--sync %s)" % sync,
          "writes/s asked of CRM (open loop)", "ms, CRM 201 to ERP event",
          [("p99", [(d["rate"], d["p99_ms"]) for d in fresh]),
           ("p50", [(d["rate"], d["p50_ms"]) for d in fresh])],
          logy=True, note=loaded)

    table(["customers", "database", "GET req/s (p99 ms)", "POST rows/s (p50, p99 ms)",
           "bare insert loop + FTS + outbox, rows/s", "search p50 / p99 ms (queries/s)", "load time"],
          ["{:,.0f} | {:,.0f} MB | {:,.0f} ({:.2f}) | {:,.0f} ({:.2f}, {:.2f}) | {} | {:.2f} / {:.2f} ({:,.0f}) | {:.0f} s".format(
              d["customers"], d["db_bytes"] / 1e6, d["get_rps"], ms(d["get_p99_us"]), d["post_rps"],
              ms(d["post_p50_us"]), ms(d["post_p99_us"]), "{:,.0f}".format(d["bare_rps"]) if "bare_rps" in d else "–",
              ms(d["search_p50_us"]), ms(d["search_p99_us"]), 1e6 / d["search_mean_us"], d.get("load_seconds", 0))
           for d in size])
    table(["backlog", "bridge", "per event", "bare loop", "ratio"],
          ["{:,.0f} | {:.1f} s ({:,.0f} events/s) | {:.0f} µs | {:.1f} s ({:,.0f} rows/s) | {:.2f}".format(
              d["backlog"], d["seconds"], d["events_per_s"], 1e6 * d["seconds"] / d["backlog"], d["bare_seconds"],
              d["bare_rows_per_s"], d["events_per_s"] / d["bare_rows_per_s"]) for d in catch])
    if len(catch) > 1:
        print()
        print(fit("bridge", [(d["backlog"], d["seconds"]) for d in catch]))
        print(fit("bare loop", [(d["backlog"], d["bare_seconds"]) for d in catch]))
    table(["writes/s asked", "achieved", "p50 ms", "p99 ms", "max ms", "send lag p99 ms", "reached ERP"],
          ["{:,.0f} | {:,.0f} | {:.2f} | {:.2f} | {:.1f} | {:.2f} | {:,.0f} of {:,.0f}".format(
              d["rate"], d["achieved_per_s"], d["p50_ms"], d["p99_ms"], d["max_ms"], d["send_lag_p99_ms"],
              d["seen"], d["writes"]) for d in fresh])

if __name__ == "__main__":
    main()
