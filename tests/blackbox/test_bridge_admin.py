"""The bridge's admin command line: tokens are issued, listed and revoked
on bridge.db, and a revoked token no longer opens the API."""

import subprocess

import requests

from conftest import binary_path


def bridge_cli(bridge, *args, check=True):
    p = subprocess.run([binary_path("bridge"), "--data-dir", bridge.data_dir] + list(args),
                       capture_output=True, text=True, timeout=30)
    if check:
        assert p.returncode == 0, p.stderr
    return p


def test_a_token_is_issued_used_and_revoked(system):
    p = bridge_cli(system.bridge, "token", "issue")
    token = p.stdout.strip()
    assert token.startswith("bridge_")
    token_id = p.stderr.split("token ", 1)[1].split(" ", 1)[0]
    url = system.bridge.url + "/api/v1/status"
    auth = {"Authorization": "Bearer " + token}
    assert requests.get(url, headers=auth, timeout=5).status_code == 200
    assert token_id in bridge_cli(system.bridge, "token", "list").stdout
    bridge_cli(system.bridge, "token", "revoke", token_id)
    r = requests.get(url, headers=auth, timeout=5)
    assert r.status_code == 401 and r.json()["error"]["code"]
    # The admin token of the data folder still works.
    assert system.bridge.api("GET", "/api/v1/status").status_code == 200


def test_bad_admin_commands_change_nothing(system):
    before = bridge_cli(system.bridge, "token", "list").stdout
    assert bridge_cli(system.bridge, "token", "revoke", "not-a-token", check=False).returncode == 1
    assert bridge_cli(system.bridge, "token", "frobnicate", check=False).returncode == 2
    assert bridge_cli(system.bridge, "--batch-max", "0", check=False).returncode == 2
    assert bridge_cli(system.bridge, "token", "list").stdout == before


def test_a_viewer_reads_but_cannot_act(system):
    out = bridge_cli(system.bridge, "user", "add", "nagios", "viewer").stdout.splitlines()
    token = out[0].strip()     # the token first, then password=<first password>
    assert token.startswith("bridge_") and out[1].startswith("password=")
    auth = {"Authorization": "Bearer " + token}
    base = system.bridge.url + "/api/v1"
    assert requests.get(base + "/status", headers=auth, timeout=5).status_code == 200
    assert requests.get(base + "/dead_letters", headers=auth, timeout=5).status_code == 200
    for path, body in (("/dead_letters/1/retry", {}), ("/dead_letters/1/discard", {}),
                       ("/reconcile", {"repair": True})):
        r = requests.post(base + path, json=body, headers=auth, timeout=5)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["error"]["code"] == "forbidden"
    assert bridge_cli(system.bridge, "user", "add", "x", "superuser", check=False).returncode == 2
    assert bridge_cli(system.bridge, "user", "add", "nagios", "viewer", check=False).returncode == 1
