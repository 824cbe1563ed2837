//  test_smtp: the message smtp_format builds (headers, encoding, CRLF,
//  refused header injection) and smtp_send against a real SMTP server on
//  loopback (Debian's python3-aiosmtpd writing a maildir).
#include "smtp.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

static const smtp_config_t s_cfg = { .url = "smtp://127.0.0.1:1", .from = "crm@example.org" };

//  The text smtp_format makes of m, which it must accept. Caller frees.
static char *
s_format (const smtp_message_t *m)
{
    err_info_t err = { 0 };
    char *text = smtp_format (&s_cfg, m, &err);
    assert_non_null (text);
    return text;
}

static void
test_format_gives_headers_and_crlf_body (void **state)
{
    (void) state;
    smtp_message_t m = { .to = "ana@example.org", .subject = "Hello", .text = "line one\nline two\n",
                         .message_id = "<m1@example.org>", .unsubscribe = "https://crm.example/u/abc" };
    char *t = s_format (&m);
    assert_non_null (strstr (t, "\r\nFrom: <crm@example.org>\r\nTo: <ana@example.org>\r\nSubject: Hello\r\n"));
    assert_non_null (strstr (t, "Message-ID: <m1@example.org>\r\n"));
    assert_non_null (strstr (t, "List-Unsubscribe: <https://crm.example/u/abc>\r\n"));
    assert_non_null (strstr (t, "\r\n\r\nline one\r\nline two\r\n"));
    assert_null (strstr (t, "two\n\n"));
    free (t);
}

static void
test_format_encodes_a_non_ascii_subject (void **state)
{
    (void) state;
    smtp_message_t m = { .to = "ana@example.org", .subject = "Nabídka", .text = "x" };
    char *t = s_format (&m);
    //  base64 of "Nabídka" (UTF-8) is TmFiw61ka2E=
    assert_non_null (strstr (t, "Subject: =?UTF-8?B?TmFiw61ka2E=?=\r\n"));
    free (t);
}

static void
test_format_refuses_header_injection_and_bad_addresses (void **state)
{
    (void) state;
    err_info_t err = { 0 };
    smtp_message_t m = { .to = "ana@example.org", .subject = "Hi\r\nBcc: all@example.org", .text = "x" };
    assert_null (smtp_format (&s_cfg, &m, &err));
    assert_int_equal (err.code, ERR_INVALID);
    smtp_message_t bad_to = { .to = "ana@example.org>\r\nX: y", .subject = "Hi", .text = "x" };
    assert_null (smtp_format (&s_cfg, &bad_to, &err));
    smtp_message_t no_at = { .to = "ana", .subject = "Hi", .text = "x" };
    assert_null (smtp_format (&s_cfg, &no_at, &err));
    assert_int_equal (smtp_send (&s_cfg, &no_at, NULL, &err), ERR_INVALID);
}

static void
test_send_to_nothing_listening_is_an_io_error (void **state)
{
    (void) state;
    err_info_t err = { 0 };
    smtp_message_t m = { .to = "ana@example.org", .subject = "Hi", .text = "x" };
    long reply = -1;
    assert_int_equal (smtp_send (&s_cfg, &m, &reply, &err), ERR_IO);
    assert_int_equal (reply, 0);
    smtp_config_t http = s_cfg;
    http.url = "http://127.0.0.1:1";
    assert_int_equal (smtp_send (&http, &m, NULL, &err), ERR_INVALID);
}

static bool
s_listening (int port)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    bool ok = connect (fd, (struct sockaddr *) &a, sizeof a) == 0;
    close (fd);
    return ok;
}

//  A loopback port free now (the kernel's pick).
static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET };
    a.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    socklen_t n = sizeof a;
    assert_int_equal (bind (fd, (struct sockaddr *) &a, sizeof a), 0);
    assert_int_equal (getsockname (fd, (struct sockaddr *) &a, &n), 0);
    close (fd);
    return ntohs (a.sin_port);
}

//  The one message in maildir/new, read whole.
static char *
s_read_mail (const char *dir)
{
    char path[600];
    snprintf (path, sizeof path, "%s/new", dir);
    for (int tries = 0; tries < 50; tries++) {
        DIR *d = opendir (path);
        struct dirent *e;
        while (d && (e = readdir (d))) {
            if (e->d_name[0] == '.')
                continue;
            char file[900];
            snprintf (file, sizeof file, "%s/%s", path, e->d_name);
            closedir (d);
            FILE *f = fopen (file, "rb");
            assert_non_null (f);
            char *s = calloc (1, 65536);
            size_t n = fread (s, 1, 65535, f);
            s[n] = 0;
            fclose (f);
            return s;
        }
        if (d)
            closedir (d);
        usleep (100000);
    }
    return NULL;
}

static void
test_send_delivers_to_a_real_smtp_server (void **state)
{
    (void) state;
    if (access ("/usr/bin/python3", X_OK) != 0)
        fail_msg ("/usr/bin/python3 with aiosmtpd is needed (scripts/deps.sh)");
    char dir[] = "/tmp/test_smtp.XXXXXX";
    assert_non_null (mkdtemp (dir));
    int port = s_free_port ();
    char box[64];
    snprintf (box, sizeof box, "%s/box", dir);
    char listen[64];
    snprintf (listen, sizeof listen, "127.0.0.1:%d", port);
    pid_t pid = fork ();
    assert_true (pid >= 0);
    if (pid == 0) {
        execl ("/usr/bin/python3", "python3", "-m", "aiosmtpd", "-n", "-l", listen, "-c",
               "aiosmtpd.handlers.Mailbox", box, (char *) NULL);
        _exit (127);
    }
    int up = 0;
    while (up < 100 && !s_listening (port) && waitpid (pid, NULL, WNOHANG) == 0) {
        usleep (100000);
        up++;
    }
    assert_true (up < 100);
    char url[80];
    snprintf (url, sizeof url, "smtp://127.0.0.1:%d", port);
    smtp_config_t cfg = { .url = url, .from = "crm@example.org", .timeout_ms = 10000 };
    smtp_message_t m = { .to = "ana@example.org", .subject = "Your offer", .text = "Dear Ana,\n.dot line\nBye\n",
                         .message_id = "<t1@example.org>" };
    err_info_t err = { 0 };
    long reply = 0;
    err_t rc = smtp_send (&cfg, &m, &reply, &err);
    char *mail = rc == ERR_OK ? s_read_mail (box) : NULL;
    kill (pid, SIGTERM);
    waitpid (pid, NULL, 0);
    char cmd[200];
    snprintf (cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system (cmd) != 0)
        fprintf (stderr, "could not remove %s\n", dir);
    assert_int_equal (rc, ERR_OK);
    assert_int_equal (reply, 250);
    assert_non_null (mail);
    assert_non_null (strstr (mail, "Subject: Your offer"));
    assert_non_null (strstr (mail, "To: <ana@example.org>"));
    assert_non_null (strstr (mail, "Message-ID: <t1@example.org>"));
    //  The dot at a line's start survives the transfer (dot-stuffing).
    assert_non_null (strstr (mail, "Dear Ana,\n.dot line\nBye"));
    free (mail);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_format_gives_headers_and_crlf_body),
        cmocka_unit_test (test_format_encodes_a_non_ascii_subject),
        cmocka_unit_test (test_format_refuses_header_injection_and_bad_addresses),
        cmocka_unit_test (test_send_to_nothing_listening_is_an_io_error),
        cmocka_unit_test (test_send_delivers_to_a_real_smtp_server),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
