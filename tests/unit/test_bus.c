//  Unit tests for common/bus.c: multi-frame messages, certificate files and
//  the ZAP handler that admits only allowed CURVE clients.
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "bus.h"
#include "log.h"

#include "support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP setup
#define SUPPORT_TEARDOWN teardown

typedef struct {
    char dir[64];
    char endpoint[128];   //  ipc://<dir>/sock
    void *ctx;
} fixture_t;

static int
setup (void **state)
{
    fixture_t *f = support_calloc (1, sizeof *f);
    support_tmpdir (f->dir, sizeof f->dir, NULL, 0, "test_bus");
    snprintf (f->endpoint, sizeof f->endpoint, "ipc://%s/sock", f->dir);
    f->ctx = support_zctx ();
    *state = f;
    return 0;
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    support_zterm (f->ctx);
    support_rmtree (f->dir);
    free (f);
    return 0;
}

//  Copy the file from to the file to.
static void
s_copy_file (const char *from, const char *to)
{
    const char *text = support_read_file (from);
    FILE *file = fopen (to, "w");
    assert_non_null (file);
    fputs (text, file);
    fclose (file);
}

//  Copy dir/name.pub to dir2/allowed/name.pub.
static void
s_allow (const char *dir, const char *name, const char *server_dir)
{
    char from[256], to[256];
    snprintf (from, sizeof from, "%s/%s.pub", dir, name);
    snprintf (to, sizeof to, "%s/allowed/%s.pub", server_dir, name);
    s_copy_file (from, to);
}

//  Copy server's public certificate into a client's directory.
static void
s_give_server_key (const char *server_dir, const char *server, const char *client_dir)
{
    char from[256], to[256];
    snprintf (from, sizeof from, "%s/%s.pub", server_dir, server);
    snprintf (to, sizeof to, "%s/%s.pub", client_dir, server);
    if (strcmp (from, to) == 0)
        return;
    s_copy_file (from, to);
}

//  Send "ping" from client, expect server (REP) to receive it and answer.
//  Returns whether the round trip worked.
static bool
s_round_trip (void *server, void *client)
{
    if (zmq_send (client, "ping", 4, 0) != 4)
        return false;
    char buf[16];
    int n = zmq_recv (server, buf, sizeof buf, 0);
    if (n != 4)
        return false;
    if (zmq_send (server, "pong", 4, 0) != 4)
        return false;
    n = zmq_recv (client, buf, sizeof buf, 0);
    return n == 4 && memcmp (buf, "pong", 4) == 0;
}

//  Make the key pair of name in dir, which must succeed.
static void
s_keygen (const char *dir, const char *name)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (bus_curve_keygen (dir, name, &err), ERR_OK);
}

//  Make dir/allowed, where a CURVE server finds the clients it admits.
static void
s_mkdir_allowed (const char *dir)
{
    char allowed[160];
    snprintf (allowed, sizeof allowed, "%s/allowed", dir);
    assert_int_equal (mkdir (allowed, 0755), 0);
}

//  bus_curve_server as name (keys in f->dir) must fail with ERR_IO, its
//  message naming what.
static void
s_expect_server_io_error (fixture_t *f, const char *name, const char *what)
{
    err_info_t err;
    err_clear (&err);
    void *server = support_zsocket_timed (f->ctx, ZMQ_REP, 100);
    assert_int_equal (bus_curve_server (f->ctx, server, f->dir, name, &err), ERR_IO);
    assert_non_null (strstr (err.message, what));
    support_zclose (server);
}

//  A REP socket serving CURVE as name (its keys and allowed/ in dir),
//  bound to endpoint.
static void *
s_curve_server (fixture_t *f, const char *dir, const char *name, const char *endpoint,
                int timeout_ms)
{
    err_info_t err;
    err_clear (&err);
    void *server = support_zsocket_timed (f->ctx, ZMQ_REP, timeout_ms);
    assert_int_equal (bus_curve_server (f->ctx, server, dir, name, &err), ERR_OK);
    assert_int_equal (zmq_bind (server, endpoint), 0);
    return server;
}

//  A socket of type speaking CURVE as name (its keys in dir) to server,
//  connected to endpoint.
static void *
s_curve_client (fixture_t *f, int type, const char *dir, const char *name, const char *server,
                const char *endpoint, int timeout_ms)
{
    err_info_t err;
    err_clear (&err);
    void *client = support_zsocket_timed (f->ctx, type, timeout_ms);
    assert_int_equal (bus_curve_client (client, dir, name, server, &err), ERR_OK);
    assert_int_equal (zmq_connect (client, endpoint), 0);
    return client;
}

//  ---------------------------------------------------------------------

static void
test_bus_send_recv_keeps_every_frame (void **state)
{
    fixture_t *f = *state;
    void *a = support_zsocket_timed (f->ctx, ZMQ_PAIR, 1000);
    void *b = support_zsocket_timed (f->ctx, ZMQ_PAIR, 1000);
    assert_int_equal (zmq_bind (a, "inproc://frames"), 0);
    assert_int_equal (zmq_connect (b, "inproc://frames"), 0);

    const char binary[] = { 'x', '\0', 'y' };
    const char *frames[3] = { "topic", "", binary };
    size_t sizes[3] = { 5, 0, sizeof binary };
    assert_true (bus_send (a, 3, frames, sizes));

    bus_msg_t msg;
    assert_true (bus_recv (b, &msg, 0));
    assert_int_equal (msg.count, 3);
    assert_int_equal (msg.sizes[0], 5);
    assert_string_equal (msg.frames[0], "topic");
    assert_int_equal (msg.sizes[1], 0);
    assert_string_equal (msg.frames[1], "");
    assert_int_equal (msg.sizes[2], 3);
    assert_memory_equal (msg.frames[2], binary, 3);
    assert_int_equal (msg.frames[2][3], '\0');
    bus_msg_free (&msg);
    assert_int_equal (msg.count, 0);
    assert_null (msg.frames);

    support_zclose (a);
    support_zclose (b);
}

static void
test_bus_recv_returns_false_on_timeout (void **state)
{
    fixture_t *f = *state;
    void *a = support_zsocket_timed (f->ctx, ZMQ_PAIR, 50);
    assert_int_equal (zmq_bind (a, "inproc://nothing"), 0);
    bus_msg_t msg;
    assert_false (bus_recv (a, &msg, 0));
    assert_int_equal (zmq_errno (), EAGAIN);
    assert_int_equal (msg.count, 0);
    assert_false (bus_recv (a, &msg, ZMQ_DONTWAIT));
    support_zclose (a);
}

static void
test_bus_send_refuses_empty_message (void **state)
{
    fixture_t *f = *state;
    void *a = support_zsocket_timed (f->ctx, ZMQ_PAIR, 50);
    assert_false (bus_send (a, 0, NULL, NULL));
    support_zclose (a);
}

static void
test_curve_keygen_writes_secret_file_mode_0600 (void **state)
{
    fixture_t *f = *state;
    s_keygen (f->dir, "crm");

    char path[256];
    struct stat st;
    snprintf (path, sizeof path, "%s/crm.key", f->dir);
    assert_int_equal (stat (path, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);

    char secret[41] = "", public_key[41] = "", pub_public[41] = "";
    const char *text = support_read_file (path);
    const char *p = strstr (text, "public-key = \"");
    assert_non_null (p);
    memcpy (public_key, p + 14, 40);
    p = strstr (text, "secret-key = \"");
    assert_non_null (p);
    memcpy (secret, p + 14, 40);

    //  The public key really belongs to the secret key.
    char derived[41];
    assert_int_equal (zmq_curve_public (derived, secret), 0);
    assert_string_equal (derived, public_key);

    snprintf (path, sizeof path, "%s/crm.pub", f->dir);
    text = support_read_file (path);
    assert_null (strstr (text, "secret-key"));
    p = strstr (text, "public-key = \"");
    assert_non_null (p);
    memcpy (pub_public, p + 14, 40);
    assert_string_equal (pub_public, public_key);

    snprintf (path, sizeof path, "%s/allowed", f->dir);
    assert_int_equal (stat (path, &st), 0);
    assert_true (S_ISDIR (st.st_mode));
}

static void
test_curve_keygen_refuses_to_overwrite_a_key (void **state)
{
    fixture_t *f = *state;
    s_keygen (f->dir, "erp");
    char path[256];
    snprintf (path, sizeof path, "%s/erp.key", f->dir);
    char before[4096];
    snprintf (before, sizeof before, "%s", support_read_file (path));
    err_info_t err;
    err_clear (&err);
    assert_int_equal (bus_curve_keygen (f->dir, "erp", &err), ERR_CONFLICT);
    assert_string_equal (support_read_file (path), before);
}

static void
test_curve_keygen_rejects_names_that_are_paths (void **state)
{
    fixture_t *f = *state;
    const char *bad[] = { "../evil", "", ".hidden" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err_info_t err;
        err_clear (&err);
        if (bus_curve_keygen (f->dir, bad[i], &err) != ERR_INVALID)
            fail_msg ("the key name \"%s\" was not refused as invalid", bad[i]);
    }
}

static void
test_curve_server_without_key_is_io_error (void **state)
{
    fixture_t *f = *state;
    s_mkdir_allowed (f->dir);
    s_expect_server_io_error (f, "nobody", "nobody.key");
}

static void
test_curve_malformed_certificate_is_rejected (void **state)
{
    fixture_t *f = *state;
    s_mkdir_allowed (f->dir);
    char path[256];
    snprintf (path, sizeof path, "%s/bad.key", f->dir);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    //  Right length, but '~' and '"' are not Z85 digits.
    fputs ("curve\n    public-key = \"~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\"\n"
           "    secret-key = \"short\"\n", file);
    fclose (file);
    s_expect_server_io_error (f, "bad", "public-key");
}

static void
test_curve_allowed_client_gets_reply (void **state)
{
    fixture_t *f = *state;
    s_keygen (f->dir, "crm");
    s_keygen (f->dir, "bridge");
    s_allow (f->dir, "bridge", f->dir);
    void *server = s_curve_server (f, f->dir, "crm", f->endpoint, 2000);
    void *client = s_curve_client (f, ZMQ_REQ, f->dir, "bridge", "crm", f->endpoint, 2000);
    assert_true (s_round_trip (server, client));
    support_zclose (client);
    support_zclose (server);
}

static void
test_curve_unknown_client_gets_nothing (void **state)
{
    fixture_t *f = *state;
    s_keygen (f->dir, "crm");
    s_keygen (f->dir, "stranger");
    //  stranger's certificate is *not* copied to allowed/.
    void *server = s_curve_server (f, f->dir, "crm", f->endpoint, 400);
    void *stranger = s_curve_client (f, ZMQ_DEALER, f->dir, "stranger", "crm", f->endpoint, 400);
    void *plain = support_zsocket_timed (f->ctx, ZMQ_DEALER, 400);
    assert_int_equal (zmq_connect (plain, f->endpoint), 0);

    //  DEALER queues without a connection, so the send itself succeeds.
    zmq_send (stranger, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (stranger, "hello", 5, ZMQ_DONTWAIT);
    zmq_send (plain, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (plain, "hello", 5, ZMQ_DONTWAIT);

    char buf[16];
    assert_int_equal (zmq_recv (server, buf, sizeof buf, 0), -1);
    assert_int_equal (zmq_errno (), EAGAIN);
    assert_int_equal (zmq_recv (stranger, buf, sizeof buf, 0), -1);
    assert_int_equal (zmq_recv (plain, buf, sizeof buf, 0), -1);

    support_zclose (stranger);
    support_zclose (plain);
    support_zclose (server);
}

static void
test_curve_allowed_dir_is_read_on_each_handshake (void **state)
{
    fixture_t *f = *state;
    s_keygen (f->dir, "crm");
    s_keygen (f->dir, "late");
    void *server = s_curve_server (f, f->dir, "crm", f->endpoint, 300);
    void *client = s_curve_client (f, ZMQ_REQ, f->dir, "late", "crm", f->endpoint, 300);
    assert_false (s_round_trip (server, client));
    support_zclose (client);

    s_allow (f->dir, "late", f->dir);
    int timeout = 2000;
    zmq_setsockopt (server, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    client = s_curve_client (f, ZMQ_REQ, f->dir, "late", "crm", f->endpoint, 2000);
    assert_true (s_round_trip (server, client));
    support_zclose (client);
    support_zclose (server);
}

static void
test_curve_servers_in_one_context_keep_their_own_allowed_lists (void **state)
{
    fixture_t *f = *state;
    char dir_a[128], dir_b[128];
    snprintf (dir_a, sizeof dir_a, "%s/a", f->dir);
    snprintf (dir_b, sizeof dir_b, "%s/b", f->dir);
    s_keygen (dir_a, "crm");
    s_keygen (dir_b, "erp");
    s_keygen (dir_a, "client");
    s_allow (dir_a, "client", dir_a);          //  allowed on A only
    s_give_server_key (dir_b, "erp", dir_a);

    char ep_a[160], ep_b[160];
    snprintf (ep_a, sizeof ep_a, "ipc://%s/a.sock", f->dir);
    snprintf (ep_b, sizeof ep_b, "ipc://%s/b.sock", f->dir);
    void *server_a = s_curve_server (f, dir_a, "crm", ep_a, 2000);
    void *server_b = s_curve_server (f, dir_b, "erp", ep_b, 400);
    void *to_a = s_curve_client (f, ZMQ_REQ, dir_a, "client", "crm", ep_a, 2000);
    void *to_b = s_curve_client (f, ZMQ_REQ, dir_a, "client", "erp", ep_b, 400);
    assert_true (s_round_trip (server_a, to_a));
    assert_false (s_round_trip (server_b, to_b));

    support_zclose (to_a);
    support_zclose (to_b);
    support_zclose (server_a);
    support_zclose (server_b);
}

static void
test_curve_client_without_server_certificate_is_io_error (void **state)
{
    fixture_t *f = *state;
    s_keygen (f->dir, "bridge");
    err_info_t err;
    err_clear (&err);
    void *client = support_zsocket_timed (f->ctx, ZMQ_REQ, 100);
    assert_int_equal (bus_curve_client (client, f->dir, "bridge", "crm", &err), ERR_IO);
    assert_non_null (strstr (err.message, "crm.pub"));
    support_zclose (client);
}

//  Issue 13, "the bus is closed by default": without CURVE only endpoints
//  that stay on this host are allowed.
static void
test_bus_endpoint_local_accepts_only_this_host (void **state)
{
    (void) state;
    const char *local[] = { "tcp://127.0.0.1:5551", "tcp://127.1.2.3:1", "tcp://127.0.0.1:*", "tcp://[::1]:5551",
                            "tcp://[::ffff:127.0.0.1]:5551", "ipc:///tmp/x.sock", "inproc://events",
                            "tcp://10.0.0.1:5000;127.0.0.1:5551", NULL };
    const char *network[] = { "tcp://0.0.0.0:5551", "tcp://*:5551", "tcp://[::]:5551", "tcp://localhost:5551",
                              "tcp://eth0:5551", "tcp://192.0.2.7:5551", "tcp://128.0.0.1:5551",
                              "tcp://127.0.0.1.evil:5551", "tcp://127.0.0.1", "tcp://[::1:5551", "tcp://:5551",
                              "pgm://127.0.0.1;239.192.1.1:5555", "ws://127.0.0.1:80", "tcp://127.0.0.1:5551;10.0.0.1:1",
                              "", NULL };
    for (int i = 0; local[i]; i++)
        if (!bus_endpoint_local (local[i]))
            fail_msg ("%s should count as local", local[i]);
    for (int i = 0; network[i]; i++)
        if (bus_endpoint_local (network[i]))
            fail_msg ("%s should count as the network", network[i]);
    assert_false (bus_endpoint_local (NULL));
}

static void
test_bus_endpoints_allowed_reads_the_flag_and_names_the_first_refusal (void **state)
{
    (void) state;
    err_info_t err;
    err_clear (&err);
    static const char *const flags[] = { "--pub", "--cmd" };
    const char *const endpoints[] = { "tcp://127.0.0.1:5551", "tcp://0.0.0.0:5552" };
    bool insecure = true;
    assert_int_equal (bus_endpoints_allowed (flags, endpoints, 2, NULL, "no", &insecure, &err), ERR_INVALID);
    assert_false (insecure);
    assert_string_equal (err.field, "--cmd");
    assert_int_equal (bus_endpoints_allowed (flags, endpoints, 2, NULL, "yes", &insecure, &err), ERR_OK);
    assert_true (insecure);
    assert_int_equal (bus_endpoints_allowed (flags, endpoints, 2, NULL, "maybe", &insecure, &err), ERR_INVALID);
    assert_string_equal (err.message, "--insecure-bus-on-network must be yes or no");
}

static void
test_bus_endpoint_allowed_needs_curve_or_the_flag_beyond_loopback (void **state)
{
    (void) state;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (bus_endpoint_allowed ("--pub", "tcp://127.0.0.1:5551", NULL, false, &err), ERR_OK);
    assert_int_equal (bus_endpoint_allowed ("--pub", "tcp://0.0.0.0:5551", "/etc/crm", false, &err), ERR_OK);
    assert_int_equal (bus_endpoint_allowed ("--pub", "tcp://0.0.0.0:5551", NULL, true, &err), ERR_OK);
    assert_int_equal (bus_endpoint_allowed ("--cmd", "tcp://0.0.0.0:5552", NULL, false, &err), ERR_INVALID);
    assert_non_null (strstr (err.message, "--cmd tcp://0.0.0.0:5552 is not a loopback address"));
    assert_non_null (strstr (err.message, "--insecure-bus-on-network yes"));
    assert_string_equal (err.field, "--cmd");

    bool insecure = true;
    assert_true (bus_parse_insecure (NULL, &insecure));
    assert_false (insecure);
    assert_true (bus_parse_insecure ("YES", &insecure));
    assert_true (insecure);
    assert_true (bus_parse_insecure ("0", &insecure));
    assert_false (insecure);
    assert_false (bus_parse_insecure ("maybe", &insecure));
    assert_false (insecure);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        SUPPORT_TEST (test_bus_send_recv_keeps_every_frame),
        SUPPORT_TEST (test_bus_recv_returns_false_on_timeout),
        SUPPORT_TEST (test_bus_send_refuses_empty_message),
        SUPPORT_TEST (test_curve_keygen_writes_secret_file_mode_0600),
        SUPPORT_TEST (test_curve_keygen_refuses_to_overwrite_a_key),
        SUPPORT_TEST (test_curve_keygen_rejects_names_that_are_paths),
        SUPPORT_TEST (test_curve_server_without_key_is_io_error),
        SUPPORT_TEST (test_curve_malformed_certificate_is_rejected),
        SUPPORT_TEST (test_curve_allowed_client_gets_reply),
        SUPPORT_TEST (test_curve_unknown_client_gets_nothing),
        SUPPORT_TEST (test_curve_allowed_dir_is_read_on_each_handshake),
        SUPPORT_TEST (test_curve_servers_in_one_context_keep_their_own_allowed_lists),
        SUPPORT_TEST (test_curve_client_without_server_certificate_is_io_error),
        cmocka_unit_test (test_bus_endpoint_local_accepts_only_this_host),
        cmocka_unit_test (test_bus_endpoint_allowed_needs_curve_or_the_flag_beyond_loopback),
        cmocka_unit_test (test_bus_endpoints_allowed_reads_the_flag_and_names_the_first_refusal),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
