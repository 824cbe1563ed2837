#!/bin/bash
# bench/post_open_loop.sh BIN SYNC RATE [SECONDS] [TIMELINE]: the latency of
# POST /api/v1/customers at a fixed rate, on its own. A fresh crm-service from
# BIN with --sync SYNC takes RATE writes a second for SECONDS (10) from
# bench/bridge_fresh.c's open loop (no ERP: each write timed from its due
# moment to its 201, on 16 keep-alive connections), as benchmark b. does at
# half the maximum rate. Prints bridge_fresh's line and the CPU the service
# used (crm_cpu_s). With TIMELINE, writes there one line per write (due
# moment, latency; bench/bridge_fresh.c): where the slow ones cluster.
# Needs `make bench-bin` (build/bench/bridge_fresh) and the system python3.
# Work folder: ${TMPDIR:-/tmp}/post-open-loop (the bodies are kept there).
set -e
BIN=$(cd "$1" && pwd); SYNC=$2; RATE=$3; SECS=${4:-10}; TIMELINE=${5:-}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
PY=/usr/bin/python3
W=${TMPDIR:-/tmp}/post-open-loop
P=
trap '[ -n "$P" ] && kill $P 2>/dev/null; wait 2>/dev/null' EXIT
rm -rf "$W/crm"
mkdir -p "$W/crm"
read -r hp pp cp < <($PY -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
"$BIN/crm-service" --data-dir "$W/crm" --http "127.0.0.1:$hp" --pub "tcp://127.0.0.1:$pp" --cmd "tcp://127.0.0.1:$cp" \
    --log-level warn --max-connections-per-address 2000 --sync "$SYNC" >"$W/crm.log" 2>&1 &
P=$!
for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$hp/livez" && break; sleep 0.1; done
BODIES=$W/bodies-$((RATE * SECS)).jsonl
[ -f "$BODIES" ] || $PY "$ROOT/bench/gen_data.py" bodies $((RATE * SECS + 100)) "$BODIES"
c0=$(awk '{print $14 + $15}' "/proc/$P/stat")
BENCH_TIMELINE=$TIMELINE "$ROOT/build/bench/bridge_fresh" "$hp" "$(cat "$W/crm/admin.token")" 0 - - "$BODIES" "$RATE" "$SECS" 16
c1=$(awk '{print $14 + $15}' "/proc/$P/stat")
echo "crm_cpu_s=$(awk -v a="$c0" -v b="$c1" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / t }')"
