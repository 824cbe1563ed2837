//  test_auth: roles as bits, users, bearer tokens kept only as hashes,
//  revocation, inactive users, and the first-start bootstrap of the admin.
#include "auth.h"
#include "log.h"

#include <dirent.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

static const char *const s_roles[] = { "admin", "sales", "viewer", NULL };

typedef struct {
    char dir[64];
    char path[128];
    db_t *db;
} fixture_t;

static int
setup (void **state)
{
    fixture_t *f = calloc (1, sizeof *f);
    assert_non_null (f);
    snprintf (f->dir, sizeof f->dir, "/tmp/test_auth.XXXXXX");
    assert_non_null (mkdtemp (f->dir));
    snprintf (f->path, sizeof f->path, "%s/svc.db", f->dir);
    auth_set_roles (s_roles);
    auth_set_token_prefix ("tok");
    err_info_t err;
    err_clear (&err);
    f->db = db_open (f->path, "normal", &err);
    assert_non_null (f->db);
    const char *migrations[] = { auth_migration_sql };
    assert_int_equal (db_migrate (f->db, migrations, 1, &err), ERR_OK);
    *state = f;
    return 0;
}

static int
s_rm (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) st;
    (void) flag;
    (void) ftw;
    return remove (path);
}

static int
teardown (void **state)
{
    fixture_t *f = *state;
    db_destroy (&f->db);
    nftw (f->dir, s_rm, 16, FTW_DEPTH | FTW_PHYS);
    free (f);
    return 0;
}

//  Create a user and a token for it in one transaction.
static void
s_user_with_token (fixture_t *f, const char *name, const char *role, char *user_id, char *token,
                   char *token_id)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_user_create (f->db, name, NULL, role, user_id, &err), ERR_OK);
    assert_int_equal (auth_token_issue (f->db, user_id, "test", token, token_id, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
}

//  Whether needle occurs in any file of dir (the database, its WAL...).
static bool
s_dir_contains (const char *dir, const char *needle)
{
    DIR *d = opendir (dir);
    assert_non_null (d);
    bool found = false;
    struct dirent *e;
    size_t nlen = strlen (needle);
    while (!found && (e = readdir (d))) {
        if (e->d_name[0] == '.')
            continue;
        char path[512];
        snprintf (path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *in = fopen (path, "rb");
        if (!in)
            continue;
        fseek (in, 0, SEEK_END);
        long size = ftell (in);
        rewind (in);
        char *buf = malloc ((size_t) size + 1);
        assert_non_null (buf);
        size_t got = fread (buf, 1, (size_t) size, in);
        fclose (in);
        found = got >= nlen && memmem (buf, got, needle, nlen) != NULL;
        free (buf);
    }
    closedir (d);
    return found;
}

//  ---------------------------------------------------------------------
//  Roles

static void
test_auth_roles_are_bits_in_table_order (void **state)
{
    (void) state;
    auth_set_roles (s_roles);
    assert_int_equal (auth_role_bit ("admin"), 1);
    assert_int_equal (auth_role_bit ("sales"), 2);
    assert_int_equal (auth_role_bit ("viewer"), 4);
    assert_int_equal (auth_role_bit ("Admin"), 0);
    assert_int_equal (auth_role_bit ("nobody"), 0);
    assert_int_equal (auth_role_bit (NULL), 0);
    assert_string_equal (auth_role_name (1), "admin");
    assert_string_equal (auth_role_name (4), "viewer");
    assert_string_equal (auth_role_name (3), "unknown");   //  not a single bit
    assert_string_equal (auth_role_name (8), "unknown");
    assert_string_equal (auth_role_name (0), "unknown");
    assert_string_equal (auth_role_list (), "admin, sales, viewer");

    static const char *const other[] = { "admin", "warehouse", NULL };
    auth_set_roles (other);
    assert_int_equal (auth_role_bit ("warehouse"), 2);
    assert_int_equal (auth_role_bit ("sales"), 0);
    assert_string_equal (auth_role_list (), "admin, warehouse");
    auth_set_roles (s_roles);
}

//  ---------------------------------------------------------------------
//  Users

static void
test_auth_user_create_validates_name_and_role (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    char id[ID_LEN];
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_user_create (f->db, "ann", "ann@example.com", "sales", id, &err),
                      ERR_OK);
    assert_true (id_valid (id));
    assert_int_equal (auth_user_create (f->db, "bob", NULL, "chief", id, &err), ERR_INVALID);
    assert_string_equal (err.field, "role");
    assert_non_null (strstr (err.message, "admin, sales, viewer"));
    assert_int_equal (auth_user_create (f->db, "", NULL, "sales", id, &err), ERR_INVALID);
    assert_string_equal (err.field, "name");
    char long_name[80];
    memset (long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal (auth_user_create (f->db, long_name, NULL, "sales", id, &err), ERR_INVALID);
    assert_int_equal (auth_user_create (f->db, "ann", NULL, "viewer", id, &err), ERR_CONFLICT);
    assert_string_equal (err.field, "name");
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM users", NULL, -1), 1);
}

//  ---------------------------------------------------------------------
//  Tokens

static void
test_auth_token_has_prefix_and_checks_to_its_user (void **state)
{
    fixture_t *f = *state;
    auth_set_token_prefix ("crm");
    char user_id[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN];
    s_user_with_token (f, "ann", "sales", user_id, token, token_id);
    assert_true (id_valid (token_id));
    assert_int_equal (strncmp (token, "crm_", 4), 0);
    assert_int_equal (strlen (token), 4 + 43);   //  32 random bytes in unpadded base64url
    assert_int_equal (strspn (token + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789-_"),
                      43);

    actor_t actor;
    memset (&actor, 0x5a, sizeof actor);
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_OK);
    assert_string_equal (actor.user_id, user_id);
    assert_string_equal (actor.name, "ann");
    assert_int_equal (actor.role, auth_role_bit ("sales"));
    assert_false (actor.is_bridge);
    assert_null (actor.causation_id);
}

static void
test_auth_tokens_are_stored_only_as_hashes (void **state)
{
    fixture_t *f = *state;
    char user_id[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN];
    s_user_with_token (f, "ann", "sales", user_id, token, token_id);
    //  Neither the whole text nor its random part are anywhere on disk:
    //  not in the WAL now, nor in the database after a checkpoint.
    const char *random_part = strchr (token, '_') + 1;
    assert_false (s_dir_contains (f->dir, token));
    assert_false (s_dir_contains (f->dir, random_part));
    assert_true (s_dir_contains (f->dir, user_id));   //  the search itself works
    assert_int_equal (db_exec (f->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL), ERR_OK);
    assert_false (s_dir_contains (f->dir, token));
    assert_false (s_dir_contains (f->dir, random_part));
    //  What is stored is a 32-byte hash.
    assert_int_equal (
        db_scalar_int (f->db, "SELECT length(hash) FROM tokens WHERE id = ?1", token_id, -1), 32);
    assert_int_equal (db_scalar_int (f->db, "SELECT typeof(hash) = 'blob' FROM tokens", NULL, -1),
                      1);
}

static void
test_auth_check_token_refuses_unknown_and_malformed_tokens (void **state)
{
    fixture_t *f = *state;
    char user_id[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN];
    s_user_with_token (f, "ann", "sales", user_id, token, token_id);
    actor_t actor;
    assert_int_equal (auth_check_token (f->db, NULL, &actor), ERR_UNAUTHORIZED);
    assert_int_equal (auth_check_token (f->db, "", &actor), ERR_UNAUTHORIZED);
    assert_int_equal (auth_check_token (f->db, "tok_nothing", &actor), ERR_UNAUTHORIZED);
    //  One character off, a prefix, or the token with something after it.
    char other[AUTH_TOKEN_LEN + 8];
    snprintf (other, sizeof other, "%s", token);
    other[10] = other[10] == 'A' ? 'B' : 'A';
    assert_int_equal (auth_check_token (f->db, other, &actor), ERR_UNAUTHORIZED);
    snprintf (other, sizeof other, "%.*s", (int) strlen (token) - 1, token);
    assert_int_equal (auth_check_token (f->db, other, &actor), ERR_UNAUTHORIZED);
    snprintf (other, sizeof other, "%s ", token);
    assert_int_equal (auth_check_token (f->db, other, &actor), ERR_UNAUTHORIZED);
    char huge[4096];
    memset (huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal (auth_check_token (f->db, huge, &actor), ERR_UNAUTHORIZED);
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_OK);
}

static void
test_auth_revoked_token_fails_and_others_keep_working (void **state)
{
    fixture_t *f = *state;
    char user_id[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN];
    s_user_with_token (f, "ann", "sales", user_id, token, token_id);
    char token2[AUTH_TOKEN_LEN], token2_id[ID_LEN];
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_token_issue (f->db, user_id, NULL, token2, token2_id, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    assert_string_not_equal (token, token2);

    actor_t actor;
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_OK);
    assert_int_equal (auth_token_revoke (f->db, token_id, &err), ERR_OK);
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_UNAUTHORIZED);
    assert_int_equal (auth_check_token (f->db, token2, &actor), ERR_OK);
    //  Revoking twice, or an unknown id, finds nothing.
    assert_int_equal (auth_token_revoke (f->db, token_id, &err), ERR_NOT_FOUND);
    char unknown[ID_LEN];
    id_new (unknown);
    assert_int_equal (auth_token_revoke (f->db, unknown, &err), ERR_NOT_FOUND);
}

static void
test_auth_inactive_or_archived_user_token_fails (void **state)
{
    fixture_t *f = *state;
    char user_id[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN];
    s_user_with_token (f, "ann", "sales", user_id, token, token_id);
    actor_t actor;
    assert_int_equal (
        db_scalar_int (f->db, "UPDATE users SET active = 0 WHERE id = ?1 RETURNING 1", user_id, -1),
        1);
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_UNAUTHORIZED);
    db_scalar_int (f->db, "UPDATE users SET active = 1 WHERE id = ?1 RETURNING 1", user_id, -1);
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_OK);
    db_scalar_int (f->db, "UPDATE users SET archived = 1 WHERE id = ?1 RETURNING 1", user_id, -1);
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_UNAUTHORIZED);
    //  No new tokens for an archived user either.
    char token2[AUTH_TOKEN_LEN], token2_id[ID_LEN];
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_token_issue (f->db, user_id, NULL, token2, token2_id, &err),
                      ERR_NOT_FOUND);
    db_rollback (f->db);
}

static void
test_auth_user_with_role_unknown_to_the_service_is_refused (void **state)
{
    fixture_t *f = *state;
    char user_id[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN];
    s_user_with_token (f, "ann", "viewer", user_id, token, token_id);
    actor_t actor;
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_OK);
    //  The same database read by a service that has no such role.
    static const char *const fewer[] = { "admin", "sales", NULL };
    auth_set_roles (fewer);
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_UNAUTHORIZED);
    auth_set_roles (s_roles);
}

//  ---------------------------------------------------------------------
//  Bootstrap

static char *
s_slurp (const char *path)
{
    FILE *in = fopen (path, "rb");
    assert_non_null (in);
    static char buf[256];
    size_t n = fread (buf, 1, sizeof buf - 1, in);
    buf[n] = '\0';
    fclose (in);
    return buf;
}

static void
test_auth_bootstrap_creates_admin_once_with_0600_token_file (void **state)
{
    fixture_t *f = *state;
    char file[160];
    snprintf (file, sizeof file, "%s/admin.token", f->dir);
    err_info_t err;
    err_clear (&err);
    bool created = false;
    assert_int_equal (auth_bootstrap (f->db, file, &created, &err), ERR_OK);
    assert_true (created);
    assert_false (db_in_tx (f->db));

    struct stat st;
    assert_int_equal (stat (file, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);
    char token[AUTH_TOKEN_LEN];
    snprintf (token, sizeof token, "%s", s_slurp (file));
    size_t len = strlen (token);
    assert_true (len > 1 && token[len - 1] == '\n');
    token[len - 1] = '\0';

    actor_t actor;
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_OK);
    assert_string_equal (actor.name, "admin");
    assert_int_equal (actor.role, auth_role_bit ("admin"));
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM users", NULL, -1), 1);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM tokens", NULL, -1), 1);

    //  A second start does nothing: same file, same single user and token.
    created = true;
    assert_int_equal (auth_bootstrap (f->db, file, &created, &err), ERR_OK);
    assert_false (created);
    assert_false (db_in_tx (f->db));
    assert_int_equal (strncmp (s_slurp (file), token, strlen (token)), 0);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM users", NULL, -1), 1);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM tokens", NULL, -1), 1);
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_OK);
}

static void
test_auth_bootstrap_does_nothing_when_any_user_exists (void **state)
{
    fixture_t *f = *state;
    char user_id[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN];
    s_user_with_token (f, "ann", "viewer", user_id, token, token_id);
    char file[160];
    snprintf (file, sizeof file, "%s/admin.token", f->dir);
    bool created = true;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (auth_bootstrap (f->db, file, &created, &err), ERR_OK);
    assert_false (created);
    assert_int_equal (access (file, F_OK), -1);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM users", NULL, -1), 1);
}

static void
test_auth_bootstrap_tightens_a_preexisting_token_file_to_0600 (void **state)
{
    fixture_t *f = *state;
    char file[160];
    snprintf (file, sizeof file, "%s/admin.token", f->dir);
    //  A file left world-readable (by hand, or by an old version): the new
    //  token must not land in it readable by everyone.
    int fd = open (file, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true (fd >= 0);
    assert_int_equal (fchmod (fd, 0644), 0);
    assert_int_equal (
        write (fd, "old stuff that is longer than any token line .......................\n", 70),
        70);
    close (fd);
    bool created = false;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (auth_bootstrap (f->db, file, &created, &err), ERR_OK);
    assert_true (created);
    struct stat st;
    assert_int_equal (stat (file, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);
    //  Truncated: only the token line.
    const char *text = s_slurp (file);
    assert_int_equal (strncmp (text, "tok_", 4), 0);
    assert_int_equal (strlen (text), 4 + 43 + 1);
}

static void
test_auth_bootstrap_failure_to_write_leaves_no_admin (void **state)
{
    fixture_t *f = *state;
    char file[160];
    snprintf (file, sizeof file, "%s/no/such/dir/admin.token", f->dir);
    bool created = true;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (auth_bootstrap (f->db, file, &created, &err), ERR_IO);
    assert_false (created);
    assert_false (db_in_tx (f->db));
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM users", NULL, -1), 0);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM tokens", NULL, -1), 0);
}

int
main (void)
{
    log_set_level (LOG_ERROR);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_auth_roles_are_bits_in_table_order),
        cmocka_unit_test_setup_teardown (test_auth_user_create_validates_name_and_role, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_auth_token_has_prefix_and_checks_to_its_user, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_auth_tokens_are_stored_only_as_hashes, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_auth_check_token_refuses_unknown_and_malformed_tokens,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (test_auth_revoked_token_fails_and_others_keep_working,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (test_auth_inactive_or_archived_user_token_fails, setup,
                                         teardown),
        cmocka_unit_test_setup_teardown (test_auth_user_with_role_unknown_to_the_service_is_refused,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (
            test_auth_bootstrap_creates_admin_once_with_0600_token_file, setup, teardown),
        cmocka_unit_test_setup_teardown (test_auth_bootstrap_does_nothing_when_any_user_exists,
                                         setup, teardown),
        cmocka_unit_test_setup_teardown (
            test_auth_bootstrap_tightens_a_preexisting_token_file_to_0600, setup, teardown),
        cmocka_unit_test_setup_teardown (test_auth_bootstrap_failure_to_write_leaves_no_admin,
                                         setup, teardown),
    };
    return cmocka_run_group_tests (tests, NULL, NULL);
}
