#!/usr/bin/env bash
# What the access log and tracing cost on the request path, side by side:
# each variant is one bench/run.sh run against nginx, so every figure is a
# ratio taken within its own run (the machine is shared and noisy).
#
#   bench/observability.sh                      # this tree's release build
#   BASE_BIN=/path/to/older/switchyard bench/observability.sh   # adds "before"
#   ROUNDS=2 DURATION=10 bench/observability.sh
#
# Variants: off (no flags), access log to a file, tracing every request to a
# local OTLP sink (bench/otlp-sink.py), tracing a tenth of the traces
# (OTEL_TRACES_SAMPLER=traceidratio, 0.1), log and every trace together; and
# "before" with BASE_BIN.
# Prints one table; raw results stay in bench.sh's run folders.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${DURATION:=10}" "${ROUNDS:=1}"
swift build -c release --product switchyard --scratch-path .build-release >&2
bin=$(pwd)/.build-release/release/switchyard
work=$(mktemp -d /tmp/switchyard-observability.XXXXXX)
python3 bench/otlp-sink.py 0 >"$work/sink.port" &
sink=$!
trap 'kill $sink 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do [ -s "$work/sink.port" ] && break; sleep 0.1; done
port=$(cat "$work/sink.port")

variants=(off access-log tracing tracing-10% both)
[ -n "${BASE_BIN:-}" ] && variants=(before "${variants[@]}")
printf 'round\tvariant\tconns\tgateway_rps\tnginx_rps\trps_x\tgateway_us\tnginx_us\tcpu_x\tp50_ms\n' >"$work/table.tsv"
for round in $(seq "$ROUNDS"); do
  for variant in "${variants[@]}"; do
    flags="" use=$bin sampler="" ratio=""
    case $variant in
      before) use=$BASE_BIN ;;
      access-log) flags="--access-log $work/access.log" ;;
      tracing) flags="--otel-endpoint http://127.0.0.1:$port" ;;
      tracing-10%) flags="--otel-endpoint http://127.0.0.1:$port" sampler=traceidratio ratio=0.1 ;;
      both) flags="--access-log $work/access.log --otel-endpoint http://127.0.0.1:$port" ;;
    esac
    echo "== round $round: $variant" >&2
    out=$(SWITCHYARD_BIN=$use SERVE_FLAGS=$flags DURATION=$DURATION RUNS=1 PIN_MODES=shared TARGETS="nginx" SPLIT_N=0 \
      OTEL_BSP_SCHEDULE_DELAY=1000 OTEL_TRACES_SAMPLER=${sampler:-parentbased_always_on} OTEL_TRACES_SAMPLER_ARG=${ratio:-1} bench/run.sh 2>&1 | tee -a "$work/runs.log" | sed -n 's/^raw results: //p')
    awk -F'\t' -v round="$round" -v variant="$variant" '
      { rps[$2 FS $3] = $5; cpu[$2 FS $3] = $13; p50[$2 FS $3] = $6; conns[$3] = 1 }
      END {
        for (c in conns) {
          g = "gateway" FS c; n = "nginx" FS c
          printf "%s\t%s\t%s\t%.0f\t%.0f\t%.3f\t%.0f\t%.0f\t%.2f\t%.3f\n", round, variant, c, rps[g], rps[n], rps[n] ? rps[g] / rps[n] : 0, cpu[g], cpu[n], cpu[n] ? cpu[g] / cpu[n] : 0, p50[g]
        }
      }' "$out" >>"$work/table.tsv"
  done
done
[ -f "$work/access.log" ] && echo "access log: $(wc -l <"$work/access.log") lines" >&2
echo "OTLP sink took (requests bytes): $(curl -s "http://127.0.0.1:$port/")" >&2
column -t -s $'\t' "$work/table.tsv"
