"""Whatever a client puts in a chat-completions body — JSON of any shape,
broken JSON, binary, nesting thousands deep, huge numbers, odd Unicode — the
gateway answers it: a reply, or a 4xx whose JSON error says what is wrong.
Never a 5xx, never a dropped connection, and it keeps serving afterwards."""

import http.client
import json
import urllib.parse

from hypothesis import HealthCheck, given, settings, strategies as st

VALID = {"model": "chat-prod", "messages": [{"role": "user", "content": "hi"}]}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)

# Valid requests with any value in the fields the gateway reads or passes on.
shaped = st.fixed_dictionaries(
    {"model": st.just("chat-prod") | json_values, "messages": st.just(VALID["messages"]) | json_values},
    optional={"user": json_values, "safety_identifier": json_values, "stream": json_values,
              "stream_options": json_values, "temperature": json_values, "anything": json_values},
).map(lambda body: json.dumps(body).encode())

# A valid body with one byte changed, or cut short.
valid_bytes = json.dumps(VALID).encode()
mutated = st.tuples(st.integers(0, len(valid_bytes) - 1), st.integers(0, 255), st.booleans()).map(
    lambda m: valid_bytes[: m[0]] if m[2] else valid_bytes[: m[0]] + bytes([m[1]]) + valid_bytes[m[0] + 1:])

nested = st.integers(1, 20_000).map(lambda depth: b"[" * depth + b"]" * depth)
numbers = st.sampled_from([b"1e999999", b"-1e-999999", b"123456789012345678901234567890", b"-0", b"0.0e+0"]).map(
    lambda number: b'{"model":"chat-prod","messages":[{"role":"user","content":"hi"}],"temperature":' + number + b"}")
unicode = st.sampled_from([b'"\\ud800"', b'"\\udc00\\ud800"', b'"\xff\xfe"', b'"\xed\xa0\x80"', b'"\\u0000"', b'"\xf0\x9f\x9a\x80"']).map(
    lambda text: b'{"model":"chat-prod","messages":[{"role":"user","content":' + text + b"}]}")

bodies = shaped | mutated | nested | numbers | unicode | st.binary(max_size=200)


def post(base, body):
    url = urllib.parse.urlparse(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
    try:
        connection.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=bodies)
def test_no_body_a_client_sends_gets_a_5xx(gateway, body):
    status, reply = post(gateway, body)
    assert status < 500, (status, reply[:300], body[:200])
    if status >= 400:
        error = json.loads(reply)["error"]
        assert error["message"], reply


def test_the_gateway_still_serves_after_the_fuzzing(gateway):
    status, reply = post(gateway, json.dumps(VALID).encode())
    assert status == 200, reply
