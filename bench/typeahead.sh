# shellcheck shell=bash disable=SC2153  # N, TYPED, TMP, BB, PY… are run.sh's
# bench/typeahead.sh: g. search as you type, sourced by bench/run.sh
# (BENCH_ONLY=typeahead). People type customer names into the customer list
# of crm-service's page over the BENCH_CUSTOMERS data set (the one of c.);
# every keystroke is the request the page sends for it (customers.js:
# GET /api/v1/customers?limit=50&q=<the text so far, trimmed>), one at a
# time over one connection. The baseline is the same SQL run directly
# through SQLite in C on the same database. See bench/README.md, g.

TYPEAHEAD_LIMIT=50   # customers.js: PAGE

bench_typeahead() {
    local dir line bare n
    dataset
    dir=$DATASET
    log "typeahead: copying the $N-customer database"
    mkdir -p "$TMP/typeahead"
    cp --reflink=auto "$dir/crm.db" "$dir/admin.token" "$TMP/typeahead/"
    "$PY" bench/gen_typed.py "$TYPED" "$TMP/typed.txt" "$N"
    start_crm "$TMP/typeahead"
    log "typeahead: service, $TYPED names typed a character at a time (after $TYPED others as a warm-up)"
    line=$("$BB/typeahead" http 127.0.0.1 "${CRM_URL##*:}" "$CRM_TOKEN" "$TMP/typed.txt" "$TYPEAHEAD_LIMIT") \
        || die "typeahead benchmark: $line"
    stop_pid "$CRM_PID"
    log "typeahead: bare SQLite, the same prefixes"
    bare=$("$BB/typeahead" bare "$TMP/typeahead/crm.db" "$TMP/typed.txt" "$TYPEAHEAD_LIMIT") \
        || die "typeahead baseline: $bare"
    rm -rf "$TMP/typeahead"
    local svc_all bare_all
    svc_all=$(head -1 <<<"$line")
    bare_all=$(head -1 <<<"$bare")
    n=$(field keystrokes "$svc_all")
    add_row "search as you type, GET /api/v1/customers?limit=$TYPEAHEAD_LIMIT&q= ($(fmt "$N") customers)" \
        "p50 $(ms "$(field p50_us "$svc_all")"), p95 $(ms "$(field p95_us "$svc_all")"), p99 $(ms "$(field p99_us "$svc_all")") ms, worst $(ms "$(field max_us "$svc_all")") ms ($(fmt "$n") keystrokes)" \
        "same SQL in C: p50 $(ms "$(field p50_us "$bare_all")"), p99 $(ms "$(field p99_us "$bare_all")") ms, worst $(ms "$(field max_us "$bare_all")") ms" \
        "$(ratio "$(field p99_us "$bare_all")" "$(field p99_us "$svc_all")")" "every keystroke < 100 ms" \
        "1 connection; $TYPED names, every prefix, after $TYPED others to warm up; ratio = bare p99 / service p99"
    NOTES+=("Search as you type, per prefix length (service | bare SQLite):")
    local k s b
    for k in len=1 len=2 len=3 len=4+; do
        s=$(grep "^$k=" <<<"$line" || true)
        b=$(grep "^$k=" <<<"$bare" || true)
        [ -n "$s" ] || continue
        NOTES+=("    $k: $(field "$k" "$s") keystrokes, p50 $(ms "$(field p50_us "$s")"), p99 $(ms "$(field p99_us "$s")"), worst $(ms "$(field max_us "$s")") ms | p50 $(ms "$(field p50_us "$b")"), p99 $(ms "$(field p99_us "$b")"), worst $(ms "$(field max_us "$b")") ms")
    done
    NOTES+=("Slowest keystrokes through the service:")
    while read -r s; do NOTES+=("    $s"); done < <(grep '^slow:' <<<"$line")
}
