"""Changes and faults under steady load, against real processes: the gateway,
separate simulated upstreams, and clients on keep-alive connections. Short
versions of the runs in docs/reliability.md, so the suite stays quick."""

import http.client
import json
import os
import signal
import subprocess
import threading
import time
import urllib.request

from conftest import ADMIN_TOKEN, BIN, ServedStack
from test_management import call


def canary_stack(canary_weight=50, canary_args=(), timeout="10s"):
    """Two simulators and a gateway; the canary's simulator can be killed or reconfigured."""
    return ServedStack(canary_weight=canary_weight, separate_canary=True, canary_args=canary_args, first_token_timeout=timeout)


class Load:
    """Clients sending chat requests back to back on keep-alive connections,
    each recording when it sent, what came back, and where it went."""

    def __init__(self, port, clients=8):
        self.port = port
        self.stop_event = threading.Event()
        self.records = []
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._client, args=(index,), daemon=True) for index in range(clients)]
        for thread in self.threads:
            thread.start()

    def _client(self, index):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sequence = 0
        while not self.stop_event.is_set():
            sequence += 1
            body = json.dumps({"model": "chat-prod", "user": f"user-{index}-{sequence % 50}",
                               "messages": [{"role": "user", "content": "hi"}]})
            sent = time.monotonic()
            try:
                connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
                response = connection.getresponse()
                response.read()
                record = (sent, time.monotonic(), response.status, response.getheader("x-switchyard-deployment"),
                          int(response.getheader("x-switchyard-route-revision") or 0))
            except (OSError, http.client.HTTPException) as error:
                record = (sent, time.monotonic(), 0, f"error: {error}", 0)
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            with self.lock:
                self.records.append(record)

    def finish(self):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(35)
        return self.records


def acknowledged(port, method, path, body=None):
    """Calls the management API; returns the reply and the moment it was acknowledged."""
    status, reply = call(port, method, path, body)
    return status, reply, time.monotonic()


def test_rollback_under_load_sends_nothing_to_the_canary_after_the_acknowledgement_and_fails_no_client():
    stack = canary_stack(canary_weight=50)
    try:
        load = Load(stack.gateway.port)
        time.sleep(1.5)
        status, reply, at = acknowledged(stack.gateway.admin_port, "POST", "/routes/chat-prod/rollback")
        assert status == 200 and reply["changed"], reply
        time.sleep(1.5)
        records = load.finish()
        before = [r for r in records if r[1] < at]
        after = [r for r in records if r[0] > at]
        assert len(before) > 100 and len(after) > 100, (len(before), len(after))
        assert any(r[3] == "canary" for r in before), "the canary had traffic before"
        assert [r for r in after if r[3] == "canary"] == [], "requests sent after the acknowledgement reached the canary"
        assert [r for r in records if r[2] != 200] == [], "failed client requests"
    finally:
        stack.stop()


def test_promote_and_weight_changes_every_100_ms_under_load_fail_no_client():
    stack = canary_stack(canary_weight=10)
    try:
        load = Load(stack.gateway.port)
        time.sleep(0.5)
        changes = []
        for step in range(20):
            canary = (step * 37) % 101
            status, reply, at = acknowledged(stack.gateway.admin_port, "PUT", "/routes/chat-prod/weights",
                                             {"weights": {"stable": 100 - canary, "canary": canary}})
            assert status == 200, reply
            changes.append((at, reply["revision"]))
            time.sleep(0.1)
        status, reply, promoted_at = acknowledged(stack.gateway.admin_port, "POST", "/routes/chat-prod/promote", {"deployment": "canary"})
        assert status == 200 and reply["route"]["stable"] == "canary", reply
        time.sleep(1)
        records = load.finish()
        assert [r for r in records if r[2] != 200] == [], "failed client requests"
        # Every request sent after a change's acknowledgement was routed by that revision or a later one.
        for at, revision in changes:
            stale = [r for r in records if r[0] > at and r[4] < revision]
            assert stale == [], f"requests after r{revision} was acknowledged still used an older revision"
        after = [r for r in records if r[0] > promoted_at]
        assert after and all(r[3] == "canary" for r in after), "after promote, everything goes to the new stable"
    finally:
        stack.stop()


def test_killing_the_canary_mid_load_fails_no_client_opens_its_breaker_and_the_gates_roll_back():
    stack = canary_stack(canary_weight=0)
    try:
        status, rollout = call(stack.gateway.admin_port, "POST", "/routes/chat-prod/rollouts", {
            "strategy": "canary", "canary": "canary", "steps": [{"setWeight": 50}, {"pause": "1h"}],
            "gates": [{"metric": "errorRateDelta", "max": 1.0, "minSamples": 20}], "interval": "1s", "window": "1m",
        })
        assert status == 201, rollout
        load = Load(stack.gateway.port)
        time.sleep(1)
        stack.canary.proc.send_signal(signal.SIGKILL)
        stack.canary.proc.wait()
        deadline = time.time() + 15
        while call(stack.gateway.admin_port, "GET", "/routes/chat-prod/rollout")[1]["state"] != "rolledBack":
            assert time.time() < deadline, call(stack.gateway.admin_port, "GET", "/routes/chat-prod/rollout")[1]
            time.sleep(0.2)
        records = load.finish()
        assert [r for r in records if r[2] != 200] == [], "non-streaming clients see no errors: failover"
        _, reason = call(stack.gateway.admin_port, "GET", "/routes/chat-prod/rollout")
        # The open breaker or the error rate, whichever the evaluation sees first.
        assert reason["reason"].startswith(("gate errorRateDelta failed", "gate circuitBreaker failed")), reason["reason"]
        # Every rate verdict carries its anytime-valid interval and says it in a sentence.
        rates = [v for e in reason["evaluations"] for v in e["verdicts"] if v["metric"] == "errorRateDelta" and v["result"] != "noData"]
        assert rates, reason["evaluations"]
        assert all("interval" in v and "anytime interval" in v["reason"] and " canary / " in v["reason"] for v in rates), rates[-1]
        _, metrics = call(stack.gateway.admin_port, "GET", "/routes/chat-prod/metrics?window=1m")
        canary = next(d for d in metrics["deployments"] if d["name"] == "canary")
        assert canary["outcomes"]["connect_failure"] > 0
        assert canary["breaker"] in ("open", "half-open"), canary["breaker"]
        # Every evaluation is kept; ctl shows them, the failing one first.
        verdicts = subprocess.run([BIN, "ctl", "rollout", "verdicts", "chat-prod", "--api", f"http://127.0.0.1:{stack.gateway.admin_port}"],
                                  capture_output=True, text=True, timeout=30, env=dict(os.environ, SWITCHYARD_TOKEN=ADMIN_TOKEN))
        assert verdicts.returncode == 0 and verdicts.stdout.startswith("gates at ") and "✘ fail" in verdicts.stdout.split("\n\n")[0], verdicts.stdout
    finally:
        stack.stop()


def simulator_requests(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/simulator/stats", timeout=5) as response:
        return json.loads(response.read())["requests"]


def test_a_429_storm_is_honoured_without_a_retry_storm():
    # Every canary reply is a 429 with Retry-After: 1 s.
    stack = canary_stack(canary_weight=50, canary_args=("--error-rate", "1", "--error-kind", "429"))
    try:
        load = Load(stack.gateway.port)
        time.sleep(3)
        records = load.finish()
        hits = simulator_requests(stack.canary.port)
        assert [r for r in records if r[2] != 200] == [], "clients fail over to stable"
        meant_for_canary = len(records) // 2
        assert meant_for_canary > 200, len(records)
        # Held off for Retry-After each time: a few attempts a second (the clients in flight when a hold ends), not one per request.
        assert hits <= 40, f"{hits} attempts reached the throttled upstream, of about {meant_for_canary} requests meant for it"
    finally:
        stack.stop()


def test_a_hanging_upstream_is_cut_off_by_its_timeout_and_slows_nothing_else():
    stack = canary_stack(canary_weight=50, canary_args=("--error-rate", "1", "--error-kind", "timeout"), timeout="300ms")
    try:
        load = Load(stack.gateway.port, clients=8)
        time.sleep(3)
        records = load.finish()
        assert [r for r in records if r[2] != 200] == [], "requests meant for the hanging canary fail over"
        stable = sorted(r[1] - r[0] for r in records if r[3] == "stable")
        slow = [d for d in stable if d > 0.3]
        fast = [d for d in stable if d <= 0.3]
        # Failed-over requests wait out the 300 ms first-token timeout once; the rest are untouched.
        assert fast and sorted(fast)[len(fast) // 2] < 0.05, f"median of direct requests {sorted(fast)[len(fast) // 2]:.3f} s"
        assert all(d < 1.0 for d in slow), f"a failed-over request took {max(slow):.3f} s"
    finally:
        stack.stop()
