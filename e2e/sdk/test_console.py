"""The real console binary under tmux (keys) and under a pseudo-terminal
(mouse), against a real `serve`: what it does must change the server."""

import fcntl
import os
import pty
import select
import shutil
import struct
import subprocess
import termios
import time

import pyte
import pytest

from conftest import ADMIN_TOKEN as TOKEN
from conftest import BIN, ServedStack
from test_management import call

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")


@pytest.fixture()
def server():
    stack = ServedStack(canary_weight=10)
    yield stack.gateway
    stack.stop()


def weights(server):
    _, route = call(server.admin_port, "GET", "/routes/chat-prod")
    return {d["name"]: d["weight"] for d in route["deployments"]}, route["revision"]


def wait_for(predicate, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    return predicate()


class Tmux:
    def __init__(self, command):
        self.name = f"switchyard-test-{os.getpid()}"
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "120", "-y", "40", command], check=True)

    def screen(self):
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True).stdout

    def keys(self, *keys):
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def alive(self):
        return subprocess.run(["tmux", "has-session", "-t", self.name], capture_output=True).returncode == 0

    def close(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


def test_slider_keys_and_rollback_change_the_server(server):
    tmux = Tmux(f"LANG=C.UTF-8 SWITCHYARD_TOKEN={TOKEN} {BIN} console --api http://127.0.0.1:{server.admin_port}")
    try:
        assert wait_for(lambda: "● live" in tmux.screen() and "chat-prod" in tmux.screen()), tmux.screen()
        tmux.keys("Right", "Right", "Right", "Right", "Right")
        assert wait_for(lambda: "15 %" in tmux.screen()), tmux.screen()
        assert weights(server)[0]["canary"] == 10, "nothing is sent before enter"
        tmux.keys("Enter")
        assert wait_for(lambda: weights(server)[0] == {"stable": 85, "canary": 15}), weights(server)
        assert wait_for(lambda: "weights chat-prod: r2" in tmux.screen()), tmux.screen()

        tmux.keys("R")
        assert wait_for(lambda: weights(server)[0] == {"stable": 100, "canary": 0}), weights(server)
        assert wait_for(lambda: "rollback chat-prod: r3" in tmux.screen()), tmux.screen()

        # A change made elsewhere (ctl, another console) shows up at once.
        call(server.admin_port, "PUT", "/routes/chat-prod/weights", {"weights": {"stable": 75, "canary": 25}})
        assert wait_for(lambda: " 25%" in tmux.screen() and "r4" in tmux.screen(), timeout=8), tmux.screen()

        tmux.keys("q")
        assert wait_for(lambda: not tmux.alive()), "q leaves the console"
    finally:
        tmux.close()


def test_space_pauses_and_resumes_the_rollout_on_the_server(server):
    status, rollout = call(server.admin_port, "POST", "/routes/chat-prod/rollouts", {
        "strategy": "canary", "canary": "canary", "steps": [{"setWeight": 20}, {"pause": "1h"}, {"setWeight": 100}],
    })
    assert status == 201, rollout
    tmux = Tmux(f"LANG=C.UTF-8 SWITCHYARD_TOKEN={TOKEN} {BIN} console --api http://127.0.0.1:{server.admin_port}")
    try:
        assert wait_for(lambda: "rollout canary" in tmux.screen() and "step 2/3" in tmux.screen()), tmux.screen()
        tmux.keys("Space")
        assert wait_for(lambda: "Pause the canary rollout of chat-prod at step 2/3?" in tmux.screen()), tmux.screen()
        tmux.keys("y")
        assert wait_for(lambda: call(server.admin_port, "GET", "/routes/chat-prod/rollout")[1]["state"] == "paused")
        assert wait_for(lambda: "paused" in tmux.screen()), tmux.screen()
        tmux.keys("Space")
        assert wait_for(lambda: "Resume the canary rollout" in tmux.screen()), tmux.screen()
        tmux.keys("y")
        assert wait_for(lambda: call(server.admin_port, "GET", "/routes/chat-prod/rollout")[1]["state"] == "progressing")
        # R aborts the rollout with the rollback: traffic back to stable, the rollout stopped.
        tmux.keys("R")
        assert wait_for(lambda: weights(server)[0] == {"stable": 100, "canary": 0}), weights(server)
        assert wait_for(lambda: call(server.admin_port, "GET", "/routes/chat-prod/rollout")[1]["state"] == "rolledBack")
        assert wait_for(lambda: "rolled back" in tmux.screen()), tmux.screen()
    finally:
        tmux.close()


def test_demo_shows_a_live_rollout_and_leaves_nothing_behind(tmp_path):
    tmux = Tmux(f"LANG=C.UTF-8 TMPDIR={tmp_path} {BIN} demo")
    try:
        assert wait_for(lambda: "● live" in tmux.screen() and "rollout canary" in tmux.screen() and "step " in tmux.screen(), timeout=30), tmux.screen()
        screen = tmux.screen()
        assert "chat-prod" in screen and "summarize" in screen and "contracts" in screen
        assert "demo data" in screen, "the demo's catalog is labelled as demo data"
        assert any(path.name.startswith("switchyard-demo-") for path in tmp_path.iterdir()), "state lives in a temporary folder"
        # The contracts route runs a shadow that keeps its pairs: c opens them, ⏎ one side by side.
        tmux.keys("j")
        tmux.keys("c")
        assert wait_for(lambda: "Compare · contracts" in tmux.screen() and "SIMILAR" in tmux.screen(), timeout=30), tmux.screen()
        tmux.keys("Enter")
        assert wait_for(lambda: "gpt4o-contracts-next" in tmux.screen() and "request" in tmux.screen(), timeout=10), tmux.screen()
        tmux.keys("Escape")
        tmux.keys("Escape")
        assert wait_for(lambda: "ROUTE" in tmux.screen(), timeout=5), tmux.screen()
        tmux.keys("q")
        assert wait_for(lambda: not tmux.alive(), timeout=15), "q ends the demo"
        assert wait_for(lambda: not list(tmp_path.iterdir()), timeout=5), list(tmp_path.iterdir())
        leftover = subprocess.run(["pgrep", "-f", f"{BIN} demo"], capture_output=True, text=True).stdout.strip()
        assert leftover == "", f"processes left running: {leftover}"
    finally:
        tmux.close()


def test_read_only_console_refuses_rollback(server):
    tmux = Tmux(f"LANG=C.UTF-8 SWITCHYARD_TOKEN={TOKEN} {BIN} console --read-only --api http://127.0.0.1:{server.admin_port}")
    try:
        assert wait_for(lambda: "chat-prod" in tmux.screen()), tmux.screen()
        assert "R rollback" not in tmux.screen()
        tmux.keys("R")
        assert wait_for(lambda: "read-only" in tmux.screen())
        time.sleep(0.5)
        assert weights(server) == ({"stable": 90, "canary": 10}, 1)
    finally:
        tmux.close()


def test_a_console_in_a_non_utf8_locale_draws_ascii(server):
    tmux = Tmux(f"LANG=C LC_ALL=C SWITCHYARD_TOKEN={TOKEN} {BIN} console --api http://127.0.0.1:{server.admin_port}")
    try:
        assert wait_for(lambda: "chat-prod" in tmux.screen()), tmux.screen()
        screen = tmux.screen()
        assert "+- Routes" in screen and "* live" in screen, screen
        assert all(ord(character) < 128 for character in screen), "nothing the locale cannot show"
    finally:
        tmux.close()


def test_a_mouse_drag_on_the_slider_sets_the_weight(server):
    """tmux cannot send mouse events, so a pseudo-terminal sends SGR mouse sequences."""
    pid, fd = pty.fork()
    if pid == 0:
        # The terminal is 120×40 before the console starts.
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.environ.update(LANG="C.UTF-8", TERM="xterm-256color", SWITCHYARD_TOKEN=TOKEN)
        # ncurses takes the size from these when set (the window-size ioctl
        # above does not always reach it under pytest's capture).
        os.environ.update(LINES="40", COLUMNS="120")
        os.execv(BIN, [BIN, "console", "--api", f"http://127.0.0.1:{server.admin_port}"])

    output = bytearray()

    def drain(seconds):
        deadline = time.time() + seconds
        while time.time() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if ready:
                try:
                    output.extend(os.read(fd, 65536))
                except OSError:
                    return

    try:
        drain(3)
        screen = pyte.Screen(120, 40)
        pyte.ByteStream(screen).feed(bytes(output))
        # Find the slider on the screen: the row with "canary ◀", the track between ◀ and ▶.
        row = next(index for index, line in enumerate(screen.display) if "canary ◀" in line)
        line = screen.display[row]
        track_start, track_end = line.index("◀") + 1, line.index("▶") - 1
        track_width = track_end - track_start + 1
        # SGR mouse coordinates are 1-based.
        row += 1
        press = track_start + 3
        cells = round((track_width - 1) * 0.40)
        release = track_start + 1 + cells
        expected = round(cells / (track_width - 1) * 100)  # a cell is worth ~1.3 points here
        for sequence in (f"\x1b[<0;{press};{row}M", f"\x1b[<32;{press + 10};{row}M", f"\x1b[<32;{release};{row}M", f"\x1b[<0;{release};{row}m"):
            os.write(fd, sequence.encode())
            drain(0.2)
        assert wait_for(lambda: weights(server)[0]["canary"] == expected, timeout=5), (weights(server), line, track_start, track_width, press, release)
        os.write(fd, b"q")
        drain(1)
    finally:
        try:
            os.kill(pid, 15)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
