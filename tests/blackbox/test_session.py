"""Signing in (DESIGN.md §3a) and the pages, against the real binaries:
sessions by name or e-mail with a password, the cookie's flags, CSRF and
Origin checks on writes, sign-out and expiry ending the session on the
server, throttled and locked failed sign-ins, the first-password change,
the user's language, and the pages served with their security headers,
ETag and no way out of the web folders."""

import http.client
import os
import re
import stat
import time

import pytest
import requests

from bridge_helpers import bridge_args
from crm_helpers import new_user

SECURITY = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


class Browser:
    """What a page does: the session cookie sent back by hand (so nothing
    about it is hidden by a cookie jar) and the CSRF token on writes."""

    def __init__(self, svc, cookie_name="crm_session"):
        self.svc = svc
        self.cookie_name = cookie_name
        self.cookie = None
        self.csrf = None
        self.set_cookie = None

    def sign_in(self, login, password, headers=None):
        r = requests.post(self.svc.url + "/api/v1/session", json={"login": login, "password": password},
                          headers=headers or {}, timeout=20)
        if r.status_code == 200:
            self.set_cookie = r.headers["Set-Cookie"]
            m = re.match(r"%s=([^;]+)" % self.cookie_name, self.set_cookie)
            assert m, self.set_cookie
            self.cookie = m.group(1)
            self.csrf = r.json()["csrf_token"]
        return r

    def req(self, method, path, json=None, csrf=True, headers=None):
        h = dict(headers or {})
        if self.cookie:
            h["Cookie"] = "%s=%s" % (self.cookie_name, self.cookie)
        if csrf and self.csrf and method not in ("GET", "HEAD"):
            h["X-CSRF-Token"] = self.csrf
        return requests.request(method, self.svc.url + path, json=json, headers=h, timeout=20)


def admin_password(svc):
    with open(os.path.join(svc.data_dir, "admin.password")) as f:
        return f.read().strip()


def user_with_password(svc, name, role="sales_rep", email=None, password="a long secret 1"):
    """A user whose first password has been changed to `password`."""
    body = {"name": name, "role": role}
    if email:
        body["email"] = email
    r = svc.api("POST", "/api/v1/users", json=body)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    r = svc.api("POST", "/api/v1/users/%s/password" % uid)
    assert r.status_code == 200, r.text
    first = r.json()["password"]
    b = Browser(svc)
    assert b.sign_in(name, first).status_code == 200
    r = b.req("POST", "/api/v1/session/password", json={"current_password": first, "new_password": password})
    assert r.status_code == 200, r.text
    return uid


def assert_code(r, status, code):
    assert r.status_code == status, (r.status_code, r.text)
    assert r.json()["error"]["code"] == code, r.text


# ---------------------------------------------------------------------------
# Signing in and out

def test_admin_first_password_file_signs_in_and_must_be_changed(crm):
    path = os.path.join(crm.data_dir, "admin.password")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    b = Browser(crm)
    r = b.sign_in("admin", admin_password(crm))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user"]["name"] == "admin" and body["user"]["role"] == "admin"
    assert body["user"]["must_change_password"] is True and body["user"]["language"] == "en"
    assert len(body["csrf_token"]) >= 40 and body["expires_at"].endswith("Z")
    # until the password is changed only the session routes answer
    assert_code(b.req("GET", "/api/v1/customers"), 403, "password_change_required")
    assert b.req("GET", "/api/v1/session").status_code == 200
    r = b.req("POST", "/api/v1/session/password",
              json={"current_password": admin_password(crm), "new_password": "short"})
    assert_code(r, 400, "validation_failed")
    r = b.req("POST", "/api/v1/session/password",
              json={"current_password": admin_password(crm), "new_password": admin_password(crm)})
    assert_code(r, 400, "validation_failed")
    r = b.req("POST", "/api/v1/session/password",
              json={"current_password": "not it at all", "new_password": "a brand new secret"})
    assert_code(r, 400, "validation_failed")
    assert r.json()["error"]["field"] == "current_password"
    r = b.req("POST", "/api/v1/session/password",
              json={"current_password": admin_password(crm), "new_password": "a brand new secret"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["must_change_password"] is False
    assert b.req("GET", "/api/v1/customers").status_code == 200
    # the old password no longer works, the new one does
    assert_code(Browser(crm).sign_in("admin", admin_password(crm)), 401, "invalid_credentials")
    assert Browser(crm).sign_in("admin", "a brand new secret").status_code == 200


def test_sign_in_by_name_and_by_email_and_cookie_flags(crm):
    user_with_password(crm, "rita", email="Rita@Example.com", password="rita's secret 42")
    b = Browser(crm)
    r = b.sign_in("rita", "rita's secret 42")
    assert r.status_code == 200, r.text
    flags = [p.strip() for p in b.set_cookie.split(";")]
    assert "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/" in flags
    assert "Max-Age=1800" in flags and "Secure" not in flags
    assert r.json()["user"]["email"] == "Rita@Example.com"
    assert b.req("GET", "/api/v1/session").json()["user"]["name"] == "rita"
    # by e-mail, in any case
    assert Browser(crm).sign_in("rita@example.com", "rita's secret 42").status_code == 200
    # behind a TLS proxy the cookie is Secure
    s = Browser(crm)
    assert s.sign_in("rita", "rita's secret 42", headers={"X-Forwarded-Proto": "https"}).status_code == 200
    assert "Secure" in [p.strip() for p in s.set_cookie.split(";")]
    # the session id is stored only as a hash
    with open(os.path.join(crm.data_dir, "crm.db"), "rb") as f:
        data = f.read()
    wal = os.path.join(crm.data_dir, "crm.db-wal")
    if os.path.exists(wal):
        with open(wal, "rb") as f:
            data += f.read()
    assert b.cookie.encode() not in data


def test_wrong_password_and_unknown_user_get_the_same_401(crm):
    user_with_password(crm, "sam", password="sam's secret 42")
    wrong = Browser(crm).sign_in("sam", "nope nope nope")
    unknown = Browser(crm).sign_in("nobody", "nope nope nope")
    assert_code(wrong, 401, "invalid_credentials")
    assert_code(unknown, 401, "invalid_credentials")
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    assert "Set-Cookie" not in wrong.headers
    r = requests.post(crm.url + "/api/v1/session", json={"login": "sam"}, timeout=10)
    assert_code(r, 400, "validation_failed")


def test_a_token_only_user_cannot_sign_in(crm):
    u = new_user(crm, "robot", "sales_rep")
    assert u["token"]
    assert_code(Browser(crm).sign_in("robot", ""), 401, "invalid_credentials")
    assert_code(Browser(crm).sign_in("robot", "anything at all"), 401, "invalid_credentials")


def test_writes_need_the_csrf_token_and_our_own_origin(crm):
    user_with_password(crm, "wanda", role="sales_manager", password="wanda's secret")
    b = Browser(crm)
    assert b.sign_in("wanda", "wanda's secret").status_code == 200
    r = b.req("POST", "/api/v1/customers", json={"name": "No token"}, csrf=False)
    assert_code(r, 403, "csrf_failed")
    r = b.req("POST", "/api/v1/customers", json={"name": "Wrong token"}, csrf=False,
              headers={"X-CSRF-Token": "x" * 43})
    assert_code(r, 403, "csrf_failed")
    r = b.req("POST", "/api/v1/customers", json={"name": "Foreign"},
              headers={"Origin": "http://evil.example"})
    assert_code(r, 403, "csrf_failed")
    r = b.req("POST", "/api/v1/customers", json={"name": "Same origin"},
              headers={"Origin": crm.url})
    assert r.status_code == 201, r.text
    # reads need no CSRF token; nothing else was created
    names = [c["name"] for c in b.req("GET", "/api/v1/customers").json()["items"]]
    assert names == ["Same origin"]
    # a sign-in from another origin is refused too (login CSRF)
    r = requests.post(crm.url + "/api/v1/session", json={"login": "wanda", "password": "wanda's secret"},
                      headers={"Origin": "http://evil.example"}, timeout=10)
    assert_code(r, 403, "csrf_failed")
    # a bearer token needs no CSRF token
    assert crm.api("POST", "/api/v1/customers", json={"name": "By token"}).status_code == 201


def test_sign_out_ends_the_session_on_the_server(crm):
    user_with_password(crm, "otto", password="otto's secret 1")
    b = Browser(crm)
    assert b.sign_in("otto", "otto's secret 1").status_code == 200
    old = b.cookie
    assert_code(b.req("DELETE", "/api/v1/session", csrf=False), 403, "csrf_failed")
    r = b.req("DELETE", "/api/v1/session")
    assert r.status_code == 204, r.text
    assert "Max-Age=0" in r.headers["Set-Cookie"]
    b.cookie = old          # a copy of the cookie kept by an attacker
    assert_code(b.req("GET", "/api/v1/session"), 401, "unauthorized")
    assert_code(b.req("GET", "/api/v1/customers"), 401, "unauthorized")


def test_changing_the_password_ends_the_other_sessions(crm):
    user_with_password(crm, "pia", password="pia's secret 12")
    a, b = Browser(crm), Browser(crm)
    assert a.sign_in("pia", "pia's secret 12").status_code == 200
    assert b.sign_in("pia", "pia's secret 12").status_code == 200
    r = a.req("POST", "/api/v1/session/password",
              json={"current_password": "pia's secret 12", "new_password": "pia's new secret"})
    assert r.status_code == 200, r.text
    assert a.req("GET", "/api/v1/session").status_code == 200
    assert b.req("GET", "/api/v1/session").status_code == 401


def test_an_admin_reset_gives_a_first_password_and_signs_the_user_out(crm):
    uid = user_with_password(crm, "rex", password="rex's secret 12")
    b = Browser(crm)
    assert b.sign_in("rex", "rex's secret 12").status_code == 200
    r = crm.api("POST", "/api/v1/users/%s/password" % uid, headers={"Idempotency-Key": "k1"})
    assert r.status_code == 422, r.text
    r = crm.api("POST", "/api/v1/users/%s/password" % uid)
    assert r.status_code == 200 and r.headers.get("Cache-Control") == "no-store"
    first = r.json()["password"]
    assert len(first) == 16
    assert b.req("GET", "/api/v1/session").status_code == 401
    r = Browser(crm).sign_in("rex", first)
    assert r.status_code == 200 and r.json()["user"]["must_change_password"] is True
    # only admins
    rep = new_user(crm, "not-admin", "sales_rep")
    assert crm.api("POST", "/api/v1/users/%s/password" % uid, token=rep["token"]).status_code == 403


def test_language_is_stored_with_the_user(crm):
    uid = user_with_password(crm, "farid", password="farid's secret")
    b = Browser(crm)
    assert b.sign_in("farid", "farid's secret").json()["user"]["language"] == "en"
    assert_code(b.req("PATCH", "/api/v1/session", json={"language": "xx"}), 400, "validation_failed")
    assert_code(b.req("PATCH", "/api/v1/session", json={"role": "admin"}), 400, "validation_failed")
    r = b.req("PATCH", "/api/v1/session", json={"language": "fa"})
    assert r.status_code == 200, r.text
    assert r.json()["user"]["language"] == "fa" and r.json()["csrf_token"] == b.csrf
    again = Browser(crm)
    assert again.sign_in("farid", "farid's secret").json()["user"]["language"] == "fa"
    user = crm.api("GET", "/api/v1/users/" + uid).json()
    assert user["language"] == "fa"
    assert not any("password" in k for k in user)          # never shown, not even its hash
    export = crm.api("GET", "/api/v1/users/export")
    if export.status_code == 200:
        assert "argon2" not in export.text and "password" not in export.text


def test_an_idle_session_expires(start_service):
    crm = start_service("crm-service", "CRM", extra_args=("--session-idle", "2"))
    user_with_password(crm, "ida", password="ida's secret 12")
    b = Browser(crm)
    r = b.sign_in("ida", "ida's secret 12")
    assert "Max-Age=2" in r.headers["Set-Cookie"]
    time.sleep(1.0)
    assert b.req("GET", "/api/v1/session").status_code == 200      # use slides the timeout
    time.sleep(1.4)
    assert b.req("GET", "/api/v1/session").status_code == 200
    time.sleep(2.5)
    assert_code(b.req("GET", "/api/v1/session"), 401, "unauthorized")
    assert_code(b.req("GET", "/api/v1/session"), 401, "unauthorized")


def test_failed_sign_ins_slow_down_then_lock_and_the_lock_is_logged(start_service):
    crm = start_service("crm-service", "CRM",
                        extra_args=("--login-lock-seconds", "3", "--login-delay-ms", "250"))
    user_with_password(crm, "lena", password="lena's secret 1")
    b = Browser(crm)
    for _ in range(5):
        assert_code(b.sign_in("lena", "wrong password"), 401, "invalid_credentials")
    r = b.sign_in("lena", "lena's secret 1")            # even the right one must wait
    assert_code(r, 429, "too_many_attempts")
    assert int(r.headers["Retry-After"]) >= 1
    # each further failure doubles the wait (0.25, 0.5, 1, 2 s): a try too
    # early is 429 and does not count
    failures, early, started = 5, 0, time.monotonic()
    while failures < 10:
        r = b.sign_in("lena", "wrong password")
        if r.status_code == 429:
            assert_code(r, 429, "too_many_attempts")
            early += 1
            time.sleep(0.05)
            continue
        assert_code(r, 401, "invalid_credentials")
        failures += 1
    assert early >= 4 and time.monotonic() - started >= 0.25 + 0.5 + 1 + 2 - 0.1
    r = b.sign_in("lena", "lena's secret 1")
    assert_code(r, 429, "locked")
    assert 1 <= int(r.headers["Retry-After"]) <= 3
    assert "sign-in locked" in crm.stderr() and "lena" in crm.stderr()
    # other users are not locked out by lena's lock (the address has 10 too,
    # so another address would be needed: check the lock ends instead)
    time.sleep(3.2)
    r = b.sign_in("lena", "lena's secret 1")
    assert r.status_code == 200, r.text


def test_failures_from_one_address_lock_that_address(start_service):
    crm = start_service("crm-service", "CRM",
                        extra_args=("--login-lock-seconds", "60", "--login-delay-ms", "1"))
    user_with_password(crm, "ava", password="ava's secret 12")
    for i in range(10):
        time.sleep(0.02)
        assert_code(Browser(crm).sign_in("guess%d" % i, "wrong password"), 401, "invalid_credentials")
    r = Browser(crm).sign_in("ava", "ava's secret 12")
    assert_code(r, 429, "locked")
    assert int(r.headers["Retry-After"]) > 1
    # a bearer token still works: only sign-ins are throttled
    assert crm.api("GET", "/api/v1/customers").status_code == 200


# ---------------------------------------------------------------------------
# The other programs

def test_erp_and_bridge_sign_in_with_their_own_cookie(start_service, run_binary):
    crm = start_service("crm-service", "CRM")
    erp = start_service("erp-service", "ERP")
    bridge = start_service("bridge", "BRIDGE", sockets=(), extra_args=bridge_args(crm, erp))
    for svc, cookie in ((erp, "erp_session"), (bridge, "bridge_session")):
        b = Browser(svc, cookie)
        r = b.sign_in("admin", admin_password(svc))
        assert r.status_code == 200, r.text
        assert r.headers["Set-Cookie"].startswith(cookie + "=")
        r = b.req("POST", "/api/v1/session/password",
                  json={"current_password": admin_password(svc), "new_password": "the admin's secret"})
        assert r.status_code == 200, r.text
        assert b.req("GET", "/api/v1/session").json()["user"]["must_change_password"] is False
    # the bridge's viewer gets a first password from `user add`
    p = run_binary("bridge", "--data-dir", bridge.data_dir, "user", "add", "watcher", "viewer")
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert lines[0].startswith("bridge_") and lines[1].startswith("password=")
    b = Browser(bridge, "bridge_session")
    r = b.sign_in("watcher", lines[1].split("=", 1)[1])
    assert r.status_code == 200 and r.json()["user"]["role"] == "viewer"
    p = run_binary("bridge", "--data-dir", bridge.data_dir, "user", "password", "watcher")
    assert p.returncode == 0 and p.stdout.startswith("password="), p.stderr
    assert b.req("GET", "/api/v1/session").status_code == 401


def test_user_add_and_user_password_print_a_first_password(crm, run_binary):
    p = run_binary("crm-service", "--data-dir", crm.data_dir, "--email", "cli@example.com",
                   "user", "add", "cli-user", "sales_rep")
    assert p.returncode == 0, p.stderr
    lines = dict(l.split("=", 1) for l in p.stdout.strip().splitlines())
    assert re.match(r"^[a-zA-Z2-9]{16}$", lines["password"])
    r = Browser(crm).sign_in("cli@example.com", lines["password"])
    assert r.status_code == 200 and r.json()["user"]["must_change_password"] is True
    p = run_binary("crm-service", "--data-dir", crm.data_dir, "user", "password", "cli-user")
    assert p.returncode == 0, p.stderr
    fresh = p.stdout.strip().split("=", 1)[1]
    assert fresh != lines["password"]
    assert_code(Browser(crm).sign_in("cli-user", lines["password"]), 401, "invalid_credentials")
    assert Browser(crm).sign_in("cli-user", fresh).status_code == 200
    p = run_binary("crm-service", "--data-dir", crm.data_dir, "user", "password", "nobody")
    assert p.returncode == 1


# ---------------------------------------------------------------------------
# The pages

def raw_get(svc, path, headers=None, method="GET"):
    """A request with the path sent exactly as written (no client-side
    normalisation of `..` or escapes)."""
    host, port = svc.http.split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=10)
    try:
        conn.putrequest(method, path, skip_accept_encoding=True)
        for k, v in (headers or {}).items():
            conn.putheader(k, v)
        conn.endheaders()
        r = conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()
    finally:
        conn.close()


def test_the_page_is_served_with_its_security_headers(crm):
    status, headers, body = raw_get(crm, "/")
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert b"<html" in body.lower()
    for k, v in SECURITY.items():
        assert headers[k] == v
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
    assert headers["Cache-Control"] == "no-cache"
    # the API answers carry them too
    r = crm.api("GET", "/api/v1/customers")
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"


def test_etag_gives_304_and_head_gives_no_body(crm):
    status, headers, body = raw_get(crm, "/app/index.html")
    assert status == 200 and body
    etag = headers["ETag"]
    assert re.match(r'^"[0-9a-f]{16}"$', etag)
    status, headers2, body2 = raw_get(crm, "/app/index.html", {"If-None-Match": etag})
    assert status == 304 and body2 == b""
    status, headers3, body3 = raw_get(crm, "/app/index.html", {"If-None-Match": '"0000000000000000"'})
    assert status == 200 and body3 == body
    status, headers4, body4 = raw_get(crm, "/", method="HEAD")
    assert status == 200 and body4 == b"" and int(headers4["Content-Length"]) == len(body)
    status, _, _ = raw_get(crm, "/", method="POST")
    assert status == 405


@pytest.mark.parametrize("path", [
    "/app/../common/web/README.md", "/app/../../Makefile", "/app/%2e%2e/%2e%2e/Makefile",
    "/app/index.html%00.png", "/app/index.html%00", "/common/README.md", "/app/.hidden",
    "/common/..%2fweb.c", "/app/", "/app//index.html", "/app/no-such-file.js", "/etc/passwd",
])
def test_paths_outside_the_web_folders_are_refused(crm, path):
    status, headers, body = raw_get(crm, path)
    assert status == 404, (path, status, body[:200])
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_web_dir_serves_the_checkout_and_refuses_escapes(start_service, tmp_path):
    root = tmp_path / "checkout"
    (root / "crm-service" / "web").mkdir(parents=True)
    (root / "common" / "web").mkdir(parents=True)
    (root / "crm-service" / "web" / "index.html").write_text("<!doctype html><html>from disk</html>")
    (root / "common" / "web" / "x.js").write_text("export const x = 1;\n")
    (root / "secret.txt").write_text("top secret")
    os.symlink(str(root / "secret.txt"), str(root / "crm-service" / "web" / "leak.txt"))
    crm = start_service("crm-service", "CRM", env={"WEB_DIR": str(root)})
    status, headers, body = raw_get(crm, "/")
    assert status == 200 and b"from disk" in body
    status, headers, body = raw_get(crm, "/common/x.js")
    assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    etag = headers["ETag"]
    (root / "common" / "web" / "x.js").write_text("export const x = 2;\n")
    status, headers, body = raw_get(crm, "/common/x.js", {"If-None-Match": etag})
    assert status == 200 and b"x = 2" in body                  # read again on each request
    for path in ("/app/leak.txt", "/app/../secret.txt", "/app/%2e%2e/secret.txt"):
        status, _, body = raw_get(crm, path)
        assert status == 404 and b"top secret" not in body, path


def test_the_programs_share_one_index_page(crm):
    status, headers, body = raw_get(crm, "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    status, _, shared = raw_get(crm, "/common/index.html")
    assert status == 200 and body == shared
    assert b'href="/app/app.css"' in body and b'src="/app/app.js"' in body


def test_web_dir_without_a_page_of_the_program_serves_the_shared_one(start_service, tmp_path):
    root = tmp_path / "checkout"
    (root / "crm-service" / "web").mkdir(parents=True)
    (root / "common" / "web").mkdir(parents=True)
    (root / "common" / "web" / "index.html").write_text("<!doctype html><html>shared</html>")
    crm = start_service("crm-service", "CRM", env={"WEB_DIR": str(root)})
    for path in ("/", "/app/index.html"):
        status, headers, body = raw_get(crm, path)
        assert status == 200 and b"shared" in body, path
        assert headers["Content-Type"].startswith("text/html"), path
    (root / "common" / "web" / "index.html").unlink()
    status, _, _ = raw_get(crm, "/")
    assert status == 404
