"""OpenTelemetry traces from a real `switchyard serve` (swift-otel's OTLP/HTTP
exporter) into a real OTLP receiver, with the official openai SDK as the
client: the client's trace is continued, each upstream attempt is a child
span whose context reaches the upstream, GenAI attributes are set, and the
access log names the same trace."""

import json
import os
import tempfile
import time
import urllib.request

import openai
import pytest

from conftest import ADMIN_TOKEN, Process, managed_config, serve_args
from otlp_receiver import OTLPReceiver

SLOW_ROUTE = """
  - name: slow
    stable: slow
    deployments:
      - name: slow
        weight: 100
        model: gpt-4o
        version: "2024-11-20"
        upstream: {{ url: "http://127.0.0.1:{port}/v1" }}
"""

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
CLIENT_SPAN = "00f067aa0ba902b7"


@pytest.fixture(scope="module")
def traced():
    receiver = OTLPReceiver()
    upstream = Process(["simulate", "--listen", "127.0.0.1:0", "--latency-ms", "1"])
    slow = Process(["simulate", "--listen", "127.0.0.1:0", "--latency-ms", "1", "--tokens-per-second", "5", "--reply-tokens", "200"])
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    config.write(managed_config(upstream.port, upstream.port, 0) + SLOW_ROUTE.format(port=slow.port))
    config.close()
    state = tempfile.TemporaryDirectory()
    access_log = os.path.join(state.name, "access.log")
    # The batch processor's default delay is 5 s; a short one keeps the test quick.
    env = dict(os.environ, SWITCHYARD_ADMIN_TOKEN=ADMIN_TOKEN, OTEL_BSP_SCHEDULE_DELAY="100", OTEL_SERVICE_NAME="switchyard-e2e")
    gateway = Process(serve_args(config.name, state.name) + ["--otel-endpoint", receiver.endpoint, "--access-log", access_log], env=env)
    yield receiver, upstream, gateway, access_log
    gateway.stop()
    upstream.stop()
    slow.stop()
    receiver.stop()
    os.unlink(config.name)
    state.cleanup()


def log_line(access_log, request_id, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with open(access_log) as f:
            for raw in f:
                entry = json.loads(raw)
                if entry.get("request_id") == request_id:
                    return entry
        time.sleep(0.1)
    raise AssertionError(f"no access-log line for {request_id}")


def wait_for(receiver, predicate, timeout=20.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        spans = receiver.snapshot()
        found = [s for s in spans if predicate(s)]
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"no such span among {[(s['name'], s['kind']) for s in receiver.snapshot()]}")


def test_a_streamed_chat_continues_the_clients_trace_with_a_span_per_attempt(traced):
    receiver, upstream, gateway, access_log = traced
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key="unused", max_retries=0)
    stream = client.chat.completions.create(
        model="chat-prod", messages=[{"role": "user", "content": "hello"}], stream=True,
        stream_options={"include_usage": True},
        extra_headers={"traceparent": f"00-{TRACE_ID}-{CLIENT_SPAN}-01", "x-request-id": "trace-test-1"},
    )
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text

    server = wait_for(receiver, lambda s: s["kind"] == "SPAN_KIND_SERVER" and s["trace_id"] == TRACE_ID)[0]
    assert server["parent_span_id"] == CLIENT_SPAN, "the gateway's span is the client's child"
    assert server["name"] == "chat chat-prod"
    attributes = server["attributes"]
    assert attributes["gen_ai.operation.name"] == "chat"
    assert attributes["gen_ai.request.model"] == "chat-prod"
    assert attributes["gen_ai.response.model"] == "gpt-4o@2024-11-20"
    assert attributes["gen_ai.provider.name"] == "openai"
    assert attributes["gen_ai.usage.input_tokens"] > 0
    assert attributes["gen_ai.usage.output_tokens"] > 0
    assert attributes["switchyard.route"] == "chat-prod"
    assert attributes["switchyard.deployment"] == "stable"
    assert attributes["switchyard.route.revision"] == "1"
    assert attributes["switchyard.attempts"] == 1
    assert attributes["switchyard.stream"] is True
    assert attributes["switchyard.time_to_first_token"] > 0
    assert attributes["http.response.status_code"] == 200
    assert attributes["switchyard.request_id"] == "trace-test-1"
    assert server["end"] >= server["start"] > 0
    assert server["resource"]["service.name"] == "switchyard-e2e"
    assert server["content_type"].startswith("application/x-protobuf")

    attempt = wait_for(receiver, lambda s: s["kind"] == "SPAN_KIND_CLIENT" and s["parent_span_id"] == server["span_id"])[0]
    assert attempt["trace_id"] == TRACE_ID
    assert attempt["attributes"]["gen_ai.request.model"] == "gpt-4o"
    assert attempt["attributes"]["server.address"] == "127.0.0.1"
    assert attempt["attributes"]["http.response.status_code"] == 200

    # The upstream saw the attempt as its parent, not the client's span.
    with urllib.request.urlopen(f"http://127.0.0.1:{upstream.port}/simulator/last-request-headers") as reply:
        headers = json.load(reply)
    assert headers["traceparent"].split("-")[1] == TRACE_ID
    assert headers["traceparent"].split("-")[2] == attempt["span_id"]

    deadline = time.time() + 5
    line = None
    while time.time() < deadline and line is None:
        with open(access_log) as f:
            for raw in f:
                entry = json.loads(raw)
                if entry.get("request_id") == "trace-test-1":
                    line = entry
        time.sleep(0.1)
    assert line is not None, "the access log has the request"
    assert line["trace_id"] == TRACE_ID
    assert line["stream"] is True and line["status"] == 200


def test_a_request_without_a_trace_starts_one_and_a_failure_is_an_error_span(traced):
    receiver, _, gateway, _ = traced
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key="unused", max_retries=0)
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="no-such-route", messages=[{"role": "user", "content": "hi"}],
                                       extra_headers={"x-request-id": "trace-test-2"})
    span = wait_for(receiver, lambda s: s["attributes"].get("switchyard.request_id") == "trace-test-2")[0]
    assert span["parent_span_id"] == "", "a new trace"
    assert span["attributes"]["http.response.status_code"] == 404
    assert span["attributes"]["error.type"] == "model_not_found"


def test_a_management_change_and_the_rollout_it_starts_are_spans(traced):
    receiver, _, gateway, _ = traced
    plan = {"strategy": "canary", "canary": "canary", "steps": [{"setWeight": 10}, {"pause": "1h"}]}
    request = urllib.request.Request(
        f"http://127.0.0.1:{gateway.admin_port}/api/v1/routes/chat-prod/rollouts", data=json.dumps(plan).encode(), method="POST",
        headers={"authorization": f"Bearer {ADMIN_TOKEN}", "content-type": "application/json"})
    with urllib.request.urlopen(request) as reply:
        assert reply.status in (200, 201)
    call = wait_for(receiver, lambda s: s["name"] == "management POST")[0]
    assert call["attributes"]["url.path"] == "/api/v1/routes/chat-prod/rollouts"
    assert call["attributes"]["switchyard.actor"]
    start = wait_for(receiver, lambda s: s["name"] == "rollout rollout.start")[0]
    assert start["parent_span_id"] == call["span_id"]
    assert start["trace_id"] == call["trace_id"]
    assert start["attributes"]["switchyard.rollout.strategy"] == "canary"


@pytest.mark.parametrize("variable,value,words", [
    ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc", "OTLP/HTTP only"),
    ("OTEL_TRACES_SAMPLER", "jaeger_remote", "is not supported"),
    ("OTEL_PROPAGATORS", "tracecontext,b3", "'b3' is not supported"),
    ("OTEL_TRACES_EXPORTER", "zipkin", "use otlp"),
])
def test_tracing_settings_this_build_cannot_honour_are_refused_at_start(variable, value, words):
    """The exporter library stops the process on these; serve refuses them first, naming the value."""
    import subprocess
    from conftest import BIN
    with tempfile.TemporaryDirectory() as state:
        config = os.path.join(state, "routes.yaml")
        with open(config, "w") as f:
            f.write(managed_config(9, 9, 0))
        env = dict(os.environ, **{variable: value})
        done = subprocess.run([BIN, *serve_args(config, state), "--otel-endpoint", "http://127.0.0.1:9"],
                              env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 1, done.stderr
    assert f"{variable}=" in done.stderr and words in done.stderr, done.stderr


def test_a_client_that_leaves_mid_stream_is_logged_and_its_spans_end(traced):
    import http.client
    receiver, _, gateway, access_log = traced
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=10)
    body = json.dumps({"model": "slow", "stream": True, "messages": [{"role": "user", "content": "hi"}]})
    connection.request("POST", "/v1/chat/completions", body=body,
                       headers={"content-type": "application/json", "x-request-id": "leaves-early"})
    reply = connection.getresponse()
    assert reply.status == 200
    assert reply.getheader("x-switchyard-request-id") == "leaves-early"
    assert reply.read(6) == b"data: "
    connection.sock.shutdown(2)
    connection.close()
    line = log_line(access_log, "leaves-early", timeout=10)
    assert line["status"] == 200 and line["error"] == "client_closed" and line["level"] == "warning"
    assert line["stream"] is True
    server = wait_for(receiver, lambda s: s["attributes"].get("switchyard.request_id") == "leaves-early")[0]
    assert server["attributes"]["error.type"] == "client_closed"
    assert server["status"] != "STATUS_CODE_ERROR", "a client leaving is not the gateway failing"
    wait_for(receiver, lambda s: s["kind"] == "SPAN_KIND_CLIENT" and s["parent_span_id"] == server["span_id"])


def test_lines_still_in_memory_are_written_at_shutdown(traced):
    """SIGTERM: serve drains, then the access log writes what it holds before the process exits."""
    _, upstream, _, _ = traced
    with tempfile.TemporaryDirectory() as state:
        config = os.path.join(state, "routes.yaml")
        with open(config, "w") as f:
            f.write(managed_config(upstream.port, upstream.port, 0))
        access_log = os.path.join(state, "access.log")
        gateway = Process(serve_args(config, state) + ["--access-log", access_log])
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{gateway.port}/v1", api_key="unused", max_retries=0)
        for index in range(20):
            client.chat.completions.create(model="chat-prod", messages=[{"role": "user", "content": "hi"}],
                                           extra_headers={"x-request-id": f"shutdown-{index}"})
        gateway.proc.terminate()
        assert gateway.proc.wait(timeout=15) == 0
        with open(access_log) as f:
            ids = [json.loads(raw)["request_id"] for raw in f]
        gateway.stop()
    assert ids == [f"shutdown-{index}" for index in range(20)]
