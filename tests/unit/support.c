//  support: what the unit tests share (see support.h).
#include "support.h"
#include "bus.h"
#include "log.h"

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <sys/stat.h>
#include <zmq.h>

#define S_SOCKETS 32

void
support_tmpdir (char *dir, size_t dir_size, char *path, size_t path_size, const char *name)
{
    int n = snprintf (dir, dir_size, "/tmp/%s.XXXXXX", name);
    assert_true (n > 0 && (size_t) n < dir_size);
    assert_non_null (mkdtemp (dir));
    if (path) {
        n = snprintf (path, path_size, "%s/svc.db", dir);
        assert_true (n > 0 && (size_t) n < path_size);
    }
}

static int
s_rm (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

void
support_rmtree (const char *dir)
{
    nftw (dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
}

db_t *
support_db_open (const char *path, const db_migration_t *list, int count)
{
    err_info_t err;
    err_clear (&err);
    db_t *db = db_open (path, "normal", &err);
    if (!db)
        print_error ("db_open %s: %s\n", path, err.message);
    assert_non_null (db);
    assert_int_equal (db_migrate (db, list, count, &err), ERR_OK);
    return db;
}

support_db_t *
support_db_new (const char *name, const db_migration_t *list, int count)
{
    support_db_t *f = support_calloc (1, sizeof *f);
    support_tmpdir (f->dir, sizeof f->dir, f->path, sizeof f->path, name);
    f->db = support_db_open (f->path, list, count);
    return f;
}

int
support_db_teardown (void **state)
{
    support_db_t *f = *state;
    db_destroy (&f->db);
    support_rmtree (f->dir);
    free (f);
    *state = NULL;
    return 0;
}

db_pool_t *
support_pool_open (const char *path, const db_migration_t *list, int count, db_t **db)
{
    db_pool_t *pool = db_pool_new (path, "normal");
    assert_non_null (pool);
    *db = db_pool_get (pool);
    assert_non_null (*db);
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_migrate (*db, list, count, &err), ERR_OK);
    return pool;
}

//  ---------------------------------------------------------------------
//  Sockets a test opened: teardown closes what a failed assertion left
//  open, so a failing test reports instead of hanging in zmq_ctx_term.

static void *s_open_sockets[S_SOCKETS];

void *
support_zsocket (void *ctx, int type)
{
    void *socket = zmq_socket (ctx, type);
    for (int i = 0; socket && i < S_SOCKETS; i++)
        if (!s_open_sockets[i]) {
            s_open_sockets[i] = socket;
            break;
        }
    return socket;
}

void *
support_zsocket_timed (void *ctx, int type, int timeout_ms)
{
    void *socket = support_zsocket (ctx, type);
    assert_non_null (socket);
    int linger = 0, ivl = 10;
    assert_int_equal (zmq_setsockopt (socket, ZMQ_LINGER, &linger, sizeof linger), 0);
    assert_int_equal (zmq_setsockopt (socket, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms), 0);
    assert_int_equal (zmq_setsockopt (socket, ZMQ_SNDTIMEO, &timeout_ms, sizeof timeout_ms), 0);
    assert_int_equal (zmq_setsockopt (socket, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl), 0);
    return socket;
}

void
support_zclose (void *socket)
{
    for (int i = 0; i < S_SOCKETS; i++)
        if (s_open_sockets[i] == socket)
            s_open_sockets[i] = NULL;
    zmq_close (socket);
}

void
support_zterm (void *ctx)
{
    for (int i = 0; i < S_SOCKETS; i++)
        if (s_open_sockets[i]) {
            zmq_close (s_open_sockets[i]);
            s_open_sockets[i] = NULL;
        }
    bus_shutdown ();
    zmq_ctx_term (ctx);
}

//  ---------------------------------------------------------------------
//  Readers

const char *
support_read_file (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        print_error ("cannot open %s\n", path);
    assert_non_null (file);
    static char buf[4096];
    size_t n = fread (buf, 1, sizeof buf - 1, file);
    buf[n] = '\0';
    fclose (file);
    return buf;
}

const char *
support_str (const cJSON *json, const char *key)
{
    const cJSON *item = cJSON_GetObjectItem (json, key);
    assert_true (cJSON_IsString (item));
    return item->valuestring;
}

int64_t
support_int (const cJSON *json, const char *key)
{
    const cJSON *item = cJSON_GetObjectItem (json, key);
    assert_true (cJSON_IsNumber (item));
    return (int64_t) item->valuedouble;
}

int64_t
support_count (db_t *db, const char *table)
{
    char sql[128];
    int n = snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM %s", table);
    assert_true (n > 0 && (size_t) n < sizeof sql);
    return db_scalar_int (db, sql, NULL, -1);
}

void *
support_calloc (size_t count, size_t size)
{
    void *p = calloc (count, size);
    assert_non_null (p);
    return p;
}

void *
support_zctx (void)
{
    void *ctx = zmq_ctx_new ();
    assert_non_null (ctx);
    return ctx;
}

err_t
support_refuse_commit (db_t *db, void *arg, err_info_t *err)
{
    (void) db;
    (void) arg;
    return err_set (err, ERR_UNAVAILABLE, NULL, "the disk is full (test)");
}

int
support_strcmp (const void *a, const void *b)
{
    return strcmp (a, b);
}

int
support_sodium_setup (void **state)
{
    (void) state;
    log_set_level (LOG_ERROR);
    return sodium_init () < 0 ? -1 : 0;
}
