#!/usr/bin/env bash
# Profile of the gateway under load: a release `serve` with a 90/10 route over
# two simulators with no latency, wrk at CONNECTIONS, perf sampling the gateway
# with call graphs. Prints wrk's summary, the gateway's CPU per request, and
# the functions with the most samples (inclusive), then leaves perf.data in
# OUT (default /tmp/switchyard-profile) for `perf report -i`.
#
#   bench/profile.sh
#   CONNECTIONS=1 DURATION=10 bench/profile.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DURATION:=12}"
: "${CONNECTIONS:=32}"
: "${OUT:=/tmp/switchyard-profile}"
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }
command -v perf >/dev/null || { echo "needs perf (apt-get install linux-perf)" >&2; exit 2; }

# shellcheck source=/dev/null
source scripts/lib/serve-stack.sh
release_binary
scratch
mkdir -p "$OUT"
# SERVE_FLAGS adds serve options, e.g. SERVE_FLAGS="--access-log /tmp/access.log".
# shellcheck disable=SC2086
start_stack 0 ${SERVE_FLAGS:-}
write_post_lua
url="http://127.0.0.1:$port/v1/chat/completions"

wrk -t1 -c"$CONNECTIONS" -d3s -s "$work/post.lua" "$url" >/dev/null   # warm-up
ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
before=$(ticks)
wrk -t1 -c"$CONNECTIONS" -d"${DURATION}s" --latency -s "$work/post.lua" "$url" >"$work/wrk.txt" 2>&1 &
load=$!
sleep 1
perf record -F 2999 -g -p "$server" -o "$OUT/perf.data" -- sleep $((DURATION - 2)) 2>/dev/null
wait "$load"
after=$(ticks)
cat "$work/wrk.txt"
requests=$(awk '/requests in/ {print $1}' "$work/wrk.txt")
echo "gateway CPU: $(( (after - before) * 1000000 / $(getconf CLK_TCK) / requests )) µs per request"
echo
echo "== most samples (inclusive), user space =="
perf report -i "$OUT/perf.data" --children --sort sym -g none 2>/dev/null | grep -v '^#' | grep -v '\[k\]' |
  swift demangle --simplified | cut -c1-160 | head -60
echo "(full report: perf report -i $OUT/perf.data)"
