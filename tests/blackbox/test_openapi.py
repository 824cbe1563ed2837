"""docs/openapi/crm.yaml and docs/openapi/erp.yaml against the routes
crm-service and erp-service really serve.

Starts nothing: `<service> routes` prints every route ("METHOD PATTERN"
and " public" for those that need no token) without opening a database.
The document must describe exactly those routes, parse as YAML, resolve
every $ref, and mark public routes (and only those) as needing no token.
"""

import os
import re
import subprocess

import pytest
import yaml

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN_DIR = os.path.abspath(os.environ.get("BIN_DIR") or os.path.join(REPO, "bin"))
SPECS = {"crm-service": os.path.join(REPO, "docs", "openapi", "crm.yaml"),
         "erp-service": os.path.join(REPO, "docs", "openapi", "erp.yaml")}
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
