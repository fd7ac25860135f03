"""The management API of a real `serve` process: changes take effect at once
and survive kill -9."""

import json
import os
import signal
import urllib.error
import urllib.request

from openai import OpenAI

from conftest import ADMIN_TOKEN as TOKEN
from conftest import BIN, ServedStack


def call(port, method, path, body=None, token=TOKEN):
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1{path}", method=method, data=json.dumps(body).encode() if body is not None else None)
    request.add_header("Authorization", f"Bearer {token}")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def deployments_seen(gateway_port, users=60):
    client = OpenAI(base_url=f"http://127.0.0.1:{gateway_port}/v1", api_key="-", max_retries=0)
    seen = set()
    for index in range(users):
        raw = client.chat.completions.with_raw_response.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}], user=f"user-{index}")
        seen.add(raw.headers["x-switchyard-deployment"])
    return seen


def test_rollback_takes_effect_at_once_and_survives_kill_9():
    stack = ServedStack(separate_canary=True)
    try:
        gateway = stack.gateway
        assert deployments_seen(gateway.port) == {"stable", "canary"}

        status, body = call(gateway.admin_port, "POST", "/routes/chat-prod/rollback")
        assert status == 200 and body["revision"] == 2 and body["changed"] is True
        assert deployments_seen(gateway.port) == {"stable"}, "no request reaches the canary after the rollback returned"

        status, _ = call(gateway.admin_port, "GET", "/routes", token="wrong")
        assert status == 401

        gateway.proc.send_signal(signal.SIGKILL)
        gateway.proc.wait(10)
        stack.restart()
        gateway = stack.gateway
        status, route = call(gateway.admin_port, "GET", "/routes/chat-prod")
        assert status == 200 and route["revision"] == 2
        assert deployments_seen(gateway.port) == {"stable"}, "the unchanged config file did not undo the rollback"
    finally:
        stack.stop()


def read_events(response, count):
    """The next `count` server-sent events as (name, data) pairs."""
    events, name, data = [], None, None
    while len(events) < count:
        line = response.readline().decode()
        if not line:
            break
        line = line.rstrip("\n")
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            data = json.loads(line[len("data: "):])
        elif line == "" and name is not None:
            events.append((name, data))
            name, data = None, None
    return events


def test_events_stream_a_snapshot_then_changes_in_order_then_metrics():
    import http.client

    stack = ServedStack()
    gateway = stack.gateway
    try:
        connection = http.client.HTTPConnection("127.0.0.1", gateway.admin_port, timeout=10)
        connection.request("GET", "/api/v1/events", headers={"Authorization": f"Bearer {TOKEN}"})
        response = connection.getresponse()
        assert response.status == 200
        assert response.getheader("content-type") == "text/event-stream"
        (name, snapshot), = read_events(response, 1)
        assert name == "snapshot" and snapshot["routes"][0]["revision"] == 1

        status, _ = call(gateway.admin_port, "PUT", "/routes/chat-prod/weights", {"weights": {"stable": 70, "canary": 30}})
        assert status == 200
        events = read_events(response, 3)
        names = [name for name, _ in events]
        assert names[:2] == ["route", "audit"], names
        assert events[0][1]["revision"] == 2
        assert events[1][1]["action"] == "weights" and events[1][1]["actor"] == "admin"
        # A metrics tick arrives every second while someone listens.
        assert "metrics" in names or read_events(response, 1)[0][0] == "metrics"
        # An open event stream does not hold up a graceful shutdown.
        gateway.proc.send_signal(signal.SIGTERM)
        assert gateway.proc.wait(10) == 0
    finally:
        stack.stop()


def test_ctl_exit_codes_and_round_trip():
    import subprocess

    stack = ServedStack()
    api = f"http://127.0.0.1:{stack.gateway.admin_port}"

    def ctl(*args, token=TOKEN):
        env = dict(os.environ, SWITCHYARD_TOKEN=token)
        return subprocess.run([BIN, "ctl", *args, "--api", api], capture_output=True, text=True, timeout=30, env=env)

    try:
        listed = ctl("routes")
        assert listed.returncode == 0 and "chat-prod" in listed.stdout and "stable=50%" in listed.stdout
        assert json.loads(ctl("routes", "--output", "json").stdout)["routes"][0]["name"] == "chat-prod"
        # Global options before the subcommand, as kubectl takes them.
        before = subprocess.run([BIN, "ctl", "--api", api, "--output=json", "routes"], capture_output=True, text=True, timeout=30,
                                env=dict(os.environ, SWITCHYARD_TOKEN=TOKEN))
        assert before.returncode == 0 and json.loads(before.stdout)["routes"][0]["name"] == "chat-prod", before.stdout + before.stderr
        assert subprocess.run([BIN, "ctl", "--api"], capture_output=True, text=True, timeout=30).returncode == 2

        refused = ctl("weights", "chat-prod", "stable=80", "canary=10")
        assert refused.returncode == 1 and "weights sum to 90, not 100" in refused.stderr
        assert ctl("routes", token="wrong").returncode == 1
        assert ctl("weights", "chat-prod", "stable=eighty").returncode == 2
        assert ctl("frobnicate").returncode == 2

        moved = ctl("weights", "chat-prod", "stable=80", "canary=20", "--if-match", "1")
        assert moved.returncode == 0 and "r2" in moved.stdout
        assert ctl("weights", "chat-prod", "stable=70", "canary=30", "--if-match", "1").returncode == 1

        exported = ctl("export")
        path = os.path.join(stack.state.name, "export.yaml")
        with open(path, "w") as f:
            f.write(exported.stdout)
        applied = ctl("apply", "-f", path)
        assert applied.returncode == 0 and "unchanged 1" in applied.stdout, applied.stdout + applied.stderr
        audit = ctl("audit", "--route", "chat-prod")
        assert audit.returncode == 0 and "weights" in audit.stdout and "admin" in audit.stdout
    finally:
        stack.stop()


def test_lifecycle_plan_then_rollout_start_runs_the_migration(tmp_path):
    import subprocess

    stack = ServedStack(canary_weight=0)
    api = f"http://127.0.0.1:{stack.gateway.admin_port}"

    def ctl(*args):
        env = dict(os.environ, SWITCHYARD_TOKEN=TOKEN)
        return subprocess.run([BIN, "ctl", *args, "--api", api], capture_output=True, text=True, timeout=30, env=env)

    catalog = (
        'entries:\n  - provider: openai\n    model: gpt-4o\n    version: "2024-11-20"\n'
        '    replacement: { model: gpt-4o, version: "2025-08-06" }\n    source: test\n'
        '    dates:\n      standard: { deprecation: "2026-01-01", retirement: "2027-06-30" }\n'
    )
    request = urllib.request.Request(f"{api}/api/v1/lifecycle/catalog", method="PUT", data=catalog.encode())
    request.add_header("Authorization", f"Bearer {TOKEN}")
    request.add_header("Content-Type", "application/yaml")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        planned = ctl("lifecycle", "plan", "chat-prod", "--out", str(tmp_path))
        assert planned.returncode == 0, planned.stdout + planned.stderr
        applied = ctl("apply", "-f", str(tmp_path / "routes.yaml"))
        assert applied.returncode == 0 and "updated 1" in applied.stdout, applied.stdout + applied.stderr
        started = ctl("rollout", "start", "chat-prod", "-f", str(tmp_path / "rollout.yaml"))
        assert started.returncode == 0, started.stdout + started.stderr
        assert "progressing  step 2/7  canary 5%" in started.stdout, started.stdout
        _, route = call(stack.gateway.admin_port, "GET", "/routes/chat-prod")
        assert [d["weight"] for d in route["deployments"]][-1] == 5
        verdicts = ctl("rollout", "verdicts", "chat-prod")
        assert verdicts.returncode == 0 and "no evaluations yet" in verdicts.stdout, verdicts.stdout + verdicts.stderr
        status = ctl("rollout", "status", "chat-prod")
        assert status.returncode == 0 and "next step in" in status.stdout and "gates every 30s on everything since the start" in status.stdout, status.stdout
        assert ctl("rollout", "start", "chat-prod", "-f", str(tmp_path / "rollout.yaml")).returncode == 1, "one rollout at a time"
        aborted = ctl("rollout", "abort", "chat-prod", "--reason", "not today")
        assert aborted.returncode == 0 and "aborted" in aborted.stdout and "not today" in aborted.stdout, aborted.stdout
        _, route = call(stack.gateway.admin_port, "GET", "/routes/chat-prod")
        assert [d["weight"] for d in route["deployments"]][-1] == 0
        history = ctl("rollout", "history", "chat-prod")
        assert history.returncode == 0 and "aborted" in history.stdout
        assert ctl("pause", "chat-prod").returncode == 1, "nothing left to pause"
    finally:
        stack.stop()


def test_every_acknowledged_change_survives_kill_9_under_load():
    import threading

    stack = ServedStack()
    gateway_port = stack.gateway.port
    stop = threading.Event()

    def load():
        client = OpenAI(base_url=f"http://127.0.0.1:{gateway_port}/v1", api_key="-", max_retries=0, timeout=5)
        while not stop.is_set():
            try:
                client.chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}])
            except Exception:
                pass  # the process is killed under us at the end

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    try:
        acknowledged = []
        for step in range(30):
            canary = (step * 7) % 101
            status, body = call(stack.gateway.admin_port, "PUT", "/routes/chat-prod/weights", {"weights": {"stable": 100 - canary, "canary": canary}})
            assert status == 200
            acknowledged.append((body["revision"], canary))
        stack.gateway.proc.send_signal(signal.SIGKILL)  # right after the last acknowledgement
        stack.gateway.proc.wait(10)
        stop.set()
        stack.restart()
        gateway = stack.gateway
        status, route = call(gateway.admin_port, "GET", "/routes/chat-prod")
        last_revision, last_canary = acknowledged[-1]
        assert route["revision"] == last_revision
        assert {d["name"]: d["weight"] for d in route["deployments"]}["canary"] == last_canary
        status, audit = call(gateway.admin_port, "GET", "/audit?route=chat-prod&limit=1000")
        recorded = {event["toRevision"] for event in audit["events"] if event["action"] == "weights"}
        assert {revision for revision, _ in acknowledged} <= recorded, "an acknowledged change is missing after kill -9"
    finally:
        stop.set()
        for worker in workers:
            worker.join(10)
        stack.stop()


def test_version_and_completion_scripts():
    import subprocess

    version = subprocess.run([BIN, "--version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and version.stdout.strip().count(".") == 2, version.stdout
    for shell, marker in [("bash", "complete"), ("zsh", "#compdef"), ("fish", "complete -c 'switchyard'")]:
        script = subprocess.run([BIN, "--generate-completion-script", shell], capture_output=True, text=True, timeout=30)
        assert script.returncode == 0 and marker in script.stdout and "ctl" in script.stdout, (shell, script.stdout[:200])
    stack = ServedStack()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{stack.gateway.port}/healthz", timeout=10) as response:
            assert response.read().decode() == f"ok switchyard/{version.stdout.strip()}\n"
    finally:
        stack.stop()
