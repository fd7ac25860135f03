-- wrk: POST one chat completion with the key in BENCH_API_KEY; print one
-- line bench/fleet.py reads when the run ends.
wrk.method = "POST"
wrk.body = '{"model":"chat-prod","messages":[{"role":"user","content":"hello"}],"max_tokens":8}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("BENCH_API_KEY") or "none")

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format("RESULT requests=%d rps=%.1f p50_us=%d non2xx=%d sock_errors=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6), latency:percentile(50),
    errors.status, errors.connect + errors.read + errors.write + errors.timeout))
end
