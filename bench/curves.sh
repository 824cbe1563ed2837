# shellcheck shell=bash disable=SC2153  # SECS, PY, BIN… are run.sh's
# bench/curves.sh: how cost grows (bench/README.md, "How cost grows"),
# sourced by bench/run.sh (BENCH_ONLY=curves, `make bench-curves`), whose
# helpers (start_crm, run_wrk, field, stop_pid…) and the bridge benchmarks
# of bench/bridge_bench.sh it uses:
#
#   - GET /api/v1/customers/{id}, POST /api/v1/customers and search rates
#     at BENCH_CURVE_SIZES customers (data sets loaded by bulk_customers.py)
#   - bridge catch-up time against backlog size (BENCH_CURVE_BACKLOGS)
#   - bridge freshness p50/p99 against write rate (BENCH_CURVE_RATES)
#
# An empty list (BENCH_CURVE_SIZES="") skips that curve; the points of
# earlier runs that this one does not measure again stay in the plots. The figures go to $RESULTS/curves.tsv, then plot_curves.py draws
# $RESULTS/curves-*.svg and writes the tables to $RESULTS/curves.md.

CURVE_SIZES=${BENCH_CURVE_SIZES-10000 100000 1000000 10000000}
CURVE_BACKLOGS=${BENCH_CURVE_BACKLOGS-10000 100000 1000000}
CURVE_RATES=${BENCH_CURVE_RATES-200 500 1000 2000 3000 5000}
CURVE_SYNC=${BENCH_CURVE_SYNC:-normal}
# The bridge's --pipeline in the catch-up and freshness curves.
CURVE_PIPELINE=${BENCH_CURVE_PIPELINE:-4}
CURVE_TSV=$RESULTS/curves.tsv

# curve_bytes_per_row: bytes per customer of the largest cached data set
# (2,400 before any is built).
curve_bytes_per_row() {
    local best=0 per=2400 f n b
    for f in "$CACHE"/bulk-*/READY; do
        [ -f "$f" ] || continue
        n=$(sed -n 's/^customers=//p' "$f")
        b=$(sed -n 's/^db_bytes=//p' "$f")
        if [ "$n" -gt "$best" ]; then best=$n; per=$((b / n)); fi
    done
    echo "$per"
}

# curve_dataset N: sets CURVE_DATA to the cached folder of an N-customer
# crm.db, built first if needed: crm-service migrates an empty database
# (`user list` opens it), then bulk_customers.py loads the rows. Returns 1
# (with a note) when the disk cannot hold it and a working copy.
curve_dataset() {
    local n=$1 key work need avail t0
    key=$(cat bench/gen_data.py bench/bulk_customers.py crm-service/schema.c | sha1sum | cut -c1-10)
    CURVE_DATA=$CACHE/bulk-$n-$key
    if [ ! -f "$CURVE_DATA/READY" ]; then
        need=$(($(curve_bytes_per_row) * n * 2 * 11 / 10))
        avail=$(($(df -Pk "$CACHE" | awk 'NR==2{print $4}') * 1024))
        if [ "$need" -gt "$avail" ]; then
            NOTES+=("Curves: $(fmt "$n") customers skipped: about $(fmt $((need / 1000000))) MB needed (data set and a working copy), $(fmt $((avail / 1000000))) MB free")
            return 1
        fi
        work=$CURVE_DATA.tmp
        rm -rf "$work"
        mkdir -p "$work"
        log "curves: loading $n customers into a crm.db made by crm-service"
        t0=$(date +%s)
        "$BIN/crm-service" user list --data-dir "$work" >/dev/null 2>&1 || die "crm-service could not create $work"
        "$PY" bench/bulk_customers.py "$work/crm.db" "$n" 2>"$work/bulk.log" || { tail -5 "$work/bulk.log" >&2; die "bulk_customers failed"; }
        cat >"$work/READY" <<EOF
customers=$n
load_seconds=$(($(date +%s) - t0))
db_bytes=$(stat -c %s "$work/crm.db")
EOF
        rm -rf "$CURVE_DATA"
        mv "$work" "$CURVE_DATA"
    fi
    return 0
}

# bench_curve_size N: GET, search, then POST on a copy of the N data set.
bench_curve_size() {
    local n=$1 d get search post bare bytes
    d=$TMP/curve-$n
    curve_dataset "$n" || return 0
    bytes=$(sed -n 's/^db_bytes=//p' "$CURVE_DATA/READY")
    log "curves: $n customers: copying the database ($((bytes / 1000000)) MB)"
    mkdir -p "$d"
    cp --reflink=auto "$CURVE_DATA/crm.db" "$CURVE_DATA/admin.token" "$d/"
    # 10,000 ids spread over the whole table (the read benchmark's 1,000
    # would all sit in the cache at any size).
    sqlite3 "$d/crm.db" "SELECT id FROM customers ORDER BY random() LIMIT 10000" >"$TMP/curve-ids.txt"
    "$PY" bench/gen_data.py queries 1000 "$TMP/curve-queries.txt" "$n" $((n - n / 20))
    # The bulk data sets' creation events are all older than the outbox's
    # retention (30 days): the service would prune millions of them (1,000
    # rows every 10 ms) under the measurement. Kept instead.
    start_crm "$d" --sync "$CURVE_SYNC" --outbox-retention-days 0
    export BENCH_TOKEN=$CRM_TOKEN BENCH_IDS=$TMP/curve-ids.txt
    log "curves: $n customers: GET (wrk -t2 -c50 -d${SECS}s)"
    run_wrk get.lua "$CRM_URL" 2 50 2 >/dev/null
    get=$(run_wrk get.lua "$CRM_URL" 2 50 "$SECS")
    [ "$(errors_of "$get")" = 0 ] || die "curves: GET errors: $get"
    log "curves: $n customers: search (http_lat, one connection, ${SECS}s)"
    search=$("$BB/http_lat" 127.0.0.1 "${CRM_URL##*:}" "$CRM_TOKEN" "$TMP/curve-queries.txt" "$SECS") \
        || die "curves: search: $search"
    log "curves: $n customers: POST, --sync $CURVE_SYNC (wrk -t2 -c$POST_CONNS -d${SECS}s)"
    post=$(run_wrk post.lua "$CRM_URL" 2 "$POST_CONNS" "$SECS")
    [ "$(errors_of "$post")" = 0 ] || die "curves: POST errors: $post"
    stop_pid "$CRM_PID"
    # The baseline of b. at this size: what the service writes (customer
    # row, FTS row through the trigger, outbox row), one row per
    # transaction, on the same copy: does SQLite itself slow down?
    log "curves: $n customers: bare insert loop + FTS + outbox"
    bare=$("$BB/bare_insert" "$d/crm.db" "$CURVE_SYNC" "$SECS" full) || die "bare_insert failed"
    rm -rf "$d"
    echo "size customers=$n bare_rps=$(field rows_per_s "$bare") db_bytes=$bytes get_rps=$(field rps "$get") get_p99_us=$(field p99_us "$get")" \
        "search_mean_us=$(field mean_us "$search") search_p50_us=$(field p50_us "$search")" \
        "search_p99_us=$(field p99_us "$search") post_rps=$(field rps "$post") post_p50_us=$(field p50_us "$post")" \
        "post_p99_us=$(field p99_us "$post") load_seconds=$(sed -n 's/^load_seconds=//p' "$CURVE_DATA/READY")" >>"$CURVE_TSV"
}

# curve_forget KIND FIELD VALUES…: drops from $CURVE_TSV the points of KIND
# (size, catchup, fresh) whose FIELD is one of VALUES, the ones this run
# measures again; the others stay, so the curves can be measured in parts
# (rm $CURVE_TSV for a clean slate).
curve_forget() {
    local kind=$1 name=$2 v
    shift 2
    touch "$CURVE_TSV"
    for v in "$@"; do
        grep -v "^$kind $name=$v " "$CURVE_TSV" >"$CURVE_TSV.new" || true
        mv "$CURVE_TSV.new" "$CURVE_TSV"
    done
}

# curve_plot: the plots and tables of what $CURVE_TSV holds (after every
# point, so that an interrupted run leaves what it measured).
curve_plot() {
    "$PY" bench/plot_curves.py "$CURVE_TSV" "$RESULTS" "$CURVE_SYNC" >"$RESULTS/curves.md"
}

bench_curves() {
    local n b
    # shellcheck source=bench/bridge_bench.sh
    . bench/bridge_bench.sh
    # shellcheck disable=SC2086
    curve_forget size customers $CURVE_SIZES
    # shellcheck disable=SC2086
    curve_forget catchup backlog $CURVE_BACKLOGS
    # shellcheck disable=SC2086
    curve_forget fresh rate $CURVE_RATES
    for n in $CURVE_SIZES; do bench_curve_size "$n" && curve_plot; done
    for b in $CURVE_BACKLOGS; do
        BACKLOG=$b
        bench_bridge_backlog "$CURVE_SYNC" "$CURVE_PIPELINE"
        echo "catchup backlog=$b $CATCHUP" >>"$CURVE_TSV"
        curve_plot
    done
    if [ -n "$CURVE_RATES" ]; then
        BRIDGE_RATES=$CURVE_RATES FRESH_OUT=$CURVE_TSV bench_bridge_fresh "$CURVE_SYNC" "$CURVE_PIPELINE"
    fi
    curve_plot
    NOTES+=("" "How cost grows (bench/curves.sh, --sync $CURVE_SYNC; plots $RESULTS/curves-*.svg):" "" "$(cat "$RESULTS/curves.md")")
}
