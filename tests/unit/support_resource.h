//  support_resource: the fixture of the record engine's tests, driven
//  directly (no HTTP). A resource "widgets" of its own with a field of
//  every type (text, unique, int, bool, enum, email, time, tags, a list of
//  lines, a user, a remote, a system and an immutable field), a rule after
//  save that refuses the name "explode", owner scope for sales; a database
//  with auth, outbox and its table; four actors. Its writes each run in
//  their own transaction, committed only on success.
#ifndef TESTS_UNIT_SUPPORT_RESOURCE_H
#define TESTS_UNIT_SUPPORT_RESOURCE_H

#include "support.h"
#include "resource.h"

enum { ROLE_ADMIN = 1, ROLE_SALES = 2, ROLE_VIEWER = 4 };

extern const resource_def_t support_resource_widgets;
//  The same fields and table, no after_save; decorated with line_count.
extern const resource_def_t support_resource_plain;

typedef struct {
    char dir[64];
    char path[128];
    db_t *db;
    actor_t admin, rep1, rep2, viewer;
} support_resource_t;

//  cmocka setup and teardown: *state is a support_resource_t.
int
    support_resource_setup (void **state);
int
    support_resource_teardown (void **state);

//  text parsed by cJSON as it is, so that the engine's checks are tested
//  even where json_parse would already refuse the text. Caller frees.
cJSON *
    support_resource_json (const char *text);

//  Create body as actor in mode; out (may be NULL) gets the record.
err_t
    support_resource_create (support_resource_t *f, const actor_t *actor, int mode, const char *body,
                             cJSON **out, err_info_t *err);

//  Create body as a client, which must succeed; id_out gets the new id.
void
    support_resource_create_ok (support_resource_t *f, const actor_t *actor, const char *body,
                                char *id_out);

//  Update id with patch (if_match -1: any version).
err_t
    support_resource_update (support_resource_t *f, const actor_t *actor, const char *id,
                             long long if_match, const char *patch, int mode, cJSON **out,
                             err_info_t *err);

//  Archive (or restore) id.
err_t
    support_resource_archive (support_resource_t *f, const actor_t *actor, const char *id,
                              long long if_match, bool archived, cJSON **out, err_info_t *err);

//  The record id as actor sees it, which must exist. Caller frees.
cJSON *
    support_resource_get (support_resource_t *f, const actor_t *actor, const char *id);

//  The record's (or envelope's) version.
int64_t
    support_resource_version (const cJSON *rec);

//  The envelope of outbox row seq, parsed. Caller frees.
cJSON *
    support_resource_event (support_resource_t *f, int64_t seq);

//  Create body and expect it refused with code naming field, a message,
//  and no record.
void
    support_resource_expect_refused (support_resource_t *f, const actor_t *actor, int mode,
                                     const char *body, err_t code, const char *field);

//  A create that must be refused: body, the code and the field named.
typedef struct {
    const char *body;
    err_t code;
    const char *field;
} support_resource_refusal_t;

//  support_resource_expect_refused for each of rows[0..count).
void
    support_resource_expect_refusals (support_resource_t *f, const actor_t *actor, int mode,
                                      const support_resource_refusal_t *rows, size_t count);

//  The table widgets holds rows rows and the outbox events events.
void
    support_resource_expect_counts (support_resource_t *f, int64_t rows, int64_t events);

#endif
