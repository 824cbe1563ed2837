#!/bin/bash
# bench/bridge_cpu.sh BIN DEPTH [N]: a backlog of N (20000) crm.customer.created
# events caught up by a fresh bridge with --pipeline DEPTH (DEPTH "main": no
# --pipeline flag, for a bridge built before it), all three programs from BIN
# with --sync normal. Prints the wall time and the CPU seconds each program
# used meanwhile (utime + stime from /proc), which a loaded machine changes
# far less than the wall time (bench/README.md, "The pipelined bridge"),
# and the most resident memory each had (VmHWM: since the services started,
# the backlog's catch-up included; "Events held for a slow subscriber").
# Needs `make bench-bin` (build/bench/wait_metric). Work folder:
# ${TMPDIR:-/tmp}/bridge-cpu; the backlog's CRM database is kept
# there between runs.
set -e
BIN=$(cd "$1" && pwd); DEPTH=$2; N=${3:-20000}
CRM=; ERP=; BR=
trap 'kill $BR $CRM $ERP 2>/dev/null; wait 2>/dev/null' EXIT
PIPEFLAG="--pipeline $DEPTH"
[ "$DEPTH" = main ] && PIPEFLAG=""
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TOP=${TMPDIR:-/tmp}/bridge-cpu
W=$TOP/run
rm -rf "$W"
mkdir -p "$W"
if [ ! -d "$TOP/crm-$N" ]; then
    python3 "$ROOT/bench/gen_data.py" csv "$N" 0 "$TOP/backlog-$N.csv"
    mkdir -p "$TOP/crm-$N"
    "$BIN/crm-service" import customers "$TOP/backlog-$N.csv" --data-dir "$TOP/crm-$N" --sync normal >/dev/null 2>&1
    sqlite3 "$TOP/crm-$N/crm.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
fi
cp -r "$TOP/crm-$N" "$W/crm"
read -r p1 p2 p3 p4 p5 p6 p7 < <(python3 -c '
import socket
s = [socket.socket() for _ in range(7)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
"$BIN/crm-service" --data-dir "$W/crm" --http "127.0.0.1:$p1" --pub "tcp://127.0.0.1:$p2" --cmd "tcp://127.0.0.1:$p3" \
    --sync normal --log-level warn 2>"$W/crm.log" &
CRM=$!
"$BIN/erp-service" --data-dir "$W/erp" --http "127.0.0.1:$p4" --pub "tcp://127.0.0.1:$p5" --cmd "tcp://127.0.0.1:$p6" \
    --sync normal --log-level warn 2>"$W/erp.log" &
ERP=$!
for _ in $(seq 100); do
    curl -fs -o /dev/null "http://127.0.0.1:$p1/readyz" && curl -fs -o /dev/null "http://127.0.0.1:$p4/readyz" && break
    sleep 0.1
done
last=$(sqlite3 "$W/crm/crm.db" "SELECT MAX(seq) FROM outbox")
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
c0=$(cpu $CRM); e0=$(cpu $ERP)
t0=$(date +%s.%N)
# shellcheck disable=SC2086  # PIPEFLAG is two words or none
"$BIN/bridge" --data-dir "$W/bridge" --http "127.0.0.1:$p7" --crm-pub "tcp://127.0.0.1:$p2" --crm-cmd "tcp://127.0.0.1:$p3" \
    --erp-pub "tcp://127.0.0.1:$p5" --erp-cmd "tcp://127.0.0.1:$p6" --sync normal --batch-max 500 $PIPEFLAG \
    --reconcile-every 0 --log-level warn 2>"$W/bridge.log" &
BR=$!
until [ -f "$W/bridge/admin.token" ] && curl -fs -o /dev/null "http://127.0.0.1:$p7/livez"; do sleep 0.05; done
# Polled by one process over one connection (bench/wait_metric.c): a curl
# and an awk a poll took CPU from what is timed.
"$ROOT/build/bench/wait_metric" 127.0.0.1 "$p7" 'bridge_last_applied_seq{source="crm"}' "$last" 50 1800 >/dev/null
t1=$(date +%s.%N)
c1=$(cpu $CRM); e1=$(cpu $ERP); b1=$(cpu $BR)
peak() { awk '/^VmHWM:/ {printf "%.1f", $2 / 1024}' "/proc/$1/status"; }
python3 -c '
import sys
t0, t1, c0, c1, e0, e1, b1, tck, depth, n = sys.argv[1:11]
tck = float(tck)
print("depth=%s events=%s wall_s=%.2f crm_cpu_s=%.2f erp_cpu_s=%.2f bridge_cpu_s=%.2f"
      " crm_peak_mib=%s erp_peak_mib=%s bridge_peak_mib=%s"
      % ((depth, n, float(t1) - float(t0), (float(c1) - float(c0)) / tck, (float(e1) - float(e0)) / tck,
          float(b1) / tck) + tuple(sys.argv[11:])))' \
    "$t0" "$t1" "$c0" "$c1" "$e0" "$e1" "$b1" "$(getconf CLK_TCK)" "$DEPTH" "$N" \
    "$(peak $CRM)" "$(peak $ERP)" "$(peak $BR)"
