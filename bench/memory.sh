# shellcheck shell=bash disable=SC2153  # N, TMP, PY, CACHE, RESULTS… are run.sh's
# bench/memory.sh: i. resident memory, sourced by bench/run.sh
# (BENCH_ONLY=memory). crm-service on the BENCH_CUSTOMERS data set of c.,
# erp-service on as many customers loaded straight into its database
# (bench/memory.py load-erp), each driven by bench/memory.py: searches, list
# pages, reads, creates and two full CSV exports, with the service's VmRSS
# sampled every 10 ms and its VmHWM at the end. No baseline: the aim of
# issue 14 is a bound, 64 MiB at every moment. See bench/README.md, i.

MEMORY_BODY='{"name":"Memory bench {i}","kind":"company"}'

# erp_dataset: sets ERP_DATASET to a cached erp.db with N customers.
erp_dataset() {
    local key work
    key=$(cat bench/memory.py bench/gen_data.py erp-service/schema.c | sha1sum | cut -c1-10)
    ERP_DATASET=$CACHE/erp-customers-$N-$key
    [ -f "$ERP_DATASET/READY" ] && return
    work=$ERP_DATASET.tmp
    rm -rf "$work"
    log "memory: loading $N customers into a new erp.db"
    start_erp "$work"          # its migrations and admin token
    stop_pid "$ERP_PID"
    "$PY" bench/memory.py load-erp "$work/erp.db" "$N" || die "memory: loading ERP customers failed"
    sqlite3 "$work/erp.db" "PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null
    rm -f "$work/service.log"
    touch "$work/READY"
    rm -rf "$ERP_DATASET"
    mv "$work" "$ERP_DATASET"
}

bench_memory() {
    local out=$RESULTS/memory.md
    dataset
    erp_dataset
    "$PY" bench/gen_data.py queries 200 "$TMP/mem-queries.txt" "$N" "$IMPORTS"
    # ERP searches with LIKE over its search fields (no FTS index: its users
    # look customers up by number and name far less than sales does), a
    # scan of the table each: 20 of them.
    head -20 "$TMP/mem-queries.txt" >"$TMP/mem-queries-erp.txt"
    {
        echo "| service | phase | peak RSS, MiB | RSS after, MiB |"
        echo "|---|---|---|---|"
    } >"$out"
    log "memory: crm-service, $N customers"
    mkdir -p "$TMP/mem-crm"
    cp --reflink=auto "$DATASET/crm.db" "$DATASET/admin.token" "$TMP/mem-crm/"
    start_crm "$TMP/mem-crm"
    "$PY" bench/memory.py crm-service "$CRM_PID" "$CRM_URL" "$CRM_TOKEN" "$TMP/mem-queries.txt" "$MEMORY_BODY" \
        >>"$out" || die "memory: crm-service run failed"
    stop_pid "$CRM_PID"
    rm -rf "$TMP/mem-crm"
    log "memory: erp-service, $N customers"
    mkdir -p "$TMP/mem-erp"
    cp --reflink=auto "$ERP_DATASET/erp.db" "$ERP_DATASET/admin.token" "$TMP/mem-erp/"
    start_erp "$TMP/mem-erp"
    "$PY" bench/memory.py erp-service "$ERP_PID" "$ERP_URL" "$ERP_TOKEN" "$TMP/mem-queries-erp.txt" "$MEMORY_BODY" \
        >>"$out" || die "memory: erp-service run failed"
    stop_pid "$ERP_PID"
    rm -rf "$TMP/mem-erp"
    NOTES+=("" "Resident memory with $(fmt "$N") customers (bench/memory.py; aim: ≤ 64 MiB at every moment):" ""
        "$(cat "$out")")
}
