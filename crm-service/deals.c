//  deals: the pipeline (configurable stages) and deals moving through it.
//  Stages change only through the verbs move, win, lose and reopen, each of
//  which leaves a row in deal_stage_history; win and lose are the events
//  the bridge acts on (crm.deal.won becomes a sales order in ERP).
#include "crm.h"
#include "clock.h"
#include "json.h"
#include "id.h"
#include "money.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

//  --- stages ---

static const char *const s_stage_kinds[] = { "open", "won", "lost", NULL };

static const field_def_t s_stage_fields[] = {
    { .name = "name", .type = FT_TEXT, .flags = F_REQUIRED | F_IMMUTABLE | F_SORT, .max = 50 },
    { .name = "position", .type = FT_INT, .flags = F_REQUIRED | F_SORT, .min = 0, .max = 1000 },
    { .name = "probability", .type = FT_INT, .flags = F_REQUIRED, .min = 0, .max = 100 },
    { .name = "kind", .type = FT_ENUM, .flags = F_FILTER | F_IMMUTABLE, .choices = s_stage_kinds, .def = "\"open\"" },
    { NULL }
};

//  Positions are unique among the stages in use: the stage list and the
//  funnel are both ordered by position, and a tie would order them apart.
static err_t
s_stage_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) actor;
    int64_t position = 0;
    json_int (rec, "position", &position);
    sqlite3_stmt *st = db_stmt (db, "SELECT name FROM pipeline_stages WHERE position = ?1 AND archived = 0"
                                    " AND id IS NOT ?2");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot read the pipeline stages");
    sqlite3_bind_int64 (st, 1, position);
    if (old && json_str (old, "id"))
        sqlite3_bind_text (st, 2, json_str (old, "id"), -1, SQLITE_TRANSIENT);
    err_t rc = ERR_OK;
    if (sqlite3_step (st) == SQLITE_ROW)
        rc = err_set (err, ERR_CONFLICT, "position", "stage '%s' already has position %lld",
                      (const char *) sqlite3_column_text (st, 0), (long long) position);
    sqlite3_reset (st);
    return rc;
}

//  The stages the workflow moves deals into by name: a new deal starts in
//  `new` and a reopened one goes back to it; /win and /lose close deals
//  into `won` and `lost`. Names and kinds cannot change, so these three
//  stay in use: archiving one would make every create, reopen, win or lose
//  a 422 for everyone.
static const char *const s_workflow_stages[] = { "new", "won", "lost", NULL };

//  A stage is archived only when nothing needs it: not one of the
//  workflow's, and holding no deal in use (a deal in an archived stage
//  drops out of the funnel and can no longer be changed). Restoring is
//  always possible.
static err_t
s_stage_before_archive (db_t *db, const actor_t *actor, cJSON *stage, const cJSON *old, err_info_t *err)
{
    (void) actor;
    const char *name = json_str (stage, "name");
    if (!name || !cJSON_IsTrue (cJSON_GetObjectItem (stage, "archived"))
        || cJSON_IsTrue (cJSON_GetObjectItem (old, "archived")))
        return ERR_OK;
    for (const char *const *w = s_workflow_stages; *w; w++)
        if (strcmp (name, *w) == 0)
            return err_set (err, ERR_RULE, NULL,
                            "stage '%s' cannot be archived: the deals' workflow needs it (new deals start"
                            " in 'new' and reopened ones return to it, /win and /lose close deals into"
                            " 'won' and 'lost')", name);
    int64_t held = db_scalar_int (db, "SELECT COUNT(*) FROM deals WHERE stage = ?1 AND archived = 0", name, -1);
    if (held < 0)
        return err_set (err, ERR_INTERNAL, NULL, "cannot count the deals of stage '%s'", name);
    if (held > 0)
        return err_set (err, ERR_RULE, NULL,
                        "stage '%s' still holds %lld deal%s; move %s to another stage before archiving it",
                        name, (long long) held, held == 1 ? "" : "s", held == 1 ? "it" : "them");
    return ERR_OK;
}

const resource_def_t crm_stages = {
    .name = "pipeline_stages", .entity = "pipeline_stage", .table = "pipeline_stages",
    .fields = s_stage_fields, .read_roles = ROLES_ALL, .write_roles = ROLES_LEAD, .default_sort = "position",
    .before_save = s_stage_before_save,
    .before_archive = s_stage_before_archive,
};

//  --- deals ---

static const char *const s_payment_states[] = { "none", "invoiced", "partial", "paid", "overdue", NULL };

static const field_def_t s_line_fields[] = {
    { .name = "sku", .type = FT_TEXT, .flags = F_REQUIRED, .max = 64 },
    { .name = "description", .type = FT_TEXT, .flags = F_MULTILINE, .max = 500 },
    { .name = "quantity", .type = FT_INT, .flags = F_REQUIRED, .min = 1, .max = 1000000000 },
    { .name = "unit_price_minor", .type = FT_INT, .flags = F_REQUIRED, .min = 0, .max = 1000000000000 },
    { .name = "discount_percent", .type = FT_INT, .min = 0, .max = 100, .def = "0" },
    { NULL }
};

//  A line of the order as ERP promises it: sku, quantity, date (null:
//  ERP cannot tell yet).
static const field_def_t s_promised_line_fields[] = {
    { .name = "sku", .type = FT_TEXT, .max = 64 },
    { .name = "quantity", .type = FT_INT },
    { .name = "promised_on", .type = FT_DATE },
    { NULL }
};

static const field_def_t s_deal_fields[] = {
    { .name = "title", .type = FT_TEXT, .flags = F_REQUIRED | F_SORT | F_SEARCH, .max = 200 },
    { .name = "customer_id", .type = FT_REF, .flags = F_FILTER, .ref = "customers" },
    { .name = "contact_id", .type = FT_REF, .ref = "contacts" },
    { .name = "stage", .type = FT_TEXT, .flags = F_SYSTEM | F_FILTER, .def = "\"new\"" },
    { .name = "amount_minor", .type = FT_INT, .flags = F_SORT, .min = 0, .max = MONEY_MAX, .def = "0" },
    { .name = "currency", .type = FT_CURRENCY, .flags = F_FILTER, .def = "\"EUR\"" },
    { .name = "probability", .type = FT_INT, .min = 0, .max = 100 },
    { .name = "expected_close", .type = FT_DATE, .flags = F_SORT },
    { .name = "owner_id", .type = FT_USER, .flags = F_FILTER },
    { .name = "campaign_id", .type = FT_REF, .flags = F_FILTER, .ref = "campaigns" },
    //  Its campaign's channel by default, else (new) its customer's.
    { .name = "lead_source", .type = FT_ENUM, .flags = F_FILTER, .choices = crm_lead_sources },
    { .name = "lines", .type = FT_LIST, .sub = s_line_fields, .def = "[]" },
    { .name = "lost_reason", .type = FT_TEXT, .flags = F_SYSTEM | F_MULTILINE, .max = 500 },
    { .name = "closed_at", .type = FT_TIME, .flags = F_SYSTEM | F_SORT },
    { .name = "external_key", .type = FT_TEXT, .flags = F_UNIQUE | F_FILTER, .max = 100 },
    //  What ERP reports back (DESIGN.md §5), written by bridge commands.
    { .name = "order_id", .type = FT_TEXT, .flags = F_REMOTE | F_FILTER, .max = 64 },
    { .name = "order_number", .type = FT_TEXT, .flags = F_REMOTE, .max = 64 },
    { .name = "order_status", .type = FT_TEXT, .flags = F_REMOTE | F_FILTER, .max = 32 },
    { .name = "invoiced_minor", .type = FT_INT, .flags = F_REMOTE },
    { .name = "paid_minor", .type = FT_INT, .flags = F_REMOTE },
    { .name = "payment_state", .type = FT_ENUM, .flags = F_REMOTE | F_FILTER, .choices = s_payment_states },
    { .name = "tracking", .type = FT_TEXT, .flags = F_REMOTE, .max = 200 },
    //  The order's promised delivery date, and each line's (deal.promise).
    { .name = "promised_on", .type = FT_DATE, .flags = F_REMOTE | F_SORT },
    { .name = "promised_lines", .type = FT_LIST, .flags = F_REMOTE, .sub = s_promised_line_fields },
    { NULL }
};

//  The stage's row: kind and default probability. false if no such stage.
static bool
s_stage (db_t *db, const char *name, char *kind, size_t kind_size, int *probability)
{
    sqlite3_stmt *st = db_stmt (db, "SELECT kind, probability FROM pipeline_stages WHERE name = ?1 AND archived = 0");
    if (!st)
        return false;
    sqlite3_bind_text (st, 1, name, -1, SQLITE_STATIC);
    bool found = sqlite3_step (st) == SQLITE_ROW;
    if (found) {
        snprintf (kind, kind_size, "%s", (const char *) sqlite3_column_text (st, 0));
        *probability = sqlite3_column_int (st, 1);
    }
    sqlite3_reset (st);
    return found;
}

//  Amount from the lines when there are any; default probability from the stage.
static err_t
s_deal_before_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    (void) actor;
    const cJSON *lines = cJSON_GetObjectItem (rec, "lines");
    if (cJSON_GetArraySize (lines) > 0) {
        int64_t total = 0;
        const cJSON *line;
        int i = 0;
        cJSON_ArrayForEach (line, lines) {
            int64_t qty = 0, price = 0, discount = 0, amount;
            json_int (line, "quantity", &qty);
            json_int (line, "unit_price_minor", &price);
            json_int (line, "discount_percent", &discount);
            if (!money_line_total (qty, price, discount, &amount) || !money_add (total, amount, &total)
                || total > MONEY_MAX) {
                char field[32];
                snprintf (field, sizeof field, "lines[%d]", i);
                return err_set (err, ERR_INVALID, field, "the deal's total is too large");
            }
            i++;
        }
        cJSON_DeleteItemFromObject (rec, "amount_minor");
        cJSON_AddNumberToObject (rec, "amount_minor", (double) total);
    }
    char inherited[32] = "";
    sqlite3_stmt *cs = !old && json_str (rec, "customer_id")
                           ? db_stmt (db, "SELECT lead_source FROM customers WHERE id = ?1 AND lead_source IS NOT NULL")
                           : NULL;
    if (cs) {
        sqlite3_bind_text (cs, 1, json_str (rec, "customer_id"), -1, SQLITE_STATIC);
        if (sqlite3_step (cs) == SQLITE_ROW)
            snprintf (inherited, sizeof inherited, "%s", (const char *) sqlite3_column_text (cs, 0));
        sqlite3_reset (cs);
    }
    campaigns_fill_lead_source (db, rec, *inherited ? inherited : NULL);
    const char *contact = json_str (rec, "contact_id");
    if (contact) {
        const char *customer = json_str (rec, "customer_id");
        sqlite3_stmt *st = db_stmt (db, "SELECT COUNT(*) FROM contacts WHERE id = ?1 AND customer_id IS ?2");
        bool ok = false;
        if (st) {
            sqlite3_bind_text (st, 1, contact, -1, SQLITE_STATIC);
            if (customer)
                sqlite3_bind_text (st, 2, customer, -1, SQLITE_STATIC);
            ok = sqlite3_step (st) == SQLITE_ROW && sqlite3_column_int (st, 0) > 0;
            sqlite3_reset (st);
        }
        if (!ok)
            return err_set (err, ERR_RULE, "contact_id", "the contact belongs to another customer");
    }
    const char *stage = json_str (rec, "stage");
    char kind[16];
    int probability;
    if (!stage || !s_stage (db, stage, kind, sizeof kind, &probability))
        return err_set (err, ERR_RULE, "stage", "no pipeline stage is named '%s'", stage ? stage : "");
    //  A new deal without a probability, and every stage change, takes the
    //  stage's default probability.
    bool stage_changed = old && strcmp (json_str (old, "stage"), stage) != 0;
    const cJSON *p = cJSON_GetObjectItem (rec, "probability");
    if (stage_changed || (!old && (!p || cJSON_IsNull (p)))) {
        cJSON_DeleteItemFromObject (rec, "probability");
        cJSON_AddNumberToObject (rec, "probability", probability);
    }
    if (old && strcmp (json_str (old, "stage"), "won") == 0 && !stage_changed) {
        //  A won deal became an order: its lines and amount are ERP's now.
        const char *frozen[] = { "lines", "amount_minor", "currency", "customer_id" };
        for (size_t k = 0; k < sizeof frozen / sizeof frozen[0]; k++)
            if (!cJSON_Compare (cJSON_GetObjectItem (rec, frozen[k]), cJSON_GetObjectItem (old, frozen[k]), true))
                return err_set (err, ERR_RULE, frozen[k], "a won deal's %s cannot change; its order is in ERP",
                                frozen[k]);
    }
    return ERR_OK;
}

//  Each stage change leaves a history row (creation counts as one).
static err_t
s_deal_after_save (db_t *db, const actor_t *actor, cJSON *rec, const cJSON *old, err_info_t *err)
{
    const char *stage = json_str (rec, "stage");
    const char *from = old ? json_str (old, "stage") : NULL;
    if (from && strcmp (from, stage) == 0)
        return ERR_OK;
    char id[ID_LEN], now[CLOCK_TEXT_LEN];
    id_new (id);
    clock_format (clock_now_ms (), now, sizeof now);
    const char *values[] = { id, json_str (rec, "id"), json_str (rec, "customer_id"), from, stage, now,
                             actor ? (actor->is_bridge ? "bridge" : actor->user_id) : "system" };
    return db_write_texts (db,
        "INSERT INTO deal_stage_history (id, deal_id, customer_id, from_stage, to_stage, at, actor)"
        " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", values, 7, err);
}

//  What the catalogue (ERP's available quantities, as last mirrored) cannot
//  cover on an open deal: one entry per line whose SKU the catalogue knows
//  and whose quantity, with the earlier lines of the same SKU, is more than
//  is available. Computed on the way out, so it follows the stock.
static void
s_deal_decorate (db_t *db, cJSON *rec)
{
    cJSON *out = cJSON_CreateArray ();
    cJSON_AddItemToObject (rec, "shortfall", out);
    const char *stage = json_str (rec, "stage");
    char kind[16];
    int probability;
    if (!stage || !s_stage (db, stage, kind, sizeof kind, &probability) || strcmp (kind, "open") != 0)
        return;
    const cJSON *lines = cJSON_GetObjectItem (rec, "lines");
    int n = cJSON_GetArraySize (lines);
    for (int i = 0; i < n; i++) {
        const cJSON *line = cJSON_GetArrayItem (lines, i);
        const char *sku = json_str (line, "sku");
        int64_t qty = 0, before = 0;
        if (!sku || !json_int (line, "quantity", &qty))
            continue;
        for (int k = 0; k < i; k++) {
            const cJSON *prev = cJSON_GetArrayItem (lines, k);
            int64_t q = 0;
            if (json_str (prev, "sku") && strcmp (json_str (prev, "sku"), sku) == 0 && json_int (prev, "quantity", &q))
                before += q;
        }
        sqlite3_stmt *st = db_stmt (db, "SELECT available FROM catalog_items WHERE sku = ?1");
        if (!st)
            return;
        sqlite3_bind_text (st, 1, sku, -1, SQLITE_TRANSIENT);
        bool known = sqlite3_step (st) == SQLITE_ROW;
        int64_t available = known ? sqlite3_column_int64 (st, 0) : 0;
        sqlite3_reset (st);
        int64_t left = available - before > 0 ? available - before : 0;
        if (!known || qty <= left)
            continue;
        cJSON *s = cJSON_CreateObject ();
        cJSON_AddNumberToObject (s, "line", i);
        cJSON_AddStringToObject (s, "sku", sku);
        json_add_int (s, "quantity", qty);
        json_add_int (s, "available", left);
        json_add_int (s, "missing", qty - left);
        cJSON_AddItemToArray (out, s);
    }
}

const resource_def_t crm_deals = {
    .name = "deals", .entity = "deal", .table = "deals", .fields = s_deal_fields,
    .read_roles = ROLES_ALL, .write_roles = ROLES_ALL, .scoped_roles = ROLE_REP,
    .scope_sql = "t.owner_id = :me", .owner_field = "owner_id", .external_key = "external_key",
    .remote_name = "ERP", .before_save = s_deal_before_save, .after_save = s_deal_after_save,
    .decorate = s_deal_decorate,
    .set_column = "customer_id",
};

//  --- verbs ---

//  Move deal to stage, with the other fields of patch (consumed), as the
//  event verb. The engine checked the role, the scope and If-Match.
static err_t
s_step (db_t *db, const actor_t *actor, const cJSON *deal, int64_t version, const char *stage, const char *verb,
        cJSON *patch, cJSON **out, err_info_t *err)
{
    if (!patch)
        patch = cJSON_CreateObject ();
    cJSON_AddStringToObject (patch, "stage", stage);
    err_t rc = resource_update (db, &crm_deals, actor, json_str (deal, "id"), version, patch, RW_SYSTEM, verb, out, err);
    cJSON_Delete (patch);
    return rc;
}

static err_t
s_closed (const cJSON *deal, err_info_t *err)
{
    const char *stage = json_str (deal, "stage");
    if (strcmp (stage, "won") == 0 || strcmp (stage, "lost") == 0)
        return err_set (err, ERR_RULE, "stage", "the deal is %s; reopen it first%s", stage,
                        strcmp (stage, "won") == 0 ? " (a won deal cannot be reopened)" : "");
    return ERR_OK;
}

//  POST /api/v1/deals/{id}/move {"stage"}: to another open stage.
static err_t
s_move (db_t *db, const actor_t *actor, const cJSON *deal, int64_t version, const cJSON *body, cJSON **out,
        err_info_t *err)
{
    const char *stage = json_str (body, "stage");
    char kind[16];
    int probability;
    if (!stage)
        return err_set (err, ERR_INVALID, "stage", "stage is required (a stage name)");
    if (!s_stage (db, stage, kind, sizeof kind, &probability))
        return err_set (err, ERR_RULE, "stage", "no pipeline stage is named '%s'", stage);
    if (strcmp (kind, "open") != 0)
        return err_set (err, ERR_RULE, "stage", "use /win or /lose to close a deal");
    err_t rc = s_closed (deal, err);
    return rc != ERR_OK ? rc : s_step (db, actor, deal, version, stage, "stage_changed", NULL, out, err);
}

err_t
deals_win (db_t *db, const actor_t *actor, const cJSON *deal, int64_t version, const cJSON *lines, cJSON **out,
           err_info_t *err)
{
    err_t rc = s_closed (deal, err);
    if (rc != ERR_OK)
        return rc;
    if (!json_str (deal, "customer_id"))
        return err_set (err, ERR_RULE, "customer_id", "a deal needs a customer to be won");
    if (cJSON_GetArraySize (lines ? lines : cJSON_GetObjectItem (deal, "lines")) < 1)
        return err_set (err, ERR_RULE, "lines", "a deal needs at least one line to be won");
    cJSON *patch = cJSON_CreateObject ();
    char now[CLOCK_TEXT_LEN];
    cJSON_AddStringToObject (patch, "closed_at", clock_format (clock_now_ms (), now, sizeof now));
    if (lines)
        cJSON_AddItemToObject (patch, "lines", cJSON_Duplicate (lines, true));
    return s_step (db, actor, deal, version, "won", "won", patch, out, err);
}

//  POST /api/v1/deals/{id}/win: needs a customer and a line.
static err_t
s_win (db_t *db, const actor_t *actor, const cJSON *deal, int64_t version, const cJSON *body, cJSON **out,
       err_info_t *err)
{
    (void) body;
    return deals_win (db, actor, deal, version, NULL, out, err);
}

//  POST /api/v1/deals/{id}/lose {"reason"}.
static err_t
s_lose (db_t *db, const actor_t *actor, const cJSON *deal, int64_t version, const cJSON *body, cJSON **out,
        err_info_t *err)
{
    const char *reason = json_str (body, "reason");
    err_t rc = s_closed (deal, err);
    if (rc != ERR_OK)
        return rc;
    if (resource_text_blank (reason))
        return err_set (err, ERR_INVALID, "reason", "a reason is required to lose a deal (not only spaces)");
    cJSON *patch = cJSON_CreateObject ();
    char now[CLOCK_TEXT_LEN];
    cJSON_AddStringToObject (patch, "closed_at", clock_format (clock_now_ms (), now, sizeof now));
    cJSON_AddStringToObject (patch, "lost_reason", reason);
    return s_step (db, actor, deal, version, "lost", "lost", patch, out, err);
}

//  POST /api/v1/deals/{id}/reopen: a lost deal back to the first stage.
static err_t
s_reopen (db_t *db, const actor_t *actor, const cJSON *deal, int64_t version, const cJSON *body, cJSON **out,
          err_info_t *err)
{
    (void) body;
    cJSON *patch = cJSON_CreateObject ();
    cJSON_AddNullToObject (patch, "closed_at");
    cJSON_AddNullToObject (patch, "lost_reason");
    return s_step (db, actor, deal, version, "new", "reopened", patch, out, err);
}

static const char *const s_move_keys[] = { "stage", NULL };
static const char *const s_lose_keys[] = { "reason", NULL };

static const resource_verb_t s_verbs[] = {
    { .verb = "move", .fn = s_move, .keys = s_move_keys, .denied = "change deals" },
    { .verb = "win", .fn = s_win, .denied = "change deals" },
    { .verb = "lose", .fn = s_lose, .keys = s_lose_keys, .denied = "change deals" },
    { .verb = "reopen", .fn = s_reopen, .denied = "change deals",
      .from = { "stage", "lost", "only a lost deal can be reopened" } },
    { NULL }
};

static void
s_history (http_req_t *req)
{
    cJSON *deal = NULL;
    err_info_t err;
    err_clear (&err);
    db_t *db = http_db (req);
    if (resource_get (db, &crm_deals, http_actor (req), http_param (req, "id"), &deal, &err) != ERR_OK) {
        http_reply_error (req, &err);
        return;
    }
    cJSON_Delete (deal);
    sqlite3_stmt *st = db_stmt (db,
        "SELECT at, 'stage' AS kind, from_stage, to_stage, actor, NULL, NULL, NULL, rowid, NULL"
        " FROM deal_stage_history WHERE deal_id = ?1 UNION ALL SELECT at, kind, NULL, status, NULL, amount_minor,"
        " currency, reference, rowid, detail FROM deal_erp_events WHERE deal_id = ?1 ORDER BY 1 DESC, 9 DESC LIMIT 500");
    if (st)
        sqlite3_bind_text (st, 1, http_param (req, "id"), -1, SQLITE_TRANSIENT);
    cJSON *items = cJSON_CreateArray ();
    while (st && sqlite3_step (st) == SQLITE_ROW) {
        cJSON *h = cJSON_CreateObject ();
        cJSON_AddStringToObject (h, "at", (const char *) sqlite3_column_text (st, 0));
        cJSON_AddStringToObject (h, "kind", (const char *) sqlite3_column_text (st, 1));
        const char *names[] = { NULL, NULL, "from", "to", "actor", "amount_minor", "currency", "reference" };
        for (int c = 2; c < 8; c++) {
            if (sqlite3_column_type (st, c) == SQLITE_NULL)
                continue;
            if (c == 5)
                cJSON_AddNumberToObject (h, names[c], (double) sqlite3_column_int64 (st, c));
            else
                cJSON_AddStringToObject (h, names[c], (const char *) sqlite3_column_text (st, c));
        }
        //  What ERP added (the reason no order was made, a confirmation error).
        if (sqlite3_column_type (st, 9) != SQLITE_NULL) {
            cJSON *detail = json_parse ((const char *) sqlite3_column_text (st, 9), (size_t) sqlite3_column_bytes (st, 9));
            if (cJSON_IsObject (detail))
                cJSON_AddItemToObject (h, "detail", detail);
            else
                cJSON_Delete (detail);
        }
        cJSON_AddItemToArray (items, h);
    }
    if (st)
        sqlite3_reset (st);
    crm_reply_items (req, NULL, items);
}

err_t
deals_record_erp_event (db_t *db, const char *deal_id, const char *kind, const char *status, int64_t amount_minor,
                        const char *currency, const char *reference, const cJSON *detail, const char *at,
                        err_info_t *err)
{
    sqlite3_stmt *st = db_stmt (db,
        "INSERT INTO deal_erp_events (id, deal_id, customer_id, kind, status, amount_minor, currency, reference,"
        " detail, at) SELECT ?1, id, customer_id, ?2, ?3, ?4, ?5, ?6, ?7, ?8 FROM deals WHERE id = ?9");
    if (!st)
        return err_set (err, ERR_INTERNAL, NULL, "cannot record the ERP event");
    char id[ID_LEN], now[CLOCK_TEXT_LEN];
    id_new (id);
    //  Stored in the canonical UTC form, so that it sorts as text against
    //  every other time in the history and the timeline.
    int64_t at_ms;
    if (at && !clock_parse (at, &at_ms))
        return err_set (err, ERR_INVALID, "at", "at must be an RFC 3339 time");
    if (!at)
        at_ms = clock_now_ms ();
    clock_format (at_ms, now, sizeof now);
    char *detail_text = detail ? json_print (detail) : NULL;
    sqlite3_bind_text (st, 1, id, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 2, kind, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 3, status, -1, SQLITE_STATIC);   //  a NULL binds null
    if (amount_minor >= 0)
        sqlite3_bind_int64 (st, 4, amount_minor);
    sqlite3_bind_text (st, 5, currency, -1, SQLITE_STATIC);
    sqlite3_bind_text (st, 6, reference, -1, SQLITE_STATIC);
    if (detail_text)
        sqlite3_bind_text (st, 7, detail_text, -1, free);
    sqlite3_bind_text (st, 8, now, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text (st, 9, deal_id, -1, SQLITE_STATIC);
    return db_step_one (db, st, "deal_id", "no deal has this id", err);
}

err_t
deals_setup (service_t *svc, err_info_t *err)
{
    (void) err;
    err_t rc;
    if ((rc = service_resource (svc, &crm_stages)) != ERR_OK || (rc = service_resource (svc, &crm_deals)) != ERR_OK)
        return rc;
    http_server_t *http = service_http (svc);
    if (http) {
        resource_verbs (http, &crm_deals, s_verbs);
        http_server_route (http, "GET", "/api/v1/deals/{id}/history", s_history, 0);
    }
    return ERR_OK;
}
