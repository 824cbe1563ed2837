"""bridgectl against a fake bridge.

The fake is an http.server on a free loopback port that serves the JSON
shapes of docs/bridge.md ("HTTP API") and records every request, so each
test can check both what bridgectl printed and exited with, and which
method, path, token and body it sent. The real bridge is not needed.

bin/bridgectl missing is a failure, not a skip.
"""

import http.server
import json
import os
import pty
import select
import signal
import socket
import stat
import subprocess
import threading
import time
import urllib.parse

import pytest

from conftest import BIN_DIR, CRASH_MARKERS, tail

TOKEN = "bridge_test-token-1234"

STATUS = {
    "version": "0.4.0", "started_at": "2026-11-23T10:00:00.000Z", "uptime_s": 3723,
    "sources": {
        "crm": {"connected": True, "state": "live", "last_seen_seq": 40, "last_applied_seq": 39,
                "source_last_seq": 41, "lag_seq": 2, "lag_seconds": 0.5, "received": 40,
                "applied": 39, "duplicates": 0, "failed": 1, "replays": 1, "rate_per_s": 3.5,
                "last_event_at": "2026-11-23T10:59:58.123Z", "last_error": None},
        "erp": {"connected": False, "state": "retrying", "last_seen_seq": 1717,
                "last_applied_seq": 1700, "source_last_seq": 1717, "lag_seq": 17,
                "lag_seconds": 12.25, "received": 1717, "applied": 1700, "duplicates": 3,
                "failed": 0, "replays": 2, "rate_per_s": 0.0,
                "last_event_at": "2026-11-23T10:59:40.000Z",
                "last_error": "crm unavailable: no answer within 5000 ms"},
    },
    "dead_letters": 2, "parked": 5, "links": {"customer": 3, "order": 1},
    "reconcile": {"running": False, "last_run_id": 2,
                  "last_finished_at": "2026-11-23T09:00:00.000Z", "drift": 0},
}

EVENT = {"id": "0b7f6f1e-1111-4222-8333-444455556666", "source": "crm", "seq": 12,
         "type": "deal.won", "entity": "deal", "entity_id": "9c1d0e2f-aaaa-4bbb-8ccc-ddddeeeeffff",
         "version": 3, "occurred_at": "2026-11-23T10:15:02.123Z", "actor": "u1",
         "causation_id": None, "data": {"title": "Big deal"}}


def dead_letter(i, status="open", **kw):
    d = {"id": i, "source": "crm", "seq": 10 + i, "topic": "crm.deal.won",
         "key": "crm:deal:%d" % i, "flow": "deal.won", "command_type": "order.create",
         "code": "validation_failed", "reason": "lines[0].sku is unknown: SKU-%d" % i,
         "attempts": 1, "status": status, "first_failed_at": "2026-11-23T10:15:03.000Z",
         "last_failed_at": "2026-11-23T10:15:03.000Z", "parked_behind": 2, "event": EVENT}
    d.update(kw)
    return d


def error(code, message):
    return {"error": {"code": code, "message": message}}


# ---------------------------------------------------------------------------
# The fake bridge

class Request:
    def __init__(self, method, target, headers, body):
        parts = urllib.parse.urlsplit(target)
        self.method = method
        self.path = parts.path
        self.query = urllib.parse.parse_qs(parts.query)
        self.headers = headers
        self.body = body

    def json(self):
        return json.loads(self.body)

    def __repr__(self):
        return "%s %s %r" % (self.method, self.path, self.query)


class FakeBridge:
    """Routes are (METHOD, path) -> list of answers; each answer is
    (status, json) or (status, json, {"chunked": True}). The answers are
    handed out in turn, the last one over and over. A request without
    `Authorization: Bearer <token>` gets 401 (token=None accepts anything)."""

    def __init__(self, token=TOKEN):
        self.token = token
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _any(self):
                fake._handle(self)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _any

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def route(self, method, path, *answers):
        self.routes[(method, path)] = list(answers)

    def seen(self, method=None, path=None):
        with self.lock:
            return [r for r in self.requests
                    if (method is None or r.method == method) and (path is None or r.path == path)]

    def _handle(self, h):
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        req = Request(h.command, h.path, {k.lower(): v for k, v in h.headers.items()}, body)
        with self.lock:
            self.requests.append(req)
            answers = self.routes.get((req.method, req.path))
            if self.token is not None and req.headers.get("authorization") != "Bearer " + self.token:
                answer = (401, error("unauthorized", "missing or invalid bearer token"))
            elif answers is None:
                answer = (404, error("not_found", "no route %s %s" % (req.method, req.path)))
            else:
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
        status, doc = answer[0], answer[1]
        opts = answer[2] if len(answer) > 2 else {}
        data = json.dumps(doc).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Connection", "close")
        if opts.get("chunked"):
            h.send_header("Transfer-Encoding", "chunked")
            h.end_headers()
            for i in range(0, len(data), 700):
                piece = data[i:i + 700]
                h.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            h.wfile.write(b"0\r\n\r\n")
        else:
            h.send_header("Content-Length", str(len(data)))
            h.end_headers()
            h.wfile.write(data)
        h.wfile.flush()
        h.close_connection = True

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake():
    f = FakeBridge()
    yield f
    f.close()


# ---------------------------------------------------------------------------
# Running bridgectl

BRIDGECTL = os.path.join(BIN_DIR, "bridgectl")


def clean_env(extra=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("BRIDGECTL_")}
    env.update(extra or {})
    return env


def check_binary():
    if not os.path.exists(BRIDGECTL):
        pytest.fail("%s not found (BIN_DIR=%s); run make first" % (BRIDGECTL, BIN_DIR))


def check_crash(p, args):
    crash = [m for m in CRASH_MARKERS if m in (p.stderr or "")]
    if p.returncode < 0 or crash:
        pytest.fail("bridgectl %s crashed (code %d, %s):\n%s"
                    % (" ".join(args), p.returncode, crash, tail(p.stderr)), pytrace=False)


@pytest.fixture
def ctl(tmp_path):
    """ctl(*args, url=..., token=TOKEN, env=None) -> CompletedProcess.
    url and token become --url and --token unless None; runs in tmp_path."""
    def run(*args, url=None, token=TOKEN, env=None, timeout=30):
        check_binary()
        argv = [BRIDGECTL]
        if url is not None:
            argv += ["--url", url]
        if token is not None:
            argv += ["--token", token]
        argv += [str(a) for a in args]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                           errors="replace", env=clean_env(env), cwd=str(tmp_path),
                           timeout=timeout)
        check_crash(p, argv[1:])
        return p
    return run


def auth_of(req):
    return req.headers.get("authorization")


def table_rows(text):
    return [line.split() for line in text.splitlines() if line.strip()]


# ---------------------------------------------------------------------------
# status

def test_status_table_shows_both_sources_and_their_seqs(fake, ctl):
    fake.route("GET", "/api/v1/status", (200, STATUS))
    p = ctl("status", url=fake.url)
    assert p.returncode == 0, p.stderr
    rows = {r[0]: r for r in table_rows(p.stdout)}
    assert "SOURCE" in rows and "SEEN" in rows["SOURCE"] and "APPLIED" in rows["SOURCE"]
    head = rows["SOURCE"]
    crm, erp = rows["crm"], rows["erp"]
    assert crm[head.index("STATE")] == "live"
    assert crm[head.index("SEEN")] == "40" and crm[head.index("APPLIED")] == "39"
    assert erp[head.index("STATE")] == "retrying"
    assert erp[head.index("SEEN")] == "1717" and erp[head.index("APPLIED")] == "1700"
    assert erp[head.index("LAG")] == "17"
    assert crm[head.index("CONNECTED")] == "yes" and erp[head.index("CONNECTED")] == "no"
    # The columns line up: every field of the header starts where its values do.
    lines = p.stdout.splitlines()
    header = next(l for l in lines if l.startswith("SOURCE"))
    crm_line = next(l for l in lines if l.startswith("crm "))
    assert header.index("STATE") == crm_line.index("live")
    # Totals and the last error.
    assert "crm unavailable: no answer within 5000 ms" in p.stdout
    assert any(l.split()[:3] == ["dead", "letters", "2"] for l in lines), p.stdout
    assert any(l.split()[:2] == ["parked", "5"] for l in lines), p.stdout
    assert "customer 3" in p.stdout and "order 1" in p.stdout
    assert "last run 2" in p.stdout
    [req] = fake.seen("GET", "/api/v1/status")
    assert auth_of(req) == "Bearer " + TOKEN


def test_status_json_prints_the_apis_json(fake, ctl):
    fake.route("GET", "/api/v1/status", (200, STATUS))
    p = ctl("--json", "status", url=fake.url)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == STATUS
    # The option may follow the command too.
    p = ctl("status", "--json", url=fake.url)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == STATUS


def test_status_reads_a_chunked_answer(fake, ctl):
    fake.route("GET", "/api/v1/status", (200, STATUS, {"chunked": True}))
    p = ctl("--json", "status", url=fake.url)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == STATUS


def test_url_from_environment(fake, ctl):
    fake.route("GET", "/api/v1/status", (200, STATUS))
    p = ctl("status", env={"BRIDGECTL_URL": fake.url})
    assert p.returncode == 0, p.stderr
    assert len(fake.seen("GET", "/api/v1/status")) == 1


def test_url_with_a_path_prefix(fake, ctl):
    fake.route("GET", "/bridge/api/v1/status", (200, STATUS))
    p = ctl("status", url=fake.url + "/bridge/")
    assert p.returncode == 0, p.stderr
    assert len(fake.seen("GET", "/bridge/api/v1/status")) == 1


# ---------------------------------------------------------------------------
# tokens

def test_token_from_flag(fake, ctl):
    fake.route("GET", "/api/v1/dead_letters", (200, {"items": [], "next_cursor": None}))
    p = ctl("dlq", "list", url=fake.url, token=TOKEN)
    assert p.returncode == 0, p.stderr
    [req] = fake.seen("GET", "/api/v1/dead_letters")
    assert auth_of(req) == "Bearer " + TOKEN


def test_token_from_environment(fake, ctl):
    fake.route("GET", "/api/v1/dead_letters/7", (200, dead_letter(7)))
    p = ctl("dlq", "show", "7", url=fake.url, token=None, env={"BRIDGECTL_TOKEN": TOKEN})
    assert p.returncode == 0, p.stderr
    [req] = fake.seen("GET", "/api/v1/dead_letters/7")
    assert auth_of(req) == "Bearer " + TOKEN


def test_token_from_token_file(fake, ctl, tmp_path):
    path = tmp_path / "bridge.token"
    path.write_text(TOKEN + "\n")
    fake.route("POST", "/api/v1/dead_letters/7/retry", (200, dead_letter(7, status="resolved",
                                                                          attempts=2)))
    p = ctl("--token-file", str(path), "dlq", "retry", "7", url=fake.url, token=None)
    assert p.returncode == 0, p.stderr
    [req] = fake.seen("POST", "/api/v1/dead_letters/7/retry")
    assert auth_of(req) == "Bearer " + TOKEN       # the newline is not part of it


def test_token_from_the_default_token_file(fake, ctl, tmp_path):
    (tmp_path / "var" / "bridge").mkdir(parents=True)
    (tmp_path / "var" / "bridge" / "admin.token").write_text(TOKEN + "\n")
    fake.route("GET", "/api/v1/status", (200, STATUS))
    p = ctl("status", url=fake.url, token=None)
    assert p.returncode == 0, p.stderr
    assert auth_of(fake.seen("GET", "/api/v1/status")[0]) == "Bearer " + TOKEN


def test_token_flag_wins_over_environment(fake, ctl):
    fake.route("GET", "/api/v1/status", (200, STATUS))
    p = ctl("status", url=fake.url, token=TOKEN, env={"BRIDGECTL_TOKEN": "bridge_wrong"})
    assert p.returncode == 0, p.stderr


def test_missing_token_file_given_explicitly_exits_4(fake, ctl, tmp_path):
    p = ctl("--token-file", str(tmp_path / "nope.token"), "status", url=fake.url, token=None)
    assert p.returncode == 4, (p.returncode, p.stderr)
    assert "nope.token" in p.stderr
    assert fake.seen() == []


def test_bad_token_exits_4_with_the_message(fake, ctl):
    fake.route("GET", "/api/v1/status", (200, STATUS))
    p = ctl("status", url=fake.url, token="bridge_wrong")
    assert p.returncode == 4, (p.returncode, p.stdout, p.stderr)
    assert "bridgectl: missing or invalid bearer token" in p.stderr
    assert p.stdout == ""


def test_no_token_at_all_exits_4_and_says_where_it_looked(fake, ctl):
    fake.route("GET", "/api/v1/status", (200, STATUS))
    p = ctl("status", url=fake.url, token=None)
    assert p.returncode == 4, (p.returncode, p.stderr)
    req = fake.seen("GET", "/api/v1/status")[0]
    assert auth_of(req) is None
    assert "var/bridge/admin.token" in p.stderr


# ---------------------------------------------------------------------------
# dlq

def test_dlq_list_sends_the_status_filter_and_prints_a_table(fake, ctl):
    fake.route("GET", "/api/v1/dead_letters",
               (200, {"items": [dead_letter(7), dead_letter(12, status="resolved", attempts=3)],
                      "next_cursor": None}))
    p = ctl("dlq", "list", "--status", "all", url=fake.url)
    assert p.returncode == 0, p.stderr
    [req] = fake.seen("GET", "/api/v1/dead_letters")
    assert req.query.get("status") == ["all"]
    assert auth_of(req) == "Bearer " + TOKEN
    rows = table_rows(p.stdout)
    head = rows[0]
    assert head[:2] == ["ID", "STATUS"] and "REASON" in head
    by_id = {r[0]: r for r in rows[1:] if r[0].isdigit() and len(r) >= len(head)}
    assert set(by_id) == {"7", "12"}
    assert "2 dead letters" in p.stdout
    assert by_id["7"][1] == "open" and by_id["12"][1] == "resolved"
    assert by_id["12"][head.index("ATTEMPTS")] == "3"
    assert "crm.deal.won" in by_id["7"]
    assert "lines[0].sku is unknown: SKU-7" in p.stdout


def test_dlq_list_without_status_sends_none(fake, ctl):
    fake.route("GET", "/api/v1/dead_letters", (200, {"items": [], "next_cursor": None}))
    p = ctl("dlq", "list", url=fake.url)
    assert p.returncode == 0, p.stderr
    [req] = fake.seen("GET", "/api/v1/dead_letters")
    assert "status" not in req.query
    assert "no dead letters" in p.stdout


def test_dlq_list_follows_next_cursor(fake, ctl):
    fake.route("GET", "/api/v1/dead_letters",
               (200, {"items": [dead_letter(1), dead_letter(2)], "next_cursor": "c/2+x"}),
               (200, {"items": [dead_letter(3)], "next_cursor": None}))
    p = ctl("--json", "dlq", "list", url=fake.url)
    assert p.returncode == 0, p.stderr
    doc = json.loads(p.stdout)
    assert [d["id"] for d in doc["items"]] == [1, 2, 3]
    reqs = fake.seen("GET", "/api/v1/dead_letters")
    assert len(reqs) == 2
    assert "cursor" not in reqs[0].query
    assert reqs[1].query.get("cursor") == ["c/2+x"]      # percent-encoded on the way


def test_dlq_list_handles_a_large_answer(fake, ctl):
    items = [dead_letter(i, reason="x" * 300) for i in range(1, 2001)]
    fake.route("GET", "/api/v1/dead_letters", (200, {"items": items, "next_cursor": None}))
    p = ctl("dlq", "list", url=fake.url)
    assert p.returncode == 0, p.stderr
    rows = table_rows(p.stdout)
    ids = [r[0] for r in rows[1:] if r[0].isdigit() and len(r) >= len(rows[0])]
    assert len(ids) == 2000 and ids[-1] == "2000"


def test_dlq_show_prints_the_dead_letter_and_its_event(fake, ctl):
    fake.route("GET", "/api/v1/dead_letters/7", (200, dead_letter(7)))
    p = ctl("dlq", "show", "7", url=fake.url)
    assert p.returncode == 0, p.stderr
    fields = {r[0]: r[1:] for r in table_rows(p.stdout)}
    assert fields["id"] == ["7"]
    assert fields["topic"] == ["crm.deal.won"]
    assert fields["code"] == ["validation_failed"]
    assert fields["command_type"] == ["order.create"]
    assert EVENT["entity_id"] in p.stdout          # the event is shown too
    # --json keeps every value exactly, tricky strings included.
    tricky = dead_letter(7, reason='a "quoted" {x: [1, 2]}, \\ back\nslash \u00e9', attempts=0)
    fake.route("GET", "/api/v1/dead_letters/7", (200, tricky))
    p = ctl("dlq", "show", "7", "--json", url=fake.url)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout) == tricky


def test_dlq_retry_posts_and_reports_the_outcome(fake, ctl):
    fake.route("POST", "/api/v1/dead_letters/7/retry",
               (200, dead_letter(7, attempts=2, reason="still no such sku")))
    p = ctl("dlq", "retry", "7", url=fake.url)
    assert p.returncode == 0, p.stderr
    [req] = fake.seen("POST", "/api/v1/dead_letters/7/retry")
    assert auth_of(req) == "Bearer " + TOKEN
    assert "open" in p.stdout and "still no such sku" in p.stdout and "2" in p.stdout
    assert fake.seen("GET") == []


def test_dlq_discard_posts(fake, ctl):
    fake.route("POST", "/api/v1/dead_letters/9/discard", (200, dead_letter(9, status="discarded")))
    p = ctl("dlq", "discard", "9", url=fake.url)
    assert p.returncode == 0, p.stderr
    [req] = fake.seen("POST", "/api/v1/dead_letters/9/discard")
    assert auth_of(req) == "Bearer " + TOKEN
    assert "discarded" in p.stdout


# An error answer of the API: the command, the route it calls, the answer's
# status, code and message, and the exit code (4 forbidden, else 1).
API_ERRORS = {
    "forbidden": (["dlq", "discard", "7"], "POST", "/api/v1/dead_letters/7/discard",
                  403, "forbidden", "role viewer may not do this", 4),
    "not_found": (["dlq", "show", "99"], "GET", "/api/v1/dead_letters/99",
                  404, "not_found", "no dead letter 99", 1),
    "conflict": (["dlq", "retry", "7"], "POST", "/api/v1/dead_letters/7/retry",
                 409, "conflict", "dead letter 7 is resolved, not open", 1),
    "unprocessable": (["links", "x"], "GET", "/api/v1/links/x",
                      422, "validation_failed", "not an id", 1),
}


@pytest.mark.parametrize("case", list(API_ERRORS))
def test_an_api_error_exits_with_its_code_and_the_apis_message(fake, ctl, case):
    args, method, path, status, code, message, exit_code = API_ERRORS[case]
    fake.route(method, path, (status, error(code, message)))
    p = ctl(*args, url=fake.url)
    assert p.returncode == exit_code, (p.returncode, p.stderr)
    assert "bridgectl: " + message in p.stderr
    assert p.stdout == ""


# ---------------------------------------------------------------------------
# links

def test_links_prints_the_counterpart(fake, ctl):
    crm_id = "11111111-2222-4333-8444-555555555555"
    erp_id = "66666666-7777-4888-8999-aaaaaaaaaaaa"
    link = {"kind": "customer", "crm_id": crm_id, "erp_id": erp_id,
            "created_at": "2026-11-23T10:00:00.000Z"}
    fake.route("GET", "/api/v1/links/" + crm_id, (200, link))
    fake.route("GET", "/api/v1/links/" + erp_id, (200, link))
    p = ctl("links", crm_id, url=fake.url)
    assert p.returncode == 0, p.stderr
    assert erp_id in p.stdout and "customer" in p.stdout
    p = ctl("links", erp_id, "--json", url=fake.url)
    assert json.loads(p.stdout) == link


# ---------------------------------------------------------------------------
# reconcile

DIFFS = [
    {"kind": "missing_in_erp", "entity": "customer", "crm_id": "c-1", "erp_id": None,
     "field": None, "crm_value": None, "erp_value": None, "repaired": False},
    {"kind": "field_mismatch", "entity": "customer", "crm_id": "c-2", "erp_id": "e-2",
     "field": "email", "crm_value": "a@example.com", "erp_value": "b@example.com",
     "repaired": False},
]


def reconcile_routes(fake, drift, repair=False):
    def run(status, done, **kw):
        r = {"id": 3, "status": status, "repair": repair,
             "started_at": "2026-11-23T10:00:00.000Z", "finished_at": None,
             "progress": {"done": done, "total": 300}, "drift": 0, "repaired": 0,
             "differences": []}
        r.update(kw)
        return r
    diffs = [dict(d, repaired=repair) for d in DIFFS[:drift]]
    final = run("done", 300, drift=drift, repaired=drift if repair else 0, differences=diffs,
                finished_at="2026-11-23T10:00:02.000Z")
    fake.route("POST", "/api/v1/reconcile", (202, run("running", 0)))
    fake.route("GET", "/api/v1/reconcile/3", (200, run("running", 120)),
               (200, run("running", 240)), (200, final))
    return final


def test_reconcile_with_drift_exits_5_and_prints_the_differences(fake, ctl):
    reconcile_routes(fake, drift=2)
    p = ctl("reconcile", url=fake.url)
    assert p.returncode == 5, (p.returncode, p.stdout, p.stderr)
    [post] = fake.seen("POST", "/api/v1/reconcile")
    assert post.json() == {"repair": False}
    assert post.headers.get("content-type", "").startswith("application/json")
    assert auth_of(post) == "Bearer " + TOKEN
    polls = fake.seen("GET", "/api/v1/reconcile/3")
    assert len(polls) == 3
    rows = table_rows(p.stdout)
    head = next(r for r in rows if r[0] == "KIND")
    assert "CRM_VALUE" in head and "ERP_VALUE" in head
    kinds = [r[0] for r in rows]
    assert "missing_in_erp" in kinds and "field_mismatch" in kinds
    assert "a@example.com" in p.stdout and "b@example.com" in p.stdout
    assert "\r" not in p.stdout          # no progress bar when stdout is not a terminal
    assert "#" not in p.stdout


def test_reconcile_polls_about_every_200_ms(fake, ctl):
    reconcile_routes(fake, drift=0)
    t0 = time.monotonic()
    p = ctl("reconcile", url=fake.url)
    elapsed = time.monotonic() - t0
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    assert 0.5 <= elapsed < 5, elapsed          # 3 polls, 200 ms apart
    assert "no differences" in p.stdout


def test_reconcile_repair_posts_repair_true_and_exits_0(fake, ctl):
    reconcile_routes(fake, drift=2, repair=True)
    p = ctl("reconcile", "--repair", url=fake.url)
    assert p.returncode == 0, (p.returncode, p.stdout, p.stderr)
    [post] = fake.seen("POST", "/api/v1/reconcile")
    assert post.json() == {"repair": True}
    assert "missing_in_erp" in p.stdout


def test_reconcile_json_prints_the_finished_run(fake, ctl):
    final = reconcile_routes(fake, drift=1)
    p = ctl("reconcile", "--json", url=fake.url)
    assert p.returncode == 5, (p.returncode, p.stderr)
    assert json.loads(p.stdout) == final


def test_reconcile_while_a_run_is_going_exits_1(fake, ctl):
    fake.route("POST", "/api/v1/reconcile", (409, error("conflict", "run 2 is still going")))
    p = ctl("reconcile", url=fake.url)
    assert p.returncode == 1, (p.returncode, p.stderr)
    assert "bridgectl: run 2 is still going" in p.stderr


def test_reconcile_draws_a_progress_bar_on_a_terminal(fake, tmp_path):
    check_binary()
    reconcile_routes(fake, drift=2)
    master, slave = pty.openpty()
    argv = [BRIDGECTL, "--url", fake.url, "--token", TOKEN, "reconcile"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=slave, stderr=subprocess.PIPE,
                         env=clean_env(), cwd=str(tmp_path))
    os.close(slave)
    out = b""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        r, _, _ = select.select([master], [], [], 0.5)
        if not r:
            if p.poll() is not None:
                break
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError:             # EIO: the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.close(master)
    rc = p.wait(10)
    err = p.stderr.read().decode(errors="replace")
    p.stderr.close()
    assert rc == 5, (rc, out, err)
    text = out.decode(errors="replace")
    assert "\r[" in text, text
    assert "120/300" in text and "300/300" in text, text
    assert "[" + "#" * 12 + "." * 18 + "] 120/300" in text, text
    assert "field_mismatch" in text


# ---------------------------------------------------------------------------
# watch

def test_watch_redraws_until_sigint_and_exits_0(fake, tmp_path):
    check_binary()
    # A bridge that is not ready at first does not end the watch.
    fake.route("GET", "/api/v1/status", (503, error("unavailable", "erp did not answer a ping")),
               (200, STATUS))
    argv = [BRIDGECTL, "--url", fake.url, "--token", TOKEN, "watch", "--interval", "0.2"]
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=clean_env(), cwd=str(tmp_path))
    try:
        # Four requests seen: the third answer was printed before the fourth
        # was asked for (a signal sent as the third arrives may cut its
        # printing short, and only one status would have been drawn).
        deadline = time.monotonic() + 10
        while len(fake.seen("GET", "/api/v1/status")) < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(fake.seen("GET", "/api/v1/status")) >= 4
        assert p.poll() is None, "watch ended on its own"
        p.send_signal(signal.SIGINT)
        out, err = p.communicate(timeout=10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    out, err = out.decode(errors="replace"), err.decode(errors="replace")
    assert p.returncode == 0, (p.returncode, err)
    assert not [m for m in CRASH_MARKERS if m in err], err
    assert out.count("SOURCE") >= 2
    assert out.count("\ncrm ") >= 2
    assert "bridgectl: erp did not answer a ping" in err


def test_watch_with_a_bad_token_exits_4(fake, ctl):
    fake.route("GET", "/api/v1/status", (200, STATUS))
    p = ctl("watch", "--interval", "0.1", url=fake.url, token="bridge_wrong", timeout=10)
    assert p.returncode == 4, (p.returncode, p.stderr)
    assert "bridgectl: missing or invalid bearer token" in p.stderr


# ---------------------------------------------------------------------------
# errors and usage

def test_unreachable_bridge_exits_3_naming_the_url(ctl):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                       # nothing listens there now
    url = "http://127.0.0.1:%d" % port
    p = ctl("status", url=url)
    assert p.returncode == 3, (p.returncode, p.stderr)
    assert p.stderr.startswith("bridgectl: ")
    assert url in p.stderr


@pytest.mark.parametrize("args", [
    [],
    ["frobnicate"],
    ["status", "--bogus"],
    ["status", "extra"],
    ["status", "--repair"],
    ["dlq"],
    ["dlq", "purge"],
    ["dlq", "show"],
    ["dlq", "show", "abc"],
    ["dlq", "retry", "7", "8"],
    ["dlq", "list", "--status", "weird"],
    ["dlq", "list", "--status"],
    ["links"],
    ["watch", "--interval", "0"],
    ["watch", "--interval", "soon"],
    ["reconcile", "--repair=yes"],
    ["keygen", "crm"],
    ["keygen", "--curve-dir"],
    ["--url", "ftp://127.0.0.1:1", "status"],
    ["--url", "http://127.0.0.1:99999", "status"],
])
def test_bad_usage_exits_2(fake, ctl, args):
    fake.route("GET", "/api/v1/status", (200, STATUS))
    url = None if any(a == "--url" for a in args) else fake.url
    p = ctl(*args, url=url)
    assert p.returncode == 2, (args, p.returncode, p.stdout, p.stderr)
    assert "bridgectl" in p.stderr
    assert fake.seen() == [], "bad usage must not reach the bridge"


def test_help_exits_0_and_names_every_command(ctl):
    p = ctl("--help", token=None)
    assert p.returncode == 0, p.stderr
    for word in ("status", "watch", "dlq list", "dlq show", "dlq retry", "dlq discard", "links",
                 "reconcile", "--repair", "keygen", "--curve-dir", "--json", "--url", "--token",
                 "--token-file", "BRIDGECTL_URL", "BRIDGECTL_TOKEN"):
        assert word in p.stdout, word


# ---------------------------------------------------------------------------
# keygen

def test_keygen_makes_a_private_key_and_a_public_one_and_never_overwrites(ctl, tmp_path):
    d = tmp_path / "curve"
    p = ctl("keygen", "--curve-dir", str(d), "bridge", token=None)
    assert p.returncode == 0, p.stderr
    key, pub = d / "bridge.key", d / "bridge.pub"
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    assert pub.exists()
    secret_text, public_text = key.read_text(), pub.read_text()
    assert "secret-key" in secret_text and "public-key" in secret_text
    assert "public-key" in public_text and "secret-key" not in public_text
    # The public key in both files is the same.
    def public_of(text):
        return [l.split("=", 1)[1].strip() for l in text.splitlines()
                if l.strip().startswith("public-key")][0]
    assert public_of(secret_text) == public_of(public_text)
    assert len(public_of(public_text).strip('"')) == 40       # Z85 of 32 bytes

    p = ctl("keygen", "--curve-dir", str(d), "bridge", token=None)
    assert p.returncode != 0 and p.returncode != 2, (p.returncode, p.stderr)
    assert p.stderr.startswith("bridgectl: ") and "exists" in p.stderr
    assert key.read_text() == secret_text and pub.read_text() == public_text

    p = ctl("keygen", "--curve-dir", str(d), "../evil", token=None)
    assert p.returncode == 2, (p.returncode, p.stderr)


def test_keygen_makes_the_missing_parent_folders(ctl, tmp_path):
    # as documented: `bridgectl keygen --curve-dir /etc/crm-erp/crm crm` on a
    # machine where /etc/crm-erp does not exist yet
    d = tmp_path / "etc" / "crm-erp" / "crm"
    p = ctl("keygen", "--curve-dir", str(d), "crm", token=None)
    assert p.returncode == 0, p.stderr
    assert (d / "crm.key").exists() and (d / "allowed").is_dir()
    assert stat.S_IMODE(os.stat(d).st_mode) == 0o700


# ---------------------------------------------------------------------------
# answers that are not what HTTP promises

def status_against(ctl, answer):
    """`bridgectl status` against a one-shot server that reads the request
    and sends the bytes `answer`: (the finished process, the server's URL)."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.settimeout(10)
    url = "http://127.0.0.1:%d" % srv.getsockname()[1]

    def serve():
        try:
            conn, _ = srv.accept()
        except OSError:
            return
        with conn:
            conn.recv(65536)
            conn.sendall(answer)

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        p = ctl("status", url=url)
    finally:
        t.join(10)
        srv.close()
    return p, url


@pytest.mark.parametrize("answer", [
    b"garbage\r\n\r\n",
    b"",
    b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{}",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffffff\r\nab",
    b"HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n{}",
])
def test_a_broken_answer_exits_3_naming_the_url(ctl, answer):
    p, url = status_against(ctl, answer)
    assert p.returncode == 3, (p.returncode, p.stdout, p.stderr)
    assert p.stderr.startswith("bridgectl: ") and url in p.stderr


def test_an_answer_that_is_not_json_exits_1(ctl):
    p, _ = status_against(ctl, b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
    assert p.returncode == 1, (p.returncode, p.stdout, p.stderr)
    assert "not JSON" in p.stderr
