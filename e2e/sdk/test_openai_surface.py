"""The rest of the OpenAI surface through the gateway, with the official SDK:
the Responses API (plain, streamed, a 20-turn chain across a 50/50 split,
retrieve and delete), embeddings, params as defaults, a 64-bit seed kept
digit for digit, trace and request-id headers both ways, and a streamed
request mirrored to a shadow."""

import json
import os
import tempfile
import time
import urllib.request

import openai
import pytest
from openai import OpenAI

from conftest import Process, serve_args

TOKEN = "surface-admin-token"

CONFIG = """
routes:
  - name: split
    stable: a
    deployments:
      - name: a
        weight: 50
        model: gpt-4o
        version: "2024-11-20"
        upstream: {{ url: "http://127.0.0.1:{a}/v1" }}
        prompt: {{ version: p1, system: "Be brief." }}
        params: {{ temperature: 0.2, max_tokens: 800 }}
      - name: b
        weight: 50
        model: gpt-4o
        version: "2025-05-13"
        upstream: {{ url: "http://127.0.0.1:{b}/v1" }}
        prompt: {{ version: p1, system: "Be brief." }}
        params: {{ temperature: 0.2, max_tokens: 800 }}
  - name: solo
    stable: a
    deployments:
      - name: a
        weight: 100
        model: gpt-4o
        version: "2024-11-20"
        upstream: {{ url: "http://127.0.0.1:{a}/v1" }}
        params: {{ temperature: 0.2, max_tokens: 800 }}
        enforce: {{ max_tokens: 100 }}
      - name: shadow
        weight: 0
        model: gpt-4o
        version: "2025-05-13"
        upstream: {{ url: "http://127.0.0.1:{b}/v1" }}
  - name: embed
    stable: small
    deployments:
      - name: small
        model: text-embedding-3-small
        version: "2024-01-25"
        upstream: {{ url: "http://127.0.0.1:{a}/v1" }}
"""


class Stack:
    def __init__(self):
        self.a = Process(["simulate", "--listen", "127.0.0.1:0", "--version", "2024-11-20", "--latency-ms", "1", "--tokens-per-second", "1000"])
        self.b = Process(["simulate", "--listen", "127.0.0.1:0", "--version", "2025-05-13", "--latency-ms", "1", "--tokens-per-second", "1000"])
        self.config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        self.config.write(CONFIG.format(a=self.a.port, b=self.b.port))
        self.config.close()
        self.state = tempfile.TemporaryDirectory()
        self.gateway = Process(serve_args(self.config.name, self.state.name), env=dict(os.environ, SWITCHYARD_ADMIN_TOKEN=TOKEN))
        self.base = f"http://127.0.0.1:{self.gateway.port}"

    def client(self):
        return OpenAI(base_url=f"{self.base}/v1", api_key="open-gateway", max_retries=0)

    def last_request(self, simulator):
        with urllib.request.urlopen(f"http://127.0.0.1:{simulator.port}/simulator/last-request") as reply:
            return reply.read().decode()

    def last_headers(self, simulator):
        with urllib.request.urlopen(f"http://127.0.0.1:{simulator.port}/simulator/last-request-headers") as reply:
            return json.load(reply)

    def admin(self, method, path, body=None):
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.gateway.admin_port}/api/v1{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request) as reply:
            return json.load(reply)

    def stop(self):
        for process in (self.gateway, self.a, self.b):
            process.stop()
        os.unlink(self.config.name)
        self.state.cleanup()


@pytest.fixture(scope="module")
def stack():
    running = Stack()
    yield running
    running.stop()


def test_responses_create_returns_text_usage_and_the_providers_request_id(stack):
    raw = stack.client().responses.with_raw_response.create(model="split", input="Say hello.")
    response = raw.parse()
    assert response.id.startswith("resp_sim_")
    assert response.output_text.startswith("hello from gpt-4o")
    assert response.usage.output_tokens > 0
    assert response._request_id and response._request_id.startswith("req_sim_"), "x-request-id comes back"
    assert raw.headers["x-switchyard-deployment"] in ("a", "b")


def test_a_streamed_response_arrives_as_typed_events_ending_with_completed(stack):
    events = list(stack.client().responses.create(model="split", input="Say hello.", stream=True))
    types = [event.type for event in events]
    assert types[0] == "response.created"
    assert "response.output_text.delta" in types
    assert types[-1] == "response.completed"
    assert events[-1].response.usage.output_tokens > 0
    text = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert text.startswith("hello from gpt-4o")


def test_a_twenty_turn_chain_across_a_50_50_split_stays_on_one_deployment(stack):
    client = stack.client()
    previous = None
    deployments = set()
    for turn in range(20):
        raw = client.responses.with_raw_response.create(model="split", input=f"turn {turn}", previous_response_id=previous)
        previous = raw.parse().id
        deployments.add(raw.headers["x-switchyard-deployment"])
    assert len(deployments) == 1, deployments
    retrieved = client.responses.retrieve(previous)
    assert retrieved.id == previous
    items = client.responses.input_items.list(previous)
    assert len(items.data) >= 1
    client.responses.delete(previous)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(previous)


def test_embeddings_arrive_as_vectors_the_sdk_decodes(stack):
    result = stack.client().embeddings.create(model="embed", input=["alpha", "beta"])
    assert len(result.data) == 2
    assert len(result.data[0].embedding) == 8
    assert result.data[0].embedding != result.data[1].embedding
    again = stack.client().embeddings.create(model="embed", input="alpha")
    assert again.data[0].embedding == result.data[0].embedding, "deterministic per text and model"
    assert result.usage.prompt_tokens > 0


def test_params_are_defaults_and_the_clients_values_win(stack):
    client = stack.client()
    client.chat.completions.create(model="split", messages=[{"role": "user", "content": "hi"}], temperature=0.9,
                                   max_completion_tokens=50, extra_headers={"x-switchyard-user": "defaults"})
    sent = [json.loads(stack.last_request(sim)) for sim in (stack.a, stack.b)]
    sent = next(body for body in sent if body.get("max_completion_tokens") == 50)
    assert sent["temperature"] == 0.9
    assert "max_tokens" not in sent, "never both token caps"
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    client.chat.completions.create(model="solo", messages=[{"role": "user", "content": "hi"}])
    sent = json.loads(stack.last_request(stack.a))
    assert sent["temperature"] == 0.2 and sent["max_tokens"] == 100


def test_an_enforced_cap_is_applied_and_said(stack):
    raw = stack.client().chat.completions.with_raw_response.create(model="solo", messages=[{"role": "user", "content": "hi"}], max_tokens=4000)
    assert raw.headers["x-switchyard-enforced"] == "max_tokens"
    assert json.loads(stack.last_request(stack.a))["max_tokens"] == 100


def test_a_64_bit_seed_reaches_the_upstream_digit_for_digit(stack):
    seed = 2**63 - 1
    stack.client().chat.completions.create(model="solo", messages=[{"role": "user", "content": "hi"}], seed=seed,
                                           metadata={"ticket": "12345678901234567890"})
    assert f'"seed":{seed}' in stack.last_request(stack.a).replace(" ", "")


def test_trace_headers_go_upstream_and_the_request_id_comes_back(stack):
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    raw = stack.client().chat.completions.with_raw_response.create(
        model="solo", messages=[{"role": "user", "content": "hi"}],
        extra_headers={"traceparent": traceparent, "tracestate": "vendor=1", "OpenAI-Project": "proj_x"},
    )
    headers = stack.last_headers(stack.a)
    assert headers["traceparent"] == traceparent and headers["tracestate"] == "vendor=1"
    assert headers["openai-project"] == "proj_x"
    assert headers["user-agent"].startswith("switchyard/")
    assert raw.parse()._request_id.startswith("req_sim_")
    assert raw.headers["openai-processing-ms"] and raw.headers["x-ratelimit-remaining-requests"]


def test_a_streamed_request_is_mirrored_to_the_shadow(stack):
    stack.admin("POST", "/routes/solo/rollouts", {"strategy": "shadow", "shadow": "shadow", "sample": 100, "duration": "1h"})
    client = stack.client()
    for index in range(3):
        chunks = list(client.chat.completions.create(model="solo", messages=[{"role": "user", "content": f"hi {index}"}], stream=True))
        assert chunks[-1].choices == [] or chunks[-1].choices[0].finish_reason == "stop"
    deadline = time.time() + 10
    shadow = {}
    while time.time() < deadline:
        report = stack.admin("GET", "/routes/solo/report")
        shadow = report.get("shadow") or {}
        if shadow.get("compared", 0) >= 3:
            break
        time.sleep(0.1)
    assert shadow.get("mirrored", 0) >= 3 and shadow.get("compared", 0) >= 3, report
    stack.admin("POST", "/routes/solo/abort", {"reason": "test over"})


def test_a_9_mb_vision_request_fits_the_default_body_limit(stack):
    image = "data:image/png;base64," + "A" * (9 * 1024 * 1024)
    completion = stack.client().chat.completions.create(model="solo", messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is in this image?"},
        {"type": "image_url", "image_url": {"url": image}},
    ]}])
    assert completion.choices[0].message.content
