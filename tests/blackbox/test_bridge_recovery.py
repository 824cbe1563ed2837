"""The bridge recovering what it missed: events lost in a network cut come
back by replay (noticed by a seq gap or a heartbeat), and a won deal whose customer has no link (a
bridge.db restored from an older backup) waits, parked, until a
reconciliation restores the link, then becomes its order."""

import os
import socket
import sqlite3
import threading
import time

import pytest

from bridge_helpers import (FLOW_TIMEOUT, RECOVERY_TIMEOUT, dead_letters, erp_orders_for, linked_customer,
                            metric_value, metrics, one, settle, start_system, status, System, wait_until, win)
from crm_helpers import create, list_all
from erp_helpers import product, receive, warehouse


class CuttableLink:
    """A TCP relay on the loopback between the bridge and CRM's PUB socket
    that the test can cut: while cut, connections are closed and refused,
    so CRM's PUB drops what it publishes (it has no subscriber)."""

    def __init__(self, target_port):
        self.target_port = target_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.cut_now = threading.Event()
        self.stopping = threading.Event()
        self.conns = []
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _pump(self, src, dst):
        try:
            while not self.stopping.is_set():
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def _accept(self):
        while not self.stopping.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.cut_now.is_set():
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self.lock:
                self.conns += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def cut(self):
        self.cut_now.set()
        with self.lock:
            for c in self.conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.conns = []

    def mend(self):
        self.cut_now.clear()

    def close(self):
        self.stopping.set()
        self.cut()
        self.listener.close()


@pytest.mark.parametrize("more_after", [True, False], ids=["gap", "heartbeat"])
def test_events_lost_in_a_network_cut_are_replayed(start_service, more_after):
    # The bridge reads CRM's events through a link the test cuts. Events
    # published during the cut reach nobody; the bridge must notice the
    # hole (a seq gap on the next event, or the heartbeat at the tail) and
    # fetch them by replay.
    crm = start_service("crm-service", "CRM")
    erp = start_service("erp-service", "ERP")
    link = CuttableLink(int(crm.pub.rsplit(":", 1)[1]))
    try:
        args = ["--crm-pub", "tcp://127.0.0.1:%d" % link.port, "--crm-cmd", crm.cmd,
                "--erp-pub", erp.pub, "--erp-cmd", erp.cmd, "--reconcile-every", "0"]
        bridge = start_service("bridge", "BRIDGE", sockets=(), extra_args=args)
        system = System(crm, erp, bridge)
        first = create(crm, "customers", {"name": "Before the cut"})
        linked_customer(system, first["id"])
        settle(system)
        link.cut()
        lost = [create(crm, "customers", {"name": "During the cut %d" % i})["id"] for i in range(5)]
        time.sleep(0.5)
        link.mend()
        if more_after:
            time.sleep(0.5)   # let the bridge reconnect before the next event
            lost.append(create(crm, "customers", {"name": "After the cut"})["id"])
        for cid in lost:
            linked_customer(system, cid, timeout=RECOVERY_TIMEOUT)
        settle(system, RECOVERY_TIMEOUT)
        text = metrics(bridge)
        got = {r: metric_value(text, "bridge_replays_total", {"source": "crm", "reason": r}) or 0
               for r in ("gap", "heartbeat")}
        assert got["gap"] + got["heartbeat"] >= 1, got
        if not more_after:
            assert got["heartbeat"] >= 1, got
        assert len(list_all(erp, "customers", {"archived": "all"})) == 1 + len(lost)
    finally:
        link.close()


def test_a_deal_whose_customer_lost_its_link_waits_then_flows(start_service):
    system = start_system(start_service, bridge_extra=("--reconcile-every", "0"))
    w = warehouse(system.erp)
    p = product(system.erp, "LAMP-1")
    receive(system.erp, p["id"], w["id"], 10)
    c = create(system.crm, "customers", {"name": "Restored Ltd"})
    _, erp_c = linked_customer(system, c["id"])
    settle(system)

    # bridge.db comes back from a backup taken before the customer existed.
    system.bridge.stop()
    con = sqlite3.connect(os.path.join(system.bridge.data_dir, "bridge.db"))
    con.execute("DELETE FROM links WHERE kind = 'customer'")
    con.commit()
    con.close()
    system.bridge.start()

    d = create(system.crm, "deals", {"title": "Lamps", "customer_id": c["id"],
                                     "lines": [{"sku": "LAMP-1", "quantity": 2, "unit_price_minor": 1500}]})
    win(system.crm, d["id"])
    settle(system)
    st = status(system.bridge)
    assert st["parked"] == 1 and st["dead_letters"] == 0, st
    time.sleep(1.5)   # the worker looks at parked events every second
    assert erp_orders_for(system.erp, d["id"]) == []

    r = system.bridge.api("POST", "/api/v1/reconcile", json={"repair": True})
    assert r.status_code == 202, r.text
    order = wait_until(lambda: one(erp_orders_for(system.erp, d["id"])), RECOVERY_TIMEOUT,
                       what="the parked deal's order")
    assert order["customer_id"] == erp_c["id"]
    assert [(l["sku"], l["quantity"]) for l in order["lines"]] == [("LAMP-1", 2)]
    wait_until(lambda: status(system.bridge)["parked"] == 0, FLOW_TIMEOUT, what="nothing parked")
    settle(system)
    assert len(erp_orders_for(system.erp, d["id"])) == 1
    assert dead_letters(system.bridge) == []
