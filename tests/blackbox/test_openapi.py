"""docs/openapi/crm.yaml, erp.yaml and bridge.yaml against the routes
crm-service, erp-service and the bridge really serve.

Starts nothing for the route checks: `<program> routes` prints every route
("METHOD PATTERN" and " public" for those that need no token) without
opening a database. Web pages (lines ending in " page": /, /app/{path},
/common/{path}) are not part of the API and are left out. The document must describe exactly those routes, parse
as YAML, resolve every $ref, and mark public routes (and only those) as
needing no token. The last test starts the three programs and checks the
bridge's real answers against the schemas of bridge.yaml.
"""

import os
import re
import subprocess

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.path.abspath(os.environ.get("BIN_DIR") or os.path.join(REPO, "bin"))
SPECS = {"crm-service": os.path.join(REPO, "docs", "openapi", "crm.yaml"),
         "erp-service": os.path.join(REPO, "docs", "openapi", "erp.yaml"),
         "bridge": os.path.join(REPO, "docs", "openapi", "bridge.yaml")}
SERVICES = sorted(SPECS)
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


def served_routes(tmp_path, service):
    """{(METHOD, pattern): public} from `<service> routes`."""
    binary = os.path.join(BIN_DIR, service)
    if not os.path.exists(binary):
        pytest.fail("%s not found (BIN_DIR=%s); run make first" % (binary, BIN_DIR))
    p = subprocess.run([binary, "routes"], stdin=subprocess.DEVNULL, capture_output=True,
                       text=True, cwd=str(tmp_path), timeout=30)
    assert p.returncode == 0, "%s routes failed (%d): %s" % (service, p.returncode, p.stderr)
    routes = {}
    for line in p.stdout.splitlines():
        if not line.strip():
            continue
        parts = line.split()
        if parts[-1] == "page":
            continue    # a web page route, not part of the API documents
        assert len(parts) in (2, 3) and (len(parts) == 2 or parts[2] == "public"), \
            "unexpected line from 'routes': %r" % line
        key = (parts[0].upper(), parts[1])
        assert key not in routes, "route printed twice: %s %s" % key
        routes[key] = len(parts) == 3
    assert routes, "%s routes printed nothing" % service
    return routes


def load_spec(service):
    with open(SPECS[service], encoding="utf-8") as f:
        return yaml.safe_load(f)


def documented_routes(spec):
    """{(METHOD, path): operation} from the document's paths."""
    out = {}
    for path, item in (spec.get("paths") or {}).items():
        for method, operation in item.items():
            if method in METHODS:
                out[(method.upper(), path)] = operation
    return out


def route_differences(served, documented):
    """(served but not documented, documented but not served), sorted."""
    served, documented = set(served), set(documented)
    return sorted(served - documented), sorted(documented - served)


def fmt(routes):
    return "\n".join("  %s %s" % r for r in routes)


@pytest.mark.parametrize("service", SERVICES)
def test_spec_parses_as_openapi_3(tmp_path, service):
    spec = load_spec(service)
    name = os.path.basename(SPECS[service])
    assert isinstance(spec, dict), "%s is not a YAML mapping" % name
    assert str(spec.get("openapi", "")).startswith("3."), "not an OpenAPI 3 document"
    for key in ("info", "paths", "components"):
        assert key in spec, "%s has no %s" % (name, key)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.mark.parametrize("service", SERVICES)
def test_every_served_route_is_documented_and_every_documented_route_is_served(tmp_path, service):
    served = served_routes(tmp_path, service)
    documented = documented_routes(load_spec(service))
    missing, extra = route_differences(served, documented)
    doc = os.path.relpath(SPECS[service], REPO)
    message = []
    if missing:
        message.append("served by %s but not in %s:\n%s" % (service, doc, fmt(missing)))
    if extra:
        message.append("in %s but not served by %s:\n%s" % (doc, service, fmt(extra)))
    assert not message, "\n".join(message)


def test_route_comparison_catches_a_difference_either_way():
    # The comparison itself: one route added to the code and one left in the
    # document after the code dropped it must both be reported.
    served = {("GET", "/api/v1/customers"): False, ("POST", "/api/v1/deals/{id}/win"): False}
    documented = {("GET", "/api/v1/customers"): {}, ("POST", "/api/v1/deals/{id}/lose"): {}}
    missing, extra = route_differences(served, documented)
    assert missing == [("POST", "/api/v1/deals/{id}/win")]
    assert extra == [("POST", "/api/v1/deals/{id}/lose")]


@pytest.mark.parametrize("service", SERVICES)
def test_public_routes_and_only_those_need_no_token(tmp_path, service):
    served = served_routes(tmp_path, service)
    spec = load_spec(service)
    assert spec.get("security"), "the document has no global security requirement"
    documented = documented_routes(spec)
    wrong = []
    for key, public in served.items():
        operation = documented.get(key)
        if operation is None:
            continue    # reported by the route test
        says_public = operation.get("security") == []
        if says_public != public:
            wrong.append("  %s %s: served %s, documented %s"
                         % (key[0], key[1], "public" if public else "with token",
                            "public" if says_public else "with token"))
    assert not wrong, "security does not match the service:\n" + "\n".join(wrong)


@pytest.mark.parametrize("service", SERVICES)
def test_every_path_parameter_is_declared(service):
    spec = load_spec(service)
    components = spec.get("components", {}).get("parameters", {})
    problems = []
    for path, item in spec["paths"].items():
        names = set(re.findall(r"\{([^}]+)\}", path))
        for method in METHODS:
            if method not in item:
                continue
            declared = set()
            for p in (item.get("parameters") or []) + (item[method].get("parameters") or []):
                if "$ref" in p:
                    p = components.get(p["$ref"].rsplit("/", 1)[-1], {})
                if p.get("in") == "path":
                    declared.add(p.get("name"))
            if declared != names:
                problems.append("  %s %s: path has %s, declared %s"
                                % (method.upper(), path, sorted(names), sorted(declared)))
    assert not problems, "path parameters:\n" + "\n".join(problems)


@pytest.mark.parametrize("service", SERVICES)
def test_every_reference_resolves(service):
    spec = load_spec(service)
    broken = []

    def resolve(pointer):
        if not pointer.startswith("#/"):
            return False
        node = spec
        for part in pointer[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, dict) or part not in node:
                return False
            node = node[part]
        return True

    def walk(node, where):
        if isinstance(node, dict):
            target = node.get("$ref")
            if isinstance(target, str) and not resolve(target):
                broken.append("  %s -> %s" % (where, target))
            for k, v in node.items():
                walk(v, where + "/" + str(k))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, "%s/%d" % (where, i))

    walk(spec, "#")
    assert not broken, "references to nothing:\n" + "\n".join(broken)


@pytest.mark.parametrize("service", SERVICES)
def test_every_operation_answers_errors_with_the_error_schema(service):
    spec = load_spec(service)
    responses = spec["components"]["responses"]
    bad = []
    for (method, path), operation in documented_routes(spec).items():
        for status, answer in operation.get("responses", {}).items():
            if not str(status).startswith(("4", "5")) or path in ("/readyz",):
                continue
            if "$ref" in answer:
                answer = responses[answer["$ref"].rsplit("/", 1)[-1]]
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") != "#/components/schemas/Error":
                bad.append("  %s %s %s" % (method, path, status))
    assert not bad, "error answers without the Error schema:\n" + "\n".join(bad)


# ---------------------------------------------------------------------------
# The bridge's answers against bridge.yaml's schemas

def _json_schema(node):
    """An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes a
    type that also admits null (the rest is the same vocabulary)."""
    if isinstance(node, list):
        return [_json_schema(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items()
           if k not in ("nullable", "example", "format")}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
        if "enum" in out:
            out["enum"] = list(out["enum"]) + [None]
    return out


def _answer_schema(spec, path, method, status):
    """The JSON Schema of a documented answer, $refs resolvable against
    the whole (converted) document."""
    answer = spec["paths"][path][method]["responses"][str(status)]
    if "$ref" in answer:
        answer = spec["components"]["responses"][answer["$ref"].rsplit("/", 1)[-1]]
    schema = answer["content"]["application/json"]["schema"]
    return dict(_json_schema(schema), components=_json_schema(spec["components"]))


def test_bridge_answers_match_bridge_yaml(start_service):
    import jsonschema
    from bridge_helpers import start_system, wait_until  # noqa: E402 (needs conftest's path)

    spec = load_spec("bridge")
    system = start_system(start_service)
    crm, bridge = system.crm, system.bridge
    # A customer (a link) and a won deal for an unknown sku (a dead letter).
    c = crm.api("POST", "/api/v1/customers", json={"name": "Schema GmbH"})
    assert c.status_code == 201, c.text
    d = crm.api("POST", "/api/v1/deals", json={
        "title": "Unknown sku", "customer_id": c.json()["id"], "currency": "EUR",
        "lines": [{"sku": "NO-SUCH-SKU", "quantity": 1, "unit_price_minor": 100}]})
    assert d.status_code == 201, d.text
    w = crm.api("POST", "/api/v1/deals/%s/win" % d.json()["id"], headers={"If-Match": '"1"'})
    assert w.status_code == 200, w.text
    dl = wait_until(lambda: bridge.api("GET", "/api/v1/dead_letters").json()["items"],
                    what="a dead letter for the unknown sku")

    def check(path, method, status, r, template=None):
        assert r.status_code == status, "%s %s: %d %s" % (method, template or path, r.status_code, r.text)
        jsonschema.validate(r.json(), _answer_schema(spec, template or path, method, status))

    check("/livez", "get", 200, bridge.api("GET", "/livez", token=None))
    check("/readyz", "get", 200, bridge.api("GET", "/readyz", token=None))
    check("/api/v1/status", "get", 200, bridge.api("GET", "/api/v1/status"))
    check("/api/v1/status", "get", 401, bridge.api("GET", "/api/v1/status", token=None))
    check("/api/v1/links", "get", 200, bridge.api("GET", "/api/v1/links"))
    check("/api/v1/links", "get", 400, bridge.api("GET", "/api/v1/links", params={"kind": "x"}))
    check("/api/v1/links/{id}", "get", 200, bridge.api("GET", "/api/v1/links/" + c.json()["id"]),
          "/api/v1/links/{id}")
    check("/api/v1/links/{id}", "get", 404, bridge.api("GET", "/api/v1/links/nope"), "/api/v1/links/{id}")
    check("/api/v1/dead_letters", "get", 200, bridge.api("GET", "/api/v1/dead_letters"))
    check("/api/v1/dead_letters", "get", 400,
          bridge.api("GET", "/api/v1/dead_letters", params={"status": "x"}))
    one = "/api/v1/dead_letters/%d" % dl[0]["id"]
    check(one, "get", 200, bridge.api("GET", one), "/api/v1/dead_letters/{id}")
    check(one, "get", 404, bridge.api("GET", "/api/v1/dead_letters/999999"), "/api/v1/dead_letters/{id}")
    check(one, "post", 200, bridge.api("POST", one + "/discard"), "/api/v1/dead_letters/{id}/discard")
    check(one, "post", 409, bridge.api("POST", one + "/retry"), "/api/v1/dead_letters/{id}/retry")
    run = bridge.api("POST", "/api/v1/reconcile", json={"repair": False})
    check("/api/v1/reconcile", "post", 202, run)
    path = "/api/v1/reconcile/%d" % run.json()["id"]
    wait_until(lambda: bridge.api("GET", path).json()["status"] != "running", timeout=30,
               what="the reconciliation run to end")
    check(path, "get", 200, bridge.api("GET", path), "/api/v1/reconcile/{id}")
    check("/api/v1/reconcile", "get", 200, bridge.api("GET", "/api/v1/reconcile"))
    check(path, "get", 404, bridge.api("GET", "/api/v1/reconcile/999999"), "/api/v1/reconcile/{id}")
    check("/api/v1/reconcile", "post", 400, bridge.api("POST", "/api/v1/reconcile", json={"repair": 1}))
    check("/api/v1/status", "get", 200, bridge.api("GET", "/api/v1/status"))
    r = bridge.api("GET", "/metrics", token=None)
    assert r.status_code == 200 and "bridge_lag_seq" in r.text
