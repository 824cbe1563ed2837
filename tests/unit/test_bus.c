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
    void *ctx;
} fixture_t;

static int
setup (void **state)
{
    fixture_t *f = support_calloc (1, sizeof *f);
    support_tmpdir (f->dir, sizeof f->dir, NULL, 0, "test_bus");
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
    err_info_t err;
    err_clear (&err);
    assert_int_equal (bus_curve_keygen (f->dir, "crm", &err), ERR_OK);

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
    err_info_t err;
    err_clear (&err);
    assert_int_equal (bus_curve_keygen (f->dir, "erp", &err), ERR_OK);
    char path[256];
    snprintf (path, sizeof path, "%s/erp.key", f->dir);
    char before[4096];
    snprintf (before, sizeof before, "%s", support_read_file (path));
    assert_int_equal (bus_curve_keygen (f->dir, "erp", &err), ERR_CONFLICT);
    assert_string_equal (support_read_file (path), before);
}

static void
test_curve_keygen_rejects_names_that_are_paths (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (bus_curve_keygen (f->dir, "../evil", &err), ERR_INVALID);
    assert_int_equal (bus_curve_keygen (f->dir, "", &err), ERR_INVALID);
    assert_int_equal (bus_curve_keygen (f->dir, ".hidden", &err), ERR_INVALID);
}

static void
test_curve_server_without_key_is_io_error (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    void *server = support_zsocket_timed (f->ctx, ZMQ_REP, 100);
    char allowed[128];
    snprintf (allowed, sizeof allowed, "%s/allowed", f->dir);
    assert_int_equal (mkdir (allowed, 0755), 0);
    assert_int_equal (bus_curve_server (f->ctx, server, f->dir, "nobody", &err), ERR_IO);
    assert_non_null (strstr (err.message, "nobody.key"));
    support_zclose (server);
}

static void
test_curve_malformed_certificate_is_rejected (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    char path[256];
    snprintf (path, sizeof path, "%s/allowed", f->dir);
    assert_int_equal (mkdir (path, 0755), 0);
    snprintf (path, sizeof path, "%s/bad.key", f->dir);
    FILE *file = fopen (path, "w");
    assert_non_null (file);
    //  Right length, but '~' and '"' are not Z85 digits.
    fputs ("curve\n    public-key = \"~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~~\"\n"
           "    secret-key = \"short\"\n", file);
    fclose (file);
    void *server = support_zsocket_timed (f->ctx, ZMQ_REP, 100);
    assert_int_equal (bus_curve_server (f->ctx, server, f->dir, "bad", &err), ERR_IO);
    assert_non_null (strstr (err.message, "public-key"));
    support_zclose (server);
}

static void
test_curve_allowed_client_gets_reply (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (bus_curve_keygen (f->dir, "crm", &err), ERR_OK);
    assert_int_equal (bus_curve_keygen (f->dir, "bridge", &err), ERR_OK);
    s_allow (f->dir, "bridge", f->dir);

    char endpoint[128];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/sock", f->dir);
    void *server = support_zsocket_timed (f->ctx, ZMQ_REP, 2000);
    assert_int_equal (bus_curve_server (f->ctx, server, f->dir, "crm", &err), ERR_OK);
    assert_int_equal (zmq_bind (server, endpoint), 0);
    void *client = support_zsocket_timed (f->ctx, ZMQ_REQ, 2000);
    assert_int_equal (bus_curve_client (client, f->dir, "bridge", "crm", &err), ERR_OK);
    assert_int_equal (zmq_connect (client, endpoint), 0);

    assert_true (s_round_trip (server, client));
    support_zclose (client);
    support_zclose (server);
}

static void
test_curve_unknown_client_gets_nothing (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (bus_curve_keygen (f->dir, "crm", &err), ERR_OK);
    assert_int_equal (bus_curve_keygen (f->dir, "stranger", &err), ERR_OK);
    //  stranger's certificate is *not* copied to allowed/.

    char endpoint[128];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/sock", f->dir);
    void *server = support_zsocket_timed (f->ctx, ZMQ_REP, 400);
    assert_int_equal (bus_curve_server (f->ctx, server, f->dir, "crm", &err), ERR_OK);
    assert_int_equal (zmq_bind (server, endpoint), 0);

    void *stranger = support_zsocket_timed (f->ctx, ZMQ_DEALER, 400);
    assert_int_equal (bus_curve_client (stranger, f->dir, "stranger", "crm", &err), ERR_OK);
    assert_int_equal (zmq_connect (stranger, endpoint), 0);
    void *plain = support_zsocket_timed (f->ctx, ZMQ_DEALER, 400);
    assert_int_equal (zmq_connect (plain, endpoint), 0);

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
    err_info_t err;
    err_clear (&err);
    assert_int_equal (bus_curve_keygen (f->dir, "crm", &err), ERR_OK);
    assert_int_equal (bus_curve_keygen (f->dir, "late", &err), ERR_OK);

    char endpoint[128];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/sock", f->dir);
    void *server = support_zsocket_timed (f->ctx, ZMQ_REP, 300);
    assert_int_equal (bus_curve_server (f->ctx, server, f->dir, "crm", &err), ERR_OK);
    assert_int_equal (zmq_bind (server, endpoint), 0);

    void *client = support_zsocket_timed (f->ctx, ZMQ_REQ, 300);
    assert_int_equal (bus_curve_client (client, f->dir, "late", "crm", &err), ERR_OK);
    assert_int_equal (zmq_connect (client, endpoint), 0);
    assert_false (s_round_trip (server, client));
    support_zclose (client);

    s_allow (f->dir, "late", f->dir);
    client = support_zsocket_timed (f->ctx, ZMQ_REQ, 2000);
    int timeout = 2000;
    zmq_setsockopt (server, ZMQ_RCVTIMEO, &timeout, sizeof timeout);
    assert_int_equal (bus_curve_client (client, f->dir, "late", "crm", &err), ERR_OK);
    assert_int_equal (zmq_connect (client, endpoint), 0);
    assert_true (s_round_trip (server, client));
    support_zclose (client);
    support_zclose (server);
}

static void
test_curve_servers_in_one_context_keep_their_own_allowed_lists (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    char dir_a[128], dir_b[128];
    snprintf (dir_a, sizeof dir_a, "%s/a", f->dir);
    snprintf (dir_b, sizeof dir_b, "%s/b", f->dir);
    assert_int_equal (bus_curve_keygen (dir_a, "crm", &err), ERR_OK);
    assert_int_equal (bus_curve_keygen (dir_b, "erp", &err), ERR_OK);
    assert_int_equal (bus_curve_keygen (dir_a, "client", &err), ERR_OK);
    s_allow (dir_a, "client", dir_a);          //  allowed on A only
    s_give_server_key (dir_b, "erp", dir_a);

    char ep_a[160], ep_b[160];
    snprintf (ep_a, sizeof ep_a, "ipc://%s/a.sock", f->dir);
    snprintf (ep_b, sizeof ep_b, "ipc://%s/b.sock", f->dir);
    void *server_a = support_zsocket_timed (f->ctx, ZMQ_REP, 2000);
    void *server_b = support_zsocket_timed (f->ctx, ZMQ_REP, 400);
    assert_int_equal (bus_curve_server (f->ctx, server_a, dir_a, "crm", &err), ERR_OK);
    assert_int_equal (bus_curve_server (f->ctx, server_b, dir_b, "erp", &err), ERR_OK);
    assert_int_equal (zmq_bind (server_a, ep_a), 0);
    assert_int_equal (zmq_bind (server_b, ep_b), 0);

    void *to_a = support_zsocket_timed (f->ctx, ZMQ_REQ, 2000);
    void *to_b = support_zsocket_timed (f->ctx, ZMQ_REQ, 400);
    assert_int_equal (bus_curve_client (to_a, dir_a, "client", "crm", &err), ERR_OK);
    assert_int_equal (bus_curve_client (to_b, dir_a, "client", "erp", &err), ERR_OK);
    assert_int_equal (zmq_connect (to_a, ep_a), 0);
    assert_int_equal (zmq_connect (to_b, ep_b), 0);
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
    err_info_t err;
    err_clear (&err);
    assert_int_equal (bus_curve_keygen (f->dir, "bridge", &err), ERR_OK);
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
