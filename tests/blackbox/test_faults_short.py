"""The short run of the fault harness (tests/faults/, docs/reliability.md)
inside `make test`: a few hundred operations through the real programs
with kill -9 of each program several times, a SIGSTOP, a forced loss of
events and, as root, a network cut between namespaces; then the
independent checker must find nothing lost, duplicated or drifting.

And the checker itself must not be blind: given a customer the bridge
never carried, a payment entered twice in a deal's history, and an
acknowledged payment that ERP does not have, it names each of them."""

import os
import re
import subprocess
import sys
import tempfile
import time
import uuid
import warnings

import pytest

from conftest import BIN_DIR, REPO, CommandClient

FAULTS = os.path.join(REPO, "tests", "faults")
sys.path.insert(0, FAULTS)

from checker import check  # noqa: E402
from cluster import Cluster  # noqa: E402
from workload import Workload  # noqa: E402

SHORT = ["--seed", "13", "--ops", "400", "--kills", "9", "--stops", "2", "--cuts", "1", "--losses", "1",
         "--converge-timeout", "60"]


@pytest.mark.parametrize("sync,pipeline", [("normal", "no"), ("full", "yes")])
def test_short_fault_run_loses_and_duplicates_nothing(tmp_path, sync, pipeline):
    """Once with --sync normal, and once with the pipelined commit (whose
    syncer's counter the services show only when it is on)."""
    t0 = time.monotonic()
    p = subprocess.Popen([sys.executable, os.path.join(FAULTS, "run.py"), "--bin-dir", BIN_DIR,
                          "--workdir", str(tmp_path / "run"), "--sync", sync, "--commit-pipeline", pipeline] + SHORT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = p.communicate(timeout=240)
    except subprocess.TimeoutExpired:
        p.terminate()           # the harness stops its programs and deletes its namespaces
        out, _ = p.communicate(timeout=60)
        raise AssertionError("the short fault run took over 240 s:\n" + out[-6000:])
    print(out)
    assert p.returncode == 0 and "RESULT: PASS" in out, out[-6000:]
    assert "lost 0, duplicated 0, drift 0" in out, out[-3000:]
    services = [l for l in out.splitlines() if l.startswith("services:")][0]
    assert "--sync %s, --commit-pipeline %s" % (sync, pipeline) in services, services
    syncs = re.findall(r"(?:crm|erp) (\d+|none)", services)
    assert len(syncs) == 2 and all((n != "none") == (pipeline == "yes") for n in syncs), services
    # every kind of fault happened: kill -9 of each program at least twice
    kills = [l for l in out.splitlines() if l.startswith("faults injected:")][0]
    for prog in ("crm", "erp", "bridge"):
        assert "%s 3" % prog in kills.split(";")[0], kills
    assert "sigstop 2" in kills and "lost events 1" in kills and "late start 1" in kills, kills
    # the forced loss was noticed as a gap and replayed
    gaps = [l for l in out.splitlines() if l.startswith("gaps detected:")][0]
    assert int(gaps.split()[2]) >= 1, gaps
    if os.geteuid() == 0:
        assert "net cut 1" in kills and "network namespaces: used" in out, out[-3000:]
    else:
        assert "network namespaces: SKIPPED" in out, out[-3000:]
        warnings.warn("fault harness: not root, so the network-namespace cut was SKIPPED "
                      "(kills, pauses and lost events ran)")
    assert time.monotonic() - t0 < 180


def test_the_checker_names_lost_and_duplicated_records():
    workdir = tempfile.mkdtemp(prefix="faults-checker-")
    cluster = Cluster(BIN_DIR, workdir, netns=False, sync="normal", pub_hwm=100000, sub_hwm=100000)
    try:
        cluster.start_services()
        cluster.bridge.start()
        wl = Workload(cluster, seed=5)
        wl.setup(products=2)
        for _ in range(25):
            wl.step()
        wl.win_deal()
        deadline = time.monotonic() + 60
        while check(cluster, wl.ledger).total():
            assert time.monotonic() < deadline, check(cluster, wl.ledger).all()
            time.sleep(0.5)

        cluster.bridge.terminate()
        before = set(wl.ledger.customers)
        wl.crm_customer()                       # never carried: the bridge is down
        (stray,) = set(wl.ledger.customers) - before
        stray_id = wl.ledger.customers[stray]["crm_id"]
        # a payment entry delivered twice under two command ids (what a
        # bridge that derived cmd_id badly would do) on a won deal
        deal_id = next(iter(wl.ledger.deals))
        cmd = CommandClient(cluster.crm.cmd)
        try:
            for _ in range(2):
                (reply,) = cmd.request({"op": "apply", "cmd_id": str(uuid.uuid4()), "type": "deal.payment",
                                        "data": {"deal_id": deal_id, "kind": "payment", "amount_minor": 1,
                                                 "currency": "EUR", "reference": "PAY-TWICE"}})
                assert reply["status"] == "ok", reply
        finally:
            cmd.close()
        wl.ledger.payments["PAY-NEVER"] = {"customer_erp_id": None, "amount": 1, "id": None}
        f = check(cluster, wl.ledger, give_up_s=2)
        text = "\n".join(x for _, x in f.all())
        assert any(deal_id in x and "PAY-TWICE is 2 times" in x for x in f.duplicated), text
        assert any("PAY-NEVER" in x for x in f.lost), text
        assert any(stray_id in x and "never reached ERP" in x for x in f.lost), text
    finally:
        cluster.stop_all()
        cluster.close()


def test_pub_hwm_takes_only_a_positive_count(run_binary, tmp_path):
    """--pub-hwm (the harness sets 1 to force lost events): a bad value is
    refused with exit 2 and a message, by flag and by environment."""
    for program, bad, env in (("crm-service", "0", None), ("erp-service", "many", None),
                              ("crm-service", None, {"CRM_PUB_HWM": "-5"})):
        args = ["--data-dir", str(tmp_path / program), "--http", "127.0.0.1:0"]
        if bad is not None:
            args += ["--pub-hwm", bad]
        p = run_binary(program, *args, env=env)
        assert p.returncode == 2 and "--pub-hwm must be 1..10000000" in p.stderr, (p.returncode, p.stderr)
