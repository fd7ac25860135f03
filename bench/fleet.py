#!/usr/bin/env python3
"""A fleet's shared client limits, measured: 3 replicas of `serve` on one
PostgreSQL, a 1 ms simulated upstream, and wrk against every replica at once.

    swift build -c release --product switchyard --scratch-path .build-release
    python3 bench/fleet.py [--seconds 10] [--connections 16] [--limit 6000] [--skip-overshoot]

1. Throughput: requests a second over the fleet with a client key that has
   no limits, then with one whose limit is far above the load (so the shared
   counters are kept but refuse nothing), alternating, --runs times each.
2. Overshoot: a key limited to --limit requests a minute, loaded far past it
   from all three replicas for most of one wall-clock minute: how many the
   fleet admitted against the limit.

Needs wrk and the PostgreSQL server binaries (scripts/postgres finds them).
"""

import argparse
import hashlib
import os
import re
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
POSTGRES = os.path.join(ROOT, "scripts/postgres")
SCRIPT = os.path.join(ROOT, "bench/wrk-post.lua")


def wait_for(log, pattern, process, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if process.poll() is not None:
            raise RuntimeError(open(log).read())
        found = re.search(pattern, open(log).read())
        if found:
            return int(found.group(1))
        time.sleep(0.05)
    raise RuntimeError(open(log).read())


def start(binary, folder, name, args, pattern, env=None):
    log = os.path.join(folder, f"{name}.log")
    process = subprocess.Popen([binary] + args, stdout=open(log, "w"), stderr=subprocess.STDOUT, env=env)
    return process, wait_for(log, pattern, process)


def wrk(ports, key, seconds, connections):
    """wrk against every port at once; the summed figures."""
    runs = [
        subprocess.Popen(
            ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", SCRIPT, f"http://127.0.0.1:{port}/v1/chat/completions"],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=dict(os.environ, BENCH_API_KEY=key),
        )
        for port in ports
    ]
    total = {"requests": 0, "rps": 0.0, "non2xx": 0, "errors": 0}
    for run in runs:
        output, _ = run.communicate()
        found = re.search(r"RESULT requests=(\d+) rps=([\d.]+) p50_us=\d+ non2xx=(\d+) sock_errors=(\d+)", output)
        if not found:
            raise RuntimeError(output)
        total["requests"] += int(found.group(1))
        total["rps"] += float(found.group(2))
        total["non2xx"] += int(found.group(3))
        total["errors"] += int(found.group(4))
    return total


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build-release/release/switchyard")
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16, help="wrk connections per replica")
    parser.add_argument("--limit", type=int, default=6000, help="requests a minute for the overshoot run")
    parser.add_argument("--skip-overshoot", action="store_true")
    options = parser.parse_args()
    binary = os.path.abspath(options.bin)
    folder = tempfile.mkdtemp(prefix="fleet-bench-")
    os.chmod(folder, 0o755)  # the database server runs as its own user
    database = os.path.join(folder, "pg")
    started = subprocess.run([POSTGRES, "start", database], capture_output=True, text=True)
    if started.returncode != 0:
        raise SystemExit(f"could not start PostgreSQL: {started.stderr}")
    url = started.stdout.strip()
    processes = []
    try:
        simulator, upstream = start(binary, folder, "simulate", ["simulate", "--listen", "127.0.0.1:0", "--latency-ms", "1"], r"listening on http://[^:]+:(\d+)")
        processes.append(simulator)
        config = os.path.join(folder, "routes.yaml")
        with open(config, "w") as file:
            file.write(
                "routes:\n  - name: chat-prod\n    stable: only\n    deployments:\n"
                f"      - {{ name: only, weight: 100, model: gpt-4o, version: \"2024-11-20\", upstream: {{ url: \"http://127.0.0.1:{upstream}/v1\" }} }}\n"
            )
        tokens = os.path.join(folder, "tokens.yaml")
        with open(tokens, "w") as file:
            file.write(
                "clientKeys:\n"
                f"  - {{ name: open, sha256: {hashlib.sha256(b'open-secret').hexdigest()} }}\n"
                f"  - {{ name: roomy, sha256: {hashlib.sha256(b'roomy-secret').hexdigest()}, limits: {{ requestsPerMinute: 1000000000, tokensPerMinute: 1000000000 }} }}\n"
                f"  - {{ name: tight, sha256: {hashlib.sha256(b'tight-secret').hexdigest()}, limits: {{ requestsPerMinute: {options.limit} }} }}\n"
            )
        env = dict(os.environ, SWITCHYARD_ADMIN_TOKEN="fleet-bench")
        ports = []
        for index in range(3):
            replica, port = start(
                binary, folder, f"replica-{index}",
                ["serve", "--config", config, "--tokens", tokens, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--state", url],
                r"gateway listening on http://[^:]+:(\d+)", env,
            )
            processes.append(replica)
            ports.append(port)
        wrk(ports, "open-secret", 3, options.connections)  # warm up

        results = {"off": [], "on": []}
        for _ in range(options.runs):
            for mode, key in (("off", "open-secret"), ("on", "roomy-secret")):
                run = wrk(ports, key, options.seconds, options.connections)
                results[mode].append(run)
                print(f"limits {mode:>3}: {run['rps']:9.1f} req/s  non-2xx {run['non2xx']}  socket errors {run['errors']}", flush=True)
        best = {mode: max(run["rps"] for run in runs) for mode, runs in results.items()}
        median = {mode: sorted(run["rps"] for run in runs)[len(runs) // 2] for mode, runs in results.items()}
        print(f"\nthroughput with shared limits: {median['on'] / median['off']:.3f}× of without (medians {median['on']:.0f} / {median['off']:.0f} req/s;"
              f" best {best['on']:.0f} / {best['off']:.0f})")

        if not options.skip_overshoot:
            # Start just after a minute begins and stop before it ends: every admission falls in one minute.
            wait = 61 - time.time() % 60
            time.sleep(wait)
            run = wrk(ports, "tight-secret", 56, options.connections)
            admitted = run["requests"] - run["non2xx"]
            print(f"overshoot: {admitted} admitted against a limit of {options.limit} a minute"
                  f" ({(admitted - options.limit) / options.limit * 100:+.2f} %), {run['non2xx']} refused, {run['requests']} sent")
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)
        subprocess.run([POSTGRES, "stop", database], capture_output=True)


if __name__ == "__main__":
    main()
