"""Issue 14: the HTTP listeners take IPv6 as well as IPv4: --http [::1]:PORT
serves on the IPv6 loopback, --http [::]:PORT on every address of both
families (dual stack), and a name that is no address is refused at start."""

import socket
import subprocess

import pytest
import requests

from conftest import Service, _finish, binary_path, free_ports


def v6_port():
    s = socket.socket(socket.AF_INET6)
    s.bind(("::1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.parametrize("program,prefix", [("crm-service", "CRM"), ("erp-service", "ERP")])
def test_a_service_listens_on_the_ipv6_loopback(tmp_path, program, prefix):
    svc = Service(program, prefix, str(tmp_path))
    port = v6_port()
    svc.http = "[::1]:%d" % port
    svc.url = "http://[::1]:%d" % port
    svc.start()
    try:
        r = requests.get(svc.url + "/livez", timeout=5)
        assert r.status_code == 200, r.text
        me = svc.api("GET", "/api/v1/me")
        assert me.status_code == 200 and me.json()["role"] == "admin"
        # Not on IPv4: ::1 is the IPv6 loopback only.
        with pytest.raises(requests.ConnectionError):
            requests.get("http://127.0.0.1:%d/livez" % port, timeout=2)
    finally:
        _finish([svc])


def test_the_unspecified_ipv6_address_serves_both_families(tmp_path):
    svc = Service("crm-service", "CRM", str(tmp_path))
    port = free_ports(1)[0]
    svc.http = "[::]:%d" % port
    svc.url = "http://[::1]:%d" % port
    svc.start()
    try:
        assert requests.get("http://[::1]:%d/livez" % port, timeout=5).status_code == 200
        assert requests.get("http://127.0.0.1:%d/livez" % port, timeout=5).status_code == 200
    finally:
        _finish([svc])


def test_a_name_that_is_no_address_is_refused(tmp_path):
    p = subprocess.run([binary_path("crm-service"), "--data-dir", str(tmp_path / "d"), "--http", "localhost:8081",
                        "--pub", "tcp://127.0.0.1:%d" % free_ports(1)[0], "--cmd", "tcp://127.0.0.1:%d" % free_ports(1)[0]],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode != 0
    assert "not an IPv4 or IPv6 address" in p.stderr
