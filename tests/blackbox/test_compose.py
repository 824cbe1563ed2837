"""docker-compose.yml, Dockerfile and .dockerignore against DESIGN.md §1
and §6: `docker-compose config` accepts the file, and its normalised form
runs crm, erp and bridge each in its own container with its own volume at
/data, on the ports of DESIGN.md, listening on 0.0.0.0, the bridge
connecting to the services by their names, health checks on /readyz, and
an image built on Debian 12. The bus is closed: a one-shot curve-init
service makes the CURVE certificates into one volume per program, and each
program mounts only its own, read-only, and runs with --curve-dir.

Needs the Debian package docker-compose (scripts/deps.sh installs it); a
missing docker-compose is a failure, not a skip. No container is started.
"""

import os
import re
import shutil
import subprocess

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
COMPOSE_FILE = os.path.join(REPO, "docker-compose.yml")
DOCKERFILE = os.path.join(REPO, "Dockerfile")
DOCKERIGNORE = os.path.join(REPO, ".dockerignore")

#  DESIGN.md §1: program -> (service name, env prefix, HTTP port, PUB port, CMD port)
PROGRAMS = {
    "crm-service": ("crm", "CRM", 8081, 5551, 5552),
    "erp-service": ("erp", "ERP", 8082, 5561, 5562),
    "bridge": ("bridge", "BRIDGE", 8083, None, None),
}


@pytest.fixture(scope="module")
def config():
    """The output of `docker-compose config`, parsed."""
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed (Debian package docker-compose; "
                    "bash scripts/deps.sh installs it)", pytrace=False)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    p = subprocess.run([exe, "-f", COMPOSE_FILE, "config"], cwd=REPO, capture_output=True,
                       text=True, env=env, timeout=120)
    assert p.returncode == 0, "docker-compose config failed (%d):\n%s" % (p.returncode, p.stderr)
    doc = yaml.safe_load(p.stdout)
    assert isinstance(doc, dict) and isinstance(doc.get("services"), dict), p.stdout[:2000]
    return doc


def service(config, name):
    assert name in config["services"], "no service %r in %s" % (name, sorted(config["services"]))
    return config["services"][name]


def environment(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):           # ["KEY=value", …]
        env = dict(e.split("=", 1) for e in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def command(svc):
    cmd = svc.get("command") or []
    return cmd.split() if isinstance(cmd, str) else [str(c) for c in cmd]


def volume_mounts(svc):
    """[(source, target)] of named volumes and binds, whatever the syntax."""
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("source"), v.get("target")))
        else:
            parts = v.split(":")
            out.append((parts[0], parts[1] if len(parts) > 1 else parts[0]))
    return out


def published_ports(svc):
    """{container port: host port} of the ports published to the host."""
    out = {}
    for p in svc.get("ports") or []:
        if isinstance(p, dict):
            out[int(p["target"])] = int(p.get("published") or 0)
        else:
            spec = str(p).split("/")[0]
            parts = spec.split(":")
            out[int(parts[-1])] = int(parts[-2]) if len(parts) >= 2 else 0
    return out


def port_of(address):
    m = re.match(r"^(?:tcp://)?(.*):(\d+)$", address)
    assert m, "not HOST:PORT: %r" % address
    return m.group(1), int(m.group(2))


def flag_or_env(svc, prefix, flag):
    """A setting as the program sees it: the command-line flag wins over
    PREFIX_FLAG in the environment."""
    cmd = command(svc)
    for i, arg in enumerate(cmd):
        if arg == "--" + flag and i + 1 < len(cmd):
            return cmd[i + 1]
        if arg.startswith("--" + flag + "="):
            return arg.split("=", 1)[1]
    return environment(svc).get(prefix + "_" + flag.upper().replace("-", "_"))


def test_the_three_services_exist(config):
    assert {"crm", "erp", "bridge"} <= set(config["services"])


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_each_runs_its_program_with_its_own_volume_at_data(config, program):
    name, prefix, _, _, _ = PROGRAMS[program]
    svc = service(config, name)
    cmd = command(svc)
    assert cmd and cmd[0] in (program, "/usr/local/bin/" + program), cmd
    assert flag_or_env(svc, prefix, "data-dir") == "/data", cmd
    assert "--data-dir" in cmd and cmd[cmd.index("--data-dir") + 1] == "/data", cmd
    mounts = [m for m in volume_mounts(svc) if m[1] == "/data"]
    assert len(mounts) == 1, volume_mounts(svc)
    source = mounts[0][0]
    assert source in (config.get("volumes") or {}), \
        "%s: /data is not a named volume (%r)" % (name, source)


def test_no_two_services_share_a_volume(config):
    sources = {}
    for program, (name, _, _, _, _) in PROGRAMS.items():
        for source, target in volume_mounts(service(config, name)):
            if target == "/data":
                sources.setdefault(source, []).append(name)
    assert len(sources) == 3 and all(len(v) == 1 for v in sources.values()), sources


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_listens_on_all_interfaces_on_the_design_ports(config, program):
    name, prefix, http, pub, cmd = PROGRAMS[program]
    svc = service(config, name)
    host, port = port_of(flag_or_env(svc, prefix, "http") or "")
    assert host == "0.0.0.0" and port == http, (name, host, port)
    for flag, want in (("pub", pub), ("cmd", cmd)):
        if want is None:
            continue
        value = flag_or_env(svc, prefix, flag) or ""
        assert value.startswith("tcp://"), (name, flag, value)
        host, port = port_of(value)
        assert host in ("0.0.0.0", "*") and port == want, (name, flag, value)


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_http_port_is_published(config, program):
    name, _, http, pub, cmd = PROGRAMS[program]
    ports = published_ports(service(config, name))
    assert ports.get(http) == http, (name, ports)
    # The ZeroMQ sockets stay inside the compose network.
    assert pub not in ports and cmd not in ports, (name, ports)


def test_bridge_connects_to_the_services_by_name(config):
    svc = service(config, "bridge")
    want = {"crm-pub": "tcp://crm:5551", "crm-cmd": "tcp://crm:5552",
            "erp-pub": "tcp://erp:5561", "erp-cmd": "tcp://erp:5562"}
    got = {flag: flag_or_env(svc, "BRIDGE", flag) for flag in want}
    assert got == want


def test_bridge_depends_on_crm_and_erp(config):
    deps = service(config, "bridge").get("depends_on") or []
    names = set(deps) if not isinstance(deps, dict) else set(deps.keys())
    assert {"crm", "erp"} <= names, deps
    if isinstance(deps, dict):
        for name in ("crm", "erp"):
            cond = (deps[name] or {}).get("condition", "service_started")
            assert cond in ("service_healthy", "service_started"), deps


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_healthcheck_asks_readyz(config, program):
    name, _, http, _, _ = PROGRAMS[program]
    hc = service(config, name).get("healthcheck")
    assert hc and not hc.get("disable"), (name, hc)
    test = hc["test"]
    text = " ".join(test) if isinstance(test, list) else test
    assert re.search(r"(curl|wget)\b", text), text
    assert "127.0.0.1:%d/readyz" % http in text or "localhost:%d/readyz" % http in text, text


def dockerfile_stages():
    """[(base image, [instruction lines])] of the Dockerfile's stages, with
    continuation lines joined."""
    with open(DOCKERFILE) as f:
        text = f.read()
    text = re.sub(r"\\\n", " ", text)
    stages = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        if line.upper().startswith("FROM "):
            stages.append((line.split()[1], []))
        elif stages:
            stages[-1][1].append(line)
    return stages


def test_dockerfile_builds_on_debian_12(config):
    stages = dockerfile_stages()
    assert len(stages) >= 2, "want a build stage and a runtime stage: %r" % stages
    for base, _ in stages:
        assert re.match(r"^debian:(12|bookworm)(-slim|-\d{8}(-slim)?)?(@sha256:[0-9a-f]+)?$",
                        base), "base image %r is not Debian 12" % base
    # Every service builds from this Dockerfile (or uses the image it makes).
    for name in ("crm", "erp", "bridge"):
        svc = service(config, name)
        assert "build" in svc or "image" in svc, name


def test_dockerfile_builds_with_make_and_ships_only_runtime_libraries():
    stages = dockerfile_stages()
    build_lines = " ".join(" ".join(lines) for _, lines in stages[:-1])
    runtime = " ".join(stages[-1][1])
    assert re.search(r"\bmake\b[^&;]*\ball\b", build_lines), build_lines
    assert "-dev" in build_lines
    assert re.search(r"COPY --from=\S+ \S*bin/?\s", runtime + " "), runtime
    assert "-dev" not in runtime and "build-essential" not in runtime, runtime
    for lib in ("libzmq5", "libsqlite3-0", "libcjson1", "libuuid1", "libmicrohttpd12",
                "libsodium23", "libcurl4"):
        assert lib in runtime.split(), lib
    assert re.search(r"\b(curl|wget)\b", runtime), "the health checks need curl or wget"


def test_dockerfile_installs_every_library_the_build_needs():
    """The image's build stage installs each -dev package that
    scripts/deps.sh installs for building (cmocka only builds the unit
    tests, which the image does not): one missing there and `make all`
    fails to link in the image while it links on a developer's machine."""
    with open(os.path.join(REPO, "scripts", "deps.sh")) as f:
        deps = re.search(r"^build_pkgs=\(([^)]*)\)", f.read(), re.M)
    assert deps, "scripts/deps.sh has no build_pkgs list"
    wanted = [p for p in deps.group(1).split() if p.endswith("-dev") and p != "libcmocka-dev"]
    assert "libcurl4-openssl-dev" in wanted, wanted
    build = " ".join(" ".join(lines) for _, lines in dockerfile_stages()[:-1]).split()
    missing = [p for p in wanted if p not in build]
    assert not missing, "the Dockerfile's build stage lacks %s" % missing


def test_dockerignore_keeps_build_output_and_data_out():
    with open(DOCKERIGNORE) as f:
        entries = {l.strip().strip("/") for l in f if l.strip() and not l.startswith("#")}
    for path in ("bin", "build", "var", ".git"):
        assert path in entries, (path, entries)


# ---------------------------------------------------------------------------
# CURVE: certificates made on first start, wired through volumes

def mounts_with_mode(svc):
    """[(source, target, read_only)] whatever the syntax."""
    out = []
    for v in svc.get("volumes") or []:
        if isinstance(v, dict):
            out.append((v.get("source"), v.get("target"), bool(v.get("read_only"))))
        else:
            parts = v.split(":")
            out.append((parts[0], parts[1] if len(parts) > 1 else parts[0],
                        len(parts) > 2 and "ro" in parts[2].split(",")))
    return out


def curve_volume(config, program):
    """The named volume a program's --curve-dir is, checked read-only."""
    name, prefix, _, _, _ = PROGRAMS[program]
    svc = service(config, name)
    curve_dir = flag_or_env(svc, prefix, "curve-dir")
    assert curve_dir, "%s runs without --curve-dir: its ZeroMQ links have no CURVE" % name
    mounts = [m for m in mounts_with_mode(svc) if m[1] == curve_dir]
    assert len(mounts) == 1, "%s: nothing mounted at its --curve-dir %s: %r" % (name, curve_dir, mounts_with_mode(svc))
    source, _, read_only = mounts[0]
    assert source in (config.get("volumes") or {}), "%s: %s is not a named volume" % (name, source)
    assert read_only, "%s: the certificate volume should be read-only in the program" % name
    return source


@pytest.mark.parametrize("program", sorted(PROGRAMS))
def test_each_program_runs_with_curve_from_its_own_read_only_volume(config, program):
    source = curve_volume(config, program)
    name = PROGRAMS[program][0]
    # No other program sees this volume (it holds this program's secret key).
    for other, (other_name, _, _, _, _) in PROGRAMS.items():
        if other != program:
            assert source not in [m[0] for m in mounts_with_mode(service(config, other_name))], \
                "%s's certificate volume %s is mounted in %s too" % (name, source, other_name)


def test_curve_init_makes_the_certificates_before_any_program_starts(config):
    init = service(config, "curve-init")
    cmd = command(init)
    assert cmd and cmd[0] in ("curve-init", "/usr/local/bin/curve-init"), cmd
    root = cmd[1]
    # scripts/curve-init.sh ROOT writes ROOT/crm, ROOT/erp, ROOT/bridge:
    # each is the volume its program mounts.
    mounted = {target: source for source, target, _ in mounts_with_mode(init)}
    for program, (name, _, _, _, _) in PROGRAMS.items():
        assert mounted.get(root + "/" + name) == curve_volume(config, program), (name, mounted)
    assert str(init.get("restart", "no")) in ("no", "False", "false"), \
        "a one-shot service must not be restarted: %r" % init.get("restart")
    for program, (name, _, _, _, _) in PROGRAMS.items():
        deps = service(config, name).get("depends_on") or {}
        assert isinstance(deps, dict) and "curve-init" in deps, (name, deps)
        assert deps["curve-init"].get("condition") == "service_completed_successfully", (name, deps)


def test_the_image_ships_curve_init_and_the_certificate_folders():
    runtime = " ".join(dockerfile_stages()[-1][1])
    assert re.search(r"COPY (--from=\S+ )?\S*scripts/curve-init\.sh /usr/local/bin/curve-init\b", runtime), runtime
    # A fresh volume takes the owner and mode of the folder it is mounted
    # on: the program's user must own /curve/<name>, and nobody else read it.
    for name in ("crm", "erp", "bridge"):
        assert re.search(r"mkdir -p [^&]*/curve/%s\b" % name, runtime), name
        assert re.search(r"chown app:app [^&]*/curve/%s\b" % name, runtime), name
        assert re.search(r"chmod 0700 [^&]*/curve/%s\b" % name, runtime), name
    assert os.access(os.path.join(REPO, "scripts", "curve-init.sh"), os.X_OK), \
        "scripts/curve-init.sh must be executable (COPY keeps the mode)"
    with open(DOCKERIGNORE) as f:
        ignored = {l.strip().strip("/") for l in f if l.strip() and not l.startswith("#")}
    assert "scripts" not in ignored
