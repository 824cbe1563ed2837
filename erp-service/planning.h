//  planning: what the forecast (planning.c) and the planning runs
//  (planning_runs.c) share.
#ifndef PLANNING_H
#define PLANNING_H

#include "erp.h"

#define MAX_MONTHS 36
#define PLANNERS ROLES_LEAD
#define PLAN_READERS (ROLE_PURCHASING | ROLES_LEAD)
#define RUN_MAX_PRODUCTS 5000

//  A product and its monthly demand, oldest month first.

typedef struct {
    char id[ID_LEN], sku[80], name[256];
    int64_t lead;   //  days, -1 unknown
    int64_t reorder_qty;
    char supplier[ID_LEN];   //  "" none
    int months;
    int first;   //  the first month with demand; months if none
    int64_t demand[MAX_MONTHS];
    char month[MAX_MONTHS][8];   //  "YYYY-MM"
} planning_series_t;

typedef struct {
    const char *method;   //  "ses", "croston", "none"
    double per_month;
    double mae, wape, bias;   //  wape < 0: undefined
    int points;
    double mean, sd, cv;   //  cv < 0: undefined
    const char *cls;       //  "X", "Y", "Z", NULL without demand
    double z;
    int64_t safety;
} planning_model_t;

//  Fit the forecast model of a series.
void planning_fit (const planning_series_t *s, planning_model_t *m);

//  "YYYY-MM" of the month offset months from the current one.
void planning_month (int offset, char *out, size_t size);

//  Read product row (planning_product_sql's columns) and its demand over
//  the months before the current one.
err_t planning_series (db_t *db, sqlite3_stmt *row, int months, planning_series_t *s,
                       err_info_t *err);

//  SELECT of the columns planning_series reads, products p.
extern const char planning_product_sql[];

//  A query argument as an integer in [lo, hi] (def when absent); false
//  after a 400.
bool planning_int_arg (http_req_t *req, const char *name, int lo, int hi, int def, int *out);

//  Plan every active product (planning_mrp.c): its suggestion lines into
//  lines, by sku, and how many products were looked at into planned.
err_t planning_mrp (db_t *db, int months, int horizon, cJSON *lines, int *planned, err_info_t *err);

extern const resource_def_t planning_runs;

#endif
