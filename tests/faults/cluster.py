"""The three programs under the fault harness: where they run (the
loopback, or each in its own network namespace), starting them, and the
faults done to them (kill -9 and restart, SIGSTOP and SIGCONT, a link
taken down and brought back).

With network namespaces (root only) the layout is one private /24,
10.213.77.0/24, that exists only inside the namespaces this run makes:

    hub namespace: Linux bridge br0 10.213.77.1 (the harness runs here)
      +-- veth --> crm namespace    10.213.77.2  (HTTP :8081, PUB :5551, ROUTER :5552)
      +-- veth --> erp namespace    10.213.77.3  (HTTP :8082, PUB :5561, ROUTER :5562)
      +-- veth --> bridge namespace 10.213.77.4  (HTTP :8083)

Cutting a program's link is `ip link set <its veth in the hub> down`: it
is cut from the other two and from the harness at once. Names carry the
harness's pid, so two runs do not collide; everything is deleted at the
end (and by `Cluster.close` on any error)."""

import ctypes
import os
import signal
import socket
import subprocess
import time

import requests

SUBNET = "10.213.77"
NS_ADDR = {"hub": SUBNET + ".1", "crm": SUBNET + ".2", "erp": SUBNET + ".3", "bridge": SUBNET + ".4"}
PORTS = {"crm": (8081, 5551, 5552), "erp": (8082, 5561, 5562), "bridge": (8083, None, None)}
BINARY = {"crm": "crm-service", "erp": "erp-service", "bridge": "bridge"}
CRASH_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer")
CLONE_NEWNET = 0x40000000


def free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def sh(*argv, check=True):
    p = subprocess.run(list(argv), capture_output=True, text=True)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(argv), p.stderr.strip()))
    return p


class Program:
    """One of the three programs: its flags, its process, its faults."""

    def __init__(self, name, bin_dir, workdir, host, ports, ns, sync, extra):
        self.name = name
        self.binary = os.path.join(bin_dir, BINARY[name])
        self.data_dir = os.path.join(workdir, name)
        os.makedirs(self.data_dir, exist_ok=True)
        self.log_path = os.path.join(workdir, name + ".log")
        self.host = host
        self.http_port, pub, cmd = ports
        self.url = "http://%s:%d" % (host, self.http_port)
        self.pub = "tcp://%s:%d" % (host, pub) if pub else None
        self.cmd = "tcp://%s:%d" % (host, cmd) if cmd else None
        self.ns = ns
        self.sync = sync
        self.extra = list(extra)
        self.proc = None
        self.stopped = False        # SIGSTOPped right now
        self.unexpected = []        # exits we did not cause
        self._token = None

    @property
    def db_path(self):
        return os.path.join(self.data_dir, {"crm": "crm.db", "erp": "erp.db", "bridge": "bridge.db"}[self.name])

    @property
    def token(self):
        if self._token is None:
            path = os.path.join(self.data_dir, "admin.token")
            deadline = time.monotonic() + 10
            while not os.path.exists(path) and time.monotonic() < deadline:
                time.sleep(0.05)
            with open(path) as f:
                self._token = f.read().strip()
        return self._token

    def insecure_flag(self):
        """On the namespaces' network (not loopback) the bus runs without
        CURVE: the programs insist that this is said explicitly."""
        try:
            text = subprocess.run([self.binary, "--help"], capture_output=True, text=True, timeout=10)
            text = text.stdout + text.stderr
        except (OSError, subprocess.SubprocessError):
            return []
        return ["--insecure-bus-on-network", "yes"] if "--insecure-bus-on-network" in text else []

    def argv(self, extra=()):
        a = [self.binary, "--data-dir", self.data_dir, "--http", "%s:%d" % (self.host, self.http_port),
             "--sync", self.sync, "--log-level", "info"]
        if self.pub:
            a += ["--pub", self.pub, "--cmd", self.cmd]
        a += self.extra + list(extra)
        if self.ns:
            a = ["ip", "netns", "exec", self.ns] + a
        return a

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, extra=(), ready=True, timeout=30):
        self._note_exit()
        with open(self.log_path, "ab") as log:
            # ip netns exec execs the program: the pid is the program's
            self.proc = subprocess.Popen(self.argv(extra), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT)
        self.stopped = False
        if ready:
            self.wait_ready(timeout)
        return self

    def wait_ready(self, timeout=30, path=None):
        """Wait for /readyz (the bridge: /livez; its /readyz depends on
        the two services, which may be down on purpose)."""
        path = path or ("/livez" if self.name == "bridge" else "/readyz")
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("%s exited with %s while starting; log %s"
                                   % (self.name, self.proc.returncode, self.log_path))
            try:
                r = requests.get(self.url + path, timeout=1)
                if r.status_code == 200:
                    return
                last = r.status_code
            except requests.RequestException as e:
                last = type(e).__name__
            time.sleep(0.05)
        raise RuntimeError("%s not ready within %d s (last %s)" % (self.name, timeout, last))

    def _note_exit(self):
        """A process that ended without us killing or stopping it is a
        crash: remember it for the summary."""
        if self.proc is not None and self.proc.poll() is not None and not getattr(self.proc, "_ours", False):
            self.unexpected.append("%s exited by itself with %s" % (self.name, self.proc.returncode))
            self.proc._ours = True

    def kill9(self):
        self._note_exit()
        if self.running():
            self.proc._ours = True
            if self.stopped:
                os.kill(self.proc.pid, signal.SIGCONT)
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.stopped = False

    def sigstop(self):
        if self.running():
            os.kill(self.proc.pid, signal.SIGSTOP)
            self.stopped = True

    def sigcont(self):
        if self.running():
            os.kill(self.proc.pid, signal.SIGCONT)
        self.stopped = False

    def terminate(self, timeout=20):
        """SIGTERM and wait: a clean stop is exit 0."""
        self._note_exit()
        if not self.running():
            return None
        if self.stopped:
            self.sigcont()
        self.proc._ours = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            code = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.unexpected.append("%s did not stop within %d s of SIGTERM" % (self.name, timeout))
            return None
        if code != 0:
            self.unexpected.append("%s exited with %d after SIGTERM" % (self.name, code))
        return code

    def log_problems(self):
        try:
            with open(self.log_path, errors="replace") as f:
                text = f.read()
        except FileNotFoundError:
            return []
        return ["%s log contains %r" % (self.name, m) for m in CRASH_MARKERS if m in text]


class Cluster:
    """crm, erp and bridge, on the loopback or in network namespaces."""

    def __init__(self, bin_dir, workdir, netns, sync="full", pub_hwm=1, sub_hwm=1, pipeline="no"):
        self.workdir = workdir
        self.netns = netns
        self.tag = "ft%d" % os.getpid()
        self.namespaces = []
        self.hub_links = {}
        self.programs = {}
        if netns:
            try:
                self._make_netns()
            except (RuntimeError, OSError):
                self.close()
                raise
            hosts = {k: NS_ADDR[k] for k in ("crm", "erp", "bridge")}
            ports = PORTS
            nss = {k: "%s%s" % (self.tag, k[0]) for k in ("crm", "erp", "bridge")}
        else:
            hosts = {k: "127.0.0.1" for k in ("crm", "erp", "bridge")}
            p = free_ports(7)
            ports = {"crm": (p[0], p[1], p[2]), "erp": (p[3], p[4], p[5]), "bridge": (p[6], None, None)}
            nss = {k: None for k in ("crm", "erp", "bridge")}
        svc_extra = ["--pub-hwm", str(pub_hwm)]
        if pipeline == "yes":
            svc_extra += ["--commit-pipeline", "yes"]
        self.crm = Program("crm", bin_dir, workdir, hosts["crm"], ports["crm"], nss["crm"], sync, svc_extra)
        self.erp = Program("erp", bin_dir, workdir, hosts["erp"], ports["erp"], nss["erp"], sync, svc_extra)
        bridge_extra = ["--crm-pub", self.crm.pub, "--crm-cmd", self.crm.cmd,
                        "--erp-pub", self.erp.pub, "--erp-cmd", self.erp.cmd,
                        "--command-timeout-ms", "2000", "--retry-max-ms", "2000",
                        "--sub-hwm", str(sub_hwm), "--reconcile-every", "0"]
        self.bridge = Program("bridge", bin_dir, workdir, hosts["bridge"], ports["bridge"], nss["bridge"],
                              sync, bridge_extra)
        self.programs = {"crm": self.crm, "erp": self.erp, "bridge": self.bridge}
        if netns:
            for p in self.programs.values():
                p.extra += p.insecure_flag()

    # --- network namespaces ------------------------------------------------

    def _make_netns(self):
        hub = self.tag + "h"
        sh("ip", "netns", "add", hub)
        self.namespaces.append(hub)
        sh("ip", "-n", hub, "link", "set", "lo", "up")
        sh("ip", "-n", hub, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", hub, "addr", "add", NS_ADDR["hub"] + "/24", "dev", "br0")
        sh("ip", "-n", hub, "link", "set", "br0", "up")
        for name in ("crm", "erp", "bridge"):
            ns = self.tag + name[0]
            sh("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            here, there = self.tag + name[0] + "h", self.tag + name[0] + "p"
            sh("ip", "link", "add", here, "type", "veth", "peer", "name", there)
            sh("ip", "link", "set", here, "netns", hub)
            sh("ip", "link", "set", there, "netns", ns)
            sh("ip", "-n", hub, "link", "set", here, "master", "br0")
            sh("ip", "-n", hub, "link", "set", here, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", NS_ADDR[name] + "/24", "dev", there)
            sh("ip", "-n", ns, "link", "set", there, "up")
            self.hub_links[name] = here
        # the harness itself (this process, before it starts any thread)
        # joins the hub, so its HTTP clients reach the three addresses
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        fd = os.open("/run/netns/" + hub, os.O_RDONLY)
        try:
            if libc.setns(fd, CLONE_NEWNET) != 0:
                raise OSError(ctypes.get_errno(), "setns into %s failed" % hub)
        finally:
            os.close(fd)

    def link(self, name, up):
        sh("ip", "-n", self.tag + "h", "link", "set", self.hub_links[name], "up" if up else "down")

    def close(self):
        for p in self.programs.values():
            if p.running():
                p.kill9()
        for ns in reversed(self.namespaces):
            sh("ip", "netns", "del", ns, check=False)
        self.namespaces = []

    # --- whole system ------------------------------------------------------

    def start_services(self):
        self.crm.start()
        self.erp.start()

    def stop_all(self):
        """Clean stop of everything (bridge first); returns the problems."""
        for p in (self.bridge, self.crm, self.erp):
            if p.stopped:
                p.sigcont()
        if self.netns:
            for name in self.hub_links:
                self.link(name, True)
        for p in (self.bridge, self.crm, self.erp):
            p.terminate()
        out = []
        for p in (self.crm, self.erp, self.bridge):
            out += p.unexpected + p.log_problems()
        return out
