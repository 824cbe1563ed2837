"""CURVE between the bridge and the services (docs/bridge.md, common/bus.h).

crm-service and erp-service run with --curve-dir: their folder holds their
own certificate (crm.key / erp.key) and allowed/bridge.pub, the only peer
they admit. The bridge's folder holds bridge.key, crm.pub and erp.pub.
Certificates come from `bridgectl keygen --curve-dir DIR NAME`.

Checked: data flows both ways through the encrypted links; a ZeroMQ peer
with a key the servers do not know (or with no CURVE at all) gets no event
from the PUB and no reply from the ROUTER, and its commands change nothing.
A control client holding the bridge's own certificate does get answers, so
"nothing" means refused, not a broken test client.
"""

import os
import re
import shutil
import subprocess
import time
import uuid

import pytest
import zmq

from conftest import BIN_DIR, CommandClient, Subscriber, ZmqTimeout, dealer_request, steady

#  How long a flow through the bridge may take.
FLOW_TIMEOUT = 15.0
#  How long a refused peer is given to receive something (the services send
#  a heartbeat every second, so an admitted subscriber would see 2-3).
SILENCE = 3.0


# ---------------------------------------------------------------------------
# Certificates

def keygen(directory, name):
    """`bridgectl keygen --curve-dir DIR NAME` -> (DIR/NAME.key, DIR/NAME.pub)."""
    binary = os.path.join(BIN_DIR, "bridgectl")
    if not os.path.exists(binary):
        pytest.fail("%s not found (BIN_DIR=%s); run make first" % (binary, BIN_DIR))
    p = subprocess.run([binary, "keygen", "--curve-dir", str(directory), name],
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
    assert p.returncode == 0, "keygen %s failed (%d): %s" % (name, p.returncode, p.stderr)
    key = os.path.join(str(directory), name + ".key")
    pub = os.path.join(str(directory), name + ".pub")
    assert os.path.exists(key) and os.path.exists(pub), os.listdir(str(directory))
    return key, pub


def cert_key(path, which):
    """The z85 "public-key" or "secret-key" of a ZPL certificate file."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(r'%s-key\s*=\s*"([^"]{40})"' % which, text)
    assert m, "no %s-key in %s:\n%s" % (which, path, text)
    return m.group(1).encode()


def make_certificates(root):
    """crm/, erp/ and bridge/ certificate folders under root, laid out as
    common/bus.h says. Returns their paths and the keys the tests use."""
    os.makedirs(str(root), exist_ok=True)     # keygen makes DIR, not its parents
    dirs = {n: os.path.join(str(root), n) for n in ("crm", "erp", "bridge")}
    _, crm_pub = keygen(dirs["crm"], "crm")
    _, erp_pub = keygen(dirs["erp"], "erp")
    bridge_key, bridge_pub = keygen(dirs["bridge"], "bridge")
    for server in ("crm", "erp"):
        os.makedirs(os.path.join(dirs[server], "allowed"), exist_ok=True)
        shutil.copy(bridge_pub, os.path.join(dirs[server], "allowed", "bridge.pub"))
    shutil.copy(crm_pub, os.path.join(dirs["bridge"], "crm.pub"))
    shutil.copy(erp_pub, os.path.join(dirs["bridge"], "erp.pub"))
    keys = {
        "crm_public": cert_key(crm_pub, "public"),
        "erp_public": cert_key(erp_pub, "public"),
        "bridge_public": cert_key(bridge_key, "public"),
        "bridge_secret": cert_key(bridge_key, "secret"),
    }
    return dirs, keys


# ---------------------------------------------------------------------------
# Raw ZeroMQ peers with a chosen CURVE identity

def curve_socket(kind, endpoint, server_key, public=None, secret=None):
    """A SUB (subscribed to everything) or DEALER connected to endpoint as a
    CURVE client of server_key; with no keypair, a fresh unknown one."""
    if public is None:
        public, secret = zmq.curve_keypair()
    s = zmq.Context.instance().socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    s.curve_serverkey = server_key
    s.curve_publickey = public
    s.curve_secretkey = secret
    if kind == zmq.SUB:
        s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(endpoint)
    return s


def plain_socket(kind, endpoint):
    s = zmq.Context.instance().socket(kind)
    s.setsockopt(zmq.LINGER, 0)
    if kind == zmq.SUB:
        s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(endpoint)
    return s


def received(sock, seconds):
    """Every message that arrives on sock within `seconds`."""
    out = []
    deadline = time.monotonic() + seconds
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return out
        if sock.poll(int(left * 1000), zmq.POLLIN):
            out.append(sock.recv_multipart())


# ---------------------------------------------------------------------------
# The system

def wait_until(fn, timeout=FLOW_TIMEOUT, what="the condition"):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            value = fn()
            if value:
                return value
            last = value
        except (AssertionError, KeyError, IndexError, ValueError) as e:
            last = e
        time.sleep(0.1)
    pytest.fail("%s not within %.0f s (last: %r)" % (what, timeout, last))


class CurveSystem:
    pass


@pytest.fixture
def curve_system(start_service, tmp_path):
    """crm-service, erp-service and the bridge, every ZeroMQ link CURVE.
    start_service waits for each /readyz; the bridge's needs both services
    to answer its pings, so a bridge that cannot talk CURVE never starts."""
    dirs, keys = make_certificates(tmp_path / "certs")
    crm = start_service("crm-service", "CRM", extra_args=["--curve-dir", dirs["crm"]])
    erp = start_service("erp-service", "ERP", extra_args=["--curve-dir", dirs["erp"]])
    bridge = start_service("bridge", "BRIDGE", sockets=(), extra_args=[
        "--crm-pub", crm.pub, "--crm-cmd", crm.cmd, "--erp-pub", erp.pub, "--erp-cmd", erp.cmd,
        "--curve-dir", dirs["bridge"], "--command-timeout-ms", "2000", "--retry-max-ms", "2000"])
    s = CurveSystem()
    s.crm, s.erp, s.bridge, s.dirs, s.keys = crm, erp, bridge, dirs, keys
    sockets = []
    s.sockets = sockets
    yield s
    for sock in sockets:
        sock.close(0)


def erp_customers_by_crm_id(erp, crm_id):
    r = erp.api("GET", "/api/v1/customers", params={"crm_id": crm_id})
    assert r.status_code == 200, r.text
    return r.json()["items"]


def erp_customer_ids(erp):
    ids, cursor = [], None
    while True:
        params = {"limit": 500, "archived": "all"}
        if cursor:
            params["cursor"] = cursor
        r = erp.api("GET", "/api/v1/customers", params=params)
        assert r.status_code == 200, r.text
        ids += [c["id"] for c in r.json()["items"]]
        cursor = r.json().get("next_cursor")
        if not cursor:
            return sorted(ids)


def create_crm_customer(crm, name):
    r = crm.api("POST", "/api/v1/customers", json={"name": name, "email": "it@example.com"})
    assert r.status_code == 201, r.text
    return r.json()


def bridge_sources(bridge):
    r = bridge.api("GET", "/api/v1/status")
    assert r.status_code == 200, r.text
    return r.json()["sources"]


# ---------------------------------------------------------------------------
# Tests

def test_the_programs_say_curve_is_on(curve_system):
    for svc in (curve_system.crm, curve_system.erp, curve_system.bridge):
        assert re.search(r'msg="listening".*curve=%s' % re.escape(curve_system.dirs[svc.source]),
                         svc.stderr()), "%s did not log curve=<its dir>:\n%s" % (svc.program, svc.stderr()[-2000:])
    # Connected: the services' heartbeats reach the bridge's SUB sockets.
    wait_until(lambda: all(s["connected"] and s["commands_reachable"]
                           for s in bridge_sources(curve_system.bridge).values()),
               what="both sources connected")


def test_a_crm_customer_reaches_erp_and_the_erp_id_comes_back_through_curve(curve_system):
    crm, erp = curve_system.crm, curve_system.erp
    c = create_crm_customer(crm, "Curve GmbH")
    erp_c = wait_until(lambda: erp_customers_by_crm_id(erp, c["id"]), what="the customer in ERP")[0]
    assert erp_c["name"] == "Curve GmbH" and erp_c["email"] == "it@example.com"
    # ... and the link back to CRM (a command over CURVE to CRM's ROUTER).
    wait_until(lambda: crm.api("GET", "/api/v1/customers/" + c["id"]).json()["erp_id"] == erp_c["id"],
               what="erp_id on the CRM customer")
    # ... and ERP -> CRM (ERP's PUB to the bridge, then CRM's ROUTER).
    r = erp.api("PATCH", "/api/v1/customers/" + erp_c["id"], json={"payment_terms_days": 45},
                headers={"If-Match": '"%d"' % erp_c["version"]})
    assert r.status_code == 200, r.text
    wait_until(lambda: crm.api("GET", "/api/v1/customers/" + c["id"]).json()["payment_terms_days"] == 45,
               what="ERP's payment terms on the CRM customer")
    sources = bridge_sources(curve_system.bridge)
    assert sources["crm"]["applied"] >= 1 and sources["erp"]["applied"] >= 1, sources


def test_a_subscriber_with_an_unknown_key_gets_nothing_while_the_bridge_gets_everything(curve_system):
    crm, erp, keys = curve_system.crm, curve_system.erp, curve_system.keys
    stranger = curve_socket(zmq.SUB, crm.pub, keys["crm_public"])
    plain = plain_socket(zmq.SUB, crm.pub)
    # Control: the same kind of socket with the bridge's certificate is
    # admitted (it sees the heartbeats), so the client set-up is right.
    admitted = curve_socket(zmq.SUB, crm.pub, keys["crm_public"],
                            keys["bridge_public"], keys["bridge_secret"])
    curve_system.sockets += [stranger, plain, admitted]
    assert received(admitted, SILENCE), "a SUB with the bridge's certificate got no heartbeat"

    c = create_crm_customer(crm, "Secret Customer AG")
    wait_until(lambda: erp_customers_by_crm_id(erp, c["id"]), what="the customer in ERP via the bridge")

    seen = received(admitted, 1.0)
    got_stranger = received(stranger, SILENCE)
    got_plain = received(plain, 0.1)
    assert got_stranger == [], "a SUB with an unknown key received %r" % got_stranger[:3]
    assert got_plain == [], "a SUB without CURVE received %r" % got_plain[:3]
    # The admitted control saw heartbeats (and the event itself, if it was
    # subscribed in time); nothing reached the others, with the secret
    # customer's name nowhere in what they got.
    assert seen or received(admitted, SILENCE), "the admitted SUB went silent"


def test_a_dealer_with_an_unknown_key_gets_no_reply_and_changes_nothing(curve_system):
    crm, erp, keys = curve_system.crm, curve_system.erp, curve_system.keys
    # Some data first, through the bridge, so "unchanged" is not "empty".
    c = create_crm_customer(crm, "Existing KG")
    wait_until(lambda: erp_customers_by_crm_id(erp, c["id"]), what="the customer in ERP")
    before = erp_customer_ids(erp)

    forged_crm_id = str(uuid.uuid4())
    apply = {"op": "apply", "cmd_id": str(uuid.uuid4()), "type": "customer.upsert",
             "data": {"id": None, "crm_id": forged_crm_id,
                      "fields": {"name": "Forged Ltd", "kind": "company"}}}
    stranger = curve_socket(zmq.DEALER, erp.cmd, keys["erp_public"])
    plain = plain_socket(zmq.DEALER, erp.cmd)
    curve_system.sockets += [stranger, plain]
    assert dealer_request(stranger, apply, SILENCE) is None, "ERP answered a DEALER with an unknown key"
    assert dealer_request(stranger, {"op": "ping"}, 1.0) is None, "ERP answered a ping from an unknown key"
    plain_apply = dict(apply, cmd_id=str(uuid.uuid4()))
    assert dealer_request(plain, plain_apply, SILENCE) is None, "ERP answered a DEALER without CURVE"
    assert dealer_request(plain, {"op": "ping"}, 1.0) is None, "ERP answered a plain ping"

    # Control: a DEALER with the bridge's certificate gets a pong.
    admitted = curve_socket(zmq.DEALER, erp.cmd, keys["erp_public"],
                            keys["bridge_public"], keys["bridge_secret"])
    curve_system.sockets.append(admitted)
    pong = dealer_request(admitted, {"op": "ping"}, 5.0)
    assert pong and pong.get("op") == "pong", "ERP did not answer the bridge's certificate: %r" % pong

    time.sleep(0.5)
    assert erp_customer_ids(erp) == before, "ERP's customers changed"
    assert erp_customers_by_crm_id(erp, forged_crm_id) == []


def test_plain_clients_of_the_conftest_kind_get_nothing_either(curve_system):
    crm, erp = curve_system.crm, curve_system.erp
    sub = Subscriber(crm.pub)          # no CURVE
    cmd = CommandClient(crm.cmd)
    cmd.sock.setsockopt(zmq.SNDTIMEO, 1000)     # no peer: send would block
    try:
        with pytest.raises(ZmqTimeout):
            sub.wait_ready(SILENCE)     # not even a heartbeat
        with pytest.raises((ZmqTimeout, zmq.Again)):
            cmd.request({"op": "ping"}, timeout=SILENCE)
    finally:
        sub.close()
        cmd.close()
    # ... while the bridge still syncs.
    c = create_crm_customer(crm, "Still Syncing SA")
    wait_until(lambda: erp_customers_by_crm_id(erp, c["id"]), what="the customer in ERP")


def test_the_bridge_with_a_key_the_services_do_not_allow_is_not_ready(start_service, tmp_path):
    """A bridge whose certificate is not in the services' allowed/ gets no
    pong, so its /readyz stays 503 and nothing syncs: CURVE really guards."""
    dirs, _ = make_certificates(tmp_path / "certs")
    for server in ("crm", "erp"):
        os.remove(os.path.join(dirs[server], "allowed", "bridge.pub"))
    crm = start_service("crm-service", "CRM", extra_args=["--curve-dir", dirs["crm"]])
    erp = start_service("erp-service", "ERP", extra_args=["--curve-dir", dirs["erp"]])
    bridge = start_service("bridge", "BRIDGE", sockets=(), start=False, extra_args=[
        "--crm-pub", crm.pub, "--crm-cmd", crm.cmd, "--erp-pub", erp.pub, "--erp-cmd", erp.cmd,
        "--curve-dir", dirs["bridge"], "--command-timeout-ms", "1000", "--retry-max-ms", "1000"])
    bridge.start(wait=False)
    c = create_crm_customer(crm, "Not Through")
    deadline = time.monotonic() + 6     # past a socket rebuild or two
    import requests
    last = None
    while time.monotonic() < deadline:
        try:
            last = requests.get(bridge.url + "/readyz", timeout=1).status_code
        except requests.RequestException:
            pass
        assert last != 200, "the bridge is ready with a key the services do not allow"
        time.sleep(0.2)
    assert last == 503, "the bridge's /readyz never answered (last %r)" % last
    assert erp_customers_by_crm_id(erp, c["id"]) == []
    # Refused peers must not wedge it: SIGTERM still stops it cleanly
    # (a request to a peer that refused the handshake must time out).
    code = bridge.stop()
    how = bridge.exits[-1][1] if bridge.exits else "?"
    assert code == 0 and not how.startswith("did not stop"), \
        "the bridge, refused by both services, did not stop cleanly on SIGTERM: code %r, %s" % (code, how)


def test_defect_1_a_forged_order_at_price_1_changes_nothing_under_curve(curve_system):
    """Issue 13, defect 1: without CURVE an `apply` of order.create with
    unit_price_minor 1 on a product listed at 50,000.00 gave a confirmed
    order with stock reserved, and `replay`, `snapshot` and SUB handed out
    everything. With CURVE, a local DEALER with no certificate or an
    unknown one gets no answer to any of them, and ERP is unchanged: no
    order, nothing reserved, no event written."""
    import requests
    erp, crm, keys = curve_system.erp, curve_system.crm, curve_system.keys
    p = erp.api("POST", "/api/v1/products", json={"sku": "GOLD-1", "name": "Gold bar",
                                                  "list_price_minor": 5000000, "cost_minor": 4000000,
                                                  "tax_rate_bp": 0}).json()
    w = erp.api("POST", "/api/v1/warehouses", json={"code": "MAIN", "name": "Main"}).json()
    c = erp.api("POST", "/api/v1/customers", json={"name": "Mallory Ltd"}).json()
    r = erp.api("POST", "/api/v1/stock/receipts", json={"product_id": p["id"], "warehouse_id": w["id"],
                                                         "quantity": 10})
    assert r.status_code == 201, r.text

    def outbox_seq():
        text = requests.get(erp.url + "/metrics", timeout=5).text
        return int(re.search(r"^outbox_last_seq (\d+)$", text, re.M).group(1))

    # The bridge links the new customer (a command to ERP, an event): wait
    # until that is done and ERP's outbox is still, so only the forged
    # commands could move it.
    wait_until(lambda: erp.api("GET", "/api/v1/customers/" + c["id"]).json().get("crm_id"),
               what="the ERP customer linked to CRM")
    seq = steady(outbox_seq)
    forged = {"op": "apply", "cmd_id": str(uuid.uuid4()), "type": "order.create",
              "data": {"external_ref": str(uuid.uuid4()), "customer_id": c["id"],
                       "lines": [{"sku": "GOLD-1", "quantity": 5, "unit_price_minor": 1}]}}
    for kind, sock in (("without CURVE", plain_socket(zmq.DEALER, erp.cmd)),
                       ("with an unknown key", curve_socket(zmq.DEALER, erp.cmd, keys["erp_public"]))):
        curve_system.sockets.append(sock)
        assert dealer_request(sock, dict(forged, cmd_id=str(uuid.uuid4())), SILENCE) is None, \
            "ERP answered a forged order.create from a DEALER %s" % kind
        assert dealer_request(sock, {"op": "replay", "from_seq": 1, "max": 100}, 1.0) is None, \
            "ERP replayed its events to a DEALER %s" % kind
        assert dealer_request(sock, {"op": "snapshot", "entity": "customer", "max": 100}, 1.0) is None, \
            "ERP handed out its customers to a DEALER %s" % kind
    for kind, sock in (("without CURVE", plain_socket(zmq.DEALER, crm.cmd)),
                       ("with an unknown key", curve_socket(zmq.DEALER, crm.cmd, keys["crm_public"]))):
        curve_system.sockets.append(sock)
        assert dealer_request(sock, {"op": "snapshot", "entity": "customer", "max": 100}, 1.0) is None, \
            "CRM handed out its customers to a DEALER %s" % kind

    time.sleep(0.3)
    assert erp.api("GET", "/api/v1/orders").json()["items"] == []
    levels = erp.api("GET", "/api/v1/stock", params={"product_id": p["id"]}).json()["items"]
    assert [lv["reserved"] for lv in levels] == [0], levels
    assert outbox_seq() == seq, "ERP wrote events after the forged commands"
