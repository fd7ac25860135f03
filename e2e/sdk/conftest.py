"""Starts real processes for the SDK conformance tests: simulated upstreams and
a gateway, each on a free loopback port picked by the OS (port 0)."""

import os
import re
import subprocess
import tempfile
import time

import pytest

BIN = os.environ.get("SWITCHYARD_BIN", os.path.join(os.path.dirname(__file__), "../../.build/debug/switchyard"))
SIMULATOR = re.compile(r"simulated \S+ listening on http://[^:]+:(\d+)")
GATEWAY = re.compile(r"gateway listening on http://[^:]+:(\d+)")
MANAGEMENT = re.compile(r"management API listening on http://[^:]+:(\d+)")


def serve_args(config, state_dir):
    """`serve` on free ports with its state in a fresh folder."""
    return ["serve", "--config", config, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0",
            "--state", f"sqlite:{state_dir}/state.sqlite"]


def terminate(proc, timeout=10):
    """SIGTERM, then SIGKILL if the process has not ended within `timeout` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class Process:
    def __init__(self, args, env=None):
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.proc = subprocess.Popen([BIN, *args], stdout=self.log, stderr=subprocess.STDOUT, env=env)
        if args[0] == "serve":
            self.port = self._wait_for(GATEWAY)
            self.admin_port = self._wait_for(MANAGEMENT)
        else:
            self.port = self._wait_for(SIMULATOR)

    def _wait_for(self, pattern, timeout=60.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"process exited early:\n{self.output()}")
            match = pattern.search(self.output())
            if match:
                return int(match.group(1))
            time.sleep(0.05)
        raise RuntimeError(f"process did not start listening:\n{self.output()}")

    def output(self):
        with open(self.log.name) as f:
            return f.read()

    def stop(self):
        terminate(self.proc)
        os.unlink(self.log.name)


CONFIG = """
routes:
  - name: chat-prod
    stable: stable
    allowPinning: true
    deployments:
      - name: stable
        weight: 90
        model: gpt-4o
        version: "2024-11-20"
        upstream: {{ kind: openai, url: "http://127.0.0.1:{stable}/v1", apiKeyEnv: SIM_KEY }}
        prompt: {{ version: p7, system: "You are a careful assistant." }}
        params: {{ temperature: 0.2 }}
        price: {{ inputPer1k: 0.0025, outputPer1k: 0.01 }}
      - name: canary
        weight: 10
        model: gpt-4o
        version: "2025-05-13"
        upstream: {{ kind: azure, url: "http://127.0.0.1:{canary}", deployment: gpt-4o-0513, apiVersion: "2024-10-21", apiKeyEnv: SIM_KEY }}
        priority: 2
  - name: broken
    stable: cut
    deployments:
      - name: cut
        model: gpt-4o
        version: "2024-11-20"
        upstream: {{ kind: openai, url: "http://127.0.0.1:{cut}/v1" }}
"""


@pytest.fixture(scope="session")
def gateway():
    stable = Process(["simulate", "--listen", "127.0.0.1:0", "--version", "2024-11-20", "--require-key", "sim-secret", "--tokens-per-second", "500"])
    canary = Process(["simulate", "--listen", "127.0.0.1:0", "--version", "2025-05-13", "--require-key", "sim-secret", "--tokens-per-second", "500"])
    cut = Process(["simulate", "--listen", "127.0.0.1:0", "--error-rate", "1", "--error-kind", "cut-stream", "--tokens-per-second", "500"])
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    config.write(CONFIG.format(stable=stable.port, canary=canary.port, cut=cut.port))
    config.close()
    env = dict(os.environ, SIM_KEY="sim-secret")
    state = tempfile.TemporaryDirectory()
    gw = Process(serve_args(config.name, state.name), env=env)
    yield f"http://127.0.0.1:{gw.port}"
    for process in (gw, stable, canary, cut):
        process.stop()
    os.unlink(config.name)
    state.cleanup()


ADMIN_TOKEN = "test-admin-token"

MANAGED_CONFIG = """
routes:
  - name: chat-prod
    stable: stable
    deployments:
      - name: stable
        weight: {stable_weight}
        model: gpt-4o
        version: "2024-11-20"
        upstream: {{ url: "http://127.0.0.1:{stable}/v1" }}{timeouts}
      - name: canary
        weight: {canary_weight}
        model: gpt-4o
        version: "2025-05-13"
        upstream: {{ url: "http://127.0.0.1:{canary}/v1" }}{timeouts}
"""


def managed_config(stable, canary, canary_weight, first_token_timeout=None):
    """The two-deployment routes file; optionally with a short first-token timeout (fault tests)."""
    timeouts = "" if first_token_timeout is None else (
        f"\n        timeouts: {{ connect: 1s, firstToken: {first_token_timeout}, idle: 5s, total: 30s }}")
    return MANAGED_CONFIG.format(stable=stable, canary=canary, stable_weight=100 - canary_weight,
                                 canary_weight=canary_weight, timeouts=timeouts)


class ServedStack:
    """Simulated upstreams and a `serve` process with an admin token, on one
    routes file and one state folder that outlive restarts of the server."""

    def __init__(self, canary_weight=50, separate_canary=False, canary_args=(), first_token_timeout=None, state_dir=None):
        self.stable = Process(["simulate", "--listen", "127.0.0.1:0", "--latency-ms", "1"])
        self.canary = Process(["simulate", "--listen", "127.0.0.1:0", "--version", "2025-05-13", "--latency-ms", "1", *canary_args]) \
            if separate_canary else None
        self.config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        self.config.write(managed_config(self.stable.port, (self.canary or self.stable).port, canary_weight, first_token_timeout))
        self.config.close()
        # A folder the caller gives (e.g. on a small mount) is the caller's to clean up.
        self.state = tempfile.TemporaryDirectory() if state_dir is None else None
        self.state_dir = state_dir or self.state.name
        self.env = dict(os.environ, SWITCHYARD_ADMIN_TOKEN=ADMIN_TOKEN)
        self.gateway = Process(serve_args(self.config.name, self.state_dir), env=self.env)

    def restart(self):
        """Starts `serve` again on the same file and state (after a kill)."""
        self.gateway.stop()
        self.gateway = Process(serve_args(self.config.name, self.state_dir), env=self.env)

    def stop(self):
        self.gateway.stop()
        self.stable.stop()
        if self.canary:
            self.canary.stop()
        os.unlink(self.config.name)
        if self.state:
            self.state.cleanup()
