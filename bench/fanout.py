#!/usr/bin/env python3
"""Fan-out: 100 consoles subscribed to `/api/v1/events` on a server with
1,000 routes × 4 deployments (one `metrics` tick a second, plus the
snapshot each gets on connecting), and a few that subscribe and never read.

    swift build -c release --product switchyard --scratch-path .build-release
    python3 bench/fanout.py [--subscribers 100] [--stalled 5] [--routes 1000] [--seconds 30]

Reports the server's CPU and RSS without subscribers and with them, the
size of one tick, the ticks each reader received, what happened to the
stalled ones, and the gateway's round trip (p50/p99 of requests to a 1 ms
simulator) without and with the subscribers — the last is the point: a
slow console must not slow traffic.
"""

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import json
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from routes import config, rss_kib, start_simulator  # noqa: E402

TOKEN = "fanout-bench-token"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def round_trips(port, count, routes):
    trips = []
    for index in range(count):
        body = f'{{"model":"route-{index % routes}","messages":[{{"role":"user","content":"hi"}}]}}'.encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
        sent = time.monotonic()
        with urllib.request.urlopen(request) as reply:
            reply.read()
        trips.append((time.monotonic() - sent) * 1000)
        time.sleep(0.01)
    trips.sort()
    return {"p50": round(statistics.median(trips), 2), "p99": round(trips[int(len(trips) * 0.99) - 1], 2)}


def subscribe(port, readers, stalled, seconds):
    """The subscribers, in a process of their own (so the latency measured
    in the parent does not wait on them): `readers` connections read as fast
    as events come, `stalled` ones never read. Prints one JSON line."""
    import json
    import selectors

    request = f"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode()
    selector = selectors.DefaultSelector()
    counts = []
    for index in range(readers):
        sock = socket.create_connection(("127.0.0.1", port))
        sock.sendall(request)
        sock.setblocking(False)
        counts.append({"ticks": 0, "bytes": 0, "closed": False, "tail": b""})
        selector.register(sock, selectors.EVENT_READ, index)
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(stalled)]
    for sock in idle:
        sock.sendall(request)
    warm = time.monotonic() + 3
    end = warm + seconds
    started = None
    while time.monotonic() < end:
        if started is None and time.monotonic() >= warm:
            started = [(count["ticks"], count["bytes"]) for count in counts]
            print("measuring", flush=True)
        for key, _ in selector.select(timeout=0.5):
            count = counts[key.data]
            try:
                chunk = key.fileobj.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                count["closed"] = True
                selector.unregister(key.fileobj)
                continue
            count["bytes"] += len(chunk)
            text = count["tail"] + chunk
            count["ticks"] += text.count(b"event: metrics")
            count["tail"] = text[-16:]
    still_open = 0
    for sock in idle:
        sock.setblocking(False)
        try:
            while sock.recv(1 << 20):
                pass
        except BlockingIOError:
            still_open += 1
        except OSError:
            pass
    ticks = [count["ticks"] - before[0] for count, before in zip(counts, started)]
    received = sum(count["bytes"] for count in counts) - sum(before[1] for before in started)
    print(json.dumps({"ticks": ticks, "bytes": received, "closed": sum(count["closed"] for count in counts), "stalled_open": still_open}), flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build-release/release/switchyard")
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--stalled", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--subscribe", type=int, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.subscribe:
        return subscribe(options.subscribe, options.subscribers, options.stalled, options.seconds)
    binary = os.path.abspath(options.bin)
    simulator, upstream = start_simulator(binary)
    folder = tempfile.TemporaryDirectory()
    path = os.path.join(folder.name, "routes.yaml")
    with open(path, "w") as file:
        file.write(config(options.routes, upstream))
    log = os.path.join(folder.name, "serve.log")
    serve = subprocess.Popen(
        [binary, "serve", "--config", path, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--state", f"sqlite:{folder.name}/state.sqlite"],
        stdout=open(log, "w"), stderr=subprocess.STDOUT, env=dict(os.environ, SWITCHYARD_ADMIN_TOKEN=TOKEN),
    )
    subscribers = []
    try:
        ports = {}
        while len(ports) < 2:
            if serve.poll() is not None:
                raise RuntimeError(open(log).read())
            text = open(log).read()
            for name, pattern in (("admin", r"management API listening on http://[^:]+:(\d+)"), ("gateway", r"gateway listening on http://[^:]+:(\d+)")):
                found = re.search(pattern, text)
                if found:
                    ports[name] = int(found.group(1))
            time.sleep(0.05)
        # Every deployment has traffic, so each tick carries figures for all of them.
        round_trips(ports["gateway"], options.routes * 4 // 4, options.routes)
        time.sleep(2)

        quiet_cpu = cpu_seconds(serve.pid)
        time.sleep(5)
        quiet_cores = (cpu_seconds(serve.pid) - quiet_cpu) / 5
        quiet_rss = rss_kib(serve.pid)
        quiet_trips = round_trips(ports["gateway"], options.requests, options.routes)

        child = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--subscribe", str(ports["admin"]), "--subscribers", str(options.subscribers),
             "--stalled", str(options.stalled), "--seconds", str(options.seconds)],
            stdout=subprocess.PIPE, text=True,
        )
        subscribers.append(child)
        assert child.stdout.readline().strip() == "measuring"
        busy_cpu = cpu_seconds(serve.pid)
        began = time.monotonic()
        busy_trips = round_trips(ports["gateway"], options.requests, options.routes)
        busy_rss = rss_kib(serve.pid)
        result = json.loads(child.stdout.readline())
        child.wait()
        elapsed = time.monotonic() - began
        busy_cores = (cpu_seconds(serve.pid) - busy_cpu) / elapsed
        ticks = result["ticks"]
        tick_kib = result["bytes"] / max(1, sum(ticks)) / 1024
        stalled_open = result["stalled_open"]
        closed = result["closed"]

        print(f"{options.routes} routes × 4, {options.subscribers} reading subscribers, {options.stalled} stalled, {elapsed:.0f} s")
        print(f"server CPU: {quiet_cores:.2f} cores without subscribers, {busy_cores:.2f} with")
        print(f"server RSS: {quiet_rss / 1024:.1f} MiB without, {busy_rss / 1024:.1f} MiB with")
        print(f"one tick: {tick_kib:.1f} KiB; ticks per reader in {elapsed:.0f} s: min {min(ticks)}, median {statistics.median(ticks):.0f}, max {max(ticks)};"
              f" {closed} readers closed by the server")
        print(f"stalled subscribers still connected: {stalled_open} of {options.stalled}")
        print(f"gateway round trip p50/p99: {quiet_trips['p50']}/{quiet_trips['p99']} ms without, {busy_trips['p50']}/{busy_trips['p99']} ms with")
    finally:
        for child in subscribers:
            child.kill()
        serve.terminate()
        serve.wait(timeout=30)
        simulator.terminate()
        folder.cleanup()


if __name__ == "__main__":
    main()
