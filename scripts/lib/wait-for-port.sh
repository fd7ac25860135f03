# Sourced by scripts that start switchyard processes on port 0.
# wait_for FILE PATTERN: waits (up to 60 s) for PATTERN in the log FILE and
# prints the port at its end, e.g. 'listening on http://127.0.0.1:[0-9]+'.
wait_for() {
  for _ in $(seq 1 600); do
    if grep -qE "$2" "$1"; then grep -oE "$2" "$1" | head -1 | grep -oE '[0-9]+$'; return 0; fi
    sleep 0.1
  done
  echo "timed out waiting for '$2' in $1:" >&2; cat "$1" >&2; return 1
}
