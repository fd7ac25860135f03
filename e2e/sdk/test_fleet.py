"""Fleet mode: three `serve` replicas sharing one real PostgreSQL server on
loopback (started here with scripts/postgres), behind no load balancer —
each is called directly, as a load balancer would."""

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

import pytest

from conftest import ADMIN_TOKEN, Process, managed_config
from test_management import call

ROOT = os.path.join(os.path.dirname(__file__), "../..")
POSTGRES = os.path.join(ROOT, "scripts/postgres")

pytestmark = pytest.mark.skipif(
    shutil.which("pg_ctl") is None and not any(os.path.exists(f"/usr/lib/postgresql/{v}/bin/pg_ctl") for v in range(12, 20)),
    reason="PostgreSQL is not installed (the test script installs it)",
)


class Database:
    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="switchyard-fleet-pg-")
        self.url = subprocess.run([POSTGRES, "start", self.dir], capture_output=True, text=True, check=True).stdout.strip()

    def stop(self):
        subprocess.run([POSTGRES, "stop", self.dir], capture_output=True)

    def start_again(self):
        # Same data, same port: what a database restart looks like to the replicas.
        port = self.url.rsplit(":", 1)[1].split("/")[0]
        subprocess.run([POSTGRES, "start", self.dir, port], capture_output=True, text=True, check=True)

    def destroy(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def chat(port, user, key="app-secret"):
    """One request; returns (status, deployment, route revision) from the reply's headers."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/v1/chat/completions", method="POST",
        data=json.dumps({"model": "chat-prod", "user": user, "messages": [{"role": "user", "content": "hi"}]}).encode())
    request.add_header("Content-Type", "application/json")
    request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            return response.status, response.headers["x-switchyard-deployment"], int(response.headers["x-switchyard-route-revision"])
    except urllib.error.HTTPError as error:
        return error.code, None, None


@pytest.fixture()
def fleet(tmp_path):
    database = Database()
    stable = Process(["simulate", "--listen", "127.0.0.1:0", "--latency-ms", "1"])
    canary = Process(["simulate", "--listen", "127.0.0.1:0", "--version", "2025-05-13", "--latency-ms", "1"])
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    config.write(managed_config(stable.port, canary.port, canary_weight=50))
    config.close()
    env = dict(os.environ, SWITCHYARD_ADMIN_TOKEN=ADMIN_TOKEN)
    # Two client keys: one unmetered, one limited to 30 requests a minute — across the whole fleet.
    tokens = tmp_path / "tokens.yaml"
    tokens.write_text(
        "clientKeys:\n"
        f"  - {{ name: app, sha256: {hashlib.sha256(b'app-secret').hexdigest()} }}\n"
        f"  - {{ name: metered, sha256: {hashlib.sha256(b'metered-secret').hexdigest()}, limits: {{ requestsPerMinute: 30 }} }}\n"
    )
    args = ["serve", "--config", config.name, "--tokens", str(tokens), "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0", "--state", database.url,
            "--rollout-lease", "2s", "--fleet-metrics-every", "1s"]
    replicas = [Process(args, env=env) for _ in range(3)]
    yield database, replicas
    for process in replicas + [stable, canary]:
        process.stop()
    os.unlink(config.name)
    database.destroy()


def test_a_rollback_through_one_replica_is_in_effect_on_the_others_within_100_ms(fleet):
    _, replicas = fleet
    a, b, c = replicas
    # The same users land on the same deployments on every replica: the bucket ownership is shared.
    users = [f"user-{index}" for index in range(40)]
    seen = [[chat(replica.port, user)[1] for user in users] for replica in replicas]
    assert seen[0] == seen[1] == seen[2]
    assert "canary" in seen[0] and "stable" in seen[0]

    status, reply = call(a.admin_port, "POST", "/routes/chat-prod/rollback")
    acknowledged = time.monotonic()
    assert status == 200 and reply["changed"], reply
    revision = reply["revision"]
    on_canary = [user for user, deployment in zip(users, seen[0]) if deployment == "canary"]
    delays = []
    for replica in (b, c):
        while True:
            status, deployment, seen_revision = chat(replica.port, on_canary[0])
            if seen_revision == revision:
                delays.append(time.monotonic() - acknowledged)
                assert deployment == "stable"
                break
            assert time.monotonic() - acknowledged < 5, "the change never reached a replica"
    assert max(delays) < 0.100, f"replicas took {[round(d * 1000, 1) for d in delays]} ms"
    for replica in (b, c):
        assert all(chat(replica.port, user)[1] == "stable" for user in on_canary)
        _, route = call(replica.admin_port, "GET", "/routes/chat-prod")
        assert route["revision"] == revision


def test_stopping_the_database_leaves_traffic_flowing_and_refuses_changes_clearly(fleet):
    database, replicas = fleet
    a, b, _ = replicas
    database.stop()
    try:
        for replica in replicas:
            statuses = {chat(replica.port, f"user-{index}")[0] for index in range(20)}
            assert statuses == {200}, "the last known routes keep serving"
        status, reply = call(a.admin_port, "PUT", "/routes/chat-prod/weights", {"weights": {"stable": 80, "canary": 20}})
        assert status == 503, reply
        # /readyz says so, and stays ready: the replica serves its last known routes.
        deadline = time.time() + 10
        while True:
            with urllib.request.urlopen(f"http://127.0.0.1:{b.port}/readyz", timeout=5) as response:
                ready = json.loads(response.read())
                assert response.status == 200 and ready["ready"]
            if "stateStore" in ready:
                assert ready["stateStore"].startswith("unreachable"), ready
                break
            assert time.time() < deadline, ready
            time.sleep(0.2)
        assert reply["error"]["message"].startswith("the change was not saved: the state store is unavailable"), reply
    finally:
        database.start_again()
    # Back: a change through one replica reaches the others again.
    deadline = time.time() + 20
    while True:
        status, reply = call(a.admin_port, "PUT", "/routes/chat-prod/weights", {"weights": {"stable": 70, "canary": 30}})
        if status == 200:
            break
        assert time.time() < deadline, reply
        time.sleep(0.2)
    revision = reply["revision"]
    deadline = time.time() + 10
    while call(b.admin_port, "GET", "/routes/chat-prod")[1]["revision"] != revision:
        assert time.time() < deadline, "the replica did not catch up after the database returned"
        time.sleep(0.1)


def test_killing_the_replica_that_drives_a_rollout_hands_it_to_another_at_the_same_step(fleet):
    _, replicas = fleet
    a, b, c = replicas
    status, rollout = call(a.admin_port, "POST", "/routes/chat-prod/rollouts", {
        "strategy": "canary", "canary": "canary",
        "steps": [{"setWeight": 10}, {"pause": "4s"}, {"setWeight": 40}, {"pause": "1h"}, {"setWeight": 100}],
    })
    assert status == 201 and rollout["progress"] == "step 2/5", rollout
    # Every replica shows the rollout A started.
    for replica in (b, c):
        deadline = time.time() + 5
        while call(replica.admin_port, "GET", "/routes/chat-prod")[1].get("rollout", {}).get("id") != rollout["id"]:
            assert time.time() < deadline, "the rollout never showed on another replica"
            time.sleep(0.1)
    # A dies holding the lease; within the lease (2 s) plus the step's 4 s another replica moves it on.
    a.proc.kill()
    a.proc.wait()
    deadline = time.time() + 20
    while True:
        _, current = call(b.admin_port, "GET", "/routes/chat-prod/rollout")
        if current.get("progress") == "step 4/5":
            break
        assert time.time() < deadline, current
        time.sleep(0.2)
    assert current["state"] == "progressing" and current["canaryPercent"] == 40
    assert current["id"] == rollout["id"], "the same rollout, taken over — not a new one"
    deadline = time.time() + 5
    while True:
        _, route = call(c.admin_port, "GET", "/routes/chat-prod")
        if {d["name"]: d["weight"] for d in route["deployments"]} == {"stable": 60, "canary": 40}:
            break
        assert time.time() < deadline, route
        time.sleep(0.05)
    # Exactly one replica drives it now: pausing through either one holds it.
    status, paused = call(c.admin_port, "POST", "/routes/chat-prod/pause")
    assert status == 200 and paused["state"] == "paused", paused
    deadline = time.time() + 5
    while call(b.admin_port, "GET", "/routes/chat-prod/rollout")[1]["state"] != "paused":
        assert time.time() < deadline
        time.sleep(0.1)


def test_any_replica_answers_with_the_whole_fleets_figures(fleet):
    _, replicas = fleet
    a, b, c = replicas
    for index in range(30):
        assert chat(b.port, f"b-{index}")[0] == 200
    for index in range(20):
        assert chat(c.port, f"c-{index}")[0] == 200
    deadline = time.time() + 10
    while True:
        _, metrics = call(a.admin_port, "GET", "/routes/chat-prod/metrics?window=5m")
        total = sum(d["requests"] for d in metrics["deployments"])
        if total == 50:
            break
        assert time.time() < deadline, f"replica A sees {total} of the fleet's 50 requests"
        time.sleep(0.2)


def test_a_client_rate_limit_holds_across_the_fleet(fleet):
    _, replicas = fleet
    # Stay inside one minute: the counters are per key and minute.
    if time.time() % 60 > 45:
        time.sleep(61 - time.time() % 60)
    statuses = []
    for index in range(20):
        for replica in replicas:
            statuses.append(chat(replica.port, f"limited-{index}", key="metered-secret")[0])
    assert statuses.count(200) == 30, statuses
    assert statuses.count(429) == 30, statuses
