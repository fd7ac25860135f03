#!/usr/bin/env bash
# Instructions the gateway executes per proxied request, counted by callgrind.
# Unlike requests per second, the count does not depend on what else the
# machine is doing, so a hot-path change can be judged from one run.
#
#   bench/instructions.sh                 # 2000 non-streamed requests after 300 to warm up
#   REQUESTS=1000 STREAM=1 bench/instructions.sh
#   ANNOTATE=1 bench/instructions.sh      # also print the top functions (callgrind_annotate)
#
# The gateway runs under valgrind (about 50 times slower); the simulated
# upstream and the client run natively and are not counted.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${REQUESTS:=2000}"
: "${WARMUP:=300}"
: "${STREAM:=0}"
: "${ANNOTATE:=0}"
command -v valgrind >/dev/null || { echo "needs valgrind (apt-get install valgrind)" >&2; exit 2; }

swift build -c release --product switchyard --scratch-path .build-release >/dev/null
bin=$(pwd)/.build-release/release/switchyard
work=$(mktemp -d)
pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# shellcheck source=/dev/null
source scripts/lib/wait-for-port.sh

"$bin" simulate --listen 127.0.0.1:0 --latency-ms 0 --log-level notice >"$work/stable.log" 2>&1 &
pids+=($!)
stable=$(wait_for "$work/stable.log" 'listening on http://127.0.0.1:[0-9]+')
"$bin" simulate --listen 127.0.0.1:0 --latency-ms 0 --version 2025-05-13 --log-level notice >"$work/canary.log" 2>&1 &
pids+=($!)
canary=$(wait_for "$work/canary.log" 'listening on http://127.0.0.1:[0-9]+')
cat >"$work/routes.yaml" <<YAML
routes:
  - name: chat-prod
    stable: stable
    deployments:
      - { name: stable, weight: 90, model: gpt-4o, version: "2024-11-20", upstream: { url: "http://127.0.0.1:$stable/v1" } }
      - { name: canary, weight: 10, model: gpt-4o, version: "2025-05-13", upstream: { url: "http://127.0.0.1:$canary/v1" } }
YAML
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
  "$bin" serve --config "$work/routes.yaml" --state "sqlite:$work/state.sqlite" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
  --log-level notice >"$work/serve.log" 2>&1 &
server=$!
pids+=($server)
port=$(wait_for "$work/serve.log" 'gateway listening on http://127.0.0.1:[0-9]+')

send() {  # send N: N requests, one after another on one kept-alive connection
  python3 - "$port" "$1" "$STREAM" <<'PY'
import http.client, json, sys
port, count, stream = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "1"
connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
for index in range(count):
    body = json.dumps({"model": "chat-prod", "user": f"user-{index % 500}", "stream": stream,
                       "messages": [{"role": "user", "content": "hi"}]})
    connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    response = connection.getresponse()
    response.read()
    assert response.status == 200, response.status
PY
}

send "$WARMUP"
callgrind_control --zero "$server" >/dev/null
send "$REQUESTS"
callgrind_control --dump="measured" "$server" >/dev/null
sleep 1
dump=$(ls -t "$work"/callgrind.out* | head -1)
total=$(awk '/^(summary|totals):/ {print $2; exit}' "$dump")
echo "gateway: $total instructions for $REQUESTS requests (stream=$STREAM): $((total / REQUESTS)) per request"
if [ "$ANNOTATE" = 1 ]; then
  callgrind_annotate --inclusive=no "$dump" 2>/dev/null | head -60 | swift demangle --simplified | cut -c1-200
fi
