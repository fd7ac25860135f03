#!/usr/bin/env bash
# Fuzzes the running management API against its own OpenAPI document with
# schemathesis: any 5xx, undocumented status, wrong content type or reply that
# breaks the schema fails the run. Four phases: the document's examples, the
# coverage phase (every boundary and enum the schema names, and undeclared
# methods), 200 generated cases per operation, and stateful sequences of calls
# (weights, rollback, promote, rollouts started, paused, resumed and aborted on
# one route) that follow OpenAPI links. Usage: e2e/fuzz/schemathesis.sh BIN VENV
set -euo pipefail
bin=$1
venv=$2

# shellcheck source=/dev/null
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/serve-stack.sh"
scratch

# An operator token: the fuzzer may move weights but cannot replace the routes.
printf 'tokens:\n  - { name: fuzz, role: operator, sha256: %s }\n' "$(printf %s fuzz-token | sha256sum | cut -d' ' -f1)" >"$work/tokens.yaml"
start_stack 20 --tokens "$work/tokens.yaml"

# The document the server serves (a copy that does not parse fails here), with
# what the stateful phase needs and the document does not say: links between
# the calls on one route (schemathesis infers none from it), and request bodies
# this stack's route (chat-prod: stable, canary) accepts, so that sequences get
# past validation to real state changes. Links and examples the document
# declares itself are kept as they are.
"$venv/bin/python" - "http://127.0.0.1:$admin_port/api/v1/openapi.yaml" "$work/openapi.json" <<'PY'
import json
import sys
import urllib.request

import yaml

source, target = sys.argv[1:3]
with urllib.request.urlopen(source, timeout=10) as response:
    spec = yaml.safe_load(response.read().decode())

operations = {}  # operationId -> (path item, operation)
for item in spec["paths"].values():
    for operation in item.values():
        if isinstance(operation, dict) and "operationId" in operation:
            operations[operation["operationId"]] = (item, operation)


def resolve(node, section):
    return spec["components"][section][node["$ref"].rsplit("/", 1)[1]] if "$ref" in node else node


def takes(operation_id, location, name):
    item, operation = operations[operation_id]
    return any(resolve(p, "parameters")["in"] == location and resolve(p, "parameters")["name"] == name
               for p in item.get("parameters", []) + operation.get("parameters", []))


on_route = [op for op in operations if takes(op, "path", "route")]


def link(source_id, status, route, targets, if_match=None):
    if source_id not in operations:
        return
    responses = operations[source_id][1]["responses"]
    # A shared response gets a copy per operation, so links stay with their source.
    response = responses[status] = dict(resolve(responses[status], "responses"))
    links = response["links"] = dict(response.get("links", {}))
    for target_id in targets:
        if target_id in operations and target_id not in links:
            parameters = {"route": route}
            if if_match and takes(target_id, "header", "If-Match"):
                parameters["header.If-Match"] = if_match
            links[target_id] = {"operationId": target_id, "parameters": parameters}


changes = ["setWeights", "rollback", "promote", "startRollout", "getRoute", "routeMetrics", "migration", "listRollouts"]
rollout = ["pause", "resume", "abort", "getRollout", "rolloutEvaluations", "rolloutReport", "listRollouts",
           "getRoute", "promote", "rollback", "setWeights", "startRollout"]
link("listRoutes", "200", "$response.body#/routes/0/name", on_route)
link("getRoute", "200", "$request.path.route", on_route, if_match="$response.header.ETag")
for operation_id in ("setWeights", "rollback", "promote"):
    link(operation_id, "200", "$request.path.route", changes)
link("startRollout", "201", "$request.path.route", rollout)
for operation_id in ("pause", "resume", "abort"):
    link(operation_id, "200", "$request.path.route", rollout)

weights = spec["components"]["schemas"].get("WeightsRequest")
if weights is not None:
    weights.setdefault("examples", [{"weights": {"stable": 50, "canary": 50}}, {"weights": {"stable": 90, "canary": 10}}])
if "startRollout" in operations:
    plan = operations["startRollout"][1]["requestBody"]["content"]["application/json"]["schema"]
    plan.setdefault("examples", [
        {"strategy": "canary", "canary": "canary", "steps": [{"setWeight": 10}, {"pause": {}}, {"setWeight": 100}]},
        {"strategy": "ab", "variants": ["stable", "canary"], "split": {"stable": 50, "canary": 50}, "duration": "1h"},
        {"strategy": "shadow", "shadow": "canary", "sample": 20, "duration": "1h"},
        {"strategy": "bluegreen", "target": "canary", "healthCheck": {"requests": 1, "timeout": "5s"}, "keepPrevious": "10m"},
    ])

with open(target, "w") as out:
    json.dump(spec, out)
PY

"$venv/bin/st" run "$work/openapi.json" --url "http://127.0.0.1:$admin_port/api/v1" \
  -H "Authorization: Bearer fuzz-token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --exclude-path /events \
  --phases examples,coverage,fuzzing,stateful \
  --max-examples 200 \
  --seed 1 \
  --report ndjson --report-ndjson-path "$work/run.ndjson"

# schemathesis skips the stateful phase quietly when it finds no links; that is a failure here.
"$venv/bin/python" - "$work/run.ndjson" <<'PY'
import json
import sys

finished = {}
for line in open(sys.argv[1]):
    event = json.loads(line)
    if "PhaseFinished" in event:
        finished[event["PhaseFinished"]["phase"]["name"]] = event["PhaseFinished"]["status"]
for phase in ("examples", "coverage", "fuzzing", "stateful"):
    if finished.get(phase) != "success":
        sys.exit(f"schemathesis: the {phase} phase ended with {finished.get(phase, 'no result')}, not success")
PY
# And the server is still there after it all.
kill -0 "$server"
