"""The CRM's mail against an SMTP server on loopback (aiosmtpd) that asks
what a real one does: STARTTLS before anything else, with a certificate of
a private CA the CRM is told to trust (--smtp-ca-file); AUTH PLAIN or
LOGIN checked against the password of --smtp-password-file; and the
throttle (--smtp-per-minute) spacing the mails of a mailing."""

import contextlib
import os
import shutil
import sqlite3
import ssl
import subprocess
import time

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from conftest import free_ports
from crm_helpers import mail_queue_row
from conftest import poll

USER, PASSWORD = "crm-mailer", "s3cret pass, with spaces"


def self_signed(tmp_path):
    """A certificate for 127.0.0.1 and its key, made with openssl (or,
    without it, with python's cryptography)."""
    cert, key = tmp_path / "smtp-cert.pem", tmp_path / "smtp-key.pem"
    if shutil.which("openssl"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1",
                        "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                       check=True, capture_output=True, timeout=60)
    else:
        import datetime
        import ipaddress
        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.x509.oid import NameOID
        k = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
        now = datetime.datetime.now(datetime.timezone.utc)
        c = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(k.public_key())
             .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
             .not_valid_after(now + datetime.timedelta(days=1))
             .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
             .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
             .sign(k, hashes.SHA256()))
        cert.write_bytes(c.public_bytes(serialization.Encoding.PEM))
        key.write_bytes(k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                        serialization.NoEncryption()))
    return str(cert), str(key)


class Inbox:
    """Keeps each mail with what the session was: over TLS or not, and
    which AUTH mechanism and login it used."""

    def __init__(self):
        self.mails = []
        self.times = []
        self.logins = []      # (mechanism, login, password accepted)

    def authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = auth_data.login == USER.encode() and auth_data.password == PASSWORD.encode()
        self.logins.append((mechanism, auth_data.login.decode(), ok))
        return AuthResult(success=ok, handled=False)

    async def handle_DATA(self, server, session, envelope):
        self.times.append(time.monotonic())
        self.mails.append({"rcpt": list(envelope.rcpt_tos), "tls": session.ssl is not None,
                           "authenticated": session.authenticated,
                           "content": envelope.content.decode("utf-8", "replace")})
        return "250 Message accepted"


def secure_server(cert, key, mechanism):
    """A server that requires STARTTLS, then AUTH with only `mechanism`
    (PLAIN or LOGIN) offered."""
    inbox = Inbox()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cert, key)
    port = free_ports(1)[0]
    other = {"PLAIN": "LOGIN", "LOGIN": "PLAIN"}[mechanism]
    ctl = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=ctx, require_starttls=True,
                     auth_required=True, auth_require_tls=True, authenticator=inbox.authenticate,
                     auth_exclude_mechanism=[other])
    ctl.start()
    return ctl, inbox, port


def plain_server():
    inbox = Inbox()
    port = free_ports(1)[0]
    ctl = Controller(inbox, hostname="127.0.0.1", port=port)
    ctl.start()
    return ctl, inbox, port


def crm_args(port, tmp_path, cert=None, password=PASSWORD, per_minute=None):
    pw = tmp_path / "smtp-password"
    pw.write_text(password + "\n")
    os.chmod(pw, 0o600)
    args = ["--smtp-url", "smtp://127.0.0.1:%d" % port, "--smtp-from", "crm@example.org",
            "--smtp-starttls", "yes", "--smtp-user", USER, "--smtp-password-file", str(pw)]
    if cert:
        args += ["--smtp-ca-file", cert]
    if per_minute:
        args = args[:4] + ["--smtp-per-minute", str(per_minute)]
    return args


def mailing_to(crm, n, tag="fair"):
    for i in range(n):
        r = crm.api("POST", "/api/v1/customers", json={"name": "Customer %02d" % i, "email": "c%02d@example.org" % i,
                                                        "tags": [tag]})
        assert r.status_code == 201, r.text
    r = crm.api("POST", "/api/v1/mailings", json={"name": "Fair", "subject": "Hi {{name}}", "body": "Dear {{name}}",
                                                   "to_tag": tag})
    assert r.status_code == 201, r.text
    m = r.json()
    r = crm.api("POST", "/api/v1/mailings/%s/send" % m["id"], json={})
    assert r.status_code == 200, r.text
    return m


def recipients(crm, m):
    r = crm.api("GET", "/api/v1/mailings/%s/recipients" % m["id"])
    assert r.status_code == 200, r.text
    return r.json()["items"]


@contextlib.contextmanager
def crm_on_secure_server(start_service, tmp_path, mechanism, trust=True, **crm_kw):
    """A CRM mailing through a STARTTLS server of a private CA that takes
    mechanism (the CRM told to trust the CA unless trust is False); yields
    (crm, inbox) and stops the server after."""
    cert, key = self_signed(tmp_path)
    ctl, inbox, port = secure_server(cert, key, mechanism)
    try:
        yield start_service("crm-service", "CRM",
                            extra_args=crm_args(port, tmp_path, cert if trust else None, **crm_kw)), inbox
    finally:
        ctl.stop()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_mail_goes_over_starttls_with_auth_to_a_server_of_a_private_ca(start_service, tmp_path, mechanism):
    with crm_on_secure_server(start_service, tmp_path, mechanism) as (crm, inbox):
        m = mailing_to(crm, 1)
        assert poll(lambda: len(inbox.mails) == 1)
        mail = inbox.mails[0]
        assert mail["rcpt"] == ["c00@example.org"] and "Dear Customer 00" in mail["content"]
        assert mail["tls"] and mail["authenticated"]
        assert inbox.logins == [(mechanism, USER, True)]
        assert poll(lambda: [x["status"] for x in recipients(crm, m)] == ["sent"])
        # The password is never in the log.
        crm.stop()
        with open(crm.stdout_path, encoding="utf-8", errors="replace") as f:
            assert PASSWORD not in f.read() + crm.stderr()


def test_a_wrong_password_fails_the_mail_with_the_servers_answer(start_service, tmp_path):
    with crm_on_secure_server(start_service, tmp_path, "PLAIN", password="wrong") as (crm, inbox):
        m = mailing_to(crm, 1)
        assert poll(lambda: [x["status"] for x in recipients(crm, m)] == ["failed"]), (
            recipients(crm, m), sqlite3.connect(os.path.join(crm.data_dir, "crm.db")).execute(
                "SELECT status, reply_code, last_error FROM mail_queue").fetchall())
        r = recipients(crm, m)[0]
        assert r["reply_code"] == 535 and "535" in r["error"] and "Authentication" in r["error"], r
        assert inbox.mails == [] and inbox.logins == [("PLAIN", USER, False)]


def test_a_certificate_nobody_told_the_crm_to_trust_sends_nothing(start_service, tmp_path):
    with crm_on_secure_server(start_service, tmp_path, "PLAIN", trust=False) as (crm, inbox):
        mailing_to(crm, 1)

        def queue():
            return mail_queue_row(crm, "status, attempts, last_error")
        # Claimed ("sending", attempt 1), then recorded with the error.
        assert poll(lambda: (queue() or (None, 0, None))[2] is not None), queue()
        status, attempts, error = queue()
        # Not sent, kept for a later attempt (an administrator may add the CA).
        assert status == "pending" and "certificate" in error.lower(), (status, error)
        assert inbox.mails == [] and inbox.logins == []


def test_an_unreadable_ca_file_stops_the_service_with_exit_code_2(start_service, tmp_path):
    args = crm_args(25, tmp_path, cert=str(tmp_path / "missing.pem"))
    svc = start_service("crm-service", "CRM", start=False, extra_args=args)
    p = subprocess.run(svc.argv(), capture_output=True, text=True, timeout=10)
    assert p.returncode == 2, p.stderr
    assert "smtp-ca-file" in p.stderr, p.stderr


def test_the_throttle_spaces_the_mails_of_a_mailing(start_service, tmp_path):
    ctl, inbox, port = plain_server()
    try:
        crm = start_service("crm-service", "CRM", extra_args=crm_args(port, tmp_path, per_minute=60))
        m = mailing_to(crm, 5)
        assert poll(lambda: len(inbox.mails) == 5, timeout=15)
        span = inbox.times[-1] - inbox.times[0]
        # 60 a minute: one a second on average, so 5 mails take at least 4 s,
        # and no 2-second window holds more than 2.
        assert span >= 3.8, inbox.times
        for i in range(len(inbox.times) - 2):
            assert inbox.times[i + 2] - inbox.times[i] >= 1.5, inbox.times
        assert poll(lambda: [x["status"] for x in recipients(crm, m)] == ["sent"] * 5)
    finally:
        ctl.stop()
