#!/usr/bin/env bash
# bench/run.sh: crm-service and erp-service benchmarks, each next to a baseline measured in
# the same run on the same machine (see bench/README.md). Called by
# `make bench`; prints a table and writes it to bench/results/latest.md.
#
# Settings (environment):
#   BENCH_CUSTOMERS   size of the search data set (default 1000000); it is
#                     built once through the service and cached under
#                     bench/results/cache/
#   BENCH_SECONDS     length of each measurement (default 10)
#   BENCH_ROUNDS      rounds of the read, create and confirm benchmarks, the best
#                     of each side kept (default 3)
#   BENCH_ONLY        any of get,post,search,typeahead,confirm,bridge,retention,memory
#                     (default all eight); "dataset" only builds the search data set;
#                     "curves" (not in the default set; `make bench-curves`)
#                     measures how cost grows (bench/curves.sh), with
#                     BENCH_CURVE_SIZES, BENCH_CURVE_BACKLOGS, BENCH_CURVE_RATES
#                     and BENCH_CURVE_SYNC (see there)
#   BENCH_POST_CONNS  wrk connections for the create and confirm benchmarks
#                     (default 16)
#   BENCH_ORDERS      draft orders made for the confirm benchmark (default
#                     6000 a second of BENCH_SECONDS, at least 20000; each
#                     round of each side uses a copy of them)
#   BENCH_CONFIRM_SUPPLY  open purchase orders in the confirm benchmark's data
#                     set, a run each (default "0 200"; with N, also N / 2
#                     bills of materials: bench/seed_supply.py)
#   BENCH_BACKLOG     events of the bridge catch-up benchmark (default 100000)
#   BENCH_BRIDGE_SYNC --sync values of the bridge benchmarks (default "full normal")
#   BENCH_BRIDGE_RATES write rates of the freshness benchmark (default "200 1000 5000")
#   BENCH_CACHE       where the search data set is cached (default
#                     bench/results/cache)
#   BENCH_TYPED       names typed by the search-as-you-type benchmark (default 200)
#   BENCH_RETENTION_COMMANDS, BENCH_RETENTION_KEYS  writes of the retention
#                     benchmark (default 1000000 commands, 100000 keys)
#   BENCH_SYNC_DELAY_US  a slower disk: every fsync and fdatasync of every
#                     program the run starts, services and bare loops alike,
#                     waits this long first (bench/slow_sync.c; default
#                     none, this machine's own disk)
#   BENCH_COMMIT_PIPELINE  yes: every service started with --sync full also
#                     gets --commit-pipeline yes (default no)
#   BUILD, BIN        build and binary folders, as for make (default build, bin)
#
# Loopback only; every process it starts is stopped on exit.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"

N=${BENCH_CUSTOMERS:-1000000}
SECS=${BENCH_SECONDS:-10}
ROUNDS=${BENCH_ROUNDS:-3}
ONLY=${BENCH_ONLY:-get,post,search,typeahead,confirm,bridge,retention,memory}
ORDERS=${BENCH_ORDERS:-$((SECS * 6000 > 20000 ? SECS * 6000 : 20000))}
CONFIRM_SUPPLY=${BENCH_CONFIRM_SUPPLY:-0 200}
POST_CONNS=${BENCH_POST_CONNS:-16}
GET_RECORDS=1000
RESULTS=bench/results
CACHE=${BENCH_CACHE:-$RESULTS/cache}
TYPED=${BENCH_TYPED:-200}
RETENTION_COMMANDS=${BENCH_RETENTION_COMMANDS:-1000000}
RETENTION_KEYS=${BENCH_RETENTION_KEYS:-100000}
# The same BUILD and BIN as make (`make BUILD=… BIN=… bench` passes them on).
BUILD=${BUILD:-build}
BIN=${BIN:-bin}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
case $BIN in /*) ;; *) BIN=$ROOT/$BIN ;; esac
# The system Python has pyzmq (scripts/deps.sh), as in the Makefile.
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3
BB=$BUILD/bench
LUA=$ROOT/bench/lua

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
die() { log "error: $*"; exit 1; }
want() { [[ ",$ONLY," == *",$1,"* ]]; }

TOOLS="python3 curl sqlite3"
if want get || want post || want confirm || want curves; then TOOLS="$TOOLS wrk"; fi
if want get; then TOOLS="$TOOLS nginx"; fi
for tool in $TOOLS; do
    command -v "$tool" >/dev/null || die "$tool is missing (bash scripts/deps.sh --bench)"
done

# --- processes -------------------------------------------------------------

PIDS=()
TMP=$(mktemp -d /tmp/crm-bench.XXXXXX)

# Whether pid is still a child of this script (and not a stranger that got
# the number after ours ended).
ours() { [ "$(ps -o ppid= -p "$1" 2>/dev/null | tr -d ' ')" = "$$" ]; }

stop_pid() {
    local pid=$1 _
    if ours "$pid"; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 100); do
            ours "$pid" || break
            sleep 0.1
        done
        if ours "$pid"; then kill -9 "$pid" 2>/dev/null || true; fi
    fi
    wait "$pid" 2>/dev/null || true
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" != "$pid" ] && keep+=("$p"); done
    PIDS=(${keep[@]+"${keep[@]}"})
}

cleanup() {
    local p
    for p in ${PIDS[@]+"${PIDS[@]}"}; do stop_pid "$p"; done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_ports() {
    "$PY" - "$1" <<'EOF'
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
EOF
}

wait_http() {
    local _
    for _ in $(seq 100); do
        curl -fs -o /dev/null "$1" && return 0
        sleep 0.1
    done
    return 1
}

# Every wrk connection comes from 127.0.0.1: the services' limit of HTTP
# connections per address (default 100) is raised to the most they take.
# start_service PROGRAM VAR DIR [flags…]: starts $BIN/PROGRAM on free ports
# with DIR as its data folder and sets VAR_PID, VAR_URL, VAR_PUB, VAR_CMD,
# VAR_TOKEN.
start_service() {
    local prog=$1 var=$2 dir=$3 hp pp cp pid
    shift 3
    mkdir -p "$dir"
    # BENCH_COMMIT_PIPELINE=yes: a service with --sync full commits pipelined
    if [ "${BENCH_COMMIT_PIPELINE:-no}" = yes ] && [[ " $* " == *" --sync full "* ]]; then
        set -- "$@" --commit-pipeline yes
    fi
    read -r hp pp cp < <(free_ports 3)
    "$BIN/$prog" --data-dir "$dir" --http "127.0.0.1:$hp" --pub "tcp://127.0.0.1:$pp" \
        --cmd "tcp://127.0.0.1:$cp" --log-level warn --max-connections-per-address 2000 \
        "$@" >>"$dir/service.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    printf -v "${var}_PID" %s "$pid"
    printf -v "${var}_URL" %s "http://127.0.0.1:$hp"
    printf -v "${var}_PUB" %s "tcp://127.0.0.1:$pp"
    printf -v "${var}_CMD" %s "tcp://127.0.0.1:$cp"
    wait_http "http://127.0.0.1:$hp/livez" || { cat "$dir/service.log" >&2; die "$prog did not start"; }
    printf -v "${var}_TOKEN" %s "$(cat "$dir/admin.token")"
}

# start_crm DIR [flags…]: sets CRM_PID, CRM_URL, CRM_PUB, CRM_CMD, CRM_TOKEN.
start_crm() { start_service crm-service CRM "$@"; }

# start_erp DIR [flags…]: sets ERP_PID, ERP_URL, ERP_PUB, ERP_CMD, ERP_TOKEN.
start_erp() { start_service erp-service ERP "$@"; }

# start_nginx DOCROOT: sets NGINX_PID, NGINX_URL.
start_nginx() {
    local root=$1 dir=$TMP/nginx port user=""
    mkdir -p "$dir/logs"
    read -r port < <(free_ports 1)
    # As root, nginx would hand its workers to "nobody", who cannot read $TMP.
    [ "$(id -u)" = 0 ] && user="user $(id -un) $(id -gn);"
    cat >"$dir/nginx.conf" <<EOF
$user
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
    types { }
    default_type application/json;
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 60s;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    server {
        listen 127.0.0.1:$port;
        root $root;
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' >"$dir/logs/stdout.log" 2>&1 &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    NGINX_URL=http://127.0.0.1:$port
}

# run_wrk SCRIPT URL THREADS CONNS SECONDS: prints wrk's BENCH line.
run_wrk() {
    local out
    out=$(BENCH_LUA=$LUA timeout $(($5 + 60)) wrk -t"$3" -c"$4" -d"$5"s --timeout 10s \
        -s "$LUA/$1" "$2") || die "wrk failed: $out"
    grep '^BENCH ' <<<"$out" || die "no summary from wrk: $out"
}

# field NAME LINE: the value of NAME=value in LINE.
field() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }

# mark_published DB: the events already in DB's outbox (a data set's
# making) are marked published, so that the publisher does not replay them
# while we measure, and the WAL is folded into the file.
mark_published() {
    sqlite3 "$1" "INSERT OR REPLACE INTO publisher_state (id, published_seq) SELECT 1, MAX(seq) FROM outbox;
        PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
}

errors_of() {
    local n=0 k
    for k in connect read write status timeout; do n=$((n + $(field $k "$1"))); done
    echo $n
}

# written N LINE: whether N rows written fit the requests of wrk's LINE (wrk
# does not count the answers still on their way when time is up: up to one
# more per connection).
written() {
    local requests
    requests=$(field requests "$2")
    [ "$1" -ge "$requests" ] && [ "$1" -le $((requests + POST_CONNS)) ]
}

more() { "$PY" -c "import sys; sys.exit(not float(sys.argv[1]) > float(sys.argv[2]))" "$1" "$2"; }
# best_of NAME VALUE: the variable NAME becomes VALUE when VALUE is more (the
# best of the rounds so far).
best_of() { if more "$2" "${!1}"; then printf -v "$1" '%s' "$2"; fi; }
ratio() { "$PY" -c "import sys; a, b = float(sys.argv[1]), float(sys.argv[2]); print('%.2f' % (a / b) if b else '-')" "$1" "$2"; }
fmt() { "$PY" -c "import sys; print('{:,.0f}'.format(float(sys.argv[1])))" "$1"; }
ms() { "$PY" -c "import sys; print('%.2f' % (float(sys.argv[1]) / 1000))" "$1"; }

# --- build -------------------------------------------------------------------

log "building"
# The services and the bench programs ($BB), with the project's compiler
# flags (see the Makefile's bench-bin).
make --no-print-directory -s BUILD="$BUILD" BIN="$BIN" all bench-bin
mkdir -p "$RESULTS"
if [ -n "${BENCH_SYNC_DELAY_US:-}" ]; then
    [[ $BENCH_SYNC_DELAY_US =~ ^[0-9]+$ ]] || die "BENCH_SYNC_DELAY_US is a number of microseconds"
    log "every sync of every program waits ${BENCH_SYNC_DELAY_US} µs first (bench/slow_sync.c)"
    export BENCH_SYNC_DELAY_US LD_PRELOAD=$BB/slow_sync.so${LD_PRELOAD:+ $LD_PRELOAD}
fi

ROWS=()    # lines of the result table
NOTES=()
add_row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 | $6 |"); }

# --- a. read one customer ------------------------------------------------------

bench_get() {
    log "read: seeding $GET_RECORDS customers"
    start_crm "$TMP/get"
    "$PY" bench/gen_data.py csv "$GET_RECORDS" 0 "$TMP/get.csv"
    "$PY" bench/seed_get.py "$CRM_URL" "$CRM_TOKEN" "$TMP/get.csv" "$TMP/ids.txt" "$TMP/www" >&2
    start_nginx "$TMP/www"
    wait_http "$NGINX_URL/api/v1/customers/$(head -1 "$TMP/ids.txt")" || die "nginx did not start"
    cmp -s <(curl -fs -H "Authorization: Bearer $CRM_TOKEN" "$CRM_URL/api/v1/customers/$(head -1 "$TMP/ids.txt")") \
        "$TMP/www/api/v1/customers/$(head -1 "$TMP/ids.txt")" || die "nginx and the service answer differently"
    export BENCH_TOKEN=$CRM_TOKEN BENCH_IDS=$TMP/ids.txt
    local best_svc=0 best_ngx=0 line_svc="" line_ngx="" r line
    for r in $(seq "$ROUNDS"); do
        log "read: round $r/$ROUNDS, service then nginx (wrk -t2 -c50 -d${SECS}s)"
        run_wrk get.lua "$CRM_URL" 2 50 2 >/dev/null
        line=$(run_wrk get.lua "$CRM_URL" 2 50 "$SECS")
        [ "$(errors_of "$line")" = 0 ] || die "read benchmark: service errors: $line"
        if more "$(field rps "$line")" "$best_svc"; then
            best_svc=$(field rps "$line"); line_svc=$line
        fi
        run_wrk get.lua "$NGINX_URL" 2 50 2 >/dev/null
        line=$(run_wrk get.lua "$NGINX_URL" 2 50 "$SECS")
        [ "$(errors_of "$line")" = 0 ] || die "read benchmark: nginx errors: $line"
        if more "$(field rps "$line")" "$best_ngx"; then
            best_ngx=$(field rps "$line"); line_ngx=$line
        fi
    done
    stop_pid "$NGINX_PID"
    stop_pid "$CRM_PID"
    add_row "GET /api/v1/customers/{id}" "$(fmt "$best_svc") req/s (p99 $(ms "$(field p99_us "$line_svc")") ms)" \
        "nginx, same bytes: $(fmt "$best_ngx") req/s (p99 $(ms "$(field p99_us "$line_ngx")") ms)" \
        "$(ratio "$best_svc" "$best_ngx")" "≥ 0.6" "wrk -t2 -c50, $GET_RECORDS ids, best of $ROUNDS"
}

# --- b. create a customer --------------------------------------------------------

bench_post() {
    local sync=$1 r d line rows groups best_groups="-" best="" svc=0 bare=0 bare_full=0 bare_batch=0
    for r in $(seq "$ROUNDS"); do
        log "create, --sync $sync, round $r/$ROUNDS: service (wrk -t2 -c$POST_CONNS -d${SECS}s)"
        d=$TMP/post-$sync-$r
        start_crm "$d" --sync "$sync"
        export BENCH_TOKEN=$CRM_TOKEN
        line=$(run_wrk post.lua "$CRM_URL" 2 "$POST_CONNS" "$SECS")
        groups=$(curl -sf "$CRM_URL/metrics" | awk '$1=="http_write_groups_total"{g=$2} $1=="http_write_group_requests_total"{n=$2} END{if (g>0) printf "%.1f", n/g; else print "-"}')
        stop_pid "$CRM_PID"
        [ "$(errors_of "$line")" = 0 ] || die "create benchmark: errors: $line"
        rows=$(sqlite3 "$d/crm.db" "SELECT COUNT(*) FROM customers")
        written "$rows" "$line" || die "create benchmark: $rows rows for $(field requests "$line") requests"
        rm -rf "$d"
        if more "$(field rps "$line")" "$svc"; then svc=$(field rps "$line"); best=$line; best_groups=$groups; fi
        log "create, --sync $sync, round $r/$ROUNDS: bare SQLite loops"
        # A fresh crm.db made by the service itself: the same schema.
        d=$TMP/bare-$sync-$r
        "$BIN/crm-service" user list --data-dir "$d" >/dev/null 2>&1
        cp "$d/crm.db" "$d/full.db"
        cp "$d/crm.db" "$d/batch.db"
        best_of bare "$(field rows_per_s "$("$BB/bare_insert" "$d/crm.db" "$sync" "$SECS" plain)")"
        best_of bare_full "$(field rows_per_s "$("$BB/bare_insert" "$d/full.db" "$sync" "$SECS" full)")"
        best_of bare_batch "$(field rows_per_s "$("$BB/bare_insert" "$d/batch.db" "$sync" "$SECS" full 100)")"
        rm -rf "$d"
    done
    add_row "POST /api/v1/customers, --sync $sync" \
        "$(fmt "$svc") rows/s (p50 $(ms "$(field p50_us "$best")"), p99 $(ms "$(field p99_us "$best")") ms)" \
        "bare insert loop, one row per transaction: $(fmt "$bare") rows/s" "$(ratio "$svc" "$bare")" "≥ 1.5" \
        "wrk -t2 -c$POST_CONNS, best of $ROUNDS; mean write group $best_groups requests; bare loop + FTS + outbox: $(fmt "$bare_full") rows/s (ratio $(ratio "$svc" "$bare_full"))"
    add_row "POST /api/v1/customers, --sync $sync, batched baseline" \
        "$(fmt "$svc") rows/s" \
        "bare loop + FTS + outbox, 100 rows per transaction: $(fmt "$bare_batch") rows/s" "$(ratio "$svc" "$bare_batch")" "≥ 0.7" \
        "the same service run as the row above"
    bench_post_latency "$sync" "$svc"
}

# The latency of POST at half the rate bench_post reached (SYNC MAX_RATE):
# an open loop (bench/bridge_fresh.c with no ERP) sends a write every
# 1/rate seconds whatever the answers do, and times each from its due
# moment to the 201, so a write that waits for a connection counts its wait.
bench_post_latency() {
    local sync=$1 half d line
    half=$("$PY" -c "import sys; print(int(float(sys.argv[1]) / 2))" "$2")
    [ "$half" -gt 0 ] || die "create benchmark: no maximum rate to halve"
    log "create, --sync $sync: latency at half the maximum rate, $half writes/s for ${SECS}s"
    d=$TMP/post-half-$sync
    start_crm "$d" --sync "$sync"
    "$PY" bench/gen_data.py bodies $((half * SECS + 100)) "$TMP/post-bodies.jsonl"
    line=$("$BB/bridge_fresh" "${CRM_URL##*:}" "$CRM_TOKEN" 0 - - "$TMP/post-bodies.jsonl" "$half" "$SECS" \
        "$POST_CONNS") || die "create latency: bridge_fresh failed"
    stop_pid "$CRM_PID"
    rm -rf "$d" "$TMP/post-bodies.jsonl"
    log "  $line"
    [ "$(field errors "$line")" = 0 ] || die "create latency: write errors: $line"
    add_row "POST /api/v1/customers at half the maximum rate, --sync $sync" \
        "p50 $(field post_p50_ms "$line") ms, p99 $(field post_p99_ms "$line") ms (max $(field post_max_ms "$line"))" \
        "aim only" "-" "p99 ≤ 5 ms" \
        "open loop, $half writes/s on $POST_CONNS connections for ${SECS}s (achieved $(field achieved_per_s "$line")/s); from each write's due moment to its 201"
}

# --- c. search -----------------------------------------------------------------------

# Customers that come from ERP (with tax ids, through customer.upsert): 5 %.
UPSERTS=$((N / 20))
IMPORTS=$((N - UPSERTS))

build_dataset() {
    local dir=$1 work=$1.tmp chunk=100000 start=0 n t0 t1
    rm -rf "$work"
    mkdir -p "$work"
    t0=$(date +%s)
    log "search data: importing $IMPORTS customers with the import command (in chunks of $chunk)"
    n=$((IMPORTS < chunk ? IMPORTS : chunk))
    "$PY" bench/gen_data.py csv "$n" 0 "$work/chunk-0.csv"
    while [ "$start" -lt "$IMPORTS" ]; do
        local next=$((start + n)) m=0 gen=""
        # Generate the next chunk while this one is imported.
        if [ "$next" -lt "$IMPORTS" ]; then
            m=$((IMPORTS - next < chunk ? IMPORTS - next : chunk))
            "$PY" bench/gen_data.py csv "$m" "$next" "$work/chunk-$next.csv" &
            gen=$!
            PIDS+=("$gen")
        fi
        "$BIN/crm-service" import customers "$work/chunk-$start.csv" --data-dir "$work" --sync normal \
            >"$work/import.out" 2>>"$work/import.log" || { tail -5 "$work/import.log" >&2; die "import failed"; }
        rm -f "$work/chunk-$start.csv"
        if [ -n "$gen" ]; then
            wait "$gen" || die "gen_data failed"
            local keep=() p
            for p in "${PIDS[@]}"; do [ "$p" != "$gen" ] && keep+=("$p"); done
            PIDS=(${keep[@]+"${keep[@]}"})
        fi
        start=$next
        n=$m
        log "search data: $start customers imported ($(($(date +%s) - t0)) s)"
    done
    t1=$(date +%s)
    # The import wrote an event per customer: not what we measure.
    mark_published "$work/crm.db"
    if [ "$UPSERTS" -gt 0 ]; then
        log "search data: $UPSERTS customers from ERP (customer.upsert with tax ids, batches of 1000)"
        "$PY" bench/gen_data.py upserts "$UPSERTS" "$IMPORTS" "$work/upserts.jsonl"
        start_crm "$work" --sync normal
        "$PY" bench/load_upserts.py "$CRM_CMD" "$work/upserts.jsonl" 1000 >&2
        stop_pid "$CRM_PID"
        rm -f "$work/upserts.jsonl"
        mark_published "$work/crm.db"
    fi
    local count
    count=$(sqlite3 "$work/crm.db" "SELECT COUNT(*) FROM customers")
    [ "$count" = "$N" ] || die "search data: $count customers, expected $N"
    cat >"$work/READY" <<EOF
customers=$N
import_seconds=$((t1 - t0))
upsert_seconds=$(($(date +%s) - t1))
db_bytes=$(stat -c %s "$work/crm.db")
EOF
    rm -f "$work/import.out" "$work/service.log"
    rm -rf "$dir"
    mv "$work" "$dir"
    log "search data: ready in $(($(date +%s) - t0)) s"
}

# dataset: sets DATASET to the cached folder of the search data set, built
# first if needed.
dataset() {
    local key
    key=$(cat bench/gen_data.py bench/load_upserts.py crm-service/schema.c | sha1sum | cut -c1-10)
    DATASET=$CACHE/customers-$N-$key
    [ -f "$DATASET/READY" ] || build_dataset "$DATASET"
}

bench_search() {
    local dir line bare
    dataset
    dir=$DATASET
    log "search: copying the $N-customer database"
    mkdir -p "$TMP/search"
    cp --reflink=auto "$dir/crm.db" "$dir/admin.token" "$TMP/search/"
    "$PY" bench/gen_data.py queries 1000 "$TMP/queries.txt" "$N" "$IMPORTS"
    start_crm "$TMP/search"
    log "search: service, one connection, a warm-up pass then ${SECS}s (http_lat)"
    line=$("$BB/http_lat" 127.0.0.1 "${CRM_URL##*:}" "$CRM_TOKEN" "$TMP/queries.txt" "$SECS") \
        || die "search benchmark: $line"
    stop_pid "$CRM_PID"
    log "search: bare FTS5 query"
    bare=$("$BB/bare_search" "$TMP/search/crm.db" "$TMP/queries.txt" "$SECS")
    local head
    head=$(head -1 <<<"$bare")
    add_row "GET /api/v1/customers?q= ($(fmt "$N") customers)" \
        "p50 $(ms "$(field p50_us "$line")") ms, p99 $(ms "$(field p99_us "$line")") ms ($(fmt "$(field queries "$line")") queries)" \
        "same SQL in C: p50 $(ms "$(field p50_us "$head")") ms, p99 $(ms "$(field p99_us "$head")") ms" \
        "$(ratio "$(field p99_us "$head")" "$(field p99_us "$line")")" "p99 < 5 ms" \
        "1 connection; 1000 terms; ratio = bare p99 / service p99"
    NOTES+=("Search data set: $(tr '\n' ' ' <"$dir/READY")(cached in $dir)")
    NOTES+=("Slowest search terms (bare, one pass):")
    while read -r l; do NOTES+=("    $l"); done < <(tail -n +2 <<<"$bare")
}

# --- d. confirm an order (erp-service) ------------------------------------------------

# The drafts are made once, through the service: a warehouse, 200 products
# with stock for every order, 50 customers without credit limit, ORDERS draft
# orders of 5 lines (random products). Every round of each side starts from a copy.
seed_orders() {
    local d=$TMP/erp-seed
    log "confirm: seeding $ORDERS draft orders of 5 lines"
    start_erp "$d" --sync normal
    "$PY" bench/seed_confirm.py "$ERP_URL" "$ERP_TOKEN" "$ORDERS" "$TMP/orders.txt" >&2
    stop_pid "$ERP_PID"
    # The order.created events are not what we measure.
    mark_published "$d/erp.db"
    rm -f "$d/service.log"
}

# seed_supply N: $TMP/erp-seed-N, the drafts' data set with N open purchase
# orders and N / 2 bills of materials (bench/seed_supply.py).
seed_supply() {
    local n=$1 d=$TMP/erp-seed-$1
    log "confirm: adding $n open purchase orders and $((n / 2)) bills of materials"
    mkdir -p "$d"
    cp "$TMP/erp-seed/erp.db" "$TMP/erp-seed/admin.token" "$d/"
    start_erp "$d" --sync normal
    "$PY" bench/seed_supply.py "$ERP_URL" "$ERP_TOKEN" "$n" >&2
    stop_pid "$ERP_PID"
    mark_published "$d/erp.db"
    rm -f "$d/service.log"
}

# bench_confirm SYNC SUPPLY: the confirm benchmark on the data set with
# SUPPLY open purchase orders (0: the drafts alone).
bench_confirm() {
    local sync=$1 supply=$2 r d line n v best="" svc=0 bare=0 short="" seed=$TMP/erp-seed what=""
    [ -f "$TMP/orders.txt" ] || seed_orders
    if [ "$supply" -gt 0 ]; then
        seed=$TMP/erp-seed-$supply
        [ -f "$seed/erp.db" ] || seed_supply "$supply"
        what=", $supply open purchase orders and $((supply / 2)) bills"
    fi
    for r in $(seq "$ROUNDS"); do
        log "confirm$what, --sync $sync, round $r/$ROUNDS: service (wrk -t2 -c$POST_CONNS -d${SECS}s)"
        d=$TMP/confirm-$sync-$r
        mkdir -p "$d"
        cp "$seed/erp.db" "$seed/admin.token" "$d/"
        start_erp "$d" --sync "$sync"
        export BENCH_TOKEN=$ERP_TOKEN BENCH_IDS=$TMP/orders.txt BENCH_THREADS=2
        line=$(run_wrk confirm.lua "$ERP_URL" 2 "$POST_CONNS" "$SECS")
        stop_pid "$ERP_PID"
        [ "$(errors_of "$line")" = 0 ] || die "confirm benchmark: errors (too few drafts? raise BENCH_ORDERS): $line"
        n=$(sqlite3 "$d/erp.db" "SELECT COUNT(*) FROM orders WHERE status = 'confirmed'")
        written "$n" "$line" || die "confirm benchmark: $n confirmed orders for $(field requests "$line") requests"
        v=$(sqlite3 "$d/erp.db" "SELECT COUNT(*) FROM order_lines l JOIN orders o ON o.id = l.order_id
            WHERE o.status = 'confirmed' AND l.reserved <> l.quantity")
        [ "$v" = 0 ] || die "confirm benchmark: $v confirmed lines not fully reserved"
        rm -rf "$d"
        if more "$(field rps "$line")" "$svc"; then svc=$(field rps "$line"); best=$line; fi
        log "confirm$what, --sync $sync, round $r/$ROUNDS: bare SQLite loop"
        d=$TMP/bare-confirm-$sync-$r
        mkdir -p "$d"
        cp "$seed/erp.db" "$d/"
        line=$("$BB/bare_confirm" "$d/erp.db" "$sync" "$SECS") || die "bare_confirm failed"
        [ "$(field drafts_left "$line")" != 0 ] || short=" (bare loop ran out of drafts after $(field seconds "$line") s)"
        best_of bare "$(field orders_per_s "$line")"
        rm -rf "$d"
    done
    add_row "POST /api/v1/orders/{id}/confirm (5 lines$what), --sync $sync" \
        "$(fmt "$svc") orders/s (p50 $(ms "$(field p50_us "$best")"), p99 $(ms "$(field p99_us "$best")") ms)" \
        "bare confirm loop: $(fmt "$bare") orders/s" "$(ratio "$svc" "$bare")" "≥ 1.5" \
        "wrk -t2 -c$POST_CONNS over pre-made drafts, confirms only, best of $ROUNDS$short"
}

want get && bench_get
want post && { bench_post full; bench_post normal; }
want dataset && dataset
want search && bench_search
if want typeahead; then
    # shellcheck source=bench/typeahead.sh
    . bench/typeahead.sh
    bench_typeahead
fi
if want confirm; then
    for supply in $CONFIRM_SUPPLY; do bench_confirm full "$supply"; bench_confirm normal "$supply"; done
fi
if want bridge; then
    # shellcheck source=bench/bridge_bench.sh
    . bench/bridge_bench.sh
    bench_bridge
fi
if want retention; then
    # The exactly-once tables after a million writes (bench/retention.py):
    # sizes and the time to prune them, no baseline; its own table.
    log "retention: $RETENTION_COMMANDS commands, $RETENTION_KEYS Idempotency-Keys"
    $PY bench/retention.py "$BIN" "$RETENTION_COMMANDS" "$RETENTION_KEYS" >"$RESULTS/retention.md"
    NOTES+=("" "Retention of the exactly-once tables (bench/retention.py):" "" "$(cat "$RESULTS/retention.md")")
fi

if want memory; then
    # shellcheck source=bench/memory.sh
    . bench/memory.sh
    bench_memory
fi
if want curves; then
    # shellcheck source=bench/curves.sh
    . bench/curves.sh
    bench_curves
fi

# --- report ----------------------------------------------------------------------------

{
    echo "# crm-service and erp-service benchmarks"
    echo
    echo "$(date -u +%Y-%m-%dT%H:%M:%SZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet 2>/dev/null || echo '+dirty'),"\
        "$(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r),"\
        "SQLite $(pkg-config --modversion sqlite3)$(command -v wrk >/dev/null && echo ", $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)")$(command -v nginx >/dev/null && echo ", $(nginx -v 2>&1 | cut -d' ' -f3)"),"\
        "BENCH_SECONDS=$SECS${BENCH_SYNC_DELAY_US:+, BENCH_SYNC_DELAY_US=$BENCH_SYNC_DELAY_US (a slower disk: bench/slow_sync.c)}$([ "${BENCH_COMMIT_PIPELINE:-no}" = yes ] && echo ", --commit-pipeline yes with --sync full")"
    echo
    echo "| benchmark | crm-service | baseline | ratio | aim | notes |"
    echo "|---|---|---|---|---|---|"
    for r in ${ROWS[@]+"${ROWS[@]}"}; do echo "$r"; done
    echo
    for n in ${NOTES[@]+"${NOTES[@]}"}; do echo "$n"; done
} >"$RESULTS/latest.md"
cat "$RESULTS/latest.md"
