#!/usr/bin/python3
"""The fault harness of issue 13: start crm-service, erp-service and the
bridge, drive a seeded workload through their HTTP APIs while faults hit
them at points chosen from the same seed, wait for the system to
converge, run the independent checker, print one summary and exit 0 only
if nothing was lost, duplicated or left drifting.

    sudo /usr/bin/python3 tests/faults/run.py --seed 7 --ops 300 --kills 6 --stops 2 --cuts 1 --losses 1

Faults (docs/reliability.md): kill -9 and restart (same data folder and
ports), SIGSTOP for some seconds then SIGCONT, a network cut (each program
in its own network namespace; root only, otherwise skipped and said so),
lost events (the services' PUB high-water mark and the bridge's SUB one
are 1 for the whole run; the bridge is paused while a burst of customers
is created, so events are dropped and must be replayed), and a bridge
started late. Faults are placed at operation numbers drawn from the seed,
so a seed gives the same operations and the same faults in the same
order; only timings vary from run to run."""

import argparse
import os
import random
import re
import shutil
import signal
import sys
import tempfile
import threading
import time

import requests

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from checker import check, integrity  # noqa: E402
from cluster import Cluster  # noqa: E402
from workload import Workload  # noqa: E402

REPO = os.path.dirname(os.path.dirname(HERE))
PROGRAMS = ("crm", "erp", "bridge")


def parse_args(argv):
    a = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    a.add_argument("--seed", type=int, default=1)
    a.add_argument("--ops", type=int, default=300, help="workload operations")
    a.add_argument("--kills", type=int, default=6, help="kill -9 and restart (spread over the three programs)")
    a.add_argument("--stops", type=int, default=2, help="SIGSTOP, some seconds, SIGCONT")
    a.add_argument("--cuts", type=int, default=1, help="network cuts (root only)")
    a.add_argument("--losses", type=int, default=1, help="forced event losses (bridge paused during a burst)")
    a.add_argument("--cut-seconds", default="2-4", help="range of a cut's length, e.g. 1-60")
    a.add_argument("--stop-seconds", default="1-3", help="range of a SIGSTOP's length")
    a.add_argument("--burst", type=int, default=40, help="customers created while the bridge is paused")
    a.add_argument("--netns", choices=("auto", "on", "off"), default="auto",
                   help="network namespaces: auto = when root")
    a.add_argument("--bin-dir", default=os.environ.get("BIN_DIR") or os.path.join(REPO, "bin"))
    a.add_argument("--workdir", default=None, help="where the data folders and logs go (default: a temp folder)")
    a.add_argument("--keep", action="store_true", help="keep the work folder even when the run passes")
    a.add_argument("--sync", choices=("full", "normal"), default="full")
    a.add_argument("--commit-pipeline", choices=("yes", "no"), default="no",
                   help="the services' pipelined commit (with --sync full only)")
    a.add_argument("--converge-timeout", type=float, default=120.0)
    return a.parse_args(argv)


def span(text):
    lo, _, hi = text.partition("-")
    return float(lo), float(hi or lo)


def scrape(url, names):
    """{(name, labels): value} of the named metrics, or {} if no answer."""
    try:
        text = requests.get(url + "/metrics", timeout=2).text
    except requests.RequestException:
        return {}
    out = {}
    for line in text.splitlines():
        m = re.match(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)", line)
        if m and m.group(1) in names:
            out[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return out


class Injector:
    """Carries out the schedule: each fault at its operation number, on a
    program no other fault is holding (it waits for that one to end)."""

    def __init__(self, cluster, workload, args, rng):
        self.c = cluster
        self.w = workload
        self.args = args
        self.rng = rng
        self.pending = {p: None for p in PROGRAMS}     # the timer thread holding a program
        self.counts = {}
        self.replays = {}       # reason -> count, summed over the bridge's lifetimes
        self.duplicates = 0
        self.last_fault_end = time.monotonic()
        self.log = []

    def count(self, kind, target):
        self.counts.setdefault(kind, {}).setdefault(target, 0)
        self.counts[kind][target] += 1

    def _wait_free(self, target):
        t = self.pending[target]
        if t is not None:
            t.join()
            self.pending[target] = None

    def _later(self, target, delay, fn):
        def run():
            time.sleep(delay)
            fn()
            self.last_fault_end = time.monotonic()
        t = threading.Thread(target=run, daemon=True)
        self.pending[target] = t
        t.start()

    def bank_bridge_metrics(self):
        """The bridge keeps its counters in memory: add them up before it dies."""
        got = scrape(self.c.bridge.url, ("bridge_replays_total", "bridge_events_duplicate_total"))
        for (name, labels), v in got.items():
            if name == "bridge_replays_total":
                reason = re.search(r'reason="([^"]*)"', labels).group(1)
                self.replays[reason] = self.replays.get(reason, 0) + int(v)
            else:
                self.duplicates += int(v)
        return bool(got)

    def inject(self, kind, target, at_op):
        self._wait_free(target)
        self.log.append("op %d: %s %s" % (at_op, kind, target))
        p = self.c.programs[target]
        if kind == "kill":
            if target == "bridge":
                self.bank_bridge_metrics()
            p.kill9()
            self.count("kill -9", target)
            self._later(target, self.rng.uniform(0.1, 1.5), lambda: p.start(timeout=60))
        elif kind == "stop":
            p.sigstop()
            self.count("sigstop", target)
            self._later(target, self.rng.uniform(*span(self.args.stop_seconds)), p.sigcont)
        elif kind == "cut":
            self.c.link(target, False)
            self.count("net cut", target)
            self._later(target, self.rng.uniform(*span(self.args.cut_seconds)), lambda: self.c.link(target, True))
        elif kind == "loss":
            # a slowed subscriber: the bridge (SUB high-water mark 1) is
            # paused while a burst goes out of PUBs whose mark is also 1
            for other in ("crm",):
                self._wait_free(other)
            p.sigstop()
            self.w.burst(self.args.burst)
            time.sleep(0.5)
            p.sigcont()
            self.count("lost events", target)
            self.last_fault_end = time.monotonic()

    def settle(self):
        for target in PROGRAMS:
            self._wait_free(target)


def make_schedule(args, rng, first_op, netns):
    faults = []
    targets = list(PROGRAMS) * (args.kills // 3) + [rng.choice(PROGRAMS) for _ in range(args.kills % 3)]
    faults += [("kill", t) for t in targets]
    faults += [("stop", rng.choice(PROGRAMS)) for _ in range(args.stops)]
    if netns:
        faults += [("cut", rng.choice(PROGRAMS)) for _ in range(args.cuts)]
    faults += [("loss", "bridge") for _ in range(args.losses)]
    rng.shuffle(faults)
    last = max(first_op + 1, int(args.ops * 0.9))
    at = sorted(rng.randint(first_op + 1, last) for _ in faults)
    return [(op, kind, target) for op, (kind, target) in zip(at, faults)]


def summary(args, netns, why_no_netns, wl, inj, findings, problems, converge_s, elapsed, syncs):
    led = wl.ledger
    lines = ["== fault harness summary (seed %d) ==" % args.seed]
    lines.append("services: --sync %s, --commit-pipeline %s (the syncer's syncs since the last start: %s)"
                 % (args.sync, args.commit_pipeline, ", ".join("%s %s" % kv for kv in sorted(syncs.items()))))
    lines.append("operations acknowledged: %d (%s)"
                 % (led.acknowledged, ", ".join("%s %d" % kv for kv in sorted(led.counts.items()))))
    if led.archived_refusals:
        lines.append("refused because the customer was archived in ERP (invoices, payments, edits before a "
                     "restore arrived; the engine's rule, not a fault): %d" % led.archived_refusals)
    if led.gave_up:
        lines.append("operations never answered (uncertain): %d" % len(led.gave_up))
    parts = []
    for kind in ("kill -9", "sigstop", "net cut", "lost events", "late start"):
        by = inj.counts.get(kind, {})
        if by:
            parts.append("%s %d (%s)" % (kind, sum(by.values()), ", ".join("%s %d" % kv for kv in sorted(by.items()))))
    lines.append("faults injected: " + "; ".join(parts))
    lines.append("network namespaces: " + ("used" if netns else "SKIPPED: " + why_no_netns))
    gaps = inj.replays.get("gap", 0) + inj.replays.get("heartbeat", 0)
    recovered = gaps if not findings.total() else "not all"
    lines.append("gaps detected: %d (seq gap %d, heartbeat ahead %d), recovered: %s; replays in all: %s; "
                 "duplicate events dropped by the bridge: %d"
                 % (gaps, inj.replays.get("gap", 0), inj.replays.get("heartbeat", 0), recovered,
                    ", ".join("%s %d" % kv for kv in sorted(inj.replays.items())), inj.duplicates))
    lines.append("lost %d, duplicated %d, drift %d" % (len(findings.lost), len(findings.duplicated),
                                                       len(findings.drift)))
    lines.append("time to converge after the last fault: %s" % ("%.1f s" % converge_s if converge_s is not None
                                                                else "did not converge"))
    lines.append("checked: %s; PRAGMA integrity_check on crm.db, erp.db, bridge.db"
                 % ", ".join("%s %d" % kv for kv in findings.checked.items()))
    lines.append("wall time: %.0f s" % elapsed)
    for kind, text in findings.all()[:200]:
        lines.append("  %s: %s" % (kind.upper(), text))
    for p in problems:
        lines.append("  PROBLEM: %s" % p)
    ok = not findings.total() and not problems
    lines.append("RESULT: %s" % ("PASS" if ok else "FAIL"))
    return ok, "\n".join(lines)


def main(argv=None):
    args = parse_args(argv)
    # SIGTERM (a test's timeout) unwinds through the clean-up below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.monotonic()
    root = os.geteuid() == 0
    if args.netns == "on" and not root:
        print("--netns on needs root", file=sys.stderr)
        return 2
    netns = root and args.netns != "off"
    why_no_netns = "" if netns else ("not root: network cuts were skipped" if not root else "--netns off")
    workdir = args.workdir or tempfile.mkdtemp(prefix="faults-")
    os.makedirs(workdir, exist_ok=True)
    rng = random.Random(args.seed * 7919 + 1)
    cluster = None
    if netns:
        try:
            cluster = Cluster(args.bin_dir, workdir, True, sync=args.sync, pipeline=args.commit_pipeline)
        except (RuntimeError, OSError) as e:
            if args.netns == "on":
                raise
            netns, why_no_netns = False, "root, but network namespaces are unavailable here (%s)" % e
    if not netns:
        print("fault harness: network namespaces SKIPPED (%s); kills, pauses and lost events still run"
              % why_no_netns, flush=True)
        cluster = Cluster(args.bin_dir, workdir, False, sync=args.sync, pipeline=args.commit_pipeline)
    ok = False
    try:
        cluster.start_services()
        wl = Workload(cluster, args.seed)
        wl.setup()
        inj = Injector(cluster, wl, args, rng)
        late_op = max(1, args.ops // 20)        # the bridge starts late
        bad_op = max(2, args.ops // 3)          # the deal with an unknown sku (a dead letter on purpose)
        schedule = make_schedule(args, rng, late_op, netns)
        progress = max(1, args.ops // 10)
        for i in range(args.ops):
            if i == late_op:
                cluster.bridge.start(timeout=60)
                inj.count("late start", "bridge")
            while schedule and schedule[0][0] <= i:
                op, kind, target = schedule.pop(0)
                inj.inject(kind, target, i)
            if i == bad_op:
                wl.n += 1
                wl.win_deal(bad_sku=True)
            wl.step()
            if i % progress == 0:
                print("op %d/%d, acknowledged %d, faults %s" % (i, args.ops, wl.ledger.acknowledged,
                                                                {k: sum(v.values()) for k, v in inj.counts.items()}),
                      flush=True)
        if not cluster.bridge.running():
            cluster.bridge.start(timeout=60)
        inj.settle()
        # the last overdue sweep, so overdue amounts are settled before checking
        wl.overdue_check()
        last_fault = inj.last_fault_end
        print("workload done; waiting for convergence", flush=True)
        deadline = time.monotonic() + args.converge_timeout
        converge_s = None
        while True:
            findings = check(cluster, wl.ledger)
            if not findings.total():
                converge_s = time.monotonic() - last_fault
                break
            if time.monotonic() > deadline:
                break
            time.sleep(1.0)
        inj.bank_bridge_metrics()
        syncs = {n: scrape(cluster.programs[n].url, ("http_write_syncs_total",)) for n in ("crm", "erp")}
        syncs = {n: "%d" % sum(got.values()) if got else "none" for n, got in syncs.items()}
        problems = cluster.stop_all()
        problems += integrity(cluster)
        problems += wl.crm.server_errors + wl.erp.server_errors
        problems += ["unexpected refusal: %s %s %s" % (what, st, str(body)[:200])
                     for what, st, body in wl.ledger.refused]
        ok, text = summary(args, netns, why_no_netns, wl, inj, findings, problems, converge_s,
                           time.monotonic() - t0, syncs)
        print(text, flush=True)
        if not ok or args.keep:
            print("work folder (data and logs): %s" % workdir)
    finally:
        cluster.close()
        if ok and not args.keep and not args.workdir:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
