"""Black-box fixtures: start the real binaries on free loopback ports in a
fresh temporary folder, talk HTTP and ZeroMQ to them, and fail the test if a
binary crashed or a sanitizer complained.

    def test_something(crm):                 # a fresh crm-service per test
        r = crm.api("GET", "/api/v1/customers")
        assert r.status_code == 200

    def test_other(start_service):           # any program, any flags
        erp = start_service("erp-service", "ERP")

BIN_DIR (default <repo>/bin) says where the binaries are; `make blackbox`
sets it, and `make asan-test` points it at bin-asan. BLACKBOX_READY_TIMEOUT
(seconds, default 10) bounds the wait for /readyz.
"""

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pytest
import requests
import zmq

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.path.abspath(os.environ.get("BIN_DIR") or os.path.join(REPO, "bin"))
READY_TIMEOUT = float(os.environ.get("BLACKBOX_READY_TIMEOUT", "10"))
STOP_TIMEOUT = 10.0
HOST = "127.0.0.1"

#  What a sanitizer or a crash leaves in stderr.
CRASH_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "ThreadSanitizer")

#  Sentinel: "use the admin token" (token=None means "send no token").
ADMIN = object()


def binary_path(program):
    return os.path.join(BIN_DIR, program)


def free_ports(n):
    """n distinct free TCP ports on the loopback, held open together while
    choosing so that none is handed out twice."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def tail(text, lines=60):
    parts = text.splitlines()
    return "\n".join(parts[-lines:])


# ---------------------------------------------------------------------------
# ZeroMQ helpers

class ZmqTimeout(AssertionError):
    pass


class CommandClient:
    """A DEALER on a service's command (ROUTER) socket. Every request is an
    empty delimiter frame and one JSON frame; replies come back the same way
    and may be several messages (a replay), so `request` collects them."""

    def __init__(self, endpoint, ctx=None):
        self.ctx = ctx or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.DEALER)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.sock.connect(endpoint)

    def send(self, msg):
        """Send a dict/list as JSON, or raw bytes/str as they are (for
        malformed-input tests), after the empty delimiter frame."""
        if isinstance(msg, (dict, list)):
            payload = json.dumps(msg).encode()
        elif isinstance(msg, str):
            payload = msg.encode()
        else:
            payload = bytes(msg)
        self.sock.send_multipart([b"", payload])

    def send_frames(self, frames):
        """Send frames exactly as given (no delimiter added)."""
        self.sock.send_multipart([f if isinstance(f, bytes) else f.encode() for f in frames])

    def recv_frames(self, timeout=5.0):
        """One reply message as its frames, the empty delimiter removed.
        Raises ZmqTimeout if none arrives in time."""
        if not self.sock.poll(int(timeout * 1000), zmq.POLLIN):
            raise ZmqTimeout("no reply within %.1f s" % timeout)
        frames = self.sock.recv_multipart()
        while frames and frames[0] == b"":
            frames = frames[1:]
        return frames

    def recv_json(self, timeout=5.0):
        """One reply message, its last frame decoded as JSON."""
        frames = self.recv_frames(timeout)
        assert frames, "empty reply message"
        return json.loads(frames[-1])

    def request(self, msg, timeout=5.0, until=None, idle=0.3):
        """Send msg and collect decoded replies. With `until` (a predicate on
        a decoded reply), stop at the first reply it accepts (included);
        without it, stop once no further reply comes for `idle` seconds
        after the first. Raises ZmqTimeout if nothing (or, with `until`, no
        accepted reply) arrives within `timeout`."""
        self.send(msg)
        replies = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                if until is None and replies:
                    return replies
                raise ZmqTimeout("after %.1f s got %d replies: %r"
                                 % (timeout, len(replies), replies[-3:]))
            wait = remaining if (until is not None or not replies) else min(idle, remaining)
            try:
                reply = self.recv_json(wait)
            except ZmqTimeout:
                if until is None and replies:
                    return replies
                continue
            replies.append(reply)
            if until is not None and until(reply):
                return replies

    def close(self):
        self.sock.close(0)


class Subscriber:
    """A SUB on a service's PUB socket. Messages are (topic, envelope)."""

    def __init__(self, endpoint, topics=("",), ready_topic=None, ready_timeout=5.0, ctx=None):
        self.ctx = ctx or zmq.Context.instance()
        self.sock = self.ctx.socket(zmq.SUB)
        self.sock.setsockopt(zmq.LINGER, 0)
        self.topics = tuple(topics)
        for t in self.topics:
            self.sock.setsockopt(zmq.SUBSCRIBE, t.encode())
        self.ready_topic = ready_topic
        if ready_topic and not any(ready_topic.startswith(t) for t in self.topics):
            self.sock.setsockopt(zmq.SUBSCRIBE, ready_topic.encode())
        self.sock.connect(endpoint)
        if ready_topic:
            self.wait_ready(ready_timeout)

    def wait_ready(self, timeout=5.0):
        """Block until the subscription is live: a PUB drops everything sent
        before it has seen our subscription, so wait for one message (the
        once-a-second heartbeat at the latest)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sock.poll(100, zmq.POLLIN):
                self.sock.recv_multipart()
                return
        raise ZmqTimeout("no message (not even a heartbeat) within %.1f s" % timeout)

    def _wanted(self, topic):
        return any(topic.startswith(t) for t in self.topics)

    def recv(self, timeout=5.0):
        """Next message on a subscribed topic as (topic, envelope dict)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not self.sock.poll(int(remaining * 1000), zmq.POLLIN):
                raise ZmqTimeout("no event within %.1f s" % timeout)
            frames = self.sock.recv_multipart()
            topic = frames[0].decode("utf-8", "replace")
            if not self._wanted(topic):
                continue    # only the readiness topic
            body = json.loads(frames[1]) if len(frames) > 1 and frames[1] else None
            return topic, body

    def wait_for(self, match, timeout=5.0):
        """First message whose topic equals `match` (a str) or for which
        `match(topic, envelope)` is true; others (heartbeats…) are skipped."""
        deadline = time.monotonic() + timeout
        seen = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ZmqTimeout("no matching event within %.1f s; saw %r"
                                 % (timeout, [t for t, _ in seen][-10:]))
            try:
                topic, body = self.recv(remaining)
            except ZmqTimeout:
                continue
            if (topic == match) if isinstance(match, str) else match(topic, body):
                return topic, body
            seen.append((topic, body))

    def drain(self, idle=0.3):
        """Everything that arrives until nothing has for `idle` seconds."""
        out = []
        while True:
            try:
                out.append(self.recv(idle))
            except ZmqTimeout:
                return out

    def close(self):
        self.sock.close(0)


# ---------------------------------------------------------------------------
# A running program

class Service:
    """One program started from BIN_DIR with its own data folder and ports.

    .url, .pub, .cmd, .data_dir, .token; .start() (again on the same folder
    and ports), .stop() (SIGTERM, then waits), .kill() (SIGKILL); .api(...)
    for HTTP, .command(...) / .cmd_client() / .subscribe(...) for ZeroMQ.
    Programs without sockets (the bridge) pass sockets=() and their own
    flags in extra_args."""

    def __init__(self, program, env_prefix, workdir, sockets=("pub", "cmd"),
                 extra_args=(), env=None, sync="normal", log_level="debug"):
        self.program = program
        self.env_prefix = env_prefix
        self.source = env_prefix.lower()
        self.binary = binary_path(program)
        self.workdir = workdir
        self.data_dir = os.path.join(workdir, "data")
        os.makedirs(self.data_dir, exist_ok=True)
        self.stdout_path = os.path.join(workdir, program + ".stdout")
        self.stderr_path = os.path.join(workdir, program + ".stderr")
        self.sockets = tuple(sockets)
        self.extra_args = list(extra_args)
        self.env_overrides = dict(env or {})
        self.sync = sync
        self.log_level = log_level
        self.proc = None
        self._recorded = False
        self.exits = []             # (returncode, how) for every run that ended
        self.check_exit = True      # set False in a test that expects a bad exit
        self._token = None
        self._clients = []
        self._pick_ports()

    def _pick_ports(self):
        ports = free_ports(1 + len(self.sockets))
        self.http_port = ports[0]
        self.http = "%s:%d" % (HOST, ports[0])
        self.url = "http://%s" % self.http
        self.endpoints = {}
        for name, port in zip(self.sockets, ports[1:]):
            self.endpoints[name] = "tcp://%s:%d" % (HOST, port)
        self.pub = self.endpoints.get("pub")
        self.cmd = self.endpoints.get("cmd")

    # --- process ---------------------------------------------------------

    def argv(self):
        args = [self.binary, "--data-dir", self.data_dir, "--http", self.http]
        for name in self.sockets:
            args += ["--" + name, self.endpoints[name]]
        args += ["--sync", self.sync, "--log-level", self.log_level]
        return args + self.extra_args

    def environ(self):
        """The test's environment without stray PREFIX_* settings, plus the
        overrides given as {"NAME": value} (becomes PREFIX_NAME)."""
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(self.env_prefix + "_")}
        for k, v in self.env_overrides.items():
            env[k if k.startswith(self.env_prefix + "_") else self.env_prefix + "_" + k] = str(v)
        return env

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, wait=True, timeout=None):
        """Start (or restart) on the same folder and ports and wait for
        /readyz. A port lost to a race on the very first start is retried on
        fresh ports."""
        assert not self.running(), "%s is already running" % self.program
        if not os.path.exists(self.binary):
            pytest.fail("%s not found (BIN_DIR=%s); run make first" % (self.binary, BIN_DIR))
        first = not self.exits and self.proc is None
        for attempt in range(3 if first else 1):
            before = len(self.stderr())
            self._spawn()
            if not wait:
                return self
            ok, why = self._wait_ready(timeout or READY_TIMEOUT)
            if ok:
                return self
            new_err = self.stderr()[before:]
            if first and attempt < 2 and not self.running() and "in use" in new_err.lower():
                self.exits.pop()        # a lost race for a port is not a crash
                self._pick_ports()
                continue
            break
        if self.running():
            self._terminate(signal.SIGKILL, "killed after failing to become ready")
        pytest.fail("%s did not become ready: %s\n--- argv: %s\n--- stderr (tail):\n%s"
                    % (self.program, why, " ".join(self.argv()), tail(self.stderr())))

    def _spawn(self):
        self._recorded = False
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, env=self.environ(), cwd=self.workdir)

    def _record_exit(self, how):
        """Note how the current process ended (once per process)."""
        if self.proc is not None and self.proc.returncode is not None and not self._recorded:
            self.exits.append((self.proc.returncode, how))
            self._recorded = True

    def _wait_ready(self, timeout):
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            code = self.proc.poll()
            if code is not None:
                self._record_exit("exited while starting")
                return False, "exited with %d while starting" % code
            try:
                r = requests.get(self.url + "/readyz", timeout=1)
                if r.status_code == 200:
                    return True, ""
                last = "/readyz answered %d: %s" % (r.status_code, r.text[:200])
            except requests.RequestException as e:
                last = type(e).__name__
            time.sleep(0.05)
        return False, "no 200 from /readyz within %.0f s (last: %s)" % (timeout, last)

    def _terminate(self, sig, how):
        if self.proc is None:
            return None
        if self.proc.poll() is not None:
            self._record_exit("exited on its own")   # it died before we asked
            return self.proc.returncode
        self.proc.send_signal(sig)
        try:
            self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            how = "did not stop within %.0f s of %s; killed" % (STOP_TIMEOUT, signal.Signals(sig).name)
        self._record_exit(how)
        return self.proc.returncode

    def stop(self):
        """SIGTERM and wait; returns the exit code. A clean stop is exit 0."""
        self._close_clients()
        return self._terminate(signal.SIGTERM, "stopped")

    def kill(self):
        """SIGKILL (a power cut, as far as the process can tell)."""
        self._close_clients()
        return self._terminate(signal.SIGKILL, "killed by test")

    def restart(self):
        self.stop()
        return self.start()

    def stderr(self):
        try:
            with open(self.stderr_path, "r", encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def problems(self):
        """Why this service's runs count as a failure, or [] if they don't:
        a crash (killed by a signal we did not send), a non-zero exit after
        SIGTERM, a hang on stop, or a sanitizer report in stderr."""
        out = []
        if self.check_exit:
            for code, how in self.exits:
                if how == "killed by test":
                    continue
                if code is None:
                    continue
                if code < 0:
                    out.append("%s: died of signal %s (%s)"
                               % (self.program, signal.Signals(-code).name, how))
                elif code != 0 or how.startswith("did not stop"):
                    out.append("%s: exit code %d (%s)" % (self.program, code, how))
        text = self.stderr()
        for marker in CRASH_MARKERS:
            if marker in text:
                out.append("%s: stderr contains %r" % (self.program, marker))
        return out

    # --- HTTP ------------------------------------------------------------

    @property
    def token_path(self):
        return os.path.join(self.data_dir, "admin.token")

    @property
    def token(self):
        """The admin bearer token written on first start."""
        if self._token is None:
            deadline = time.monotonic() + 2
            while not os.path.exists(self.token_path) and time.monotonic() < deadline:
                time.sleep(0.05)
            with open(self.token_path) as f:
                self._token = f.read().strip()
            assert self._token, "%s is empty" % self.token_path
        return self._token

    def api(self, method, path, token=ADMIN, json=None, headers=None, data=None,
            params=None, timeout=10):
        """One HTTP request; returns the requests Response. token=ADMIN (the
        default) sends the admin token, None sends none, a str sends that."""
        h = dict(headers or {})
        if token is ADMIN:
            token = self.token
        if token is not None and "Authorization" not in h:
            h["Authorization"] = "Bearer " + token
        kwargs = {"headers": h, "params": params, "timeout": timeout}
        if json is not None:
            kwargs["json"] = json
        if data is not None:
            kwargs["data"] = data
        return requests.request(method, self.url + path, **kwargs)

    # --- ZeroMQ ----------------------------------------------------------

    def cmd_client(self):
        """A fresh DEALER on the command socket; closed at stop/teardown."""
        assert self.cmd, "%s has no command socket" % self.program
        c = CommandClient(self.cmd)
        self._clients.append(c)
        return c

    def command(self, msg, **kw):
        """Send one command and return the list of decoded replies (see
        CommandClient.request for timeout, until and idle)."""
        c = self.cmd_client()
        try:
            return c.request(msg, **kw)
        finally:
            c.close()
            self._clients.remove(c)

    def subscribe(self, topics=("",), ready=True, timeout=5.0):
        """A SUB on the event socket, live once this returns (it waits for
        the first message, at the latest a heartbeat) unless ready=False."""
        assert self.pub, "%s has no event socket" % self.program
        s = Subscriber(self.pub, topics, ready_topic=(self.source + ".heartbeat") if ready else None,
                       ready_timeout=timeout)
        self._clients.append(s)
        return s

    def _close_clients(self):
        for c in self._clients:
            c.close()
        self._clients = []


# ---------------------------------------------------------------------------
# Fixtures

def _finish(services):
    """Stop every service, then fail the test if any of them misbehaved."""
    problems = []
    for svc in services:
        svc.stop()              # also records a process that died on its own
        found = svc.problems()
        if found:
            problems.append("\n".join(found) + "\n--- %s stderr (tail):\n%s"
                            % (svc.program, tail(svc.stderr())))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture
def start_service(tmp_path):
    """Factory: start_service(program, env_prefix, sockets=("pub","cmd"),
    extra_args=(), env=None, start=True) -> Service, each in its own
    folder under this test's tmp_path. All are stopped and checked at the
    end of the test."""
    services = []

    def start(program, env_prefix, start=True, **kw):
        workdir = tempfile.mkdtemp(prefix=program + "-", dir=str(tmp_path))
        svc = Service(program, env_prefix, workdir, **kw)
        services.append(svc)
        if start:
            svc.start()
        return svc

    yield start
    _finish(services)


@pytest.fixture
def crm(start_service):
    """A fresh crm-service for this test."""
    return start_service("crm-service", "CRM")


@pytest.fixture
def erp(start_service):
    """A fresh erp-service for this test (a missing binary is a failure)."""
    return start_service("erp-service", "ERP")


@pytest.fixture
def system(start_service):
    """crm-service, erp-service and the bridge between them
    (bridge_helpers.System), the bridge reconciling only when a test asks
    (--reconcile-every 0); the bridge is stopped first at the end. A test
    module that needs another set-up defines its own `system`."""
    from bridge_helpers import start_system
    s = start_system(start_service, bridge_extra=("--reconcile-every", "0"))
    yield s
    s.bridge.stop()


@pytest.fixture
def mail_crm(start_service):
    """A crm-service that mails through an SMTP server on loopback:
    (crm, inbox), inbox.mails holding (from, [to], text) as they arrive;
    the server stops at the end of the test."""
    from crm_helpers import crm_with_mail, smtp_server
    ctl, inbox, port = smtp_server()
    try:
        yield crm_with_mail(start_service, port), inbox
    finally:
        ctl.stop()


@contextlib.contextmanager
def module_service(tmp_path_factory, program, env_prefix, folder):
    """One service for the tests of a module (a module-scoped fixture's
    `with`): started in a fresh folder named after folder, then stopped
    and checked when the module is done."""
    svc = Service(program, env_prefix, str(tmp_path_factory.mktemp(folder)))
    svc.start()
    yield svc
    _finish([svc])


@pytest.fixture(scope="module")
def crm_module(tmp_path_factory):
    """One crm-service shared by the tests of a module (for read-only or
    self-contained tests that can live with each other's data)."""
    with module_service(tmp_path_factory, "crm-service", "CRM", "crm-module") as svc:
        yield svc


@pytest.fixture(scope="module")
def erp_module(tmp_path_factory):
    """One erp-service shared by the tests of a module, as crm_module."""
    with module_service(tmp_path_factory, "erp-service", "ERP", "erp-module") as svc:
        yield svc


@pytest.fixture
def run_binary(tmp_path):
    """Run a program to completion (for --help, --version, admin commands):
    run_binary(program, *args, env=None, timeout=20) -> CompletedProcess
    with text stdout/stderr. Crashes and sanitizer reports fail the test."""
    def run(program, *args, env=None, timeout=20):
        path = binary_path(program)
        if not os.path.exists(path):
            pytest.fail("%s not found (BIN_DIR=%s); run make first" % (path, BIN_DIR))
        full_env = dict(os.environ)
        full_env.update(env or {})
        p = subprocess.run([path] + [str(a) for a in args], stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, errors="replace",
                           env=full_env, cwd=str(tmp_path), timeout=timeout)
        crash = [m for m in CRASH_MARKERS if m in p.stderr]
        if p.returncode < 0 or crash:
            pytest.fail("%s %s crashed (code %d, %s):\n%s"
                        % (program, " ".join(map(str, args)), p.returncode, crash, tail(p.stderr)),
                        pytrace=False)
        return p
    return run


@pytest.fixture(scope="session", autouse=True)
def _zmq_context():
    """One ZeroMQ context for the session, closed at the end (destroy, not
    term: a socket a test forgot to close must not hang the run)."""
    ctx = zmq.Context.instance()
    yield ctx
    ctx.destroy(linger=0)


def pytest_report_header(config):
    return "BIN_DIR=%s" % BIN_DIR


def poll(cond, timeout=10.0):
    """Call cond every 0.1 s until it is true (True) or timeout seconds have
    passed (then its last value)."""
    end = time.time() + timeout
    while time.time() < end:
        if cond():
            return True
        time.sleep(0.1)
    return cond()


def dealer_request(sock, msg, timeout):
    """Send one command (empty delimiter + JSON) on a DEALER; the decoded
    reply, or None if nothing came back in time. A DEALER whose handshake
    was refused has no peer and would block on send: that is "no reply"
    too."""
    sock.setsockopt(zmq.SNDTIMEO, int(timeout * 1000))
    try:
        sock.send_multipart([b"", json.dumps(msg).encode()])
    except zmq.Again:
        return None
    if not sock.poll(int(timeout * 1000), zmq.POLLIN):
        return None
    frames = [f for f in sock.recv_multipart() if f != b""]
    return json.loads(frames[-1])


def steady(read, interval=1.0):
    """Call read every interval seconds until it answers the same twice in
    a row (an outbox that stopped growing); that answer."""
    last = read()
    while True:
        time.sleep(interval)
        now = read()
        if now == last:
            return now
        last = now


def vm_kib(pid, field="VmRSS"):
    """A memory figure of a process from /proc/PID/status, in KiB
    (VmRSS: resident now; VmHWM: the peak resident size)."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise AssertionError("no %s in /proc/%d/status" % (field, pid))
