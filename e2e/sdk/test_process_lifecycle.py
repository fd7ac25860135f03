"""The serve process as an operator runs it: graceful shutdown and config errors."""

import os
import signal
import subprocess
import tempfile
import threading

import http.client
import json

from conftest import BIN, Process, managed_config, serve_args

SLOW_ROUTE = """
routes:
  - name: slow
    deployments:
      - name: only
        model: gpt-4o
        version: "2024-11-20"
        upstream: {{ url: "http://127.0.0.1:{port}/v1" }}
"""


def test_sigterm_lets_a_stream_in_flight_finish():
    upstream = Process(["simulate", "--listen", "127.0.0.1:0", "--tokens-per-second", "10", "--reply-tokens", "12"])
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    config.write(SLOW_ROUTE.format(port=upstream.port))
    config.close()
    state = tempfile.TemporaryDirectory()
    gateway = Process(serve_args(config.name, state.name))
    received = []
    first_chunk = threading.Event()

    def stream():
        body = {"model": "slow", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
        connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=30)
        connection.request("POST", "/v1/chat/completions", body=json.dumps(body), headers={"content-type": "application/json"})
        response = connection.getresponse()
        while True:
            line = response.readline()
            if not line:
                break
            received.append(line.decode())
            first_chunk.set()

    reader = threading.Thread(target=stream)
    reader.start()
    try:
        assert first_chunk.wait(10)
        gateway.proc.send_signal(signal.SIGTERM)
        reader.join(30)
        assert gateway.proc.wait(30) == 0
        assert "".join(received).endswith("data: [DONE]\n\n")
    finally:
        gateway.stop()
        upstream.stop()
        os.unlink(config.name)
        state.cleanup()


def test_an_invalid_config_is_refused_with_file_line_and_reason():
    config = tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False)
    config.write(SLOW_ROUTE.format(port=1).replace("version:", "wersion:"))
    config.close()
    state = tempfile.TemporaryDirectory()
    result = subprocess.run([BIN, *serve_args(config.name, state.name)], capture_output=True, text=True, timeout=30)
    state.cleanup()
    os.unlink(config.name)
    assert result.returncode != 0
    assert f"{config.name}:7: routes[0].deployments[0].wersion: unknown key 'wersion'" in result.stdout + result.stderr


def test_serve_takes_its_state_from_SWITCHYARD_STATE_so_a_url_stays_off_the_command_line():
    """No --state: SWITCHYARD_STATE names the store (the systemd unit relies on it)."""
    with tempfile.TemporaryDirectory() as folder:
        config = os.path.join(folder, "routes.yaml")
        with open(config, "w") as f:
            f.write(managed_config(9, 9, 0))
        store = os.path.join(folder, "from-env.sqlite")
        gateway = Process(["serve", "--config", config, "--listen", "127.0.0.1:0", "--admin-listen", "127.0.0.1:0"],
                           env=dict(os.environ, SWITCHYARD_STATE=f"sqlite:{store}"))
        try:
            assert os.path.exists(store), gateway.output()
        finally:
            gateway.stop()
