# Sourced by the bench and fuzz scripts: a `serve` with a 90/10 route over two
# simulators, on ports the OS picks. Needs $bin (the switchyard binary), $work
# (a scratch folder) and the array pids (every process started is appended).
#
# start_stack LATENCY_MS [SERVE_ARGS...]: starts it; sets $server (serve's
# pid), $port (the gateway's) and $admin_port (the management API's).

# shellcheck source=/dev/null
source "$(dirname "${BASH_SOURCE[0]}")/wait-for-port.sh"

# release_binary: builds the release `switchyard` (quietly) and sets $bin.
release_binary() {
  swift build -c release --product switchyard --scratch-path .build-release >/dev/null
  bin=$(pwd)/.build-release/release/switchyard
}

# scratch: a scratch folder in $work and an empty pids array; on exit, every
# process in pids is stopped and the folder removed.
scratch() {
  work=$(mktemp -d)
  pids=()
  trap 'kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT
}

start_stack() {
  local latency=$1 stable canary
  shift
  # SIMULATE_FLAGS adds simulator options, e.g. "--tokens-per-second 1000000 --reply-tokens 4".
  # shellcheck disable=SC2086
  "$bin" simulate --listen 127.0.0.1:0 --latency-ms "$latency" --log-level notice ${SIMULATE_FLAGS:-} >"$work/stable.log" 2>&1 &
  pids+=($!)
  stable=$(wait_for "$work/stable.log" 'listening on http://127.0.0.1:[0-9]+')
  # shellcheck disable=SC2086
  "$bin" simulate --listen 127.0.0.1:0 --latency-ms "$latency" --version 2025-05-13 --log-level notice ${SIMULATE_FLAGS:-} >"$work/canary.log" 2>&1 &
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
  "$bin" serve --config "$work/routes.yaml" --state "sqlite:$work/state.sqlite" --listen 127.0.0.1:0 --admin-listen 127.0.0.1:0 \
    --log-level notice "$@" >"$work/serve.log" 2>&1 &
  server=$!
  pids+=($server)
  port=$(wait_for "$work/serve.log" 'gateway listening on http://127.0.0.1:[0-9]+')
  admin_port=$(wait_for "$work/serve.log" 'management API listening on http://127.0.0.1:[0-9]+')
}

# The wrk script the bench scripts share: chat requests, each with one of 1000 users.
write_post_lua() {
  # STREAM=1 asks for streamed replies.
  local stream=""
  [ "${STREAM:-0}" = 1 ] && stream=',"stream":true'
  cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
counter = 0
request = function()
  counter = counter + 1
  return wrk.format(nil, nil, nil, '{"model":"chat-prod","user":"u' .. (counter % 1000) .. '","messages":[{"role":"user","content":"hi"}]$stream}')
end
LUA
}
