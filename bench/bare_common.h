//  bare_common: what the bare SQLite baselines share (a clock, the RFC 3339
//  stamp the services write, a fast PRNG for ids, the connection the
//  services open, prepared statements and steps that say what failed, the
//  select list of a customer search). Linked into every bench program by
//  the Makefile (make bench-bin).
#ifndef BENCH_BARE_COMMON_H
#define BENCH_BARE_COMMON_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

//  Monotonic time in seconds.
double
    bare_now (void);

//  The current time as the services write it (2026-01-02T03:04:05.678Z).
void
    bare_rfc3339 (char *buf, size_t size);

//  A fast xorshift PRNG (fixed seed: every run draws the same numbers).
uint64_t
    bare_rand (void);

//  A new id into buf (37 bytes), made as the services make theirs
//  (id_new, common/id.c: a version 7 UUID), so that the loops' indexes
//  keyed by id grow as the services' do.
void
    bare_uuid (char *buf);

//  Run sql; on failure print it with SQLite's message and return -1.
int
    bare_exec (sqlite3 *db, const char *sql);

//  Open path read-write with the pragmas common/db.c uses, synchronous
//  "FULL" or "NORMAL". NULL (and a message) on failure.
sqlite3 *
    bare_open (const char *path, const char *synchronous);

//  A persistent prepared statement; NULL (and a message) on failure.
sqlite3_stmt *
    bare_prepare (sqlite3 *db, const char *sql);

//  Step st once, expecting SQLITE_DONE, and reset it; on failure print
//  what with SQLite's message and return -1.
int
    bare_done (sqlite3 *db, sqlite3_stmt *st, const char *what);

//  Bind text, or NULL when text is NULL (the statement keeps a pointer).
void
    bare_bind (sqlite3_stmt *st, int i, const char *text);

//  The start of the SELECT a customer search runs (common/resource_list.c):
//  "SELECT t.<every column of customers in table order>, " into sql.
//  -1 if it does not fit.
int
    bare_customer_columns (sqlite3 *db, char *sql, size_t size);

//  The customer search the service runs for a term (common/resource_list.c:
//  the select list above, then the FTS5 join, newest first), prepared with
//  ?1 the FTS5 query and LIMIT limit (SQL: "51", "?2"). NULL (and a
//  message) on failure.
sqlite3_stmt *
    bare_customer_search (sqlite3 *db, const char *limit);

//  The synchronous pragma a bench program's full|normal argument asks
//  for: "NORMAL" for "normal", else "FULL".
const char *
    bare_synchronous (const char *arg);

//  The start of a program run as NAME DB full|normal SECONDS [...]: DB
//  opened as bare_open does with the synchronous pragma asked for, and
//  *seconds from SECONDS. With fewer arguments it prints "usage: <usage>"
//  and exits 2; when DB does not open it exits 1.
sqlite3 *
    bare_open_args (int argc, char **argv, const char *usage, double *seconds);

//  The text of the first column of sql's first row into buf ("" when sql
//  returns no row or fails).
void
    bare_first_text (sqlite3 *db, const char *sql, char *buf, size_t size);

#endif
