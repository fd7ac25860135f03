#!/usr/bin/env bash
# Fuzzes the running management API against its own OpenAPI document with
# schemathesis: any 5xx, undocumented status, wrong content type or reply that
# breaks the schema fails the run. Usage: tests/fuzz/schemathesis.sh BIN VENV
set -euo pipefail
bin=$1
venv=$2

# shellcheck source=/dev/null
source "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/serve-stack.sh"
scratch

# An operator token: the fuzzer may move weights but cannot replace the routes.
printf 'tokens:\n  - { name: fuzz, role: operator, sha256: %s }\n' "$(printf %s fuzz-token | sha256sum | cut -d' ' -f1)" >"$work/tokens.yaml"
start_stack 20 --tokens "$work/tokens.yaml"

"$venv/bin/st" run "http://127.0.0.1:$admin_port/api/v1/openapi.yaml" \
  -H "Authorization: Bearer fuzz-token" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,response_headers_conformance \
  --exclude-path /events \
  --max-examples 50 \
  --seed 1
