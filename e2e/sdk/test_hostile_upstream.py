"""A hostile upstream behind a real `serve` process (issue 13: never crash,
never lose, never lie).

The route's stable deployment is a normal `switchyard simulate`; its second
deployment is `hostile_upstream.HostileUpstream`, which answers with 429s
carrying absurd `Retry-After` / `retry-after-ms`, `usage` numbers no model
produces, broken server-sent event framing and hostile headers. The gateway
must stay up, answer every client with a 2xx/4xx or a clean JSON 502/503/504,
never send a client a wait over 10 minutes (or echo `inf`/`1e20`), never end
a broken stream with a clean `[DONE]`, and keep every figure it reports
finite — while the hostile deployment takes canary traffic, and while it is
the shadow of a shadow rollout (which must also survive a restart)."""

import http.client
import json
import math
import os
import re
import tempfile
import threading
import time

import openai
from openai import OpenAI

from conftest import ADMIN_TOKEN, Process, serve_args
from hostile_upstream import (GOOD_STREAM, INCOMPLETE_STREAMS, PLAIN_REPLIES, THROTTLES, HostileUpstream)

ROUTE = "hostile-route"

CONFIG = """
routes:
  - name: {route}
    stable: stable
    allowPinning: true
    deployments:
      - name: stable
        weight: {stable_weight}
        model: gpt-4o
        version: "2024-11-20"
        upstream: {{ url: "http://127.0.0.1:{stable}/v1" }}
        price: {{ inputPer1k: 0.0025, outputPer1k: 0.01 }}
      - name: hostile
        weight: {hostile_weight}
        model: gpt-4o
        version: "2025-05-13"
        upstream: {{ url: "http://127.0.0.1:{hostile}/v1" }}
        price: {{ inputPer1k: 0.0025, outputPer1k: 0.01 }}
        timeouts: {{ connect: 2s, firstToken: 10s, idle: 10s, total: 20s }}
"""

# The longest wait the gateway may pass on to a client (RetryAfter.maximum).
MAX_RETRY_AFTER_SECONDS = 600


class HostileStack:
    """A simulator, a hostile upstream and `serve` on one routes file and one state folder."""

    def __init__(self, hostile, hostile_weight):
        self.hostile = hostile
        self.stable = Process(["simulate", "--listen", "127.0.0.1:0", "--latency-ms", "1"])
        self.config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        self.config.write(CONFIG.format(route=ROUTE, stable=self.stable.port, hostile=hostile.port,
                                        stable_weight=100 - hostile_weight, hostile_weight=hostile_weight))
        self.config.close()
        self.state = tempfile.TemporaryDirectory()
        self.env = dict(os.environ, SWITCHYARD_ADMIN_TOKEN=ADMIN_TOKEN)
        self.gateway = Process(serve_args(self.config.name, self.state.name), env=self.env)

    def restart(self):
        """Stops `serve` (SIGTERM) and starts it again on the same file and state folder."""
        self.gateway.stop()
        try:
            self.gateway = Process(serve_args(self.config.name, self.state.name), env=self.env)
        except RuntimeError as error:
            self.gateway = None
            raise AssertionError(f"serve did not start again on the same state (crash loop?): {error}") from None

    def assert_alive(self, phase):
        code = self.gateway.proc.poll()
        assert code is None, f"serve died {phase} (exit status {code}); its log ends:\n{self.gateway.output()[-4000:]}"

    def stop(self):
        if self.gateway is not None:
            self.gateway.stop()
        self.stable.stop()
        self.hostile.stop()
        os.unlink(self.config.name)
        self.state.cleanup()


def admin(port, method, path, body=None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, f"/api/v1{path}", json.dumps(body) if body is not None else None,
                           {"Authorization": f"Bearer {ADMIN_TOKEN}", "Content-Type": "application/json"})
        response = connection.getresponse()
        data = response.read()
        return response.status, json.loads(data) if data else None
    finally:
        connection.close()


def chat(port, probe, stream=False, pin=False):
    """A plain HTTP chat request carrying `hostile-probe-N`; (status, [(header, value)], body)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {"Content-Type": "application/json"}
    if pin:
        headers["x-switchyard-deployment"] = "hostile"
    body = {"model": ROUTE, "user": f"user-{probe}", "stream": stream,
            "messages": [{"role": "user", "content": f"hostile-probe-{probe}"}]}
    try:
        connection.request("POST", "/v1/chat/completions", json.dumps(body), headers)
        response = connection.getresponse()
        return response.status, response.getheaders(), response.read()
    except (OSError, http.client.HTTPException) as error:
        return 0, [], f"{type(error).__name__}: {error}".encode()
    finally:
        connection.close()


def reply_problems(status, headers, body):
    """What is wrong with one reply the gateway gave a client, as sentences (empty: nothing)."""
    problems = []
    if status == 0:
        problems.append(f"the connection failed: {body[:200]!r}")
        return problems
    if status >= 500 and status not in (502, 503, 504):
        problems.append(f"status {status} (only a clean 502/503/504 may be a 5xx)")
    if status != 200:
        try:
            error = json.loads(body)["error"]
            assert isinstance(error["message"], str) and isinstance(error["code"], str)
        except Exception:
            problems.append(f"status {status} without a JSON error body: {body[:200]!r}")
    content_type = next((value for name, value in headers if name.lower() == "content-type"), "")
    if status == 200 and content_type.startswith("application/json") and body is not None:
        # An empty or cut-off upstream body is a failure (failed over, or a 502), never a 200.
        try:
            assert isinstance(json.loads(body), dict)
        except Exception:
            problems.append(f"a 200 whose body is not a whole JSON object: {body[:200]!r}")
    for name, value in headers:
        lowered = name.lower()
        if lowered not in ("retry-after", "retry-after-ms"):
            continue
        if not re.fullmatch(r"[0-9]+", value.strip()):
            problems.append(f"{name}: {value!r} is not a whole number of {'ms' if lowered.endswith('ms') else 'seconds'}")
            continue
        limit = MAX_RETRY_AFTER_SECONDS * (1000 if lowered.endswith("ms") else 1)
        if int(value) > limit:
            problems.append(f"{name}: {value} is over the {MAX_RETRY_AFTER_SECONDS} s maximum")
    return problems


def non_finite_numbers(value, path="$"):
    """Paths of numbers in a parsed JSON document that are not finite, or absurdly large, or negative counts."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            found += non_finite_numbers(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += non_finite_numbers(item, f"{path}[{index}]")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value):
            found.append(f"{path} = {value}")
        elif "token" in path.lower() and not (0 <= value <= 10 ** 12):
            found.append(f"{path} = {value} (a token figure no bounded count can add up to)")
        elif "cost" in path.lower() and not (-1e-9 <= value <= 1e9):
            found.append(f"{path} = {value} (a cost no bounded count can add up to)")
    return found


def parse_json_numbers_strictly(data):
    """json.loads that refuses NaN and Infinity, as RFC 8259 does."""
    def refuse(constant):
        raise ValueError(f"non-JSON constant {constant}")
    return json.loads(data, parse_constant=refuse)


def prometheus_problems(port):
    """Sample lines of the gateway's /metrics whose value is NaN/Inf or whose token/cost figure is absurd."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request("GET", "/metrics")
        response = connection.getresponse()
        text = response.read().decode()
        assert response.status == 200, text[:500]
    finally:
        connection.close()
    problems = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        value = line.rsplit(" ", 1)[-1]
        try:
            number = float(value)
        except ValueError:
            problems.append(line)
            continue
        if not math.isfinite(number):
            problems.append(line)
        elif ("token" in line or "cost" in line) and number > 1e12:
            problems.append(line)
    return problems


class Traffic:
    """Client threads sending chat requests until `stop()`, recording every reply."""

    def __init__(self, port):
        self.port = port
        self.stop_event = threading.Event()
        self.lock = threading.Lock()
        self.replies = []  # (kind, probe, stream, status, headers, body or note)
        self.next_probe = 0
        self.threads = []

    def probe(self):
        with self.lock:
            self.next_probe += 1
            return self.next_probe

    def record(self, *reply):
        with self.lock:
            self.replies.append(reply)

    def start(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        self.threads.append(thread)
        thread.start()

    def pinned(self, stream):
        """Requests pinned to the hostile deployment (no failover): every hostile reply reaches a client."""
        while not self.stop_event.is_set():
            probe = self.probe()
            status, headers, body = chat(self.port, probe, stream=stream, pin=True)
            self.record("pinned", probe, stream, status, headers, body)
            if status in (429, 503):
                time.sleep(0.05)  # the deployment is held back after a 429: no need to spin

    def unpinned_http(self):
        """Requests split by weight (failover allowed), streamed and not, over plain HTTP."""
        stream = False
        while not self.stop_event.is_set():
            probe = self.probe()
            stream = not stream
            status, headers, body = chat(self.port, probe, stream=stream)
            self.record("unpinned", probe, stream, status, headers, body)

    def unpinned_sdk(self):
        """Requests split by weight through the official OpenAI SDK, streamed and not."""
        client = OpenAI(base_url=f"http://127.0.0.1:{self.port}/v1", api_key="-", max_retries=0, timeout=60)
        stream = False
        while not self.stop_event.is_set():
            probe = self.probe()
            stream = not stream
            messages = [{"role": "user", "content": f"hostile-probe-{probe}"}]
            try:
                raw = client.chat.completions.with_raw_response.create(model=ROUTE, messages=messages, user=f"sdk-{probe}", stream=stream)
                status, headers = raw.http_response.status_code, list(raw.http_response.headers.items())
                note = None if stream else raw.http_response.content  # the body, checked like a plain client's (a stream: its events)
                if stream:
                    try:
                        for _ in raw.parse():
                            pass
                    except Exception as error:  # a stream the upstream broke: the SDK raises, as it should
                        note = f"stream raised {type(error).__name__}: {error}".encode()
            except openai.APIStatusError as error:
                status, headers, note = error.status_code, list(error.response.headers.items()), error.response.content
            except openai.APIConnectionError as error:
                status, headers, note = 0, [], f"connection error: {error}".encode()
            self.record("sdk", probe, stream, status, headers, note)

    def stop(self):
        self.stop_event.set()
        for thread in self.threads:
            thread.join(90)
        return self.replies


def wait_until(predicate, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def test_a_hostile_canary_at_50_percent_never_crashes_the_gateway_never_leaks_absurd_retry_after_and_never_fakes_a_complete_stream():
    hostile = HostileUpstream()
    stack = HostileStack(hostile, hostile_weight=50)
    try:
        port = stack.gateway.port
        traffic = Traffic(port)
        traffic.start(traffic.pinned, False)
        traffic.start(traffic.pinned, True)
        traffic.start(traffic.unpinned_http)
        traffic.start(traffic.unpinned_sdk)
        covered = wait_until(lambda: (hostile.count(False) >= len(hostile.plain) and hostile.count(True) >= len(hostile.stream))
                             or stack.gateway.proc.poll() is not None, timeout=90, step=0.2)
        replies = traffic.stop()
        stack.assert_alive("while a hostile upstream took half the traffic")

        served = hostile.names_served()
        missing = {reply.name for reply in hostile.plain + hostile.stream} - served
        assert covered and not missing, (
            f"the hostile upstream was not reached with every reply within 90 s "
            f"(served {hostile.count(False)}/{len(hostile.plain)} plain, {hostile.count(True)}/{len(hostile.stream)} streamed); "
            f"never sent: {sorted(missing)}")

        bad = []
        for kind, probe, stream, status, headers, body in replies:
            for problem in reply_problems(status, headers, body):
                bad.append(f"{kind} {'stream' if stream else 'plain'} #{probe} ({hostile.by_probe().get(probe)}): {problem}")
        assert not bad, f"{len(bad)} of {len(replies)} client replies were wrong, e.g.:\n" + "\n".join(bad[:15])

        # Failover hides the hostile deployment from clients that are not pinned to it.
        failed = [(kind, probe, stream, status, body[:300]) for kind, probe, stream, status, _, body in replies
                  if kind != "pinned" and status != 200]
        assert not failed, f"clients not pinned to the hostile deployment got errors although 'stable' was healthy: {failed[:5]}"

        # The 429s reached clients (pinned, no failover) with a bounded wait: the header check above was not vacuous.
        waits = [value for _, _, _, status, headers, _ in replies if status == 429 for name, value in headers if name.lower() == "retry-after"]
        assert waits, "no client ever got a 429 with Retry-After from the hostile deployment's 429s"

        # Never lie: a stream the upstream broke after it had started never ends with a clean [DONE]
        # (plain HTTP clients see the stream_interrupted error event; the SDK raises).
        by_probe = hostile.by_probe()
        checked, faked = 0, []
        for kind, probe, stream, status, headers, body in replies:
            names = set(by_probe.get(probe, [])) & INCOMPLETE_STREAMS
            if not stream or status != 200 or not names or dict((k.lower(), v) for k, v in headers).get("x-switchyard-deployment") != "hostile":
                continue
            checked += 1
            if kind == "sdk":
                if not body.startswith(b"stream raised"):
                    faked.append(f"SDK #{probe} {sorted(names)}: the stream ended without an error")
            elif body.rstrip().endswith(b"data: [DONE]") or b"stream_interrupted" not in body:
                faked.append(f"{kind} #{probe} {sorted(names)}: ...{body[-200:]!r}")
        assert checked, "no broken upstream stream reached a client: the check below would be vacuous"
        assert not faked, "a broken upstream stream reached the client as a complete one:\n" + "\n".join(faked)

        # Absurd Retry-After values are ignored: the deployment is tried again within seconds, not held for centuries.
        log = hostile.log()
        throttles = {reply.name for reply in THROTTLES}
        gaps = [(log[i][2], round(log[i + 1][3] - log[i][3], 1)) for i in range(len(log) - 1) if log[i][2] in throttles]
        held = [gap for gap in gaps if gap[1] > 15]
        assert gaps and not held, f"after these 429s the hostile deployment was held back for long: {held}"
        before = hostile.count()
        assert wait_until(lambda: chat(port, traffic.probe(), pin=True)[0] and hostile.count() > before, timeout=15, step=0.3), \
            "after the last absurd Retry-After the hostile deployment was not tried again within 15 s"

        # Never lie in the figures: bounded token counts and costs, whatever the upstream claimed.
        status, metrics = admin(stack.gateway.admin_port, "GET", f"/routes/{ROUTE}/metrics?window=5m")
        assert status == 200, metrics
        assert not non_finite_numbers(metrics), non_finite_numbers(metrics)
        assert not prometheus_problems(port), prometheus_problems(port)[:10]
        stack.assert_alive("after the metrics were read")
    finally:
        stack.stop()


def test_a_shadow_rollout_onto_a_hostile_upstream_never_crashes_the_gateway_its_report_stays_finite_and_it_resumes_after_a_restart():
    # No interleaving needed: shadow calls stay out of breakers and holds. Every plain reply, twice per cycle pass.
    hostile = HostileUpstream(plain=list(PLAIN_REPLIES), stream=[GOOD_STREAM])
    stack = HostileStack(hostile, hostile_weight=0)
    try:
        admin_port = stack.gateway.admin_port

        def drive(until_count, phase, during=lambda: None):
            traffic = Traffic(stack.gateway.port)
            for _ in range(3):
                traffic.start(traffic.unpinned_http)
            during()
            reached = wait_until(lambda: hostile.count(False) >= until_count or stack.gateway.proc.poll() is not None, timeout=60, step=0.2)
            replies = traffic.stop()
            stack.assert_alive(phase)
            assert reached, f"{phase}: the shadow reached the hostile upstream {hostile.count(False)} times, not {until_count}, within 60 s"
            plain = [reply for reply in replies if not reply[2]]
            failed = [(probe, status, body[:200]) for _, probe, stream, status, _, body in plain if status != 200]
            assert plain and not failed, f"{phase}: the shadow touched client replies: {failed[:5]}"
            bad = [problem for reply in replies for problem in reply_problems(*reply[3:])]
            assert not bad, f"{phase}: {bad[:10]}"

        def start_shadow():
            time.sleep(0.5)  # traffic is flowing
            status, rollout = admin(admin_port, "POST", f"/routes/{ROUTE}/rollouts", {"strategy": "shadow", "shadow": "hostile", "sample": 100})
            assert status == 201, rollout
            assert rollout["state"] == "progressing", rollout

        # Twice round the cycle: the same absurd usage (9e18, 1e300…) lands on the report twice.
        drive(2 * len(PLAIN_REPLIES), "while the shadow mirrored onto the hostile upstream", during=start_shadow)
        missing = {reply.name for reply in PLAIN_REPLIES} - hostile.names_served()
        assert not missing, f"the shadow never received: {sorted(missing)}"

        def report_is_sane(phase):
            status, report = admin(stack.gateway.admin_port, "GET", f"/routes/{ROUTE}/report")
            assert status == 200, f"{phase}: GET /report answered {status}: {report}"
            assert not non_finite_numbers(report), f"{phase}: {non_finite_numbers(report)}"
            return report

        report = report_is_sane("after the hostile usage numbers")
        connection = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=30)
        connection.request("GET", f"/api/v1/routes/{ROUTE}/report", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        parse_json_numbers_strictly(connection.getresponse().read())  # no NaN / Infinity constants in the JSON either
        connection.close()
        assert "hostile" in json.dumps(report), report
        stack.assert_alive("after the report was read")

        # Restart on the same state: the shadow resumes (this was the crash loop) and keeps mirroring.
        before = hostile.count(False)
        stack.restart()
        stack.assert_alive("after the restart")
        assert "resuming the shadow rollout" in stack.gateway.output(), stack.gateway.output()[-3000:]
        status, rollout = admin(stack.gateway.admin_port, "GET", f"/routes/{ROUTE}/rollout")
        assert status == 200 and rollout["state"] == "progressing", rollout
        drive(before + len(PLAIN_REPLIES), "after the restart, while the resumed shadow mirrored")
        report_is_sane("after the restart")
        stack.assert_alive("at the end")
    finally:
        stack.stop()
