"""A hostile OpenAI-compatible upstream for the end-to-end tests.

It speaks just enough of `POST …/chat/completions` (HTTP/1.1 over a raw socket,
so framing can be broken on purpose) to be configured as a deployment, and
answers request after request with the next reply of a cycle: 429s with absurd
`Retry-After` / `retry-after-ms`, completions whose `usage` holds numbers no
model produces, server-sent event streams with broken framing, and hostile
headers. Streamed and non-streamed requests cycle through separate lists.

Each reply is a `Reply(name, kind, write)`: `kind` is `ok` (a well-formed 200
the gateway should count as a success), `throttle` (a 429) or `fail`;
`write(sock, request)` sends raw bytes and returns True to keep the connection
open for the next request. Every failing reply is followed in the cycle by two
well-formed ones, so the deployment's circuit breaker (5 consecutive failures,
or half of 20 attempts) stays closed and the whole cycle is exercised.
"""

import json
import re
import socket
import socketserver
import threading
import time
from collections import namedtuple

Reply = namedtuple("Reply", "name kind write")

PROBE = re.compile(rb"hostile-probe-(\d+)")

# ----------------------------------------------------------------------------- raw HTTP helpers


def head(status_line, headers):
    return (status_line + "\r\n" + "".join(f"{name}: {value}\r\n" for name, value in headers) + "\r\n").encode("latin-1")


def send(sock, data):
    try:
        sock.sendall(data)
    except OSError:
        pass  # the gateway gave up on us first: that is its right


def complete(status, body, headers=(), content_type="application/json", reason=None):
    """A well-framed reply with a Content-Length; the connection stays open."""
    reason = reason or {200: "OK", 429: "Too Many Requests", 500: "Internal Server Error", 503: "Service Unavailable"}.get(status, "X")

    def write(sock, _request):
        send(sock, head(f"HTTP/1.1 {status} {reason}", [("Content-Type", content_type), ("Content-Length", str(len(body))), *headers]) + body)
        return True

    return write


def raw(data, keep=False):
    """Exactly these bytes, then (unless `keep`) close."""

    def write(sock, _request):
        send(sock, data)
        return keep

    return write


def chunked(events, content_type="text/event-stream", trailer=b"0\r\n\r\n"):
    """A chunked reply, one chunk per item of `events` (bytes), then `trailer` (b"" = cut) and close."""

    def write(sock, _request):
        send(sock, head("HTTP/1.1 200 OK", [("Content-Type", content_type), ("Transfer-Encoding", "chunked"), ("Connection", "close")]))
        for event in events:
            send(sock, f"{len(event):x}\r\n".encode() + event + b"\r\n")
        send(sock, trailer)
        return False

    return write


def until_close(body, content_type="text/event-stream"):
    """A reply whose end is the connection's close (no length, not chunked)."""

    def write(sock, _request):
        send(sock, head("HTTP/1.1 200 OK", [("Content-Type", content_type), ("Connection", "close")]) + body)
        return False

    return write


# ----------------------------------------------------------------------------- bodies

COMPLETION = (
    '{"id":"chatcmpl-hostile","object":"chat.completion","created":1700000000,"model":"gpt-4o-2025-05-13",'
    '"choices":[{"index":0,"message":{"role":"assistant","content":"hello from the hostile upstream"},"finish_reason":"stop"}],'
    '"usage":%s}'
)


def completion(usage_text):
    return (COMPLETION % usage_text).encode()


def chunk(content="hi", finish=None):
    finish = "null" if finish is None else json.dumps(finish)
    return ('data: {"id":"chatcmpl-hostile","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-2025-05-13",'
            '"choices":[{"index":0,"delta":{"content":%s},"finish_reason":%s}]}\n\n' % (json.dumps(content), finish)).encode()


def usage_chunk(usage_text):
    return ('data: {"id":"chatcmpl-hostile","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-2025-05-13",'
            '"choices":[],"usage":%s}\n\n' % usage_text).encode()


DONE = b"data: [DONE]\n\n"
GOOD_USAGE = '{"prompt_tokens":5,"completion_tokens":7,"total_tokens":12}'

# `usage` objects no model sends; the literal text matters (1e999 is not a JSON double).
HOSTILE_USAGE = {
    "1e300": '{"prompt_tokens":1e300,"completion_tokens":1e300,"total_tokens":1e300}',
    "1e999": '{"prompt_tokens":1e999,"completion_tokens":1e999,"total_tokens":1e999}',
    "-1e300": '{"prompt_tokens":-1e300,"completion_tokens":-1e300,"total_tokens":-1e300}',
    "20 digits": '{"prompt_tokens":99999999999999999999,"completion_tokens":99999999999999999999,"total_tokens":99999999999999999999}',
    "total 9e18": '{"prompt_tokens":5,"total_tokens":9e18}',
    "completion and total 9e18": '{"prompt_tokens":9e18,"completion_tokens":9e18,"total_tokens":9e18}',
    "Int64.max": '{"prompt_tokens":9223372036854775807,"completion_tokens":9223372036854775807,"total_tokens":18446744073709551614}',
    "just over the cap": '{"prompt_tokens":100000001,"completion_tokens":100000001,"total_tokens":200000002}',
    "strings": '{"prompt_tokens":"12","completion_tokens":"1e300","total_tokens":"lots"}',
    "nulls": '{"prompt_tokens":null,"completion_tokens":null,"total_tokens":null}',
    "fractions": '{"prompt_tokens":0.5,"completion_tokens":1.5e-300,"total_tokens":2.0000001}',
    "usage not an object": '"a lot"',
    "usage an array": '[1e300,1e300]',
    "deeply nested": '{"prompt_tokens":' + "[" * 400 + "]" * 400 + '}',
}


def retry_after_429(headers):
    return complete(429, b'{"error":{"message":"slow down","type":"rate_limit_error","code":"rate_limit_exceeded"}}', headers)


THROTTLES = [
    Reply("429 Retry-After: inf", "throttle", retry_after_429([("Retry-After", "inf")])),
    Reply("429 Retry-After: Infinity", "throttle", retry_after_429([("Retry-After", "Infinity")])),
    Reply("429 Retry-After: 1e20", "throttle", retry_after_429([("Retry-After", "1e20")])),
    Reply("429 Retry-After: 8000000000", "throttle", retry_after_429([("Retry-After", "8000000000")])),
    Reply("429 Retry-After: -5", "throttle", retry_after_429([("Retry-After", "-5")])),
    Reply("429 Retry-After: NaN", "throttle", retry_after_429([("Retry-After", "NaN")])),
    Reply("429 retry-after-ms: 1e300", "throttle", retry_after_429([("retry-after-ms", "1e300")])),
    Reply("429 retry-after-ms: 9999999999999", "throttle", retry_after_429([("retry-after-ms", "9999999999999")])),
    Reply("429 both headers absurd", "throttle", retry_after_429([("Retry-After", "99999999999999999999999999"), ("retry-after-ms", "-1")])),
    Reply("429 Retry-After: an HTTP date in 9999", "throttle", retry_after_429([("Retry-After", "Fri, 31 Dec 9999 23:59:59 GMT")])),
]

HOSTILE_HEADERS = [
    Reply("1 MB header value", "fail", complete(200, completion(GOOD_USAGE), [("X-Huge", "a" * (1 << 20))])),
    Reply("100 header lines of 8 KB", "fail", complete(200, completion(GOOD_USAGE), [(f"X-Many-{i}", "b" * 8192) for i in range(100)])),
    Reply("header names with odd characters", "fail", raw(
        head("HTTP/1.1 200 OK", [("Content-Type", "application/json"), ("X Space", "1"), ("X-(paren)", "2"), ("\x01ctl", "3"),
                                 ("Ünïcode", "4"), ("", "empty name")]) + completion(GOOD_USAGE))),
    Reply("duplicated equal content-length", "fail", raw(
        head("HTTP/1.1 200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(completion(GOOD_USAGE)))),
                                 ("Content-Length", str(len(completion(GOOD_USAGE))))]) + completion(GOOD_USAGE))),
    Reply("duplicated different content-length", "fail", raw(
        head("HTTP/1.1 200 OK", [("Content-Type", "application/json"), ("Content-Length", "10"), ("Content-Length", "100000")]) + completion(GOOD_USAGE))),
    Reply("content-length larger than the body, then close", "fail", raw(
        head("HTTP/1.1 200 OK", [("Content-Type", "application/json"), ("Content-Length", "1000000")]) + completion(GOOD_USAGE))),
    Reply("content-length of 23 digits", "fail", raw(
        head("HTTP/1.1 200 OK", [("Content-Type", "application/json"), ("Content-Length", "99999999999999999999999")]) + completion(GOOD_USAGE))),
    Reply("negative content-length", "fail", raw(
        head("HTTP/1.1 200 OK", [("Content-Type", "application/json"), ("Content-Length", "-1")]) + completion(GOOD_USAGE))),
    Reply("content-length and chunked together", "fail", raw(
        head("HTTP/1.1 200 OK", [("Content-Type", "application/json"), ("Content-Length", "5"), ("Transfer-Encoding", "chunked")]) + b"zz\r\nnope\r\n")),
    Reply("content-length of 200 MB, 1 MB sent, then close", "fail", raw(
        head("HTTP/1.1 200 OK", [("Content-Type", "application/json"), ("Content-Length", str(200 << 20))]) + b" " * (1 << 20))),
    Reply("garbage status line", "fail", raw(b"HTTP/1.1 999999999999 WHAT\r\nContent-Length: 2\r\n\r\n{}")),
    Reply("not HTTP at all", "fail", raw(b"\x00\xff\x16\x03\x01 certainly not http\r\n\r\n")),
    Reply("close without a reply", "fail", raw(b"")),
    Reply("500 with Retry-After: inf", "fail", complete(500, b'{"error":{"message":"boom"}}', [("Retry-After", "inf"), ("retry-after-ms", "1e300")])),
    Reply("503 with retry-after-ms: 9999999999999", "fail", complete(503, b'{"error":{"message":"busy"}}', [("retry-after-ms", "9999999999999")])),
    Reply("100 Continue, then a reply", "ok", raw(b"HTTP/1.1 100 Continue\r\n\r\n" + head("HTTP/1.1 200 OK", [
        ("Content-Type", "application/json"), ("Content-Length", str(len(completion(GOOD_USAGE))))]) + completion(GOOD_USAGE), keep=True)),
]

BIG = "x" * (1 << 20)

BROKEN_STREAMS = [
    Reply("SSE without blank lines", "fail", chunked([chunk().rstrip(b"\n") + b"\n", chunk("there").rstrip(b"\n") + b"\n", b"data: [DONE]\n"])),
    Reply("SSE data line of 1 MB", "fail", chunked([chunk(BIG), DONE])),
    Reply("SSE 5 MB without an event boundary", "fail", chunked([b"data: " + b"y" * (1 << 20) for _ in range(5)] + [b"\n\n", DONE])),
    Reply("SSE invalid JSON chunks", "fail", chunked([b"data: {\"choices\": [\n\n", b"data: {nope}\n\n", b"data: \xff\xfe\n\n", DONE])),
    Reply("SSE first chunk fine, then invalid JSON", "fail", chunked([chunk("hello"), b"data: {\"choices\": [ oops\n\n", DONE])),
    Reply("SSE without [DONE]", "fail", chunked([chunk("hello"), chunk(" world", "stop")])),
    Reply("SSE cut mid-chunk", "fail", chunked([chunk("hello"), chunk(" world")[:40]], trailer=b"")),
    Reply("SSE chunked framing cut inside a chunk", "fail", raw(
        head("HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]) + b"ffff\r\n" + chunk("hello"))),
    Reply("SSE invalid chunk size", "fail", raw(
        head("HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]) + b"zz\r\n" + chunk() + b"\r\n0\r\n\r\n")),
    Reply("SSE chunk size of 2^64-1", "fail", raw(
        head("HTTP/1.1 200 OK", [("Content-Type", "text/event-stream"), ("Transfer-Encoding", "chunked")]) + b"ffffffffffffffff\r\n" + chunk())),
    Reply("SSE until close, no [DONE]", "fail", until_close(chunk("hello") + chunk(" world"))),
    Reply("SSE error event then [DONE]", "fail", chunked([chunk("hello"), b'data: {"error":{"message":"upstream exploded"}}\n\n', DONE])),
    Reply("JSON reply to a stream request", "fail", complete(200, completion(GOOD_USAGE))),
]

GOOD_JSON = Reply("well-formed completion", "ok", complete(200, completion(GOOD_USAGE)))
GOOD_STREAM = Reply("well-formed stream", "ok", chunked([chunk("hello"), chunk(" world", "stop"), usage_chunk(GOOD_USAGE), DONE]))

PLAIN_REPLIES = (
    [Reply(f"usage {name}", "ok", complete(200, completion(text))) for name, text in HOSTILE_USAGE.items()]
    + [
        Reply("usage 1e300 and an SSE body to a plain request", "fail", chunked([usage_chunk(HOSTILE_USAGE["1e300"]), DONE])),
        Reply("200 with invalid JSON", "fail", complete(200, b'{"choices": [ {"message": NaN')),
        Reply("200 with an empty body", "fail", complete(200, b"")),
        Reply("200 JSON that is not an object", "fail", complete(200, b"1e999")),
        # Past the shadow's 16 MB reply limit, within the gateway's 64 MB.
        Reply("a 17 MB completion", "ok", complete(200, completion(GOOD_USAGE)[:-1] + b',"padding":"' + b"p" * (17 << 20) + b'"}')),
    ]
    + THROTTLES
    + HOSTILE_HEADERS
)

# Each 429 holds the deployment back for a second (the absurd header is ignored,
# the default hold applies), so streamed requests get only a few of them: the
# header is read before anything streams, the same way for both.
STREAM_THROTTLES = {"429 Retry-After: inf", "429 Retry-After: 1e20", "429 retry-after-ms: 9999999999999"}

STREAM_REPLIES = (
    [Reply(f"stream usage {name}", "ok", chunked([chunk("hello"), chunk(" world", "stop"), usage_chunk(text), DONE]))
     for name, text in HOSTILE_USAGE.items()]
    + BROKEN_STREAMS
    + [reply for reply in THROTTLES if reply.name in STREAM_THROTTLES]
    + HOSTILE_HEADERS
)

# Replies after which the reply the client sees must not claim a complete stream
# (the upstream's stream was incomplete once it had started).
INCOMPLETE_STREAMS = {"SSE without blank lines", "SSE without [DONE]", "SSE cut mid-chunk", "SSE chunked framing cut inside a chunk",
                      "SSE until close, no [DONE]", "SSE 5 MB without an event boundary", "SSE chunk size of 2^64-1"}


def interleaved(replies, good):
    """`replies` with two well-formed replies after each failure and one after each 429."""
    cycle = []
    for reply in replies:
        cycle.append(reply)
        cycle.extend({"fail": [good, good], "throttle": [good], "ok": []}[reply.kind])
    return cycle


class HostileUpstream:
    """Serves the cycles on 127.0.0.1 (a free port) until `stop()`."""

    def __init__(self, plain=None, stream=None):
        self.plain = plain if plain is not None else interleaved(PLAIN_REPLIES, GOOD_JSON)
        self.stream = stream if stream is not None else interleaved(STREAM_REPLIES, GOOD_STREAM)
        self.lock = threading.Lock()
        self.served = []  # (probe or None, stream?, reply name, arrival time.monotonic()), in arrival order
        outer = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self):
                self.request.settimeout(60)
                buffer = b""
                while True:
                    request, buffer = read_request(self.request, buffer)
                    if request is None:
                        return
                    try:
                        keep = outer.answer(self.request, request)
                    except OSError:
                        return
                    if not keep:
                        try:
                            self.request.shutdown(socket.SHUT_RDWR)
                        except OSError:
                            pass
                        return

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
            block_on_close = False

        self.server = Server(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def answer(self, sock, body):
        try:
            streamed = json.loads(body).get("stream") is True
        except (ValueError, AttributeError):
            streamed = False
        probe = PROBE.search(body)
        with self.lock:
            cycle = self.stream if streamed else self.plain
            count = sum(1 for entry in self.served if entry[1] == streamed)
            reply = cycle[count % len(cycle)]
            self.served.append((int(probe.group(1)) if probe else None, streamed, reply.name, time.monotonic()))
        return reply.write(sock, body)

    def count(self, streamed=None):
        with self.lock:
            return sum(1 for entry in self.served if streamed is None or entry[1] == streamed)

    def names_served(self):
        with self.lock:
            return {entry[2] for entry in self.served}

    def by_probe(self):
        """probe → names of the replies the requests carrying it got (a request may be retried)."""
        with self.lock:
            result = {}
            for probe, _, name, _ in self.served:
                result.setdefault(probe, []).append(name)
            return result

    def log(self):
        with self.lock:
            return list(self.served)

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def read_request(sock, buffer):
    """One HTTP/1.1 request's body (bytes) and what is left over; (None, b"") at EOF."""

    def more():
        try:
            return sock.recv(65536)
        except OSError:
            return b""

    while b"\r\n\r\n" not in buffer:
        data = more()
        if not data or len(buffer) > (1 << 20):
            return None, b""
        buffer += data
    header, _, rest = buffer.partition(b"\r\n\r\n")
    length = 0
    for line in header.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value.strip())
    while len(rest) < length:
        data = more()
        if not data:
            return None, b""
        rest += data
    return rest[:length], rest[length:]
