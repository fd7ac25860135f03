"""The shipped operations files (deploy/) against the real server: every
metric the Prometheus rules and the Grafana dashboard name is one a running
`serve` exports (or a recording rule defines), every alert is documented in
docs/operations.md where its runbook_url points, and every alert has a
promtool unit test that shows it firing."""

import datetime
import json
import os
import re
import shutil
import subprocess
import time
import urllib.request

import pytest
import yaml
from openai import OpenAI

from conftest import ADMIN_TOKEN, ServedStack
from test_management import call

ROOT = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))
RULES = os.path.join(ROOT, "deploy/prometheus/switchyard.rules.yml")
RULE_TESTS = os.path.join(ROOT, "deploy/prometheus/switchyard.rules.test.yml")
DASHBOARD = os.path.join(ROOT, "deploy/grafana/switchyard.json")
OPERATIONS = os.path.join(ROOT, "docs/operations.md")

SEVERITIES = {"critical", "warning", "info"}
# Metrics Prometheus itself makes; the rules may use them.
PROMETHEUS_OWN = {"up"}


# --- Reading the files -----------------------------------------------------------

def rules():
    with open(RULES) as f:
        return [rule for group in yaml.safe_load(f)["groups"] for rule in group["rules"]]


def alerts():
    return [rule for rule in rules() if "alert" in rule]


def recorded_names():
    return {rule["record"] for rule in rules() if "record" in rule}


def dashboard():
    with open(DASHBOARD) as f:
        return json.load(f)


def panels(board):
    for panel in board["panels"]:
        yield panel
        yield from panel.get("panels", [])


def dashboard_expressions(board):
    """(where, PromQL) for every query in the dashboard: panel targets,
    annotation queries and template-variable queries."""
    found = []
    for panel in panels(board):
        for target in panel.get("targets", []):
            found.append((f"panel '{panel['title']}' {target.get('refId')}", target["expr"]))
    for annotation in board.get("annotations", {}).get("list", []):
        if "expr" in annotation:
            found.append((f"annotation '{annotation['name']}'", annotation["expr"]))
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            query = variable["query"]["query"] if isinstance(variable["query"], dict) else variable["query"]
            inner = re.fullmatch(r"label_values\((.*),\s*\w+\)", query)
            found.append((f"variable '{variable['name']}'", inner.group(1) if inner else query))
    return found


def rule_expressions():
    return [(rule.get("alert") or rule.get("record"), rule["expr"]) for rule in rules()]


def names_in(expr):
    """The metric names a PromQL expression reads: identifiers outside string
    literals and label matchers that are not functions, keywords or labels.
    Returns (metric names, recording-rule names), the latter holding a colon."""
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'', '""', expr)
    without_comments = re.sub(r"#[^\n]*", "", without_strings)
    # Drop label lists of by/without/on/ignoring/group_left/group_right and label matchers {…}.
    stripped = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", without_comments)
    stripped = re.sub(r"\{[^}]*\}", " ", stripped)
    stripped = re.sub(r"\[[^\]]*\]", " ", stripped)
    identifiers = re.findall(r"(?<![\w$.])[a-zA-Z_:][a-zA-Z0-9_:]*", stripped)
    metrics = {name for name in identifiers if name.startswith("switchyard_") or name in PROMETHEUS_OWN}
    recorded = {name for name in identifiers if ":" in name}
    return metrics, recorded


def all_names():
    """Every metric and recording-rule name the rules and the dashboard use, with where."""
    used = {}
    recorded = {}
    for where, expr in [*rule_expressions(), *dashboard_expressions(dashboard())]:
        metrics, records = names_in(expr)
        for name in metrics:
            used.setdefault(name, set()).add(where)
        for name in records:
            recorded.setdefault(name, set()).add(where)
    return used, recorded


def github_anchor(heading):
    """The anchor GitHub gives a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def operations_anchors():
    with open(OPERATIONS) as f:
        return {github_anchor(line.lstrip("#")) for line in f if re.match(r"#{1,6} ", line)}


# --- The files on their own ----------------------------------------------------------

def test_name_extraction_reads_metrics_not_labels_or_functions():
    metrics, recorded = names_in(
        'sum by (route, deployment) (rate(switchyard_upstream_requests_total{outcome=~"switchyard_x|timeout"}[5m]))'
        ' / on (route) group_left (role) route:switchyard_responses:rate5m # switchyard_in_a_comment\n'
        ' and up{job="switchyard"} == 0')
    assert metrics == {"switchyard_upstream_requests_total", "up"}
    assert recorded == {"route:switchyard_responses:rate5m"}


def test_every_alert_is_labelled_annotated_and_documented():
    anchors = operations_anchors()
    names = [alert["alert"] for alert in alerts()]
    assert len(names) == len(set(names)), "alert names are unique"
    for alert in alerts():
        name = alert["alert"]
        assert alert.get("labels", {}).get("severity") in SEVERITIES, f"{name}: severity"
        annotations = alert.get("annotations", {})
        for key in ("summary", "description", "runbook_url"):
            assert annotations.get(key), f"{name}: {key}"
        assert "$labels" in annotations["summary"] + annotations["description"], f"{name}: says which route or replica"
        page, _, anchor = annotations["runbook_url"].partition("#")
        assert page == "docs/operations.md", f"{name}: runbook_url {annotations['runbook_url']}"
        assert anchor == name.lower(), f"{name}: runbook anchor {anchor}"
        assert anchor in anchors, f"{name}: docs/operations.md has no heading for #{anchor}"


def test_every_alert_has_a_unit_test_that_fires_it():
    with open(RULE_TESTS) as f:
        tests = yaml.safe_load(f)["tests"]
    fired, quiet = set(), set()
    for test in tests:
        for case in test.get("alert_rule_test", []):
            (fired if case.get("exp_alerts") else quiet).add(case["alertname"])
    declared = {alert["alert"] for alert in alerts()}
    assert declared - fired == set(), "alerts never shown firing"
    assert fired - declared == set(), "tests of alerts that do not exist"
    assert "SwitchyardCanaryErrorRatioAboveStable" in quiet, "the canary alert is shown staying quiet too"


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed (apt-get install prometheus)")
def test_promtool_checks_and_tests_the_rules():
    checked = subprocess.run(["promtool", "check", "rules", RULES], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tested = subprocess.run(["promtool", "test", "rules", RULE_TESTS], capture_output=True, text=True)
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_recording_rules_used_are_defined():
    _, recorded = all_names()
    missing = {name: sorted(where) for name, where in recorded.items() if name not in recorded_names()}
    assert not missing, f"recording rules used but not defined: {missing}"


def test_dashboard_has_its_variables_and_every_query_uses_the_chosen_data_source():
    board = dashboard()
    assert 36 <= board["schemaVersion"] <= 41
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource" and variables["datasource"]["query"] == "prometheus"
    for name in ("route", "instance"):
        query = variables[name]["query"]
        query = query["query"] if isinstance(query, dict) else query
        assert variables[name]["type"] == "query" and query.startswith("label_values("), name
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}", panel["title"]
    # Panels do not overlap on the 24-column grid.
    taken = set()
    for panel in panels(board):
        grid = panel["gridPos"]
        cells = {(x, y) for x in range(grid["x"], grid["x"] + grid["w"]) for y in range(grid["y"], grid["y"] + grid["h"])}
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        assert not cells & taken, f"panel '{panel['title']}' overlaps another"
        taken |= cells
    wanted = ["traffic", "error ratio", "p95 upstream latency", "p95 time to first token", "tokens", "cost", "weights",
              "breakers", "retirement", "rollouts", "state store", "revision"]
    titles = " | ".join(panel["title"].lower() for panel in panels(board))
    assert [topic for topic in wanted if topic not in titles] == []


# --- Against a running server ----------------------------------------------------------

def scrape(port):
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    families, samples = set(), {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            families.add(line.split()[2])
        elif line and not line.startswith("#"):
            name = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line).group(0)
            samples[name] = samples.get(name, 0) + 1
    return families, samples


def catalog_retiring_in(days):
    day = (datetime.date.today() + datetime.timedelta(days=days)).isoformat()
    return (
        'entries:\n  - provider: openai\n    model: gpt-4o\n    version: "2024-11-20"\n'
        '    replacement: { model: gpt-4o, version: "2025-05-13" }\n    source: test\n'
        f'    dates:\n      standard: {{ deprecation: "2026-01-01", retirement: "{day}" }}\n'
    )


def put_catalog(admin_port, text):
    request = urllib.request.Request(f"http://127.0.0.1:{admin_port}/api/v1/lifecycle/catalog", method="PUT", data=text.encode())
    request.add_header("Authorization", f"Bearer {ADMIN_TOKEN}")
    request.add_header("Content-Type", "application/yaml")
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200


def drive(port, requests=40, prefix="user"):
    client = OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="-", max_retries=0)
    for index in range(requests):
        client.chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}], user=f"{prefix}-{index}")
    # Streamed too, so time to first token is measured.
    for index in range(4):
        for _ in client.chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}],
                                                 user=f"{prefix}-stream-{index}", stream=True):
            pass


def test_every_metric_the_rules_and_dashboard_name_is_exported():
    used, _ = all_names()
    wanted = {name for name in used if name not in PROMETHEUS_OWN}
    # A route of two deployments, 0 % on the canary until the rollout gives it some.
    stack = ServedStack(canary_weight=0, separate_canary=True)
    try:
        gateway = stack.gateway
        # The stable version retires in 20 days: the retirement countdowns appear.
        put_catalog(gateway.admin_port, catalog_retiring_in(20))
        drive(gateway.port)
        status, body = call(gateway.admin_port, "POST", "/routes/chat-prod/rollouts", {
            "strategy": "canary", "canary": "canary", "steps": [{"setWeight": 50}, {"pause": "1h"}],
            "gates": [{"metric": "errorRateDelta", "max": 50, "minSamples": 5}], "interval": "1s",
            "onNoData": "wait", "onInconclusive": "wait",
        })
        assert status == 201, body
        deadline = time.time() + 30
        while True:
            drive(gateway.port, requests=20, prefix=f"after-{int(time.time() * 1000)}")
            families, samples = scrape(gateway.port)
            missing = sorted(name for name in wanted if name not in samples)
            if not missing or time.time() > deadline:
                break
            time.sleep(0.5)
        undeclared = sorted(name for name in missing if name not in families
                            and not re.sub(r"_(bucket|sum|count)$", "", name) in families)
        assert not missing, (
            f"named in deploy/ but not exported by the server: {missing} "
            f"(of which not even declared with # TYPE: {undeclared}); used in: "
            + "; ".join(f"{name}: {sorted(used[name])[:3]}" for name in missing)
        )
    finally:
        stack.stop()
