"""Bad input to crm-service's HTTP API: each case gets the right status
and an error of the shape {"error":{"code","message"[,"field"]}}, and
changes nothing: the outbox's last seq (ZeroMQ ping) stays, and so do the
records the request aimed at and the record lists."""

import base64
import json

import pytest

from crm_helpers import assert_error, create, last_seq, list_all, new_user, uid


@pytest.fixture(scope="module")
def svc(crm_module):
    return crm_module


@pytest.fixture(scope="module")
def world(svc):
    rep1 = new_user(svc, "bad-rep1", "sales_rep")
    rep2 = new_user(svc, "bad-rep2", "sales_rep")
    mgr = new_user(svc, "bad-mgr", "sales_manager")
    cust = create(svc, "customers", {"name": "Target", "external_key": "ext-taken"})
    rep2_cust = create(svc, "customers", {"name": "Rep2's"}, token=rep2["token"])
    rep2_deal = create(svc, "deals", {"title": "Rep2's deal", "customer_id": rep2_cust["id"]},
                       token=rep2["token"])
    gone = create(svc, "customers", {"name": "Archived"})
    assert svc.api("POST", "/api/v1/customers/%s/archive" % gone["id"]).status_code == 200
    contact = create(svc, "contacts", {"customer_id": cust["id"], "name": "Contact"})
    other_contact = create(svc, "contacts", {"customer_id": rep2_cust["id"], "name": "Other"})
    camp = create(svc, "campaigns", {"name": "Taken name", "channel": "email"})
    deal = create(svc, "deals", {"title": "Target deal", "customer_id": cust["id"]})
    ticket = create(svc, "tickets", {"customer_id": cust["id"], "subject": "Target ticket"})
    return {
        "tokens": {"rep1": rep1["token"], "rep2": rep2["token"], "mgr": mgr["token"]},
        "cust": cust["id"], "rep2_cust": rep2_cust["id"], "rep2_deal": rep2_deal["id"],
        "gone": gone["id"], "contact": contact["id"], "other_contact": other_contact["id"],
        "camp": camp["id"], "deal": deal["id"], "ticket": ticket["id"], "rep2_id": rep2["id"],
    }


J = "application/json"
BIG = b'{"name":"' + b"x" * (1024 * 1024 + 10) + b'"}'
CURSOR_NO_SEP = base64.urlsafe_b64encode(b"just text").decode().rstrip("=")
CURSOR_BAD_ID = base64.urlsafe_b64encode(b"Acme\x1fnot-an-id").decode().rstrip("=")



def _bad_param(name, path, param, value):
    """The case of a GET whose query parameter param=value is refused:
    400 validation_failed, naming param."""
    return (name, "GET", path, {"params": {param: value}}, 400, "validation_failed", param, None)


#  id, method, path, request (json / data+ct / headers / params / token),
#  expected status, code, field (None: not checked), text the message has.
CASES = [
    # --- the body ---
    ("malformed_json", "POST", "/api/v1/customers", {"data": b'{"name": "x"', "ct": J}, 400, "bad_request", None, "JSON"),
    ("json_trailing_garbage", "POST", "/api/v1/customers", {"data": b'{"name": "x"} xyz', "ct": J}, 400, "bad_request", None, None),
    ("json_array_body", "POST", "/api/v1/customers", {"data": b'[{"name": "x"}]', "ct": J}, 400, "bad_request", None, None),
    ("json_string_body", "POST", "/api/v1/customers", {"data": b'"x"', "ct": J}, 400, "bad_request", None, None),
    ("empty_body", "POST", "/api/v1/customers", {"data": b"", "ct": J}, 400, "bad_request", None, None),
    ("patch_malformed", "PATCH", "/api/v1/customers/{cust}", {"data": b"{,}", "ct": J}, 400, "bad_request", None, None),
    ("oversized_body", "POST", "/api/v1/customers", {"data": BIG, "ct": J}, 413, "payload_too_large", None, None),
    ("oversized_patch", "PATCH", "/api/v1/customers/{cust}", {"data": BIG, "ct": J}, 413, "payload_too_large", None, None),
    ("text_plain", "POST", "/api/v1/customers", {"data": b'{"name": "x"}', "ct": "text/plain"}, 415, "unsupported_media_type", None, None),
    ("no_content_type", "POST", "/api/v1/customers", {"data": b'{"name": "x"}', "ct": None}, 415, "unsupported_media_type", None, None),
    ("json_lookalike_type", "POST", "/api/v1/customers", {"data": b'{"name": "x"}', "ct": "application/jsonx"}, 415, "unsupported_media_type", None, None),
    ("csv_to_json_route", "POST", "/api/v1/customers", {"data": b"name\nx\n", "ct": "text/csv"}, 415, "unsupported_media_type", None, None),
    ("json_to_import", "POST", "/api/v1/customers/import", {"json": {"name": "x"}}, 415, "unsupported_media_type", None, None),
    # --- fields ---
    ("name_not_string", "POST", "/api/v1/customers", {"json": {"name": 5}}, 400, "validation_failed", "name", None),
    ("name_null", "POST", "/api/v1/customers", {"json": {"name": None}}, 400, "validation_failed", "name", None),
    ("name_empty", "POST", "/api/v1/customers", {"json": {"name": ""}}, 400, "validation_failed", "name", None),
    ("name_too_long", "POST", "/api/v1/customers", {"json": {"name": "n" * 201}}, 400, "validation_failed", "name", None),
    ("name_control_char", "POST", "/api/v1/customers", {"json": {"name": "a\u0001b"}}, 400, "validation_failed", "name", None),
    ("name_del_char", "POST", "/api/v1/customers", {"json": {"name": "a\u007fb"}}, 400, "validation_failed", "name", None),
    # a NUL would cut the text short ("Acme\u0000 Evil" stored as "Acme"): refused whole
    ("name_nul_escape", "POST", "/api/v1/customers", {"data": b'{"name":"Acme\\u0000 Evil"}', "ct": J}, 400, "bad_request", None, None),
    ("raw_nul_in_string", "POST", "/api/v1/customers", {"data": b'{"name":"Acme\x00 Evil"}', "ct": J}, 400, "bad_request", None, None),
    ("raw_nul_after_body", "POST", "/api/v1/customers", {"data": b'{"name":"Acme"}\x00', "ct": J}, 400, "bad_request", None, None),
    ("patch_nul_escape", "PATCH", "/api/v1/customers/{cust}", {"data": b'{"notes":"a\\u0000b"}', "ct": J}, 400, "bad_request", None, None),
    ("tags_not_array", "POST", "/api/v1/customers", {"json": {"name": "x", "tags": "vip"}}, 400, "validation_failed", "tags", None),
    ("tag_with_semicolon", "POST", "/api/v1/customers", {"json": {"name": "x", "tags": ["a;b"]}}, 400, "validation_failed", "tags", None),
    ("tag_not_string", "POST", "/api/v1/customers", {"json": {"name": "x", "tags": [1]}}, 400, "validation_failed", "tags", None),
    ("enum_bad", "POST", "/api/v1/customers", {"json": {"name": "x", "status": "vip"}}, 400, "validation_failed", "status", "one of"),
    ("email_bad", "POST", "/api/v1/customers", {"json": {"name": "x", "email": "not-an-email"}}, 400, "validation_failed", "email", None),
    ("phone_bad", "POST", "/api/v1/customers", {"json": {"name": "x", "phone": "call me"}}, 400, "validation_failed", "phone", None),
    ("address_not_object", "POST", "/api/v1/customers", {"json": {"name": "x", "addresses": ["Main St"]}}, 400, "validation_failed", "addresses[0]", None),
    ("address_missing_line1", "POST", "/api/v1/customers", {"json": {"name": "x", "addresses": [{"city": "B"}]}}, 400, "validation_failed", "addresses[0].line1", None),
    ("address_unknown_key", "POST", "/api/v1/customers", {"json": {"name": "x", "addresses": [{"line1": "a", "zip": "1"}]}}, 400, "validation_failed", "addresses[0].zip", None),
    ("bool_as_string", "POST", "/api/v1/contacts", {"json": {"customer_id": "{cust}", "name": "x", "is_primary": "yes"}}, 400, "validation_failed", "is_primary", None),
    ("int_as_string", "POST", "/api/v1/deals", {"json": {"title": "x", "amount_minor": "100"}}, 400, "validation_failed", "amount_minor", None),
    ("int_fraction", "POST", "/api/v1/deals", {"json": {"title": "x", "amount_minor": 1.5}}, 400, "validation_failed", "amount_minor", None),
    ("int_negative", "POST", "/api/v1/deals", {"json": {"title": "x", "amount_minor": -1}}, 400, "validation_failed", "amount_minor", None),
    ("int_too_big", "POST", "/api/v1/deals", {"json": {"title": "x", "probability": 101}}, 400, "validation_failed", "probability", None),
    ("currency_bad", "POST", "/api/v1/deals", {"json": {"title": "x", "currency": "euro"}}, 400, "validation_failed", "currency", None),
    ("date_bad", "POST", "/api/v1/deals", {"json": {"title": "x", "expected_close": "2030-13-01"}}, 400, "validation_failed", "expected_close", None),
    ("time_bad", "POST", "/api/v1/tasks", {"json": {"title": "x", "due_at": "tomorrow"}}, 400, "validation_failed", "due_at", None),
    ("ref_not_uuid", "POST", "/api/v1/contacts", {"json": {"customer_id": "ACME", "name": "x"}}, 400, "validation_failed", "customer_id", None),
    ("line_quantity_zero", "POST", "/api/v1/deals", {"json": {"title": "x", "lines": [{"sku": "A", "quantity": 0, "unit_price_minor": 1}]}}, 400, "validation_failed", "lines[0].quantity", None),
    ("line_missing_price", "POST", "/api/v1/deals", {"json": {"title": "x", "lines": [{"sku": "A", "quantity": 1}]}}, 400, "validation_failed", "lines[0].unit_price_minor", None),
    ("line_discount_over_100", "POST", "/api/v1/deals", {"json": {"title": "x", "lines": [{"sku": "A", "quantity": 1, "unit_price_minor": 1, "discount_percent": 101}]}}, 400, "validation_failed", "lines[0].discount_percent", None),
    ("lines_not_array", "POST", "/api/v1/deals", {"json": {"title": "x", "lines": {"sku": "A"}}}, 400, "validation_failed", "lines", None),
    ("missing_required", "POST", "/api/v1/customers", {"json": {"email": "a@b.co"}}, 400, "validation_failed", "name", "required"),
    ("missing_required_ref", "POST", "/api/v1/contacts", {"json": {"name": "x"}}, 400, "validation_failed", "customer_id", None),
    ("unknown_field", "POST", "/api/v1/customers", {"json": {"name": "x", "colour": "red"}}, 400, "validation_failed", "colour", None),
    ("unknown_field_patch", "PATCH", "/api/v1/customers/{cust}", {"json": {"colour": "red"}}, 400, "validation_failed", "colour", None),
    ("meta_field_id", "POST", "/api/v1/customers", {"json": {"name": "x", "id": "{cust}"}}, 400, "validation_failed", "id", None),
    ("meta_field_version", "PATCH", "/api/v1/customers/{cust}", {"json": {"version": 9}}, 400, "validation_failed", "version", None),
    ("system_field_stage", "POST", "/api/v1/deals", {"json": {"title": "x", "stage": "won"}}, 400, "validation_failed", "stage", None),
    ("system_field_stage_patch", "PATCH", "/api/v1/deals/{deal}", {"json": {"stage": "won"}}, 400, "validation_failed", "stage", None),
    ("immutable_field", "PATCH", "/api/v1/contacts/{contact}", {"json": {"customer_id": "{rep2_cust}"}}, 400, "validation_failed", "customer_id", None),
    ("second_bad_field", "PATCH", "/api/v1/customers/{cust}", {"json": {"notes": "fine", "kind": "robot"}}, 400, "validation_failed", "kind", None),
    # --- ERP-owned fields ---
    ("erp_field_patch", "PATCH", "/api/v1/customers/{cust}", {"json": {"tax_id": "DE1"}}, 409, "conflict", "tax_id", "ERP"),
    ("erp_field_create", "POST", "/api/v1/customers", {"json": {"name": "x", "credit_limit_minor": 5}}, 409, "conflict", "credit_limit_minor", "ERP"),
    ("erp_field_with_other", "PATCH", "/api/v1/customers/{cust}", {"json": {"notes": "n", "balance_minor": 0}}, 409, "conflict", "balance_minor", "ERP"),
    ("erp_deal_field", "PATCH", "/api/v1/deals/{deal}", {"json": {"order_status": "shipped"}}, 409, "conflict", "order_status", "ERP"),
    # --- ids and references ---
    ("unknown_id_get", "GET", "/api/v1/customers/{random}", {}, 404, "not_found", None, None),
    ("unknown_id_patch", "PATCH", "/api/v1/customers/{random}", {"json": {"notes": "x"}}, 404, "not_found", None, None),
    ("unknown_id_archive", "POST", "/api/v1/customers/{random}/archive", {}, 404, "not_found", None, None),
    ("unknown_id_restore", "POST", "/api/v1/deals/{random}/restore", {}, 404, "not_found", None, None),
    ("malformed_id", "GET", "/api/v1/customers/not-a-uuid", {}, 404, "not_found", None, None),
    ("upper_case_id", "GET", "/api/v1/customers/{CUST}", {}, 404, "not_found", None, None),
    ("unknown_card", "GET", "/api/v1/customers/{random}/card", {}, 404, "not_found", None, None),
    ("unknown_timeline", "GET", "/api/v1/customers/{random}/timeline", {}, 404, "not_found", None, None),
    ("unknown_deal_win", "POST", "/api/v1/deals/{random}/win", {}, 404, "not_found", None, None),
    ("unknown_deal_history", "GET", "/api/v1/deals/{random}/history", {}, 404, "not_found", None, None),
    ("unknown_alert_ack", "POST", "/api/v1/alerts/{random}/acknowledge", {}, 404, "not_found", None, None),
    ("unknown_token_revoke", "POST", "/api/v1/tokens/{random}/revoke", {}, 404, "not_found", None, None),
    ("unknown_route", "GET", "/api/v1/customerz", {}, 404, "not_found", None, None),
    # a %00 in the path cut it short: /customers/%00/archive became a create,
    # /users%00/evil reached POST /users
    ("nul_in_path_id", "POST", "/api/v1/customers/%00/archive", {}, 404, "not_found", None, None),
    ("nul_in_path_segment", "POST", "/api/v1/users%00/evil", {"json": {"name": "evil", "role": "admin"}}, 404, "not_found", None, None),
    ("nul_in_path_create", "POST", "/api/v1/customers%00", {"json": {"name": "evil"}}, 404, "not_found", None, None),
    ("unknown_ref", "POST", "/api/v1/contacts", {"json": {"customer_id": "{random}", "name": "x"}}, 422, "business_rule", "customer_id", None),
    ("unknown_ref_patch", "PATCH", "/api/v1/deals/{deal}", {"json": {"campaign_id": "{random}"}}, 422, "business_rule", "campaign_id", None),
    ("unknown_user_ref", "POST", "/api/v1/tasks", {"json": {"title": "x", "assignee_id": "{random}"}}, 422, "business_rule", "assignee_id", None),
    ("archived_ref", "POST", "/api/v1/contacts", {"json": {"customer_id": "{gone}", "name": "x"}}, 422, "business_rule", "customer_id", "archived"),
    ("contact_of_other_customer", "POST", "/api/v1/interactions", {"json": {"customer_id": "{cust}", "kind": "call", "contact_id": "{other_contact}"}}, 422, "business_rule", "contact_id", None),
    ("duplicate_unique_name", "POST", "/api/v1/campaigns", {"json": {"name": "Taken name", "channel": "web"}}, 409, "conflict", "name", None),
    ("duplicate_external_key", "POST", "/api/v1/customers", {"json": {"name": "x", "external_key": "ext-taken"}}, 409, "conflict", "external_key", None),
    # --- business rules ---
    ("counterparty_dates", "POST", "/api/v1/counterparties", {"json": {"customer_id": "{cust}", "name": "x", "valid_from": "2030-01-02", "valid_to": "2030-01-01"}}, 422, "business_rule", "valid_to", None),
    ("campaign_dates", "POST", "/api/v1/campaigns", {"json": {"name": "{u}", "channel": "web", "starts_on": "2030-02-01", "ends_on": "2030-01-01"}}, 422, "business_rule", "ends_on", None),
    ("task_remind_after_due", "POST", "/api/v1/tasks", {"json": {"title": "x", "due_at": "2030-01-01T00:00:00Z", "remind_at": "2030-01-02T00:00:00Z"}}, 422, "business_rule", "remind_at", None),
    ("note_with_direction", "POST", "/api/v1/interactions", {"json": {"customer_id": "{cust}", "kind": "note", "direction": "in"}}, 400, "validation_failed", "direction", None),
    ("move_to_won", "POST", "/api/v1/deals/{deal}/move", {"json": {"stage": "won"}}, 422, "business_rule", "stage", None),
    ("move_to_unknown_stage", "POST", "/api/v1/deals/{deal}/move", {"json": {"stage": "nowhere"}}, 422, "business_rule", "stage", None),
    ("move_without_stage", "POST", "/api/v1/deals/{deal}/move", {"json": {}}, 400, "validation_failed", "stage", None),
    ("win_without_lines", "POST", "/api/v1/deals/{deal}/win", {}, 422, "business_rule", "lines", None),
    ("lose_without_reason", "POST", "/api/v1/deals/{deal}/lose", {"json": {"reason": ""}}, 400, "validation_failed", "reason", None),
    ("reopen_open_deal", "POST", "/api/v1/deals/{deal}/reopen", {}, 422, "business_rule", "stage", None),
    # --- authentication and roles ---
    ("no_token", "GET", "/api/v1/customers", {"token": "none"}, 401, "unauthorized", None, None),
    ("no_token_write", "POST", "/api/v1/customers", {"token": "none", "json": {"name": "x"}}, 401, "unauthorized", None, None),
    ("bad_token", "PATCH", "/api/v1/customers/{cust}", {"token": "bad", "json": {"notes": "x"}}, 401, "unauthorized", None, None),
    ("basic_auth", "GET", "/api/v1/customers", {"token": "none", "headers": {"Authorization": "Basic YWRtaW46YWRtaW4="}}, 401, "unauthorized", None, None),
    ("empty_bearer", "GET", "/api/v1/customers", {"token": "none", "headers": {"Authorization": "Bearer "}}, 401, "unauthorized", None, None),
    ("huge_bearer", "GET", "/api/v1/customers", {"token": "none", "headers": {"Authorization": "Bearer " + "t" * 5000}}, 401, "unauthorized", None, None),
    ("rep_creates_campaign", "POST", "/api/v1/campaigns", {"token": "rep1", "json": {"name": "{u}", "channel": "web"}}, 403, "forbidden", None, None),
    ("rep_patches_campaign", "PATCH", "/api/v1/campaigns/{camp}", {"token": "rep1", "json": {"notes": "x"}}, 403, "forbidden", None, None),
    ("rep_creates_stage", "POST", "/api/v1/pipeline_stages", {"token": "rep1", "json": {"name": "{u}", "position": 9, "probability": 9}}, 403, "forbidden", None, None),
    ("rep_lists_users", "GET", "/api/v1/users", {"token": "rep1"}, 403, "forbidden", None, None),
    ("mgr_creates_user", "POST", "/api/v1/users", {"token": "mgr", "json": {"name": "{u}", "role": "admin"}}, 403, "forbidden", None, None),
    ("mgr_issues_token", "POST", "/api/v1/users/{rep2_id}/tokens", {"token": "mgr"}, 403, "forbidden", None, None),
    ("rep_analytics", "GET", "/api/v1/analytics/funnel", {"token": "rep1"}, 403, "forbidden", None, None),
    ("rep_customer_for_other", "POST", "/api/v1/customers", {"token": "rep1", "json": {"name": "x", "owner_id": "{rep2_id}"}}, 403, "forbidden", "owner_id", None),
    ("other_reps_customer_get", "GET", "/api/v1/customers/{rep2_cust}", {"token": "rep1"}, 404, "not_found", None, None),
    ("other_reps_customer_patch", "PATCH", "/api/v1/customers/{rep2_cust}", {"token": "rep1", "json": {"notes": "mine now"}}, 404, "not_found", None, None),
    ("other_reps_customer_archive", "POST", "/api/v1/customers/{rep2_cust}/archive", {"token": "rep1"}, 404, "not_found", None, None),
    ("other_reps_card", "GET", "/api/v1/customers/{rep2_cust}/card", {"token": "rep1"}, 404, "not_found", None, None),
    ("other_reps_timeline", "GET", "/api/v1/customers/{rep2_cust}/timeline", {"token": "rep1"}, 404, "not_found", None, None),
    ("other_reps_deal", "GET", "/api/v1/deals/{rep2_deal}", {"token": "rep1"}, 404, "not_found", None, None),
    ("other_reps_deal_move", "POST", "/api/v1/deals/{rep2_deal}/move", {"token": "rep1", "json": {"stage": "qualified"}}, 404, "not_found", None, None),
    ("other_reps_deal_history", "GET", "/api/v1/deals/{rep2_deal}/history", {"token": "rep1"}, 404, "not_found", None, None),
    ("other_reps_contact", "GET", "/api/v1/contacts/{other_contact}", {"token": "rep1"}, 404, "not_found", None, None),
    ("deal_on_other_reps_customer", "POST", "/api/v1/deals", {"token": "rep1", "json": {"title": "x", "customer_id": "{rep2_cust}"}}, 422, "business_rule", "customer_id", None),
    # --- If-Match ---
    ("stale_if_match", "PATCH", "/api/v1/customers/{cust}", {"json": {"notes": "x"}, "headers": {"If-Match": '"7"'}}, 409, "stale_version", "If-Match", None),
    ("stale_if_match_verb", "POST", "/api/v1/deals/{deal}/move", {"json": {"stage": "qualified"}, "headers": {"If-Match": "9"}}, 409, "stale_version", None, None),
    ("stale_if_match_archive", "POST", "/api/v1/deals/{deal}/archive", {"headers": {"If-Match": "2"}}, 409, "stale_version", None, None),
    ("garbage_if_match", "PATCH", "/api/v1/customers/{cust}", {"json": {"notes": "x"}, "headers": {"If-Match": "abc"}}, 400, "bad_request", "If-Match", None),
    ("negative_if_match", "PATCH", "/api/v1/customers/{cust}", {"json": {"notes": "x"}, "headers": {"If-Match": "-1"}}, 400, "bad_request", "If-Match", None),
    ("overflowing_if_match", "PATCH", "/api/v1/customers/{cust}", {"json": {"notes": "x"}, "headers": {"If-Match": '"9999999999999999999999"'}}, 400, "bad_request", "If-Match", None),
    ("signed_if_match", "PATCH", "/api/v1/customers/{cust}", {"json": {"notes": "x"}, "headers": {"If-Match": '"+1"'}}, 400, "bad_request", "If-Match", None),
    # --- Idempotency-Key ---
    ("idempotency_key_too_long", "POST", "/api/v1/customers", {"json": {"name": "x"}, "headers": {"Idempotency-Key": "k" * 201}}, 400, "validation_failed", "Idempotency-Key", None),
    # --- list parameters ---
    _bad_param("unknown_query_param", "/api/v1/customers", "colour", "red"),
    _bad_param("not_a_filter", "/api/v1/customers", "name", "x"),
    _bad_param("limit_zero", "/api/v1/customers", "limit", "0"),
    _bad_param("limit_too_big", "/api/v1/customers", "limit", "501"),
    _bad_param("limit_negative", "/api/v1/deals", "limit", "-5"),
    _bad_param("limit_not_number", "/api/v1/deals", "limit", "ten"),
    _bad_param("limit_trailing", "/api/v1/deals", "limit", "10x"),
    _bad_param("limit_empty", "/api/v1/deals", "limit", ""),
    _bad_param("cursor_garbage", "/api/v1/customers", "cursor", "%%%"),
    _bad_param("cursor_no_separator", "/api/v1/customers", "cursor", CURSOR_NO_SEP),
    _bad_param("cursor_bad_id", "/api/v1/customers", "cursor", CURSOR_BAD_ID),
    _bad_param("cursor_too_long", "/api/v1/customers", "cursor", "A" * 3000),
    _bad_param("timeline_bad_cursor", "/api/v1/customers/{cust}/timeline", "cursor", "zz"),
    _bad_param("timeline_bad_limit", "/api/v1/customers/{cust}/timeline", "limit", "0"),
    _bad_param("sort_not_sortable", "/api/v1/customers", "sort", "email"),
    _bad_param("sort_unknown", "/api/v1/customers", "sort", "-nothing"),
    _bad_param("archived_bad", "/api/v1/customers", "archived", "maybe"),
    _bad_param("updated_after_bad", "/api/v1/customers", "updated_after", "yesterday"),
    _bad_param("bool_filter_bad", "/api/v1/tasks", "done", "perhaps"),
    _bad_param("named_filter_bad", "/api/v1/tasks", "overdue", "soon"),
    _bad_param("q_too_long", "/api/v1/customers", "q", "q" * 201),
    _bad_param("analytics_bad_currency", "/api/v1/analytics/funnel", "currency", "eur"),
    _bad_param("analytics_bad_months", "/api/v1/analytics/abc-xyz", "months", "61"),
    _bad_param("analytics_bad_from", "/api/v1/analytics/managers", "from", "last week"),
]


def _fill(value, world, u):
    if isinstance(value, str):
        return (value.replace("{random}", u["random"]).replace("{u}", u["u"])
                .replace("{CUST}", world["cust"].upper())
                .format(**{k: v for k, v in world.items() if isinstance(v, str)}))
    if isinstance(value, dict):
        return {k: _fill(v, world, u) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, world, u) for v in value]
    return value


def _state(svc, world):
    """Everything a bad request must leave as it was."""
    state = {"seq": last_seq(svc)}
    for res in ("customers", "deals", "contacts", "campaigns", "tasks", "interactions",
                "counterparties", "pipeline_stages", "users", "tickets"):
        state[res] = sorted((x["id"], x["version"], x["archived"])
                            for x in list_all(svc, res, {"archived": "all"}))
    for key, res in (("cust", "customers"), ("rep2_cust", "customers"), ("deal", "deals"),
                     ("contact", "contacts"), ("camp", "campaigns")):
        state[key] = svc.api("GET", "/api/v1/%s/%s" % (res, world[key])).json()
    return state


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_refused_and_changes_nothing(svc, world, case):
    name, method, path, req, status, code, field, text = case
    u = {"random": uid(), "u": "u-" + uid()[:8]}
    path = _fill(path, world, u)
    headers = _fill(dict(req.get("headers", {})), world, u)
    kw = {"headers": headers, "params": req.get("params")}
    tok = req.get("token", "admin")
    if tok == "none":
        kw["token"] = None
    elif tok == "bad":
        kw["token"] = "crm_" + "A" * 43
    elif tok != "admin":
        kw["token"] = world["tokens"][tok]
    if "json" in req:
        kw["json"] = _fill(req["json"], world, u)
    elif "data" in req:
        kw["data"] = req["data"]
        if req.get("ct"):
            headers["Content-Type"] = req["ct"]
    before = _state(svc, world)
    r = svc.api(method, path, **kw)
    e = assert_error(r, status, code, field)
    if text:
        assert text in e["message"], e
    assert _state(svc, world) == before, "a refused request changed something"


def test_a_refused_request_leaves_the_service_serving(svc, world):
    # after the whole table: still ready, and a good write works
    assert svc.api("GET", "/readyz", token=None).status_code == 200
    seq = last_seq(svc)
    create(svc, "customers", {"name": "after bad input"})
    assert last_seq(svc) == seq + 1


def test_method_not_allowed_has_the_error_shape(svc):
    r = svc.api("DELETE", "/api/v1/customers")
    assert_error(r, 405, "method_not_allowed")
    r = svc.api("PUT", "/api/v1/customers/" + uid(), json={"name": "x"})
    assert_error(r, 405, "method_not_allowed")


def test_deeply_nested_json_is_refused_not_crashing(svc):
    seq = last_seq(svc)
    body = b'{"name":' + b"[" * 100000 + b"]" * 100000 + b"}"
    r = svc.api("POST", "/api/v1/customers", data=body, headers={"Content-Type": J})
    assert r.status_code == 400, r.text
    body = json.dumps({"name": "x", "notes": "\ud800"}).encode()    # a lone surrogate escape
    r = svc.api("POST", "/api/v1/customers", data=body, headers={"Content-Type": J})
    assert r.status_code in (201, 400)
    if r.status_code == 201:
        seq += 1
    assert last_seq(svc) == seq
    assert svc.api("GET", "/livez", token=None).status_code == 200
