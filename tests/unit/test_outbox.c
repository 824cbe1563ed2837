//  Unit tests for common/outbox.c: the envelope written by outbox_append,
//  gap-free seqs, and the publisher thread (order, heartbeats, restart,
//  shutdown, pruning).
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <time.h>
#include <cmocka.h>

#include "clock.h"
#include "id.h"
#include "log.h"
#include "outbox.h"
#include "bus.h"

#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP setup
#define SUPPORT_TEARDOWN teardown

//  Publishers a test started: teardown stops what a failed assertion left
//  running, before the pool they use goes away.
static publisher_t *s_running[4];

static publisher_t *
s_publisher_new (db_pool_t *pool, void *ctx, const char *endpoint, const char *curve_dir, int days,
                 int sndhwm)
{
    publisher_t *pub = publisher_new (pool, ctx, endpoint, curve_dir, days, sndhwm);
    for (int i = 0; pub && i < 4; i++)
        if (!s_running[i]) {
            s_running[i] = pub;
            break;
        }
    return pub;
}

static void
s_publisher_destroy (publisher_t **pub_p)
{
    publisher_t *pub = *pub_p;
    for (int i = 0; pub && i < 4; i++)
        if (s_running[i] == pub)
            s_running[i] = NULL;
    publisher_destroy (&pub);
    *pub_p = NULL;
}

typedef struct {
    char dir[64];
    char path[128];
    char endpoint[128];
    db_pool_t *pool;
    db_t *db;
    void *ctx;
} fixture_t;

//  The fixture's publisher on its endpoint, without CURVE, keeping days of
//  outbox rows (0: all); it must start.
static publisher_t *
s_start (fixture_t *f, int days)
{
    publisher_t *pub = s_publisher_new (f->pool, f->ctx, f->endpoint, NULL, days, 0);
    assert_non_null (pub);
    return pub;
}

static void
s_open (fixture_t *f)
{
    const db_migration_t migrations[] = { { "outbox.1", outbox_migration_sql } };
    f->pool = support_pool_open (f->path, migrations, 1, &f->db);
}

static void
s_close (fixture_t *f)
{
    db_pool_destroy (&f->pool);
    assert_null (f->pool);
    f->db = NULL;
}

static int
setup (void **state)
{
    fixture_t *f = support_calloc (1, sizeof *f);
    support_tmpdir (f->dir, sizeof f->dir, f->path, sizeof f->path, "test_outbox");
    snprintf (f->endpoint, sizeof f->endpoint, "ipc://%s/pub", f->dir);
    outbox_set_source ("crm");
    s_open (f);
    f->ctx = support_zctx ();
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    for (int i = 0; i < 4; i++)
        if (s_running[i])
            s_publisher_destroy (&s_running[i]);
    s_close (f);
    support_zterm (f->ctx);
    support_rmtree (f->dir);
    free (f);
    return 0;
}

//  Append n "customer.updated" events in one transaction each.
static void
s_append (fixture_t *f, int n)
{
    err_info_t err;
    err_clear (&err);
    for (int i = 0; i < n; i++) {
        cJSON *data = cJSON_CreateObject ();
        cJSON_AddNumberToObject (data, "i", i);
        assert_int_equal (db_begin (f->db, &err), ERR_OK);
        assert_int_equal (outbox_append (f->db, NULL, "customer", "updated", NULL, i + 1, data, NULL, &err),
                          ERR_OK);
        assert_int_equal (db_commit (f->db, &err), ERR_OK);
        cJSON_Delete (data);
    }
}

static void *
s_subscriber (fixture_t *f, const char *prefix)
{
    void *sub = support_zsocket_timed (f->ctx, ZMQ_SUB, 3000);
    int hwm = 0;
    assert_int_equal (zmq_setsockopt (sub, ZMQ_RCVHWM, &hwm, sizeof hwm), 0);
    //  Connected before the publisher binds, it tries again every 10 ms (not
    //  ZeroMQ's 100): the publisher waits only 250 ms before its first send,
    //  which a loaded machine's 100 ms retry and handshake could outlast,
    //  and a PUB socket drops what it sends to nobody.
    int ivl = 10;
    assert_int_equal (zmq_setsockopt (sub, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl), 0);
    assert_int_equal (zmq_setsockopt (sub, ZMQ_SUBSCRIBE, prefix, strlen (prefix)), 0);
    assert_int_equal (zmq_connect (sub, f->endpoint), 0);
    return sub;
}

//  Receive one event; returns its seq (-1 on timeout). topic_out may be NULL.
static int64_t
s_recv_seq (void *sub, char *topic_out, size_t topic_size)
{
    bus_msg_t msg;
    if (!bus_recv (sub, &msg, 0))
        return -1;
    assert_int_equal (msg.count, 2);
    if (topic_out)
        snprintf (topic_out, topic_size, "%s", msg.frames[0]);
    cJSON *json = cJSON_Parse (msg.frames[1]);
    assert_non_null (json);
    const cJSON *seq = cJSON_GetObjectItem (json, "seq");
    if (!seq)
        seq = cJSON_GetObjectItem (json, "last_seq");
    assert_true (cJSON_IsNumber (seq));
    int64_t v = (int64_t) seq->valuedouble;
    cJSON_Delete (json);
    bus_msg_free (&msg);
    return v;
}

static int64_t
s_published_seq (fixture_t *f)
{
    return db_scalar_int (f->db, "SELECT published_seq FROM publisher_state WHERE id = 1", NULL, -1);
}

static void
s_wait_last_sent (publisher_t *pub, int64_t seq)
{
    for (int i = 0; i < 300 && publisher_last_sent (pub) < seq; i++)
        usleep (10000);
    assert_int_equal (publisher_last_sent (pub), seq);
}

//  Wait for the publisher's pruning to leave seq the first row.
static void
s_wait_first_seq (fixture_t *f, int64_t seq)
{
    for (int i = 0; i < 300 && outbox_first_seq (f->db) != seq; i++)
        usleep (10000);
    assert_int_equal (outbox_first_seq (f->db), seq);
}

//  ---------------------------------------------------------------------

static void
test_outbox_append_writes_the_full_envelope (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    actor_t actor;
    memset (&actor, 0, sizeof actor);
    id_new (actor.user_id);
    char entity_id[ID_LEN];
    id_new (entity_id);
    cJSON *data = cJSON_Parse ("{\"id\":\"x\",\"name\":\"Acme \\\"Ltd\\\"\",\"n\":[1,2]}");
    assert_non_null (data);

    int64_t seq = 0;
    int64_t before = clock_now_ms ();
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (outbox_append (f->db, &actor, "customer", "created", entity_id, 7, data, &seq, &err),
                      ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    assert_int_equal (seq, 1);

    sqlite3_stmt *stmt = db_stmt (f->db, "SELECT topic, envelope, event_id, occurred_at FROM outbox WHERE seq = 1");
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    assert_string_equal ((const char *) sqlite3_column_text (stmt, 0), "crm.customer.created");
    cJSON *env = cJSON_Parse ((const char *) sqlite3_column_text (stmt, 1));
    assert_non_null (env);
    const char *id = cJSON_GetStringValue (cJSON_GetObjectItem (env, "id"));
    assert_true (id_valid (id));
    assert_string_equal (id, (const char *) sqlite3_column_text (stmt, 2));
    assert_string_equal (cJSON_GetObjectItem (env, "occurred_at")->valuestring,
                         (const char *) sqlite3_column_text (stmt, 3));
    sqlite3_reset (stmt);

    assert_string_equal (cJSON_GetObjectItem (env, "source")->valuestring, "crm");
    assert_int_equal ((int) cJSON_GetObjectItem (env, "seq")->valuedouble, 1);
    assert_string_equal (cJSON_GetObjectItem (env, "type")->valuestring, "customer.created");
    assert_string_equal (cJSON_GetObjectItem (env, "entity")->valuestring, "customer");
    assert_string_equal (cJSON_GetObjectItem (env, "entity_id")->valuestring, entity_id);
    assert_int_equal ((int) cJSON_GetObjectItem (env, "version")->valuedouble, 7);
    int64_t at = 0;
    assert_true (clock_parse (cJSON_GetObjectItem (env, "occurred_at")->valuestring, &at));
    assert_true (at >= before && at <= clock_now_ms ());
    assert_int_equal (strlen (cJSON_GetObjectItem (env, "occurred_at")->valuestring), 24);
    assert_string_equal (cJSON_GetObjectItem (env, "actor")->valuestring, actor.user_id);
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (env, "causation_id")));
    assert_true (cJSON_Compare (cJSON_GetObjectItem (env, "data"), data, true));
    cJSON_Delete (env);
    cJSON_Delete (data);
}

static void
test_outbox_bridge_actor_carries_causation_id (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    char cmd_id[ID_LEN];
    id_new (cmd_id);
    actor_t actor;
    memset (&actor, 0, sizeof actor);
    snprintf (actor.user_id, sizeof actor.user_id, "some-user");
    actor.is_bridge = true;
    actor.causation_id = cmd_id;

    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (outbox_append (f->db, &actor, "order", "status_changed", "o1", 2, NULL, NULL, &err),
                      ERR_OK);
    assert_int_equal (outbox_append (f->db, NULL, "stock", "alert", NULL, 1, NULL, NULL, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);

    sqlite3_stmt *stmt = db_stmt (f->db, "SELECT envelope FROM outbox ORDER BY seq");
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    cJSON *env = cJSON_Parse ((const char *) sqlite3_column_text (stmt, 0));
    assert_string_equal (cJSON_GetObjectItem (env, "actor")->valuestring, "bridge");
    assert_string_equal (cJSON_GetObjectItem (env, "causation_id")->valuestring, cmd_id);
    assert_true (cJSON_IsObject (cJSON_GetObjectItem (env, "data")));
    cJSON_Delete (env);
    assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
    env = cJSON_Parse ((const char *) sqlite3_column_text (stmt, 0));
    assert_string_equal (cJSON_GetObjectItem (env, "actor")->valuestring, "system");
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (env, "entity_id")));
    assert_true (cJSON_IsNull (cJSON_GetObjectItem (env, "causation_id")));
    cJSON_Delete (env);
    sqlite3_reset (stmt);
}

static void
test_outbox_append_outside_transaction_is_refused (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    assert_int_not_equal (outbox_append (f->db, NULL, "customer", "created", "c", 1, NULL, NULL, &err),
                          ERR_OK);
    assert_int_equal (outbox_last_seq (f->db), 0);
}

static void
test_outbox_rejects_names_that_break_topics (void **state)
{
    fixture_t *f = *state;
    //  A dot in the entity, an empty action, no entity.
    const struct {
        const char *entity, *action;
    } bad[] = { { "cust.omer", "created" }, { "customer", "" }, { NULL, "created" } };
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (outbox_append (f->db, NULL, bad[i].entity, bad[i].action, "c", 1, NULL, NULL, &err) == ERR_OK)
            fail_msg ("appended entity %s, action \"%s\"", bad[i].entity ? bad[i].entity : "NULL",
                      bad[i].action);
    db_rollback (f->db);
    assert_int_equal (outbox_last_seq (f->db), 0);
}

static void
test_outbox_seq_is_gap_free_across_restart (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    int64_t seq = 0;
    s_append (f, 3);
    //  A rolled-back transaction must not burn a seq.
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (outbox_append (f->db, NULL, "customer", "created", "c", 1, NULL, &seq, &err), ERR_OK);
    assert_int_equal (seq, 4);
    db_rollback (f->db);
    s_append (f, 2);
    s_close (f);
    s_open (f);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (outbox_append (f->db, NULL, "customer", "created", "c", 1, NULL, &seq, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    assert_int_equal (seq, 6);

    sqlite3_stmt *stmt = db_stmt (f->db, "SELECT seq FROM outbox ORDER BY seq");
    for (int64_t want = 1; want <= 6; want++) {
        assert_int_equal (sqlite3_step (stmt), SQLITE_ROW);
        assert_int_equal (sqlite3_column_int64 (stmt, 0), want);
    }
    assert_int_equal (sqlite3_step (stmt), SQLITE_DONE);
    sqlite3_reset (stmt);
    assert_int_equal (outbox_first_seq (f->db), 1);
    assert_int_equal (outbox_last_seq (f->db), 6);
}

typedef struct {
    int64_t seqs[16];
    int count;
    int stop_after;
} s_seen_t;

static bool
s_collect (int64_t seq, const char *topic, const char *envelope, size_t size, void *arg)
{
    s_seen_t *seen = arg;
    assert_string_equal (topic, "crm.customer.updated");
    assert_int_equal (strlen (envelope), size);
    if (seen->count == seen->stop_after)
        return false;
    seen->seqs[seen->count++] = seq;
    return true;
}

static void
test_outbox_each_reads_in_order_from_seq_up_to_max (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    s_append (f, 6);
    s_seen_t seen = { .stop_after = -1 };
    int count = 0;
    assert_int_equal (outbox_each (f->db, 2, 3, s_collect, &seen, &count, &err), ERR_OK);
    assert_int_equal (count, 3);
    assert_int_equal (seen.seqs[0], 2);
    assert_int_equal (seen.seqs[1], 3);
    assert_int_equal (seen.seqs[2], 4);

    s_seen_t stop = { .stop_after = 1 };
    assert_int_equal (outbox_each (f->db, 1, 100, s_collect, &stop, &count, &err), ERR_OK);
    assert_int_equal (count, 1);
}

//  outbox_hold keeps the events after its mark from every reader, and
//  lifting it gives them back.
static void
test_outbox_hold_keeps_later_events_from_readers (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    s_append (f, 5);
    outbox_hold (3);
    assert_int_equal (outbox_last_seq (f->db), 3);
    s_seen_t seen = { .stop_after = -1 };
    int count = 0;
    assert_int_equal (outbox_each (f->db, 2, 100, s_collect, &seen, &count, &err), ERR_OK);
    assert_int_equal (count, 2);
    assert_int_equal (seen.seqs[1], 3);
    //  a publisher started meanwhile sends up to the mark only
    void *sub = s_subscriber (f, "crm.customer.");
    publisher_t *pub = s_start (f, 0);
    for (int64_t want = 1; want <= 3; want++)
        assert_int_equal (s_recv_seq (sub, NULL, 0), want);
    s_wait_last_sent (pub, 3);
    publisher_notify (pub);
    zmq_pollitem_t more = { sub, 0, ZMQ_POLLIN, 0 };
    assert_int_equal (zmq_poll (&more, 1, 300), 0);    //  nothing after the mark
    outbox_hold (OUTBOX_NO_HOLD);
    assert_int_equal (outbox_last_seq (f->db), 5);
    publisher_notify (pub);
    assert_int_equal (s_recv_seq (sub, NULL, 0), 4);
    assert_int_equal (s_recv_seq (sub, NULL, 0), 5);
    s_wait_last_sent (pub, 5);
    s_publisher_destroy (&pub);
    support_zclose (sub);
}

static void
test_publisher_sends_committed_events_in_order (void **state)
{
    fixture_t *f = *state;
    s_append (f, 3);
    void *sub = s_subscriber (f, "crm.customer.");
    publisher_t *pub = s_start (f, 0);
    char topic[64];
    for (int64_t want = 1; want <= 3; want++) {
        assert_int_equal (s_recv_seq (sub, topic, sizeof topic), want);
        assert_string_equal (topic, "crm.customer.updated");
    }
    s_append (f, 2);
    publisher_notify (pub);
    assert_int_equal (s_recv_seq (sub, NULL, 0), 4);
    assert_int_equal (s_recv_seq (sub, NULL, 0), 5);
    //  The publisher notes a seq as sent once zmq_send returns, which can be
    //  after the subscriber already has it: wait for the note.
    s_wait_last_sent (pub, 5);
    s_publisher_destroy (&pub);
    assert_null (pub);
    publisher_destroy (&pub);       //  safe twice
    support_zclose (sub);
}

static void
test_publisher_sends_heartbeat_when_idle (void **state)
{
    fixture_t *f = *state;
    s_append (f, 2);
    void *sub = s_subscriber (f, "crm.heartbeat");
    publisher_t *pub = s_start (f, 0);

    bus_msg_t msg;
    assert_true (bus_recv (sub, &msg, 0));
    assert_int_equal (msg.count, 2);
    assert_string_equal (msg.frames[0], "crm.heartbeat");
    cJSON *body = cJSON_Parse (msg.frames[1]);
    assert_non_null (body);
    assert_string_equal (cJSON_GetObjectItem (body, "source")->valuestring, "crm");
    assert_int_equal ((int) cJSON_GetObjectItem (body, "last_seq")->valuedouble, 2);
    int64_t at;
    assert_true (clock_parse (cJSON_GetObjectItem (body, "at")->valuestring, &at));
    cJSON_Delete (body);
    bus_msg_free (&msg);

    //  Once a second: the next one comes about a second later.
    int64_t start = clock_mono_ms ();
    assert_int_equal (s_recv_seq (sub, NULL, 0), 2);
    int64_t interval = clock_mono_ms () - start;
    assert_true (interval >= 850 && interval <= 1300);
    s_publisher_destroy (&pub);
    support_zclose (sub);
}

static void
test_publisher_commit_hook_wakes_it_at_once (void **state)
{
    fixture_t *f = *state;
    void *sub = s_subscriber (f, "crm.");
    publisher_t *pub = s_start (f, 0);
    db_pool_on_commit (f->pool, publisher_wake, pub);
    //  Right after a heartbeat the timer is a second away: only the commit
    //  hook can make the event go out quickly.
    char topic[64];
    assert_int_equal (s_recv_seq (sub, topic, sizeof topic), 0);
    assert_string_equal (topic, "crm.heartbeat");
    int64_t start = clock_mono_ms ();
    s_append (f, 1);
    assert_int_equal (s_recv_seq (sub, topic, sizeof topic), 1);
    assert_string_equal (topic, "crm.customer.updated");
    assert_true (clock_mono_ms () - start < 400);
    db_pool_on_commit (f->pool, NULL, NULL);
    s_publisher_destroy (&pub);
    support_zclose (sub);
}

static void
test_publisher_resumes_after_restart_without_skipping (void **state)
{
    fixture_t *f = *state;
    s_append (f, 3);
    publisher_t *pub = s_start (f, 0);
    s_wait_last_sent (pub, 3);
    s_publisher_destroy (&pub);
    assert_int_equal (s_published_seq (f), 3);

    //  Events written while the publisher is down go out after a restart,
    //  and what was already sent is not sent again.
    s_append (f, 2);
    void *sub = s_subscriber (f, "crm.customer.");
    pub = s_start (f, 0);
    assert_int_equal (s_recv_seq (sub, NULL, 0), 4);
    assert_int_equal (s_recv_seq (sub, NULL, 0), 5);
    s_publisher_destroy (&pub);
    assert_int_equal (s_published_seq (f), 5);

    //  A crash after sending 4 and 5 but before saving: they are sent again
    //  (duplicates are allowed, gaps are not).
    assert_int_equal (db_exec (f->db, "UPDATE publisher_state SET published_seq = 3", NULL), ERR_OK);
    pub = s_start (f, 0);
    assert_int_equal (s_recv_seq (sub, NULL, 0), 4);
    assert_int_equal (s_recv_seq (sub, NULL, 0), 5);
    s_publisher_destroy (&pub);
    support_zclose (sub);
}

static void
test_publisher_without_state_publishes_everything (void **state)
{
    fixture_t *f = *state;
    s_append (f, 2);
    assert_int_equal (s_published_seq (f), -1);
    void *sub = s_subscriber (f, "crm.customer.");
    publisher_t *pub = s_start (f, 0);
    assert_int_equal (s_recv_seq (sub, NULL, 0), 1);
    assert_int_equal (s_recv_seq (sub, NULL, 0), 2);
    //  Saved within about a second, not only at shutdown.
    for (int i = 0; i < 200 && s_published_seq (f) != 2; i++)
        usleep (10000);
    assert_int_equal (s_published_seq (f), 2);
    s_publisher_destroy (&pub);
    support_zclose (sub);
}

static void
test_publisher_destroy_sends_what_was_committed (void **state)
{
    fixture_t *f = *state;
    void *sub = s_subscriber (f, "crm.customer.");
    //  A mark above the burst: past the default (PUBLISHER_SNDHWM, 1,000)
    //  the PUB socket may drop what its I/O thread has not moved yet, as
    //  for a slow subscriber, and the bridge replays it from the outbox.
    publisher_t *pub = s_publisher_new (f->pool, f->ctx, f->endpoint, NULL, 0, 10000);
    assert_non_null (pub);
    usleep (300000);    //  past the publisher's start-up pause
    s_append (f, 1200); //  more than two batches, and no notify
    s_publisher_destroy (&pub);
    assert_int_equal (s_published_seq (f), 1200);
    for (int64_t want = 1; want <= 1200; want++)
        assert_int_equal (s_recv_seq (sub, NULL, 0), want);
    support_zclose (sub);
}

//  rows events, those matching old (an SQL condition on seq) dated in 2000;
//  a publisher with a retention of a day must leave first..rows, however
//  long it goes on.
static void
s_expect_pruned_to (fixture_t *f, int rows, const char *old, int64_t first)
{
    s_append (f, rows);
    char sql[160];
    snprintf (sql, sizeof sql, "UPDATE outbox SET occurred_at = '2000-01-01T00:00:00.000Z' WHERE %s", old);
    assert_int_equal (db_exec (f->db, sql, NULL), ERR_OK);
    publisher_t *pub = s_start (f, 1);
    s_wait_first_seq (f, first);
    usleep (200000);    //  the next turns do not pass it
    assert_int_equal (outbox_first_seq (f->db), first);
    assert_int_equal (outbox_last_seq (f->db), rows);
    s_publisher_destroy (&pub);
}

static void
test_publisher_prunes_old_published_rows (void **state)
{
    s_expect_pruned_to (*state, 5, "seq <= 3", 4);
}

static void
test_publisher_prune_keeps_the_newest_row (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    s_expect_pruned_to (f, 4, "1", 4);
    int64_t seq = 0;
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (outbox_append (f->db, NULL, "customer", "created", "c", 1, NULL, &seq, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    assert_int_equal (seq, 5);
}

//  A backlog of more than a batch (1,000 rows) goes in batches, and only as
//  a prefix: the first row young enough to keep stops the prune, however
//  old the rows after it are.
static void
test_publisher_prunes_a_backlog_in_batches_up_to_the_first_young_row (void **state)
{
    s_expect_pruned_to (*state, 2600, "seq <> 2300", 2300);
}

static void
test_publisher_new_fails_on_bad_endpoint (void **state)
{
    fixture_t *f = *state;
    assert_null (s_publisher_new (f->pool, f->ctx, "tcp://no-such-host-name.invalid:x", NULL, 0, 0));
    //  A TCP port that is taken.
    void *other = support_zsocket (f->ctx, ZMQ_PUB);
    assert_non_null (other);
    assert_int_equal (zmq_bind (other, "tcp://127.0.0.1:*"), 0);
    char endpoint[128];
    size_t size = sizeof endpoint;
    assert_int_equal (zmq_getsockopt (other, ZMQ_LAST_ENDPOINT, endpoint, &size), 0);
    assert_null (s_publisher_new (f->pool, f->ctx, endpoint, NULL, 0, 0));
    support_zclose (other);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        SUPPORT_TEST (test_outbox_append_writes_the_full_envelope),
        SUPPORT_TEST (test_outbox_bridge_actor_carries_causation_id),
        SUPPORT_TEST (test_outbox_append_outside_transaction_is_refused),
        SUPPORT_TEST (test_outbox_rejects_names_that_break_topics),
        SUPPORT_TEST (test_outbox_seq_is_gap_free_across_restart),
        SUPPORT_TEST (test_outbox_each_reads_in_order_from_seq_up_to_max),
        SUPPORT_TEST (test_outbox_hold_keeps_later_events_from_readers),
        SUPPORT_TEST (test_publisher_sends_committed_events_in_order),
        SUPPORT_TEST (test_publisher_sends_heartbeat_when_idle),
        SUPPORT_TEST (test_publisher_commit_hook_wakes_it_at_once),
        SUPPORT_TEST (test_publisher_resumes_after_restart_without_skipping),
        SUPPORT_TEST (test_publisher_without_state_publishes_everything),
        SUPPORT_TEST (test_publisher_destroy_sends_what_was_committed),
        SUPPORT_TEST (test_publisher_prunes_old_published_rows),
        SUPPORT_TEST (test_publisher_prune_keeps_the_newest_row),
        SUPPORT_TEST (test_publisher_prunes_a_backlog_in_batches_up_to_the_first_young_row),
        SUPPORT_TEST (test_publisher_new_fails_on_bad_endpoint),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
