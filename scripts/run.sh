#!/usr/bin/env bash
# `make run`: start crm-service, and erp-service and the bridge when they have
# been built, on the default local addresses of DESIGN.md §1 with their data
# under ./var/. Each program's log goes to the terminal (prefixed with its
# name) and to var/<name>/<program>.log. Ctrl-C stops them all.
#
# Addresses follow the programs' own environment variables when set
# (CRM_HTTP=127.0.0.1:9081 make run), so two copies can run side by side.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=${BIN:-bin}

CRM_HTTP=${CRM_HTTP:-127.0.0.1:8081}
CRM_PUB=${CRM_PUB:-tcp://127.0.0.1:5551}
CRM_CMD=${CRM_CMD:-tcp://127.0.0.1:5552}
ERP_HTTP=${ERP_HTTP:-127.0.0.1:8082}
ERP_PUB=${ERP_PUB:-tcp://127.0.0.1:5561}
ERP_CMD=${ERP_CMD:-tcp://127.0.0.1:5562}
BRIDGE_HTTP=${BRIDGE_HTTP:-127.0.0.1:8083}
LOG_LEVEL=${LOG_LEVEL:-info}
# The bus is closed by default: the CURVE certificates are made under
# var/curve on the first start (scripts/curve-init.sh) and reused after;
# each program runs with --curve-dir var/curve/<its name>. CURVE_DIR=off
# runs without CURVE (the ZeroMQ sockets must then stay on loopback).
CURVE_DIR=${CURVE_DIR:-var/curve}

die() {
    echo "run: $*" >&2
    exit 1
}

[ -x "$BIN/crm-service" ] || die "$BIN/crm-service is missing: run 'make' first"
have_erp=false
have_bridge=false
[ -x "$BIN/erp-service" ] && have_erp=true
[ -x "$BIN/bridge" ] && have_bridge=true

# --- ports -----------------------------------------------------------------

# host and port of "HOST:PORT" or "tcp://HOST:PORT" ("[::1]:80" too).
split_addr() {
    local a=${1#tcp://}
    local host=${a%:*} port=${a##*:}
    host=${host#[}
    host=${host%]}
    echo "$host $port"
}

# Whether something already holds host:port (bound or listening).
port_taken() {
    local host=$1 port=$2
    if command -v python3 >/dev/null 2>&1; then
        python3 - "$host" "$port" <<'PY' && return 1 || return 0
import socket, sys
host, port = sys.argv[1], int(sys.argv[2])
fam = socket.AF_INET6 if ":" in host else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)   # as servers do
try:
    s.bind((host, port))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
    fi
    # No python: a connection that succeeds means someone listens.
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}

check_port() {
    local what=$1 addr=$2 var=$3
    local host port
    read -r host port < <(split_addr "$addr")
    [[ "$port" =~ ^[0-9]+$ ]] || die "$what: '$addr' has no port"
    if port_taken "$host" "$port"; then
        echo "run: $what address $addr is already in use." >&2
        echo "     Something else holds port $port (see: ss -ltnp 'sport = :$port')." >&2
        local example="$host:<port>"
        [[ "$addr" == tcp://* ]] && example="tcp://$example"
        echo "     Stop it, or choose another address: $var=$example make run" >&2
        exit 1
    fi
}

check_port "crm-service HTTP" "$CRM_HTTP" CRM_HTTP
check_port "crm-service events (PUB)" "$CRM_PUB" CRM_PUB
check_port "crm-service commands" "$CRM_CMD" CRM_CMD
if $have_erp; then
    check_port "erp-service HTTP" "$ERP_HTTP" ERP_HTTP
    check_port "erp-service events (PUB)" "$ERP_PUB" ERP_PUB
    check_port "erp-service commands" "$ERP_CMD" ERP_CMD
fi
if $have_bridge; then
    check_port "bridge HTTP" "$BRIDGE_HTTP" BRIDGE_HTTP
fi

# --- start -----------------------------------------------------------------

mkdir -p var/crm var/erp var/bridge

crm_curve=()
erp_curve=()
bridge_curve=()
if [ "$CURVE_DIR" != off ]; then
    [ -x "$BIN/bridgectl" ] \
        || die "$BIN/bridgectl is missing (it makes the CURVE certificates): run 'make' first, or CURVE_DIR=off make run"
    sh scripts/curve-init.sh "$CURVE_DIR" "$BIN/bridgectl" | sed 's/^curve-init/run/' \
        || die "cannot set up the CURVE certificates in $CURVE_DIR"
    [ -f "$CURVE_DIR/crm/crm.key" ] || die "no CURVE certificates in $CURVE_DIR (see above)"
    crm_curve=(--curve-dir "$CURVE_DIR/crm")
    erp_curve=(--curve-dir "$CURVE_DIR/erp")
    bridge_curve=(--curve-dir "$CURVE_DIR/bridge")
else
    echo "run: CURVE_DIR=off: the ZeroMQ sockets run without CURVE, on loopback only"
fi

pids=()
names=()
stopping=false

stop_all() {
    $stopping && return
    stopping=true
    [ ${#pids[@]} -eq 0 ] && return
    trap '' INT TERM
    echo
    echo "run: stopping ${names[*]}…"
    local pid
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    # Give them 15 s to finish cleanly, then insist.
    local waited=0
    while [ $waited -lt 150 ]; do
        local alive=false
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=true
        done
        $alive || break
        sleep 0.1
        waited=$((waited + 1))
    done
    for pid in "${pids[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            echo "run: pid $pid did not stop in 15 s; killing it" >&2
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
    wait 2>/dev/null || true
    echo "run: all stopped"
}
# Ctrl-C or a TERM is the normal way to stop: exit 0 once all stopped.
trap 'stop_all; exit 0' INT TERM
trap 'stop_all' EXIT

# start NAME LABEL PROGRAM ARGS... : run it with its log teed to the
# terminal (prefixed) and to var/NAME/PROGRAM.log.
start() {
    local name=$1 label=$2 program=$3
    shift 3
    local log="var/$name/$program.log"
    echo "run: starting $program (log: $log)"
    # The log pipe ignores Ctrl-C so that the shutdown lines still get through.
    "$BIN/$program" "$@" < /dev/null \
        > >(trap '' INT; tee -a "$log" | sed -u "s/^/$label /") 2>&1 &
    pids+=($!)
    names+=("$program")
}

wait_ready() {
    local program=$1 http=$2 pid=$3
    local url="http://$http/readyz" i
    for i in $(seq 1 100); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid" 2>/dev/null && rc=0 || rc=$?
            die "$program exited with code $rc while starting (see its log above)"
        fi
        if command -v curl >/dev/null 2>&1; then
            curl -fsS -o /dev/null --max-time 1 "$url" 2>/dev/null && return 0
        elif python3 -c "import urllib.request,sys; urllib.request.urlopen(sys.argv[1], timeout=1)" "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    die "$program did not answer $url within 10 s"
}

start crm "[crm]   " crm-service --data-dir var/crm --http "$CRM_HTTP" \
    --pub "$CRM_PUB" --cmd "$CRM_CMD" --log-level "$LOG_LEVEL" "${crm_curve[@]}"
wait_ready crm-service "$CRM_HTTP" "${pids[-1]}"

if $have_erp; then
    start erp "[erp]   " erp-service --data-dir var/erp --http "$ERP_HTTP" \
        --pub "$ERP_PUB" --cmd "$ERP_CMD" --log-level "$LOG_LEVEL" "${erp_curve[@]}"
    wait_ready erp-service "$ERP_HTTP" "${pids[-1]}"
fi

if $have_bridge; then
    start bridge "[bridge]" bridge --data-dir var/bridge --http "$BRIDGE_HTTP" \
        --crm-pub "$CRM_PUB" --crm-cmd "$CRM_CMD" --erp-pub "$ERP_PUB" --erp-cmd "$ERP_CMD" \
        --log-level "$LOG_LEVEL" "${bridge_curve[@]}"
    wait_ready bridge "$BRIDGE_HTTP" "${pids[-1]}"
fi

# --- where things are ------------------------------------------------------

# where PROGRAM HTTP WHAT DIR [NOTE]: where a started program answers and
# where its admin's password (NOTE after it) and token are.
where() {
    cat <<EOF
  $(printf '%-13s' "$1")http://$2   $3
               open http://$2/ and sign in as admin with the password in
               $PWD/var/$4/admin.password${5:+ $5}
               admin token: $PWD/var/$4/admin.token
EOF
}

echo
where crm-service "$CRM_HTTP" "events $CRM_PUB   commands $CRM_CMD" crm "(changed at first sign-in)"
if $have_erp; then
    where erp-service "$ERP_HTTP" "events $ERP_PUB   commands $ERP_CMD" erp
else
    echo "  erp-service  not built (no $BIN/erp-service): not started"
fi
if $have_bridge; then
    where bridge "$BRIDGE_HTTP" "(bridgectl talks to it)" bridge
else
    echo "  bridge       not built (no $BIN/bridge): not started"
fi
if [ "$CURVE_DIR" != off ]; then
    curve_at=$CURVE_DIR
    [[ "$curve_at" == /* ]] || curve_at=$PWD/$curve_at
    cat <<EOF
  bus          CURVE: only the bridge's certificate is admitted; certificates in
               $curve_at (crm/, erp/, bridge/), made once, reused
EOF
else
    echo "  bus          no CURVE (CURVE_DIR=off): any local process can send commands"
fi
cat <<EOF

  try: curl -H "Authorization: Bearer \$(cat var/crm/admin.token)" http://$CRM_HTTP/api/v1/customers
  No admin.password (a database from before passwords)? Set one, for instance:
       $BIN/crm-service --data-dir var/crm user password admin
  More people: $BIN/crm-service --data-dir var/crm user add NAME ROLE (prints a first password)
  Ctrl-C stops everything.

EOF

# Wait until one of them exits (or Ctrl-C); then stop the rest.
set +e
wait -n "${pids[@]}"
rc=$?
set -e
if ! $stopping; then
    echo "run: a program exited on its own (code $rc); stopping the others" >&2
    stop_all
    exit "$rc"
fi
