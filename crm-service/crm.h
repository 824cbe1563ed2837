//  crm: what the crm-service's business areas share: roles, the resource
//  definitions other areas refer to, and each area's set-up function.
#ifndef CRM_H
#define CRM_H

#include "clock.h"
#include "money.h"
#include "resource.h"
#include "service.h"

//  Roles, in the bit order of crm_roles.
#define ROLE_REP (1u << 0)
#define ROLE_MANAGER (1u << 1)
#define ROLE_ADMIN (1u << 2)
#define ROLES_ALL (ROLE_REP | ROLE_MANAGER | ROLE_ADMIN)
#define ROLES_LEAD (ROLE_MANAGER | ROLE_ADMIN)

extern const char *const crm_roles[];
extern const db_migration_t crm_migrations[];
extern const int crm_nmigrations;

//  Scope of a sales rep over records that hang off a customer.
#define SCOPE_VIA_CUSTOMER "t.customer_id IN (SELECT id FROM customers WHERE owner_id = :me)"

extern const resource_def_t crm_customers;
extern const resource_def_t crm_counterparties;
extern const resource_def_t crm_contacts;
extern const resource_def_t crm_interactions;
extern const resource_def_t crm_stages;
extern const resource_def_t crm_deals;
extern const resource_def_t crm_tasks;
extern const resource_def_t crm_campaigns;
extern const resource_def_t crm_tickets;
extern const resource_def_t crm_ticket_comments;
extern const resource_def_t crm_catalog;
extern const resource_def_t crm_alerts;
extern const resource_def_t crm_quotations;
extern const resource_def_t crm_suppressions;
extern const resource_def_t crm_mailings;
extern const resource_def_t crm_segments;

err_t customers_setup (service_t *svc, err_info_t *err);
err_t interactions_setup (service_t *svc, err_info_t *err);
err_t deals_setup (service_t *svc, err_info_t *err);
err_t tasks_setup (service_t *svc, err_info_t *err);
err_t campaigns_setup (service_t *svc, err_info_t *err);
//  Hand-written lists paged on (sort text, id) (customers.c): ?limit
//  (1..500, default 50) and ?cursor decoded into sort_value and id (*cursor
//  whether one was given); false when a 400 was sent. Then the answer:
//  body with next_cursor (next, freed), or the error of the step rc.
bool crm_page_args (http_req_t *req, long *limit, bool *cursor, char *sort_value, size_t size, char *id);
void crm_page_reply (http_req_t *req, db_t *db, int rc, cJSON *body, char *next);
//  The lead sources (the campaigns' channels), and the lead source a
//  customer or deal rec without one gets: its campaign's channel, else
//  fallback (NULL: none).
extern const char *const crm_lead_sources[];
void campaigns_fill_lead_source (db_t *db, cJSON *rec, const char *fallback);
err_t tickets_setup (service_t *svc, err_info_t *err);
err_t catalog_setup (service_t *svc, err_info_t *err);
err_t analytics_setup (service_t *svc, err_info_t *err);
err_t commands_setup (service_t *svc, err_info_t *err);
err_t quotations_setup (service_t *svc, err_info_t *err);
err_t reports_setup (service_t *svc, err_info_t *err);
err_t suppressions_setup (service_t *svc, err_info_t *err);
err_t mailings_setup (service_t *svc, err_info_t *err);
err_t segments_setup (service_t *svc, err_info_t *err);

//  The contact or deal (table "contacts" or "deals") that rec's field
//  names must belong to rec's customer: else ERR_RULE on field, "<field>
//  belongs to another customer". Nothing to check when either is absent;
//  on an update (old not NULL) only when one of them changed, so that a
//  record saved before the rule still takes its other changes
//  (customers.c).
err_t crm_same_customer (db_t *db, const cJSON *rec, const cJSON *old, const char *field, const char *table,
                         err_info_t *err);

//  The members of saved segment segment_id for actor (a sales rep: its own
//  customers), as the JSON array text of their ids (caller frees). An id
//  that is no segment the actor may see: ERR_NOT_FOUND naming segment_id;
//  not an id: ERR_INVALID. The segment_id of lists (resource_set_param),
//  analyses and mailings.
err_t segments_members (db_t *db, const actor_t *actor, const char *segment_id, char **ids_json, err_info_t *err);

//  A quotation as an e-mail in its language (quotation_mail.c): the
//  subject and the plain text (message first, when given). Caller frees.
char *quotation_mail_subject (const cJSON *q, const char *company);
char *quotation_mail_text (const cJSON *q, const char *company, const char *message);

//  Raise the reminders whose time has come (tasks.c); *n gets how many.
err_t tasks_remind (db_t *db, int *n, err_info_t *err);

//  Win deal (as loaded, at version) in the caller's transaction: it needs a
//  customer and at least one line; lines (may be NULL) replace the deal's
//  (an accepted quotation's). Caller owns *out (may pass NULL).
err_t deals_win (db_t *db, const actor_t *actor, const cJSON *deal, int64_t version, const cJSON *lines, cJSON **out,
                 err_info_t *err);

//  Record a deal event from ERP (order status, invoice, payment) for the
//  deal's history and the customer's timeline. In the caller's transaction.
err_t
    deals_record_erp_event (db_t *db, const char *deal_id, const char *kind, const char *status,
                            int64_t amount_minor, const char *currency, const char *reference,
                            const cJSON *detail, const char *at, err_info_t *err);

//  The arguments every analysis takes (docs/api.md, "Analytics"):
//  currency, [from, to), owner_id (a user id or "me"), segment (the
//  customers' free-text segment field) and segment_id (a saved segment).
//  Declare with ANALYTICS_ARGS, which frees members on every return.
typedef struct {
    char currency[4];
    char from[CLOCK_TEXT_LEN];
    char to[CLOCK_TEXT_LEN];
    char owner[ID_LEN];       //  "" when not filtered
    char segment[101];        //  "" when not filtered
    char *members;            //  the saved segment's customer ids (JSON), NULL when not filtered
} analytics_args_t;

void analytics_args_release (analytics_args_t *a);
#define ANALYTICS_ARGS(a) analytics_args_t a __attribute__ ((cleanup (analytics_args_release))) = { .members = NULL }

//  currency, from, to, owner_id, segment, segment_id
extern const char *const analytics_common_keys[];

//  Check the caller (managers and admins), refuse any query argument not
//  in allowed, and parse the others into a. false when a reply was sent.
bool
    analytics_args (http_req_t *req, analytics_args_t *a, const char *const *allowed);

//  Bind a's owner as ?4, segment as ?5 and members as ?9 (NULL when not
//  filtered).
void
    analytics_bind_filters (sqlite3_stmt *st, const analytics_args_t *a);
//  Bind a's currency as ?1, from as ?2, to as ?3, then its filters.
void
    analytics_bind_range (sqlite3_stmt *st, const analytics_args_t *a);

//  The default currency (PATCH /api/v1/settings), else EUR, into out[4].
void
    analytics_default_currency (db_t *db, char *out);

//  The ABC/XYZ classification of the customers with won deals in the last
//  months months (and a's range and filters) into *body, as
//  GET /api/v1/analytics/abc-xyz answers it (each item's "abc", "xyz").
//  Caller owns *body.
err_t
    analytics_abc_xyz (db_t *db, const analytics_args_t *a, long months, cJSON **body, err_info_t *err);

//  The deals (alias d) of the owner ?4, of customers in segment ?5 and of
//  the members ?9 of a saved segment.
#define ANALYTICS_MEMBERS(col) " AND (?9 IS NULL OR " col " IN (SELECT value FROM json_each(?9)))"
#define ANALYTICS_SEGMENT                                                                                   \
    " AND (?5 IS NULL OR d.customer_id IN (SELECT id FROM customers WHERE segment = ?5))"                   \
    ANALYTICS_MEMBERS ("d.customer_id")
#define ANALYTICS_DEAL_FILTERS " AND (?4 IS NULL OR d.owner_id = ?4)" ANALYTICS_SEGMENT

//  Answer 200 with {"currency": currency (when not NULL), "items": items};
//  takes items.
void
    crm_reply_items (http_req_t *req, const char *currency, cJSON *items);

#endif
