#!/usr/bin/env python3
"""How Switchyard grows with routes: N routes × 4 deployments, a real `serve`
(release build, SQLite state) for each N, measured from outside.

    .venv/bin/python bench/routes.py [--counts 10,100,1000,10000] [--changes 50] [--bin .build-release/release/switchyard]

For each N: time to start (process launch → management API answering with
every route), RSS at rest (after a settle), a routing decision's cost as the
gateway sees it (the p50 of 200 requests' round trip to a 1 ms simulator, a
proxy for it), the time to commit and install one weight change (p50/p99
over --changes changes, from the request to the reply, which returns once the
change is durable and installed), and the size and time of the `/events`
snapshot a console receives first. Prints a table; --json for the raw figures.
"""

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import tempfile
import time
import urllib.request

TOKEN = "routes-bench-token"


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_simulator(binary):
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    process = subprocess.Popen([binary, "simulate", "--listen", "127.0.0.1:0", "--latency-ms", "1"], stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 30
    while time.time() < deadline:
        found = re.search(r"listening on http://[^:]+:(\d+)", open(log.name).read())
        if found:
            return process, int(found.group(1))
        time.sleep(0.05)
    raise RuntimeError(open(log.name).read())


def config(count, port):
    lines = ["routes:"]
    for index in range(count):
        lines += [f"  - name: route-{index}", "    stable: d0", "    deployments:"]
        for deployment in range(4):
            weight = 100 if deployment == 0 else 0
            lines += [
                f"      - name: d{deployment}", f"        weight: {weight}", "        model: gpt-4o", f'        version: "2024-11-{20 + deployment}"',
                f'        upstream: {{ url: "http://127.0.0.1:{port}/v1" }}',
            ]
    return "\n".join(lines) + "\n"


def admin(port, method, path, body=None, timeout=120):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}", method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=timeout) as reply:
        return reply.read()


def percentile(values, fraction):
    values = sorted(values)
    return values[max(0, int(round(fraction * len(values))) - 1)]


def measure(binary, count, port, changes):
    folder = tempfile.TemporaryDirectory()
    path = os.path.join(folder.name, "routes.yaml")
    with open(path, "w") as file:
        file.write(config(count, port))
    log = open(os.path.join(folder.name, "serve.log"), "w+")
    launched = time.monotonic()
    serve = subprocess.Popen(
        [binary, "serve", "--config", path, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--state", f"sqlite:{folder.name}/state.sqlite"],
        stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, SWITCHYARD_ADMIN_TOKEN=TOKEN),
    )
    try:
        admin_port = gateway_port = None
        while admin_port is None or gateway_port is None:
            if serve.poll() is not None:
                raise RuntimeError(open(log.name).read())
            text = open(log.name).read()
            admin_match = re.search(r"management API listening on http://[^:]+:(\d+)", text)
            gateway_match = re.search(r"gateway listening on http://[^:]+:(\d+)", text)
            admin_port = int(admin_match.group(1)) if admin_match else None
            gateway_port = int(gateway_match.group(1)) if gateway_match else None
            time.sleep(0.02)
        routes = json.loads(admin(admin_port, "GET", "/routes"))["routes"]
        started = time.monotonic() - launched
        assert len(routes) == count, len(routes)
        time.sleep(3)
        rest = rss_kib(serve.pid)

        # Requests through the gateway (round trip to a 1 ms simulator).
        trips = []
        for index in range(200):
            body = json.dumps({"model": f"route-{index % count}", "messages": [{"role": "user", "content": "hi"}]}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{gateway_port}/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
            sent = time.monotonic()
            with urllib.request.urlopen(request) as reply:
                reply.read()
            trips.append((time.monotonic() - sent) * 1000)

        # Weight changes on the middle route, alternating.
        timings = []
        middle = f"route-{count // 2}"
        for index in range(changes):
            weights = {"d0": 90, "d1": 10, "d2": 0, "d3": 0} if index % 2 == 0 else {"d0": 100, "d1": 0, "d2": 0, "d3": 0}
            sent = time.monotonic()
            admin(admin_port, "PUT", f"/routes/{middle}/weights", {"weights": weights})
            timings.append((time.monotonic() - sent) * 1000)

        # The first event of the stream: the snapshot.
        sent = time.monotonic()
        sock = socket.create_connection(("127.0.0.1", admin_port))
        sock.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
        received = b""
        while b"\n\n" not in received.split(b"event: snapshot", 1)[-1] or b"event: snapshot" not in received:
            chunk = sock.recv(1 << 20)
            if not chunk:
                break
            received += chunk
        snapshot_ms = (time.monotonic() - sent) * 1000
        sock.close()
        snapshot = received.split(b"event: snapshot", 1)[-1].split(b"\n\n", 1)[0]
        return {
            "routes": count, "startSeconds": round(started, 2), "rssMiB": round(rest / 1024, 1),
            "rssKiBPerDeployment": round(rest / (count * 4), 1),
            "requestP50Ms": round(statistics.median(trips), 2),
            "changeP50Ms": round(statistics.median(timings), 2), "changeP99Ms": round(percentile(timings, 0.99), 2),
            "snapshotKiB": round(len(snapshot) / 1024, 1), "snapshotMs": round(snapshot_ms, 1),
        }
    finally:
        serve.terminate()
        serve.wait(timeout=30)
        folder.cleanup()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--counts", default="10,100,1000")
    parser.add_argument("--changes", type=int, default=50)
    parser.add_argument("--bin", default=".build-release/release/switchyard")
    parser.add_argument("--json", action="store_true")
    options = parser.parse_args()
    binary = os.path.abspath(options.bin)
    simulator, port = start_simulator(binary)
    results = []
    try:
        for count in [int(text) for text in options.counts.split(",")]:
            results.append(measure(binary, count, port, options.changes))
    finally:
        simulator.terminate()
    if options.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{'routes':>7} {'start s':>8} {'RSS MiB':>8} {'KiB/depl':>9} {'req p50':>8} {'change p50':>11} {'change p99':>11} {'snapshot':>12}")
    for row in results:
        print(f"{row['routes']:>7} {row['startSeconds']:>8} {row['rssMiB']:>8} {row['rssKiBPerDeployment']:>9} {row['requestP50Ms']:>6}ms "
              f"{row['changeP50Ms']:>9}ms {row['changeP99Ms']:>9}ms {row['snapshotKiB']:>6}KiB/{row['snapshotMs']}ms")


if __name__ == "__main__":
    main()
