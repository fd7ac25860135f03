"""The state folder fails under the running server: its disk fills up, or its
file system turns read-only (as ext4 does after a disk error). Changes are refused with a 503 that says why and
apply nothing; traffic keeps flowing on the routes in memory; once the disk
is writable again, changes go through."""

import contextlib
import errno
import os
import subprocess
import tempfile
import time

import pytest

from conftest import ServedStack
from test_management import call
from test_under_load import Load


@contextlib.contextmanager
def small_mount(size="8m"):
    """A tmpfs of `size` (it needs root, as in CI; elsewhere the test is skipped)."""
    folder = tempfile.mkdtemp(prefix="switchyard-state-")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", folder], capture_output=True, text=True)
    if mounted.returncode != 0:
        os.rmdir(folder)
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", folder], check=False)
        os.rmdir(folder)


@contextlib.contextmanager
def ext4_that_fails_read_only():
    """An ext4 file system on a loop device, mounted `errors=remount-ro`: after
    `trigger_fs_error` the kernel turns it read-only under open files, as it
    does after a real disk error. Needs root and a loop device (else skipped)."""
    folder = tempfile.mkdtemp(prefix="switchyard-state-")
    image = folder + ".img"
    with open(image, "wb") as disk:
        disk.truncate(32 << 20)
    made = subprocess.run(["mkfs.ext4", "-q", image], capture_output=True, text=True)
    mounted = made.returncode == 0 and subprocess.run(
        ["mount", "-o", "loop,errors=remount-ro", image, folder], capture_output=True, text=True)
    if not mounted or mounted.returncode != 0:
        os.rmdir(folder)
        os.unlink(image)
        pytest.skip(f"cannot mount an ext4 image on a loop device here: {(made.stderr or mounted.stderr).strip()}")
    device = os.path.basename(subprocess.run(["findmnt", "-n", "-o", "SOURCE", folder], capture_output=True, text=True).stdout.strip())
    try:
        yield folder, f"/sys/fs/ext4/{device}/trigger_fs_error"
    finally:
        subprocess.run(["umount", "-l", folder], check=False)
        os.rmdir(folder)
        os.unlink(image)


def fill(folder):
    """Writes a file until the disk is full; returns its path."""
    path = os.path.join(folder, "filler")
    with open(path, "wb") as filler:
        try:
            while True:
                filler.write(b"\0" * (64 << 10))
                filler.flush()
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    return path


def change_refused_while_traffic_flows(stack, reason_words):
    """Under load, a weight change is refused with a clear 503 and the route stays as it was."""
    admin = stack.gateway.admin_port
    _, before = call(admin, "GET", "/routes/chat-prod")
    load = Load(stack.gateway.port, clients=4)
    try:
        time.sleep(0.3)
        status, reply = call(admin, "PUT", "/routes/chat-prod/weights", {"weights": {"stable": 50, "canary": 50}})
        assert status == 503, reply
        message = reply["error"]["message"]
        assert reply["error"]["code"] == "state_store_unavailable"
        assert "the change was not saved" in message and any(word in message for word in reason_words), message
        assert "SQLite error" not in message, f"a person should not have to decode SQLite's codes: {message}"
        time.sleep(0.5)
    finally:
        records = load.finish()
    _, after = call(admin, "GET", "/routes/chat-prod")
    assert after["revision"] == before["revision"], "nothing of a refused change is applied"
    assert [d["weight"] for d in after["deployments"]] == [d["weight"] for d in before["deployments"]]
    assert len(records) > 50
    failed = [record for record in records if record[2] != 200]
    assert not failed, f"{len(failed)} of {len(records)} client requests failed, e.g. {failed[:3]}"


def test_a_full_state_disk_refuses_changes_clearly_and_traffic_keeps_flowing():
    with small_mount() as folder:
        stack = ServedStack(canary_weight=10, state_dir=folder)
        try:
            filler = fill(folder)
            change_refused_while_traffic_flows(stack, ["full"])
            os.unlink(filler)
            status, reply = call(stack.gateway.admin_port, "PUT", "/routes/chat-prod/weights", {"weights": {"stable": 50, "canary": 50}})
            assert status == 200, reply
        finally:
            stack.stop()


def test_a_state_folder_turned_read_only_refuses_changes_clearly_and_traffic_keeps_flowing():
    with ext4_that_fails_read_only() as (folder, trigger):
        stack = ServedStack(canary_weight=10, state_dir=folder)
        try:
            with open(trigger, "w") as error:
                error.write("1")
            with pytest.raises(OSError):
                open(os.path.join(folder, "probe"), "w")
            change_refused_while_traffic_flows(stack, ["read-only", "read-write", "cannot be written"])
        finally:
            stack.stop()


def test_a_rollout_started_on_a_full_disk_is_refused_and_absent_after_a_restart():
    """An acknowledged rollout is durable or refused: with the disk full the start
    gets 503 and nothing of it happens — no weight moves, and after a restart
    on a disk with room there is no rollout that lived only in memory."""
    with small_mount() as folder:
        stack = ServedStack(canary_weight=0, state_dir=folder)
        try:
            admin = stack.gateway.admin_port
            plan = {"strategy": "canary", "canary": "canary", "steps": [{"setWeight": 25}, {"pause": "1h"}]}
            filler = fill(folder)
            status, reply = call(admin, "POST", "/routes/chat-prod/rollouts", plan)
            assert status == 503, reply
            assert reply["error"]["code"] == "state_store_unavailable", reply
            _, route = call(admin, "GET", "/routes/chat-prod")
            assert [d["weight"] for d in route["deployments"]] == [100, 0], "no weight moved"
            status, _ = call(admin, "GET", "/routes/chat-prod/rollout")
            assert status == 404, "no rollout in memory that the store does not have"
            os.unlink(filler)
            stack.restart()
            status, _ = call(stack.gateway.admin_port, "GET", "/routes/chat-prod/rollout")
            assert status == 404, "and none after a restart"
            status, reply = call(stack.gateway.admin_port, "POST", "/routes/chat-prod/rollouts", plan)
            assert status == 201, reply
        finally:
            stack.stop()
