#!/bin/bash
# bench/bridge_replay.sh BIN DATA [BRIDGE...]: a fresh bridge (empty
# bridge.db) replays the whole outboxes of DATA/crm and DATA/erp, the data
# folders of a fault run (tests/faults/run.py --workdir DATA), with the
# services of BIN and --sync full everywhere. Unlike f.'s backlog of new
# customers, one a record, this one is what people and the bridge wrote:
# a deal made then won, an order's status after status, and CRM's echoes of
# the bridge's own commands. Prints the wall time until both cursors reach
# their source's last seq and the chunks each worker committed, once for
# each bridge binary given (default BIN/bridge): two builds compared in
# the same run. Work folder: ${TMPDIR:-/tmp}/bridge-replay (the data are
# copied there each time; the targets' inboxes answer the commands they
# already applied). Needs `make bench-bin` (BUILD/bench/wait_metric).
set -e
BIN=$(cd "$1" && pwd); DATA=$(cd "$2" && pwd); shift 2
BRIDGES=("$@")
[ ${#BRIDGES[@]} -gt 0 ] || BRIDGES=("$BIN/bridge")
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WAIT_METRIC=${BUILD:-$ROOT/build}/bench/wait_metric   # BUILD as for make
W=${TMPDIR:-/tmp}/bridge-replay
CRM=; ERP=; BR=
trap 'kill $BR $CRM $ERP 2>/dev/null; wait 2>/dev/null' EXIT
for bridge in "${BRIDGES[@]}"; do
    rm -rf "$W"
    mkdir -p "$W"
    cp -r "$DATA/crm" "$W/crm"
    cp -r "$DATA/erp" "$W/erp"
    read -r p1 p2 p3 p4 p5 p6 p7 < <(python3 -c '
import socket
s = [socket.socket() for _ in range(7)]
for x in s:
    x.bind(("127.0.0.1", 0))
print(" ".join(str(x.getsockname()[1]) for x in s))')
    "$BIN/crm-service" --data-dir "$W/crm" --http "127.0.0.1:$p1" --pub "tcp://127.0.0.1:$p2" \
        --cmd "tcp://127.0.0.1:$p3" --sync full --log-level warn 2>"$W/crm.log" &
    CRM=$!
    "$BIN/erp-service" --data-dir "$W/erp" --http "127.0.0.1:$p4" --pub "tcp://127.0.0.1:$p5" \
        --cmd "tcp://127.0.0.1:$p6" --sync full --log-level warn 2>"$W/erp.log" &
    ERP=$!
    for _ in $(seq 100); do
        curl -fs -o /dev/null "http://127.0.0.1:$p1/readyz" && curl -fs -o /dev/null "http://127.0.0.1:$p4/readyz" && break
        sleep 0.1
    done
    lc=$(sqlite3 "$W/crm/crm.db" "SELECT MAX(seq) FROM outbox")
    le=$(sqlite3 "$W/erp/erp.db" "SELECT MAX(seq) FROM outbox")
    t0=$(date +%s.%N)
    "$bridge" --data-dir "$W/bridge" --http "127.0.0.1:$p7" --crm-pub "tcp://127.0.0.1:$p2" \
        --crm-cmd "tcp://127.0.0.1:$p3" --erp-pub "tcp://127.0.0.1:$p5" --erp-cmd "tcp://127.0.0.1:$p6" \
        --sync full --reconcile-every 0 --log-level warn 2>"$W/bridge.log" &
    BR=$!
    until [ -f "$W/bridge/admin.token" ] && curl -fs -o /dev/null "http://127.0.0.1:$p7/livez"; do sleep 0.05; done
    "$WAIT_METRIC" 127.0.0.1 "$p7" 'bridge_last_applied_seq{source="crm"}' "$lc" 50 1800 >/dev/null
    "$WAIT_METRIC" 127.0.0.1 "$p7" 'bridge_last_applied_seq{source="erp"}' "$le" 50 1800 >/dev/null
    t1=$(date +%s.%N)
    chunks=$(curl -s "http://127.0.0.1:$p7/metrics" \
             | awk '/^bridge_chunks_committed_total/ { sub(/.*source="/, "", $1); sub(/"}/, "", $1); printf " %s=%s", $1, $2 }')
    echo "bridge=$bridge crm_events=$lc erp_events=$le wall_s=$(python3 -c "print('%.2f' % ($t1 - $t0))") chunks:$chunks"
    kill $BR $CRM $ERP 2>/dev/null
    wait 2>/dev/null || true
    BR=; CRM=; ERP=
done
