#!/usr/bin/env bash
# Soak: steady load on a release `serve` for DURATION seconds (default 600),
# sampling its RSS and open file descriptors every INTERVAL seconds. Fails when
# RSS grows by more than 10 % from the first sample after warm-up, or when the
# open descriptors under load end more than 4 above where they were after
# warm-up (a few pooled upstream connections come and go; a leak keeps climbing).
#
#   bench/soak.sh                     # 10 minutes, 16 connections
#   DURATION=60 CONNECTIONS=8 bench/soak.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DURATION:=600}"
: "${INTERVAL:=10}"
: "${CONNECTIONS:=16}"
: "${WARMUP:=30}"
command -v wrk >/dev/null || { echo "needs wrk (apt-get install wrk)" >&2; exit 2; }

# shellcheck source=/dev/null
source scripts/lib/serve-stack.sh
release_binary
scratch
start_stack 2
write_post_lua

sample() {  # seconds-since-start rss_kib fds
  local rss fds
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
  fds=$(ls "/proc/$server/fd" | wc -l)
  echo "$1 $rss $fds"
}

echo "soak: $DURATION s at $CONNECTIONS connections against pid $server (samples every $INTERVAL s)"
wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" -s "$work/post.lua" "http://127.0.0.1:$port/v1/chat/completions" >"$work/wrk.txt" 2>&1 &
load=$!
elapsed=0
: >"$work/samples"
while kill -0 "$load" 2>/dev/null; do
  sleep "$INTERVAL"
  elapsed=$((elapsed + INTERVAL))
  sample "$elapsed" | tee -a "$work/samples"
done
wait "$load" || true
cat "$work/wrk.txt"

# The last sample can fall after wrk stopped (its connections closed): judge the samples taken under load.
awk -v warmup="$WARMUP" -v duration="$DURATION" '
  $1 > duration { next }
  $1 >= warmup && first == "" { first = $2; start_fds = $3 }
  { last = $2; end_fds = $3; if ($2 > peak) peak = $2 }
  END {
    growth = (last - first) * 100 / first
    printf "RSS after warm-up %d KiB, at the end %d KiB, peak %d KiB: growth %.1f %%\n", first, last, peak, growth
    printf "open descriptors under load: %d after warm-up, %d at the end\n", start_fds, end_fds
    failed = 0
    if (growth > 10) { print "FAIL: RSS grew by more than 10 %"; failed = 1 }
    if (end_fds > start_fds + 4) { print "FAIL: open descriptors grew"; failed = 1 }
    if (!failed) print "PASS"
    exit failed
  }' "$work/samples"
