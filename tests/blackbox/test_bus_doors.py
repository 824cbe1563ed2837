"""The bus is closed by default (issue 13; docs/operations.md, "CURVE").

Without --curve-dir a program's ZeroMQ sockets stay on this host: the
services bind only to loopback (tcp://127.0.0.0/8, tcp://[::1]), ipc:// or
inproc://, and the bridge connects only there. Any other address is
refused at start with a clear message (exit 2, nothing created) unless
--insecure-bus-on-network yes (or PREFIX_INSECURE_BUS_ON_NETWORK) says the
network is trusted; running without CURVE is logged as a warning.

`make run` (scripts/run.sh) makes the certificates on its first start with
scripts/curve-init.sh, reuses them afterwards, and starts every program
with --curve-dir: defect 1 of issue 13 (an `apply` of order.create at a
price of 1 from any local process) changes nothing there.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid

import pytest
import requests
import zmq

from conftest import BIN_DIR, REPO, dealer_request, free_ports, steady

START_TIMEOUT = 10.0
#  How long a refused peer is given to answer (an admitted one answers a
#  ping in milliseconds; the services send a heartbeat every second).
SILENCE = 2.0


def wait_exit(svc, timeout=START_TIMEOUT):
    """The exit code of a program expected to refuse to start."""
    try:
        code = svc.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        pytest.fail("%s started instead of refusing:\n%s" % (svc.program, svc.stderr()[-2000:]))
    svc._record_exit("refused to start")
    svc.check_exit = False      # exit 2 is what this test wants
    return code


def assert_refused(svc, flag, endpoint):
    code = wait_exit(svc)
    err = svc.stderr()
    assert code == 2, "%s exited %d, not 2:\n%s" % (svc.program, code, err[-2000:])
    line = "%s %s is not a loopback address" % (flag, endpoint)
    assert line in err, "no clear refusal naming %s %s:\n%s" % (flag, endpoint, err[-2000:])
    for way_out in ("--curve-dir", "--insecure-bus-on-network yes", "127.0.0.1"):
        assert way_out in err, "the refusal does not say %r:\n%s" % (way_out, err[-2000:])
    assert 'msg="listening"' not in err
    # Refused before anything was made: no database, no admin token.
    assert os.listdir(svc.data_dir) == [], os.listdir(svc.data_dir)


def heartbeat(endpoint, ipv6=False, timeout=5.0):
    """The first message a plain SUB gets from endpoint (None if none)."""
    s = zmq.Context.instance().socket(zmq.SUB)
    s.setsockopt(zmq.LINGER, 0)
    if ipv6:
        s.setsockopt(zmq.IPV6, 1)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(endpoint)
    try:
        if s.poll(int(timeout * 1000), zmq.POLLIN):
            return s.recv_multipart()
        return None
    finally:
        s.close(0)


# ---------------------------------------------------------------------------
# Services without certificates

SERVICES = [("crm-service", "CRM"), ("erp-service", "ERP")]


@pytest.mark.parametrize("program,prefix", SERVICES)
def test_a_service_refuses_to_publish_on_all_interfaces_without_curve(start_service, program, prefix):
    port = free_ports(1)[0]
    endpoint = "tcp://0.0.0.0:%d" % port
    svc = start_service(program, prefix, start=False, extra_args=["--pub", endpoint])
    svc.start(wait=False)
    assert_refused(svc, "--pub", endpoint)


@pytest.mark.parametrize("endpoint", ["tcp://*:%d", "tcp://localhost:%d", "tcp://192.0.2.7:%d",
                                      "tcp://[::]:%d", "tcp://eth0:%d"])
def test_the_command_socket_is_refused_beyond_loopback_too(start_service, endpoint):
    """Names (even localhost: /etc/hosts decides where it points), the
    wildcard and other hosts' addresses all count as the network."""
    endpoint = endpoint % free_ports(1)[0]
    svc = start_service("crm-service", "CRM", start=False, extra_args=["--cmd", endpoint])
    svc.start(wait=False)
    assert_refused(svc, "--cmd", endpoint)


def test_the_environment_variable_is_held_to_the_same_rule(start_service):
    endpoint = "tcp://0.0.0.0:%d" % free_ports(1)[0]
    svc = start_service("erp-service", "ERP", start=False, sockets=("cmd",), env={"PUB": endpoint})
    svc.start(wait=False)
    assert_refused(svc, "--pub", endpoint)


@pytest.mark.parametrize("program,prefix", SERVICES)
def test_the_named_flag_lets_it_bind_to_the_network_with_a_warning(start_service, program, prefix):
    port = free_ports(1)[0]
    endpoint = "tcp://0.0.0.0:%d" % port
    svc = start_service(program, prefix, extra_args=["--pub", endpoint, "--insecure-bus-on-network", "yes"])
    assert re.search(r'level=warn comp=bus msg="no CURVE, on the network" pub=tcp://0\.0\.0\.0:%d' % port,
                     svc.stderr()), svc.stderr()[-2000:]
    assert heartbeat("tcp://127.0.0.1:%d" % port), "no heartbeat on the socket bound to 0.0.0.0"


def test_the_flag_works_as_an_environment_variable_and_takes_only_yes_or_no(start_service):
    port = free_ports(1)[0]
    endpoint = "tcp://0.0.0.0:%d" % port
    svc = start_service("crm-service", "CRM", extra_args=["--pub", endpoint],
                        env={"INSECURE_BUS_ON_NETWORK": "yes"})
    assert 'msg="no CURVE, on the network"' in svc.stderr()
    bad = start_service("crm-service", "CRM", start=False, extra_args=["--insecure-bus-on-network", "maybe"])
    bad.start(wait=False)
    assert wait_exit(bad) == 2
    assert "--insecure-bus-on-network must be yes or no" in bad.stderr()


def test_loopback_ipv6_and_ipc_need_no_flag_but_are_warned_about(start_service, tmp_path):
    with open("/proc/net/if_inet6") as f:
        has_ipv6_loopback = any(line.split()[0] == "0" * 31 + "1" for line in f)
    port = free_ports(1)[0]
    pub = ("tcp://[::1]:%d" % port) if has_ipv6_loopback else ("tcp://127.0.0.2:%d" % port)
    cmd = "ipc://%s/cmd.sock" % tmp_path
    svc = start_service("crm-service", "CRM", extra_args=["--pub", pub, "--cmd", cmd])
    err = svc.stderr()
    assert re.search(r'level=warn comp=bus msg="no CURVE" pub=%s cmd=%s' % (re.escape(pub), re.escape(cmd)),
                     err), err[-2000:]
    assert "any process on this host can read every event and send commands" in err
    assert heartbeat(pub, ipv6=True), "no heartbeat on %s" % pub
    c = zmq.Context.instance().socket(zmq.DEALER)
    c.setsockopt(zmq.LINGER, 0)
    c.connect(cmd)
    try:
        c.send_multipart([b"", json.dumps({"op": "ping"}).encode()])
        assert c.poll(5000, zmq.POLLIN), "no pong over ipc://"
        assert json.loads(c.recv_multipart()[-1])["op"] == "pong"
    finally:
        c.close(0)


def test_the_default_test_setup_on_127_0_0_1_still_runs_and_says_no_curve(crm):
    assert 'msg="no CURVE" pub=tcp://127.0.0.1:' in crm.stderr()
    assert "curve=off" in crm.stderr()


# ---------------------------------------------------------------------------
# The bridge without certificates

@pytest.mark.parametrize("flag", ["--crm-pub", "--crm-cmd", "--erp-pub", "--erp-cmd"])
def test_the_bridge_refuses_to_reach_a_service_over_the_network_without_curve(start_service, flag):
    endpoint = "tcp://192.0.2.7:%d" % free_ports(1)[0]
    bridge = start_service("bridge", "BRIDGE", sockets=(), start=False, extra_args=[flag, endpoint])
    bridge.start(wait=False)
    assert_refused(bridge, flag, endpoint)


def test_the_bridge_with_the_flag_starts_and_warns(start_service):
    ports = free_ports(4)
    endpoint = "tcp://192.0.2.7:%d" % ports[0]
    # The other three on free loopback ports: nobody's services answer there.
    bridge = start_service("bridge", "BRIDGE", sockets=(), start=False,
                           extra_args=["--crm-pub", endpoint, "--insecure-bus-on-network", "yes",
                                       "--crm-cmd", "tcp://127.0.0.1:%d" % ports[1],
                                       "--erp-pub", "tcp://127.0.0.1:%d" % ports[2],
                                       "--erp-cmd", "tcp://127.0.0.1:%d" % ports[3],
                                       "--command-timeout-ms", "500"])
    bridge.start(wait=False)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        assert bridge.running(), bridge.stderr()[-2000:]
        try:
            if requests.get(bridge.url + "/livez", timeout=1).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.1)
    else:
        pytest.fail("the bridge did not answer /livez:\n" + bridge.stderr()[-2000:])
    assert 'level=warn comp=bus msg="no CURVE, on the network"' in bridge.stderr()


# ---------------------------------------------------------------------------
# Certificates made once (scripts/curve-init.sh), as make run and compose do

def bridgectl():
    path = os.path.join(BIN_DIR, "bridgectl")
    if not os.path.exists(path):
        pytest.fail("%s not found (BIN_DIR=%s); run make first" % (path, BIN_DIR))
    return path


def curve_init(root):
    p = subprocess.run(["sh", os.path.join(REPO, "scripts", "curve-init.sh"), str(root), bridgectl()],
                       capture_output=True, text=True, timeout=30)
    return p


def digests(root):
    """{relative path: sha256} of every file under root."""
    out = {}
    for base, _, files in os.walk(str(root)):
        for name in files:
            path = os.path.join(base, name)
            with open(path, "rb") as f:
                out[os.path.relpath(path, str(root))] = hashlib.sha256(f.read()).hexdigest()
    return out


def public_key(path):
    with open(path) as f:
        m = re.search(r'public-key\s*=\s*"([^"]{40})"', f.read())
    assert m, path
    return m.group(1)


LAYOUT = {"crm/crm.key", "crm/crm.pub", "crm/allowed/bridge.pub",
          "erp/erp.key", "erp/erp.pub", "erp/allowed/bridge.pub",
          "bridge/bridge.key", "bridge/bridge.pub", "bridge/crm.pub", "bridge/erp.pub"}


def test_curve_init_makes_the_certificates_once_and_reuses_them(tmp_path):
    root = tmp_path / "deep" / "curve"         # parents are made too
    p = curve_init(root)
    assert p.returncode == 0, p.stderr
    assert "made the certificates of crm erp bridge" in p.stdout, p.stdout
    first = digests(root)
    assert set(first) == LAYOUT, sorted(first)
    for name in ("crm", "erp", "bridge"):
        key = root / name / (name + ".key")
        assert (os.stat(str(key)).st_mode & 0o077) == 0, "%s is readable by others" % key
    # Each public half is where the peers look.
    assert first["crm/allowed/bridge.pub"] == first["erp/allowed/bridge.pub"] == first["bridge/bridge.pub"]
    assert first["bridge/crm.pub"] == first["crm/crm.pub"]
    assert first["bridge/erp.pub"] == first["erp/erp.pub"]

    p = curve_init(root)
    assert p.returncode == 0 and "reusing the certificates" in p.stdout, (p.stdout, p.stderr)
    assert digests(root) == first, "a second run changed certificates"

    # A pair removed on purpose is made anew and reaches its peers; the
    # others stay.
    os.remove(str(root / "bridge" / "bridge.key"))
    os.remove(str(root / "bridge" / "bridge.pub"))
    p = curve_init(root)
    assert p.returncode == 0 and "made the certificates of bridge" in p.stdout, (p.stdout, p.stderr)
    third = digests(root)
    assert third["bridge/bridge.key"] != first["bridge/bridge.key"]
    assert third["crm/allowed/bridge.pub"] == third["erp/allowed/bridge.pub"] == third["bridge/bridge.pub"]
    for same in ("crm/crm.key", "erp/erp.key", "bridge/crm.pub", "bridge/erp.pub"):
        assert third[same] == first[same], same


def test_curve_init_refuses_a_key_without_its_public_half(tmp_path):
    root = tmp_path / "curve"
    assert curve_init(root).returncode == 0
    os.remove(str(root / "erp" / "erp.pub"))
    p = curve_init(root)
    assert p.returncode == 1 and "erp.key has no" in p.stderr, (p.returncode, p.stderr)


# ---------------------------------------------------------------------------
# make run: scripts/run.sh in a scratch copy of the tree

class RunScript:
    """scripts/run.sh started from a scratch folder (its var/ lands there)
    on free ports, with BIN_DIR's binaries."""

    def __init__(self, root):
        self.root = root
        os.makedirs(os.path.join(root, "scripts"), exist_ok=True)
        for name in ("run.sh", "curve-init.sh"):
            shutil.copy(os.path.join(REPO, "scripts", name), os.path.join(root, "scripts", name))
        ports = free_ports(7)
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith(("CRM_", "ERP_", "BRIDGE_")) or k == "CURVE_DIR":
                del self.env[k]
        self.env.update({
            "BIN": BIN_DIR, "LOG_LEVEL": "info",
            "CRM_HTTP": "127.0.0.1:%d" % ports[0], "CRM_PUB": "tcp://127.0.0.1:%d" % ports[1],
            "CRM_CMD": "tcp://127.0.0.1:%d" % ports[2], "ERP_HTTP": "127.0.0.1:%d" % ports[3],
            "ERP_PUB": "tcp://127.0.0.1:%d" % ports[4], "ERP_CMD": "tcp://127.0.0.1:%d" % ports[5],
            "BRIDGE_HTTP": "127.0.0.1:%d" % ports[6]})
        self.proc = None
        self.out_path = os.path.join(root, "run.out")

    def start(self):
        self.out = open(self.out_path, "ab")
        self.offset = os.path.getsize(self.out_path)
        self.proc = subprocess.Popen(["bash", "scripts/run.sh"], cwd=self.root, env=self.env,
                                     stdin=subprocess.DEVNULL, stdout=self.out, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline:
            if "Ctrl-C stops everything" in self.output():
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        text = self.output()
        self.stop()
        pytest.fail("make run did not start:\n" + text[-3000:])

    def output(self):
        with open(self.out_path, encoding="utf-8", errors="replace") as f:
            f.seek(self.offset)
            return f.read()

    def stop(self):
        """SIGTERM (as Ctrl-C does) and wait; returns the exit code."""
        if self.proc is None:
            return None
        code = self.proc.poll()
        if code is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(25)
            except subprocess.TimeoutExpired:
                code = None
        # Whatever is left of its session (it started one of its own).
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        self.out.close()
        self.proc = None
        return code


@pytest.fixture
def run_script(tmp_path):
    r = RunScript(str(tmp_path / "tree"))
    yield r
    r.stop()


def plain_request(endpoint, msg, timeout=SILENCE):
    """One request from a DEALER without CURVE: the reply, or None."""
    s = zmq.Context.instance().socket(zmq.DEALER)
    s.setsockopt(zmq.LINGER, 0)
    s.connect(endpoint)
    try:
        return dealer_request(s, msg, timeout)
    finally:
        s.close(0)


def token(root, name):
    with open(os.path.join(root, "var", name, "admin.token")) as f:
        return f.read().strip()


def test_make_run_makes_certificates_once_starts_everything_with_curve_and_closes_defect_1(run_script):
    """Defect 1 of issue 13: under `make run` any local process could send
    ERP an order.create at a price of 1 and get a confirmed order with
    stock reserved. Now the programs run with CURVE and such a peer gets
    no answer and changes nothing."""
    r = run_script
    r.start()
    out = r.output()
    assert "run: made the certificates of crm erp bridge in var/curve" in out, out[-3000:]
    curve = os.path.join(r.root, "var", "curve")
    first = digests(curve)
    assert LAYOUT <= set(first), sorted(first)
    for name in ("crm", "erp", "bridge"):
        assert re.search(r'msg="listening".* curve=var/curve/%s ' % name, out), \
            "%s did not start with --curve-dir var/curve/%s:\n%s" % (name, name, out[-3000:])
    assert 'msg="no CURVE"' not in out
    env = r.env
    bridge_url = "http://" + env["BRIDGE_HTTP"]
    assert requests.get(bridge_url + "/readyz", timeout=5).status_code == 200   # pings over CURVE

    # Defect 1: a product listed at 50,000.00 with stock, a customer.
    erp_url = "http://" + env["ERP_HTTP"]
    h = {"Authorization": "Bearer " + token(r.root, "erp")}
    p = requests.post(erp_url + "/api/v1/products", headers=h, timeout=10,
                      json={"sku": "GOLD-1", "name": "Gold bar", "list_price_minor": 5000000,
                            "cost_minor": 4000000, "tax_rate_bp": 0}).json()
    w = requests.post(erp_url + "/api/v1/warehouses", headers=h, timeout=10,
                      json={"code": "MAIN", "name": "Main"}).json()
    c = requests.post(erp_url + "/api/v1/customers", headers=h, timeout=10, json={"name": "Mallory Ltd"}).json()
    rr = requests.post(erp_url + "/api/v1/stock/receipts", headers=h, timeout=10,
                       json={"product_id": p["id"], "warehouse_id": w["id"], "quantity": 10})
    assert rr.status_code == 201, rr.text
    # The bridge links the new customer (a command to ERP, an event): wait
    # until ERP's outbox is still, so only the forged commands could move it.
    deadline = time.monotonic() + 20
    while not requests.get(erp_url + "/api/v1/customers/" + c["id"], headers=h, timeout=5).json().get("crm_id"):
        assert time.monotonic() < deadline, "the bridge did not link the ERP customer"
        time.sleep(0.1)
    seq_before = steady(lambda: metric(erp_url, "outbox_last_seq"))

    forged = {"op": "apply", "cmd_id": str(uuid.uuid4()), "type": "order.create",
              "data": {"external_ref": str(uuid.uuid4()), "customer_id": c["id"],
                       "lines": [{"sku": "GOLD-1", "quantity": 5, "unit_price_minor": 1}]}}
    assert plain_request(env["ERP_CMD"], forged) is None, "ERP answered a forged order from a plain DEALER"
    assert plain_request(env["ERP_CMD"], {"op": "replay", "from_seq": 1}) is None, "ERP replayed its events"
    assert plain_request(env["CRM_CMD"], {"op": "snapshot", "entity": "customer"}) is None, \
        "CRM handed out its customers"
    time.sleep(0.3)
    orders = requests.get(erp_url + "/api/v1/orders", headers=h, timeout=10).json()["items"]
    assert orders == [], orders
    levels = requests.get(erp_url + "/api/v1/stock", headers=h, params={"product_id": p["id"]},
                          timeout=10).json()["items"]
    assert [lv["reserved"] for lv in levels] == [0], levels
    assert metric(erp_url, "outbox_last_seq") == seq_before

    assert r.stop() == 0
    # The second start reuses the certificates and still runs with CURVE.
    r.start()
    out = r.output()
    assert "run: reusing the certificates in var/curve" in out, out[-3000:]
    assert digests(curve) == first, "make run changed the certificates on its second start"
    assert re.search(r'msg="listening".* curve=var/curve/bridge ', out), out[-3000:]
    assert requests.get(bridge_url + "/readyz", timeout=5).status_code == 200
    assert r.stop() == 0


def metric(url, name):
    text = requests.get(url + "/metrics", timeout=5).text
    m = re.search(r"^%s(?:\{[^}]*\})? (-?\d+)$" % re.escape(name), text, re.M)
    assert m, "no %s in %s/metrics" % (name, url)
    return int(m.group(1))
