# shellcheck shell=bash disable=SC2153  # N, TMP, PY, CACHE, RESULTS… are run.sh's
# bench/memory.sh: j. resident memory, sourced by bench/run.sh
# (BENCH_ONLY=memory). crm-service on the BENCH_CUSTOMERS data set of c.,
# erp-service on as many customers loaded straight into its database
# (bench/memory.py load-erp), each driven by bench/memory.py: searches, list
# pages, reads, creates and two full CSV exports, with the service's VmRSS
# sampled every 10 ms and its VmHWM at the end. No baseline: the aim of
# issue 14 is a bound, 64 MiB at every moment. See bench/README.md, j.

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

# memory_run PROGRAM VAR DB QUERIES: PROGRAM on a copy of DB (and the
# admin.token beside it), driven by memory.py; its rows go to $out.
memory_run() {
    local prog=$1 var=$2 db=$3 queries=$4 dir=$TMP/mem-$1 pid url token
    log "memory: $prog, $N customers"
    mkdir -p "$dir"
    cp --reflink=auto "$db" "$(dirname "$db")/admin.token" "$dir/"
    start_service "$prog" "$var" "$dir"
    pid=${var}_PID url=${var}_URL token=${var}_TOKEN
    "$PY" bench/memory.py "$prog" "${!pid}" "${!url}" "${!token}" "$queries" "$MEMORY_BODY" >>"$out" \
        || die "memory: $prog run failed"
    stop_pid "${!pid}"
    rm -rf "$dir"
}

bench_memory() {
    local out=$RESULTS/memory.md
    dataset
    erp_dataset
    "$PY" bench/gen_data.py queries 200 "$TMP/mem-queries.txt" "$N" "$IMPORTS"
    {
        echo "| service | phase | peak RSS, MiB | RSS after, MiB |"
        echo "|---|---|---|---|"
    } >"$out"
    memory_run crm-service CRM "$DATASET/crm.db" "$TMP/mem-queries.txt"
    memory_run erp-service ERP "$ERP_DATASET/erp.db" "$TMP/mem-queries.txt"
    NOTES+=("" "Resident memory with $(fmt "$N") customers (bench/memory.py; aim: ≤ 64 MiB at every moment):" ""
        "$(cat "$out")")
}
