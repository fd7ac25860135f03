"""Restarts after state that used to crash-loop `serve` (issue 13), and the
management API's refusals of the inputs that put it there.

A stored rollout that no longer passes validation — written by hand into the
SQLite state file, as an older build, a manual edit or a flipped bit would —
is quarantined on start (aborted with the reason, the route's weights left as
they were) and traffic flows. Far but valid catalog dates are accepted and
survive a restart; dates outside 1970…9999, durations past 366 d, alias bombs
and documents that would delete every route are refused with the value named,
and nothing is applied."""

import http.client
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time

import pytest

from conftest import ADMIN_TOKEN, BIN, Process, ServedStack, managed_config, serve_args

ROUTE = "chat-prod"
DAY = 86_400
ATTOSECONDS = 10 ** 18


def api(port, method, path, body=None, content_type="application/json"):
    """A management API call: (status, parsed JSON or None, seconds it took)."""
    if body is not None and not isinstance(body, (str, bytes)):
        body = json.dumps(body)
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    started = time.monotonic()
    try:
        connection.request(method, f"/api/v1{path}", body,
                           {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": content_type})
        response = connection.getresponse()
        data = response.read()
        elapsed = time.monotonic() - started
        try:
            return response.status, json.loads(data) if data else None, elapsed
        except ValueError:
            return response.status, data.decode(errors="replace"), elapsed
    finally:
        connection.close()


def chat_statuses(port, count=20):
    """Statuses of `count` plain chat requests to the route, one user each."""
    statuses = []
    for index in range(count):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            connection.request("POST", "/v1/chat/completions",
                               json.dumps({"model": ROUTE, "user": f"user-{index}", "messages": [{"role": "user", "content": "hi"}]}),
                               {"Content-Type": "application/json"})
            response = connection.getresponse()
            response.read()
            statuses.append(response.status)
        except (OSError, http.client.HTTPException) as error:
            statuses.append(f"{type(error).__name__}: {error}")
        finally:
            connection.close()
    return statuses


def assert_alive(process, phase):
    code = process.proc.poll()
    assert code is None, f"serve died {phase} (exit status {code}); its log ends:\n{process.output()[-4000:]}"


def assert_serves(process, phase):
    assert_alive(process, phase)
    statuses = chat_statuses(process.port)
    assert statuses == [200] * len(statuses), f"{phase}: traffic was not served: {statuses}"


class Stopped:
    """Stands in for a `serve` that did not start again, so clean-up does not stop it twice."""

    def stop(self):
        pass


def restart(stack, phase):
    """ServedStack.restart, failing the test with serve's output when it does not come back."""
    stack.gateway.stop()
    try:
        stack.gateway = Process(serve_args(stack.config.name, stack.state_dir), env=stack.env)
    except RuntimeError as error:
        stack.gateway = Stopped()
        pytest.fail(f"serve did not start again {phase}: {error}")


def weights(port):
    status, route, _ = api(port, "GET", f"/routes/{ROUTE}")
    assert status == 200, route
    return {deployment["name"]: deployment["weight"] for deployment in route["deployments"]}


# ----------------------------------------------------------------------------- (a) stored rollouts past the bounds


def duration(seconds):
    """A Swift `Duration` as Codable stores it: [high Int64, low UInt64] of its attoseconds."""
    attoseconds = int(seconds * ATTOSECONDS)
    return [attoseconds >> 64, attoseconds & (2 ** 64 - 1)]


PLAN = {"strategy": "canary", "canary": "canary", "steps": [{"setWeight": 10}, {"pause": "10m"}, {"setWeight": 50}], "deadline": "2h"}


@pytest.fixture(scope="module")
def stored_canary():
    """A state folder holding a real canary rollout (at its 10-minute pause, canary at 10 %), the serve that wrote it stopped."""
    simulator = Process(["simulate", "--listen", "127.0.0.1:0", "--latency-ms", "1"])
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    config.write(managed_config(simulator.port, simulator.port, canary_weight=0))
    config.close()
    state = tempfile.TemporaryDirectory()
    env = dict(os.environ, SWITCHYARD_ADMIN_TOKEN=ADMIN_TOKEN)
    try:
        gateway = Process(serve_args(config.name, state.name), env=env)
        try:
            status, rollout, _ = api(gateway.admin_port, "POST", f"/routes/{ROUTE}/rollouts", PLAN)
            assert status == 201, rollout
            assert rollout["state"] == "progressing" and rollout["canaryPercent"] == 10, rollout
            route_weights = weights(gateway.admin_port)
        finally:
            gateway.stop()
        with sqlite3.connect(os.path.join(state.name, "state.sqlite")) as db:
            rows = db.execute("SELECT id, document FROM rollouts WHERE active").fetchall()
        assert len(rows) == 1, rows
        document = json.loads(rows[0][1])
        # What the mutations below rely on: the stored shape of a rollout (a Duration is [high, low] attoseconds).
        assert document["plan"]["deadline"] == duration(2 * 3600), document["plan"]
        assert document["plan"]["steps"][1] == {"pause": {"_0": duration(600)}}, document["plan"]["steps"]
        assert document["deployments"] == ["stable", "canary"] and document["stepIndex"] == 1, document
        yield {"config": config.name, "state": state.name, "env": env, "weights": route_weights}
    finally:
        simulator.stop()
        os.unlink(config.name)
        state.cleanup()


def set_plan(field, value):
    return lambda document: document["plan"].__setitem__(field, value)


def set_top(field, value):
    return lambda document: document.__setitem__(field, value)


def set_pause(value):
    return lambda document: document["plan"]["steps"].__setitem__(1, {"pause": {"_0": value}})


def on_a_ghost_deployment(document):
    document["deployments"] = ["stable", "ghost"]
    document["plan"]["candidate"] = "ghost"
    document["plan"]["steps"][1] = {"pause": {"_0": duration(1)}}  # so that it would act on 'ghost' at once


HUNDRED_THOUSAND_DAYS = duration(100_000 * DAY)

STORED_ROLLOUTS = [
    pytest.param(set_plan("deadline", HUNDRED_THOUSAND_DAYS), ["deadline", "366d"], id="deadline-of-100000-days"),
    pytest.param(set_pause(HUNDRED_THOUSAND_DAYS), ["steps[1].pause", "366d"], id="pause-step-of-100000-days"),
    pytest.param(set_plan("keepPrevious", HUNDRED_THOUSAND_DAYS), ["keepPrevious", "366d"], id="keepPrevious-of-100000-days"),
    pytest.param(set_plan("interval", HUNDRED_THOUSAND_DAYS), ["interval", "366d"], id="interval-of-100000-days"),
    pytest.param(set_plan("duration", HUNDRED_THOUSAND_DAYS), ["duration", "366d"], id="duration-of-100000-days"),
    pytest.param(set_plan("deadline", [2 ** 62, 0]), ["deadline"], id="deadline-past-Int64-seconds"),
    pytest.param(set_plan("deadline", [-1, 0]), ["deadline"], id="negative-deadline"),
    pytest.param(set_top("stepIndex", -3), ["step -3"], id="negative-stepIndex"),
    pytest.param(set_top("stepIndex", 99), ["step 99"], id="stepIndex-past-the-plan"),
    pytest.param(set_top("heldFor", [-1, 0]), ["paused time"], id="negative-paused-time"),
    pytest.param(on_a_ghost_deployment, ["ghost"], id="deployment-not-on-the-route"),
]


def start_on_copy(stored_canary, folder, mutate):
    """Copies the stored state into `folder`, rewrites the active rollout's document with `mutate`, starts serve on it."""
    for name in os.listdir(stored_canary["state"]):
        shutil.copy(os.path.join(stored_canary["state"], name), folder)
    with sqlite3.connect(os.path.join(folder, "state.sqlite")) as db:
        (rollout_id, text), = db.execute("SELECT id, document FROM rollouts WHERE active").fetchall()
        document = json.loads(text)
        replaced = mutate(document)  # a string replaces the document verbatim
        db.execute("UPDATE rollouts SET document = ? WHERE id = ?", (replaced if isinstance(replaced, str) else json.dumps(document), rollout_id))
    return Process(serve_args(stored_canary["config"], folder), env=stored_canary["env"])


@pytest.mark.parametrize("mutate, reason_words", STORED_ROLLOUTS)
def test_a_stored_rollout_outside_the_bounds_is_quarantined_on_start_instead_of_crash_looping(stored_canary, tmp_path, mutate, reason_words):
    gateway = start_on_copy(stored_canary, str(tmp_path), mutate)
    try:
        assert_alive(gateway, "on start with the edited rollout")
        status, rollout, _ = api(gateway.admin_port, "GET", f"/routes/{ROUTE}/rollout")
        assert status == 200, rollout
        assert rollout["state"] == "aborted", f"the invalid stored rollout was resumed instead of quarantined: {rollout['state']} / {rollout.get('reason')}"
        assert "quarantined" in rollout["reason"], rollout["reason"]
        for word in reason_words:
            assert word in rollout["reason"], f"the reason does not name {word!r}: {rollout['reason']}"
        assert rollout["transitions"][-1]["action"] == "rollout.quarantined", rollout["transitions"][-1]
        assert weights(gateway.admin_port) == stored_canary["weights"], "quarantine must leave the route's weights as they were"
        assert_serves(gateway, "after the quarantine")

        # The quarantine is stored: the next start finds an ended rollout, not the bad one again.
        gateway.stop()
        gateway = None
        gateway = Process(serve_args(stored_canary["config"], str(tmp_path)), env=stored_canary["env"])
        assert_alive(gateway, "on the second start")
        status, history, _ = api(gateway.admin_port, "GET", f"/routes/{ROUTE}/rollouts?limit=5")
        assert status == 200, history
        again = [entry for entry in history["rollouts"] if entry["id"] == rollout["id"]]
        assert again and again[0]["state"] == "aborted" and "quarantined" in again[0]["reason"], history
        assert "quarantined" not in gateway.output(), "the quarantine was not saved: the second start quarantined the rollout again"
        assert_serves(gateway, "after the second start")
    finally:
        if gateway is not None:
            gateway.stop()


@pytest.mark.parametrize("document", ['{"actor":"admin","analysisPasses":0,"plan":{"steps":[{"setW', "{}", "null"],
                         ids=["torn-write", "empty-object", "null"])
def test_a_stored_rollout_that_cannot_be_decoded_is_set_aside_on_start_and_traffic_flows(stored_canary, tmp_path, document):
    gateway = start_on_copy(stored_canary, str(tmp_path), lambda _: document)
    try:
        assert_alive(gateway, "on start with an unreadable rollout")
        assert "cannot be read back" in gateway.output(), gateway.output()[-3000:]
        assert_serves(gateway, "with the unreadable rollout set aside")
        status, reply, _ = api(gateway.admin_port, "POST", f"/routes/{ROUTE}/rollouts", PLAN)
        assert status == 201, f"a new rollout could not start after the unreadable one was set aside: {reply}"
    finally:
        gateway.stop()


# ----------------------------------------------------------------------------- (b) far catalog dates

CATALOG = """
entries:
  - provider: openai
    model: gpt-4o
    version: "2024-11-20"
    source: test
    dates:
      standard: {{ {stable_dates} }}
  - provider: openai
    model: gpt-4o
    version: "2025-05-13"
    source: test
    dates:
      standard: {{ {canary_dates} }}
"""


def lifecycle_dates(port):
    status, report, _ = api(port, "GET", "/lifecycle")
    assert status == 200, report
    return report["catalog"], {entry["version"]: (entry.get("deprecation"), entry.get("retirement")) for entry in report["entries"]
                               if entry["model"] == "gpt-4o" and entry["provider"] == "openai"}


def test_catalog_dates_in_2300_and_9999_on_versions_in_use_are_accepted_served_and_survive_a_restart_and_year_1000_is_refused():
    stack = ServedStack(canary_weight=10)
    try:
        far = CATALOG.format(stable_dates='deprecation: "2026-01-01", retirement: "2300-01-01"', canary_dates='retirement: "9999-12-31"')
        status, reply, _ = api(stack.gateway.admin_port, "PUT", "/lifecycle/catalog", far, "application/yaml")
        assert status == 200, reply
        source, dates = lifecycle_dates(stack.gateway.admin_port)
        assert source.startswith("api"), source
        assert dates == {"2024-11-20": ("2026-01-01", "2300-01-01"), "2025-05-13": (None, "9999-12-31")}, dates
        assert_serves(stack.gateway, "with retirements in 2300 and 9999")

        restart(stack, "with the far catalog stored")  # this start reads the catalog back (it used to trap here, for ever)
        assert_alive(stack.gateway, "after a restart with the far catalog stored")
        assert lifecycle_dates(stack.gateway.admin_port)[1] == dates, "the stored catalog did not come back after the restart"
        assert_serves(stack.gateway, "after the restart")

        for field, dates_text in [("deprecation", 'deprecation: "1000-01-01", retirement: "2300-01-01"'),
                                  ("retirement", 'retirement: "1000-01-01"'),
                                  ("retirement", 'retirement: "10000-01-01"'),
                                  ("retirement", 'retirement: "1969-12-31"')]:
            value = dates_text.rsplit('"', 2)[-2] if field == "retirement" else "1000-01-01"
            bad = CATALOG.format(stable_dates=dates_text, canary_dates='retirement: "2027-01-01"')
            status, reply, _ = api(stack.gateway.admin_port, "PUT", "/lifecycle/catalog", bad, "application/yaml")
            assert status == 422, f"{value}: {status} {reply}"
            message = reply["error"]["message"]
            assert value in message and field in message, f"the refusal does not name {field} {value}: {message}"
        assert lifecycle_dates(stack.gateway.admin_port)[1] == dates, "a refused catalog changed the one in use"
        assert_serves(stack.gateway, "after the refusals")
    finally:
        stack.stop()


def test_serve_starts_with_a_catalog_file_dated_9999(tmp_path):
    catalog = tmp_path / "catalog.yaml"
    catalog.write_text(CATALOG.format(stable_dates='retirement: "9999-12-31"', canary_dates='deprecation: "2300-01-01", retirement: "2301-01-01"'))
    simulator = Process(["simulate", "--listen", "127.0.0.1:0", "--latency-ms", "1"])
    config = tmp_path / "routes.yaml"
    config.write_text(managed_config(simulator.port, simulator.port, canary_weight=10))
    env = dict(os.environ, SWITCHYARD_ADMIN_TOKEN=ADMIN_TOKEN)
    try:
        gateway = Process([*serve_args(str(config), str(tmp_path)), "--catalog", str(catalog)], env=env)
    except RuntimeError as error:
        simulator.stop()
        pytest.fail(f"serve --catalog with dates in 2300 and 9999 did not start: {error}")
    try:
        assert_serves(gateway, "with --catalog dated 9999")
        _, dates = lifecycle_dates(gateway.admin_port)
        assert dates["2024-11-20"] == (None, "9999-12-31"), dates
    finally:
        gateway.stop()
        simulator.stop()


# ----------------------------------------------------------------------------- (c) refusals that name the value


def billion_laughs(levels=9):
    """Under 1 KB of YAML whose aliases expand to 10**levels scalars."""
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, levels + 1):
        lines.append(f"a{level}: &a{level} [" + ",".join([f"*a{level - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


ROUTES_WITH_TIMEOUT = """
routes:
  - name: chat-prod
    stable: stable
    deployments:
      - name: stable
        weight: 100
        model: gpt-4o
        version: "2024-11-20"
        upstream: {{ url: "http://127.0.0.1:{port}/v1" }}
        timeouts: {{ connect: 5s, firstToken: 60s, idle: 30s, total: {total} }}
"""


def routes_file_bomb(port, levels=9):
    """A routes file under 1 KB whose one deployment's `params` is a billion-laughs alias."""
    return billion_laughs(levels) + ROUTES_WITH_TIMEOUT.format(port=port, total="10m").replace(
        'version: "2024-11-20"', f'version: "2024-11-20"\n        params: {{ lol: *a{levels} }}')


def route_state(port):
    status, routes, _ = api(port, "GET", "/routes")
    assert status == 200, routes
    return {route["name"]: route["revision"] for route in routes["routes"]}


def test_out_of_bound_durations_and_yaml_alias_bombs_are_refused_naming_the_value_and_the_server_keeps_serving():
    stack = ServedStack(canary_weight=10)
    admin = stack.gateway.admin_port
    try:
        before = route_state(admin)

        status, reply, _ = api(admin, "PUT", "/routes", ROUTES_WITH_TIMEOUT.format(port=stack.stable.port, total="1000000000000s"), "application/yaml")
        assert status == 422, (status, reply)
        message = reply["error"]["message"]
        assert "1000000000000s" in message and "366d" in message, message
        assert route_state(admin) == before, "a refused routes file changed the routes"

        status, reply, _ = api(admin, "GET", f"/routes/{ROUTE}/metrics?window=99999999999999999999d")
        assert status == 400, (status, reply)
        assert "99999999999999999999d" in reply["error"]["message"], reply

        for field, plan in [("deadline", {**PLAN, "deadline": "100000d"}), ("interval", {**PLAN, "interval": "100000d"}),
                            ("steps", {**PLAN, "steps": [{"setWeight": 10}, {"pause": "100000d"}]})]:
            status, reply, _ = api(admin, "POST", f"/routes/{ROUTE}/rollouts", plan)
            assert status == 422, (field, status, reply)
            message = reply["error"]["message"]
            assert "100000d" in message and "366d" in message, message
        status, reply, _ = api(admin, "GET", f"/routes/{ROUTE}/rollout")
        assert status == 404, f"a refused plan left a rollout behind: {reply}"
        assert_serves(stack.gateway, "after the refused durations")

        for levels in (7, 9):  # 10 million (once accepted, 138 MB of state) and a billion scalars
            routes_bomb = routes_file_bomb(stack.stable.port, levels)
            assert len(routes_bomb) < 1024
            status, reply, elapsed = api(admin, "PUT", "/routes", routes_bomb, "application/yaml")
            assert status == 422, (levels, status, reply)
            assert "expands" in reply["error"]["message"], reply
            assert elapsed < 2, f"refusing the {levels}-level alias bomb as a routes file took {elapsed:.1f} s"
            assert route_state(admin) == before
        bomb = billion_laughs()

        plan_bomb = bomb + "strategy: canary\ncanary: canary\nsteps: [{setWeight: 10}]\nlol: *a9\n"
        status, reply, elapsed = api(admin, "POST", f"/routes/{ROUTE}/rollouts", plan_bomb, "application/yaml")
        # Well-formed YAML over the expansion bound: 422, as PUT /routes answers for the same document.
        assert status == 422, (status, reply)
        assert "expands" in reply["error"]["message"], reply
        assert elapsed < 2, f"refusing the alias bomb as a rollout plan took {elapsed:.1f} s"

        assert_serves(stack.gateway, "after the alias bombs")
        assert route_state(admin) == before
    finally:
        stack.stop()


EMPTY_DOCUMENTS = ["", "{}", "routes: []", "# a routes file with nothing but a comment\n", "null", "routes:", "---\n", "  \n\n"]


def test_a_document_with_no_routes_is_refused_without_deleting_anything_unless_allowEmpty_says_so():
    stack = ServedStack(canary_weight=10)
    admin = stack.gateway.admin_port
    try:
        before = route_state(admin)
        assert before, "the stack has a route to lose"
        for document in EMPTY_DOCUMENTS:
            status, reply, _ = api(admin, "PUT", "/routes", document, "application/yaml")
            assert status == 422, f"{document!r}: {status} {reply}"
            assert reply["error"]["code"] == "no_routes_declared", f"{document!r}: {reply}"
            assert "allowEmpty=true" in reply["error"]["message"], reply
            assert route_state(admin) == before, f"{document!r} deleted or changed routes although it was refused"
        assert_serves(stack.gateway, "after the refused empty documents")

        status, reply, _ = api(admin, "PUT", "/routes?allowEmpty=true", "routes: []", "application/yaml")
        assert status == 200, reply
        assert reply["deleted"] == [ROUTE], reply
        assert route_state(admin) == {}, "allowEmpty=true did not delete the routes"
        connection = http.client.HTTPConnection("127.0.0.1", stack.gateway.port, timeout=30)
        connection.request("POST", "/v1/chat/completions", json.dumps({"model": ROUTE, "messages": [{"role": "user", "content": "hi"}]}),
                           {"Content-Type": "application/json"})
        response = connection.getresponse()
        assert response.status == 404 and json.loads(response.read())["error"]["code"] == "model_not_found"
        connection.close()
        assert_alive(stack.gateway, "with every route deleted on purpose")
    finally:
        stack.stop()


def test_serve_refuses_to_start_on_an_emptied_or_alias_bomb_routes_file_and_the_stored_routes_survive(tmp_path):
    stack = ServedStack(canary_weight=10)
    running = True
    try:
        before = route_state(stack.gateway.admin_port)
        stack.gateway.stop()
        running = False
        for name, text, words in [("emptied.yaml", "# emptied by mistake\n", "declares no routes"),
                                  ("bomb.yaml", routes_file_bomb(stack.stable.port), "expands")]:
            path = tmp_path / name
            path.write_text(text)
            started = time.monotonic()
            result = subprocess.run([BIN, *serve_args(str(path), stack.state_dir)], env=stack.env, capture_output=True, text=True, timeout=60)
            elapsed = time.monotonic() - started
            output = result.stdout + result.stderr
            assert result.returncode != 0, f"serve started on {name}:\n{output[-2000:]}"
            assert words in output and name in output, f"serve's refusal of {name} does not say why:\n{output[-2000:]}"
            assert elapsed < 10, f"serve took {elapsed:.1f} s to refuse {name}"
        stack.gateway = Process(serve_args(stack.config.name, stack.state_dir), env=stack.env)
        running = True
        assert route_state(stack.gateway.admin_port) == before, "a refused start changed the stored routes"
        assert_serves(stack.gateway, "on the original file after the refused starts")
    finally:
        if running:
            stack.stop()
        else:
            stack.stable.stop()
            os.unlink(stack.config.name)
            stack.state.cleanup()


# ----------------------------------------------------------------------------- stored routes that no longer validate


def corrupt_route(document):
    route = json.loads(document)
    route["deployments"][0]["upstream"]["url"] = "http://127.0.0.1:99999/v1"
    return json.dumps(route)


@pytest.mark.parametrize("column, corrupt", [
    ("document", corrupt_route),
    ("document", lambda document: document[: len(document) // 2]),
    ("allocation", lambda allocation: "[]"),
    ("document", lambda document: 42),
], ids=["a-port-past-65535", "a-half-written-document", "an-empty-bucket-allocation", "a-document-of-the-wrong-type"])
def test_a_stored_route_that_no_longer_validates_stops_the_start_with_a_message_not_a_crash(stored_canary, tmp_path, column, corrupt):
    for name in os.listdir(stored_canary["state"]):
        shutil.copy(os.path.join(stored_canary["state"], name), tmp_path)
    with sqlite3.connect(os.path.join(tmp_path, "state.sqlite")) as db:
        (value,), = db.execute(f"SELECT {column} FROM routes WHERE name = ?", (ROUTE,)).fetchall()
        db.execute(f"UPDATE routes SET {column} = ? WHERE name = ?", (corrupt(value), ROUTE))
    process = subprocess.run([BIN, *serve_args(stored_canary["config"], str(tmp_path))], env=stored_canary["env"],
                             capture_output=True, text=True, timeout=60)
    output = process.stdout + process.stderr
    assert process.returncode == 1, f"exit {process.returncode} (a signal is negative: a crash):\n{output[-2000:]}"
    assert ROUTE in output or "state store" in output, output[-2000:]
    assert "Fatal error" not in output
