"""A real Prometheus server (Debian's `prometheus` package) scrapes a running
`serve` every second and evaluates the shipped rules: the canary alert fires
when a canary rollout brings in a deployment whose upstream fails 30 % of the
time, every rule evaluates without error, and every dashboard query runs."""

import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse
import urllib.request

import pytest
from openai import OpenAI

from conftest import ServedStack, terminate
from test_deploy_files import RULES, dashboard, dashboard_expressions
from test_management import call

PROMETHEUS = shutil.which("prometheus") or ("/usr/bin/prometheus" if os.access("/usr/bin/prometheus", os.X_OK) else None)

pytestmark = pytest.mark.skipif(PROMETHEUS is None, reason="the prometheus binary is not installed (apt-get install prometheus)")

CANARY_ALERT = "SwitchyardCanaryErrorRatioAboveStable"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shortened_rules(path):
    """The shipped rules with every `for:` set to 0s, so an alert fires at the
    first evaluation whose condition holds instead of minutes later. Thresholds,
    windows and expressions are the shipped ones."""
    with open(RULES) as f:
        text = f.read()
    shortened, count = re.subn(r"^(\s+)for: \S+$", r"\1for: 0s", text, flags=re.MULTILINE)
    assert count > 0
    with open(path, "w") as f:
        f.write(shortened)


class Prometheus:
    """A Prometheus server on a free loopback port with its data in a temporary folder."""

    def __init__(self, gateway_port):
        self.dir = tempfile.mkdtemp(prefix="switchyard-prometheus-")
        shortened_rules(os.path.join(self.dir, "switchyard.rules.yml"))
        with open(os.path.join(self.dir, "prometheus.yml"), "w") as f:
            f.write(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                "rule_files:\n  - switchyard.rules.yml\n"
                "scrape_configs:\n  - job_name: switchyard\n"
                f"    static_configs:\n      - targets: ['127.0.0.1:{gateway_port}']\n"
            )
        self.port = free_port()
        self.log = open(os.path.join(self.dir, "prometheus.log"), "w+")
        self.proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={self.dir}/prometheus.yml", f"--storage.tsdb.path={self.dir}/data",
             f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=warn"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=self.dir)
        deadline = time.time() + 30
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited:\n{self.output()}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.time() > deadline:
                raise RuntimeError(f"prometheus did not become ready:\n{self.output()}")
            time.sleep(0.2)

    def output(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()

    def api(self, path, **params):
        query = f"?{urllib.parse.urlencode(params)}" if params else ""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/{path}{query}", timeout=10) as response:
            body = json.loads(response.read())
        assert body["status"] == "success", body
        return body["data"]

    def alerts(self, name=None, state=None):
        return [alert for alert in self.api("alerts")["alerts"]
                if (name is None or alert["labels"]["alertname"] == name) and (state is None or alert["state"] == state)]

    def stop(self):
        terminate(self.proc)
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


class Traffic(threading.Thread):
    """Steady requests from many users (so the weights split them) until stopped."""

    def __init__(self, port):
        super().__init__(daemon=True)
        self.client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="-", max_retries=0)
        self.stopped = threading.Event()
        self.sent = 0
        self.failed = 0

    def run(self):
        while not self.stopped.is_set():
            try:
                self.client.chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}],
                                                    user=f"user-{self.sent}")
            except Exception:
                self.failed += 1
            self.sent += 1
            time.sleep(0.01)

    def stop(self):
        self.stopped.set()
        self.join(10)


@pytest.fixture(scope="module")
def watched():
    """A served route whose canary fails 30 % of its attempts (500s, which
    fail over to stable), in a canary rollout at 50 %, under steady traffic,
    scraped and judged by a real Prometheus."""
    stack = ServedStack(canary_weight=0, separate_canary=True, canary_args=["--error-rate", "0.3", "--error-kind", "500"])
    prometheus = None
    traffic = None
    try:
        prometheus = Prometheus(stack.gateway.port)
        # No gates: the plan does not roll the canary back by itself, so the alert is what notices.
        status, body = call(stack.gateway.admin_port, "POST", "/routes/chat-prod/rollouts", {
            "strategy": "canary", "canary": "canary", "steps": [{"setWeight": 50}, {"pause": {}}],
        })
        assert status == 201, body
        traffic = Traffic(stack.gateway.port)
        traffic.start()
        yield stack, prometheus, traffic
    finally:
        if traffic:
            traffic.stop()
        if prometheus:
            prometheus.stop()
        stack.stop()


def test_canary_alert_fires_when_the_canary_fails(watched):
    stack, prometheus, traffic = watched
    deadline = time.time() + 60
    firing = []
    while time.time() < deadline:
        firing = prometheus.alerts(CANARY_ALERT, state="firing")
        if firing:
            break
        time.sleep(1)
    if not firing:
        ratios = prometheus.api("query", query="route_deployment_role:switchyard_upstream_error_ratio:rate5m")
        roles = prometheus.api("query", query="switchyard_rollout_deployment_role")
        targets = prometheus.api("targets")["activeTargets"]
        pytest.fail(
            f"{CANARY_ALERT} did not fire within 60 s ({traffic.sent} requests sent, {traffic.failed} failed).\n"
            f"error ratios by role: {ratios['result']}\nrollout roles: {roles['result']}\n"
            f"targets: {[(t['scrapeUrl'], t['health'], t['lastError']) for t in targets]}\n"
            f"alerts: {prometheus.alerts()}"
        )
    [alert] = firing
    assert alert["labels"]["route"] == "chat-prod" and alert["labels"]["deployment"] == "canary"
    assert alert["labels"]["role"] == "candidate" and alert["labels"]["severity"] == "critical"
    assert "chat-prod" in alert["annotations"]["summary"]
    assert alert["annotations"]["runbook_url"] == "docs/operations.md#switchyardcanaryerrorratioabovestable"
    # Clients did not see the canary's 500s: they failed over to stable.
    assert traffic.failed == 0
    assert not prometheus.alerts("SwitchyardClientErrorRatioHigh", state="firing")


def test_every_rule_evaluates_without_error(watched):
    _, prometheus, _ = watched
    time.sleep(3)  # a few evaluations with data in every series
    problems = [(rule["name"], rule.get("lastError")) for group in prometheus.api("rules")["groups"]
                for rule in group["rules"] if rule.get("health") != "ok"]
    assert problems == []


def test_every_dashboard_query_runs(watched):
    _, prometheus, _ = watched
    variables = {"$route": ".*", "$instance": ".*", "$__rate_interval": "1m"}
    failures = []
    for where, expr in dashboard_expressions(dashboard()):
        for variable, value in variables.items():
            expr = expr.replace(variable, value)
        try:
            prometheus.api("query", query=expr)
        except (AssertionError, OSError) as error:
            failures.append((where, expr, str(error)))
    assert failures == []
