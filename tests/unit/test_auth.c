//  test_auth: roles as bits, users, bearer tokens kept only as hashes,
//  revocation, inactive users, the first-start bootstrap of the admin, and
//  sign-in: argon2id passwords, sessions (lookup, sliding idle timeout,
//  12 h limit, sign-out) and the throttling of failed sign-ins.
#include "auth.h"

#include "support.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sodium.h>
#include <unistd.h>

//  The fixture of the tests in main's list (SUPPORT_TEST, support.h).
#define SUPPORT_SETUP setup
#define SUPPORT_TEARDOWN support_db_teardown

static const char *const s_roles[] = { "admin", "sales", "viewer", NULL };

typedef support_db_t fixture_t;

static int
setup (void **state)
{
    auth_set_roles (s_roles);
    auth_set_token_prefix ("tok");
    const db_migration_t migrations[] = { { "auth.1", auth_migration_sql }, { "auth.2", auth_migration_2_sql } };
    fixture_t *f = support_db_new ("test_auth", migrations, 2);
    auth_set_session_idle (AUTH_SESSION_IDLE);
    auth_set_login_limits (AUTH_LOGIN_LOCK, AUTH_LOGIN_DELAY_MS);
    *state = f;
    return 0;
}

//  A user and a token of it.
typedef struct {
    char user_id[ID_LEN];
    char token[AUTH_TOKEN_LEN];
    char token_id[ID_LEN];
} user_token_t;

//  Create a user and a token for it in one transaction.
static user_token_t
s_user_with_token (fixture_t *f, const char *name, const char *role)
{
    user_token_t h;
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_user_create (f->db, name, NULL, role, h.user_id, &err), ERR_OK);
    assert_int_equal (auth_token_issue (f->db, h.user_id, "test", h.token, h.token_id, &err),
                      ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    return h;
}

//  Issue another token for user_id in its own transaction, committed only
//  on success.
static err_t
s_token_issue (fixture_t *f, const char *user_id, char *token, char *token_id)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    err_t rc = auth_token_issue (f->db, user_id, NULL, token, token_id, &err);
    if (rc == ERR_OK)
        assert_int_equal (db_commit (f->db, &err), ERR_OK);
    else
        db_rollback (f->db);
    return rc;
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
    user_token_t ann = s_user_with_token (f, "ann", "sales");
    assert_true (id_valid (ann.token_id));
    assert_int_equal (strncmp (ann.token, "crm_", 4), 0);
    assert_int_equal (strlen (ann.token), 4 + 43);   //  32 random bytes in unpadded base64url
    assert_int_equal (strspn (ann.token + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                             "0123456789-_"),
                      43);

    actor_t actor;
    memset (&actor, 0x5a, sizeof actor);
    assert_int_equal (auth_check_token (f->db, ann.token, &actor), ERR_OK);
    assert_string_equal (actor.user_id, ann.user_id);
    assert_string_equal (actor.name, "ann");
    assert_int_equal (actor.role, auth_role_bit ("sales"));
    assert_false (actor.is_bridge);
    assert_null (actor.causation_id);
}

static void
test_auth_tokens_are_stored_only_as_hashes (void **state)
{
    fixture_t *f = *state;
    user_token_t ann = s_user_with_token (f, "ann", "sales");
    //  Neither the whole text nor its random part are anywhere on disk:
    //  not in the WAL now, nor in the database after a checkpoint.
    const char *random_part = strchr (ann.token, '_') + 1;
    assert_false (s_dir_contains (f->dir, ann.token));
    assert_false (s_dir_contains (f->dir, random_part));
    assert_true (s_dir_contains (f->dir, ann.user_id));   //  the search itself works
    assert_int_equal (db_exec (f->db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL), ERR_OK);
    assert_false (s_dir_contains (f->dir, ann.token));
    assert_false (s_dir_contains (f->dir, random_part));
    //  What is stored is a 32-byte hash.
    assert_int_equal (
        db_scalar_int (f->db, "SELECT length(hash) FROM tokens WHERE id = ?1", ann.token_id, -1),
        32);
    assert_int_equal (db_scalar_int (f->db, "SELECT typeof(hash) = 'blob' FROM tokens", NULL, -1),
                      1);
}

static void
test_auth_check_token_refuses_unknown_and_malformed_tokens (void **state)
{
    fixture_t *f = *state;
    user_token_t ann = s_user_with_token (f, "ann", "sales");
    actor_t actor;
    assert_int_equal (auth_check_token (f->db, NULL, &actor), ERR_UNAUTHORIZED);
    assert_int_equal (auth_check_token (f->db, "", &actor), ERR_UNAUTHORIZED);
    assert_int_equal (auth_check_token (f->db, "tok_nothing", &actor), ERR_UNAUTHORIZED);
    //  One character off, a prefix, or the token with something after it.
    char other[AUTH_TOKEN_LEN + 8];
    snprintf (other, sizeof other, "%s", ann.token);
    other[10] = other[10] == 'A' ? 'B' : 'A';
    assert_int_equal (auth_check_token (f->db, other, &actor), ERR_UNAUTHORIZED);
    snprintf (other, sizeof other, "%.*s", (int) strlen (ann.token) - 1, ann.token);
    assert_int_equal (auth_check_token (f->db, other, &actor), ERR_UNAUTHORIZED);
    snprintf (other, sizeof other, "%s ", ann.token);
    assert_int_equal (auth_check_token (f->db, other, &actor), ERR_UNAUTHORIZED);
    char huge[4096];
    memset (huge, 'x', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    assert_int_equal (auth_check_token (f->db, huge, &actor), ERR_UNAUTHORIZED);
    assert_int_equal (auth_check_token (f->db, ann.token, &actor), ERR_OK);
}

static void
test_auth_revoked_token_fails_and_others_keep_working (void **state)
{
    fixture_t *f = *state;
    user_token_t ann = s_user_with_token (f, "ann", "sales");
    char token2[AUTH_TOKEN_LEN], token2_id[ID_LEN];
    assert_int_equal (s_token_issue (f, ann.user_id, token2, token2_id), ERR_OK);
    assert_string_not_equal (ann.token, token2);
    err_info_t err;
    err_clear (&err);

    actor_t actor;
    assert_int_equal (auth_check_token (f->db, ann.token, &actor), ERR_OK);
    assert_int_equal (auth_token_revoke (f->db, ann.token_id, &err), ERR_OK);
    assert_int_equal (auth_check_token (f->db, ann.token, &actor), ERR_UNAUTHORIZED);
    assert_int_equal (auth_check_token (f->db, token2, &actor), ERR_OK);
    //  Revoking twice, or an unknown id, finds nothing.
    assert_int_equal (auth_token_revoke (f->db, ann.token_id, &err), ERR_NOT_FOUND);
    char unknown[ID_LEN];
    id_new (unknown);
    assert_int_equal (auth_token_revoke (f->db, unknown, &err), ERR_NOT_FOUND);
}

static void
test_auth_inactive_or_archived_user_token_fails (void **state)
{
    fixture_t *f = *state;
    user_token_t ann = s_user_with_token (f, "ann", "sales");
    actor_t actor;
    assert_int_equal (db_scalar_int (f->db, "UPDATE users SET active = 0 WHERE id = ?1 RETURNING 1",
                                     ann.user_id, -1),
                      1);
    assert_int_equal (auth_check_token (f->db, ann.token, &actor), ERR_UNAUTHORIZED);
    db_scalar_int (f->db, "UPDATE users SET active = 1 WHERE id = ?1 RETURNING 1", ann.user_id, -1);
    assert_int_equal (auth_check_token (f->db, ann.token, &actor), ERR_OK);
    db_scalar_int (f->db, "UPDATE users SET archived = 1 WHERE id = ?1 RETURNING 1", ann.user_id,
                   -1);
    assert_int_equal (auth_check_token (f->db, ann.token, &actor), ERR_UNAUTHORIZED);
    //  No new tokens for an archived user either.
    char token2[AUTH_TOKEN_LEN], token2_id[ID_LEN];
    assert_int_equal (s_token_issue (f, ann.user_id, token2, token2_id), ERR_NOT_FOUND);
}

static void
test_auth_user_with_role_unknown_to_the_service_is_refused (void **state)
{
    fixture_t *f = *state;
    user_token_t ann = s_user_with_token (f, "ann", "viewer");
    actor_t actor;
    assert_int_equal (auth_check_token (f->db, ann.token, &actor), ERR_OK);
    //  The same database read by a service that has no such role.
    static const char *const fewer[] = { "admin", "sales", NULL };
    auth_set_roles (fewer);
    assert_int_equal (auth_check_token (f->db, ann.token, &actor), ERR_UNAUTHORIZED);
    auth_set_roles (s_roles);
}

//  ---------------------------------------------------------------------
//  Bootstrap

//  auth_bootstrap with the token file file; *created says whether it made
//  the admin. Returns its code.
static err_t
s_bootstrap (fixture_t *f, const char *file, bool *created)
{
    err_info_t err;
    err_clear (&err);
    return auth_bootstrap (f->db, file, created, &err);
}

static void
test_auth_bootstrap_creates_admin_once_with_0600_token_file (void **state)
{
    fixture_t *f = *state;
    char file[160];
    snprintf (file, sizeof file, "%s/admin.token", f->dir);
    bool created = false;
    assert_int_equal (s_bootstrap (f, file, &created), ERR_OK);
    assert_true (created);
    assert_false (db_in_tx (f->db));

    struct stat st;
    assert_int_equal (stat (file, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);
    char token[AUTH_TOKEN_LEN];
    snprintf (token, sizeof token, "%s", support_read_file (file));
    size_t len = strlen (token);
    assert_true (len > 1 && token[len - 1] == '\n');
    token[len - 1] = '\0';

    actor_t actor;
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_OK);
    assert_string_equal (actor.name, "admin");
    assert_int_equal (actor.role, auth_role_bit ("admin"));
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM users", NULL, -1), 1);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM tokens", NULL, -1), 1);

    //  And a first password next to it, 0600, that signs in and must change.
    char pw_file[160];
    snprintf (pw_file, sizeof pw_file, "%s/admin.password", f->dir);
    assert_int_equal (stat (pw_file, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);
    char password[64];
    snprintf (password, sizeof password, "%s", support_read_file (pw_file));
    assert_int_equal (strlen (password), AUTH_FIRST_PASSWORD_LEN + 1);
    password[AUTH_FIRST_PASSWORD_LEN] = '\0';
    auth_session_t who;
    assert_int_equal (auth_login (f->db, "admin", password, &who, NULL), ERR_OK);
    assert_true (who.must_change_password);

    //  A second start does nothing: same file, same single user and token.
    created = true;
    assert_int_equal (s_bootstrap (f, file, &created), ERR_OK);
    assert_false (created);
    assert_false (db_in_tx (f->db));
    assert_int_equal (strncmp (support_read_file (file), token, strlen (token)), 0);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM users", NULL, -1), 1);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM tokens", NULL, -1), 1);
    assert_int_equal (auth_check_token (f->db, token, &actor), ERR_OK);
}

static void
test_auth_bootstrap_does_nothing_when_any_user_exists (void **state)
{
    fixture_t *f = *state;
    s_user_with_token (f, "ann", "viewer");
    char file[160];
    snprintf (file, sizeof file, "%s/admin.token", f->dir);
    bool created = true;
    assert_int_equal (s_bootstrap (f, file, &created), ERR_OK);
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
    assert_int_equal (s_bootstrap (f, file, &created), ERR_OK);
    assert_true (created);
    struct stat st;
    assert_int_equal (stat (file, &st), 0);
    assert_int_equal (st.st_mode & 0777, 0600);
    //  Truncated: only the token line.
    const char *text = support_read_file (file);
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
    assert_int_equal (s_bootstrap (f, file, &created), ERR_IO);
    assert_false (created);
    assert_false (db_in_tx (f->db));
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM users", NULL, -1), 0);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM tokens", NULL, -1), 0);
}

//  ---------------------------------------------------------------------
//  Passwords

static void
s_set_password (fixture_t *f, const char *user_id, const char *password, bool must_change)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_password_set (f->db, user_id, password, must_change, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
}

static void
test_auth_password_hash_is_argon2id_and_verifies_only_the_password (void **state)
    //  The cost is the one documented in auth.h (m=19 MiB, t=2).
{
    (void) state;
    char hash[crypto_pwhash_STRBYTES];
    assert_int_equal (auth_password_hash ("correct horse", hash), ERR_OK);
    assert_int_equal (strncmp (hash, "$argon2id$", 10), 0);
    assert_non_null (strstr (hash, "$m=19456,t=2,p=1$"));
    assert_null (strstr (hash, "correct horse"));
    assert_true (auth_password_verify (hash, "correct horse"));
    assert_false (auth_password_verify (hash, "correct horsE"));
    assert_false (auth_password_verify (hash, ""));
    assert_false (auth_password_verify (NULL, "correct horse"));
    assert_false (auth_password_verify ("", "correct horse"));
    //  Salted: the same password hashes differently each time.
    char again[crypto_pwhash_STRBYTES];
    assert_int_equal (auth_password_hash ("correct horse", again), ERR_OK);
    assert_string_not_equal (hash, again);
}

static void
test_auth_first_passwords_are_random_and_unambiguous (void **state)
{
    (void) state;
    char a[AUTH_FIRST_PASSWORD_LEN + 1], b[AUTH_FIRST_PASSWORD_LEN + 1];
    auth_password_generate (a);
    auth_password_generate (b);
    assert_int_equal (strlen (a), AUTH_FIRST_PASSWORD_LEN);
    assert_string_not_equal (a, b);
    for (int i = 0; i < 200; i++) {
        auth_password_generate (a);
        assert_null (strpbrk (a, "0O1lI"));
    }
    err_info_t err;
    err_clear (&err);
    assert_int_equal (auth_password_check ("123456789", &err), ERR_INVALID);
    assert_int_equal (auth_password_check ("1234567890", &err), ERR_OK);
    //  Characters, not bytes: ten Czech letters of two bytes each pass.
    assert_int_equal (auth_password_check ("\u010d\u010d\u010d\u010d\u010d\u010d\u010d\u010d\u010d\u010d", &err), ERR_OK);
    char big[AUTH_PASSWORD_MAX + 2];
    memset (big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal (auth_password_check (big, &err), ERR_INVALID);
}

static void
test_auth_login_by_name_or_email_and_never_without_a_password (void **state)
{
    fixture_t *f = *state;
    err_info_t err;
    err_clear (&err);
    char id[ID_LEN], robot[ID_LEN];
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_user_create (f->db, "mia", "Mia@Example.com", "sales", id, &err), ERR_OK);
    assert_int_equal (auth_user_create (f->db, "robot", NULL, "sales", robot, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    s_set_password (f, id, "mia's password", false);
    auth_session_t who;
    assert_int_equal (auth_login (f->db, "mia", "mia's password", &who, NULL), ERR_OK);
    assert_string_equal (who.user_id, id);
    assert_string_equal (who.language, "en");
    assert_false (who.must_change_password);
    assert_int_equal (auth_login (f->db, "mia@example.com", "mia's password", &who, NULL), ERR_OK);
    assert_string_equal (who.name, "mia");
    assert_int_equal (auth_login (f->db, "mia", "wrong", &who, NULL), ERR_UNAUTHORIZED);
    assert_string_equal (who.user_id, "");
    assert_int_equal (auth_login (f->db, "nobody", "mia's password", &who, NULL), ERR_UNAUTHORIZED);
    assert_int_equal (auth_login (f->db, "robot", "", &who, NULL), ERR_UNAUTHORIZED);
    //  An inactive user cannot sign in.
    assert_int_equal (db_exec (f->db, "UPDATE users SET active = 0 WHERE name = 'mia'", &err), ERR_OK);
    assert_int_equal (auth_login (f->db, "mia", "mia's password", &who, NULL), ERR_UNAUTHORIZED);
}

//  A hash of another cost (libsodium's "interactive" 64 MiB, as versions
//  before AUTH_HASH_MEMLIMIT made) still signs in, and the sign-in hands
//  back a new hash of the same password at the current cost; once stored,
//  there is nothing more to redo.
static void
test_auth_login_rehashes_a_password_hashed_at_another_cost (void **state)
{
    fixture_t *f = *state;
    //  The old hash is made first: no transaction waits on the slow hashing.
    char old[crypto_pwhash_STRBYTES];
    assert_int_equal (crypto_pwhash_str (old, "ines's password", strlen ("ines's password"),
                                         crypto_pwhash_OPSLIMIT_INTERACTIVE,
                                         crypto_pwhash_MEMLIMIT_INTERACTIVE),
                      0);
    err_info_t err;
    err_clear (&err);
    char id[ID_LEN];
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_user_create (f->db, "ines", NULL, "sales", id, &err), ERR_OK);
    assert_int_equal (auth_password_store (f->db, id, old, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);

    auth_session_t who;
    char rehash[crypto_pwhash_STRBYTES];
    assert_int_equal (auth_login (f->db, "ines", "ines's password", &who, rehash), ERR_OK);
    assert_true (strncmp (rehash, "$argon2id$", 10) == 0);
    assert_int_equal (crypto_pwhash_str_needs_rehash (rehash, AUTH_HASH_OPSLIMIT, AUTH_HASH_MEMLIMIT), 0);
    assert_true (auth_password_verify (rehash, "ines's password"));
    assert_false (auth_password_verify (rehash, "another password"));
    //  A wrong password gets no new hash.
    memset (rehash, 'x', sizeof rehash);
    assert_int_equal (auth_login (f->db, "ines", "wrong", &who, rehash), ERR_UNAUTHORIZED);
    assert_string_equal (rehash, "");

    assert_int_equal (auth_login (f->db, "ines", "ines's password", &who, rehash), ERR_OK);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_password_store (f->db, id, rehash, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    assert_int_equal (auth_login (f->db, "ines", "ines's password", &who, rehash), ERR_OK);
    assert_string_equal (rehash, "");
    assert_false (who.must_change_password);
}

//  ---------------------------------------------------------------------
//  Sessions

static void
s_session (fixture_t *f, const char *user_id, int64_t now, char *sid, auth_session_t *s)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_session_create (f->db, user_id, "10.0.0.1", now, sid, s, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
}

static void
test_auth_session_is_found_by_its_cookie_and_stored_only_as_a_hash (void **state)
{
    fixture_t *f = *state;
    user_token_t ann = s_user_with_token (f, "ann", "viewer");
    char sid[AUTH_SESSION_ID_LEN], other[AUTH_SESSION_ID_LEN];
    auth_session_t s, t, found;
    int64_t now = 1700000000000;
    s_session (f, ann.user_id, now, sid, &s);
    s_session (f, ann.user_id, now, other, &t);
    assert_int_equal (strlen (sid), 43);
    assert_string_not_equal (sid, other);
    assert_string_not_equal (s.csrf_token, t.csrf_token);
    assert_int_equal (s.expires_ms, now + AUTH_SESSION_IDLE * 1000LL);
    actor_t actor;
    assert_int_equal (auth_session_lookup (f->db, sid, now + 1000, &found, &actor), ERR_OK);
    assert_string_equal (found.user_id, ann.user_id);
    assert_string_equal (found.csrf_token, s.csrf_token);
    assert_string_equal (actor.name, "ann");
    assert_int_equal (actor.role, auth_role_bit ("viewer"));
    assert_false (s_dir_contains (f->dir, sid));
    assert_int_equal (auth_session_lookup (f->db, "x", now, &found, &actor), ERR_UNAUTHORIZED);
    assert_int_equal (auth_session_lookup (f->db, NULL, now, &found, &actor), ERR_UNAUTHORIZED);
    char forged[AUTH_SESSION_ID_LEN];
    snprintf (forged, sizeof forged, "%s", sid);
    forged[0] = forged[0] == 'A' ? 'B' : 'A';
    assert_int_equal (auth_session_lookup (f->db, forged, now, &found, &actor), ERR_UNAUTHORIZED);
    //  Sign-out ends that one only.
    err_info_t err;
    err_clear (&err);
    assert_int_equal (auth_session_end (f->db, sid, &err), ERR_OK);
    assert_int_equal (auth_session_lookup (f->db, sid, now, &found, &actor), ERR_UNAUTHORIZED);
    assert_int_equal (auth_session_lookup (f->db, other, now, &found, &actor), ERR_OK);
    //  Ending a user's sessions keeps the one named.
    char third[AUTH_SESSION_ID_LEN];
    s_session (f, ann.user_id, now, third, &t);
    assert_int_equal (auth_sessions_end_user (f->db, ann.user_id, third, &err), ERR_OK);
    assert_int_equal (auth_session_lookup (f->db, other, now, &found, &actor), ERR_UNAUTHORIZED);
    assert_int_equal (auth_session_lookup (f->db, third, now, &found, &actor), ERR_OK);
    //  An inactive user's session stops working.
    assert_int_equal (db_exec (f->db, "UPDATE users SET active = 0", &err), ERR_OK);
    assert_int_equal (auth_session_lookup (f->db, third, now, &found, &actor), ERR_UNAUTHORIZED);
}

static void
test_auth_session_idle_timeout_slides_and_the_12_hour_limit_holds (void **state)
{
    fixture_t *f = *state;
    user_token_t ann = s_user_with_token (f, "ann", "viewer");
    auth_set_session_idle (600);
    char sid[AUTH_SESSION_ID_LEN];
    auth_session_t s, found;
    actor_t actor;
    int64_t t = 1700000000000;
    s_session (f, ann.user_id, t, sid, &s);
    //  Used every 9 minutes for 11 h 57 min: still signed in.
    int64_t now = t;
    for (int i = 0; i < 79; i++) {
        now += 9 * 60 * 1000;
        assert_int_equal (auth_session_lookup (f->db, sid, now, &found, &actor), ERR_OK);
        assert_true (found.expires_ms <= t + AUTH_SESSION_MAX * 1000LL);
    }
    //  ... but not past 12 h, however busy.
    assert_int_equal (auth_session_lookup (f->db, sid, t + AUTH_SESSION_MAX * 1000LL, &found, &actor),
                      ERR_UNAUTHORIZED);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM sessions", NULL, -1), 0);
    //  Idle for longer than the timeout: gone, and the row deleted.
    s_session (f, ann.user_id, t, sid, &s);
    assert_int_equal (auth_session_lookup (f->db, sid, t + 599 * 1000, &found, &actor), ERR_OK);
    assert_int_equal (auth_session_lookup (f->db, sid, t + 599 * 1000 + 600 * 1000, &found, &actor),
                      ERR_UNAUTHORIZED);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM sessions", NULL, -1), 0);
    auth_set_session_idle (AUTH_SESSION_IDLE);
}

//  ---------------------------------------------------------------------
//  Throttling failed sign-ins

static void
s_fail (fixture_t *f, const char *login, const char *address, int64_t now, bool *locked)
{
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_login_failed (f->db, login, address, now, locked, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
}

static void
test_auth_throttle_waits_after_5_failures_doubling_then_locks_after_10 (void **state)
{
    fixture_t *f = *state;
    auth_set_login_limits (900, 1000);
    int64_t now = 1700000000000;
    bool locked = false;
    for (int i = 0; i < AUTH_LOGIN_SLOW_AFTER; i++) {
        assert_int_equal (auth_login_throttle (f->db, "eve", "10.0.0.9", now, &locked), 0);
        s_fail (f, "eve", "10.0.0.9", now, &locked);
        assert_false (locked);
    }
    //  Now each try waits: 1 s after the 5th failure, 2 s after the 6th...
    assert_int_equal (auth_login_throttle (f->db, "eve", "10.0.0.9", now, &locked), 1);
    assert_false (locked);
    assert_int_equal (auth_login_throttle (f->db, "eve", "10.0.0.9", now + 1000, &locked), 0);
    int64_t wait_ms = 1000;
    for (int i = AUTH_LOGIN_SLOW_AFTER; i < AUTH_LOGIN_LOCK_AFTER; i++) {
        now += wait_ms;
        assert_int_equal (auth_login_throttle (f->db, "eve", "10.0.0.9", now, &locked), 0);
        s_fail (f, "eve", "10.0.0.9", now, &locked);
        assert_int_equal (locked, i + 1 == AUTH_LOGIN_LOCK_AFTER);
        wait_ms *= 2;
        if (!locked)
            assert_int_equal (auth_login_throttle (f->db, "eve", "10.0.0.9", now, &locked),
                              (int) (wait_ms / 1000));
    }
    //  Locked for 15 minutes, both the user (from any address) and the address.
    assert_int_equal (auth_login_throttle (f->db, "eve", "10.9.9.9", now, &locked), 900);
    assert_true (locked);
    assert_int_equal (auth_login_throttle (f->db, "bob", "10.0.0.9", now + 1000, &locked), 899);
    assert_true (locked);
    assert_int_equal (auth_login_throttle (f->db, "bob", "10.9.9.9", now, &locked), 0);
    assert_false (locked);
    //  After the lock, a fresh start.
    assert_int_equal (auth_login_throttle (f->db, "eve", "10.0.0.9", now + 900 * 1000, &locked), 0);
    s_fail (f, "eve", "10.0.0.9", now + 900 * 1000, &locked);
    assert_false (locked);
    assert_int_equal (auth_login_throttle (f->db, "eve", "10.0.0.9", now + 900 * 1000, &locked), 0);
}

static void
test_auth_throttle_forgets_old_failures_and_a_success_clears_the_user (void **state)
{
    fixture_t *f = *state;
    char user_id[ID_LEN], token[AUTH_TOKEN_LEN], token_id[ID_LEN];
    err_info_t err;
    err_clear (&err);
    assert_int_equal (db_begin (f->db, &err), ERR_OK);
    assert_int_equal (auth_user_create (f->db, "zoe", "zoe@example.com", "sales", user_id, &err), ERR_OK);
    assert_int_equal (auth_token_issue (f->db, user_id, NULL, token, token_id, &err), ERR_OK);
    assert_int_equal (db_commit (f->db, &err), ERR_OK);
    int64_t now = 1700000000000;
    bool locked;
    //  Failures by name and by e-mail count for the same user.
    for (int i = 0; i < AUTH_LOGIN_SLOW_AFTER; i++)
        s_fail (f, i % 2 ? "zoe" : "ZOE@example.com", NULL, now, &locked);
    assert_int_equal (auth_login_throttle (f->db, "zoe", NULL, now, &locked), 1);
    //  Fifteen minutes later they no longer count.
    int64_t later = now + AUTH_LOGIN_WINDOW * 1000LL;
    assert_int_equal (auth_login_throttle (f->db, "zoe", NULL, later, &locked), 0);
    s_fail (f, "zoe", NULL, later, &locked);
    assert_int_equal (auth_login_throttle (f->db, "zoe", NULL, later, &locked), 0);
    //  A success clears the user's count.
    for (int i = 1; i < AUTH_LOGIN_SLOW_AFTER; i++)
        s_fail (f, "zoe", NULL, later, &locked);
    assert_int_equal (auth_login_throttle (f->db, "zoe", NULL, later, &locked), 1);
    assert_int_equal (auth_login_succeeded (f->db, "zoe@example.com", &err), ERR_OK);
    assert_int_equal (auth_login_throttle (f->db, "zoe", NULL, later, &locked), 0);
}

static void
test_auth_purge_drops_ended_sessions_and_stale_failures_only (void **state)
{
    fixture_t *f = *state;
    user_token_t ann = s_user_with_token (f, "ann", "viewer");
    int64_t t = 1700000000000;
    char old[AUTH_SESSION_ID_LEN], fresh[AUTH_SESSION_ID_LEN];
    auth_session_t s;
    s_session (f, ann.user_id, t, old, &s);
    s_session (f, ann.user_id, t + AUTH_SESSION_IDLE * 1000LL, fresh, &s);
    bool locked;
    s_fail (f, "gone", "10.0.0.1", t, &locked);
    s_fail (f, "recent", NULL, t + AUTH_SESSION_IDLE * 1000LL, &locked);
    err_info_t err;
    err_clear (&err);
    int64_t now = t + AUTH_SESSION_IDLE * 1000LL + 1;
    assert_int_equal (auth_purge (f->db, now, &err), ERR_OK);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM sessions", NULL, -1), 1);
    assert_int_equal (db_scalar_int (f->db, "SELECT count(*) FROM login_failures", NULL, -1), 1);
    actor_t actor;
    assert_int_equal (auth_session_lookup (f->db, fresh, now, &s, &actor), ERR_OK);
}

int
main (void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test (test_auth_roles_are_bits_in_table_order),
        SUPPORT_TEST (test_auth_user_create_validates_name_and_role),
        SUPPORT_TEST (test_auth_token_has_prefix_and_checks_to_its_user),
        SUPPORT_TEST (test_auth_tokens_are_stored_only_as_hashes),
        SUPPORT_TEST (test_auth_check_token_refuses_unknown_and_malformed_tokens),
        SUPPORT_TEST (test_auth_revoked_token_fails_and_others_keep_working),
        SUPPORT_TEST (test_auth_inactive_or_archived_user_token_fails),
        SUPPORT_TEST (test_auth_user_with_role_unknown_to_the_service_is_refused),
        SUPPORT_TEST (test_auth_bootstrap_creates_admin_once_with_0600_token_file),
        SUPPORT_TEST (test_auth_bootstrap_does_nothing_when_any_user_exists),
        SUPPORT_TEST (test_auth_bootstrap_tightens_a_preexisting_token_file_to_0600),
        SUPPORT_TEST (test_auth_bootstrap_failure_to_write_leaves_no_admin),
        cmocka_unit_test (test_auth_password_hash_is_argon2id_and_verifies_only_the_password),
        cmocka_unit_test (test_auth_first_passwords_are_random_and_unambiguous),
        SUPPORT_TEST (test_auth_login_rehashes_a_password_hashed_at_another_cost),
        SUPPORT_TEST (test_auth_login_by_name_or_email_and_never_without_a_password),
        SUPPORT_TEST (test_auth_session_is_found_by_its_cookie_and_stored_only_as_a_hash),
        SUPPORT_TEST (test_auth_session_idle_timeout_slides_and_the_12_hour_limit_holds),
        SUPPORT_TEST (test_auth_throttle_waits_after_5_failures_doubling_then_locks_after_10),
        SUPPORT_TEST (test_auth_throttle_forgets_old_failures_and_a_success_clears_the_user),
        SUPPORT_TEST (test_auth_purge_drops_ended_sessions_and_stale_failures_only),
    };
    return cmocka_run_group_tests (tests, support_sodium_setup, NULL);
}
