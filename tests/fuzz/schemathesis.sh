#!/usr/bin/env bash
# Fuzzes the running management API against its own OpenAPI document with
# schemathesis: any 5xx, undocumented status, wrong content type or reply that
# breaks the schema fails the run. Usage: tests/fuzz/schemathesis.sh BIN VENV
set -euo pipefail
bin=$1
venv=$2
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# shellcheck source=/dev/null
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/wait-for-port.sh"

"$bin" simulate --listen 127.0.0.1:0 >"$work/sim.log" 2>&1 &
pids+=($!)
sim_port=$(wait_for "$work/sim.log" 'listening on http://127.0.0.1:[0-9]+')
cat >"$work/routes.yaml" <<YAML
routes:
  - name: chat-prod
    stable: stable
    deployments:
      - { name: stable, weight: 90, model: gpt-4o, version: "2024-11-20", upstream: { url: "http://127.0.0.1:$sim_port/v1" } }
      - { name: canary, weight: 10, model: gpt-4o, version: "2025-05-13", upstream: { url: "http://127.0.0.1:$sim_port/v1" } }
YAML
# An operator token: the fuzzer may move weights but cannot replace the routes.
printf 'tokens:\n  - { name: fuzz, role: operator, sha256: %s }\n' "$(printf %s fuzz-token | sha256sum | cut -d' ' -f1)" >"$work/tokens.yaml"
"$bin" serve --config "$work/routes.yaml" --tokens "$work/tokens.yaml" --state "sqlite:$work/state.sqlite" \
  --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 >"$work/serve.log" 2>&1 &
pids+=($!)
admin_port=$(wait_for "$work/serve.log" 'management API listening on http://127.0.0.1:[0-9]+')

"$venv/bin/st" run "http://127.0.0.1:$admin_port/api/v1/openapi.yaml" \
  -H "Authorization: Bearer fuzz-token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --exclude-path /events \
  --max-examples 50 \
  --seed 1
