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
import threading
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


class Subscriber(threading.Thread):
    """Reads the event stream as fast as it comes, counting ticks."""

    def __init__(self, port, read=True):
        super().__init__(daemon=True)
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.sendall(f"GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n".encode())
        self.read = read
        self.ticks = 0
        self.bytes = 0
        self.closed = False
        self.stop = False

    def run(self):
        if not self.read:
            return
        tail = b""
        while not self.stop:
            try:
                chunk = self.sock.recv(1 << 20)
            except OSError:
                chunk = b""
            if not chunk:
                self.closed = True
                return
            self.bytes += len(chunk)
            text = tail + chunk
            self.ticks += text.count(b"event: metrics")
            tail = text[-16:]

    def still_open(self):
        """For a stalled subscriber: whether the server has closed it (readable with EOF or reset)."""
        self.sock.setblocking(False)
        try:
            while True:
                data = self.sock.recv(1 << 20)
                if not data:
                    return False
        except BlockingIOError:
            return True
        except OSError:
            return False


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=".build-release/release/switchyard")
    parser.add_argument("--routes", type=int, default=1000)
    parser.add_argument("--subscribers", type=int, default=100)
    parser.add_argument("--stalled", type=int, default=5)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--requests", type=int, default=500)
    options = parser.parse_args()
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

        subscribers = [Subscriber(ports["admin"]) for _ in range(options.subscribers)]
        stalled = [Subscriber(ports["admin"], read=False) for _ in range(options.stalled)]
        for subscriber in subscribers:
            subscriber.start()
        time.sleep(3)
        started_ticks = [subscriber.ticks for subscriber in subscribers]
        started_bytes = sum(subscriber.bytes for subscriber in subscribers)
        busy_cpu = cpu_seconds(serve.pid)
        began = time.monotonic()
        busy_trips = round_trips(ports["gateway"], options.requests, options.routes)
        remaining = options.seconds - (time.monotonic() - began)
        if remaining > 0:
            time.sleep(remaining)
        elapsed = time.monotonic() - began
        busy_cores = (cpu_seconds(serve.pid) - busy_cpu) / elapsed
        busy_rss = rss_kib(serve.pid)
        ticks = [subscriber.ticks - before for subscriber, before in zip(subscribers, started_ticks)]
        received = sum(subscriber.bytes for subscriber in subscribers) - started_bytes
        tick_kib = received / max(1, sum(ticks)) / 1024
        stalled_open = sum(1 for subscriber in stalled if subscriber.still_open())

        print(f"{options.routes} routes × 4, {options.subscribers} reading subscribers, {options.stalled} stalled, {elapsed:.0f} s")
        print(f"server CPU: {quiet_cores:.2f} cores without subscribers, {busy_cores:.2f} with")
        print(f"server RSS: {quiet_rss / 1024:.1f} MiB without, {busy_rss / 1024:.1f} MiB with")
        print(f"one tick: {tick_kib:.1f} KiB; ticks per reader in {elapsed:.0f} s: min {min(ticks)}, median {statistics.median(ticks):.0f}, max {max(ticks)};"
              f" {sum(1 for subscriber in subscribers if subscriber.closed)} readers closed by the server")
        print(f"stalled subscribers still connected: {stalled_open} of {options.stalled}")
        print(f"gateway round trip p50/p99: {quiet_trips['p50']}/{quiet_trips['p99']} ms without, {busy_trips['p50']}/{busy_trips['p99']} ms with")
    finally:
        for subscriber in subscribers:
            subscriber.stop = True
        serve.terminate()
        serve.wait(timeout=30)
        simulator.terminate()
        folder.cleanup()


if __name__ == "__main__":
    main()
