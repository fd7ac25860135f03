"""Connection floods at a low descriptor limit (issue 13): `serve` runs with
RLIMIT_NOFILE soft = hard = 256, so it cannot raise it, while this process
holds well over a thousand idle, half-sent ("slowloris") and slow-body
connections against the gateway and the management API. New clients must
still be served within seconds, idle and stalled connections must be closed
at the timeouts, and the process must live through it and say what limit it
runs under."""

import errno
import http.client
import json
import os
import re
import resource
import select
import socket
import subprocess
import tempfile
import time

import pytest

from conftest import ADMIN_TOKEN, BIN, GATEWAY, MANAGEMENT, Process, managed_config, serve_args

DESCRIPTOR_LIMIT = 256
FLOOD = 1100  # idle connections held: more than four times the server's descriptor limit
SLOWLORIS = 200  # connections that send a request head a line at a time and never finish it
PROMPT = 8.0  # seconds a new client may wait for its reply while the flood is held (a busy 2-core machine)
LIMIT_LINE = re.compile(r"open-file limit (\d+)( \(raised from \d+\))?: the gateway holds up to (\d+) client connections, "
                        r"the management API (\d+)")


def low_descriptor_limit():
    """Runs in the child before exec: a soft and hard limit it cannot raise."""
    resource.setrlimit(resource.RLIMIT_NOFILE, (DESCRIPTOR_LIMIT, DESCRIPTOR_LIMIT))


class LowLimitServe(Process):
    """`serve` (see conftest's Process) started under the low descriptor limit."""

    def __init__(self, args, env):
        self.log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
        self.proc = subprocess.Popen([BIN, *args], stdout=self.log, stderr=subprocess.STDOUT, env=env,
                                     preexec_fn=low_descriptor_limit)
        self.port = self._wait_for(GATEWAY)
        self.admin_port = self._wait_for(MANAGEMENT)

    def descriptors(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


class Stack:
    """A simulated upstream (and optionally a slow one on route `slow`) and a
    low-limit `serve` with an admin token."""

    def __init__(self, *serve_flags, slow_upstream_ms=None):
        self.processes = [Process(["simulate", "--listen", "127.0.0.1:0", "--latency-ms", "1"])]
        routes = managed_config(self.processes[0].port, self.processes[0].port, 0)
        if slow_upstream_ms:
            slow = Process(["simulate", "--listen", "127.0.0.1:0", "--latency-ms", str(slow_upstream_ms)])
            self.processes.append(slow)
            routes += (f"  - name: slow\n    deployments:\n      - name: only\n        model: gpt-4o\n"
                       f"        version: \"2024-11-20\"\n        upstream: {{ url: \"http://127.0.0.1:{slow.port}/v1\" }}\n")
        self.config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
        self.config.write(routes)
        self.config.close()
        self.state = tempfile.TemporaryDirectory()
        env = dict(os.environ, SWITCHYARD_ADMIN_TOKEN=ADMIN_TOKEN)
        self.server = LowLimitServe([*serve_args(self.config.name, self.state.name), *serve_flags], env)

    def stop(self):
        self.server.stop()
        for process in self.processes:
            process.stop()
        os.unlink(self.config.name)
        self.state.cleanup()


@pytest.fixture(scope="module", autouse=True)
def many_descriptors_here():
    """This process needs well over a thousand sockets: raise its own soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = FLOOD + SLOWLORIS + 200
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, max(soft, wanted))
    if target < wanted:
        pytest.skip(f"the hard open-file limit {hard} is too low to hold {wanted} sockets")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, target), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


@pytest.fixture(scope="module")
def flooded():
    """Default timeouts (60 s idle, 10 s header): only the connection cap protects it."""
    stack = Stack()
    yield stack
    stack.stop()


@pytest.fixture(scope="module")
def strict():
    """Short timeouts and a small gateway cap; route `slow` answers after 4 s."""
    stack = Stack("--idle-timeout", "1s", "--header-timeout", "1s", "--max-connections", "24", slow_upstream_ms=4000)
    yield stack
    stack.stop()


class Sockets:
    """Many non-blocking client sockets to one port, watched with poll()."""

    def __init__(self, port, first_bytes=b""):
        self.port = port
        self.first_bytes = first_bytes
        self.open = []
        self.opened_at = {}
        self.closed_by_server = 0
        self.closed_after = []  # seconds from open to the server's close, for each closed socket

    def top_up(self, count, settle=10.0):
        """Opens sockets until `count` are held, waits (up to `settle` s) for them
        to be established and sends each new one `first_bytes`. Returns how many
        new ones were established."""
        fresh = []
        for _ in range(count - len(self.open)):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex(("127.0.0.1", self.port))
            fresh.append(sock)
        poller = select.poll()
        pending = {sock.fileno(): sock for sock in fresh}
        for fd in pending:
            poller.register(fd, select.POLLOUT)
        deadline = time.monotonic() + settle
        established = []
        while pending and time.monotonic() < deadline:
            for fd, events in poller.poll(200):
                poller.unregister(fd)
                sock = pending.pop(fd)
                if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                    established.append(sock)
                else:
                    sock.close()
        for sock in pending.values():  # still not connected: the flood does not need it
            sock.close()
        now = time.monotonic()
        for sock in established:
            self.opened_at[sock] = now
            if self.first_bytes:
                self._send(sock, self.first_bytes)
        self.open += established
        return len(established)

    def _send(self, sock, data):
        try:
            sock.send(data)
        except OSError:
            pass  # the server closed it; reap() counts it

    def trickle(self, data):
        """Sends one more piece of an unfinished request on every held socket."""
        for sock in self.open:
            self._send(sock, data)

    def reap(self):
        """Drops (and counts) the sockets the server has closed. Returns the
        bytes the server sent on them, if any, joined."""
        still, replies = [], []
        now = time.monotonic()
        for sock in self.open:
            try:
                data = sock.recv(65536)
                while data:
                    replies.append(data)
                    data = sock.recv(65536)
            except BlockingIOError:
                still.append(sock)
                continue
            except OSError as error:
                assert error.errno in (errno.ECONNRESET, errno.EPIPE), error
            self.closed_by_server += 1
            self.closed_after.append(now - self.opened_at.pop(sock))
            sock.close()
        self.open = still
        return b"".join(replies)

    def close(self):
        for sock in self.open:
            sock.close()
        self.open = []


def timed(call):
    started = time.monotonic()
    status, body = call()
    return status, body, time.monotonic() - started


def chat(port, model="chat-prod", timeout=30):
    """A normal chat request on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        body = {"model": model, "messages": [{"role": "user", "content": "hi"}]}
        connection.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def list_routes(admin_port, timeout=30):
    """GET /api/v1/routes with the admin token, on a new connection."""
    connection = http.client.HTTPConnection("127.0.0.1", admin_port, timeout=timeout)
    try:
        connection.request("GET", "/api/v1/routes", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def assert_alive(server):
    assert server.proc.poll() is None, f"serve exited with {server.proc.returncode}:\n{server.output()[-4000:]}"
    log = server.output()
    for sign in ("Too many open files", "EMFILE", "Fatal error", "fatal error"):
        assert sign not in log, f"{sign!r} in the log:\n{log[-4000:]}"


def hold_flood_and_call(server, port, call, check):
    """Three rounds: top the idle flood back up to FLOOD and the slowloris
    connections to SLOWLORIS (the server recycles them), send every slowloris
    connection one more header line, then `call` on a fresh connection must
    get its answer within PROMPT seconds."""
    idle = Sockets(port)
    slow = Sockets(port, first_bytes=b"GET /api/v1/routes HTTP/1.1\r\nHost: flood\r\n" if port == server.admin_port
                   else b"POST /v1/chat/completions HTTP/1.1\r\nHost: flood\r\nContent-Type: application/json\r\n")
    try:
        for round_ in range(3):
            slow.top_up(SLOWLORIS)
            established = idle.top_up(FLOOD)
            if round_ == 0:
                assert established >= FLOOD * 0.9, f"only {established} of {FLOOD} connections established"
            slow.trickle(f"X-Slowloris-{round_}: still coming\r\n".encode())
            status, body, seconds = timed(call)
            assert status == 200, (status, body)
            check(body)
            assert seconds < PROMPT, f"round {round_}: answered after {seconds:.1f} s with the flood held"
            assert_alive(server)
            time.sleep(1)
            idle.reap()
            slow.reap()
        # The server made room by closing the longest-idle connections (it can
        # hold fewer than DESCRIPTOR_LIMIT), and never ran out of descriptors.
        assert idle.closed_by_server + slow.closed_by_server >= FLOOD - DESCRIPTOR_LIMIT, \
            (idle.closed_by_server, slow.closed_by_server)
        assert server.descriptors() < DESCRIPTOR_LIMIT
    finally:
        idle.close()
        slow.close()


def test_the_gateway_serves_new_clients_while_1100_idle_and_slowloris_connections_are_held(flooded):
    server = flooded.server

    def check(body):
        assert body["choices"][0]["message"]["content"]

    hold_flood_and_call(server, server.port, lambda: chat(server.port), check)


def test_the_management_api_serves_new_clients_while_1100_idle_and_slowloris_connections_are_held(flooded):
    server = flooded.server

    def check(body):
        assert [route["name"] for route in body["routes"]] == ["chat-prod"]

    hold_flood_and_call(server, server.admin_port, lambda: list_routes(server.admin_port), check)


def test_after_the_floods_the_process_is_alive_and_its_log_states_the_open_file_limit(flooded):
    server = flooded.server
    assert_alive(server)
    match = LIMIT_LINE.search(server.output())
    assert match, server.output()
    limit, raised, gateway_cap, admin_cap = match.groups()
    assert int(limit) == DESCRIPTOR_LIMIT and raised is None  # soft = hard: nothing to raise
    assert int(gateway_cap) + int(admin_cap) < DESCRIPTOR_LIMIT
    status, _, seconds = timed(lambda: chat(server.port))
    assert status == 200 and seconds < PROMPT
    status, _, seconds = timed(lambda: list_routes(server.admin_port))
    assert status == 200 and seconds < PROMPT


@pytest.mark.parametrize("which", ["gateway", "management API"])
def test_idle_and_slowloris_connections_are_closed_at_the_timeouts(strict, which):
    server = strict.server
    port = server.port if which == "gateway" else server.admin_port
    # Fewer than either cap (gateway 24, management API 24 at this limit), so
    # no connection is closed to make room: only the timeouts close them.
    idle = Sockets(port)
    slow = Sockets(port, first_bytes=b"GET /healthz HTTP/1.1\r\nHost: slow\r\n")
    keep_alive = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        assert idle.top_up(8) == 8
        assert slow.top_up(8) == 8
        keep_alive.request("GET", "/healthz" if which == "gateway" else "/api/v1/routes",
                           headers={"Authorization": f"Bearer {ADMIN_TOKEN}"})
        response = keep_alive.getresponse()
        response.read()
        assert response.status == 200 and not response.will_close
        answered = time.monotonic()
        deadline = time.monotonic() + 6
        while (idle.open or slow.open) and time.monotonic() < deadline:
            slow.trickle(b"X-Slowloris: one more line\r\n")  # every 0.2 s: progress, but the head never ends
            time.sleep(0.2)
            assert idle.reap() == b""
            slow.reap()  # may carry a 408 or 400; the close is what counts
        assert not idle.open and not slow.open, \
            f"{len(idle.open)} idle and {len(slow.open)} slowloris connections still open after 6 s"
        assert all(0.5 < seconds < 6 for seconds in idle.closed_after + slow.closed_after), \
            (idle.closed_after, slow.closed_after)
        # The keep-alive connection, idle since its reply, was closed too.
        keep_alive.sock.settimeout(max(0.1, answered + 6 - time.monotonic()))
        try:
            assert keep_alive.sock.recv(1) == b""
        except ConnectionResetError:
            pass
    finally:
        idle.close()
        slow.close()
        keep_alive.close()
    assert_alive(server)


def test_at_the_cap_with_every_connection_busy_a_newcomer_gets_a_503_and_no_request_is_lost(strict):
    """24 requests in flight to a 4 s upstream fill the gateway's 24 slots; a
    25th client gets a JSON 503 with Retry-After and a closed connection, every
    request in flight still gets its 200, and then a new client is served."""
    server = strict.server
    busy = []
    try:
        for _ in range(24):
            connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            body = {"model": "slow", "messages": [{"role": "user", "content": "hi"}]}
            connection.request("POST", "/v1/chat/completions", json.dumps(body), {"Content-Type": "application/json"})
            busy.append(connection)
        for _ in range(6):  # until the server has read every request's head and all 24 slots are busy
            time.sleep(0.3)
            newcomer = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            try:
                newcomer.sendall(b"GET /healthz HTTP/1.1\r\nHost: newcomer\r\nConnection: close\r\n\r\n")
                reply = b""
                while chunk := newcomer.recv(65536):  # until the server closes it
                    reply += chunk
            finally:
                newcomer.close()
            if not reply.startswith(b"HTTP/1.1 200 "):
                break
        head, _, body = reply.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 503 "), reply
        assert b"\r\nretry-after: 1\r\n" in head.lower() + b"\r\n"
        assert json.loads(body)["error"]["code"] == "too_many_connections"
        for connection in busy:
            response = connection.getresponse()
            assert response.status == 200, response.read()
            assert json.loads(response.read())["choices"][0]["message"]["content"]
    finally:
        for connection in busy:
            connection.close()
    status, _, seconds = timed(lambda: chat(server.port))
    assert status == 200 and seconds < PROMPT
    assert_alive(server)


@pytest.mark.parametrize("which", ["gateway", "management API"])
def test_slow_body_connections_do_not_lock_out_new_clients(strict, which):
    """A request whose body trickles in can still be recycled at the cap, so
    cap-many such clients (unauthenticated ones too) cannot lock anyone out."""
    server = strict.server
    if which == "gateway":
        port, call = server.port, lambda: chat(server.port, timeout=5)
        head = b"POST /v1/chat/completions HTTP/1.1\r\nHost: slow-body\r\n"
    else:  # no token: the body is read before the request is authenticated
        port, call = server.admin_port, lambda: list_routes(server.admin_port, timeout=5)
        head = b"PUT /api/v1/routes/chat-prod/weights HTTP/1.1\r\nHost: slow-body\r\n"
    slow = Sockets(port, first_bytes=head + b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{")
    try:
        assert slow.top_up(30) >= 24  # more than either cap (24 at this limit)
        served = []
        started = time.monotonic()
        while time.monotonic() - started < 6:
            slow.trickle(b" ")  # a byte of body every 0.25 s, well inside the 1 s header timeout
            time.sleep(0.25)
            slow.reap()
            if time.monotonic() - started > 3:  # three header timeouts on
                status, _, _ = timed(call)
                served.append(status)
        assert 200 in served, f"every new client turned away while slow bodies trickle: {served}"
    finally:
        slow.close()
    assert_alive(server)
