#!/usr/bin/env python3
"""Operator speed, end to end: the real console in a pseudo-terminal, attached
to a real `serve`, with traffic flowing through the gateway.

  R (rollback)       key written → the flash confirming it is on the screen;
                     key written → the first reply served by stable (the route
                     starts with all traffic on the canary).
  slider drag 10→50  mouse release written → the confirming flash on the
                     screen; → the first reply from the new split's revision.

    .venv/bin/python bench/operator-speed.py [--runs 20] [--bin .build-release/release/switchyard]

Prints p50 / p95 / max of each and the raw figures. Needs pyte (the test venv).
"""

import argparse
import fcntl
import json
import os
import pty
import re
import select
import signal
import statistics
import struct
import subprocess
import tempfile
import termios
import threading
import time
import urllib.request

import pyte

TOKEN = "operator-speed-token"
ROUTE = """
routes:
  - name: chat-prod
    stable: stable
    deployments:
      - name: stable
        weight: {stable}
        model: gpt-4o
        version: "2024-11-20"
        upstream: {{ url: "http://127.0.0.1:{a}/v1" }}
      - name: canary
        weight: {canary}
        model: gpt-4o
        version: "2025-05-13"
        upstream: {{ url: "http://127.0.0.1:{b}/v1" }}
"""


def start(binary, args, pattern, env=None):
    """Starts a process and waits for `pattern` in its log; returns it and the log's text."""
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    process = subprocess.Popen([binary, *args], stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.time() + 60
    while time.time() < deadline:
        text = open(log.name).read()
        if re.search(pattern, text):
            return process, text
        time.sleep(0.05)
    raise RuntimeError(open(log.name).read())


def admin(port, method, path, body=None):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/v1{path}", method=method, data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as reply:
        return json.load(reply)


class Traffic(threading.Thread):
    """Requests back to back; each reply's arrival time, deployment and revision."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.port = port
        self.replies = []
        self.running = True

    def run(self):
        index = 0
        while self.running:
            index += 1
            body = json.dumps({"model": "chat-prod", "user": f"u{index}", "messages": [{"role": "user", "content": "hi"}]}).encode()
            request = urllib.request.Request(f"http://127.0.0.1:{self.port}/v1/chat/completions", data=body, headers={"Content-Type": "application/json"})
            sent = time.monotonic()
            try:
                with urllib.request.urlopen(request) as reply:
                    reply.read()
                    self.replies.append((sent, time.monotonic(), reply.headers["x-switchyard-deployment"], int(reply.headers["x-switchyard-route-revision"])))
            except OSError:
                pass

    def first_after(self, moment, predicate):
        for sent, arrived, deployment, revision in list(self.replies):
            if sent >= moment and predicate(deployment, revision):
                return arrived
        return None


class Console:
    def __init__(self, binary, admin_port):
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
            os.environ.update(LANG="C.UTF-8", TERM="xterm-256color", SWITCHYARD_TOKEN=TOKEN, LINES="40", COLUMNS="120")
            os.execv(binary, [binary, "console", "--api", f"http://127.0.0.1:{admin_port}"])
        self.screen = pyte.Screen(120, 40)
        self.stream = pyte.ByteStream(self.screen)

    def pump(self, seconds):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.002)
            if ready:
                self.stream.feed(os.read(self.fd, 65536))

    def wait_for(self, text, timeout=5.0):
        """The moment `text` is first on the screen (read as the bytes arrive)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.002)
            if ready:
                self.stream.feed(os.read(self.fd, 65536))
                if any(text in line for line in self.screen.display):
                    return time.monotonic()
        raise TimeoutError(f"'{text}' never appeared:\n" + "\n".join(self.screen.display))

    def write(self, data):
        moment = time.monotonic()
        os.write(self.fd, data)
        return moment

    def close(self):
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)


def summary(name, values):
    values = sorted(values)
    p95 = values[max(0, int(round(0.95 * len(values))) - 1)]
    print(f"{name:58s} p50 {statistics.median(values):7.1f} ms   p95 {p95:7.1f} ms   max {values[-1]:7.1f} ms   (n={len(values)})")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--bin", default=".build-release/release/switchyard")
    options = parser.parse_args()
    binary = os.path.abspath(options.bin)

    sims = [start(binary, ["simulate", "--listen", "127.0.0.1:0", "--version", version, "--latency-ms", "1"], r"listening on http://[^:]+:(\d+)")
            for version in ("2024-11-20", "2025-05-13")]
    ports = [int(re.search(r"listening on http://[^:]+:(\d+)", text).group(1)) for _, text in sims]
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    config.write(ROUTE.format(a=ports[0], b=ports[1], stable=0, canary=100))
    config.close()
    state = tempfile.TemporaryDirectory()
    serve, log = start(binary, ["serve", "--config", config.name, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
                                "--state", f"sqlite:{state.name}/state.sqlite"],
                       r"management API listening on http://[^:]+:\d+", env=dict(os.environ, SWITCHYARD_ADMIN_TOKEN=TOKEN))
    gateway_port = int(re.search(r"gateway listening on http://[^:]+:(\d+)", log).group(1))
    admin_port = int(re.search(r"management API listening on http://[^:]+:(\d+)", log).group(1))
    traffic = Traffic(gateway_port)
    traffic.start()
    console = Console(binary, admin_port)
    rollback_flash, rollback_served, drag_flash, drag_served = [], [], [], []
    try:
        console.wait_for("chat-prod", timeout=10)
        console.pump(1.0)
        for run in range(options.runs):
            # All traffic on the canary, then R.
            admin(admin_port, "PUT", "/routes/chat-prod/weights", {"weights": {"stable": 0, "canary": 100}})
            console.pump(0.4)
            pressed = console.write(b"R")
            flashed = console.wait_for("rollback chat-prod: r")
            rollback_flash.append((flashed - pressed) * 1000)
            deadline = time.monotonic() + 5
            served = None
            while served is None and time.monotonic() < deadline:
                served = traffic.first_after(pressed, lambda deployment, _: deployment == "stable")
                time.sleep(0.001)
            rollback_served.append((served - pressed) * 1000)
            console.pump(4.5)  # the flash fades before the next run

            # The slider: from 10 % to 50 % by mouse.
            admin(admin_port, "PUT", "/routes/chat-prod/weights", {"weights": {"stable": 90, "canary": 10}})
            console.pump(0.4)
            row = next(index for index, line in enumerate(console.screen.display) if "canary ◀" in line)
            line = console.screen.display[row]
            track_start, track_end = line.index("◀") + 1, line.index("▶") - 1
            width = track_end - track_start + 1
            knob = track_start + round(0.10 * (width - 1)) + 1
            target = track_start + round(0.50 * (width - 1)) + 1
            y = row + 1
            # A hand takes a moment between pressing, dragging and letting go.
            console.write(f"\x1b[<0;{knob};{y}M".encode())
            console.pump(0.2)
            console.write(f"\x1b[<32;{(knob + target) // 2};{y}M".encode())
            console.pump(0.2)
            released = console.write(f"\x1b[<0;{target};{y}m".encode())
            flashed = console.wait_for("weights chat-prod: r")
            drag_flash.append((flashed - released) * 1000)
            revision = admin(admin_port, "GET", "/routes/chat-prod")["revision"]
            deadline = time.monotonic() + 5
            served = None
            while served is None and time.monotonic() < deadline:
                served = traffic.first_after(released, lambda _, seen: seen >= revision)
                time.sleep(0.001)
            drag_served.append((served - released) * 1000)
            console.pump(4.5)
    finally:
        console.close()
        traffic.running = False
        for process in [serve] + [process for process, _ in sims]:
            process.terminate()
        os.unlink(config.name)
        state.cleanup()
    summary("R: key → flash confirming the rollback on screen", rollback_flash)
    summary("R: key → first reply served by stable", rollback_served)
    summary("slider 10→50 %: release → flash confirming it on screen", drag_flash)
    summary("slider 10→50 %: release → first reply on the new revision", drag_served)
    print("raw:", json.dumps({"rollbackFlash": rollback_flash, "rollbackServed": rollback_served, "dragFlash": drag_flash, "dragServed": drag_served}))


if __name__ == "__main__":
    main()
