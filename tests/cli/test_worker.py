"""`missionctl worker`: its own process, at the configured niceness, stopped cleanly by SIGTERM."""

import ctypes
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

# tgkill(2), to hand a signal to one chosen thread of another process, as the kernel may.
TGKILL = {"x86_64": 234, "aarch64": 131}.get(platform.machine())


def start_worker(tmp_path: Path) -> "subprocess.Popen[bytes]":
    env = {
        **os.environ,
        "MISSIONCONTROL_STATE_DIR": str(tmp_path / "state"),
        "MISSIONCONTROL_WORKER_NICE": "5",
        "MISSIONCONTROL_API_TOKENS": '["t"]',
    }
    env.pop("MISSIONCONTROL_DATABASE_URL", None)
    return subprocess.Popen(
        [str(Path(sys.executable).parent / "missionctl"), "worker"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.skipif(not sys.platform.startswith("linux") or TGKILL is None, reason="needs Linux tgkill")
def test_worker_stops_when_sigterm_lands_on_another_thread_than_the_main_one(tmp_path: Path) -> None:
    proc = start_worker(tmp_path)
    try:
        deadline = time.monotonic() + 120
        # Started: the grouper's and the inbox's threads are up beside the main one.
        while len(others := _threads_taking_sigterm(proc.pid)) < 2:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the worker never started its threads"
            time.sleep(0.1)
        time.sleep(1.0)  # the main thread is waiting for a signal by now
        libc = ctypes.CDLL(None, use_errno=True)
        assert libc.syscall(TGKILL, proc.pid, others[-1], signal.SIGTERM) == 0

        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()


def _threads_taking_sigterm(pid: int) -> list[int]:
    """Return the threads of `pid` other than the main one that do not block SIGTERM."""
    tids = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        status = (task / "status").read_text()
        blocked = int(next(line.split()[1] for line in status.splitlines() if line.startswith("SigBlk:")), 16)
        if int(task.name) != pid and not blocked & (1 << (signal.SIGTERM - 1)):
            tids.append(int(task.name))
    return sorted(tids)


def test_worker_lowers_its_own_priority_and_stops_on_sigterm(tmp_path: Path) -> None:
    proc = start_worker(tmp_path)
    try:
        deadline = time.monotonic() + 120
        # The niceness is set once the runtime is built, before the worker starts.
        while psutil.Process(proc.pid).nice() != os.nice(0) + 5:
            assert proc.poll() is None, proc.communicate()[1].decode()
            assert time.monotonic() < deadline, "the worker never lowered its priority"
            time.sleep(0.1)
        # Linux keeps a niceness per thread: the threads the runtime started have it too.
        deadline = time.monotonic() + 120
        while len(threads := psutil.Process(proc.pid).threads()) < 2:
            assert time.monotonic() < deadline, "the worker started no threads"
            time.sleep(0.1)
        assert {psutil.Process(t.id).nice() for t in threads} == {os.nice(0) + 5}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
