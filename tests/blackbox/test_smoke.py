"""Smoke tests of crm-service: it starts, answers its public endpoints
without a token, refuses the API without one, and says who it is."""

import os
import re
import stat

#  A Prometheus text-format sample line: name, optional labels (quoted
#  values may hold any character, escaped quotes included), value.
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*"'
SAMPLE = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*'
                    r'(\{(' + LABEL + r'(,' + LABEL + r')*,?)?\})? '
                    r'([-+]?[0-9.]+([eE][-+]?[0-9]+)?|[-+]?Inf|NaN)( -?[0-9]+)?$')


def test_livez_answers_200_without_token(crm):
    r = crm.api("GET", "/livez", token=None)
    assert r.status_code == 200, r.text


def test_readyz_answers_200_without_token(crm):
    r = crm.api("GET", "/readyz", token=None)
    assert r.status_code == 200, r.text


def test_metrics_answers_prometheus_text_without_token(crm):
    # One request first so that request counters have something to show.
    crm.api("GET", "/livez", token=None)
    r = crm.api("GET", "/metrics", token=None)
    assert r.status_code == 200, r.text
    assert r.headers.get("Content-Type", "").startswith("text/plain")
    lines = [l for l in r.text.splitlines() if l.strip()]
    assert any(l.startswith("# TYPE ") for l in lines), r.text[:500]
    samples = [l for l in lines if not l.startswith("#")]
    assert samples, "no samples in /metrics"
    bad = [l for l in samples if not SAMPLE.match(l)]
    assert not bad, "not Prometheus text: %r" % bad[:5]
    # Every # TYPE names a known metric type.
    for l in lines:
        if l.startswith("# TYPE "):
            assert l.split()[-1] in ("counter", "gauge", "histogram", "summary", "untyped"), l


def test_api_without_token_is_401_with_error_body(crm):
    r = crm.api("GET", "/api/v1/customers", token=None)
    assert r.status_code == 401, r.text
    assert r.headers.get("Content-Type", "").startswith("application/json")
    body = r.json()
    assert body["error"]["code"] == "unauthorized"
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]


def test_api_with_bad_token_is_401(crm):
    r = crm.api("GET", "/api/v1/customers", token="crm_not-a-real-token")
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthorized"


def test_admin_token_file_is_private_and_works(crm):
    mode = stat.S_IMODE(os.stat(crm.token_path).st_mode)
    assert mode == 0o600, oct(mode)
    r = crm.api("GET", "/api/v1/customers")
    assert r.status_code == 200, r.text


def test_restart_on_same_folder_keeps_token_and_is_ready(crm):
    token = crm.token
    assert crm.stop() == 0
    crm.start()
    with open(crm.token_path) as f:
        assert f.read().strip() == token
    assert crm.api("GET", "/readyz", token=None).status_code == 200
    assert crm.api("GET", "/api/v1/customers").status_code == 200


def test_start_after_sigkill_is_ready(crm):
    crm.kill()
    crm.start()
    assert crm.api("GET", "/readyz", token=None).status_code == 200


def test_help_exits_0_and_lists_flags(run_binary):
    p = run_binary("crm-service", "--help")
    assert p.returncode == 0, p.stderr
    assert "--data-dir" in p.stdout and "--http" in p.stdout, p.stdout


def test_version_exits_0_and_prints_a_version(run_binary):
    p = run_binary("crm-service", "--version")
    assert p.returncode == 0, p.stderr
    assert re.search(r"\d+\.\d+", p.stdout), p.stdout


def test_unknown_flag_exits_2(run_binary):
    p = run_binary("crm-service", "--no-such-flag")
    assert p.returncode == 2, (p.returncode, p.stderr)
    assert "no-such-flag" in p.stderr


def test_metrics_count_the_checkpoints(crm):
    """db_checkpoints_total: one checkpoint each time the WAL grows by 1,000
    pages (docs/architecture.md, "Checkpoints apart")."""
    from bridge_helpers import wait_until
    from crm_helpers import create

    def checkpoints():
        text = crm.api("GET", "/metrics", token=None).text
        return int(next(l.split()[-1] for l in text.splitlines() if l.startswith("db_checkpoints_total ")))
    before = checkpoints()
    # Each customer writes some 20 pages (its row and its event hold the
    # 9,000-byte notes, and its search rows): about 5,000 pages in all.
    for i in range(250):
        create(crm, "customers", {"name": "Checkpoint %d" % i, "notes": ("note %d " % i) * 900})
    after = wait_until(lambda: checkpoints() if checkpoints() > before else None, what="a checkpoint")
    # Not one a commit (250), nor one each few commits.
    assert after - before <= 12, (before, after)
    # About 5,000 pages: far from the 25,000 at which the checkpointer holds
    # the writers back to start the WAL again (unit-tested in test_db.c).
    text = crm.api("GET", "/metrics", token=None).text
    assert "db_wal_restarts_total 0" in text.splitlines(), text
