#!/usr/bin/env bash
# Side-by-side benchmark: Switchyard (release build) next to direct, nginx
# and — when a LiteLLM venv exists — LiteLLM, with ../shared/bench/bench.sh.
#
#   bench/run.sh setup        # once: nginx, wrk, LiteLLM venv (needs ../shared)
#   bench/run.sh              # full run; knobs are bench.sh's (DURATION, RUNS, STREAM, TARGETS…)
#   DURATION=5 RUNS=1 PIN_MODES=shared TARGETS="direct nginx" bench/run.sh
#   SERVE_FLAGS="--access-log /tmp/access.log" bench/run.sh
#   bench/observability.sh    # off, access log, tracing: each against nginx in its own run
#
# The bench template's weights are 9 and 1; the route takes percent, hence the
# trailing 0 in the template (90 / 10).
set -euo pipefail
cd "$(dirname "$0")/.."
shared=../shared/bench/bench.sh
[ -x "$shared" ] || { echo "needs $shared (the shared benchmark harness beside this repository)" >&2; exit 2; }
if [ "${1:-}" = setup ]; then exec "$shared" setup; fi

# SWITCHYARD_BIN runs another build (e.g. an older commit's) instead of this
# tree's; SERVE_FLAGS adds serve options (e.g. --access-log or --otel-endpoint).
if [ -z "${SWITCHYARD_BIN:-}" ]; then
  swift build -c release --product switchyard --scratch-path .build-release
fi
bin=${SWITCHYARD_BIN:-$(pwd)/.build-release/release/switchyard}
export GATEWAY_CONFIG="$(pwd)/bench/switchyard.template.yaml"
export GATEWAY_CMD="$bin serve --config \$GATEWAY_CONFIG_FILE --listen 127.0.0.1:\$GATEWAY_PORT --log-level warning ${SERVE_FLAGS:-}"
export TARGETS="${TARGETS:-direct nginx litellm-w1} gateway"
exec "$shared" run
